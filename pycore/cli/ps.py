"""``pycore ps DUMP [-k|-u] [-G] [-t|-p|-c|-a|-l|-m|-g|-r|-S] [PID|TASK|COMMAND ...]``: crash 9's ``ps``.

Without an option: every task (or those named) with PID, PPID, CPU, address, state and memory;
-k/-u keep kernel threads/user tasks, -G thread-group leaders.  -t: run, start, user and system
times; -p: the chain of parents; -c: the children; -a: the argv and environment on the user stack;
-l/-m: when each task last ran; -g: thread groups; -r: resource limits; -S: tasks per state.
"""
import argparse
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple

from ..errors import FaultError, PycoreError
from ..kernel import cpumask, mm, sched, signal, system
from ..kernel.variables import symbol_address
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .common import UnreadTasks, unread_tasks_message
from .crashfmt import center, percent_text, task_header

HEADER = "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("-k", dest="kernel", action="store_true", help="kernel threads only")
    which.add_argument("-u", dest="user", action="store_true", help="user tasks only")
    parser.add_argument("-G", dest="group", action="store_true", help="thread-group leaders only")
    # Each mode takes the task words after it too: ``pycore ps DUMP -t 1`` (argparse gives a
    # positional list after the dump no words that follow an option).
    mode = parser.add_mutually_exclusive_group()
    for flag, name, text in (("-t", "times", "run time, start time and user/system time, by start time"),
                             ("-p", "parents", "the parental hierarchy, from the first task down"),
                             ("-c", "children", "the children"),
                             ("-a", "arguments", "the argv and environment strings on the user stack"),
                             ("-l", "last_run", "when each task last ran (sched_info.last_arrival, ns), latest first"),
                             ("-m", "since_run", "how long ago each task last ran, latest first"),
                             ("-g", "thread_groups", "each thread group: its leader and its other threads"),
                             ("-r", "limits", "the resource limits")):
        mode.add_argument(flag, dest=name, metavar="PID|TASK|COMMAND", nargs="*", help=text)
    mode.add_argument("-S", dest="summary", action="store_true", help="how many tasks are in each state")
    parser.add_argument("tasks", metavar="PID|TASK|COMMAND", nargs="*",
                        help="a PID (decimal), a task_struct address (hex) or a command name (\\ before a "
                             "name that is a number)")


_MODES = ("times", "parents", "children", "arguments", "last_run", "since_run", "thread_groups", "limits")


def _mode(args: argparse.Namespace) -> Tuple[Optional[str], List[str]]:
    """The mode option given (None for the table) and the task words: the positional ones, then
    those after the option."""
    for name in _MODES:
        words = getattr(args, name, None)
        if words is not None:
            return name, list(args.tasks) + words
    return ("summary" if getattr(args, "summary", False) else None), list(args.tasks)


class _Context(NamedTuple):
    """What crash's task table keeps of one task (task.c store_context), its state, and the
    task_struct itself for the members a mode reads."""

    pid: int
    tgid: int
    task: int
    parent: int
    cpu: int
    comm: str
    kernel_thread: bool
    state: int
    task_struct: Object


class _Contexts(list):
    """The contexts read, in crash's order, and the tasks that could not be read (``unread``,
    None when every one was)."""

    unread: Optional[UnreadTasks] = None


def _context(task: Object, init_mm: Optional[int]) -> _Context:
    """One task's context (``init_mm``: the variable's address, if the symbols have it).  The
    task_struct is read member by member, not as one snapshot: each member comes from Program's
    cache of the pages just read (a third of the cost of a member of a snapshot), and a
    task_struct with a page left out of the dump (makedumpfile 1.7.8's -d 31 drops 7.1+'s slab
    tail pages) is read as far as ps's members lie on the pages kept."""
    task_struct = task.dereference_()
    pid, tgid, parent = int(task_struct.pid), sched.task_tgid(task_struct), sched.task_parent(task_struct)
    cpu, comm = sched.task_cpu(task_struct), sched.task_comm(task_struct)
    state = sched.task_state_value(task_struct)
    return _Context(pid, tgid, int(task), parent, cpu, comm, sched.crash_kernel_thread(task_struct, state, init_mm),
                    state, task_struct)


def _contexts(prog: Program) -> _Contexts:
    """Each task's context in crash's order, and the tasks that could not be read: a task list
    broken by a missing page still gives every task it reaches."""
    found = sched.crash_tasks(prog)
    error = found.error
    contexts, unread = _Contexts(), []
    init_mm = symbol_address(prog, "init_mm")  # None: crash_kernel_thread looks the variable up itself
    for task in found.tasks:
        try:
            contexts.append(_context(task, init_mm))
        except FaultError as task_error:
            error = error or task_error
            unread.append(int(task))
    if error is not None:
        named = sched.unread_task_pids(prog, (c.task for c in contexts))
        pids: Dict[int, Optional[int]] = {task: named.pop(task, None) for task in unread}
        pids.update(named)
        contexts.unread = UnreadTasks(pids, str(error))
    return contexts


def _matches(context: _Context, word: str, group: bool) -> bool:
    """crash's show_ps() test of one argument: a decimal PID, a hex task address, else a command
    (only a group leader's when -G); crash tries a word as both PID and address."""
    if word.isdigit() and int(word) == context.pid:
        return True
    try:
        if int(word, 16) == context.task:
            return True
    except ValueError:
        pass
    name = word[1:] if word.startswith("\\") else word
    return context.comm == name[:15] and (not group or context.pid == context.tgid)


def _selected(contexts: List[_Context], args: argparse.Namespace, words: List[str]) -> List[_Context]:
    """The tasks a command line names, in crash's order (task table order, then argument order),
    less those -k/-u leave out; -G takes each one's thread-group leader, once."""
    if words:
        chosen = [c for c in contexts for word in words if _matches(c, word, args.group)]
    else:
        chosen = list(contexts)
    if args.kernel:
        chosen = [c for c in chosen if c.kernel_thread]
    if args.user:
        chosen = [c for c in chosen if not c.kernel_thread]
    if not args.group:
        return chosen
    leaders = {c.pid: c for c in contexts if c.pid == c.tgid and c.pid}
    seen, out = set(), []
    for context in chosen:
        if context.pid != context.tgid:
            if not words or context.tgid not in leaders:
                continue
            context = leaders[context.tgid]
        if context.task not in seen:
            seen.add(context.task)
            out.append(context)
    return out


def _brief(context: _Context) -> Dict[str, Any]:
    return {"pid": context.pid, "task": context.task, "cpu": context.cpu, "comm": context.comm}


def tasks(prog: Program, contexts: Optional[List[_Context]] = None) -> List[Dict[str, Any]]:
    """One row per task in crash's order: the idle task of each CPU, then every thread by PID; each
    with the ``problems`` :func:`pycore.kernel.sched.task_problems` finds in it.  A task whose row
    cannot be read (its memory counters on a page left out of the dump) is a row of its PID,
    address and ``unreadable``: the fault's message."""
    active = set(sched.active_tasks(prog).values())
    total_pages = mm.high_memory_pages(prog)
    cpus = sched.nr_cpus(prog)
    idle = {int(task) for task in sched.readable_idle_tasks(prog)[0]}  # the unreadable ones have no row
    pid_limit = min(sched.pid_max(prog) or sched.PID_MAX_LIMIT, sched.PID_MAX_LIMIT)
    cpu_count = max(cpumask.nr_cpu_ids(prog), cpus)
    rows = []
    for context in _contexts(prog) if contexts is None else contexts:
        try:
            rows.append(_row(context, total_pages, cpus, active, pid_limit, cpu_count, idle))
        except FaultError as error:
            rows.append({"pid": context.pid, "task": context.task, "unreadable": str(error)})
    return rows


def _row(context: _Context, total_pages: int, cpus: int, active: Set[int], pid_limit: int, cpu_count: int,
         idle: Set[int]) -> Dict[str, Any]:
    task_struct = context.task_struct
    memory = mm.task_memory(task_struct, total_pages, cpus)
    return {
        "pid": context.pid,
        "ppid": sched.task_ppid(task_struct),
        "cpu": context.cpu,
        "task": context.task,
        "state": sched.state_code(context.state),
        "state_value": context.state,
        "percent_mem": round(memory.percent, 6),
        "percent_mem_text": percent_text(memory.percent),
        "vsz_kb": memory.vsz_kb,
        "rss_kb": memory.rss_kb,
        "rss_pages": memory.rss_pages,
        "comm": context.comm,
        "kernel_thread": context.kernel_thread,
        "active": context.task in active,
        "problems": sched.task_problems(task_struct, pid_limit, cpu_count, context.task in idle),
    }


def _times(prog: Program, chosen: List[_Context], sort: bool) -> Dict[str, Any]:
    """ps -t: each task's times, by start time when no task was named (as crash sorts them).
    RUN TIME counts jiffies at the kernel's own HZ (crash's guess where the image does not say)."""
    hz = system.kernel_hz(prog) or system.crash_hz(prog)
    rows = []
    for context in chosen:
        times = sched.task_times(context.task_struct)
        rows.append(dict(_brief(context), start_time=times.start_time, utime=times.utime, stime=times.stime,
                         run_time_seconds=sched.seconds_since_start(prog, times.start_time, hz)))
    if sort:
        rows.sort(key=lambda row: row["start_time"])
    return {"mode": "times", "hz": hz, "tasks": rows}


def _parents(contexts: List[_Context], chosen: List[_Context]) -> Dict[str, Any]:
    """ps -p: for each task, its ancestors from the first (init_task, its own parent) down to it."""
    by_address = {c.task: c for c in contexts}
    chains = []
    for context in chosen:
        chain, seen = [context], {context.task}
        while chain[-1].parent != chain[-1].task:
            parent = by_address.get(chain[-1].parent)
            if parent is None or parent.task in seen:
                break
            seen.add(parent.task)
            chain.append(parent)
        chains.append([_brief(c) for c in reversed(chain)])
    return {"mode": "parents", "chains": chains}


def _grouped(contexts: List[_Context], key: str) -> Dict[int, List[_Context]]:
    """The contexts by the value of their field ``key``, each list in task-table order: ps -c and
    -g look up every task's children or threads here, not in a scan of the whole table per task."""
    groups: Dict[int, List[_Context]] = {}
    for context in contexts:
        groups.setdefault(getattr(context, key), []).append(context)
    return groups


def _children(contexts: List[_Context], chosen: List[_Context]) -> Dict[str, Any]:
    """ps -c: for each task, the tasks whose parent it is, in task-table order."""
    by_parent = _grouped(contexts, "parent")
    return {"mode": "children",
            "tasks": [dict(_brief(c), children=[_brief(child) for child in by_parent.get(c.task, ())
                                                if child.task != c.task])
                      for c in chosen]}


def _arguments(chosen: List[_Context]) -> Collected:
    """ps -a: each task's argv and environment; a kernel thread or an unreadable user page is a
    warning and the task shows its header alone."""
    rows, warnings = [], []
    for context in chosen:
        row = dict(_brief(context), arguments=None, environment=None)
        try:
            strings = sched.task_user_strings(context.task_struct)
            row.update(arguments=strings.arguments, environment=strings.environment)
        except PycoreError as error:
            warnings.append(f"task {context.task:x}: {error}")
        rows.append(row)
    return Collected({"mode": "arguments", "tasks": rows, "warnings": warnings}, warnings)


def _last_run(prog: Program, contexts: List[_Context], chosen: List[_Context], mode: str) -> Dict[str, Any]:
    """ps -l/-m: each task's ``sched_info.last_arrival`` and, for -m, the time since it on its CPU's
    runqueue clock (0 when later); crash lists them latest first (a stable sort: ties in task order)
    and sizes -l's column by the latest."""
    clocks = {cpu: sched.rq_clock(prog, cpu) for cpu in range(sched.nr_cpus(prog))}
    rows = [dict(_brief(c), state=sched.state_code(c.state), last_run=sched.task_last_arrival(c.task_struct))
            for c in chosen]
    for row in rows:
        row["since"] = max(clocks.get(row["cpu"], 0) - row["last_run"], 0)
    rows.sort(key=lambda row: -row["last_run"])
    latest = max((sched.task_last_arrival(c.task_struct) for c in contexts), default=0)
    return {"mode": mode, "width": len(str(latest)), "clocks": clocks, "tasks": rows}


def _thread_groups(contexts: List[_Context], chosen: List[_Context], named: bool) -> Dict[str, Any]:
    """ps -g: each thread-group leader with its other threads; a named thread stands for its leader;
    the idle tasks are one group (tgid 0), listed once."""
    leaders = {c.tgid: c for c in contexts if c.pid == c.tgid}
    by_tgid = _grouped(contexts, "tgid")
    groups, shown = [], set()
    for context in chosen:
        if context.pid != context.tgid:
            if not named or context.tgid not in leaders:
                continue
            context = leaders[context.tgid]
        if context.task in shown or context.pid == 0 and any(g["pid"] == 0 for g in groups):
            continue
        shown.add(context.task)
        groups.append(dict(_brief(context), threads=[_brief(other) for other in by_tgid.get(context.tgid, ())
                                                     if other.task != context.task]))
    return {"mode": "thread_groups", "groups": groups}


def _limits(chosen: List[_Context]) -> Dict[str, Any]:
    return {"mode": "limits", "tasks": [dict(_brief(c), limits=signal.rlimits(c.task_struct)) for c in chosen]}


def _summary(chosen: List[_Context]) -> Dict[str, Any]:
    """ps -S: how many tasks are in each state, states in the order the task table first shows them."""
    counts: Dict[str, int] = {}
    for context in chosen:
        state = sched.state_code(context.state)
        counts[state] = counts.get(state, 0) + 1
    return {"mode": "summary", "states": counts}


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    """The mode's data over every task that can be read; where pages left out of the dump hid
    some, the answer is partial: the error names how many tasks and which PIDs, and why."""
    mode, words = _mode(args)
    contexts = _contexts(prog)
    chosen = _selected(contexts, args, words)
    failed: List[Dict[str, Any]] = []
    if mode == "times":
        collected = Collected(_times(prog, chosen, sort=not words), [])
    elif mode == "parents":
        collected = Collected(_parents(contexts, chosen), [])
    elif mode == "children":
        collected = Collected(_children(contexts, chosen), [])
    elif mode == "arguments":
        collected = _arguments(chosen)
    elif mode in ("last_run", "since_run"):
        collected = Collected(_last_run(prog, contexts, chosen, mode), [])
    elif mode == "thread_groups":
        collected = Collected(_thread_groups(contexts, chosen, bool(words)), [])
    elif mode == "limits":
        collected = Collected(_limits(chosen), [])
    elif mode == "summary":
        collected = Collected(_summary(chosen), [])
    else:
        rows = tasks(prog, chosen)
        failed = [row for row in rows if "unreadable" in row]
        read = [row for row in rows if "unreadable" not in row]
        warnings = [f"task {row['task']:x}: {problem}" for row in read for problem in row["problems"]]
        collected = Collected({"tasks": read, "warnings": warnings}, warnings)
    # A test stands a plain list in for _contexts' answer.
    unread = getattr(contexts, "unread", None)
    if unread is None and not failed:
        return collected
    pids = dict(unread.pids) if unread else {}
    pids.update((row["task"], row["pid"]) for row in failed)
    collected.data["unread"] = [{"task": task, "pid": pid} for task, pid in pids.items()]
    error = unread.error if unread else failed[0]["unreadable"]
    return Collected(collected.data, collected.warnings, unread_tasks_message(UnreadTasks(pids, error)))


def _header(task: Dict[str, Any]) -> str:
    return task_header(task["pid"], task["task"], task["cpu"], task["comm"])


def _with_indented(task: Dict[str, Any], others: List[Dict[str, Any]], none: str) -> List[str]:
    """``task``'s header line, then the header of each of ``others`` (its threads, its children)
    indented two spaces, ``  (none)`` without any, then a blank line: ``ps -g`` and ``ps -c``."""
    return [_header(task)] + (["  " + _header(other) for other in others] or [f"  ({none})"]) + [""]


def _run_time(seconds: int) -> str:
    """crash's convert_time() of RUN TIME: ``HH:MM:SS``, ``N days, `` in front from one day on."""
    days, seconds = divmod(seconds, 86400)
    text = f"{days} days, " if days else ""
    return text + f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _render_arguments(task: Dict[str, Any]) -> List[str]:
    """show_task_args(): ARG: the strings, each non-empty one followed by a space where a NUL ended
    it; ENV: one a line under the first, then an empty line (two when the environment is empty)."""
    if task["arguments"] is None:
        return [_header(task), ""]
    arguments = task["arguments"]
    text = "".join(piece + (" " if piece and i < len(arguments) - 1 else "") for i, piece in enumerate(arguments))
    environment = task["environment"]
    env = ""
    for i, piece in enumerate(environment):
        if piece:
            env += ("     " if i else "") + piece + ("\n" if i < len(environment) - 1 else "")
    printed = sum(len(piece) for piece in environment)
    return [_header(task), f"ARG: {text}", f"ENV: {env}" + "\n" + ("" if printed else "\n")]


# crash's names of the resource limits (task.c rlim_names), RLIMIT_CPU first.
RLIMIT_NAMES = ("CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS", "LOCKS",
                "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME")
_RLIM_INFINITY = (1 << 64) - 1


def _nanoseconds_text(value: int) -> str:
    """crash's translate_nanoseconds(): ``D HH:MM:SS.mmm``."""
    ms, value = value // 1_000_000 % 1000, value // 1_000_000_000
    return f"{value // 86400} {value // 3600 % 24:02d}:{value // 60 % 60:02d}:{value % 60:02d}.{ms:03d}"


def _render_last_run(data: Dict[str, Any], named: bool) -> List[str]:
    lines = []
    for task in data["tasks"]:
        if data["mode"] == "last_run":
            stamp = f"[{task['last_run']:{data['width']}d}]"
        else:
            text = _nanoseconds_text(task["since"])
            if named:
                # A named task's days are padded to those of its CPU's clock.
                days = len(_nanoseconds_text(data["clocks"].get(task["cpu"], 0)).split(" ")[0])
                text = " " * (days - len(text.split(" ")[0])) + text
            stamp = f"[{text}]"
        lines.append(f"{stamp} [{task['state']}]  {_header(task)}")
    return lines


def _render_limits(task: Dict[str, Any]) -> List[str]:
    width = max(len(name) for name in RLIMIT_NAMES)
    lines = [_header(task), f"  {'RLIMIT':>{width}}   {center('CURRENT', 11)}   {center('MAXIMUM', 11)}"]
    for index, (current, maximum) in enumerate(task["limits"]):
        name = RLIMIT_NAMES[index] if index < len(RLIMIT_NAMES) else "(unknown)"
        values = ["(unlimited)" if value == _RLIM_INFINITY else center(str(value), 11) for value in (current, maximum)]
        lines.append(f"  {name:>{width}}   {values[0]}   {values[1]}")
    return lines + [""]


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    mode = data.get("mode")
    lines: List[str] = []
    if mode in ("last_run", "since_run"):
        return "\n".join(_render_last_run(data, bool(_mode(args)[1])))
    if mode == "summary":
        return "\n".join(f"  {state}: {count}" for state, count in data["states"].items())
    if mode == "limits":
        return "\n".join(line for task in data["tasks"] for line in _render_limits(task)) + "\n"
    if mode == "thread_groups":
        for group in data["groups"]:
            lines += _with_indented(group, group["threads"], "no threads")
        return "\n".join(lines) + "\n"
    if mode == "times":
        for task in data["tasks"]:
            lines += [_header(task), f"    RUN TIME: {_run_time(task['run_time_seconds'])}",
                      f"  START TIME: {task['start_time']}", f"       UTIME: {task['utime']}",
                      f"       STIME: {task['stime']}", ""]
        return "\n".join(lines) + "\n"
    if mode == "parents":
        for chain in data["chains"]:
            lines += [" " * depth + _header(task) for depth, task in enumerate(chain)] + [""]
        return "\n".join(lines) + "\n"
    if mode == "children":
        for task in data["tasks"]:
            lines += _with_indented(task, task["children"], "no children")
        return "\n".join(lines) + "\n"
    if mode == "arguments":
        return "".join(line if line.endswith("\n") else line + "\n"
                       for task in data["tasks"] for line in _render_arguments(task))
    lines = [HEADER]
    for row in data["tasks"]:
        comm = f"[{row['comm']}]" if row["kernel_thread"] else row["comm"]
        lines.append(f"{'>' if row['active'] else ' '} {row['pid']:>7} {row['ppid']:>7} {row['cpu']:>3}  "
                     f"{row['task']:16x}  {row['state']:2} {row['percent_mem_text']:>5} {row['vsz_kb']:>8} "
                     f"{row['rss_kb']:>8}  {comm}")
    return "\n".join(lines)


COMMAND = DumpCommand("ps", add_arguments=add_arguments, collect=collect, render=render, values_only=True,
                      description="process status, as crash 9's ps prints it")
