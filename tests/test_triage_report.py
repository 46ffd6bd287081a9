"""The triage HTML report rendered by headless Chromium (the page a person opens), the same triage on a
local Dask cluster as in local processes, and triage of the real-kernel corpus dumps."""
import json
import os
import re
import shutil
import subprocess

import pytest

import pycore
from pycore.analysis.crash_report import crash_signature
from pycore.analysis.triage import triage
from pycore.analysis.triage_analyze import _backtrace_from_unwinder
from pycore.cli.triage_html import render_html
from pycore.cli import main

from triage.crash_tree import CORPUS_TREE, build_corpus_tree, build_sample_tree, corpus_available

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def sample_tree(tmp_path_factory):
    return build_sample_tree(str(tmp_path_factory.mktemp("crash")))


@pytest.fixture(scope="module")
def written_report(sample_tree, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("report")
    # The sample tree holds two unreadable dumps: exit status 1.
    assert main(["triage", sample_tree, "--output-dir", str(out_dir), "--jobs", "2", "--json"]) == 1
    return out_dir


def _volatile_free(data):
    data = json.loads(json.dumps(data))
    for key in ("generated", "scheduler", "seconds"):
        data.pop(key)
    for dump in data["dumps"]:
        dump.pop("seconds")
    return data


def test_the_page_is_self_contained(written_report):
    page = (written_report / "triage.html").read_text()
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    # The only URL on the page is the SVG namespace.
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    data = json.loads((written_report / "triage.json").read_text())
    assert render_html(data) == page


def _chromium(*args, timeout=90):
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-dev-shm-usage", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_renders_the_groups_charts_and_dump_rows(written_report):
    url = (written_report / "triage.html").as_uri()
    dom = _chromium("--dump-dom", url).stdout
    assert "<h1>Crash triage</h1>" in dom
    groups = re.search(r'<table class="groups">.*?</table>', dom, re.S).group(0)
    assert groups.count("<tr id=\"group-") == 1
    assert "sysrq triggered crash" in groups and "write_sysrq_trigger" in groups
    per_hour = re.search(r'<div class="chart" id="per-hour">.*?</svg>', dom, re.S).group(0)
    assert per_hour.count('class="bar"') == 24
    assert "<title>15: 5</title>" in per_hour and "<title>03: 1</title>" in per_hour
    per_day = re.search(r'<div class="chart" id="per-day">.*?</svg>', dom, re.S).group(0)
    # Every day from the first crash to the last, quiet days included.
    assert per_day.count('class="bar"') == 8 and "<title>2026-11-22: 0</title>" in per_day
    rows = re.search(r'<table class="dumps">.*?</table>', dom, re.S).group(0)
    assert rows.count("<tr>") == 1 + 9
    for anchor in re.findall(r'href="#(dump-\d+)"', rows):
        assert f'id="{anchor}"' in dom
    assert "not a vmcore" in rows and "unreadable" in rows


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_takes_a_screenshot_of_the_report(written_report):
    shot = written_report / "triage.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,1800", (written_report / "triage.html").as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1800) and len(data) > 50_000  # a blank page compresses to a few KB


def test_dask_cluster_gives_the_same_triage_as_local_processes(sample_tree):
    distributed = pytest.importorskip("distributed")
    local = triage([sample_tree], jobs=2, timeout=120)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote = triage([sample_tree], scheduler=cluster.scheduler_address, timeout=120)
    assert remote.scheduler.startswith("dask:tcp://127.0.0.1:")
    assert _volatile_free(remote.to_dict()) == _volatile_free(local.to_dict())


def test_dask_scheduler_from_the_command_line(sample_tree, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert main(["triage", sample_tree, "--json", "--scheduler", cluster.scheduler_address]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["scheduler"].startswith("dask:") and data["summary"]["groups"] == 1


# --- the real-kernel corpus ----------------------------------------------------------------------

real_corpus = pytest.mark.skipif(not corpus_available(), reason="the real-kernel corpus is absent "
                                 "(bash testdata/corpus/build.sh)")


@pytest.fixture(scope="module")
def corpus_report(tmp_path_factory):
    if not corpus_available():
        pytest.skip("the real-kernel corpus is absent (bash testdata/corpus/build.sh)")
    root = build_corpus_tree(build_sample_tree(str(tmp_path_factory.mktemp("fleet"))))
    return triage([root], jobs=2, timeout=300)


@pytest.mark.real
@real_corpus
def test_sysrq_crashes_of_both_kernels_group_together_and_oom_panics_apart(corpus_report):
    assert len(corpus_report.groups) == 2
    sysrq, oom = corpus_report.groups
    assert sysrq["frames"] == ["sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger"]
    assert "10.0.0.7-2026-11-26-01:14:38" in sysrq["dumps"] and "202611301501" in sysrq["dumps"]
    assert sysrq["count"] == 9
    assert sorted(oom["dumps"]) == ["10.0.0.8-2026-11-26-01:17:26", "202611260115"]
    assert oom["reason"] == "Out of memory: system-wide panic_on_oom is enabled"
    # 6.12's allocators are *_noprof: the same path once normalized.
    assert oom["frames"] == ["out_of_memory", "__alloc_pages_slowpath", "__alloc_pages"]
    assert sorted(oom["kernels"]) == ["6.1.0-56-cloud-amd64", "6.12.117+deb13-cloud-amd64"]


@pytest.mark.real
@real_corpus
def test_corpus_dumps_name_the_task_and_time(corpus_report):
    from pycore.analysis.triage_analyze import _task_from_dump

    dumps = {dump.name: dump for dump in corpus_report.dumps}
    for name in ("10.0.0.8-2026-11-26-01:17:26", "202611260115", "10.0.0.7-2026-11-26-01:14:38"):
        dump = dumps[name]
        assert dump.task_source == "log" and dump.task["comm"] in ("dd", "init")
        # The log's "CPU: N PID: N Comm:" line and the dump's scheduler state name the same task.
        with pycore.open(dump.vmcore) as prog:
            assert _task_from_dump(prog) == dump.task
    assert dumps["202611260115"].format == "kdump"  # flattened, reassembled on the fly
    qemu = dumps["202611301501"]
    assert qemu.crash_time_source == "directory"  # QEMU's dump-guest-memory writes no CRASHTIME
    # Six at 15:0x (five sample copies, the QEMU dump's directory); three corpus dumps whenever they
    # were built; the sample copy filed twice counts once.
    assert corpus_report.timeline["per_hour"][15] == 6 and sum(corpus_report.timeline["per_hour"]) == 10


@pytest.mark.real
@real_corpus
@pytest.mark.parametrize("entry", CORPUS_TREE, ids=[entry["dump"] for entry in CORPUS_TREE])
def test_the_unwinder_agrees_with_the_logged_trace(entry, corpus_report):
    pytest.importorskip("pycore.kernel.stack", reason="the ORC unwinder (pycore/kernel/stack.py) is absent")

    dump = next(d for d in corpus_report.dumps if d.name == entry["dir"])
    with pycore.open(dump.vmcore) as prog:
        frames = _backtrace_from_unwinder(prog, dump.task["cpu"])
    assert crash_signature(dump.reason, frames)[0] == dump.signature


@pytest.mark.real
@real_corpus
def test_every_corpus_format_of_one_crash_is_one_crash(tmp_path):
    from triage.crash_tree import CORPUS

    paths = [os.path.join(CORPUS, "6.1-oom-l5", name) for name in sorted(os.listdir(os.path.join(CORPUS, "6.1-oom-l5")))
             if name.startswith("vmcore")]
    report = triage(paths, jobs=2, timeout=300)
    assert [dump.status for dump in report.dumps] == ["ok"] * len(paths)
    assert len(report.groups) == 1 and report.groups[0]["crashes"] == 1
    assert sum(report.timeline["per_hour"]) == 1
