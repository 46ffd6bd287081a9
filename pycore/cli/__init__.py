"""The ``pycore`` command: one module per sub-command under pycore/cli/.

``COMMANDS`` names each command, the module that holds it and its one-line help, so that a command
line imports the one module it runs (``pycore --help`` imports none).  A module holds either
:class:`~pycore.cli.command.DumpCommand` objects (``COMMAND``, or ``COMMANDS`` when it holds several:
these also run at the crash prompt) or, for a command that does not read one dump (``triage``,
``trouble``), ``register(subparsers)``, which adds its parser and sets ``handler`` (a function taking
the parsed arguments and returning an exit status).  ``main`` turns every failure into one line on
stderr (JSON with ``--json``) and an :class:`ExitStatus`.
"""
import argparse
import importlib
import sys
from typing import Dict, List, NoReturn, Optional, Tuple

from ..errors import PycoreError
from .common import EXIT_STATUS_HELP, ExitStatus, build_info, describe_build
from .output import report_error

# name: (module under pycore/cli/, help)
COMMANDS: Dict[str, Tuple[str, str]] = {
    "info": ("info", "describe a dump: format, kernel, memory, crash time"),
    "rd": ("rd", "read memory (crash's rd)"),
    "trouble": ("trouble", "find OOM kills, disk errors, oopses, lockups and panics in a kernel log"),
    "oom": ("oom", "explain each oom-killer report in a kernel log"),
    "shell": ("shell", "interactive Python with the dump loaded as prog"),
    "log": ("log", "the kernel log buffer, as crash's log command prints it"),
    "kmem": ("kmem", "memory summary, zones and slab caches (crash's kmem)"),
    "sys": ("sysinfo", "system data: CPUs, date, uptime, load, release, memory, panic"),
    "ps": ("ps", "process status (crash's ps)"),
    "runq": ("runq", "the tasks on each CPU's run queue (crash's runq)"),
    "bt": ("bt", "kernel stack traces (crash's bt, bt -a, foreach bt)"),
    "mod": ("mod", "loaded kernel modules (crash's mod)"),
    "triage": ("triage", "triage a fleet's crash dumps: reasons, signatures, duplicates, timeline"),
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


class UsageError(Exception):
    """A bad command line, raised instead of argparse's exit so that ``main`` reports it (as JSON with --json)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    # Sub-command parsers are made from the parent's class, so every parser of the tree raises.
    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser of ``pycore``; only ``command``'s module is imported (every one when None)."""
    parser = _Parser(prog="pycore", description="Read Linux kernel crash dumps.", epilog=EXIT_STATUS_HELP,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pycore {describe_build(build_info())}",
                        help="show the version and whether the C extension or pure Python reads dumps")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, (_, help_text) in COMMANDS.items():
        if command is not None and name != command:
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
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Optional[List[str]] = None) -> int:
    """Run one command; return its exit status (see :class:`ExitStatus`)."""
    argv = sys.argv[1:] if argv is None else argv
    # A command line that does not parse still says whether JSON was asked for.
    as_json = "--json" in argv
    command = None
    try:
        named = next((word for word in argv if not word.startswith("-")), None)
        parser = build_parser(named if named in COMMANDS else None)
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


if __name__ == "__main__":
    sys.exit(main())
