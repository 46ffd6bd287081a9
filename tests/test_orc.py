"""ORC entry decoding for each layout and the unwind step, against orc_types.h and unwind_orc.c."""
import struct

import pytest

from pycore.arch import orc
from pycore.errors import FormatError


def raw(sp_offset, bp_offset, flags):
    return struct.pack("<hhH", sp_offset, bp_offset, flags)


def test_version3_call_entry_decodes_sp_bp_type_and_signal():
    # sp_reg=SP(5), bp_reg=PREV_SP(1), type=CALL(2), signal=0
    entry = orc.decode_entry(raw(16, -16, 5 | 1 << 4 | 2 << 8), 3)
    assert entry == orc.OrcEntry(16, -16, orc.ORC_REG_SP, orc.ORC_REG_PREV_SP, orc.ORC_TYPE_CALL, False, False)
    signal = orc.decode_entry(raw(0, 0, 5 | 3 << 8 | 1 << 11), 3)
    assert signal.type == orc.ORC_TYPE_REGS and signal.signal


def test_version1_types_are_renumbered_and_end_and_undefined_recognized():
    call = orc.decode_entry(raw(8, 0, 5 | 0 << 8), 1)
    assert call.type == orc.ORC_TYPE_CALL and not call.signal
    regs = orc.decode_entry(raw(0, 0, 5 | 1 << 8), 1)
    assert regs.type == orc.ORC_TYPE_REGS and regs.signal
    partial = orc.decode_entry(raw(8, 0, 5 | 2 << 8), 1)
    assert partial.type == orc.ORC_TYPE_REGS_PARTIAL
    end = orc.decode_entry(raw(0, 0, 1 << 10), 1)
    assert end.type == orc.ORC_TYPE_END_OF_STACK and end.end
    assert orc.decode_entry(raw(0, 0, 0), 1).type == orc.ORC_TYPE_UNDEFINED


def test_version2_signal_and_end_bits():
    entry = orc.decode_entry(raw(8, 0, 5 | 1 << 10), 2)
    assert entry.type == orc.ORC_TYPE_CALL and entry.signal and not entry.end
    assert orc.decode_entry(raw(0, 0, 1 << 11), 2).type == orc.ORC_TYPE_END_OF_STACK


def test_table_find_uses_self_relative_addresses():
    base = 0xFFFFFFFF81000000
    targets = [0xFFFFFFFF81001000, 0xFFFFFFFF81001010, 0xFFFFFFFF81002000]
    ips = b"".join(struct.pack("<i", t - (base + 4 * i)) for i, t in enumerate(targets))
    entries = raw(8, 0, 5 | 2 << 8) + raw(24, 0, 5 | 2 << 8) + raw(0, 0, 0)
    table = orc.OrcTable(base, ips, entries, 3)
    assert table.find(0xFFFFFFFF81000FFF) is None
    assert table.find(0xFFFFFFFF81001000).sp_offset == 8
    assert table.find(0xFFFFFFFF8100100F).sp_offset == 8
    assert table.find(0xFFFFFFFF81001FFF).sp_offset == 24
    assert table.find(0xFFFFFFFF81002000).type == orc.ORC_TYPE_UNDEFINED


def memory(words):
    return lambda address: words[address]


def test_call_step_on_sp_reads_return_address_below_cfa():
    entry = orc.OrcEntry(24, -16, orc.ORC_REG_SP, orc.ORC_REG_PREV_SP, orc.ORC_TYPE_CALL, False, False)
    regs, pt_regs = orc.unwind_step(entry, orc.Registers(0x1111, 0x1000, None),
                                    memory({0x1010: 0x2222, 0x1008: 0xF00}))
    assert regs == orc.Registers(0x2222, 0x1018, 0xF00) and pt_regs is None
    assert orc.crash_framesize(entry) == 16


def test_call_step_on_bp_uses_the_frame_pointer():
    entry = orc.OrcEntry(16, -16, orc.ORC_REG_BP, orc.ORC_REG_PREV_SP, orc.ORC_TYPE_CALL, False, False)
    regs, _ = orc.unwind_step(entry, orc.Registers(1, 0x1000, 0x1040), memory({0x1048: 0x3333, 0x1040: 0x1080}))
    assert regs == orc.Registers(0x3333, 0x1050, 0x1080)
    assert orc.unwind_step(entry, orc.Registers(1, 0x1000, None), memory({})) == (None, None)
    assert orc.crash_framesize(entry) is None


def test_regs_step_continues_from_pt_regs():
    entry = orc.OrcEntry(0, 0, orc.ORC_REG_SP, orc.ORC_REG_UNDEFINED, orc.ORC_TYPE_REGS, True, False)
    words = {0x2000 + 128: 0xFFFFFFFF81234567, 0x2000 + 152: 0x5000, 0x2000 + 32: 0x5100}
    regs, pt_regs = orc.unwind_step(entry, orc.Registers(1, 0x2000, 7), memory(words))
    assert pt_regs == 0x2000 and regs == orc.Registers(0xFFFFFFFF81234567, 0x5000, 0x5100)


def test_regs_partial_step_points_at_the_iret_frame():
    entry = orc.OrcEntry(8, 0, orc.ORC_REG_SP, orc.ORC_REG_UNDEFINED, orc.ORC_TYPE_REGS_PARTIAL, True, False)
    words = {0x3008: 0xFFFFFFFF81000010, 0x3008 + 24: 0x6000}
    regs, pt_regs = orc.unwind_step(entry, orc.Registers(1, 0x3000, 9), memory(words))
    assert pt_regs == 0x3008 - orc.IRET_OFFSET and regs == orc.Registers(0xFFFFFFFF81000010, 0x6000, 9)


def test_end_of_stack_and_undefined_stop_the_walk():
    for kind in (orc.ORC_TYPE_END_OF_STACK, orc.ORC_TYPE_UNDEFINED):
        entry = orc.OrcEntry(0, 0, orc.ORC_REG_SP, 0, kind, False, False)
        assert orc.unwind_step(entry, orc.Registers(1, 2, 3), memory({})) == (None, None)


def test_bp_saved_relative_to_the_frame_pointer_is_read_from_there():
    # bp_reg BP: the caller's rbp is at rbp + bp_offset (unwind_orc.c), not rbp itself.
    entry = orc.OrcEntry(16, -8, orc.ORC_REG_SP, orc.ORC_REG_BP, orc.ORC_TYPE_CALL, False, False)
    regs, _ = orc.unwind_step(entry, orc.Registers(1, 0x1000, 0x1100), memory({0x1008: 0x4444, 0x10F8: 0x1200}))
    assert regs == orc.Registers(0x4444, 0x1010, 0x1200)
    regs, _ = orc.unwind_step(entry, orc.Registers(1, 0x1000, None), memory({0x1008: 0x4444}))
    assert regs == orc.Registers(0x4444, 0x1010, None)


def test_memory_the_dump_lacks_leaves_the_register_unknown():
    unreadable = lambda address: None  # noqa: E731
    call = orc.OrcEntry(16, -16, orc.ORC_REG_SP, orc.ORC_REG_PREV_SP, orc.ORC_TYPE_CALL, False, False)
    assert orc.unwind_step(call, orc.Registers(1, 0x1000, 7), unreadable) == (orc.Registers(None, 0x1010, None), None)
    regs = orc.OrcEntry(0, 0, orc.ORC_REG_SP, orc.ORC_REG_UNDEFINED, orc.ORC_TYPE_REGS, True, False)
    assert orc.unwind_step(regs, orc.Registers(1, 0x2000, 7), unreadable) == (None, None)
    indirect = orc.OrcEntry(8, 0, orc.ORC_REG_SP_INDIRECT, orc.ORC_REG_UNDEFINED, orc.ORC_TYPE_CALL, False, False)
    assert orc.unwind_step(indirect, orc.Registers(1, 0x1000, 7), unreadable) == (None, None)


def table_of(flags_list):
    """Raw entries with the given flags words (offsets irrelevant to the numbering)."""
    return b"".join(raw(8, -16, flags) for flags in flags_list)


def test_numbering_up_to_7_0_is_recognized_from_the_entries():
    # SP=5 in most frames, PREV_SP=1 as the saved-BP register, CALL=2 (version 3 layout).
    entries = table_of([5 | 2 << 8] * 50 + [5 | 1 << 4 | 2 << 8] * 20 + [4 | 1 << 4 | 2 << 8] * 3 + [0] * 10)
    assert orc.probe_registers(entries) is orc.REGISTERS_UP_TO_7_0
    entry = orc.decode_entry(raw(16, -16, 4 | 1 << 4 | 2 << 8), 3, orc.REGISTERS_UP_TO_7_0)
    assert (entry.sp_reg, entry.bp_reg) == (orc.ORC_REG_BP, orc.ORC_REG_PREV_SP)


def test_7_1_renumbering_is_recognized_and_normalized():
    # The same frames as objtool numbers them since 7.1: SP=3, PREV_SP=8, BP=4, DI=5, BP_INDIRECT=10.
    entries = table_of([3 | 2 << 8] * 50 + [3 | 8 << 4 | 2 << 8] * 20 + [4 | 8 << 4 | 2 << 8] * 3 + [0] * 10)
    numbering = orc.probe_registers(entries)
    assert numbering is orc.REGISTERS_7_1
    table = orc.OrcTable(0xFFFFFFFF81000000, bytes(4 * 83), entries, 3)
    assert table.registers is orc.REGISTERS_7_1
    assert table.entry(0).sp_reg == orc.ORC_REG_SP and table.entry(50).bp_reg == orc.ORC_REG_PREV_SP
    decoded = [orc.decode_entry(raw(0, 0, number | 2 << 8), 3, numbering).sp_reg for number in (1, 5, 10)]
    assert decoded == [orc.ORC_REG_AX, orc.ORC_REG_DI, orc.ORC_REG_BP_INDIRECT]


def test_unknown_numbering_is_an_error_not_a_guess():
    entries = table_of([7 | 2 << 4 | 2 << 8] * 40)
    with pytest.raises(FormatError, match="numbered in no known way"):
        orc.probe_registers(entries, "test")


def test_a_register_the_numbering_does_not_have_stops_the_unwind():
    entry = orc.decode_entry(raw(8, 0, 12 | 2 << 8), 3, orc.REGISTERS_7_1)
    assert entry.sp_reg == orc.ORC_REG_UNDEFINED
    assert orc.unwind_step(entry, orc.Registers(1, 0x1000, 7), memory({})) == (None, None)


def test_ax_based_frame_uses_the_saved_rax():
    entry = orc.OrcEntry(8, 0, orc.ORC_REG_AX, orc.ORC_REG_UNDEFINED, orc.ORC_TYPE_CALL, False, False)
    regs, _ = orc.unwind_step(entry, orc.Registers(1, 0x1000, 7), memory({0x2000: 0x5555}), {"rax": 0x2000})
    assert regs == orc.Registers(0x5555, 0x2008, 7)
