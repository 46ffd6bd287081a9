"""x86-64 disassembly in gdb's AT&T syntax (binutils 2.37+, as crash 9's ``dis`` prints it), decoded
by capstone and written out from its operands: capstone's own AT&T text differs from gdb's in size
suffixes, spacing, decimal immediates and elided displacements.

Any kernel version; capstone is an optional dependency, asked for only when something is disassembled.
"""
from typing import Iterator, List, NamedTuple, Optional, Tuple

from ..errors import MissingDebugInfoError

_MASK64 = (1 << 64) - 1
# Mnemonics gdb writes without a size suffix whatever their operands.
_NO_SUFFIX = {"call", "jmp", "ret", "push", "pop", "leave", "enter", "iret", "lret", "syscall", "sysret"}
# Segment overrides that mean nothing in 64-bit mode: objdump writes them as a prefix word.
_NULL_SEGMENTS = {"cs", "ds", "es", "ss"}
_PREFIX_NAMES = {0xF0: "lock", 0xF3: "rep", 0xF2: "repnz"}
# The string instructions that take rep/repz/repnz.
_STRING_OPS = {"movs", "stos", "lods", "cmps", "scas", "ins", "outs"}
_REPZ_OPS = {"cmps", "scas"}
_PREFIX_BYTES = bytes([0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65])
_SEGMENT_PREFIXES = {0x2E: "cs", 0x36: "ss", 0x3E: "ds", 0x26: "es", 0x64: "fs", 0x65: "gs"}
# The shift and rotate opcodes whose count is an implied 1 (gdb writes it as $1).
_SHIFT_BY_ONE = (0xD0, 0xD1)
# ud1's opcode, and the longest x86 instruction.
_UD1 = b"\x0f\xb9"
_LONGEST = 15
# The INT3s a function's size holds after its final instruction: after a ``ret`` the four that
# fill the 5-byte ``jmp __x86_return_thunk`` the kernel patched into ``ret`` (rethunk, 5.19 and
# Debian's 5.10 backport); after a ``jmp`` the one straight-line-speculation INT3 (5.17+).
_OWN_INT3 = {"ret": 4, "jmp": 1}
# capstone's names where gdb writes the instruction without its operand size.
_PLAIN_NAMES = {"pushfq": "pushf", "popfq": "popf"}


class Instruction(NamedTuple):
    """One decoded instruction: where, how long, its bytes, and gdb's words for it as data: the
    mnemonic with its prefix words (``rep stos``, ``lock cmpxchg``) and the operands in AT&T order
    (``$0x7``, ``0x1028232(%rip)``), without the ``<symbol>`` of a branch target or the
    ``# address <symbol>`` of a %rip-relative operand; ``target`` is that address (None when there
    is none) and ``rip_relative`` says which it is.  The CLI lays the words out (cli/dis.py)."""

    address: int
    size: int
    raw: bytes
    name: str
    """The instruction's name without size suffix or prefixes (capstone's: ``mov``, ``nop``)."""
    mnemonic: str
    operands: Tuple[str, ...]
    target: Optional[int]
    rip_relative: bool


def _capstone():
    try:
        import capstone
    except ImportError:
        raise MissingDebugInfoError("disassembly needs the capstone package (pip install capstone)") from None
    return capstone


def disassemble(code: bytes, address: int, count: Optional[int] = None) -> Iterator[Instruction]:
    """The instructions in ``code`` (which starts at ``address``), up to ``count`` of them; stops
    at the first byte sequence that is not an instruction."""
    capstone = _capstone()
    decoder = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    decoder.syntax = capstone.CS_OPT_SYNTAX_ATT
    decoder.detail = True
    produced = 0
    offset: Optional[int] = 0
    while offset is not None:
        start, offset = offset, None
        for insn in decoder.disasm(code[start:], address + start):
            if count is not None and produced >= count:
                return
            instruction = _instruction(capstone, insn)
            if instruction.raw.endswith(_UD1):
                instruction = _ud1(decoder, capstone, code, instruction.address - address, instruction)
            produced += 1
            yield instruction
            if instruction.size != insn.size:
                # capstone's stream went on inside the ud1's operands: decode again after them.
                offset = instruction.address + instruction.size - address
                break


def _ud1(decoder, capstone, code: bytes, start: int, instruction: Instruction) -> Instruction:
    """ud1 (0F B9) as gdb decodes it: with its ModRM operands (``ud1 %esp,%ecx``, the 3 bytes
    0F B9 CC of 6.12+'s static-call and CFI traps; ``ud1 (%edx),%rdi``, 67 48 0F B9 3A, 7.2's
    WARN), where capstone 5 stops after the opcode.  imul r, r/m (0F AF) takes the same ModRM
    (with SIB, displacement and prefixes), so the bytes decoded with AF for B9 give the length
    and the operands.  Left as capstone read it when the operands run past ``code``."""
    opcode = start + len(instruction.raw) - 1
    probe = code[start:opcode] + b"\xaf" + code[opcode + 1:start + _LONGEST]
    decoded = next(decoder.disasm(probe, instruction.address, 1), None)
    if decoded is None or decoded.insn_name() != "imul":
        return instruction
    imul = _instruction(capstone, decoded)
    return imul._replace(raw=code[start:start + imul.size], name="ud1",
                         mnemonic=imul.mnemonic.replace("imul", "ud1"))


def _instruction(capstone, insn) -> Instruction:
    from capstone import x86

    name = insn.insn_name()
    mnemonic = insn.mnemonic.split()[-1]
    operands = list(insn.operands)
    branch = insn.group(capstone.CS_GRP_JUMP) or insn.group(capstone.CS_GRP_CALL)
    has_register = any(op.type == x86.X86_OP_REG for op in operands)
    if mnemonic != name and mnemonic[:-1] == name and mnemonic[-1] in "bwlq" and (
            has_register or branch or name in _NO_SUFFIX or not operands):
        mnemonic = name
    mnemonic = _PLAIN_NAMES.get(mnemonic, mnemonic)
    raw = bytes(insn.bytes)
    leading = raw[:len(raw) - len(raw.lstrip(_PREFIX_BYTES))]
    words: List[str] = []
    for prefix in insn.prefix:
        if prefix in _PREFIX_NAMES:
            word = _PREFIX_NAMES[prefix]
            if word == "rep" and insn.mnemonic.split()[-1][:-1] in _REPZ_OPS:
                word = "repz"
            words.append(word)
    indirect = branch and any(op.type != x86.X86_OP_IMM for op in operands)
    uses_segment = any(op.type == x86.X86_OP_MEM and op.mem.segment for op in operands)
    for byte in leading:
        if byte == 0x3E and indirect:
            words.append("notrack")
        elif byte in _SEGMENT_PREFIXES:
            # One %fs/%gs override belongs to the memory operand; the others, and every cs/ds/es/ss
            # (meaningless in 64-bit mode), are written as words.
            if _SEGMENT_PREFIXES[byte] in ("fs", "gs") and uses_segment:
                uses_segment = False
                continue
            words.append(_SEGMENT_PREFIXES[byte])
    rendered: List[str] = []
    target: Optional[int] = None
    rip_relative = False
    string_op = _string_operands(insn.mnemonic.split()[-1])
    if string_op is not None:
        mnemonic, rendered, operands = string_op[0], string_op[1], []
    for op in operands:
        if op.type == x86.X86_OP_REG:
            text = "%" + insn.reg_name(op.reg)
        elif op.type == x86.X86_OP_IMM:
            if branch:
                target = op.imm & _MASK64
                text = f"0x{target:x}"
            elif insn.opcode[0] in _SHIFT_BY_ONE:
                text = "$1"
            else:
                text = f"$0x{op.imm & ((1 << (8 * op.size)) - 1):x}"
        else:
            text, rip = _memory(insn, op)
            if rip is not None:
                target, rip_relative = rip, True
        if branch and op.type != x86.X86_OP_IMM:
            text = "*" + text
        rendered.append(text)
    if raw.endswith(b"\x90") and len(raw) > 1 and raw.rstrip(b"\x90") == b"\x66" * (len(raw) - 1):
        # 66 90 is xchg %ax,%ax to objdump, each 0x66 before it data16 (5.10's ftrace NOP is 66 66 66 66 90).
        words = ["data16"] * (len(raw) - 2)
        return Instruction(insn.address, insn.size, raw, name, " ".join(words + ["xchg"]), ("%ax", "%ax"), None, False)
    if name == "nop":
        # objdump writes each 0x66 before a padding NOP beyond the one that makes it nopw as data16
        # (elsewhere 0x66 sizes the operation or is part of an SSE opcode).
        words = ["data16"] * max(leading.count(0x66) - 1, 0) + words
    return Instruction(insn.address, insn.size, raw, name, " ".join(words + [mnemonic]), tuple(rendered), target,
                       rip_relative)


_ACCUMULATOR = {"b": "%al", "w": "%ax", "l": "%eax", "q": "%rax"}


def _string_operands(mnemonic: str) -> Optional[Tuple[str, List[str]]]:
    """objdump's spelling of a string instruction, with the operands it implies: ``stos
    %eax,%es:(%rdi)``, ``movsq %ds:(%rsi),%es:(%rdi)`` (suffixed when no register sizes it)."""
    base, size = mnemonic[:-1], mnemonic[-1:]
    if base not in _STRING_OPS or size not in _ACCUMULATOR:
        return None
    register = _ACCUMULATOR[size]
    source, destination = "%ds:(%rsi)", "%es:(%rdi)"
    return {"stos": ("stos", [register, destination]), "lods": ("lods", [source, register]),
            "scas": ("scas", [destination, register]), "movs": (mnemonic, [source, destination]),
            "cmps": (mnemonic, [destination, source]), "ins": (mnemonic, ["(%dx)", destination]),
            "outs": (mnemonic, [source, "(%dx)"])}[base]


def _signed_hex(value: int) -> str:
    return f"-0x{-value:x}" if value < 0 else f"0x{value:x}"


def _memory(insn, op):
    """gdb's text of a memory operand and the address a %rip-relative operand points at (None
    otherwise); a cs/ds/es/ss override is a prefix word, not part of the operand."""
    mem = op.mem
    segment = insn.reg_name(mem.segment) if mem.segment else None
    prefix = f"%{segment}:" if segment and segment not in _NULL_SEGMENTS else ""
    base = insn.reg_name(mem.base) if mem.base else None
    index = insn.reg_name(mem.index) if mem.index else None
    if base == "rip":
        target = (insn.address + insn.size + mem.disp) & _MASK64
        return f"{prefix}{_signed_hex(mem.disp)}(%rip)", target
    if base is None and index is None:
        return f"{prefix}0x{mem.disp & _MASK64:x}", None
    displacement = _signed_hex(mem.disp) if mem.disp or insn.disp_size else ""
    inside = f"%{base}" if base else ""
    if index:
        inside += f",%{index},{mem.scale}"
    return f"{prefix}{displacement}({inside})", None


def is_ftrace_nop(instruction: Instruction) -> bool:
    """The 5-byte NOP that ftrace patches into a call to ``__fentry__`` (crash marks it at a
    function's first byte as ``[FTRACE NOP]``)."""
    return instruction.raw == b"\x0f\x1f\x44\x00\x00"


def trim_padding(instructions: List[Instruction]) -> List[Instruction]:
    """A function's instructions without the padding the compiler and linker align the next one
    with, for a symbol whose size is not known: the trailing NOPs, and of a run of INT3s after a
    final ``ret`` or ``jmp`` all but the function's own (:data:`_OWN_INT3`)."""
    end = len(instructions)
    while end and instructions[end - 1].name == "nop":
        end -= 1
    last = end
    while last and instructions[last - 1].name == "int3":
        last -= 1
    if last < end and last and instructions[last - 1].name in _OWN_INT3:
        end = min(end, last + _OWN_INT3[instructions[last - 1].name])
    return instructions[:end]
