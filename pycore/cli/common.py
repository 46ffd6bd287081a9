"""What every command shares: the dump arguments, the exit statuses, and which pycore is running."""
import argparse
import contextlib
import enum
import gc
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, NamedTuple, Optional

from .. import __version__, timings
from .output import TerminalProgress, add_json_flag

if TYPE_CHECKING:
    from ..program import Program


class ExitStatus(enum.IntEnum):
    """The exit statuses of ``pycore``; README "Exit codes" and ``pycore --help`` list them."""

    OK = 0
    ERROR = 1  # the dump or the input could not be read
    USAGE = 2  # argparse's own status for a bad command line
    THRESHOLD = 3  # trouble --fail-on: an event at or above the level was found
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


EXIT_STATUS_HELP = """exit status:
  0    success
  1    the dump or the input could not be read (one line on stderr; JSON there with --json)
  2    usage error
  3    trouble --fail-on LEVEL: an event at or above LEVEL was found
  130  interrupted (Ctrl-C)"""


class UnreadTasks(NamedTuple):
    """The tasks a partial answer (ps, bt --all-tasks) could not read: their addresses (PID by
    address where the pid IDR names them, None where it does not) and the first fault's message."""

    pids: Dict[int, Optional[int]]
    error: str


def unread_tasks(prog: "Program", read: Iterable[int], error: Exception) -> UnreadTasks:
    """The tasks a broken task list kept from being read: those of the pid IDR not among the task
    addresses ``read`` (:func:`pycore.kernel.sched.unread_task_pids`), with ``error``, the fault."""
    from ..kernel import sched

    return UnreadTasks(sched.unread_task_pids(prog, read), str(error))


def unread_tasks_message(unread: UnreadTasks) -> str:
    """The error line of a partial answer: how many tasks, which PIDs, and the fault."""
    if not unread.pids:  # a walk that broke where the pid IDR names no task it missed (or is unreadable too)
        return f"the task list could not be read in full (the pid IDR names no task missing): {unread.error}"
    pids = sorted(pid for pid in unread.pids.values() if pid is not None)
    unnamed = sum(1 for pid in unread.pids.values() if pid is None)
    which = f"PID{'s' if len(pids) != 1 else ''} {', '.join(map(str, pids))}" if pids else ""
    if unnamed:
        which += (" and " if which else "") + f"{unnamed} without a PID in the pid IDR"
    count = len(unread.pids)
    return f"{count} task{'s' if count != 1 else ''} could not be read ({which}): {unread.error}"


def package_version() -> str:
    """The installed distribution's version; the package's own when run from a checkout that was never installed."""
    # importlib.metadata brings email, zipfile and pathlib: 30 ms that only --version and info need.
    import importlib.metadata

    try:
        return importlib.metadata.version("pycore")
    except importlib.metadata.PackageNotFoundError:
        return __version__


def build_info() -> Dict[str, Any]:
    """Which pycore runs: its version, whether dumps are read by the C extension or in pure Python
    (and why not C), and which page codecs are decoded in C (see :func:`pycore.native.describe`)."""
    from .. import native

    path = native.describe()
    return {"version": package_version(), "reader": "C extension" if path["available"] else "pure Python",
            "why_not_c": path["why_not"], "library": path["library"], "codecs": path["codecs"]}


def describe_build(build: Dict[str, Any]) -> str:
    """One line for ``pycore --version`` and ``pycore info``:
    ``0.1.0, C extension (codecs in C: zlib, zstd; in Python: lzo, snappy)`` or
    ``0.1.0, pure Python (PYCORE_PURE is set)``."""
    if build["why_not_c"]:
        return f"{build['version']}, {build['reader']} ({build['why_not_c']})"
    parts = []
    for where in ("C", "Python"):
        names = [name for name, path in build["codecs"].items() if path == where]
        if names:
            parts.append(f"in {where}: {', '.join(names)}")
    return f"{build['version']}, {build['reader']} (codecs {'; '.join(parts)})"


def add_dump_arguments(parser: argparse.ArgumentParser, json_output: bool = True) -> None:
    """DUMP, --vmlinux, --system-map, --pure, and --json unless the command has no JSON output (the shell)."""
    parser.add_argument("dump", metavar="DUMP", help="the vmcore (ELF, kdump-compressed or flattened)")
    parser.add_argument("--vmlinux", help="the matching vmlinux with debug information")
    parser.add_argument("--system-map", help="the matching System.map")
    parser.add_argument("--pure", action="store_true", help="use the pure-Python path even if C is built")
    if json_output:
        add_json_flag(parser)


# Whether pycore runs as the process (pycore.cli.main given no argv: ``pycore CMD``, ``python -m
# pycore``), which then ends with its command: see long_lived.
_whole_process = False


def run_as_the_process() -> None:
    """Say that this process runs one pycore command line and ends with it (:func:`long_lived`)."""
    global _whole_process
    _whole_process = True


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """When pycore runs as the process (:func:`run_as_the_process`), make what the block makes to
    last it (a command's modules, its open dump and symbol table) with the cyclic garbage
    collector off, then freeze everything out of the collector's reach.  Collections while it was
    made, and traversals of it (a symbol table's lists of ~190k entries, ~30,000 objects from
    imports) by every later collection of an older generation, cost ~10% of a warm ``ps``.  A
    caller running commands in its own process (a test, a program embedding pycore) keeps its
    collector as it is: a freeze would also keep its garbage of the moment for good."""
    if not _whole_process:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def open_from_args(args: argparse.Namespace, prefer_btf: bool = False) -> "Program":
    """The dump the command line names, with progress bars for its long steps on a terminal
    (``--timings``: the symbols and types Program loads are phases of their own).  ``prefer_btf``
    for a command whose output depends only on values (see :class:`pycore.program.Program`).
    What opening makes lasts the command (:func:`long_lived`)."""
    from ..program import open as open_program

    with timings.phase("open"), long_lived():
        return open_program(args.dump, vmlinux=args.vmlinux, system_map=args.system_map,
                            native=False if args.pure else None, progress=TerminalProgress(),
                            prefer_btf=prefer_btf)


def parse_address(text: str) -> int:
    """Addresses are hexadecimal, with or without 0x, as crash takes them."""
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a hexadecimal address: {text!r}") from None


def add_log_source_arguments(parser: argparse.ArgumentParser) -> None:
    """SOURCE for the log-reading commands: a vmcore (with optional debuginfo) or a text log."""
    parser.add_argument("source", metavar="SOURCE",
                        help="a vmcore, or a text log: dmesg, /var/log/messages, journalctl output or a "
                             "console capture ('-' for stdin)")
    parser.add_argument("--vmlinux", help="for a vmcore: the matching vmlinux with debug information")
    parser.add_argument("--system-map", help="for a vmcore: the matching System.map")
    parser.add_argument("--year", type=int,
                        help="year of syslog/journal lines that do not print one (default: this year)")
    add_json_flag(parser)
