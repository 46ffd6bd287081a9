"""``pycore runq DUMP``: each CPU's runqueue, its current task and the queued tasks, as crash's ``runq``."""
import argparse
from typing import Any, Dict, List

from ..kernel import sched
from .common import add_dump_arguments, open_from_args
from .crashfmt import pid_width
from .output import emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("runq", help="the tasks on each CPU's run queue (crash's runq)")
    add_dump_arguments(parser)
    parser.add_argument("-c", dest="cpus", metavar="CPU[,CPU...]", help="only these CPUs")
    parser.set_defaults(handler=run)


def _cpu_list(text: str) -> List[int]:
    cpus: List[int] = []
    for piece in text.split(","):
        first, _, last = piece.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        cpus = range(sched.nr_cpus(prog))
        if args.cpus:
            cpus = [cpu for cpu in _cpu_list(args.cpus) if cpu in cpus]  # type: ignore[assignment]
        data = {"pid_width": pid_width(sched.pid_max(prog)), "cpus": [sched.runqueue(prog, cpu) for cpu in cpus]}
        return emit(args, data, render)


def _task_line(task: Dict[str, Any], width: int) -> str:
    return f"PID: {task['pid']:<{width}}  TASK: {task['task']:x}  COMMAND: \"{task['comm']}\""


def render(data: Dict[str, Any]) -> str:
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
