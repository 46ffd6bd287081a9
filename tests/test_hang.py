"""pycore hang: the locks' owner and waiter fields on made-up locks, the blocking function of made-up
stacks, wait chains and deadlock cycles of made-up tasks, lockups in text logs; on the corpus's hung-task cases the
blocked tasks, their frames, locks and chain against the guest's own listing (/proc/PID/stack,
/proc/mounts) and crash's ps and foreach bt; on every case the D-state tasks against crash's ps."""
import json
import os
import re

import pytest

from pycore.analysis import hang
from pycore.analysis.logtext import read_log
from pycore.errors import FaultError
from pycore.kernel import hung, locking
from pycore.object import ListCorruptError, Object
from pycore.types.model import Member, array_type, int_type, pointer_type, struct_type, void_type

from conftest import is_subsequence
from corpus import cases, cli_output
from fake_program import BASE, FakeProgram

# -- made-up locks ----------------------------------------------------------------------------


def lock_program() -> FakeProgram:
    """FakeProgram with struct mutex, mutex_waiter, rw_semaphore and rwsem_waiter laid out as 6.12's."""
    prog = FakeProgram()
    types = prog.types.types
    list_head = types[("struct", "list_head")]
    long_ = int_type("long", 8, True)
    atomic_long = struct_type("atomic_long_t", 8, [Member("counter", long_, 0)])
    task_p = pointer_type(types[("struct", "task_struct")])
    types[("struct", "mutex")] = struct_type("mutex", 32, [
        Member("owner", atomic_long, 0), Member("wait_lock", int_type("int", 4, True), 64),
        Member("wait_list", list_head, 128)])
    types[("struct", "mutex_waiter")] = struct_type("mutex_waiter", 32, [
        Member("list", list_head, 0), Member("task", task_p, 128), Member("ww_ctx", pointer_type(void_type()), 192)])
    types[("struct", "rw_semaphore")] = struct_type("rw_semaphore", 40, [
        Member("count", atomic_long, 0), Member("owner", atomic_long, 64), Member("wait_list", list_head, 192)])
    types[("struct", "rwsem_waiter")] = struct_type("rwsem_waiter", 48, [
        Member("list", list_head, 0), Member("task", task_p, 128), Member("type", int_type("int", 4, True), 192)])
    return prog


MUTEX = BASE + 0x100
WAITERS = [BASE + 0x200, BASE + 0x300]
TASKS = [BASE + 0x1000, BASE + 0x2000]
OWNER = BASE + 0x3000


def ring(prog: FakeProgram, head: int, nodes) -> None:
    """A list_head ring: head, then nodes in order."""
    chain = [head] + list(nodes)
    for i, node in enumerate(chain):
        prog.put(node, chain[(i + 1) % len(chain)], chain[i - 1])


def test_mutex_owner_drops_the_flag_bits_and_waiters_come_in_queue_order():
    prog = lock_program()
    prog.put(MUTEX, OWNER | 0x3)  # WAITERS | HANDOFF
    ring(prog, MUTEX + 16, WAITERS)
    for waiter, task in zip(WAITERS, TASKS):
        prog.put(waiter + 16, task)
    mutex = Object(prog, "struct mutex *", MUTEX)
    assert locking.mutex_owner(mutex) == OWNER
    assert [w.task for w in locking.mutex_waiters(mutex)] == TASKS


def test_a_7x_mutex_heads_its_waiters_ring_with_first_waiter():
    prog = lock_program()
    types = prog.types.types
    waiter = types[("struct", "mutex_waiter")]
    types[("struct", "mutex")] = struct_type("mutex", 24, [
        Member("owner", types[("struct", "mutex")].member("owner").type, 0),
        Member("first_waiter", pointer_type(waiter), 128)])
    prog.put(MUTEX, OWNER | 0x1, 0, WAITERS[1])
    ring(prog, WAITERS[0], WAITERS[1:])  # the waiters' own ring, no head in the lock
    for node, task in zip(WAITERS, TASKS):
        prog.put(node + 16, task)
    mutex = Object(prog, "struct mutex *", MUTEX)
    assert [w.task for w in locking.mutex_waiters(mutex)] == [TASKS[1], TASKS[0]]
    prog.put(MUTEX + 16, 0)
    assert locking.mutex_waiters(mutex) == []


def test_a_mutex_wait_list_that_never_returns_is_a_list_error():
    prog = lock_program()
    ring(prog, MUTEX + 16, WAITERS)
    prog.put(WAITERS[1], WAITERS[0])  # the last waiter points back into the list, not to the head
    with pytest.raises(ListCorruptError):
        locking.mutex_waiters(Object(prog, "struct mutex *", MUTEX))


def test_rwsem_state_tells_a_writer_from_readers_and_waiters_say_what_they_want():
    prog = lock_program()
    sem = Object(prog, "struct rw_semaphore *", MUTEX)
    prog.put(MUTEX, locking.RWSEM_WRITER_LOCKED | locking.RWSEM_FLAG_WAITERS, OWNER | 0x2)
    state = locking.rwsem_state(sem)
    assert (state.writer_locked, state.readers, state.owner, state.reader_owned, state.has_waiters) == \
        (True, 0, OWNER, False, True)
    prog.put(MUTEX, 3 << locking.RWSEM_READER_SHIFT, OWNER | locking.RWSEM_READER_OWNED)
    state = locking.rwsem_state(sem)
    assert (state.writer_locked, state.readers, state.reader_owned) == (False, 3, True)
    ring(prog, MUTEX + 24, WAITERS)
    for waiter, task, kind in zip(WAITERS, TASKS, (locking.RWSEM_WAITING_FOR_WRITE, 1)):
        prog.put(waiter + 16, task, kind)
    assert [(w.task, w.write) for w in locking.rwsem_waiters(sem)] == [(TASKS[0], True), (TASKS[1], False)]


# -- made-up stacks ---------------------------------------------------------------------------


@pytest.mark.parametrize("frames,expected", [
    (["__schedule", "schedule", "schedule_preempt_disabled", "__mutex_lock.constprop.0", "fdget_pos", "ksys_write"],
     ("mutex", "__mutex_lock", "fdget_pos", None)),
    (["__schedule", "schedule", "percpu_rwsem_wait", "__percpu_down_read", "vfs_write"],
     ("percpu_rw_semaphore", "__percpu_down_read", "vfs_write", False)),
    (["__schedule", "schedule", "schedule_timeout", "__wait_for_common", "__wait_rcu_gp", "synchronize_rcu",
      "rcu_sync_enter"], ("rcu", "synchronize_rcu", "rcu_sync_enter", None)),
    (["__schedule", "schedule", "io_schedule", "folio_wait_bit_common", "filemap_fault"],
     ("folio", "folio_wait_bit_common", "filemap_fault", None)),
    (["__schedule", "schedule", "rwsem_down_write_slowpath", "down_write", "do_truncate"],
     ("rw_semaphore", "down_write", "do_truncate", True)),
    (["__schedule", "schedule", "pipe_read", "vfs_read"], ("sleep", "pipe_read", "vfs_read", None)),
])
def test_the_wait_is_the_outermost_lock_function_of_the_innermost_run(frames, expected):
    assert hung.blocking_function(frames) == expected


# -- made-up wait chains ----------------------------------------------------------------------


def blocked(pid: int, kind: str, owner=None, lock_object=None, function="__mutex_lock", caller="do_it"):
    return {"task": 0x1000 * pid, "pid": pid, "comm": f"t{pid}", "state": "UN", "waited_ns": None,
            "reported_secs": None, "watchdog_secs": None, "lock_details": {}, "lock_object": lock_object,
            "owner": {"task": 0x1000 * owner, "pid": owner, "comm": f"t{owner}", "state": "UN"} if owner else None,
            "wait": {"kind": kind, "function": function, "caller": caller, "lock": 0xffff0000 + pid, "queue": None,
                     "write": None, "wake_function": None, "frames": [], "problems": []}}


FROZEN = {"object": "super_block", "address": 0x5000, "member": "s_writers.rw_sem[0]", "level": 1,
          "level_name": "SB_FREEZE_WRITE", "call": "sb_start_write", "fstype": "ext4", "device": "vdc",
          "source": "/dev/vdc", "mountpoint": "/mnt", "frozen": 4, "frozen_name": "SB_FREEZE_COMPLETE",
          "freeze_count_user": 1, "freeze_count_kernel": 0}


def test_a_chain_ends_at_the_frozen_filesystem_and_signs_by_its_freeze_helper():
    tasks = [blocked(2, "mutex", owner=1),
             blocked(1, "percpu_rw_semaphore", lock_object=FROZEN, function="__percpu_down_read", caller="vfs_write")]
    chains = hang.wait_graph(tasks)
    assert [(c["tasks"], c["root"], c["cycle"]) for c in chains] == [([2, 1], 1, [])]
    assert chains[0]["explanation"].endswith(
        "t1 (pid 1) waits for write access (sb_start_write) to the ext4 filesystem on /dev/vdc mounted on /mnt, "
        "which is frozen (level SB_FREEZE_COMPLETE, frozen from user space by FIFREEZE): nothing wakes it until "
        "the filesystem is thawed.")
    assert hang.signature(tasks, chains) == ("task hung in sb_start_write", ["sb_start_write", "vfs_write"],
                                             chains[0]["explanation"])


def test_an_abba_cycle_is_a_deadlock_and_wins_the_signature():
    tasks = [blocked(3, "semaphore", function="__down", caller="probe"),
             blocked(1, "mutex", owner=2, caller="a_then_b"), blocked(2, "mutex", owner=1, caller="b_then_a"),
             blocked(4, "mutex", owner=1, caller="third")]
    chains = hang.wait_graph(tasks)
    by_start = {c["tasks"][0]: c for c in chains}
    assert set(by_start) == {3, 4}
    assert by_start[4]["tasks"] == [4, 1, 2] and by_start[4]["cycle"] == [1, 2]
    assert by_start[4]["explanation"].startswith(
        "t1 (pid 1) and t2 (pid 2) deadlock: each holds the mutex the other waits for, and neither can go on. "
        "t4 (pid 4) waits for the mutex at 0xffff0004 (in __mutex_lock), held by t1 (pid 1);")
    assert by_start[3]["cycle"] == [] and "whose holder the kernel does not record" in by_start[3]["explanation"]
    assert hang.signature(tasks, chains)[0] == "deadlock in __mutex_lock"


# -- the key triage groups a hang by ------------------------------------------------------------

def variable(name: str):
    return {"object": "variable", "name": name, "offset": 0, "module": "mod"}


def test_the_key_is_the_chains_root_wait_whatever_the_pids_addresses_and_victims():
    # One bug in two dumps: other pids and lock addresses, and a writer queued behind the root in one only.
    first = [blocked(2, "mutex", owner=1),
             blocked(1, "percpu_rw_semaphore", lock_object=FROZEN, function="__percpu_down_read", caller="vfs_write")]
    second = [blocked(7, "percpu_rw_semaphore", lock_object=dict(FROZEN, address=0x8000),
                      function="__percpu_down_read", caller="vfs_write")]
    keys = [hang.signature_key(tasks, hang.wait_graph(tasks)) for tasks in (first, second)]
    assert keys[0] == keys[1] == {"kind": "hung_task", "waits": ["percpu_rw_semaphore sb_start_write on ext4 (frozen)"],
                                  "frames": []}
    # A lock the kernel cannot place: the function that waits and the one that took it.
    alone = blocked(3, "mutex", caller="probe")
    assert hang.signature_key([alone], hang.wait_graph([alone]))["waits"] == ["mutex in __mutex_lock from probe"]


def test_a_deadlocks_key_is_its_locks_whichever_task_the_cycle_starts_at():
    a = blocked(1, "mutex", owner=2, lock_object=variable("lock_b"), caller="a_then_b")
    b = blocked(2, "mutex", owner=1, lock_object=variable("lock_a"), caller="b_then_a")
    queued = blocked(9, "mutex", owner=1, lock_object=variable("lock_a"), caller="third")
    for tasks in ([a, b], [b, a], [queued, b, a]):
        assert hang.signature_key(tasks, hang.wait_graph(tasks)) == {
            "kind": "hung_task", "waits": ["deadlock", "mutex lock_a (module mod)", "mutex lock_b (module mod)"],
            "frames": []}


def test_a_lock_kept_by_a_sleeping_holder_is_keyed_by_the_lock_and_where_the_holder_sleeps():
    reader = blocked(5, "rw_semaphore", owner=4, lock_object=variable("the_rwsem"), function="down_read",
                     caller="reader_thread")
    writer = blocked(4, "sleep", function="msleep", caller="writer_thread")
    writer["wait"]["frames"] = ["__schedule", "schedule", "schedule_timeout", "msleep", "writer_thread", "kthread"]
    assert hang.signature_key([reader, writer], hang.wait_graph([reader, writer])) == {
        "kind": "hung_task", "waits": ["rw_semaphore the_rwsem (module mod)"],
        "frames": ["msleep", "writer_thread", "kthread"]}
    assert hang.signature_key([], []) == {"kind": None, "waits": [], "frames": []}


def test_a_reader_owned_rwsem_is_a_root_the_kernel_cannot_name():
    waiter = blocked(1, "rw_semaphore", function="down_write", caller="do_truncate")
    waiter["lock_details"] = {"writer_locked": False, "readers": 2, "reader_owned": True, "last_reader": 0x9000}
    (chain,) = hang.wait_graph([waiter])
    assert chain["explanation"].endswith("held for reading by 2 tasks, whom the kernel does not list (the last to "
                                         "take it was task 0x9000).")


def test_a_cycle_of_three_over_two_lock_kinds_is_named_as_one_deadlock():
    chains = hang.wait_graph([blocked(1, "mutex", owner=2), blocked(2, "rw_semaphore", owner=3, function="down_write"),
                              blocked(3, "mutex", owner=1)])
    (chain,) = chains
    assert sorted(chain["cycle"]) == [1, 2, 3]
    assert chain["explanation"].startswith("t1 (pid 1), t2 (pid 2) and t3 (pid 3) deadlock: each holds the lock "
                                           "the next one waits for, and none of them can go on. ")


def test_a_writer_asleep_holding_the_rwsem_ends_the_readers_chain():
    reader = blocked(1, "rw_semaphore", owner=2, function="down_read", caller="read_it",
                     lock_object={"object": "variable", "name": "some_rwsem", "offset": 0, "module": "somemod"})
    reader["wait"]["write"] = False
    reader["lock_details"] = {"writer_locked": True, "readers": 0, "reader_owned": False,
                              "waiters": [{"task": 0x1000, "write": False}]}
    writer = blocked(2, "sleep", function="msleep", caller="write_it")
    writer["wait"]["frames"] = ["__schedule", "schedule", "schedule_timeout", "msleep", "write_it"]
    (chain,) = hang.wait_graph([reader, writer])
    assert (chain["tasks"], chain["cycle"]) == ([1, 2], [])
    assert chain["explanation"] == (
        "t1 (pid 1) waits for read access to the rw_semaphore some_rwsem (module somemod), held for writing by "
        "t2 (pid 2); t2 (pid 2) holds it and sleeps in msleep (called from write_it), a timed sleep "
        "(schedule_timeout), waiting for no lock: it releases the rw_semaphore only when it wakes and goes on.")


def flush_program(data: int, function: str = "wq_barrier_func"):
    """A wq_barrier at BASE + 0x100 (work.data = ``data``, work.func = ``function``), its completion at
    + 0x20, and a pool_workqueue at BASE + 0x400 of worker pool BASE + 0x600 (CPU 1) and workqueue
    BASE + 0x800 ("mm_percpu_wq"), laid out as 6.1's."""
    prog = FakeProgram(symbols={"wq_barrier_func": BASE + 0xf000, "other_func": BASE + 0xf100})
    types = prog.types.types
    long_ = int_type("long", 8, True)
    atomic_long = struct_type("atomic_long_t", 8, [Member("counter", long_, 0)])
    work = struct_type("work_struct", 32, [Member("data", atomic_long, 0),
                                           Member("entry", types[("struct", "list_head")], 64),
                                           Member("func", pointer_type(void_type()), 192)])
    types[("struct", "wq_barrier")] = struct_type("wq_barrier", 72, [
        Member("work", work, 0), Member("done", struct_type("completion", 32, []), 256)])
    pool = types[("struct", "worker_pool")] = struct_type("worker_pool", 8, [
        Member("cpu", int_type("int", 4, True), 0)])
    wq = types[("struct", "workqueue_struct")] = struct_type("workqueue_struct", 24, [
        Member("name", array_type(int_type("char", 1, True), 24), 0)])
    types[("struct", "pool_workqueue")] = struct_type("pool_workqueue", 16, [
        Member("pool", pointer_type(pool), 0), Member("wq", pointer_type(wq), 64)])
    prog.put(BASE + 0x100, data)
    prog.put(BASE + 0x118, BASE + (0xf000 if function == "wq_barrier_func" else 0xf100))
    prog.put(BASE + 0x400, BASE + 0x600, BASE + 0x800)
    prog.put(BASE + 0x600, 1)
    prog.memory[0x800:0x80d] = b"mm_percpu_wq\0"
    return prog


def test_a_flush_barrier_names_the_workqueue_and_cpu_that_must_run_it():
    queued = BASE + 0x400 | 0x5  # PENDING | PWQ, color 0
    assert hung.flush_work_target(flush_program(queued), BASE + 0x120) == hung.FlushTarget("mm_percpu_wq", 1)
    # Run already (PWQ clear: the data is the last pool's ID), or no barrier at all: nothing to name.
    assert hung.flush_work_target(flush_program(0x40 << 5), BASE + 0x120) is None
    assert hung.flush_work_target(flush_program(queued, "other_func"), BASE + 0x120) is None


def test_a_flush_waits_in_vain_for_the_workers_of_a_cpu_in_a_soft_lockup():
    flusher = blocked(5, "completion", function="__wait_for_common", caller="flush_work")
    flusher["flush"] = {"workqueue": "mm_percpu_wq", "cpu": 1}
    lockup = {"kind": "soft_lockup", "cpu": 1, "task": "spinner:9", "dump_task": {"task": 0x9000, "pid": 9,
                                                                                  "comm": "spinner"}}
    (chain,) = hang.wait_graph([flusher], [lockup])
    assert chain["explanation"] == (
        "t5 (pid 5) waits for the work it flushes on workqueue mm_percpu_wq (flush_work's barrier, its completion "
        "at 0xffff0005), which a worker of CPU 1's pool completes when it gets to the barrier, and CPU 1 is stuck "
        "in a soft lockup looping in spinner (pid 9): its workers cannot run.")
    # Another CPU's lockup does not explain it.
    (chain,) = hang.wait_graph([flusher], [dict(lockup, cpu=0)])
    assert chain["explanation"].endswith("which a worker of CPU 1's pool completes when it gets to the barrier.")


def test_a_cycle_nobody_else_waits_on_is_still_found():
    chains = hang.wait_graph([blocked(1, "mutex", owner=2), blocked(2, "mutex", owner=1)])
    assert [(sorted(c["tasks"]), sorted(c["cycle"])) for c in chains] == [([1, 2], [1, 2])]


# -- lockups in a log ------------------------------------------------------------------------

LOGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "logs")


def test_a_repeated_soft_lockup_names_its_cpu_task_and_the_frames_it_loops_in():
    found = hang.lockups(read_log(os.path.join(LOGS, "lockups-hung-3.10.log"), year=2021))
    assert [(f["kind"], f["cpu"], f["reports"], f["task"]) for f in found] == [("soft_lockup", 2, 2, "qemu-kvm:30127")]
    assert found[0]["log_frames"][:3] == ["smp_call_function_many", "native_flush_tlb_others", "flush_tlb_mm_range"]
    assert found[0]["dump_task"] is None and found[0]["repeating_frames"] == []


def test_a_looping_cpu_names_the_function_its_interrupted_registers_are_in():
    from pycore.kernel.stack import StackTrace

    trace = StackTrace(0x9000, 9, "spinner", 1, True)
    trace.add_exception_frame({"rip": 1}, "kernel", "__crash_kexec", 0x11a, notes=True)
    trace.add_frame(0, 0x100, 1, "__crash_kexec", 0x11a, None)
    trace.add_frame(1, 0x108, 2, "panic", 0x40, None)
    trace.add_stack_switch("IRQ")
    trace.add_exception_frame({"rip": 3}, "kernel", "spin_loop", 7)
    trace.add_frame(2, 0x200, 4, "spin_thread", 0x11, "spinmod")
    trace.add_exception_frame({"rip": 5}, "user")
    assert hang._trace_functions(trace) == ["__crash_kexec", "panic", "spin_loop", "spin_thread"]
    # Where the timer interrupt found it: past the CPU note's registers and the watchdog's frames.
    assert hang._interrupted_functions(trace) == ["spin_loop", "spin_thread"]
    idle = StackTrace(0x9000, 9, "spinner", 1, True)
    idle.add_exception_frame({"rip": 1}, "kernel", "__crash_kexec", 0x11a, notes=True)
    idle.add_frame(0, 0x100, 1, "__crash_kexec", 0x11a, None)
    assert hang._interrupted_functions(idle) == []


def test_each_watchdog_names_its_own_cpu():
    found = hang.lockups(read_log(os.path.join(LOGS, "lockups-rcu-5.15.log"), year=2021))
    assert sorted((f["kind"], f["cpu"]) for f in found) == [("hard_lockup", 11), ("rcu_stall", 6), ("soft_lockup", 3)]
    hard = next(f for f in found if f["kind"] == "hard_lockup")
    assert hard["log_frames"] == ["native_queued_spin_lock_slowpath", "_raw_spin_lock"]


# -- the corpus -------------------------------------------------------------------------------

PS_LINE = re.compile(r"^[> ]\s*(\d+)\s+\d+\s+\d+\s+([0-9a-f]+)\s+(\w\w)\s")


def params(hung_only: bool):
    found = []
    for case in cases():
        if hung_only and case.manifest.get("scenario") != "hung":
            continue
        if case.reference("ps") is None:
            continue
        for mode in ("dump only", "vmlinux"):
            if mode == "vmlinux" and not os.path.exists(case.vmlinux):
                continue
            found.append(pytest.param(case, mode, id=f"{case.name}-{mode.replace(' ', '-')}"))
    return found


def hang_report(case, mode: str, dump=None):
    options = ("--vmlinux", case.vmlinux) if mode == "vmlinux" else ()
    return json.loads(cli_output("hang", case.path(dump or case.reference_dump), "--json", *options))


def crash_ps(case):
    """{pid: (task address, state)} of crash's ps."""
    found = {}
    for line in case.reference("ps").splitlines():
        match = PS_LINE.match(line)
        if match:
            found[int(match.group(1))] = (int(match.group(2), 16), match.group(3))
    return found


@pytest.mark.parametrize("case,mode", params(hung_only=False))
def test_every_d_state_task_of_crash_ps_is_listed(case, mode):
    ps = crash_ps(case)
    report = hang_report(case, mode)
    assert {e["pid"] for e in report["tasks"] if e["state"] == "UN"} == \
        {pid for pid, (_, state) in ps.items() if state == "UN"}
    for entry in report["tasks"]:
        assert ps[entry["pid"]] == (entry["task"], entry["state"])


def guest_blocked(case):
    """{pid: (comm, [function, ...])} of the guest's own listing of its D-state tasks."""
    found, pid = {}, None
    for line in case.guest_view("blocked").splitlines():
        if line.startswith("PID "):
            _, number, comm = line.split(" ", 2)
            pid = int(number)
            found[pid] = (comm, [])
        else:
            found[pid][1].append(re.match(r"\[<\w+>\] ([\w.]+)\+", line).group(1))
    return found


def crash_frames(case, pid: int):
    text = case.reference("foreach bt")
    block = re.search(rf"^PID: {pid} .*?(?=^PID: |\Z)", text, re.M | re.S).group(0)
    return re.findall(r"^\s*#\d+ \[\w+\] (\S+) at ", block, re.M)


@pytest.mark.parametrize("case,mode", params(hung_only=True))
def test_the_blocked_tasks_are_the_guests_with_its_frames_and_crashs(case, mode):
    guest = guest_blocked(case)
    report = hang_report(case, mode)
    tasks = {e["pid"]: e for e in report["tasks"]}
    assert set(tasks) == set(guest)
    for pid, (comm, functions) in guest.items():
        frames = tasks[pid]["wait"]["frames"]
        assert tasks[pid]["comm"] == comm
        # /proc/PID/stack leaves out the scheduler's and the lock slow paths' frames (__sched text).
        names = [f.split(".")[0] for f in frames]
        assert is_subsequence(functions, names)
        assert all(name in hung.SCHEDULER_FUNCTIONS or name in hung.BLOCKING_FUNCTIONS
                   for name in names if name not in functions)
        crash = crash_frames(case, pid)
        if case.manifest["kernel_release"].startswith("7."):
            # crash 9.0.2 on 7.2 walks on past do_syscall_64 into stale return addresses of an
            # earlier page fault (filemap_map_pages, do_fault, ...); the guest's /proc/PID/stack,
            # checked above, ends at do_syscall_64 < entry_SYSCALL_64_after_hwframe as ours does.
            syscall = frames.index("do_syscall_64") + 1
            assert crash[:syscall] == frames[:syscall] and crash != frames
        else:
            assert frames == crash
    assert report["settings"]["timeout_secs"] == 5 and report["settings"]["panic"] == 1
    assert {e["reported_secs"] for e in tasks.values()} == {5}
    # khungtaskd reported them: it had seen each blocked for the timeout at least.
    assert all(e["watchdog_secs"] >= 5 for e in tasks.values())
    assert report["panic_task"]["comm"] == "khungtaskd"


@pytest.mark.parametrize("case,mode", params(hung_only=True))
def test_the_chain_runs_from_the_f_pos_lock_to_the_frozen_mount(case, mode):
    guest = {comm: pid for pid, (comm, _) in guest_blocked(case).items()}
    writer, behind = guest["frozenwriter"], guest["poswriter"]
    ps = crash_ps(case)
    report = hang_report(case, mode)
    tasks = {e["pid"]: e for e in report["tasks"]}
    mutex = tasks[behind]
    # 6.1 calls it __fdget_pos; 6.12 inlines that into fdget_pos.
    assert mutex["wait"]["kind"] == "mutex" and mutex["wait"]["caller"] in ("fdget_pos", "__fdget_pos")
    assert mutex["owner"]["task"] == ps[writer][0]
    assert (mutex["lock_object"]["object"], mutex["lock_object"]["member"], mutex["lock_object"]["path"]) == \
        ("file", "f_pos_lock", "/mnt/pycore-file")
    frozen = tasks[writer]
    assert frozen["wait"]["kind"] == "percpu_rw_semaphore" and frozen["owner"] is None
    mount = next(line.split() for line in case.guest_view("mounts").splitlines() if " /mnt " in line)
    described = frozen["lock_object"]
    assert (described["source"], described["mountpoint"], described["fstype"]) == tuple(mount[:3])
    # The freeze holders' counts are 6.6+ (freeze_kcount, freeze_ucount).
    assert (described["call"], described["frozen_name"], described.get("freeze_count_user", 1)) == \
        ("sb_start_write", "SB_FREEZE_COMPLETE", 1)
    assert [(c["tasks"], c["cycle"]) for c in report["chains"]] == [([behind, writer], [])]
    assert report["signature"] == "task hung in sb_start_write"


@pytest.mark.parametrize("case,mode", params(hung_only=True)[:1])
def test_every_dump_of_the_case_tells_the_same_hang(case, mode):
    reports = [hang_report(case, mode, dump["name"]) for dump in case.dumps() if dump["format"] != "flattened"]
    assert len(reports) >= 2
    assert all(r["chains"] == reports[0]["chains"] for r in reports)


@pytest.mark.parametrize("case,mode", params(hung_only=True))
def test_the_locks_list_their_waiters_and_the_freeze_blocks_readers(case, mode):
    from pycore.program import open as open_program

    guest = {comm: pid for pid, (comm, _) in guest_blocked(case).items()}
    ps = crash_ps(case)
    report = hang_report(case, mode)
    tasks = {e["pid"]: e for e in report["tasks"]}
    prog = open_program(case.path(case.reference_dump), vmlinux=case.vmlinux if mode == "vmlinux" else None)
    try:
        mutex = Object(prog, prog.type("struct mutex *"), tasks[guest["poswriter"]]["wait"]["lock"])
        assert [w.task for w in locking.mutex_waiters(mutex)] == [ps[guest["poswriter"]][0]]
        assert locking.mutex_owner(mutex) == ps[guest["frozenwriter"]][0]
        sem = Object(prog, prog.type("struct percpu_rw_semaphore *"), tasks[guest["frozenwriter"]]["wait"]["lock"])
        assert locking.percpu_rwsem_blocked(sem) and locking.percpu_rwsem_writer(sem) == 0
        assert [(w.task, w.write, w.wake_function) for w in locking.percpu_rwsem_waiters(sem)] == \
            [(ps[guest["frozenwriter"]][0], False, "percpu_rwsem_wake_function")]
    finally:
        prog.close()


@pytest.mark.parametrize("case", [c for c in cases() if c.manifest.get("scenario") == "hung"], ids=lambda c: c.name)
def test_triage_signs_a_hung_task_panic_by_its_root_wait_not_khungtaskd(case):
    from pycore.analysis.triage_analyze import analyze_crash
    from pycore.analysis.triage_discover import CrashSource

    # The full ELF: makedumpfile 1.7.8's -d 31 drops pages of 7.2's task_structs in multi-page slabs (a
    # known gap of 7.2, tests/crash_reference.py): some tasks' waits cannot be read there.
    result = analyze_crash(CrashSource(case.name, vmcore=case.path(case.reference_dump)))
    assert result.errors == []
    assert result.reason == "hung_task: blocked tasks"
    assert result.title == "INFO: task hung in sb_start_write"
    # The key is the chain's root: a read of the freeze protection of a frozen ext4 (not the writer
    # queued behind the f_pos_lock its holder keeps, nor the frames of either).
    assert result.signature_source == "hang"
    assert result.signature == "hung_task: blocked tasks @ percpu_rw_semaphore sb_start_write on ext4 (frozen)"
    # khungtaskd's own stack stays the crash's backtrace; only the grouping key changed.
    assert any(frame.startswith("watchdog") for frame in result.backtrace)


@pytest.mark.parametrize("case", [c for c in cases() if c.name == "7.2-hung-l4"], ids=lambda c: c.name)
def test_tasks_whose_pages_the_filter_dropped_are_named_not_silently_skipped(case):
    """makedumpfile 1.7.8's -d 31 drops pages of 7.x's task_structs and signal_structs: the task list
    is read whole around them (sched.for_each_thread), and each task whose wait cannot be read is
    named on stderr: the answer is marked partial."""
    from corpus import pycore_output

    result = pycore_output("hang", case.path("vmcore-guest.kdump-zstd"), "--json")
    report = json.loads(result.out)
    # Every task of the whole crash (ps of the full ELF, held to crash's) but the other CPUs' idle tasks.
    whole = pycore_output("ps", case.path(case.reference_dump)).out.rstrip("\n").splitlines()[1:]
    other_idle = sum(1 for line in whole if line.split()[-1].startswith("[swapper/")) - 1
    assert result.status == 0 and report["partial"] and report["tasks_read"] == len(whole) - other_idle
    assert "partial: task 0x" in result.err
    assert "its wait could not be read: unreadable (page excluded from the dump" in result.err


# -- made-up waiter records on made-up stacks ----------------------------------------------------

STACK_SIZE = 0x4000


class _WordReader:
    """The two things the stack scan asks the unwinder: a word of memory, and whether an address is text."""

    def __init__(self, prog):
        self.prog = prog

    def read_word(self, address):
        try:
            return int.from_bytes(self.prog.read(address, 8), "little")
        except FaultError:  # outside the made-up memory: the dump "cannot say", as read_word's None
            return None

    def is_kernel_text(self, address):
        return False


def stacks_program(first_waiter: bool):
    """Two tasks queued on one rw_semaphore, each waiter record on its own task's stack."""
    prog = lock_program()
    prog.memory = bytearray(0x20000)
    types = prog.types.types
    types[("struct", "task_struct")] = struct_type("task_struct", 16, [
        Member("__state", int_type("unsigned int", 4, False), 0), Member("stack", pointer_type(void_type()), 64)])
    types[("struct", "wait_queue_entry")] = struct_type("wait_queue_entry", 40, [
        Member("flags", int_type("unsigned int", 4, False), 0), Member("private", pointer_type(void_type()), 64),
        Member("func", pointer_type(void_type()), 128), Member("entry", types[("struct", "list_head")], 192)])
    types[("struct", "wait_queue_head")] = struct_type("wait_queue_head", 24, [
        Member("lock", int_type("int", 4, True), 0), Member("head", types[("struct", "list_head")], 64)])
    if first_waiter:
        rwsem = types[("struct", "rw_semaphore")]
        types[("struct", "rw_semaphore")] = struct_type("rw_semaphore", 32, [
            rwsem.member("count"), rwsem.member("owner"),
            Member("first_waiter", pointer_type(types[("struct", "rwsem_waiter")]), 192)])
    lock, stacks = BASE + 0x100, [BASE + 0x8000, BASE + 0xC000]
    records = [base + 0x3000 for base in stacks]
    for task, base, record in zip(TASKS, stacks, records):
        prog.put(task + 8, base)
        prog.put(record + 16, task, 0)
        prog.put(base + 0x3100, lock)  # the lock pointer the slow path spilled
    if first_waiter:
        prog.put(lock + 24, records[0])
        ring(prog, records[0], records[1:])
    else:
        ring(prog, lock + 24, records)
    return prog, lock, stacks, records


@pytest.mark.parametrize("first_waiter", [False, True], ids=["wait_list", "first_waiter"])
def test_the_waiter_record_on_the_stack_names_the_lock(first_waiter):
    prog, lock, stacks, records = stacks_program(first_waiter)
    for task, base, record in zip(TASKS, stacks, records):
        stack = hung._Stack(prog, _WordReader(prog), task, base, base + 0x2000)
        queue, found, wake, record_found = hung._find_record(stack, "rw_semaphore")
        assert (queue, found, wake, record_found) == ((None if first_waiter else lock + 24), lock, None, record)
    waiters = locking.rwsem_waiters(Object(prog, "struct rw_semaphore *", lock))
    assert [(w.task, w.write) for w in waiters] == [(TASKS[0], True), (TASKS[1], True)]


def test_a_record_no_longer_on_a_list_names_no_lock():
    prog, lock, stacks, records = stacks_program(False)
    prog.put(records[1], 0, 0)  # list_del_init-ed: woken, about to run
    stack = hung._Stack(prog, _WordReader(prog), TASKS[1], stacks[1], stacks[1] + 0x2000)
    assert hung._find_record(stack, "rw_semaphore") == (None, None, None, None)


def test_the_text_lists_each_task_its_lock_owner_chain_and_lockup():
    from pycore.cli.hang import render

    tasks = [blocked(2, "mutex", owner=1),
             blocked(1, "percpu_rw_semaphore", lock_object=FROZEN, function="__percpu_down_read", caller="vfs_write")]
    tasks[1]["wait"]["write"] = False
    # The mutex's queue: the listed waiter by PID, one that is not listed by its task address.
    tasks[0]["lock_details"] = {"waiters": [{"task": 0x2000, "write": False}, {"task": 0x7777, "write": False}]}
    chains = hang.wait_graph(tasks)
    text, frames, summary = hang.signature(tasks, chains)
    lockup = {"kind": "soft_lockup", "title": "BUG: soft lockup in spin_loop", "reports": 2, "cpu": 1,
              "task": "spinner:9", "log_frames": ["spin_loop", "kthread"], "dump_task": None, "dump_frames": [],
              "repeating_frames": []}
    result = {"settings": {"timeout_secs": 5, "panic": 1, "check_interval_secs": 0},
              "panic_task": {"task": 0x9000, "pid": 9, "comm": "khungtaskd", "state": "RU"}, "tasks_read": 3,
              "partial": False, "tasks": tasks, "chains": chains, "signature": text, "signature_frames": frames,
              "summary": summary, "lockups": [lockup], "warnings": []}
    lines = render(result, None).splitlines()
    assert lines[:4] == ["HUNG TASK TIMEOUT: 5s  hung_task_panic: 1", "PANIC TASK: khungtaskd (pid 9)",
                         f"SUMMARY: {chains[0]['explanation']}",
                         "LOCKUP: BUG: soft lockup in spin_loop (CPU 1, 2 reports, task spinner:9)"]
    assert "        waits for: mutex ffff0002 in __mutex_lock from do_it" in lines
    assert "        owner:     t1 (pid 1, UN, task 1000)" in lines
    assert "        lock:      queued: pid 2, task 7777" in lines
    assert "        waits for: percpu_rw_semaphore ffff0001 (read) in __percpu_down_read from vfs_write" in lines
    assert "  1. 2 -> 1" in lines and lines[-1] == "SIGNATURE: task hung in sb_start_write"
    result["signature_key"] = hang.signature_key(tasks, chains)
    assert render(result, None).splitlines()[-2:] == ["SIGNATURE: task hung in sb_start_write",
                                                      "GROUPED BY: percpu_rw_semaphore sb_start_write on ext4 (frozen)"]
