"""``pycore runq DUMP [-t] [-c CPU[,CPU...]]``: each CPU's runqueue, its current task and the queued
tasks, as crash 9's ``runq``; ``-t``: each runqueue's clock and when its current task went on the CPU."""
import argparse
from typing import Any, Dict, List

from ..kernel import sched
from ..program import Program
from .command import DumpCommand
from .crashfmt import pid_width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", dest="cpus", metavar="CPU[,CPU...]", help="only these CPUs")
    parser.add_argument("-t", dest="timestamps", action="store_true",
                        help="each runqueue's clock and its current task's last arrival (nanoseconds)")


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


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    cpus = range(sched.nr_cpus(prog))
    if args.cpus:
        cpus = [cpu for cpu in _cpu_list(args.cpus) if cpu in cpus]  # type: ignore[assignment]
    read = _timestamps if args.timestamps else sched.runqueue
    return {"pid_width": pid_width(sched.pid_max(prog)), "cpus": [read(prog, cpu) for cpu in cpus]}


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


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if args.timestamps:
        return _render_timestamps(data)
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
