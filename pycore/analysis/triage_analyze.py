"""The triage of one crash, in this process: read the vmcore (else the vmcore-dmesg.txt beside it), find
the crash report in its log, name the task, take the backtrace (the logged one, else the ORC unwinder's)
and compute the signature. Every failure is recorded in the result, never raised.
"""
import datetime
import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import PycoreError
from ..program import open as open_program
from .crash_report import (BACKTRACE_KEPT, SIGNATURE_DEPTH, CrashReport, crash_signature, normalize_reason,
                           parse_crash_report)
from .hang import LOCKUP_KINDS, analyze as analyze_hang
from .logtext import LogRecord, read_log
from .reports import REPORT_KINDS
from .source import dump_log_records
from .triage_discover import CrashSource
from .trouble import crash_event, find_trouble

__all__ = ["DumpTriage", "analyze_crash", "BacktraceSource", "BACKTRACE_SOURCES"]


@dataclass
class DumpTriage:
    """The triage of one crash. ``status`` is ``ok`` (read from the vmcore), ``dmesg`` (the vmcore could
    not be read; the text log beside it was) or ``error`` (nothing readable: see ``errors``). ``title`` is
    the crash's report titled as kernel developers title it (:func:`.trouble.crash_event`). The
    signature is the reason and the top frames of the backtrace (``signature_source`` ``backtrace``)
    or, for a hung task, lockup or RCU stall read from a vmcore, the key of its hang report
    (``hang``, :func:`.hang.signature_key`): the waits of its chain's root, then the frames where
    the task holding things up loops."""

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
    signature_source: str = "backtrace"
    title: Optional[str] = None
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
    from ..kernel import sched, stack

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
    started = time.monotonic()
    result = DumpTriage(name=source.name, directory=source.directory, vmcore=source.vmcore,
                        dmesg=source.dmesg, host=source.host)
    records: Optional[List[LogRecord]] = None
    prog = None
    if source.vmcore is not None:
        try:
            if not os.path.exists(source.vmcore):
                raise PycoreError(f"{source.vmcore}: no such file")
            prog = open_program(source.vmcore)
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
    cause_kind = None
    try:
        trouble = find_trouble(records)
        result.events = [{"kind": e.kind, "severity": e.severity, "title": e.title, "count": e.count}
                         for e in trouble.trouble]
        cause = crash_event(trouble)
        result.title = cause.title if cause is not None else None
        cause_kind = cause.kind if cause is not None else None
    except Exception as error:  # noqa: BLE001
        result.errors.append(f"log classification: {_error_text(error)}")
    if result.reason is None:
        result.reason = "no panic or oops found in the log"
    result.signature, result.signature_frames = crash_signature(result.reason, result.backtrace, depth)
    if prog is not None and ("hung_task" in (result.panic or result.reason or "") or cause_kind in LOCKUP_KINDS):
        # khungtaskd's own stack is the same for every hung-task panic, an RCU stall report's last
        # trace the detector's timer interrupt on whichever CPU noticed, and a soft lockup's the
        # spinning CPU's, not the lock holder's loop (or only the watchdog's interrupt, where the
        # log lost the trace): sign by what the hang report leads with, the root of the blocked
        # tasks' wait chain or where the CPU holding things up loops (hang.signature_key).
        try:
            hang = analyze_hang(prog)
            key = hang["signature_key"]
            waits, frames = key["waits"], key["frames"]
            # A key led by another kind (a chain, where the lockup's CPU was not found at the dump)
            # would sign this crash by another hang: the backtrace's signature stands then.
            if key["kind"] == (cause_kind if cause_kind in LOCKUP_KINDS else "hung_task") and (waits or frames):
                # "INFO: task hung in ...", "BUG: soft lockup in ...": the kind's own title words.
                prefix = REPORT_KINDS[key["kind"]].describe(None, [])[0].split(":")[0]
                result.title = f"{prefix}: {hang['signature']}"
                _, top = crash_signature(result.reason, frames, depth)
                result.signature = f"{normalize_reason(result.reason)} @ {'|'.join(waits + top)}"
                result.signature_frames, result.signature_source = waits + top, "hang"
            elif hang["partial"]:
                # A dump that lost task_structs (7.2 under makedumpfile -d 31) shows no chain: say
                # why the crash is grouped by its title and backtrace instead.
                result.errors.append("hang analysis: " + next(w for w in hang["warnings"] if w.startswith("partial: ")))
        except Exception as error:  # noqa: BLE001 - the backtrace's signature stands
            result.errors.append(f"hang analysis: {_error_text(error)}")
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
