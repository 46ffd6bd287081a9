"""ELF notes found in dumps: NT_PRSTATUS (registers per CPU), VMCOREINFO, QEMU's CPU state.

kdump ELF cores and makedumpfile's kdump format carry the same note list; QEMU's
``dump-guest-memory`` adds a ``QEMU`` note per CPU holding control registers.
Layouts are x86_64's ``struct elf_prstatus`` and QEMU's ``QEMUCPUState`` (version 1).
"""
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..errors import FormatError

NT_PRSTATUS = 1

# user_regs_struct, in elf_prstatus.pr_reg order.
PRSTATUS_REGISTERS = (
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
    "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base",
    "gs_base", "ds", "es", "fs", "gs",
)
_PR_PID_OFFSET = 32
_PR_REG_OFFSET = 112

_QEMU_GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
              "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags")
_QEMU_SEGMENTS = ("cs", "ds", "es", "fs", "gs", "ss", "ldt", "tr", "gdt", "idt")
_QEMU_CR_OFFSET = 8 + 8 * len(_QEMU_GPRS) + 24 * len(_QEMU_SEGMENTS)


@dataclass
class Note:
    name: bytes
    type: int
    desc: bytes
    offset: int  # file offset of the note header, for error messages


@dataclass
class CpuState:
    """Registers of one CPU at the time of the crash, from NT_PRSTATUS and/or QEMU's note."""
    cpu: int
    pid: Optional[int] = None
    registers: Dict[str, int] = field(default_factory=dict)


def parse_notes(data: bytes, base_offset: int = 0) -> List[Note]:
    """Split a PT_NOTE segment (or kdump's note area) into notes; malformed sizes raise FormatError."""
    notes = []
    position = 0
    end = len(data)
    while position + 12 <= end:
        namesz, descsz, kind = struct.unpack_from("<III", data, position)
        if namesz == 0 and descsz == 0 and kind == 0:
            break  # zero padding after the last note
        name_start = position + 12
        desc_start = name_start + ((namesz + 3) & ~3)
        desc_end = desc_start + descsz
        if desc_end > end:
            raise FormatError(f"note of namesz {namesz} and descsz {descsz} runs past its {end}-byte segment",
                              offset=base_offset + position, field="Elf64_Nhdr")
        name = data[name_start:name_start + namesz].rstrip(b"\0")
        notes.append(Note(name, kind, data[desc_start:desc_end], base_offset + position))
        position = desc_start + ((descsz + 3) & ~3)
    return notes


def vmcoreinfo_note(notes: List[Note]) -> Optional[bytes]:
    for note in notes:
        if note.name == b"VMCOREINFO":
            return note.desc
    return None


def cpu_states(notes: List[Note]) -> List[CpuState]:
    """One CpuState per CPU: NT_PRSTATUS registers, with QEMU's control registers merged in."""
    prstatus = [n for n in notes if n.name == b"CORE" and n.type == NT_PRSTATUS]
    qemu = [n for n in notes if n.name == b"QEMU"]
    cpus = [CpuState(cpu) for cpu in range(max(len(prstatus), len(qemu)))]
    for cpu, note in zip(cpus, prstatus):
        needed = _PR_REG_OFFSET + 8 * len(PRSTATUS_REGISTERS)
        if len(note.desc) < needed:
            raise FormatError(f"NT_PRSTATUS is {len(note.desc)} bytes, expected at least {needed}",
                              offset=note.offset, field="elf_prstatus")
        cpu.pid = struct.unpack_from("<i", note.desc, _PR_PID_OFFSET)[0]
        values = struct.unpack_from(f"<{len(PRSTATUS_REGISTERS)}Q", note.desc, _PR_REG_OFFSET)
        cpu.registers.update(zip(PRSTATUS_REGISTERS, values))
    for cpu, note in zip(cpus, qemu):
        needed = _QEMU_CR_OFFSET + 5 * 8
        if len(note.desc) < needed:
            raise FormatError(f"QEMU CPU note is {len(note.desc)} bytes, expected at least {needed}",
                              offset=note.offset, field="QEMUCPUState")
        gprs = struct.unpack_from(f"<{len(_QEMU_GPRS)}Q", note.desc, 8)
        for name, value in zip(_QEMU_GPRS, gprs):
            cpu.registers.setdefault(name, value)
        for index, name in enumerate(_QEMU_SEGMENTS):
            base = struct.unpack_from("<Q", note.desc, 8 + 8 * len(_QEMU_GPRS) + 24 * index + 16)[0]
            cpu.registers[f"{name}_base"] = base
        for index, value in enumerate(struct.unpack_from("<5Q", note.desc, _QEMU_CR_OFFSET)):
            cpu.registers[f"cr{index}"] = value
    return cpus
