"""DWARF's encoding (versions 2 to 5, 32- and 64-bit units): the sections of an ELF file,
unit headers, abbreviation tables, attribute forms and strings.

Shared by the name scan (dwarf_scan.py), the type reader (dwarf.py) and the scopes reader
(dwarf_locals.py), which read DIEs through :func:`read_die`, :func:`die_children` and
:func:`attribute_string`; names follow the DWARF 5 specification.  Every read past a section
raises FormatError.
"""
import mmap
import struct
import zlib
from typing import Dict, Iterator, Optional, Tuple

from ..errors import FormatError, MissingDebugInfoError

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
    """Map ``path`` and find .debug_info, .debug_abbrev, .debug_str (+ line_str, str_offsets) and the
    build-id, from the section headers read with struct (pyelftools would cost every run ~0.1 s)."""
    from ..dump.notes import parse_notes

    found, notes = map_sections(path, (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str",
                                       ".debug_str_offsets"))
    for name in (".debug_info", ".debug_abbrev"):
        if found[name] is None:
            raise MissingDebugInfoError(f"{path} has no {name} section (no DWARF debug info)")
        if not len(found[name]):
            raise MissingDebugInfoError(f"{path}: {name} is empty (stripped debug info)")
    build_id = None
    for offset, blob in notes:
        for note in parse_notes(blob, offset):
            if note.type == 3 and note.name == b"GNU":  # NT_GNU_BUILD_ID
                build_id = note.desc
                break
        if build_id:
            break
    empty = memoryview(b"")
    return Sections(found[".debug_info"], found[".debug_abbrev"], found[".debug_str"] or empty,
                    found[".debug_line_str"] or empty, found[".debug_str_offsets"] or empty, build_id, path)


def map_sections(path: str, names: Tuple[str, ...]) -> Tuple[Dict[str, Optional[memoryview]], list]:
    """Map ``path``: each of ``names`` as a view of the mapping (inflated when SHF_COMPRESSED), empty
    for SHT_NOBITS, None when the file has no such section; and the file's note blobs."""
    from ..symbols.elf_sections import SHF_COMPRESSED, SHT_NOBITS, ElfHeaders

    with open(path, "rb") as f:
        headers = ElfHeaders(f, path)
        mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        notes = headers.note_blobs()
    view = memoryview(mapping)
    found: Dict[str, Optional[memoryview]] = {}
    for name in names:
        sec = headers.section(name)
        if sec is None or sec.type == SHT_NOBITS:
            found[name] = None if sec is None else memoryview(b"")
            continue
        if sec.offset + sec.size > len(mapping):
            raise FormatError(f"{name} runs past the end of {path}", sec.offset, "sh_size")
        data = view[sec.offset:sec.offset + sec.size]
        if sec.flags & SHF_COMPRESSED:
            data = memoryview(_inflate(data, headers.elfclass, headers.endian, name, sec.offset))
        found[name] = data
    return found, notes


def _inflate(data: memoryview, elfclass: int, endian: str, name: str, offset: int) -> bytes:
    """A SHF_COMPRESSED section's contents: its Elf32_Chdr/Elf64_Chdr, then zlib data (ELFCOMPRESS_ZLIB,
    the one kind pyelftools, which read these before, inflates)."""
    layout = endian + ("III" if elfclass == 32 else "IIQ")
    header_size = 12 if elfclass == 32 else 24
    if len(data) < header_size:
        raise FormatError(f"{name} is too short for its compression header", offset, "ch_type")
    fields = struct.unpack_from(layout, data)
    kind, size = fields[0], fields[1] if elfclass == 32 else fields[2]
    if kind != 1:
        raise FormatError(f"{name} is compressed with ch_type {kind}, expected 1 (ELFCOMPRESS_ZLIB)", offset, "ch_type")
    try:
        inflated = zlib.decompress(data[header_size:])
    except zlib.error as error:
        raise FormatError(f"{name} does not inflate: {error}", offset, "ch_size") from None
    if len(inflated) != size:
        raise FormatError(f"{name} inflates to {len(inflated)} bytes, its header says {size}", offset, "ch_size")
    return inflated


def uleb(data, pos: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def sleb(data, pos: int) -> Tuple[int, int]:
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


def fixed_form_size(form: int, offset_size: int, addr_size: int, version: int) -> int:
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


def parse_abbrevs(abbrev, offset: int, unit: Unit) -> Dict[int, tuple]:
    """code -> (tag, has_children, [(attr, form, implicit_const)], fixed_size or -1).

    A vmlinux unit's table has hundreds of abbreviations and a command reads DIEs in tens of
    units: the one-byte LEB128 values almost all of them are, and each form's size, are taken
    without a call (a third of the time of --vmlinux ``ps`` went here)."""
    table: Dict[int, tuple] = {}
    pos = offset
    if offset >= len(abbrev):
        raise FormatError(f"abbreviation table at {offset:#x} outside .debug_abbrev", offset, "debug_abbrev_offset")
    sizes: Dict[int, int] = {}
    try:
        while True:
            start = pos
            code = abbrev[pos]
            if code < 0x80:
                pos += 1
            else:
                code, pos = uleb(abbrev, pos)
            if code == 0:
                return table
            if code > (1 << 20) or code in table:
                raise FormatError(f"bad abbreviation code {code}", start, "abbrev_code")
            tag, pos = uleb(abbrev, pos)
            has_children = abbrev[pos] != 0
            pos += 1
            specs = []
            fixed = 0
            while True:
                name = abbrev[pos]
                if name < 0x80:
                    pos += 1
                else:
                    name, pos = uleb(abbrev, pos)
                form = abbrev[pos]
                if form < 0x80:
                    pos += 1
                else:
                    form, pos = uleb(abbrev, pos)
                if name == 0 and form == 0:
                    break
                implicit = 0
                if form == 0x21:
                    implicit, pos = sleb(abbrev, pos)
                specs.append((name, form, implicit))
                size = sizes.get(form)
                if size is None:
                    size = sizes[form] = fixed_form_size(form, unit.offset_size, unit.addr_size, unit.version)
                fixed = -1 if size < 0 or fixed < 0 else fixed + size
            table[code] = (tag or 0xFFFFFFFF, has_children, specs, fixed)
    except IndexError:
        raise FormatError("abbreviation table truncated", pos, "debug_abbrev") from None


def read_form(info, unit: Unit, form: int, implicit: int, pos: int, end: int):
    """(value, new_pos, inline_at); references become absolute .debug_info offsets."""
    while True:
        size = fixed_form_size(form, unit.offset_size, unit.addr_size, unit.version)
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
                value, new = sleb(info, pos)
            elif form in (0x0F, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02):
                value, new = uleb(info, pos)
            elif form == 0x15:
                value, new = uleb(info, pos)
                value += unit.offset
            elif form in (0x03, 0x04, 0x0A, 0x09, 0x18):
                if form == 0x03:
                    length, new = int.from_bytes(info[pos:pos + 2], "little"), pos + 2
                elif form == 0x04:
                    length, new = int.from_bytes(info[pos:pos + 4], "little"), pos + 4
                elif form == 0x0A:
                    length, new = info[pos], pos + 1
                else:
                    length, new = uleb(info, pos)
                value = bytes(info[new:new + length])
                new += length
            elif form == 0x16:
                form, pos = uleb(info, pos)
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


def str_at(section, offset: int, what: str) -> str:
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


def strx(sections: Sections, unit: Unit, index: int) -> int:
    """The .debug_str offset that entry ``index`` of the unit's string offsets table holds."""
    at = unit.str_offsets_base + index * unit.offset_size
    if at + unit.offset_size > len(sections.str_offsets):
        raise FormatError(f"string index {index} outside .debug_str_offsets", at, "DW_FORM_strx")
    return int.from_bytes(sections.str_offsets[at:at + unit.offset_size], "little")


# -- DIEs -------------------------------------------------------------------------------------
Attribute = Tuple[int, object, int]  # (form, value, inline_at): see read_form


def read_die(sections: Sections, unit: Unit, offset: int) -> Tuple[int, Dict[int, Attribute], bool, int]:
    """(tag, {attr: (form, value, inline_at)}, has_children, offset after the attributes) of the DIE
    at ``offset`` of ``unit`` (whose ``abbrevs`` are parsed); tag 0 for a null entry."""
    info = sections.info
    try:
        code, pos = uleb(info, offset)
    except IndexError:
        raise FormatError("DIE runs past .debug_info", offset, "die") from None
    if code == 0:
        return 0, {}, False, pos
    abbrev = unit.abbrevs.get(code)  # type: ignore[union-attr]
    if abbrev is None:
        raise FormatError(f"abbreviation code {code} not in the unit's table", offset, "abbrev_code")
    tag, has_children, specs, _ = abbrev
    attrs = {}
    end = unit.end
    for attr, form, implicit in specs:
        value, pos, inline_at = read_form(info, unit, form, implicit, pos, end)
        attrs[attr] = (form, value, inline_at)
    return tag, attrs, has_children, pos


def die_children(sections: Sections, unit: Unit, has_children: bool,
                 after: int) -> Iterator[Tuple[int, int, Dict[int, Attribute], bool, int]]:
    """(offset, tag, attrs, has_children, after) of each direct child of the DIE whose attributes end
    at ``after``; a child's own children are stepped over by DW_AT_sibling when it points forward
    inside the unit, else read through."""
    if not has_children:
        return
    pos = after
    while pos < unit.end:
        child = pos
        tag, attrs, child_has_children, pos = read_die(sections, unit, child)
        if tag == 0:
            return
        yield child, tag, attrs, child_has_children, pos
        if child_has_children:
            sibling = attrs.get(DW_AT_sibling)
            if sibling is not None and sibling[0] != 0x10 and child < sibling[1] <= unit.end:  # type: ignore[operator]
                pos = sibling[1]  # type: ignore[assignment]
            else:
                pos = skip_children(sections, unit, pos)
    raise FormatError("unit ends inside a DIE's children", unit.end, "die")


def skip_children(sections: Sections, unit: Unit, pos: int) -> int:
    """The offset after the children that start at ``pos`` and their null entry."""
    depth = 1
    while depth:
        if pos >= unit.end:
            raise FormatError("unit ends inside a DIE's children", unit.end, "die")
        tag, _, has_children, pos = read_die(sections, unit, pos)
        if tag == 0:
            depth -= 1
        elif has_children:
            depth += 1
    return pos


def attribute_string(sections: Sections, unit: Unit, attr: Optional[Attribute]) -> Optional[str]:
    """The string a DW_AT_name-like attribute holds (inline, .debug_str, .debug_line_str or through
    .debug_str_offsets), or None for an absent or non-string attribute."""
    if attr is None:
        return None
    form, value, inline_at = attr
    if inline_at >= 0:
        return str_at(sections.info, inline_at, ".debug_info")
    if form == 0x1F:
        return str_at(sections.line_str, value, ".debug_line_str")  # type: ignore[arg-type]
    if form == 0x0E:
        return str_at(sections.str, value, ".debug_str")  # type: ignore[arg-type]
    if form == 0x1A or 0x25 <= form <= 0x28:
        return str_at(sections.str, strx(sections, unit, value), ".debug_str")  # type: ignore[arg-type]
    return None
