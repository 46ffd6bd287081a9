"""Process IDs (kernel/pid.c): ``struct pid`` looked up in a PID namespace's idr (4.15+; the
``pid_hash`` table before is not read) and the task each PID type points at (``pid_links[]``
4.19+, ``pids[].node`` before).
"""
from typing import TYPE_CHECKING, Iterator, Optional

from ..object import Object, cast, container_of
from ..types.model import TypeKind
from .idr import idr_find, idr_for_each
from .cpumask import for_each_online_cpu
from .sched import idle_task

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# enum pid_type (include/linux/pid_types.h): PIDTYPE_PID first since 2.6.
PIDTYPE_PID = 0
PIDTYPE_TGID = 1  # 4.19+; PIDTYPE_PGID and PIDTYPE_SID follow


def init_pid_ns(prog: "Program") -> Object:
    """``&init_pid_ns``: the PID namespace of the first process, holding every PID."""
    return Object(prog, "struct pid_namespace *", prog.symbols.by_name("init_pid_ns").address)


def _namespace(prog: "Program", ns: Optional[Object]) -> Object:
    if ns is None:
        return init_pid_ns(prog)
    return ns if ns.type_.resolved().kind is TypeKind.POINTER else ns.address_of_()


def find_pid(prog: "Program", ns: Optional[Object], nr: int) -> Object:
    """The ``struct pid *`` numbered ``nr`` in PID namespace ``ns`` (``struct pid_namespace *``;
    None for the initial one); NULL when no such PID exists."""
    return cast("struct pid *", idr_find(_namespace(prog, ns).idr, nr))


def for_each_pid(prog: "Program", ns: Optional[Object] = None) -> Iterator[Object]:
    """Each ``struct pid *`` of namespace ``ns`` (None: the initial one), lowest number first."""
    pid_pointer = prog.type("struct pid *")
    for _, entry in idr_for_each(_namespace(prog, ns).idr):
        yield cast(pid_pointer, entry)


def pid_task(pid: Object, pid_type: int) -> Object:
    """The first ``struct task_struct *`` using ``pid`` (``struct pid *``) as ``pid_type``
    (PIDTYPE_PID: the thread itself); NULL for a NULL pid or one no task uses any more."""
    prog = pid.prog_
    if not int(pid):
        return Object(prog, "struct task_struct *", 0)
    first = pid.tasks[pid_type].first
    if not int(first):
        return Object(prog, "struct task_struct *", 0)
    task_type = prog.type("struct task_struct")
    if task_type.has_member("pid_links"):  # 4.19+
        return container_of(first, task_type, f"pid_links[{int(pid_type)}]")
    return container_of(first, task_type, f"pids[{int(pid_type)}].node")


def find_task(prog: "Program", ns: Optional[Object], nr: int) -> Object:
    """The ``struct task_struct *`` whose PID is ``nr`` in namespace ``ns`` (None: the initial
    one); NULL when there is none.  PID 0 (the idle tasks) has no struct pid: NULL too."""
    return pid_task(find_pid(prog, ns, nr), PIDTYPE_PID)


def for_each_pid_task(prog: "Program", ns: Optional[Object] = None, idle: bool = False) -> Iterator[Object]:
    """Each task visible in namespace ``ns`` (None: the initial one), in PID order, found
    through its PID (drgn's ``pid.for_each_task``); with ``idle``, each online CPU's idle task
    first.  :func:`pycore.kernel.sched.for_each_task` walks the task list instead."""
    if idle:
        for cpu in for_each_online_cpu(prog):
            yield idle_task(prog, cpu)
    for pid in for_each_pid(prog, ns):
        task = pid_task(pid, PIDTYPE_PID)
        if int(task):
            yield task


__all__ = ["PIDTYPE_PID", "PIDTYPE_TGID", "init_pid_ns", "find_pid", "for_each_pid", "pid_task", "find_task",
           "for_each_pid_task"]
