"""pycore triage on a /var/crash tree built from the committed sample (testdata/triage/crash_tree.py):
discovery in both tools' layouts, signatures, grouping, the timeline, fallbacks, errors and timeouts."""
import datetime
import json
import multiprocessing
import os
import re
import signal
import time
from pathlib import Path

import pytest

from pycore.analysis import triage as triage_module
from pycore.analysis.crash_report import crash_signature, normalize_frame, normalize_reason, parse_crash_report
from pycore.analysis.logtext import parse_log, read_log
from pycore.analysis.triage import build_timeline, triage, triage_dump
from pycore.analysis.triage_analyze import DumpTriage
from pycore.analysis.triage_discover import CrashSource, directory_time, find_crashes
from pycore.cli import main
from pycore.cli.triage import render_text

from triage.crash_tree import SAMPLE_DMESG, build_sample_tree, epoch

OOPS_LOG = """\
[  812.402118] BUG: kernel NULL pointer dereference, address: 0000000000000008
[  812.402301] #PF: supervisor read access in kernel mode
[  812.402380] #PF: error_code(0x0000) - not-present page
[  812.402450] PGD 0 P4D 0
[  812.402519] Oops: 0000 [#1] PREEMPT SMP NOPTI
[  812.402590] CPU: 3 PID: 4711 Comm: kworker/3:1 Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2
[  812.402700] Hardware name: Xen HVM domU, BIOS 4.11 01/01/2020
[  812.402770] Workqueue: events xenvif_tx_action [xen_netback]
[  812.402843] RIP: 0010:xenvif_tx_build_gops.constprop.0+0x3a1/0xb20 [xen_netback]
[  812.402950] Code: 48 8b 43 08 <48> 8b 40 08 0f 1f 44 00 00
[  812.403010] RSP: 0018:ffffb3c2c0b4fd38 EFLAGS: 00010246
[  812.403080] RAX: 0000000000000000 RBX: ffff9d4b8a2e0000 RCX: 0000000000000000
[  812.403150] Call Trace:
[  812.403170]  <TASK>
[  812.403190]  ? __die+0x20/0x70
[  812.403210]  ? page_fault_oops+0x15c/0x4a0
[  812.403230]  xenvif_tx_action+0x4f/0x2e0 [xen_netback]
[  812.403250]  process_one_work+0x1e5/0x3b0
[  812.403270]  worker_thread+0x51/0x390
[  812.403290]  kthread+0xd6/0x100
[  812.403310]  ret_from_fork+0x1f/0x30
[  812.403330]  </TASK>
[  812.403350] Modules linked in: xen_netback(OE) xen_blkback
[  812.403420] ---[ end trace 0000000000000000 ]---
[  812.410118] Kernel panic - not syncing: Fatal exception in interrupt
[  812.410300] Kernel Offset: 0x2c000000 from 0xffffffff81000000
[  812.410400] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---
"""


@pytest.fixture(scope="module")
def sample_tree(tmp_path_factory):
    return build_sample_tree(str(tmp_path_factory.mktemp("crash")))


@pytest.fixture(scope="module")
def report(sample_tree):
    return triage([sample_tree], jobs=2, timeout=120)


def by_name(report, name):
    return next(dump for dump in report.dumps if dump.name == name)


# --- names and signatures -------------------------------------------------------------------------

def test_directory_names_of_both_tools_give_the_time_and_host():
    assert directory_time("202611260114") == (datetime.datetime(2026, 11, 26, 1, 14), None)
    assert directory_time("127.0.0.1-2026-11-26-01:14:38") == (datetime.datetime(2026, 11, 26, 1, 14, 38),
                                                                "127.0.0.1")
    assert directory_time("web-7.example.com-2026-02-03-15:04:05")[1] == "web-7.example.com"
    assert directory_time("lost+found") == (None, None)
    assert directory_time("202613990000") == (None, None)  # month 13: not a time


def test_reason_normalization_strips_addresses_numbers_and_pids():
    assert normalize_reason("BUG: kernel NULL pointer dereference, address: 0000000000000008") == \
        "BUG: kernel NULL pointer dereference, address: X"
    assert normalize_reason("watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [kworker/3:1:4711]") == \
        normalize_reason("watchdog: BUG: soft lockup - CPU#0 stuck for 48s! [kworker/0:2:88]")
    assert normalize_reason("Attempted to kill init! exitcode=0x0000000b") == "Attempted to kill init! exitcode=X"
    # Words that merely look like hex or carry digits are kept.
    assert normalize_reason("EXT4-fs error (device sda1): ext4_find_entry: dead") == \
        "EXT4-fs error (device sda1): ext4_find_entry: dead"


def test_frames_lose_offsets_modules_compiler_clones_and_noprof():
    assert normalize_frame("__handle_sysrq.cold+0x44/0x11c") == "__handle_sysrq"
    assert normalize_frame("__alloc_pages_slowpath.constprop.0+0xc27/0xdc0") == "__alloc_pages_slowpath"
    assert normalize_frame("__alloc_pages_noprof+0x2fb/0x310") == "__alloc_pages"
    assert normalize_frame("xenvif_tx_action+0x4f/0x2e0 [xen_netback]") == "xenvif_tx_action"
    assert normalize_frame("[<ffffffff8109a1b2>] do_exit+0x12/0x340") == "do_exit"


def test_signature_skips_the_panic_machinery():
    signature, frames = crash_signature("sysrq triggered crash", [
        "machine_kexec+0x1bf/0x200", "__crash_kexec+0x77/0x100", "dump_stack_lvl+0x44/0x5c", "panic+0x118/0x2f4",
        "sysrq_handle_crash+0x16/0x20", "__handle_sysrq.cold+0x44/0x11c", "write_sysrq_trigger+0x24/0x40",
        "proc_reg_write+0x56/0xa0"])
    assert frames == ["sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger"]
    assert signature == "sysrq triggered crash @ sysrq_handle_crash|__handle_sysrq|write_sysrq_trigger"
    assert crash_signature("x", ["a+0x1/0x2", "b+0x1/0x2"], depth=1)[1] == ["a"]


def test_an_oops_that_panics_is_named_by_the_oops_with_the_faulting_function_on_top():
    report = parse_crash_report(list(parse_log(OOPS_LOG.splitlines())))
    assert report.reason == "BUG: kernel NULL pointer dereference, address: 0000000000000008"
    assert report.panic == "Fatal exception in interrupt"
    assert (report.pid, report.comm, report.cpu) == (4711, "kworker/3:1", 3)
    assert report.kernel_release == "6.1.0-56-cloud-amd64"
    assert report.backtrace[0] == "xenvif_tx_build_gops.constprop.0+0x3a1/0xb20"
    assert not any(frame.startswith("?") or "__die" in frame for frame in report.backtrace)
    assert crash_signature(report.reason, report.backtrace)[0] == (
        "BUG: kernel NULL pointer dereference, address: X @ "
        "xenvif_tx_build_gops|xenvif_tx_action|process_one_work")
    assert report.lines[0].endswith("address: 0000000000000008")
    assert report.lines[-1].startswith("[  812.410400] ---[ end Kernel panic")


SOFT_LOCKUP_LOG = """\
[ 5400.120001] watchdog: BUG: soft lockup - CPU#2 stuck for 23s! [qemu-dm:3141]
[ 5400.120100] Modules linked in: xen_gntdev xen_evtchn
[ 5400.120200] CPU: 2 PID: 3141 Comm: qemu-dm Not tainted 6.12.117+deb13-cloud-amd64 #1  Debian 6.12.117-1
[ 5400.120300] RIP: 0010:native_queued_spin_lock_slowpath+0x6e/0x2e0
[ 5400.120400] Code: 00 00 f0 0f ba 2b 08 0f 92 c0
[ 5400.120500] RSP: 0018:ffffa1b2c3d4e5f8 EFLAGS: 00000202
[ 5400.120600] Call Trace:
[ 5400.120610]  <IRQ>
[ 5400.120620]  ? watchdog_timer_fn+0x1e6/0x270
[ 5400.120630]  ? __hrtimer_run_queues+0x112/0x2b0
[ 5400.120640]  </IRQ>
[ 5400.120650]  <TASK>
[ 5400.120660]  _raw_spin_lock+0x29/0x30
[ 5400.120670]  gntdev_ioctl_map_grant_ref+0x88/0x1c0 [xen_gntdev]
[ 5400.120680]  __x64_sys_ioctl+0x90/0xd0
[ 5400.120690]  </TASK>
[ 5400.121000] Kernel panic - not syncing: softlockup: hung tasks
"""


def test_a_soft_lockup_panic_is_named_by_the_lockup_and_the_spinning_function():
    report = parse_crash_report(list(parse_log(SOFT_LOCKUP_LOG.splitlines())))
    assert report.panic == "softlockup: hung tasks"
    assert (report.pid, report.comm, report.cpu) == (3141, "qemu-dm", 2)
    signature, frames = crash_signature(report.reason, report.backtrace)
    assert signature == ("watchdog: BUG: soft lockup - CPU#N stuck for Ns! [qemu-dm] @ "
                         "native_queued_spin_lock_slowpath|_raw_spin_lock|gntdev_ioctl_map_grant_ref")


def test_an_earlier_unrelated_oops_is_not_the_cause_of_a_later_panic():
    log = OOPS_LOG.splitlines()[:25] + ["[ 9000.000000] sysrq: Trigger a crash",
                                        "[ 9000.000100] Kernel panic - not syncing: sysrq triggered crash",
                                        "[ 9000.000200] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1"]
    report = parse_crash_report(list(parse_log(log)))
    assert report.reason == "sysrq triggered crash" and report.cause is None
    assert (report.pid, report.comm) == (1, "init")


LOGS = Path(__file__).resolve().parent.parent / "testdata" / "logs"


def test_a_2_6_32_oops_is_named_by_its_first_line_and_the_function_in_ip():
    # "BUG: unable to handle", then "IP: [<...>] f+", the page-table walk and "Oops: 0002 [#1]".
    report = parse_crash_report(read_log(LOGS / "seed-slides-oops-2.6.32.log", year=2021))
    assert report.reason == "BUG: unable to handle kernel NULL pointer dereference at (null)"
    assert (report.pid, report.comm, report.kernel_release) == (2932, "bash", "2.6.32-573.8.1.el6.x86_64")
    assert crash_signature(report.reason, report.backtrace)[1] == [
        "sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger"]


def test_lockups_reported_by_the_nmi_watchdog_are_the_cause():
    hard = parse_crash_report(read_log(LOGS / "lockups-rcu-5.15.log", year=2021))
    assert hard.reason == "NMI watchdog: Watchdog detected hard LOCKUP on cpu 11"
    assert (hard.pid, hard.comm, hard.cpu) == (0, "swapper/11", 11)
    assert hard.backtrace[0] == "native_queued_spin_lock_slowpath+0x63/0x1f0"
    soft = parse_crash_report(read_log(LOGS / "lockups-hung-3.10.log", year=2021))
    assert soft.reason.startswith("NMI watchdog: BUG: soft lockup - CPU#2 stuck for 22s!")
    # RHEL's taint flags end in a dash line before the release.
    assert (soft.comm, soft.kernel_release) == ("qemu-kvm", "3.10.0-862.el7.x86_64")


def test_a_log_without_a_crash_has_no_report():
    assert parse_crash_report(list(parse_log(["[    0.000000] Linux version 6.1.0", "[    1.0] hello"]))) is None


# --- discovery ------------------------------------------------------------------------------------

def test_discovery_finds_crash_directories_and_passes_over_the_rest(sample_tree):
    names = [source.name for source in find_crashes([sample_tree])]
    assert names == ["127.0.0.1-2026-11-23-15:01:09", "202611201502", "202611211504", "202611240301",
                     "202611250914", "202611261507", "202611271508", "202611281200", "202611291530"]
    only_text = next(s for s in find_crashes([sample_tree]) if s.name == "202611261507")
    assert only_text.vmcore is None and only_text.dmesg.endswith("vmcore-dmesg.txt")


def test_discovery_reads_kdump_tools_names_and_plain_files(tmp_path):
    crash = tmp_path / "202602031504"
    crash.mkdir()
    (crash / "dump.202602031504").write_bytes(b"x")
    (crash / "dmesg.202602031504").write_text("x")
    (crash / "dump-incomplete").write_bytes(b"x")
    [source] = find_crashes([str(tmp_path)])
    assert source.vmcore.endswith("dump.202602031504") and source.dmesg.endswith("dmesg.202602031504")
    assert source.directory_time == datetime.datetime(2026, 2, 3, 15, 4)
    [direct] = find_crashes([str(crash / "dump.202602031504")])
    assert direct.dmesg.endswith("dmesg.202602031504") and direct.directory_time.hour == 15
    [missing] = find_crashes([str(tmp_path / "nowhere")])
    assert missing.vmcore.endswith("nowhere")


# --- the sample tree --------------------------------------------------------------------------------

def test_identical_crashes_form_one_group_and_copies_are_marked(report):
    assert len(report.groups) == 1
    [group] = report.groups
    assert group["frames"] == ["sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger"]
    assert group["signature"] == "sysrq triggered crash @ sysrq_handle_crash|__handle_sysrq|write_sysrq_trigger"
    assert group["count"] == 7 and group["crashes"] == 6
    assert group["kernels"] == ["6.1.0-56-cloud-amd64"] and group["hosts"] == ["127.0.0.1"]
    assert by_name(report, "202611250914").duplicate_of == "202611201502"
    assert group["first"] == "2026-11-20T15:02:11+00:00" and group["last"] == "2026-11-27T15:08:30+00:00"


def test_each_dump_names_the_reason_task_backtrace_and_kernel(report):
    dump = by_name(report, "202611201502")
    assert dump.status == "ok" and dump.log_source == "vmcore" and dump.format == "kdump"
    assert dump.reason == dump.panic == "sysrq triggered crash"
    assert dump.task == {"pid": 1, "comm": "init", "cpu": 1} and dump.task_source == "log"
    assert dump.backtrace[:3] == ["dump_stack_lvl+0x44/0x5c", "panic+0x118/0x2f4", "sysrq_handle_crash+0x16/0x20"]
    assert dump.kernel_release == "6.1.0-56-cloud-amd64"
    assert dump.crash_time == epoch(2026, 11, 20, 15, 2, 11) and dump.crash_time_source == "vmcoreinfo"
    assert any(event["kind"] == "panic" for event in dump.events)


def test_crash_time_comes_from_vmcoreinfo_else_the_directory_name(report):
    assert by_name(report, "127.0.0.1-2026-11-23-15:01:09").crash_time_source == "vmcoreinfo"
    undated_dump = by_name(report, "202611240301")
    assert undated_dump.crash_time_source == "directory"
    assert undated_dump.crash_time == epoch(2026, 11, 24, 3, 1)


def test_a_text_log_alone_or_beside_an_unreadable_vmcore_still_gives_the_crash(report):
    text_only = by_name(report, "202611261507")
    assert text_only.status == "dmesg" and text_only.log_source == "vmcore-dmesg.txt" and not text_only.errors
    assert text_only.crash_time_source == "directory"
    truncated = by_name(report, "202611271508")
    assert truncated.status == "dmesg" and truncated.log_source == "vmcore-dmesg.txt"
    assert truncated.errors and truncated.errors[0].startswith("vmcore: ")
    # The header, with VMCOREINFO, survived the truncation; the log did not.
    assert truncated.crash_time == epoch(2026, 11, 27, 15, 8, 30)
    assert truncated.task == {"pid": 1, "comm": "init", "cpu": 1}
    assert truncated.signature == by_name(report, "202611201502").signature


def test_unreadable_dumps_are_reported_and_skipped(report):
    bad = {dump.name: dump for dump in report.unreadable}
    assert sorted(bad) == ["202611281200", "202611291530"]
    assert "not a vmcore" in bad["202611281200"].errors[0]
    assert "incomplete" in bad["202611291530"].errors[0]
    assert all(dump.signature is None for dump in bad.values())


def test_timeline_counts_crashes_per_day_and_hour(report):
    timeline = report.timeline
    assert timeline["timezone"] == "UTC"
    assert timeline["per_day"] == {"2026-11-20": 1, "2026-11-21": 1, "2026-11-23": 1, "2026-11-24": 1,
                                   "2026-11-26": 1, "2026-11-27": 1}
    assert timeline["per_hour"][15] == 5 and timeline["per_hour"][3] == 1 and sum(timeline["per_hour"]) == 6
    assert timeline["busiest_hour"] == 15 and timeline["undated"] == 0
    assert timeline["time_sources"] == {"vmcoreinfo": 4, "directory": 2}


def test_timeline_in_another_zone_moves_the_hours(sample_tree):
    from zoneinfo import ZoneInfo

    berlin = triage([sample_tree], jobs=1, tz=ZoneInfo("Europe/Berlin"))
    # CRASHTIME is absolute: 15:0x UTC is 16:0x in Berlin in November. Directory names are read as
    # Berlin wall-clock time and stay where they are.
    assert berlin.timeline["timezone"] == "Europe/Berlin"
    assert berlin.timeline["per_hour"][16] == 4 and berlin.timeline["per_hour"][15] == 1
    assert berlin.timeline["per_hour"][3] == 1


def test_dumps_are_listed_in_crash_order_with_unreadable_ones_last(report):
    times = [dump.crash_time for dump in report.dumps if dump.status != "error"]
    assert times == sorted(times)
    assert [dump.status for dump in report.dumps][-2:] == ["error", "error"]


# --- isolation and time limits -------------------------------------------------------------------

def _hang(*args):
    time.sleep(60)


def _die(*args):
    os.kill(os.getpid(), signal.SIGSEGV)


def test_a_dump_that_hangs_is_stopped_at_the_timeout(monkeypatch):
    monkeypatch.setattr(triage_module, "analyze_crash", _hang)
    # No wall-clock bound: the analysis sleeps 60 s, so an answer naming the 1 s limit proves it was cut short.
    result = triage_dump(CrashSource(name="hostile", vmcore="/dev/null"), timeout=1)
    assert result.status == "error" and "gave up after 1 s" in result.errors[0]


def test_an_analysis_that_crashes_its_process_becomes_an_error(monkeypatch):
    monkeypatch.setattr(triage_module, "analyze_crash", _die)
    result = triage_dump(CrashSource(name="hostile", vmcore="/dev/null"), timeout=30)
    assert result.status == "error" and f"signal {int(signal.SIGSEGV)}" in result.errors[0]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_hang_does_not_stop_the_other_dumps(monkeypatch, tmp_path, jobs):
    if jobs > 1 and multiprocessing.get_start_method() != "fork":
        pytest.skip("pool workers see the patched analysis only when forked")
    real = triage_module.analyze_crash

    def hang_on_one(source, *args):
        if source.name == "202602031504":
            time.sleep(60)
        return real(source, *args)

    monkeypatch.setattr(triage_module, "analyze_crash", hang_on_one)
    for name in ("202602031504", "202602041504"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "vmcore-dmesg.txt").write_bytes(open(SAMPLE_DMESG, "rb").read())
    result = triage([str(tmp_path)], jobs=jobs, timeout=2)
    assert [d.status for d in result.dumps] == ["dmesg", "error"]
    assert "gave up after 2 s" in result.dumps[1].errors[0]


# --- the command ------------------------------------------------------------------------------------

def test_json_output_follows_the_schema(sample_tree, capsys):
    assert main(["triage", sample_tree, "--json", "--jobs", "2"]) == 1  # two dumps are unreadable
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == 1
    assert set(data) >= {"schema", "generated", "scheduler", "seconds", "summary", "groups", "timeline", "dumps"}
    assert data["summary"] == {"dumps": 9, "read_from_vmcore": 5, "read_from_dmesg": 2, "unreadable": 2,
                               "duplicates": 1, "groups": 1}
    assert set(data["groups"][0]) >= {"id", "signature", "reason", "frames", "count", "crashes", "dumps",
                                      "kernels", "hosts", "first", "last"}
    assert set(data["timeline"]) >= {"timezone", "per_day", "per_hour", "undated", "busiest_hour"}
    dump = data["dumps"][0]
    assert set(dump) >= {"name", "status", "vmcore", "dmesg", "errors", "format", "kernel_release", "crash_time",
                         "crash_time_iso", "crash_time_source", "reason", "panic", "task", "backtrace",
                         "backtrace_source", "signature", "signature_id", "signature_frames", "log_excerpt",
                         "duplicate_of", "seconds"}
    assert dump["crash_time_iso"] == "2026-11-20T15:02:11+00:00"


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_text_output_and_a_progress_bar_that_fits_the_terminal(sample_tree, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "64")
    out_dir = tmp_path / "report"
    assert main(["triage", sample_tree, "--progress", "--output-dir", str(out_dir), "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    progress = [line for line in re.split(r"[\r\n]", _ANSI.sub("", captured.err)) if line.startswith("triage ")]
    # The bar names the dump it finished last: with two jobs, any of them may come last.
    assert "9/9" in progress[-1] and any("! 202611291530" in line for line in progress)
    # Redrawn in place within the terminal's 64 columns, never padded past them.
    assert max(len(line) for line in progress) <= 64
    assert "SIGNATURES" in captured.out and "15:00 " in captured.out and "UNREADABLE (skipped)" in captured.out
    assert "#1   7 x sysrq triggered crash" in captured.out
    assert "busiest: 15:00-15:59 with 5 crashes" in captured.out
    assert json.loads((out_dir / "triage.json").read_text())["summary"]["dumps"] == 9
    assert (out_dir / "triage.html").read_text().startswith("<!DOCTYPE html>")


def test_no_progress_bar_when_stderr_is_not_a_terminal(sample_tree, capsys):
    assert main(["triage", os.path.join(sample_tree, "202611201502"), "--jobs", "1"]) == 0
    assert "triage " not in capsys.readouterr().err


def test_nothing_to_triage_is_a_usage_error(tmp_path, capsys):
    assert main(["triage", str(tmp_path)]) == 2
    assert "no vmcore or vmcore-dmesg.txt" in capsys.readouterr().err


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path, capsys):
    assert main(["triage", str(tmp_path / "nonexistent")]) == 2
    assert "no such file or directory: " + str(tmp_path / "nonexistent") in capsys.readouterr().err


def test_an_unreadable_dump_makes_the_exit_status_1(tmp_path, capsys):
    crash = tmp_path / "202611281200"
    crash.mkdir()
    (crash / "vmcore").write_bytes(b"not a vmcore at all")
    assert main(["triage", str(tmp_path), "--jobs", "1"]) == 1
    assert "UNREADABLE (skipped)" in capsys.readouterr().out


def test_an_unknown_time_zone_is_a_usage_error(tmp_path, capsys):
    assert main(["triage", str(tmp_path), "--timezone", "Mars/Olympus_Mons"]) == 2
    assert "unknown time zone 'Mars/Olympus_Mons'" in capsys.readouterr().err


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["triage", "--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out and "some dumps were unreadable" in out and "no crash was found" in out


def _dated(name, hour):
    return DumpTriage(name=name, status="ok", crash_time=epoch(2026, 11, 20, hour, 5), crash_time_source="vmcoreinfo")


def test_tied_busiest_hours_are_all_named():
    timeline = build_timeline([_dated("a", 3), _dated("b", 15), _dated("c", 3), _dated("d", 15), _dated("e", 9)])
    assert timeline["busiest_hours"] == [3, 15] and timeline["busiest_hour"] == 3
    assert "03:00-03:59 and 15:00-15:59 with 2 crashes each" in render_text({
        "summary": {"dumps": 5, "read_from_vmcore": 5, "read_from_dmesg": 0, "unreadable": 0, "duplicates": 0,
                    "groups": 0}, "seconds": 0.0, "scheduler": "local:1", "groups": [], "timeline": timeline,
        "dumps": []})
    assert build_timeline([])["busiest_hours"] == [] and build_timeline([])["busiest_hour"] is None
