"""drgn's ``drgn.helpers.linux.pid``: PIDs and the tasks behind them, from :mod:`pycore.kernel.pid`
(the namespace idr, 4.15+).  As in drgn, the first argument is the Program (the initial PID
namespace) or a ``struct pid_namespace *``.
"""
from typing import TYPE_CHECKING, Iterator, Optional, Tuple, Union

from ...kernel import pid as _pid
from ...kernel.pid import pid_task
from ...kernel.sched import for_each_thread
from ...object import Object

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def _program_and_namespace(prog_or_ns: "Union[Program, Object]") -> "Tuple[Program, Optional[Object]]":
    if isinstance(prog_or_ns, Object):
        return prog_or_ns.prog_, prog_or_ns
    return prog_or_ns, None


def find_pid(prog_or_ns: "Union[Program, Object]", pid: int) -> Object:
    """The ``struct pid *`` numbered ``pid`` (NULL if none) in the initial namespace or the given one."""
    return _pid.find_pid(*_program_and_namespace(prog_or_ns), pid)


def find_task(prog_or_ns: "Union[Program, Object]", pid: int) -> Object:
    """The ``struct task_struct *`` whose PID is ``pid`` (NULL if none)."""
    return _pid.find_task(*_program_and_namespace(prog_or_ns), pid)


def for_each_pid(prog_or_ns: "Union[Program, Object]") -> Iterator[Object]:
    """Each ``struct pid *`` of the namespace, lowest number first."""
    return _pid.for_each_pid(*_program_and_namespace(prog_or_ns))


def for_each_task(prog_or_ns: "Union[Program, Object]", *, idle: bool = False) -> Iterator[Object]:
    """Each task visible in the namespace, in PID order (with ``idle``, the online CPUs' idle
    tasks first): drgn's walk through the PIDs, not the task list."""
    prog, ns = _program_and_namespace(prog_or_ns)
    return _pid.for_each_pid_task(prog, ns, idle)


def for_each_task_in_group(task: Object, include_self: bool = False) -> Iterator[Object]:
    """Each thread of ``task``'s process (``task`` itself only with ``include_self``)."""
    for thread in for_each_thread(task):
        if include_self or int(thread) != int(task):
            yield thread


__all__ = ["find_pid", "find_task", "for_each_pid", "for_each_task", "for_each_task_in_group", "pid_task"]
