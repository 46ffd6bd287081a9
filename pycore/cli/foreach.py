"""``pycore foreach DUMP [PID|TASK|NAME|STATE|kernel|user|gleader|active ...] COMMAND [FLAGS]``: crash 9's
``foreach``, one of bt, task, files, vm, net, sig, ps, set or vtop run on each chosen task (all of them
without a choice; a name in single quotes is a regular expression) as if ``set`` had made it the context;
the commands' own text, as crash joins it.  Any kernel
the commands read (5.10 to 7.2 in the corpus)."""
import argparse
import re
from typing import Any, Dict, List, Optional, Tuple

from ..errors import PycoreError
from ..kernel import sched
from ..object import Object
from ..program import Program
from . import bt
from .command import Collected, CommandParser, DumpCommand, ParserExit, UsageError, make_parser
from .common import UnreadTasks, unread_tasks, unread_tasks_message
from .crashfmt import task_header

# The commands foreach runs (crash's foreach_data keywords that pycore has).
RUNNABLE = ("bt", "task", "files", "vm", "net", "sig", "ps", "set", "vtop")
# The ones whose text does not name the task: foreach heads each task's with its line (print_task_header).
HEADED = ("set", "vtop")
# crash's two-letter task states a foreach selection may name (sched.state_code's codes).
STATES = ("RU", "IN", "UN", "ST", "ZO", "TR", "SW", "DE", "WA", "PA", "ID", "NE")
KEYWORDS = ("kernel", "user", "gleader", "active")
# The commands whose error may say a task was read only in part (bt: a task_struct page a 7.2 -d 31
# dump lacks): foreach goes on to the next task and names them all in one line, in the command's words.
PARTIAL_TASKS = {"bt": bt.unread_message}
# pycore's own options: after the dump they would be foreach's words, and be lost.
PYCORE_OPTIONS = ("--vmlinux", "--system-map", "--pure", "--json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The command's own flags follow its name and must reach it untouched (``foreach RU task -R pid``):
    # every word after the dump is foreach's, so pycore's own options go before the dump.
    parser.intermixed = False
    parser.add_argument("words", nargs=argparse.REMAINDER, metavar="[TASKS] COMMAND [FLAGS]",
                        help="which tasks (PID, task address, name or 'regular expression', state RU/IN/UN/..., "
                             "kernel, user, gleader, active; all without one), then bt, task, files, vm, net, sig, "
                             "ps, set or vtop and its flags "
                             "(pycore's own options, such as --vmlinux, go before the dump)")


def split_words(words: List[str]) -> Dict[str, Any]:
    """The task selection, the command and its words, as crash's cmd_foreach() reads them: the first
    word that names a command ends the selection (a name that is also a command's is written ``\\bt``).
    PycoreError for one of pycore's own options among them (they go before the dump)."""
    misplaced = [word for word in words if word.split("=")[0] in PYCORE_OPTIONS]
    if misplaced:
        raise PycoreError(f"{misplaced[0]} is pycore's option: put it before the dump (pycore foreach "
                          f"{misplaced[0]} ... DUMP [TASKS] COMMAND)")
    for at, word in enumerate(words):
        if word in RUNNABLE:
            return {"selection": [w[1:] if w.startswith("\\") else w for w in words[:at]],
                    "command": word, "arguments": words[at + 1:]}
    raise PycoreError(f"no command to run: one of {', '.join(RUNNABLE)} after the tasks")


def _selects(prog: Program, task: Object, word: str, active: Dict[int, int]) -> bool:
    """Whether one selection word takes ``task``: a PID (decimal), a task address (hex), a state,
    a keyword, a POSIX extended regular expression in single quotes found in the command name, else
    a command name (crash's comm, 15 characters)."""
    if len(word) > 1 and word[0] == word[-1] == "'":
        return re.search(word[1:-1], sched.task_comm(task)) is not None
    if word.isdigit():
        return int(task.pid) == int(word)
    if word in STATES:
        return sched.task_state(task) == word
    if word == "kernel":
        return sched.crash_kernel_thread(task)
    if word == "user":
        return not sched.crash_kernel_thread(task)
    if word == "gleader":
        return not sched.crash_kernel_thread(task) and sched.is_group_leader(task)
    if word == "active":
        return int(task) in active.values()
    try:
        if int(word, 16) == int(task):
            return True
    except ValueError:
        pass
    return sched.task_comm(task) == word[:15]


def chosen_tasks(prog: Program, selection: List[str]) -> Tuple[List[Object], Optional[UnreadTasks]]:
    """The tasks a selection names, in crash's task-table order (by PID, the idle tasks by CPU);
    every task without a selection.  A state or keyword no task has chooses none; a PID, address or
    name no task has is crash's ``unknown argument`` (PycoreError).  Second, the tasks a broken task
    list kept from being read (:func:`pycore.kernel.sched.crash_tasks`), None when there are none."""
    found = sched.crash_tasks(prog)
    tasks = found.tasks
    unread = None
    if found.error is not None:
        unread = unread_tasks(prog, (int(task) for task in tasks), found.error)
    if not selection:
        return tasks, unread
    active = sched.active_tasks(prog) if "active" in selection else {}
    for word in selection:
        if word not in STATES + KEYWORDS and not any(_selects(prog, task, word, active) for task in tasks):
            if unread is not None:
                raise PycoreError(f'unknown argument: "{word}" ({unread_tasks_message(unread)})')
            raise PycoreError(f'unknown argument: "{word}"')
    return [task for task in tasks if any(_selects(prog, task, word, active) for word in selection)], unread


def _parse(command: DumpCommand, arguments: List[str]) -> argparse.Namespace:
    parser = make_parser(command, CommandParser, prog=f"foreach {command.name}")
    try:
        return parser.parse_args(arguments)
    except UsageError as error:
        raise PycoreError(f"foreach {command.name}: {error.message}") from None
    except ParserExit:
        raise PycoreError(f"foreach {command.name}: no help inside foreach (try help {command.name})") from None


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    """Each chosen task's data from the command's own collect, with that task as its context; ps
    once, for all of them (its one table)."""
    from . import dump_command

    words = split_words(args.words)
    tasks, missing = chosen_tasks(prog, words["selection"])
    if words["command"] == "set":
        return Collected({"command": "set", "arguments": [], "runs": _contexts(prog, tasks)}, [])
    command = dump_command(words["command"])
    parsed = _parse(command, words["arguments"])
    runs: List[Dict[str, Any]] = []
    warnings: List[str] = []
    error: Optional[str] = None
    unread: List[Dict[str, Any]] = []
    if command.name == "ps":
        # ps's own table of the chosen tasks, one header: each named by its address.
        parsed.tasks = list(parsed.tasks) + [f"{int(task):x}" for task in tasks]
        targets: List[Optional[int]] = [None]
    else:
        targets = [int(task) for task in tasks]
    for target in targets:
        parsed.context = target
        try:
            result = command.collect(prog, parsed)
        except PycoreError as failure:
            error = f"task {target:x}: {failure}" if target is not None else str(failure)
            break
        collected = result if isinstance(result, Collected) else Collected(result, [])
        warnings += collected.warnings
        runs.append({"task": target, "data": collected.data,
                     "header": _header(prog, target) if command.name in HEADED else None})
        if collected.error is not None and command.name in PARTIAL_TASKS and collected.data.get("unread"):
            unread += collected.data["unread"]
        elif collected.error is not None:
            error = collected.error
            break
    if error is None:
        errors = [unread_tasks_message(missing)] if missing is not None else []
        if unread:
            errors.append(PARTIAL_TASKS[command.name](unread))
        error = "; ".join(errors) or None
    return Collected({"command": command.name, "arguments": words["arguments"], "runs": runs}, warnings, error)


def _header(prog: Program, address: int) -> Dict[str, Any]:
    task = Object(prog, prog.type("struct task_struct *"), address)
    return {"pid": int(task.pid), "task": address, "cpu": sched.task_cpu(task), "comm": sched.task_comm(task)}


def _contexts(prog: Program, tasks: List[Object]) -> List[Dict[str, Any]]:
    """``foreach ... set``: what crash's set shows of each task (crash.task_context)."""
    from ..kernel import stack
    from .crash import task_context

    unwinder = stack.Unwinder(prog)
    return [{"task": int(task), "data": task_context(prog, unwinder, int(task)), "header": _header(prog, int(task))}
            for task in tasks]


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """The command's text for each task: ``task`` and ``net -R`` end each of their blocks with an
    empty line, the others are separated by one (crash's foreach); set and vtop after the task's line."""
    from . import dump_command
    from .crash import render_context

    if data["command"] == "set":
        texts = [render_context(run["data"]) for run in data["runs"]]
    else:
        command = dump_command(data["command"])
        parsed = _parse(command, data["arguments"])
        texts = [command.render(run["data"], parsed) for run in data["runs"]]
    texts = [text if run.get("header") is None else
             task_header(**run["header"]) + "\n" + text for run, text in zip(data["runs"], texts)]
    if data["command"] == "task" or (data["command"] == "net" and "-R" in data["arguments"]):
        # net -R ends each task's answer with crash's empty line, the last one too.
        return "".join(texts)
    return "\n\n".join(text.rstrip("\n") for text in texts if text.strip())


COMMAND = DumpCommand("foreach", add_arguments=add_arguments, collect=collect, render=render,
                      description="run a command on chosen tasks, as crash 9's foreach does")
