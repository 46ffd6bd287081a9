"""DWARF location expressions, call frame information and the frame-locals lookup on synthetic
input: what no corpus frame shows (pieces, implicit values, damaged expressions and CFI)."""
import struct

import pytest

from pycore.errors import FormatError
from pycore.kernel.frame_locals import AbsentValueError, FrameLocals, FunctionLocals, Local
from pycore.kernel.stack import StackFrame
from pycore.object import Object
from pycore.types.dwarf_format import Sections
from pycore.types.dwarf_locals import (CallFrameTable, LocalsIndex, Machine, Piece, caller_registers,
                                      evaluate)
from pycore.types.model import int_type

MEMORY = {0x2000: 0x1122334455667788, 0x3000: 0x2000}


def machine(registers=None, frame_base=0x1000, cfa=0x1100, offset=0):
    registers = {7: 0x500, 3: 99} if registers is None else registers
    return Machine(registers.get, lambda address, size: (MEMORY[address] & ((1 << (8 * size)) - 1)
                                                         if address in MEMORY else None),
                   lambda: frame_base, lambda: cfa, lambda index: 0x4000 + 8 * index, offset)


def test_fbreg_is_memory_at_the_frame_base_plus_the_offset():
    assert evaluate(bytes([0x91, 0x70]), machine()) == [Piece("memory", 0x1000 - 16)]


def test_call_frame_cfa_and_register_locations():
    assert evaluate(bytes([0x9C]), machine()) == [Piece("memory", 0x1100)]
    assert evaluate(bytes([0x53]), machine()) == [Piece("register", 3)]
    assert evaluate(bytes([0x90, 0x0F]), machine()) == [Piece("register", 15)]


def test_breg_of_a_register_the_frame_lost_is_absent():
    assert evaluate(bytes([0x76, 0x08]), machine()) == [Piece("absent", why="<register unavailable>")]
    assert evaluate(bytes([0x77, 0x08]), machine()) == [Piece("memory", 0x508)]


def test_entry_value_and_parameter_ref_are_optimized_out():
    for expression in (bytes([0xA3, 0x01, 0x55, 0x9F]), bytes([0xF3, 0x01, 0x55, 0x9F]),
                       bytes([0xFA, 1, 2, 3, 4])):
        [piece] = evaluate(expression, machine())
        assert piece.kind == "absent" and piece.why.startswith("optimized out")


def test_stack_value_implicit_value_and_arithmetic():
    assert evaluate(bytes([0x35, 0x9F]), machine()) == [Piece("value", 5)]
    assert evaluate(bytes([0x9E, 0x02, 0xAB, 0xCD]), machine()) == [Piece("implicit", b"\xab\xcd")]
    # -7 / 2 truncates toward zero, as C does; -7 >> 1 keeps the sign
    assert evaluate(bytes([0x11, 0x79, 0x32, 0x1B, 0x9F]), machine()) == [Piece("value", (1 << 64) - 3)]
    assert evaluate(bytes([0x11, 0x79, 0x31, 0x26, 0x9F]), machine()) == [Piece("value", (1 << 64) - 4)]


def test_dup_over_and_pick_copy_stack_entries():
    assert evaluate(bytes([0x31, 0x12, 0x22, 0x9F]), machine()) == [Piece("value", 2)]
    assert evaluate(bytes([0x31, 0x32, 0x14, 0x22, 0x22, 0x9F]), machine()) == [Piece("value", 4)]
    assert evaluate(bytes([0x31, 0x32, 0x33, 0x15, 0x02, 0x9F]), machine()) == [Piece("value", 1)]


def test_deref_reads_memory_and_says_which_address_is_missing():
    assert evaluate(bytes([0x0A, 0x00, 0x30, 0x06]), machine()) == [Piece("memory", 0x2000)]
    assert evaluate(bytes([0x0A, 0x00, 0x30, 0x94, 0x02, 0x9F]), machine()) == [Piece("value", 0x2000)]
    [piece] = evaluate(bytes([0x0A, 0x00, 0x40, 0x06]), machine())
    assert piece.kind == "absent" and "0x4000" in piece.why


def test_addresses_are_moved_by_the_kaslr_slide():
    assert evaluate(bytes([0x03]) + struct.pack("<Q", 0xFFFFFFFF81000000), machine(offset=0x200000)) == \
        [Piece("memory", 0xFFFFFFFF81200000)]
    assert evaluate(bytes([0xA1, 0x02]), machine(offset=0x10)) == [Piece("memory", 0x4020)]


def test_pieces_keep_their_sizes_and_an_empty_piece_is_optimized_out():
    pieces = evaluate(bytes([0x50, 0x93, 0x04, 0x93, 0x04, 0x91, 0x00, 0x93, 0x08]), machine())
    assert pieces == [Piece("register", 0, 4), Piece("absent", 0, 4, "optimized out"), Piece("memory", 0x1000, 8)]


def test_an_empty_expression_is_optimized_out():
    assert evaluate(b"", machine()) == [Piece("absent", why="optimized out")]


@pytest.mark.parametrize("expression", [bytes([0x22]), bytes([0x0C, 0x01]), bytes([0x2F, 0xFD, 0xFF]),
                                        bytes([0x2F, 0x10, 0x00]), bytes([0xE0]), bytes([0x30, 0x15, 0x03]),
                                        bytes([0x31, 0x30, 0x1B]), bytes([0x31, 0x14]), bytes([0x12])])
def test_a_damaged_expression_is_a_format_error(expression):
    """An operand missing, a truncated constant, a loop, a branch outside the expression, an
    unknown operation, a pick past the stack, a division by zero, over and dup short of entries."""
    with pytest.raises(FormatError):
        evaluate(expression, machine())


def _debug_frame() -> bytes:
    """One CIE (rsp+8, return address at cfa-8) and one FDE for 0x1000-0x1100 that pushes rbp,
    then rbx, then sets rbx's rule back to the CIE's (none) with DW_CFA_restore."""
    cie_body = struct.pack("<IB", 0xFFFFFFFF, 1) + b"\0" + bytes([1, 0x78, 16, 0x0C, 7, 8, 0x90, 1])
    cie = struct.pack("<I", len(cie_body)) + cie_body
    instructions = bytes([0x41, 0x0E, 16, 0x86, 2, 0x44, 0x0E, 24, 0x83, 3, 0x48, 0xC3])
    fde_body = struct.pack("<IQQ", 0, 0x1000, 0x100) + instructions
    fde = struct.pack("<I", len(fde_body)) + fde_body
    return cie + fde


def test_cfi_rows_follow_the_instructions_up_to_the_address():
    table = CallFrameTable(memoryview(_debug_frame()))
    assert table.row(0x1000) == ((7, 8), {16: ("offset", -8)})
    assert table.row(0x1001) == ((7, 16), {16: ("offset", -8), 6: ("offset", -16)})
    assert table.row(0x1005) == ((7, 24), {16: ("offset", -8), 6: ("offset", -16), 3: ("offset", -24)})
    assert table.row(0x100D) == ((7, 24), {16: ("offset", -8), 6: ("offset", -16)})
    assert table.row(0x1100) is None and table.row(0xFFF) is None


def test_cfi_addresses_are_moved_by_the_kaslr_slide():
    table = CallFrameTable(memoryview(_debug_frame()), offset=0x100000)
    assert table.row(0x1000) is None
    assert table.row(0x101001) == ((7, 16), {16: ("offset", -8), 6: ("offset", -16)})


def test_a_truncated_cfi_entry_is_a_format_error():
    data = _debug_frame()
    with pytest.raises(FormatError):
        CallFrameTable(memoryview(data[:-3]))


def test_caller_registers_restore_saved_ones_and_forget_the_caller_saved():
    memory = {0x508: 0xFFFFFFFF81001234, 0x500: 0x7777}
    row = ((7, 16), {16: ("offset", -8), 6: ("offset", -16)})
    cfa, caller = caller_registers(row, {7: 0x500, 6: 1, 3: 99, 0: 5}, memory.get)
    assert cfa == 0x510
    assert caller == {7: 0x510, 16: 0xFFFFFFFF81001234, 6: 0x7777, 3: 99}


def test_caller_registers_need_the_cfa_register():
    assert caller_registers(((6, 16), {}), {7: 0x500}, {}.get) == (None, {})


def _frame_locals() -> FrameLocals:
    int_ = int_type("int", 4, True)
    frame = StackFrame(0, 0x1000, 0xFFFFFFFF81000000, "outer", 0x10)
    inner = FunctionLocals("inlined_helper", True, [Local("key", int_, True, Object(None, int_, 7))])
    outer = FunctionLocals("outer", False, [Local("key", int_, True, None, "optimized out"),
                                            Local("count", int_, False, Object(None, int_, 1)),
                                            Local("count", int_, False, Object(None, int_, 2))])
    return FrameLocals(frame, [inner, outer], {7: 0x1008})


def test_locals_names_each_variable_once_innermost_function_first():
    assert _frame_locals().locals() == ["key", "count"]


def test_a_name_is_the_innermost_functions_and_an_inner_blocks_variable_hides_the_functions():
    found = _frame_locals()
    assert found["key"].value_() == 7
    assert found["count"].value_() == 2
    assert "count" in found and "nothing" not in found


def test_an_absent_value_raises_and_an_unknown_name_is_a_key_error():
    found = _frame_locals()
    found.functions.pop(0)
    with pytest.raises(AbsentValueError, match="optimized out"):
        found["key"]
    with pytest.raises(KeyError):
        found["nothing"]


def _aranges(start: int, size: int, unit: int) -> bytes:
    """A .debug_aranges set (version 2, 8-byte addresses) with one range of the unit at ``unit``."""
    body = struct.pack("<HIBB", 2, unit, 8, 0) + b"\0" * 4 + struct.pack("<QQQQ", start, size, 0, 0)
    return struct.pack("<I", len(body)) + body


def _index(info: bytes) -> LocalsIndex:
    extra = {name: memoryview(b"") for name in (".debug_loc", ".debug_loclists", ".debug_ranges",
                                                ".debug_rnglists", ".debug_addr", ".debug_frame")}
    extra[".debug_aranges"] = memoryview(_aranges(0xFFFFFFFF81000000, 0x1000, 0))
    return LocalsIndex(Sections(memoryview(info), memoryview(b"\0"), memoryview(b"\0")), extra)


def test_an_address_no_unit_covers_has_no_scopes():
    assert _index(b"").scopes_at(0xFFFFFFFF82000000) == []


@pytest.mark.parametrize("info", [b"\xff" * 16, struct.pack("<IH", 40, 5), struct.pack("<IHIB", 7, 4, 0, 8)])
def test_a_damaged_unit_is_a_format_error(info):
    """A reserved unit length, a unit longer than .debug_info, an abbreviation table that is not there."""
    with pytest.raises(FormatError):
        _index(info).scopes_at(0xFFFFFFFF81000010)
