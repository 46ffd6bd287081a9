"""drgn's ``drgn.helpers.linux.sched``: tasks, their one-letter states and runqueues, from
:mod:`pycore.kernel.sched`.
"""
from typing import TYPE_CHECKING, Iterator, Tuple

from ...kernel.sched import (cpu_curr, cpu_rq, idle_task, is_group_leader, rq_clock, task_cpu, task_last_arrival,
                             task_state_to_char, thread_info_address)
from ...kernel.system import load_average
from ...object import Object, container_of, list_for_each_entry

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program

# avenrun[] is fixed point with FSHIFT (11) fractional bits (include/linux/sched/loadavg.h).
_FIXED_1 = 1 << 11

# fs/proc/array.c's task_state_array: how /proc/PID/status names each letter.
_STATE_NAMES = {"R": "R (running)", "S": "S (sleeping)", "D": "D (disk sleep)", "T": "T (stopped)",
                "t": "t (tracing stop)", "X": "X (dead)", "Z": "Z (zombie)", "P": "P (parked)", "I": "I (idle)"}


def get_task_state(task: Object) -> str:
    """The state with its name as /proc/PID/status writes it: ``S (sleeping)``."""
    return _STATE_NAMES[task_state_to_char(task)]


def loadavg(prog: "Program") -> Tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg shows them (``avenrun``)."""
    one, five, fifteen = (value / _FIXED_1 for value in load_average(prog))
    return one, five, fifteen


def task_rq(task: Object) -> Object:
    """The ``struct rq *`` of the CPU ``task`` last ran on."""
    return cpu_rq(task.prog_, task_cpu(task))


def task_thread_info(task: Object) -> Object:
    """``task``'s ``struct thread_info *``: inside the task (4.9+ on x86_64) or at its stack's base."""
    return Object(task.prog_, "struct thread_info *", thread_info_address(task))


def task_on_cpu(task: Object) -> bool:
    """Whether ``task`` was running on a CPU (``on_cpu``, SMP kernels)."""
    return bool(int(task.on_cpu))


def task_since_last_arrival_ns(task: Object) -> int:
    """Nanoseconds between ``task`` last going on its CPU and that runqueue's clock
    (CONFIG_SCHED_INFO): how long a running task has run, a waiting one has waited."""
    return rq_clock(task.prog_, task_cpu(task)) - task_last_arrival(task)


def rq_for_each_fair_task(rq: Object) -> Iterator[Object]:
    """Each task of the fair class queued on ``rq`` (``struct rq *``): ``rq->cfs_tasks`` (SMP,
    2.6.37+), linked through ``se.group_node``."""
    return list_for_each_entry("struct task_struct", rq.cfs_tasks.address_of_(), "se.group_node")


def rq_for_each_rt_task(rq: Object) -> Iterator[Object]:
    """Each realtime task queued on ``rq``, priority by priority (``rt.active.queue[]``)."""
    for queue in rq.rt.active.queue:
        yield from list_for_each_entry("struct task_struct", queue.address_of_(), "rt.run_list")


def sched_entity_is_task(se: Object) -> bool:
    """Whether the ``struct sched_entity *`` is a task's rather than a task group's (a group's
    entity has its own runqueue, ``my_q``, with CONFIG_FAIR_GROUP_SCHED)."""
    return not int(getattr(se, "my_q", 0))


def sched_entity_to_task(se: Object) -> Object:
    """The ``struct task_struct *`` whose ``se`` the entity is (see :func:`sched_entity_is_task`)."""
    return container_of(se, "struct task_struct", "se")


def thread_group_leader(task: Object) -> bool:
    """Whether ``task`` leads its thread group (its PID is the process's)."""
    return is_group_leader(task)


__all__ = ["cpu_curr", "cpu_rq", "get_task_state", "idle_task", "loadavg", "rq_for_each_fair_task",
           "rq_for_each_rt_task", "sched_entity_is_task", "sched_entity_to_task", "task_cpu", "task_on_cpu",
           "task_rq", "task_since_last_arrival_ns", "task_state_to_char", "task_thread_info", "thread_group_leader"]
