"""crash 9's x86_64 ``mach`` (pycore/cli/mach.py over pycore/kernel/machine.py): byte for byte crash
9.0.2's recordings on the committed sample (mach, -m, -c, -x -c), with the vmlinux and without it.
On every corpus case, where crash's mach is not recorded, what holds without a recording: the lines
``sys`` also prints agree with pycore's sys, the e820 RAM ranges hold exactly the present pages, the
stacks are the ones bt's unwinder walks, and each CPU's cpuinfo_x86 is its own.  Then the shapes no
real dump shows: IDT gates naming the IST slots, a damaged e820 table, e820 types crash has no name for.
"""
import json
import re
import struct

import pytest

from pycore.cli import mach
from pycore.errors import PycoreError
from pycore.kernel import machine
from pycore.symbols.table import SymbolTable
from pycore.types.model import Member, array_type, int_type, struct_type

from cli_cases import argv, cut_sample, modes
from corpus import SAMPLE, Case, cases, cli_output, dump_ids, pycore_output, real_dumps
from fake_program import BASE, FakeProgram

pytestmark = pytest.mark.real

SAMPLE_COMMANDS = ["mach", "mach -m", "mach -c", "mach -x -c 0"]


def _sample() -> Case:
    return Case(SAMPLE)


@pytest.mark.parametrize("command", SAMPLE_COMMANDS)
def test_mach_is_crashs_on_the_sample(command):
    """Every mach line crash 9.0.2 printed on the sample, with and without the vmlinux (crash ignores
    the ``0`` after ``-c``: mach takes no argument)."""
    case = _sample()
    expected = case.reference(command)
    assert expected is not None, f"the sample records no {command!r}"
    for mode, options in modes(case):
        result = pycore_output(*argv(case, command, options))
        assert (result.status, result.err) == (0, ""), (mode, result.err)
        assert result.out == expected, mode


def test_d_and_x_together_are_refused_as_crash_refuses_them():
    case = _sample()
    result = pycore_output(*argv(case, "mach -c -x -d"))
    assert result.status != 0
    assert "-d and -x are mutually exclusive" in result.err
    assert result.out == ""


def test_memmap_comes_before_the_cpu_data():
    """crash prints the e820 map while it reads its options and the cpuinfo_x86 after them."""
    case = _sample()
    both = cli_output(*argv(case, "mach -c -m"))
    assert both == case.reference("mach -m") + case.reference("mach -c")


def test_a_dump_cut_short_is_one_error_line(tmp_path):
    """The sample cut in half lacks the kernel's data: mach says what it could not read, no traceback."""
    half = cut_sample(tmp_path)
    for words in ((), ("-m",), ("-c",)):
        result = pycore_output("mach", half, *words)
        assert result.status != 0, words
        assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result.err


# -- every corpus case: what holds without a recording -----------------------------------------------
CASES = cases()


def _json(case, command: str):
    return json.loads(cli_output(*argv(case, command + " --json")))


def _line(text: str, label: str) -> str:
    match = re.search(rf"^ *{label}: (.*)$", text, re.M)
    assert match, label
    return match.group(1)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_mach_agrees_with_sys(case):
    """CPUS (with its [OFFLINE: n]), MEMORY SIZE and the processor speed are what sys prints."""
    text = cli_output(*argv(case, "mach"))
    sys_text = cli_output(*argv(case, "sys"))
    assert _line(text, "CPUS") == _line(sys_text, "CPUS")
    assert _line(text, "MEMORY SIZE") == _line(sys_text, "MEMORY")
    assert f"({_line(text, 'PROCESSOR SPEED')})" == _line(sys_text, "MACHINE").split("  ", 1)[1]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_e820_ram_holds_the_present_pages(case):
    """The whole pages of the e820 RAM ranges are the pages the zones count present (QEMU's
    guests hot-add no memory): the memory map is the kernel's."""
    ranges = _json(case, "mach -m")["memmap"]
    info = _json(case, "mach")["machine"]
    page = info["page_size"]
    ram_pages = sum(max(0, (entry["addr"] + entry["size"]) // page - -(-entry["addr"] // page))
                    for entry in ranges if entry["type"] == 1)
    assert ram_pages * page == info["memory_bytes"]


def _stacks(case):
    import pycore
    from pycore.kernel.unwind import Unwinder

    with pycore.open(case.path(case.reference_dump)) as prog:
        unwinder = Unwinder(prog)
        cpus = machine.machine_info(prog)["cpus"]
        return unwinder, machine.exception_stacks(prog, cpus)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_exception_stacks_are_the_ones_bt_walks(case):
    """The IST stacks crash names are, CPU by CPU, the members of struct cea_exception_stacks bt's
    unwinder walks; DOUBLEFAULT, NMI and DEBUG on every kernel, the unnamed slot of size 0 and the
    unmapped VC stack marked unavailable."""
    unwinder, stacks = _stacks(case)
    named = [stack for stack in stacks if stack.name != machine.UNKNOWN_STACK]
    assert {stack.name for stack in named} >= {"DOUBLEFAULT", "NMI", "DEBUG"}
    assert all(stack.size == 0 for stack in stacks if stack.name == machine.UNKNOWN_STACK)
    for cpu, entries in unwinder.exception_stacks.items():
        walked = {label: (start, size) for label, start, size in entries}
        for stack in named:
            if stack.available[cpu]:
                assert (stack.bases[cpu], stack.size) == walked[stack.name], (cpu, stack.name)
            else:
                assert stack.name not in walked, (cpu, stack.name)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_cpus_cpuinfo_is_its_own(case):
    """mach -c heads each struct cpuinfo_x86 with the CPU whose cpu_index it holds, in decimal and
    with -x in hexadecimal."""
    for command, number in (("mach -c", "{}"), ("mach -x -c", "{:#x}")):
        text = cli_output(*argv(case, command))
        blocks = text.split("\n\n")
        assert len(blocks) == int(_line(cli_output(*argv(case, "mach")), "CPUS").split()[0])
        for cpu, block in enumerate(blocks):
            assert block.startswith(f"CPU {cpu}:\nstruct cpuinfo_x86 {{\n")
            assert f"\n  cpu_index = {number.format(cpu)},\n" in block


DUMPS = real_dumps()


@pytest.mark.parametrize("case,dump", DUMPS, ids=dump_ids(DUMPS))
def test_every_dump_of_a_case_tells_the_same_machine(case, dump):
    """Each dump file of a crash (ELF, kdump of every codec, flattened, -d 31 ones without zero
    pages) prints the reference dump's mach, -m and -c: no stack is unavailable for a page a filter
    dropped."""
    for words in ((), ("-m",), ("-c",)):
        expected = cli_output("mach", case.path(case.reference_dump), *words)
        assert cli_output("mach", case.path(dump["name"]), *words) == expected, words


# -- shapes no real dump shows ------------------------------------------------------------------------
def _gate(handler: int, ist: int) -> bytes:
    """An x86_64 interrupt gate (struct gate_struct) to ``handler`` on IST slot ``ist`` (0: none)."""
    low = (handler & 0xFFFF) | 0x10 << 16 | ist << 32 | 0x8E << 40 | ((handler >> 16) & 0xFFFF) << 48
    return struct.pack("<QQ", low, handler >> 32)


def test_ist_slots_are_named_by_their_gates_handlers():
    """A slot takes the name of the handler of any gate using it, a later rule overriding an earlier
    one (crash's order: nmi, debug, stack, double, machine, vmm); a slot no gate uses stays
    "(unknown)", and so does one whose handler's name no rule matches."""
    handlers = {"asm_exc_double_fault": 0xFFFFFFFF81000100, "asm_exc_nmi": 0xFFFFFFFF81000200,
                "asm_exc_debug": 0xFFFFFFFF81000300, "asm_exc_stack_segment": 0xFFFFFFFF81000400,
                "asm_exc_machine_check": 0xFFFFFFFF81000500}
    names = ["idt_table", *handlers]
    prog = FakeProgram(symbols={"idt_table": BASE})
    prog.symbols = SymbolTable("test symbols", names, [BASE, *handlers.values()], None, ["D"] + ["T"] * len(handlers))
    gates = {8: ("asm_exc_double_fault", 1), 2: ("asm_exc_nmi", 2), 1: ("asm_exc_debug", 3),
             12: ("asm_exc_stack_segment", 4), 18: ("asm_exc_machine_check", 4), 3: ("asm_exc_debug", 0)}
    for vector, (name, ist) in gates.items():
        prog.memory[vector * 16:vector * 16 + 16] = _gate(handlers[name], ist)
    prog.memory[20 * 16:21 * 16] = _gate(0xFFFFFFFF80000000, 6)  # inside idt_table's symbol: no rule names it
    assert machine.ist_stack_names(prog) == ["DOUBLEFAULT", "NMI", "DEBUG", "MCE", "(unknown)", "(unknown)",
                                             "(unknown)"]


def _e820_program(count: int) -> FakeProgram:
    u64, u32 = int_type("unsigned long long", 8, False), int_type("unsigned int", 4, False)
    entry = struct_type("e820_entry", 20, [Member("addr", u64, 0), Member("size", u64, 64), Member("type", u32, 128)])
    table = struct_type("e820_table", 4 + 20 * 3, [Member("nr_entries", u32, 0),
                                                  Member("entries", array_type(entry, 3), 32)])
    prog = FakeProgram(symbols={"e820_table": BASE})
    prog.types.types[("struct", "e820_entry")] = entry
    prog.types.types[("struct", "e820_table")] = table
    prog.put(BASE, BASE + 0x100)
    struct.pack_into("<I", prog.memory, 0x100, count)
    for index, (addr, size, kind) in enumerate(((0, 0x1000, 2), (0x1000, 0x9E000, 1), (0x100000, 0x1000, 0xEFFFFFFF))):
        struct.pack_into("<QQI", prog.memory, 0x104 + 20 * index, addr, size, kind)
    return prog


def test_e820_types_crash_cannot_name_are_its_type_lines():
    """A type crash has no name for is ``type %d`` of the unsigned value (soft-reserved,
    0xefffffff, prints negative)."""
    entries = [vars(entry) for entry in machine.e820_table(_e820_program(3))]
    assert mach.memmap_lines(entries) == [
        mach.MEMMAP_HEADER,
        "0000000000000000 - 0000000000001000  E820_RESERVED",
        "0000000000001000 - 000000000009f000  E820_RAM",
        "0000000000100000 - 0000000000101000  type -268435457"]


def test_an_e820_count_past_the_table_is_an_error():
    """nr_entries larger than the array is a damaged table, said so, not a read past its end."""
    with pytest.raises(PycoreError, match=r"e820_table\.nr_entries at .* is 4, more than its 3 entries"):
        machine.e820_table(_e820_program(4))
