"""The type of any kernel global when the types come from BTF (a dump without its vmlinux, or a
command that reads values only), and where that type came from.  BTF has VAR records only for
per-CPU variables (pahole emits .data..percpu alone; Debian's 5.10 BTF has none, 6.1 to 7.2 have
356 to 423).
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

from .known_globals import global_type
from .layered import LayeredIndex
from .model import Type, TypeIndex, TypeNotFoundError, array_type, int_type

#: Where a global's type came from: the debug info's own record of the variable (DWARF, BTF VAR),
#: the spelling pycore keeps for it (KNOWN_GLOBALS or INTEGER_GLOBALS), or the symbol's extent.
DEBUG_INFO = "debug info"
KNOWN = "known to pycore"
GUESSED = "guessed from symbol size"

# Integer globals that helpers and scripts read by symbol, which neither BTF nor
# known_globals.KNOWN_GLOBALS types (no name is in both tables).  Types as DWARF has them on
# 5.10, 6.1, 6.12 and 7.2; nr_vmap_nodes is 6.9+, pid_max, nr_irqs and tick_nsec are gone by 7.2.
INTEGER_GLOBALS: Dict[str, Tuple[str, ...]] = {
    "nr_threads": ("int",),
    "max_threads": ("int",),
    "total_forks": ("unsigned long",),
    "avenrun": ("unsigned long [3]",),
    "pid_max": ("int",),
    "nr_irqs": ("int",),
    "tick_nsec": ("unsigned long",),
    "cpu_khz": ("unsigned int",),
    "tsc_khz": ("unsigned int",),
    "panic_timeout": ("int",),
    "sysctl_hung_task_timeout_secs": ("unsigned long",),
    "sysctl_hung_task_panic": ("unsigned int",),
    "sysctl_hung_task_check_interval_secs": ("unsigned long",),
    "nr_vmap_nodes": ("unsigned int",),
    "nr_swapfiles": ("unsigned int",),
    "sysctl_overcommit_memory": ("int",),
    "sysctl_overcommit_ratio": ("int",),
    "sysctl_overcommit_kbytes": ("unsigned long",),
    "hugetlb_max_hstate": ("int",),
}

# kallsyms type letters of data: initialised, bss, read-only, weak objects, and absolute values
# (per-CPU offsets below 7.x); an ELF symtab's "object".  7.x marks some cache-aligned data 'T'
# (jiffies, tasklist_lock), so a text letter outside the text sections is data too.
_DATA_KINDS = frozenset([*"dDbBrRvVA", "object"])
_TEXT_KINDS = frozenset("TtWw")
#: The symbols bounding the kernel's text sections, for :func:`is_data_symbol`.
TEXT_SECTIONS = (("_stext", "_etext"), ("_sinittext", "_einittext"))


class GlobalType(NamedTuple):
    """A global's type and where it came from (:data:`DEBUG_INFO`, :data:`KNOWN` or :data:`GUESSED`)."""

    type: Type
    origin: str


def known_global_type(index: TypeIndex, name: str) -> Optional[GlobalType]:
    """The type of global ``name`` from the debug info or pycore's tables, or None."""
    found = index.variable_type(name)
    if found is not None:
        return GlobalType(found, DEBUG_INFO)
    found = global_type(index, name) or _first_spelling(index, INTEGER_GLOBALS.get(name, ()))
    return None if found is None else GlobalType(found, KNOWN)


def deferred_global_type(index: TypeIndex, name: str) -> Optional[GlobalType]:
    """The type of global ``name`` from debug info read only when neither BTF nor pycore's tables
    type it: the vmlinux's DWARF behind a :class:`~pycore.types.layered.LayeredIndex` (a static
    variable ``p`` prints, say), else None."""
    if not isinstance(index, LayeredIndex):
        return None
    found = index.then_variable_type(name)
    return None if found is None else GlobalType(found, DEBUG_INFO)


def guessed_global_type(size: Optional[int]) -> GlobalType:
    """``unsigned char [size]``: the bytes of a data symbol no debug info types, ``size`` being
    the symbol's recorded size or the distance to the next symbol (an upper bound: alignment
    padding counts); ``unsigned char []`` when not even that is known (the last symbol)."""
    return GlobalType(array_type(int_type("unsigned char", 1, False), size or None), GUESSED)


def is_data_symbol(kind: str, address: int, text_sections: Sequence[Tuple[int, int]]) -> bool:
    """Whether a symbol of kind ``kind`` (a kallsyms type letter, an ELF symbol type) at ``address``
    is data: a data kind, or a text letter outside ``text_sections`` (the ``(start, end)`` of
    :data:`TEXT_SECTIONS`)."""
    if kind in _DATA_KINDS:
        return True
    return kind in _TEXT_KINDS and not any(start <= address < end for start, end in text_sections)


def _first_spelling(index: TypeIndex, spellings: Sequence[str]) -> Optional[Type]:
    for spelling in spellings:
        try:
            return index.find(spelling)
        except TypeNotFoundError:
            continue
    return None
