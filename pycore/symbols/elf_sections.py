"""The section and program header tables of an ELF file (ELF32 or ELF64, either byte order),
read with struct: what every run with a vmlinux needs first (its build-id note, where .debug_*
and .BTF lie) without importing pyelftools, which costs a command ~0.1 s before its first answer.
"""
import os
import struct
from typing import BinaryIO, List, NamedTuple, Optional

from ..errors import FormatError

SHT_NOBITS = 8
SHT_NOTE = 7
PT_NOTE = 4
SHF_COMPRESSED = 0x800
_ELFCLASS = {1: 32, 2: 64}
_ELFDATA = {1: "<", 2: ">"}
# e_shoff .. e_shstrndx, after the 16-byte e_ident, per class: the layouts of elf.h's Elf32_Ehdr/Elf64_Ehdr.
_EHDR = {32: "HHIIIIIHHHHHH", 64: "HHIQQQIHHHHHH"}
# sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize.
_SHDR = {32: "IIIIIIIIII", 64: "IIQQQQIIQQ"}
# Elf32_Phdr and Elf64_Phdr order their fields differently; only p_type, p_offset and p_filesz are read.
_PHDR = {32: ("IIIIIIII", 0, 1, 4), 64: ("IIQQQQQQ", 0, 2, 5)}
# The most sections and segments a header may claim: a vmlinux has ~90 sections, a few segments.
_MAX_HEADERS = 1 << 16


class Section(NamedTuple):
    """One section header, its name decoded from .shstrtab."""

    name: str
    type: int
    flags: int
    address: int
    offset: int
    size: int
    link: int


class Segment(NamedTuple):
    """One program header's type and the file bytes it covers."""

    type: int
    offset: int
    size: int


class ElfHeaders:
    """The headers of an open ELF file: ``sections`` (in table order), ``segments``, ``endian``
    (a struct prefix), ``elfclass`` (32 or 64); every header is checked against the file's size."""

    def __init__(self, stream: BinaryIO, path: str):
        self.path = path
        self.stream = stream
        self.file_size = os.fstat(stream.fileno()).st_size
        ident = os.pread(stream.fileno(), 64, 0)
        if len(ident) < 52 or ident[:4] != b"\x7fELF" or ident[4] not in _ELFCLASS or ident[5] not in _ELFDATA:
            raise FormatError(f"{path} is not an ELF file: its e_ident is {ident[:6]!r}", offset=0, field="e_ident")
        self.elfclass = _ELFCLASS[ident[4]]
        self.endian = _ELFDATA[ident[5]]
        header = struct.Struct(self.endian + _EHDR[self.elfclass])
        if len(ident) < 16 + header.size:
            raise FormatError(f"{path} ends inside its ELF header", offset=0, field="e_ident")
        (_type, _machine, _version, _entry, phoff, shoff, _flags, _ehsize, phentsize, phnum, shentsize, shnum,
         shstrndx) = header.unpack_from(ident, 16)
        self.sections = self._sections(shoff, shentsize, shnum, shstrndx)
        self.segments = self._segments(phoff, phentsize, phnum)

    def _table(self, offset: int, entry_size: int, count: int, layout: str, field: str) -> List[tuple]:
        entry = struct.Struct(self.endian + layout)
        if count > _MAX_HEADERS or (count and entry_size < entry.size):
            raise FormatError(f"{self.path}: {count} headers of {entry_size} bytes, expected at most {_MAX_HEADERS} "
                              f"of at least {entry.size}", offset=0, field=field)
        data = self.read(offset, entry_size * count, field.replace("entsize", "off"))
        return [entry.unpack_from(data, entry_size * index) for index in range(count)]

    def _sections(self, shoff: int, shentsize: int, shnum: int, shstrndx: int) -> List[Section]:
        rows = self._table(shoff, shentsize, shnum, _SHDR[self.elfclass], "e_shentsize") if shoff else []
        if not rows:
            return []
        if shstrndx >= len(rows):
            raise FormatError(f"{self.path}: e_shstrndx {shstrndx} is past its {len(rows)} sections",
                              offset=0, field="e_shstrndx")
        names = self.read(rows[shstrndx][4], rows[shstrndx][5], "sh_size")
        sections = []
        for name, kind, flags, address, offset, size, link, _info, _align, _entsize in rows:
            end = names.find(b"\0", name)
            text = names[name:end].decode("utf-8", "replace") if name < len(names) and end >= 0 else ""
            sections.append(Section(text, kind, flags, address, offset, size, link))
        return sections

    def _segments(self, phoff: int, phentsize: int, phnum: int) -> List[Segment]:
        layout, kind, offset, size = _PHDR[self.elfclass]
        rows = self._table(phoff, phentsize, phnum, layout, "e_phentsize") if phoff else []
        return [Segment(row[kind], row[offset], row[size]) for row in rows]

    def read(self, offset: int, size: int, field: str) -> bytes:
        """``size`` file bytes at ``offset``, once they are known to lie inside the file."""
        if offset + size > self.file_size:
            raise FormatError(f"{self.path}: {field} claims file bytes {offset:#x}+{size:#x}, past the "
                              f"{self.file_size:#x}-byte file", offset=offset, field=field)
        return os.pread(self.stream.fileno(), size, offset)

    def section(self, name: str) -> Optional[Section]:
        """The first section called ``name``, or None."""
        return next((section for section in self.sections if section.name == name), None)

    def note_blobs(self) -> List[tuple]:
        """(file offset, bytes) of every SHT_NOTE section, else of every PT_NOTE segment."""
        blobs = [(section.offset, self.read(section.offset, section.size, "sh_size"))
                 for section in self.sections if section.type == SHT_NOTE]
        if not blobs:
            blobs = [(segment.offset, self.read(segment.offset, segment.size, "p_filesz"))
                     for segment in self.segments if segment.type == PT_NOTE]
        return blobs

