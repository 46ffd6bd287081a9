"""``pycore log DUMP``: the kernel log as crash's ``log`` command prints it, from VMCOREINFO alone;
``-a`` the audit messages auditd has not read yet, ``-s`` printk_safe's per-CPU buffers (4.11 to 5.14)."""
import argparse
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Sequence

from ..errors import PycoreError
from ..kernel.printk import (PrintkRecord, PrintkRecords, audit_records, boot_time, get_printk_records,
                             printk_safe_buffers)
from ..kernel.sched import nr_cpus, pid_max
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import CALLER_WIDTH_DEFAULT, caller_width, ctime_utc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-T", dest="human_time", action="store_true",
                        help="human-readable timestamps (boot time = crash time - uptime)")
    parser.add_argument("-t", dest="no_time", action="store_true", help="no timestamps")
    parser.add_argument("-d", dest="dictionary", action="store_true",
                        help="show the SUBSYSTEM=/DEVICE= properties dev_printk() attached")
    parser.add_argument("-m", dest="level", action="store_true", help="show each message's level as <N>")
    parser.add_argument("-c", dest="caller", action="store_true",
                        help="show the caller id: [T<pid>] or [C<cpu>] (Linux 5.1+ with CONFIG_PRINTK_CALLER)")
    parser.add_argument("-a", dest="audit", action="store_true",
                        help="the audit messages still queued in the kernel for auditd")
    parser.add_argument("-s", dest="safe", action="store_true",
                        help="the printk_safe per-CPU buffers not yet flushed to the log (4.11 to 5.14)")


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    """The records, with what the text needs from the dump besides them: the boot time for ``-T``
    and the width of the caller column for ``-c``; or the audit messages (-a), or the safe
    buffers (-s: none at all on a kernel without them, where crash prints nothing either)."""
    if args.audit:
        audit = audit_records(prog)
        if audit is None:
            raise PycoreError("-a option not supported or applicable on this architecture or kernel: "
                              "no audit_queue or audit_skb_queue")
        return Collected({"audit": [asdict(record) for record in audit]}, [])
    if args.safe:
        buffers = printk_safe_buffers(prog, nr_cpus(prog))
        return Collected({"safe": [asdict(buffer) for buffer in buffers or []]}, [])
    records = get_printk_records(prog)
    text = not getattr(args, "json", False)
    data = {"records": records,
            "boot": boot_time(prog, records) if text and args.human_time and not args.no_time else None,
            "caller_width": caller_width(pid_max(prog)) if text and args.caller else CALLER_WIDTH_DEFAULT}
    warnings = []
    if records.lost:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(records.skipped.items()))
        warnings.append(f"{records.lost} record(s) skipped ({reasons})")
    return Collected(data, warnings)


def to_json(data: Dict[str, Any]) -> Dict[str, Any]:
    if "records" not in data:  # -a, -s: their text as bytes decoded
        return {key: [dict(entry, text=entry["text"].decode("utf-8", "replace")) for entry in entries]
                for key, entries in data.items()}
    records: PrintkRecords = data["records"]
    return {"format": records.format, "lost": records.lost, "skipped": records.skipped,
            "records": [record.to_dict() for record in records]}


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if "audit" in data:
        if not data["audit"]:
            return "log: kernel audit log is empty\n"
        return "".join(f"type={record['type']} {_printable(record['text'], '')}\n" for record in data["audit"])
    if "safe" in data:
        return format_safe_buffers(data["safe"])
    return format_log(data["records"], timestamps=not args.no_time, boot=data["boot"], show_level=args.level,
                      show_caller=args.caller, show_dictionary=args.dictionary, caller_width=data["caller_width"])


def _printable(raw: bytes, indent: str, spaces: bool = True) -> str:
    # crash prints isprint() or isspace() bytes (dictionaries: isprint() only) as they are,
    # every other byte as '.'.
    out = []
    for byte in raw:
        if byte == 10 and spaces:
            out.append("\n" + indent)
        elif 32 <= byte < 127 or (spaces and 9 <= byte <= 13):
            out.append(chr(byte))
        else:
            out.append(".")
    return "".join(out)


def format_safe_buffers(buffers: List[Dict[str, Any]]) -> str:
    """crash's log -s: each buffer's name, then each CPU's line and its text, two spaces in (a
    record's SOH and level byte start a new line), or ``(empty)``; an empty line after each CPU."""
    out: List[str] = []
    name = None
    for buffer in buffers:
        if buffer["name"] != name:
            name = buffer["name"]
            out.append(f"PRINTK_SAFE_SEQ_BUF: {name}\n")
        out.append(f"CPU: {buffer['cpu']}  ADDR: {buffer['address']:x} LEN: {buffer['length']}  "
                   f"MESSAGE_LOST: {buffer['message_lost']}\n")
        if buffer["length"] <= 0:
            out.append("  (empty)\n\n")
            continue
        text, at, start = buffer["text"], 0, True
        while at < len(text):
            byte, was_start, start = text[at], start, False
            if byte == 1:  # SOH and the level after it
                at += 2
                out.append(("" if was_start else "\n") + "  ")
                continue
            out.append(("  " if was_start else "") + (chr(byte) if 32 <= byte < 127 or 9 <= byte <= 13 else "."))
            start = byte == 10
            at += 1
        out.append("\n\n" if not start else "\n")
    return "".join(out)


def format_log(records: Sequence[PrintkRecord], *, timestamps: bool = True, boot: Optional[int] = None,
               show_level: bool = False, show_caller: bool = False, show_dictionary: bool = False,
               caller_width: int = CALLER_WIDTH_DEFAULT, legacy: Optional[bool] = None) -> str:
    """The log as crash's ``log`` prints it: ``[%5lu.%06lu] text``, continuation lines indented
    under the text.  ``timestamps=False`` is ``-t``; ``boot`` (seconds since the epoch) gives
    human-readable times (``-T``); ``show_level`` is ``-m`` (``<level>`` in hex, or the legacy
    ``<N>`` prefix in front); ``show_caller`` is ``-c``; ``show_dictionary`` is ``-d``."""
    if legacy is None:
        legacy = getattr(records, "format", None) == "log_buf"
    lines: List[str] = []
    for record in records:
        if record.dataless:
            lines.append("")
            continue
        prefix = ""
        if legacy and show_level and record.level is not None:
            prefix += f"<{record.level}>"
        if timestamps and record.timestamp_ns is not None:
            seconds, nanoseconds = divmod(record.timestamp_ns, 1_000_000_000)
            if boot is not None:
                prefix += f"[{ctime_utc(boot + seconds)}] "
            else:
                prefix += f"[{seconds:5d}.{nanoseconds // 1000:06d}] "
        if show_caller and record.caller_id is not None:
            prefix += f"[{record.caller:>{caller_width}}] "
        if show_level and not legacy and record.level is not None:
            prefix += f"<{record.level:x}>"
        indent = " " * len(prefix)
        raw = record.raw_text or record.text.encode()
        text = prefix + _printable(raw, indent)
        if show_dictionary and record.dictionary:
            for entry in record.dictionary:
                text += "\n" + indent + _printable(entry.encode(), "", spaces=False)
        lines.append(text)
    return "\n".join(lines) + ("\n" if lines else "")


COMMAND = DumpCommand(
    "log", add_arguments=add_arguments, collect=collect, render=render, to_json=to_json, values_only=True,
    description="Print the kernel log (printk ringbuffer, printk_log records or the pre-3.5 character buffer) "
                "from the dump's VMCOREINFO alone, with crash 9's log options.")
