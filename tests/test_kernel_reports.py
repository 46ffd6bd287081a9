"""Every kind of report the kernel prints, from real logs (testdata/logs/reports, each naming its source
on its first line): found as exactly one event spanning the report, titled as syzbot titles it, cut
reports marked corrupted; other CPUs' lines and other programs kept out; a dump's log titled alike."""
from pathlib import Path
from typing import NamedTuple

import pytest

from pycore.analysis.logtext import LogRecord, is_elision, parse_log, read_log
from pycore.analysis.reports import REPORT_KINDS, is_blameless
from pycore.analysis.source import load_log
from pycore.analysis.trouble import find_trouble

from corpus import cases

REPORTS = Path(__file__).resolve().parent.parent / "testdata" / "logs" / "reports"
LOGS = REPORTS.parent


class E(NamedTuple):
    kind: str
    severity: str
    title: str
    first_line: int
    last_line: int
    corrupted: bool = False
    count: int = 1


SLEEPING = "BUG: sleeping function called from invalid context in "
NULL_DEREF = "BUG: unable to handle kernel NULL pointer dereference in "

#: Each fixture's events, in log order.
EXPECTED = {
    "divide-error-1.txt": [
        E("oops", "critical", "divide error in __tcp_select_window", 2, 18, corrupted=True),
    ],
    "gpf-1.txt": [
        E("oops", "critical", "general protection fault in nl802154_add_llsec_key", 2, 35),
    ],
    "hung-task-1.txt": [
        E("hung_task", "error", "INFO: task hung in iterate_bdevs", 2, 22),
    ],
    "hung-task-2.txt": [
        E("io_error", "error", "blk_update_request: I/O error, dev sde, sector 37125 op 0x0:(READ) flags 0x0 "
                          "phys_seg 1 prio class 0", 2, 2),
        E("raid_degraded", "error", "md/raid10:md0: Disk failure on sde, disabling device.", 10, 11),
        E("hung_task", "error", "INFO: task hung in raid10_read_request", 15, 34),
    ],
    "hung-task-3.txt": [
        E("hung_task", "error", "INFO: task hung in xhci_alloc_dev", 10, 36),
    ],
    "kasan-1.txt": [
        E("kasan", "critical", "KASAN: slab-out-of-bounds Write in napi_hash_del", 2, 55),
    ],
    "kasan-2.txt": [
        E("kasan", "critical", "KASAN: slab-use-after-free Read in chrdev_open", 2, 61),
    ],
    "kasan-3.txt": [
        E("kasan", "critical", "KASAN: use-after-free Read in bcsp_close", 2, 71),
    ],
    "kasan-4.txt": [
        E("kasan", "critical", "KASAN: slab-out-of-bounds Read in __lock_acquire", 2, 43),
    ],
    "kcsan-1.txt": [
        E("kcsan", "warning", "KCSAN: data-race in exit_signals / prepare_signal", 2, 43),
    ],
    "kcsan-2.txt": [
        E("kcsan", "warning", "KCSAN: data-race in __ip_append_data / __ip_append_data", 2, 42),
    ],
    "kernel-bug-1.txt": [
        E("oops", "critical", "kernel BUG in xt_rateest_tg_checkentry", 3, 31),
        E("panic", "critical", "kernel panic: Fatal exception", 32, 34),
    ],
    "kernel-bug-2.txt": [
        E("oops", "critical", "kernel BUG in do_journal_end", 2, 27),
        E("panic", "critical", "kernel panic: Fatal exception", 28, 30),
    ],
    "kfence-1.txt": [
        E("kfence", "critical", "KFENCE: use-after-free read in spa_read_history_add", 2, 7, corrupted=True),
    ],
    "kmemleak-1.txt": [
        E("kmemleak", "warning", "memory leak in dualshock4_get_calibration_data", 2, 34),
    ],
    "kmemleak-2.txt": [
        E("kmemleak", "warning", "memory leak in j1939_netdev_start", 2, 24),
        E("kmemleak", "warning", "memory leak in j1939_xtp_rx_rts", 26, 55),
    ],
    "kmemleak-3.txt": [
        # kmemleak.verbose: every line of the report carries "kmemleak: ".
        E("kmemleak", "warning", "memory leak in sg_kmalloc", 2, 20),
    ],
    "kmsan-1.txt": [
        E("kmsan", "error", "KMSAN: uninit-value in virtqueue_add", 2, 33),
    ],
    "list-corruption-1.txt": [
        E("list_corruption", "critical", "BUG: corrupted list in free_block", 6, 36),
        E("sleeping_in_atomic", "error", SLEEPING + "blocking_notifier_call_chain", 37, 63),
    ],
    "lockdep-1.txt": [
        E("lockdep", "warning", "possible deadlock in test_clear_page_writeback", 2, 85),
    ],
    "lockdep-2.txt": [
        E("lockdep", "warning", "possible deadlock in blkdev_reread_part", 2, 79),
    ],
    "lockdep-3.txt": [
        E("lockdep", "warning", "possible deadlock in tun_device_event", 2, 7, corrupted=True),
    ],
    "lockdep-4.txt": [
        # lockdep prints no stack with the locks a task takes back to user space: the report is whole.
        E("lockdep", "warning", "WARNING: lock held when returning to user space in dm_get_live_table", 2, 7),
        E("hung_task", "error", "INFO: task hung in __dm_suspend", 11, 27),
    ],
    "oops-arm64-1.txt": [
        E("oops", "critical", NULL_DEREF + "sk_msg_memcopy_from_iter", 2, 53),
    ],
    "oops-arm64-2.txt": [
        # The fault is in memcpy, a leaf: its caller is in the link register, not in the trace.
        E("oops", "critical", NULL_DEREF + "rproc_start", 2, 29),
    ],
    "oops-paging-1.txt": [
        E("oops", "critical", "BUG: unable to handle kernel paging request in __call_rcu", 2, 3, corrupted=True),
    ],
    "panic-1.txt": [
        E("panic", "critical", "kernel panic: Couldn't open N_TTY ldisc for ptm1 --- error -12", 2, 5),
    ],
    "rcu-stall-1.txt": [
        E("rcu_stall", "error", "INFO: rcu detected stall in smp_call_function_single", 2, 32),
    ],
    "rcu-stall-2.txt": [
        E("rcu_stall", "error", "INFO: rcu detected stall", 2, 5),
        E("scheduling_while_atomic", "error", "BUG: scheduling while atomic in irq_thread", 6, 19),
    ],
    "rcu-stall-3.txt": [
        E("rcu_stall", "error", "INFO: rcu detected stall", 3, 10),
        E("hard_lockup", "critical", "BUG: hard lockup", 11, 12),
    ],
    "rcu-stall-4.txt": [
        E("rcu_stall", "error", "INFO: rcu detected stall", 2, 11, count=2),
    ],
    "refcount-1.txt": [
        E("refcount", "error", "WARNING: refcount bug in disk_release", 3, 35),
    ],
    "refcount-2.txt": [
        E("refcount", "error", "WARNING: refcount bug in nfsd_file_put_noref", 2, 21),
    ],
    "refcount-3.txt": [
        E("refcount", "error", "WARNING: refcount bug in drm_sched_fence_release_scheduled", 2, 35),
    ],
    "sleeping-1.txt": [
        E("sleeping_in_atomic", "error", SLEEPING + "__rmqueue_pcplist", 2, 32),
    ],
    "sleeping-2.txt": [
        E("sleeping_in_atomic", "error", SLEEPING + "input_event", 2, 15),
    ],
    "soft-lockup-1.txt": [
        E("soft_lockup", "error", "BUG: soft lockup in smp_call_function_many", 2, 27),
        E("panic", "critical", "kernel panic: softlockup: hung tasks", 43, 54),
    ],
    "soft-lockup-2.txt": [
        E("soft_lockup", "error", "BUG: soft lockup in kvm_set_pfn_dirty", 2, 18),
    ],
    "soft-lockup-3.txt": [
        E("soft_lockup", "error", "BUG: soft lockup in blkcg_destroy_blkgs", 2, 8),
    ],
    "soft-lockup-4.txt": [
        E("soft_lockup", "error", "BUG: soft lockup in jbd2_journal_invalidatepage", 2, 26),
    ],
    "stack-overflow-1.txt": [
        E("stack_overflow", "critical", "BUG: stack guard page was hit in pvclock_clocksource_read", 2, 45),
    ],
    "stack-overflow-2.txt": [
        E("stack_overflow", "critical", "BUG: stack guard page was hit in k_stackoverflow_thread", 5, 15,
          corrupted=True),
    ],
    "ubsan-1.txt": [
        E("ubsan", "warning", "UBSAN: shift-out-of-bounds in dbAllocAG", 2, 21),
    ],
    "ubsan-2.txt": [
        E("ubsan", "warning", "UBSAN: shift-out-of-bounds in io_uring_create", 2, 19),
    ],
    "ubsan-3.txt": [
        E("ubsan", "warning", "UBSAN: shift-out-of-bounds in nwl_unmask_leg_irq", 2, 16),
    ],
    "warning-1.txt": [
        E("warning", "warning", "WARNING in udf_rmdir", 2, 40),
        E("panic", "critical", "kernel panic: kernel: panic_on_warn set", 41, 63),
    ],
    "warning-2.txt": [
        E("warning", "critical", "WARNING in blk_sync_queue", 2, 38),
    ],
    "warning-3.txt": [
        E("warning", "warning", "WARNING in dev_watchdog", 2, 43),
    ],
    "warning-4.txt": [
        # The paste ends in the stack words; the journal split the module list over two lines.
        E("warning", "warning", "WARNING in dev_watchdog", 6, 14, corrupted=True),
    ],
}


def events(path: Path):
    report = find_trouble(read_log(path, year=2021))
    return [E(event.kind, event.severity, event.title, event.first_line, event.last_line, event.corrupted,
              event.count) for event in sorted(report.events, key=lambda event: event.first_line)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_report_is_one_event_with_its_title_and_span(name):
    assert events(REPORTS / name) == EXPECTED[name]


def test_every_fixture_has_expectations_and_names_its_source():
    fixtures = sorted(REPORTS.glob("*.txt"))
    assert {path.name for path in fixtures} == set(EXPECTED)
    assert all(path.read_text().startswith("# source: ") for path in fixtures)


#: syzbot's own title of the fixtures it reported (syzkaller's test data and syzbot's mails), and why
#: pycore's differs where it does.
SYZBOT = {
    "gpf-1.txt": ("general protection fault in nl802154_add_llsec_key", None),
    "kasan-1.txt": ("KASAN: slab-out-of-bounds Write in napi_hash_del", None),
    "kasan-2.txt": ("KASAN: slab-use-after-free Read in chrdev_open", None),
    "kasan-3.txt": ("KASAN: use-after-free Read in bcsp_close", None),
    "kasan-4.txt": ("KASAN: slab-out-of-bounds Read in __lock_acquire", None),
    "kmsan-1.txt": ("KMSAN: uninit-value in virtqueue_add", None),
    "kcsan-1.txt": ("KCSAN: data-race in exit_signals / prepare_signal", None),
    "kernel-bug-1.txt": ("kernel BUG in xt_rateest_tg_checkentry", None),
    "kernel-bug-2.txt": ("kernel BUG in do_journal_end", None),
    "warning-1.txt": ("WARNING in udf_rmdir", None),
    "warning-2.txt": ("WARNING in blk_sync_queue", None),
    "lockdep-1.txt": ("possible deadlock in test_clear_page_writeback", None),
    "lockdep-2.txt": ("possible deadlock in blkdev_reread_part", None),
    "lockdep-3.txt": ("possible deadlock in tun_device_event", None),
    "oops-paging-1.txt": ("BUG: unable to handle kernel paging request in __call_rcu", None),
    "divide-error-1.txt": ("divide error in __tcp_select_window", None),
    "hung-task-1.txt": ("INFO: task hung in iterate_bdevs", None),
    "kmemleak-1.txt": ("memory leak in dualshock4_get_calibration_data", None),
    "kmemleak-2.txt": ("memory leak in j1939_netdev_start", None),
    "ubsan-1.txt": ("UBSAN: shift-out-of-bounds in dbAllocAG", None),
    # syzbot also lists "BUG: soft lockup in smp_call_function_many" for this report (an alternative title).
    "soft-lockup-1.txt": ("BUG: soft lockup in smp_call_function", "the spinning frame, as syzbot's alternative"),
    "rcu-stall-1.txt": ("INFO: rcu detected stall in smp_call_function",
                        "syzbot skips smp_call_function_single, which pycore blames as the frame the CPU waits in"),
    "panic-1.txt": ("kernel panic: Couldn't open N_TTY ldisc",
                    "pycore keeps the whole panic message; syzbot cuts the device and the error code"),
}


@pytest.mark.parametrize("name", sorted(SYZBOT))
def test_titles_are_syzbots_but_where_the_reason_says_why_not(name):
    title, why_not = SYZBOT[name]
    ours = EXPECTED[name][0].title
    assert (ours == title) == (why_not is None), (ours, title)


#: The seeds' and the hand-written logs' reports, titled (their traces are cut: "...blah blah blah...").
SEED_TITLES = {
    "seed-slides-oops-2.6.32.log": [NULL_DEREF + "sysrq_handle_crash"],
    "seed-guide-softlockup.log": ["BUG: soft lockup"],
    "seed-guide-panic.log": ["kernel panic: Aiee, killing interrupt handler!"],
    "oops-panic-5.15.log": [NULL_DEREF + "foo_handler", "kernel panic: Fatal exception"],
    "warnings.log": ["WARNING in dev_watchdog", "WARNING in ext4_da_writepages"],
    "lockups-rcu-5.15.log": ["INFO: rcu detected stall in smp_call_function_many_cond",
                             "BUG: soft lockup in smp_call_function_many_cond", "BUG: hard lockup",
                             "kernel panic: Hard LOCKUP"],
    "lockups-hung-3.10.log": ["BUG: soft lockup in smp_call_function_many",
                              "INFO: task hung in jbd2_journal_commit_transaction", "INFO: task hung"],
}


@pytest.mark.parametrize("name", sorted(SEED_TITLES))
def test_the_seed_logs_reports_are_titled(name):
    report = find_trouble(read_log(LOGS / name, year=2021))
    titles = [event.title for event in sorted(report.events, key=lambda event: event.first_line)
              if event.kind in REPORT_KINDS]
    assert titles == SEED_TITLES[name]


def test_an_oops_is_one_event_from_its_bug_line_through_its_trace_with_another_cpu_between():
    lines = ["[  812.403311][    C3] BUG: kernel NULL pointer dereference, address: 0000000000000008",
             "[  812.403320][    C3] #PF: supervisor read access in kernel mode",
             "[  812.403325][    C3] #PF: error_code(0x0000) - not-present page",
             "[  812.403330][    C3] PGD 0 P4D 0 ",
             "[  812.403331][  T977] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex",
             "[  812.403335][    C3] Oops: 0000 [#1] PREEMPT SMP NOPTI",
             "[  812.403340][    C3] CPU: 3 PID: 0 Comm: swapper/3 Not tainted 6.1.0-18-amd64 #1",
             "[  812.403344][    C3] RIP: 0010:xenvif_tx_build_gops.constprop.0+0x3a1/0xb20 [xen_netback]",
             "[  812.403350][    C3] Call Trace:",
             "[  812.403351][    C3]  <IRQ>",
             "[  812.403355][    C3]  xenvif_tx_action+0x4f/0x2e0 [xen_netback]",
             "[  812.403360][    C3]  </IRQ>",
             "[  812.403365][    C3] ---[ end trace 0000000000000000 ]---"]
    (oops,) = find_trouble(parse_log(lines)).events
    assert (oops.kind, oops.first_line, oops.last_line, oops.count) == ("oops", 1, 13, 1)
    assert oops.title == NULL_DEREF + "xenvif_tx_build_gops"
    assert not any("e1000e" in line for line in oops.lines)


def test_reports_of_two_cpus_printed_at_once_are_two_events():
    lines = ["[  9.1][    C1] WARNING: CPU: 1 PID: 7 at net/mac80211/tx.c:10 __ieee80211_beacon_get+0x12/0x30",
             "[  9.1][    C1] Call Trace:",
             "[  9.1][    C2] BUG: KASAN: use-after-free in tcp_close+0x1/0x2",
             "[  9.1][    C1]  <IRQ>",
             "[  9.1][    C2] Read of size 8 at addr ffff888012acfc20 by task sshd/1",
             "[  9.1][    C1]  ieee80211_beacon_get_tim+0x1/0x2",
             "[  9.1][    C2] Call Trace:",
             "[  9.1][    C1]  </IRQ>",
             "[  9.1][    C2]  kasan_report+0x96/0xd0",
             "[  9.1][    C2]  tcp_close+0x1/0x2",
             "[  9.1][    C2] =================================================================="]
    report = find_trouble(parse_log(lines))
    assert sorted((event.title, event.first_line, event.last_line) for event in report.events) == [
        ("KASAN: use-after-free Read in tcp_close", 3, 11), ("WARNING in __ieee80211_beacon_get", 1, 8)]


def test_a_report_that_falls_silent_ends():
    lines = ["[  10.000000] BUG: KASAN: use-after-free in tcp_close+0x1/0x2",
             "[  10.000001] Read of size 8 at addr ffff888012acfc20 by task sshd/1",
             "[  10.000002] Call Trace:",
             "[  10.000003]  tcp_close+0x1/0x2",
             "[  95.000000] e1000e: eth0 NIC Link is Down"]
    (kasan,) = find_trouble(parse_log(lines)).events
    assert (kasan.last_line, kasan.corrupted) == (4, False)


def test_the_culprit_is_never_a_reporting_sanitizer_locking_or_generic_helper():
    for name in ("kasan_report", "__asan_report_load8_noabort", "check_memory_region", "dump_stack_lvl",
                 "__warn", "warn_slowpath_fmt", "report_bug", "handle_bug", "exc_invalid_op", "lock_acquire",
                 "_raw_spin_lock_irqsave", "__mutex_lock.constprop.0", "mutex_lock_nested", "down_read", "kfree",
                 "kmem_cache_free", "__kmalloc_cache_noprof", "memcpy", "strcpy", "_copy_from_user",
                 "refcount_warn_saturate", "__ubsan_handle_shift_out_of_bounds", "__list_add_valid_or_report"):
        assert is_blameless(name), name
    for name in ("tcp_close", "ext4_xattr_get", "__lock_acquire", "udf_rmdir", "smp_call_function_single"):
        assert not is_blameless(name), name
    assert is_blameless("io_schedule_timeout", REPORT_KINDS["hung_task"].skip)
    assert not is_blameless("io_schedule_timeout")


def test_inline_frames_a_symbolizer_adds_are_not_blamed():
    lines = ["BUG: KASAN: use-after-free in skb_dst_drop include/net/dst.h:269 [inline]",
             "BUG: KASAN: use-after-free in skb_release_head_state+0x223/0x250 net/core/skbuff.c:653",
             "Read of size 8 at addr ffff888020b57a58 by task syz-executor.3/23125",
             "Call Trace:",
             " __dump_stack lib/dump_stack.c:79 [inline]",
             " dump_stack+0x107/0x163 lib/dump_stack.c:120",
             " kasan_report.cold+0x79/0xd5 mm/kasan/report.c:413",
             " skb_dst_drop include/net/dst.h:269 [inline]",
             " skb_release_head_state+0x223/0x250 net/core/skbuff.c:653",
             " skb_release_all net/core/skbuff.c:673 [inline]",
             " __kfree_skb+0x15/0x40 net/core/skbuff.c:689"]
    (kasan,) = find_trouble(parse_log(lines)).events
    assert kasan.title == "KASAN: use-after-free Read in skb_release_head_state"
    assert (kasan.first_line, kasan.last_line, kasan.count) == (1, 11, 1)


def test_a_dumps_log_gives_the_events_of_the_same_text():
    """The dump side hands over records without text prefixes or printk callers; titles do not change."""
    text = read_log(REPORTS / "lockdep-2.txt")[1:]
    records = [LogRecord(text=record.text, timestamp=record.timestamp, level=4, lineno=number)
               for number, record in enumerate(text, start=2)]
    assert [(e.kind, e.title, e.first_line, e.last_line) for e in find_trouble(records).events] == \
        [(e.kind, e.title, e.first_line, e.last_line) for e in EXPECTED["lockdep-2.txt"]]


# The panic each corpus scenario ends in (testdata/corpus: sysrq-c, panic_on_oom, hung_task_panic,
# softlockup_panic, panic_on_rcu_stall; the swap, zswap and large scenarios end with sysrq-c, the io
# scenario with hung_task_panic).
PANIC_TITLES = {"sysrq": "kernel panic: sysrq triggered crash",
                "oom": "kernel panic: Out of memory: system-wide panic_on_oom is enabled",
                "hung": "kernel panic: hung_task: blocked tasks",
                "io": "kernel panic: hung_task: blocked tasks",
                "locks": "kernel panic: softlockup: hung tasks",
                "rcu": "kernel panic: RCU Stall",
                "swap": "kernel panic: sysrq triggered crash",
                "zswap": "kernel panic: sysrq triggered crash",
                "large": "kernel panic: sysrq triggered crash"}


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_a_real_dumps_log_and_crashs_log_of_it_give_the_same_titled_events(case):
    dump = next((d["name"] for d in case.dumps() if d["format"] == "kdump"), None)
    crash_log = case.reference("log")
    if dump is None or crash_log is None:
        pytest.skip("no kdump dump or no recorded 'log' in this case")
    records, prog = load_log(case.path(dump))
    prog.close()
    from_dump = [(e.kind, e.title, e.count, e.corrupted) for e in find_trouble(records).events]
    from_crash = [(e.kind, e.title, e.count, e.corrupted)
                  for e in find_trouble(parse_log(crash_log.splitlines())).events]
    assert from_dump == from_crash
    panic = next(title for kind, title, _, _ in from_dump if kind == "panic")
    assert panic == PANIC_TITLES[case.manifest.get("scenario", "sysrq")]


def test_printk_callers_late_priorities_and_lockdeps_dotted_lines_are_read():
    records = list(parse_log([
        "[   34.688750][ T2373] BUG: KASAN: slab-out-of-bounds in test_and_clear_bit+0x1a/0x25",
        "[  204.190546][    C0] NMI backtrace for cpu 0",
        "Nov  2 07:49:50 sienna kernel:  <3>BUG: sleeping function called from invalid context at kernel/rwsem.c:20",
        "[   26.523953] ... which became HARDIRQ-irq-safe at:",
        "[   26.672559] ...",
    ], year=2006))
    assert [record.caller for record in records[:3]] == ["T2373", "C0", None]
    assert records[2].text.startswith("BUG: sleeping function") and records[2].level == 3
    assert records[3].text == "... which became HARDIRQ-irq-safe at:"
    assert [is_elision(record.text) for record in records[3:]] == [False, True]
