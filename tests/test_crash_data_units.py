"""The pieces of crash's data commands that need no dump: eval's arithmetic, ascii, rd's layout,
gdb's AT&T text of instructions (bytes and text from crash 9's ``dis`` on the 6.12 corpus kernel),
the symbol table's neighbours, and the .debug_aranges reader."""
import struct
import sys

import pytest

from pycore.arch import x86_64_disasm
from pycore.cli.dis import instruction_text
from pycore.cli.eval import EvalError, ascii_line, eval_lines, eval_words, evaluate
from pycore.cli.rd import render_values, render_string
from pycore.errors import FormatError, MissingDebugInfoError, PycoreError
from pycore.symbols.table import SymbolTable
from pycore.types.dwarf_lines import parse_aranges


@pytest.mark.parametrize("expression,value", [
    ("(0x1000 + 16)", 0x1010), ("(100 / 7)", 14), ("(100 % 7)", 2), ("(10 - 20)", (1 << 64) - 10),
    ("(0xf0 & 0x3c)", 0x30), ("(0xf0 ^ 0x3c)", 0xcc), ("(0xf0 | 0x0f)", 0xff), ("(1 << 12)", 0x1000),
    ("(0x100 >> 4)", 0x10), ("(3#4)", 81), ("(1g)", 1 << 30), ("(4k)", 4096), ("(~0x10)", (1 << 64) - 17),
    ("(-1)", (1 << 64) - 1), ("(ff)", 0xff), ("(12345678901)", 12345678901)])
def test_eval_reads_numbers_and_one_operator_as_crash(expression, value):
    assert evaluate(None, expression) == value


@pytest.mark.parametrize("expression", ["(0x10 +)", "(1 / 0)", "(1 < 2)", "((1 + 2))", "(nosuch)"])
def test_eval_rejects_what_crash_calls_invalid(expression):
    with pytest.raises(EvalError) as error:
        evaluate(None, expression)
    assert isinstance(error.value, PycoreError)


def test_eval_takes_a_parenthesized_word_alone():
    """crash's parser keeps ``(3 + 4)`` as one word, and eval evaluates that word only."""
    assert eval_words(["2", "*", "(3", "+", "4)"]) == "(3 + 4)"
    assert eval_words(["0x1000", "+", "16"]) == "(0x1000 + 16)"


def test_eval_prints_sizes_and_negative_values():
    assert eval_lines(1 << 30, False)[0] == "hexadecimal: 40000000  (1GB)"
    assert eval_lines((1 << 64) - 10, False)[1] == "    decimal: 18446744073709551606  (-10)"
    assert eval_lines(0x1234, True)[-1] == "   bits set: 12 9 5 4 2 "


def test_ascii_names_control_characters_and_high_bytes():
    assert ascii_line(0x80ff7f0a0d1b2021) == "80ff7f0a0d1b2021: ! <ESC><CR><LF><DEL><ff><80>"


def test_rd_pads_a_short_line_to_the_ascii_column():
    data = b"Linux version 6.12.1"
    result = {"address": 0xffffffff9d751580, "bits": 64, "values": list(struct.unpack("<2Q", data[:16])) +
              [struct.unpack("<Q", data[16:] + b"\0" * 4)[0]], "hex": (data + b"\0" * 4).hex()}
    lines = render_values(result).split("\n")
    assert lines[1] == "ffffffff9d751590:  00000000312e3231" + " " * 17 + "   12.1...."


def test_rd_decimal_is_signed_for_64_and_32_bits_only():
    minus_one = {"address": 0x1000, "bits": 32, "values": [0xffffffff], "hex": "ffffffff"}
    assert render_values(minus_one, "signed", ascii_end=False) == "            1000:            -1 "
    byte = {"address": 0x1000, "bits": 8, "values": [0xff], "hex": "ff"}
    assert render_values(byte, "signed", ascii_end=False) == "            1000:  255 "


def test_rd_string_starts_a_line_after_each_unprintable_byte():
    result = {"address": 0x1000, "hex": b"ab\ncd".hex()}
    assert render_string(result) == "            1000:  ab\n            1003:  cd"


# (address, bytes, gdb's text) from crash 9's dis on the 6.12 corpus kernel.
GDB_TEXT = [
    (0xffffffff9d2a40d0, "f30f1efa", "endbr64"),
    (0xffffffff9d2a40d4, "0f1f440000", "nopl   0x0(%rax,%rax,1)"),
    (0xffffffff9d2a40dd, "48c7c77809ab9d", "mov    $0xffffffff9dab0978,%rdi"),
    (0xffffffff9d2a40e4, "c7053282020107000000", "movl   $0x7,0x1028232(%rip)"),
    (0xffffffff9d2a40ee, "0fb6db", "movzbl %bl,%ebx"),
    (0xffffffff9d2a40ff, "c3", "ret"),
    (0xffffffff9d2b74af, "4883e0f0", "and    $0xfffffffffffffff0,%rax"),
    (0xffffffff9d2b7549, "48b900f0ffffffffff00", "movabs $0xfffffffffff000,%rcx"),
    (0xffffffff9d2b755e, "0f94c0", "sete   %al"),
    (0xffffffff9d2b75a8, "0f0b", "ud2"),
    (0xffffffff9d275ca5, "833d281b1f0100", "cmpl   $0x0,0x11f1b28(%rip)"),
    (0xffffffff9d275cac, "f3ab", "rep stos %eax,%es:(%rdi)"),
    (0xffffffff9d275cbe, "65ff0543f3db62", "incl   %gs:0x62dbf343(%rip)"),
    (0xffffffff9d275ccf, "f00fb1156915fd00", "lock cmpxchg %edx,0xfd1569(%rip)"),
    (0xffffffff9d275d22, "4898", "cltq"),
    (0xffffffff9d275d86, "c6057fe4ab0101", "movb   $0x1,0x1abe47f(%rip)"),
    (0xffffffff9d2c2ef8, "480fa30500591a01", "bt     %rax,0x11a5900(%rip)"),
    (0xffffffff9c6ba8bc, "4863d8", "movslq %eax,%rbx"),
    (0xffffffff9c6bac78, "f348ab", "rep stos %rax,%es:(%rdi)"),
    (0xffffffff9c6bae85, "f348a5", "rep movsq %ds:(%rsi),%es:(%rdi)"),
    (0xffffffffa2c7a893, "6666666690", "data16 data16 data16 xchg %ax,%ax"),
]


@pytest.mark.parametrize("address,raw,text", GDB_TEXT)
def test_instruction_text_is_gdbs(address, raw, text):
    pytest.importorskip("capstone")
    instruction = next(x86_64_disasm.disassemble(bytes.fromhex(raw), address, 1))
    assert (_text(instruction, targets=False), instruction.size) == (text, len(raw) // 2)


def _text(instruction, names=None, hexadecimal=False, targets=True):
    """cli/dis.py's layout of an instruction the arch layer decoded, its target named by ``names``
    (without ``targets``, the instruction alone: no ``# address`` after a %rip-relative operand)."""
    named = (names or {}).get(instruction.target)
    row = {"mnemonic": instruction.mnemonic, "operands": list(instruction.operands),
           "target": instruction.target if targets else None, "rip_relative": instruction.rip_relative,
           "target_symbol": named}
    return instruction_text(row, hexadecimal)


def test_the_arch_layer_gives_words_and_the_cli_lays_them_out():
    """x86_64_disasm returns the mnemonic and operands as data; gdb's columns are cli/dis.py's."""
    pytest.importorskip("capstone")
    instruction = next(x86_64_disasm.disassemble(bytes.fromhex("f348ab"), 0))
    assert (instruction.mnemonic, instruction.operands) == ("rep stos", ("%rax", "%es:(%rdi)"))
    assert _text(instruction) == "rep stos %rax,%es:(%rdi)"
    assert _text(next(x86_64_disasm.disassemble(b"\xc3", 0))) == "ret"


def test_branch_and_rip_relative_targets_are_symbolized():
    pytest.importorskip("capstone")
    known = {0xffffffff9c772230: ["__rcu_read_unlock", 0], 0xffffffff9e2cc320: ["console_printk", 0],
             0xffffffff9c772240: ["__rcu_read_unlock", 16]}
    call = next(x86_64_disasm.disassemble(bytes.fromhex("e872d08bff"), 0xffffffff9ceb51b9))
    assert _text(call, known) == "call   0xffffffff9c772230 <__rcu_read_unlock>"
    store = next(x86_64_disasm.disassemble(bytes.fromhex("c7053282020107000000"), 0xffffffff9d2a40e4))
    assert _text(store, known) == "movl   $0x7,0x1028232(%rip)        # 0xffffffff9e2cc320 <console_printk>"
    percpu = next(x86_64_disasm.disassemble(bytes.fromhex("65ff0543f3db62"), 0xffffffff9d275cbe))
    assert _text(percpu, known) == "incl   %gs:0x62dbf343(%rip)        # 0x35008"
    inside = next(x86_64_disasm.disassemble(bytes.fromhex("e882d08bff"), 0xffffffff9ceb51b9))
    assert _text(inside, known) == "call   0xffffffff9c772240 <__rcu_read_unlock+16>"
    assert _text(inside, known, hexadecimal=True) == "call   0xffffffff9c772240 <__rcu_read_unlock+0x10>"


def test_disassembly_without_capstone_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "capstone", None)
    with pytest.raises(MissingDebugInfoError, match="capstone"):
        list(x86_64_disasm.disassemble(b"\xc3", 0))


def _table() -> SymbolTable:
    return SymbolTable("test", ["memset", "__memset", "after", "_end"], [0x1000, 0x1000, 0x1040, 0x2000],
                       None, ["T", "T", "t", "B"])


def test_symbols_at_an_address_and_their_neighbours():
    table = _table()
    assert [s.name for s in table.symbols_at(0x1000)] == ["memset", "__memset"]
    assert table.nearest(0x1030)[0].name == "memset" and table.nearest(0x1030)[1] == 0x30
    assert table.nearest(0x0fff) is None
    assert table.neighbour(table.by_name("memset"), 1).name == "after"
    assert table.neighbour(table.by_name("after"), -1).name == "memset"
    assert [s.name for s in table.search("mem")] == ["memset", "__memset"]


def _aranges_set(unit: int, ranges) -> bytes:
    body = struct.pack("<HIBB", 2, unit, 8, 0) + b"\0" * 4
    body += b"".join(struct.pack("<QQ", start, size) for start, size in ranges) + struct.pack("<QQ", 0, 0)
    return struct.pack("<I", len(body)) + body


def test_aranges_are_read_in_bulk_and_sorted():
    data = _aranges_set(0x200, [(0x3000, 0x10)]) + _aranges_set(0x100, [(0x1000, 0x20), (0x2000, 0x8)])
    assert parse_aranges(data) == [(0x1000, 0x1020, 0x100), (0x2000, 0x2008, 0x100), (0x3000, 0x3010, 0x200)]


def test_damaged_aranges_name_the_set():
    data = bytearray(_aranges_set(0x100, [(0x1000, 0x20)]))
    data[10] = 4  # address_size
    with pytest.raises(FormatError, match="set at 0x0"):
        parse_aranges(bytes(data))


@pytest.mark.parametrize("raw,text", [("660fefc0", "pxor   %xmm0,%xmm0"),
                                      ("66662e0f1f840000000000", "data16 cs nopw 0x0(%rax,%rax,1)"),
                                      ("6690", "xchg   %ax,%ax")])
def test_an_operand_size_or_sse_prefix_is_no_data16(raw, text):
    """objdump's data16 is for the extra 0x66 of padding NOPs, not for an SSE opcode's own 0x66."""
    pytest.importorskip("capstone")
    assert _text(next(x86_64_disasm.disassemble(bytes.fromhex(raw), 0))) == text


@pytest.mark.parametrize("text,value", [("10", 10), ("0x10", 16), ("ff", 255), ("0", 0)])
def test_rd_reads_offsets_and_counts_as_crashs_stol(text, value):
    from pycore.cli.rd import stol

    assert stol(text) == value


def _rd_args(*argv):
    from pycore.cli import rd
    from pycore.cli.command import make_parser

    return make_parser(rd.COMMAND).parse_args(list(argv))


def test_rd_end_address_gives_the_count_and_a_count_overrides_it():
    from pycore.cli.rd import _count_of

    assert _count_of(_rd_args("-e", "ffff0040", "ffff0000"), 0xffff0000, 8) == (8, [])
    assert _count_of(_rd_args("-32", "-e", "ffff0040", "ffff0000"), 0xffff0000, 4) == (16, [])
    assert _count_of(_rd_args("-e", "ffff0040", "ffff0000", "2"), 0xffff0000, 8) == (
        2, ["ending address ignored when count is specified"])
    with pytest.raises(PycoreError, match="invalid ending address: ffff0000"):
        _count_of(_rd_args("-e", "ffff0000", "ffff0000"), 0xffff0000, 8)
    with pytest.raises(PycoreError, match="-r option requires either a count argument or the -e option"):
        _count_of(_rd_args("-r", "/dev/null", "ffff0000"), 0xffff0000, 1)


def test_rd_raw_copy_is_reported_as_crash_reports_it():
    from pycore.cli.rd import render

    data = {"copied": 64, "address": 0xffffffffa8b1ffe0, "file": "/dev/null", "memory": "kernel"}
    assert render(data, _rd_args("-r", "/dev/null", "linux_banner", "64")) == (
        "64 bytes copied from 0xffffffffa8b1ffe0 to /dev/null")


def _dis_args(*argv):
    from pycore.cli import dis
    from pycore.cli.command import make_parser

    return make_parser(dis.COMMAND).parse_args(list(argv))


def test_dis_b_shows_the_bytes_skipped_after_ud2_and_d_and_x_exclude_each_other():
    from pycore.cli import dis

    data = dis.collect(None, _dis_args("-b")).data
    assert dis.render(data, _dis_args("-b")) == "encoded bytes being skipped after ud2a: 0"
    with pytest.raises(PycoreError, match="-d and -x are mutually exclusive"):
        dis.collect(None, _dis_args("-d", "-x", "panic"))


def test_dis_b_drops_what_was_decoded_from_the_bytes_after_a_ud2():
    pytest.importorskip("capstone")
    from pycore.cli.dis import _skip_after_ud2

    code = bytes.fromhex("0f0b" "c3" "90" "c3")  # ud2, then a byte of BUG() data, then nop; ret
    instructions = list(x86_64_disasm.disassemble(code, 0x1000))
    kept = _skip_after_ud2(instructions, 1)
    assert [i.address for i in kept] == [0x1000, 0x1003, 0x1004]
    assert _skip_after_ud2(instructions, 0) == instructions


def test_sym_module_lines_name_each_region():
    from pycore.cli.sym import module_letter, render, table_name
    from pycore.symbols.table import Symbol

    rows = [{"module_start": "qemu_fw_cfg", "region": "TEXT", "address": 0xffffffffc0233000},
            {"module_end": "qemu_fw_cfg", "region": "TEXT", "address": 0xffffffffc0233fff},
            {"module_start": "virtio_blk", "region": None, "address": 0xffffffffc052d000}]
    assert render({"symbols": rows}, None).split("\n") == [
        "ffffffffc0233000 MODULE TEXT START: qemu_fw_cfg", "ffffffffc0233fff MODULE TEXT END: qemu_fw_cfg",
        "ffffffffc052d000 MODULE START: virtio_blk"]
    assert [module_letter(Symbol("x", 0, None, kind)) for kind in "tTdb"] == ["t", "T", "?", "?"]
    assert table_name("vring_unmap_extra_packed.part.0.isra.0") == "vring_unmap_extra_packed.part.0"
    assert table_name("vring_map_single.constprop.0") == "vring_map_single.constprop.0"
    assert table_name("__func__.21") == "__func__.21"


@pytest.mark.parametrize("raw,shown", [
    ("vfs_statfs.part.0.isra.0", "vfs_statfs.part.0"), ("print_task.isra.0.cold", "print_task"),
    ("virtblk_probe.cold", "virtblk_probe.cold"), ("intel_pmu_hw_config.part.0", "intel_pmu_hw_config")])
def test_sym_names_lose_only_the_last_clone_suffix(raw, shown):
    from pycore.cli.sym import table_name

    assert table_name(raw) == shown
