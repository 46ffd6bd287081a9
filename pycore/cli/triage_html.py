"""The triage report as one self-contained HTML page: inline CSS, charts as inline SVG (crashes per day,
per hour of day), the signature groups and a row per dump linking to its details. No script, no
external resource: the page opens from a mail attachment or a file share as it is. Built from the
JSON document (:meth:`TriageReport.to_dict`), so ``triage.json`` alone is enough to redraw it.

The page is the jinja2 template ``templates/triage.html.j2``; this module computes what the template
places: the chart geometry, sized from the text it has to hold so that no label overlaps another,
a bar or the title, and none is cut off at the chart's edge.
"""
import datetime
import functools
import math
from typing import Any, Dict, List, Optional, Sequence

__all__ = ["render_html", "bar_chart", "busiest_hours_text"]

# Glyph widths as a share of the font size, at most what DejaVu Sans and the usual UI fonts draw
# (DejaVu Sans digits are 0.64 em): labels are placed from these estimates.
_EM_DIGIT = 0.66
_EM_TEXT = 0.62
TITLE_FONT, VALUE_FONT, TICK_FONT, LABEL_FONT = 13, 11, 11, 10



@functools.lru_cache(maxsize=None)
def _environment() -> Any:
    # jinja2 is imported here, not at module load: every pycore command imports this module through
    # the parser, and jinja2 costs ~95 ms of start-up that only an HTML report needs.
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("pycore.cli", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def _text_width(text: str, font_size: float) -> float:
    return sum(_EM_DIGIT if char.isdigit() else _EM_TEXT for char in text) * font_size


def bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str, width: int = 560, height: int = 230,
              highlight: Sequence[int] = (), axis_labels: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The geometry of a vertical bar chart for the template's ``bar_chart`` macro: a bar per label with
    its count above it (when the counts fit their bars' width), ``axis_labels`` (default ``labels``)
    under the bars as often as they fit side by side, bars of ``highlight`` in red.

    The margins come from the text: the title's height above the tallest count, the widest tick on
    the left, half a label on the right; the chart widens to hold its title."""
    axis_labels = list(labels if axis_labels is None else axis_labels)
    top = max(max(values, default=0), 1)
    ticks = sorted({0, top // 2, top})
    margin_left = math.ceil(max(_text_width(str(tick), TICK_FONT) for tick in ticks)) + 12
    widest_label = max((_text_width(label, LABEL_FONT) for label in axis_labels), default=0)
    margin_right = max(8, math.ceil(widest_label / 2) + 2)
    title_baseline = TITLE_FONT + 3
    # The tallest bar's count sits above the plot: leave its height below the title's descent.
    margin_top = title_baseline + 5 + VALUE_FONT + 6
    margin_bottom = LABEL_FONT + 15
    width = max(width, math.ceil(_text_width(title, TITLE_FONT)) + margin_left + 8)
    plot_w, plot_h = width - margin_left - margin_right, height - margin_bottom - margin_top
    step = plot_w / max(len(values), 1)
    bar_w = max(step * 0.72, 1)
    show_values = max((_text_width(str(value), VALUE_FONT) for value in values), default=0) <= step - 2
    label_every = max(1, math.ceil((widest_label + 6) / step))
    baseline = margin_top + plot_h
    bars = []
    for index, (label, value) in enumerate(zip(labels, values)):
        x = margin_left + index * step + (step - bar_w) / 2
        bar_h = plot_h * value / top
        bars.append({"x": x, "y": baseline - bar_h, "width": bar_w, "height": bar_h, "center": x + bar_w / 2,
                     "label": label, "value": value, "hot": index in highlight and value > 0,
                     "show_value": show_values and value > 0,
                     "axis_label": axis_labels[index] if index % label_every == 0 else None})
    return {"title": title, "width": width, "height": height, "title_baseline": title_baseline,
            "left": margin_left, "right": width - margin_right, "baseline": baseline,
            # Below the "0" tick's descent: the first label may reach left past the plot's edge.
            "label_baseline": baseline + LABEL_FONT + 8, "fonts": {"title": TITLE_FONT, "value": VALUE_FONT,
                                                                  "tick": TICK_FONT, "label": LABEL_FONT},
            "ticks": [{"value": tick, "y": baseline - plot_h * tick / top} for tick in ticks], "bars": bars}


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


def busiest_hours_text(timeline: Dict[str, Any]) -> str:
    """``15:00-15:59 with 5 crashes``, or every tied hour: ``03:00-03:59 and 15:00-15:59 with 2 crashes
    each``; empty when no crash has a known time."""
    hours = timeline.get("busiest_hours") or []
    if not hours:
        return ""
    count = timeline["per_hour"][hours[0]]
    spans = [f"{hour:02d}:00-{hour:02d}:59" for hour in hours]
    listed = spans[0] if len(spans) == 1 else ", ".join(spans[:-1]) + " and " + spans[-1]
    return f"{listed} with {count} crash{'es' if count != 1 else ''}{' each' if len(spans) > 1 else ''}"


def _short(iso: Optional[str]) -> str:
    return iso.replace("T", " ")[:19] if iso else ""


def _status(status: str) -> str:
    return {"ok": "vmcore", "dmesg": "dmesg only", "error": "unreadable"}.get(status, status)


def _task(task: Optional[Dict[str, Any]]) -> str:
    if not task:
        return ""
    cpu = f" on CPU {task['cpu']}" if task.get("cpu") is not None else ""
    return f"{task.get('comm')} (pid {task.get('pid')}){cpu}"


def render_html(data: Dict[str, Any]) -> str:
    """The page for a triage JSON document."""
    timeline, groups, dumps = data["timeline"], data["groups"], data["dumps"]
    tz = timeline.get("timezone", "UTC")
    series = _day_series(timeline["per_day"])
    span = f", {series[0][0]} to {series[-1][0]}" if len(series) > 1 else (f", {series[0][0]}" if series else "")
    per_day = bar_chart([day for day, _ in series], [count for _, count in series],
                        axis_labels=[day[5:] for day, _ in series], title=f"Crashes per day ({tz}){span}",
                        width=max(560, min(1100, 40 + 22 * len(series))))
    per_hour = bar_chart([f"{hour:02d}" for hour in range(24)], timeline["per_hour"],
                         title=f"Crashes by hour of day ({tz})", highlight=timeline.get("busiest_hours") or [])
    notes = []
    busiest = busiest_hours_text(timeline)
    if busiest:
        notes.append(f"Busiest hour{'s' if len(timeline['busiest_hours']) > 1 else ''}: {busiest}.")
    if timeline.get("undated"):
        notes.append(f"{timeline['undated']} crash(es) without a known time are not charted.")
    sources = ", ".join(f"{count} from {source}" for source, count in sorted(timeline.get("time_sources", {}).items()))
    if sources:
        notes.append(f"Crash times: {sources}.")
    return _environment().get_template("triage.html.j2").render(
        data=data, summary=data["summary"], groups=groups, dumps=dumps, tz=tz, per_day=per_day, per_hour=per_hour,
        notes=" ".join(notes), anchor={dump["name"]: f"dump-{index}" for index, dump in enumerate(dumps, start=1)},
        group_number={name: number for number, group in enumerate(groups, start=1) for name in group["dumps"]},
        group_id={name: group["id"] for group in groups for name in group["dumps"]},
        short=_short, status=_status, task=_task)
