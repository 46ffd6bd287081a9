"""``pycore runq DUMP [-t|-m|-g] [-c CPU[,CPU...]]``: each CPU's runqueue, its current task and the
queued tasks, as crash 9's ``runq``; ``-t``: each runqueue's clock and when its current task went on
the CPU; ``-m``: how long ago that was; ``-g``: the root task group's CFS queue of each CPU."""
import argparse
from typing import Any, Dict, List

from ..errors import FaultError
from ..kernel import sched
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import pid_width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", dest="cpus", metavar="CPU[,CPU...]", help="only these CPUs")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-t", dest="mode", action="store_const", const="timestamps",
                      help="each runqueue's clock and its current task's last arrival (nanoseconds)")
    mode.add_argument("-m", dest="mode", action="store_const", const="since",
                      help="how long the current task of each CPU has been running")
    mode.add_argument("-g", dest="mode", action="store_const", const="groups",
                      help="the tasks of the root task group's CFS queue of each CPU, the running one first")


def _cpu_list(text: str) -> List[int]:
    cpus: List[int] = []
    for piece in text.split(","):
        first, _, last = piece.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def _timestamps(prog: Program, cpu: int) -> Dict[str, Any]:
    current = sched.cpu_curr(prog, cpu)
    return {"cpu": cpu, "clock": sched.rq_clock(prog, cpu),
            "current": {"pid": int(current.pid), "task": int(current), "comm": sched.task_comm(current),
                        "last_arrival": sched.task_last_arrival(current)}}


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    cpus = range(sched.nr_cpus(prog))
    if args.cpus:
        cpus = [cpu for cpu in _cpu_list(args.cpus) if cpu in cpus]  # type: ignore[assignment]
    read = {"timestamps": _timestamps, "since": _timestamps, "groups": sched.root_task_group_queue}.get(
        args.mode, sched.runqueue)
    rows, unreadable = [], {}
    for cpu in cpus:
        try:
            rows.append(read(prog, cpu))
        except FaultError as error:  # a runqueue on a page the dump lacks: the other CPUs' stand
            unreadable[cpu] = str(error)
    data = {"pid_width": pid_width(sched.pid_max(prog)), "cpus": rows,
            "unreadable": [{"cpu": cpu, "error": error} for cpu, error in unreadable.items()]}
    if not unreadable:
        return Collected(data, [])
    which = ", ".join(map(str, unreadable))
    return Collected(data, [], f"the runqueue of CPU {which} could not be read: {next(iter(unreadable.values()))}")


def _task_line(task: Dict[str, Any], width: int) -> str:
    return f"PID: {task['pid']:<{width}}  TASK: {task['task']:x}  COMMAND: \"{task['comm']}\""


def _render_timestamps(data: Dict[str, Any]) -> str:
    """crash's dump_on_rq_timestamp(): the clock after `` CPU N: ``, the current task's last
    arrival under it, zero-padded to the clock's digits."""
    lines = []
    for rq in data["cpus"]:
        clock = str(rq["clock"])
        lines.append(f"{' ' if rq['cpu'] < 10 else ''}CPU {rq['cpu']}: {clock}")
        current = rq["current"]
        lines.append(f"        {current['last_arrival']:0{len(clock)}d}  {_task_line(current, data['pid_width'])}")
    return "\n".join(lines)


def _render_since(data: Dict[str, Any]) -> str:
    """crash's dump_on_rq_milliseconds(): the time since the current task's last arrival, in crash's
    ``D HH:MM:SS.mmm``."""
    lines = []
    for rq in data["cpus"]:
        value = max(rq["clock"] - rq["current"]["last_arrival"], 0)
        ms, seconds = value // 1_000_000 % 1000, value // 1_000_000_000
        since = f"{seconds // 86400} {seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{ms:03d}"
        lines.append(f"{' ' if rq['cpu'] < 10 else ''}CPU {rq['cpu']}: [{since}]  "
                     f"{_task_line(rq['current'], data['pid_width'])}")
    return "\n".join(lines)


def _render_groups(data: Dict[str, Any]) -> str:
    """crash's dump_tasks_by_task_group() for the root group: CURRENT, the group's CFS_RQ, then its
    running task marked [CURRENT] and the queued ones."""
    width = data["pid_width"]
    blocks = []
    for rq in data["cpus"]:
        lines = [f"CPU {rq['cpu']}", f"  CURRENT: {_task_line(rq['current'], width)}",
                 f"  {rq['name']}_TASK_GROUP: {rq['task_group']:x}  CFS_RQ: {rq['cfs_rq']:x}"]
        if rq["running"] is not None:
            lines.append(f"     [{rq['running']['prio']:3d}] {_task_line(rq['running'], width)} [CURRENT]")
        lines += [f"     [{task['prio']:3d}] {_task_line(task, width)}" for task in rq["queued"]]
        if rq["running"] is None and not rq["queued"]:
            lines.append("     [no tasks queued]")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if args.mode == "timestamps":
        return _render_timestamps(data)
    if args.mode == "since":
        return _render_since(data)
    if args.mode == "groups":
        return _render_groups(data)
    width = data["pid_width"]
    blocks = []
    for rq in data["cpus"]:
        lines = [f"CPU {rq['cpu']} RUNQUEUE: {rq['rq']:x}",
                 f"  CURRENT: {_task_line(rq['current'], width)}",
                 f"  RT PRIO_ARRAY: {rq['rt_prio_array']:x}"]
        for task in rq["rt"]:
            lines.append(" " * (5 + 6 * task["depth"]) + f"[{task['prio']:3d}] {_task_line(task, width)}")
        if not rq["rt"]:
            lines.append("     [no tasks queued]")
        lines.append(f"  CFS RB_ROOT: {rq['cfs_rb_root']:x}")
        for task in rq["cfs"]:
            lines.append(" " * (5 + 6 * task["depth"]) + f"[{task['prio']:3d}] {_task_line(task, width)}")
        if not rq["cfs"]:
            lines.append("     [no tasks queued]")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


COMMAND = DumpCommand("runq", add_arguments=add_arguments, collect=collect, render=render,
                      description="the tasks on each CPU's run queue, as crash 9's runq prints them")
