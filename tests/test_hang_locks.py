"""pycore hang on the corpus's locks cases, 6.1 and 7.2 (testdata/corpus/modules/pycore_locks.c): the
ABBA mutex deadlock named as a cycle with both mutexes and their owners, the rwsem reader queued behind
the writer asleep with it held, the soft lockup's spinning task, CPU and loop, and triage's signature of
that panic; checked against the guest's own listing of its blocked tasks, crash's ps, foreach bt, bt -a
and sym, the kernel's own soft lockup report and the compiled module's symbol table.  crash 9.0.2 runs
with --no_modules on 7.2 and so names no module symbol there: the guest's listing and the kernel's report
decide.  Skipped where a case is not built."""
import json
import os
import re

import pytest

from pycore.analysis import hang

from conftest import is_subsequence
from corpus import CACHE, cases, cli_output
from test_hang import crash_frames, crash_ps, guest_blocked, hang_report, params

LOCKS = [p for p in params(hung_only=False) if p.values[0].manifest.get("scenario") == "locks"]
LOCK_CASES = [c for c in cases() if c.manifest.get("scenario") == "locks"]
def pids(case):
    """{comm: pid} of the module's kthreads, from the guest's listing of its D-state tasks."""
    return {comm: pid for pid, (comm, _) in guest_blocked(case).items()}


def crash_knows_modules(case) -> bool:
    """Whether crash read the modules' symbols: not with --no_modules (crash 9.0.2 on 7.2, which does not
    start without it), where it names no module address and leaves module text out of its backtraces."""
    return "--no_modules" not in case.manifest.get("crash_options", [])


def guest_module_functions(case):
    """The functions the guest's listing of its blocked tasks places in a module ("[pycore_locks]")."""
    return set(re.findall(r"^\[<\w+>\] ([\w.]+)\+\S+ \[\w+\]$", case.guest_view("blocked"), re.M))


def crash_symbols(case):
    """{name: address} of crash's sym of the module's locks (None where the case predates the recording
    or crash knows no module symbols)."""
    text = case.reference("sym pycore_mutex_a pycore_mutex_b pycore_rwsem")
    if text is None or not crash_knows_modules(case):
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
    # The soft lockup panicked the machine: it leads the report's signature, as triage signs the panic
    # (test_triage_signs_the_soft_lockup_by_the_spinning_loop_not_the_watchdog); the deadlock is a chain.
    assert report["cause"] == "soft_lockup" and report["signature"] == "soft lockup in pycore_spin_loop"
    assert report["signature_frames"][:2] == ["pycore_spin_loop", "pycore_spin_thread"]
    assert hang.signature(report["tasks"], report["chains"])[:2] == ("deadlock in __mutex_lock",
                                                                     ["__mutex_lock", "pycore_abba_thread"])


def compiled_lock_offsets(case):
    """{name: offset from pycore_mutex_a} of the module's locks, from the symbol table of the
    pycore_locks.ko testdata/corpus/fetch.py built for the case's kernel (None where its cache is absent):
    the three share the module's .data section, so the module's loaded addresses keep these distances."""
    path = os.path.join(CACHE, "downloads", "test-modules", case.manifest["kernel_release"], "pycore_locks.ko")
    if not os.path.exists(path):
        return None
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        symbols = ELFFile(f).get_section_by_name(".symtab").iter_symbols()
        found = {s.name: (s["st_shndx"], s["st_value"]) for s in symbols
                 if s.name in ("pycore_mutex_a", "pycore_mutex_b", "pycore_rwsem")}
    assert len({section for section, _ in found.values()}) == 1
    return {name: value - found["pycore_mutex_a"][1] for name, (_, value) in found.items()}


@pytest.mark.parametrize("case,mode", LOCKS)
def test_the_locks_are_named_where_the_compiled_module_lays_them_out(case, mode):
    offsets = compiled_lock_offsets(case)
    if offsets is None:
        pytest.skip("the case's pycore_locks.ko is not in the download cache")
    report = hang_report(case, mode)
    named = {e["lock_object"]["name"]: e["wait"]["lock"] for e in report["tasks"]
             if (e.get("lock_object") or {}).get("module") == "pycore_locks"}
    assert {name: address - named["pycore_mutex_a"] for name, address in named.items()} == offsets


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
    in_module = guest_module_functions(case)
    assert in_module == {"pycore_abba_thread", "pycore_rwsem_writer", "pycore_rwsem_reader"}
    for pid, (comm, functions) in guest_blocked(case).items():
        frames = tasks[pid]["wait"]["frames"]
        assert tasks[pid]["comm"] == comm
        # /proc/PID/stack leaves out the scheduler's and the lock slow paths' (__sched) frames.
        assert is_subsequence(functions, [f.split(".")[0] for f in frames])
        if crash_knows_modules(case):
            assert frames == crash_frames(case, pid)
        else:
            # crash --no_modules does not take module text for text: the module's frames are missing.
            assert [f for f in frames if f not in in_module] == crash_frames(case, pid)
    # The hung-task watchdog is on (120 s) but does not panic; it had not seen them long enough to report.
    assert report["settings"]["timeout_secs"] == 120 and report["settings"]["panic"] == 0
    assert all(tasks[pid]["reported_secs"] is None for pid in guest_blocked(case))


def crash_panic_block(case):
    """crash's bt -a of the CPU that panicked: (pid, comm, the exception RIP in the task's context as crash
    names it, without the offset, and its address)."""
    text = case.reference("bt -a")
    for block in re.split(r"\n(?=PID: )", text):
        head = re.match(r'PID: (\d+) .*COMMAND: "([^"]+)"', block)
        rips = re.findall(r"\[exception RIP: ([^+\]]+)(?:\+\w+)?\]\n\s+RIP: ([0-9a-f]+)", block)
        if head and rips:
            return int(head.group(1)), head.group(2), rips[-1][0], int(rips[-1][1], 16)
    return None


def kthread_entry(case):
    """The frames a kthread's stack ends with (kthread and the fork return path, which 6.6+ splits
    into ret_from_fork and ret_from_fork_asm), from the guest's listing of its blocked kthreads."""
    (entry,) = {tuple(functions[functions.index("kthread"):]) for _, functions in guest_blocked(case).values()}
    return list(entry)


@pytest.mark.parametrize("case,mode", LOCKS)
def test_the_soft_lockup_names_the_spinning_kthread_its_cpu_and_its_loop(case, mode):
    report = hang_report(case, mode)
    (lockup,) = report["lockups"]
    pid, comm, rip, rip_address = crash_panic_block(case)
    assert (pid, comm) == (report["panic_task"]["pid"], "pycore_spin")
    dump_options = ("--vmlinux", case.vmlinux) if mode == "vmlinux" else ()
    if crash_knows_modules(case):
        assert rip == "pycore_spin_loop"
    else:
        # crash cannot name module text; the kernel's own report names the interrupted function, and
        # pycore names crash's exception RIP so.
        assert rip == "no symbolic reference"
        assert re.search(r"^\[ *[\d.]+\] RIP: 0010:pycore_spin_loop\+0x\w+/0x\w+ \[pycore_locks\]$",
                         case.reference("log"), re.M)
        assert cli_output("sym", case.path(case.reference_dump), f"{rip_address:x}", *dump_options).startswith(
            f"{rip_address:x} (t) pycore_spin_loop+")
    # Bound to the last CPU; the report names it and the task, and the dump finds that task there.
    assert (lockup["kind"], lockup["cpu"], lockup["task"]) == \
        ("soft_lockup", case.manifest["guest_cpus"] - 1, f"pycore_spin:{pid}")
    assert lockup["title"] == "BUG: soft lockup in pycore_spin_loop"
    assert (lockup["dump_task"]["pid"], lockup["dump_task"]["comm"]) == (pid, "pycore_spin")
    # The loop's frames, from the report and still on the stack, not the watchdog's timer interrupt.
    looping = ["pycore_spin_loop", "pycore_spin_thread", *kthread_entry(case)]
    assert lockup["repeating_frames"] == looping
    assert lockup["dump_frames"][-len(looping):] == looping
    text = cli_output("hang", case.path(case.reference_dump), *dump_options)
    assert (f"LOCKUP: BUG: soft lockup in pycore_spin_loop (CPU {lockup['cpu']}, 1 report, task pycore_spin:{pid})"
            in text.splitlines())
    assert f"        still looping in: {' < '.join(looping)}" in text
    # A task that flushes per-CPU work (lru_add_drain_all's, when khugepaged happened to run then) waits
    # for the spinning CPU's workers: its chain says so.
    chains = {c["root"]: c for c in report["chains"]}
    for entry in report["tasks"]:
        if entry["flush"] and entry["flush"]["cpu"] == lockup["cpu"]:
            assert chains[entry["pid"]]["explanation"].endswith(
                f"and CPU {lockup['cpu']} is stuck in a soft lockup looping in pycore_spin (pid {pid}): its workers "
                f"cannot run.")


@pytest.mark.parametrize("case,mode", LOCKS)
def test_the_spinning_cpus_stack_starts_in_the_watchdogs_timer_interrupt(case, mode):
    (lockup,) = hang_report(case, mode)["lockups"]
    assert "watchdog_timer_fn.cold" in lockup["dump_frames"]


# makedumpfile 1.7.8's -d 31 drops pages of 7.x's task_structs in multi-page slabs: there some tasks' waits
# cannot be read (tests/test_hang.py test_tasks_whose_pages_the_filter_dropped_are_named_not_silently_skipped).
@pytest.mark.parametrize("case,mode", [p for p in LOCKS if p.values[1] == "dump only"
                                       and not p.values[0].manifest["kernel_release"].startswith("7.")])
def test_the_filtered_dump_tells_the_same_hang(case, mode):
    reports = [hang_report(case, mode, dump["name"]) for dump in case.dumps() if dump["format"] != "flattened"]
    assert len(reports) >= 2
    assert all(r["chains"] == reports[0]["chains"] for r in reports)
    assert all(r["lockups"] == reports[0]["lockups"] for r in reports)


@pytest.mark.parametrize("case", LOCK_CASES, ids=lambda c: c.name)
def test_triage_signs_the_soft_lockup_by_the_spinning_loop_not_the_watchdog(case):
    from pycore.analysis.crash_report import crash_signature
    from pycore.analysis.triage_analyze import analyze_crash
    from pycore.analysis.triage_discover import CrashSource

    result = analyze_crash(CrashSource(case.name, vmcore=case.path(case.reference_dump)))
    assert result.errors == []
    assert result.title == "BUG: soft lockup in pycore_spin_loop"
    assert result.signature_frames == ["pycore_spin_loop", "pycore_spin_thread", "kthread"]
    # The CPU number and the seconds stuck vary from crash to crash: not part of the grouping key.
    assert result.signature == ("watchdog: BUG: soft lockup - CPU#N stuck for Ns! [pycore_spin] @ "
                                "pycore_spin_loop|pycore_spin_thread|kthread")
    # pycore hang's signature frames give the same key.
    report = json.loads(cli_output("hang", case.path(case.reference_dump), "--json"))
    assert crash_signature(result.reason, report["signature_frames"]) == (result.signature, result.signature_frames)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in LOCK_CASES])
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
