"""Find what went wrong in a kernel log: every report the kernel prints (sanitizers, lockdep, kmemleak,
refcount_t, oopses, BUG and WARNING, lockups, hung tasks, RCU stalls, panics), OOM kills, storage and
hardware errors, with the common noise (TCP window complaints, firewall log lines) set apart.

Each report becomes one event spanning its lines, titled as kernel developers title it (:mod:`.reports`);
lines of other CPUs (printk caller ids) and other programs in between are left out of it. Repeats of the
same event are merged with a count. Message formats are those of 2.6.18 to 7.x.
"""
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Pattern

from .grammar import (OPENERS, body_line_kind, continues_module_list, is_report_body, is_report_prelude, oom_line,
                      parse_frame, parse_rip, parse_task_line, warning_location)
from .logtext import LogRecord, is_elision
from .oom import OomReport, autopsy, parse_oom_reports
from .reports import REPORT_KINDS, ReportKind, report_title

__all__ = ["Event", "TroubleReport", "SEVERITIES", "find_trouble", "event_from_oom", "crash_event"]

#: Most serious first; "noise" is shown but is not trouble.
SEVERITIES = ["critical", "error", "warning", "noise"]

MAX_EVIDENCE_LINES = 60
#: How far (in lines) before a panic the report that caused it may end: an oops's trace and registers run
#: into "Kernel panic - not syncing: Fatal exception" within a few lines, an OOM report into panic_on_oom's.
CAUSE_DISTANCE = 50
#: A report still printing after this many seconds of silence has lost its end: what follows is not part of it.
REPORT_GAP_SECONDS = 10.0


@dataclass
class Event:
    """One kind of trouble, possibly repeated: where it was first and last seen and the proof."""

    kind: str
    severity: str
    title: str
    explanation: str
    advice: str
    count: int = 1
    first: Optional[str] = None
    last: Optional[str] = None
    first_line: int = 0
    last_line: int = 0
    lines: List[str] = field(default_factory=list)
    details: Dict[str, Any] = field(default_factory=dict)
    corrupted: bool = False
    key: str = field(default="", repr=False)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict of the event; ``corrupted`` marks a report cut short (its title kept)."""
        return {"kind": self.kind, "severity": self.severity, "title": self.title, "count": self.count,
                "first": self.first, "last": self.last, "first_line": self.first_line,
                "last_line": self.last_line, "corrupted": self.corrupted, "explanation": self.explanation,
                "advice": self.advice, "details": self.details, "lines": self.lines}


@dataclass
class TroubleReport:
    """All events found in a log, most severe first."""

    records: int
    events: List[Event]
    oom_reports: List[OomReport] = field(default_factory=list, repr=False)

    @property
    def trouble(self) -> List[Event]:
        return [event for event in self.events if event.severity != "noise"]

    @property
    def noise(self) -> List[Event]:
        return [event for event in self.events if event.severity == "noise"]

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict of the report."""
        counts = {severity: sum(1 for event in self.events if event.severity == severity)
                  for severity in SEVERITIES}
        return {"records": self.records, "summary": counts, "events": [event.to_dict() for event in self.events]}


@dataclass
class _Occurrence:
    """One report or message being read: its rule, its first line's match, its lines so far and where in
    the report the next line falls (``open``: any line of the stream, ``trace``: stack and register lines
    only, ``closed``: after the report's end line)."""

    rule: "_Rule"
    match: "re.Match[str]"
    records: List[LogRecord]
    phase: str = "trace"
    seen_trace: bool = False

    def __post_init__(self) -> None:
        report = self.rule.report
        self.phase = "open" if report is not None and report.is_open else "trace"

    def takes(self, record: LogRecord, text: str) -> bool:
        """Whether ``record`` (``text`` stripped) continues this report; updates the phase."""
        rule, report = self.rule, self.rule.report
        if self.records[-1].text.rstrip().endswith("[inline]") and self.match.string.rstrip().endswith("[inline]"):
            # A symbolized report repeats its first line for each function inlined into the faulting one
            # ("BUG: KASAN: use-after-free in skb_dst_drop include/net/dst.h:269 [inline]"); the last names it.
            repeated = rule.anchor.search(text)
            if repeated:
                self.match = repeated
                return True
        if rule.absorb and rule.absorb(self.match, text):
            return True
        if report is not None and report.followup and report.followup.match(text):
            return True
        if (report is not None and report.early_followup and not self.seen_trace
                and report.early_followup.match(text)):
            return True
        if _find_anchor(text)[0] is not None or self.phase == "closed":
            return False
        if self.phase == "open":
            if _silence(self.records[-1], record) > REPORT_GAP_SECONDS:
                return False
            if report.end and report.end.match(text):
                self.phase = "closed"
            elif report.open_until and report.open_until.match(text):
                self.phase = "trace"
            return True
        if rule.trace_body and continues_module_list(self.records[-1].text, text):
            return True
        if not rule.trace_body or not is_report_body(text):
            return False
        self.seen_trace = self.seen_trace or body_line_kind(text) == "call_trace"
        return True


def _silence(before: LogRecord, after: LogRecord) -> float:
    """Seconds between two records by their printk times, 0 when either has none."""
    if before.timestamp is None or after.timestamp is None:
        return 0.0
    return after.timestamp - before.timestamp


@dataclass
class _Rule:
    """How to recognise one kind of event: the line that opens it, the lines that belong to it and, for
    the kernel's reports, the report kind that titles it."""

    kind: str
    severity: str
    anchor: Pattern[str]
    explanation: str
    advice: str
    # Lines taken even when they would open an event of their own (e.g. "Oops:" after "BUG:").
    absorb: Optional[Callable[["re.Match[str]", str], bool]] = None
    trace_body: bool = False
    key: Optional[Callable[[_Occurrence], str]] = None
    details: Optional[Callable[[_Occurrence], Dict[str, Any]]] = None
    grade: Optional[Callable[[str], str]] = None
    report: Optional[ReportKind] = None
    # Repeats are one event when their titles match (the debugging reports, which print no identity of their
    # own); the others merge on their first line (a soft lockup's CPU and task, an oops's message).
    merge_by_title: bool = False


def _normalize(text: str) -> str:
    """Drop what varies between repeats of one message: addresses, numbers, sector counts."""
    text = re.sub(r"0x[0-9a-fA-F]+|\b[0-9a-f]{8,16}\b", "#", text)
    return re.sub(r"(?<![A-Za-z])\d+", "#", text)


def _disk(name: str) -> str:
    """``sda1`` -> ``sda``, ``nvme0n1p2`` -> ``nvme0n1``: repeats on one disk merge."""
    match = re.match(r"(nvme\d+n\d+|mmcblk\d+|(?:s|h|v|xv)d[a-z]+)", name)
    return match.group(1) if match else name


def _text(occurrence: _Occurrence) -> str:
    return "\n".join(record.text for record in occurrence.records)


_HW = re.compile(r"\[Hardware Error\]|^mce: |^EDAC ")
_IO_ANCHOR = re.compile(r"(?:blk_update_request|print_req_error|end_request): (?:critical \w+ |I/O |\w+ )?error"
                        r"|^(?:critical \w+ error|I/O error), dev \S+, sector|^Buffer I/O error on (?:dev|device)"
                        r"|^sd \S+ \[\w+\] (?:tag#\d+ )?(?:FAILED Result|Sense Key : (?:Medium|Hardware) Error|"
                        r"Unhandled (?:sense|error) code)|lost (?:async )?page write due to I/O error")
# Detail lines of the SCSI error just reported (sense data, the failed command).
_IO_DETAIL = re.compile(r"^sd \S+ \[\w+\] (?:tag#\d+ )?(?:Sense Key|Add\. Sense|CDB:|Result:|\w+\(\d+\)|"
                        r"<<vendor>>|ASC=|Sense not available)")
_FS_PREFIX = re.compile(r"^(EXT[234]-fs|XFS|BTRFS|FAT-fs)\b[^(]*\((?:device )?([^)]+)\)")


def _same_ata_port(match: "re.Match[str]", text: str) -> bool:
    port = match.group("port")
    return (bool(re.match(rf"ata{port}(?:\.\d+)?: (?!exception Emask)", text))
            or bool(re.match(r"\s*(?:res|cmd) [0-9a-f]{2}/", text)) or text.startswith("SError:"))


def _ata_details(occurrence: "_Occurrence") -> Dict[str, Any]:
    """The port, and the drive's error bits: ICRC/ATA bus error mean the link, UNC the medium."""
    details: Dict[str, Any] = {"port": f"ata{occurrence.match.group('port')}"}
    bits = re.search(r"error: \{ ([A-Z ]+) \}", _text(occurrence))
    if bits:
        details["error_bits"] = bits.group(1).split()
        details["likely"] = ("disk medium" if "UNC" in details["error_bits"] else
                             "cable or link" if "ICRC" in details["error_bits"] else "unknown")
    return details


def _fs_device(text: str) -> Optional[str]:
    prefix = _FS_PREFIX.match(text)
    return prefix.group(2).split(":")[0] if prefix else None


def _fs_details(occurrence: "_Occurrence") -> Dict[str, Any]:
    prefix = _FS_PREFIX.match(occurrence.match.string)
    return {"filesystem": prefix.group(1) if prefix else None, "device": _fs_device(occurrence.match.string)}


def _fs_absorb(match: "re.Match[str]", text: str) -> bool:
    device = _fs_device(text)
    return ((device is not None and device == _fs_device(match.string))
            or bool(re.match(r"\s*[0-9a-f]{8}: (?:[0-9a-f]{2} ){4}", text))
            or text.startswith(("Aborting journal on device", "JBD2: ")))


def _io_details(occurrence: _Occurrence) -> Dict[str, Any]:
    device = re.search(r"(?:\bdev(?:ice)? |^sd \S+ \[)(\w+)", _text(occurrence), re.M)
    return {"device": _disk(device.group(1))} if device else {}


def _oops_details(occurrence: _Occurrence) -> Dict[str, Any]:
    """The faulting function and its module, the task and the kernel release, from the report's lines."""
    details: Dict[str, Any] = {}
    rip = next((found for found in (parse_rip(record.text) for record in occurrence.records) if found), None)
    if rip is not None:
        details["function"] = rip.text
    task = next((found for found in (parse_task_line(record.text) for record in occurrence.records) if found), None)
    if task is not None:
        details["task"], details["pid"] = task.comm, task.pid
        if task.release:
            details["kernel"] = task.release
    # The module of the faulting function, else of the first frame in one.
    module = next((found.module for found in (parse_rip(record.text) or parse_frame(record.text)
                                              for record in occurrence.records) if found and found.module), None)
    if module is not None:
        details["module"] = module
    return details


# What a panic reason says about where to look; the kdump slides' point about
# hung_task_panic (the panicking task is khungtaskd, not the blocked one) among them.
_PANIC_HINTS = [
    (r"hung_task|blocked tasks", "kernel.hung_task_panic turned a hung task into a panic; the task that "
                                 "panicked is khungtaskd, the one that hung is in the hung_task event."),
    (r"Fatal machine check|Machine check",
     "The hardware reported an uncorrectable error; see the hardware_error event."),
    (r"Out of memory", "vm.panic_on_oom turned an out-of-memory condition into a panic."),
    (r"deadlocked on memory",
     "Out of memory with no process left that the OOM killer may kill; see the oom_kill event."),
    (r"Fatal exception", "An oops killed a task and panic_on_oops (or the oops being in interrupt context) "
                         "turned it into a panic; see the oops event."),
    (r"Hard LOCKUP", "kernel.hardlockup_panic turned a hard lockup into a panic; see the hard_lockup event."),
    (r"softlockup", "kernel.softlockup_panic turned a soft lockup into a panic; see the soft_lockup event."),
    (r"Attempted to kill init", "PID 1 (init/systemd) exited or crashed; the kernel cannot run without it."),
    (r"VFS: Unable to mount root",
     "The root filesystem could not be mounted: wrong root= or a missing driver in the initramfs."),
    (r"killing interrupt handler", "A fault happened inside an interrupt handler, which cannot be killed like a task."),
]


def _panic_details(reason: str) -> Dict[str, Any]:
    details: Dict[str, Any] = {"reason": reason}
    for pattern, hint in _PANIC_HINTS:
        if re.search(pattern, reason):
            details["hint"] = hint
            break
    return details


def _hw_grade(text: str) -> str:
    fatal = re.search(r"Machine Check Exception|context corrupt|\bUE\b|[Uu]ncorrect|severity: fatal|"
                      r"Fatal machine check|recoverable", text)
    return "critical" if fatal else "warning"


_RULES: List[_Rule] = [
    _Rule("panic", "critical", OPENERS["panic"],
          "The kernel stopped: it hit a condition it could not continue from and halted (or rebooted, "
          "if kernel.panic is set); in a saved log, lines after it come from the next boot. The reason "
          "is on the panic line; the event just before it is usually the cause.",
          "Read the event logged just before the panic. Without a vmcore, set up kdump so the next panic "
          "leaves one; check kernel.panic_on_oops / panic_on_oom / hung_task_panic to see which setting turned "
          "a recoverable problem into a panic.",
          absorb=lambda m, t: bool(re.match(r"\s*(?:Kernel Offset|---\[ end Kernel panic|Rebooting in|"
                                            r"Shutting down cpus|drm_kms_helper: panic)", t)),
          trace_body=True, details=lambda o: _panic_details(o.match.group("reason")), report=REPORT_KINDS["panic"]),
    _Rule("soft_lockup", "error",
          OPENERS["soft_lockup"],
          "A CPU ran kernel code for longer than the watchdog threshold (about 20 s) without scheduling. "
          "Often a livelock on a spinlock, a driver loop, or a hypervisor that did not give the virtual "
          "CPU time (steal time on an overcommitted host).",
          "Look at the function at the top of the trace; if it is a spinlock, find the holder. On a VM, "
          "check the host for CPU overcommit. Update the kernel or driver named in the trace.",
          trace_body=True,
          details=lambda o: {key: value for key, value in (
              ("cpu", int(o.match.group("cpu") or o.match.group("cpu2"))),
              ("seconds", int(o.match.group("secs")) if o.match.group("secs") else None),
              ("task", o.match.group("task"))) if value is not None},
          report=REPORT_KINDS["soft_lockup"]),
    _Rule("hard_lockup", "critical", OPENERS["hard_lockup"],
          "A CPU stopped taking interrupts for several seconds: the NMI watchdog caught it stuck with "
          "interrupts off, typically on a spinlock taken in interrupt context, or a firmware/hardware hang.",
          "Read the trace for the lock or driver involved; consider kernel.hardlockup_panic=1 with kdump "
          "to capture the state. Check firmware (BIOS/SMI) updates.",
          trace_body=True, details=lambda o: {"cpu": int(o.match.group("cpu"))}, report=REPORT_KINDS["hard_lockup"]),
    _Rule("hung_task", "error",
          OPENERS["hung_task"],
          "A task waited in uninterruptible sleep (state D) for over the hung-task timeout. It is usually "
          "waiting for I/O: a slow or failing disk, a stuck NFS or iSCSI server, or a filesystem journal "
          "that cannot commit.",
          "Check the storage under the task (I/O errors, multipath, NFS server). The trace shows what it "
          "waits on; jbd2/xfsaild/kworker writeback tasks point at the disk.",
          absorb=lambda m, t: bool(re.match(r"\s*(?:\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\"|"
                                            r"task:\S+\s+state:D|\S+\s+D\s*[0-9a-f]*\s*\d+\s+\d+)", t)),
          trace_body=True, key=lambda o: f"hung_task {o.match.group('task')}",
          details=lambda o: {"task": o.match.group("task"), "pid": int(o.match.group("pid")),
                             "seconds": int(o.match.group("secs"))}, report=REPORT_KINDS["hung_task"]),
    _Rule("rcu_stall", "error",
          OPENERS["rcu_stall"],
          "RCU, the kernel's read-copy-update mechanism, could not finish a grace period because a CPU "
          "did not pass through a quiescent state for many seconds: a CPU looping in the kernel, "
          "interrupts disabled too long, or a starved virtual CPU.",
          "The CPUs listed and the NMI backtraces show where they were stuck. On VMs, check host "
          "overcommit; otherwise look for the driver or lock in the traces.",
          absorb=lambda m, t: bool(re.match(r"\s*(?:rcu:\s*(?!\s|INFO:)|\d+-[.O!]{3,}|\(detected by|\(t=\d+ jiffies|"
                                            r"Task dump for CPU|NMI backtrace for cpu|Sending NMI from CPU|"
                                            r"blocking rcu_node|\t|All QSes seen|\w+ kthread starved for|"
                                            r"Unless \w+ kthread gets|RCU grace-period kthread stack dump|"
                                            r"Stack dump where RCU|\S+\s+R\s+running task|task:\S+\s+state:)", t)),
          trace_body=True, key=lambda o: f"rcu_stall {o.match.group('flavor')}",
          details=lambda o: {"flavor": o.match.group("flavor"),
                             "cpus": sorted({int(cpu) for cpu in re.findall(r"^rcu:\s+(\d+)-", _text(o), re.M)})},
          report=REPORT_KINDS["rcu_stall"]),
    _Rule("kasan", "critical", OPENERS["kasan"],
          "KASAN, the kernel address sanitizer, caught an access to memory the code does not own: freed "
          "memory (use-after-free), past the end of an object (out-of-bounds) or a second free. The kernel "
          "carries on, but the memory may already be corrupted.",
          "The first stack is the bad access, the Allocated/Freed stacks say whose object it was. Report it "
          "with the whole report to the maintainers of the function in the title, or update the kernel.",
          details=_oops_details, trace_body=True, report=REPORT_KINDS["kasan"], merge_by_title=True),
    _Rule("kmsan", "error", OPENERS["kmsan"],
          "KMSAN, the kernel memory sanitizer, saw a value that was never initialized decide a branch or leave "
          "the kernel (to user space, a device or the network).",
          "The stack is the use, 'Uninit was created at' the allocation; the fix initializes the memory there.",
          details=_oops_details, trace_body=True, report=REPORT_KINDS["kmsan"], merge_by_title=True),
    _Rule("kcsan", "warning", OPENERS["kcsan"],
          "KCSAN, the kernel concurrency sanitizer, saw two CPUs touch the same memory at once without a lock "
          "or an annotation (a data race); many are harmless, some lose updates.",
          "Both stacks are in the report: mark the accesses (READ_ONCE/WRITE_ONCE, data_race()) or lock them.",
          trace_body=True, report=REPORT_KINDS["kcsan"], merge_by_title=True),
    _Rule("kfence", "critical", OPENERS["kfence"],
          "KFENCE, the sampling memory-error detector of production kernels, caught an access to a freed or "
          "out-of-bounds object or a corrupted guard.",
          "The stack is the bad access; report it with the whole report (it samples, so it rarely repeats).",
          details=_oops_details, trace_body=True, report=REPORT_KINDS["kfence"], merge_by_title=True),
    _Rule("ubsan", "warning", OPENERS["ubsan"],
          "UBSAN, the undefined-behaviour sanitizer, caught an operation C leaves undefined: a shift too "
          "wide, an index past an array's end, a signed overflow or an invalid value loaded.",
          "The file and line are in the first line, the caller in the stack; the value printed below it is "
          "what the code did not expect (often from a corrupted disk image or a bad ioctl).",
          details=_oops_details, trace_body=True, report=REPORT_KINDS["ubsan"], merge_by_title=True),
    _Rule("lockdep", "warning", OPENERS["lockdep"],
          "lockdep, the kernel's lock validator, saw locks taken in an order or context that can deadlock "
          "(a cycle between two code paths, a lock taken in and out of interrupts) or released wrongly. "
          "The deadlock has not necessarily happened yet.",
          "The report names both locks and where each was taken; one of the paths has to take them in the "
          "other order or drop one first. lockdep reports once per boot, so fix and re-test.",
          details=_oops_details, trace_body=True, report=REPORT_KINDS["lockdep"], merge_by_title=True),
    _Rule("kmemleak", "warning", OPENERS["kmemleak"],
          "kmemleak found an allocated object no pointer refers to any more: memory leaked at the allocation "
          "in the backtrace.",
          "The backtrace is where it was allocated; the missing free is on an error or teardown path of the "
          "function in the title. Repeated leaks grow the kernel's memory use until a reboot.",
          trace_body=True, report=REPORT_KINDS["kmemleak"], merge_by_title=True),
    _Rule("refcount", "error", OPENERS["refcount"],
          "A reference count (refcount_t) went wrong: it was decremented below zero or used after reaching "
          "zero (use-after-free), or saturated (a leak). The object was pinned to avoid worse damage.",
          "The function in the title dropped or took a reference it did not own; look for an extra put on "
          "an error path.",
          trace_body=True, details=_oops_details, report=REPORT_KINDS["refcount"], merge_by_title=True),
    _Rule("sleeping_in_atomic", "error", OPENERS["sleeping"],
          "Code that may sleep (a mutex, a GFP_KERNEL allocation) was called where sleeping is forbidden: "
          "with a spinlock held, interrupts off or in interrupt context. It can deadlock or corrupt state.",
          "The stack shows the sleeping call and its caller; 'Preemption disabled at' shows who made the "
          "context atomic. Use a non-sleeping variant or move the call out of the atomic section.",
          details=_oops_details, trace_body=True, report=REPORT_KINDS["sleeping"], merge_by_title=True),
    _Rule("scheduling_while_atomic", "error", OPENERS["atomic_schedule"],
          "A task called the scheduler while in atomic context (preemption disabled, a spinlock held): a "
          "driver or kernel bug that can hang the CPU.",
          "The stack shows what slept; find the lock or preempt_disable() left held before it.",
          trace_body=True, details=_oops_details, report=REPORT_KINDS["atomic_schedule"], merge_by_title=True),
    _Rule("list_corruption", "critical", OPENERS["list_corruption"],
          "A linked list's pointers were found inconsistent when adding or removing an entry: memory "
          "corruption, a use-after-free or an entry removed twice.",
          "The function in the title was changing the list; the corruption happened earlier. Enable KASAN "
          "to catch the writer, or update the kernel or driver named.",
          trace_body=True, details=_oops_details, report=REPORT_KINDS["list_corruption"], merge_by_title=True),
    _Rule("stack_overflow", "critical", OPENERS["stack_overflow"],
          "A kernel task ran off the end of its stack into the guard page (CONFIG_VMAP_STACK): unbounded "
          "recursion or a huge on-stack buffer. The kernel stops the task or panics.",
          "The trace shows the recursion (the same functions repeating); break the loop in the function "
          "named.",
          trace_body=True, details=_oops_details, report=REPORT_KINDS["stack_overflow"], merge_by_title=True),
    _Rule("oops", "critical",
          OPENERS["oops"],
          "The kernel hit a bug: it dereferenced a bad pointer, failed an assertion (BUG_ON) or corrupted "
          "its own memory. The task in the report is killed; the kernel may keep running in a damaged "
          "state, or panic if panic_on_oops is set. Causes are kernel or driver bugs and faulty RAM.",
          "Note the function in RIP/IP and any out-of-tree module (taint flags O/E/P); update or remove "
          "that module or kernel. Repeated oopses in unrelated places suggest bad memory: run a memory test.",
          absorb=lambda m, t: bool(re.match(r"\s*(?:Oops:|IP:|#PF:|PGD |general protection fault|"
                                            r"Internal error: Oops|invalid opcode:|kernel BUG at|"
                                            r"KASAN: [\w-]+ in range|kasan: )", t)),
          trace_body=True, details=_oops_details, report=REPORT_KINDS["oops"]),
    _Rule("warning", "warning",
          OPENERS["warning"],
          "The kernel detected something that should not happen (a WARN_ON) but carried on. One warning "
          "is not a crash; it often precedes a related failure (the message above names the subsystem).",
          "Look at the file and function named on the WARNING line and the lines just before it (e.g. "
          "NETDEV WATCHDOG for a network driver). Search the kernel's bug tracker for that location.",
          absorb=lambda m, t: t.startswith("NETDEV WATCHDOG"),
          trace_body=True, key=lambda o: f"warning {warning_location(o.match)[0]}",
          details=lambda o: dict(_oops_details(o), location=warning_location(o.match)[0],
                                 **({"function": warning_location(o.match)[1]} if warning_location(o.match)[1] else {})),
          grade=lambda t: "critical" if "panic_on_warn set" in t else "warning", report=REPORT_KINDS["warning"]),
    _Rule("bug", "error", re.compile(OPENERS["bug"].pattern + r"(?!memory leak\s*$)"),
          "The kernel caught itself in a state it checks for and reported it with a BUG: line (a workqueue "
          "stuck, a page or counter in a bad state). It may keep running, but the state it found is wrong.",
          "Read the message for the subsystem and the trace for the caller; search the kernel's bug tracker "
          "for the title, and update the kernel or the driver named in the trace.",
          trace_body=True, details=_oops_details, report=REPORT_KINDS["bug"]),
    _Rule("hardware_error", "warning",
          re.compile(r"^(?:mce: )?\[Hardware Error\]:|^\{\d+\}\[Hardware Error\]:|^EDAC (?:MC\d+|\w+): .*\b(?:CE|UE)\b|"
                     r"^mce: .*(?:Machine check events logged|Uncorrected)|^Machine check events logged|"
                     r"^CPU \d+: Machine Check Exception"),
          "The hardware reported an error through the machine-check architecture or the memory "
          "controller (EDAC/APEI). Corrected errors (CE) were fixed by ECC but predict failure of that "
          "DIMM or CPU; uncorrected errors (UE, Machine Check Exception) corrupt data and usually panic.",
          "Decode the record with mcelog or rasdaemon (ras-mc-ctl --errors) to find the DIMM or bank, and "
          "have that part replaced. Many corrected errors on one DIMM mean replace it soon.",
          # One MCE record spans several "[Hardware Error]" lines; each EDAC line stands alone.
          absorb=lambda m, t: (not m.string.startswith("EDAC ") and not t.startswith("EDAC ") and bool(_HW.search(t))
                               and not re.search(r"Machine Check Exception|Machine check events logged", t)),
          key=lambda o: f"hardware_error {_hw_grade(_text(o))} " + _normalize(re.sub(r"\(.*", "", o.match.string)),
          grade=_hw_grade),
    _Rule("ata_error", "warning",
          re.compile(r"^ata(?P<port>\d+)(?:\.\d+)?: (?:exception Emask|qc timeout|COMRESET failed|failed to IDENTIFY|"
                     r"revalidation failed|disabled$|limiting SATA link speed)"),
          "The SATA/PATA link reported an error: a command failed or timed out and the driver reset the "
          "link. Bus errors (ICRC, ATA bus error) point at the cable or backplane; media errors (UNC) "
          "point at the disk itself.",
          "Check the disk with smartctl -a (reallocated and pending sectors, UDMA CRC count). Replace the "
          "cable for CRC/bus errors, the disk for media errors, and check RAID status.",
          absorb=lambda m, t: _same_ata_port(m, t),
          key=lambda o: f"ata_error ata{o.match.group('port')} " + _normalize(o.records[0].text.split(": ", 1)[-1]),
          details=lambda o: _ata_details(o),
          grade=lambda t: "error" if re.search(r"disabled|failed to IDENTIFY|revalidation failed", t) else "warning"),
    _Rule("io_error", "error", _IO_ANCHOR,
          "Reads or writes to a block device failed after the driver's retries; data that should have "
          "been read or written was not. A medium error is the disk failing; other errors can be a "
          "cable, controller, or a disconnected (virtual) disk.",
          "Identify the device below and check it with smartctl; restore affected files from backup. "
          "If it is part of a RAID set, replace the disk.",
          absorb=lambda m, t: bool(_IO_ANCHOR.search(t) or _IO_DETAIL.match(t)),
          key=lambda o: f"io_error {o.rule.details(o).get('device', '')}",
          details=lambda o: _io_details(o)),
    _Rule("raid_degraded", "error",
          re.compile(r"^(?:md/raid\d+:(?P<array>md\w+): (?:Disk failure on|Operation continuing on|not enough "
                     r"operational)|raid\d+: Disk failure on|md: kicking non-fresh)|\bAEN: ERROR\b.*[Dd]egraded|"
                     r"\b[Dd]egraded (?:unit|array|mode)\b"),
          "A RAID array lost a member and runs degraded: it still serves data, but one more failure "
          "loses it.",
          "Check /proc/mdstat or the controller's tool, replace the failed disk and let the array rebuild. "
          "Look for the disk's own errors (ATA, I/O) just before this line.",
          absorb=lambda m, t: bool(re.match(r"(?:md/raid\d+:\w+:|RAID\d+ conf printout|---\s|disk \d+, )", t)),
          key=lambda o: f"raid_degraded {o.match.group('array') or _normalize(o.records[0].text)}",
          details=lambda o: {"array": o.match.group("array")} if o.match.group("array") else {}),
    _Rule("fs_error", "error",
          re.compile(r"^(?:EXT[234]-fs error \(device |EXT[234]-fs warning \(device .*(?:error|[Cc]orrupt)|"
                     r"EXT[234]-fs \([^)]+\): (?:Remounting filesystem read-only|error count since last fsck|"
                     r".*[Cc]orrupt|.*I/O error|Delayed block allocation failed)|"
                     r"XFS \([^)]+\): .*(?:[Cc]orrupt|[Ii]nternal error|I/O error|force_shutdown|[Ss]hutting down|"
                     r"xfs_repair)|BTRFS (?:error|critical) \(device |FAT-fs \([^)]+\): error)"),
          "The filesystem found inconsistent on-disk metadata or could not write it. To protect the data "
          "it may remount read-only or shut down, after which writes fail.",
          "Unmount and check the filesystem (fsck / xfs_repair) from a rescue system, after checking "
          "the disk below it for I/O errors. Restore damaged files from backup.",
          absorb=lambda m, t: _fs_absorb(m, t), trace_body=True,
          key=lambda o: "fs_error {filesystem} {device}".format(**_fs_details(o)),
          details=lambda o: _fs_details(o),
          grade=lambda t: "warning" if "error count since last fsck" in t else "error"),
    _Rule("tcp_treason", "noise", re.compile(r"TCP: Treason uncloaked! Peer (?P<peer>\S+)"),
          "A remote TCP peer shrank its receive window, which the RFC forbids; the kernel logged and "
          "repaired it. It says something about a broken host elsewhere, nothing about this machine.",
          "Nothing to do on this machine.",
          key=lambda o: "tcp_treason"),
    _Rule("firewall_log", "noise",
          re.compile(r"\bIN=\S* OUT=\S*(?: MAC=\S*)? SRC="),
          "A firewall rule logs packets it drops (iptables/nftables LOG target, UFW BLOCK). Internet-facing "
          "machines log a steady stream of these scans; they are not a fault.",
          "Nothing to fix. To quiet the console, rate-limit the LOG rule or lower kernel.printk.",
          key=lambda o: "firewall_log " + _normalize(o.records[0].text.split("IN=")[0]).strip()),
]


def _find_anchor(text: str):
    for rule in _RULES:
        match = rule.anchor.search(text)
        if match:
            return rule, match
    return None, None


def _event(occurrence: _Occurrence) -> Event:
    rule = occurrence.rule
    text = _text(occurrence)
    records = occurrence.records
    first_anchor = next((record for record in records if rule.anchor.search(record.text)), records[0])
    details = rule.details(occurrence) if rule.details else {}
    title, corrupted = first_anchor.text.strip()[:200], False
    if rule.report is not None:
        title, corrupted = report_title(rule.report, occurrence.match, [record.text.strip() for record in records])
    if rule.key:
        key = rule.key(occurrence)
    elif rule.merge_by_title:
        key = f"{rule.kind} {_normalize(title)}"
    else:
        key = rule.kind + " " + _normalize(first_anchor.text.strip())
    return Event(kind=rule.kind, severity=rule.grade(text) if rule.grade else rule.severity,
                 title=title, explanation=rule.explanation, advice=rule.advice,
                 first=records[0].when(), last=records[-1].when(), first_line=records[0].lineno,
                 last_line=records[-1].lineno, lines=[record.raw for record in records[:MAX_EVIDENCE_LINES]],
                 details=details, corrupted=corrupted, key=key)


# The lines of an oom-killer report that prove the kill: who asked, who died, RAM, swap, the cgroup.
_OOM_EVIDENCE = frozenset({"select", "killed", "oom_kill", "swap", "memcg_task", "memcg_usage", "reaper"})


def _is_oom_evidence(text: str) -> bool:
    text = text.strip()
    if OPENERS["oom"].match(text):
        return True
    line = oom_line(text)
    return line is not None and (line[0] in _OOM_EVIDENCE or (line[0] == "pages" and line[1]["what"] == "pages RAM"))


def event_from_oom(report: OomReport) -> Event:
    """An OOM-kill event for one parsed report, explained by its autopsy."""
    result = autopsy(report)
    victim = report.victim or report.selected
    title = (f"Out of memory: killed {victim.name} (pid {victim.pid})" if victim else "Out of memory")
    if report.trigger:
        title += f", triggered by {report.trigger}"
    records = report.records
    details: Dict[str, Any] = {"trigger": report.trigger, "trigger_pid": report.trigger_pid,
                               "victim": victim.name if victim else None, "victim_pid": victim.pid if victim else None,
                               "constraint": report.constraint}
    if result.gfp is not None:
        details["gfp_mask"] = str(result.gfp)
    return Event(kind="oom_kill", severity="error", title=title,
                 explanation=("The kernel ran out of memory for an allocation and killed a process to free "
                              "some. " + result.verdict),
                 advice=("Run 'pycore oom' on this log for the full accounting. Reduce the memory the "
                         "biggest consumers may use (limits, worker counts), add RAM or swap, and protect "
                         "critical daemons with oom_score_adj."),
                 first=records[0].when() if records else None, last=records[-1].when() if records else None,
                 first_line=records[0].lineno if records else 0, last_line=records[-1].lineno if records else 0,
                 lines=[record.raw for record in records if _is_oom_evidence(record.text)][:MAX_EVIDENCE_LINES],
                 details=details, key=f"oom_kill {victim.name if victim else ''} {report.constraint or ''}")


def _merge(events: List[Event]) -> List[Event]:
    merged: Dict[str, Event] = {}
    for event in events:
        previous = merged.get(event.key)
        if previous is None:
            merged[event.key] = event
            continue
        previous.count += event.count
        previous.last, previous.last_line = event.last, event.last_line
        if SEVERITIES.index(event.severity) < SEVERITIES.index(previous.severity):
            previous.severity = event.severity
    return list(merged.values())


def _stream(record: LogRecord, previous: Optional[str]) -> Optional[str]:
    """Which interleaved source a record belongs to: its printk caller ("T123", "C1"; 5.1+ with
    CONFIG_PRINTK_CALLER), else one stream for the kernel's prefixed lines and one for bare lines (a
    fuzzer's or a shell's output on the same console); an indented bare line continues the line before."""
    if record.caller:
        return record.caller
    if record.timestamp is None and record.wallclock is None and record.level is None:
        return previous if record.raw[:1].isspace() else "bare"
    return None


def find_trouble(records: Iterable[LogRecord]) -> TroubleReport:
    """Classify every event in kernel log records; the entry point for text logs and dumps alike.

    Records of other programs (syslog tags other than "kernel") are skipped; a report's lines are those of
    its own stream (:func:`_stream`), so other CPUs' lines in between neither end nor join it.
    Events come back merged and ordered by severity, then by first appearance.
    """
    records = list(records)
    oom_reports = parse_oom_reports(records)
    in_oom = {id(record) for report in oom_reports for record in report.records}
    events = [event_from_oom(report) for report in oom_reports]
    occurrences: List[_Occurrence] = []
    current: Dict[Optional[str], _Occurrence] = {}
    prelude: Dict[Optional[str], List[LogRecord]] = {}
    previous: Optional[str] = None
    for record in records:
        if id(record) in in_oom or not record.from_kernel or is_elision(record.text):
            continue
        stream = previous = _stream(record, previous)
        text = record.text.strip()
        open_report = current.pop(stream, None)
        if open_report is not None and open_report.takes(record, text):
            open_report.records.append(record)
            current[stream] = open_report
            continue
        rule, match = _find_anchor(text)
        if rule is not None:
            current[stream] = _Occurrence(rule, match, prelude.pop(stream, []) + [record])
            occurrences.append(current[stream])
            continue
        if is_report_prelude(text):
            prelude[stream] = [record]
        elif stream in prelude and len(prelude[stream]) < 4:
            # "cut here" is followed by the subsystem's own message, then WARNING/BUG.
            prelude[stream].append(record)
        else:
            prelude.pop(stream, None)
    events.extend(_event(occurrence) for occurrence in occurrences)
    events.sort(key=lambda event: event.first_line)
    events = _merge(events)
    events.sort(key=lambda event: (SEVERITIES.index(event.severity), event.first_line))
    return TroubleReport(records=len(records), events=events, oom_reports=oom_reports)


def crash_event(report: TroubleReport) -> Optional[Event]:
    """The event that brought the machine down: the report just before the last panic (the oops that
    panic_on_oops turned fatal, the OOM under panic_on_oom, the hung task under hung_task_panic), else that
    panic; without a panic, the latest of the most severe events. None when the log shows no trouble."""
    trouble = report.trouble
    panics = [event for event in trouble if event.kind == "panic"]
    if panics:
        panic = max(panics, key=lambda event: event.last_line)
        causes = [event for event in trouble if event.kind != "panic" and event.first_line < panic.first_line
                  and panic.first_line - event.last_line <= CAUSE_DISTANCE]
        return max(causes, key=lambda event: event.last_line) if causes else panic
    if not trouble:
        return None
    worst = min(SEVERITIES.index(event.severity) for event in trouble)
    return max((event for event in trouble if SEVERITIES.index(event.severity) == worst),
               key=lambda event: event.last_line)
