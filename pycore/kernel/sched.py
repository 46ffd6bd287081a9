"""Tasks, their states and CPUs, and the per-CPU runqueues (kernel/sched), read as crash 9 reads them.

Covers x86_64 kernels from 4.14 (the task-state bits crash 9 decodes) to 7.2: ``__state``
(5.14+) or ``state``, the CPU in ``task_struct`` (4.9-5.15) or ``thread_info`` (5.16+),
threads on ``signal->thread_head`` (3.14+) or ``thread_group`` (before 6.7); task lists that
pages left out of a filtered dump broke (7.1+ at makedumpfile -d 31) as far as they can be read.
"""
from itertools import takewhile
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from ..errors import FaultError, MissingDebugInfoError, MissingMemberError, PycoreError
from ..object import (Object, container_of, list_for_each, list_for_each_entry, list_for_each_entry_reverse,
                      list_for_each_reverse)
from ..types.model import TypeKind
from .cpumask import cpu_online_mask, cpu_possible_mask, cpu_present_mask, cpumask_bits
from .percpu import per_cpu_address
from .rbtree import rbtree_inorder_addresses
from .variables import read_kernel_variable, symbol_address

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# task_struct.__state / .state and .exit_state bits (include/linux/sched.h, 4.14+).
TASK_RUNNING = 0x0000
TASK_INTERRUPTIBLE = 0x0001
TASK_UNINTERRUPTIBLE = 0x0002
__TASK_STOPPED = 0x0004
__TASK_TRACED = 0x0008
EXIT_DEAD = 0x0010
EXIT_ZOMBIE = 0x0020
TASK_PARKED = 0x0040
TASK_DEAD = 0x0080
TASK_WAKEKILL = 0x0100
TASK_WAKING = 0x0200
TASK_NOLOAD = 0x0400
TASK_NEW = 0x0800
TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD

# task_struct.flags
PF_EXITING = 0x00000004
PF_KTHREAD = 0x00200000
# The most PIDs a 64-bit kernel hands out (PID_MAX_LIMIT, include/linux/threads.h): pid_max's ceiling.
PID_MAX_LIMIT = 4 * 1024 * 1024

# crash 9's ps codes, tested in this order; the last one that applies wins (task.c,
# task_state_string()).  crash reads the bits from task_state_array[] and, from 4.14 on,
# takes TASK_DEAD, TASK_WAKING, TASK_NOLOAD and TASK_NEW as the bits after TASK_PARKED.
_STATE_CODES = (
    ("IN", TASK_INTERRUPTIBLE),
    ("UN", TASK_UNINTERRUPTIBLE),
    ("ZO", EXIT_ZOMBIE),
    ("ST", __TASK_STOPPED),
    ("TR", __TASK_TRACED),
    ("DE", EXIT_DEAD | TASK_DEAD),
    ("WA", TASK_WAKING),
    ("PA", TASK_PARKED),
    ("NE", TASK_NEW),
)


# The states /proc reports (TASK_REPORT, 4.14+: RUNNING up to TASK_PARKED), indexed by the highest
# bit set, then TASK_REPORT_IDLE; include/linux/sched.h __task_state_index(), fs/proc/array.c.
_TASK_REPORT = (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE | __TASK_STOPPED | __TASK_TRACED | EXIT_DEAD
                | EXIT_ZOMBIE | TASK_PARKED)
_STATE_CHARS = "RSDTtXZPI"


def state_code(state: int) -> str:
    """crash's two-letter ST for ``state | exit_state``: RU, IN, UN, ID, ZO, ST, TR, DE, WA, PA, NE.

    ``ID`` is TASK_IDLE (TASK_UNINTERRUPTIBLE | TASK_NOLOAD, 4.14+).  A zombie is ``ZO`` though
    its ``__state`` is TASK_DEAD too (exit_state wins).  A value whose only bits have no code
    (TASK_WAKEKILL alone, 6.1's TASK_FROZEN) is ``??`` as in crash.
    """
    if state == TASK_RUNNING:
        return "RU"
    if state & EXIT_ZOMBIE:
        return "ZO"
    code = "??"
    for name, bits in _STATE_CODES:
        if state & bits:
            code = name
            if name == "UN" and state & TASK_IDLE == TASK_IDLE:
                code = "ID"
    return code


# -- tasks ---------------------------------------------------------------------------
def _task_type(prog: "Program"):
    return prog.type("struct task_struct")


def _task(prog: "Program", address: int) -> Object:
    return Object(prog, prog.type("struct task_struct *"), address)


def init_task(prog: "Program") -> Object:
    """``&init_task``: swapper/0, the head of the task list."""
    return _task(prog, prog.symbols.by_name("init_task").address)


def for_each_process(prog: "Program") -> Iterator[Object]:
    """Each thread-group leader (``struct task_struct *``) on ``init_task.tasks``, init_task first."""
    first = init_task(prog)
    yield first
    yield from list_for_each_entry(_task_type(prog), first.tasks.address_of_(), "tasks")


def _each_readable(walk: Callable[[], Iterator[Object]], faults: List[FaultError]) -> Iterator[Object]:
    """What the list walk ``walk()`` yields until a pointer cannot be read, that fault appended to
    ``faults``; the node whose pointer could not be read is left out too (its page is missing), so
    each node is given once the pointer after it was read: while its page is still in Program's
    page cache for the caller's reads."""
    previous = None
    try:
        for node in walk():
            if previous is not None:
                yield previous
            previous = node
    except FaultError as error:
        faults.append(error)
        return
    if previous is not None:
        yield previous


def _read_until_fault(walk: Callable[[], Iterator[Object]]) -> Tuple[List[Object], Optional[FaultError]]:
    """What the list walk ``walk()`` yields until a pointer cannot be read, and that fault (None
    when it ended well); the node whose pointer could not be read is left out too: its page is
    missing."""
    faults: List[FaultError] = []
    found = list(_each_readable(walk, faults))
    return found, faults[0] if faults else None


def _ring_around(start: Object, stop: int) -> Tuple[List[int], Optional[FaultError]]:
    """The nodes of the ring through ``start`` (``struct list_head *``) in ring order from the
    head at ``stop``, never reading the head: backward from ``start`` to it, ``start``, forward
    to it; as far as they can be read, with the first fault (None when the ring is whole)."""
    def until_head(walk: Callable[[Object], Iterator[Object]]) -> Iterator[Object]:
        return takewhile(lambda node: int(node) != stop, walk(start))

    before, back_error = _read_until_fault(lambda: until_head(list_for_each_reverse))
    after, error = _read_until_fault(lambda: until_head(list_for_each))
    nodes = [int(node) for node in reversed(before)] + [int(start)] + [int(node) for node in after]
    return nodes, error or back_error


def _thread_node_ring(task: Object, head: int) -> Tuple[List[Object], Optional[FaultError]]:
    """The threads on ``signal->thread_head`` at ``head``, read around from ``task``'s own
    ``thread_node`` (the head itself unread): where makedumpfile dropped the page of the
    ``signal_struct`` (7.1+ slab tails at -d 31) the ring is still whole through the tasks."""
    task_type = _task_type(task.prog_)
    offset = task_type.offsetof("thread_node")
    nodes, error = _ring_around(task.thread_node.address_of_(), head)
    return [_task(task.prog_, node - offset) for node in nodes], error


def for_each_thread(task: Object) -> Iterator[Object]:
    """Each thread in ``task``'s thread group, the leader first.

    3.14+ links threads on ``signal->thread_head`` through ``thread_node`` (the only list
    from 6.7); older kernels on the leader's ``thread_group`` ring.  An unreadable
    ``signal_struct`` is walked around (:func:`_thread_node_ring`); a thread that cannot be
    read raises its FaultError.
    """
    task_type = _struct_type(task)  # not looked up by name: ps walks every process's threads
    if task_type.has_member("thread_node"):
        signal = task.signal
        if not int(signal):
            yield task
            return
        head = signal.thread_head.address_of_()
        try:
            threads: Iterator[Object] = list_for_each_entry(task_type, head, "thread_node")
        except FaultError:
            around, error = _thread_node_ring(task, int(head))
            if error is not None:
                raise error
            threads = iter(around)
        yield from threads
        return
    leader = task.group_leader
    yield leader
    yield from list_for_each_entry(task_type, leader.thread_group.address_of_(), "thread_group")


def for_each_task(prog: "Program") -> Iterator[Object]:
    """Every thread of every process (``struct task_struct *``), from ``init_task.tasks``.

    The idle tasks of CPUs other than 0 are on no list: see :func:`idle_tasks`.
    """
    first = int(init_task(prog))
    for leader in for_each_process(prog):
        if int(leader) == first:  # init_task's signal lists no threads of its own
            yield leader
            continue
        yield from for_each_thread(leader)


def _struct_type(task: Object):
    """``struct task_struct`` for a pointer to one or for the struct itself (a snapshot)."""
    t = task.type_.resolved()
    return t.type.resolved() if t.kind is TypeKind.POINTER else t


def task_state_value(task: Object) -> int:
    """``__state`` (5.14+) or ``state`` ORed with ``exit_state``, as crash's task_state() does."""
    task_type = _struct_type(task)
    state = task.member_("__state" if task_type.has_member("__state") else "state").value_()
    exit_state = task.exit_state.value_() if task_type.has_member("exit_state") else 0
    return (state | exit_state) & 0xFFFFFFFF


def task_state(task: Object) -> str:
    """crash's two-letter state of ``task`` (see :func:`state_code`)."""
    return state_code(task_state_value(task))


def task_state_to_char(task: Object) -> str:
    """``task``'s state as ps and /proc/PID/stat show it: R, S, D, T, t, X, Z, P or I (TASK_IDLE:
    an uninterruptible sleep that does not count towards the load average).  States outside
    TASK_REPORT (TASK_WAKING, TASK_NEW, 6.1's TASK_FROZEN) report what remains, as the kernel does.
    Not crash's ST (:func:`task_state`): crash names TASK_WAKING and TASK_NEW, /proc hides them."""
    value = task_state_value(task)
    state = value & _TASK_REPORT
    char = _STATE_CHARS[state.bit_length()]
    if char == "D" and value & ~state == TASK_NOLOAD:
        return "I"
    return char


def task_cpu(task: Object) -> int:
    """The CPU ``task`` last ran on: ``task->cpu`` (4.9-5.15), ``task->thread_info.cpu`` (5.16+,
    CONFIG_THREAD_INFO_IN_TASK), or the thread_info at the stack base (before 4.9)."""
    task_type = _struct_type(task)
    if task_type.has_member("cpu"):
        return int(task.cpu)
    if task_type.has_member("thread_info"):
        info = task.thread_info
        if info.type_.resolved().kind is TypeKind.STRUCT:
            return int(info.cpu)
    info = Object(task.prog_, task.prog_.type("struct thread_info *"), int(task.stack))
    return int(info.cpu)


def task_ppid(task: Object) -> int:
    """PID of ``task->parent``, the PPID crash's ps prints (the tracer while ptraced)."""
    return int(task.parent.pid)


def is_kthread(task: Object) -> bool:
    """A kernel thread: PF_KTHREAD in ``flags`` (2.6.27+), or no ``mm`` (crash brackets its name)."""
    if int(task.flags) & PF_KTHREAD:
        return True
    return not int(task.mm)


def crash_kernel_thread(task: Object, state: Optional[int] = None, init_mm: Optional[int] = None) -> bool:
    """Whether crash 9 takes ``task`` for a kernel thread (task.c is_kernel_thread): what its ps
    brackets and ``ps -k``/``-u``/``-G`` choose by.  PID 0 (each CPU's idle task) is one; a zombie
    or dead task (``exit_state``) or one exiting (PF_EXITING) is not, though its ``mm`` is gone;
    else one without an ``mm`` is unless its state and flags are both 0, and one whose ``mm`` is
    ``&init_mm`` (kernel threads before 2.6) is.  Unlike :func:`is_kthread` (PF_KTHREAD), a
    kernel thread that borrowed a user mm (kthread_use_mm) is not.

    A caller asking of every task may pass what it already has: ``state``, the task's
    :func:`task_state_value`, and ``init_mm``, the address of ``init_mm`` (looking the variable
    up costs more than the rest of the test)."""
    if int(task.pid) == 0:
        return True
    if state is None:
        state = task_state_value(task)
    flags = int(task.flags)
    if state & (EXIT_ZOMBIE | EXIT_DEAD) or flags & PF_EXITING:
        return False
    mm = int(task.mm)
    if not mm:
        return bool(state or flags)
    return mm == (task.prog_["init_mm"].address_ if init_mm is None else init_mm)


def task_comm(task: Object) -> str:
    return task.comm.string_().decode("utf-8", "replace")


def task_problems(task: Object, pid_limit: int, cpu_count: int, idle: bool) -> List[str]:
    """What in ``task`` (a snapshot) no kernel makes: a pid or tgid outside [0, ``pid_limit``) (pid_max),
    pid 0 on a task that is no CPU's idle task, a CPU at or beyond ``cpu_count`` (nr_cpu_ids).
    Empty for a task as the kernel keeps it."""
    problems = []
    pid = int(task.pid)
    for name, value in (("pid", pid), ("tgid", int(task.tgid))):
        if not 0 <= value < pid_limit:
            problems.append(f"{name} {value} is not a pid (pid_max {pid_limit})")
    if pid == 0 and not idle:
        problems.append("pid 0 on a task that is no CPU's idle task")
    cpu = task_cpu(task)
    if not 0 <= cpu < cpu_count:
        problems.append(f"cpu {cpu} is not a CPU (nr_cpu_ids {cpu_count})")
    return problems


# -- CPUs ------------------------------------------------------------------------------
def possible_cpus(prog: "Program") -> List[int]:
    """CPUs in the possible mask: those this boot could ever bring up."""
    return cpumask_bits(cpu_possible_mask(prog))


def present_cpus(prog: "Program") -> List[int]:
    """CPUs in the present mask."""
    return cpumask_bits(cpu_present_mask(prog))


def online_cpus(prog: "Program") -> List[int]:
    """CPUs in the online mask; a panic without kdump (smp_send_stop) takes the others offline."""
    return cpumask_bits(cpu_online_mask(prog))


def nr_cpus(prog: "Program") -> int:
    """crash's CPU count (kt->cpus): the highest present CPU plus one, else the dump's CPU notes."""
    try:
        present = present_cpus(prog)
    except (LookupError, PycoreError):
        present = []
    if present:
        return present[-1] + 1
    return max(1, len(prog.dump.cpus))


def cpu_rq(prog: "Program", cpu: int) -> Object:
    """``struct rq *`` for ``cpu``: its copy of the per-CPU ``runqueues``."""
    address = per_cpu_address(prog, prog.symbols.by_name("runqueues").address, cpu)
    return Object(prog, prog.type("struct rq *"), address)


def cpu_curr(prog: "Program", cpu: int) -> Object:
    """``rq->curr``: the task running on ``cpu`` when the dump was taken."""
    return cpu_rq(prog, cpu).curr.read_()


def offline_cpu_count(prog: "Program") -> int:
    """How many of crash's CPUs (0 .. nr_cpus - 1) are not in ``cpu_online_mask``, as crash's sys
    and mach count them: 0 when the mask cannot be read."""
    cpus = nr_cpus(prog)
    try:
        return cpus - len([cpu for cpu in online_cpus(prog) if cpu < cpus])
    except (LookupError, PycoreError):
        return 0


def idle_task(prog: "Program", cpu: int) -> Object:
    """``rq->idle`` of ``cpu`` (swapper/N); init_task for CPU 0."""
    try:
        idle = cpu_rq(prog, cpu).idle.read_()
        if int(idle):
            return idle
    except MissingMemberError:
        raise  # a struct rq of another layout: say so, do not guess
    except (FaultError, LookupError):
        if cpu:
            raise
    return init_task(prog)


def idle_tasks(prog: "Program") -> List[Object]:
    """The idle task of each CPU crash counts (0 .. nr_cpus - 1), as crash's ps lists swapper/N; the
    first runqueue the dump lacks raises its FaultError (:func:`readable_idle_tasks` gives the rest)."""
    tasks, faults = readable_idle_tasks(prog)
    if faults:
        raise faults[0]
    return tasks


def active_tasks(prog: "Program") -> Dict[int, int]:
    """CPU -> address of the task running there (``rq->curr``): crash's ``>`` marks these.
    A CPU whose runqueue is unreadable or has no symbol is left out; a ``struct rq`` without
    ``curr`` raises MissingMemberError."""
    active = {}
    for cpu in range(nr_cpus(prog)):
        try:
            active[cpu] = int(cpu_curr(prog, cpu))
        except MissingMemberError:
            raise
        except (FaultError, LookupError):
            continue
    return active


def panic_cpu(prog: "Program") -> Optional[int]:
    """The CPU that called panic() (``panic_cpu``, 4.5+), else ``crashing_cpu``; None if neither is set."""
    for name in ("panic_cpu", "crashing_cpu"):
        try:
            address = prog.symbols.by_name(name).address
            value = int.from_bytes(prog.read(address, 4), "little", signed=True)
        except (LookupError, PycoreError):
            continue
        if value >= 0:
            return value
    return None


def panic_task(prog: "Program") -> Optional[Object]:
    """The task that was running on the panicking CPU, or None when no CPU panicked."""
    cpu = panic_cpu(prog)
    if cpu is None:
        return None
    return cpu_curr(prog, cpu)


class TaskList(NamedTuple):
    """The tasks :func:`crash_tasks` could reach, and the fault that hid the others (None when
    every list was whole)."""

    tasks: List[Object]
    error: Optional[FaultError]


def readable_processes(prog: "Program") -> Tuple[List[Object], Optional[FaultError]]:
    """:func:`for_each_process` as far as it can be read, and the fault that cut it short (None
    when the list is whole): ``init_task.tasks`` forward until a task cannot be read, then
    backward from ``init_task`` until one cannot; the leaders are in list order, those of the
    backward walk after those of the forward one (the unreadable ones lay between)."""
    faults: List[FaultError] = []
    leaders = list(_each_readable_process(prog, faults))
    return leaders, faults[0] if faults else None


def _each_readable_process(prog: "Program", faults: List[FaultError]) -> Iterator[Object]:
    """:func:`readable_processes`'s leaders one at a time, each while its page is in the page
    cache, the fault that cut the forward walk short appended to ``faults``."""
    first = init_task(prog)
    yield first
    head = first.tasks.address_of_()
    task_type = _task_type(prog)
    known = set()
    for leader in _each_readable(lambda: list_for_each_entry(task_type, head, "tasks"), faults):
        known.add(int(leader))
        yield leader
    if faults:
        backward = list(_each_readable(lambda: list_for_each_entry_reverse(task_type, head, "tasks"), []))
        yield from (task for task in reversed(backward) if int(task) not in known)


def _threads(task: Object) -> Tuple[List[Object], Optional[FaultError]]:
    """:func:`for_each_thread` as far as it can be read: the threads read, ``task`` among them,
    and the first fault (a thread or the leader's ``signal`` pointer on a page left out)."""
    try:
        return list(for_each_thread(task)), None
    except FaultError as error:
        if not _task_type(task.prog_).has_member("thread_node"):
            return [task], error
        try:
            head = int(task.signal.thread_head.address_of_())
        except FaultError:
            return [task], error
        threads, around_error = _thread_node_ring(task, head)
        return threads, around_error or error


def crash_tasks(prog: "Program") -> TaskList:
    """:func:`crash_task_list` that survives pages missing from the dump (makedumpfile 1.7.8's
    -d 31 drops 7.1+'s slab tail pages): ``init_task.tasks`` is read forward until a fault and
    then backward from ``init_task`` until one, each process's threads as far as they can be read
    (around an unreadable ``signal_struct``).  The tasks read are in crash's order; the fault
    names what was lost (:func:`unread_task_pids` names the PIDs): the forward walk's fault, else
    the first thread list's, else the first task's whose PID could not be read.

    Each process's threads and their sort keys are read as the walk reaches it, while its
    task_struct's page is in the page cache: one read of each page, not one per pass."""
    first = int(init_task(prog))
    idle, idle_faults = readable_idle_tasks(prog)
    seen = {int(t) for t in idle}
    keyed: List[Tuple[Tuple[int, int], Object]] = []
    walk_faults: List[FaultError] = []
    thread_faults: List[FaultError] = []
    key_faults: List[FaultError] = []

    def add(task: Object) -> None:
        try:
            keyed.append((_crash_key(task), task))
        except FaultError as key_error:
            key_faults.append(key_error)

    for task in idle:
        add(task)
    for leader in _each_readable_process(prog, walk_faults):
        if int(leader) == first:  # init_task's signal lists no threads of its own
            threads, thread_error = [leader], None
        else:
            threads, thread_error = _threads(leader)
        if thread_error is not None:
            thread_faults.append(thread_error)
        for task in threads:
            if int(task) not in seen:
                seen.add(int(task))
                add(task)
    keyed.sort(key=lambda item: item[0])
    faults = walk_faults + thread_faults + idle_faults + key_faults
    return TaskList([task for _, task in keyed], faults[0] if faults else None)


def readable_idle_tasks(prog: "Program") -> Tuple[List[Object], List[FaultError]]:
    """:func:`idle_tasks` as far as the dump holds them: a CPU whose runqueue (``rq->idle``) lies on
    a page the dump lacks (a truncated file, a filtered or damaged one) is left out, its fault kept."""
    tasks, faults = [], []
    for cpu in range(nr_cpus(prog)):
        try:
            tasks.append(idle_task(prog, cpu))
        except FaultError as error:
            faults.append(error)
    return tasks, faults


def unread_task_pids(prog: "Program", read: Iterable[int]) -> Dict[int, int]:
    """PID by task address of each task in ``init_pid_ns``'s IDR (4.15+) that is not among the
    task addresses ``read``: ``struct pid`` has its own slab cache and usually outlives the
    task_structs a filtered dump lost.  The task address comes from ``pid->tasks[PIDTYPE_PID]``,
    whether or not its page is in the dump; a ``struct pid`` that cannot be read is skipped, and
    an IDR node that cannot be read ends the walk (fewer PIDs named, none wrong)."""
    from .pid import PIDTYPE_PID, for_each_pid, pid_task  # pid.py imports this module

    known = set(read)
    missing: Dict[int, int] = {}
    try:
        for pid in for_each_pid(prog):
            try:
                task = int(pid_task(pid, PIDTYPE_PID))
                if task and task not in known:
                    missing[task] = int(pid.numbers[0].nr)
            except FaultError:
                continue
    except FaultError:
        pass
    return missing


def crash_task_list(prog: "Program") -> List[Object]:
    """The tasks crash's ps and TASKS count: each CPU's idle task and every thread, sorted as
    crash sorts them (by PID; the PID 0 idle tasks by CPU).  A task that cannot be read raises
    its FaultError (:func:`crash_tasks` gives the rest)."""
    found = crash_tasks(prog)
    if found.error is not None:
        raise found.error
    return found.tasks


def _crash_key(task: Object) -> Tuple[int, int]:
    """Where crash sorts ``task``: by PID, the PID 0 idle tasks by CPU."""
    pid = int(task.pid)
    return pid, task_cpu(task) if pid == 0 else 0


# -- runqueues ---------------------------------------------------------------------------------
def pid_max(prog: "Program") -> Optional[int]:
    """``pid_max``: one more than the highest PID the kernel hands out; None when unreadable.
    crash sizes its PID columns by it."""
    return read_kernel_variable(prog, "pid_max", 4)


def _task_summary(task: Object) -> Dict[str, object]:
    return {"pid": int(task.pid), "task": int(task), "comm": task_comm(task), "prio": int(task.prio)}


def rt_queue(rt_rq: Object, depth: int = 0) -> List[Dict[str, object]]:
    """Tasks queued on ``rt_rq`` (``struct rt_rq *``) by priority, as crash's runq lists them:
    ``{"prio", "pid", "task", "comm", "depth"}``; group entities (RT_GROUP_SCHED) are descended."""
    prog = rt_rq.prog_
    active = rt_rq.active
    queues = active.queue
    length = queues.type_.resolved().length or 0
    entity_type = prog.type("struct sched_rt_entity")
    has_my_q = entity_type.has_member("my_q")
    out: List[Dict[str, object]] = []
    for prio in range(length):
        head = queues[prio]
        for entity in list_for_each_entry(entity_type, head.address_of_(), "run_list"):
            if has_my_q and int(entity.my_q):
                out.extend(rt_queue(entity.my_q, depth + 1))
                continue
            task = container_of(entity, prog.type("struct task_struct"), "rt")
            entry = _task_summary(task)
            entry.update(prio=prio, depth=depth)
            out.append(entry)
    return out


def cfs_queue(cfs_rq: Object, depth: int = 0) -> List[Dict[str, object]]:
    """Tasks on ``cfs_rq``'s (``struct cfs_rq *``) red-black tree, leftmost first, as crash's runq
    lists them: ``{"prio", "pid", "task", "comm", "depth"}``.  A group's entity (``se->my_q``,
    FAIR_GROUP_SCHED) is followed into its cfs_rq; the running entity is not on the tree."""
    prog = cfs_rq.prog_
    entity_type = prog.type("struct sched_entity")
    run_node = entity_type.offsetof("run_node")
    has_my_q = entity_type.has_member("my_q")
    se_offset = prog.type("struct task_struct").offsetof("se")
    out: List[Dict[str, object]] = []
    for node in rbtree_inorder_addresses(cfs_rq.tasks_timeline):
        entity = Object(prog, prog.type("struct sched_entity *"), node - run_node)
        if has_my_q and int(entity.my_q):
            out.extend(cfs_queue(entity.my_q, depth + 1))
            continue
        entry = _task_summary(_task(prog, node - run_node - se_offset))
        entry["depth"] = depth
        out.append(entry)
    return out


def runqueue(prog: "Program", cpu: int) -> Dict[str, object]:
    """One CPU's runqueue as crash's runq shows it: the rq, its current task, and the RT and CFS
    queues with the addresses crash prints (``&rq->rt.active``, ``&rq->cfs.tasks_timeline``)."""
    rq = cpu_rq(prog, cpu)
    rt_rq = rq.rt.address_of_()
    cfs_rq = rq.cfs.address_of_()
    return {
        "cpu": cpu,
        "rq": int(rq),
        "current": _task_summary(rq.curr.read_()),
        "rt_prio_array": rq.rt.active.address_,
        "rt": rt_queue(rt_rq),
        "cfs_rb_root": rq.cfs.tasks_timeline.address_,
        "cfs": cfs_queue(cfs_rq),
    }


# -- process relations, times and user strings (crash's ps -p/-c/-G/-t/-a) -----------------------
def task_tgid(task: Object) -> int:
    """``task->tgid``: the PID of the thread-group leader."""
    return int(task.tgid)


def is_group_leader(task: Object) -> bool:
    """A thread-group leader (``pid == tgid``), as crash's ``ps -G`` keeps them; each CPU's idle
    task (PID 0, tgid 0) is one."""
    return int(task.pid) == int(task.tgid)


def task_parent(task: Object) -> int:
    """Address of ``task->parent``: crash's parent for ``ps -p``/``-c`` (the tracer while ptraced);
    init_task is its own parent."""
    return int(task.parent)


class TaskTimes(NamedTuple):
    """``task_struct`` times in nanoseconds: ``start_time`` (monotonic time at fork, u64 since 3.17)
    and ``utime``/``stime`` (u64 nanoseconds since 4.11, when cputime_t went)."""

    start_time: int
    utime: int
    stime: int


def task_times(task: Object) -> TaskTimes:
    """``task->start_time``, ``utime`` and ``stime`` as the kernel keeps them (3.17+ for start_time
    in nanoseconds; 4.11+ for utime/stime in nanoseconds).  An older layout (a ``struct timespec``
    start_time) raises MissingDebugInfoError naming the member."""
    start = task.start_time
    if start.type_.resolved().kind is not TypeKind.INT:
        raise MissingDebugInfoError("task_struct.start_time as u64 nanoseconds (Linux 3.17+)")
    return TaskTimes(int(start), int(task.utime), int(task.stime))


def seconds_since_start(prog: "Program", start_time: int, hz: int) -> int:
    """Whole seconds a task started ``start_time`` ns after boot has run, as crash's ``ps -t`` RUN
    TIME counts them: jiffies since boot (:func:`pycore.kernel.system.jiffies_since_boot` at
    ``hz``) less the start time's whole seconds in jiffies, divided by ``hz``; 0 when the start is
    later than the last tick."""
    from .system import jiffies_since_boot  # system reads sched at import

    elapsed = jiffies_since_boot(prog, hz) - start_time // 1_000_000_000 * hz
    return max(elapsed, 0) // hz


class UserStrings(NamedTuple):
    """A process's argv and environment as the kernel keeps them on its stack: the text between
    ``mm->arg_start`` and ``arg_end`` (``env_start``..``env_end``) split at each NUL; a final empty
    string when the area ends with a NUL."""

    arguments: List[str]
    environment: List[str]


def task_user_strings(task: Object, limit: int = 1 << 20) -> UserStrings:
    """``task``'s argv and environment read from its user memory through its own page tables
    (:func:`pycore.kernel.mm.read_user`).  A kernel thread (no ``mm``) raises FaultError; so does a
    page the dump left out (``makedumpfile -d 31`` drops user pages), naming the address."""
    from . import mm  # mm reads sched at import

    space = task.mm
    if not int(space):
        raise FaultError("no user stack (a kernel thread has no mm)")
    space = space.dereference_().read_()
    areas = []
    for first, last in (("arg_start", "arg_end"), ("env_start", "env_end")):
        start, end = int(space.member_(first)), int(space.member_(last))
        if not 0 <= end - start <= limit:
            raise FaultError(f"mm_struct.{first}..{last} of {end - start} bytes is not plausible", start)
        data = mm.read_user(task, start, end - start) if end > start else b""
        areas.append(data.decode("utf-8", "replace").split("\0") if data else [])
    return UserStrings(areas[0], areas[1])


def rq_clock(prog: "Program", cpu: int) -> int:
    """``rq->clock`` of ``cpu``: the runqueue's nanosecond clock at its last update (2.6.23+), what
    crash's ``runq -t`` prints for each CPU."""
    return int(cpu_rq(prog, cpu).clock)


def task_last_arrival(task: Object) -> int:
    """``task->sched_info.last_arrival``: when the task last went on a CPU, in the runqueue clock's
    nanoseconds (CONFIG_SCHED_INFO; crash's ``ps -l`` and ``runq -t`` timestamp)."""
    return int(task.sched_info.last_arrival)


# crash's long state names (task_state_string_verbose()), in the order it joins them with "|".
_STATE_NAMES = (
    ("TASK_INTERRUPTIBLE", TASK_INTERRUPTIBLE),
    ("TASK_UNINTERRUPTIBLE", TASK_UNINTERRUPTIBLE),
    ("TASK_STOPPED", __TASK_STOPPED),
    ("TASK_TRACED", __TASK_TRACED),
    ("EXIT_DEAD", EXIT_DEAD | TASK_DEAD),
    ("EXIT_ZOMBIE", EXIT_ZOMBIE),
    ("TASK_WAKING", TASK_WAKING),
    ("TASK_WAKEKILL", TASK_WAKEKILL),
)


def state_names(state: int) -> List[str]:
    """The names crash's ``task``/``kmem`` STATE line joins with ``|`` for ``state | exit_state``:
    ``["TASK_RUNNING"]`` for 0, ``["TASK_PARKED"]`` for TASK_PARKED alone; both dead bits are
    ``EXIT_DEAD|TASK_DEAD``."""
    if state == TASK_RUNNING:
        return ["TASK_RUNNING"]
    if state == TASK_PARKED:
        return ["TASK_PARKED"]
    names = []
    for name, bits in _STATE_NAMES:
        if state & bits:
            names.append("EXIT_DEAD|TASK_DEAD" if bits == EXIT_DEAD | TASK_DEAD and state & bits == bits else name)
    return names


def thread_info_address(task: Object) -> int:
    """Where ``task``'s ``struct thread_info`` is: inside the task_struct (CONFIG_THREAD_INFO_IN_TASK,
    4.9+ on x86_64), else at the base of its stack."""
    task_type = _struct_type(task)
    if task_type.has_member("thread_info") and task_type.member("thread_info").type.resolved().kind is TypeKind.STRUCT:
        return int(task) + task_type.offsetof("thread_info")
    return int(task.stack)


def thread_size(prog: "Program") -> int:
    """THREAD_SIZE, the size of a kernel stack: ``union thread_union``'s size, else x86_64's 16 KiB
    (KASAN builds double it, and their types say so)."""
    try:
        return prog.type("union thread_union").size
    except LookupError:
        return 16384


def task_containing(prog: "Program", address: int) -> Optional[Object]:
    """The task (of :func:`crash_task_list`) whose ``task_struct`` holds ``address``, else None."""
    size = _task_type(prog).size
    for task in crash_task_list(prog):
        if int(task) <= address < int(task) + size:
            return task
    return None


def task_with_stack(prog: "Program", address: int) -> Optional[Object]:
    """The task whose kernel stack (``task->stack`` .. + THREAD_SIZE) holds ``address``, else None."""
    size = thread_size(prog)
    for task in crash_task_list(prog):
        base = int(task.stack)
        if base <= address < base + size:
            return task
    return None


def root_task_group_queue(prog: "Program", cpu: int) -> Dict[str, object]:
    """What crash's ``runq -g`` shows of ``cpu``: the root task group (``root_task_group``, 2.6.32+;
    ``init_task_group`` before) and its CFS runqueue on that CPU (``tg->cfs_rq[cpu]``, a per-CPU
    pointer on 7.2), the entity running there (when it is a task) and the tasks queued, leftmost first.  Child groups (autogroups, cgroups with the cpu
    controller) raise PycoreError: their entities are not listed."""
    name = "ROOT" if symbol_address(prog, "root_task_group") is not None else "INIT"
    group = prog.symbols.by_name("root_task_group" if name == "ROOT" else "init_task_group").address
    group_type = prog.type("struct task_group")
    cfs_rqs = int.from_bytes(prog.read(group + group_type.offsetof("cfs_rq"), 8), "little")
    if group_type.member("cfs_rq").type.resolved().type.resolved().kind is TypeKind.POINTER:
        address = int.from_bytes(prog.read(cfs_rqs + 8 * cpu, 8), "little")  # cfs_rq[NR_CPUS] (2.6.24-7.1)
    else:
        address = per_cpu_address(prog, cfs_rqs, cpu)  # a __percpu pointer (7.2)
    cfs_rq = Object(prog, prog.type("struct cfs_rq *"), address)
    current = None
    entity = cfs_rq.curr
    if int(entity):
        if prog.type("struct sched_entity").has_member("my_q") and int(entity.my_q):
            raise PycoreError(f"CPU {cpu} runs a child task group's entity {int(entity):#x}: runq -g lists "
                              "the root group's tasks only")
        current = _task_summary(container_of(entity, _task_type(prog), "se"))
    queued = cfs_queue(cfs_rq)
    if any(entry["depth"] for entry in queued):
        raise PycoreError(f"CPU {cpu}'s root cfs_rq queues child task groups: runq -g lists the root group's "
                          "tasks only")
    return {"cpu": cpu, "name": name, "task_group": group, "cfs_rq": int(cfs_rq),
            "current": _task_summary(cpu_curr(prog, cpu)), "running": current, "queued": queued}


# struct user_regs_struct (arch/x86/include/asm/user_64.h): the order of elf_gregset_t.
USER_REGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
             "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")
# struct pt_regs's names of those that differ (arch/x86/include/asm/ptrace.h).
PT_REGS_NAMES = {"rbp": "bp", "rbx": "bx", "rax": "ax", "rcx": "cx", "rdx": "dx", "rsi": "si", "rdi": "di",
                 "orig_rax": "orig_ax", "rip": "ip", "eflags": "flags", "rsp": "sp"}
# struct thread_struct's segment state (arch/x86/include/asm/processor.h).
THREAD_SEGMENTS = {"fs_base": "fsbase", "gs_base": "gsbase", "ds": "ds", "es": "es", "fs": "fsindex",
                   "gs": "gsindex"}
# arch/x86/include/asm/thread_info.h (5.2+): the task's FPU registers are in its fpstate, not yet
# loaded into the CPU's.
TIF_NEED_FPU_LOAD = 14
# The XSAVE features the legacy FXSAVE area holds (XFEATURE_MASK_FP, _SSE, _YMM) and PKRU's index.
XFEATURE_MASK_FP, XFEATURE_MASK_SSE, XFEATURE_MASK_YMM = 1, 2, 4
XFEATURE_PKRU = 9
# struct fxregs_state (512 bytes): the x87 state up to MXCSR (24), MXCSR and its mask (8), st_space
# (128), xmm_space (256), padding (48), sw_reserved (48); then the XSAVE header (64).
FXSAVE_SIZE = 512
_FX_MXCSR, _FX_ST, _FX_XMM, _FX_PADDING, _FX_SW = 24, 32, 160, 416, 464
XSAVE_HEADER_SIZE = 64
# xcomp_bv bit 63: the area is in XSAVES's compacted format.
XCOMP_BV_COMPACTED = 1 << 63


def task_user_regs(task: Object, padding: int) -> Dict[str, int]:
    """The user registers ``task`` entered the kernel with, by ``user_regs_struct`` name: the
    ``struct pt_regs`` at the top of its kernel stack (below ``padding``, FRED's
    TOP_OF_KERNEL_STACK_PADDING), with its segment state (``thread.fsbase``, ...) for the
    registers pt_regs does not hold."""
    prog = task.prog_
    regs_type = prog.type("struct pt_regs")
    address = int(task.stack) + thread_size(prog) - padding - regs_type.size
    regs = Object(prog, regs_type, address=address)
    values = {}
    for name in USER_REGS:
        if name in THREAD_SEGMENTS:
            values[name] = int(task.thread.member_(THREAD_SEGMENTS[name]))
        else:
            values[name] = int(regs.member_(PT_REGS_NAMES.get(name, name))) & (1 << 64) - 1
    return values


class FpuState(NamedTuple):
    """A task's FPU registers as ptrace shows them: ``fxsave`` the 512-byte FXSAVE image
    (``user_i387_struct``, NT_PRFPREG), ``xsave`` the standard-format XSAVE image of
    ``xfeatures`` (NT_X86_XSTATE) or None when the kernel keeps it compacted (XSAVES) or has no
    XSAVE."""

    fxsave: bytes
    xsave: Optional[bytes]
    xfeatures: int


def _feature(area: bytearray, init: bytes, present: bool, start: int, end: int) -> None:
    """A feature's bytes stay when the XSAVE header says they were saved, else take the init
    state's (an XSAVE leaves a component in its init state unwritten)."""
    if not present:
        area[start:end] = init[start:end]


def _fpu_symbol(prog: "Program", name: str) -> int:
    """The address of the FPU global ``name``; MissingDebugInfoError when the symbols lack it."""
    address = symbol_address(prog, name)
    if address is None:
        raise MissingDebugInfoError(f"the FPU state's layout: no symbol {name}")
    return address


def _u32_table(prog: "Program", name: str, count: int) -> List[int]:
    """The first ``count`` entries of the ``unsigned int`` array at kernel symbol ``name``."""
    data = prog.read(_fpu_symbol(prog, name), 4 * count)
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


def task_fpu(task: Object) -> Object:
    """``task``'s ``struct fpu``: ``thread.fpu`` up to 6.14, then right after the task_struct
    (x86_task_fpu, 6.15+: task_struct's size no longer depends on the FPU's)."""
    if _struct_type(task).member("thread").type.resolved().has_member("fpu"):
        return task.thread.fpu
    return Object(task.prog_, "struct fpu", address=int(task) + _struct_type(task).size)


def task_fpu_state(task: Object) -> FpuState:
    """``task``'s user FPU registers from its fpu's ``fpstate`` (5.16+), as the kernel's
    copy_xstate_to_uabi_buf gives them to ptrace and core dumps: components the XSAVE header marks
    as in their init state read as ``init_fpstate``'s, PKRU from ``thread.pkru``.  PycoreError when
    the memory copy is not the task's state: the task was on a CPU with its registers loaded
    (TIF_NEED_FPU_LOAD clear), or the kernel is older than 5.16 (``fpu.state``, not read)."""
    prog = task.prog_
    fpu = task_fpu(task)
    if not fpu.type_.resolved().has_member("fpstate"):
        raise PycoreError("the FPU state before 5.16 (thread.fpu.state) is not read")
    flags = int(Object(prog, "struct thread_info", address=thread_info_address(task)).flags)
    if int(task.on_cpu) and not flags >> TIF_NEED_FPU_LOAD & 1:
        raise PycoreError(f"PID {int(task.pid)} was running on CPU {task_cpu(task)}: its FPU registers were in "
                          "the CPU, not in memory")
    state = fpu.fpstate
    size = int(state.user_size)
    xfeatures = int(state.user_xfeatures)
    area = bytearray(prog.read(state.regs.address_, max(size, FXSAVE_SIZE)))
    if size <= FXSAVE_SIZE:
        return FpuState(bytes(area[:_FX_PADDING]) + bytes(FXSAVE_SIZE - _FX_PADDING), None, xfeatures)
    init_fpstate = Object(prog, "struct fpstate", address=_fpu_symbol(prog, "init_fpstate"))
    init = prog.read(init_fpstate.regs.address_, size)
    header = int.from_bytes(area[FXSAVE_SIZE:FXSAVE_SIZE + 8], "little") & xfeatures
    compacted = bool(int.from_bytes(area[FXSAVE_SIZE + 8:FXSAVE_SIZE + 16], "little") & XCOMP_BV_COMPACTED)
    _feature(area, init, bool(header & XFEATURE_MASK_FP), 0, _FX_MXCSR)
    _feature(area, init, bool(header & (XFEATURE_MASK_SSE | XFEATURE_MASK_YMM)), _FX_MXCSR, _FX_ST)
    _feature(area, init, bool(header & XFEATURE_MASK_FP), _FX_ST, _FX_XMM)
    _feature(area, init, bool(header & XFEATURE_MASK_SSE), _FX_XMM, _FX_PADDING)
    fxsave = bytes(area[:_FX_PADDING]) + bytes(FXSAVE_SIZE - _FX_PADDING)
    if compacted:
        return FpuState(fxsave, None, xfeatures)
    area[_FX_PADDING:FXSAVE_SIZE] = bytes(FXSAVE_SIZE - _FX_PADDING)
    # ptrace's sw_reserved: its first word is the features the area may hold (XCR0 for gdb).
    area[_FX_SW:_FX_SW + 8] = xfeatures.to_bytes(8, "little")
    area[FXSAVE_SIZE:FXSAVE_SIZE + XSAVE_HEADER_SIZE] = header.to_bytes(8, "little") + bytes(XSAVE_HEADER_SIZE - 8)
    count = xfeatures.bit_length()
    offsets, sizes = _u32_table(prog, "xstate_offsets", count), _u32_table(prog, "xstate_sizes", count)
    for feature in range(2, count):
        if not xfeatures >> feature & 1:
            continue
        start, end = offsets[feature], offsets[feature] + sizes[feature]
        if not FXSAVE_SIZE + XSAVE_HEADER_SIZE <= start < end <= size:
            raise PycoreError(f"XSAVE feature {feature} at {start}..{end} lies outside the {size}-byte area")
        if feature == XFEATURE_PKRU:
            area[start:end] = int(task.thread.pkru).to_bytes(4, "little").ljust(end - start, b"\0")
        else:
            _feature(area, init, bool(header >> feature & 1), start, end)
    return FpuState(fxsave, bytes(area[:size]), xfeatures)
