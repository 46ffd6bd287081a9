"""Symbols, build ID and banner from a vmlinux ELF file (any kernel version, 32/64-bit).

The section headers are read with struct (:class:`~pycore.symbols.elf_sections.ElfHeaders`;
pyelftools cost every vmlinux run ~0.1 s), every header and table checked against the
file's size, and the symbol table filtered and sorted into the table's columns in C
(csrc/symtab.c) or by its Python twin here.  DWARF is never touched.
"""
from array import array
from bisect import bisect_right
import contextlib
import os
import struct
from typing import Callable, Iterator, List, NamedTuple, Optional, Tuple

from .. import native as _native
from ..dump.notes import parse_notes
from ..errors import FaultError, FormatError, MissingDebugInfoError, PycoreError
from .elf_sections import SHF_COMPRESSED, SHT_NOBITS, ElfHeaders, Section
from .table import SymbolColumns, SymbolTable, columns_from_lists, image_bounds, indexed_table, name_order

SOURCE = "vmlinux symtab"

SHF_ALLOC = 0x2
NT_GNU_BUILD_ID = 3
SHN_UNDEF = 0
SHN_ABS = 0xFFF1
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE, STT_COMMON, STT_TLS = range(7)
STT_GNU_IFUNC = 10
STB_LOCAL, STB_GLOBAL, STB_WEAK = range(3)

_KIND = {STT_NOTYPE: "notype", STT_OBJECT: "object", STT_FUNC: "function", STT_COMMON: "object",
         STT_TLS: "tls", STT_GNU_IFUNC: "function"}
# Among symbols at one address, the one lookup reports: sized before unsized,
# global before weak before local, functions and objects before bare labels.
_BINDING_RANK = {STB_GLOBAL: 0, STB_WEAK: 1, STB_LOCAL: 2}
_TYPE_RANK = {STT_FUNC: 0, STT_GNU_IFUNC: 0, STT_OBJECT: 0, STT_COMMON: 0, STT_TLS: 1, STT_NOTYPE: 2}
# csrc/pc_symtab.h's PC_SYMTAB_* kinds, in their order (bit k of kinds_present).
_C_KINDS = ("function", "notype", "object", "tls")
# Elf64_Sym and Elf32_Sym: entry size and layout.
_ENTRY = {64: (24, "IBBHQQ"), 32: (16, "IIIBBH")}


@contextlib.contextmanager
def elf_format_errors(path: str) -> Iterator[None]:
    """Turn what pyelftools raises while parsing a damaged ELF file into FormatError naming
    the file (dwarf_lines.py decodes line programs with it); open the file outside, so a missing
    file stays an OSError."""
    from elftools.common.exceptions import ELFError
    from elftools.construct import ConstructError

    # What pyelftools raises on a damaged file besides its ELFError: the errors of its bundled
    # construct library, and those of the seeks, slices and lookups it does with header
    # fields it trusts (an sh_offset past 2**63, an e_shstrndx past the section table).
    pyelftools_errors = (ELFError, ConstructError, struct.error, ValueError, OSError, LookupError, TypeError)
    try:
        yield
    except PycoreError:
        raise
    except pyelftools_errors as error:
        raise FormatError(f"{path} is not a well-formed ELF file: {type(error).__name__}: {error}",
                          field="ELF") from None


def section_bytes(headers: ElfHeaders, section: Section) -> bytes:
    """The file bytes of an uncompressed section (symbol and string tables, .BTF); b"" for SHT_NOBITS."""
    if section.type == SHT_NOBITS:
        return b""
    if section.flags & SHF_COMPRESSED:
        raise FormatError(f"{headers.path}: section {section.name!r} is compressed, which the kernel build never "
                          "does", offset=section.offset, field="sh_flags")
    return headers.read(section.offset, section.size, "sh_size")


def _symtab_section(headers: ElfHeaders) -> Tuple[Section, bytes, bytes]:
    """The ``.symtab`` section, its bytes and its string table's."""
    symtab = headers.section(".symtab")
    if symtab is None:
        raise MissingDebugInfoError(f"{headers.path} has no .symtab (stripped vmlinux?)")
    if symtab.link >= len(headers.sections):
        raise FormatError(f"{headers.path}: .symtab's sh_link {symtab.link} is past its {len(headers.sections)} "
                          "sections", offset=symtab.offset, field="sh_link")
    strtab = section_bytes(headers, headers.sections[symtab.link])
    return symtab, section_bytes(headers, symtab), strtab


def _unpack_rows(data: bytes, elfclass: int, endian: str) -> list:
    """``.symtab`` entries as (st_name, st_value, st_size, st_info, st_shndx); a partial last one is left out."""
    size, layout = _ENTRY[elfclass]
    entries = struct.iter_unpack(endian + layout, data[:len(data) // size * size])
    if elfclass == 64:
        return [(name, value, size, info, shndx) for name, info, _other, shndx, value, size in entries]
    return [(name, value, size, info, shndx) for name, value, size, info, _other, shndx in entries]


def _symtab_rows(headers: ElfHeaders) -> Tuple[list, bytes]:
    """The raw ``.symtab`` entries as (st_name, st_value, st_size, st_info, st_shndx), and its string table."""
    _section, data, strtab = _symtab_section(headers)
    return _unpack_rows(data, headers.elfclass, headers.endian), strtab


def _kernel_start(headers: ElfHeaders) -> int:
    """Lowest address of an allocated section: where KASLR starts moving things.

    Per-CPU sections linked at 0 (x86_64 SMP) and absolute symbols stay put.
    """
    starts = [section.address for section in headers.sections if section.flags & SHF_ALLOC and section.address]
    return min(starts) if starts else 0


class _SymtabInput(NamedTuple):
    """What the .symtab twins read (csrc/pc_symtab.h struct pc_symtab_input, and the file's path
    and the section's file offset for the errors)."""
    path: str
    offset: int
    symtab: bytes
    strtab: bytes
    elfclass: int
    endian: str
    kernel_start: int
    kaslr_offset: int


def _symtab_error(status: int, fault: _native.Fault, source: _SymtabInput) -> Exception:
    """The error of either twin, the fault's offset in .symtab turned into a file offset."""
    return _native.error(status, fault._replace(file_offset=source.offset + fault.file_offset),
                         _native.Context(container="symtab", reason=source.path))


def _columns_python(source: _SymtabInput) -> SymbolColumns:
    """The symbols a table keeps, in lookup order: sorted by address, then sized before unsized,
    global before weak before local, functions and objects before TLS before bare labels, then by
    name, size and kind (csrc/symtab.c pc_symtab_columns is the C twin)."""
    mask = (1 << source.elfclass) - 1
    kaslr_offset, kernel_start = source.kaslr_offset, source.kernel_start
    # A name without its NUL ends with the table; the padding finds that end without a test per name.
    strtab = source.strtab + b"\0"
    find = strtab.find
    entries = []
    for index, (name_offset, value, size, info, shndx) in enumerate(_unpack_rows(source.symtab, source.elfclass,
                                                                                 source.endian)):
        kind = info & 0xF
        if kind not in _KIND or shndx == SHN_UNDEF or not name_offset:
            continue
        name = strtab[name_offset:find(b"\0", name_offset)].decode("utf-8", "replace")
        if not name:
            continue
        if kaslr_offset and shndx != SHN_ABS and value >= kernel_start:
            value = (value + kaslr_offset) & mask
        entries.append((value, 0 if size else 1, _BINDING_RANK.get(info >> 4, 3), _TYPE_RANK[kind],
                        name, size or None, _KIND[kind], index))
    entries.sort()
    try:
        return columns_from_lists([entry[4] for entry in entries], [entry[0] for entry in entries],
                                  [entry[5] for entry in entries], [entry[6] for entry in entries])
    except OverflowError:
        # A size an int64 cannot hold (2**63 and more): what pc_symtab_measure reports, the first
        # such entry in .symtab's order.
        index, size = min((entry[7], entry[5]) for entry in entries if entry[5] and entry[5] >> 63)
        fault = _native.Fault(address=size, file_offset=index * _ENTRY[source.elfclass][0])
        raise _symtab_error(_native.Status.CORRUPT, fault, source) from None


def _columns_native(source: _SymtabInput) -> SymbolColumns:
    """:func:`_columns_python` through csrc/symtab.c (pc_symtab_measure, pc_symtab_columns)."""
    ffi, lib = _native.ffi, _native.lib
    symtab, strtab = ffi.from_buffer("uint8_t[]", source.symtab), ffi.from_buffer("uint8_t[]", source.strtab)
    given = ffi.new("struct pc_symtab_input *", {
        "symtab": symtab, "symtab_len": len(source.symtab), "strtab": strtab, "strtab_len": len(source.strtab),
        "elfclass": source.elfclass, "big_endian": source.endian == ">", "kernel_start": source.kernel_start,
        "kaslr_offset": source.kaslr_offset & ((1 << source.elfclass) - 1)})
    fault = ffi.new("struct pc_fault *")
    count, names_len = ffi.new("size_t *"), ffi.new("size_t *")
    status = lib.pc_symtab_measure(given, count, names_len, fault)
    if status:
        raise _symtab_error(status, _native.Fault.from_c(fault), source)
    count = count[0]
    names = bytearray(names_len[0])
    ends, addresses = array("Q", bytes(8 * count)), array("Q", bytes(8 * count))
    sizes, kinds = array("q", bytes(8 * count)), bytearray(count)
    present = ffi.new("uint32_t *")
    status = lib.pc_symtab_columns(given, count, len(names), ffi.from_buffer("uint8_t[]", names),
                                   ffi.from_buffer("uint64_t[]", ends), ffi.from_buffer("uint64_t[]", addresses),
                                   ffi.from_buffer("int64_t[]", sizes), ffi.from_buffer("uint8_t[]", kinds),
                                   present, fault)
    if status:
        raise _symtab_error(status, _native.Fault.from_c(fault), source)
    kind_values = tuple(kind for bit, kind in enumerate(_C_KINDS) if present[0] >> bit & 1)
    return SymbolColumns(str(memoryview(names)[:-1], "ascii"), ends, addresses,
                         None if sizes.count(-1) == count else sizes, bytes(kinds), kind_values)


def load_elf_symbols(vmlinux_path: str, kaslr_offset: int = 0, native: Optional[bool] = None) -> SymbolTable:
    """The ``.symtab`` of a vmlinux, every kernel address moved by ``kaslr_offset`` (VMCOREINFO KERNELOFFSET).

    Sizes are ELF ``st_size`` (None when 0), kinds 'function', 'object', 'tls' or
    'notype'; section, file and undefined symbols are left out.  Built in C when the
    extension is and the string table is ASCII (C orders names as bytes; every kernel's
    table is ASCII), else in Python.  Raises FormatError for a non-ELF file or an
    impossible symbol size and MissingDebugInfoError when there is no symbol table.
    """
    with open(vmlinux_path, "rb") as stream:
        headers = ElfHeaders(stream, vmlinux_path)
        section, symtab, strtab = _symtab_section(headers)
        source = _SymtabInput(vmlinux_path, section.offset, symtab, strtab, headers.elfclass, headers.endian,
                              _kernel_start(headers), kaslr_offset)
    use_c = _native.use_native(native) and strtab.isascii()
    columns = (_columns_native if use_c else _columns_python)(source)
    by_name = name_order(columns.names, columns.ends, native)
    start, end = image_bounds(columns, by_name)
    return indexed_table(SOURCE, columns, by_name, start, end, native)


def elf_build_id(path: str) -> Optional[str]:
    """The NT_GNU_BUILD_ID note of an ELF file as lowercase hex, or None when it has none.

    Read with :class:`~pycore.symbols.elf_sections.ElfHeaders`, not pyelftools: every run with a
    vmlinux asks it first (``check_vmlinux``), and pyelftools costs that run ~0.1 s."""
    with open(path, "rb") as stream:
        blobs = ElfHeaders(stream, path).note_blobs()
    for offset, data in blobs:
        for note in parse_notes(data, offset):
            if note.type == NT_GNU_BUILD_ID and note.name == b"GNU":
                return note.desc.hex()
    return None


def _symbol_value(headers: ElfHeaders, wanted: str) -> Optional[Tuple[int, int]]:
    """(st_value, st_size) of the first defined symbol called ``wanted``, without unpacking the
    table: the name's offsets in the string table, then the entries whose st_name (their first
    four bytes) holds one, found with bytes.find."""
    _section, data, strtab = _symtab_section(headers)
    entry_size, layout = _ENTRY[headers.elfclass]
    endian = headers.endian
    usable = len(data) // entry_size * entry_size
    shndx_at = 6 if headers.elfclass == 64 else 14
    key = wanted.encode() + b"\0"
    first = None
    position = strtab.find(key)
    while position >= 0:
        if position == 0 or strtab[position - 1] == 0:
            needle = struct.pack(endian + "I", position)
            at = data.find(needle, 0, usable)
            while at >= 0 and (first is None or at < first):
                if at % entry_size == 0 and struct.unpack_from(endian + "H", data, at + shndx_at)[0] != SHN_UNDEF:
                    first = at
                    break
                at = data.find(needle, at + 1, usable)
        position = strtab.find(key, position + 1)
    if first is None:
        return None
    fields = struct.unpack_from(endian + layout, data, first)
    return (fields[4], fields[5]) if headers.elfclass == 64 else (fields[1], fields[2])


def elf_linux_banner(path: str) -> Optional[str]:
    """The ``linux_banner`` string ("Linux version 6.1.0-... ") stored in the vmlinux, or None.

    Compared with the banner in a dump's memory, it tells whether a vmlinux
    matches the dump.
    """
    with open(path, "rb") as stream:
        headers = ElfHeaders(stream, path)
        try:
            found = _symbol_value(headers, "linux_banner")
        except MissingDebugInfoError:
            return None
    if found is None:
        return None
    address, size = found
    read = vmlinux_reader(path)
    try:
        data = read(address, size or 1024)
    except FaultError:
        return None
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def vmlinux_reader(path: str) -> Callable[[int, int], bytes]:
    """``read(address, size)`` over the link-time addresses of a vmlinux's allocated sections.

    Lets the kallsyms decoder and banner checks run on a vmlinux file as they do on
    a dump.  Raises FaultError for addresses no section with file contents covers
    (.bss, gaps); the file is opened per read, so nothing is left open.
    """
    with open(path, "rb") as stream:
        headers = ElfHeaders(stream, path)
    ranges: List[Tuple[int, int, int]] = sorted(
        (section.address, section.size, section.offset) for section in headers.sections
        if section.flags & SHF_ALLOC and section.type != SHT_NOBITS and section.size)
    file_size = headers.file_size
    for start, size, offset in ranges:
        if offset + size > file_size:
            raise FormatError(f"{path}: the section at {start:#x} claims file bytes {offset:#x}+{size:#x}, "
                              f"past the {file_size:#x}-byte file", offset=offset, field="sh_offset")
    starts = [start for start, _size, _offset in ranges]

    def read(address: int, size: int) -> bytes:
        pieces = []
        wanted = size
        with open(path, "rb") as stream:
            descriptor = stream.fileno()
            while wanted > 0:
                index = bisect_right(starts, address) - 1
                if index < 0 or address >= ranges[index][0] + ranges[index][1]:
                    raise FaultError(f"{os.path.basename(path)}: no section holds", address)
                start, length, file_offset = ranges[index]
                chunk = min(wanted, start + length - address)
                data = os.pread(descriptor, chunk, file_offset + address - start)
                if len(data) != chunk:
                    raise FaultError(f"{os.path.basename(path)}: file is truncated", address)
                pieces.append(data)
                address += chunk
                wanted -= chunk
        return b"".join(pieces)

    return read


# bfd's symbol classes (bfd_decode_symclass, binutils 2.4x as crash 9's gdb 16 links it): the
# ELF section's flags decide, as _bfd_elf_make_section_from_shdr turns them into SEC_* flags and
# decode_section_type reads those; a global symbol's letter is upper case.
SHN_COMMON = 0xFFF2
SHF_WRITE, SHF_EXECINSTR = 0x1, 0x4
STB_GNU_UNIQUE = 10


def _section_letter(sh_type: int, sh_flags: int) -> str:
    """decode_section_type() of an ELF section: text, read-only or writable data, bss."""
    if sh_flags & SHF_EXECINSTR:
        return "t"
    if sh_flags & SHF_ALLOC and sh_type != SHT_NOBITS:
        return "d" if sh_flags & SHF_WRITE else "r"
    if sh_type == SHT_NOBITS:
        return "b"
    return "n" if not sh_flags & SHF_WRITE else "?"


def _bfd_letter(info: int, shndx: int, sections: List[Tuple[str, int, int]]) -> str:
    kind, binding = info & 0xF, info >> 4
    if shndx == SHN_COMMON:
        return "C"
    if kind == STT_GNU_IFUNC:
        return "i"
    if binding == STB_WEAK:
        return "V" if kind == STT_OBJECT else "W"
    if binding == STB_GNU_UNIQUE:
        return "u"
    if shndx == SHN_ABS:
        letter = "a"
    elif shndx < len(sections):
        letter = _section_letter(sections[shndx][1], sections[shndx][2])
    else:
        return "?"
    return letter.upper() if binding == STB_GLOBAL else letter


def crash_symbol_list(vmlinux_path: str, kaslr_offset: int = 0) -> List[Tuple[int, str, str]]:
    """``(address, letter, name)`` of the kernel symbols crash 9 keeps from a vmlinux, in its order:
    what ``sym -l`` lists before the modules.

    crash reads the symtab through bfd: section symbols named after their section, local labels
    (``.LC0``) and every class letter as nm gives it; sorts by link-time value, then name; names
    each as :func:`~pycore.symbols.table.crash_name` cuts it; and keeps (x86_64_verify_symbol),
    below ``_text``, only ``__per_cpu_start``, then the per-CPU data (``d``, ``D``, ``V`` and
    ``per_cpu*`` names) up to ``__per_cpu_end`` (absolute values, ``.text``'s section symbol and
    ``.data..percpu``'s are left out).  An address inside the allocated sections is moved by
    ``kaslr_offset``, as crash's relocate() does.  Any kernel version."""
    from .table import crash_name

    with open(vmlinux_path, "rb") as stream:
        headers = ElfHeaders(stream, vmlinux_path)
        rows, strtab = _symtab_rows(headers)
    sections = [(section.name, section.type, section.flags) for section in headers.sections]
    allocated = [(section.address, section.address + section.size) for section in headers.sections
                 if section.flags & SHF_ALLOC and section.address]
    first = min((start for start, _ in allocated), default=0)
    last = max((end for _, end in allocated), default=0)
    mask = (1 << 64) - 1
    find = strtab.find
    entries = []
    for name_offset, value, _size, info, shndx in rows[1:]:
        if shndx == SHN_UNDEF:
            continue
        if info & 0xF == STT_SECTION:
            raw = sections[shndx][0].encode() if shndx < len(sections) else b""
        else:
            raw = strtab[name_offset:find(b"\0", name_offset)]
        if raw:
            entries.append((value, raw, info, shndx))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    kept = []
    started = percpu = False
    for value, raw, info, shndx in entries:
        name = crash_name(raw.decode("utf-8", "replace"))
        letter = _bfd_letter(info, shndx, sections)
        if not started:
            if name in ("_text", "_stext"):
                started = True
            elif name == "__per_cpu_start":
                percpu = True
            elif not (percpu and (name.startswith("per_cpu") or name == "__per_cpu_end" or letter in "dDV")):
                continue
        if kaslr_offset and first <= value <= last:
            value = (value + kaslr_offset) & mask
        kept.append((value, letter, name))
    return kept
