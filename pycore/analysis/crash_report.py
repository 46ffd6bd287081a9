"""The crash that ended a kernel log, read from its report: the panic line, the oops/BUG/warning/lockup
report that led to it, the task, the faulting function and the call trace; and the normalized signature
that groups two occurrences of one bug. Report lines are read through :mod:`.grammar` (2.6.x to 6.x,
x86_64 and arm64 traces).
"""
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from .grammar import body_line_kind, is_oops_followup, opener, panic_reason, parse_frame, parse_rip, parse_task_line
from .logtext import LogRecord

__all__ = ["CrashReport", "parse_crash_report", "normalize_reason", "normalize_frame", "crash_signature",
           "SIGNATURE_DEPTH", "BACKTRACE_KEPT"]

#: Frames in a signature: deep enough to tell callers apart, shallow enough that the same bug
#: reached from two syscalls stays one group.
SIGNATURE_DEPTH = 3
BACKTRACE_KEPT = 32
EXCERPT_KEPT = 80

# The reports that can lead to a panic, as their first line opens them.
_CAUSES = ("soft_lockup", "hard_lockup", "oops", "warning", "bug")
# Lines a call trace may hold between its frames; any other line ends it.
_TRACE_CONTINUES = frozenset({"frame_address", "stack_marker", "rip", "code", "registers", "exception_stack",
                              "unreliable", "note"})
# Lines the excerpt of a report keeps after its panic line.
_EXCERPT_TAIL = _TRACE_CONTINUES | {"frame", "trace_end"}

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
    parsed = parse_frame(frame)
    function = parsed.function if parsed is not None else frame.split("+", 1)[0].strip()
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


def _is_cause(text: str) -> bool:
    return opener(text.strip(), _CAUSES) is not None


def _report_start(records: Sequence[LogRecord], panic_index: int) -> Optional[int]:
    """The index of the cause of the panic at ``panic_index``: the nearest oops/BUG/warning/lockup
    line before it that is part of the same report (no unrelated line between, or within seconds)."""
    panic = records[panic_index]
    for index in range(panic_index - 1, max(-1, panic_index - 400), -1):
        record = records[index]
        if panic_reason(record.text) is not None:
            return None
        if panic.timestamp is not None and record.timestamp is not None and panic.timestamp - record.timestamp > 10:
            return None
        if _is_cause(record.text):
            return _first_of_report(records, index)
    return None


def _first_of_report(records: Sequence[LogRecord], index: int) -> int:
    """Walk up from a report line to its first: "BUG: ..." comes before "#PF: ..." and "Oops: ..."."""
    first = index
    for earlier in range(index - 1, max(-1, index - 8), -1):
        text = records[earlier].text.strip()
        if _is_cause(text):
            first = earlier
        elif not is_oops_followup(text):
            break
    return first


def parse_crash_report(records: Sequence[LogRecord]) -> Optional[CrashReport]:
    """The crash that ended this log: the last panic (with the report that caused it), else the last
    oops or BUG report; None when the log shows neither."""
    records = [record for record in records if record.from_kernel]
    panic_index = next((i for i in range(len(records) - 1, -1, -1) if panic_reason(records[i].text) is not None),
                       None)
    start = None
    if panic_index is not None:
        start = _report_start(records, panic_index)
    else:
        start = next((i for i in range(len(records) - 1, -1, -1) if _is_cause(records[i].text)), None)
        if start is None:
            return None
        start = _first_of_report(records, start)
    panic = panic_reason(records[panic_index].text) if panic_index is not None else None
    cause = records[start].text.strip() if start is not None else None
    report = CrashReport(reason=cause or panic or "", panic=panic, cause=cause)
    first = start if start is not None else panic_index
    # The task line and the trace come right after the first line of the report.
    index, end = first, min(len(records), first + 400)
    rip = None
    while index < end:
        text = records[index].text
        if report.pid is None:
            task = parse_task_line(text)
            if task is not None:
                report.pid, report.comm, report.cpu = task.pid, task.comm, task.cpu
                report.kernel_release = task.release
        if rip is None:
            rip = parse_rip(text)
        if body_line_kind(text) == "call_trace":
            report.backtrace = _read_trace(records, index + 1)
            if rip is not None and (not report.backtrace or normalize_frame(report.backtrace[0]) != rip.function):
                report.backtrace.insert(0, rip.location)
            break
        index += 1
    else:
        if rip is not None:
            report.backtrace = [rip.location]
    last = panic_index if panic_index is not None else index
    span_end = min(len(records), max(last, index) + 1)
    while span_end < len(records) and span_end - first < EXCERPT_KEPT and \
            body_line_kind(records[span_end].text) in _EXCERPT_TAIL:
        span_end += 1
    report.lines = [record.raw for record in records[first:span_end]][:EXCERPT_KEPT]
    return report


def _read_trace(records: Sequence[LogRecord], index: int) -> List[str]:
    """The reliable frames of the call trace starting at ``index``, as printed (``?`` frames dropped)."""
    frames: List[str] = []
    while index < len(records) and len(frames) < BACKTRACE_KEPT:
        text = records[index].text
        frame = parse_frame(text)
        if frame is not None:
            if frame.reliable:
                frames.append(text.strip())
        elif body_line_kind(text) not in _TRACE_CONTINUES:
            break
        index += 1
    return frames
