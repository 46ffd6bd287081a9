"""The ``pycore`` command: one module per sub-command under pycore/cli/.

Each command module defines ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function taking the parsed arguments and returning an exit
status) as a default.  ``COMMANDS`` lists the modules; a module's parser may be
named differently (``sysinfo`` registers ``sys``).  ``main`` turns every failure
into one line on stderr (JSON with ``--json``) and an :class:`ExitStatus`.
"""
import argparse
import importlib
import sys
from typing import List, NoReturn, Optional

from ..errors import PycoreError
from .common import EXIT_STATUS_HELP, ExitStatus, build_info, describe_build
from .output import report_error

COMMANDS = ["info", "rd", "trouble", "oom", "shell", "log", "kmem", "sysinfo", "ps", "runq", "bt", "mod", "triage"]


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pycore", description="Read Linux kernel crash dumps.", epilog=EXIT_STATUS_HELP,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pycore {describe_build(build_info())}",
                        help="show the version and whether the C extension or pure Python reads dumps")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
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
        parser = build_parser()
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
