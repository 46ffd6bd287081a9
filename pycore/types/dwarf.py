"""Types and variables from a vmlinux's DWARF (versions 2 to 5), built on demand.

A vmlinux carries ~160 MB of .debug_info (17 M DIEs).  One pass records where each
top-level named struct, union, enum, typedef, base type and variable lives (C in
csrc/dwarfindex.c, or the pure-Python twin below); the index is cached on disk by
build-id, and only the DIEs a lookup needs are ever decoded.  vmlinux is ET_EXEC,
so its .rela.debug_* sections need not be applied.
"""
import bisect
import hashlib
import marshal
import mmap
import os
import struct
from typing import Dict, List, Optional, Tuple

from .. import native
from ..errors import FormatError, MissingDebugInfoError
from .model import (Member, Qualifiers, Type, TypeIndexBase, array_type, bool_type, canonical_base_name,
                    enum_type, float_type, function_type, int_type, pointer_type, struct_type,
                    typedef_type, union_type, void_type)

# Tags
DW_TAG_array_type = 0x01
DW_TAG_enumeration_type = 0x04
DW_TAG_formal_parameter = 0x05
DW_TAG_member = 0x0D
DW_TAG_pointer_type = 0x0F
DW_TAG_compile_unit = 0x11
DW_TAG_structure_type = 0x13
DW_TAG_subroutine_type = 0x15
DW_TAG_typedef = 0x16
DW_TAG_union_type = 0x17
DW_TAG_unspecified_parameters = 0x18
DW_TAG_subrange_type = 0x21
DW_TAG_base_type = 0x24
DW_TAG_const_type = 0x26
DW_TAG_enumerator = 0x28
DW_TAG_variable = 0x34
DW_TAG_volatile_type = 0x35
DW_TAG_restrict_type = 0x37
DW_TAG_unspecified_type = 0x3B
DW_TAG_atomic_type = 0x47
# Attributes
DW_AT_sibling = 0x01
DW_AT_name = 0x03
DW_AT_byte_size = 0x0B
DW_AT_bit_offset = 0x0C
DW_AT_bit_size = 0x0D
DW_AT_const_value = 0x1C
DW_AT_upper_bound = 0x2F
DW_AT_count = 0x37
DW_AT_data_member_location = 0x38
DW_AT_declaration = 0x3C
DW_AT_encoding = 0x3E
DW_AT_specification = 0x47
DW_AT_type = 0x49
DW_AT_data_bit_offset = 0x6B
DW_AT_str_offsets_base = 0x72
# Base type encodings
DW_ATE_boolean = 0x02
DW_ATE_float = 0x04
DW_ATE_signed = 0x05
DW_ATE_signed_char = 0x06
DW_ATE_unsigned = 0x07
DW_ATE_unsigned_char = 0x08

CLASS_STRUCT, CLASS_UNION, CLASS_ENUM, CLASS_TYPEDEF, CLASS_BASE, CLASS_VARIABLE = range(1, 7)
FLAG_DECLARATION, NAME_INLINE, NAME_LINE_STR = 1, 2, 4
_CLASS_OF_TAG = {DW_TAG_structure_type: CLASS_STRUCT, DW_TAG_union_type: CLASS_UNION,
                 DW_TAG_enumeration_type: CLASS_ENUM, DW_TAG_typedef: CLASS_TYPEDEF,
                 DW_TAG_base_type: CLASS_BASE, DW_TAG_variable: CLASS_VARIABLE}
_NAMESPACE_OF_CLASS = {CLASS_STRUCT: "struct", CLASS_UNION: "union", CLASS_ENUM: "enum",
                       CLASS_TYPEDEF: "", CLASS_BASE: ""}
_C_ERRORS = {-1: "truncated", -2: "unknown attribute form", -3: "bad abbreviation", -4: "unsupported unit version",
             -5: "out of memory"}

CACHE_FORMAT = 1


class Sections:
    """The DWARF sections of one ELF file, as zero-copy views of its mapping where possible."""

    def __init__(self, info: memoryview, abbrev: memoryview, debug_str: memoryview,
                 line_str: memoryview = memoryview(b""), str_offsets: memoryview = memoryview(b""),
                 build_id: Optional[bytes] = None, path: str = "<memory>"):
        self.info = info
        self.abbrev = abbrev
        self.str = debug_str
        self.line_str = line_str
        self.str_offsets = str_offsets
        self.build_id = build_id
        self.path = path


def open_sections(path: str) -> Sections:
    """Map ``path`` and find .debug_info, .debug_abbrev, .debug_str (+ line_str, str_offsets) and the build-id."""
    from elftools.elf.elffile import ELFFile
    from elftools.common.exceptions import ELFError
    with open(path, "rb") as f:
        try:
            elf = ELFFile(f)
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            view = memoryview(mapping)

            def section(name: str, required: bool = True) -> memoryview:
                sec = elf.get_section_by_name(name)
                if sec is None:
                    if required:
                        raise MissingDebugInfoError(f"{path} has no {name} section (no DWARF debug info)")
                    return memoryview(b"")
                if sec["sh_type"] == "SHT_NOBITS":
                    if required:
                        raise MissingDebugInfoError(f"{path}: {name} is empty (stripped debug info)")
                    return memoryview(b"")
                if sec["sh_flags"] & 0x800:  # SHF_COMPRESSED: pyelftools inflates it
                    return memoryview(sec.data())
                start, size = sec["sh_offset"], sec["sh_size"]
                if start + size > len(mapping):
                    raise FormatError(f"{name} runs past the end of {path}", start, "sh_size")
                return view[start:start + size]

            build_id = None
            for sec in elf.iter_sections():
                if sec["sh_type"] == "SHT_NOTE":
                    for note in sec.iter_notes():
                        if note["n_type"] == "NT_GNU_BUILD_ID" and note["n_name"] == "GNU":
                            build_id = bytes.fromhex(note["n_desc"])
                            break
                if build_id:
                    break
            return Sections(section(".debug_info"), section(".debug_abbrev"), section(".debug_str", False),
                            section(".debug_line_str", False), section(".debug_str_offsets", False),
                            build_id, path)
        except ELFError as e:
            raise FormatError(f"{path} is not an ELF file: {e}", 0, "e_ident") from None


# -- low-level readers (shared by the scanner and the DIE reader) ---------
def _uleb(data, pos: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _sleb(data, pos: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos


def _fixed_form_size(form: int, offset_size: int, addr_size: int, version: int) -> int:
    if form == 0x01:
        return addr_size
    if form in (0x05, 0x12, 0x26, 0x2A):
        return 2
    if form in (0x06, 0x13, 0x1C, 0x28, 0x2C):
        return 4
    if form in (0x07, 0x14, 0x20, 0x24):
        return 8
    if form in (0x0B, 0x0C, 0x11, 0x25, 0x29):
        return 1
    if form in (0x27, 0x2B):
        return 3
    if form in (0x0E, 0x17, 0x1D, 0x1F, 0x1F20, 0x1F21):
        return offset_size
    if form == 0x10:
        return addr_size if version <= 2 else offset_size
    if form in (0x19, 0x21):
        return 0
    if form == 0x1E:
        return 16
    return -1


class Unit:
    """One unit header: where it is, its sizes, and its abbreviation table (parsed on first use)."""

    __slots__ = ("offset", "end", "die_start", "version", "offset_size", "addr_size", "abbrev_offset",
                 "abbrevs", "str_offsets_base")

    def __init__(self, info, offset: int):
        try:
            length = int.from_bytes(info[offset:offset + 4], "little")
            pos = offset + 4
            self.offset_size = 4
            if length == 0xFFFFFFFF:
                length = int.from_bytes(info[pos:pos + 8], "little")
                pos += 8
                self.offset_size = 8
            elif length >= 0xFFFFFFF0 or offset + 4 > len(info):
                raise FormatError(f"unit length {length:#x} is reserved", offset, "unit_length")
            self.end = pos + length
            if self.end > len(info) or length < 2:
                raise FormatError(f"unit of {length:#x} bytes runs past .debug_info", offset, "unit_length")
            self.version = int.from_bytes(info[pos:pos + 2], "little")
            pos += 2
            if not 2 <= self.version <= 5:
                raise FormatError(f"unit version {self.version}, expected 2 to 5", pos - 2, "version")
            if self.version >= 5:
                unit_type, self.addr_size = info[pos], info[pos + 1]
                pos += 2
                self.abbrev_offset = int.from_bytes(info[pos:pos + self.offset_size], "little")
                pos += self.offset_size
                if unit_type in (4, 5):
                    pos += 8
                elif unit_type in (2, 6):
                    pos += 8 + self.offset_size
            else:
                self.abbrev_offset = int.from_bytes(info[pos:pos + self.offset_size], "little")
                pos += self.offset_size
                self.addr_size = info[pos]
                pos += 1
        except IndexError:
            raise FormatError("unit header truncated", offset, "unit_header") from None
        if pos > self.end:
            raise FormatError("unit header longer than the unit", offset, "unit_header")
        self.offset = offset
        self.die_start = pos
        self.abbrevs: Optional[Dict[int, tuple]] = None
        self.str_offsets_base = 0


def _parse_abbrevs(abbrev, offset: int, unit: Unit) -> Dict[int, tuple]:
    """code -> (tag, has_children, [(attr, form, implicit_const)], fixed_size or -1)."""
    table: Dict[int, tuple] = {}
    pos = offset
    if offset >= len(abbrev):
        raise FormatError(f"abbreviation table at {offset:#x} outside .debug_abbrev", offset, "debug_abbrev_offset")
    try:
        while True:
            start = pos
            code, pos = _uleb(abbrev, pos)
            if code == 0:
                return table
            if code > (1 << 20) or code in table:
                raise FormatError(f"bad abbreviation code {code}", start, "abbrev_code")
            tag, pos = _uleb(abbrev, pos)
            has_children = abbrev[pos] != 0
            pos += 1
            specs = []
            fixed = 0
            while True:
                name, pos = _uleb(abbrev, pos)
                form, pos = _uleb(abbrev, pos)
                if name == 0 and form == 0:
                    break
                implicit = 0
                if form == 0x21:
                    implicit, pos = _sleb(abbrev, pos)
                specs.append((name, form, implicit))
                size = _fixed_form_size(form, unit.offset_size, unit.addr_size, unit.version)
                fixed = -1 if size < 0 or fixed < 0 else fixed + size
            table[code] = (tag or 0xFFFFFFFF, has_children, specs, fixed)
    except IndexError:
        raise FormatError("abbreviation table truncated", pos, "debug_abbrev") from None


def _read_form(info, unit: Unit, form: int, implicit: int, pos: int, end: int):
    """(value, new_pos, inline_at); references become absolute .debug_info offsets."""
    while True:
        size = _fixed_form_size(form, unit.offset_size, unit.addr_size, unit.version)
        if size >= 0:
            if pos + size > end:
                raise FormatError(f"attribute of form {form:#x} runs past its unit", pos, "attribute")
            if form == 0x21:
                value = implicit
            elif size <= 8:
                value = int.from_bytes(info[pos:pos + size], "little")
            else:
                value = bytes(info[pos:pos + size])
            if 0x11 <= form <= 0x14:
                value += unit.offset
            return value, pos + size, -1
        try:
            if form == 0x08:
                stop = pos
                while info[stop]:
                    stop += 1
                if stop >= end:
                    raise IndexError
                return None, stop + 1, pos
            if form == 0x0D:
                value, new = _sleb(info, pos)
            elif form in (0x0F, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02):
                value, new = _uleb(info, pos)
            elif form == 0x15:
                value, new = _uleb(info, pos)
                value += unit.offset
            elif form in (0x03, 0x04, 0x0A, 0x09, 0x18):
                if form == 0x03:
                    length, new = int.from_bytes(info[pos:pos + 2], "little"), pos + 2
                elif form == 0x04:
                    length, new = int.from_bytes(info[pos:pos + 4], "little"), pos + 4
                elif form == 0x0A:
                    length, new = info[pos], pos + 1
                else:
                    length, new = _uleb(info, pos)
                value = bytes(info[new:new + length])
                new += length
            elif form == 0x16:
                form, pos = _uleb(info, pos)
                if form in (0x16, 0x21) or form > 0xFFFF:
                    raise FormatError(f"DW_FORM_indirect to form {form:#x}", pos, "form")
                continue
            else:
                raise FormatError(f"unknown attribute form {form:#x}", pos, "form")
        except IndexError:
            raise FormatError(f"attribute of form {form:#x} runs past its unit", pos, "attribute") from None
        if new > end:
            raise FormatError(f"attribute of form {form:#x} runs past its unit", pos, "attribute")
        return value, new, -1


def _str_at(section, offset: int, what: str) -> str:
    data = section
    if offset >= len(data):
        raise FormatError(f"string offset {offset:#x} outside {what}", offset, what)
    end = offset
    # memoryview has no find(); scan in chunks through bytes.
    chunk = bytes(data[offset:offset + 256])
    stop = chunk.find(b"\0")
    while stop < 0:
        end += len(chunk)
        if end >= len(data):
            raise FormatError(f"unterminated string at {offset:#x} in {what}", offset, what)
        chunk = bytes(data[end:end + 4096])
        stop = chunk.find(b"\0")
        if stop >= 0:
            return (bytes(data[offset:end]) + chunk[:stop]).decode("utf-8", "replace")
    return chunk[:stop].decode("utf-8", "replace")


# -- the name scan ----------------------------------------------------------
def scan_names_python(sections: Sections, start: int = 0, end: Optional[int] = None,
                      dedup: bool = True) -> List[Tuple[int, int, int, int]]:
    """Pure-Python twin of ``dwi_scan``: [(die_offset, name, tag_class, flags)], same order, same entries."""
    info = sections.info
    end = len(info) if end is None else min(end, len(info))
    entries: List[Tuple[int, int, int, int]] = []
    pos = start
    tables: Dict[tuple, Dict[int, tuple]] = {}
    while pos < end:
        unit = Unit(info, pos)
        key = (unit.abbrev_offset, unit.offset_size, unit.addr_size, unit.version)
        table = tables.get(key)
        if table is None:
            tables.clear()
            table = tables[key] = _parse_abbrevs(sections.abbrev, unit.abbrev_offset, unit)
        _scan_unit_python(sections, unit, table, entries)
        pos = unit.end
    if dedup:
        entries.sort(key=lambda e: (e[2], e[3] & 6, e[1], e[3] & 1, e[0]))
        kept: List[Tuple[int, int, int, int]] = []
        for e in entries:
            if kept:
                prev = kept[-1]
                if e[2] == prev[2] and e[1] == prev[1] and (e[3] & 6) == (prev[3] & 6) and not e[3] & NAME_INLINE:
                    continue
            kept.append(e)
        entries = kept
    return entries


def _scan_unit_python(sections: Sections, unit: Unit, table: Dict[int, tuple],
                      entries: List[Tuple[int, int, int, int]]) -> None:
    info = sections.info
    pos, end = unit.die_start, unit.end
    depth = 0
    decls: Dict[int, Tuple[int, int]] = {}
    class_of_tag = _CLASS_OF_TAG
    try:
        while pos < end:
            die_offset = pos
            code, pos = _uleb(info, pos)
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
                value, pos, inline_at = _read_form(info, unit, form, implicit, pos, end)
                if attr == DW_AT_sibling and form != 0x10:
                    sibling = value
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
                        name = _strx(sections, unit, value)
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


def _strx(sections: Sections, unit: Unit, index: int) -> int:
    at = unit.str_offsets_base + index * unit.offset_size
    if at + unit.offset_size > len(sections.str_offsets):
        raise FormatError(f"string index {index} outside .debug_str_offsets", at, "DW_FORM_strx")
    return int.from_bytes(sections.str_offsets[at:at + unit.offset_size], "little")


def scan_names_native(sections: Sections, start: int = 0, end: Optional[int] = None,
                      dedup: bool = True) -> List[Tuple[int, int, int, int]]:
    """The C scanner (csrc/dwarfindex.c); same result as :func:`scan_names_python`."""
    ffi, lib = native.ffi, native.lib
    end = len(sections.info) if end is None else end

    def buf(view: memoryview):
        return ffi.from_buffer(view) if len(view) else ffi.NULL

    out = ffi.new("struct dwi_index **")
    error_offset = ffi.new("uint64_t *")
    rc = lib.dwi_scan(buf(sections.info), len(sections.info), buf(sections.abbrev), len(sections.abbrev),
                      buf(sections.str_offsets), len(sections.str_offsets), start, end, int(dedup),
                      out, error_offset)
    if rc != lib.DWI_OK:
        where = ".debug_abbrev" if rc == lib.DWI_ERR_ABBREV else ".debug_info"
        raise FormatError(f"DWARF index scan failed: {_C_ERRORS.get(rc, rc)}", int(error_offset[0]), where)
    try:
        count = lib.dwi_count(out[0])
        raw = ffi.buffer(lib.dwi_entries(out[0]), count * ffi.sizeof("struct dwi_entry"))
        # struct dwi_entry: u64 die_offset, u64 name, u8 class, u8 flags, 6 bytes padding
        return [(d, n, c, f) for d, n, c, f in struct.iter_unpack("<QQBB6x", raw)]
    finally:
        lib.dwi_free(out[0])


def build_name_index(sections: Sections, entries: List[Tuple[int, int, int, int]]
                     ) -> Tuple[Dict[Tuple[str, str], int], Dict[str, int]]:
    """Name tables from scan entries: definitions beat declarations, then the lowest offset wins."""
    best: Dict[Tuple[int, str], Tuple[int, int]] = {}
    for die_offset, name_ref, tag_class, flags in entries:
        if flags & NAME_INLINE:
            name = _str_at(sections.info, name_ref, ".debug_info")
        elif flags & NAME_LINE_STR:
            name = _str_at(sections.line_str, name_ref, ".debug_line_str")
        else:
            name = _str_at(sections.str, name_ref, ".debug_str")
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


def cache_dir() -> str:
    return os.path.join(os.environ.get("PYCORE_CACHE") or os.path.expanduser("~/.cache/pycore"), "dwarf")


def _cache_key(sections: Sections) -> str:
    if sections.build_id:
        return sections.build_id.hex()
    st = os.stat(sections.path)
    return "nobuildid-" + hashlib.sha1(f"{os.path.realpath(sections.path)}:{st.st_size}:{st.st_mtime_ns}"
                                       .encode()).hexdigest()


class DwarfIndex(TypeIndexBase):
    """Types and variable types of one vmlinux's DWARF, looked up by name and built on demand."""

    def __init__(self, sections: Sections, types: Dict[Tuple[str, str], int], variables: Dict[str, int],
                 source: str = "dwarf (vmlinux)"):
        self.sections = sections
        self.source = source
        self._types = types
        self._variables = variables
        self._unit_offsets: List[int] = []
        self._units: List[Unit] = []
        self._units_scanned_to = 0
        self._cache: Dict[int, Type] = {}
        self._abbrev_tables: Dict[tuple, Dict[int, tuple]] = {}
        self._building: set = set()

    # -- units and DIEs -----------------------------------------------------
    def _unit_for(self, offset: int) -> Unit:
        info = self.sections.info
        # Unit headers are found lazily by walking unit_length; ~3000 units in a vmlinux.
        while self._units_scanned_to <= offset and self._units_scanned_to < len(info):
            unit = Unit(info, self._units_scanned_to)
            self._unit_offsets.append(unit.offset)
            self._units.append(unit)
            self._units_scanned_to = unit.end
        i = bisect.bisect_right(self._unit_offsets, offset) - 1
        if i < 0 or offset >= self._units[i].end:
            raise FormatError(f"DIE offset {offset:#x} is outside every unit", offset, "DIE reference")
        unit = self._units[i]
        if unit.abbrevs is None:
            key = (unit.abbrev_offset, unit.offset_size, unit.addr_size, unit.version)
            table = self._abbrev_tables.get(key)
            if table is None:
                table = self._abbrev_tables[key] = _parse_abbrevs(self.sections.abbrev, unit.abbrev_offset, unit)
            unit.abbrevs = table
            tag, attrs, _, _ = self._read_die_in(unit, unit.die_start)
            if DW_AT_str_offsets_base in attrs:
                unit.str_offsets_base = attrs[DW_AT_str_offsets_base][1]
        return unit

    def _read_die_in(self, unit: Unit, offset: int):
        """(tag, {attr: (form, value, inline_at)}, has_children, offset after the attributes)."""
        info = self.sections.info
        try:
            code, pos = _uleb(info, offset)
        except IndexError:
            raise FormatError("DIE runs past .debug_info", offset, "die") from None
        if code == 0:
            return 0, {}, False, pos
        abbrev = unit.abbrevs.get(code)  # type: ignore[union-attr]
        if abbrev is None:
            raise FormatError(f"abbreviation code {code} not in the unit's table", offset, "abbrev_code")
        tag, has_children, specs, _ = abbrev
        attrs = {}
        for attr, form, implicit in specs:
            value, pos, inline_at = _read_form(info, unit, form, implicit, pos, unit.end)
            attrs[attr] = (form, value, inline_at)
        return tag, attrs, has_children, pos

    def _read_die(self, offset: int):
        unit = self._unit_for(offset)
        return (unit,) + self._read_die_in(unit, offset)

    def _children(self, unit: Unit, offset: int, has_children: bool, after: int):
        """Yield (offset, tag, attrs) of the direct children of the DIE at ``offset``."""
        if not has_children:
            return
        pos = after
        while pos < unit.end:
            child = pos
            tag, attrs, child_has_children, pos = self._read_die_in(unit, child)
            if tag == 0:
                return
            yield child, tag, attrs
            if child_has_children:
                sibling = attrs.get(DW_AT_sibling)
                if sibling is not None and sibling[0] != 0x10 and sibling[1] > child:
                    pos = sibling[1]
                else:
                    pos = self._skip_children(unit, pos)
        raise FormatError("unit ends inside a DIE's children", unit.end, "die")

    def _skip_children(self, unit: Unit, pos: int) -> int:
        depth = 1
        while depth:
            if pos >= unit.end:
                raise FormatError("unit ends inside a DIE's children", unit.end, "die")
            tag, attrs, has_children, pos = self._read_die_in(unit, pos)
            if tag == 0:
                depth -= 1
            elif has_children:
                depth += 1
        return pos

    def _string(self, unit: Unit, attr) -> Optional[str]:
        if attr is None:
            return None
        form, value, inline_at = attr
        if inline_at >= 0:
            return _str_at(self.sections.info, inline_at, ".debug_info")
        if form == 0x1F:
            return _str_at(self.sections.line_str, value, ".debug_line_str")
        if form == 0x0E:
            return _str_at(self.sections.str, value, ".debug_str")
        if form == 0x1A or 0x25 <= form <= 0x28:
            return _str_at(self.sections.str, _strx(self.sections, unit, value), ".debug_str")
        return None

    @staticmethod
    def _constant(attr, signed: bool = False) -> Optional[int]:
        if attr is None:
            return None
        form, value, _ = attr
        if not isinstance(value, int):
            if form == 0x18 and value and value[0] == 0x23:  # DW_OP_plus_uconst (DWARF 2 member locations)
                return _uleb(value, 1)[0]
            return None
        if signed and form in (0x0B, 0x05, 0x06, 0x07):
            bits = {0x0B: 8, 0x05: 16, 0x06: 32, 0x07: 64}[form]
            if value >> (bits - 1):
                value -= 1 << bits
        return value

    # -- types --------------------------------------------------------------
    def type_at(self, offset: int) -> Type:
        """The type whose DIE is at .debug_info ``offset``."""
        t = self._cache.get(offset)
        if t is None:
            if offset in self._building:
                raise FormatError(f"type DIE at {offset:#x} refers to itself", offset, "DW_AT_type")
            self._building.add(offset)
            try:
                t = self._build(offset)
            finally:
                self._building.discard(offset)
            self._cache[offset] = t
        return t

    def _target(self, attrs) -> Type:
        ref = attrs.get(DW_AT_type)
        if ref is None or not isinstance(ref[1], int) or ref[0] in (0x20, 0x1C, 0x24, 0x1F20):
            return void_type()
        return self.type_at(ref[1])

    def _build(self, offset: int) -> Type:
        unit, tag, attrs, has_children, after = self._read_die(offset)
        name = self._string(unit, attrs.get(DW_AT_name))
        size = self._constant(attrs.get(DW_AT_byte_size))
        if tag == DW_TAG_base_type:
            encoding = self._constant(attrs.get(DW_AT_encoding))
            if encoding == DW_ATE_boolean:
                return bool_type(name or "_Bool", size or 1)
            if encoding == DW_ATE_float:
                return float_type(name or "double", size or 8)
            return int_type(name or "int", size or 0, encoding in (DW_ATE_signed, DW_ATE_signed_char))
        if tag == DW_TAG_pointer_type:
            return pointer_type(self._target(attrs), size or unit.addr_size)
        if tag in (DW_TAG_const_type, DW_TAG_volatile_type, DW_TAG_restrict_type, DW_TAG_atomic_type):
            qualifier = {DW_TAG_const_type: Qualifiers.CONST, DW_TAG_volatile_type: Qualifiers.VOLATILE,
                         DW_TAG_restrict_type: Qualifiers.RESTRICT}.get(tag, Qualifiers.NONE)
            return self._target(attrs).qualified(qualifier)
        if tag == DW_TAG_typedef:
            return typedef_type(name or "", self._target(attrs))
        if tag in (DW_TAG_structure_type, DW_TAG_union_type, DW_TAG_enumeration_type):
            if DW_AT_declaration in attrs and name is not None:
                # A declaration in this unit; the definition lives in another one.
                namespace = {DW_TAG_structure_type: "struct", DW_TAG_union_type: "union"}.get(tag, "enum")
                definition = self._types.get((namespace, name))
                if definition is not None and definition != offset:
                    return self.type_at(definition)
                make = {DW_TAG_structure_type: struct_type, DW_TAG_union_type: union_type}.get(tag)
                return make(name, None, None) if make else enum_type(name, None, False, None)
            if tag == DW_TAG_enumeration_type:
                return self._enum(unit, attrs, name, size, offset, has_children, after)
            make = struct_type if tag == DW_TAG_structure_type else union_type
            return make(name, size, lambda: self._members(offset))
        if tag == DW_TAG_array_type:
            dims = []
            for _, child_tag, child in self._children(unit, offset, has_children, after):
                if child_tag == DW_TAG_subrange_type:
                    count = self._constant(child.get(DW_AT_count))
                    if count is None:
                        upper = child.get(DW_AT_upper_bound)
                        bound = self._constant(upper, signed=upper is not None and upper[0] == 0x0D)
                        if upper is not None and (upper[0], bound) in ((0x06, 0xFFFFFFFF), (0x07, (1 << 64) - 1)):
                            bound = -1  # GCC's spelling of the upper bound of a zero-length array
                        count = None if bound is None else bound + 1
                    dims.append(count if count else None)
            t = self._target(attrs)
            for length in reversed(dims or [None]):
                t = array_type(t, length)
            return t
        if tag == DW_TAG_subroutine_type:
            params = []
            variadic = False
            for _, child_tag, child in self._children(unit, offset, has_children, after):
                if child_tag == DW_TAG_formal_parameter:
                    params.append((self._string(unit, child.get(DW_AT_name)), self._target(child)))
                elif child_tag == DW_TAG_unspecified_parameters:
                    variadic = True
            return function_type(self._target(attrs), params, variadic)
        if tag in (DW_TAG_unspecified_type,):
            return void_type()
        if tag == DW_TAG_variable:
            if DW_AT_type not in attrs and DW_AT_specification in attrs:
                return self.type_at(attrs[DW_AT_specification][1])
            return self._target(attrs)
        raise FormatError(f"DIE at {offset:#x} with tag {tag:#x} is not a type", offset, "tag")

    def _enum(self, unit, attrs, name, size, offset, has_children, after) -> Type:
        signed = False
        if DW_AT_type in attrs:
            underlying = self._target(attrs).resolved()
            signed = underlying.is_signed
            size = size or underlying.size
        enumerators = []
        for _, child_tag, child in self._children(unit, offset, has_children, after):
            if child_tag == DW_TAG_enumerator:
                value = self._constant(child.get(DW_AT_const_value), signed=signed)
                if value is not None and value < 0:
                    signed = True
                enumerators.append((self._string(unit, child.get(DW_AT_name)) or "", value or 0))
        return enum_type(name, size, signed, enumerators)

    def _members(self, offset: int) -> List[Member]:
        unit, tag, attrs, has_children, after = self._read_die(offset)
        members = []
        for _, child_tag, child in self._children(unit, offset, has_children, after):
            if child_tag != DW_TAG_member:
                continue
            name = self._string(unit, child.get(DW_AT_name))
            bit_size = self._constant(child.get(DW_AT_bit_size)) or 0
            data_bit_offset = self._constant(child.get(DW_AT_data_bit_offset))
            if data_bit_offset is not None:
                bit_offset = data_bit_offset
            else:
                bit_offset = 8 * (self._constant(child.get(DW_AT_data_member_location)) or 0)
                old_style = self._constant(child.get(DW_AT_bit_offset))
                if old_style is not None and bit_size:
                    # DWARF 2/3: bits counted from the storage unit's most significant end.
                    storage = self._constant(child.get(DW_AT_byte_size))
                    if storage is None:
                        storage = self._target(child).size or 0
                    bit_offset += storage * 8 - old_style - bit_size
            members.append(Member(name, _lazy_target(self, child), bit_offset, bit_size))
        return members

    # -- lookups --------------------------------------------------------------
    def _lookup(self, namespace: str, name: str) -> Optional[Type]:
        offset = self._types.get((namespace, name))
        return None if offset is None else self.type_at(offset)

    def variable_type(self, name: str) -> Optional[Type]:
        """Type of the global variable ``name`` (a definition's, else a declaration's)."""
        offset = self._variables.get(name)
        return None if offset is None else self.type_at(offset)

    def names(self) -> List[Tuple[str, str]]:
        return list(self._types)

    def variable_names(self) -> List[str]:
        return list(self._variables)


def _lazy_target(index: DwarfIndex, attrs):
    return lambda: index._target(attrs)


def load_dwarf(path: str, use_cache: bool = True, native_scan: Optional[bool] = None) -> DwarfIndex:
    """The DWARF type index of the ELF file ``path`` (a vmlinux with debug info).

    The name index is read from ``$PYCORE_CACHE/dwarf/<build-id>.idx`` when present
    (``~/.cache/pycore`` by default), else built with one scan of .debug_info and
    saved there.  Raises MissingDebugInfoError when the file has no DWARF.
    """
    sections = open_sections(path)
    cache_path = os.path.join(cache_dir(), _cache_key(sections) + ".idx")
    source = f"dwarf ({os.path.basename(path)})"
    if use_cache:
        cached = _load_cache(cache_path, len(sections.info))
        if cached is not None:
            return DwarfIndex(sections, cached[0], cached[1], source)
    scan = scan_names_native if native.use_native(native_scan) else scan_names_python
    types, variables = build_name_index(sections, scan(sections))
    if use_cache:
        _save_cache(cache_path, len(sections.info), types, variables)
    return DwarfIndex(sections, types, variables, source)


def _load_cache(path: str, info_size: int):
    try:
        with open(path, "rb") as f:
            data = f.read()
        header, payload = data[:16], data[16:]
        if header != b"pycore-dwi\0\0" + struct.pack("<I", CACHE_FORMAT):
            return None
        size, types, variables = marshal.loads(payload)
        if size != info_size or not isinstance(types, dict) or not isinstance(variables, dict):
            return None
        return types, variables
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _save_cache(path: str, info_size: int, types, variables) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(b"pycore-dwi\0\0" + struct.pack("<I", CACHE_FORMAT))
            f.write(marshal.dumps((info_size, types, variables)))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the next run a rescan
