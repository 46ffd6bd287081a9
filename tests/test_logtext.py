"""The text-log parser: every supported line format becomes the same LogRecord."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pycore.analysis.grammar import is_report_body
from pycore.analysis.logtext import LogRecord, parse_log, read_log
from pycore.errors import FormatError, PycoreError

LOGS = Path(__file__).resolve().parent.parent / "testdata" / "logs"


def one(line: str, year: int = 2015) -> LogRecord:
    (record,) = parse_log([line], year=year)
    return record


def test_dmesg_boot_timestamp_is_seconds_since_boot():
    record = one("[    1.234567] ata1: SATA link up 6.0 Gbps")
    assert record.timestamp == pytest.approx(1.234567)
    assert record.text == "ata1: SATA link up 6.0 Gbps"
    assert record.wallclock is None and record.program is None and record.from_kernel


def test_dmesg_without_timestamps_keeps_text_as_is():
    record = one("BUG: soft lockup detected on CPU#1!")
    assert record.timestamp is None and record.text == "BUG: soft lockup detected on CPU#1!"


def test_dmesg_T_wallclock_has_date_and_year():
    record = one("[Tue Jan  6 07:32:35 2015] EXT4-fs (md0): re-mounted.")
    assert record.wallclock == datetime(2015, 1, 6, 7, 32, 35)
    assert record.text == "EXT4-fs (md0): re-mounted."


def test_syslog_line_with_kernel_timestamp_from_the_forum_thread():
    record = one("Jan 6 07:32:35 [hostname] kernel: [19650742.227691] mysqld invoked oom-killer: "
                 "gfp_mask=0x201da, order=0, oom_adj=0", year=2011)
    assert record.wallclock == datetime(2011, 1, 6, 7, 32, 35)
    assert record.host == "[hostname]" and record.program == "kernel"
    assert record.timestamp == pytest.approx(19650742.227691)
    assert record.text.startswith("mysqld invoked oom-killer")


def test_journalctl_short_and_iso_formats():
    short = one("Jan 06 07:32:35 web1 kernel: Out of memory: Killed process 1 (x)", year=2015)
    assert short.wallclock == datetime(2015, 1, 6, 7, 32, 35) and short.host == "web1"
    iso = one("2015-01-06T07:32:35+0000 web1 kernel: TCP: Treason uncloaked!")
    assert iso.wallclock == datetime(2015, 1, 6, 7, 32, 35, tzinfo=timezone.utc)
    assert iso.text == "TCP: Treason uncloaked!"
    offset = one("2015-01-06T07:32:35.250000+01:00 web1 kernel: x")
    assert offset.wallclock.utcoffset() == timedelta(hours=1) and offset.wallclock.microsecond == 250000


def test_other_programs_in_syslog_are_not_kernel_lines():
    record = one("Oct  3 09:15:22 edge1 sshd[20331]: error: kex_exchange_identification")
    assert record.program == "sshd" and not record.from_kernel


def test_priority_prefix_and_dmesg_x_give_the_level():
    assert one("<3>[   12.000001] sd 0:0:0:0: [sda] FAILED").level == 3
    record = one("kern  :err   : [   12.000001] Buffer I/O error on dev sda1")
    assert record.level == 3 and record.timestamp == pytest.approx(12.000001)
    assert record.text == "Buffer I/O error on dev sda1"


def test_printk_caller_id_is_removed():
    record = one("[   12.500000][  T123] rcu: INFO: rcu_sched self-detected stall on CPU")
    assert record.text == "rcu: INFO: rcu_sched self-detected stall on CPU"


def test_serial_console_crlf_colour_and_prompt_run_into_kernel_output():
    records = read_log(LOGS / "serial-console.log")
    assert all("\r" not in record.text for record in records)
    assert records[1].text == "  OK  ] Reached target Multi-User System."
    hung = records[5]
    assert hung.text.startswith("INFO: task kworker/u16:2:8812 blocked")
    assert hung.timestamp == pytest.approx(1443.210934)
    assert hung.raw.startswith("db2 login: ")


def test_record_built_by_hand_for_dump_records():
    record = LogRecord(text="Kernel panic - not syncing: Fatal exception", timestamp=7731.2211, level=0, lineno=7)
    assert record.raw == record.text and record.from_kernel
    assert record.when() == "7731.221100s after boot"


def test_line_numbers_count_from_one():
    records = list(parse_log(["a", "b", "c"]))
    assert [record.lineno for record in records] == [1, 2, 3]


def test_binary_file_is_refused_with_the_offset(tmp_path):
    path = tmp_path / "vmcore"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\0" * 64)
    with pytest.raises(FormatError) as caught:
        read_log(path)
    assert caught.value.offset == 7


def test_missing_file_is_a_pycore_error(tmp_path):
    with pytest.raises(PycoreError, match="cannot read"):
        read_log(tmp_path / "nope.log")


@pytest.mark.parametrize("line", [
    " [<ffffffff810f5f54>] oom_kill_process+0xd4/0x2f0",
    "  ? pfifo_fast_enqueue+0x150/0x150",
    " dump_stack_lvl+0x44/0x5c",
    " <TASK>",
    "RAX: 0000000000000010 RBX: 0000000000000063 RCX: 0000000000000000",
    "Modules linked in: foo(OE) xt_conntrack",
    "---[ end trace 3c1e6f7b95d21e4a ]---",
])
def test_report_body_lines(line):
    assert is_report_body(line)


@pytest.mark.parametrize("line", ["Out of memory: Kill process 1 (x)", "ata1: SATA link up", "login:"])
def test_ordinary_lines_are_not_report_body(line):
    assert not is_report_body(line)


def test_dmesg_human_format_prefixes_are_removed_without_inventing_a_boot_time():
    first, second = parse_log(["[Jan 6 07:32] Out of memory: Killed process 1 (x)", "[  +0.000123] oom_reaper: x"])
    assert first.text == "Out of memory: Killed process 1 (x)" and first.timestamp is None
    assert second.text == "oom_reaper: x" and second.timestamp is None
