"""Classifying kernel log events: every fixture's events found with the right kind,
multi-line reports kept whole, repeats merged, and benign lines left alone."""
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from pycore.analysis.logtext import LogRecord, parse_log, read_log
from pycore.analysis.trouble import find_trouble

LOGS = Path(__file__).resolve().parent.parent / "testdata" / "logs"


def trouble(name: str):
    return find_trouble(read_log(LOGS / name, year=2021))


def kinds(report):
    """(kind, severity, count) of every event, order ignored."""
    return Counter((event.kind, event.severity, event.count) for event in report.events)


def event(report, kind):
    (found,) = [item for item in report.events if item.kind == kind]
    return found


EXPECTED = {
    "seed-guide-oom.log": [("oom_kill", "error", 1)],
    "seed-guide-disk.log": [("ata_error", "warning", 1), ("raid_degraded", "error", 1)],
    "seed-guide-softlockup.log": [("soft_lockup", "error", 1)],
    "seed-guide-panic.log": [("panic", "critical", 1)],
    "seed-guide-noise.log": [("tcp_treason", "noise", 1), ("firewall_log", "noise", 1)],
    "seed-slides-oops-2.6.32.log": [("oops", "critical", 1)],
    "seed-forum-oom-2.6.32.log": [("oom_kill", "error", 1)],
    "oom-rhel6-2.6.32.log": [("oom_kill", "error", 1)],
    "oom-rhel7-3.10.log": [("oom_kill", "error", 1)],
    "oom-ubuntu-4.4.log": [("oom_kill", "error", 1)],
    "oom-ubuntu-5.4-two-reports.log": [("oom_kill", "error", 2)],
    "oom-ubuntu-6.8.log": [("oom_kill", "error", 1)],
    "oom-memcg-6.1.log": [("oom_kill", "error", 1)],
    "disk-errors-4.15.log": [("ata_error", "warning", 2), ("io_error", "error", 2), ("raid_degraded", "error", 1),
                             ("io_error", "error", 1), ("fs_error", "error", 1)],
    "fs-errors-5.14.log": [("fs_error", "error", 1), ("fs_error", "warning", 1)],
    "lockups-hung-3.10.log": [("soft_lockup", "error", 2), ("hung_task", "error", 2), ("hung_task", "error", 1)],
    "lockups-rcu-5.15.log": [("rcu_stall", "error", 1), ("soft_lockup", "error", 1),
                             ("hard_lockup", "critical", 1), ("panic", "critical", 1)],
    "mce-4.18.log": [("hardware_error", "warning", 1), ("hardware_error", "warning", 3),
                     ("hardware_error", "critical", 1), ("panic", "critical", 1)],
    "warnings.log": [("warning", "warning", 1), ("warning", "warning", 1)],
    "oops-panic-5.15.log": [("oops", "critical", 1), ("panic", "critical", 1)],
    "serial-console.log": [("hung_task", "error", 1), ("panic", "critical", 1)],
    "noise-only.log": [("firewall_log", "noise", 3), ("firewall_log", "noise", 1), ("tcp_treason", "noise", 2)],
    "boot-clean.log": [],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_event_is_found_with_its_kind(name):
    assert kinds(trouble(name)) == Counter(EXPECTED[name])


def test_every_fixture_has_expectations():
    assert {path.name for path in LOGS.glob("*.log")} == set(EXPECTED)


def test_events_are_ordered_most_severe_first():
    severities = [item.severity for item in trouble("lockups-rcu-5.15.log").events]
    assert severities == ["critical", "critical", "error", "error"]


def test_noise_only_log_has_no_trouble_and_ignores_other_programs():
    report = trouble("noise-only.log")
    assert report.trouble == []
    assert all(line.split()[4] == "kernel:" for item in report.events for line in item.lines)


def test_clean_boot_reports_nothing():
    report = trouble("boot-clean.log")
    assert report.events == [] and report.records == 30


def test_an_oops_with_its_trace_is_one_event():
    report = trouble("seed-slides-oops-2.6.32.log")
    (oops,) = report.events
    assert oops.first_line == 1 and oops.last_line == report.records
    assert oops.details["function"] == "sysrq_handle_crash+0x16/0x20"
    assert (oops.details["task"], oops.details["pid"]) == ("bash", 2932)
    assert any("system_call_fastpath" in line for line in oops.lines)


def test_an_oom_report_is_one_event_with_its_proof():
    report = trouble("oom-rhel6-2.6.32.log")
    (oom,) = report.events
    assert oom.details["victim"] == "java" and oom.details["victim_pid"] == 2843
    assert oom.lines[0].endswith("java invoked oom-killer: gfp_mask=0x280da, order=0, oom_adj=0, oom_score_adj=0")
    assert any("Killed process 2843, UID 500, (java)" in line for line in oom.lines)
    assert "Processes used it" in oom.explanation


def test_repeated_hung_task_is_merged_with_first_and_last_time():
    report = trouble("lockups-hung-3.10.log")
    jbd2 = next(item for item in report.events if item.details.get("task") == "jbd2/dm-0-8")
    assert jbd2.count == 2
    assert jbd2.first == datetime(2021, 6, 11, 2, 18, 3).isoformat(sep=" ")
    assert jbd2.last == datetime(2021, 6, 11, 2, 20, 3).isoformat(sep=" ")
    assert jbd2.details == {"task": "jbd2/dm-0-8", "pid": 512, "seconds": 120}
    # the trace of the first occurrence is kept, the systemd line between them is not
    assert any("jbd2_journal_commit_transaction" in line for line in jbd2.lines)
    assert not any("systemd" in line for line in jbd2.lines)


def test_soft_lockup_details_old_and_new_format():
    old = event(trouble("seed-guide-softlockup.log"), "soft_lockup")
    assert old.details == {"cpu": 1}
    assert len(old.lines) == 5          # headline, Call Trace:, three frames; the blank line is skipped
    new = event(trouble("lockups-rcu-5.15.log"), "soft_lockup")
    assert new.details == {"cpu": 3, "seconds": 23, "task": "kworker/3:0:31337"}


def test_disk_errors_name_the_device_and_keep_the_sense_data():
    report = trouble("disk-errors-4.15.log")
    io = [item for item in report.events if item.kind == "io_error"]
    assert sorted(item.details["device"] for item in io) == ["sda", "sdc"]
    sda = next(item for item in io if item.details["device"] == "sda")
    assert any("Unrecovered read error" in line for line in sda.lines)
    assert any("sector 1953812432" in line for line in sda.lines)
    assert event(report, "ata_error").details["likely"] == "disk medium"
    raid = event(report, "raid_degraded")
    assert raid.details == {"array": "md0"}
    assert any("Operation continuing on 1 devices" in line for line in raid.lines)
    fs = event(report, "fs_error")
    assert fs.details == {"filesystem": "EXT4-fs", "device": "sdc1"}
    assert fs.lines[-1].endswith("Remounting filesystem read-only")


def test_ata_bus_error_from_the_guide_keeps_the_res_line():
    ata = event(trouble("seed-guide-disk.log"), "ata_error")
    assert ata.details == {"port": "ata3", "error_bits": ["ICRC", "ABRT"], "likely": "cable or link"}
    assert any("(ATA bus error)" in line for line in ata.lines)
    assert ata.lines[-1].endswith("ata3: soft resetting link")


def test_xfs_corruption_with_hex_dump_and_trace_is_one_event():
    report = trouble("fs-errors-5.14.log")
    xfs = next(item for item in report.events if item.details["filesystem"] == "XFS")
    assert xfs.details["device"] == "dm-2" and xfs.severity == "error"
    assert len(xfs.lines) == 16


def test_machine_checks_corrected_vs_fatal():
    report = trouble("mce-4.18.log")
    hardware = [item for item in report.events if item.kind == "hardware_error"]
    fatal = next(item for item in hardware if item.severity == "critical")
    assert "Machine Check Exception" in fatal.title
    assert any("Processor context corrupt" in line for line in fatal.lines)
    edac = next(item for item in hardware if item.count == 3)
    assert edac.title.startswith("EDAC MC0: 1 CE memory read error on CPU_SrcID#0_MC#0_Chan#1_DIMM#0")


def test_warning_keeps_the_cut_here_prelude_and_names_the_location():
    report = trouble("warnings.log")
    netdev = next(item for item in report.events if item.details["location"] == "net/sched/sch_generic.c:467")
    assert "[ cut here ]" in netdev.lines[0]
    assert "NETDEV WATCHDOG" in netdev.lines[1]
    assert netdev.lines[-1].endswith("---[ end trace 6a5c2ea0b5fa8f43 ]---")
    old = next(item for item in report.events if item.details["location"] == "fs/ext4/inode.c:3532")
    assert old.details["function"] == "ext4_da_writepages" and old.details["kernel"] == "2.6.32-358.el6.x86_64"


def test_panic_after_oops_names_module_and_hint():
    report = trouble("oops-panic-5.15.log")
    oops, panic = report.events
    assert oops.details["module"] == "foo" and oops.details["function"] == "foo_handler+0x2a/0x90 [foo]"
    assert panic.details["reason"] == "Fatal exception"
    assert "oops" in panic.details["hint"]


def test_hung_task_panic_points_at_khungtaskd():
    panic = event(trouble("serial-console.log"), "panic")
    assert panic.details["reason"] == "hung_task: blocked tasks"
    assert "khungtaskd" in panic.details["hint"]


def test_rcu_stall_lists_the_stalled_cpu():
    stall = event(trouble("lockups-rcu-5.15.log"), "rcu_stall")
    assert stall.details == {"flavor": "rcu_sched", "cpus": [6]}
    assert len(stall.lines) == 18


def test_records_from_a_dump_are_classified_the_same():
    """The dump side hands over (seconds since boot, level, text) with no text prefixes."""
    printk = [(7731.220411, 1, "BUG: kernel NULL pointer dereference, address: 0000000000000008"),
              (7731.220502, 4, "Oops: 0000 [#1] SMP PTI"),
              (7731.220610, 4, "RIP: 0010:foo_handler+0x2a/0x90 [foo]"),
              (7731.220800, 4, "Call Trace:"),
              (7731.220812, 4, " process_one_work+0x228/0x3d0"),
              (7731.221100, 0, "Kernel panic - not syncing: Fatal exception")]
    records = [LogRecord(text=text, timestamp=seconds, level=level, lineno=seq)
               for seq, (seconds, level, text) in enumerate(printk, start=1)]
    report = find_trouble(records)
    assert [(item.kind, item.first_line, item.last_line) for item in report.events] == \
        [("oops", 1, 5), ("panic", 6, 6)]
    assert report.events[0].first == "7731.220411s after boot"


def test_to_dict_summary_counts_by_severity():
    data = trouble("lockups-rcu-5.15.log").to_dict()
    assert data["summary"] == {"critical": 2, "error": 2, "warning": 0, "noise": 0}
    assert data["records"] == 39


def test_oom_with_nothing_to_kill_and_the_panic_after_it():
    lines = ["[  50.000001] init invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
             "[  50.000002] Mem-Info:",
             "[  50.000003] active_anon:10 inactive_anon:0 isolated_anon:0",
             "[  50.000004] 262045 pages RAM",
             "[  50.000005] Out of memory and no killable processes...",
             "[  50.000006] Kernel panic - not syncing: System is deadlocked on memory"]
    report = find_trouble(parse_log(lines))
    oom, panic = report.events[1], report.events[0]
    assert (oom.kind, oom.details["victim"], oom.last_line) == ("oom_kill", None, 5)
    assert panic.kind == "panic"
    assert panic.details["hint"].startswith("Out of memory with no process left that the OOM killer may kill")


def test_an_unfinished_oom_report_does_not_swallow_a_later_trace():
    lines = ["[  50.000001] java invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0",
             "[  50.000002] Call Trace:",
             "[  50.000003]  [<ffffffff810f5f54>] oom_kill_process+0xd4/0x2f0",
             "[ 400.000001] BUG: soft lockup - CPU#0 stuck for 22s! [java:77]",
             "[ 400.000002] Call Trace:",
             "[ 400.000003]  [<ffffffff8e07a8f8>] native_flush_tlb_others+0xb8/0xc0"]
    report = find_trouble(parse_log(lines))
    lockup = event(report, "soft_lockup")
    assert (lockup.first_line, lockup.last_line) == (4, 6)
    assert event(report, "oom_kill").last_line == 3


def test_back_to_back_warnings_are_two_events():
    lines = ["[  10.000001] ------------[ cut here ]------------",
             "[  10.000002] WARNING: CPU: 0 PID: 1 at drivers/foo.c:10 foo_probe+0x10/0x20",
             "[  10.000003] Call Trace:",
             "[  10.000004]  foo_probe+0x10/0x20",
             "[  10.000005] ---[ end trace 0000000000000001 ]---",
             "[  10.000006] ------------[ cut here ]------------",
             "[  10.000007] WARNING: CPU: 0 PID: 1 at drivers/bar.c:20 bar_probe+0x10/0x20",
             "[  10.000008] ---[ end trace 0000000000000002 ]---"]
    report = find_trouble(parse_log(lines))
    assert [(item.details["location"], item.first_line, item.last_line) for item in report.events] == \
        [("drivers/foo.c:10", 1, 5), ("drivers/bar.c:20", 6, 8)]
