"""Stack traces as data and crash's text for them: frames, exception frames and stack switches
rendered by pycore/cli/bt.py, and ``bt`` without an option showing the panic task only."""
import functools
import os
from types import SimpleNamespace

import pytest

import pycore
from pycore.arch import orc
from pycore.cli import main
from pycore.cli.bt import trace_lines
from pycore.errors import FormatError
from pycore.kernel import sched, stack
from pycore.symbols.table import SymbolTable

from corpus import SAMPLE

REGS = {"rip": 0xFFFFFFFF81234567, "rsp": 0xFFFFC90000123F00, "eflags": 0x246, "rax": 1, "rbx": 2, "rcx": 3,
        "rdx": 4, "rsi": 5, "rdi": 6, "rbp": 7, "r8": 8, "r9": 9, "r10": 10, "r11": 11, "r12": 12, "r13": 13,
        "r14": 14, "r15": 15, "orig_rax": 0xFFFFFFFFFFFFFFFF, "cs": 0x10, "ss": 0x18}
REGISTER_LINES = [
    "    RIP: ffffffff81234567  RSP: ffffc90000123f00  RFLAGS: 00000246",
    "    RAX: 0000000000000001  RBX: 0000000000000002  RCX: 0000000000000003",
    "    RDX: 0000000000000004  RSI: 0000000000000005  RDI: 0000000000000006",
    "    RBP: 0000000000000007   R8: 0000000000000008   R9: 0000000000000009",
    "    R10: 000000000000000a  R11: 000000000000000b  R12: 000000000000000c",
    "    R13: 000000000000000d  R14: 000000000000000e  R15: 000000000000000f",
]


def test_trace_items_are_written_as_crash_writes_them():
    trace = stack.StackTrace(0xFFFF888001000000, 1, "init", 0, True)
    trace.add_exception_frame(REGS, "kernel", "native_safe_halt", 11, notes=True)
    trace.add_frame(9, 0xFFFFC90000123E00, 0xFFFFFFFF81000010, "do_idle", 0x1F0, None)
    trace.add_stack_switch("NMI exception")
    trace.add_frame(10, 0xFFFFC90000123E80, 0xFFFFFFFFC0001234, "e1000_clean", 0x34, "e1000")
    trace.add_exception_frame(REGS, "kernel", None)
    trace.add_stack_switch("IRQ")
    trace.add_exception_frame(dict(REGS, cs=0x33, ss=0x2B))
    trace.add_exception_frame(dict(REGS, cs=0x33, ss=0x2B), "user", notes=True)
    assert trace_lines(trace) == (
        ["    [exception RIP: native_safe_halt+11]"] + REGISTER_LINES + ["    CS: 0010  SS: 0018",
         " #9 [ffffc90000123e00] do_idle at ffffffff81000010",
         "--- <NMI exception stack> ---",
         "#10 [ffffc90000123e80] e1000_clean at ffffffffc0001234 [e1000]",
         "    [exception RIP: unknown or invalid address]"] + REGISTER_LINES
        + ["    ORIG_RAX: ffffffffffffffff  CS: 0010  SS: 0018", "--- <IRQ stack> ---"]
        + REGISTER_LINES + ["    ORIG_RAX: ffffffffffffffff  CS: 0033  SS: 002b",
                            "    [exception RIP: user space]"] + REGISTER_LINES + ["    CS: 0033  SS: 002b"])


def test_exception_frame_registers_belong_to_the_frame_before_them():
    trace = stack.StackTrace(0xFFFF888001000000, 1, "init", 0, False)
    trace.add_frame(0, 0x1000, 0xFFFFFFFF81000010, "asm_exc_page_fault", 0x26, None)
    trace.add_exception_frame(REGS, "kernel", "do_thing", 0)
    trace.add_frame(1, 0x1100, 0xFFFFFFFF81000020, "do_thing", 0, None)
    assert [frame.regs for frame in trace.frames] == [REGS, None]
    assert trace.signature() == ["asm_exc_page_fault", "do_thing"]
    assert trace_lines(trace)[1] == "    [exception RIP: do_thing]"


class Unwinder(stack.Unwinder):
    """Only what the choice of task reads: the panic task and the task on each CPU."""

    def __init__(self, panic_task, active):
        self.panic_task, self.active = panic_task, active


@pytest.mark.parametrize("panic_task,active,shown", [
    (0xB000, {0: 0xA000, 1: 0xB000}, [0xB000]),   # the task that panicked, whatever its CPU
    (None, {2: 0xC000, 1: 0xB000}, [0xB000]),     # no panic: the first CPU's task, as crash falls back
    (None, {}, []),
])
def test_bt_without_option_shows_the_panic_task_only(monkeypatch, panic_task, active, shown):
    monkeypatch.setattr(stack, "stack_trace", lambda prog, task, unwinder: task)
    assert stack.panic_trace(None, Unwinder(panic_task, active)) == shown


@pytest.mark.skipif(not os.path.exists(os.path.join(SAMPLE, "vmcore")), reason="testdata/sample is not checked out")
def test_bt_on_the_sample_is_the_panic_cpu_block_of_bt_a(capsys, native_path):
    vmcore = os.path.join(SAMPLE, "vmcore")
    pure = [] if native_path else ["--pure"]
    assert main(["bt", vmcore] + pure) == 0
    alone = capsys.readouterr().out
    assert main(["bt", vmcore, "-a"] + pure) == 0
    blocks = capsys.readouterr().out.rstrip("\n").split("\n\n")
    with pycore.open(vmcore) as prog:
        cpu = sched.panic_cpu(prog)
    assert len(blocks) > 1 and cpu is not None
    panicked = [block for block in blocks if f"  CPU: {cpu:<3}  COMMAND:" in block.splitlines()[0]]
    assert alone.rstrip("\n") == panicked[0] and "panic at" in alone


def test_an_unwind_error_is_a_bt_line_and_leaves_a_trace_useless():
    trace = stack.StackTrace(0xFFFF888001000000, 7, "sleeper", 0, False)
    trace.add_error("read of process stack at ffffc90000010000 failed: not in the dump")
    assert trace_lines(trace) == ["bt: read of process stack at ffffc90000010000 failed: not in the dump"]
    assert not trace.useful and trace.to_dict()["errors"] == trace.errors
    trace.add_frame(0, 0x1000, 0xFFFFFFFF81000010, "schedule", 0x10, None)
    assert trace.useful


needs_sample = pytest.mark.skipif(not os.path.exists(os.path.join(SAMPLE, "vmcore")),
                                  reason="testdata/sample is not checked out")


@needs_sample
def test_a_stack_the_dump_lacks_is_said_not_shown_empty(monkeypatch):
    with pycore.open(os.path.join(SAMPLE, "vmcore")) as prog:
        unwinder = stack.Unwinder(prog)
        task = unwinder.panic_task
        real = unwinder.task_info(task)
        # A stack base in the vmalloc area no page of the dump backs.
        monkeypatch.setattr(unwinder, "task_info", lambda t: dict(real, stack=0xFFFFC9FFFFF00000, active=False,
                                                                   sp=0xFFFFC9FFFFF03F00))
        trace = stack.stack_trace(prog, task, unwinder)
    assert not trace.useful
    assert any(error.startswith("read of process stack at ffffc9fffff00000 failed") for error in trace.errors)


@needs_sample
def test_without_orc_the_walk_goes_on_and_says_so(monkeypatch):
    def broken(prog, version=None):
        raise FormatError("dump: ORC registers numbered in no known way", field="orc_unwind")

    monkeypatch.setattr(orc, "kernel_table_from_dump", broken)
    with pycore.open(os.path.join(SAMPLE, "vmcore")) as prog:
        trace = stack.panic_trace(prog)[0]
    assert trace.errors[0].startswith("no usable ORC table (") and trace.errors[0].endswith("counted from the code")
    assert trace_lines(trace)[0].startswith("bt: no usable ORC table")
    assert trace.frames and trace.frames[0].symbol in ("machine_kexec", "panic")


@needs_sample
def test_bt_exits_1_when_no_trace_found_anything(monkeypatch, capsys):
    def useless(prog, unwinder=None, vmlinux_orc=False):
        trace = stack.StackTrace(0xFFFF888001000000, 1, "init", 0, True)
        trace.add_error("no return address found on the stack of task ffff888001000000")
        return [trace]

    monkeypatch.setattr(stack, "active_traces", useless)
    assert main(["bt", os.path.join(SAMPLE, "vmcore"), "-a"]) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "bt: no return address found on the stack of task ffff888001000000"


def test_bt_s_and_x_write_symbol_offsets_as_crash_does():
    trace = stack.StackTrace(0xFFFF888001000000, 1, "init", 0, True)
    trace.add_frame(0, 0xFFFFB9A740013CD8, 0xFFFFFFFFB4A5C8D1, "machine_kexec", 0x1C1, None)
    trace.add_frame(1, 0xFFFFB9A740013D30, 0xFFFFFFFFC0001234, "e1000_clean", 0x34, "e1000")
    trace.add_frame(2, 0xFFFFB9A740013D40, 0xFFFFFFFFB4A00000, "ret_from_fork_asm", 0, None)
    assert trace_lines(trace, 10) == [" #0 [ffffb9a740013cd8] machine_kexec+449 at ffffffffb4a5c8d1",
                                      " #1 [ffffb9a740013d30] e1000_clean+52 at ffffffffc0001234 [e1000]",
                                      " #2 [ffffb9a740013d40] ret_from_fork_asm at ffffffffb4a00000"]
    assert trace_lines(trace, 16)[0] == " #0 [ffffb9a740013cd8] machine_kexec+0x1c1 at ffffffffb4a5c8d1"
    assert [frame.symbol for frame in trace] == ["machine_kexec", "e1000_clean", "ret_from_fork_asm"]
    assert len(trace) == 3 and trace[1].module == "e1000"


@needs_sample
def test_bt_takes_a_pid_or_a_task_address(capsys):
    vmcore = os.path.join(SAMPLE, "vmcore")
    with pycore.open(vmcore) as prog:
        by_pid = stack.stack_trace(prog, 1)
        by_object = stack.stack_trace(prog, sched.for_each_task(prog).__next__())
        with pytest.raises(LookupError, match="no task with PID 4000000"):
            stack.stack_trace(prog, 4000000)
    assert by_pid.pid == 1 and by_object.pid == 0 and len(by_pid) > 0
    assert main(["bt", vmcore, "1"]) == 0
    via_pid = capsys.readouterr().out
    assert main(["bt", vmcore, f"{by_pid.task:x}"]) == 0
    assert capsys.readouterr().out == via_pid
    assert via_pid.startswith(f"PID: 1        TASK: {by_pid.task:x}")
    assert main(["bt", vmcore, f"{by_pid.task + 8:x}"]) == 1
    assert capsys.readouterr().err == f"pycore bt: no task at address {by_pid.task + 8:x}\n"


def test_bt_f_writes_the_words_up_to_each_frame_two_a_line():
    trace = stack.StackTrace(0xFFFF888001000000, 1, "init", 0, True)
    trace.add_frame(0, 0x1000, 0xFFFFFFFF81000010, "machine_kexec", 0x10, None)
    trace.add_frame(1, 0x1018, 0xFFFFFFFF81000020, "__crash_kexec", 0x20, None,
                    [(0x1008, 0), (0x1010, 0x2A003000), (0x1018, 0xFFFFFFFF81000020)])
    assert trace_lines(trace, full=True) == [
        " #0 [    1000] machine_kexec at ffffffff81000010",
        "    1008: 0000000000000000 000000002a003000 ",
        "    1018: ffffffff81000020 ",
        " #1 [    1018] __crash_kexec at ffffffff81000020"]
    assert trace_lines(trace) == [" #0 [    1000] machine_kexec at ffffffff81000010",
                                  " #1 [    1018] __crash_kexec at ffffffff81000020"]


@needs_sample
def test_frame_data_runs_from_the_slot_after_the_frame_before_up_to_the_return_address():
    with pycore.open(os.path.join(SAMPLE, "vmcore")) as prog:
        trace = stack.panic_trace(prog)[0]
        frames = trace.frames
        assert frames[0].data == [] and sum(bool(frame.data) for frame in frames) >= len(frames) - 2
        for before, frame in zip(frames, frames[1:]):
            if frame.data:
                assert [address for address, _ in frame.data] == list(range(before.sp + 8, frame.sp + 8, 8))
                assert frame.data[-1][1] == frame.pc
                assert all(int.from_bytes(prog.read(address, 8), "little") == value for address, value in frame.data)


# Three functions back to back, as 6.12's khungtaskd has them: watchdog.cold ends in a call to
# panic, and watchdog_timer_fn.cold starts right after that call; "padding" ends in bytes that
# only look like a call (to no function's start).
_TEXT = {"watchdog.cold": (0xFFFFFFFF81000000, 0x10), "watchdog_timer_fn.cold": (0xFFFFFFFF81000010, 0x20),
         "padding": (0xFFFFFFFF81000030, 0x10), "after_padding": (0xFFFFFFFF81000040, 0x10),
         "panic": (0xFFFFFFFF81100000, 0x100)}


def _code():
    code = bytearray(b"\x90" * 0x50)
    call_end = _TEXT["watchdog_timer_fn.cold"][0]
    code[0x0B:0x10] = b"\xe8" + (_TEXT["panic"][0] - call_end).to_bytes(4, "little", signed=True)
    code[0x3B:0x40] = b"\xe8" + (_TEXT["panic"][0] + 3 - 0xFFFFFFFF81000040).to_bytes(4, "little", signed=True)
    return bytes(code)


def _text_unwinder() -> stack.Unwinder:
    """An Unwinder over _TEXT only: its symbols and the code bytes of _code."""
    def lookup(address):
        for name, (start, size) in _TEXT.items():
            if start <= address < start + size:
                return SimpleNamespace(name=name, address=start), address - start, None
        return None

    def read(address, size):
        offset = address - _TEXT["watchdog.cold"][0]
        return _code()[offset:offset + size]

    def symbols_at(address):
        return [SimpleNamespace(name=name, address=start) for name, (start, _) in _TEXT.items() if start == address]

    unwinder = stack.Unwinder.__new__(stack.Unwinder)
    unwinder.symbols, unwinder.prog, unwinder._lookup_cache = SimpleNamespace(lookup=lookup), \
        SimpleNamespace(read=read, symbols=_table_of(symbols_at)), {}
    return unwinder


def _table_of(symbols_at):
    """A stand-in symbol table with the real crash_choice over ``symbols_at``."""
    table = SimpleNamespace(symbols_at=symbols_at)
    table.crash_choice = functools.partial(SymbolTable.crash_choice, table)
    return table


def test_a_return_address_after_a_call_that_ends_its_function_is_named_by_the_call():
    unwinder = _text_unwinder()
    returned = _TEXT["watchdog_timer_fn.cold"][0]
    assert unwinder.lookup(returned)[0].name == "watchdog_timer_fn.cold"
    symbol, offset, _ = unwinder.lookup_return(returned)
    assert (symbol.name, offset) == ("watchdog.cold", 0x10)  # the kernel's watchdog.cold+0x10/0x10
    assert unwinder.call_ending_function(returned) == _TEXT["panic"][0]
    # Inside a function both lookups agree.
    assert unwinder.lookup_return(returned + 4)[:2] == unwinder.lookup(returned + 4)[:2]


def test_bytes_that_look_like_a_call_to_no_function_start_are_not_one():
    assert _text_unwinder().call_ending_function(_TEXT["after_padding"][0]) is None
    assert _text_unwinder().call_ending_function(_TEXT["padding"][0]) is None


def test_an_address_inside_syscall_aliases_is_named_as_crash_names_it():
    """__do_sys_pause, __ia32_sys_pause and __x64_sys_pause share one address (4.17+ syscall
    wrappers); crash names a return address inside them by the last in name order, the address
    itself by the first, whatever order the symbol table lists them in."""
    start = 0xFFFFFFFF81200000
    aliases = [SimpleNamespace(name=name, address=start)
               for name in ("__do_sys_pause", "__x64_sys_pause", "__ia32_sys_pause")]
    unwinder = stack.Unwinder.__new__(stack.Unwinder)
    unwinder._lookup_cache = {}
    unwinder.symbols = SimpleNamespace(lookup=lambda address: (aliases[0], address - start, None)
                                       if start <= address < start + 0x40 else None)
    unwinder.prog = SimpleNamespace(symbols=_table_of(lambda address: aliases if address == start else []))
    symbol, offset, module = unwinder.lookup(start + 39)
    assert (symbol.name, offset, module) == ("__x64_sys_pause", 39, None)
    # The address itself is named by the first, as crash names an exception RIP there.
    aliases.reverse()
    assert unwinder.lookup(start)[0].name == "__do_sys_pause"


def test_bt_F_writes_named_words_left_justified_to_16_columns():
    """crash's format_stack_entry: a named word as %-16s (a longer name as it is), others as
    %016lx, each followed by a space."""
    trace = stack.StackTrace(0xFFFF888001000000, 1, "init", 0, True)
    data = [(0xFFFFC90000013A70, 2), (0xFFFFC90000013A78, 0xFFFF888001B4F300),
            (0xFFFFC90000013A80, 0xFFFFFFFF810A9354)]
    trace.add_frame(0, 0xFFFFC90000013A88, 0xFFFFFFFF810A9354, "write_sysrq_trigger", 36, None, data)
    names = {0xFFFF888001B4F300: "[filp]", 0xFFFFFFFF810A9354: "write_sysrq_trigger+36"}
    assert trace_lines(trace, names=names, full=True) == [
        "    ffffc90000013a70: 0000000000000002 [filp]           ",
        "    ffffc90000013a80: write_sysrq_trigger+36 ",
        " #0 [ffffc90000013a88] write_sysrq_trigger at ffffffff810a9354"]
