"""The triage report as one self-contained HTML page: inline CSS, charts as inline SVG (crashes per
day, per hour of day), the signature groups and a row per dump linking to its details. No script, no
external resource: the page opens from a mail attachment or a file share as it is. Built from the
JSON document (:meth:`TriageReport.to_dict`), so ``triage.json`` alone is enough to redraw it.
"""
import datetime
from html import escape
from typing import Any, Dict, List, Optional, Sequence

__all__ = ["render_html", "bar_chart"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:20px 28px 60px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:18px;margin:30px 0 10px;border-bottom:1px solid #d5d9df;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.summary{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.stat{background:#fff;border:1px solid #d5d9df;border-radius:6px;padding:8px 14px;min-width:110px}
.stat b{display:block;font-size:22px}.stat.bad b{color:#b42318}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d5d9df}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #e6e8eb}
th{background:#eef0f3;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre{background:#fff;border:1px solid #d5d9df;padding:8px;overflow-x:auto;white-space:pre}
.frames code{display:block}.muted{color:#5b6572}.err{color:#b42318}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{background:#fff;border:1px solid #d5d9df;border-radius:6px;padding:10px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#e6e8eb}
.badge.ok{background:#d1fadf}.badge.dmesg{background:#fef0c7}.badge.error{background:#fee4e2}
section.dump{background:#fff;border:1px solid #d5d9df;border-radius:6px;padding:4px 14px 10px;margin:14px 0}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:6px 0}dt{font-weight:600}dd{margin:0}
a{color:#175cd3}
td.nowrap{white-space:nowrap}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str, width: int = 560, height: int = 220,
              highlight: Optional[int] = None, label_every: int = 1) -> str:
    """A vertical bar chart as an inline ``<svg>``: a bar per label, its count above it, a ``<title>``
    on each bar for the exact label and value."""
    margin_left, margin_bottom, margin_top = 34, 42, 22
    plot_w, plot_h = width - margin_left - 8, height - margin_bottom - margin_top
    top = max(max(values, default=0), 1)
    step = plot_w / max(len(values), 1)
    bar_w = max(step * 0.72, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
             f'<text x="{margin_left}" y="14" font-size="13" font-weight="600" fill="#1d232a">{_e(title)}</text>']
    for tick in sorted({0, top // 2, top}):
        y = margin_top + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{margin_left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e8eb"/>'
                     f'<text x="{margin_left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#5b6572">{tick}</text>')
    for index, (label, value) in enumerate(zip(labels, values)):
        x = margin_left + index * step + (step - bar_w) / 2
        bar_h = plot_h * value / top
        y = margin_top + plot_h - bar_h
        color = "#d92d20" if highlight is not None and index == highlight and value else "#2e90fa"
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                     f'fill="{color}"><title>{_e(label)}: {value}</title></rect>')
        if value:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle" '
                         f'fill="#1d232a">{value}</text>')
        if index % label_every == 0:
            lx, ly = x + bar_w / 2, margin_top + plot_h + 14
            if len(label) > 3:
                parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="end" fill="#5b6572" '
                             f'transform="rotate(-35 {lx:.1f} {ly:.1f})">{_e(label)}</text>')
            else:
                parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="11" text-anchor="middle" '
                             f'fill="#5b6572">{_e(label)}</text>')
    parts.append(f'<line x1="{margin_left}" x2="{width - 8}" y1="{margin_top + plot_h}" y2="{margin_top + plot_h}" '
                 f'stroke="#98a2b3"/></svg>')
    return "".join(parts)


def _day_series(per_day: Dict[str, int]) -> List[List[Any]]:
    """Every day from the first crash to the last, so quiet days show as gaps (at most 120 days)."""
    if not per_day:
        return []
    days = sorted(per_day)
    first, last = datetime.date.fromisoformat(days[0]), datetime.date.fromisoformat(days[-1])
    if (last - first).days > 120:
        return [[day, per_day[day]] for day in days]
    series = []
    day = first
    while day <= last:
        series.append([day.isoformat(), per_day.get(day.isoformat(), 0)])
        day += datetime.timedelta(days=1)
    return series


def _frames(frames: Sequence[str]) -> str:
    return "".join(f"<code>{_e(frame)}</code>" for frame in frames) or '<span class="muted">none</span>'


def render_html(data: Dict[str, Any]) -> str:
    """The page for a triage JSON document."""
    summary, timeline, groups, dumps = data["summary"], data["timeline"], data["groups"], data["dumps"]
    anchor = {dump["name"]: f"dump-{index}" for index, dump in enumerate(dumps, start=1)}
    group_of = {name: group for group in groups for name in group["dumps"]}
    tz = timeline.get("timezone", "UTC")
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<title>pycore triage: {summary["dumps"]} dumps, {summary["groups"]} signatures</title>',
           f"<style>{_CSS}</style></head><body><main>",
           '<h1>Crash triage</h1>',
           f'<p class="muted">pycore triage, {_e(data.get("generated"))}, {_e(data.get("scheduler"))}, '
           f'{data.get("seconds", 0):.1f} s. Times in {_e(tz)}.</p>',
           '<div class="summary">']
    for label, value, bad in (("dumps", summary["dumps"], False), ("signatures", summary["groups"], False),
                              ("read from vmcore", summary["read_from_vmcore"], False),
                              ("from vmcore-dmesg.txt", summary["read_from_dmesg"], False),
                              ("unreadable", summary["unreadable"], summary["unreadable"] > 0),
                              ("duplicate copies", summary["duplicates"], False)):
        out.append(f'<div class="stat{" bad" if bad else ""}"><b>{value}</b>{_e(label)}</div>')
    out.append("</div>")

    out.append('<h2 id="groups">Crash signatures</h2>')
    if groups:
        out.append('<table class="groups"><thead><tr><th>#</th><th>Dumps</th><th>Reason</th><th>Top frames</th>'
                   '<th>Kernels</th><th>First</th><th>Last</th></tr></thead><tbody>')
        for number, group in enumerate(groups, start=1):
            links = ", ".join(f'<a href="#{anchor[name]}">{_e(name)}</a>' for name in group["dumps"])
            out.append(
                f'<tr id="group-{_e(group["id"])}"><td class="n">{number}</td>'
                f'<td class="n"><b>{group["count"]}</b></td>'
                f'<td><b>{_e(group["example_reason"])}</b><div class="muted"><code>{_e(group["signature"])}</code>'
                f'</div><div>{links}</div></td>'
                f'<td class="frames">{_frames(group["frames"])}</td><td>{_e(", ".join(group["kernels"]))}</td>'
                f'<td>{_e(_short(group["first"]))}</td><td>{_e(_short(group["last"]))}</td></tr>')
        out.append("</tbody></table>")
    else:
        out.append('<p class="muted">No readable crash.</p>')

    out.append('<h2 id="timeline">Timeline</h2><div class="charts">')
    series = _day_series(timeline["per_day"])
    every = max(1, len(series) // 20)
    out.append('<div class="chart" id="per-day">' + bar_chart(
        [day for day, _ in series], [count for _, count in series], title=f"Crashes per day ({tz})",
        width=max(560, min(1100, 40 + 22 * len(series))), label_every=every) + "</div>")
    busiest = timeline.get("busiest_hour")
    out.append('<div class="chart" id="per-hour">' + bar_chart(
        [f"{hour:02d}" for hour in range(24)], timeline["per_hour"], title=f"Crashes by hour of day ({tz})",
        highlight=busiest) + "</div></div>")
    notes = []
    if busiest is not None:
        notes.append(f"Busiest hour: {busiest:02d}:00-{busiest:02d}:59 with {timeline['per_hour'][busiest]} "
                     f"crash{'es' if timeline['per_hour'][busiest] != 1 else ''}.")
    if timeline.get("undated"):
        notes.append(f"{timeline['undated']} crash(es) without a known time are not charted.")
    sources = ", ".join(f"{count} from {source}" for source, count in sorted(timeline.get("time_sources", {}).items()))
    if sources:
        notes.append(f"Crash times: {sources}.")
    out.append(f'<p class="muted">{_e(" ".join(notes))}</p>')

    out.append('<h2 id="dumps">Dumps</h2><table class="dumps"><thead><tr><th>Dump</th><th>Crash time</th>'
               '<th>Status</th><th>Kernel</th><th>Task</th><th>Reason</th><th>Group</th></tr></thead><tbody>')
    for dump in dumps:
        group = group_of.get(dump["name"])
        group_link = (f'<a href="#group-{_e(group["id"])}">#{groups.index(group) + 1}</a>' if group else "")
        reason = dump["reason"] if dump["status"] != "error" else "; ".join(dump["errors"])
        duplicate = (f' <span class="muted">(copy of {_e(dump["duplicate_of"])})</span>'
                     if dump.get("duplicate_of") else "")
        out.append(
            f'<tr><td><a href="#{anchor[dump["name"]]}">{_e(dump["name"])}</a>{duplicate}</td>'
            f'<td class="nowrap">{_e(_short(dump["crash_time_iso"]))}<br><span class="muted">{_e(dump["crash_time_source"] or "")}'
            f'</span></td><td><span class="badge {_e(dump["status"])}">{_e(_status(dump["status"]))}</span></td>'
            f'<td>{_e(dump["kernel_release"])}</td><td class="nowrap">{_e(_task(dump["task"]))}</td>'
            f'<td class="{"err" if dump["status"] == "error" else ""}">{_e(reason)}</td><td>{group_link}</td></tr>')
    out.append("</tbody></table>")

    out.append('<h2 id="details">Details</h2>')
    for dump in dumps:
        out.append(f'<section class="dump" id="{anchor[dump["name"]]}"><h3>{_e(dump["name"])} '
                   f'<span class="badge {_e(dump["status"])}">{_e(_status(dump["status"]))}</span></h3><dl>')
        rows = [("Reason", dump["reason"]), ("Panic", dump["panic"]), ("Signature", dump["signature"]),
                ("Task", _task(dump["task"]) + (f" (from the {dump['task_source']})" if dump["task_source"] else "")),
                ("Kernel", dump["kernel_release"]), ("Crash time", f'{dump["crash_time_iso"] or "unknown"}'
                                                                  f' ({dump["crash_time_source"] or "no source"})'),
                ("Format", dump["format"]), ("Log read from", dump["log_source"]), ("Vmcore", dump["vmcore"]),
                ("Text log", dump["dmesg"]), ("Host", dump["host"]), ("Copy of", dump.get("duplicate_of")),
                ("Analysis", f'{dump["seconds"]:.2f} s')]
        for label, value in rows:
            if value:
                out.append(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>")
        out.append("</dl>")
        if dump["errors"]:
            out.append('<div class="err"><b>Errors</b><ul>' +
                       "".join(f"<li>{_e(error)}</li>" for error in dump["errors"]) + "</ul></div>")
        if dump["backtrace"]:
            out.append(f'<b>Backtrace</b> <span class="muted">(from the {_e(dump["backtrace_source"])})</span>'
                       f'<pre>{_e(chr(10).join(dump["backtrace"]))}</pre>')
        if dump["events"]:
            out.append("<b>Events in the log</b><ul>" + "".join(
                f'<li>[{_e(event["severity"])}] {_e(event["title"])}'
                f'{" x" + str(event["count"]) if event["count"] > 1 else ""}</li>' for event in dump["events"]) + "</ul>")
        if dump["log_excerpt"]:
            out.append(f'<b>Crash report</b><pre>{_e(chr(10).join(dump["log_excerpt"]))}</pre>')
        out.append('<p><a href="#groups">back to the signatures</a></p></section>')
    out.append("</main></body></html>\n")
    return "\n".join(out)


def _short(iso: Optional[str]) -> str:
    return iso.replace("T", " ")[:19] if iso else ""


def _status(status: str) -> str:
    return {"ok": "vmcore", "dmesg": "dmesg only", "error": "unreadable"}.get(status, status)


def _task(task: Optional[Dict[str, Any]]) -> str:
    if not task:
        return ""
    cpu = f" on CPU {task['cpu']}" if task.get("cpu") is not None else ""
    return f"{task.get('comm')} (pid {task.get('pid')}){cpu}"
