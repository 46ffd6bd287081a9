"""drgn's ``drgn.helpers.linux.sched``: tasks and runqueues, from :mod:`pycore.kernel.sched`, and
the kernel's one-letter task states (fs/proc/array.c's ``task_state_array``, 4.14+: "RSDTtXZPI").
"""
from ...kernel.sched import (TASK_NOLOAD, cpu_curr, cpu_rq, idle_task, is_group_leader, task_cpu,
                             task_state_value)
from ...object import Object

# The states /proc reports (TASK_REPORT, 4.14+: RUNNING up to TASK_PARKED), indexed by the highest
# bit set, then TASK_REPORT_IDLE; include/linux/sched.h __task_state_index().
_TASK_REPORT = 0x7F
_STATE_CHARS = "RSDTtXZPI"
_STATE_NAMES = {"R": "R (running)", "S": "S (sleeping)", "D": "D (disk sleep)", "T": "T (stopped)",
                "t": "t (tracing stop)", "X": "X (dead)", "Z": "Z (zombie)", "P": "P (parked)", "I": "I (idle)"}


def task_state_to_char(task: Object) -> str:
    """``task``'s state as ps and /proc/PID/stat show it: R, S, D, T, t, X, Z, P or I (TASK_IDLE:
    an uninterruptible sleep that does not count towards the load average).  States outside
    TASK_REPORT (TASK_WAKING, TASK_NEW, 6.1's TASK_FROZEN) report what remains, as the kernel does."""
    value = task_state_value(task)
    state = value & _TASK_REPORT
    char = _STATE_CHARS[state.bit_length()]
    if char == "D" and value & ~state == TASK_NOLOAD:
        return "I"
    return char


def get_task_state(task: Object) -> str:
    """The state with its name as /proc/PID/status writes it: ``S (sleeping)``."""
    return _STATE_NAMES[task_state_to_char(task)]


def thread_group_leader(task: Object) -> bool:
    """Whether ``task`` leads its thread group (its PID is the process's)."""
    return is_group_leader(task)


__all__ = ["cpu_curr", "cpu_rq", "get_task_state", "idle_task", "task_cpu", "task_state_to_char",
           "thread_group_leader"]
