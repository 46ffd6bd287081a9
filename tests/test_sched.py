"""Task states, memory formatting and sys's arithmetic from the kernel's and crash 9's definitions,
for what the corpus dumps never show (stopped, traced, zombie, parked tasks; days of uptime)."""
import pytest

import pycore
from pycore.cli import crashfmt
from pycore.errors import FaultError, MissingMemberError
from pycore.kernel import sched, system
from pycore.object import Object
from pycore.kernel.sched import (EXIT_DEAD, EXIT_ZOMBIE, TASK_DEAD, TASK_IDLE, TASK_INTERRUPTIBLE, TASK_NEW,
                                 TASK_NOLOAD, TASK_PARKED, TASK_RUNNING, TASK_UNINTERRUPTIBLE, TASK_WAKEKILL,
                                 TASK_WAKING, __TASK_STOPPED, __TASK_TRACED, PF_EXITING, PF_KTHREAD,
                                 state_code)
from pycore.symbols.table import SymbolTable
from pycore.types.model import Member, int_type, pointer_type, struct_type

from conftest import synthetic, write
from fake_program import BASE, FakeProgram, Types

# (state | exit_state, crash's ST): values from include/linux/sched.h (4.14+), codes from crash's
# task_state_string(), which takes the last code whose bits are set.
STATES = [
    (0x0000, "RU"),                                   # TASK_RUNNING
    (0x0001, "IN"),                                   # TASK_INTERRUPTIBLE
    (0x0002, "UN"),                                   # TASK_UNINTERRUPTIBLE
    (0x0102, "UN"),                                   # TASK_KILLABLE = WAKEKILL | UNINTERRUPTIBLE
    (0x0402, "ID"),                                   # TASK_IDLE = UNINTERRUPTIBLE | NOLOAD
    (0x0104, "ST"),                                   # TASK_STOPPED = WAKEKILL | __TASK_STOPPED
    (0x0008, "TR"),                                   # TASK_TRACED (6.1+: __TASK_TRACED alone)
    (0x0108, "TR"),                                   # TASK_TRACED before 6.1: WAKEKILL | __TASK_TRACED
    (0x0080 | 0x0020, "ZO"),                          # exited, reaped later: TASK_DEAD | EXIT_ZOMBIE
    (0x0080 | 0x0010, "DE"),                          # TASK_DEAD | EXIT_DEAD
    (0x0080, "DE"),                                   # TASK_DEAD on its last schedule()
    (0x0200, "WA"),                                   # TASK_WAKING
    (0x0040, "PA"),                                   # TASK_PARKED
    (0x0800, "NE"),                                   # TASK_NEW
    (0x2001, "IN"),                                   # TASK_INTERRUPTIBLE | TASK_FREEZABLE (6.1+)
    (0x0100, "??"),                                   # TASK_WAKEKILL alone has no code
    (0x8000, "??"),                                   # TASK_FROZEN (6.1+), unknown to crash
]


@pytest.mark.parametrize("value,code", STATES, ids=[f"{v:#x}-{c}" for v, c in STATES])
def test_state_codes_follow_crash_task_state_string(value, code):
    assert state_code(value) == code


def test_state_constants_are_the_kernel_values():
    assert (TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE, __TASK_STOPPED, __TASK_TRACED) == (0, 1, 2, 4, 8)
    assert (EXIT_DEAD, EXIT_ZOMBIE, TASK_PARKED, TASK_DEAD, TASK_WAKEKILL) == (0x10, 0x20, 0x40, 0x80, 0x100)
    assert (TASK_WAKING, TASK_NOLOAD, TASK_NEW) == (0x200, 0x400, 0x800)
    assert TASK_IDLE == TASK_UNINTERRUPTIBLE | TASK_NOLOAD


@pytest.mark.parametrize("seconds,text", [
    (0, "00:00:00"),
    (7, "00:00:07"),
    (227, "00:03:47"),
    (3600 * 23 + 59 * 60 + 59, "23:59:59"),
    (86400, "1 days, 00:00:00"),
    (86400 + 2 * 3600 + 3 * 60 + 4, "1 days, 02:03:04"),
    (400 * 86400 + 5, "400 days, 00:00:05"),
])
def test_uptime_is_crash_convert_time(seconds, text):
    assert crashfmt.uptime_text(seconds) == text


@pytest.mark.parametrize("fixed,text", [
    # LOAD_INT/LOAD_FRAC after adding FIXED_1/200 (= 10): 2048 is 1.00
    (0, "0.00"),
    (2048, "1.00"),
    (164, "0.08"),          # 164 + 10 = 174; 174 * 100 >> 11 = 8
    (655, "0.32"),          # 665 * 100 >> 11 = 32
    (9, "0.00"),            # 19 * 100 >> 11 = 0
    (11, "0.01"),           # 21 * 100 >> 11 = 1: the rounding step
    (2048 * 3 + 2038, "4.00"),   # 0.995 rounds up into the integer part
])
def test_load_average_rounds_like_the_kernel(fixed, text):
    assert crashfmt.load_text(fixed) == text


@pytest.mark.parametrize("total,text", [
    ((1 << 30) - (512 << 10), "1 GB"),     # within 64 MiB of the next GiB: rounded up
    ((1 << 30) - (64 << 20), "1 GB"),
    ((1 << 30) - (65 << 20), "959 MB"),
    (65408 * 4096, "255.5 MB"),
    ((3 << 30) + (512 << 20), "3.5 GB"),
    (512 << 10, "512 KB"),
    (0, "0"),
])
def test_memory_size_is_crash_get_memory_size(total, text):
    assert crashfmt.memory_size_text(total) == text


@pytest.mark.parametrize("percent,text", [(0.0, "0.0"), (31.24, "31.2"), (0.66, "0.7"), (0.25, "0.2"),
                                          (100.0, "100.0")])
def test_percent_is_c_printf_one_decimal(percent, text):
    assert crashfmt.percent_text(percent) == text


def test_date_is_crash_ctime_tz_in_utc():
    assert crashfmt.ctime_utc(1795655846) == "Thu Nov 26 01:17:26 UTC 2026"
    assert crashfmt.ctime_utc(0) == "Thu Jan  1 00:00:00 UTC 1970"


def test_panic_line_takes_the_first_matching_group():
    lines = ["sysrq: Trigger a crash", "Kernel panic - not syncing: sysrq triggered crash", "---[ end Kernel panic"]
    assert system.panic_message(None, lines) == "Kernel panic - not syncing: sysrq triggered crash"
    oops = ["BUG: kernel NULL pointer dereference, address: 0000000000000000", "Oops: 0000 [#1] PREEMPT SMP NOPTI",
            "Kernel panic - not syncing: Fatal exception"]
    assert system.panic_message(None, oops) == "Oops: 0000 [#1] PREEMPT SMP NOPTI"
    assert crashfmt.panic_text("Oops: 0000 [#1] PREEMPT SMP NOPTI") == \
        '"Oops: 0000 [#1] PREEMPT SMP NOPTI" (check log for details)'
    assert system.panic_message(None, ["nothing here"]) is None
    assert crashfmt.panic_text(None) == '""'


# -- a struct rq of another layout (issue 10 finding 6) ----------------------------------
RQ_PFN = 0x393


@pytest.fixture
def altered_rq(tmp_path, native_path):
    """A dump whose ``struct rq`` (as its types describe it) has ``curr`` but neither ``rt``, ``cfs``
    nor ``idle``: runqueues at one page, __per_cpu_offset[] of zeros beside it."""
    machine = synthetic.make_machine(seed=11)
    tables = synthetic.add_page_tables(machine, levels=4)
    page_offset = tables.mappings[0][0]
    runqueues = page_offset + RQ_PFN * synthetic.PAGE_SIZE
    machine.pages[RQ_PFN] = bytes(synthetic.PAGE_SIZE)
    machine.excluded.discard(RQ_PFN)
    path = write(tmp_path, "rq.vmcore", synthetic.build_kdump(machine, "zlib")[0])
    prog = pycore.open(path, native=native_path)
    task = struct_type("task_struct", 16, [Member("pid", int_type("int", 4, True))])
    rq = struct_type("rq", 64, [Member("curr", pointer_type(task))])
    prog.types = Types({("struct", "rq"): rq, ("struct", "task_struct"): task})
    prog.symbols = SymbolTable("test symbols", ["runqueues", "__per_cpu_offset"], [runqueues, runqueues + 2048],
                               [64, 64], ["D", "D"])
    yield prog
    prog.close()


def test_runqueue_of_another_layout_names_the_missing_member(altered_rq):
    with pytest.raises(MissingMemberError) as error:
        sched.runqueue(altered_rq, 0)
    assert (error.value.type_name, error.value.member) == ("struct rq", "rt")
    assert str(error.value) == "struct rq has no member 'rt'"


def test_idle_task_of_another_layout_is_not_replaced_by_init_task(altered_rq):
    with pytest.raises(MissingMemberError) as error:
        sched.idle_task(altered_rq, 0)
    assert error.value.member == "idle"


def test_active_tasks_reads_curr_and_a_missing_curr_is_an_error_not_an_empty_map(altered_rq):
    active = sched.active_tasks(altered_rq)
    assert active and set(active.values()) == {0}
    without_curr = struct_type("rq", 64, [Member("nr_running", int_type("unsigned int", 4, False))])
    altered_rq.types.types[("struct", "rq")] = without_curr
    with pytest.raises(MissingMemberError) as error:
        sched.active_tasks(altered_rq)
    assert error.value.member == "curr"


# -- crash's is_kernel_thread (task.c) on tasks no corpus dump shows -------------------------
INIT_MM = BASE + 0x1000
USER_MM = BASE + 0x2000


class _TaskMemory(FakeProgram):
    """A task_struct at BASE with the members crash_kernel_thread reads, init_mm at INIT_MM."""

    def __init__(self):
        super().__init__()
        uint = int_type("unsigned int", 4, False)
        mm_struct = struct_type("mm_struct", 8, [Member("pgd", int_type("unsigned long", 8, False), 0)])
        self.types.types[("struct", "mm_struct")] = mm_struct
        self.types.types[("struct", "task_struct")] = struct_type("task_struct", 24, [
            Member("__state", uint, 0), Member("exit_state", int_type("int", 4, True), 32),
            Member("flags", uint, 64), Member("pid", int_type("int", 4, True), 96),
            Member("mm", pointer_type(mm_struct), 128)])

    def __getitem__(self, name):
        assert name == "init_mm"
        return Object(self, "struct mm_struct", address=INIT_MM)


@pytest.mark.parametrize("pid,state,exit_state,flags,mm,kernel_thread", [
    (0, TASK_RUNNING, 0, PF_KTHREAD, 0, True),                           # an idle task
    (2, TASK_INTERRUPTIBLE, 0, PF_KTHREAD, 0, True),                     # kthreadd
    (40, TASK_DEAD, EXIT_ZOMBIE, PF_EXITING, 0, False),                  # a zombie: its mm is gone
    (41, TASK_DEAD, EXIT_DEAD, PF_EXITING, 0, False),                    # being reaped
    (42, TASK_UNINTERRUPTIBLE, 0, PF_KTHREAD | PF_EXITING, 0, False),    # a kernel thread exiting
    (43, TASK_RUNNING, 0, 0, 0, False),                                  # state and flags both 0
    (44, TASK_INTERRUPTIBLE, 0, 0, USER_MM, False),                      # a user task
    (45, TASK_INTERRUPTIBLE, 0, PF_KTHREAD, USER_MM, False),             # kthread_use_mm()
    (46, TASK_INTERRUPTIBLE, 0, 0, INIT_MM, True),                       # before 2.6: on init_mm
])
def test_crash_kernel_thread_is_crash_is_kernel_thread(pid, state, exit_state, flags, mm, kernel_thread):
    prog = _TaskMemory()
    prog.put(BASE, state | exit_state << 32, flags | pid << 32, mm)
    task = Object(prog, "struct task_struct", address=BASE)
    assert sched.crash_kernel_thread(task) is kernel_thread


# -- task lists with pages left out (makedumpfile 1.7.8's -d 31 on 7.1+ drops slab tail pages) ------
TASK_SIZE = 0x100
SIGNAL = BASE - 0x1000  # below the test memory: a signal_struct whose page the dump left out


class _TaskList(FakeProgram):
    """task_structs with ``tasks`` (at 0), ``pid`` (at 16), ``thread_node`` (at 32) and ``signal``
    (at 48), init_task at BASE; a task at an address outside the test memory cannot be read."""

    def __init__(self):
        super().__init__(symbols={"init_task": BASE})
        list_head = self.types.types[("struct", "list_head")]
        signal = struct_type("signal_struct", 16, [Member("thread_head", list_head, 0)])
        self.types.types[("struct", "signal_struct")] = signal
        self.types.types[("struct", "task_struct")] = struct_type("task_struct", TASK_SIZE, [
            Member("tasks", list_head, 0), Member("pid", int_type("int", 4, True), 128),
            Member("thread_node", list_head, 256), Member("signal", pointer_type(signal), 384)])

    def ring(self, head: int, nodes: list) -> None:
        """Link the list_heads at ``nodes`` on the ring at ``head``, in that order (only the
        readable ones are written)."""
        ring = [head] + nodes
        for index, node in enumerate(ring):
            if BASE <= node < BASE + len(self.memory):
                self.put(node, ring[(index + 1) % len(ring)], ring[index - 1])


def _task_at(index: int) -> int:
    return BASE + index * TASK_SIZE


def _pids(prog, tasks) -> list:
    return [int(Object(prog, "struct task_struct *", int(task)).pid) for task in tasks]


def test_process_list_read_forward_then_backward_around_an_unreadable_task():
    """init_task, 1, 2, [a task the dump lost], 4: the forward walk stops before the lost task, the
    backward one gives 4, and the fault says why."""
    prog = _TaskList()
    lost = BASE - 0x4000
    tasks = [_task_at(1), _task_at(2), lost, _task_at(4)]
    prog.ring(BASE, tasks)
    for pid, task in enumerate(tasks, 1):
        if task != lost:
            prog.put(task + 16, pid)
    leaders, error = sched.readable_processes(prog)
    assert _pids(prog, leaders) == [0, 1, 2, 4]
    assert isinstance(error, FaultError) and error.address == lost


def test_process_list_whole_is_read_forward_only():
    prog = _TaskList()
    tasks = [_task_at(1), _task_at(2), _task_at(3)]
    prog.ring(BASE, tasks)
    for pid, task in enumerate(tasks, 1):
        prog.put(task + 16, pid)
    leaders, error = sched.readable_processes(prog)
    assert (_pids(prog, leaders), error) == ([0, 1, 2, 3], None)
    assert _pids(prog, sched.for_each_process(prog)) == [0, 1, 2, 3]


@pytest.mark.parametrize("start", [1, 2, 3])
def test_threads_are_read_around_an_unreadable_signal_struct(start):
    """The ring through signal->thread_head is whole through the tasks: from any thread of the group,
    the threads come in the ring's order from the head, the head itself never read."""
    prog = _TaskList()
    threads = [_task_at(i) for i in (1, 2, 3)]
    prog.ring(SIGNAL, [task + 32 for task in threads])
    for pid, task in enumerate(threads, 1):
        prog.put(task + 16, pid)
        prog.put(task + 48, SIGNAL)
    task = Object(prog, "struct task_struct *", _task_at(start))
    assert _pids(prog, sched.for_each_thread(task)) == [1, 2, 3]


def test_a_lost_thread_behind_an_unreadable_signal_struct_raises_its_fault():
    prog = _TaskList()
    lost = BASE - 0x4000
    threads = [_task_at(1), lost, _task_at(3)]
    prog.ring(SIGNAL, [task + 32 for task in threads])
    for pid, task in enumerate(threads, 1):
        if task != lost:
            prog.put(task + 16, pid)
            prog.put(task + 48, SIGNAL)
    with pytest.raises(FaultError) as error:
        list(sched.for_each_thread(Object(prog, "struct task_struct *", _task_at(1))))
    assert error.value.address == lost + 32
