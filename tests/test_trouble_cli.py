"""``pycore trouble`` and ``pycore oom`` end to end, through ``pycore.cli.main``."""
import io
import json
from pathlib import Path

import pytest

from pycore.cli import main

LOGS = Path(__file__).resolve().parent.parent / "testdata" / "logs"


def run_json(capsys, *argv):
    assert main(list(argv) + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_trouble_json_lists_events_by_severity(capsys):
    data = run_json(capsys, "trouble", str(LOGS / "oops-panic-5.15.log"))
    assert data["summary"]["critical"] == 2
    assert [(event["kind"], event["count"]) for event in data["events"]] == [("oops", 1), ("panic", 1)]
    oops = data["events"][0]
    assert oops["first"] == "7731.220411s after boot" and oops["first_line"] == 1
    assert oops["lines"][0] == "[ 7731.220411] BUG: kernel NULL pointer dereference, address: 0000000000000008"
    assert oops["explanation"] and oops["advice"]


def test_trouble_json_for_syslog_uses_the_year_given(capsys):
    data = run_json(capsys, "trouble", str(LOGS / "lockups-hung-3.10.log"), "--year", "2019")
    hung = next(event for event in data["events"] if event["details"].get("task") == "jbd2/dm-0-8")
    assert (hung["first"], hung["last"], hung["count"]) == ("2019-06-11 02:18:03", "2019-06-11 02:20:03", 2)


def test_trouble_text_groups_by_severity(capsys):
    assert main(["trouble", str(LOGS / "disk-errors-4.15.log")]) == 0
    out = capsys.readouterr().out
    assert out.index("ERROR: 4 events") < out.index("WARNING: 1 event")
    assert "[raid_degraded] md/raid1:md0: Disk failure on sda1, disabling device." in out
    assert "seen 2 times" in out


def test_trouble_text_for_a_benign_log(capsys):
    assert main(["trouble", str(LOGS / "noise-only.log")]) == 0
    out = capsys.readouterr().out
    assert "No trouble found." in out and "NOISE (not trouble): 3 events" in out


def test_trouble_reads_standard_input(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO((LOGS / "seed-guide-panic.log").read_text()))
    data = run_json(capsys, "trouble", "-")
    assert [event["kind"] for event in data["events"]] == ["panic"]


def test_trouble_missing_file_is_an_error_not_a_traceback(capsys, tmp_path):
    assert main(["trouble", str(tmp_path / "missing.log")]) == 1
    assert "pycore trouble: cannot read" in capsys.readouterr().err


def test_oom_json_has_every_report_and_balanced_accounting(capsys):
    data = run_json(capsys, "oom", str(LOGS / "oom-ubuntu-5.4-two-reports.log"))
    assert [report["victim"]["pid"] for report in data["reports"]] == [1876, 3410]
    for report in data["reports"]:
        parts = sum(part["kb"] for part in report["accounting"])
        assert parts + report["unaccounted_kb"] == report["total_ram_kb"] == 1048446 * 4
        assert report["gfp_mask"] == {"mask": "0x100cca", "names": ["GFP_HIGHUSER_MOVABLE"],
                                      "source": "printed", "unknown_bits": "0x0"}
        assert report["top_tasks"][0]["name"] == "mysqld"
        assert report["top_tasks"][0]["rss_kb"] == 903410 * 4


def test_oom_text_for_the_forum_log(capsys):
    assert main(["oom", str(LOGS / "seed-forum-oom-2.6.32.log"), "--year", "2011"]) == 0
    out = capsys.readouterr().out
    assert "OOM report 1 of 1: 2011-01-06 07:32:35 (line 1)" in out
    assert "Trigger: mysqld (pid 13433)" in out
    assert "Killed:  apache2 (pid 13218)" in out
    assert "0x201da = GFP_HIGHUSER_MOVABLE|__GFP_COLD" in out
    assert "unaccounted" in out and "below min" in out


def test_oom_text_when_there_is_none(capsys):
    assert main(["oom", str(LOGS / "boot-clean.log")]) == 0
    assert "no oom-killer reports found" in capsys.readouterr().out


@pytest.mark.parametrize("log, level, status", [
    ("oops-panic-5.15.log", "critical", 3),
    ("disk-errors-4.15.log", "critical", 0),   # errors and a warning, nothing critical
    ("disk-errors-4.15.log", "error", 3),
    ("disk-errors-4.15.log", "warning", 3),
    ("noise-only.log", "warning", 0),          # noise is never trouble
    ("boot-clean.log", "warning", 0),
])
def test_fail_on_exits_3_when_an_event_at_or_above_the_level_is_found(capsys, log, level, status):
    assert main(["trouble", str(LOGS / log), "--fail-on", level]) == status
    assert capsys.readouterr().out  # the report is printed either way


def test_fail_on_applies_to_json_output_too(capsys):
    assert main(["trouble", str(LOGS / "oops-panic-5.15.log"), "--json", "--fail-on", "error"]) == 3
    assert json.loads(capsys.readouterr().out)["summary"]["critical"] == 2


def test_fail_on_takes_only_the_levels_of_trouble(capsys):
    assert main(["trouble", str(LOGS / "noise-only.log"), "--fail-on", "noise"]) == 2


def test_trouble_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["trouble", "--help"])
    out = capsys.readouterr().out
    assert "--fail-on LEVEL" in out and "exit status:" in out and "an event of LEVEL or worse was found" in out


class _Terminal(io.StringIO):
    """Standard output that says it is a terminal."""

    def isatty(self):
        return True


def _words(text):
    """The text without its layout: wrapping may move words, split long ones and add "| " marks."""
    return "".join(word for word in text.split() if word != "|")


@pytest.mark.parametrize("argv", [["trouble", str(LOGS / "lockups-hung-3.10.log"), "--year", "2019"],
                                  ["oom", str(LOGS / "oom-ubuntu-5.4-two-reports.log")]])
def test_text_output_wraps_to_a_narrow_terminal_and_stays_whole_in_a_pipe(capsys, monkeypatch, argv):
    assert main(argv) == 0
    piped = capsys.readouterr().out
    # Piped: log lines and tables whole, as before; prose at 100 columns.
    assert max(len(line) for line in piped.splitlines()) > 100
    monkeypatch.setenv("COLUMNS", "60")
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    assert main(argv) == 0
    narrow = terminal.getvalue()
    assert max(len(line) for line in narrow.splitlines()) <= 60
    assert _words(narrow) == _words(piped)


def test_trouble_titles_reports_and_marks_a_cut_one(capsys):
    data = run_json(capsys, "trouble", str(LOGS / "reports" / "divide-error-1.txt"))
    (oops,) = data["events"]
    assert (oops["title"], oops["corrupted"]) == ("divide error in __tcp_select_window", True)
    assert main(["trouble", str(LOGS / "reports" / "divide-error-1.txt")]) == 0
    assert "[oops] divide error in __tcp_select_window (corrupted: the report was cut short)" in capsys.readouterr().out
    assert main(["trouble", str(LOGS / "reports" / "kasan-2.txt")]) == 0
    out = capsys.readouterr().out
    assert "[kasan] KASAN: slab-use-after-free Read in chrdev_open\n" in out
