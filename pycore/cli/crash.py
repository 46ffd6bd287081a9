"""``pycore crash DUMP``: crash's prompt, ``crash> ``, taking crash's command lines verbatim on one open
dump: every command of the table in pycore.cli that reads a dump, ``set`` (the current context), ``help``,
``q``; ``cmd > file``, ``cmd >> file`` and ``cmd | shell pipeline``; ``!command`` (a shell line, as crash
runs one: the whole line to /bin/sh, ``!`` alone a shell); crash's output radix (``set radix``,
``hex``, ``dec``; ``px``/``pd`` print in one radix); ``-c LINE`` and ``-i FILE`` in batch.

The context ``set`` chooses is a task_struct address handed to each command as ``args.context``
(None: the task that panicked, crash's context in a dump).  ``set``'s text is crash 9.0.2's, checked
on the kernels of the corpus (5.10 to 7.2).
"""
import argparse
import bisect
import contextlib
import os
import shlex
import subprocess
import sys
from typing import Callable, Dict, Iterator, List, Optional, TextIO, Tuple

from ..errors import PycoreError
from ..kernel import sched, stack
from ..object import Object
from ..program import Program
from .command import CommandParser, DumpCommand, ParserExit, UsageError, make_parser
from .common import ExitStatus, add_dump_arguments, open_from_args
from .task import tasks_named

PROMPT = "crash> "
HISTORY_LENGTH = 5000
QUIT = ("q", "quit", "exit")

# crash's spelling of a command (its first words) -> pycore's; the words after them follow.
CRASH_SPELLINGS: Tuple[Tuple[Tuple[str, ...], Tuple[str, ...]], ...] = (
    (("foreach", "bt"), ("bt", "--all-tasks")),
    # crash's built-in aliases for p in one radix.
    (("px",), ("p", "-x")),
    (("pd",), ("p", "-d")),
)
# crash's output radixes (``set radix``), as it names them.
RADIX_NAMES = {10: "decimal", 16: "hex"}

# crash 9's long state names (show_context's STATE line), in the order it joins them with "|".
# Checked against crash on the corpus: TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE|TASK_NOLOAD.
_STATE_NAMES = (
    (sched.TASK_INTERRUPTIBLE, "TASK_INTERRUPTIBLE"),
    (sched.TASK_UNINTERRUPTIBLE, "TASK_UNINTERRUPTIBLE"),
    (sched.__TASK_STOPPED, "TASK_STOPPED"),
    (sched.__TASK_TRACED, "TASK_TRACED"),
    (sched.EXIT_ZOMBIE, "EXIT_ZOMBIE"),
    (sched.EXIT_DEAD, "EXIT_DEAD"),
    (sched.TASK_DEAD, "TASK_DEAD"),
    (sched.TASK_WAKEKILL, "TASK_WAKEKILL"),
    (sched.TASK_WAKING, "TASK_WAKING"),
    (sched.TASK_PARKED, "TASK_PARKED"),
    (sched.TASK_NOLOAD, "TASK_NOLOAD"),
    (sched.TASK_NEW, "TASK_NEW"),
)


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "crash", help="crash's prompt on one open dump: crash's command lines, -c LINE, -i FILE",
        description="crash's prompt (crash> ) on one open dump.  At a terminal: history and completion of "
                    "commands, symbols and struct.member; otherwise (a pipe, -c, -i) the lines run in batch "
                    "and the exit status is the last failing line's.")
    add_dump_arguments(parser, json_output=False)
    parser.add_argument("-c", dest="lines", metavar="LINE", action="append", default=[],
                        help="run this command line (repeatable), then exit")
    parser.add_argument("-i", dest="input_file", metavar="FILE", help="run the command lines of FILE, then exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    lines: List[str] = list(args.lines)
    if args.input_file is not None:
        with open(args.input_file) as f:
            lines += f.read().splitlines()
    with open_from_args(args) as prog:
        session = Session(prog, sys.stdout, sys.stderr, dumpfile=args.dump)
        if lines or args.input_file is not None:
            return session.run_lines(lines)
        if not sys.stdin.isatty():
            return session.run_lines(line.rstrip("\n") for line in sys.stdin)
        return session.interact()


class EndOfSession(Exception):
    """``q``, ``quit`` or ``exit``."""


def split_line(line: str) -> Tuple[str, Optional[str], Optional[Tuple[str, str]]]:
    """A crash command line cut into the command, the shell pipeline after its first ``|`` and the
    file after ``>`` (mode ``w``) or ``>>`` (mode ``a``).  Quoted text, text in parentheses (``eval``'s
    expressions) and ``->`` (a member of a pointer in ``p``) are never cut; a ``#`` word and what
    follows it is a comment."""
    quote, depth = "", 0
    for at, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth:
            continue
        elif char == "#" and (at == 0 or line[at - 1].isspace()):  # a comment: nothing after it counts
            return line[:at], None, None
        elif char == "|":
            return line[:at], line[at + 1:].strip(), None
        elif char == ">" and not line[:at].endswith("-"):
            append = line[at + 1:at + 2] == ">"
            path = line[at + (2 if append else 1):].strip()
            return line[:at], None, ("a" if append else "w", path)
    return line, None, None


def split_words(command: str) -> List[str]:
    """A command's words as the shell splits them, except that ``foreach`` keeps its words' single
    quotes, as crash's parse_line does: a quoted task name is a regular expression there."""
    if command.split(None, 1)[:1] != ["foreach"]:
        return shlex.split(command)
    lexer = shlex.shlex(command, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    return list(lexer)


def crash_spelling(words: List[str]) -> List[str]:
    """``words`` with crash's spelling of a command replaced by pycore's (``foreach bt`` -> ``bt --all-tasks``,
    gdb's ``p/x VALUE`` -> ``p /x VALUE``)."""
    if words and "/" in words[0] and not words[0].startswith("/"):
        name, _, output_format = words[0].partition("/")
        words = [name, "/" + output_format] + words[1:]
    for crash_words, pycore_words in CRASH_SPELLINGS:
        if tuple(words[:len(crash_words)]) == crash_words:
            return list(pycore_words) + words[len(crash_words):]
    return words


def state_name(state: int) -> str:
    """crash's long name of a task state (``state | exit_state``): ``TASK_RUNNING``, or the names of
    its bits joined by ``|`` (``TASK_UNINTERRUPTIBLE|TASK_NOLOAD`` for an idle kworker)."""
    if state == sched.TASK_RUNNING:
        return "TASK_RUNNING"
    names = [name for bits, name in _STATE_NAMES if state & bits]
    return "|".join(names) if names else "(unknown)"


class Session:
    """One crash prompt session on an open Program: the current context and the commands' parsers.

    ``run_line`` runs one command line and returns its status; a failure is one line on ``err``
    (``CMD: message``, as crash prints it) and never ends the session."""

    def __init__(self, prog: Program, out: TextIO, err: TextIO, dumpfile: Optional[str] = None):
        self.prog = prog
        self.out = out
        self.err = err
        #: The dump as the command line named it (``set -v``'s dumpfile).
        self.dumpfile = dumpfile
        #: Whether lines come from a person at the prompt (``set -v``'s silent is off then).
        self.interactive = False
        #: The task_struct address ``set`` chose; None is the task that panicked.
        self.context: Optional[int] = None
        #: gdb's value history ($1, $2, ...): every value ``p`` printed in this session (None: void).
        self.value_history: List[Optional[Object]] = []
        #: crash's output radix, the default of the commands that take -x and -d.
        self.radix = 10
        self._parsers: Dict[str, argparse.ArgumentParser] = {}
        self._unwinder: Optional[stack.Unwinder] = None
        self.builtins: Dict[str, Callable[[List[str], TextIO], int]] = {
            "set": self._set, "help": self._help,
            "hex": lambda argv, out: self._set_radix(["16"], out), "dec": lambda argv, out: self._set_radix(["10"], out)}

    # -- running lines -----------------------------------------------------------------------------
    def run_lines(self, lines: "Iterator[str] | List[str]") -> int:
        """Run each line (batch mode); the status is the last failing line's, 0 when none failed."""
        status = 0
        for line in lines:
            try:
                result = self.run_line(line)
            except EndOfSession:
                break
            status = result or status
        return status

    def interact(self) -> int:
        """The prompt at a terminal, with readline history and completion; ends at ``q`` or end of input."""
        readline = _readline(Completer(self))
        self.interactive = True
        status = 0
        try:
            while True:
                try:
                    line = input(PROMPT)
                except EOFError:
                    self.out.write("\n")
                    break
                except KeyboardInterrupt:  # a fresh prompt, as crash gives
                    self.out.write("\n")
                    continue
                try:
                    status = self.run_line(line) or status
                except EndOfSession:
                    break
        finally:
            if readline is not None:
                _save_history(readline)
        return status

    def run_line(self, line: str) -> int:
        """Run one crash command line; raise :class:`EndOfSession` for ``q``."""
        if line.lstrip().startswith("!"):
            return self._shell(line.lstrip()[1:].strip())
        command, pipeline, redirect = split_line(line)
        try:
            words = crash_spelling(split_words(command))
        except ValueError as error:  # an unbalanced quote
            return self._fail("crash", str(error))
        if not words:
            return 0
        name = words[0]
        if name in QUIT:
            raise EndOfSession
        self.out.flush()
        try:
            with self._destination(pipeline, redirect) as out, contextlib.redirect_stdout(out):
                return self._dispatch(name, words[1:], out)
        except BrokenPipeError:  # the pipeline stopped reading (head)
            return 0
        except KeyboardInterrupt:
            return self._fail(name, "interrupted", ExitStatus.INTERRUPTED)
        except (PycoreError, OSError, LookupError) as error:
            return self._fail(name, str(error))
        except Exception as error:  # a bug in one command must not end the session it runs in
            return self._fail(name, f"{type(error).__name__}: {error}")

    def _shell(self, command: str) -> int:
        """crash's ``!command``: the rest of the line (redirections and pipes too) run by /bin/sh,
        its output the session's; ``!`` alone starts the user's shell until it exits."""
        self.out.flush()
        argv = ["/bin/sh", "-c", command] if command else [os.environ.get("SHELL", "/bin/sh")]
        if _has_fileno(self.out):
            status = subprocess.run(argv).returncode
        else:  # a session writing to a buffer (tests, -c into a pipe captured in-process)
            done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, errors="replace")
            self.out.write(done.stdout)
            status = done.returncode
        return ExitStatus.OK if status == 0 else ExitStatus.ERROR

    def _fail(self, name: str, message: str, status: int = ExitStatus.ERROR) -> int:
        self.out.flush()
        self.err.write(f"{name}: {message}\n")
        self.err.flush()
        return status

    @contextlib.contextmanager
    def _destination(self, pipeline: Optional[str], redirect: Optional[Tuple[str, str]]) -> Iterator[TextIO]:
        """Where a line's output goes: the session's output, a file (``>``, ``>>``) or the standard
        input of ``/bin/sh -c PIPELINE``, whose own output is the session's."""
        if redirect is not None:
            mode, path = redirect
            if not path:
                raise OSError("no file named after >")
            with open(os.path.expanduser(path), mode) as f:
                yield f
        elif pipeline is not None:
            process = subprocess.Popen(["/bin/sh", "-c", pipeline], stdin=subprocess.PIPE, text=True,
                                       stdout=self.out if _has_fileno(self.out) else None)
            try:
                yield process.stdin
            finally:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
                process.wait()
        else:
            yield self.out

    def _dispatch(self, name: str, argv: List[str], out: TextIO) -> int:
        if name in self.builtins:
            return self.builtins[name](argv, out)
        command = self.command(name)
        if command is None:
            self.out.flush()
            self.err.write(f"crash: command not found: {name}\n")
            return ExitStatus.ERROR
        parser = self._parsers.get(name) or self._parsers.setdefault(name, make_parser(command, CommandParser))
        try:
            args = parser.parse_args(argv)
        except UsageError as error:
            return self._usage(name, error.message, parser)
        except ParserExit as done:  # -h
            return done.code or 0
        args.context = self.context
        args.value_history = self.value_history
        if getattr(args, "radix", 0) is None:  # neither -x nor -d: the session's radix
            args.radix = self.radix
        return command.run(self.prog, args, out, self.err)

    def _usage(self, name: str, message: str, parser: argparse.ArgumentParser) -> int:
        """A bad command line, as crash reports one: the error, the usage, where to read more."""
        usage = parser.format_usage().replace("usage: ", "  ", 1)
        self.out.flush()
        self.err.write(f"{name}: {message}\nUsage:\n{usage}Enter \"help {name}\" for details.\n")
        return ExitStatus.USAGE

    @staticmethod
    def command(name: str) -> Optional[DumpCommand]:
        """The command of the table that reads a dump, called ``name`` (crash's prompt runs only those)."""
        from . import COMMANDS, dump_command

        return dump_command(name) if name in COMMANDS else None

    @classmethod
    def command_names(cls) -> List[str]:
        """Every name typed at the prompt: the commands that read a dump and the prompt's own."""
        from . import COMMANDS

        names = []
        for name in COMMANDS:
            with contextlib.suppress(ImportError):  # a command whose module cannot load is not offered
                if cls.command(name) is not None:
                    names.append(name)
        return sorted(set(names) | {"set", "help", "exit"} | {words[0] for words, _ in CRASH_SPELLINGS}) + ["q"]

    # -- help ------------------------------------------------------------------------------------
    def _help(self, argv: List[str], out: TextIO) -> int:
        """``help``: the commands in crash's five columns; ``help CMD``: its options."""
        if not argv:
            out.write(help_listing(self.command_names()))
            return 0
        status = 0
        for name in argv:
            command = self.command(name)
            if command is not None:
                out.write(make_parser(command, CommandParser).format_help())
            elif name in self.builtins or name in QUIT:
                out.write(_BUILTIN_HELP.get(name, _BUILTIN_HELP["q"]))
            else:
                out.write(f"No help data for \"{name}\" is available.\n")
                status = ExitStatus.ERROR
        return status

    # -- set -------------------------------------------------------------------------------------
    def _set(self, argv: List[str], out: TextIO) -> int:
        """crash's ``set``: show the context, or switch it to a PID, a task, ``-c CPU``'s active task
        or ``-p`` the task that panicked, then show it; ``set radix [10|16]``: crash's output radix."""
        if argv[:1] == ["radix"]:
            return self._set_radix(argv[1:], out)
        if argv == ["-v"]:
            out.write(render_variables(self.variables()) + "\n")
            return 0
        parser = CommandParser(prog="set", add_help=False)
        parser.add_argument("-p", dest="panic", action="store_true")
        parser.add_argument("-c", dest="cpu")
        parser.add_argument("task", nargs="?")
        try:
            args = parser.parse_args(argv)
        except UsageError as error:
            return self._usage("set", error.message, parser)
        unwinder = self.unwinder()
        if args.panic:
            self.context = None
        elif args.cpu is not None:
            cpus = sched.nr_cpus(self.prog)
            if not args.cpu.isdigit() or int(args.cpu) >= cpus:
                return self._fail("set", f"invalid cpu number: system has only {cpus} cpus")
            if int(args.cpu) not in unwinder.active:
                return self._fail("set", f"no active task on cpu {args.cpu}")
            self.context = unwinder.active[int(args.cpu)]
        elif args.task is not None:
            # crash's str_to_context(): a decimal PID (its first task), else a task_struct address.
            self.context = int(tasks_named(self.prog, [args.task], None)[0])
        out.write(render_context(self.context_data()) + "\n")
        return 0

    def variables(self) -> List[Tuple[str, str]]:
        """crash's internal variables as ``set -v`` lists them (show_options), with pycore's values: no
        pager (scroll off), the session's radix, the dump as named and the vmlinux when one was given
        (without one, where the symbols and types came from); the rest are crash's defaults, which
        pycore does not change."""
        namelist = self.prog.vmlinux or f"(none: {self.prog.symbols.source}, {self.prog.types.source})"
        return [("scroll", "off (none)"), ("radix", f"{self.radix} ({RADIX_NAMES[self.radix]})"),
                ("refresh", "on"), ("print_max", "256"), ("print_array", "off"), ("console", "(not assigned)"),
                ("debug", "0"), ("core", "off"), ("hash", "on"), ("silent", "off" if self.interactive else "on"),
                ("edit", "vi"), ("namelist", namelist), ("dumpfile", self.dumpfile or "(unknown)"),
                ("unwind", "off"), ("zero_excluded", "off"), ("null-stop", "off"), ("gdb", "off"),
                ("scope", "0 (not set)"), ("offline", "show"), ("redzone", "on"), ("error", "default")]

    def _set_radix(self, argv: List[str], out: TextIO) -> int:
        """``set radix [10|16]`` (and crash's aliases ``hex``, ``dec``): show or change the output radix."""
        if argv:
            if len(argv) > 1 or argv[0] not in ("10", "16"):
                return self._fail("set", f"invalid command: set radix {' '.join(argv)} ")
            self.radix = int(argv[0])
        out.write(f"output radix: {self.radix} ({RADIX_NAMES[self.radix]})\n")
        return 0

    def unwinder(self) -> stack.Unwinder:
        """The session's one Unwinder (ORC tables, active and panic tasks), made on first use."""
        if self._unwinder is None:
            self._unwinder = stack.Unwinder(self.prog)
        return self._unwinder

    def context_task(self) -> Optional[int]:
        """The current context's task: ``set``'s, else the task that panicked, else (no CPU panicked)
        the active task of the first CPU the dump saved, as ``bt`` takes it."""
        if self.context is not None:
            return self.context
        unwinder = self.unwinder()
        if unwinder.panic_task is not None:
            return unwinder.panic_task
        return unwinder.active[min(unwinder.active)] if unwinder.active else None

    def context_data(self) -> Dict[str, object]:
        """What crash's ``set`` shows of the current context, as data."""
        address = self.context_task()
        if address is None:
            raise PycoreError("no context: no CPU panicked and the dump saved no CPU")
        return task_context(self.prog, self.unwinder(), address)


def task_context(prog: Program, unwinder: stack.Unwinder, address: int) -> Dict[str, object]:
    """What crash's ``set`` (show_context) shows of the task at ``address``, as data: also what
    ``foreach ... set`` shows of each task."""
    task = Object(prog, prog.type("struct task_struct *"), address)
    pid = int(task.pid)
    active = address in unwinder.active.values()
    panic = address == unwinder.panic_task
    # crash finds the panic task of a dump that kdump did not write (QEMU's) by searching the
    # stacks, and calls it SYSRQ when the search met sysrq_handle_crash.
    sysrq = panic and unwinder.qemu and any(
        frame.symbol == "sysrq_handle_crash" for frame in stack.stack_trace(prog, address, unwinder))
    return {"pid": pid, "comm": sched.task_comm(task), "task": address,
            "thread_info": sched.thread_info_address(task),
            "tasks_with_pid": len(tasks_named(prog, [str(pid)], None)),
            "cpu": sched.task_cpu(task), "state": state_name(sched.task_state_value(task)),
            "active": active, "panic": panic, "sysrq": sysrq}


def render_variables(variables: List[Tuple[str, str]]) -> str:
    """``set -v``: each variable's name right-aligned to 14 columns, a colon and its value."""
    return "\n".join(f"{name:>14}: {value}" for name, value in variables)


def render_context(data: Dict[str, object]) -> str:
    """crash's ``set`` block (task.c show_context); ``(1 of N)`` when N tasks share the PID (the idle
    tasks)."""
    shared = f"(1 of {data['tasks_with_pid']})  " if data["tasks_with_pid"] > 1 else ""
    mark = ""
    if data["active"]:
        mark = "(SYSRQ)" if data["sysrq"] else "(PANIC)" if data["panic"] else "(ACTIVE)"
    return "\n".join([
        f"    PID: {data['pid']}",
        f"COMMAND: \"{data['comm']}\"",
        f"   TASK: {data['task']:x}  {shared}[THREAD_INFO: {data['thread_info']:x}]",
        f"    CPU: {data['cpu']}",
        f"  STATE: {data['state']} {mark}",
    ])


def help_listing(names: List[str], columns: int = 5, width: int = 15) -> str:
    """crash's ``help``: the names down five columns of 15 characters, then where to read more."""
    rows = -(-len(names) // columns)
    lines = [""]
    for row in range(rows):
        lines.append("".join(f"{names[at]:<{width}}" for at in range(row, len(names), rows)))
    lines += ["", "For help on any command above, enter \"help <command>\".", ""]
    return "\n".join(lines) + "\n"


_BUILTIN_HELP = {
    "set": "set [pid | taskp | -c cpu | -p]: show the current context, or set it to a PID, a task_struct\n"
           "address, the task active on a CPU, or (-p) the task that panicked.\n"
           "set radix [10 | 16]: show or change the output radix (also: hex, dec).\n",
    "help": "help [command]: the commands, or one command's options.\n",
    "hex": "hex: set the output radix to 16 (set radix 16).\n",
    "dec": "dec: set the output radix to 10 (set radix 10).\n",
    "q": "q, quit, exit: end the session.\n",
}


def _has_fileno(stream: TextIO) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


# -- the terminal: history and completion ---------------------------------------------------------------
class Completer:
    """readline completion: command names first, then symbol names, and ``struct.member`` for a word
    holding a dot (``task_struct.co`` -> ``task_struct.comm``)."""

    def __init__(self, session: Session):
        self.session = session
        self._commands: Optional[List[str]] = None
        self._symbols: Optional[List[str]] = None
        self._matches: List[str] = []

    def candidates(self, line: str, word: str) -> List[str]:
        """Every completion of ``word``, the last word of ``line`` so far."""
        if not line[:len(line) - len(word)].strip():
            if self._commands is None:
                self._commands = self.session.command_names()
            return [name for name in self._commands if name.startswith(word)]
        if "." in word:
            return self._members(word)
        if self._symbols is None:
            try:
                self._symbols = sorted({symbol.name for symbol in self.session.prog.symbols})
            except PycoreError:
                self._symbols = []
        start = bisect.bisect_left(self._symbols, word)
        found = []
        for name in self._symbols[start:]:
            if not name.startswith(word) or len(found) >= 500:
                break
            found.append(name)
        return found

    def _members(self, word: str) -> List[str]:
        """``STRUCT.MEMBER...partial``: the members of the last complete one that start with partial."""
        path, _, partial = word.rpartition(".")
        struct, _, members_path = path.partition(".")
        try:
            outer = self.session.prog.type(f"struct {struct}")
            members = (outer.member_path(members_path).type.resolved() if members_path else outer).members
        except (PycoreError, LookupError, AttributeError):
            return []
        names = []
        for member in members or ():
            if member.name is not None:
                names.append(member.name)
            else:  # an anonymous struct or union: its members are reached as the outer one's
                names += [inner.name for inner in member.type.resolved().members or () if inner.name]
        return [f"{struct}.{name}" for name in names if name.startswith(partial)]

    def complete(self, word: str, state: int) -> Optional[str]:
        if state == 0:
            import readline

            self._matches = self.candidates(readline.get_line_buffer()[:readline.get_endidx()], word)
        return self._matches[state] if state < len(self._matches) else None


def history_path() -> str:
    """Where the prompt keeps its readline history between sessions."""
    from ..cache import cache_root

    return os.path.join(cache_root(), "crash_history")


def _readline(completer: Completer):
    """readline set up with ``completer`` and the saved history; None for a Python built without it."""
    try:
        import readline
    except ImportError:
        return None
    readline.set_completer(completer.complete)
    readline.set_completer_delims(" \t\n|>")
    # macOS's Python links libedit, which spells the binding its own way.
    readline.parse_and_bind("bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") else "tab: complete")
    with contextlib.suppress(OSError):  # the first session: no history yet
        readline.read_history_file(history_path())
    readline.set_history_length(HISTORY_LENGTH)
    return readline


def _save_history(readline) -> None:
    path = history_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    readline.write_history_file(path)
