"""Where a log comes from: a text file (dmesg, syslog, journal, console) or a vmcore.

Analyses take :class:`LogRecord` lists and never care which; a dump's printk
records become one LogRecord per line, numbered by printk sequence so events
keep log order.
"""
import datetime
import os
import sys
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple

from ..dump.elf import is_elf
from ..dump.flattened import is_flattened
from ..dump.kdump import is_kdump
from .logtext import LogRecord, parse_log, read_log

if TYPE_CHECKING:  # pragma: no cover
    from ..kernel.printk import PrintkRecord
    from ..program import Program


def is_dump_file(path: str) -> bool:
    """True when ``path`` starts like a vmcore (ELF, KDUMP, or a flattened stream)."""
    if path == "-" or not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        head = f.read(64)
    return is_kdump(head) or is_flattened(head) or (is_elf(head) and len(head) > 16 and head[16] == 4)


def records_from_printk(records: Iterable["PrintkRecord"], crash_time: Optional[int] = None,
                        uptime_ns: Optional[int] = None) -> List[LogRecord]:
    """LogRecords from printk records: multi-line messages split, wall clock when the boot time is known,
    the printk caller id kept so that reports of two CPUs interleaved in the log stay apart."""
    boot = None
    if crash_time is not None and uptime_ns is not None:
        boot = crash_time - uptime_ns / 1e9
    out: List[LogRecord] = []
    for number, record in enumerate(records):
        seconds = None if record.timestamp_ns is None else record.timestamp_ns / 1e9
        wallclock = None
        if boot is not None and seconds is not None:
            wallclock = datetime.datetime.fromtimestamp(boot + seconds, datetime.timezone.utc).replace(tzinfo=None)
        lineno = record.seq if record.seq is not None else number
        for line in record.text.split("\n"):
            out.append(LogRecord(text=line, timestamp=seconds, wallclock=wallclock, level=record.level,
                                 lineno=lineno, caller=record.caller))
    return out


def dump_log_records(prog: "Program") -> List[LogRecord]:
    """The kernel log of a dump as LogRecords (wall clock from the crash time and the last record)."""
    from ..kernel.printk import get_printk_records

    records = get_printk_records(prog)
    crash_time = prog.vmcoreinfo.crash_time if prog.vmcoreinfo is not None else None
    last = next((r.timestamp_ns for r in reversed(records) if r.timestamp_ns is not None), None)
    return records_from_printk(records, crash_time, last)


def load_log(source: str, year: Optional[int] = None, **open_options) -> Tuple[List[LogRecord], Optional["Program"]]:
    """Records from ``source``: a vmcore (then the open Program comes back too, for the caller
    to close), a text log path, or ``-`` for standard input."""
    if source == "-":
        return list(parse_log(sys.stdin.read().splitlines(), year=year)), None
    if is_dump_file(source):
        from ..program import open as open_program
        prog = open_program(source, **open_options)
        try:
            return dump_log_records(prog), prog
        except BaseException:
            prog.close()
            raise
    return read_log(source, year=year), None
