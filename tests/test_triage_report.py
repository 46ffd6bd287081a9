"""The triage HTML report rendered by headless Chromium (the page a person opens), the same triage on a
local Dask cluster as in local processes, and triage of the real-kernel corpus dumps."""
import datetime
import html
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


# --- the charts' layout in the browser --------------------------------------------------------------

# Runs in the rendered page: every chart's texts and bars as the browser laid them out. A text or bar
# outside its SVG is cut off; two boxes that intersect are drawn over each other; an SVG wider than
# its box or the window is cut off or scrolls. The verdict goes into the DOM for --dump-dom.
_LAYOUT_PROBE = """<script>
(function () {
  const problems = [], checked = {};
  const name = (el) => el.tagName + '.' + el.getAttribute('class') + ' "' + el.textContent.trim().slice(0, 40) + '"';
  const outside = (r, f) => r.left < f.left - 0.5 || r.right > f.right + 0.5 || r.top < f.top - 0.5 || r.bottom > f.bottom + 0.5;
  document.querySelectorAll('.chart').forEach((chart) => {
    const svg = chart.querySelector('svg'), frame = svg.getBoundingClientRect();
    if (outside(frame, chart.getBoundingClientRect())) problems.push(chart.id + ': the chart is wider than its box');
    if (frame.right > document.documentElement.clientWidth + 0.5) problems.push(chart.id + ': the chart runs off the page');
    const boxes = [];
    svg.querySelectorAll('text, rect.bar').forEach((el) => {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) return;  // a bar of 0 crashes
      boxes.push([name(el), box]);
      if (outside(box, frame)) problems.push(chart.id + ': cut off: ' + name(el));
    });
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i][1], b = boxes[j][1];
        const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (width > 0.5 && height > 0.5) problems.push(chart.id + ': ' + boxes[i][0] + ' over ' + boxes[j][0]);
      }
    }
    checked[chart.id] = boxes.map((entry) => entry[0].split(' ')[0]);
  });
  const report = document.createElement('pre');
  report.id = 'layout-probe';
  report.textContent = JSON.stringify({problems: problems, checked: checked});
  document.body.appendChild(report);
})();
</script>"""


def _laid_out(page, tmp_path, window):
    """The probe's verdict on ``page`` rendered by Chromium in a window ``window`` pixels wide."""
    probed = tmp_path / f"probed-{window}.html"
    probed.write_text(page.replace("</body>", _LAYOUT_PROBE + "</body>"))
    dom = _chromium(f"--window-size={window},2400", "--dump-dom", probed.as_uri()).stdout
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, re.S)
    assert found, "the layout probe did not run"
    return json.loads(html.unescape(found.group(1)))


def _document(per_day, per_hour, tz="UTC"):
    """A triage JSON document with only what the charts show."""
    busiest = [hour for hour in range(24) if per_hour[hour] == max(per_hour)] if any(per_hour) else []
    return {"generated": "2026-12-01T15:00:00+00:00", "scheduler": "local:2", "seconds": 1.0,
            "summary": {"dumps": sum(per_hour), "read_from_vmcore": sum(per_hour), "read_from_dmesg": 0,
                        "unreadable": 0, "duplicates": 0, "groups": 0},
            "groups": [], "dumps": [],
            "timeline": {"timezone": tz, "per_day": per_day, "per_hour": per_hour, "undated": 0,
                         "time_sources": {"vmcoreinfo": sum(per_hour)}, "busiest_hours": busiest,
                         "busiest_hour": busiest[0] if busiest else None}}


def _days(first, counts):
    start = datetime.date.fromisoformat(first)
    return {(start + datetime.timedelta(days=index)).isoformat(): count for index, count in enumerate(counts) if count}


LAYOUTS = {
    "a week": _document(_days("2026-11-20", [1, 1, 0, 1, 1, 0, 1, 1]), [0, 0, 0, 1] + [0] * 11 + [5] + [0] * 8),
    "a quarter, big counts, a long zone name": _document(
        _days("2026-01-01", [(day * 37) % 11 for day in range(100)] + [1234]),
        [1209 if hour in (3, 15) else (hour * 53) % 17 for hour in range(24)],
        tz="America/Argentina/ComodRivadavia"),
    "one day, one crash": _document({"2026-11-26": 1}, [0] * 14 + [1] + [0] * 9),
    "nothing dated": _document({}, [0] * 24),
}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("window", [1280, 480])
@pytest.mark.parametrize("case", sorted(LAYOUTS))
def test_chart_titles_labels_and_bars_neither_overlap_nor_are_cut_off(case, window, tmp_path):
    verdict = _laid_out(render_html(LAYOUTS[case]), tmp_path, window)
    assert verdict["problems"] == []
    # The probe saw the charts' parts: a title each, the hour labels, and a bar wherever there were crashes.
    assert sorted(verdict["checked"]) == ["per-day", "per-hour"]
    hour_parts = verdict["checked"]["per-hour"]
    assert hour_parts.count("text.title") == 1 and hour_parts.count("text.label") == 24
    assert hour_parts.count("rect.bar") == sum(1 for count in LAYOUTS[case]["timeline"]["per_hour"] if count)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_sample_report_lays_out_cleanly(written_report, tmp_path):
    verdict = _laid_out((written_report / "triage.html").read_text(), tmp_path, 1280)
    assert verdict["problems"] == []
    assert verdict["checked"]["per-day"].count("text.value") == 6  # a count over each day with a crash


def test_tied_busiest_hours_are_all_highlighted_and_named():
    page = render_html(LAYOUTS["a quarter, big counts, a long zone name"])
    per_hour = re.search(r'<div class="chart" id="per-hour">.*?</svg>', page, re.S).group(0)
    assert per_hour.count('fill="#d92d20"') == 2
    assert "Busiest hours: 03:00-03:59 and 15:00-15:59 with 1209 crashes each." in page
