"""``pycore trouble SOURCE``: what went wrong, read from a kernel log (dmesg, syslog,
journalctl, console capture), grouped by severity."""
import argparse
import sys
import textwrap
from typing import Any, Dict, List, Optional

from ..analysis.logtext import LogRecord
from ..analysis.source import load_log
from ..analysis.trouble import SEVERITIES, find_trouble
from .common import ExitStatus, add_log_source_arguments
from .output import emit, fit_to_width, terminal_width

EVIDENCE_SHOWN = 12
#: Width of prose (explanations, advice) when the output is not a terminal: stable lines for files and pipes.
PLAIN_WIDTH = 100
EXIT_STATUS_HELP = f"""exit status:
  {ExitStatus.OK:<4d} the log was read (and, with --fail-on, no event at or above LEVEL was found)
  {ExitStatus.ERROR:<4d} the source could not be read
  {ExitStatus.USAGE:<4d} usage error
  {ExitStatus.THRESHOLD:<4d} --fail-on LEVEL: an event of LEVEL or worse was found
  {ExitStatus.INTERRUPTED:<4d} interrupted (Ctrl-C)"""


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "trouble", help="find OOM kills, disk errors, oopses, sanitizer reports, lockups and panics in a kernel log",
        description="Classify every event in a kernel text log or a vmcore's log: every report the kernel prints "
                    "(KASAN, KMSAN, KCSAN, KFENCE, UBSAN, lockdep, kmemleak, refcount_t, BUG/Oops/WARNING, "
                    "lockups, hung tasks, RCU stalls, panics) titled as kernel developers title them, OOM kills, "
                    "storage failures and hardware errors; common noise is listed apart.",
        epilog=EXIT_STATUS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_log_source_arguments(parser)
    parser.add_argument("--fail-on", choices=SEVERITIES[:-1], metavar="LEVEL",
                        help=f"exit with status {ExitStatus.THRESHOLD:d} when an event of LEVEL or worse is found: "
                             "critical, error or warning (for scripts and monitoring)")
    parser.set_defaults(handler=run)


def read_source(source: str, year: Optional[int], **open_options) -> List[LogRecord]:
    """Records from a vmcore's kernel log, a text log path, or standard input for '-'."""
    records, prog = load_log(source, year, **open_options)
    if prog is not None:
        prog.close()
    return records


def run(args: argparse.Namespace) -> int:
    report = find_trouble(read_source(args.source, args.year, vmlinux=args.vmlinux, system_map=args.system_map))
    data = report.to_dict()
    data["source"] = args.source
    width = terminal_width(sys.stdout)
    status = emit(args, data, lambda data: render_text(data, width))
    if status == 0 and args.fail_on is not None:
        worst = SEVERITIES.index(args.fail_on)
        if any(SEVERITIES.index(event.severity) <= worst for event in report.events):
            return ExitStatus.THRESHOLD
    return status


def _when(event: Dict[str, Any]) -> str:
    where = f"line {event['first_line']}" if event["first_line"] == event["last_line"] else \
        f"lines {event['first_line']}-{event['last_line']}"
    if event["count"] == 1:
        return f"seen once, {event['first'] or 'no timestamp'} ({where})"
    return f"seen {event['count']} times, first {event['first'] or '?'}, last {event['last'] or '?'} ({where})"


def _wrap(label: str, text: str, width: Optional[int]) -> List[str]:
    return textwrap.wrap(text, width=width or PLAIN_WIDTH, initial_indent=f"    {label:<6}",
                         subsequent_indent=" " * 10)


def render_text(data: Dict[str, Any], width: Optional[int] = None) -> str:
    """People's view: a summary line, then each severity's events with why, what next and proof;
    fitted to ``width`` columns when given (a terminal), else prose at 100 columns and log lines whole."""
    summary = data["summary"]
    lines = [f"{data.get('source', 'log')}: {data['records']} lines; "
             + ", ".join(f"{summary[severity]} {severity}" for severity in SEVERITIES)]
    if not any(summary[severity] for severity in SEVERITIES if severity != "noise"):
        lines.append("No trouble found.")
    for severity in SEVERITIES:
        events = [event for event in data["events"] if event["severity"] == severity]
        if not events:
            continue
        heading = "NOISE (not trouble)" if severity == "noise" else severity.upper()
        lines += ["", f"{heading}: {len(events)} event{'s' if len(events) != 1 else ''}"]
        for event in events:
            cut = " (corrupted: the report was cut short)" if event.get("corrupted") else ""
            lines.append(f"  [{event['kind']}] {event['title']}{cut}")
            lines.append(f"    {_when(event)}")
            if severity == "noise":
                continue
            details = ", ".join(f"{key}={value}" for key, value in event["details"].items()
                                if value not in (None, "", []) and key != "hint")
            if details:
                lines.append(f"    {details}")
            if event["details"].get("hint"):
                lines += _wrap("Hint:", event["details"]["hint"], width)
            lines += _wrap("Why:", event["explanation"], width)
            lines += _wrap("Next:", event["advice"], width)
            shown = event["lines"][:EVIDENCE_SHOWN]
            lines += [f"    | {line}" for line in shown]
            hidden = len(event["lines"]) - len(shown)
            if hidden > 0:
                lines.append(f"    | ... {hidden} more line{'s' if hidden != 1 else ''} (see --json)")
    return "\n".join(fit_to_width(lines, width))
