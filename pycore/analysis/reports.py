"""The kernel's own reports, kind by kind: how far each runs after the line that opens it
(:data:`.grammar.OPENERS`), how kernel developers title it ("KASAN: use-after-free Read in tcp_close",
"possible deadlock in ext4_xattr_get") and which stack entry names the culprit. Formats of 2.6.18 to 7.x
on x86, arm64, arm, riscv and loongarch; titles follow syzbot's (syzkaller's pkg/report), so that the same
bug reported twice, by a fuzzer or by a production machine, gets the same title.
"""
import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

from .crash_report import normalize_frame
from .grammar import lock_site, panic_reason, parse_link, parse_rip, parse_trace_entry

__all__ = ["ReportKind", "REPORT_KINDS", "BLAMELESS", "is_blameless", "report_title", "culprit"]

#: Functions a report passes through without being at fault, by why; a title names the first stack entry
#: that matches none of them (full matches on the name without its compiler-clone suffix).
BLAMELESS: Tuple[Tuple[str, str], ...] = (
    ("reporting", r"(?:__)?dump_stack\w*|show_stack|show_regs|show_trace\w*|dump_trace|dump_backtrace|"
                  r"print_address_description\w*|print_report|print_circular_bug\w*|print_usage_bug|__warn|"
                  r"warn_slowpath\w*|__warn_printk|report_bug|handle_bug|fixup_bug|bug_handler|brk_handler|"
                  r"(?:asm_)?exc_\w+|do_error_trap|do_invalid_op|invalid_op|do_trap|die|__die|oops_end|panic|"
                  r"vpanic|nmi_panic|\w+_panic|check_panic_on_warn|__schedule_bug|_?_?_might_sleep|"
                  r"__might_resched|(?:__)?might_fault|debug_\w+|lockdep_\w+|check_noncircular|check_prevs?_add|"
                  r"validate_chain|mark_lock\w*|mark_usage|check_usage\w*|__bfs\w*"),
    ("sanitizer", r"(?:__)?kasan_\w+|kasan_\w+|(?:__)?kmsan_\w+|__msan_\w+|__asan_\w+|__tsan_\w+|(?:__)?kcsan_\w+|"
                  r"(?:__)?kfence_\w+|check_memory_region\w*|ubsan_\w+|__ubsan_handle_\w+|__sanitizer_\w+|"
                  r"save_stack\w*|stack_trace_save\w*|set_track|stack_depot_\w+|kmemleak_\w+|"
                  r"(?:__)?check_object_size|(?:__)?check_heap_object|(?:__)?fortify_\w+"),
    ("locking", r"lock_acquire|lock_release|lock_acquired|_raw_\w+|raw_spin_\w+|do_raw_\w+|spin_\w+|queued_\w+|"
                r"native_queued_spin_lock_slowpath|__pv_queued_spin_lock_slowpath|__mutex_\w+|mutex_\w+|"
                r"ww_mutex_\w+|rt_spin_\w+|(?:__)?rt_mutex_\w+|down|down_\w+|__down\w*|up|up_\w+|__up\w*|"
                r"(?:__)?rwsem_\w+|percpu_(?:down|up)_\w+|(?:read|write)_(?:un)?lock\w*|preempt_count_\w+"),
    ("refcount", r"(?:__)?refcount_\w+|kref_(?:put|get)\w*"),
    ("allocation", r"kv?free|kfree_sensitive|kzfree|kfree_skb\w*|__kfree_skb|kfree_skbmem|(?:__)?kmem_cache_\w+|"
                   r"(?:__)?kv?[mz]alloc\w*|kcalloc\w*|kvzalloc\w*|krealloc\w*|kmemdup\w*|kstrn?dup|_{0,3}slab_\w+|"
                   r"__do_kmalloc\w*|(?:__)?alloc_pages\w*|__get_free_pages|__alloc_frozen_pages\w*|alloc_skb\w*|"
                   r"__alloc_skb|__netdev_alloc_skb|__napi_alloc_skb|(?:__)?kmalloc_reserve\w*"),
    ("generic", r"(?:__)?mem(?:cpy|move|set)\w*|__pi_\w+|memcmp|str(?:n?cpy|lcpy|n?len|n?cmp|cat)|strscpy\w*|"
                r"sized_strscpy|"
                r"v?s?n?printf|_?_?copy_(?:to|from)_user\w*|raw_copy_\w+|copy_user_\w+|rep_movs_alternative|"
                r"__list_add_valid\w*|__list_del_entry_valid\w*|__list_del_entry|(?:__)?list_(?:add|del)\w*|"
                r"(?:__)?test_and_\w+_bit|(?:__)?(?:set|clear|change)_bit|_find_\w+_bit|(?:drop|inc|clear|set)_nlink|"
                r"(?:__)?flush_work|__cancel_work\w*|cancel_(?:delayed_)?work_sync|(?:__)?flush_workqueue"),
)
_BLAMELESS = re.compile("|".join(f"(?:{pattern})" for _, pattern in BLAMELESS))

# Where a task sleeps or a CPU takes the detector's interrupt: never the culprit of a hang or a stall.
_WAITING = re.compile(r"\w*wait\w*|\w*_sleep\w*|msleep\w*|__schedule|schedule\w*|io_schedule\w*|"
                      r"preempt_schedule\w*|__switch_to\w*|context_switch|finish_task_switch\w*|"
                      r"(?:__)?synchronize_\w+")
_INTERRUPT = re.compile(r"\w*_interrupt\w*|__hrtimer_run_queues|(?:__)?run_hrtimer|hrtimer_\w+|tick_\w+|"
                        r"update_process_times|watchdog_\w+|rcu_\w+|_?sched_show_task|(?:__)?sysvec_\w+|"
                        r"irq_(?:exit|enter)\w*|__irq_exit_rcu|handle_\w*irq\w*|(?:__)?do_softirq|nmi_\w+|"
                        r"default_do_nmi|end_repeat_nmi|ret_from_intr|common_interrupt\w*|gic_handle_irq")
_HANG = re.compile(f"{_WAITING.pattern}|{_INTERRUPT.pattern}")

# Lines after which a report's stack no longer shows the faulting path: the allocation and free stacks of
# KASAN, KMSAN's origin, the RCU grace-period kthread's own stack, the registers reprinted after the end.
_STACK_STOP = re.compile(r"^\s*(?:---\[ end trace|Allocated by task|Freed by task|Allocated:|Freed:|"
                         r"Last potentially related|Second to last potentially|The buggy address|"
                         r"Uninit was (?:created|stored)|Local variable|Memory state around|Object at|"
                         r"(?:rcu: )?RCU grace-period kthread stack|"
                         r"(?:rcu: )?Stack dump where RCU|page last (?:allocated|free))")
_IRQ_SAFE_SECTION = re.compile(r"which became \S+-safe at:")
# lockdep prints the stacks of the locks involved first and the reporting task's stack last.
_LOCKDEP_BACKTRACE = re.compile(r"^\s*stack backtrace:")
_ACCESS = re.compile(r"^\s*(?P<access>Read|Write) of size \d+")

Describe = Callable[["re.Match[str]", Sequence[str]], Tuple[str, Tuple[str, ...]]]


@dataclass(frozen=True)
class ReportKind:
    """How a kind of report runs and is titled.

    ``describe(header, lines)`` gives the title's words before " in <culprit>" and where the culprit is
    looked for, in order: ``header`` (the function the first line names), ``rip`` (the faulting
    location), ``lr`` (arm's return address, read only when the faulting location is blameless: a leaf
    like memcpy leaves its caller out of the trace), ``lock`` (lockdep's "at: func" lock line),
    ``irq_safe`` (the stack lockdep shows for the irq-safe lock) and ``stack`` (the call trace).
    ``is_open``: the report takes every line of its stream from the first on (a sanitizer's prose,
    lockdep's dependency lists) up to ``end``, or to ``open_until`` after which only stack and register
    lines follow; otherwise only stack and register lines follow the first line. ``end`` closes the
    report; ``followup`` lines belong to it even when they would open a report of their own (refcount_t's
    WARNING line); ``early_followup`` only before its stack (panic_on_warn's panic, printed before the
    trace to 4.x). ``needs_stack``: without the stack its culprit is looked for in, the report was cut and
    is marked corrupted.
    """

    kind: str
    describe: Describe
    skip: Optional[Pattern[str]] = None
    is_open: bool = False
    open_until: Optional[Pattern[str]] = None
    end: Optional[Pattern[str]] = None
    followup: Optional[Pattern[str]] = None
    early_followup: Optional[Pattern[str]] = None
    needs_stack: bool = True


def _fixed(words: str, *sources: str) -> Describe:
    return lambda header, lines: (words, sources)


def _kasan(header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
    # "use after free" (KASan, to 4.3) is the "use-after-free" of later kernels; the access follows the first line.
    bug = header["bug"].strip()
    if " or " not in bug:
        bug = bug.replace(" ", "-")
    access = next((found["access"] for found in map(_ACCESS.match, lines) if found), None)
    return (f"KASAN: {bug} {access}" if access else f"KASAN: {bug}"), ("header", "stack")


def _kcsan(header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
    # KCSAN names both racing functions; syzbot's title keeps them, sorted as printed.
    names = [normalize_frame(name) for name in (header["first"], header["second"]) if name]
    return f"KCSAN: {header['bug']} in {' / '.join(names)}", ()


#: lockdep's reports by their first line: the title and where the culprit is (syzbot's titles).
_LOCKDEP: Tuple[Tuple[Pattern[str], str, Tuple[str, ...]], ...] = (
    (re.compile(r"circular locking|recursive locking|irq lock inversion"), "possible deadlock",
     ("lock", "stack")),
    (re.compile(r"-safe -> \w+-unsafe lock order"), "possible deadlock", ("irq_safe", "lock", "stack")),
    (re.compile(r"inconsistent lock state"), "inconsistent lock state", ("lock", "stack")),
    (re.compile(r"bad unlock balance"), "WARNING: bad unlock balance", ("stack",)),
    (re.compile(r"held lock freed"), "WARNING: held lock freed", ("stack",)),
    (re.compile(r"suspicious RCU usage"), "WARNING: suspicious RCU usage", ("stack",)),
    (re.compile(r"returning to user space"), "WARNING: lock held when returning to user space", ("lock",)),
    (re.compile(r"still has locks held"), "WARNING: still has locks held", ("lock", "stack")),
    (re.compile(r"Nested lock"), "WARNING: nested lock was not taken", ("stack",)),
)


def _lockdep(header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
    return next((title, sources) for pattern, title, sources in _LOCKDEP if pattern.search(header["what"]))


#: The fatal faults by the first line of their report (x86 traps, page faults, BUG_ON, arm's "Unable to
#: handle" and "Internal error"), as syzbot titles them.
_OOPSES: Tuple[Tuple[Pattern[str], str], ...] = (
    (re.compile(r"NULL pointer dereference"), "BUG: unable to handle kernel NULL pointer dereference"),
    (re.compile(r"paging request|page fault for address"), "BUG: unable to handle kernel paging request"),
    (re.compile(r"general protection fault"), "general protection fault"),
    (re.compile(r"kernel BUG at|Internal error: Oops - BUG"), "kernel BUG"),
    (re.compile(r"divide error"), "divide error"),
    (re.compile(r"invalid opcode"), "invalid opcode"),
    (re.compile(r"stack segment"), "stack segment fault"),
    (re.compile(r"double fault"), "double fault"),
    (re.compile(r"BUG: Bad page (\w+)"), "BUG: Bad page {0}"),
    (re.compile(r"Internal error|Oops|Bad mode"), "Oops"),
)


def _oops(header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
    for pattern, title in _OOPSES:
        found = pattern.search(header.string)
        if found:
            return title.format(*found.groups()), ("rip", "lr", "stack")
    return "Oops", ("rip", "lr", "stack")


def _warning(header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
    return "WARNING", ("header", "rip", "stack")


def _bug(header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
    # "BUG: workqueue lockup - pool cpus=1 ...", "BUG: Bad rss-counter state mm:...": the words before the details.
    words = re.split(r" - |: | at | in |[,(\[]", header.string[header.end():], maxsplit=1)[0].strip()
    return f"BUG: {words}", ("rip", "stack")


def _panic(header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, Tuple[str, ...]]:
    return f"kernel panic: {(panic_reason(header.string) or '').rstrip(' .')}", ()


_CALL_TRACE = re.compile(r"^\s*(?:Call [Tt]race:|(?:kmemleak:\s+)?backtrace(?: \(crc [0-9a-f]+\))?:)")
_RULE = re.compile(r"^\s*={20,}\s*$")

#: Every report kind, by the kind of event it becomes.
REPORT_KINDS: Dict[str, ReportKind] = {kind.kind: kind for kind in (
    ReportKind("kasan", _kasan, is_open=True, end=_RULE),
    ReportKind("kmsan", lambda h, lines: (f"KMSAN: {h['bug']}", ("header", "stack")), is_open=True, end=_RULE),
    ReportKind("kcsan", _kcsan, is_open=True, end=_RULE, needs_stack=False),
    ReportKind("kfence", lambda h, lines: (f"KFENCE: {h['bug']}", ("header", "stack")), is_open=True, end=_RULE),
    ReportKind("ubsan", lambda h, lines: (f"UBSAN: {h['bug']}", ("stack",)), is_open=True,
               open_until=_CALL_TRACE, end=_RULE),
    ReportKind("lockdep", _lockdep, is_open=True, open_until=re.compile(r"^\s*stack backtrace:")),
    # kmemleak's own create_object() heads the backtrace of 4.x-5.x (later kernels leave it out).
    ReportKind("kmemleak", _fixed("memory leak", "stack"), skip=re.compile(r"create_object"), is_open=True,
               open_until=_CALL_TRACE),
    ReportKind("refcount", _fixed("WARNING: refcount bug", "stack"),
               followup=re.compile(r"^(?:\S+: )?WARNING: .*\brefcount")),
    ReportKind("sleeping", _fixed("BUG: sleeping function called from invalid context", "stack"), is_open=True,
               open_until=_CALL_TRACE),
    ReportKind("atomic_schedule", _fixed("BUG: scheduling while atomic", "stack"), skip=_WAITING),
    ReportKind("list_corruption", _fixed("BUG: corrupted list", "rip", "stack"),
               followup=re.compile(r"^(?:-+\[ cut here \]-+|kernel BUG at lib/list_debug|invalid opcode:|"
                                   r"Oops:|(?:\S+: )?WARNING: .*list_debug)")),
    ReportKind("stack_overflow", _fixed("BUG: stack guard page was hit", "rip", "stack"),
               followup=re.compile(r"^kernel stack overflow \(")),
    ReportKind("oops", _oops),
    ReportKind("warning", _warning,
               early_followup=re.compile(r"^Kernel panic - not syncing: panic_on_warn set")),
    ReportKind("bug", _bug),
    ReportKind("hung_task", _fixed("INFO: task hung", "stack"), skip=_HANG),
    ReportKind("soft_lockup", _fixed("BUG: soft lockup", "rip", "stack"), skip=_INTERRUPT),
    ReportKind("hard_lockup", _fixed("BUG: hard lockup", "rip", "stack"), skip=_INTERRUPT, needs_stack=False),
    # A stalled CPU's own stack is in its NMI backtrace (RIP first) or after the detector's interrupt frames.
    ReportKind("rcu_stall", _fixed("INFO: rcu detected stall", "rip", "stack"), skip=_HANG, needs_stack=False),
    ReportKind("panic", _panic, needs_stack=False),
)}


def is_blameless(function: str, extra: Optional[Pattern[str]] = None) -> bool:
    """True when ``function`` (a name as printed, clone suffixes allowed) only reports, checks, locks or
    copies: never the culprit a title names. ``extra`` adds a kind's own (a hang's wait functions)."""
    name = normalize_frame(function)
    return bool(_BLAMELESS.fullmatch(name) or (extra is not None and extra.fullmatch(name)))


def _stack(lines: Sequence[str]) -> List[str]:
    """The functions of the report's stack, as printed: only entries the unwinder was sure of and not the
    ``[inline]`` lines a symbolizer adds (syzbot titles by the real frames), up to a stop line; lockdep's
    is the one after "stack backtrace:"."""
    start = next((index + 1 for index, text in enumerate(lines) if _LOCKDEP_BACKTRACE.match(text)), 0)
    names = []
    for text in lines[start:]:
        if _STACK_STOP.match(text):
            break
        entry = parse_trace_entry(text)
        if entry is not None and entry.reliable and not entry.inline:
            names.append(entry.function)
    return names


def _section(lines: Sequence[str], start: Pattern[str]) -> List[str]:
    """The functions of the stack printed right after the line ``start`` matches."""
    names: List[str] = []
    for index, text in enumerate(lines):
        if start.search(text):
            for later in lines[index + 1:]:
                entry = parse_trace_entry(later)
                if entry is None:
                    if names:
                        break
                    continue
                if entry.reliable and not entry.inline:
                    names.append(entry.function)
            break
    return names


def _until_stop(lines: Sequence[str]) -> List[str]:
    for index, text in enumerate(lines):
        if _STACK_STOP.match(text):
            return list(lines[:index])
    return list(lines)


def _first(names: Iterable[Optional[str]]) -> List[str]:
    return [name for name in names if name][:1]


#: Where each culprit source reads its names from (see :class:`ReportKind`), first candidate first.
_SOURCES: Dict[str, Callable[["re.Match[str]", Sequence[str]], List[str]]] = {
    "header": lambda header, lines: _first([header.groupdict().get("function") or
                                            header.groupdict().get("function_new")]),
    "rip": lambda header, lines: _first(found and found.function for found in map(parse_rip, _until_stop(lines))),
    "lr": lambda header, lines: _first(found and found.function for found in map(parse_link, _until_stop(lines))),
    "lock": lambda header, lines: _first(map(lock_site, lines)),
    "irq_safe": lambda header, lines: _section(lines, _IRQ_SAFE_SECTION),
    "stack": lambda header, lines: _stack(lines),
}


def culprit(kind: ReportKind, header: "re.Match[str]", lines: Sequence[str],
            sources: Sequence[str]) -> Optional[str]:
    """The function a report blames: the first name from ``sources`` (see :class:`ReportKind`) that is not
    blameless. When the location named first is blameless (KASAN in ``memcpy``, a WARNING in
    ``refcount_warn_saturate``) the stack is read from the entry after it, else from its top."""
    located: Optional[str] = None
    for source in sources:
        if source == "lr" and located is None:
            continue
        names = _SOURCES[source](header, lines)
        if source == "stack" and located is not None:
            plain = [normalize_frame(name) for name in names]
            if normalize_frame(located) in plain:
                names = names[plain.index(normalize_frame(located)) + 1:]
        for name in names:
            if not is_blameless(name, kind.skip):
                return normalize_frame(name)
        if names and source != "stack" and located is None:
            located = names[0]
    return None


def report_title(kind: ReportKind, header: "re.Match[str]", lines: Sequence[str]) -> Tuple[str, bool]:
    """The title of a report (``lines``: its text, first line first; ``header``: the first line's match)
    and whether it is corrupted: a report that needs a stack and shows none was cut short (a truncated
    console, a lost line), its title kept from what is left."""
    words, sources = kind.describe(header, lines)
    if not sources:
        return words, False
    name = culprit(kind, header, lines, sources)
    has_stack = bool(_stack(lines)) or any(parse_trace_entry(text) for text in _until_stop(lines))
    # A report printed without a stack by design (lockdep's locks held on the way to user space) is whole.
    return (f"{words} in {name}" if name else words), kind.needs_stack and "stack" in sources and not has_stack
