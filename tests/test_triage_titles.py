"""Triage names each crash by the title of the report that brought the machine down and groups crashes by
that title (numbers and addresses ignored), falling back to the signature when the log shows no report."""
from pathlib import Path

from pycore.analysis.logtext import read_log
from pycore.analysis.triage import group_by_signature
from pycore.analysis.triage_analyze import DumpTriage, analyze_crash
from pycore.analysis.triage_discover import CrashSource
from pycore.analysis.trouble import crash_event, find_trouble

LOGS = Path(__file__).resolve().parent.parent / "testdata" / "logs"


def cause(name: str) -> str:
    return crash_event(find_trouble(read_log(LOGS / name, year=2021))).title


def test_the_crash_is_the_report_a_panic_followed_else_the_panic_else_the_worst():
    assert cause("oops-panic-5.15.log") == "BUG: unable to handle kernel NULL pointer dereference in foo_handler"
    assert cause("reports/kernel-bug-1.txt") == "kernel BUG in xt_rateest_tg_checkentry"
    assert cause("reports/warning-1.txt") == "WARNING in udf_rmdir"
    assert cause("serial-console.log") == "INFO: task hung"
    assert cause("seed-guide-panic.log") == "kernel panic: Aiee, killing interrupt handler!"
    assert cause("reports/kasan-2.txt") == "KASAN: slab-use-after-free Read in chrdev_open"
    assert crash_event(find_trouble(read_log(LOGS / "boot-clean.log", year=2021))) is None


def test_a_text_log_beside_a_crash_gives_its_title(tmp_path):
    crash = tmp_path / "202611201502"
    crash.mkdir()
    (crash / "vmcore-dmesg.txt").write_text((LOGS / "reports" / "kernel-bug-2.txt").read_text())
    result = analyze_crash(CrashSource(name=crash.name, directory=str(crash), dmesg=str(crash / "vmcore-dmesg.txt")))
    assert result.status == "dmesg"
    assert result.title == "kernel BUG in do_journal_end"
    assert result.to_dict()["title"] == result.title


def dump(name: str, title, signature: str) -> DumpTriage:
    return DumpTriage(name=name, status="dmesg", title=title, signature=signature, signature_id=name,
                      reason=signature.split(" @ ")[0])


def test_crashes_group_by_title_whatever_their_backtrace_and_numbers():
    dumps = [dump("a", "KASAN: use-after-free Read in tcp_close", "BUG: KASAN: use-after-free in X @ tcp_close|a"),
             dump("b", "KASAN: use-after-free Read in tcp_close", "BUG: KASAN: use-after-free in X @ tcp_close|b"),
             dump("c", "Out of memory: killed dd (pid 1201)", "Out of memory @ x"),
             dump("d", "Out of memory: killed dd (pid 977)", "Out of memory @ y"),
             dump("e", "WARNING in udf_rmdir", "WARNING @ udf_rmdir"),
             dump("f", None, "sysrq triggered crash @ sysrq_handle_crash"),
             dump("g", None, "sysrq triggered crash @ sysrq_handle_crash")]
    groups = group_by_signature(dumps)
    assert sorted((group["title"] or "", group["dumps"]) for group in groups) == [
        ("", ["f", "g"]),
        ("KASAN: use-after-free Read in tcp_close", ["a", "b"]),
        ("Out of memory: killed dd (pid 1201)", ["c", "d"]),
        ("WARNING in udf_rmdir", ["e"])]
    untitled = next(group for group in groups if group["title"] is None)
    assert untitled["signature"] == "sysrq triggered crash @ sysrq_handle_crash"
