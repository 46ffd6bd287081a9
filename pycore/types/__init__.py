"""Types from the best source available (BTF, DWARF) behind one interface, :class:`TypeIndex`."""
from .model import (Enumerator, Member, Parameter, Qualifiers, Type, TypeIndex, TypeKind, TypeNotFoundError,
                    array_type, bool_type, canonical_base_name, enum_type, float_type, function_type, int_type,
                    pointer_type, struct_type, typedef_type, union_type, void_type)
from .btf import BtfIndex, load_btf_file, load_vmlinux_btf, parse_btf
from .known_globals import KNOWN_GLOBALS, global_type

__all__ = [
    "Enumerator", "Member", "Parameter", "Qualifiers", "Type", "TypeIndex", "TypeKind", "TypeNotFoundError",
    "array_type", "bool_type", "canonical_base_name", "enum_type", "float_type", "function_type", "int_type",
    "pointer_type", "struct_type", "typedef_type", "union_type", "void_type",
    "BtfIndex", "load_btf_file", "load_vmlinux_btf", "parse_btf", "KNOWN_GLOBALS", "global_type",
]
