"""The name scan of a vmlinux's .debug_info: where each top-level named struct, union,
enum, typedef, base type and variable DIE lives.

Two twins with one shape, chosen once by :func:`scan_names`: ``_NativeScanner`` runs
csrc/dwarfindex.c (dwi_scan) and reports through :func:`pycore.native.error`,
``_PureScanner`` walks the same units in Python; both return the same entries.
"""
import struct
from typing import Dict, List, Optional, Tuple

from .. import native as _native
from ..errors import FormatError
from ..native import Context, Fault
from .dwarf_format import (DW_AT_declaration, DW_AT_name, DW_AT_sibling, DW_AT_specification,
                           DW_AT_str_offsets_base, DW_TAG_base_type, DW_TAG_enumeration_type,
                           DW_TAG_structure_type, DW_TAG_typedef, DW_TAG_union_type, DW_TAG_variable, Sections,
                           Unit, parse_abbrevs, read_form, str_at, strx, uleb)
from .model import canonical_base_name

CLASS_STRUCT, CLASS_UNION, CLASS_ENUM, CLASS_TYPEDEF, CLASS_BASE, CLASS_VARIABLE = range(1, 7)
FLAG_DECLARATION, NAME_INLINE, NAME_LINE_STR = 1, 2, 4
_CLASS_OF_TAG = {DW_TAG_structure_type: CLASS_STRUCT, DW_TAG_union_type: CLASS_UNION,
                 DW_TAG_enumeration_type: CLASS_ENUM, DW_TAG_typedef: CLASS_TYPEDEF,
                 DW_TAG_base_type: CLASS_BASE, DW_TAG_variable: CLASS_VARIABLE}
_NAMESPACE_OF_CLASS = {CLASS_STRUCT: "struct", CLASS_UNION: "union", CLASS_ENUM: "enum",
                       CLASS_TYPEDEF: "", CLASS_BASE: ""}

Entry = Tuple[int, int, int, int]  # (die_offset, name reference, tag class, flags)


def scan_names(sections: Sections, start: int = 0, end: Optional[int] = None, dedup: bool = True,
               native: Optional[bool] = None) -> List[Entry]:
    """Index the units that start in [start, end) of ``sections.info``, in C or in Python.

    With ``dedup``, entries are sorted by (class, name kind, name, declaration, offset)
    and only the first of each (class, name kind, name) is kept; without it they come
    in .debug_info order.  A damaged section raises FormatError on either path.
    """
    scanner = _NativeScanner(sections) if _native.use_native(native) else _PureScanner(sections)
    return scanner.scan(start, len(sections.info) if end is None else min(end, len(sections.info)), dedup)


class _PureScanner:
    """The name scan in Python: the twin of csrc/dwarfindex.c, entry for entry."""

    def __init__(self, sections: Sections):
        self.sections = sections

    def scan(self, start: int, end: int, dedup: bool) -> List[Entry]:
        sections = self.sections
        entries: List[Entry] = []
        pos = start
        tables: Dict[tuple, Dict[int, tuple]] = {}
        while pos < end:
            unit = Unit(sections.info, pos)
            key = (unit.abbrev_offset, unit.offset_size, unit.addr_size, unit.version)
            table = tables.get(key)
            if table is None:
                tables.clear()
                table = tables[key] = parse_abbrevs(sections.abbrev, unit.abbrev_offset, unit)
            _scan_unit(sections, unit, table, entries)
            pos = unit.end
        if not dedup:
            return entries
        entries.sort(key=lambda e: (e[2], e[3] & 6, e[1], e[3] & 1, e[0]))
        kept: List[Entry] = []
        for e in entries:
            if kept:
                prev = kept[-1]
                if e[2] == prev[2] and e[1] == prev[1] and (e[3] & 6) == (prev[3] & 6) and not e[3] & NAME_INLINE:
                    continue
            kept.append(e)
        return kept


def _scan_unit(sections: Sections, unit: Unit, table: Dict[int, tuple], entries: List[Entry]) -> None:
    info = sections.info
    pos, end = unit.die_start, unit.end
    depth = 0
    decls: Dict[int, Tuple[int, int]] = {}
    class_of_tag = _CLASS_OF_TAG
    try:
        while pos < end:
            die_offset = pos
            code, pos = uleb(info, pos)
            if code == 0:
                depth -= 1
                if depth <= 0:
                    return
                continue
            abbrev = table.get(code)
            if abbrev is None:
                raise FormatError(f"abbreviation code {code} not in the unit's table", die_offset, "abbrev_code")
            tag, has_children, specs, fixed = abbrev
            tag_class = class_of_tag.get(tag, 0) if depth == 1 else 0
            wanted = tag_class or depth == 0
            if not wanted and fixed >= 0 and not (has_children and depth == 1):
                if pos + fixed > end:
                    raise FormatError("DIE runs past its unit", die_offset, "die")
                pos += fixed
                if has_children:
                    depth += 1
                continue
            sibling = name = spec = None
            flags = 0
            for attr, form, implicit in specs:
                value, pos, inline_at = read_form(info, unit, form, implicit, pos, end)
                if attr == DW_AT_sibling and form != 0x10:
                    # A damaged abbreviation may give it a form that is no reference (a block): ignored,
                    # the children are walked instead.
                    sibling = value if type(value) is int else None
                elif not wanted:
                    continue
                elif attr == DW_AT_name:
                    if inline_at >= 0:
                        name, flags = inline_at, flags | NAME_INLINE
                    elif form == 0x1F:
                        name, flags = value, flags | NAME_LINE_STR
                    elif form == 0x0E:
                        name = value
                    elif form == 0x1A or 0x25 <= form <= 0x28:
                        name = strx(sections, unit, value)
                elif attr == DW_AT_declaration:
                    if form == 0x19 or value:
                        flags |= FLAG_DECLARATION
                elif attr == DW_AT_specification and form not in (0x10, 0x1C, 0x24):
                    spec = value
                elif attr == DW_AT_str_offsets_base and depth == 0:
                    unit.str_offsets_base = value
            if tag_class:
                if name is not None:
                    entries.append((die_offset, name, tag_class, flags))
                    if tag_class == CLASS_VARIABLE and flags & FLAG_DECLARATION:
                        decls[die_offset] = (name, flags & (NAME_INLINE | NAME_LINE_STR))
                elif spec is not None and tag_class == CLASS_VARIABLE and spec in decls:
                    decl_name, decl_flags = decls[spec]
                    entries.append((die_offset, decl_name, CLASS_VARIABLE,
                                    decl_flags | (flags & FLAG_DECLARATION)))
            if has_children:
                if depth >= 1 and sibling is not None and die_offset < sibling <= end:
                    pos = sibling
                else:
                    depth += 1
            elif depth == 0:
                return
    except IndexError:
        raise FormatError("DIE runs past the end of .debug_info", pos, "die") from None
    if depth > 0:
        raise FormatError("unit ends inside a DIE's children", end, "die")


class _NativeScanner:
    """The name scan through csrc/dwarfindex.c (dwi_scan)."""

    def __init__(self, sections: Sections):
        self.sections = sections

    def scan(self, start: int, end: int, dedup: bool) -> List[Entry]:
        ffi, lib = _native.ffi, _native.lib
        sections = self.sections

        def buf(view: memoryview):
            return ffi.from_buffer(view) if len(view) else ffi.NULL

        out = ffi.new("struct dwi_index **")
        fault = ffi.new("struct pc_fault *")
        status = lib.dwi_scan(buf(sections.info), len(sections.info), buf(sections.abbrev), len(sections.abbrev),
                              buf(sections.str_offsets), len(sections.str_offsets), start, end, int(dedup),
                              out, fault)
        if status:
            raise _native.error(status, Fault.from_c(fault), Context(container="dwarf"))
        try:
            count = lib.dwi_count(out[0])
            raw = ffi.buffer(lib.dwi_entries(out[0]), count * ffi.sizeof("struct dwi_entry"))
            # struct dwi_entry: u64 die_offset, u64 name, u8 class, u8 flags, 6 bytes padding
            return [(d, n, c, f) for d, n, c, f in struct.iter_unpack("<QQBB6x", raw)]
        finally:
            lib.dwi_free(out[0])


def build_name_index(sections: Sections, entries: List[Entry]) -> Tuple[Dict[Tuple[str, str], int], Dict[str, int]]:
    """Name tables from scan entries: definitions beat declarations, then the lowest offset wins."""
    best: Dict[Tuple[int, str], Tuple[int, int]] = {}
    # ~90k entries name ~60k strings: each decoded once, found with bytes.find in a copy of its
    # section (str_at's chunked reads of the mapping cost a cold --vmlinux run ~0.3 s more).
    decoded: Dict[Tuple[int, int], str] = {}
    pools = {0: (bytes(sections.str), ".debug_str"), NAME_LINE_STR: (bytes(sections.line_str), ".debug_line_str")}
    for die_offset, name_ref, tag_class, flags in entries:
        if flags & NAME_INLINE:
            name = str_at(sections.info, name_ref, ".debug_info")
        else:
            kind = flags & NAME_LINE_STR
            name = decoded.get((kind, name_ref))  # type: ignore[assignment]
            if name is None:
                pool, what = pools[kind]
                end = pool.find(b"\0", name_ref)
                name = pool[name_ref:end].decode("utf-8", "replace") if end >= 0 else str_at(pool, name_ref, what)
                decoded[(kind, name_ref)] = name
        rank = (flags & FLAG_DECLARATION, die_offset)
        key = (tag_class, name)
        old = best.get(key)
        if old is None or rank < old:
            best[key] = rank
    types: Dict[Tuple[str, str], int] = {}
    variables: Dict[str, int] = {}
    for (tag_class, name), (_, die_offset) in sorted(best.items(), key=lambda item: item[1][1]):
        if tag_class == CLASS_VARIABLE:
            variables[name] = die_offset
        else:
            namespace = _NAMESPACE_OF_CLASS[tag_class]
            if namespace == "" and tag_class == CLASS_BASE:
                name = canonical_base_name(name)
            types.setdefault((namespace, name), die_offset)
    return types, variables
