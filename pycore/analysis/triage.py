"""Fleet triage: every crash under a /var/crash-style tree (the kdump-tools and kexec-tools layouts) or
given as vmcore files, reduced to its panic reason, crashing task, backtrace and a normalized signature,
then grouped by signature and laid on a timeline. The log comes from the dump's printk buffer, else from
the vmcore-dmesg.txt beside it; report formats are those of 2.6.x to 6.x (x86_64 and arm64 traces).
"""
import datetime
import hashlib
import faulthandler
import os
import pickle
import re
import select
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..errors import PycoreError
from .logtext import LogRecord, read_log
from .source import dump_log_records
from .trouble import find_trouble

__all__ = ["CrashSource", "CrashReport", "DumpTriage", "TriageReport", "find_crashes", "parse_crash_report",
           "normalize_reason", "normalize_frame", "crash_signature", "triage_dump", "triage",
           "build_timeline", "group_by_signature", "TriageTimeout", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

#: Frames in a signature: deep enough to tell callers apart, shallow enough that the same bug
#: reached from two syscalls stays one group.
SIGNATURE_DEPTH = 3
BACKTRACE_KEPT = 32
EXCERPT_KEPT = 80
DEFAULT_TIMEOUT = 300.0


class TriageTimeout(PycoreError):
    """The analysis of one dump ran past its time limit and was stopped."""


# --- finding the dumps --------------------------------------------------------------------------

# kexec-tools writes vmcore (vmcore-incomplete while copying, vmcore.flat over ssh); kdump-tools
# writes dump.<stamp> and dmesg.<stamp> (dump-incomplete while copying).
_VMCORE_NAME = re.compile(r"^(?:vmcore(?:\.flat)?|vmcore-incomplete|dump\.\d{12}|dump-incomplete)$")
_DMESG_NAME = re.compile(r"^(?:vmcore-dmesg\.txt|vmcore-dmesg-incomplete\.txt|dmesg\.\d{12})$")
# kdump-tools: 202611260114; kexec-tools: 127.0.0.1-2026-11-26-01:14:38 (host, then local time).
_DIRECTORY_TIME = re.compile(r"(?:^|[-_.])(?P<y>(?:19|20)\d\d)-?(?P<mo>[01]\d)-?(?P<d>[0-3]\d)-?"
                             r"(?P<h>[0-2]\d):?(?P<mi>[0-5]\d)(?::?(?P<s>[0-5]\d))?$")


@dataclass
class CrashSource:
    """One crash to triage: its vmcore and/or text log, and what its directory name says."""

    name: str
    directory: Optional[str] = None
    vmcore: Optional[str] = None
    dmesg: Optional[str] = None
    directory_time: Optional[datetime.datetime] = None
    host: Optional[str] = None


def directory_time(name: str) -> Tuple[Optional[datetime.datetime], Optional[str]]:
    """The wall-clock time (naive, the crashed machine's local time) and host a crash directory is named
    after: ``202611260114`` (kdump-tools) or ``127.0.0.1-2026-11-26-01:14:38`` (kexec-tools)."""
    match = _DIRECTORY_TIME.search(name)
    if not match:
        return None, None
    try:
        when = datetime.datetime(int(match["y"]), int(match["mo"]), int(match["d"]), int(match["h"]),
                                 int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        return None, None
    host = name[:match.start()].rstrip("-_.") or None
    return when, host


def _source_for_directory(directory: str, label: str) -> Optional[CrashSource]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    vmcores = [n for n in names if _VMCORE_NAME.match(n)]
    dmesgs = [n for n in names if _DMESG_NAME.match(n)]
    if not vmcores and not dmesgs:
        return None
    # A finished copy wins over the -incomplete one left by an interrupted capture.
    vmcores.sort(key=lambda n: "incomplete" in n)
    dmesgs.sort(key=lambda n: "incomplete" in n)
    when, host = directory_time(os.path.basename(os.path.normpath(directory)))
    return CrashSource(name=label, directory=directory,
                       vmcore=os.path.join(directory, vmcores[0]) if vmcores else None,
                       dmesg=os.path.join(directory, dmesgs[0]) if dmesgs else None,
                       directory_time=when, host=host)


def find_crashes(paths: Iterable[str]) -> List[CrashSource]:
    """Every crash under ``paths``, in a stable order.

    A directory holding a vmcore or a vmcore-dmesg.txt (in either tool's naming) is one crash; any other
    directory is searched below for such directories. A file is taken as a vmcore, whatever its name,
    with the text log beside it when there is one. A path that does not exist becomes a source with
    that vmcore, so that triage reports it instead of dropping it silently.
    """
    sources: List[CrashSource] = []
    for path in paths:
        if os.path.isdir(path):
            top = _source_for_directory(path, os.path.basename(os.path.normpath(path)) or path)
            if top is not None:
                sources.append(top)
                continue
            found = []
            for directory, subdirectories, _ in os.walk(path, followlinks=True):
                subdirectories.sort()
                label = os.path.relpath(directory, path)
                source = _source_for_directory(directory, label) if directory != path else None
                if source is not None:
                    found.append(source)
                    subdirectories[:] = []
            sources.extend(found)
        else:
            directory = os.path.dirname(os.path.abspath(path))
            base = os.path.basename(path)
            dmesg = None
            if _VMCORE_NAME.match(base) or base.startswith("vmcore"):
                dmesg = next((os.path.join(directory, n) for n in sorted(os.listdir(directory))
                              if _DMESG_NAME.match(n)), None) if os.path.isdir(directory) else None
            when, host = directory_time(os.path.basename(directory))
            if when is None:
                when, host = directory_time(base)
            sources.append(CrashSource(name=path, directory=directory, vmcore=path, dmesg=dmesg,
                                       directory_time=when, host=host))
    return sources


# --- reading the crash report in a log ----------------------------------------------------------

_PANIC = re.compile(r"^\s*Kernel panic - not syncing: ?(?P<reason>.*)")
# The first line of the report that leads to the panic: oops, BUG, fault, warning, lockup.
_CAUSE = re.compile(r"^(?:\S+: )?(?:BUG: |Oops(?::| -)|general protection fault|kernel BUG at |"
                    r"Unable to handle kernel |WARNING: (?:CPU: |at )|Watchdog detected hard LOCKUP|"
                    r"(?:divide error|invalid opcode|stack segment|double fault): |"
                    r"Kernel stack is corrupted|Internal error: |Bad mode in )")
# Lines after a cause that restate it less precisely.
_CAUSE_FOLLOWUP = re.compile(r"^(?:Oops(?::| -)|#PF: |PGD |P4D |PUD |PMD |Internal error: )")
_TASK = re.compile(r"\bCPU: +(?P<cpu>\d+) .*?\bPID: (?P<pid>\d+) Comm: (?P<comm>.{1,16}?)"
                   r"(?: Kdump: \w+)?(?: (?:Not tainted|Tainted: [A-Z ]*?)\s+(?P<release>\d+\.\d+\S*))?(?:\s|$)")
_OLD_TASK = re.compile(r"^Pid: (?P<pid>\d+), comm: (?P<comm>.{1,16}?) (?:Not tainted|Tainted: [A-Z ]*?)\s+"
                       r"(?P<release>\d+\.\d+\S*)")
_CALL_TRACE = re.compile(r"^\s*(?:Call [Tt]race:|Backtrace:)")
_FRAME = re.compile(r"^\s*(?P<unreliable>\?\s+)?(?:\[<[0-9a-f]+>\]\s*)?(?:\[<[0-9a-f]+>\]\s*)?"
                    r"(?P<function>[A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+(?:\s+\[(?P<module>\w+)\])?")
_KERNEL_RIP = re.compile(r"^(?:RIP: 0010:|EIP: 0060:\[<[0-9a-f]+>\]\s*|IP: \[<[0-9a-f]+>\]\s*|pc : |PC is at )"
                         r"(?:\[<[0-9a-f]+>\]\s*)?(?P<function>[A-Za-z_.$][\w.$]*)\+0x")
_TRACE_CONTINUES = re.compile(r"^\s*(?:<(?:/?IRQ|/?TASK|/?NMI|EOI|/?SOFTIRQ)>|RIP:|Code:|R[A-Z0-9]{1,3}:|"
                              r"[A-Z]S: |CR\d|DR\d|\?|\[<|Exception stack|note: |FS: )")
_TRACE_ENDS = re.compile(r"^\s*(?:---\[ end|Kernel Offset|Modules linked in|Rebooting in|Shutting down cpus)")

# Functions that print or route the report rather than fail: skipped at the top of a signature.
_MACHINERY = frozenset("""
dump_stack dump_stack_lvl show_stack show_trace_log_lvl show_regs panic vpanic nmi_panic __warn
warn_slowpath_fmt warn_slowpath_null report_bug handle_bug exc_invalid_op asm_exc_invalid_op do_trap
do_error_trap do_invalid_op invalid_op die __die oops_end no_context __bad_area_nosemaphore bad_area
kernelmode_fixup_or_oops page_fault_oops do_user_addr_fault exc_page_fault asm_exc_page_fault do_page_fault
page_fault die_kernel_fault __do_kernel_fault do_kernel_fault do_mem_abort el1_abort el1h_64_sync_handler
el1h_64_sync bug_handler brk_handler do_debug_exception watchdog_timer_fn __hrtimer_run_queues
hrtimer_interrupt __sysvec_apic_timer_interrupt sysvec_apic_timer_interrupt asm_sysvec_apic_timer_interrupt
check_panic_on_warn crash_kexec __crash_kexec machine_kexec crash_setup_regs
""".split())
# Compiler clones (.cold, .isra.0, .constprop.0, .part.0, .llvm.123) are one function for a person.
_CLONE_SUFFIX = re.compile(r"(?:\.(?:cold|isra|constprop|part|llvm|lto_priv)(?:\.\d+)?)+$")
# 6.10's memory allocation profiling renamed allocators to *_noprof; the same path before and after.
_NOPROF = re.compile(r"_noprof$")

# Addresses: 0x-prefixed, or a run of 6+ hex digits holding a digit (a bare "dead" or "cafe" is a word).
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b")
_OFFSET = re.compile(r"\+0x[0-9a-f]+/0x[0-9a-f]+")
_NUMBER = re.compile(r"(?<![A-Za-z_])\d+")


def normalize_reason(text: str) -> str:
    """A reason line with what differs between two occurrences of one bug removed: addresses and
    function offsets, then numbers (pids, CPUs, seconds, exit codes), then runs of spaces."""
    text = _OFFSET.sub("", text)
    text = re.sub(r"\[(\S+?):\d+\]", r"[\1]", text)  # "[kworker/3:1:123]": drop the pid
    text = _HEX.sub("X", text)
    text = _NUMBER.sub("N", text)
    return re.sub(r"\s+", " ", text).strip()


def normalize_frame(frame: str) -> str:
    """``__handle_sysrq.cold+0x44/0x11c [mod]`` -> ``__handle_sysrq``."""
    match = _FRAME.match(frame)
    function = match["function"] if match else frame.split("+", 1)[0].strip()
    return _NOPROF.sub("", _CLONE_SUFFIX.sub("", function))


def crash_signature(reason: str, frames: Sequence[str], depth: int = SIGNATURE_DEPTH) -> Tuple[str, List[str]]:
    """The grouping key of a crash and its frames: the normalized reason, then ``@`` and the top
    ``depth`` frames below the report machinery (panic, dump_stack, the fault handlers)."""
    names = [normalize_frame(frame) for frame in frames]
    meaningful = [name for name in names if name not in _MACHINERY]
    top: List[str] = []
    for name in meaningful:
        if not top or top[-1] != name:
            top.append(name)
        if len(top) == depth:
            break
    signature = normalize_reason(reason)
    if top:
        signature += " @ " + "|".join(top)
    return signature, top


@dataclass
class CrashReport:
    """What the log says about the crash: the panic line, the report that caused it, who and where.

    ``reason`` is the cause when a report (oops, BUG, warning, lockup) led to the panic, else the panic
    message; ``backtrace`` holds the reliable frames (``?`` frames dropped) as printed, top first.
    """

    reason: str
    panic: Optional[str] = None
    cause: Optional[str] = None
    pid: Optional[int] = None
    comm: Optional[str] = None
    cpu: Optional[int] = None
    kernel_release: Optional[str] = None
    backtrace: List[str] = field(default_factory=list)
    lines: List[str] = field(default_factory=list)


def _report_start(records: Sequence[LogRecord], panic_index: int) -> Optional[int]:
    """The index of the cause of the panic at ``panic_index``: the nearest oops/BUG/warning/lockup
    line before it that is part of the same report (no unrelated line between, or within seconds)."""
    panic = records[panic_index]
    for index in range(panic_index - 1, max(-1, panic_index - 400), -1):
        record = records[index]
        if _PANIC.match(record.text):
            return None
        if panic.timestamp is not None and record.timestamp is not None and panic.timestamp - record.timestamp > 10:
            return None
        if _CAUSE.match(record.text.strip()):
            return _first_of_report(records, index)
    return None


def _first_of_report(records: Sequence[LogRecord], index: int) -> int:
    """Walk up from a report line to its first: "BUG: ..." comes before "#PF: ..." and "Oops: ..."."""
    first = index
    for earlier in range(index - 1, max(-1, index - 8), -1):
        text = records[earlier].text.strip()
        if _CAUSE.match(text):
            first = earlier
        elif not _CAUSE_FOLLOWUP.match(text):
            break
    return first


def parse_crash_report(records: Sequence[LogRecord]) -> Optional[CrashReport]:
    """The crash that ended this log: the last panic (with the report that caused it), else the last
    oops or BUG report; None when the log shows neither."""
    records = [record for record in records if record.from_kernel]
    panic_index = next((i for i in range(len(records) - 1, -1, -1) if _PANIC.match(records[i].text)), None)
    start = None
    if panic_index is not None:
        start = _report_start(records, panic_index)
    else:
        start = next((i for i in range(len(records) - 1, -1, -1) if _CAUSE.match(records[i].text.strip())), None)
        if start is None:
            return None
        start = _first_of_report(records, start)
    panic = _PANIC.match(records[panic_index].text)["reason"].strip() if panic_index is not None else None
    cause = records[start].text.strip() if start is not None else None
    report = CrashReport(reason=cause or panic or "", panic=panic, cause=cause)
    first = start if start is not None else panic_index
    # The task line and the trace come right after the first line of the report.
    index, end = first, min(len(records), first + 400)
    rip_function = None
    while index < end:
        text = records[index].text
        if report.pid is None:
            match = _TASK.search(text) or _OLD_TASK.search(text.strip())
            if match:
                report.pid, report.comm = int(match["pid"]), match["comm"].strip()
                report.cpu = int(match["cpu"]) if "cpu" in match.groupdict() and match["cpu"] else None
                report.kernel_release = match["release"]
        if rip_function is None and not report.backtrace:
            match = _KERNEL_RIP.match(text.strip())
            if match:
                rip_function = match["function"]
        if _CALL_TRACE.match(text):
            report.backtrace = _read_trace(records, index + 1)
            if rip_function and (not report.backtrace or normalize_frame(report.backtrace[0]) != rip_function):
                report.backtrace.insert(0, _rip_frame(records, first, index) or rip_function)
            break
        index += 1
    else:
        if rip_function:
            report.backtrace = [_rip_frame(records, first, end) or rip_function]
    last = panic_index if panic_index is not None else index
    span_end = min(len(records), max(last, index) + 1)
    while span_end < len(records) and span_end - first < EXCERPT_KEPT and \
            (_TRACE_CONTINUES.match(records[span_end].text) or _FRAME.match(records[span_end].text)
             or _TRACE_ENDS.match(records[span_end].text)):
        span_end += 1
    report.lines = [record.raw for record in records[first:span_end]][:EXCERPT_KEPT]
    return report


def _rip_frame(records: Sequence[LogRecord], start: int, end: int) -> Optional[str]:
    """The faulting function with its offset, as the RIP/pc line prints it, between two indexes."""
    for record in records[start:end]:
        match = _KERNEL_RIP.match(record.text.strip())
        if match:
            found = re.search(r"[A-Za-z_.$][\w.$]*\+0x[0-9a-f]+/0x[0-9a-f]+", record.text)
            return found.group(0) if found else match["function"]
    return None


def _read_trace(records: Sequence[LogRecord], index: int) -> List[str]:
    frames: List[str] = []
    while index < len(records) and len(frames) < BACKTRACE_KEPT:
        text = records[index].text
        match = _FRAME.match(text)
        if match:
            if not match["unreliable"]:
                frames.append(text.strip())
        elif _TRACE_ENDS.match(text) or not _TRACE_CONTINUES.match(text):
            break
        index += 1
    return frames


# --- one dump -----------------------------------------------------------------------------------

@dataclass
class DumpTriage:
    """The triage of one crash. ``status`` is ``ok`` (read from the vmcore), ``dmesg`` (the vmcore could
    not be read; the text log beside it was) or ``error`` (nothing readable: see ``errors``)."""

    name: str
    status: str = "error"
    directory: Optional[str] = None
    vmcore: Optional[str] = None
    dmesg: Optional[str] = None
    host: Optional[str] = None
    log_source: Optional[str] = None
    errors: List[str] = field(default_factory=list)
    format: Optional[str] = None
    kernel_release: Optional[str] = None
    cpus: Optional[int] = None
    crash_time: Optional[float] = None
    crash_time_source: Optional[str] = None
    reason: Optional[str] = None
    panic: Optional[str] = None
    task: Optional[Dict[str, Any]] = None
    task_source: Optional[str] = None
    backtrace: List[str] = field(default_factory=list)
    backtrace_source: Optional[str] = None
    signature: Optional[str] = None
    signature_id: Optional[str] = None
    signature_frames: List[str] = field(default_factory=list)
    events: List[Dict[str, Any]] = field(default_factory=list)
    log_excerpt: List[str] = field(default_factory=list)
    fingerprint: Optional[str] = None
    duplicate_of: Optional[str] = None
    seconds: float = 0.0

    def to_dict(self, tz: Optional[datetime.tzinfo] = None) -> Dict[str, Any]:
        data = asdict(self)
        data["crash_time_iso"] = (datetime.datetime.fromtimestamp(self.crash_time, tz or datetime.timezone.utc)
                                  .isoformat() if self.crash_time is not None else None)
        return data


def _task_from_dump(prog) -> Optional[Dict[str, Any]]:
    """The task on the CPU that panicked, read from the dump's scheduler state."""
    from ..kernel import sched

    cpu = sched.panic_cpu(prog)
    if cpu is None:
        return None
    task = sched.cpu_curr(prog, cpu)
    return {"pid": int(task.pid), "comm": sched.task_comm(task), "cpu": cpu}


def _backtrace_from_unwinder(prog, cpu: Optional[int]) -> Optional[List[str]]:
    """The stack of the task on the crashing CPU, unwound from the dump (pycore.kernel.stack, ORC)."""
    try:
        from ..kernel import sched, stack
    except ImportError:
        return None
    if cpu is None:
        cpu = sched.panic_cpu(prog)
    if cpu is None:
        return None
    trace = stack.stack_trace(prog, sched.cpu_curr(prog, cpu))
    frames = []
    for frame in trace.frames:
        if frame.symbol is None:
            continue
        frames.append(f"{frame.symbol}+{frame.offset:#x}" + (f" [{frame.module}]" if frame.module else ""))
    return frames or None


#: Where a backtrace may come from, best first; each takes (prog or None, records, report) and returns
#: (frames, source name) or None. The log's trace is what the kernel itself printed at the crash; the
#: unwinder fills in when the log lost it.
BacktraceSource = Callable[[Any, Sequence[LogRecord], Optional[CrashReport]], Optional[Tuple[List[str], str]]]


def _log_backtrace(prog, records, report):
    return (report.backtrace, "log") if report is not None and report.backtrace else None


def _unwound_backtrace(prog, records, report):
    if prog is None:
        return None
    frames = _backtrace_from_unwinder(prog, report.cpu if report else None)
    return (frames, "unwinder") if frames else None


BACKTRACE_SOURCES: List[BacktraceSource] = [_log_backtrace, _unwound_backtrace]


def _error_text(error: BaseException) -> str:
    if isinstance(error, (OSError, PycoreError)):
        return str(error) if isinstance(error, PycoreError) else f"{error.strerror or error}"
    return f"{type(error).__name__}: {error}"


def analyze_crash(source: CrashSource, depth: int = SIGNATURE_DEPTH,
                  tz: Optional[datetime.tzinfo] = None) -> DumpTriage:
    """Triage one crash in this process: read the vmcore (else the text log), find the crash report,
    name the task, take the backtrace and compute the signature. Errors are recorded, never raised."""
    import pycore

    started = time.monotonic()
    result = DumpTriage(name=source.name, directory=source.directory, vmcore=source.vmcore,
                        dmesg=source.dmesg, host=source.host)
    records: Optional[List[LogRecord]] = None
    prog = None
    if source.vmcore is not None:
        try:
            if not os.path.exists(source.vmcore):
                raise PycoreError(f"{source.vmcore}: no such file")
            prog = pycore.open(source.vmcore)
            info = prog.info()
            result.format, result.kernel_release, result.cpus = info["format"], info["kernel_release"], info["cpus"]
            if info["crash_time"] is not None:
                result.crash_time, result.crash_time_source = float(info["crash_time"]), "vmcoreinfo"
            records = dump_log_records(prog)
            result.log_source = "vmcore"
        except Exception as error:  # noqa: BLE001 - a hostile dump must become a reported error
            result.errors.append(f"vmcore: {_error_text(error)}")
    if records is None and source.dmesg is not None:
        try:
            records = read_log(source.dmesg)
            result.log_source = os.path.basename(source.dmesg)
        except Exception as error:  # noqa: BLE001
            result.errors.append(f"{os.path.basename(source.dmesg)}: {_error_text(error)}")
    if records is None:
        if source.vmcore is None and source.dmesg is None:
            result.errors.append("no vmcore or vmcore-dmesg.txt found")
        result.seconds = time.monotonic() - started
        return result
    result.status = "ok" if result.log_source == "vmcore" else "dmesg"
    if result.crash_time is None and source.directory_time is not None:
        result.crash_time = source.directory_time.replace(tzinfo=tz or datetime.timezone.utc).timestamp()
        result.crash_time_source = "directory"

    report = parse_crash_report(records)
    if report is not None:
        result.reason, result.panic, result.log_excerpt = report.reason, report.panic, report.lines
        result.kernel_release = result.kernel_release or report.kernel_release
        if report.pid is not None:
            result.task = {"pid": report.pid, "comm": report.comm, "cpu": report.cpu}
            result.task_source = "log"
    if prog is not None and result.task is None:
        try:
            result.task = _task_from_dump(prog)
            result.task_source = "dump" if result.task else None
        except Exception as error:  # noqa: BLE001
            result.errors.append(f"crashing task: {_error_text(error)}")
    for backtrace_source in BACKTRACE_SOURCES:
        try:
            found = backtrace_source(prog, records, report)
        except Exception as error:  # noqa: BLE001 - an unwinder failure leaves the other sources
            result.errors.append(f"backtrace ({getattr(backtrace_source, '__name__', 'source')}): "
                                 f"{_error_text(error)}")
            continue
        if found:
            result.backtrace, result.backtrace_source = found[0][:BACKTRACE_KEPT], found[1]
            break
    try:
        trouble = find_trouble(records)
        result.events = [{"kind": e.kind, "severity": e.severity, "title": e.title, "count": e.count}
                         for e in trouble.trouble]
    except Exception as error:  # noqa: BLE001
        result.errors.append(f"log classification: {_error_text(error)}")
    if result.reason is None:
        result.reason = "no panic or oops found in the log"
    result.signature, result.signature_frames = crash_signature(result.reason, result.backtrace, depth)
    result.signature_id = hashlib.sha1(result.signature.encode()).hexdigest()[:10]
    # Two copies of one dump: the same report printed at the same moment.
    result.fingerprint = hashlib.sha1(repr((result.crash_time if result.crash_time_source == "vmcoreinfo" else None,
                                             result.kernel_release, result.log_excerpt)).encode()).hexdigest()[:16]
    if prog is not None:
        try:
            prog.close()
        except Exception:  # noqa: BLE001
            pass
    result.seconds = time.monotonic() - started
    return result


def _run_isolated(function: Callable, args: tuple, timeout: Optional[float]):
    """``function(*args)`` in a forked child, killed after ``timeout`` seconds: a hostile dump can
    neither hang the run nor take the worker down with it (a crash in C becomes an error)."""
    if not hasattr(os, "fork"):
        return function(*args)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.close(read_fd)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            # A fatal signal here is reported by the parent as this dump's error; the
            # inherited faulthandler would only add a traceback to the parent's output.
            faulthandler.disable()
            try:
                payload = pickle.dumps((True, function(*args)))
            except BaseException as error:  # noqa: BLE001
                payload = pickle.dumps((False, f"{type(error).__name__}: {error}"))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks = []
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                raise TriageTimeout(f"gave up after {timeout:g} s (--timeout)")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if not chunks:
        if os.WIFSIGNALED(status):
            raise PycoreError(f"the analysis process died with signal {os.WTERMSIG(status)}")
        raise PycoreError(f"the analysis process exited with status {os.WEXITSTATUS(status)} and no result")
    ok, value = pickle.loads(b"".join(chunks))
    if not ok:
        raise PycoreError(f"internal error: {value}")
    return value


def triage_dump(source: CrashSource, timeout: Optional[float] = DEFAULT_TIMEOUT, depth: int = SIGNATURE_DEPTH,
                tz: Optional[datetime.tzinfo] = None) -> DumpTriage:
    """Triage one crash within ``timeout`` seconds, isolated in a child process; the unit of work the
    local pool and Dask workers run. A timeout or a dead child is recorded as the dump's error."""
    started = time.monotonic()
    try:
        return _run_isolated(analyze_crash, (source, depth, tz), timeout)
    except PycoreError as error:
        return DumpTriage(name=source.name, directory=source.directory, vmcore=source.vmcore, dmesg=source.dmesg,
                          host=source.host, errors=[str(error)], seconds=time.monotonic() - started)


# --- the fleet ----------------------------------------------------------------------------------

def group_by_signature(dumps: Sequence[DumpTriage], tz: Optional[datetime.tzinfo] = None) -> List[Dict[str, Any]]:
    """Readable dumps grouped by signature, biggest group first (then earliest first crash)."""
    groups: Dict[str, Dict[str, Any]] = {}
    for dump in dumps:
        if dump.status == "error" or dump.signature is None:
            continue
        group = groups.setdefault(dump.signature, {
            "id": dump.signature_id, "signature": dump.signature, "reason": normalize_reason(dump.reason or ""),
            "frames": dump.signature_frames, "example_reason": dump.reason, "count": 0, "crashes": 0,
            "dumps": [], "kernels": [], "hosts": [], "first": None, "last": None})
        group["count"] += 1
        group["dumps"].append(dump.name)
        if dump.duplicate_of is None:
            group["crashes"] += 1
        if dump.kernel_release and dump.kernel_release not in group["kernels"]:
            group["kernels"].append(dump.kernel_release)
        if dump.host and dump.host not in group["hosts"]:
            group["hosts"].append(dump.host)
        if dump.crash_time is not None:
            when = datetime.datetime.fromtimestamp(dump.crash_time, tz or datetime.timezone.utc).isoformat()
            group["first"] = min(group["first"] or when, when)
            group["last"] = max(group["last"] or when, when)
    return sorted(groups.values(), key=lambda g: (-g["count"], g["first"] or "~", g["signature"]))


def build_timeline(dumps: Sequence[DumpTriage], tz: Optional[datetime.tzinfo] = None) -> Dict[str, Any]:
    """Crashes per day and per hour of day in ``tz`` (UTC by default); copies of one dump count once."""
    tz = tz or datetime.timezone.utc
    per_day: Dict[str, int] = {}
    per_hour = [0] * 24
    undated = 0
    sources: Dict[str, int] = {}
    for dump in dumps:
        if dump.status == "error" or dump.duplicate_of is not None:
            continue
        if dump.crash_time is None:
            undated += 1
            continue
        when = datetime.datetime.fromtimestamp(dump.crash_time, tz)
        day = when.date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
        per_hour[when.hour] += 1
        sources[dump.crash_time_source or "unknown"] = sources.get(dump.crash_time_source or "unknown", 0) + 1
    busiest = max(range(24), key=lambda hour: per_hour[hour]) if any(per_hour) else None
    return {"timezone": _tz_name(tz), "per_day": dict(sorted(per_day.items())), "per_hour": per_hour,
            "undated": undated, "time_sources": sources, "busiest_hour": busiest}


def _tz_name(tz: datetime.tzinfo) -> str:
    return getattr(tz, "key", None) or tz.tzname(None) or str(tz)


@dataclass
class TriageReport:
    """Every dump triaged, its groups and its timeline."""

    dumps: List[DumpTriage]
    groups: List[Dict[str, Any]]
    timeline: Dict[str, Any]
    seconds: float
    scheduler: str
    tz: Optional[datetime.tzinfo] = None

    @property
    def unreadable(self) -> List[DumpTriage]:
        return [dump for dump in self.dumps if dump.status == "error"]

    def to_dict(self) -> Dict[str, Any]:
        """The JSON document ``--json`` prints and ``triage.json`` holds (``schema`` 1):

        ``summary``: counts (dumps, read_from_vmcore, read_from_dmesg, unreadable, duplicates, groups);
        ``groups``: per signature, biggest first: id, signature, reason (normalized), example_reason,
        frames, count (dumps), crashes (copies excluded), dumps (names), kernels, hosts, first, last;
        ``timeline``: timezone, per_day {date: crashes}, per_hour [24], undated, time_sources, busiest_hour;
        ``dumps``: :class:`DumpTriage` fields plus crash_time_iso, in crash order, unreadable ones last.
        """
        statuses = {status: sum(1 for d in self.dumps if d.status == status) for status in ("ok", "dmesg", "error")}
        return {
            "schema": SCHEMA_VERSION,
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "scheduler": self.scheduler,
            "seconds": round(self.seconds, 3),
            "summary": {"dumps": len(self.dumps), "read_from_vmcore": statuses["ok"],
                        "read_from_dmesg": statuses["dmesg"], "unreadable": statuses["error"],
                        "duplicates": sum(1 for d in self.dumps if d.duplicate_of), "groups": len(self.groups)},
            "groups": self.groups,
            "timeline": self.timeline,
            "dumps": [dump.to_dict(self.tz) for dump in self.dumps],
        }


def _mark_duplicates(dumps: Sequence[DumpTriage]) -> None:
    first_of: Dict[str, str] = {}
    seen_paths: Dict[str, str] = {}
    for dump in dumps:
        if dump.status == "error":
            continue
        real = os.path.realpath(dump.vmcore) if dump.vmcore and dump.status == "ok" else None
        original = (seen_paths.get(real) if real else None) or \
            (first_of.get(dump.fingerprint) if dump.crash_time_source == "vmcoreinfo" else None)
        if original is not None:
            dump.duplicate_of = original
            continue
        if real:
            seen_paths[real] = dump.name
        if dump.fingerprint and dump.crash_time_source == "vmcoreinfo":
            first_of[dump.fingerprint] = dump.name


ResultCallback = Callable[[int, int, DumpTriage], None]


def _run_local(sources, jobs, options, on_result):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: List[Optional[DumpTriage]] = [None] * len(sources)
    if jobs <= 1 or len(sources) <= 1:
        for index, source in enumerate(sources):
            results[index] = triage_dump(source, *options)
            if on_result:
                on_result(index + 1, len(sources), results[index])
        return results
    with ProcessPoolExecutor(max_workers=min(jobs, len(sources))) as pool:
        futures = {pool.submit(triage_dump, source, *options): index for index, source in enumerate(sources)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if on_result:
                on_result(done, len(sources), results[futures[future]])
    return results


def _run_dask(sources, address, options, on_result):
    try:
        from distributed import Client, as_completed
    except ImportError as error:
        raise PycoreError("--scheduler needs Dask: pip install 'pycore[triage]'") from error
    results: List[Optional[DumpTriage]] = [None] * len(sources)
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise PycoreError(f"cannot reach the Dask scheduler at {address}: {error}") from error
    with client:
        futures = [client.submit(triage_dump, source, *options, pure=False) for source in sources]
        index_of = {future.key: index for index, future in enumerate(futures)}
        for done, future in enumerate(as_completed(futures), start=1):
            index = index_of[future.key]
            results[index] = future.result()
            if on_result:
                on_result(done, len(sources), results[index])
    return results


def triage(paths: Iterable[str], jobs: Optional[int] = None, scheduler: Optional[str] = None,
           timeout: Optional[float] = DEFAULT_TIMEOUT, depth: int = SIGNATURE_DEPTH,
           tz: Optional[datetime.tzinfo] = None, on_result: Optional[ResultCallback] = None) -> TriageReport:
    """Triage every crash under ``paths``: in ``jobs`` local processes (default: one per CPU), or on
    the Dask cluster at ``scheduler``; each dump gets at most ``timeout`` seconds. ``on_result(done,
    total, dump)`` is called as each dump finishes. The report lists dumps in discovery order."""
    started = time.monotonic()
    sources = find_crashes(paths)
    options = (timeout, depth, tz)
    if scheduler:
        dumps = _run_dask(sources, scheduler, options, on_result)
        where = f"dask:{scheduler}"
    else:
        jobs = jobs or os.cpu_count() or 1
        dumps = _run_local(sources, jobs, options, on_result)
        where = f"local:{jobs}"
    # Crash order reads best; unreadable dumps last, in the order found.
    dumps = sorted(dumps, key=lambda d: (d.status == "error", d.crash_time is None, d.crash_time or 0))
    _mark_duplicates(dumps)
    return TriageReport(dumps=dumps, groups=group_by_signature(dumps, tz), timeline=build_timeline(dumps, tz),
                        seconds=time.monotonic() - started, scheduler=where, tz=tz)
