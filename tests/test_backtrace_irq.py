"""The walk through an IRQ stack back to the interrupted task, on a synthetic stack laid out as a
6.12 kernel leaves it when the reboot IPI stops an idle CPU (issue 12: QEMU's capture of a panic):
crash shows the IRQ stack's frames, then asm_sysvec_reboot with the registers it saved
([exception RIP: pv_native_safe_halt+15]), then the idle loop that was interrupted."""
import struct
from types import SimpleNamespace

from pycore.arch import orc
from pycore.cli.bt import trace_lines
from pycore.errors import FaultError
from pycore.kernel import backtrace, stack
from pycore.kernel.unwind import IRQ_STACK_SIZE, THREAD_SIZE

FUNCTIONS = {  # name: start; each function is 0x100 bytes long
    "stop_this_cpu": 0xFFFFFFFF81200000, "__sysvec_reboot": 0xFFFFFFFF81100000,
    "sysvec_reboot": 0xFFFFFFFF81A00000, "asm_sysvec_reboot": 0xFFFFFFFF81E00000,
    "pv_native_safe_halt": 0xFFFFFFFF81300000, "default_idle": 0xFFFFFFFF81310000,
    "default_idle_call": 0xFFFFFFFF81320000, "do_idle": 0xFFFFFFFF81330000,
}
CALLS = {"default_idle": "pv_native_safe_halt", "default_idle_call": "default_idle", "do_idle": "default_idle_call"}
IRQ_BASE, TASK_STACK, TASK = 0xFFFFC90000100000, 0xFFFFC90000010000, 0xFFFF888001000000


class Memory:
    """A prog whose memory is the two stacks."""

    def __init__(self):
        self.words = {}

    def put(self, address, value):
        self.words[address] = value

    def read(self, address, size):
        if not (IRQ_BASE <= address < IRQ_BASE + IRQ_STACK_SIZE or TASK_STACK <= address < TASK_STACK + THREAD_SIZE):
            raise FaultError("not in the test memory", address=address)
        return b"".join(struct.pack("<Q", self.words.get(address + i, 0)) for i in range(0, size, 8))


class Unwinder(stack.Unwinder):
    """Only what the walk reads: symbols of FUNCTIONS, no ORC (frame sizes 0), one CPU's IRQ stack."""

    def __init__(self, prog):
        self.prog, self.problems, self.init = prog, [], (0, 0)
        self.symbols = SimpleNamespace(module_of=lambda address: None)
        self.new_exceptions, self.qemu, self.stack_padding, self.user_top = True, True, 0, 1 << 47
        self.cpus, self.irq_stacks, self.exception_stacks = {0: {}}, {0: IRQ_BASE}, {0: []}
        self.active, self.panic_task = {0: TASK}, None
        self._read_cache = {}

    def lookup(self, address):
        for name, start in FUNCTIONS.items():
            if start <= address < start + 0x100:
                return SimpleNamespace(name=name, address=start), address - start, None
        return None

    def is_kernel_text(self, address):
        return self.lookup(address) is not None

    def orc_find(self, address):
        return None

    def counted_framesize(self, start, text, exception):
        return 0

    def function_called_by(self, address):
        return CALLS.get(self.name_of(address))


def build():
    memory = Memory()
    irq_top, task_top = IRQ_BASE + IRQ_STACK_SIZE, TASK_STACK + THREAD_SIZE
    # The interrupted idle loop on the task stack: do_idle -> default_idle_call -> default_idle,
    # whose call into pv_native_safe_halt was interrupted by the IPI.
    memory.put(task_top - 0x20, FUNCTIONS["do_idle"] + 0x40)
    memory.put(task_top - 0x40, FUNCTIONS["default_idle_call"] + 0x30)
    memory.put(task_top - 0x60, FUNCTIONS["default_idle"] + 0x15)
    eframe = task_top - 0x60 - 0x10 - orc.PT_REGS_SIZE
    regs = dict.fromkeys(orc.PT_REGS_OFFSETS, 0)
    regs.update(rip=FUNCTIONS["pv_native_safe_halt"] + 15, cs=0x10, ss=0x18, eflags=0x246, rsp=task_top - 0x68,
                rbp=0x1234, orig_rax=0xFFFFFFFFFFFFFFFF)
    for name, offset in orc.PT_REGS_OFFSETS.items():
        memory.put(eframe + offset, regs[name])
    memory.put(eframe - 8, FUNCTIONS["asm_sysvec_reboot"] + 0x1A)   # call sysvec_reboot
    saved_sp = eframe - 0x30                                         # inside sysvec_reboot's frame
    # The IRQ stack: the saved process stack pointer at the top, the return into sysvec_reboot
    # below it, then __sysvec_reboot and stop_this_cpu, which never returns.
    memory.put(irq_top - 8, saved_sp)
    memory.put(irq_top - 16, FUNCTIONS["sysvec_reboot"] + 0x45)
    memory.put(irq_top - 0x40, FUNCTIONS["__sysvec_reboot"] + 0x2A)
    memory.put(irq_top - 0x80, FUNCTIONS["stop_this_cpu"] + 0x77)
    return memory, eframe, regs


def test_idle_cpu_stopped_by_the_reboot_ipi_shows_irq_stack_entry_code_and_saved_registers():
    memory, eframe, regs = build()
    unwinder = Unwinder(memory)
    trace = stack.StackTrace(TASK, 0, "swapper/0", 0, True)
    info = {"task": TASK, "pid": 0, "comm": "swapper/0", "cpu": 0, "stack": TASK_STACK, "sp": 0, "mm": 0,
            "active": True}
    backtrace.walk(unwinder, info, trace)
    irq_top = IRQ_BASE + IRQ_STACK_SIZE
    lines = trace_lines(trace)
    assert lines[:4] == [f" #0 [{irq_top - 0x80:x}] stop_this_cpu at {FUNCTIONS['stop_this_cpu'] + 0x77:x}",
                         f" #1 [{irq_top - 0x40:x}] __sysvec_reboot at {FUNCTIONS['__sysvec_reboot'] + 0x2A:x}",
                         f" #2 [{irq_top - 16:x}] sysvec_reboot at {FUNCTIONS['sysvec_reboot'] + 0x45:x}",
                         "--- <IRQ stack> ---"]
    assert lines[4] == f" #3 [{eframe:x}] asm_sysvec_reboot at {FUNCTIONS['asm_sysvec_reboot'] + 0x1A:x}"
    assert lines[5] == "    [exception RIP: pv_native_safe_halt+15]"
    assert trace.items[5].regs == regs
    # From the caller of the interrupted function on; nothing of the IRQ stack is read twice.
    assert [frame.symbol for frame in trace.frames[4:]] == ["default_idle", "default_idle_call", "do_idle"]
    assert not trace.errors


def test_registers_that_do_not_verify_are_not_shown_and_the_walk_goes_on():
    memory, eframe, _ = build()
    memory.put(eframe + orc.PT_REGS_OFFSETS["eflags"], 0xFFFFFFFF)   # reserved RFLAGS bits set: no pt_regs
    trace = stack.StackTrace(TASK, 0, "swapper/0", 0, True)
    info = {"task": TASK, "pid": 0, "comm": "swapper/0", "cpu": 0, "stack": TASK_STACK, "sp": 0, "mm": 0,
            "active": True}
    backtrace.walk(Unwinder(memory), info, trace)
    assert not any(isinstance(item, stack.ExceptionFrame) for item in trace.items)
    # The process stack is scanned from the saved stack pointer instead, as crash would.
    assert [frame.symbol for frame in trace.frames][-3:] == ["default_idle", "default_idle_call", "do_idle"]


def test_a_walk_that_stops_before_the_entry_code_says_so_in_a_bt_line():
    """The synthetic idle task's stack ends at do_idle, above which no caller is on the stack: no
    entry point (ret_from_fork, the startup code, a system call's entry) ends it, and bt says so."""
    memory, _, _ = build()
    trace = stack.StackTrace(TASK, 0, "swapper/0", 0, True)
    info = {"task": TASK, "pid": 0, "comm": "swapper/0", "cpu": 0, "stack": TASK_STACK, "sp": 0, "mm": 0,
            "active": True}
    backtrace.walk(Unwinder(memory), info, trace)
    stack.say_where_it_stops(trace)
    task_top = TASK_STACK + THREAD_SIZE
    assert trace_lines(trace)[-1] == (f"bt: the trace ends at do_idle ({task_top - 0x20:x}) before the task's "
                                      "entry code: no caller found on the stack")
    # Once said, it is not said twice; a trace that reaches an entry point says nothing.
    stack.say_where_it_stops(trace)
    assert len(trace.errors) == 1
    trace.items[-1] = stack.StackFrame(9, task_top - 8, FUNCTIONS["do_idle"], "ret_from_fork", 0x22)
    stack.say_where_it_stops(trace)
    assert not trace.errors
