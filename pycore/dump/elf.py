"""ELF64 vmcores: kdump's /proc/vmcore copies, ``makedumpfile -E`` and QEMU's ``dump-guest-memory``.

Physical memory comes from PT_LOAD's ``p_paddr`` (QEMU leaves ``p_vaddr`` 0); the
tail of a segment past ``p_filesz`` up to ``p_memsz`` is memory the dump left
out (makedumpfile -E with a dump level).  PT_NOTE holds the CPU registers and
VMCOREINFO.
"""
import os
import struct
from bisect import bisect_right as _bisect_right
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .. import native as _native
from ..errors import FormatError, IncompleteDumpError
from ..native import Fault, Status
from .base import Dump, NativeMemory, Segment
from .file import DumpFile, closed_error
from .notes import parse_notes

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_CORE = 4
PT_LOAD = 1
PT_NOTE = 4
EM_X86_64 = 62
ELF64_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
ELF64_PHDR = struct.Struct("<IIQQQQQQ")
_MAX_PHDRS = 1 << 20
_MAX_NOTES = 64 << 20
_PREAD_MIN = 1 << 20


def is_elf(head: bytes) -> bool:
    return head[:4] == ELF_MAGIC


class Load(NamedTuple):
    """One PT_LOAD: physical range [paddr, paddr + memsz), of which filesz bytes are in the file."""
    paddr: int
    memsz: int
    filesz: int
    offset: int
    vaddr: int
    index: int


class ElfDump(Dump):
    """An ELF64 core of a whole machine."""

    format = "elf"

    def __init__(self, file: DumpFile, native: Optional[bool] = None):
        super().__init__(file)
        self.native = False  # reads are slices of the mapping; nothing for C to do
        header = file.read(0, ELF64_EHDR.size, "Elf64_Ehdr")
        (ident, e_type, e_machine, _version, _entry, e_phoff, _shoff, _flags, _ehsize,
         e_phentsize, e_phnum, _shentsize, _shnum, _shstrndx) = ELF64_EHDR.unpack(header)
        if ident[4] != ELFCLASS64 or ident[5] != ELFDATA2LSB:
            raise FormatError(f"ELF class {ident[4]} data {ident[5]}: only little-endian ELF64 cores are supported",
                              offset=4, field="e_ident")
        if e_type != ET_CORE:
            raise FormatError(f"ELF type {e_type} is not a core file (ET_CORE = 4); is this a vmlinux?",
                              offset=16, field="e_type")
        self.e_machine = e_machine
        self.machine = "x86_64" if e_machine == EM_X86_64 else f"EM_{e_machine}"
        if e_phentsize != ELF64_PHDR.size or e_phnum > _MAX_PHDRS:
            raise FormatError(f"e_phentsize {e_phentsize} / e_phnum {e_phnum}, expected {ELF64_PHDR.size}-byte"
                              f" headers and at most {_MAX_PHDRS}", offset=54, field="e_phentsize")
        table = file.read(e_phoff, e_phnum * ELF64_PHDR.size, "program header table")
        loads: List[Load] = []
        notes = []
        for index, (p_type, _pflags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, _align) in \
                enumerate(ELF64_PHDR.iter_unpack(table)):
            where = e_phoff + index * ELF64_PHDR.size
            if p_type == PT_NOTE:
                if p_filesz > _MAX_NOTES or p_offset + p_filesz > file.size:
                    raise FormatError(f"PT_NOTE of {p_filesz} bytes at {p_offset:#x} lies outside the"
                                      f" {file.size}-byte file", offset=where, field="p_filesz")
                notes.extend(parse_notes(file.read(p_offset, p_filesz, "PT_NOTE"), p_offset))
            elif p_type == PT_LOAD:
                if p_filesz > p_memsz:
                    raise FormatError(f"PT_LOAD {index} has p_filesz {p_filesz:#x} > p_memsz {p_memsz:#x}",
                                      offset=where, field="p_filesz")
                if p_paddr + p_memsz > 1 << 64:
                    raise FormatError(f"PT_LOAD {index} wraps the physical address space",
                                      offset=where, field="p_memsz")
                if p_offset + p_filesz > file.size:
                    # A copy cut short: keep the part that is there, and say so.
                    self.incomplete = True
                if p_memsz:
                    loads.append(Load(p_paddr, p_memsz, p_filesz, p_offset, p_vaddr, index))
        self.loads = _physical_map(loads, e_phoff)
        self._starts = [load.paddr for load in self.loads]
        # For the fast path: where each segment's bytes in the file end (as a physical
        # address; 0 for a flattened file, which always takes the general path) and
        # the distance from physical address to file offset.
        available = [0 if file.flattened else min(load.filesz, max(0, file.stream_size - load.offset))
                     for load in self.loads]
        self._file_ends = [load.paddr + length for load, length in zip(self.loads, available)]
        self._deltas = [load.offset - load.paddr for load in self.loads]
        self._set_notes(notes)
        if self.vmcoreinfo is not None and self.vmcoreinfo.page_size:
            self.page_size = self.vmcoreinfo.page_size

    def read_physical(self, address: int, size: int, zero_excluded: bool = False) -> bytes:
        index = _bisect_right(self._starts, address) - 1
        if index >= 0 and 0 <= size and address + size <= self._file_ends[index]:
            start = address + self._deltas[index]
            if size < _PREAD_MIN:
                return self.file.map[start:start + size]
            # Large reads: the kernel copies from the page cache without faulting in the mapping.
            return os.pread(self.file.fileno, size, start)
        return self._read_general(address, size, zero_excluded)

    def read_physical_into(self, address: int, buffer, zero_excluded: bool = False) -> None:
        view = memoryview(buffer).cast("B")
        size = len(view)
        index = _bisect_right(self._starts, address) - 1
        if index >= 0 and address + size <= self._file_ends[index]:
            if os.preadv(self.file.fileno, [view], address + self._deltas[index]) == size:
                return
        view[:] = self._read_general(address, size, zero_excluded)

    def _read_general(self, address: int, size: int, zero_excluded: bool) -> bytes:
        if self.closed:
            raise closed_error()
        if address < 0 or size < 0:
            raise ValueError("address and size must not be negative")
        loads, file = self.loads, self.file
        index = _bisect_right(self._starts, address) - 1
        parts = []
        position, end = address, address + size
        while position < end:
            if index < 0 or index >= len(loads) or not loads[index].paddr <= position < loads[index].paddr + loads[index].memsz:
                raise _native.error(Status.NOT_PRESENT, Fault(position), self.error_context)
            load = loads[index]
            offset = position - load.paddr
            take = min(end, load.paddr + load.memsz) - position
            if offset < load.filesz:
                take = min(take, load.filesz - offset)
                try:
                    parts.append(file.read(load.offset + offset, take, f"PT_LOAD {load.index} data"))
                except IncompleteDumpError:
                    raise _native.error(Status.INCOMPLETE, Fault(position, file_offset=load.offset + offset,
                                                                 detail=load.index), self.error_context) from None
            elif zero_excluded:
                parts.append(bytes(take))
            else:
                raise _native.error(Status.EXCLUDED, Fault(position), self.error_context)
            position += take
            if position == load.paddr + load.memsz:
                index += 1
        return b"".join(parts)

    def _close_readers(self) -> None:
        # With no segment to look up, every read takes _read_general, which says the dump is closed:
        # the fast paths stay free of the check (and never pread a file descriptor reused since).
        self._starts = []
        self._file_ends = []

    def native_memory(self) -> Optional[NativeMemory]:
        # A flattened file is not one contiguous mapping: its reads stay in Python.
        if self.file.flattened:
            return None
        return NativeMemory(self.error_context, mapping=self.file.map,
                            segments=[Segment(load.paddr, load.memsz, load.filesz, load.offset, load.index)
                                      for load in self.loads])

    def ranges(self) -> List[Tuple[int, int]]:
        result: List[Tuple[int, int]] = []
        for load in self.loads:
            if result and result[-1][1] == load.paddr:
                result[-1] = (result[-1][0], load.paddr + load.memsz)
            else:
                result.append((load.paddr, load.paddr + load.memsz))
        return result

    def page_counts(self) -> Dict[str, Optional[int]]:
        page = self.page_size
        present = sum((load.memsz + page - 1) // page for load in self.loads)
        dumped = sum((load.filesz + page - 1) // page for load in self.loads)
        missing = 0
        for load in self.loads:
            end = load.offset + load.filesz
            if end > self.file.size:
                missing += (min(end - self.file.size, load.filesz) + page - 1) // page
        return {"present": present, "dumped": dumped, "excluded": present - dumped, "zero": None,
                "missing": missing}

    def describe(self) -> Dict[str, Any]:
        qemu_style = all(load.vaddr == 0 for load in self.loads)
        return {
            "codec": None,
            "pt_load": len(self.loads),
            "style": "qemu dump-guest-memory (p_vaddr = 0)" if qemu_style else "kdump (/proc/vmcore or makedumpfile -E)",
            "nr_cpus": len(self.cpus),
        }


def _physical_map(loads: List[Load], phoff: int) -> List[Load]:
    """Sort PT_LOADs by physical address, dropping ones wholly inside another.

    /proc/vmcore describes the kernel text twice (its own mapping and the RAM
    around it); a partial overlap, though, means the file is not a sane core.
    """
    ordered = sorted(loads, key=lambda load: (load.paddr, -load.memsz))
    result: List[Load] = []
    for load in ordered:
        if result:
            last = result[-1]
            if load.paddr + load.memsz <= last.paddr + last.memsz:
                continue
            if load.paddr < last.paddr + last.memsz:
                raise FormatError(
                    f"PT_LOAD {load.index} (physical {load.paddr:#x}-{load.paddr + load.memsz:#x}) partly overlaps"
                    f" PT_LOAD {last.index} ({last.paddr:#x}-{last.paddr + last.memsz:#x})",
                    offset=phoff + load.index * ELF64_PHDR.size, field="p_paddr")
        result.append(load)
    return result
