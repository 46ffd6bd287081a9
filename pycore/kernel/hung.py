"""What a sleeping task waits for, read from its kernel stack: the blocking function among the frames
the kernel's own ORC walk finds (what /proc/PID/stack shows), the waiter record the lock code left on
that stack (it names the lock), the object the lock belongs to, the workqueue and CPU a flush_work()
waits on, and khungtaskd's settings.  x86_64 kernels 5.10 to 7.2 (percpu_rw_semaphore wait queues
5.8+, completions on swait 5.7+).
"""
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

from ..errors import PycoreError
from ..object import Object
from . import sched
from .fs import for_each_super_block, mount_of
from .stack import reliable_trace
from .unwind import KERNEL_SPACE, StackBuffer, Unwinder
from .system import kernel_hz
from .variables import read_kernel_variable

__all__ = ["Wait", "HungTaskSettings", "SB_FREEZE_LEVELS", "BLOCKING_FUNCTIONS", "blocking_function",
           "task_wait", "hung_task_settings", "hung_task_blocked_secs", "super_block_of_writers",
           "for_each_super_block", "mount_of",  # fs's, kept here for analysis/hang.py
           "sleeping_since_ns", "FlushTarget", "flush_work_target"]

# The lock and wait functions a blocked task's stack names, by kind (kernel/locking/, sched/,
# mm/filemap.c, rcu/); the write flag where the function says it (None: the record tells).  A task's
# wait is the outermost of the run of these functions that starts at its innermost one, so that
# synchronize_rcu wins over the completion it waits on and a folio lock over io_schedule.
BLOCKING_FUNCTIONS: Dict[str, Tuple[str, Optional[bool]]] = {
    **{name: ("mutex", None) for name in (
        "__mutex_lock", "__mutex_lock_common", "__mutex_lock_slowpath", "__mutex_lock_killable_slowpath",
        "__mutex_lock_interruptible_slowpath", "mutex_lock", "mutex_lock_killable", "mutex_lock_interruptible",
        "mutex_lock_nested", "mutex_lock_io")},
    **{name: ("rw_semaphore", True) for name in (
        "rwsem_down_write_slowpath", "rwsem_down_write_failed", "rwsem_down_write_failed_killable",
        "call_rwsem_down_write_failed", "down_write", "down_write_killable", "down_write_nested")},
    **{name: ("rw_semaphore", False) for name in (
        "rwsem_down_read_slowpath", "rwsem_down_read_failed", "rwsem_down_read_failed_killable",
        "call_rwsem_down_read_failed", "down_read", "down_read_killable", "down_read_interruptible")},
    "percpu_rwsem_wait": ("percpu_rw_semaphore", None),
    "__percpu_down_read": ("percpu_rw_semaphore", False),
    "percpu_down_read": ("percpu_rw_semaphore", False),
    "percpu_down_write": ("percpu_rw_semaphore", True),
    **{name: ("semaphore", None) for name in (
        "__down", "__down_common", "__down_killable", "__down_interruptible", "__down_timeout", "down",
        "down_killable", "down_interruptible", "down_timeout")},
    **{name: ("completion", None) for name in (
        "__wait_for_common", "wait_for_common", "wait_for_common_io", "wait_for_completion",
        "wait_for_completion_io", "wait_for_completion_killable", "wait_for_completion_interruptible",
        "wait_for_completion_timeout", "wait_for_completion_io_timeout", "wait_for_completion_state")},
    **{name: ("folio", None) for name in (
        "folio_wait_bit_common", "folio_wait_bit", "folio_wait_bit_killable", "__folio_lock",
        "__folio_lock_killable", "folio_wait_writeback", "wait_on_page_bit_common", "__lock_page",
        "wait_on_page_writeback")},
    **{name: ("bit", None) for name in (
        "bit_wait", "bit_wait_io", "__wait_on_bit", "__wait_on_bit_lock", "out_of_line_wait_on_bit",
        "out_of_line_wait_on_bit_lock", "__wait_on_buffer", "__lock_buffer")},
    # synchronize_rcu_normal (6.9+) waits on its own rcu_synchronize's completion, and
    # synchronize_rcu tail-calls it: the frame left is synchronize_rcu_normal's.
    **{name: ("rcu", None) for name in (
        "synchronize_rcu", "synchronize_rcu_normal", "synchronize_rcu_expedited", "__wait_rcu_gp",
        "synchronize_rcu_tasks", "rcu_barrier", "synchronize_srcu", "__synchronize_srcu")},
    # A task waiting for its bio: submit_bio_wait's completion (waited for in bio_await, 7.x), or
    # the direct I/O loops' bi_private (blk_io_schedule, 5.10+); io_schedule alone says only that
    # the sleep counts as I/O.
    **{name: ("io", None) for name in ("io_schedule", "io_schedule_timeout", "blk_io_schedule", "submit_bio_wait",
                                       "bio_await")},
}
# The scheduler's own frames at the top of every sleeping stack: not what the task waits for.
SCHEDULER_FUNCTIONS = frozenset((
    "__schedule", "schedule", "schedule_preempt_disabled", "schedule_timeout", "__schedule_timeout",
    "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock", "preempt_schedule_common", "__cond_resched",
    "rcuwait_wait_event"))

# The waiter record each lock kind puts on the sleeping task's stack: (record type, its list_head
# member, its task member, the lock type, the lock's list head member).  Wait queues and the
# percpu_rw_semaphore's are wait_queue_entry records (``private`` is the task).
_LIST_RECORDS = {
    "mutex": ("struct mutex_waiter", "list", "task", "struct mutex", "wait_list"),
    "rw_semaphore": ("struct rwsem_waiter", "list", "task", "struct rw_semaphore", "wait_list"),
    "semaphore": ("struct semaphore_waiter", "list", "task", "struct semaphore", "wait_list"),
    "completion": ("struct swait_queue", "task_list", "task", "struct swait_queue_head", "task_list"),
    "rcu": ("struct swait_queue", "task_list", "task", "struct swait_queue_head", "task_list"),
}
_QUEUE_RECORD = ("struct wait_queue_entry", "entry", "private", "struct wait_queue_head", "head")

# The superblock's freeze levels (include/linux/fs.h enum; s_writers.rw_sem[level - 1]), what the
# holder of each level keeps out, and the helper a task waiting there called.
SB_FREEZE_LEVELS = {0: "SB_UNFROZEN", 1: "SB_FREEZE_WRITE", 2: "SB_FREEZE_PAGEFAULT", 3: "SB_FREEZE_FS",
                    4: "SB_FREEZE_COMPLETE"}
SB_FREEZE_CALLS = {1: "sb_start_write", 2: "sb_start_pagefault", 3: "sb_start_intwrite"}

# flush_work() queues a barrier work (struct wq_barrier, kernel/workqueue.c) behind the work it
# flushes and sleeps on the barrier's completion: a worker of the pool the barrier is queued on must
# run it.  While WORK_STRUCT_PWQ is set, work_struct.data is the pool_workqueue pointer above the
# flag and color bits (WORK_STRUCT_PWQ_SHIFT: 8 without CONFIG_DEBUG_OBJECTS_WORK, 4.x to 7.x).
FLUSH_FUNCTIONS = frozenset(("flush_work", "__flush_work"))
WORK_STRUCT_PWQ = 1 << 2
WORK_STRUCT_PWQ_SHIFT = 8

# Bounds on walks of lists found through stack words, which may be stale.
_WAIT_LIST_LIMIT = 4096


@dataclass
class Wait:
    """What a sleeping task waits for.  ``kind``: ``mutex``, ``rw_semaphore``,
    ``percpu_rw_semaphore``, ``semaphore``, ``completion``, ``folio``, ``bit``, ``rcu``, ``io``, or
    ``sleep`` (no lock function on the stack); ``function`` the lock or wait function found,
    ``caller`` the first frame outside lock and scheduler code (where the task asked for it);
    ``lock`` the lock's (or wait queue head's, completion's) address when the waiter record on the
    stack gave it away, ``queue`` the list head it is queued on; ``write`` whether it waits to
    write (rwsem, percpu rwsem); ``wake_function`` the wait queue entry's; ``frames`` the
    function names innermost first; ``problems`` what could not be read; for a folio wait the
    folio (or page, before 5.16) its wait_page_queue names and the bit it waits on
    (``folio_bit``: ``locked``, ``writeback``, else the page flag's name or number)."""

    kind: str
    function: Optional[str]
    caller: Optional[str]
    frames: List[str]
    lock: Optional[int] = None
    queue: Optional[int] = None
    write: Optional[bool] = None
    wake_function: Optional[str] = None
    problems: List[str] = field(default_factory=list)
    folio: Optional[int] = None
    folio_bit: Optional[str] = None


@dataclass
class HungTaskSettings:
    """khungtaskd's sysctls (kernel/hung_task.c): ``timeout_secs`` (0: the check is off),
    ``panic`` (hung_task_panic), ``check_interval_secs`` (0: the timeout); None where the kernel
    has no such variable (no CONFIG_DETECT_HUNG_TASK) or the dump lacks it."""

    timeout_secs: Optional[int]
    panic: Optional[int]
    check_interval_secs: Optional[int]


def _base_name(symbol: str) -> str:
    """A function's source name: a compiler clone (``__mutex_lock.constprop.0``) by its origin's."""
    return symbol.split(".", 1)[0]


def blocking_function(frames: List[str]) -> Tuple[str, Optional[str], Optional[str], Optional[bool]]:
    """``(kind, function, caller, write)`` of a sleeping task whose frames (function names,
    innermost first) are ``frames``: the outermost of the run of BLOCKING_FUNCTIONS that starts at
    the innermost one past the scheduler's frames; ``sleep``, the first frame past the scheduler's
    and its caller when no lock function is there."""
    names = [_base_name(name) for name in frames]
    start = 0
    while start < len(names) and names[start] in SCHEDULER_FUNCTIONS:
        start += 1
    first = next((i for i in range(start, len(names)) if names[i] in BLOCKING_FUNCTIONS), None)
    if first is None:
        function = names[start] if start < len(names) else None
        caller = names[start + 1] if start + 1 < len(names) else None
        return "sleep", function, caller, None
    end = first
    while end + 1 < len(names) and (names[end + 1] in BLOCKING_FUNCTIONS or names[end + 1] in SCHEDULER_FUNCTIONS):
        end += 1
    while names[end] not in BLOCKING_FUNCTIONS:
        end -= 1
    kind, write = BLOCKING_FUNCTIONS[names[end]]
    if kind == "percpu_rw_semaphore" and write is None:
        write = next((BLOCKING_FUNCTIONS[n][1] for n in names[first:end + 1] if BLOCKING_FUNCTIONS[n][1] is not None),
                     None)
    caller = names[end + 1] if end + 1 < len(names) else None
    return kind, names[end], caller, write


class _Stack:
    """A task's kernel stack read once, and the words around it read through the unwinder's cache."""

    def __init__(self, prog, unwinder: Unwinder, task: int, base: int, sp: int):
        self.prog, self.unwinder, self.task = prog, unwinder, task
        self.buffer = StackBuffer(prog, base, sched.thread_size(prog))
        self.sp = max(sp, base)
        self.stack_offset = prog.type("struct task_struct").offsetof("stack")

    def slots_holding(self, value: int) -> Iterator[int]:
        for address in range(self.sp & ~7, self.buffer.top, 8):
            if self.buffer.word(address) == value:
                yield address

    def word(self, address: int) -> Optional[int]:
        if address in self.buffer:
            return self.buffer.word(address)
        return self.unwinder.read_word(address)

    def linked(self, node: int) -> bool:
        """Whether the list_head at ``node`` sits in a consistent ring position (next->prev and
        prev->next come back to it)."""
        after, before = self.word(node), self.word(node + 8)
        return bool(after and before and self.word(after + 8) == node and self.word(before) == node)

    def on_own_stack(self, node: int, task_offset: int) -> bool:
        """Whether the list node at ``node`` belongs to a waiter record on the stack of the task
        the record names (``task_offset`` from the node): a waiter, not the lock's list head."""
        task = self.word(node + task_offset)
        if not task:
            return False
        base = self.word(task + self.stack_offset)
        return bool(base) and base <= node < base + self.buffer.top - self.buffer.base

    def ring(self, node: int) -> List[int]:
        """The nodes of the list ring through ``node``, ``node`` first."""
        nodes = [node]
        current = self.word(node)
        while current and current != node and len(nodes) < _WAIT_LIST_LIMIT:
            nodes.append(current)
            current = self.word(current)
        return nodes

    def head_of(self, node: int, is_waiter) -> Optional[int]:
        """The one node of the ring through ``node`` that is no waiter record: the list head."""
        current = self.word(node)
        for _ in range(_WAIT_LIST_LIMIT):
            if current is None or current == node:
                return None
            if not is_waiter(current):
                return current
            current = self.word(current)
        return None


def _lock_pointing_at(stack: _Stack, first_offset: int, ring: List[int], list_offset: int) -> Optional[int]:
    """7.x locks keep no list head, only ``first_waiter``: the lock is a pointer the stack still
    holds (an argument or callee-saved register the lock code spilled) whose ``first_waiter``
    is one of the waiters of the ring."""
    waiters = {node - list_offset for node in ring}
    seen = set()
    for address in range(stack.sp & ~7, stack.buffer.top, 8):
        value = stack.buffer.word(address)
        if value < KERNEL_SPACE or value in seen:
            continue
        seen.add(value)
        if stack.word(value + first_offset) in waiters:
            return value
    return None


def _find_record(stack: _Stack, kind: str) -> Tuple[Optional[int], Optional[int], Optional[int], Optional[int]]:
    """``(list head, lock address, wake function address, record address)`` from the waiter
    record of ``kind`` on ``stack`` whose task is the stack's own, or Nones when none is linked
    on a list."""
    prog = stack.prog
    record = _LIST_RECORDS.get(kind, _QUEUE_RECORD)
    records = [record] if record is _QUEUE_RECORD else [record, _QUEUE_RECORD]
    for record_type, list_member, task_member, lock_type, head_member in records:
        rtype = prog.type(record_type)
        list_offset, task_offset = rtype.offsetof(list_member), rtype.offsetof(task_member)
        queue = record_type == "struct wait_queue_entry"
        func_offset = rtype.offsetof("func") - list_offset if queue else None
        first_waiter = prog.type(lock_type).has_member("first_waiter")
        for slot in stack.slots_holding(stack.task):
            node = slot - task_offset + list_offset
            if not stack.linked(node):
                continue
            wake = None
            if queue:
                wake = stack.word(node + func_offset)
                if not wake or not stack.unwinder.is_kernel_text(wake):
                    continue
            if first_waiter:
                lock = _lock_pointing_at(stack, prog.type(lock_type).offsetof("first_waiter"), stack.ring(node),
                                         list_offset)
                if lock is not None:
                    return None, lock, wake, node - list_offset
                continue
            if queue:
                def is_waiter(n: int, offset: int = func_offset) -> bool:
                    function = stack.word(n + offset)
                    return bool(function) and stack.unwinder.is_kernel_text(function)
            else:
                def is_waiter(n: int, offset: int = task_offset - list_offset) -> bool:
                    return stack.on_own_stack(n, offset)
            head = stack.head_of(node, is_waiter)
            if head is None:
                continue
            lock = head - prog.type(lock_type).offsetof(head_member)
            if kind in ("completion", "rcu") and record_type == "struct swait_queue":
                lock -= prog.type("struct completion").offsetof("wait")
            return head, lock, wake, node - list_offset
    return None, None, None, None


def task_wait(prog, task: Object, unwinder: Optional[Unwinder] = None) -> Wait:
    """What ``task`` (a ``struct task_struct *`` that is not running) waits for: the blocking
    function among its frames (:func:`blocking_function` over :func:`reliable_trace`) and, when
    the waiter record the lock code put on its stack is found still linked, the lock.  The
    lock address is for a percpu_rw_semaphore the semaphore (its ``waiters`` queue less its
    offset), for a folio wait the page wait queue head, for a generic wait the
    ``wait_queue_head``."""
    unwinder = unwinder or Unwinder(prog)
    trace = reliable_trace(prog, int(task), unwinder)
    frames = [frame.symbol or "?" for frame in trace.frames]
    kind, function, caller, write = blocking_function(frames)
    wait = Wait(kind, function, caller, frames, write=write, problems=list(trace.errors))
    if kind in ("sleep", "io"):
        return wait
    try:
        stack = _Stack(prog, unwinder, int(task), int(task.stack), int(task.thread.sp))
        queue, lock, wake, record = _find_record(stack, kind)
    except PycoreError as error:
        wait.problems.append(f"the waiter record could not be read: {error}")
        return wait
    wait.queue, wait.lock = queue, lock
    if kind == "folio" and record is not None:
        try:
            wait.folio, wait.folio_bit = _waited_folio(prog, record)
        except PycoreError as error:
            wait.problems.append(f"the folio of its wait_page_queue could not be read: {error}")
    if lock is None and kind == "percpu_rw_semaphore" and write:
        # percpu_down_write waits for the readers in the semaphore's rcuwait: no record on the
        # stack, but the semaphore names the task.
        wait.lock = _freeze_writer_lock(prog, int(task))
        if wait.lock is not None:
            return wait
    if wake is not None:
        hit = prog.symbols.lookup(wake)
        wait.wake_function = hit[0].name if hit else None
        if kind == "percpu_rw_semaphore" and queue is not None:
            wait.lock = queue - prog.type("struct percpu_rw_semaphore").offsetof("waiters") - \
                prog.type("struct wait_queue_head").offsetof("head")
    if lock is None:
        wait.problems.append(f"no {kind} waiter record of this task is linked on its stack")
    return wait


# The page flags a folio waiter waits on, by name (enum pageflags moves them between versions).
_FOLIO_BITS = {"PG_locked": "locked", "PG_writeback": "writeback"}


def _waited_folio(prog, record: int) -> Tuple[Optional[int], Optional[str]]:
    """The folio (``folio``, 5.16+; ``page`` before) and the bit named by the ``struct
    wait_page_queue`` around the wait queue entry at ``record`` (folio_wait_bit_common's, on the
    waiter's stack), or Nones when the entry is no page waiter's (its folio no kernel address)."""
    queue_type = prog.type("struct wait_page_queue")
    page_queue = Object(prog, prog.type("struct wait_page_queue *"), record - queue_type.offsetof("wait"))
    folio = int(page_queue.folio if queue_type.has_member("folio") else page_queue.page)
    if folio < KERNEL_SPACE:
        return None, None
    bit = int(page_queue.bit_nr)
    for name, words in _FOLIO_BITS.items():
        try:
            if int(prog.constant(name)) == bit:
                return folio, words
        except LookupError:
            continue
    return folio, str(bit)


@dataclass
class FlushTarget:
    """Where the barrier work of a flush_work() waiter is queued: the workqueue's name and the CPU
    of its worker pool (None: an unbound pool, which any CPU's workers serve)."""

    workqueue: str
    cpu: Optional[int]


def flush_work_target(prog, done: int) -> Optional[FlushTarget]:
    """The workqueue and CPU that must run the flush_work() barrier whose completion is at ``done``
    (a ``struct completion`` inside a ``struct wq_barrier``), or None when the work there is no
    barrier queued on a pool (its function is not wq_barrier_func, or WORK_STRUCT_PWQ is clear:
    it already ran)."""
    barrier_type = prog.type("struct wq_barrier")
    barrier = Object(prog, prog.type("struct wq_barrier *"), done - barrier_type.offsetof("done"))
    function = prog.symbols.lookup(int(barrier.work.func))
    if function is None or _base_name(function[0].name) != "wq_barrier_func" or function[1]:
        return None
    data = int(barrier.work.data.counter) & ((1 << 64) - 1)
    if not data & WORK_STRUCT_PWQ:
        return None
    pwq = Object(prog, prog.type("struct pool_workqueue *"), data & ~((1 << WORK_STRUCT_PWQ_SHIFT) - 1))
    cpu = int(pwq.pool.cpu)
    return FlushTarget(pwq.wq.name.string_().decode(errors="replace"), cpu if cpu >= 0 else None)


def sleeping_since_ns(prog, task: Object) -> Optional[int]:
    """Nanoseconds from ``task``'s last arrival on a CPU (``sched_info.last_arrival``) to its
    CPU's runqueue clock at the dump: how long it has been off the CPU, give or take the little it
    ran then (crash's ``ps -m`` age).  None without CONFIG_SCHED_INFO data."""
    try:
        arrival = sched.task_last_arrival(task)
        clock = sched.rq_clock(prog, sched.task_cpu(task))
    except (PycoreError, LookupError, AttributeError):
        return None
    return clock - arrival if arrival and clock >= arrival else None


def hung_task_blocked_secs(prog, task: Object) -> Optional[float]:
    """Seconds from when khungtaskd last saw ``task``'s switch count change (``last_switch_time``,
    jiffies, CONFIG_DETECT_HUNG_TASK) to ``jiffies`` at the dump: what it compares with the timeout.
    None where the task has no such field, khungtaskd never looked at it (0) or HZ is unknown."""
    if not prog.type("struct task_struct").has_member("last_switch_time"):
        return None
    seen = int(task.last_switch_time)
    hz = kernel_hz(prog)
    jiffies = read_kernel_variable(prog, "jiffies_64")
    if not seen or not hz or jiffies is None:
        return None
    return ((jiffies - seen) & ((1 << 64) - 1)) / hz


def hung_task_settings(prog) -> HungTaskSettings:
    """khungtaskd's settings at the dump (kernel/hung_task.c's sysctl variables)."""
    return HungTaskSettings(read_kernel_variable(prog, "sysctl_hung_task_timeout_secs"),
                            read_kernel_variable(prog, "sysctl_hung_task_panic", size=4),
                            read_kernel_variable(prog, "sysctl_hung_task_check_interval_secs"))


def super_block_of_writers(prog, address: int) -> Optional[Tuple[Object, int]]:
    """``(super_block *, level)`` when ``address`` is one of a superblock's freeze-protection
    percpu_rw_semaphores (``s_writers.rw_sem[level - 1]``, 4.3+), else None."""
    sem_size = prog.type("struct percpu_rw_semaphore").size
    for sb in for_each_super_block(prog):
        first = int(sb.s_writers.rw_sem[0].address_of_())
        count = len(SB_FREEZE_CALLS)
        if first <= address < first + count * sem_size and (address - first) % sem_size == 0:
            return sb, (address - first) // sem_size + 1
    return None


def _freeze_writer_lock(prog, task: int) -> Optional[int]:
    """The superblock freeze semaphore whose rcuwait ``writer`` is ``task`` (freeze_super waiting
    for the filesystem's writers to drain), else None."""
    for sb in for_each_super_block(prog):
        for level in range(len(SB_FREEZE_CALLS)):
            sem = sb.s_writers.rw_sem[level]
            if int(sem.writer.task) == task:
                return int(sem.address_of_())
    return None
