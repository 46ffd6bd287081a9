"""The ``pycore`` command: one module per sub-command under pycore/cli/.

``COMMANDS`` names each command, the module that holds it and its one-line help, so that a command
line imports the one module it runs (``pycore --help`` imports none).  A module holds either
:class:`~pycore.cli.command.DumpCommand` objects (``COMMAND``, or ``COMMANDS`` when it holds several:
these also run at the crash prompt) or, for a command that does not read one dump (``triage``,
``trouble``), ``register(subparsers)``, which adds its parser and sets ``handler`` (a function taking
the parsed arguments and returning an exit status).  ``main`` turns every failure into one line on
stderr (JSON with ``--json``) and an :class:`ExitStatus`; with ``--timings`` (or
``PYCORE_TIMINGS=1``) it then prints where the time went.
"""
import argparse
import importlib
import os
import sys
import time
from typing import Dict, List, Optional, TextIO, Tuple

from .. import timings
from ..errors import PycoreError
from .command import CommandParser, UsageError
from .common import EXIT_STATUS_HELP, ExitStatus, long_lived, run_as_the_process
from .output import report_error

# name: (module under pycore/cli/, help)
COMMANDS: Dict[str, Tuple[str, str]] = {
    "info": ("info", "describe a dump: format, kernel, memory, crash time"),
    "rd": ("rd", "read memory (crash's rd)"),
    "eval": ("eval", "evaluate an expression (crash's eval)"),
    "ascii": ("eval", "the characters in a number, or the ASCII table (crash's ascii)"),
    "ptob": ("eval", "page frame numbers to bytes (crash's ptob)"),
    "btop": ("eval", "bytes to page frame numbers (crash's btop)"),
    "sym": ("sym", "symbols by name, address or part of a name (crash's sym)"),
    "vtop": ("vtop", "virtual to physical, with each page-table entry (crash's vtop)"),
    "ptov": ("vtop", "physical to direct-map virtual addresses (crash's ptov)"),
    "dis": ("dis", "disassemble kernel text in gdb's AT&T syntax (crash's dis)"),
    "search": ("search", "search memory for values or strings (crash's search)"),
    "trouble": ("trouble", "find OOM kills, disk errors, oopses, lockups and panics in a kernel log"),
    "oom": ("oom", "explain each oom-killer report in a kernel log"),
    "shell": ("shell", "interactive Python with the dump loaded as prog"),
    "run": ("run", "run a Python script with the dump loaded as prog (drgn -c vmcore script.py)"),
    "log": ("log", "the kernel log buffer, as crash's log command prints it"),
    "kmem": ("kmem", "memory summary, zones and slab caches (crash's kmem)"),
    "sys": ("sysinfo", "system data: CPUs, date, uptime, load, release, memory, panic"),
    "ps": ("ps", "process status (crash's ps)"),
    "runq": ("runq", "the tasks on each CPU's run queue (crash's runq)"),
    "bt": ("bt", "kernel stack traces (crash's bt, bt -a, foreach bt)"),
    "mod": ("mod", "loaded kernel modules (crash's mod)"),
    "files": ("files", "open files of tasks (crash's files)"),
    "vm": ("vm", "virtual memory areas of tasks (crash's vm)"),
    "gcore": ("gcore", "write an ELF core file of a user process that gdb loads"),
    "mount": ("mount", "mounted filesystems (crash's mount)"),
    "dev": ("dev", "character and block devices, or disks and their requests in flight (crash's dev, dev -d)"),
    "ipcs": ("ipcs", "System V shared memory, semaphores and message queues (crash's ipcs)"),
    "swap": ("swap", "swap areas in use (crash's swap)"),
    "net": ("net", "network devices and their addresses (crash's net)"),
    "fuser": ("fuser", "the tasks using a file: root, cwd, open file or mapping (crash's fuser)"),
    "mach": ("mach", "machine data: memory size, CPUs, kernel address bases, stacks, memory map (crash's mach)"),
    "pte": ("pte", "the page address and flags, or swap place, in page-table entries (crash's pte)"),
    "sig": ("sig", "signal handling of tasks (crash's sig)"),
    "task": ("task", "a task's task_struct and thread_info (crash's task)"),
    "timer": ("timer", "the pending timers of each CPU (crash's timer)"),
    "waitq": ("waitq", "the tasks queued on a wait queue (crash's waitq)"),
    "foreach": ("foreach", "run bt, task, files, vm, net, ps or sig on chosen tasks (crash's foreach)"),
    "irq": ("irq", "interrupts per CPU (crash's irq -s)"),
    "p": ("print_value", "print a C expression's value (crash's p)"),
    "whatis": ("whatis", "a type, or the type of a symbol or expression (crash's whatis)"),
    "struct": ("struct", "a struct's layout or contents (crash's struct)"),
    "union": ("struct", "a union's layout or contents (crash's union)"),
    "list": ("list_walk", "walk a linked list (crash's list)"),
    "tree": ("tree", "walk a red-black tree or an XArray (crash's tree)"),
    "hang": ("hang", "blocked tasks, what they wait for, who holds it, wait chains and deadlocks"),
    "triage": ("triage", "triage a fleet's crash dumps: reasons, signatures, duplicates, timeline"),
    "crash": ("crash", "crash's prompt on one open dump: crash's command lines, -c LINE, -i FILE"),
}


def command_module(name: str):
    """The module that holds command ``name`` (imported now)."""
    return importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")


def dump_command(name: str):
    """The :class:`~pycore.cli.command.DumpCommand` called ``name``; None for a command that does
    not read one dump (``triage``)."""
    module = command_module(name)
    for command in getattr(module, "COMMANDS", [getattr(module, "COMMAND", None)]):
        if command is not None and command.name == name:
            return command
    return None


class _VersionAction(argparse.Action):
    """``--version``, worked out when asked for: it reads the installed metadata and probes the C
    extension, which no other command line needs to pay for."""

    def __init__(self, option_strings: List[str], dest: str = argparse.SUPPRESS, help: Optional[str] = None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from .common import build_info, describe_build

        sys.stdout.write(f"pycore {describe_build(build_info())}\n")
        parser.exit()


def build_parser(command: Optional[str] = None, others: bool = True) -> argparse.ArgumentParser:
    """The parser of ``pycore``; only ``command``'s module is imported (none when None: ``--help``
    lists the commands from the table).  ``others``: whether the other commands are added too,
    which only ``--help`` and the error naming an unknown command show (a parser each: ~6 ms)."""
    parser = CommandParser(prog="pycore", description="Read Linux kernel crash dumps.", epilog=EXIT_STATUS_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_VersionAction,
                        help="show the version and whether the C extension or pure Python reads dumps")
    parser.add_argument("--timings", action="store_true",
                        help="print on stderr where the command spent its time: import, open, symbols, types, "
                             "work, render (also PYCORE_TIMINGS=1)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, (_, help_text) in COMMANDS.items():
        if name != command:
            if others:
                subparsers.add_parser(name, help=help_text)
            continue
        found = dump_command(name)
        if found is not None:
            from .command import register

            register(subparsers, found, help_text)
        else:
            command_module(name).register(subparsers)
    return parser


def _command_in(argv: List[str], parser: argparse.ArgumentParser) -> Optional[str]:
    """The sub-command named on a command line that did not parse, for the error report."""
    if parser.prog != "pycore":
        return parser.prog.split()[1]
    return _named(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run one command; return its exit status (see :class:`ExitStatus`).  Without ``argv`` (the
    command line of the process) what the command keeps to its end is kept from the cyclic
    garbage collector (:func:`~pycore.cli.common.long_lived`)."""
    if argv is None:
        argv = sys.argv[1:]
        run_as_the_process()
    started = time.perf_counter()
    named = _named(argv)
    # --timings is pycore's own option: before the command (after it, the command's parser rejects it).
    if "--timings" in argv[:argv.index(named) if named else len(argv)] or \
            os.environ.get("PYCORE_TIMINGS", "") not in ("", "0"):
        timings.enable()
    try:
        return _run(argv, named)
    finally:
        if timings.enabled():
            report_timings(timings.process_age(), time.perf_counter() - started)


def _may_list_commands(argv: List[str], named: Optional[str]) -> bool:
    """Whether parsing ``argv`` may print the list of commands, which needs every command's parser:
    unless it names a known command with no option but ``--timings`` before it (``-h`` or an
    abbreviation of ``--help`` there prints the list; an unknown command's error names them all)."""
    return named not in COMMANDS or any(word != "--timings" for word in argv[:argv.index(named)])


def _build_parser_frozen(command: Optional[str], others: bool) -> argparse.ArgumentParser:
    """:func:`build_parser`, whose imports (the command's module and what it needs) last the
    process: made with the cyclic garbage collector off, then frozen
    (:func:`~pycore.cli.common.long_lived`)."""
    with long_lived():
        return build_parser(command, others)


def _named(argv: List[str]) -> Optional[str]:
    """The command a command line names: its first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def _run(argv: List[str], named: Optional[str]) -> int:
    # A command line that does not parse still says whether JSON was asked for.
    as_json = "--json" in argv
    command = None
    try:
        with timings.phase("import"):
            parser = _build_parser_frozen(named if named in COMMANDS else None, _may_list_commands(argv, named))
        try:
            args = parser.parse_args(argv)
        except UsageError as error:
            if as_json:
                report_error(_command_in(argv, error.parser), error.message, as_json)
            else:
                error.parser.print_usage(sys.stderr)
                sys.stderr.write(f"{error.parser.prog}: error: {error.message}\n")
            return ExitStatus.USAGE
        command, as_json = args.command, getattr(args, "json", False)
        return args.handler(args)
    except BrokenPipeError:  # output piped into head, less, ...
        return ExitStatus.OK
    except KeyboardInterrupt:
        sys.stdout.flush()
        report_error(command, "interrupted", as_json)
        return ExitStatus.INTERRUPTED
    except (PycoreError, OSError) as error:
        # What a command printed before it failed (rd up to a hole) comes first.
        sys.stdout.flush()
        report_error(command, str(error), as_json)
        return ExitStatus.ERROR


def report_timings(age_at_end: Optional[float], in_main: float, stream: Optional[TextIO] = None) -> None:
    """Write the timed phases to ``stream`` (stderr), one a line, then ``other`` (what no phase
    covers) and the total.  ``import`` counts from the process's start (the interpreter and the
    package imported before ``main``) when the kernel tells it (``age_at_end``, Linux), else from
    ``main``'s start (``in_main`` seconds ago)."""
    stream = stream or sys.stderr
    phases = timings.phases()
    before_main = max(0.0, age_at_end - in_main) if age_at_end is not None else 0.0
    phases["import"] = phases.get("import", 0.0) + before_main
    total = before_main + in_main
    phases["other"] = max(0.0, total - sum(phases.values()))
    stream.write("pycore timings:\n")
    order = ["import", "open", "symbols", "types", "work", "render"]
    for name in order + [name for name in phases if name not in order and name != "other"] + ["other"]:
        if name in phases:
            stream.write(f"  {name:<8} {phases[name]:8.3f} s\n")
    stream.write(f"  {'total':<8} {total:8.3f} s\n")
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
