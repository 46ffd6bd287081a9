"""crash 9's ways of writing numbers, times, sizes and task headers, shared by the commands that
print its reports (sys, log, ps, runq, bt, kmem).  Each function names the crash routine it follows."""
import time
from typing import Optional

from ..kernel.system import FIXED_1, FSHIFT

_MASK64 = (1 << 64) - 1
_SEC_DAYS = 86400
# crash's field width for the printk caller id when it cannot read pid_max (PID_CHARS_DEFAULT).
CALLER_WIDTH_DEFAULT = 8


# crash's title of its page lines (kmem -p, kmem ADDR, vtop): the same whatever the physical
# addresses' width (a machine over 4 GiB prints 9 digits under it).
PAGE_HEADER = "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS"


def page_columns(page: int, physical: int, mapping: int, index: int, count: int, flags: int, names: str) -> str:
    """One line under :data:`PAGE_HEADER` (kmem -p, kmem ADDRESS, vtop): crash's dump_mem_map() prints
    PHYSICAL right-justified in 8 columns, a longer address widening its line (a 4 GiB machine's)."""
    return "%x %8x %16x %8x %2d %x%s" % (page, physical, mapping, index, count, flags, " " + names if names else "")


def center(text: str, width: int, rjust: bool = False) -> str:
    """crash's ``mkstring(CENTER)``: ``text`` in ``width`` columns, an odd spare space right of it
    (CENTER|LJUST, the default) or left of it (CENTER|RJUST); text as wide as the field or wider
    is left alone."""
    spare = max(width - len(text), 0)
    left = spare // 2 + (spare % 2 if rjust else 0)
    return " " * left + text + " " * (spare - left)


def ctime_utc(seconds: int) -> str:
    """crash's ``ctime_tz()`` (``%a %b %e %T %Z %Y``) in UTC: ``Thu Nov 26 01:17:26 UTC 2026``."""
    tm = time.gmtime(seconds)
    return time.strftime("%a %b ", tm) + f"{tm.tm_mday:2d}" + time.strftime(" %H:%M:%S UTC %Y", tm)


def uptime_text(seconds: int) -> str:
    """crash's ``convert_time()``: ``HH:MM:SS``, with ``N days, `` in front from one day on."""
    days, seconds = divmod(seconds, _SEC_DAYS)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{days} days, " if days else ""
    return text + f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def load_text(value: int) -> str:
    """One fixed-point load average as crash (and /proc/loadavg) prints it: rounded to 1/100 by
    adding FIXED_1/200, then ``LOAD_INT.LOAD_FRAC``."""
    value += FIXED_1 // 200
    return f"{value >> FSHIFT}.{((value & (FIXED_1 - 1)) * 100) >> FSHIFT:02d}"


def panic_text(message: Optional[str]) -> str:
    """sys's PANIC value: the message in quotes, ``(check log for details)`` after an Oops."""
    if message is None:
        return '""'
    return f'"{message}"' + (" (check log for details)" if "Oops: " in message else "")


def memory_size_text(total_bytes: int) -> str:
    """crash's ``sys`` MEMORY (``get_memory_size()``): rounded up to the next GiB when within
    64 MiB of it, then one decimal in GB, MB or whole KB, a trailing ``.0`` dropped."""
    gib, mib = 1 << 30, 1 << 20
    next_gib = -(-total_bytes // gib) * gib
    if next_gib and next_gib - total_bytes <= 64 * mib:
        total_bytes = next_gib
    if total_bytes == 0:
        return "0"
    if total_bytes >= gib:
        text = "%.1f GB" % (total_bytes / gib)
    elif total_bytes >= mib:
        text = "%.1f MB" % (total_bytes / mib)
    else:
        return "%d KB" % (total_bytes // 1024)
    return text.replace(".0 ", " ")


def pages_to_size(pages: int, page_size: int) -> str:
    """crash's ``pages_to_size()``: "0", "812 KB", "36.6 MB", "1.2 GB" (a ".0" is dropped)."""
    if pages == 0:
        return "0"
    total = float(pages) * float(page_size)
    if total >= 1 << 30:
        text = "%.1f GB" % (total / (1 << 30))
    elif total >= 1 << 20:
        text = "%.1f MB" % (total / (1 << 20))
    else:
        text = "%d KB" % int(total / 1024)
    return text.replace(".0 ", " ", 1)


def percent(part: int, whole: int) -> int:
    """kmem's ``(part * 100) / whole`` in C unsigned long arithmetic, 0 when ``whole`` is 0."""
    if not whole:
        return 0
    return ((part * 100) & _MASK64) // (whole & _MASK64)


def percent_text(value: float) -> str:
    """ps's %MEM: C's ``%.1f`` (round half to even on the binary value)."""
    return "%.1f" % value


def pid_width(pid_max: Optional[int]) -> int:
    """crash's PID column in runq and bt headers: 5 digits while pid_max <= 99999, 6 up to
    999999, else 7; 5 when pid_max is unknown."""
    if pid_max is None:
        return 5
    return 5 if pid_max <= 99999 else 6 if pid_max <= 999999 else 7


def caller_width(pid_max: Optional[int]) -> int:
    """crash's printk caller-id column: 6 characters when pid_max <= 99999, 7 up to 999999, else 8."""
    if pid_max is None:
        return CALLER_WIDTH_DEFAULT
    return 6 if pid_max <= 99999 else 7 if pid_max <= 999999 else CALLER_WIDTH_DEFAULT


def task_header(pid: int, task: int, cpu: int, comm: str) -> str:
    """bt's first line for a task: ``PID: 1  TASK: ffff...  CPU: 0  COMMAND: "init"``."""
    return f'PID: {pid:<7}  TASK: {task:x}  CPU: {cpu:<3}  COMMAND: "{comm}"'
