"""triage over the corpus's hang cases (testdata/corpus/scenarios: hung, locks, rcu, io on 6.1, 6.12 and
7.2): each crash is keyed by its hang report's wait chain (pycore.analysis.hang.signature_key), not by
khungtaskd's or the stall detector's stack, so one scenario on several kernels (other pids, addresses
and timings) is one group, and different scenarios are different groups.  Skips without the corpus."""
import os

import pytest

from pycore.analysis.triage import triage
from pycore.cli.triage import render_text

from corpus import cases
from test_hang import hang_report

# The key each scenario's crash is grouped by, and why:
# - hung: ext4 frozen by FIFREEZE, hung_task_panic: frozenwriter waits in sb_start_write for the frozen
#   filesystem (the root), poswriter is queued behind the f_pos_lock frozenwriter keeps: only the root
#   is the key, since the tasks queued behind it vary from crash to crash.
# - io: null_blk requests that end only after 180 s, hung_task_panic: every blocked dd (the direct
#   reader, the writer waiting for writeback, the readers of a locked page) waits for a request in
#   flight on nullb0, so whichever the report leads with, the key is the disk and its driver.
# - locks: softlockup_panic: a kthread spinning with preemption disabled brought the machine down, so
#   its loop is the key (the ABBA deadlock and the rw_semaphore chain are in the report, not the cause).
# - rcu: panic_on_rcu_stall: CPU 0 loops holding the grace period (and a spinlock CPU 1 spins for):
#   the key is that loop, not the detector's timer interrupt on the CPU that noticed.
SCENARIO_KEYS = {
    "hung": "hung_task: blocked tasks @ percpu_rw_semaphore sb_start_write on ext4 (frozen)",
    "io": "hung_task: blocked tasks @ io on nullb0 (null_blk)",
    "locks": ("watchdog: BUG: soft lockup - CPU#N stuck for Ns! [pycore_spin] @ "
              "pycore_spin_loop|pycore_spin_thread|kthread"),
    "rcu": "RCU Stall @ pycore_stall_hold|pycore_stall_holder|kthread",
}
HANG_CASES = [case for case in cases() if case.manifest.get("scenario") in SCENARIO_KEYS]


@pytest.fixture(scope="module")
def hang_triage(tmp_path_factory):
    if not HANG_CASES:
        pytest.skip("no corpus hang case is built (bash testdata/corpus/build.sh)")
    root = tmp_path_factory.mktemp("hangs")
    for case in HANG_CASES:
        # The full ELF: makedumpfile's -d 31 drops 7.2's task_structs in multi-page slabs (a known
        # gap, tests/crash_reference.py), and a hang report without tasks has no chain to key by.
        os.mkdir(root / case.name)
        os.symlink(case.path(case.reference_dump), root / case.name / "vmcore")
    return triage([str(root)], jobs=2, timeout=300)


@pytest.mark.real
def test_one_group_per_scenario_whatever_the_kernel_keyed_by_its_wait_chain(hang_triage):
    expected = {}
    for case in HANG_CASES:
        expected.setdefault(SCENARIO_KEYS[case.manifest["scenario"]], set()).add(case.name)
    assert {group["signature"]: set(group["dumps"]) for group in hang_triage.groups} == expected
    for dump in hang_triage.dumps:
        assert (dump.errors, dump.signature_source) == ([], "hang"), dump.name


@pytest.mark.real
def test_the_key_is_not_the_watchdogs_stack_which_stays_the_backtrace(hang_triage):
    for dump in hang_triage.dumps:
        if "hung_task" in dump.reason:
            # khungtaskd's own stack is the panic's backtrace, the same for every hung-task panic.
            assert any(frame.startswith("watchdog") for frame in dump.backtrace)
        assert not {"watchdog", "watchdog_timer_fn", "rcu_sched_clock_irq"} & set(dump.signature_frames), dump.name


@pytest.mark.real
def test_the_text_shows_each_groups_key(hang_triage):
    text = render_text(hang_triage.to_dict()).splitlines()
    for group in hang_triage.groups:
        assert f"        {' | '.join(group['frames'])}" in text
    if any(case.manifest["scenario"] == "hung" for case in HANG_CASES):
        assert "        percpu_rw_semaphore sb_start_write on ext4 (frozen)" in text


@pytest.mark.real
@pytest.mark.parametrize("case", [case for case in HANG_CASES if os.path.exists(case.vmlinux)], ids=lambda c: c.name)
def test_the_key_is_the_same_with_the_vmlinux(case):
    # triage reads the dump alone (BTF and kallsyms); pycore hang with the vmlinux's DWARF must find
    # the same chain, or a fleet triaged with debug info would split one bug into two groups.
    assert hang_report(case, "vmlinux")["signature_key"] == hang_report(case, "dump only")["signature_key"]
