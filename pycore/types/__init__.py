"""Types from the best source available (DWARF, BTF) behind one interface, :class:`TypeIndex`.

The DWARF reader (and pyelftools under it) is imported when a vmlinux is read, not with the
package: a command on a dump alone never needs it."""
from typing import Any, List, Optional

from ..errors import FormatError, MissingDebugInfoError
from .model import (Enumerator, Member, Parameter, Qualifiers, Type, TypeIndex, TypeKind, TypeNotFoundError,
                    array_type, bool_type, canonical_base_name, enum_type, float_type, function_type, int_type,
                    pointer_type, struct_type, typedef_type, union_type, void_type)
from .btf import BtfIndex, load_btf_file, load_vmlinux_btf, parse_btf
from .known_globals import KNOWN_GLOBALS, global_type

__all__ = [
    "Enumerator", "Member", "Parameter", "Qualifiers", "Type", "TypeIndex", "TypeKind", "TypeNotFoundError",
    "array_type", "bool_type", "canonical_base_name", "enum_type", "float_type", "function_type", "int_type",
    "pointer_type", "struct_type", "typedef_type", "union_type", "void_type",
    "BtfIndex", "load_btf_file", "load_vmlinux_btf", "parse_btf", "DwarfIndex", "load_dwarf",
    "KNOWN_GLOBALS", "global_type", "open_type_index",
]


def open_type_index(vmlinux: Optional[str] = None, btf: Optional[bytes] = None,
                    btf_source: str = "btf (dump)") -> TypeIndex:
    """The best type source available: a vmlinux's DWARF (it also knows every variable),
    else its .BTF section, else ``btf`` (e.g. BTF found in the dump).

    Raises MissingDebugInfoError listing what was tried when none of them has types.
    """
    tried: List[str] = []
    if vmlinux is not None:
        try:
            from .dwarf import load_dwarf

            return load_dwarf(vmlinux)
        except (MissingDebugInfoError, FormatError) as e:
            tried.append(f"dwarf ({vmlinux}): {e}")
        try:
            index = load_vmlinux_btf(vmlinux)
            if index is not None:
                return index
            tried.append(f"btf ({vmlinux}): no .BTF section")
        except FormatError as e:
            tried.append(f"btf ({vmlinux}): {e}")
    if btf is not None:
        return parse_btf(btf, btf_source)
    tried.append("no BTF blob given")
    raise MissingDebugInfoError("no type information found; tried " + "; ".join(tried))


def __getattr__(name: str) -> Any:
    """``DwarfIndex`` and ``load_dwarf``, imported on first use (see the module docstring)."""
    if name in ("DwarfIndex", "load_dwarf"):
        from . import dwarf

        return getattr(dwarf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
