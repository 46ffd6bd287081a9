"""x86_64 ORC unwind tables: entry decoding, lookup by address, and the unwind step.

Reads ``.orc_unwind_ip``/``.orc_unwind`` from a vmlinux or the same tables from the
dump (``__start_orc_unwind_ip`` ... ``__start_orc_unwind``) and a module's
``mod->arch`` copy.  Entry layouts (arch/x86/include/asm/orc_types.h): version 1
(4.14-6.2: ``type:2, end:1``, CALL=0 REGS=1 REGS_PARTIAL=2), version 2 (6.3:
``type:2, signal:1, end:1``), version 3 (6.4+: ``type:3, signal:1`` with
UNDEFINED=0 END_OF_STACK=1 CALL=2 REGS=3 REGS_PARTIAL=4).  Types are normalized to
version 3 numbering.  Base registers are numbered as orc_types.h did up to 7.0 or as the 7.1
renumbering does (AX added, SP=3, PREV_SP=8, DI=5, BP_INDIRECT=10); distributions backport
the renumbering, so each table is probed for its numbering (:func:`probe_registers`) and
its registers normalized to the numbering up to 7.0.
"""
import struct
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

from ..errors import FormatError, MissingDebugInfoError, PycoreError

ORC_REG_UNDEFINED = 0
ORC_REG_PREV_SP = 1
ORC_REG_DX = 2
ORC_REG_DI = 3
ORC_REG_BP = 4
ORC_REG_SP = 5
ORC_REG_R10 = 6
ORC_REG_R13 = 7
ORC_REG_BP_INDIRECT = 8
ORC_REG_SP_INDIRECT = 9
# AX only exists in the 7.1 numbering; pycore gives it a number the old one leaves free.
ORC_REG_AX = 10

# Base register numbers as objtool writes them -> pycore's (the numbering up to 7.0).
REGISTERS_UP_TO_7_0: Dict[int, int] = {number: number for number in range(10)}
# The 7.1 renumbering, as the 7.2 kernel's own unwind_next_frame decodes sp_reg and bp_reg
# (AX=1 reads pt_regs->ax, DI=5 pt_regs->di, PREV_SP=8, BP_INDIRECT=10).
REGISTERS_7_1: Dict[int, int] = {0: ORC_REG_UNDEFINED, 1: ORC_REG_AX, 2: ORC_REG_DX, 3: ORC_REG_SP, 4: ORC_REG_BP,
                                 5: ORC_REG_DI, 6: ORC_REG_R10, 7: ORC_REG_R13, 8: ORC_REG_PREV_SP,
                                 9: ORC_REG_SP_INDIRECT, 10: ORC_REG_BP_INDIRECT}

ORC_TYPE_UNDEFINED = 0
ORC_TYPE_END_OF_STACK = 1
ORC_TYPE_CALL = 2
ORC_TYPE_REGS = 3
ORC_TYPE_REGS_PARTIAL = 4

ORC_ENTRY_SIZE = 6
PT_REGS_SIZE = 168
# Byte offsets in struct pt_regs (x86_64), the order the entry code pushes them.
PT_REGS_OFFSETS = {"r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56,
                   "r9": 64, "r8": 72, "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112,
                   "orig_rax": 120, "rip": 128, "cs": 136, "eflags": 144, "rsp": 152, "ss": 160}
# IRET frame part of pt_regs: what REGS_PARTIAL ("iret regs") entries point at.
IRET_OFFSET = PT_REGS_OFFSETS["rip"]


class OrcEntry(NamedTuple):
    """One decoded ``struct orc_entry``; ``type`` uses version-3 numbering."""

    sp_offset: int
    bp_offset: int
    sp_reg: int
    bp_reg: int
    type: int
    signal: bool
    end: bool


def decode_entry(raw: bytes, version: int = 3, registers: Optional[Dict[int, int]] = None) -> OrcEntry:
    """Decode the 6 bytes of one ``struct orc_entry`` of the given layout version, its base
    registers numbered by ``registers`` (:data:`REGISTERS_UP_TO_7_0` when None)."""
    if len(raw) < ORC_ENTRY_SIZE:
        raise FormatError(f"orc_entry needs {ORC_ENTRY_SIZE} bytes, got {len(raw)}", field="orc_entry")
    sp_offset, bp_offset, flags = struct.unpack_from("<hhH", raw)
    numbering = registers if registers is not None else REGISTERS_UP_TO_7_0
    # A number the numbering does not know reads as UNDEFINED: the unwinder stops there.
    sp_reg = numbering.get(flags & 0xF, ORC_REG_UNDEFINED)
    bp_reg = numbering.get((flags >> 4) & 0xF, ORC_REG_UNDEFINED)
    if version >= 3:
        kind = (flags >> 8) & 0x7
        signal = bool(flags & 0x800)
        end = kind == ORC_TYPE_END_OF_STACK
    else:
        old = (flags >> 8) & 0x3
        if version == 2:
            signal, end = bool(flags & 0x400), bool(flags & 0x800)
        else:
            signal, end = False, bool(flags & 0x400)
        # Before 6.4 REGS and REGS_PARTIAL frames were always signal frames.
        signal = signal or old != 0
        if end:
            kind = ORC_TYPE_END_OF_STACK
        elif sp_reg == ORC_REG_UNDEFINED:
            kind = ORC_TYPE_UNDEFINED
        else:
            kind = (ORC_TYPE_CALL, ORC_TYPE_REGS, ORC_TYPE_REGS_PARTIAL, ORC_TYPE_UNDEFINED)[old]
    return OrcEntry(sp_offset, bp_offset, sp_reg, bp_reg, kind, signal, end)


def layout_version(prog) -> int:
    """The ``struct orc_entry`` layout of the dumped kernel: from its type information
    (BTF or DWARF) when present, else from the release (6.3: 2, 6.4+: 3)."""
    try:
        entry_type = prog.type("struct orc_entry")
        names = {member.name: member for member in entry_type.members}
        if "signal" in names and "end" in names:
            return 2
        if "end" in names:
            return 1
        if "type" in names:
            return 3
    except (PycoreError, LookupError):  # no type information: fall back to the release
        pass
    release = (prog.vmcoreinfo.osrelease if prog.vmcoreinfo else None) or ""
    try:
        major, minor = (int(part) for part in release.split(".")[:2])
    except ValueError:
        return 3
    if (major, minor) >= (6, 4):
        return 3
    return 2 if (major, minor) == (6, 3) else 1


_LOW_NIBBLE = bytes(b & 0xF for b in range(256))
_HIGH_NIBBLE = bytes(b >> 4 for b in range(256))


def probe_registers(entries: bytes, name: str = "vmlinux") -> Dict[int, int]:
    """The base-register numbering of a table of raw ``orc_entry`` records, told from the
    entries themselves: SP is the register nearly every frame's previous SP is based on
    (the most common non-zero ``sp_reg``), PREV_SP the one nearly every saved BP is found
    from (the most common non-zero ``bp_reg``).  ``.orc_header`` only holds a hash of
    orc_types.h, which a backport or a comment changes, so it cannot name the numbering.

    Raises FormatError when the two registers fit no numbering pycore knows."""
    flags = bytes(entries[4::ORC_ENTRY_SIZE])[:len(entries) // ORC_ENTRY_SIZE]
    # Counted by bytes.count over the low and high nibbles (a byte loop cost every bt ~50 ms).
    low, high = flags.translate(_LOW_NIBBLE), flags.translate(_HIGH_NIBBLE)
    sp_counts = {n: low.count(n) for n in range(16) if low.count(n)}
    bp_counts = {n: high.count(n) for n in range(16) if high.count(n)}
    sp = max((n for n in sp_counts if n), key=sp_counts.__getitem__, default=None)
    prev_sp = max((n for n in bp_counts if n), key=bp_counts.__getitem__, default=None)
    if sp is None:
        return REGISTERS_UP_TO_7_0  # no frame at all: nothing to renumber
    for numbering in (REGISTERS_UP_TO_7_0, REGISTERS_7_1):
        if numbering.get(sp) == ORC_REG_SP and (prev_sp is None or numbering.get(prev_sp) == ORC_REG_PREV_SP):
            return numbering
    raise FormatError(f"{name}: ORC registers numbered in no known way (the stack pointer looks like {sp}, "
                      f"the previous frame's SP like {prev_sp})", field="orc_unwind")


class OrcTable:
    """Sorted ORC entries of one text region: ``ips`` holds ``orc_unwind_ip`` (s32 each,
    relative to its own address ``ip_base + 4*i``), ``entries`` the 6-byte entries.
    ``registers`` is the base-register numbering (probed from the entries when None; a
    module's table is numbered as its kernel's).

    ``find(ip)`` is the kernel's ``__orc_find``: the last entry whose address is <= ip.
    """

    def __init__(self, ip_base: int, ips: bytes, entries: bytes, version: int, name: str = "vmlinux",
                 registers: Optional[Dict[int, int]] = None):
        count = len(ips) // 4
        if len(entries) < count * ORC_ENTRY_SIZE:
            raise FormatError(f"{name}: {count} ORC addresses but only {len(entries) // ORC_ENTRY_SIZE} entries",
                              field="orc_unwind")
        self.name = name
        self.version = version
        self.registers = registers if registers is not None else probe_registers(
            entries[:count * ORC_ENTRY_SIZE], name)
        self._ip_base = ip_base
        self._relative = memoryview(bytes(ips[:count * 4])).cast("i")
        self._entries = bytes(entries[:count * ORC_ENTRY_SIZE])
        self._cache = {}
        self.count = count
        self.start = self.address(0) if count else 0
        self.end = self.address(count - 1) if count else 0

    def address(self, index: int) -> int:
        return (self._ip_base + 4 * index + self._relative[index]) & 0xFFFFFFFFFFFFFFFF

    def entry(self, index: int) -> OrcEntry:
        raw = self._entries[index * ORC_ENTRY_SIZE:(index + 1) * ORC_ENTRY_SIZE]
        return decode_entry(raw, self.version, self.registers)

    def index(self, ip: int) -> int:
        """Index of the entry covering ``ip``, -1 below the table."""
        low, high, found = 0, self.count - 1, -1
        while low <= high:
            middle = (low + high) // 2
            if self.address(middle) <= ip:
                found = middle
                low = middle + 1
            else:
                high = middle - 1
        return found

    def find(self, ip: int) -> Optional[OrcEntry]:
        """The entry covering ``ip``, or None outside the table."""
        hit = self._cache.get(ip)
        if hit is not None or ip in self._cache:
            return hit
        found = self.index(ip) if self.count and self.start <= ip else -1
        entry = self.entry(found) if found >= 0 else None
        self._cache[ip] = entry
        return entry


def kernel_table_from_dump(prog, version: Optional[int] = None) -> OrcTable:
    """The kernel image's ORC table as the dump holds it (KASLR-shifted symbols)."""
    symbols = prog.symbols
    try:
        start_ip = symbols.by_name("__start_orc_unwind_ip").address
        stop_ip = symbols.by_name("__stop_orc_unwind_ip").address
        start_orc = symbols.by_name("__start_orc_unwind").address
    except LookupError as error:
        raise MissingDebugInfoError(f"no ORC table in the dump's symbols ({error}): the kernel was not built"
                                    " with CONFIG_UNWINDER_ORC") from error
    count = (stop_ip - start_ip) // 4
    ips = prog.read(start_ip, count * 4)
    entries = prog.read(start_orc, count * ORC_ENTRY_SIZE)
    return OrcTable(start_ip, ips, entries, version if version is not None else layout_version(prog), "dump")


def kernel_table_from_vmlinux(path: str, kaslr_offset: int, version: int) -> OrcTable:
    """The kernel image's ORC table from the vmlinux sections, moved by the KASLR offset."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as stream:
        elf = ELFFile(stream)
        ip_section = elf.get_section_by_name(".orc_unwind_ip")
        orc_section = elf.get_section_by_name(".orc_unwind")
        if ip_section is None or orc_section is None:
            raise MissingDebugInfoError(f"{path} has no .orc_unwind_ip/.orc_unwind sections")
        ips, entries = ip_section.data(), orc_section.data()
        base = ip_section["sh_addr"] + kaslr_offset
    return OrcTable(base, ips, entries, version, path)


def crash_framesize(entry: Optional[OrcEntry]) -> Optional[int]:
    """The frame size crash derives from an entry (x86_64_get_framesize): the bytes between
    the slot after a return address and the caller's return-address slot, for a CALL
    entry based on SP; None otherwise (a frame-pointer frame's size depends on rbp, see
    :func:`unwind_step`)."""
    if entry is None or entry.type != ORC_TYPE_CALL or entry.sp_reg != ORC_REG_SP:
        return None
    return entry.sp_offset - 8


class Registers(NamedTuple):
    """The registers an unwind step needs; None where they are not known (an unreadable slot)."""

    ip: Optional[int]
    sp: int
    bp: Optional[int]


def unwind_step(entry: OrcEntry, regs: Registers, read_u64: Callable[[int], Optional[int]],
                extra: Optional[dict] = None) -> Tuple[Optional[Registers], Optional[int]]:
    """One step of the kernel's ORC unwinder (arch/x86/kernel/unwind_orc.c) from ``regs``.

    Returns ``(caller registers, pt_regs address)``; the pt_regs address is set when the
    frame is an exception frame (REGS: a full ``pt_regs``; REGS_PARTIAL: its IRET
    part, reported as ``address - IRET_OFFSET``).  ``(None, None)`` ends the walk
    (END_OF_STACK, UNDEFINED, or a register the unwinder cannot know).  ``read_u64`` gives
    None for memory the dump lacks; a register read from there is then unknown.
    """
    extra = extra or {}
    if entry.type in (ORC_TYPE_UNDEFINED, ORC_TYPE_END_OF_STACK):
        return None, None
    if entry.sp_reg == ORC_REG_SP:
        cfa = regs.sp + entry.sp_offset
    elif entry.sp_reg == ORC_REG_BP:
        if regs.bp is None:
            return None, None
        cfa = regs.bp + entry.sp_offset
    elif entry.sp_reg == ORC_REG_SP_INDIRECT:
        base = read_u64(regs.sp)
        if base is None:
            return None, None
        cfa = base + entry.sp_offset
    elif entry.sp_reg == ORC_REG_BP_INDIRECT:
        indirect = read_u64(regs.bp + entry.sp_offset) if regs.bp is not None else None
        if indirect is None:
            return None, None
        cfa = indirect
    elif entry.sp_reg in (ORC_REG_R10, ORC_REG_R13, ORC_REG_DI, ORC_REG_DX, ORC_REG_AX):
        name = {ORC_REG_R10: "r10", ORC_REG_R13: "r13", ORC_REG_DI: "rdi", ORC_REG_DX: "rdx",
                ORC_REG_AX: "rax"}[entry.sp_reg]
        if name not in extra:
            return None, None
        cfa = extra[name] + entry.sp_offset
    else:
        return None, None

    pt_regs = None
    if entry.type == ORC_TYPE_CALL:
        ip = read_u64(cfa - 8)
        sp: Optional[int] = cfa
    elif entry.type == ORC_TYPE_REGS:
        pt_regs = cfa
        ip = read_u64(cfa + PT_REGS_OFFSETS["rip"])
        sp = read_u64(cfa + PT_REGS_OFFSETS["rsp"])
    else:  # REGS_PARTIAL: cfa points at the IRET frame
        pt_regs = cfa - IRET_OFFSET
        ip = read_u64(cfa)
        sp = read_u64(cfa + PT_REGS_OFFSETS["rsp"] - IRET_OFFSET)
    if sp is None:
        return None, None

    if entry.bp_reg == ORC_REG_PREV_SP:
        bp: Optional[int] = read_u64(cfa + entry.bp_offset)
    elif entry.bp_reg == ORC_REG_BP:
        # The caller's rbp was saved relative to this frame's rbp (frame-pointer code).
        bp = read_u64(regs.bp + entry.bp_offset) if regs.bp is not None else None
    elif entry.type == ORC_TYPE_REGS and pt_regs is not None:
        bp = read_u64(pt_regs + PT_REGS_OFFSETS["rbp"])
    elif entry.bp_reg == ORC_REG_UNDEFINED:
        bp = regs.bp
    else:
        bp = None
    return Registers(ip, sp, bp), pt_regs


def entries_of(raw: bytes, version: int, registers: Optional[Dict[int, int]] = None) -> Sequence[OrcEntry]:
    """Every entry of a raw ``.orc_unwind`` blob (for tests and dumps of a table)."""
    return [decode_entry(raw[i:i + ORC_ENTRY_SIZE], version, registers)
            for i in range(0, len(raw) - 5, ORC_ENTRY_SIZE)]
