"""pycore hang on the corpus's locks case (testdata/corpus/modules/pycore_locks.c): the ABBA mutex
deadlock named as a cycle with both mutexes and their owners, the rwsem reader queued behind the writer
asleep with it held, the soft lockup's spinning task, CPU and loop, and triage's signature of that
panic; checked against the guest's own listing of its blocked tasks, crash's ps, foreach bt, bt -a and
sym.  Skipped where the case is not built."""
import json
import re

import pytest

from conftest import is_subsequence
from corpus import cases, cli_output
from test_hang import crash_frames, crash_ps, guest_blocked, hang_report, params

LOCKS = [p for p in params(hung_only=False) if p.values[0].manifest.get("scenario") == "locks"]
LOCK_CASES = [c for c in cases() if c.manifest.get("scenario") == "locks"]


def pids(case):
    """{comm: pid} of the module's kthreads, from the guest's listing of its D-state tasks."""
    return {comm: pid for pid, (comm, _) in guest_blocked(case).items()}


def crash_symbols(case):
    """{name: address} of crash's sym of the module's locks (None where the case predates the recording)."""
    text = case.reference("sym pycore_mutex_a pycore_mutex_b pycore_rwsem")
    if text is None:
        return None
    return {m.group(2): int(m.group(1), 16) for m in re.finditer(r"^([0-9a-f]+) \(.\) (\w+) \[pycore_locks\]$",
                                                                  text, re.M)}


@pytest.mark.parametrize("case,mode", LOCKS)
def test_the_abba_threads_deadlock_on_the_two_named_mutexes(case, mode):
    comm = pids(case)
    a, b = comm["pycore_abba_a"], comm["pycore_abba_b"]
    ps = crash_ps(case)
    report = hang_report(case, mode)
    tasks = {e["pid"]: e for e in report["tasks"]}
    symbols = crash_symbols(case)
    # pycore_abba_a took pycore_mutex_a and waits for pycore_mutex_b; pycore_abba_b the other way round.
    for waiter, holder, wanted in ((a, b, "pycore_mutex_b"), (b, a, "pycore_mutex_a")):
        entry = tasks[waiter]
        assert (entry["state"], entry["wait"]["kind"], entry["wait"]["caller"]) == ("UN", "mutex", "pycore_abba_thread")
        assert entry["lock_object"] == {"object": "variable", "name": wanted, "offset": 0, "module": "pycore_locks"}
        # mutex.owner names the holder: crash's task address of the other thread.
        assert entry["owner"]["task"] == ps[holder][0] and entry["owner"]["pid"] == holder
        assert entry["lock_details"]["waiters"] == [{"task": ps[waiter][0], "write": False}]
        if symbols is not None:
            assert entry["wait"]["lock"] == symbols[wanted]
    (cycle,) = [c for c in report["chains"] if c["cycle"]]
    assert sorted(cycle["cycle"]) == sorted([a, b])
    first, second = (a, b) if cycle["cycle"][0] == a else (b, a)
    names = {a: "pycore_abba_a", b: "pycore_abba_b"}
    assert cycle["explanation"].startswith(
        f"{names[first]} (pid {first}) and {names[second]} (pid {second}) deadlock: each holds the mutex the other "
        f"waits for, and neither can go on. ")
    assert "the mutex pycore_mutex_a (module pycore_locks)" in cycle["explanation"]
    assert "the mutex pycore_mutex_b (module pycore_locks)" in cycle["explanation"]
    assert report["signature"] == "deadlock in __mutex_lock"
    assert report["signature_frames"] == ["__mutex_lock", "pycore_abba_thread"]


@pytest.mark.parametrize("case,mode", LOCKS)
def test_the_rwsem_reader_waits_behind_the_writer_asleep_with_it(case, mode):
    comm = pids(case)
    writer, reader = comm["pycore_rwsem_w"], comm["pycore_rwsem_r"]
    ps = crash_ps(case)
    report = hang_report(case, mode)
    tasks = {e["pid"]: e for e in report["tasks"]}
    waiting = tasks[reader]
    assert (waiting["wait"]["kind"], waiting["wait"]["write"], waiting["wait"]["function"]) == \
        ("rw_semaphore", False, "down_read")
    assert waiting["lock_object"]["name"] == "pycore_rwsem"
    symbols = crash_symbols(case)
    if symbols is not None:
        assert waiting["wait"]["lock"] == symbols["pycore_rwsem"]
    # rw_semaphore.owner is the writer; count has the writer bit and no readers; the reader is queued.
    assert waiting["owner"]["task"] == ps[writer][0]
    details = waiting["lock_details"]
    assert (details["writer_locked"], details["readers"], details["reader_owned"]) == (True, 0, False)
    assert details["waiters"] == [{"task": ps[reader][0], "write": False}]
    sleeping = tasks[writer]
    assert (sleeping["wait"]["kind"], sleeping["wait"]["function"], sleeping["wait"]["caller"]) == \
        ("sleep", "msleep", "pycore_rwsem_writer")
    assert "schedule_timeout" in sleeping["wait"]["frames"]
    (chain,) = [c for c in report["chains"] if c["tasks"][0] == reader]
    assert (chain["tasks"], chain["cycle"]) == ([reader, writer], [])
    assert chain["explanation"] == (
        f"pycore_rwsem_r (pid {reader}) waits for read access to the rw_semaphore pycore_rwsem (module pycore_locks), "
        f"held for writing by pycore_rwsem_w (pid {writer}); pycore_rwsem_w (pid {writer}) holds it and sleeps in "
        f"msleep (called from pycore_rwsem_writer), a timed sleep (schedule_timeout), waiting for no lock: it "
        f"releases the rw_semaphore only when it wakes and goes on.")


@pytest.mark.parametrize("case,mode", LOCKS)
def test_the_blocked_kthreads_have_the_guests_frames_and_crashs(case, mode):
    report = hang_report(case, mode)
    tasks = {e["pid"]: e for e in report["tasks"]}
    for pid, (comm, functions) in guest_blocked(case).items():
        frames = tasks[pid]["wait"]["frames"]
        assert tasks[pid]["comm"] == comm
        # /proc/PID/stack leaves out the scheduler's and the lock slow paths' (__sched) frames.
        assert is_subsequence(functions, [f.split(".")[0] for f in frames])
        assert frames == crash_frames(case, pid)
    # The hung-task watchdog is on (120 s) but does not panic; it had not seen them long enough to report.
    assert report["settings"]["timeout_secs"] == 120 and report["settings"]["panic"] == 0
    assert all(tasks[pid]["reported_secs"] is None for pid in guest_blocked(case))


def crash_panic_block(case):
    """crash's bt -a of the CPU that panicked: (pid, comm, the exception RIP's function in the task's context)."""
    text = case.reference("bt -a")
    for block in re.split(r"\n(?=PID: )", text):
        head = re.match(r'PID: (\d+) .*COMMAND: "([^"]+)"', block)
        rips = re.findall(r"\[exception RIP: (\w+)\+", block)
        if head and rips:
            return int(head.group(1)), head.group(2), rips[-1]
    return None


@pytest.mark.parametrize("case,mode", LOCKS)
def test_the_soft_lockup_names_the_spinning_kthread_its_cpu_and_its_loop(case, mode):
    report = hang_report(case, mode)
    (lockup,) = report["lockups"]
    pid, comm, rip = crash_panic_block(case)
    assert (pid, comm, rip) == (report["panic_task"]["pid"], "pycore_spin", "pycore_spin_loop")
    # Bound to the last CPU; the report names it and the task, and the dump finds that task there.
    assert (lockup["kind"], lockup["cpu"], lockup["task"]) == \
        ("soft_lockup", case.manifest["guest_cpus"] - 1, f"pycore_spin:{pid}")
    assert lockup["title"] == "BUG: soft lockup in pycore_spin_loop"
    assert (lockup["dump_task"]["pid"], lockup["dump_task"]["comm"]) == (pid, "pycore_spin")
    # The loop's frames, from the report and still on the stack, not the watchdog's timer interrupt.
    assert lockup["repeating_frames"] == ["pycore_spin_loop", "pycore_spin_thread", "kthread", "ret_from_fork"]
    assert lockup["dump_frames"][-4:] == lockup["repeating_frames"]
    assert "watchdog_timer_fn.cold" in lockup["dump_frames"]
    text = cli_output("hang", case.path(case.reference_dump),
                      *(("--vmlinux", case.vmlinux) if mode == "vmlinux" else ()))
    assert (f"LOCKUP: BUG: soft lockup in pycore_spin_loop (CPU {lockup['cpu']}, 1 report, task pycore_spin:{pid})"
            in text.splitlines())
    assert "        still looping in: pycore_spin_loop < pycore_spin_thread < kthread < ret_from_fork" in text
    # A task that flushes per-CPU work (lru_add_drain_all's, when khugepaged happened to run then) waits
    # for the spinning CPU's workers: its chain says so.
    chains = {c["root"]: c for c in report["chains"]}
    for entry in report["tasks"]:
        if entry["flush"] and entry["flush"]["cpu"] == lockup["cpu"]:
            assert chains[entry["pid"]]["explanation"].endswith(
                f"and CPU {lockup['cpu']} is stuck in a soft lockup looping in pycore_spin (pid {pid}): its workers "
                f"cannot run.")


@pytest.mark.parametrize("case,mode", LOCKS[:1])
def test_the_filtered_dump_tells_the_same_hang(case, mode):
    reports = [hang_report(case, mode, dump["name"]) for dump in case.dumps() if dump["format"] != "flattened"]
    assert len(reports) >= 2
    assert all(r["chains"] == reports[0]["chains"] for r in reports)
    assert all(r["lockups"] == reports[0]["lockups"] for r in reports)


@pytest.mark.parametrize("case", LOCK_CASES, ids=lambda c: c.name)
def test_triage_signs_the_soft_lockup_by_the_spinning_loop_not_the_watchdog(case):
    from pycore.analysis.triage_analyze import analyze_crash
    from pycore.analysis.triage_discover import CrashSource

    result = analyze_crash(CrashSource(case.name, vmcore=case.path(case.reference_dump)))
    assert result.errors == []
    assert result.title == "BUG: soft lockup in pycore_spin_loop"
    assert result.signature_frames == ["pycore_spin_loop", "pycore_spin_thread", "kthread"]
    # The CPU number and the seconds stuck vary from crash to crash: not part of the grouping key.
    assert result.signature == ("watchdog: BUG: soft lockup - CPU#N stuck for Ns! [pycore_spin] @ "
                                "pycore_spin_loop|pycore_spin_thread|kthread")


@pytest.mark.parametrize("case", LOCK_CASES, ids=lambda c: c.name)
def test_without_the_logs_trace_triage_signs_by_where_the_watchdog_interrupted(case, monkeypatch):
    from pycore.analysis import triage_analyze
    from pycore.analysis.triage_discover import CrashSource

    source = CrashSource(case.name, vmcore=case.path(case.reference_dump))
    from_log = triage_analyze.analyze_crash(source)
    # As if the log had lost the soft lockup's call trace: the unwinder's stack of the panicking CPU,
    # which starts in the watchdog's timer interrupt (__crash_kexec < panic < watchdog_timer_fn ...)
    # and has the loop only as the interrupted registers' RIP, not as a return address.
    monkeypatch.setattr(triage_analyze, "BACKTRACE_SOURCES", [triage_analyze._unwound_backtrace])
    result = triage_analyze.analyze_crash(source)
    assert result.errors == [] and result.backtrace_source == "unwinder"
    assert any(frame.startswith("watchdog_timer_fn") for frame in result.backtrace)
    assert not any(frame.startswith("pycore_spin_loop") for frame in result.backtrace)
    # The same group as with the log's trace.
    assert result.signature_frames == ["pycore_spin_loop", "pycore_spin_thread", "kthread"]
    assert result.signature == from_log.signature


@pytest.mark.parametrize("case", LOCK_CASES, ids=lambda c: c.name)
def test_the_json_and_the_text_name_the_same_chains(case):
    report = json.loads(cli_output("hang", case.path(case.reference_dump), "--json"))
    text = cli_output("hang", case.path(case.reference_dump))
    for chain in report["chains"]:
        assert f"     {chain['explanation']}" in text.splitlines()
