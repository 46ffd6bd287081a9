"""Symbols, build ID and banner from a vmlinux ELF file (any kernel version, 32/64-bit).

The section headers are read with struct (:class:`~pycore.symbols.elf_sections.ElfHeaders`;
pyelftools cost every vmlinux run ~0.1 s) and the symbol table is unpacked in bulk,
every header and table checked against the file's size.  DWARF is never touched.
"""
from bisect import bisect_right
import contextlib
import os
import struct
from typing import Callable, Iterator, List, Optional, Tuple

from ..dump.notes import parse_notes
from ..errors import FaultError, FormatError, MissingDebugInfoError, PycoreError
from .elf_sections import SHF_COMPRESSED, SHT_NOBITS, ElfHeaders, Section
from .table import SymbolTable, kernel_image_bounds

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


def _symtab_rows(headers: ElfHeaders) -> Tuple[list, bytes]:
    """The raw ``.symtab`` entries as (st_name, st_value, st_size, st_info, st_shndx), and its string table."""
    symtab = headers.section(".symtab")
    if symtab is None:
        raise MissingDebugInfoError(f"{headers.path} has no .symtab (stripped vmlinux?)")
    if symtab.link >= len(headers.sections):
        raise FormatError(f"{headers.path}: .symtab's sh_link {symtab.link} is past its {len(headers.sections)} "
                          "sections", offset=symtab.offset, field="sh_link")
    strtab = section_bytes(headers, headers.sections[symtab.link])
    data = section_bytes(headers, symtab)
    endian = headers.endian
    if headers.elfclass == 64:
        entries = struct.iter_unpack(endian + "IBBHQQ", data[:len(data) // 24 * 24])
        rows = [(name, value, size, info, shndx) for name, info, _other, shndx, value, size in entries]
    else:
        entries = struct.iter_unpack(endian + "IIIBBH", data[:len(data) // 16 * 16])
        rows = [(name, value, size, info, shndx) for name, value, size, info, _other, shndx in entries]
    return rows, strtab


def _kernel_start(headers: ElfHeaders) -> int:
    """Lowest address of an allocated section: where KASLR starts moving things.

    Per-CPU sections linked at 0 (x86_64 SMP) and absolute symbols stay put.
    """
    starts = [section.address for section in headers.sections if section.flags & SHF_ALLOC and section.address]
    return min(starts) if starts else 0


def load_elf_symbols(vmlinux_path: str, kaslr_offset: int = 0) -> SymbolTable:
    """The ``.symtab`` of a vmlinux, every kernel address moved by ``kaslr_offset`` (VMCOREINFO KERNELOFFSET).

    Sizes are ELF ``st_size`` (None when 0), kinds 'function', 'object', 'tls' or
    'notype'; section, file and undefined symbols are left out.  Raises FormatError
    for a non-ELF file and MissingDebugInfoError when there is no symbol table.
    """
    with open(vmlinux_path, "rb") as stream:
        headers = ElfHeaders(stream, vmlinux_path)
        rows, strtab = _symtab_rows(headers)
        kernel_start = _kernel_start(headers)
        mask = (1 << headers.elfclass) - 1

    entries = []
    find = strtab.find
    for name_offset, value, size, info, shndx in rows:
        kind = info & 0xF
        if kind not in _KIND or shndx == SHN_UNDEF or not name_offset:
            continue
        name = strtab[name_offset:find(b"\0", name_offset)].decode("utf-8", "replace")
        if not name:
            continue
        if kaslr_offset and shndx != SHN_ABS and value >= kernel_start:
            value = (value + kaslr_offset) & mask
        entries.append((value, 0 if size else 1, _BINDING_RANK.get(info >> 4, 3), _TYPE_RANK[kind],
                        name, size or None, _KIND[kind]))
    entries.sort()
    names = [entry[4] for entry in entries]
    addresses = [entry[0] for entry in entries]
    sizes = [entry[5] for entry in entries]
    kinds = [entry[6] for entry in entries]

    start, end = kernel_image_bounds(names, addresses)
    return SymbolTable(SOURCE, names, addresses, sizes, kinds, start=start, end=end)


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
    """(st_value, st_size) of the first symbol called ``wanted``, without decoding every name."""
    rows, strtab = _symtab_rows(headers)
    key = wanted.encode() + b"\0"
    offsets = set()
    position = strtab.find(key)
    while position >= 0:
        if position == 0 or strtab[position - 1] == 0:
            offsets.add(position)
        position = strtab.find(key, position + 1)
    for name_offset, value, size, info, shndx in rows:
        if name_offset in offsets and shndx != SHN_UNDEF:
            return value, size
    return None


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
