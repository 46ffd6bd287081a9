"""``pycore triage PATH...``: every crash in a /var/crash tree (or vmcores given directly) with its
reason, crashing task, backtrace and signature; duplicates grouped, a timeline per day and hour of day,
``--json`` for programs and ``--output-dir`` for triage.json + a self-contained triage.html."""
import argparse
import datetime
import json
import os
import sys
from typing import Any, Dict, Optional, TextIO

from ..analysis.crash_report import SIGNATURE_DEPTH
from ..analysis.triage import DEFAULT_TIMEOUT, triage
from ..analysis.triage_analyze import DumpTriage
from ..errors import PycoreError
from .common import ExitStatus
from .output import add_json_flag, emit
from .triage_html import busiest_hours_text, render_html

HOUR_BAR_WIDTH = 40

EXIT_STATUS_HELP = f"""exit status:
  {ExitStatus.OK:<4d} every crash found was read (from its vmcore or its vmcore-dmesg.txt)
  {ExitStatus.ERROR:<4d} some dumps were unreadable (listed, and counted in the summary), or an error
      stopped the run (an unreachable --scheduler)
  {ExitStatus.USAGE:<4d} usage error (a bad option, a PATH that does not exist), or no crash was found
      under the PATHs
  {ExitStatus.INTERRUPTED:<4d} interrupted (Ctrl-C)"""


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "triage", help="triage a fleet's crash dumps: reasons, signatures, duplicates, timeline",
        description="Read every dump under the given paths (a /var/crash tree as kdump-tools or kexec-tools "
                    "write it, crash directories, or vmcore files), name each crash's reason, task and "
                    "backtrace, group crashes by signature and show when they happen. A dump that cannot "
                    "be read is reported and skipped; its vmcore-dmesg.txt is used when there is one.",
        epilog=EXIT_STATUS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a crash tree, crash directory or vmcore")
    add_json_flag(parser)
    parser.add_argument("--output-dir", metavar="DIR", help="write triage.json and triage.html into DIR")
    parser.add_argument("-j", "--jobs", type=_positive_int, help="local worker processes (default: one per CPU)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on the Dask distributed cluster at ADDRESS (tcp://host:8786) instead")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"give up on one dump after this long (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--frames", type=_positive_int, default=SIGNATURE_DEPTH, metavar="N",
                        help=f"frames in a signature (default {SIGNATURE_DEPTH})")
    parser.add_argument("--timezone", default="UTC", metavar="TZ", type=_timezone_argument,
                        help="zone for the timeline and for reading crash directory names: UTC (default), "
                             "'local', or a name like Europe/Berlin")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None,
                          help="show a progress bar on stderr, even when it is not a terminal "
                               "(default: only when stderr is a terminal)")
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    parser.set_defaults(handler=run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {text}")
    return value


def _timezone_argument(name: str) -> datetime.tzinfo:
    try:
        return timezone_named(name)
    except PycoreError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def timezone_named(name: str) -> datetime.tzinfo:
    """UTC, the machine's local zone ('local') or an IANA zone."""
    if name.upper() == "UTC":
        return datetime.timezone.utc
    if name == "local":
        return datetime.datetime.now().astimezone().tzinfo or datetime.timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception as error:  # zoneinfo raises several kinds for a bad key
        raise PycoreError(f"unknown time zone {name!r}: expected UTC, local or a name like Europe/Berlin") from error


class ProgressBar:
    """``triage ━━━━━━━╸━━━━ 12/40 0:00:07 name``: rich's progress bar on stderr, redrawn in place and
    fitted to the terminal's width; the name is the dump just finished, ``!`` marking an unreadable one.

    Redrawn only when a dump finishes (no refresh thread: the analysis forks its children), and left on
    screen as the run's tally; :class:`output.TerminalProgress` serves stages of one job instead (keyed by
    stage name, transient)."""

    def __init__(self, stream: TextIO, force_terminal: Optional[bool]):
        # rich is imported here: the parser imports this module for every command, and only a
        # triage at a terminal draws a bar.
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Column

        console = Console(file=stream, force_terminal=force_terminal)
        self.progress = Progress(
            TextColumn("triage"), BarColumn(bar_width=24), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[dump]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False, expand=True)
        self.task: Optional[int] = None

    def __enter__(self) -> "ProgressBar":
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def __call__(self, done: int, total: int, dump: DumpTriage) -> None:
        name = ("! " if dump.status == "error" else "") + dump.name
        if self.task is None:
            self.task = self.progress.add_task("triage", total=total, dump=name)
        self.progress.update(self.task, completed=done, dump=name)
        self.progress.refresh()


def run(args: argparse.Namespace) -> int:
    tz = args.timezone
    missing = [path for path in args.paths if not os.path.exists(path)]
    if missing:
        print(f"pycore triage: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return ExitStatus.USAGE
    show_progress = args.progress if args.progress is not None else sys.stderr.isatty()
    options = dict(jobs=args.jobs, scheduler=args.scheduler, timeout=args.timeout, depth=args.frames, tz=tz)
    if show_progress:
        with ProgressBar(sys.stderr, force_terminal=True if args.progress else None) as progress:
            report = triage(args.paths, on_result=progress, **options)
    else:
        report = triage(args.paths, **options)
    if not report.dumps:
        print(f"pycore triage: no vmcore or vmcore-dmesg.txt under {', '.join(args.paths)}", file=sys.stderr)
        return ExitStatus.USAGE
    data = report.to_dict()
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
        with open(os.path.join(args.output_dir, "triage.json"), "w") as f:
            json.dump(data, f, indent=2, default=str)
            f.write("\n")
        with open(os.path.join(args.output_dir, "triage.html"), "w") as f:
            f.write(render_html(data))
        if not args.json:
            print(f"wrote {os.path.join(args.output_dir, 'triage.json')} and "
                  f"{os.path.join(args.output_dir, 'triage.html')}", file=sys.stderr)
    emit(args, data, render_text)
    return ExitStatus.ERROR if report.unreadable else ExitStatus.OK


def render_text(data: Dict[str, Any]) -> str:
    """People's view: the summary, the signature groups, the timeline, a line per dump, the failures."""
    summary, timeline = data["summary"], data["timeline"]
    lines = [f"{summary['dumps']} dumps: {summary['read_from_vmcore']} read from the vmcore, "
             f"{summary['read_from_dmesg']} from vmcore-dmesg.txt only, {summary['unreadable']} unreadable"
             f"{', %d copies of another dump' % summary['duplicates'] if summary['duplicates'] else ''}; "
             f"{summary['groups']} signature{'s' if summary['groups'] != 1 else ''} ({data['seconds']:.1f} s, "
             f"{data['scheduler']})"]
    if data["groups"]:
        lines += ["", "SIGNATURES"]
        for number, group in enumerate(data["groups"], start=1):
            lines.append(f"  #{number} {group['count']:>3} x {group['example_reason']}")
            lines.append(f"        {' | '.join(group['frames']) or '(no backtrace)'}")
            when = f"{(group['first'] or '?')[:16]} .. {(group['last'] or '?')[:16]}" if group["first"] else "time unknown"
            lines.append(f"        {when}; kernels: {', '.join(group['kernels']) or '?'}")
    lines += ["", f"CRASHES BY HOUR OF DAY ({timeline['timezone']})"]
    top = max(timeline["per_hour"]) or 1
    for hour, count in enumerate(timeline["per_hour"]):
        if count:
            lines.append(f"  {hour:02d}:00 {'#' * max(1, round(HOUR_BAR_WIDTH * count / top)):<{HOUR_BAR_WIDTH}} {count}")
    if not any(timeline["per_hour"]):
        lines.append("  (no crash with a known time)")
    else:
        lines.append(f"  busiest: {busiest_hours_text(timeline)}")
    lines += ["", "CRASHES PER DAY"] + [f"  {day} {count:>4}" for day, count in timeline["per_day"].items()]
    if timeline["undated"]:
        lines.append(f"  {timeline['undated']} without a known time")
    groups = {name: number for number, group in enumerate(data["groups"], start=1) for name in group["dumps"]}
    lines += ["", "DUMPS"]
    for dump in data["dumps"]:
        if dump["status"] == "error":
            continue
        when = (dump["crash_time_iso"] or "")[:19].replace("T", " ") or "time unknown"
        task = dump["task"]
        who = f"{task['comm']} pid {task['pid']}" + (f" cpu {task['cpu']}" if task.get("cpu") is not None else "") \
            if task else "task unknown"
        origin = "" if dump["status"] == "ok" else f" [from {dump['log_source']}" + \
            (f"; {dump['errors'][0]}" if dump["errors"] else "") + "]"
        copy = f" (copy of {dump['duplicate_of']})" if dump.get("duplicate_of") else ""
        lines.append(f"  #{groups.get(dump['name'], '?'):<3} {dump['name']}{copy}: {when} ({dump['crash_time_source'] or '-'})"
                     f", {dump['kernel_release'] or '?'}, {who}: {dump['reason']}{origin}")
    failed = [dump for dump in data["dumps"] if dump["status"] == "error"]
    if failed:
        lines += ["", "UNREADABLE (skipped)"]
        for dump in failed:
            lines.append(f"  {dump['name']}: {'; '.join(dump['errors'])}")
    return "\n".join(lines)
