"""Parameters and local variables of the functions at a text address, from a vmlinux's DWARF
(versions 2 to 5): the scopes that hold the address (the function, the calls inlined into it,
lexical blocks), each variable's location (an expression, or a DWARF 4 ``.debug_loc`` / DWARF 5
``.debug_loclists`` list) evaluated to pieces, and the call frame information (``.debug_frame``)
that recovers a caller's registers.  Only the unit ``.debug_aranges`` names for an address is read,
and in it only the DIEs on the way to the address; any kernel version, x86_64 registers.
"""
import bisect
import struct
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

from ..errors import FormatError, MissingDebugInfoError
from .dwarf_format import (DW_AT_const_value, DW_AT_name, DW_AT_specification, DW_AT_str_offsets_base, DW_AT_type,
                           DW_TAG_formal_parameter, DW_TAG_variable, Sections, Unit, attribute_string, die_children,
                           map_sections, parse_abbrevs, read_die, sleb, uleb)
from .dwarf_lines import parse_aranges

__all__ = ["Variable", "Scope", "Piece", "Machine", "LocalsIndex", "CallFrameTable", "evaluate", "caller_registers",
           "open_locals_index", "CALLEE_SAVED", "RETURN_ADDRESS", "RSP"]

# Tags and attributes dwarf_format.py does not name (DWARF 5, section 7.5).
DW_TAG_lexical_block = 0x0B
DW_TAG_inlined_subroutine = 0x1D
DW_TAG_subprogram = 0x2E
DW_AT_location = 0x02
DW_AT_low_pc = 0x11
DW_AT_high_pc = 0x12
DW_AT_abstract_origin = 0x31
DW_AT_frame_base = 0x40
DW_AT_ranges = 0x55
DW_AT_addr_base = 0x73
DW_AT_rnglists_base = 0x74
DW_AT_loclists_base = 0x8C

_SCOPE_TAGS = frozenset({DW_TAG_subprogram, DW_TAG_inlined_subroutine, DW_TAG_lexical_block})
_BLOCK_FORMS = frozenset({0x03, 0x04, 0x09, 0x0A, 0x18})  # block2, block4, block, block1, exprloc
_ADDRESS_FORMS = frozenset({0x01, 0x1B, 0x29, 0x2A, 0x2B, 0x2C})  # addr, addrx, addrx1..addrx4
_INDEX_FORMS = frozenset({0x22, 0x23})  # loclistx, rnglistx
_REFERENCE_FORMS = frozenset({0x10, 0x11, 0x12, 0x13, 0x14, 0x15})  # ref_addr, ref1..ref8, ref_udata
_MAX_ORIGIN_CHAIN = 8
_MAX_DEPTH = 64

# x86-64 psABI DWARF register numbers: the callee-saved rbx, rbp, r12-r15 (a caller finds them as
# its callee left them unless the CFI says where they were saved), rsp and the return address.
RSP = 7
RETURN_ADDRESS = 16
CALLEE_SAVED = (3, 6, 12, 13, 14, 15)
_MASK = (1 << 64) - 1


@dataclass
class Variable:
    """A parameter or local variable of a scope: its name, the ``.debug_info`` offset of its type
    DIE, and where it is at the address asked about: ``location`` the expression that holds there
    (None: nothing, the compiler kept no copy), or ``constant`` (``DW_AT_const_value``: an int or
    the bytes of the value)."""

    name: str
    type_offset: Optional[int]
    parameter: bool
    location: Optional[bytes] = None
    constant: Union[None, int, bytes] = None


@dataclass
class Scope:
    """A function (``DW_TAG_subprogram``), a call inlined into it or a lexical block that holds
    the address; ``name`` is the function's (None for a block), ``frame_base`` the function's
    ``DW_AT_frame_base`` expression valid at the address, ``variables`` in DIE order."""

    tag: int
    offset: int
    name: Optional[str]
    variables: List[Variable] = field(default_factory=list)
    frame_base: Optional[bytes] = None

    @property
    def is_function(self) -> bool:
        return self.tag in (DW_TAG_subprogram, DW_TAG_inlined_subroutine)

    @property
    def inlined(self) -> bool:
        return self.tag == DW_TAG_inlined_subroutine


@dataclass
class Piece:
    """One part of a variable's value: ``kind`` is ``"memory"`` (``value`` the address),
    ``"register"`` (``value`` the DWARF register number), ``"value"`` (an int the expression
    computed), ``"implicit"`` (bytes) or ``"absent"`` (``why``: optimized out, a register or memory
    the frame does not have); ``size`` in bytes (None: the whole variable)."""

    kind: str
    value: Union[int, bytes] = 0
    size: Optional[int] = None
    why: str = ""


@dataclass
class Machine:
    """What an expression may ask of the frame: a register's value (None: unknown in this frame),
    ``size`` bytes of memory as an unsigned little-endian int (None: not in the dump), the frame
    base and the canonical frame address (None: unknown), an entry of ``.debug_addr``, and the
    KASLR slide ``offset`` that turns the link-time addresses of DW_OP_addr and DW_OP_addrx into
    runtime ones."""

    register: Callable[[int], Optional[int]]
    read: Callable[[int, int], Optional[int]]
    frame_base: Callable[[], Optional[int]]
    cfa: Callable[[], Optional[int]]
    address_entry: Callable[[int], int] = lambda index: index
    offset: int = 0


class _Absent(Exception):
    """An expression needs what the frame does not have (or what no debugger recovers)."""


def _signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


# Operations that pop two and push one (DWARF 5, section 2.5.1.4): second-from-top op top.
_BINARY = {
    0x1A: lambda a, b: a & b, 0x1C: lambda a, b: a - b, 0x1E: lambda a, b: a * b, 0x21: lambda a, b: a | b,
    0x22: lambda a, b: a + b, 0x24: lambda a, b: a << b if b < 64 else 0, 0x25: lambda a, b: a >> b if b < 64 else 0,
    0x26: lambda a, b: _signed(a) >> min(b, 63), 0x27: lambda a, b: a ^ b,
    0x29: lambda a, b: int(a == b), 0x2A: lambda a, b: int(_signed(a) >= _signed(b)),
    0x2B: lambda a, b: int(_signed(a) > _signed(b)), 0x2C: lambda a, b: int(_signed(a) <= _signed(b)),
    0x2D: lambda a, b: int(_signed(a) < _signed(b)), 0x2E: lambda a, b: int(a != b),
}
# Operations no frame can answer from a dump: the value a register had on entry to the function
# (DW_OP_entry_value, GNU 0xf3), a caller's parameter (GNU_parameter_ref), a pointer to an object
# that was optimized away (implicit_pointer, GNU 0xf2), typed stack entries (const_type,
# regval_type, deref_type, convert, reinterpret and their GNU twins) and DWARF procedures.
_ABSENT_OPERATIONS = {0xA3: "optimized out (the value on entry to the function)",
                      0xF3: "optimized out (the value on entry to the function)",
                      0xFA: "optimized out (a parameter of the caller)",
                      0xA0: "optimized out (a pointer to an optimized-out object)",
                      0xF2: "optimized out (a pointer to an optimized-out object)"}
_UNSUPPORTED = {0x18: "DW_OP_xderef", 0x98: "DW_OP_call2", 0x99: "DW_OP_call4", 0x9A: "DW_OP_call_ref",
                0xA4: "DW_OP_const_type", 0xA5: "DW_OP_regval_type", 0xA6: "DW_OP_deref_type",
                0xA8: "DW_OP_convert", 0xA9: "DW_OP_reinterpret", 0xF4: "DW_OP_GNU_const_type",
                0xF5: "DW_OP_GNU_regval_type", 0xF6: "DW_OP_GNU_deref_type", 0xF7: "DW_OP_GNU_convert",
                0xF9: "DW_OP_GNU_reinterpret"}
_MAX_STEPS = 10000


def evaluate(expression: bytes, machine: Machine) -> List[Piece]:
    """The pieces of the location ``expression`` describes (DWARF 5, section 2.5 and 2.6): one
    piece of size None for a simple location, several for ``DW_OP_piece``.  A piece the frame
    cannot give (a register it lost, a value on entry) is ``"absent"`` and says why; a malformed
    expression raises FormatError."""
    pieces: List[Piece] = []
    stack: List[int] = []
    current: Optional[Piece] = None
    pos = 0
    steps = 0
    data = bytes(expression)

    def pop() -> int:
        if not stack:
            raise FormatError(f"DWARF expression {data.hex()} pops an empty stack", pos, "DW_OP")
        return stack.pop()

    def need(value: Optional[int], why: str) -> int:
        if value is None:
            raise _Absent(why)
        return value & _MASK

    try:
        while pos < len(data):
            steps += 1
            if steps > _MAX_STEPS:
                raise FormatError(f"DWARF expression {data.hex()} loops", pos, "DW_OP_bra")
            op = data[pos]
            pos += 1
            if op in _BINARY:
                b, a = pop(), pop()
                stack.append(_BINARY[op](a, b) & _MASK)
            elif 0x30 <= op <= 0x4F:  # lit0..lit31
                stack.append(op - 0x30)
            elif 0x50 <= op <= 0x6F or op == 0x90:  # reg0..reg31, regx
                if op == 0x90:
                    regno, pos = uleb(data, pos)
                else:
                    regno = op - 0x50
                current = Piece("register", regno)
            elif 0x70 <= op <= 0x8F or op == 0x92:  # breg0..breg31, bregx
                if op == 0x92:
                    regno, pos = uleb(data, pos)
                else:
                    regno = op - 0x70
                offset, pos = sleb(data, pos)
                stack.append((need(machine.register(regno), "<register unavailable>") + offset) & _MASK)
            elif op == 0x91:  # fbreg
                offset, pos = sleb(data, pos)
                stack.append((need(machine.frame_base(), "<frame base unavailable>") + offset) & _MASK)
            elif op == 0x9C:  # call_frame_cfa
                stack.append(need(machine.cfa(), "<frame address unavailable>"))
            elif op == 0x03:  # addr
                if pos + 8 > len(data):
                    raise IndexError
                stack.append((int.from_bytes(data[pos:pos + 8], "little") + machine.offset) & _MASK)
                pos += 8
            elif op in (0xA1, 0xA2):  # addrx, constx
                index, pos = uleb(data, pos)
                stack.append((machine.address_entry(index) + (machine.offset if op == 0xA1 else 0)) & _MASK)
            elif 0x08 <= op <= 0x0F:  # const1u..const8s
                size = 1 << ((op - 0x08) >> 1)
                if pos + size > len(data):
                    raise IndexError
                stack.append(int.from_bytes(data[pos:pos + size], "little", signed=bool(op & 1)) & _MASK)
                pos += size
            elif op == 0x10:  # constu
                value, pos = uleb(data, pos)
                stack.append(value & _MASK)
            elif op == 0x11:  # consts
                value, pos = sleb(data, pos)
                stack.append(value & _MASK)
            elif op == 0x13:  # drop
                pop()
            elif op in (0x12, 0x14, 0x15):  # dup, over, pick
                index = {0x12: 0, 0x14: 1}.get(op)
                if index is None:
                    index = data[pos]
                    pos += 1
                if index >= len(stack):
                    raise FormatError(f"DWARF expression {data.hex()} picks past its stack", pos, "DW_OP_pick")
                stack.append(stack[-1 - index])
            elif op == 0x16:  # swap
                b, a = pop(), pop()
                stack += [b, a]
            elif op == 0x17:  # rot
                c, b, a = pop(), pop(), pop()
                stack += [c, a, b]
            elif op == 0x19:  # abs
                stack.append(abs(_signed(pop())) & _MASK)
            elif op in (0x1B, 0x1D):  # div (signed), mod
                b, a = pop(), pop()
                if b == 0:
                    raise FormatError(f"DWARF expression {data.hex()} divides by zero", pos, "DW_OP_div")
                if op == 0x1B:
                    quotient = abs(_signed(a)) // abs(_signed(b))
                    stack.append((-quotient if (_signed(a) < 0) != (_signed(b) < 0) else quotient) & _MASK)
                else:
                    stack.append(a % b)
            elif op == 0x1F:  # neg
                stack.append(-pop() & _MASK)
            elif op == 0x20:  # not
                stack.append(~pop() & _MASK)
            elif op == 0x23:  # plus_uconst
                value, pos = uleb(data, pos)
                stack.append((pop() + value) & _MASK)
            elif op in (0x28, 0x2F):  # bra, skip
                offset = int.from_bytes(data[pos:pos + 2], "little", signed=True)
                pos += 2
                if op == 0x2F or pop():
                    pos += offset
                    if not 0 <= pos <= len(data):
                        raise FormatError(f"DWARF expression {data.hex()} branches outside itself", pos, "DW_OP_bra")
            elif op in (0x06, 0x94):  # deref, deref_size
                size = 8
                if op == 0x94:
                    size = data[pos]
                    pos += 1
                address = pop()
                stack.append(need(machine.read(address, size), f"<memory at {address:#x} not in the dump>"))
            elif op == 0x96:  # nop
                continue
            elif op in (0x93, 0x9D):  # piece, bit_piece
                size, pos = uleb(data, pos)
                if op == 0x9D:
                    offset, pos = uleb(data, pos)
                    if size % 8 or offset:
                        raise _Absent("<a bit piece, which pycore does not assemble>")
                    size //= 8
                pieces.append(_finish(current, stack, size))
                current, stack = None, []
            elif op == 0x9E:  # implicit_value
                length, pos = uleb(data, pos)
                current = Piece("implicit", data[pos:pos + length])
                pos += length
            elif op == 0x9F:  # stack_value
                current = Piece("value", pop())
            elif op in _ABSENT_OPERATIONS:
                raise _Absent(_ABSENT_OPERATIONS[op])
            elif op in _UNSUPPORTED:
                raise _Absent(f"<{_UNSUPPORTED[op]}, which pycore does not evaluate>")
            else:
                raise FormatError(f"unknown DWARF operation {op:#x} in {data.hex()}", pos - 1, "DW_OP")
    except _Absent as absent:
        return [Piece("absent", why=str(absent))]
    except IndexError:
        raise FormatError(f"DWARF expression {data.hex()} runs past its end", pos, "DW_OP") from None
    if pieces:
        if current is not None or stack:
            pieces.append(_finish(current, stack, None))
        return pieces
    return [_finish(current, stack, None)]


def _finish(current: Optional[Piece], stack: List[int], size: Optional[int]) -> Piece:
    """The location a description (or one piece of it) ends with: a register, a value, implicit
    bytes, the address on top of the stack, or nothing (that part was optimized out)."""
    if current is not None:
        current.size = size
        return current
    if stack:
        return Piece("memory", stack[-1], size)
    return Piece("absent", 0, size, "optimized out")


def caller_registers(row: "CfiRow", registers: Dict[int, int],
                     read_word: Callable[[int], Optional[int]]) -> Tuple[Optional[int], Dict[int, int]]:
    """The canonical frame address and the caller's registers (DWARF numbers, the return address
    as RETURN_ADDRESS) that CFI ``row`` recovers from ``registers``: rsp is the CFA, the callee-saved
    registers are read where the row says they were saved or taken as they are, the others are
    unknown in the caller.  A register the row needs but ``registers`` lacks stays unknown."""
    cfa_rule, rules = row
    if not isinstance(cfa_rule, tuple) or cfa_rule[0] not in registers:
        return None, {}
    cfa = (registers[cfa_rule[0]] + cfa_rule[1]) & _MASK
    caller: Dict[int, int] = {RSP: cfa}
    for regno in CALLEE_SAVED + (RETURN_ADDRESS,):
        rule = rules.get(regno, ("same",) if regno != RETURN_ADDRESS else ("undefined",))
        kind = rule[0]
        value: Optional[int] = None
        if kind == "offset":
            value = read_word((cfa + rule[1]) & _MASK)
        elif kind == "val_offset":
            value = (cfa + rule[1]) & _MASK
        elif kind == "register":
            value = registers.get(rule[1])
        elif kind == "same":
            value = registers.get(regno)
        if value is not None:
            caller[regno] = value
    return cfa, caller


CfiRow = Tuple[object, Dict[int, tuple]]


class CallFrameTable:
    """``.debug_frame`` of one vmlinux (32- and 64-bit DWARF, CIE versions 1, 3 and 4): the FDE
    headers are indexed once by address; an FDE's instructions are run only when its row is asked
    for.  The kernel image is linked at fixed addresses (ET_EXEC), so the addresses need no
    relocation; ``offset`` is the KASLR slide of the running kernel."""

    def __init__(self, data, offset: int = 0):
        self.data = data
        self.offset = offset
        self._cies: Dict[int, tuple] = {}
        fdes: List[Tuple[int, int, int, int, int]] = []
        pos = 0
        size = len(data)
        while pos + 4 <= size:
            length = int.from_bytes(data[pos:pos + 4], "little")
            header = 4
            if length == 0xFFFFFFFF:
                length = int.from_bytes(data[pos + 4:pos + 12], "little")
                header = 12
            if length == 0:
                pos += header
                continue
            end = pos + header + length
            if end > size:
                raise FormatError(f".debug_frame entry of {length:#x} bytes runs past the section", pos, "length")
            width = 8 if header == 12 else 4
            cie_pointer = int.from_bytes(data[pos + header:pos + header + width], "little")
            if cie_pointer != (1 << (8 * width)) - 1:
                body = pos + header + width
                start, span = struct.unpack_from("<QQ", data, body)
                fdes.append((start, start + span, cie_pointer, body + 16, end))
            pos = end
        fdes.sort()
        self._fdes = fdes
        self._starts = [fde[0] for fde in fdes]

    def _cie(self, offset: int) -> tuple:
        """(code alignment, data alignment, return address register, initial instructions)."""
        cie = self._cies.get(offset)
        if cie is not None:
            return cie
        data = self.data
        try:
            length = int.from_bytes(data[offset:offset + 4], "little")
            pos, width = offset + 4, 4
            if length == 0xFFFFFFFF:
                length = int.from_bytes(data[offset + 4:offset + 12], "little")
                pos, width = offset + 12, 8
            end = pos + length
            pos += width
            version = data[pos]
            pos += 1
            stop = bytes(data[pos:end]).index(b"\0")
            augmentation = bytes(data[pos:pos + stop])
            pos += stop + 1
            if augmentation not in (b"",):
                raise FormatError(f"CIE augmentation {augmentation!r}, which .debug_frame never has", offset,
                                  "augmentation")
            if version == 4:
                pos += 2  # address_size, segment_selector_size
            code_align, pos = uleb(data, pos)
            data_align, pos = sleb(data, pos)
            if version == 1:
                return_register = data[pos]
                pos += 1
            else:
                return_register, pos = uleb(data, pos)
        except (IndexError, ValueError):
            raise FormatError("CIE truncated", offset, "CIE") from None
        cie = (code_align, data_align, return_register, bytes(data[pos:end]))
        self._cies[offset] = cie
        return cie

    def row(self, address: int) -> Optional[CfiRow]:
        """The CFA rule and register rules at runtime ``address`` (the call's address for a frame
        that returns there, the instruction itself for an interrupted one), or None when no FDE
        covers it (assembly code: the kernel's own entry code has no CFI)."""
        link = (address - self.offset) & _MASK
        index = bisect.bisect_right(self._starts, link) - 1
        if index < 0 or link >= self._fdes[index][1]:
            return None
        start, _, cie_offset, begin, end = self._fdes[index]
        code_align, data_align, _, initial = self._cie(cie_offset)
        rules: Dict[int, tuple] = {}
        cfa: List[object] = [None]
        _run_cfa(initial, None, code_align, data_align, cfa, rules, {}, 0)
        initial_rules = dict(rules)
        _run_cfa(bytes(self.data[begin:end]), link, code_align, data_align, cfa, rules, initial_rules, start)
        return cfa[0], rules


def _run_cfa(program: bytes, target: Optional[int], code_align: int, data_align: int, cfa: List[object],
             rules: Dict[int, tuple], initial: Dict[int, tuple], location: int) -> None:
    """Run call frame instructions (DWARF 5, section 6.4.2) until the row for ``target``."""
    stack: List[Tuple[object, Dict[int, tuple]]] = []
    pos = 0
    try:
        while pos < len(program):
            op = program[pos]
            pos += 1
            high, low = op >> 6, op & 0x3F
            if high == 1 or op in (0x01, 0x02, 0x03, 0x04):  # advance_loc, set_loc, advance_loc1/2/4
                if high == 1:
                    delta = low * code_align
                elif op == 0x01:
                    location, pos = int.from_bytes(program[pos:pos + 8], "little"), pos + 8
                    delta = 0
                else:
                    width = {0x02: 1, 0x03: 2, 0x04: 4}[op]
                    delta = int.from_bytes(program[pos:pos + width], "little") * code_align
                    pos += width
                if target is not None and location + delta > target:
                    return
                location += delta
            elif high == 2:  # offset
                offset, pos = uleb(program, pos)
                rules[low] = ("offset", offset * data_align)
            elif high == 3:  # restore
                _restore(rules, initial, low)
            elif op == 0x00 or op == 0x2E:  # nop, GNU_args_size
                if op == 0x2E:
                    _, pos = uleb(program, pos)
            elif op in (0x05, 0x11, 0x14, 0x15, 0x2F):  # offset_extended(_sf), val_offset(_sf), GNU negative
                regno, pos = uleb(program, pos)
                if op in (0x05, 0x14, 0x2F):
                    offset, pos = uleb(program, pos)
                else:
                    offset, pos = sleb(program, pos)
                offset *= -data_align if op == 0x2F else data_align
                rules[regno] = ("val_offset" if op in (0x14, 0x15) else "offset", offset)
            elif op in (0x06, 0x07, 0x08):  # restore_extended, undefined, same_value
                regno, pos = uleb(program, pos)
                if op == 0x06:
                    _restore(rules, initial, regno)
                else:
                    rules[regno] = ("undefined",) if op == 0x07 else ("same",)
            elif op == 0x09:  # register
                regno, pos = uleb(program, pos)
                other, pos = uleb(program, pos)
                rules[regno] = ("register", other)
            elif op == 0x0A:  # remember_state
                stack.append((cfa[0], dict(rules)))
            elif op == 0x0B:  # restore_state
                if not stack:
                    raise FormatError("DW_CFA_restore_state without a remembered state", pos - 1, "DW_CFA")
                cfa[0], saved = stack.pop()
                rules.clear()
                rules.update(saved)
            elif op in (0x0C, 0x12):  # def_cfa, def_cfa_sf
                regno, pos = uleb(program, pos)
                if op == 0x0C:
                    offset, pos = uleb(program, pos)
                else:
                    offset, pos = sleb(program, pos)
                    offset *= data_align
                cfa[0] = (regno, offset)
            elif op == 0x0D:  # def_cfa_register
                regno, pos = uleb(program, pos)
                cfa[0] = (regno, cfa[0][1] if isinstance(cfa[0], tuple) else 0)
            elif op in (0x0E, 0x13):  # def_cfa_offset, def_cfa_offset_sf
                if op == 0x0E:
                    offset, pos = uleb(program, pos)
                else:
                    offset, pos = sleb(program, pos)
                    offset *= data_align
                cfa[0] = (cfa[0][0] if isinstance(cfa[0], tuple) else RSP, offset)
            elif op in (0x0F, 0x10, 0x16):  # def_cfa_expression, expression, val_expression
                regno = None
                if op != 0x0F:
                    regno, pos = uleb(program, pos)
                length, pos = uleb(program, pos)
                block = program[pos:pos + length]
                pos += length
                if regno is None:
                    cfa[0] = block  # a CFA from an expression: callers stay unknown
                else:
                    rules[regno] = ("expression" if op == 0x10 else "val_expression", block)
            else:
                raise FormatError(f"unknown call frame instruction {op:#x}", pos - 1, "DW_CFA")
    except IndexError:
        raise FormatError("call frame instructions run past their entry", pos, "DW_CFA") from None


def _restore(rules: Dict[int, tuple], initial: Dict[int, tuple], regno: int) -> None:
    if regno in initial:
        rules[regno] = initial[regno]
    else:
        rules.pop(regno, None)


class LocalsIndex:
    """The scopes and variables at text addresses of one vmlinux, read unit by unit on demand.

    ``sections`` are the DWARF index's (pycore.types.dwarf); ``extra`` maps the names of
    ``.debug_aranges``, ``.debug_loc``, ``.debug_loclists``, ``.debug_ranges``, ``.debug_rnglists``
    and ``.debug_addr`` to their bytes (absent ones empty); ``offset`` is the KASLR slide."""

    def __init__(self, sections: Sections, extra: Dict[str, memoryview], offset: int = 0):
        self.sections = sections
        self.extra = extra
        self.offset = offset
        self._ranges = parse_aranges(bytes(extra[".debug_aranges"]))
        self._range_starts = [start for start, _, _ in self._ranges]
        self._abbrevs: Dict[tuple, Dict[int, tuple]] = {}
        self._units: Dict[int, Tuple[Unit, dict]] = {}
        self._unit_starts: List[int] = []
        self._scanned_to = 0
        self._scopes: Dict[int, List[Scope]] = {}

    # -- units and DIEs -----------------------------------------------------------------------
    def _unit_at(self, offset: int) -> Tuple[Unit, dict]:
        """The unit whose header is at ``offset``, with its abbreviations, and the unit DIE's
        bases (``low_pc``, ``addr_base``, ``loclists_base``, ``rnglists_base``)."""
        known = self._units.get(offset)
        if known is not None:
            return known
        unit = Unit(self.sections.info, offset)
        key = (unit.abbrev_offset, unit.offset_size, unit.addr_size, unit.version)
        table = self._abbrevs.get(key)
        if table is None:
            table = self._abbrevs[key] = parse_abbrevs(self.sections.abbrev, unit.abbrev_offset, unit)
        unit.abbrevs = table
        _, attrs, _, _ = read_die(self.sections, unit, unit.die_start)
        if DW_AT_str_offsets_base in attrs:
            unit.str_offsets_base = attrs[DW_AT_str_offsets_base][1]
        bases = {"addr_base": self._integer(attrs.get(DW_AT_addr_base)) or 0,
                 "loclists_base": self._integer(attrs.get(DW_AT_loclists_base)) or 0,
                 "rnglists_base": self._integer(attrs.get(DW_AT_rnglists_base)) or 0}
        bases["low_pc"] = self._address(unit, bases, attrs.get(DW_AT_low_pc)) or 0
        self._units[offset] = (unit, bases)
        return unit, bases

    def _unit_containing(self, offset: int) -> Tuple[Unit, dict]:
        """The unit a cross-unit reference (``DW_FORM_ref_addr``) points into."""
        info = self.sections.info
        while self._scanned_to <= offset and self._scanned_to < len(info):
            self._unit_starts.append(self._scanned_to)
            self._scanned_to = Unit(info, self._scanned_to).end
        index = bisect.bisect_right(self._unit_starts, offset) - 1
        if index < 0:
            raise FormatError(f"DIE offset {offset:#x} is outside every unit", offset, "DIE reference")
        unit, bases = self._unit_at(self._unit_starts[index])
        if offset >= unit.end:
            raise FormatError(f"DIE offset {offset:#x} is outside every unit", offset, "DIE reference")
        return unit, bases

    @staticmethod
    def _integer(attr) -> Optional[int]:
        return attr[1] if attr is not None and isinstance(attr[1], int) else None

    def _address(self, unit: Unit, bases: dict, attr) -> Optional[int]:
        if attr is None:
            return None
        form, value, _ = attr
        if form == 0x01:
            return value
        if form in _ADDRESS_FORMS:
            return self._address_entry(unit, bases, value)
        return None

    def _address_entry(self, unit: Unit, bases: dict, index: int) -> int:
        data = self.extra[".debug_addr"]
        at = bases["addr_base"] + index * unit.addr_size
        if at + unit.addr_size > len(data):
            raise FormatError(f"address index {index} outside .debug_addr", at, "DW_FORM_addrx")
        return int.from_bytes(data[at:at + unit.addr_size], "little")

    def _inherited(self, unit: Unit, attrs: dict) -> Dict[int, Tuple[Unit, tuple]]:
        """The name, type and constant value of a DIE with the unit each was found in: its own,
        else those of the DIE its ``abstract_origin`` or ``specification`` leads to (an inlined or
        out-of-line instance names none of its own), and so on up the chain."""
        found: Dict[int, Tuple[Unit, tuple]] = {}
        for _ in range(_MAX_ORIGIN_CHAIN):
            for key in (DW_AT_name, DW_AT_type, DW_AT_const_value):
                if key in attrs and key not in found:
                    found[key] = (unit, attrs[key])
            ref = attrs.get(DW_AT_abstract_origin) or attrs.get(DW_AT_specification)
            if ref is None or ref[0] not in _REFERENCE_FORMS:
                return found
            if not unit.offset <= ref[1] < unit.end:
                unit, _ = self._unit_containing(ref[1])
            _, attrs, _, _ = read_die(self.sections, unit, ref[1])
        raise FormatError("abstract_origin chain too long", unit.offset, "DW_AT_abstract_origin")

    # -- address ranges ---------------------------------------------------------------------
    def _contains(self, unit: Unit, bases: dict, attrs: dict, link: int) -> bool:
        low = self._address(unit, bases, attrs.get(DW_AT_low_pc))
        if low is not None and DW_AT_high_pc in attrs:
            form, high, _ = attrs[DW_AT_high_pc]
            if form in _ADDRESS_FORMS:
                high = self._address(unit, bases, attrs[DW_AT_high_pc])
            else:
                high = low + high
            return low <= link < high
        ranges = attrs.get(DW_AT_ranges)
        if ranges is None:
            return False
        return any(start <= link < end for start, end in self._range_list(unit, bases, ranges))

    def _list_offset(self, unit: Unit, bases: dict, attr, base_key: str, section: str) -> int:
        form, value, _ = attr
        if form in _INDEX_FORMS:
            data = self.extra[section]
            at = bases[base_key] + value * unit.offset_size
            if at + unit.offset_size > len(data):
                raise FormatError(f"list index {value} outside {section}", at, "DW_FORM_loclistx")
            return bases[base_key] + int.from_bytes(data[at:at + unit.offset_size], "little")
        return value

    def _range_list(self, unit: Unit, bases: dict, attr) -> List[Tuple[int, int]]:
        """The address ranges of ``DW_AT_ranges``: DWARF 5 ``.debug_rnglists``, else ``.debug_ranges``."""
        ranges: List[Tuple[int, int]] = []
        base = bases["low_pc"]
        if unit.version >= 5:
            data = self.extra[".debug_rnglists"]
            pos = self._list_offset(unit, bases, attr, "rnglists_base", ".debug_rnglists")
            try:
                while True:
                    kind = data[pos]
                    pos += 1
                    if kind == 0:
                        return ranges
                    if kind in (1, 5):
                        if kind == 1:
                            index, pos = uleb(data, pos)
                            base = self._address_entry(unit, bases, index)
                        else:
                            base, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
                    elif kind in (2, 3):
                        first, pos = uleb(data, pos)
                        second, pos = uleb(data, pos)
                        start = self._address_entry(unit, bases, first)
                        end = self._address_entry(unit, bases, second) if kind == 2 else start + second
                        ranges.append((start, end))
                    elif kind == 4:
                        first, pos = uleb(data, pos)
                        second, pos = uleb(data, pos)
                        ranges.append((base + first, base + second))
                    elif kind in (6, 7):
                        start, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
                        if kind == 6:
                            end, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
                        else:
                            length, pos = uleb(data, pos)
                            end = start + length
                        ranges.append((start, end))
                    else:
                        raise FormatError(f"unknown range list entry {kind}", pos - 1, "DW_RLE")
            except IndexError:
                raise FormatError("range list runs past .debug_rnglists", pos, "DW_AT_ranges") from None
        data = self.extra[".debug_ranges"]
        pos = attr[1]
        while pos + 16 <= len(data):
            start, end = struct.unpack_from("<QQ", data, pos)
            pos += 16
            if start == 0 and end == 0:
                return ranges
            if start == _MASK:
                base = end
            else:
                ranges.append((base + start, base + end))
        raise FormatError("range list runs past .debug_ranges", pos, "DW_AT_ranges")

    def _location(self, unit: Unit, bases: dict, attr, link: int) -> Optional[bytes]:
        """The expression of a location attribute valid at ``link``: the attribute's own, or the
        entry of its location list that covers the address (None when none does)."""
        form, value, _ = attr
        if form in _BLOCK_FORMS:
            return value
        if unit.version >= 5:
            return self._loclists_entry(unit, bases, attr, link)
        data = self.extra[".debug_loc"]
        base = bases["low_pc"]
        pos = value
        while pos + 16 <= len(data):
            start, end = struct.unpack_from("<QQ", data, pos)
            pos += 16
            if start == 0 and end == 0:
                return None
            if start == _MASK:
                base = end
                continue
            length = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
            if base + start <= link < base + end:
                return bytes(data[pos:pos + length])
            pos += length
        raise FormatError("location list runs past .debug_loc", pos, "DW_AT_location")

    def _loclists_entry(self, unit: Unit, bases: dict, attr, link: int) -> Optional[bytes]:
        data = self.extra[".debug_loclists"]
        pos = self._list_offset(unit, bases, attr, "loclists_base", ".debug_loclists")
        base = bases["low_pc"]
        default: Optional[bytes] = None
        try:
            while True:
                kind = data[pos]
                pos += 1
                if kind == 0:
                    return default
                span: Optional[Tuple[int, int]] = None
                if kind in (1, 6):
                    if kind == 1:
                        index, pos = uleb(data, pos)
                        base = self._address_entry(unit, bases, index)
                    else:
                        base, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
                    continue
                if kind in (2, 3):
                    first, pos = uleb(data, pos)
                    second, pos = uleb(data, pos)
                    start = self._address_entry(unit, bases, first)
                    span = (start, self._address_entry(unit, bases, second) if kind == 2 else start + second)
                elif kind == 4:
                    first, pos = uleb(data, pos)
                    second, pos = uleb(data, pos)
                    span = (base + first, base + second)
                elif kind in (7, 8):
                    start, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
                    if kind == 7:
                        end, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
                    else:
                        length, pos = uleb(data, pos)
                        end = start + length
                    span = (start, end)
                elif kind != 5:
                    raise FormatError(f"unknown location list entry {kind}", pos - 1, "DW_LLE")
                length, pos = uleb(data, pos)
                expression = bytes(data[pos:pos + length])
                pos += length
                if span is None:
                    default = expression
                elif span[0] <= link < span[1]:
                    return expression
        except IndexError:
            raise FormatError("location list runs past .debug_loclists", pos, "DW_AT_location") from None

    # -- scopes -----------------------------------------------------------------------------------
    def address_entry(self, unit_offset: int, index: int) -> int:
        """Entry ``index`` of ``.debug_addr`` for the unit at ``unit_offset`` (DW_OP_addrx)."""
        unit, bases = self._unit_at(unit_offset)
        return self._address_entry(unit, bases, index)

    def unit_of(self, address: int) -> Optional[int]:
        """The ``.debug_info`` offset of the unit ``.debug_aranges`` names for runtime ``address``."""
        link = (address - self.offset) & _MASK
        index = bisect.bisect_right(self._range_starts, link) - 1
        if index < 0 or link >= self._ranges[index][1]:
            return None
        return self._ranges[index][2]

    def scopes_at(self, address: int) -> List[Scope]:
        """The scopes that hold runtime ``address``, the function first, innermost last, each with
        its variables' locations at that address; empty when no unit covers it (assembly code)."""
        found = self._scopes.get(address)
        if found is not None:
            return found
        unit_offset = self.unit_of(address)
        scopes: List[Scope] = []
        if unit_offset is not None:
            link = (address - self.offset) & _MASK
            unit, bases = self._unit_at(unit_offset)
            _, _, has_children, after = read_die(self.sections, unit, unit.die_start)
            self._descend(unit, bases, has_children, after, link, scopes, 0)
        self._scopes[address] = scopes
        return scopes

    def _descend(self, unit: Unit, bases: dict, has_children: bool, after: int, link: int, scopes: List[Scope],
                 depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise FormatError("scopes nest deeper than any function", after, "die")
        for offset, tag, attrs, child_has_children, child_after in die_children(self.sections, unit, has_children, after):
            if tag in _SCOPE_TAGS and self._contains(unit, bases, attrs, link):
                name = None
                if tag != DW_TAG_lexical_block:
                    name_unit, name_attr = self._inherited(unit, attrs).get(DW_AT_name, (unit, None))
                    name = attribute_string(self.sections, name_unit, name_attr)
                scope = Scope(tag, offset, name)
                if DW_AT_frame_base in attrs:
                    scope.frame_base = self._location(unit, bases, attrs[DW_AT_frame_base], link)
                scopes.append(scope)
                scope.variables = self._variables(unit, bases, child_has_children, child_after, link)
                self._descend(unit, bases, child_has_children, child_after, link, scopes, depth + 1)
                return

    def _variables(self, unit: Unit, bases: dict, has_children: bool, after: int, link: int) -> List[Variable]:
        variables: List[Variable] = []
        for _, tag, attrs, _, _ in die_children(self.sections, unit, has_children, after):
            if tag not in (DW_TAG_formal_parameter, DW_TAG_variable):
                continue
            inherited = self._inherited(unit, attrs)
            if DW_AT_name not in inherited:
                continue
            name = attribute_string(self.sections, *inherited[DW_AT_name])
            if name is None:
                continue
            type_ref = inherited.get(DW_AT_type, (unit, None))[1]
            type_offset = type_ref[1] if type_ref is not None and type_ref[0] in _REFERENCE_FORMS else None
            variable = Variable(name, type_offset, tag == DW_TAG_formal_parameter)
            if DW_AT_location in attrs:
                variable.location = self._location(unit, bases, attrs[DW_AT_location], link)
            elif DW_AT_const_value in inherited:
                variable.constant = inherited[DW_AT_const_value][1][1]
            variables.append(variable)
        return variables


def open_locals_index(sections: Sections, path: str, offset: int = 0) -> Tuple[LocalsIndex, CallFrameTable]:
    """The locals index and the call frame table of the vmlinux at ``path`` whose DWARF index has
    ``sections``; MissingDebugInfoError when it lacks ``.debug_aranges`` or ``.debug_frame``."""
    names = (".debug_aranges", ".debug_loc", ".debug_loclists", ".debug_ranges", ".debug_rnglists", ".debug_addr",
             ".debug_frame")
    found, _ = map_sections(path, names)
    extra: Dict[str, memoryview] = {name: found[name] or memoryview(b"") for name in names}
    for needed in (".debug_aranges", ".debug_frame"):
        if not len(extra[needed]):
            raise MissingDebugInfoError(f"{path} has no {needed}: parameters and locals need a vmlinux built with "
                                        "debug information")
    return LocalsIndex(sections, extra, offset), CallFrameTable(extra[".debug_frame"], offset)
