"""``pycore trouble`` and ``pycore oom`` reading the kernel log out of a vmcore."""
import json
import os

import pytest

from pycore.analysis.oom import autopsy, parse_oom_reports
from pycore.analysis.source import is_dump_file, load_log
from pycore.analysis.trouble import find_trouble
from pycore.cli import main

from corpus import SAMPLE, cases

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
needs_sample = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")
OOM_CASES = [c for c in cases() if c.manifest.get("scenario") == "oom"]


def test_dump_files_are_told_from_text_logs(tmp_path):
    text = tmp_path / "dmesg.txt"
    text.write_text("[    0.000000] Linux version 6.1.0\n")
    assert not is_dump_file(str(text))
    assert not is_dump_file(str(tmp_path / "missing"))
    if os.path.exists(SAMPLE_DUMP):
        assert is_dump_file(SAMPLE_DUMP)


@needs_sample
def test_sample_dump_log_has_one_critical_event_the_sysrq_panic():
    records, prog = load_log(SAMPLE_DUMP)
    prog.close()
    report = find_trouble(records)
    critical = [e for e in report.events if e.severity == "critical"]
    assert [e.kind for e in critical] == ["panic"]
    assert "sysrq triggered crash" in critical[0].title
    assert any("sysrq_handle_crash" in line for line in critical[0].lines)
    # The dump's log is dated from VMCOREINFO's CRASHTIME, so events carry wall-clock times.
    assert critical[0].first is not None and critical[0].first.startswith("20")


@needs_sample
def test_trouble_cli_on_a_dump_gives_json(capsys):
    assert main(["trouble", SAMPLE_DUMP, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["critical"] == 1
    assert data["source"] == SAMPLE_DUMP


@pytest.mark.real
@pytest.mark.parametrize("case", OOM_CASES, ids=lambda c: c.name)
def test_oom_panic_dump_is_explained(case):
    dump = next(d["name"] for d in case.dumps() if d["format"] == "kdump")
    records, prog = load_log(case.path(dump))
    prog.close()
    kinds = {e.kind for e in find_trouble(records).events}
    assert {"oom_kill", "panic"} <= kinds
    reports = parse_oom_reports(records)
    assert reports, "the OOM report in the dump's log was not found"
    result = autopsy(reports[-1])
    assert result.report.trigger == "dd" and result.report.order == 0
    total = sum(part.kb for part in result.parts) + (result.unaccounted_kb or 0)
    assert total == result.total_kb
    assert result.top_tasks[0].name == "dd"
