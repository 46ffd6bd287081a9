"""``pycore trouble SOURCE``: what went wrong, read from a kernel log (dmesg, syslog,
journalctl, console capture), grouped by severity."""
import argparse
import sys
import textwrap
from typing import Any, Dict, List, Optional

from ..analysis.logtext import LogRecord
from ..analysis.source import load_log
from ..analysis.trouble import SEVERITIES, find_trouble
from .common import add_log_source_arguments
from .output import emit

EVIDENCE_SHOWN = 12


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "trouble", help="find OOM kills, disk errors, oopses, lockups and panics in a kernel log",
        description="Classify every event in a kernel text log: OOM kills, storage failures, BUG/Oops/WARNING, "
                    "lockups, hung tasks, RCU stalls, hardware errors and panics; common noise is listed apart.")
    add_log_source_arguments(parser)
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
    return emit(args, data, render_text)


def _when(event: Dict[str, Any]) -> str:
    where = f"line {event['first_line']}" if event["first_line"] == event["last_line"] else \
        f"lines {event['first_line']}-{event['last_line']}"
    if event["count"] == 1:
        return f"seen once, {event['first'] or 'no timestamp'} ({where})"
    return f"seen {event['count']} times, first {event['first'] or '?'}, last {event['last'] or '?'} ({where})"


def _wrap(label: str, text: str) -> List[str]:
    return textwrap.wrap(text, width=100, initial_indent=f"    {label:<6}", subsequent_indent=" " * 10)


def render_text(data: Dict[str, Any]) -> str:
    """People's view: a summary line, then each severity's events with why, what next and proof."""
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
            lines.append(f"  [{event['kind']}] {event['title']}")
            lines.append(f"    {_when(event)}")
            if severity == "noise":
                continue
            details = ", ".join(f"{key}={value}" for key, value in event["details"].items()
                                if value not in (None, "", []) and key != "hint")
            if details:
                lines.append(f"    {details}")
            if event["details"].get("hint"):
                lines += _wrap("Hint:", event["details"]["hint"])
            lines += _wrap("Why:", event["explanation"])
            lines += _wrap("Next:", event["advice"])
            shown = event["lines"][:EVIDENCE_SHOWN]
            lines += [f"    | {line}" for line in shown]
            hidden = len(event["lines"]) - len(shown)
            if hidden > 0:
                lines.append(f"    | ... {hidden} more line{'s' if hidden != 1 else ''} (see --json)")
    return "\n".join(lines)
