"""drgn's ``drgn.helpers.linux.slab``: SLUB caches and their objects (5.10 to 6.x), from
:mod:`pycore.kernel.slab`'s cache list and per-slab object states, the slabs found by
:func:`pycore.kernel.mm.for_each_slab_page`.  Caches with 7.0's sheaves raise MissingDebugInfoError.
"""
from typing import TYPE_CHECKING, Iterator, Optional, Union

from ...errors import ValidationError
from ...kernel import slab as _slab
from ...kernel.mm import for_each_slab_page
from ...object import Object, TypeArg, cast
from ...types.model import pointer_type

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


class SlabObjectInfo:
    """Where an address lies in the slab allocator: its cache (``struct kmem_cache *``), its slab
    (``struct slab *`` from 5.17, ``struct page *`` before), the object's start address, and
    whether the object is allocated."""

    def __init__(self, slab_cache: Object, slab: Object, address: int, allocated: Optional[bool]) -> None:
        self.slab_cache = slab_cache
        self.slab = slab
        self.address = address
        self.allocated = allocated

    def __repr__(self) -> str:
        return (f"SlabObjectInfo(slab_cache={self.slab_cache!r}, slab={self.slab!r}, address={self.address:#x}, "
                f"allocated={self.allocated})")


def _slab_pointer(prog: "Program", address: int) -> Object:
    """``struct slab *`` (5.17+ splits it from struct page) or ``struct page *``."""
    try:
        slab_type = prog.type("struct slab")
    except LookupError:
        slab_type = prog.type("struct page")
    return Object(prog, pointer_type(slab_type), address)


def for_each_slab_cache(prog: "Program") -> Iterator[Object]:
    """Each ``struct kmem_cache *`` on the kernel's ``slab_caches`` list."""
    cache_pointer = prog.type("struct kmem_cache *")
    for address in _slab.kmem_cache_addresses(prog):
        yield Object(prog, cache_pointer, address)


def find_slab_cache(prog: "Program", name: Union[str, bytes]) -> Optional[Object]:
    """The ``struct kmem_cache *`` called ``name``, or None when there is none."""
    try:
        address = _slab.slab_cache_named(prog, name.decode() if isinstance(name, bytes) else name)
    except LookupError:
        return None
    return Object(prog, "struct kmem_cache *", address)


def slab_cache_for_each_allocated_object(slab_cache: Object, type: TypeArg) -> Iterator[Object]:
    """Each allocated object of ``slab_cache`` as a ``type *``: every slab page of the machine
    whose ``slab_cache`` it is, its objects minus those on the slab's freelist or on the
    freelist of the CPU whose slab it is."""
    prog = slab_cache.prog_
    target = pointer_type(prog.type(type))
    cache = int(slab_cache)
    for page in for_each_slab_page(prog):
        if int(_slab_pointer(prog, int(page)).slab_cache) != cache:
            continue
        found = _slab.slab_containing(prog, int(page))
        if found is None:
            continue
        for entry in found[1].objects:
            if not entry.free:
                yield cast(target, Object(prog, "unsigned long", entry.address))


def slab_object_info(prog: "Program", addr: int) -> Optional[SlabObjectInfo]:
    """Which slab object ``addr`` (a direct-map address) lies in, or None when it is in no slab
    or falls between objects."""
    found = _slab.slab_containing(prog, int(addr))
    if found is None:
        return None
    cache, listing = found
    slab_cache = Object(prog, "struct kmem_cache *", cache)
    size = int(slab_cache.size)
    for entry in listing.objects:
        if entry.address <= int(addr) < entry.address + size:
            return SlabObjectInfo(slab_cache, _slab_pointer(prog, listing.slab), entry.address, not entry.free)
    return None


__all__ = ["ValidationError", "SlabObjectInfo", "find_slab_cache", "for_each_slab_cache",
           "slab_cache_for_each_allocated_object", "slab_object_info"]
