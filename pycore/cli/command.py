"""The shape of every command that reads one dump, so that ``pycore CMD DUMP`` and the crash prompt
(``pycore crash DUMP``, where the same words are typed without the dump) run the same code.

A command is its own options (``add_arguments``), the data it collects from an open
:class:`~pycore.program.Program` (``collect``: a kernel-helper call that returns plain data, never
text) and the text it renders from that data (``render``).  The data is what ``--json`` prints.
"""
import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, NoReturn, Optional, Sequence, TextIO, Tuple, Union

from .. import timings

if TYPE_CHECKING:
    from ..program import Program


class UsageError(Exception):
    """A bad command line, raised instead of argparse's exit so that the caller reports it (``main`` as
    JSON with --json, the crash prompt as one line before its next prompt)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser
        self.message = message


class ParserExit(SystemExit):
    """``-h`` (or ``--version``) printed what was asked for: the command is done.  A SystemExit, as
    argparse's own, for ``pycore CMD -h``; the crash prompt catches it and goes on."""


class CommandParser(argparse.ArgumentParser):
    """An argument parser that raises (:class:`UsageError`, :class:`ParserExit`) where argparse would
    end the process: a crash prompt session outlives a bad line.  Sub-command parsers are made from
    the parent's class, so every parser of the tree raises."""

    intermixed = False
    """Options may follow positional words, as crash takes them (``struct task_struct.pid -x init_task``,
    ``pycore list DUMP -r ADDR``): set on a command's own parser, never on ``pycore``'s, whose
    sub-commands argparse cannot intermix."""

    def parse_known_args(self, args: Optional[Sequence[str]] = None,  # type: ignore[override]
                         namespace: Optional[argparse.Namespace] = None) -> Tuple[argparse.Namespace, List[str]]:
        if not self.intermixed:
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args itself (twice): plain parsing there.
        self.intermixed = False
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self.intermixed = True

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)

    def exit(self, status: int = 0, message: Optional[str] = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise ParserExit(status)


@dataclass
class Collected:
    """What ``collect`` hands to ``render``: the data, the warnings to print on stderr (one line each,
    ``CMD: warning``), and the error that cut the output short after part of it was collected
    (``rd`` up to an excluded page): rendered first, then reported, and the exit status is 1.
    ``failed`` is exit status 1 with no message of its own, where the output says why (``bt``'s
    ``bt: ...`` lines when no trace found a frame)."""

    data: Any
    warnings: List[str]
    error: Optional[str] = None
    failed: bool = False


@dataclass(frozen=True)
class DumpCommand:
    """One command of ``pycore`` and of the crash prompt (its one-line help is in pycore.cli.COMMANDS).

    ``collect`` may return a :class:`Collected` (warnings, partial output) or the data itself.
    ``render`` gets the data and the parsed arguments (a command's options often change only the text).
    """

    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    collect: Callable[["Program", argparse.Namespace], Any]
    render: Callable[[Any, argparse.Namespace], str]
    description: Optional[str] = None
    json: bool = True
    """False for a command whose output has no structure worth a --json (``ascii``)."""
    to_json: Optional[Callable[[Any], Any]] = None
    """The JSON form of the data when the data is not JSON as it stands (``log`` keeps each record's
    raw bytes for its text)."""
    values_only: Union[bool, Callable[[argparse.Namespace], bool]] = False
    """True (or, given the parsed arguments, true) when the output depends only on the values read,
    never on how the debug info declares a type: ``ps``, not ``struct`` or ``bt -V`` (locals as gdb
    prints them).  With ``--vmlinux`` such a command reads types from BTF and the vmlinux's DWARF
    only for what BTF lacks (pycore.debuginfo.load_types), which spares it the DWARF scan; its text
    is the same, being crash's without a vmlinux too."""

    def reads_values_only(self, args: argparse.Namespace) -> bool:
        """Whether this run's output depends only on values (:attr:`values_only` for ``args``)."""
        return self.values_only(args) if callable(self.values_only) else self.values_only

    def run(self, prog: "Program", args: argparse.Namespace, out: TextIO, err: TextIO, prefix: str = "") -> int:
        """Collect, then write JSON (with ``--json``) or text to ``out`` and warnings to ``err``
        (``CMD: warning``); returns the exit status.  A partial result's error goes to ``err`` as
        ``{prefix}CMD: error`` (``pycore rd: ...`` standalone, as ``main`` reports failures), as JSON
        under ``--json``.  Other
        failures raise: the caller reports them.  The two steps are timed as ``work`` and ``render``
        (see :mod:`pycore.timings`)."""
        with timings.phase("work"):
            result = self.collect(prog, args)
        collected = result if isinstance(result, Collected) else Collected(result, [])
        for warning in collected.warnings:
            err.write(f"{self.name}: {warning}\n")
        with timings.phase("render"):
            if self.json and getattr(args, "json", False):
                import json

                data = self.to_json(collected.data) if self.to_json else collected.data
                json.dump(data, out, indent=2, default=str)
                out.write("\n")
            else:
                text = self.render(collected.data, args)
                out.write(text if text.endswith("\n") or not text else text + "\n")
        if collected.error is not None:
            out.flush()
            if self.json and getattr(args, "json", False):  # JSON on stderr, as main reports failures
                from .output import report_error

                report_error(self.name, collected.error, True, err)
            else:
                err.write(f"{prefix}{self.name}: {collected.error}\n")
            return 1
        return 1 if collected.failed else 0


def make_parser(command: DumpCommand, parser_class: type = CommandParser,
                prog: Optional[str] = None) -> argparse.ArgumentParser:
    """A parser of the command's own options alone, as the crash prompt parses a line."""
    parser = parser_class(prog=prog or command.name, description=command.description)
    parser.intermixed = True
    command.add_arguments(parser)
    if command.json:
        parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return parser


def standalone_handler(command: DumpCommand) -> Callable[[argparse.Namespace], int]:
    """The handler of ``pycore CMD DUMP ...``: open the dump the arguments name, run, close."""
    from .common import open_from_args

    def handler(args: argparse.Namespace) -> int:
        with open_from_args(args, prefer_btf=command.reads_values_only(args)) as prog:
            return command.run(prog, args, sys.stdout, sys.stderr, prefix="pycore ")
    return handler


def register(subparsers: "argparse._SubParsersAction", command: DumpCommand,
             help_text: str) -> argparse.ArgumentParser:
    """Add ``command`` to ``pycore``'s sub-commands with the dump arguments before its own
    (``help_text`` comes from the table of commands, pycore.cli.COMMANDS)."""
    from .common import add_dump_arguments

    parser = subparsers.add_parser(command.name, help=help_text, description=command.description)
    parser.intermixed = True
    add_dump_arguments(parser, json_output=command.json)
    command.add_arguments(parser)
    parser.set_defaults(handler=standalone_handler(command))
    return parser
