"""Hangs explained: every task blocked in D state or queued on a sleeping lock, what it waits for
(pycore.kernel.hung), who holds that (pycore.kernel.locking), the request in flight an I/O or page
wait is for (pycore.kernel.block, pycore.kernel.filemap), and the wait-for graph across them:
chains to a root blocker, cycles as deadlocks, each with a plain explanation; and the CPUs the log's
lockup and RCU stall reports name (and RCU's grace period, pycore.kernel.rcu), with the frames still
on their stacks, the spinlock a CPU spins for and its probable holder (pycore.kernel.spinlock);
and the key a fleet groups the hang by, its chain's root without pids, addresses or times.
Kernels 5.10 to 7.2.
"""
import re
from typing import Any, Dict, List, Optional, Tuple

from ..errors import PycoreError
from ..kernel import block, filemap, fs, hung, locking, rcu, sched, spinlock
from ..kernel.module import symbol_lookup
from ..kernel.stack import ExceptionFrame, StackFrame, StackTrace, reliable_trace, stack_trace
from ..kernel.system import kernel_hz, log_lines, monotonic_ns
from ..kernel.unwind import Unwinder
from ..object import Object
from .crash_report import normalize_frame
from .grammar import OPENERS, parse_frame, parse_rip, parse_task_line
from .logtext import LogRecord, parse_log
from .source import dump_log_records
from .trouble import crash_event, find_trouble

# The waits that are a lock another task can hold: a task sleeping on one is listed whatever its
# state (mutex_lock_killable and down_read_interruptible sleep interruptibly).
LOCK_KINDS = ("mutex", "rw_semaphore", "percpu_rw_semaphore", "semaphore")
# What a task waiting on each kind waits for, in the explanation.
_KIND_WORDS = {
    "mutex": "the mutex", "rw_semaphore": "the rw_semaphore", "percpu_rw_semaphore": "the percpu_rw_semaphore",
    "semaphore": "the semaphore", "completion": "the completion", "folio": "a folio (page) lock or writeback",
    "bit": "a bit lock (buffer or inode bit)", "rcu": "an RCU grace period", "io": "I/O",
}


def _task_ref(task: Object) -> Dict[str, Any]:
    return {"task": int(task), "pid": int(task.pid), "comm": sched.task_comm(task), "state": sched.task_state(task)}


def _queued(waiters, warnings: List[str], what: str) -> List[Dict[str, Any]]:
    """The tasks queued on a lock (``waiters``: a function reading its list), first first; an
    unreadable list is a warning and no waiters, not a lost owner."""
    try:
        return [{"task": w.task, "write": w.write} for w in waiters()]
    except PycoreError as error:
        warnings.append(f"the waiters of {what} could not be read: {error}")
        return []


def _lock_owner(prog, kind: str, lock: int, warnings: List[str]) -> Tuple[int, Dict[str, Any]]:
    """The owner task's address the kernel records for the lock (0: none) and what the lock says:
    for a mutex and an rw_semaphore also the tasks queued on it (``waiters``)."""
    if kind == "mutex":
        mutex = Object(prog, prog.type("struct mutex *"), lock)
        return locking.mutex_owner(mutex), {"waiters": _queued(lambda: locking.mutex_waiters(mutex), warnings,
                                                                f"the mutex at {lock:#x}")}
    if kind == "rw_semaphore":
        sem = Object(prog, prog.type("struct rw_semaphore *"), lock)
        state = locking.rwsem_state(sem)
        details = {"writer_locked": state.writer_locked, "readers": state.readers, "reader_owned": state.reader_owned,
                   "waiters": _queued(lambda: locking.rwsem_waiters(sem), warnings, f"the rw_semaphore at {lock:#x}")}
        if state.reader_owned and state.owner:
            details["last_reader"] = state.owner
        return (state.owner if state.writer_locked and not state.reader_owned else 0), details
    if kind == "percpu_rw_semaphore":
        sem = Object(prog, prog.type("struct percpu_rw_semaphore *"), lock)
        return locking.percpu_rwsem_writer(sem), {"write_blocked": locking.percpu_rwsem_blocked(sem)}
    if kind == "semaphore":
        return locking.semaphore_last_holder(Object(prog, prog.type("struct semaphore *"), lock)), {}
    return 0, {}


def _lock_object(prog, task: Object, kind: str, lock: int) -> Optional[Dict[str, Any]]:
    """What the lock at ``lock`` is part of, where it can be told: a superblock's freeze
    protection, an open file's f_pos_lock or its inode's i_rwsem, a superblock's s_umount, the
    task's mmap lock, or a kernel variable."""
    if kind == "percpu_rw_semaphore":
        found = hung.super_block_of_writers(prog, lock)
        if found is not None:
            sb, level = found
            writers = sb.s_writers
            frozen = int(writers.frozen)
            described = {"object": "super_block", "address": int(sb), "member": f"s_writers.rw_sem[{level - 1}]",
                         "level": level, "level_name": hung.SB_FREEZE_LEVELS.get(level),
                         "call": hung.SB_FREEZE_CALLS.get(level), "fstype": fs.super_block_type(sb).decode(errors="replace"),
                         "device": sb.s_id.string_().decode(errors="replace"), "frozen": frozen,
                         "frozen_name": hung.SB_FREEZE_LEVELS.get(frozen, str(frozen))}
            if writers.type_.resolved().has_member("freeze_ucount"):
                described["freeze_count_user"] = int(writers.freeze_ucount)
                described["freeze_count_kernel"] = int(writers.freeze_kcount)
            mnt = hung.mount_of(prog, sb)
            if mnt is not None:
                described["mountpoint"] = fs.mount_dst(mnt).decode(errors="replace")
                described["source"] = fs.mount_src(mnt).decode(errors="replace")
            return described
    if kind in ("mutex", "rw_semaphore"):
        try:
            files = list(fs.for_each_file(task))
        except PycoreError:
            files = []
        file_type = prog.type("struct file")
        inode_type = prog.type("struct inode")
        for fd, file in files:
            path = None
            if kind == "mutex" and file_type.has_member("f_pos_lock") and \
                    int(file) + file_type.offsetof("f_pos_lock") == lock:
                member = "f_pos_lock"
            elif kind == "rw_semaphore" and inode_type.has_member("i_rwsem") and \
                    lock - inode_type.offsetof("i_rwsem") in (int(file.f_inode), int(file.f_mapping.host)):
                # A device node's file caches through the device's own inode (f_mapping->host):
                # blkdev_llseek locks that one.
                member = "i_rwsem"
            else:
                continue
            try:
                path = fs.d_path(file.f_path.address_of_()).decode(errors="replace")
            except PycoreError:
                pass
            return {"object": "file" if member == "f_pos_lock" else "inode", "member": member, "fd": fd,
                    "address": int(file), "path": path}
    if kind == "rw_semaphore":
        sb_type = prog.type("struct super_block")
        for sb in hung.for_each_super_block(prog):
            if int(sb) + sb_type.offsetof("s_umount") == lock:
                return {"object": "super_block", "member": "s_umount", "address": int(sb),
                        "device": sb.s_id.string_().decode(errors="replace")}
        mm = int(task.mm)
        mm_type = prog.type("struct mm_struct")
        for member in ("mmap_lock", "mmap_sem"):
            if mm and mm_type.has_member(member) and mm + mm_type.offsetof(member) == lock:
                return {"object": "mm_struct", "member": member, "address": mm}
    named = _variable_at(prog, lock)
    return {"object": "variable", **named} if named is not None else None


def _variable_at(prog, address: int) -> Optional[Dict[str, Any]]:
    """``{name, offset, module}`` of the static variable of the kernel image or a module at
    ``address`` (a module's kallsyms name its data too, without sizes: there only the symbol's own
    address is taken as that symbol), else None."""
    hit = symbol_lookup(prog, address)
    if hit is not None and hit[1] < max(hit[0].size or 0, 1):
        return {"name": hit[0].name, "offset": hit[1], "module": hit[2]}
    return None


def _hung_reports(prog) -> Dict[int, int]:
    """{pid: seconds} of the log's "INFO: task COMM:PID blocked for more than N seconds" lines."""
    reported = {}
    try:
        lines = log_lines(prog)
    except PycoreError:
        return reported
    for line in lines:
        match = OPENERS["hung_task"].search(line)
        if match:
            reported[int(match.group("pid"))] = int(match.group("secs"))
    return reported


def blocked_tasks(prog, unwinder: Optional[Unwinder] = None) -> Tuple[List[Dict[str, Any]], List[str], int]:
    """Every task in D state (UN; not the idle kthreads' ID) or asleep in a lock wait, each with its
    wait, the lock's owner and object where known, what the lock says (``lock_details``: an
    rw_semaphore's writer bit and reader count, the tasks queued on a mutex or rw_semaphore), how
    long it has been off the CPU (``waited_ns``) and how long khungtaskd has seen it blocked
    (``watchdog_secs``); the warnings (tasks whose wait could not be read, a task list cut
    short); and how many tasks were read."""
    unwinder = unwinder or Unwinder(prog)
    active = set(unwinder.active.values())
    reported = _hung_reports(prog)
    found, warnings = [], []
    all_tasks: List[Object] = []
    try:
        for task in sched.for_each_task(prog):
            all_tasks.append(task)
    except PycoreError as error:
        warnings.append(f"partial: the task list could not be read past {len(all_tasks)} tasks ({error}); "
                        f"blocked tasks after them are missing")
    known = {int(task) for task in all_tasks}
    for task in all_tasks:
        if int(task) in active:
            continue
        try:
            entry = _blocked_entry(prog, task, unwinder, known, reported, warnings)
        except PycoreError as error:
            # A task left out is a partial answer: it may be the one the others wait for.
            warnings.append(f"partial: task {int(task):#x}: its wait could not be read: {error}")
            continue
        if entry is not None:
            found.append(entry)
    return found, warnings, len(all_tasks)


def _blocked_entry(prog, task: Object, unwinder: Unwinder, known: set, reported: Dict[int, int],
                   warnings: List[str]) -> Optional[Dict[str, Any]]:
    """The entry of ``task`` if it is blocked (see :func:`blocked_tasks`), else None."""
    state = sched.task_state(task)
    if state in ("RU", "ZO", "DE", "ID"):
        return None
    frames = [frame.symbol or "?" for frame in reliable_trace(prog, int(task), unwinder).frames]
    if state != "UN" and hung.blocking_function(frames)[0] not in LOCK_KINDS:
        return None
    wait = hung.task_wait(prog, task, unwinder)
    entry = _task_ref(task)
    entry.update(wait=_wait_dict(wait), waited_ns=hung.sleeping_since_ns(prog, task),
                 watchdog_secs=hung.hung_task_blocked_secs(prog, task),
                 reported_secs=reported.get(entry["pid"]), owner=None, owner_evidence=None, lock_object=None,
                 lock_details={}, flush=None, folio=None, io=[])
    if wait.folio is not None:
        try:
            location = filemap.folio_location(prog, wait.folio)
        except PycoreError as error:
            warnings.append(f"{entry['comm']} (pid {entry['pid']}): the folio at {wait.folio:#x} could not be "
                            f"read: {error}")
        else:
            entry["folio"] = vars(location) if location is not None else None
    if wait.lock is None:
        return entry
    if wait.kind == "completion" and any(hung._base_name(name) in hung.FLUSH_FUNCTIONS for name in wait.frames):
        try:
            target = hung.flush_work_target(prog, wait.lock)
        except PycoreError as error:
            warnings.append(f"{entry['comm']} (pid {entry['pid']}): the flush_work barrier at {wait.lock:#x} "
                            f"could not be read: {error}")
        else:
            entry["flush"] = {"workqueue": target.workqueue, "cpu": target.cpu} if target else None
        return entry
    try:
        owner, entry["lock_details"] = _lock_owner(prog, wait.kind, wait.lock, warnings)
        if owner == int(task):
            # A freezer in percpu_down_write is the semaphore's rcuwait writer: it waits, it does not hold.
            owner = 0
        if owner and owner not in known:
            # A stale or damaged owner word: say so rather than follow it.
            entry["lock_details"]["owner_address"] = owner
            warnings.append(f"{entry['comm']} (pid {entry['pid']}): the {wait.kind} at {wait.lock:#x} "
                            f"names owner {owner:#x}, which is no task")
        elif owner:
            entry["owner"] = _task_ref(Object(prog, prog.type("struct task_struct *"), owner))
            entry["owner_evidence"] = "recorded"
        details = entry["lock_details"]
        last = details.get("last_reader")
        if not owner and details.get("readers") == 1 and last in known and last != int(task):
            # The kernel lists no readers, but rw_semaphore.owner keeps the last one to take it:
            # with the count at one, that task probably still holds it.
            entry["owner"] = _task_ref(Object(prog, prog.type("struct task_struct *"), last))
            entry["owner_evidence"] = "last reader"
        entry["lock_object"] = _lock_object(prog, task, wait.kind, wait.lock)
    except PycoreError as error:
        warnings.append(f"{entry['comm']} (pid {entry['pid']}): the lock at {wait.lock:#x} could not be "
                        f"read: {error}")
    return entry


def _wait_dict(wait: hung.Wait) -> Dict[str, Any]:
    return {"kind": wait.kind, "function": wait.function, "caller": wait.caller, "lock": wait.lock,
            "queue": wait.queue, "write": wait.write, "wake_function": wait.wake_function, "frames": wait.frames,
            "problems": wait.problems, "folio": wait.folio, "folio_bit": wait.folio_bit}


def _request_dict(request: block.Request, now_ns: Optional[int], how: Optional[str]) -> Dict[str, Any]:
    age = (now_ns - request.started_ns) / 1e9 if now_ns is not None and request.started_ns is not None else None
    return {"request": request.address, "disk": request.disk, "sector": request.sector, "bytes": request.bytes,
            "op": request.op, "write": request.write, "tag": request.tag, "driver": request.driver,
            "age_secs": round(age, 3) if age is not None and age >= 0 else None, "how": how}


def attach_io(prog, tasks: List[Dict[str, Any]], requests: List[block.Request], now_ns: Optional[int]) -> None:
    """Give each blocked task (:func:`blocked_tasks`) the requests in flight it waits for
    (``io``, :func:`pycore.kernel.block.requests_in_flight`; ``now_ns`` the dump's
    CLOCK_MONOTONIC, for their age), by what ties it to each: a bio of the request on its kernel
    stack (the direct I/O paths' on-stack bio), a bio's ``bi_private`` naming it or pointing into
    its stack (submit_bio_wait's completion), or the folio it waits on among a bio's pages (a
    page lock held or a writeback begun for that I/O)."""
    size = sched.thread_size(prog)
    stacks = {}
    for entry in tasks:
        try:
            base = int(Object(prog, prog.type("struct task_struct *"), entry["task"]).stack)
        except PycoreError:
            continue
        stacks[entry["task"]] = (base, base + size)
    for entry in tasks:
        low, high = stacks.get(entry["task"], (0, 0))
        folio = entry["wait"]["folio"]
        for request in requests:
            how = None
            for bio in request.bios:
                if low <= bio.address < high:
                    how = "its bio, on its stack"
                elif bio.private == entry["task"] or low <= bio.private < high:
                    how = "its bio's bi_private (its end_io wakes it)"
                elif folio is not None and folio in bio.pages:
                    how = f"the folio it waits on is in the bio ({bio.end_io or 'end_io unknown'})"
                if how:
                    break
            if how:
                entry["io"].append(_request_dict(request, now_ns, how))


def _who(entry: Dict[str, Any]) -> str:
    return f"{entry['comm']} (pid {entry['pid']})"


def _what(entry: Dict[str, Any]) -> str:
    """The lock a task waits for, in words."""
    wait, obj = entry["wait"], entry["lock_object"]
    if obj and obj["object"] == "super_block" and obj.get("call"):
        where = f"the {obj['fstype']} filesystem on {obj.get('source') or obj['device']}"
        if obj.get("mountpoint"):
            where += f" mounted on {obj['mountpoint']}"
        return f"{'write access' if obj['level'] == 1 else obj['call']} ({obj['call']}) to {where}"
    if entry.get("flush"):
        return (f"the work it flushes on workqueue {entry['flush']['workqueue']} (flush_work's barrier, its "
                f"completion at {wait['lock']:#x})")
    if entry.get("folio"):
        return _folio_words(wait, entry["folio"])
    if wait["kind"] == "io" and entry.get("io"):
        return f"its {_request_words(entry['io'][0])} (in {wait['function']})"
    words = _KIND_WORDS.get(wait["kind"], "an event")
    if wait["kind"] == "rw_semaphore" and wait["write"] is not None:
        words = f"{'write' if wait['write'] else 'read'} access to {words}"
    if obj is None:
        if wait["lock"] is not None:
            words += f" at {wait['lock']:#x}"
        return words + f" (in {wait['function']})" if wait["function"] else words
    if obj["object"] in ("file", "inode"):
        return f"{words} {obj['member']} of {obj.get('path') or hex(obj['address'])} (fd {obj['fd']})"
    if obj["object"] == "variable":
        return (f"{words} {obj['name']}" + (f"+{obj['offset']:#x}" if obj["offset"] else "")
                + (f" (module {obj['module']})" if obj.get("module") else ""))
    return f"{words} {obj['member']} of {obj['object']} {obj['address']:#x}"


def _holder(entry: Dict[str, Any], holder: Dict[str, Any]) -> str:
    """", held by HOLDER" after a wait: "for writing" where the lock says a writer holds it,
    "probably ... for reading" where the holder is only the rw_semaphore's last reader."""
    if entry.get("owner_evidence") == "last reader":
        return (f", probably held for reading by {_who(holder)} (the last reader to take it, and its count says "
                f"one)")
    if entry["wait"]["kind"] == "rw_semaphore" and entry["lock_details"].get("writer_locked"):
        return f", held for writing by {_who(holder)}"
    return f", held by {_who(holder)}"


def _request_words(request: Dict[str, Any]) -> str:
    """"read of 4096 bytes at sector 64 of nullb0"."""
    return f"{request['op']} of {request['bytes']} bytes at sector {request['sector']} of {request['disk'] or 'a disk'}"


def _folio_words(wait: Dict[str, Any], folio: Dict[str, Any]) -> str:
    """The folio a task waits on, in words: its lock or its writeback, and where it belongs."""
    what = {"locked": "the lock of", "writeback": "the writeback of"}.get(wait["folio_bit"] or "",
                                                                          f"bit {wait['folio_bit']} of")
    if folio["disk"] is not None:
        where = f"the page at sector {folio['sector']} of {folio['disk']} (index {folio['index']} of its page cache)"
    else:
        where = f"page {folio['index']} of inode {folio['ino']}" + (f" on {folio['device']}" if folio["device"] else "")
    return f"{what} {where} (in {wait['function']})"


def _io_reason(entry: Dict[str, Any]) -> str:
    """Why an I/O wait has not ended: the request in flight it waits for, how old, and whose
    driver has not completed it."""
    request = entry["io"][0]
    text = (f"whose {_request_words(request)}" if entry.get("folio") else "which") + " was submitted"
    if request["age_secs"] is not None:
        text += f" {request['age_secs']:.2f} s ago"
    text += " and is not yet completed by the driver" + (f" ({request['driver']})" if request["driver"] else "")
    if len(entry["io"]) > 1:
        text += f" (and {len(entry['io']) - 1} more request{'s' if len(entry['io']) > 2 else ''} in flight)"
    return text


def _sleep(entry: Dict[str, Any]) -> str:
    """Where a task that waits for no lock sleeps: "sleeps in FUNCTION (called from CALLER)",
    and whether the sleep is timed (schedule_timeout, as msleep's, or an hrtimer's)."""
    wait = entry["wait"]
    text = f"sleeps in {wait['function'] or 'the scheduler'}"
    if wait["caller"]:
        text += f" (called from {wait['caller']})"
    timed = next((name for name in (f.split(".")[0] for f in wait["frames"])
                  if name in ("schedule_timeout", "schedule_hrtimeout_range")), None)
    if timed:
        text += f", a timed sleep ({timed})"
    return text


def _join(names: List[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _deadlock(cycle: List[Dict[str, Any]]) -> str:
    """The sentence naming a deadlock cycle: its tasks, and the kind of lock when all are one."""
    kinds = {entry["wait"]["kind"] for entry in cycle}
    lock = _KIND_WORDS[next(iter(kinds))] if len(kinds) == 1 and kinds <= set(LOCK_KINDS) else "the lock"
    names = _join([_who(entry) for entry in cycle])
    if len(cycle) == 2:
        return f"{names} deadlock: each holds {lock} the other waits for, and neither can go on."
    return f"{names} deadlock: each holds {lock} the next one waits for, and none of them can go on."


# Each watchdog's report in words: in a signature (syzbot's titles, as triage's), opening a summary,
# and in a sentence.
_LOCKUP_WORDS = {"rcu_stall": ("rcu detected stall", "RCU stall", "an RCU stall"),
                 "soft_lockup": ("soft lockup", "soft lockup", "a soft lockup"),
                 "hard_lockup": ("hard lockup", "hard lockup", "a hard lockup")}


def _flush_reason(flush: Dict[str, Any], stuck: Dict[int, Dict[str, Any]]) -> str:
    """Why a flush_work() waiter's completion has not come: the CPU whose workers must run the
    barrier, and the lockup that keeps them off it, if the log reports one there."""
    where = f"CPU {flush['cpu']}'s" if flush["cpu"] is not None else "an unbound"
    text = f"which a worker of {where} pool completes when it gets to the barrier"
    lockup = stuck.get(flush["cpu"]) if flush["cpu"] is not None else None
    if lockup is None:
        return text
    looping = lockup["dump_task"] or {}
    who = f"{looping['comm']} (pid {looping['pid']})" if looping else (lockup["task"] or "a task")
    return (f"{text}, and CPU {flush['cpu']} is stuck in {_LOCKUP_WORDS[lockup['kind']][2]} looping in "
            f"{who}: its workers cannot run")


def looping_function(lockup: Dict[str, Any]) -> Optional[str]:
    """The function a lockup's CPU loops in: the first of the report's frames still on its stack,
    else where the watchdog's interrupt found it."""
    frames = lockup["repeating_frames"] or lockup["interrupted_frames"]
    return frames[0] if frames else None


def _stalled_cpu(lockup: Dict[str, Any]) -> str:
    """"CPU N passes no quiescent state: COMM (pid P) loops there in FUNCTION" for a CPU holding a
    grace period, with the spinlock it probably holds."""
    text = f"CPU {lockup['cpu']} passes no quiescent state"
    task = lockup["dump_task"]
    if task is not None:
        text += f": {task['comm']} (pid {task['pid']}) loops there"
        function = looping_function(lockup)
        if function:
            text += f" in {function}"
    for held in lockup.get("holds_spinlocks", []):
        text += (", holding" if held["evidence"] == "owner" else ", probably holding") + \
            f" the spinlock {_lock_words(held['lock'])}"
    return text


def _lock_words(lock: Dict[str, Any]) -> str:
    """A lock by its symbol (and module) where it has one, else its address."""
    if lock["name"] is None:
        return f"at {lock['address']:#x}"
    return (lock["name"] + (f"+{lock['offset']:#x}" if lock["offset"] else "")
            + (f" (module {lock['module']})" if lock["module"] else ""))


def _root_reason(entry: Dict[str, Any], stuck: Dict[int, Dict[str, Any]]) -> str:
    """Why nothing wakes the last task of a chain whose lock has no blocked owner (``stuck``: the
    lockups by CPU, which keep a flush_work() barrier from running)."""
    obj, owner = entry["lock_object"], entry["owner"]
    if entry.get("flush"):
        return _flush_reason(entry["flush"], stuck)
    if obj and obj["object"] == "super_block" and obj.get("call"):
        if obj["frozen"]:
            by = ""
            if obj.get("freeze_count_user"):
                by = ", frozen from user space by FIFREEZE"
            elif obj.get("freeze_count_kernel"):
                by = ", frozen by the kernel"
            return (f"which is frozen (level {obj['frozen_name']}{by}): nothing wakes it until the filesystem is "
                    f"thawed")
    if owner is not None:
        if entry.get("owner_evidence") == "last reader":
            return (f"probably held for reading by {_who(owner)} (the last reader to take it, and its count says "
                    f"one), which is {owner['state']} and not waiting for a lock")
        return f"held by {_who(owner)}, which is {owner['state']} and not waiting for a lock: it has not released it"
    details = entry["lock_details"]
    if details.get("reader_owned") and details.get("readers"):
        return (f"held for reading by {details['readers']} task{'s' if details['readers'] != 1 else ''}, whom the "
                f"kernel does not list (the last to take it was task {details.get('last_reader', 0):#x})")
    if obj and obj["object"] == "super_block" and obj.get("call") and entry["wait"]["write"]:
        return "which waits for the filesystem's writers to finish (a freeze in progress)"
    if entry["wait"]["kind"] == "rcu":
        holding = [lockup for _, lockup in sorted(stuck.items()) if lockup.get("holds_grace_period")]
        if holding:
            return "which cannot end while " + _join([_stalled_cpu(lockup) for lockup in holding])
    if entry.get("io"):
        return _io_reason(entry)
    if entry["wait"]["kind"] in ("completion", "rcu", "io", "folio", "bit", "sleep"):
        return "which has not come"
    if entry["wait"]["lock"] is None:
        return "(the lock could not be found on its stack)"
    return "whose holder the kernel does not record"


def wait_graph(tasks: List[Dict[str, Any]], lockups_found: Optional[List[Dict[str, Any]]] = None) \
        -> List[Dict[str, Any]]:
    """The chains of the wait-for graph over ``tasks`` (:func:`blocked_tasks`): each starts at a
    task no other listed task waits behind and follows lock owners through the listed tasks to a
    root (a task not waiting on a lock, a frozen filesystem, an event) or back into itself, a
    deadlock cycle.  Each chain: ``tasks`` (pids in wait order), ``root`` (the last pid),
    ``cycle`` (pids of the cycle, empty if none) and ``explanation``.  ``lockups_found``
    (:func:`lockups`) name the CPUs whose workers a flush_work() root waits for in vain."""
    stuck = {lockup["cpu"]: lockup for lockup in lockups_found or [] if lockup["cpu"] is not None}
    by_task = {entry["task"]: entry for entry in tasks}
    waited_on = {entry["owner"]["task"] for entry in tasks if entry["owner"] and entry["owner"]["task"] in by_task}
    starts = [entry for entry in tasks if entry["task"] not in waited_on]
    chains, covered = [], set()
    for start in starts + tasks:
        if start["task"] in covered:
            continue
        path, seen = [start], {start["task"]: 0}
        while path[-1]["owner"] and path[-1]["owner"]["task"] in by_task:
            nxt = by_task[path[-1]["owner"]["task"]]
            if nxt["task"] in seen:
                cycle = path[seen[nxt["task"]]:]
                break
            seen[nxt["task"]] = len(path)
            path.append(nxt)
        else:
            cycle = []
        covered.update(entry["task"] for entry in path)
        chains.append(_chain(path, cycle, stuck))
    return chains


def _chain(path: List[Dict[str, Any]], cycle: List[Dict[str, Any]], stuck: Dict[int, Dict[str, Any]]) \
        -> Dict[str, Any]:
    steps = []
    for i, entry in enumerate(path):
        last = i + 1 == len(path) and not cycle
        if last and entry["wait"]["kind"] == "sleep":
            # Asleep outside any lock wait: the task before it in the chain waits for a lock this one holds.
            step = f"{_who(entry)} {'holds it and ' if i else ''}{_sleep(entry)}, waiting for no lock"
            if i:
                step += f": it releases {_KIND_WORDS[path[i - 1]['wait']['kind']]} only when it wakes and goes on"
            steps.append(step)
            continue
        step = f"{_who(entry)} waits for {_what(entry)}"
        if not last:
            step += _holder(entry, path[i + 1] if i + 1 < len(path) else cycle[0])
        else:
            step += f", {_root_reason(entry, stuck)}"
        steps.append(step)
    text = "; ".join(steps) + "."
    if cycle:
        text = _deadlock(cycle) + " " + text
    return {"tasks": [entry["pid"] for entry in path], "root": path[-1]["pid"],
            "cycle": [entry["pid"] for entry in cycle], "explanation": text}


# The watchdogs' reports of a CPU that does not get out of the kernel (trouble.py's event kinds).
LOCKUP_KINDS = ("soft_lockup", "hard_lockup", "rcu_stall")


def _trace_functions(trace) -> List[str]:
    """The functions of a trace innermost first, with the function each exception frame's RIP
    was in: a CPU interrupted in a loop (the watchdog's timer interrupt on a soft lockup) has
    the looping function there, not as a return address (named once where the frame after the
    registers is in the same function, as the CPU note's registers and the first frame are)."""
    names: List[str] = []
    for item in trace.items:
        if isinstance(item, StackFrame) or (isinstance(item, ExceptionFrame) and item.where == "kernel"):
            if item.symbol and (not names or names[-1] != item.symbol):
                names.append(item.symbol)
    return names


def _interrupted_functions(trace) -> List[str]:
    """Where an interrupt found the task of ``trace``: the function of the last kernel registers
    an interrupt or exception saved on its stacks (not the CPU note's, where the dump was taken),
    then the frames below them; empty when no such registers are on the stacks.  On a CPU the
    lockup watchdog stopped, that is the loop, past the watchdog's own timer interrupt."""
    start = None
    for index, item in enumerate(trace.items):
        if isinstance(item, ExceptionFrame) and item.where == "kernel" and item.symbol and not item.notes:
            start = index
    if start is None:
        return []
    return [trace.items[start].symbol] + [item.symbol for item in trace.items[start + 1:]
                                          if isinstance(item, StackFrame) and item.symbol]


# Lines that open one CPU's (or one task's) part of a watchdog report: the frames after them are
# that CPU's.  An RCU stall report holds several stacks (the stalled CPUs', the grace-period
# kthread's, the CPU it last ran on); a soft lockup report one.
_NMI_BACKTRACE = re.compile(r"NMI backtrace for cpu (\d+)")
_TASK_DUMP = re.compile(r"^\s*(?:task:\S+\s+state:|rcu: RCU grace-period kthread stack dump|Task dump for CPU (\d+))")


def _frames_by_cpu(lines: List[str]) -> Dict[Optional[int], List[str]]:
    """The reliable frames of a report's lines (the RIP first), by the CPU whose part of the report
    they are in ("CPU: N PID: ..." or "NMI backtrace for cpu N" opens one; a task dump that names no
    CPU, as the grace-period kthread's, is None's)."""
    frames: Dict[Optional[int], List[str]] = {}
    cpu: Optional[int] = None
    for record in parse_log(lines):
        text = record.text
        nmi = _NMI_BACKTRACE.search(text)
        task_line = parse_task_line(text) if "PID:" in text else None
        dump = _TASK_DUMP.match(text)
        if nmi:
            cpu = int(nmi.group(1))
        elif task_line is not None and task_line.cpu is not None:
            cpu = task_line.cpu
        elif dump:
            cpu = int(dump.group(1)) if dump.group(1) else None
        frame = parse_rip(text) or parse_frame(text)
        if frame is not None and frame.reliable and frame.function not in frames.setdefault(cpu, []):
            frames[cpu].append(frame.function)
    return frames


def _active_traces(prog, unwinder: Unwinder) -> Dict[int, StackTrace]:
    """The trace of the task on each CPU at the dump."""
    return {cpu: stack_trace(prog, task, unwinder) for cpu, task in sorted(unwinder.active.items())}


def _lock_name(prog, lock: int) -> Dict[str, Any]:
    """A lock's address and, where it is a static variable, its name (:func:`_variable_at`)."""
    return {"address": lock, **(_variable_at(prog, lock) or {"name": None, "offset": 0, "module": None})}


def spinlock_waits(prog, unwinder: Unwinder, traces: Dict[int, StackTrace]) -> List[Dict[str, Any]]:
    """The CPUs spinning for a spinlock at the dump (:func:`pycore.kernel.spinlock.spin_wait` over
    ``traces``, each CPU's), each with the lock (its name where a symbol covers it, its word) and
    its probable holder (:func:`pycore.kernel.spinlock.probable_holder`): the CPU and task, and the
    evidence, since a spinlock records no owner."""
    waits = []
    for cpu, trace in traces.items():
        wait = spinlock.spin_wait(prog, cpu, trace)
        if wait is not None:
            waits.append(wait)
    spinning: Dict[int, List[int]] = {}
    for wait in waits:
        if wait.lock is not None:
            spinning.setdefault(wait.lock, []).append(wait.cpu)
    running = [(cpu, trace, trace.pid == 0) for cpu, trace in traces.items()]
    found = []
    for wait in waits:
        trace = traces[wait.cpu]
        entry: Dict[str, Any] = {"cpu": wait.cpu, "task": {"task": trace.task, "pid": trace.pid, "comm": trace.comm},
                                 "function": wait.function, "lock": None, "holder": None, "problem": wait.problem}
        if wait.lock is not None:
            state = wait.state
            entry["lock"] = {**_lock_name(prog, wait.lock), "word": state.value, "locked": state.locked,
                             "pending": state.pending, "tail_cpu": state.tail_cpu}
            holder = spinlock.probable_holder(prog, unwinder, wait.lock, running, spinning[wait.lock])
            if holder is not None:
                held_by = traces[holder.cpu]
                entry["holder"] = {"cpu": holder.cpu, "task": {"task": held_by.task, "pid": held_by.pid,
                                                               "comm": held_by.comm},
                                   "evidence": holder.evidence, "where": holder.where,
                                   "frames": _interrupted_functions(held_by) or _trace_functions(held_by)}
        found.append(entry)
    return found


def _grace_period_dict(period: rcu.GracePeriod, hz: Optional[int]) -> Dict[str, Any]:
    def seconds(jiffies: Optional[int]) -> Optional[float]:
        return round(jiffies / hz, 3) if jiffies is not None and hz else None

    signed = period.gp_seq - (1 << 64) if period.gp_seq >> 63 else period.gp_seq
    return {"flavor": period.flavor, "gp_seq": signed, "in_progress": period.in_progress,
            "age_secs": seconds(period.age_jiffies),
            "kthread": period.kthread, "kthread_state": period.kthread_state,
            "kthread_idle_secs": seconds(period.kthread_idle_jiffies), "holding_cpus": period.holding_cpus,
            "blocking_tasks": period.blocking_tasks,
            "cpus": [{"cpu": c.cpu, "gp_seq": c.gp_seq - (1 << 64) if c.gp_seq >> 63 else c.gp_seq,
                      "behind": c.behind, "no_qs": c.no_qs, "core_needs_qs": c.core_needs_qs,
                      "ticks_this_gp": c.ticks_this_gp} for c in period.cpus],
            "problems": period.problems}


def grace_period(prog) -> Dict[str, Any]:
    """Tree RCU's grace period at the dump (:func:`pycore.kernel.rcu.grace_period`) as data, with
    its times in seconds: signed ``gp_seq`` as the kernel's stall report prints it (``g=``), the
    CPUs and preempted readers it waits for, and how long its kthread has been idle."""
    return _grace_period_dict(rcu.grace_period(prog), kernel_hz(prog))


def lockups(records: List[LogRecord], prog=None, unwinder: Optional[Unwinder] = None,
            traces: Optional[Dict[int, StackTrace]] = None, period: Optional[Dict[str, Any]] = None) \
        -> List[Dict[str, Any]]:
    """The soft lockups, hard lockups and RCU stalls the log ``records`` report
    (:func:`pycore.analysis.trouble.find_trouble`), one entry per CPU named: the event's title,
    how many reports it had, the task the report names, the reliable frames of its trace (the
    RIP first; in a report of several CPUs' stacks, that CPU's) and, with a dump (``prog``), the
    task on that CPU at the dump, its frames and the report's frames still on its stack: where
    the CPU loops; ``interrupted_frames`` where the watchdog's interrupt found it
    (:func:`_interrupted_functions`), for when the log lost the report's trace.  An RCU stall also
    names the CPUs the grace period (``period``, :func:`grace_period`) still waits for, which the
    report may not list, and says of each CPU whether it holds it (``holds_grace_period``).
    ``traces``: the trace of each CPU's task, when the caller has them."""
    found = []
    for event in find_trouble(records).events:
        if event.kind not in LOCKUP_KINDS:
            continue
        frames: List[str] = []
        # The event keeps its lines as read; their messages come without the log's prefixes.
        for record in parse_log(event.lines):
            frame = parse_rip(record.text) or parse_frame(record.text)
            if frame is not None and frame.reliable and frame.function not in frames:
                frames.append(frame.function)
        by_cpu = _frames_by_cpu(event.lines) if event.kind == "rcu_stall" else {}
        details = event.details
        cpus = [details["cpu"]] if "cpu" in details else list(details.get("cpus", []))
        holding = None
        if event.kind == "rcu_stall" and period is not None and period["in_progress"]:
            holding = set(period["holding_cpus"])
            cpus = sorted(set(cpus) | holding)
        for cpu in cpus or [None]:
            cpu_frames = by_cpu.get(cpu) or frames
            entry = {"kind": event.kind, "title": event.title, "reports": event.count, "cpu": cpu,
                     "task": details.get("task"), "log_frames": cpu_frames, "dump_task": None, "dump_frames": [],
                     "repeating_frames": [], "interrupted_frames": []}
            if event.kind == "rcu_stall":
                entry["holds_grace_period"] = None if holding is None else cpu in holding
            if prog is not None and cpu is not None:
                unwinder = unwinder or Unwinder(prog)
                task = unwinder.active.get(cpu)
                if task is not None:
                    trace = traces[cpu] if traces is not None and cpu in traces else stack_trace(prog, task, unwinder)
                    entry["dump_task"] = {"task": task, "pid": trace.pid, "comm": trace.comm}
                    entry["dump_frames"] = _trace_functions(trace)
                    entry["interrupted_frames"] = _interrupted_functions(trace)
                    on_stack = {name.split(".")[0] for name in entry["dump_frames"]}
                    entry["repeating_frames"] = [name for name in cpu_frames if name.split(".")[0] in on_stack]
            found.append(entry)
    return found


def _leading_lockup(lockups_found: List[Dict[str, Any]], spins: List[Dict[str, Any]]) \
        -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]], List[str]]:
    """The lockup a hang is told by, the spinlock its CPU spins for (with a known holder) and the
    frames it loops in: the first CPU holding RCU's grace period (else the first lockup's CPU)
    found at the dump, from the function it loops in outwards; for a CPU that spins for a
    spinlock whose probable holder is known, the holder's frames, since that is what keeps it
    spinning.  ``(None, None, [])`` when no lockup's CPU was found at the dump."""
    stuck = [lockup for lockup in lockups_found if lockup["dump_task"] is not None]
    if not stuck:
        return None, None, []
    lockup = next((found for found in stuck if found.get("holds_grace_period")), stuck[0])
    spin = next((found for found in spins if found["cpu"] == lockup["cpu"] and found["holder"]), None)
    if spin is not None:
        return lockup, spin, spin["holder"]["frames"]
    return lockup, None, lockup["repeating_frames"] or lockup["interrupted_frames"]


def lockup_frames(report: Dict[str, Any]) -> List[str]:
    """Where the lockups of a hang report (:func:`analyze`) loop, for a signature
    (:func:`_leading_lockup`); empty when no lockup's CPU was found at the dump."""
    return _leading_lockup(report["lockups"], report["spinlocks"])[2]


def analyze(prog, unwinder: Optional[Unwinder] = None) -> Dict[str, Any]:
    """The hang report of a dump: khungtaskd's settings, the panic task, every blocked task
    (:func:`blocked_tasks`; ``partial`` when the task list was cut short or a task's wait could not
    be read, ``tasks_read`` of it), the
    chains of the wait-for graph (:func:`wait_graph`), the log's lockups (:func:`lockups`) and, when
    there are lockups or a task waits for a grace period, the CPUs spinning for a spinlock and its
    probable holder (:func:`spinlock_waits`) and RCU's grace period (:func:`grace_period`); the kind
    of the log's crash cause (``cause``, :func:`pycore.analysis.trouble.crash_event`), the signature
    and its frames and the one-sentence ``summary`` that lead with what brought the machine down
    (:func:`signature`), the key a fleet groups it by (``signature_key``,
    :func:`signature_key`); and the warnings."""
    unwinder = unwinder or Unwinder(prog)
    settings = hung.hung_task_settings(prog)
    tasks, warnings, read = blocked_tasks(prog, unwinder)
    requests: List[Dict[str, Any]] = []
    try:
        in_flight = block.requests_in_flight(prog)
        now_ns = monotonic_ns(prog)
        requests = [_request_dict(request, now_ns, None) for request in in_flight]
        attach_io(prog, tasks, in_flight, now_ns)
    except PycoreError as error:
        warnings.append(f"the requests in flight could not be read: {error}")
    cause = None
    try:
        records = dump_log_records(prog)
        trouble = find_trouble(records)
        reported = [event.kind for event in trouble.events if event.kind in LOCKUP_KINDS]
        cause_event = crash_event(trouble)
        cause = cause_event.kind if cause_event is not None else None
    except PycoreError as error:
        records, reported = [], []
        warnings.append(f"the log's lockup reports could not be read: {error}")
    period = None
    if "rcu_stall" in reported or any(entry["wait"]["kind"] == "rcu" for entry in tasks):
        try:
            period = grace_period(prog)
        except PycoreError as error:
            warnings.append(f"RCU's grace period could not be read: {error}")
    traces: Dict[int, StackTrace] = {}
    spins: List[Dict[str, Any]] = []
    if reported:
        try:
            traces = _active_traces(prog, unwinder)
            spins = spinlock_waits(prog, unwinder, traces)
        except PycoreError as error:
            warnings.append(f"the CPUs' stacks could not be read for spinlocks: {error}")
    try:
        stuck = lockups(records, prog, unwinder, traces, period)
    except PycoreError as error:
        stuck = []
        warnings.append(f"the log's lockup reports could not be read: {error}")
    for lockup in stuck:
        lockup["spins_on"] = next((spin["lock"] for spin in spins if spin["cpu"] == lockup["cpu"]), None)
        lockup["holds_spinlocks"] = [{"lock": spin["lock"], "waiter_cpu": spin["cpu"], "waiter": spin["task"],
                                      "evidence": spin["holder"]["evidence"], "where": spin["holder"]["where"]}
                                     for spin in spins if spin["holder"] and spin["holder"]["cpu"] == lockup["cpu"]]
    chains = wait_graph(tasks, stuck)
    text, frames, summary = signature(tasks, chains, stuck, spins, cause)
    panic = sched.panic_task(prog)
    return {"settings": {"timeout_secs": settings.timeout_secs, "panic": settings.panic,
                         "check_interval_secs": settings.check_interval_secs},
            "panic_task": _task_ref(panic) if panic is not None else None,
            "tasks_read": read, "partial": any(w.startswith("partial: ") for w in warnings),
            "tasks": tasks, "chains": chains, "cause": cause, "signature": text, "signature_frames": frames,
            "signature_key": signature_key(tasks, chains, stuck, spins, cause), "summary": summary,
            "lockups": stuck, "spinlocks": spins, "grace_period": period, "requests": requests, "warnings": warnings}


def signature(tasks: List[Dict[str, Any]], chains: List[Dict[str, Any]],
              lockups_found: Optional[List[Dict[str, Any]]] = None, spins: Optional[List[Dict[str, Any]]] = None,
              cause: Optional[str] = None) -> Tuple[Optional[str], List[str], Optional[str]]:
    """What a fleet groups a hang by, its frames and a one-sentence summary, led by what brought
    the machine down.  A lockup or RCU stall whose CPU was found at the dump leads unless the
    crash's ``cause`` is a hung task: "rcu detected stall in FUNCTION" (or "soft lockup in",
    "hard lockup in"), its frames where the CPU loops or the holder of the spinlock it spins for
    (:func:`_leading_lockup`; triage signs the panic by them), and the CPU, its task and loop,
    the spinlock and its holder, and the tasks waiting for the grace period.  Else the root wait
    of the longest chain (a deadlock first, then one with a task the log reports hung): "task hung
    in CALL" (or "deadlock in CALL"; "task hung in io wait on DISK" where it waits for a request
    in flight) and its frames, the freeze helper the kernel inlines (sb_start_write) or the lock
    or wait function, then its caller; the summary is that chain's explanation.  ``(None, [], None)`` when nothing hangs."""
    if cause != "hung_task":
        lockup, spin, frames = _leading_lockup(lockups_found or [], spins or [])
        if lockup is not None and frames:
            text = f"{_LOCKUP_WORDS[lockup['kind']][0]} in {normalize_frame(frames[0])}"
            return text, frames, _lockup_summary(lockup, spin, tasks)
    if not chains:
        return None, [], None
    by_pid = {entry["pid"]: entry for entry in tasks}
    chain = _leading_chain(by_pid, chains)
    wait, obj = by_pid[chain["root"]]["wait"], by_pid[chain["root"]]["lock_object"]
    frames = [obj["call"] if obj and obj["object"] == "super_block" and obj.get("call") else
              wait["function"] or wait["kind"]]
    if wait["caller"]:
        frames.append(wait["caller"])
    if not chain["cycle"] and by_pid[chain["root"]].get("io"):
        disk = by_pid[chain["root"]]["io"][0]["disk"]
        return f"task hung in io wait on {disk}", frames, chain["explanation"]
    return ("deadlock in " if chain["cycle"] else "task hung in ") + frames[0], frames, chain["explanation"]


def _leading_chain(by_pid: Dict[int, Dict[str, Any]], chains: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The chain a hang is told by: a deadlock first, then one with a task the log reports hung,
    then the longest (the first of equals, in the task list's order)."""
    return max(chains, key=lambda c: (bool(c["cycle"]), any(by_pid[pid].get("reported_secs") for pid in c["tasks"]),
                                      len(c["tasks"])))


def signature_key(tasks: List[Dict[str, Any]], chains: List[Dict[str, Any]],
                  lockups_found: Optional[List[Dict[str, Any]]] = None, spins: Optional[List[Dict[str, Any]]] = None,
                  cause: Optional[str] = None) -> Dict[str, Any]:
    """What a fleet groups a hang by, led as :func:`signature` leads: ``kind``, the report kind that
    leads (the lockup's, else ``hung_task``; None when nothing hangs), ``waits`` in words without
    what differs between two dumps of one bug (pids, addresses, times: :func:`_wait_key`) and
    ``frames``, the raw frames where the task holding things up loops.  A lockup: the
    spinlock its CPU spins for, if any, and the frames of that lock's holder (else its own loop).
    A chain: only its root, since the tasks queued behind it vary from dump to dump: a deadlock's
    locks, sorted so that whichever task the cycle starts at gives one key; the lock a sleeping
    holder keeps and where it sleeps; a grace period or a flush_work() barrier and the loop of the
    stalled CPU that keeps it from ending; else what the root task waits for (the lock and its
    object, the frozen filesystem, the disk of its request in flight)."""
    if cause != "hung_task":
        lockup, spin, frames = _leading_lockup(lockups_found or [], spins or [])
        if lockup is not None and frames:
            return {"kind": lockup["kind"], "waits": [_spinlock_key(spin["lock"])] if spin is not None else [],
                    "frames": frames}
    if not chains:
        return {"kind": None, "waits": [], "frames": []}
    by_pid = {entry["pid"]: entry for entry in tasks}
    chain = _leading_chain(by_pid, chains)
    if chain["cycle"]:
        locks = sorted({_wait_key(by_pid[pid]) for pid in chain["cycle"]})
        return {"kind": "hung_task", "waits": ["deadlock"] + locks, "frames": []}
    root = by_pid[chain["root"]]
    if root["wait"]["kind"] == "sleep" and len(chain["tasks"]) > 1:
        wait = root["wait"]
        names = [name.split(".")[0] for name in wait["frames"]]
        start = names.index(wait["function"]) if wait["function"] in names else 0
        return {"kind": "hung_task", "waits": [_wait_key(by_pid[chain["tasks"][-2]])], "frames": wait["frames"][start:]}
    stuck = {lockup["cpu"]: lockup for lockup in lockups_found or [] if lockup["cpu"] is not None}
    blocker = None
    if root["wait"]["kind"] == "rcu":
        blocker = next((lockup for _, lockup in sorted(stuck.items()) if lockup.get("holds_grace_period")), None)
    elif root.get("flush") and root["flush"]["cpu"] is not None:
        blocker = stuck.get(root["flush"]["cpu"])
    loop = (blocker["repeating_frames"] or blocker["interrupted_frames"]) if blocker is not None else []
    return {"kind": "hung_task", "waits": [_wait_key(root)], "frames": loop}


def _wait_key(entry: Dict[str, Any]) -> str:
    """What a blocked task waits for, the same in every dump of one bug: the kind of wait and the
    lock's variable (and module), its object and member, the frozen filesystem's type and freeze
    call, the disk (and driver) of the request in flight, the workqueue flushed; else the wait
    function and its caller."""
    wait, obj = entry["wait"], entry["lock_object"]
    if obj and obj["object"] == "super_block" and obj.get("call"):
        return f"{wait['kind']} {obj['call']} on {obj['fstype']}" + (" (frozen)" if obj["frozen"] else "")
    if entry.get("io"):
        request = entry["io"][0]
        return f"io on {request['disk'] or 'a disk'}" + (f" ({request['driver']})" if request["driver"] else "")
    if entry.get("folio"):
        folio = entry["folio"]
        return f"folio {wait['folio_bit']} on {folio['disk'] or folio['device'] or 'a page cache'}"
    if entry.get("flush"):
        return f"flush_work on {entry['flush']['workqueue']}"
    if wait["kind"] == "rcu":
        return "rcu grace period"
    if obj is not None and obj["object"] == "variable":
        return f"{wait['kind']} {_lock_words(obj)}"
    if obj is not None:
        return f"{wait['kind']} {obj['object']}.{obj['member']}"
    return f"{wait['kind']} in {wait['function'] or 'the scheduler'}" + (f" from {wait['caller']}"
                                                                          if wait["caller"] else "")


def _spinlock_key(lock: Optional[Dict[str, Any]]) -> str:
    """A spinlock in a signature: by its symbol, else only the word (its address differs per dump)."""
    return f"spinlock {_lock_words(lock)}" if lock is not None and lock["name"] is not None else "spinlock"


def _lockup_summary(lockup: Dict[str, Any], spin: Optional[Dict[str, Any]], tasks: List[Dict[str, Any]]) -> str:
    """The sentence a lockup-led hang report opens with: the watchdog's report, the CPU and the
    task looping there and where, the spinlock it holds (or spins for, and who holds that), and,
    for an RCU stall, the tasks asleep until the grace period ends."""
    task = lockup["dump_task"]
    words = _LOCKUP_WORDS[lockup["kind"]][1]
    if lockup["kind"] == "rcu_stall" and lockup.get("holds_grace_period"):
        text = f"{words}: CPU {lockup['cpu']} passes no quiescent state: {_who(task)} loops there"
    else:
        text = f"{words}: CPU {lockup['cpu']} {_who(task)} loops"
    function = looping_function(lockup)
    if function:
        text += f" in {function}"
    for held in lockup.get("holds_spinlocks", []):
        waiter = held["waiter"]
        text += ((", holding" if held["evidence"] == "owner" else ", probably holding")
                 + f" the spinlock {_lock_words(held['lock'])}, which CPU {held['waiter_cpu']} {_who(waiter)} "
                 f"spins for")
    if spin is not None:
        holder = spin["holder"]
        text += (f", spinning for the spinlock {_lock_words(spin['lock'])}, "
                 + ("held" if holder["evidence"] == "owner" else "probably held")
                 + f" by CPU {holder['cpu']} {_who(holder['task'])}"
                 + (f" looping in {holder['frames'][0]}" if holder["frames"] else ""))
    if lockup["kind"] == "rcu_stall":
        waiting = [entry for entry in tasks if entry["wait"]["kind"] == "rcu"]
        if waiting:
            text += f"; {_join([_who(entry) for entry in waiting])} wait{'s' if len(waiting) == 1 else ''} " \
                    f"for the grace period"
    return text + "."
