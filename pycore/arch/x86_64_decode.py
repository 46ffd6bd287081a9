"""x86_64 instruction lengths and the stack-pointer arithmetic crash reads in a disassembly.

Where ORC gives no frame size (code objtool skipped, a frame-pointer frame whose %rbp is not
known), crash's x86_64_get_framesize has gdb disassemble the function from its start to the
return address and adds up what the instructions do to %rsp.  :func:`stack_effect_before`
is that count without gdb: a linear decode (legacy prefixes, REX, VEX/EVEX, the one-byte,
0F, 0F38 and 0F3A maps) and crash's rules on gdb's mnemonics.  The lengths follow the Intel
SDM opcode maps for 64-bit mode; a byte that starts no instruction is skipped alone, as gdb
prints ``(bad)`` and moves on.
"""
from typing import Optional, Tuple

_PREFIXES = frozenset((0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67))

# One-byte opcodes without a ModRM byte and their immediate size; "z" is 4 bytes (2 with an
# operand-size prefix), "v" the mov-immediate (8 with REX.W), "m" a moffs address.
_ONE_BYTE_IMMEDIATE = {0x04: 1, 0x0C: 1, 0x14: 1, 0x1C: 1, 0x24: 1, 0x2C: 1, 0x34: 1, 0x3C: 1,
                       0x05: "z", 0x0D: "z", 0x15: "z", 0x1D: "z", 0x25: "z", 0x2D: "z", 0x35: "z", 0x3D: "z",
                       0x68: "z", 0x6A: 1, 0xA8: 1, 0xA9: "z", 0xC2: 2, 0xCA: 2, 0xC8: 3, 0xCD: 1,
                       0xE0: 1, 0xE1: 1, 0xE2: 1, 0xE3: 1, 0xE4: 1, 0xE5: 1, 0xE6: 1, 0xE7: 1,
                       0xE8: 4, 0xE9: 4, 0xEB: 1, 0xA0: "m", 0xA1: "m", 0xA2: "m", 0xA3: "m"}
_ONE_BYTE_IMMEDIATE.update({opcode: 1 for opcode in range(0x70, 0x80)})
_ONE_BYTE_IMMEDIATE.update({opcode: 1 for opcode in range(0xB0, 0xB8)})
_ONE_BYTE_IMMEDIATE.update({opcode: "v" for opcode in range(0xB8, 0xC0)})

# One-byte opcodes with a ModRM byte, and the immediate that follows it.
_ONE_BYTE_MODRM = {opcode: 0 for base in range(0x00, 0x40, 8) for opcode in range(base, base + 4)}
_ONE_BYTE_MODRM.update({0x63: 0, 0x69: "z", 0x6B: 1, 0x80: 1, 0x81: "z", 0x83: 1, 0xC0: 1, 0xC1: 1,
                        0xC6: 1, 0xC7: "z", 0xD0: 0, 0xD1: 0, 0xD2: 0, 0xD3: 0, 0xFE: 0, 0xFF: 0})
_ONE_BYTE_MODRM.update({opcode: 0 for opcode in range(0x84, 0x90)})
_ONE_BYTE_MODRM.update({opcode: 0 for opcode in range(0xD8, 0xE0)})

# 0F opcodes without a ModRM byte (immediate size); every other 0F opcode has one.
_TWO_BYTE_NO_MODRM = {0x05: 0, 0x06: 0, 0x07: 0, 0x08: 0, 0x09: 0, 0x0B: 0, 0x0E: 0, 0x30: 0, 0x31: 0,
                      0x32: 0, 0x33: 0, 0x34: 0, 0x35: 0, 0x37: 0, 0x77: 0, 0xA0: 0, 0xA1: 0, 0xA2: 0,
                      0xA8: 0, 0xA9: 0, 0xAA: 0}
_TWO_BYTE_NO_MODRM.update({opcode: 4 for opcode in range(0x80, 0x90)})
_TWO_BYTE_NO_MODRM.update({opcode: 0 for opcode in range(0xC8, 0xD0)})
# 0F opcodes whose ModRM is followed by an 8-bit immediate.
_TWO_BYTE_IMM8 = frozenset((0x0F, 0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6))


# Instruction.map: 0 the one-byte map, 1 0F, 2 0F38, 3 0F3A; VEX_MAP added for VEX/EVEX.
VEX_MAP = 0x10


class Instruction:
    """One decoded instruction: where it starts, its length, and the parts crash's count reads."""

    __slots__ = ("address", "length", "opcode", "map", "modrm", "rex_w", "immediate", "prefixes")

    def __init__(self, address: int, length: int, opcode: int, opcode_map: int, modrm: Optional[int],
                 rex_w: bool, immediate: int, prefixes: bytes):
        self.address, self.length, self.opcode, self.map = address, length, opcode, opcode_map
        self.modrm, self.rex_w, self.immediate, self.prefixes = modrm, rex_w, immediate, prefixes


def _modrm_length(code: bytes, at: int) -> int:
    """Bytes taken by the ModRM at ``at`` and its SIB and displacement."""
    modrm = code[at]
    mod, rm = modrm >> 6, modrm & 7
    length = 1
    if mod != 3 and rm == 4:
        length += 1
        if mod == 0 and at + 1 < len(code) and code[at + 1] & 7 == 5:
            length += 4
    if mod == 0 and rm == 5:
        length += 4
    elif mod == 1:
        length += 1
    elif mod == 2:
        length += 4
    return length


def decode(code: bytes, at: int = 0, address: int = 0) -> Instruction:
    """The instruction starting at ``code[at]`` (at virtual ``address``).  Bytes past the end
    of ``code`` read as zeros, so a cut instruction still has a length."""
    start = at
    code = code + bytes(16)
    prefixes = bytearray()
    while code[at] in _PREFIXES and at - start < 14:
        prefixes.append(code[at])
        at += 1
    rex_w = False
    if 0x40 <= code[at] <= 0x4F:
        rex_w = bool(code[at] & 8)
        at += 1
    opsize16 = 0x66 in prefixes and not rex_w
    opcode = code[at]
    at += 1
    opcode_map, modrm, immediate = 0, None, 0
    if opcode in (0xC4, 0xC5, 0x62):
        # VEX (C4: three bytes, C5: two) and EVEX (62: four): the map is in the payload,
        # a ModRM always follows (except vzeroupper/vzeroall, 0F 77).
        if opcode == 0xC5:
            opcode_map, at = 1, at + 1
        elif opcode == 0xC4:
            opcode_map, at = code[at] & 0x1F, at + 2
        else:
            opcode_map, at = code[at] & 0x7, at + 3
        opcode = code[at]
        at += 1
        if not (opcode_map == 1 and opcode == 0x77):
            modrm = code[at]
            at += _modrm_length(code, at)
        if opcode_map == 3 or (opcode_map == 1 and opcode in _TWO_BYTE_IMM8):
            at += 1
        return Instruction(address, at - start, opcode, opcode_map | VEX_MAP, modrm, rex_w, 0, bytes(prefixes))
    size = None
    if opcode == 0x0F:
        opcode = code[at]
        at += 1
        if opcode in (0x38, 0x3A):
            opcode_map = 2 if opcode == 0x38 else 3
            opcode = code[at]
            at += 1
            modrm = code[at]
            at += _modrm_length(code, at) + (1 if opcode_map == 3 else 0)
        else:
            opcode_map = 1
            if opcode in _TWO_BYTE_NO_MODRM:
                size = _TWO_BYTE_NO_MODRM[opcode]
            else:
                modrm = code[at]
                at += _modrm_length(code, at)
                size = 1 if opcode in _TWO_BYTE_IMM8 else 0
    elif opcode in _ONE_BYTE_MODRM:
        modrm = code[at]
        at += _modrm_length(code, at)
        size = _ONE_BYTE_MODRM[opcode]
    elif opcode in (0xF6, 0xF7):
        modrm = code[at]
        at += _modrm_length(code, at)
        # test r/m, imm is /0 and /1; not, neg, mul, imul, div, idiv take no immediate.
        size = (1 if opcode == 0xF6 else "z") if (modrm >> 3) & 7 in (0, 1) else 0
    else:
        size = _ONE_BYTE_IMMEDIATE.get(opcode, 0)
    if size == "z":
        size = 2 if opsize16 else 4
    elif size == "v":
        size = 8 if rex_w else (2 if opsize16 else 4)
    elif size == "m":
        size = 4 if 0x67 in prefixes else 8
    if size:
        immediate = int.from_bytes(code[at:at + size], "little", signed=True)
        at += size
    return Instruction(address, at - start, opcode, opcode_map, modrm, rex_w, immediate, bytes(prefixes))


def _mnemonic_effect(insn: Instruction) -> Tuple[str, int]:
    """What crash's count sees in gdb's line for ``insn``: ("push"|"pop"|"add"|"sub"|"", imm)."""
    opcode, modrm = insn.opcode, insn.modrm
    reg = (modrm >> 3) & 7 if modrm is not None else None
    if insn.map == 0:
        if 0x50 <= opcode <= 0x57 or opcode in (0x68, 0x6A, 0x9C) or (opcode == 0xFF and reg == 6):
            return "push", 0
        if 0x58 <= opcode <= 0x5F or opcode == 0x9D or (opcode == 0x8F and reg == 0):
            return "pop", 0
        # add/sub $imm,%rsp: gdb prints the register as %rsp only with REX.W.
        if opcode in (0x81, 0x83) and insn.rex_w and modrm is not None and modrm >> 6 == 3 and modrm & 7 == 4:
            if reg == 0:
                return "add", insn.immediate
            if reg == 5:
                return "sub", insn.immediate
    elif insn.map == 1:
        if opcode in (0xA0, 0xA8):
            return "push", 0
        # popcnt (F3 0F B8) is counted as a pop: crash matches the mnemonic's first letters.
        if opcode in (0xA1, 0xA9) or (opcode == 0xB8 and 0xF3 in insn.prefixes):
            return "pop", 0
    return "", 0


def stack_effect_before(code: bytes, start: int, target: int, include_target: bool = False) -> int:
    """crash's frame size of the function whose ``code`` begins at ``start``, for a return
    address ``target`` in it: +8 for each push, -8 for each pop while positive, plus the
    immediate of each ``sub $imm,%rsp`` and minus that of each ``add`` while positive, over the
    instructions before ``target`` (and the one at ``target`` when ``include_target``: crash
    does so for an exception frame's RIP).

    ``ret`` and ``leave`` are not counted: crash looks for ``retq``/``leaveq``, and the gdb of
    crash 9 (16.x) spells them ``ret``/``leave``.
    """
    size = 0
    at = 0
    while at < len(code):
        address = start + at
        if address > target or (address == target and not include_target):
            break
        insn = decode(code, at, address)
        kind, immediate = _mnemonic_effect(insn)
        if kind == "push":
            size += 8
        elif kind == "pop":
            if size > 0:
                size -= 8
        elif kind == "sub":
            size += immediate
        elif kind == "add":
            if size > 0:
                size -= immediate
        at += insn.length
    return size
