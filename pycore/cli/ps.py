"""``pycore ps DUMP``: every task with PID, PPID, CPU, address, state and memory, as crash's ``ps``."""
import argparse
import sys
from typing import Any, Dict, List

from ..kernel import mm, sched
from .common import add_dump_arguments, open_from_args
from .crashfmt import percent_text
from .output import emit

HEADER = "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ps", help="process status (crash's ps)")
    add_dump_arguments(parser)
    parser.set_defaults(handler=run)


def tasks(prog) -> List[Dict[str, Any]]:
    """One row per task in crash's order: the idle task of each CPU, then every thread by PID; each
    with the ``problems`` :func:`pycore.kernel.sched.task_problems` finds in it."""
    active = set(sched.active_tasks(prog).values())
    total_pages = mm.high_memory_pages(prog)
    cpus = sched.nr_cpus(prog)
    idle = {int(task) for task in sched.idle_tasks(prog)}
    pid_limit = min(sched.pid_max(prog) or sched.PID_MAX_LIMIT, sched.PID_MAX_LIMIT)
    cpu_count = max(sched.nr_cpu_ids(prog), cpus)
    rows = []
    for task in sched.crash_task_list(prog):
        address = int(task)
        snapshot = task.dereference_().read_()
        memory = mm.task_memory(task, total_pages, cpus)
        rows.append({
            "pid": int(snapshot.pid),
            "ppid": sched.task_ppid(snapshot),
            "cpu": sched.task_cpu(snapshot),
            "task": address,
            "state": sched.task_state(snapshot),
            "state_value": sched.task_state_value(snapshot),
            "percent_mem": round(memory.percent, 6),
            "percent_mem_text": percent_text(memory.percent),
            "vsz_kb": memory.vsz_kb,
            "rss_kb": memory.rss_kb,
            "rss_pages": memory.rss_pages,
            "comm": sched.task_comm(snapshot),
            "kernel_thread": sched.is_kthread(snapshot),
            "active": address in active,
            "problems": sched.task_problems(snapshot, pid_limit, cpu_count, address in idle),
        })
    return rows


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        rows = tasks(prog)
    warnings = [f"task {row['task']:x}: {problem}" for row in rows for problem in row["problems"]]
    for warning in warnings:
        print(f"ps: {warning}", file=sys.stderr)
    return emit(args, {"tasks": rows, "warnings": warnings}, render)


def render(data: Dict[str, Any]) -> str:
    lines = [HEADER]
    for row in data["tasks"]:
        comm = f"[{row['comm']}]" if row["kernel_thread"] else row["comm"]
        lines.append(f"{'>' if row['active'] else ' '} {row['pid']:>7} {row['ppid']:>7} {row['cpu']:>3}  "
                     f"{row['task']:16x}  {row['state']:2} {row['percent_mem_text']:>5} {row['vsz_kb']:>8} "
                     f"{row['rss_kb']:>8}  {comm}")
    return "\n".join(lines)
