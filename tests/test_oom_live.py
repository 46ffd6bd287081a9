"""The OOM accounting from a dump's live structures, against crash's ps and the printed report."""
import os

import pytest

import pycore
from pycore.analysis.oom import autopsy, parse_oom_reports
from pycore.analysis.oom_live import live_oom_report, memory_cgroups
from pycore.analysis.source import load_log
from pycore.cli import main

from corpus import SAMPLE, cases

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
OOM_CASES = [c for c in cases() if c.manifest.get("scenario") == "oom"]


def crash_ps_rss_kb(case):
    """PID -> RSS (KiB) from crash's ps."""
    rows = {}
    for line in case.reference("ps").splitlines()[1:]:
        fields = line.lstrip(">").split()
        rows[int(fields[0])] = int(fields[7])
    return rows


@pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")
def test_live_accounting_adds_up_on_a_dump_without_oom(capsys):
    with pycore.open(SAMPLE_DUMP) as prog:
        result = autopsy(live_oom_report(prog))
    assert result.total_kb == sum(p.kb for p in result.parts) + result.unaccounted_kb
    assert 0 <= result.unaccounted_kb < result.total_kb * 0.1
    assert main(["oom", SAMPLE_DUMP]) == 0
    out = capsys.readouterr().out
    assert "no oom-killer reports" in out and "Memory when the dump was taken" in out
    assert "Trigger:" not in out


@pytest.mark.real
@pytest.mark.parametrize("case", OOM_CASES, ids=lambda c: c.name)
def test_live_task_memory_matches_crash_ps(case):
    dump = next(d["name"] for d in case.dumps() if d["format"] == "kdump")
    with pycore.open(case.path(dump)) as prog:
        report = live_oom_report(prog)
    expected = crash_ps_rss_kb(case)
    page_kb = report.page_size // 1024
    assert report.tasks
    for task in report.tasks:
        assert task.rss_pages * page_kb == expected[task.pid], task.name


@pytest.mark.real
@pytest.mark.parametrize("case", OOM_CASES, ids=lambda c: c.name)
def test_live_counters_agree_with_the_printed_report(case):
    dump = next(d["name"] for d in case.dumps() if d["format"] == "kdump")
    records, prog = load_log(case.path(dump))
    with prog:
        printed = parse_oom_reports(records)[-1]
        live = live_oom_report(prog, printed)
        cgroups = memory_cgroups(prog)
    # The dump was taken moments after the report: the big counters barely moved.
    for name in ("active_anon", "shmem", "pagetables"):
        assert abs(live.counters[name] - printed.counters[name]) <= max(64, printed.counters[name] // 50), name
    assert live.trigger == printed.trigger == "dd"
    a, b = autopsy(live), autopsy(printed)
    assert a.total_kb == b.total_kb
    assert a.total_kb == sum(p.kb for p in a.parts) + a.unaccounted_kb
    assert a.top_tasks[0].name == "dd"
    assert all(c.usage_kb >= 0 and c.path.startswith("/") for c in cgroups)
