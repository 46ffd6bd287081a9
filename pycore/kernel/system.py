"""What crash's ``sys`` shows about a crashed system: CPUs, time, uptime, load, utsname, memory, panic.

Each value is read the way crash 9 reads it (kernel.c, task.c, memory.c), for x86_64 kernels
4.x-7.2; where crash's answer rests on a guess (its HZ) the kernel's own value is given too.
pycore/cli/sysinfo.py writes them as crash does.
"""
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, TypeVar

from .variables import kernel_variable, read_kernel_variable, symbol_address
from ..errors import FaultError, PycoreError
from ..object import Object
from . import mm, sched

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

T = TypeVar("T")

# Load averages are fixed point with FSHIFT fraction bits (include/linux/sched/loadavg.h).
FSHIFT = 11
FIXED_1 = 1 << FSHIFT


# -- time --------------------------------------------------------------------------------
def kernel_hz(prog: "Program") -> Optional[int]:
    """The kernel's CONFIG_HZ from TICK_NSEC (``(NSEC_PER_SEC + HZ/2) / HZ``), as the image keeps it:
    in ``tick_nsec`` where it has that variable (not 7.2's), else in the jiffies clocksource,
    whose ``mult`` is ``TICK_NSEC << JIFFIES_SHIFT`` over ``shift`` (kernel/time/jiffies.c, 2.6.x on);
    None when neither can be read or the value is no HZ a kernel could have."""
    tick_nsec = read_kernel_variable(prog, "tick_nsec", 8)
    if not tick_nsec:
        tick_nsec = _jiffies_clocksource_tick(prog)
    if not tick_nsec:
        return None
    hz = round(1_000_000_000 / tick_nsec)
    # TICK_NSEC is exact to a nanosecond for any HZ from 24 (the lowest CONFIG_HZ is 100) to 10000.
    return hz if 24 <= hz <= 10000 and tick_nsec == (1_000_000_000 + hz // 2) // hz else None


def _jiffies_clocksource_tick(prog: "Program") -> Optional[int]:
    """TICK_NSEC from ``clocksource_jiffies.mult >> shift``, or None when it cannot be read."""
    address = symbol_address(prog, "clocksource_jiffies")
    if address is None:
        return None
    try:
        clocksource = prog.type("struct clocksource")
        mult = int.from_bytes(prog.read(address + clocksource.offsetof("mult"), 4), "little")
        shift = int.from_bytes(prog.read(address + clocksource.offsetof("shift"), 4), "little")
    except (LookupError, PycoreError):
        return None
    return mult >> shift if shift < 32 else None


def crash_hz(prog: "Program") -> int:
    """The HZ crash 9 divides jiffies by.

    crash reads it from the block layer: ``cfq_slice_async * 25`` (before 4.8), or mq-deadline's
    ``write_expire / 5`` when ``dd_init_sched``/``dd_init_queue``/``deadline_init_queue`` is in
    the kernel image, and otherwise assumes 1000.  A kernel with mq-deadline as a module (Debian
    6.12) gets 1000 whatever its CONFIG_HZ: crash's UPTIME is then off by that factor.
    """
    cfq = read_kernel_variable(prog, "cfq_slice_async", 4)
    if cfq and _release_tuple(prog) < (4, 8):
        return cfq * 25
    for name in ("dd_init_queue", "dd_init_sched", "deadline_init_queue"):
        if symbol_address(prog, name) is not None:
            hz = kernel_hz(prog)
            if hz:
                return hz
    return 1000


def _release_tuple(prog: "Program") -> Tuple[int, ...]:
    release = (prog.vmcoreinfo.osrelease if prog.vmcoreinfo is not None else None) or ""
    parts = []
    for piece in release.split("-")[0].split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts)


def jiffies_since_boot(prog: "Program", hz: Optional[int] = None) -> int:
    """``jiffies_64`` less INITIAL_JIFFIES (``(unsigned long)(unsigned int)(-300 * HZ)``), as crash
    corrects it.  The correction depends on HZ: crash's (:func:`crash_hz`) unless ``hz`` is given."""
    jiffies = kernel_variable(prog, "jiffies_64")
    initial = (-300 * (hz or crash_hz(prog))) & 0xFFFFFFFF
    return (jiffies - initial) & ((1 << 64) - 1)


def crash_time(prog: "Program") -> Optional[int]:
    """Seconds since the epoch at the crash: VMCOREINFO's CRASHTIME (kdump), else the kernel's
    wall clock ``timekeeper.xtime_sec`` (3.17+; QEMU's dumps carry no CRASHTIME)."""
    vmcoreinfo = prog.vmcoreinfo
    if vmcoreinfo is not None and vmcoreinfo.crash_time is not None:
        return vmcoreinfo.crash_time
    address = timekeeper_address(prog)
    if address is None:
        return None
    try:
        offset = prog.type("struct timekeeper").offsetof("xtime_sec")
        return int.from_bytes(prog.read(address + offset, 8), "little", signed=True)
    except (LookupError, PycoreError):
        return None


def timekeeper_address(prog: "Program") -> Optional[int]:
    """The kernel's own ``struct timekeeper`` (CLOCK_REALTIME and CLOCK_MONOTONIC), or None.

    It is ``timekeeper_data[TIMEKEEPER_CORE].timekeeper`` (``struct tk_data``) where the image has
    that array (kernels with auxiliary clocks: 7.2), else ``tk_core.timekeeper`` (3.17 on), in the
    anonymous ``struct { seqcount seq; struct timekeeper timekeeper; }``.
    """
    address = symbol_address(prog, "timekeeper_data")
    if address is not None:
        try:
            return address + prog.type("struct tk_data").offsetof("timekeeper")
        except LookupError:
            return None
    address = symbol_address(prog, "tk_core")
    if address is None:
        return None
    seq_size = 4
    for name in ("seqcount_raw_spinlock_t", "seqcount_t"):
        try:
            seq_size = prog.type(name).size or 4
            break
        except LookupError:
            continue
    return address + -(-seq_size // 8) * 8


def monotonic_ns(prog: "Program") -> Optional[int]:
    """CLOCK_MONOTONIC at the timekeeper's last update (a tick at most before the dump), in
    nanoseconds: ``tkr_mono.base`` plus its ``xtime_nsec`` shifted down, what ktime_get_ns()
    returned then and requests' ``start_time_ns`` count on (3.17+).  None without a timekeeper."""
    address = timekeeper_address(prog)
    if address is None:
        return None
    keeper = Object(prog, prog.type("struct timekeeper"), address=address)
    mono = keeper.tkr_mono
    return int(mono.base) + (int(mono.xtime_nsec) >> int(mono.shift))


# -- load, CPUs, memory, names --------------------------------------------------------------
def load_average(prog: "Program") -> List[int]:
    """``avenrun[3]``: the 1, 5 and 15 minute load averages, fixed point with FSHIFT bits."""
    data = prog.read(prog.symbols.by_name("avenrun").address, 24)
    return [int.from_bytes(data[i:i + 8], "little") for i in range(0, 24, 8)]


def cpu_mhz(prog: "Program") -> Optional[int]:
    """``cpu_khz / 1000`` (x86), as crash's MACHINE line shows it; None when unknown."""
    khz = read_kernel_variable(prog, "cpu_khz", 4)
    return khz // 1000 if khz else None


def utsname(prog: "Program") -> Dict[str, str]:
    """``init_uts_ns.name``: sysname, nodename, release, version, machine, domainname."""
    vmcoreinfo = prog.vmcoreinfo
    address = vmcoreinfo.symbol("init_uts_ns") if vmcoreinfo is not None else None
    offset = vmcoreinfo.offset("uts_namespace.name") if vmcoreinfo is not None else None
    if address is None:
        address = prog.symbols.by_name("init_uts_ns").address
    if offset is None:
        offset = prog.type("struct uts_namespace").offsetof("name")
    data = prog.read(address + offset, 6 * 65)
    fields = ("sysname", "nodename", "release", "version", "machine", "domainname")
    return {name: data[i * 65:(i + 1) * 65].split(b"\0")[0].decode("utf-8", "replace")
            for i, name in enumerate(fields)}


def tainted_mask(prog: "Program") -> Optional[int]:
    """``tainted_mask``: the TAINT_* bits (crash marks the KERNEL line ``[TAINTED]`` when any is set);
    None when it cannot be read."""
    return read_kernel_variable(prog, "tainted_mask")


def dump_is_partial(prog: "Program") -> bool:
    """crash's ``[PARTIAL DUMP]``: a kdump-compressed dump written with a dump level above 0."""
    if prog.dump.format != "kdump":
        return False
    return (prog.dump.describe().get("dump_level") or 0) > 0


# -- the panic message ---------------------------------------------------------------------
# crash's get_panicmsg() scans the log text once per group, in this order, and takes the
# first line of the first group that matches.
_PANIC_PATTERNS = (
    ("general protection fault: ", "double fault: ", "divide error: ", "stack segment: "),
    ("SysRq : Netdump", "SysRq : Crash", "SysRq : Trigger a crash"),
    ("Oops: ", "Kernel BUG at", "kernel BUG at", "Unable to handle kernel paging request",
     "Unable to handle kernel NULL pointer dereference", "BUG: unable to handle kernel "),
    ("Kernel panic: ",),
    ("Kernel panic - ",),
    ("Bad mode in ",),
)


def log_lines(prog: "Program") -> List[str]:
    """The kernel log's text, one line per line, without timestamps (crash's ``log -t``)."""
    from .printk import get_printk_records

    lines: List[str] = []
    for record in get_printk_records(prog):
        lines.extend(record.text.split("\n"))
    return lines


def panic_message(prog: "Program", lines: Optional[List[str]] = None) -> Optional[str]:
    """The line of the kernel log crash's ``sys`` shows as PANIC, or None when none matches."""
    if lines is None:
        lines = log_lines(prog)
    for group in _PANIC_PATTERNS:
        for line in lines:
            if any(pattern in line for pattern in group):
                return line.rstrip("\n")
    return None


# -- everything sys prints --------------------------------------------------------------------
def system_info(prog: "Program") -> Dict[str, Any]:
    """All of crash's ``sys`` as data; :func:`pycore.cli.sysinfo.render` prints it as crash does.

    ``date`` is seconds since the epoch, ``load_average`` the three fixed-point ``avenrun``
    values (FSHIFT fraction bits), ``memory_bytes`` the present memory, ``panic`` the log line
    crash shows as PANIC (None when none matches; ``panic_error`` says why the log was unreadable).
    A value the dump lacks a page of (a file cut short, a damaged one) is None, and ``unreadable``
    maps its key to the fault: the rest of the answer stands.
    """
    unreadable: Dict[str, str] = {}

    def readable(key: str, compute: Callable[[], T]) -> Optional[T]:
        try:
            return compute()
        except FaultError as error:
            unreadable[key] = str(error)
            return None

    cpus = sched.nr_cpus(prog)
    offline = sched.offline_cpu_count(prog)
    hz = crash_hz(prog)
    jiffies = readable("jiffies", lambda: jiffies_since_boot(prog, hz))
    kernel_hz_value = kernel_hz(prog)
    names = readable("utsname", lambda: utsname(prog)) or dict.fromkeys(("nodename", "release", "version", "machine"))
    present = readable("memory_bytes", lambda: mm.present_pages(prog))
    try:
        panic: Optional[str] = panic_message(prog)
        panic_error = None
    except (ImportError, PycoreError) as error:
        panic, panic_error = None, str(error)
    return {
        "kernel": prog.vmlinux,
        "tainted_mask": readable("tainted_mask", lambda: tainted_mask(prog)),
        "symbols": prog.symbols.source,
        "types": prog.types.source,
        "dumpfile": prog.dump.file.path,
        "partial_dump": dump_is_partial(prog),
        "cpus": cpus,
        "offline_cpus": offline,
        "date": readable("date", lambda: crash_time(prog)),
        "jiffies": jiffies,
        "hz": hz,
        "kernel_hz": kernel_hz_value,
        "uptime_seconds": jiffies // hz if jiffies is not None else None,
        "kernel_uptime_seconds": (jiffies_since_boot(prog, kernel_hz_value) // kernel_hz_value
                                  if kernel_hz_value and jiffies is not None else None),
        "load_average": readable("load_average", lambda: load_average(prog)),
        "tasks": readable("tasks", lambda: len(sched.crash_task_list(prog))),
        "nodename": names["nodename"],
        "release": names["release"],
        "version": names["version"],
        "machine": names["machine"],
        "mhz": readable("mhz", lambda: cpu_mhz(prog)),
        "memory_bytes": present * prog.dump.page_size if present is not None else None,
        "panic": panic,
        "panic_error": panic_error,
        "unreadable": unreadable,
    }
