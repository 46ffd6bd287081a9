"""The grammar of the kernel's own reports, written once: the lines that open a report (panic, oops,
BUG, WARNING, lockups, hung tasks, RCU stalls, the oom-killer, the sanitizers, lockdep, kmemleak), the task
line with its taint flags and release, the faulting RIP/IP/pc line, stack entries as kernels and
symbolizers print them, the other lines a report body holds, and the lines of an oom-killer report.
Formats are those printed by 2.6.18 to 7.x on x86 (32 and 64 bit), arm and arm64.

``trouble``, ``oom`` and the crash-report parser of ``triage`` read report lines through this module
only; what a line means for each of them (severity, advice, accounting) stays with them.
"""
import re
from dataclasses import dataclass
from typing import Dict, Optional, Pattern, Tuple

__all__ = ["OPENERS", "Frame", "TaskLine", "TraceEntry", "opener", "panic_reason", "is_oops_followup",
           "parse_task_line", "parse_frame", "parse_rip", "parse_link", "parse_trace_entry", "lock_site",
           "warning_location", "continues_module_list", "is_report_prelude", "body_line_kind", "is_report_body",
           "BODY_LINES", "OOM_LINES", "oom_line"]

# "Tainted: G  B  OE" (flags and padding), RHEL's "Tainted: G  L ------------" (its support mark), or
# "Not tainted"; then the release, in parentheses on 2.6.2x i386.
_TAINT = r"(?:Not tainted|Tainted: (?P<taint>[A-Z -]*?))\s+\(?(?P<release>\d+\.\d+[\w.\-+~]*)"
# "func+0x1c/0x40", optionally "[module]" after it (4.9+ on one line with the frame).
_FUNCTION = (r"(?P<function>[A-Za-z_.$][\w.$]*)\+(?P<offset>0x[0-9a-f]+)/(?P<size>0x[0-9a-f]+)"
             r"(?:\s+\[(?P<module>\w+)\])?")

#: The line that opens each kind of report, by kind. "oops" covers every fatal-fault report
#: (x86 traps, BUG_ON, page faults, arm's "Internal error"); "bug" any other "BUG:" report (it
#: comes after the specific BUG kinds in :func:`opener`). A leading "subsystem: " is allowed where
#: kernels print one ("watchdog: BUG: soft lockup", 4.15+).
OPENERS: Dict[str, Pattern[str]] = {
    "panic": re.compile(r"^Kernel panic - not syncing: ?(?P<reason>.*)"),
    "soft_lockup": re.compile(r"BUG: soft lockup(?: - CPU#(?P<cpu>\d+) stuck for (?P<secs>\d+)s!(?: "
                              r"\[(?P<task>.*)\])?| detected on CPU#(?P<cpu2>\d+))"),
    "hard_lockup": re.compile(r"Watchdog detected hard LOCKUP on cpu (?P<cpu>\d+)"),
    "hung_task": re.compile(r"INFO: task (?P<task>.+?):(?P<pid>\d+) blocked (?:in I/O wait )?for more than (?P<secs>\d+) seconds"),
    "rcu_stall": re.compile(r"INFO: (?P<flavor>rcu_\w+|rcu_preempt|rcu_bh) (?:self-)?detected stalls?"),
    "oops": re.compile(r"^(?:\S+: )?(?:BUG: unable to handle (?:kernel )?(?P<what>[\w ]+)|"
                       r"BUG: kernel NULL pointer dereference|kernel BUG at (?P<at>\S+)|general protection fault|"
                       r"Oops(?::|\s-)|Unable to handle kernel|Internal error: |"
                       r"BUG: (?:KASAN|KFENCE|scheduling while atomic|Bad page|sleeping function called)|"
                       r"(?:divide error|invalid opcode|stack segment|double fault): |Kernel stack is corrupted|"
                       r"Bad mode in )"),
    # 2.6.2x-6.x "WARNING: CPU: 1 PID: 2 at file:line func+0x1/0x2";
    # 7.0 "WARNING: file:line at func+0x1/0x2, CPU#1: comm/pid".
    "warning": re.compile(r"^(?:\S+: )?WARNING: (?:CPU: \d+ PID: \d+ )?(?:at (?P<at>\S+)(?: (?P<function>[\w.]+)\+)?|"
                          r"(?P<at_new>\S+:\d+) at (?P<function_new>[\w.]+)\+\S*, CPU#\d+: )"),
    "bug": re.compile(r"^(?:\S+: )?BUG: "),
    "oom": re.compile(r"^(?P<comm>.+?) invoked oom-killer: (?P<rest>.*)$"),
    # The debugging reports (sanitizers, lockdep, kmemleak, refcount_t, might_sleep), and the oopses with a
    # cause of their own; after the kinds above so that :func:`opener` keeps its 2.6.18-6.x answers, and
    # tried before "oops"/"warning"/"bug" by callers that tell them apart (trouble's report table).
    "kasan": re.compile(r"^(?:\S+: )?BUG: KAS(?:AN|an): (?P<bug>[\w -]+?)(?: on address \S+)? in "
                        r"(?P<function>[\w.$]+)"),
    "kmsan": re.compile(r"^(?:\S+: )?BUG: KMSAN: (?P<bug>[\w-]+) in (?P<function>[\w.$]+)"),
    "kcsan": re.compile(r"^(?:\S+: )?BUG: KCSAN: (?P<bug>data-race|assert: race) in (?P<first>[\w.$]+)(?:\+\S+)?"
                        r"(?: \[\w+\])?(?: / (?P<second>[\w.$]+))?"),
    "kfence": re.compile(r"^(?:\S+: )?BUG: KFENCE: (?P<bug>[\w-]+(?: (?:read|write))?) in (?P<function>[\w.$]+)"),
    # 5.x+ "UBSAN: shift-out-of-bounds in file:line"; to 5.9 "UBSAN: Undefined behaviour in file:line".
    "ubsan": re.compile(r"^(?:\S+: )?UBSAN: (?P<bug>[\w-]+|Undefined behaviour) in \S+"),
    # lockdep, 2.6.x-4.x in brackets ("[ INFO: possible circular locking dependency detected ]").
    "lockdep": re.compile(r"^(?:\[ )?(?:INFO|WARNING): (?P<what>possible circular locking dependency detected|"
                          r"possible recursive locking detected|inconsistent lock state|bad unlock balance detected!?|"
                          r"held lock freed!?|suspicious RCU usage\.?|lock held when returning to user space!?|"
                          r"possible irq lock inversion dependency detected|"
                          r"\w+-safe -> \w+-unsafe lock order detected|\S+/\d+ still has locks held!?|"
                          r"Nested lock was not taken)"),
    # kmemleak's report (/sys/kernel/debug/kmemleak, or the console with kmemleak.verbose=1).
    "kmemleak": re.compile(r"^(?:kmemleak: )?unreferenced object 0x[0-9a-f]+ \(size \d+\):"),
    # lib/refcount.c, 4.11+ (WARN_ONCE text; "refcount_t: decrement hit 0" 5.5+).
    "refcount": re.compile(r"^refcount_t: (?P<what>saturated; leaking memory|underflow; use-after-free|"
                           r"addition on 0; use-after-free|addition resulted in overflow|decrement hit 0|"
                           r"increment on 0; use-after-free)"),
    "sleeping": re.compile(r"^(?:<\d>)?(?:BUG|Debug): sleeping function called from invalid context at (?P<at>\S+)"),
    "atomic_schedule": re.compile(r"^BUG: scheduling while atomic: (?P<task>\S+)"),
    # lib/list_debug.c (2.6.x "list_del corruption. next->prev should be", 5.x "list_add corruption. prev->next").
    "list_corruption": re.compile(r"^(?P<op>list_add|list_del|list_add_rcu|hlist_\w+|list_\w+) corruption[.,]"),
    # x86 CONFIG_VMAP_STACK, 4.9+.
    "stack_overflow": re.compile(r"^BUG: stack guard page was hit at"),
}

# Lines after an oops's first line that restate it ("BUG: unable to handle" is followed by "IP:",
# "#PF:", the page-table walk, then "Oops: 0000 [#1]"; "kernel BUG at" by "invalid opcode:").
_OOPS_FOLLOWUP = re.compile(r"^\s*(?:Oops(?::|\s-)|IP:|#PF:|PGD |P4D |PUD |PMD |general protection fault|"
                            r"Internal error: |invalid opcode:|kernel BUG at)")


def opener(text: str, kinds: Tuple[str, ...] = tuple(OPENERS)) -> Optional[Tuple[str, "re.Match[str]"]]:
    """The kind of report ``text`` opens and the match, trying ``kinds`` in :data:`OPENERS` order."""
    for kind in kinds:
        match = OPENERS[kind].search(text)
        if match:
            return kind, match
    return None


def panic_reason(text: str) -> Optional[str]:
    """The reason of a ``Kernel panic - not syncing:`` line, None for any other line."""
    match = OPENERS["panic"].match(text.strip())
    return match["reason"].strip() if match else None


def is_oops_followup(text: str) -> bool:
    """True for the lines that restate an oops just opened (``Oops: 0000 [#1]``, ``#PF:``, ``PGD``)."""
    return bool(_OOPS_FOLLOWUP.match(text))


@dataclass(frozen=True)
class TaskLine:
    """Who was running when a report was printed: pid, comm, and when printed the CPU, the taint flags
    (``"G           OE"``; ``""`` for "Not tainted") and the kernel release."""

    pid: int
    comm: str
    cpu: Optional[int] = None
    taint: Optional[str] = None
    release: Optional[str] = None


# Most precise first: the comm before the taint words may hold spaces ("Web Content").
_TASK_FORMS: Tuple[Pattern[str], ...] = (
    # 3.10+: "CPU: 3 PID: 4711 Comm: kworker/3:1 Kdump: loaded Tainted: G  OE  6.1.0 #1" (6.12 adds "UID: 0")
    re.compile(r"\bCPU: +(?P<cpu>\d+) .*?\bPID: (?P<pid>\d+) +Comm: (?P<comm>.{1,16}?)(?: Kdump: \w+)? " + _TAINT),
    re.compile(r"(?:\bCPU: +(?P<cpu>\d+) .*?)?\bPID: (?P<pid>\d+) +Comm: (?P<comm>\S{1,16})"),
    # to 3.9: "Pid: 2843, comm: java Not tainted 2.6.32-431.el6.x86_64 #1"
    re.compile(r"^Pid: (?P<pid>\d+), comm: (?P<comm>.{1,16}?) " + _TAINT),
    re.compile(r"^Pid: (?P<pid>\d+), comm: (?P<comm>\S{1,16})"),
    # to 3.9, after the registers: "Process bash (pid: 2932, threadinfo ffff88021da84000, task ...)"
    re.compile(r"^Process (?P<comm>\S{1,16}) \(pid: (?P<pid>\d+), "),
)


def parse_task_line(text: str) -> Optional[TaskLine]:
    """The task a report's task line names (any of the forms 2.6.18 to 6.x print), else None."""
    text = text.strip()
    for form in _TASK_FORMS:
        match = form.search(text)
        if match:
            found = match.groupdict()
            return TaskLine(pid=int(found["pid"]), comm=found["comm"].strip(),
                            cpu=int(found["cpu"]) if found.get("cpu") else None,
                            taint=(found.get("taint") or "").strip() if found.get("release") else None,
                            release=found.get("release"))
    return None


@dataclass(frozen=True)
class Frame:
    """One call-trace frame or faulting location: ``function+offset/size [module]``.

    ``reliable`` is False for the ``?`` frames the unwinder only guessed at; ``text`` is the frame as
    printed without the addresses before it (``func+0x1c/0x40 [mod]``)."""

    function: str
    offset: int
    size: int
    module: Optional[str] = None
    reliable: bool = True
    text: str = ""

    @property
    def location(self) -> str:
        """``function+0xoffset/0xsize``, without the module."""
        return f"{self.function}+{self.offset:#x}/{self.size:#x}"


# Pre-4.9: " [<ffffffff8109a1b2>] ? do_exit+0x12/0x340"; 4.9+: "  ? do_exit+0x12/0x340 [mod]";
# arm: " [<c0123456>] (do_exit) from ..." has no offset and is not a frame here.
# kmemleak.verbose=1 prints its report on the console with "kmemleak: " before every line.
_FRAME = re.compile(r"^\s*(?:kmemleak:\s+)?(?P<guess1>\?\s+)?(?:\[<[0-9a-f]+>\]\s*){0,2}(?P<guess2>\?\s+)?"
                    + _FUNCTION)
# The faulting location: x86_64 "RIP: 0010:" (kernel code segment; 0033 is user space and prints no
# function), 2.6.x "RIP: 0010:[<addr>]  [<addr>] f+", i386 "EIP: 0060:[<addr>] f+" and "EIP is at
# f+", 2.6.2x-4.x "IP: [<addr>] f+", arm64 "pc : f+", arm "PC is at f+".
_RIP = re.compile(r"^\s*(?:RIP: (?:0010:)?|EIP: (?:0060:)?|EIP is at |IP: |pc : |PC is at )"
                  r"(?:\[<[0-9a-f]+>\]\s*)*" + _FUNCTION)
# arm64's and arm's return address ("lr : f+", "LR is at f+"): the caller when the fault is in a leaf.
_LINK = re.compile(r"^\s*(?:lr : |LR is at )" + _FUNCTION)


def _frame(match: "re.Match[str]", reliable: bool) -> Frame:
    text = match.string[match.start("function"):match.end()]
    return Frame(function=match["function"], offset=int(match["offset"], 16), size=int(match["size"], 16),
                 module=match["module"], reliable=reliable, text=text)


def parse_frame(text: str) -> Optional[Frame]:
    """The frame a call-trace line prints, else None."""
    match = _FRAME.match(text)
    return _frame(match, not (match["guess1"] or match["guess2"])) if match else None


def parse_rip(text: str) -> Optional[Frame]:
    """The kernel function a RIP/EIP/IP/pc/PC line names as the faulting location, else None."""
    match = _RIP.match(text)
    return _frame(match, True) if match else None


def parse_link(text: str) -> Optional[Frame]:
    """The function an arm64/arm ``lr :`` / ``LR is at`` line names as the faulting function's caller."""
    match = _LINK.match(text)
    return _frame(match, True) if match else None


@dataclass(frozen=True)
class TraceEntry:
    """One entry of a stack as any kernel or symbolizer prints it, reduced to what names a culprit:
    the function, its module, whether the unwinder was sure of it (no ``?``) and whether it is an
    ``[inline]`` entry that a symbolizer added for the frame on the next line with the same address."""

    function: str
    module: Optional[str] = None
    reliable: bool = True
    inline: bool = False


_ADDRESS_PREFIX = r"^\s*(?:\[<[0-9a-f]+>\]\s*){0,2}(?P<guess>\?\s+)?"
# Forms without an offset: syzkaller/decode_stacktrace.sh "func file.c:12 [inline]" (the inlined callee of the
# next frame), faddr2line's "func (file.c:12)", and arm's "[<c0123456>] (func+0x1/0x2) from [<c0123460>]".
_INLINE_ENTRY = re.compile(_ADDRESS_PREFIX + r"(?P<function>[A-Za-z_$][\w.$]*) [\w./+-]+:\d+(?::\d+)? \[inline\]\s*$")
_DECODED_ENTRY = re.compile(_ADDRESS_PREFIX + r"(?P<function>[A-Za-z_$][\w.$]*) \([\w./+-]+\.\w+:\d+")
_ARM_ENTRY = re.compile(r"^\s*\[<[0-9a-f]+>\] \((?P<function>[A-Za-z_$][\w.$]*)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?"
                        r"(?: \[(?P<module>\w+)\])?\) from ")


def parse_trace_entry(text: str) -> Optional[TraceEntry]:
    """The stack entry ``text`` prints in any of the forms above or :func:`parse_frame`'s, else None."""
    frame = parse_frame(text)
    if frame is not None:
        return TraceEntry(frame.function, frame.module, frame.reliable)
    match = _INLINE_ENTRY.match(text)
    if match:
        return TraceEntry(match["function"], reliable=not match["guess"], inline=True)
    match = _DECODED_ENTRY.match(text) or _ARM_ENTRY.match(text)
    if match:
        return TraceEntry(match["function"], match.groupdict().get("module"),
                          reliable=not match.groupdict().get("guess"))
    return None


# lockdep's lock lines: "(&bdev->bd_mutex){+.+.}, at: blkdev_reread_part+0x1e/0x40", to 4.x with the address.
_LOCK_SITE = re.compile(r"\bat: (?:\[<[0-9a-f]+>\]\s*)?(?P<function>[A-Za-z_$][\w.$]*)\+0x")


def lock_site(text: str) -> Optional[str]:
    """The function a lockdep lock line says the lock was taken in (``..., at: func+0x1e/0x40``), else None."""
    match = _LOCK_SITE.search(text)
    return match["function"] if match else None


def warning_location(match: "re.Match[str]") -> Tuple[Optional[str], Optional[str]]:
    """``(file:line, function)`` of an ``OPENERS["warning"]`` match, in the 2.6.2x-6.x or the 7.0 form."""
    return match["at"] or match["at_new"], match["function"] or match["function_new"]


# Lines printed just before a report's first line: WARN/BUG's cut mark, the rule that opens a sanitizer or
# lockdep report, and syzkaller's own "BUG: memory leak" over kmemleak's report.
_PRELUDE = re.compile(r"^\s*(?:-+\[ cut here \]-+|={20,}|BUG: memory leak)\s*$")


# The rest of a "Modules linked in:" list that a syslog writer or console split off into lines of its own.
_MODULES_REST = re.compile(r"^\s*[a-z0-9_]+(?:\([A-Z+-]+\))?(?:\s+[a-z0-9_]+(?:\([A-Z+-]+\))?)+"
                           r"(?:\s+\[last unloaded: \w+\])?\s*$")


def continues_module_list(previous: str, text: str) -> bool:
    """True when ``text`` is the split-off rest of the ``Modules linked in:`` line ``previous`` began."""
    return bool(re.match(r"^\s*Modules linked in:", previous) and _MODULES_REST.match(text))


def is_report_prelude(text: str) -> bool:
    """True for the lines that announce the report on the next line (``[ cut here ]``, ``=====``)."""
    return bool(_PRELUDE.match(text))


#: What a line inside a multi-line report (oops, warning, lockup, hung task) is, by kind; a line of
#: none of these kinds ends the report body.
BODY_LINES: Tuple[Tuple[str, Pattern[str]], ...] = (
    ("frame", _FRAME),
    ("frame_address", re.compile(r"^\s*\[<[0-9a-f]+>\]")),
    ("stack_marker", re.compile(r"^\s*<(?:/?IRQ|/?TASK|/?NMI|EOI|/?SOFTIRQ)>")),
    ("call_trace", re.compile(r"^\s*(?:Call [Tt]race:|Backtrace:|(?:kmemleak:\s+)?backtrace(?: \(crc [0-9a-f]+\))?:)")),
    ("stack", re.compile(r"^\s*(?:Stack:|<d>)")),
    ("code", re.compile(r"^\s*Code:")),
    ("exception_stack", re.compile(r"^\s*Exception stack")),
    ("trace_end", re.compile(r"^\s*(?:---\[ end|Kernel Offset|Modules linked in|Rebooting in|Shutting down cpus)")),
    ("context", re.compile(r"^\s*(?:Hardware name|Workqueue|last sysfs file|irq event stamp):")),
    ("lockdep", re.compile(r"^\s*(?:hardirqs|softirqs) last")),
    ("task", re.compile(r"^\s*(?:CPU: +\d+ .*PID:|Pid: \d+, comm:|Process \S+ \(pid:)")),
    ("taint", re.compile(r"^\s*(?:Not tainted|Tainted:)")),
    ("rip", re.compile(r"^\s*(?:RIP|RSP|EIP|ESP|PC is at|LR is at)\b")),
    ("registers", re.compile(r"^\s*[A-Z][A-Z0-9_]{1,7}:\s*[0-9a-f]{4}")),
    # The fault's description: x86 "#PF:" and the page-table walk, arm64's "Mem abort info:" block.
    ("fault", re.compile(r"^\s*(?:IP:|PGD |P4D |PUD |Oops:|#PF:|BUG: unable|Oops|Mem abort info:|Data abort info:|"
                         r"(?:ESR|EC|SET|EA|FSC|ISV|CM|GCS) = |(?:user|swapper) pgtable:|\[[0-9a-f]+\] pgd=)")),
    ("cpu", re.compile(r"^\s*CPU \d+\s*$")),
    ("unreliable", re.compile(r"^\s*\? ")),
    ("note", re.compile(r"^\s*(?:note: |task: [0-9a-f]+ )")),
    ("stack_words", re.compile(r"^\s*(?:<d>\s*)?(?:[0-9a-f]{8,16}\s+)*[0-9a-f]{8,16}\s*$")),
    # A symbolized stack's entries without an offset, and an unwinder's bare address.
    ("frame_inline", _INLINE_ENTRY),
    ("frame_decoded", _DECODED_ENTRY),
    ("frame_arm", _ARM_ENTRY),
    ("frame_address", re.compile(r"^\s*0x[0-9a-f]+\s*$")),
    # arm64 "pstate:"/"pc :"/"x29:", i386 "eax: 00000048", 2.6.x "CPU:    0" and the oops flags line ("SMP ").
    ("registers", re.compile(r"^\s*(?:pstate|pc|lr|sp|x\d+)\s*: |^\s*(?:e[abcd]x|e[sd]i|ebp|esp|[defgs]s): [0-9a-f]{4}|"
                             r"^\s*CPU:\s+\d+\s*$|^\s*(?:SMP|PREEMPT|DEBUG_PAGEALLOC|KASAN|NOPTI|PTI)(?:\s+\w+)*\s*$")),
    # Lines the oops path prints about itself: ftrace's dump, lost console lines, i386 2.6.x's unwinder.
    ("oops_notes", re.compile(r"^\s*(?:Dumping ftrace buffer:|\(ftrace buffer empty\)|Lost \d+ message\(s\)!|"
                              r"DWARF2 unwinder stuck at|Leftover inexact backtrace:|={23}\s*$)")),
)


def body_line_kind(text: str) -> Optional[str]:
    """The kind of report-body line ``text`` is (see :data:`BODY_LINES`), else None."""
    for kind, pattern in BODY_LINES:
        if pattern.match(text):
            return kind
    return None


def is_report_body(text: str) -> bool:
    """True for lines the kernel prints inside a multi-line report (trace, registers, modules)."""
    return body_line_kind(text) is not None


#: The lines of an oom-killer report after its "invoked oom-killer" header, by kind, in the order
#: they are tried: 2.6.2x (``oomkilladj``, per-cpu lists) to 6.x (``oom-kill:constraint=``, per-node
#: lines, ``pgtables_bytes``). ``select`` names the chosen process ("Kill process N (x) score S or
#: sacrifice child", 2.6.x-5.0) or is the kill itself ("Out of memory: Killed process", 2.6.18 and
#: 5.1+); ``killed`` is the kill alone on its line (to 4.x).
OOM_LINES: Tuple[Tuple[str, Pattern[str]], ...] = (
    ("mem_info", re.compile(r"^Mem-Info:")),
    ("oom_kill", re.compile(r"^oom-kill:(?P<fields>.*)$")),
    ("select", re.compile(r"^(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): "
                          r"(?P<verb>Kill|kill|Killed) process (?P<pid>\d+)(?:, UID (?P<uid>\d+),)? "
                          r"\((?P<name>.*?)\)(?P<tail>.*)$")),
    ("killed", re.compile(r"^Killed process (?P<pid>\d+)(?:, UID (?P<uid>\d+),)? \((?P<name>.*?)\)(?P<tail>.*)$")),
    ("task_header", re.compile(r"^\[\s*pid\s*\]\s+(?P<columns>.*\bname)\s*$")),
    ("task_row", re.compile(r"^\[\s*(?P<pid>\d+)\]\s+(?P<rest>.*)$")),
    ("node", re.compile(r"^Node (?P<node>\d+) active_anon:")),
    ("zone", re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>\w+) free:(?P<free>\d+)kB")),
    ("buddy", re.compile(r"^(?:Node (?P<node>\d+) )?(?P<zone>\w+): (?P<terms>(?:\d+\*\d+kB.*?)+)= (?P<kb>\d+)kB")),
    ("hugepages", re.compile(r"^(?:Node \d+ )?hugepages_total=(?P<total>\d+) hugepages_free=\d+ "
                             r"hugepages_surp=\d+ hugepages_size=(?P<size>\d+)kB")),
    ("pages", re.compile(r"^(?P<count>\d+) (?P<what>pages RAM|pages reserved|pages HighMem(?:/MovableOnly)?|"
                         r"total pagecache pages|pages in swap cache|pages shared|pages non-shared|"
                         r"pages cma reserved|pages hwpoisoned)")),
    ("swap", re.compile(r"^(?P<which>Free|Total) swap\s*=\s*(?P<kb>\d+)kB")),
    ("memcg_usage", re.compile(r"^memory: usage (?P<usage>\d+)kB, limit (?P<limit>\d+)kB")),
    ("memcg_task", re.compile(r"^Task in (?P<task_cgroup>\S+) killed as a result of limit of (?P<cgroup>\S+)")),
    ("counters", re.compile(r"^(?:\w+:\d+\s*)+$")),
    ("cpuset", re.compile(r"^.* cpuset=\S* mems_allowed=")),
    ("reaper", re.compile(r"^oom_reaper: ")),
    # Lines with nothing to record: per-cpu lists (to 3.x), swap cache statistics, memcg extras.
    ("other", re.compile(r"^(?:CPU\s+\d+: hi:|Node \d+ \w+ per-cpu:|lowmem_reserve\[\]:|Swap cache stats:|"
                         r"Tasks state|Memory cgroup stats|memory\+swap: usage|kmem: usage|"
                         r"Unreclaimable slab info:|Out of memory and no killable|swap: usage)")),
)


def oom_line(text: str) -> Optional[Tuple[str, "re.Match[str]"]]:
    """The first :data:`OOM_LINES` kind ``text`` (stripped) matches, with the match; else None."""
    for kind, pattern in OOM_LINES:
        match = pattern.match(text)
        if match:
            return kind, match
    return None
