"""``pycore task DUMP [-R MEMBER[,MEMBER]] [-x|-d] [PID|TASK ...]``: crash 9's ``task``, a task's
``task_struct`` and ``thread_info`` in gdb's print format, or only the members named with -R; without
a task, the current context's (the panic task outside the crash prompt)."""
import argparse
from typing import Any, Dict, List, Optional

from ..errors import PycoreError
from ..kernel import sched
from ..object import Object
from ..program import Program
from .command import DumpCommand
from .crashfmt import task_header
from .gdbfmt import format_value, member_lines, symbolizer, value_tree


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-R", dest="members", action="append", default=[], metavar="MEMBER[,MEMBER]",
                        help="only these task_struct (and thread_info) members")
    radix = parser.add_mutually_exclusive_group()
    radix.add_argument("-x", dest="radix", action="store_const", const=16, help="integers in hexadecimal")
    radix.add_argument("-d", dest="radix", action="store_const", const=10, help="integers in decimal")
    parser.add_argument("tasks", metavar="PID|TASK|MEMBER", nargs="*",
                        help="a PID (decimal) or task_struct address (hex); a member name joins -R")


def tasks_named(prog: Program, words: List[str], context: Optional[Any]) -> List[Object]:
    """The tasks crash's str_to_context() finds for each word: every task with the PID (decimal),
    else the task_struct at the address (hex); with no word the context task (``set``'s, else the
    panic task).  PycoreError for a word that names no task."""
    tasks = sched.crash_task_list(prog)
    if not words:
        if context is not None:
            return [next((t for t in tasks if int(t) == int(context)), sched.panic_task(prog))]
        panic = sched.panic_task(prog)
        if panic is None:
            raise PycoreError("no panic task: name a PID or task")
        return [panic]
    chosen: List[Object] = []
    for word in words:
        found = [t for t in tasks if word.isdigit() and int(t.pid) == int(word)]
        if not found:
            try:
                address = int(word, 16)
            except ValueError:
                raise PycoreError(f"invalid task or pid value: {word}") from None
            found = [t for t in tasks if int(t) == address]
        if not found:
            raise PycoreError(f"invalid task or pid value: {word}")
        chosen += found
    return chosen


def _thread_info(prog: Program, task: Object) -> Object:
    return Object(prog, prog.type("struct thread_info"), address=sched.thread_info_address(task))


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    task_type = prog.type("struct task_struct")
    info_type = prog.type("struct thread_info")
    words = [w for w in args.tasks if w.isdigit() or _is_address(w)]
    members = [m for group in args.members + [w for w in args.tasks if w not in words]
               for m in group.split(",") if m]
    for member in members:
        if not task_type.has_member(member) and not info_type.has_member(member):
            raise PycoreError(f"{member}: not a task_struct or thread_info member")
    symbolize = symbolizer(prog)
    shown = []
    for task in tasks_named(prog, words, getattr(args, "context", None)):
        entry: Dict[str, Any] = {"pid": int(task.pid), "task": int(task), "cpu": sched.task_cpu(task),
                                 "comm": sched.task_comm(task)}
        info = _thread_info(prog, task)
        if members:
            # crash looks each name up in the task_struct, then in the thread_info.
            entry["members"] = [{"name": m, "value": value_tree(source.member_(m), symbolize)}
                                for m in members for source, t in ((task.dereference_(), task_type), (info, info_type))
                                if t.has_member(m)]
        else:
            entry["task_struct"] = value_tree(task.dereference_(), symbolize)
            entry["thread_info"] = value_tree(info, symbolize)
        shown.append(entry)
    return {"tasks": shown}


def _is_address(word: str) -> bool:
    try:
        int(word, 16)
    except ValueError:
        return False
    return True


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """crash's do_task(): the task header, then the members (or both structs), an empty line after."""
    radix = args.radix or 10
    lines: List[str] = []
    for entry in data["tasks"]:
        lines.append(task_header(entry["pid"], entry["task"], entry["cpu"], entry["comm"]))
        if "members" in entry:
            for member in entry["members"]:
                lines += member_lines(member["value"], member["name"], radix=radix)
        else:
            lines += ("struct task_struct " + format_value(entry["task_struct"], radix=radix)).split("\n")
            lines += [""] + ("struct thread_info " + format_value(entry["thread_info"], radix=radix)).split("\n")
        lines.append("")
    return "\n".join(lines) + "\n"


COMMAND = DumpCommand("task", add_arguments=add_arguments, collect=collect, render=render,
                      description="a task's task_struct and thread_info, as crash 9's task prints them")
