"""``pycore hang DUMP``: a summary led by what brought the machine down, the tasks blocked in D state
or on sleeping locks, what each waits for and who holds it (or the request in flight and its
driver), the wait-for chains to their root blockers (deadlock cycles named), the requests in
flight, the CPUs the log's lockup and RCU stall reports name, RCU's grace period, the CPUs spinning
for a spinlock and its probable holder, and khungtaskd's settings (pycore.analysis.hang)."""
import argparse
from typing import Any, Dict, List, Optional

from ..analysis import hang
from ..analysis.crash_report import crash_signature
from ..program import Program
from .command import Collected, DumpCommand


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    result = hang.analyze(prog)
    return Collected(result, result["warnings"])


def _seconds(ns: Any) -> str:
    return f"{ns / 1e9:.2f}s" if ns is not None else "-"


def _lock_line(entry: Dict[str, Any]) -> str:
    wait = entry["wait"]
    where = wait["function"] or "-"
    if wait["caller"]:
        where += f" from {wait['caller']}"
    lock = f"{wait['kind']} {wait['lock']:x}" if wait["lock"] is not None else wait["kind"]
    if wait["write"] is not None and wait["kind"] in ("rw_semaphore", "percpu_rw_semaphore"):
        lock += " (write)" if wait["write"] else " (read)"
    return f"{lock} in {where}"


def _object_line(entry: Dict[str, Any]) -> str:
    obj = entry["lock_object"]
    if obj is None:
        return ""
    if obj["object"] == "super_block" and obj.get("call"):
        text = (f"super_block {obj['address']:x} {obj['member']} ({obj['level_name']}, {obj['call']}): "
                f"{obj['fstype']} on {obj.get('source') or obj['device']}")
        if obj.get("mountpoint"):
            text += f" mounted on {obj['mountpoint']}"
        return text + f", frozen {obj['frozen_name']}"
    if obj["object"] in ("file", "inode"):
        return f"{obj['object']} {obj['address']:x} {obj['member']}: fd {obj['fd']} {obj.get('path') or ''}".rstrip()
    if obj["object"] == "variable":
        return (f"{obj['name']}" + (f"+{obj['offset']:#x}" if obj["offset"] else "")
                + (f" [{obj['module']}]" if obj.get("module") else ""))
    return f"{obj['object']} {obj['address']:x} {obj['member']}"


def _state_line(entry: Dict[str, Any], pids: Dict[int, int]) -> str:
    """What the lock itself says: an rw_semaphore's writer bit and reader count, and the tasks
    queued on a mutex or rw_semaphore (by PID where they are listed, else by task address)."""
    details = entry["lock_details"]
    parts = []
    if "writer_locked" in details:
        parts.append("write-locked" if details["writer_locked"] else "not write-locked")
        parts.append(f"{details['readers']} reader{'s' if details['readers'] != 1 else ''}")
    waiters = details.get("waiters")
    if waiters:
        queued = [(f"pid {pids[w['task']]}" if w["task"] in pids else f"task {w['task']:x}")
                  + ((" (write)" if w["write"] else " (read)") if "writer_locked" in details else "")
                  for w in waiters]
        parts.append(f"queued: {', '.join(queued)}")
    return ", ".join(parts)


def _request_text(request: Dict[str, Any]) -> str:
    """A request in flight: address, operation, size, sector and disk, age, tag and driver."""
    age = f", {request['age_secs']:.2f}s old" if request["age_secs"] is not None else ""
    return (f"{request['request']:x} {request['op']} {request['bytes']} bytes at sector {request['sector']} of "
            f"{request['disk'] or '?'}{age}, tag {request['tag']}" + (f", driver {request['driver']}"
                                                                     if request["driver"] else ""))


def _folio_line(entry: Dict[str, Any]) -> str:
    folio, bit = entry["folio"], entry["wait"]["folio_bit"]
    text = f"{folio['folio']:x} ({bit}): "
    if folio["disk"] is not None:
        return text + f"{folio['disk']} sector {folio['sector']}, index {folio['index']} of its page cache"
    return text + f"inode {folio['ino']}" + (f" on {folio['device']}" if folio["device"] else "") + \
        f", index {folio['index']}"


def _lockup_lines(lockups: List[Dict[str, Any]], lines: List[str]) -> None:
    for lockup in lockups:
        where = f"CPU {lockup['cpu']}" if lockup["cpu"] is not None else "a CPU"
        lines.append(f"LOCKUP: {lockup['title']} ({where}, {lockup['reports']} report"
                     f"{'s' if lockup['reports'] != 1 else ''}" + (f", task {lockup['task']}" if lockup["task"] else "")
                     + ")")
        if lockup["dump_task"] is not None:
            task = lockup["dump_task"]
            lines.append(f"        at the dump: {task['comm']} (pid {task['pid']}, task {task['task']:x})")
        if lockup["repeating_frames"]:
            lines.append("        still looping in: " + " < ".join(lockup["repeating_frames"]))
        elif lockup["log_frames"]:
            lines.append("        reported in: " + " < ".join(lockup["log_frames"]))
        if lockup.get("holds_grace_period"):
            lines.append("        holds the RCU grace period: no quiescent state from this CPU")
        if lockup.get("spins_on"):
            lines.append(f"        spins for: spinlock {_lock_text(lockup['spins_on'])}")
        for held in lockup.get("holds_spinlocks", []):
            waiter = held["waiter"]
            verb = "holds" if held["evidence"] == "owner" else "probably holds"
            lines.append(f"        {verb}: spinlock {_lock_text(held['lock'])}, which CPU {held['waiter_cpu']} "
                         f"{waiter['comm']} (pid {waiter['pid']}) spins for ({_evidence(held)})")


def _lock_text(lock: Dict[str, Any]) -> str:
    """A spinlock as symbol [module] (address: locked, pending, tail CPU N), or its address."""
    name = ""
    if lock["name"] is not None:
        name = (lock["name"] + (f"+{lock['offset']:#x}" if lock["offset"] else "")
                + (f" [{lock['module']}]" if lock["module"] else "") + " ")
    state = ["locked" if lock["locked"] else "unlocked"]
    if lock["pending"]:
        state.append("pending")
    if lock["tail_cpu"] is not None:
        state.append(f"queue tail CPU {lock['tail_cpu']}")
    return f"{name}{lock['address']:x} ({', '.join(state)})"


def _evidence(holder: Dict[str, Any]) -> str:
    """How a spinlock's holder was inferred, in words."""
    if holder["evidence"] == "owner":
        return "recorded: the lock's owner field (CONFIG_DEBUG_SPINLOCK)"
    if holder["evidence"] == "code":
        return f"inferred: its code took it at {holder['where']} and has not returned past the call"
    if holder["evidence"] == "stack":
        return "inferred: its registers or stack hold the lock's address"
    return "inferred: the only other CPU busy in the kernel"


def _grace_period_lines(period: Optional[Dict[str, Any]], lines: List[str]) -> None:
    if period is None:
        return
    if not period["in_progress"]:
        lines.append(f"RCU GRACE PERIOD: {period['flavor']} g={period['gp_seq']}, none in progress")
        return
    age = f" for {period['age_secs']:.2f}s" if period["age_secs"] is not None else ""
    waits = [f"CPU {cpu}" for cpu in period["holding_cpus"]] + [f"task {task:x}" for task in period["blocking_tasks"]]
    lines.append(f"RCU GRACE PERIOD: {period['flavor']} g={period['gp_seq']} in progress{age}, waiting for "
                 + (", ".join(waits) if waits else "no CPU or task (its kthread has to end it)"))
    if period["kthread_idle_secs"] is not None:
        lines.append(f"        kthread: {period['kthread_state']}, last active {period['kthread_idle_secs']:.2f}s "
                     f"before the dump")


def _spinning_lines(spins: List[Dict[str, Any]], lines: List[str]) -> None:
    for spin in spins:
        task = spin["task"]
        head = f"SPINNING: CPU {spin['cpu']} {task['comm']} (pid {task['pid']}) in {spin['function']}"
        if spin["lock"] is None:
            lines.append(f"{head}: the lock is unknown ({spin['problem']})")
            continue
        lines.append(f"{head} for spinlock {_lock_text(spin['lock'])}")
        holder = spin["holder"]
        if holder is None:
            lines.append("        holder: unknown (a spinlock records none)")
        else:
            label = "holder" if holder["evidence"] == "owner" else "probable holder"
            lines.append(f"        {label}: CPU {holder['cpu']} {holder['task']['comm']} "
                         f"(pid {holder['task']['pid']}) ({_evidence(holder)})")


def render(result: Dict[str, Any], args: argparse.Namespace) -> str:
    settings = result["settings"]
    lines: List[str] = []
    timeout = settings["timeout_secs"]
    lines.append("HUNG TASK TIMEOUT: " + (f"{timeout}s" if timeout is not None else "(not configured)")
                 + (f"  hung_task_panic: {settings['panic']}" if settings["panic"] is not None else ""))
    panic = result["panic_task"]
    if panic is not None:
        lines.append(f"PANIC TASK: {panic['comm']} (pid {panic['pid']})")
    if result.get("summary"):
        lines.append(f"SUMMARY: {result['summary']}")
    _lockup_lines(result["lockups"], lines)
    _grace_period_lines(result.get("grace_period"), lines)
    _spinning_lines(result.get("spinlocks", []), lines)
    for request in result.get("requests", []):
        lines.append(f"IN FLIGHT: {_request_text(request)}")
    if not result["tasks"]:
        lines.append(f"no blocked task among the {result['tasks_read']} tasks read (a partial answer: see the warnings)"
                     if result["partial"] else "no task is blocked")
        return "\n".join(lines)
    lines.append("")
    lines.append("   PID  ST  OFF-CPU   REPORTED  COMM")
    pids = {entry["task"]: entry["pid"] for entry in result["tasks"]}
    for entry in result["tasks"]:
        reported = f"{entry['reported_secs']}s" if entry["reported_secs"] is not None else "-"
        lines.append(f"{entry['pid']:>6}  {entry['state']}  {_seconds(entry['waited_ns']):>8}  {reported:>8}  "
                     f"{entry['comm']}")
        lines.append(f"        waits for: {_lock_line(entry)}")
        described = _object_line(entry)
        if described:
            lines.append(f"        lock of:   {described}")
        state = _state_line(entry, pids)
        if state:
            lines.append(f"        lock:      {state}")
        flush = entry.get("flush")
        if flush:
            pool = f"CPU {flush['cpu']}" if flush["cpu"] is not None else "unbound"
            lines.append(f"        flushes:   work on {flush['workqueue']} ({pool} pool)")
        if entry.get("folio"):
            lines.append(f"        folio:     {_folio_line(entry)}")
        for request in entry.get("io", []):
            lines.append(f"        request:   {_request_text(request)} ({request['how']})")
        owner = entry["owner"]
        if owner is not None:
            probably = " probably, the last reader" if entry.get("owner_evidence") == "last reader" else ""
            lines.append(f"        owner:     {owner['comm']} (pid {owner['pid']}, {owner['state']}, "
                         f"task {owner['task']:x}{',' + probably if probably else ''})")
        if entry["watchdog_secs"] is not None:
            lines.append(f"        watchdog:  khungtaskd has seen it blocked for {entry['watchdog_secs']:.2f}s")
        for problem in entry["wait"]["problems"]:
            lines.append(f"        note:      {problem}")
        lines.append("        stack:     " + " < ".join(entry["wait"]["frames"]))
    lines.append("")
    lines.append("WAIT CHAINS")
    for number, chain in enumerate(result["chains"], 1):
        arrow = " -> ".join(str(pid) for pid in chain["tasks"])
        if chain["cycle"]:
            arrow += f" -> {chain['cycle'][0]} (cycle)"
        lines.append(f"  {number}. {arrow}")
        lines.append(f"     {chain['explanation']}")
    if result["signature"]:
        lines.append("")
        lines.append(f"SIGNATURE: {result['signature']}")
        key = result.get("signature_key")
        if key and (key["waits"] or key["frames"]):
            # As pycore triage groups the crash by: the top frames below the report machinery.
            lines.append("GROUPED BY: " + " | ".join(key["waits"] + crash_signature("", key["frames"])[1]))
    return "\n".join(lines)


COMMAND = DumpCommand("hang", add_arguments=lambda parser: None, collect=collect, render=render,
                      description="Every task blocked in D state or on a sleeping lock: what it waits for "
                                  "(decoded from its stack), the lock's owner, how long it has been off the "
                                  "CPU, and the wait-for chains to their root blockers, deadlocks named.")
