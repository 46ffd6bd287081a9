"""drgn's ``drgn.helpers.linux.printk``: the kernel log, from :mod:`pycore.kernel.printk` (the
lockless ring buffer of 5.10+, printk_log records 3.5-5.9, the plain log_buf before), as drgn's
``PrintkRecord`` tuples and ``dmesg``-style bytes.
"""
from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional

from ...kernel import printk as _printk

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


class PrintkRecord(NamedTuple):
    """One log record as drgn gives it: ``text`` as bytes, ``timestamp`` in nanoseconds, the
    caller as a thread id or a CPU (the other None), and ``context`` the dev_printk() keys."""

    text: bytes
    facility: int
    level: int
    seq: int
    timestamp: int
    caller_tid: Optional[int]
    caller_cpu: Optional[int]
    continuation: bool
    context: Dict[bytes, bytes]


def _context(record: "_printk.PrintkRecord") -> Dict[bytes, bytes]:
    context: Dict[bytes, bytes] = {}
    for entry in record.dictionary:
        key, _, value = entry.partition("=")
        context[key.encode()] = value.encode()
    if record.subsystem:
        context[b"SUBSYSTEM"] = record.subsystem.encode()
    if record.device:
        context[b"DEVICE"] = record.device.encode()
    return context


def get_printk_records(prog: "Program") -> List[PrintkRecord]:
    """Every record still in the log, oldest first; records without text (a reserved slot) are
    left out, as drgn leaves them out."""
    records = []
    for record in _printk.get_printk_records(prog):
        if record.dataless:
            continue
        caller = record.caller_id
        on_cpu = caller is not None and bool(caller & _printk.CALLER_CPU)
        records.append(PrintkRecord(
            text=record.raw_text, facility=record.facility or 0, level=record.level or 0, seq=record.seq or 0,
            timestamp=record.timestamp_ns or 0,
            caller_tid=None if caller is None or on_cpu else caller,
            caller_cpu=caller & ~_printk.CALLER_CPU if on_cpu else None,  # type: ignore[operator]
            continuation=bool(record.flags & _printk.LOG_CONT), context=_context(record)))
    return records


def get_dmesg(prog: "Program", *, timestamps: bool = True) -> bytes:
    """The log as ``dmesg`` prints it: ``[    1.234567] text`` a line (``text`` alone without
    ``timestamps``), each line ending in a newline."""
    lines = [b"[% 5d.%06d] %s" % (r.timestamp // 1000000000, r.timestamp % 1000000000 // 1000, r.text)
             if timestamps else r.text for r in get_printk_records(prog)]
    lines.append(b"")
    return b"\n".join(lines)


__all__ = ["PrintkRecord", "get_dmesg", "get_printk_records"]
