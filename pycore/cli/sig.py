"""``pycore sig DUMP [PID|TASK ...]``: crash 9's ``sig``, each task's signal dispositions, pending
and blocked sets and queues (:func:`pycore.kernel.signal.signal_state`); without a task, the current
context's (the panic task outside the crash prompt)."""
import argparse
from dataclasses import asdict
from typing import Any, Dict, List

from ..kernel import sched, signal
from ..object import Object
from ..program import Program
from .command import DumpCommand
from .crashfmt import task_header
from .task import tasks_named


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tasks", metavar="PID|TASK", nargs="*",
                        help="a PID (decimal) or a task_struct address (hex); several allowed")


def _brief(task: Object) -> Dict[str, Any]:
    return {"pid": int(task.pid), "task": int(task), "cpu": sched.task_cpu(task), "comm": sched.task_comm(task)}


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    return {"tasks": [dict(_brief(task), **asdict(signal.signal_state(task)))
                      for task in tasks_named(prog, args.tasks, getattr(args, "context", None))]}


def _handler(value: int) -> str:
    return {0: "SIG_DFL", 1: "SIG_IGN", (1 << 64) - 1: "SIG_ERR"}.get(value, f"{value:x}")


def _queue(entries: List[List[int]]) -> List[str]:
    if not entries:
        return ["  SIGQUEUE: (empty)"]
    return ["  SIGQUEUE:  SIG  %-16s" % "    SIGINFO"] + ["             %3d  %x" % (sig, info) for sig, info in entries]


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """crash's dump_signal_data() for each task, an empty line after each."""
    lines = []
    for task in data["tasks"]:
        lines += [task_header(task["pid"], task["task"], task["cpu"], task["comm"]),
                  f"SIGNAL_STRUCT: {task['signal_struct']:x}  NR_THREADS: {task['nr_threads']}",
                  " SIG    SIGACTION        HANDLER       MASK       FLAGS           "]
        for action in task["actions"]:
            names = signal.sa_flag_names(action["flags"])
            flags = f"({'|'.join(names)})" if names else ""
            lines.append("%s[%d] %x %10s %016x %x %s" % (" " if action["signal"] < 10 else "", action["signal"],
                                                         action["address"], _handler(action["handler"]),
                                                         action["mask"], action["flags"], flags))
        lines += [f"SIGPENDING: {'yes' if task['sigpending'] else 'no'}", f"   BLOCKED: {task['blocked']:016x}",
                  "PRIVATE_PENDING", f"    SIGNAL: {task['pending']:016x}"] + _queue(task["pending_queue"])
        lines += ["SHARED_PENDING", f"    SIGNAL: {task['shared_pending']:016x}"] + _queue(task["shared_queue"])
        lines.append("")
    return "\n".join(lines) + "\n"


COMMAND = DumpCommand("sig", add_arguments=add_arguments, collect=collect, render=render,
                      description="a task's signal handling, as crash 9's sig prints it")
