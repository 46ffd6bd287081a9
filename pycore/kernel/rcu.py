"""Tree RCU's grace-period state (kernel/rcu/tree.h): the grace period rcu_state runs (its gp_seq,
start, stall deadline and kthread), the CPUs it still waits for (each leaf rcu_node's qsmask, one bit
per CPU from grplo), the preempted readers queued on rcu_node.blkd_tasks that hold it (PREEMPT_RCU),
and each CPU's rcu_data.  Kernels 5.10 to 7.2: the fields read here are the same on 6.1, 6.12 and 7.2.
"""
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional

from ..errors import MissingDebugInfoError, PycoreError
from ..object import Object
from .percpu import per_cpu_address
from .variables import read_kernel_variable, symbol_address

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

__all__ = ["RCU_SEQ_STATE_MASK", "GP_STATE_NAMES", "RcuCpu", "GracePeriod", "rcu_seq_in_progress",
           "rcu_seq_number", "grace_period"]

# rcu_seq counters (kernel/rcu/rcu.h): the low two bits are the grace period's phase (non-zero while
# one runs), the rest count grace periods.
RCU_SEQ_STATE_MASK = 3
RCU_SEQ_CTR_SHIFT = 2
# rcu_state.gp_state (kernel/rcu/tree.h, 4.12+): where the grace-period kthread is.
GP_STATE_NAMES = ("RCU_GP_IDLE", "RCU_GP_WAIT_GPS", "RCU_GP_DONE_GPS", "RCU_GP_ONOFF", "RCU_GP_INIT",
                  "RCU_GP_WAIT_FQS", "RCU_GP_DOING_FQS", "RCU_GP_CLEANUP", "RCU_GP_CLEANED")
# A task list found through rcu_node pointers may be stale: bound the walk.
_BLOCKED_TASKS_LIMIT = 1 << 16
_MASK64 = (1 << 64) - 1
_QSMASK_BITS = 64


@dataclass
class RcuCpu:
    """One CPU's view (``struct rcu_data``): ``gp_seq`` the last grace period it noticed,
    ``behind`` how many grace periods that is behind rcu_state's, ``no_qs`` whether it has not yet
    passed a quiescent state in it (``cpu_no_qs.b.norm``), ``core_needs_qs`` whether RCU asked it
    for one, ``ticks_this_gp`` the scheduler ticks it took in kernel mode since."""

    cpu: int
    gp_seq: int
    behind: int
    no_qs: bool
    core_needs_qs: bool
    ticks_this_gp: int


@dataclass
class GracePeriod:
    """rcu_state at the dump.  ``flavor`` is its name (``rcu_preempt``, ``rcu_sched``); ``gp_seq``
    its counter, ``in_progress`` whether a grace period runs; ``age_jiffies`` how long since it
    began (``gp_start``); ``kthread`` the grace-period kthread's task address,
    ``kthread_state`` its gp_state name and ``kthread_idle_jiffies`` how long since it last did
    anything (``gp_activity``: a starved kthread does nothing); ``holding_cpus`` the CPUs the grace
    period still waits for (leaf qsmask bits) and ``blocking_tasks`` the addresses of preempted
    readers queued from a leaf's ``gp_tasks`` on; ``cpus`` each CPU's rcu_data; ``problems`` what
    could not be read."""

    flavor: str
    gp_seq: int
    in_progress: bool
    age_jiffies: Optional[int]
    kthread: Optional[int]
    kthread_state: Optional[str]
    kthread_idle_jiffies: Optional[int]
    holding_cpus: List[int] = field(default_factory=list)
    blocking_tasks: List[int] = field(default_factory=list)
    cpus: List[RcuCpu] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)


def rcu_seq_in_progress(seq: int) -> bool:
    """Whether an rcu_seq counter value is mid grace period (``rcu_seq_state() != 0``)."""
    return bool(seq & RCU_SEQ_STATE_MASK)


def rcu_seq_number(seq: int) -> int:
    """The grace-period count of an rcu_seq counter value (``rcu_seq_ctr()``)."""
    return (seq & _MASK64) >> RCU_SEQ_CTR_SHIFT


def _rcu_state(prog: "Program") -> Object:
    address = symbol_address(prog, "rcu_state")
    if address is None:
        raise MissingDebugInfoError("no symbol rcu_state (Tree RCU's state, kernel/rcu/tree.c) in the kernel's "
                                    "symbols: a kernel built with TINY_RCU, or symbols without data (kallsyms "
                                    "without CONFIG_KALLSYMS_ALL and no vmlinux)")
    return Object(prog, prog.type("struct rcu_state *"), address)


def _int_variable(prog: "Program", name: str) -> int:
    value = read_kernel_variable(prog, name, size=4, signed=True)
    if value is None:
        raise MissingDebugInfoError(f"no readable {name} (kernel/rcu/tree.c): the rcu_node tree's shape is unknown")
    return value


def _jiffies_since(jiffies: Optional[int], then: int) -> Optional[int]:
    if jiffies is None:
        return None
    delta = (jiffies - then) & _MASK64
    return delta - (1 << 64) if delta >> 63 else delta


def _blocking_tasks(prog: "Program", node: Object, problems: List[str]) -> List[int]:
    """The tasks on ``node.blkd_tasks`` from ``gp_tasks`` to the list's end: the readers preempted
    inside an RCU read-side critical section that the current grace period waits for."""
    first = int(node.gp_tasks)
    if not first:
        return []
    head = int(node.blkd_tasks.address_of_())
    entry = prog.type("struct task_struct").offsetof("rcu_node_entry")
    tasks, current = [], first
    while current != head:
        if not current or len(tasks) >= _BLOCKED_TASKS_LIMIT:
            problems.append(f"the blkd_tasks list of rcu_node {int(node):#x} does not come back to its head")
            break
        tasks.append(current - entry)
        current = int.from_bytes(prog.read(current, 8), "little")
    return tasks


def grace_period(prog: "Program", cpus: Optional[List[int]] = None) -> GracePeriod:
    """Tree RCU's grace period at the dump (:class:`GracePeriod`), with the rcu_data of ``cpus``
    (default: each CPU a leaf rcu_node covers, below ``nr_cpu_ids``).  Raises
    MissingDebugInfoError without rcu_state's symbol or the rcu_node tree's shape (rcu_num_nodes,
    rcu_num_lvls); FaultError where rcu_state cannot be read."""
    state = _rcu_state(prog)
    nodes, levels = _int_variable(prog, "rcu_num_nodes"), _int_variable(prog, "rcu_num_lvls")
    gp_seq = int(state.gp_seq) & _MASK64
    jiffies = read_kernel_variable(prog, "jiffies_64")
    in_progress = rcu_seq_in_progress(gp_seq)
    kthread = int(state.gp_kthread)
    gp_state = int(state.gp_state)
    found = GracePeriod(
        flavor=state.name.string_().decode(errors="replace") if int(state.name) else "rcu",
        gp_seq=gp_seq, in_progress=in_progress,
        age_jiffies=_jiffies_since(jiffies, int(state.gp_start)) if in_progress else None,
        kthread=kthread or None,
        kthread_state=GP_STATE_NAMES[gp_state] if 0 <= gp_state < len(GP_STATE_NAMES) else str(gp_state),
        kthread_idle_jiffies=_jiffies_since(jiffies, int(state.gp_activity)))
    covered: List[int] = []
    nr_cpu_ids = read_kernel_variable(prog, "nr_cpu_ids", size=4)
    for index in range(min(max(nodes, 0), len(state.node))):
        node = state.node[index]
        if int(node.level) != levels - 1:
            continue
        # qsmask has a bit per CPU of the leaf: a damaged grphi covers no more.
        low = int(node.grplo)
        high = min(int(node.grphi), low + _QSMASK_BITS - 1)
        covered.extend(cpu for cpu in range(low, high + 1) if nr_cpu_ids is None or cpu < nr_cpu_ids)
        if not in_progress:
            continue
        qsmask = int(node.qsmask)
        found.holding_cpus.extend(low + bit for bit in range(high - low + 1) if qsmask >> bit & 1)
        try:
            found.blocking_tasks.extend(_blocking_tasks(prog, node, found.problems))
        except PycoreError as error:
            found.problems.append(f"the blkd_tasks list of rcu_node {index} could not be read: {error}")
    data = symbol_address(prog, "rcu_data")
    for cpu in covered if cpus is None else cpus:
        if data is None:
            found.problems.append("no symbol rcu_data: the CPUs' own RCU state is unknown")
            break
        try:
            rdp = Object(prog, prog.type("struct rcu_data *"), per_cpu_address(prog, data, cpu))
            seen = int(rdp.gp_seq) & _MASK64
            found.cpus.append(RcuCpu(cpu, seen, rcu_seq_number(gp_seq - seen),
                                     bool(int(rdp.cpu_no_qs.b.norm)), bool(int(rdp.core_needs_qs)),
                                     int(rdp.ticks_this_gp)))
        except PycoreError as error:
            found.problems.append(f"CPU {cpu}'s rcu_data could not be read: {error}")
    return found
