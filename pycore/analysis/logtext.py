"""Kernel log text as records: dmesg (plain, ``-T``, ``-x``, ``-r``), syslog and
/var/log/messages, journalctl (short and ISO), and serial console captures.

Every format becomes the same ``LogRecord``, the type the analyzers read; a log
taken from a dump's printk buffer is fed in as records built directly.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

from ..errors import FormatError, PycoreError

__all__ = ["LogRecord", "parse_log", "read_log", "is_elision"]

LEVEL_NAMES = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"]

_MONTHS = {name: number for number, name in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}


@dataclass(frozen=True)
class LogRecord:
    """One kernel (or interleaved non-kernel) log line.

    ``timestamp`` is seconds since boot (printk time), ``wallclock`` the date the
    log writer stamped, ``program`` the syslog tag (``"kernel"`` for kernel lines,
    None when the source does not say, as in dmesg), ``text`` the message with
    every prefix removed, ``raw`` the line as read, ``lineno`` its 1-based line and
    ``caller`` the printk caller id ("T123" a task, "C1" a CPU in interrupt context;
    5.1+ with CONFIG_PRINTK_CALLER), which tells interleaved reports apart.
    """

    text: str
    timestamp: Optional[float] = None
    wallclock: Optional[datetime] = None
    host: Optional[str] = None
    level: Optional[int] = None
    program: Optional[str] = None
    raw: str = field(default="", compare=False)
    lineno: int = 0
    caller: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.raw:
            object.__setattr__(self, "raw", self.text)

    @property
    def from_kernel(self) -> bool:
        """True unless the line is tagged as coming from another program."""
        return self.program is None or self.program == "kernel"

    def when(self) -> Optional[str]:
        """The best time this record carries, as text: wall clock, else seconds since boot."""
        if self.wallclock is not None:
            return self.wallclock.isoformat(sep=" ")
        if self.timestamp is not None:
            return f"{self.timestamp:.6f}s after boot"
        return None


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]")
_PRIORITY = re.compile(r"^<(\d{1,3})>")
# dmesg -x: "kern  :err   : text"
_DMESG_X = re.compile(r"^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)\s*:"
                      r"(emerg|alert|crit|err|warn|notice|info|debug)\s*: ?")
_BOOT_TIME = re.compile(r"^\[\s*(\d+\.\d+)\]\s?")
# CONFIG_PRINTK_CALLER (5.1+) adds "[    T123]" or "[     C0]" after the time.
# dmesg -H: "[Jan 6 07:32] first line" then "[  +0.000123] next": neither is time since boot.
_HUMAN_TIME = re.compile(r"^\[(?:\s*\+\d+\.\d+|\w{3}\s?\d{1,2} \d\d:\d\d)\]\s?")
_EMBEDDED_TIME = re.compile(r"\[\s*\d+\.\d{6}\]\s")
_CALLER = re.compile(r"^\[\s*(?P<caller>[TC]\d+)\]\s?")
# A priority after the prefixes, as a syslog writer leaves it: "kernel:  <3>BUG: sleeping function called".
_LATE_PRIORITY = re.compile(r"^\s?<([0-7])>(?=\S)")
_DMESG_T = re.compile(r"^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\w{3})\s+(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\]\s?")
_SYSLOG = re.compile(r"^(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(?P<day>\d{1,2})"
                     r" (?P<hms>\d\d:\d\d:\d\d)(?P<frac>\.\d+)? (?P<host>\S+) "
                     r"(?P<prog>[^\s:\[]+)(?:\[\d+\])?: ?(?P<rest>.*)$")
_ISO = re.compile(r"^(?P<stamp>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) "
                  r"(?P<host>\S+) (?P<prog>[^\s:\[]+)(?:\[\d+\])?: ?(?P<rest>.*)$")


def _strip_kernel_prefixes(text: str) -> Tuple[str, Optional[float], Optional[int], Optional[str]]:
    """Remove the priority, boot time and caller prefixes printk output may carry."""
    level = None
    timestamp = None
    caller = None
    match = _PRIORITY.match(text)
    if match:
        level = int(match.group(1)) & 7
        text = text[match.end():]
    match = _DMESG_X.match(text)
    if match:
        level = LEVEL_NAMES.index(match.group(2))
        text = text[match.end():]
    match = _BOOT_TIME.match(text)
    if match:
        timestamp = float(match.group(1))
        text = text[match.end():]
        found = _CALLER.match(text)
        if found:
            caller = found["caller"]
            text = text[found.end():]
    else:
        match = _HUMAN_TIME.match(text)
        if match:
            text = text[match.end():]
    if level is None:
        match = _PRIORITY.match(text) or _LATE_PRIORITY.match(text)
        if match:
            level = int(match.group(1)) & 7
            text = text[match.end():]
    return text, timestamp, level, caller


def _parse_line(raw: str, lineno: int, year: int) -> LogRecord:
    line = _ANSI.sub("", raw.replace("\r", "")).rstrip("\n")
    wallclock = host = program = None
    match = _SYSLOG.match(line)
    if match:
        hour, minute, second = (int(part) for part in match.group("hms").split(":"))
        micro = int(float(match.group("frac")) * 1e6) if match.group("frac") else 0
        try:
            wallclock = datetime(year, _MONTHS[match.group("mon")], int(match.group("day")),
                                 hour, minute, second, micro)
        except ValueError:
            wallclock = None
        host, program, line = match.group("host"), match.group("prog"), match.group("rest")
    else:
        match = _ISO.match(line)
        if match:
            stamp = match.group("stamp").replace(",", ".")
            try:
                wallclock = datetime.fromisoformat(stamp)
            except ValueError:
                wallclock = None
            host, program, line = match.group("host"), match.group("prog"), match.group("rest")
        else:
            match = _DMESG_T.match(line)
            if match:
                month, day, hour, minute, second, full_year = match.groups()
                wallclock = datetime(int(full_year), _MONTHS.get(month, 1), int(day),
                                     int(hour), int(minute), int(second))
                line = line[match.end():]
    text, timestamp, level, caller = _strip_kernel_prefixes(line)
    if wallclock is None and timestamp is None and level is None:
        # A console capture can run kernel output into a prompt: "login: [ 12.3] ...".
        embedded = _EMBEDDED_TIME.search(line)
        if embedded:
            text, timestamp, level, caller = _strip_kernel_prefixes(line[embedded.start():])
    return LogRecord(text=text, timestamp=timestamp, wallclock=wallclock, host=host,
                     level=level, program=program, raw=raw.rstrip("\r\n"), lineno=lineno, caller=caller)


def parse_log(lines: Iterable[str], year: Optional[int] = None) -> Iterator[LogRecord]:
    """Yield a ``LogRecord`` per line of any supported text log format.

    Syslog and journalctl short lines carry no year; ``year`` supplies it
    (default: the current year, as syslog readers assume).
    """
    year = year if year is not None else datetime.now().year
    for lineno, raw in enumerate(lines, start=1):
        yield _parse_line(raw, lineno, year)


def read_log(source: Union[str, Path], year: Optional[int] = None) -> List[LogRecord]:
    """Read a text log file into records; raises ``FormatError`` for binary files."""
    try:
        data = Path(source).read_bytes()
    except OSError as error:
        raise PycoreError(f"cannot read {source}: {error.strerror or error}") from error
    if b"\0" in data[:4096]:
        raise FormatError(f"{source}: expected a text log, found binary data (a dump? try 'pycore info')",
                          offset=data.index(b"\0"))
    text = data.decode("utf-8", errors="replace")
    return list(parse_log(text.splitlines(), year=year))


# lockdep's own "... which became HARDIRQ-irq-safe at:" and "... acquired at:" lines are report lines, not elisions.
_ELISION = re.compile(r"^\s*(?:<snip>|\.\.\.(?! (?:which became|key +at|acquired at)).*|….*)?\s*$")


def is_elision(text: str) -> bool:
    """True for blank lines and the '<snip>' / '...' marks people leave in pasted logs."""
    return bool(_ELISION.match(text))
