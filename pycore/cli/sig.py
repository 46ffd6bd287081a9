"""``pycore sig DUMP [-g] [PID|TASK ...] | -l | -s SIGSET``: crash 9's ``sig``, each task's signal
dispositions, pending and blocked sets and queues (:func:`pycore.kernel.signal.signal_state`); without a
task, the current context's (the panic task outside the crash prompt).  -g: a whole thread group, -l:
the signal names, -s: the names of the signals in a sigset."""
import argparse
from dataclasses import asdict
from typing import Any, Dict, List

from ..errors import PycoreError
from ..kernel import sched, signal
from ..object import Object
from ..program import Program
from .command import DumpCommand
from .crashfmt import task_header
from .task import tasks_named

# crash's signal names (task.c signame[]), 1 to 31, with the alternative name where there is one.
_NAMES = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
          "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",
          "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
          "SIGIO", "SIGPWR", "SIGSYS")
_ALTERNATIVES = {6: "SIGIOT", 17: "SIGCLD", 29: "SIGPOLL", 31: "SIGUNUSED"}
SIGRTMIN, SIGRTMAX = 32, 64


def signal_name(number: int) -> str:
    """crash's name of signal ``number`` (1-64): the classic names, then SIGRTMIN, SIGRTMIN+1 ..
    SIGRTMIN+16, SIGRTMAX-15 .. SIGRTMAX-1, SIGRTMAX."""
    if number < SIGRTMIN:
        return _NAMES[number - 1]
    if number in (SIGRTMIN, SIGRTMAX):
        return "SIGRTMIN" if number == SIGRTMIN else "SIGRTMAX"
    above = (SIGRTMAX - SIGRTMIN - 1) - (SIGRTMAX - SIGRTMIN - 1) // 2
    return f"SIGRTMIN+{number - SIGRTMIN}" if number - SIGRTMIN <= above else f"SIGRTMAX-{SIGRTMAX - number}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-l", dest="names", action="store_true", help="the signal numbers and names")
    mode.add_argument("-s", dest="sigset", metavar="SIGSET", help="the names of the signals in a hexadecimal sigset")
    # -g takes the task words after it too (pycore sig DUMP -g 1).
    mode.add_argument("-g", dest="group", metavar="PID|TASK", nargs="*",
                      help="the thread group of each task: its dispositions, then each thread's own state")
    parser.add_argument("tasks", metavar="PID|TASK", nargs="*",
                        help="a PID (decimal) or a task_struct address (hex); several allowed")


def _brief(task: Object) -> Dict[str, Any]:
    return {"pid": int(task.pid), "task": int(task), "cpu": sched.task_cpu(task), "comm": sched.task_comm(task)}


def _state(task: Object) -> Dict[str, Any]:
    return dict(_brief(task), **asdict(signal.signal_state(task)))


def _groups(prog: Program, tasks: List[Object]) -> List[Dict[str, Any]]:
    """sig -g: each named task's thread group (its leader, once), the leader first."""
    every = sched.crash_task_list(prog)
    groups, shown = [], set()
    for task in tasks:
        tgid = sched.task_tgid(task)
        leader = next((t for t in every if int(t.pid) == tgid and sched.task_tgid(t) == tgid), task)
        if int(leader) in shown:
            continue
        shown.add(int(leader))
        members = [leader] + [t for t in every if sched.task_tgid(t) == tgid and int(t) != int(leader)]
        groups.append({"leader": _state(leader), "threads": [_state(t) for t in members]})
    return groups


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    if args.names:
        return {"names": {number: signal_name(number) for number in range(1, SIGRTMAX + 1)}}
    if args.sigset is not None:
        try:
            sigset = int(args.sigset, 16)
        except ValueError:
            raise PycoreError(f"not a hexadecimal sigset: {args.sigset}") from None
        return {"sigset": sigset, "signals": [signal_name(n) for n in range(1, SIGRTMAX + 1) if sigset >> (n - 1) & 1]}
    context = getattr(args, "context", None)
    if args.group is not None:
        return {"groups": _groups(prog, tasks_named(prog, list(args.tasks) + args.group, context))}
    return {"tasks": [_state(task) for task in tasks_named(prog, args.tasks, context)]}


def _handler(value: int) -> str:
    return {0: "SIG_DFL", 1: "SIG_IGN", (1 << 64) - 1: "SIG_ERR"}.get(value, f"{value:x}")


def _queue(entries: List[List[int]], indent: str = "") -> List[str]:
    if not entries:
        return [indent + "  SIGQUEUE: (empty)"]
    return [indent + "  SIGQUEUE:  SIG  %-16s" % "    SIGINFO"] + \
        ["             %3d  %x" % (sig, info) for sig, info in entries]


def _dispositions(task: Dict[str, Any]) -> List[str]:
    lines = [f"SIGNAL_STRUCT: {task['signal_struct']:x}  NR_THREADS: {task['nr_threads']}",
             " SIG    SIGACTION        HANDLER       MASK       FLAGS           "]
    for action in task["actions"]:
        names = signal.sa_flag_names(action["flags"])
        flags = f"({'|'.join(names)})" if names else ""
        lines.append("%s[%d] %x %10s %016x %x %s" % (" " if action["signal"] < 10 else "", action["signal"],
                                                     action["address"], _handler(action["handler"]),
                                                     action["mask"], action["flags"], flags))
    return lines


def _task_level(task: Dict[str, Any], indent: str = "") -> List[str]:
    return [f"{indent}SIGPENDING: {'yes' if task['sigpending'] else 'no'}",
            f"{indent}   BLOCKED: {task['blocked']:016x}", f"{indent}PRIVATE_PENDING",
            f"{indent}    SIGNAL: {task['pending']:016x}"] + _queue(task["pending_queue"], indent)


def _shared(task: Dict[str, Any]) -> List[str]:
    return ["SHARED_PENDING", f"    SIGNAL: {task['shared_pending']:016x}"] + _queue(task["shared_queue"])


def _header(task: Dict[str, Any]) -> str:
    return task_header(task["pid"], task["task"], task["cpu"], task["comm"])


def _sigset_lines(names: List[str]) -> List[str]:
    """crash's translate_sigset(): names a space apart, a new line before one that would pass column 80."""
    if not names:
        return ["(none)"]
    lines, line = [], ""
    for index, name in enumerate(names):
        piece = (" " if index else "") + name
        if len(line) + len(piece) > 80:
            lines.append(line)
            line, piece = "", piece.lstrip(" ")
        line += piece
    return lines + [line]


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """crash's dump_signal_data() for each task (an empty line after each), or -l, -s, -g."""
    if "names" in data:
        return "\n".join(f"{' ' if number < 10 else ''}[{number}] {name}"
                         + (f"/{_ALTERNATIVES[number]}" if number in _ALTERNATIVES else "")
                         for number, name in data["names"].items())
    if "sigset" in data:
        return "\n".join(_sigset_lines(data["signals"]))
    lines: List[str] = []
    if "groups" in data:
        for group in data["groups"]:
            leader = group["leader"]
            lines += [_header(leader)] + _dispositions(leader) + _shared(leader)
            for thread in group["threads"]:
                lines += ["", "  " + _header(thread)] + _task_level(thread, "  ")
            lines.append("")
        return "\n".join(lines) + "\n"
    for task in data["tasks"]:
        lines += [_header(task)] + _dispositions(task) + _task_level(task) + _shared(task) + [""]
    return "\n".join(lines) + "\n"


COMMAND = DumpCommand("sig", add_arguments=add_arguments, collect=collect, render=render,
                      description="a task's signal handling, as crash 9's sig prints it")
