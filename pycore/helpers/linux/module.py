"""drgn's ``drgn.helpers.linux.module``: loaded modules, on the kernel's ``modules`` list
(bounded walk) and located by :mod:`pycore.kernel.module`'s memory ranges (5.10 to 7.2)."""
from typing import TYPE_CHECKING, Iterator, List, Tuple, Union

from ...kernel.module import read_modules
from ...object import Object, list_for_each_entry

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def for_each_module(prog: "Program") -> Iterator[Object]:
    """Each ``struct module *``, in the ``modules`` list's order (the last loaded first)."""
    head = Object(prog, "struct list_head", address=prog.symbols.by_name("modules").address)
    return list_for_each_entry("struct module", head.address_of_(), "list")


def find_module(prog: "Program", name: Union[str, bytes]) -> Object:
    """The ``struct module *`` called ``name``; NULL if no such module is loaded."""
    wanted = name.encode() if isinstance(name, str) else name
    for module in for_each_module(prog):
        if module.name.string_() == wanted:
            return module
    return Object(prog, "struct module *", 0)


def module_address_regions(mod: Object) -> List[Tuple[int, int]]:
    """(start, size) of each memory region of the module ``mod`` (``struct module *``); drgn also
    lists the empty ones as (0, 0), pycore leaves them out."""
    for module in read_modules(mod.prog_).modules:
        if module.address == int(mod):
            return [(start, end - start) for start, end in module.ranges]
    return []


def address_to_module(prog: "Program", addr: int) -> Object:
    """The ``struct module *`` whose memory holds ``addr``; NULL when none does."""
    for module in read_modules(prog).modules:
        if module.contains(int(addr)):
            return Object(prog, "struct module *", module.address)
    return Object(prog, "struct module *", 0)


__all__ = ["address_to_module", "find_module", "for_each_module", "module_address_regions"]
