"""``pycore oom SOURCE``: an autopsy of every oom-killer report in a kernel log: who
asked, who was killed, and where all the memory was."""
import argparse
import sys
import textwrap
from typing import Any, Dict, List, Optional

from ..analysis.oom import autopsy, parse_oom_reports
from ..analysis.oom_live import live_oom_report, memory_cgroups
from ..analysis.source import load_log
from .common import add_log_source_arguments
from .output import emit, fit_to_width, terminal_width
from .trouble import PLAIN_WIDTH


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "oom", help="explain each oom-killer report in a kernel log",
        description="Parse every oom-killer report (2.6.2x to 6.x formats), decode gfp_mask, account for all "
                    "RAM, list the biggest tasks and say whether processes or the kernel used the memory.")
    add_log_source_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    records, prog = load_log(args.source, args.year, vmlinux=args.vmlinux, system_map=args.system_map)
    reports = parse_oom_reports(records)
    data: Dict[str, Any] = {"source": args.source, "reports": [autopsy(report).to_dict() for report in reports]}
    if prog is not None:
        with prog:
            live = autopsy(live_oom_report(prog, reports[-1] if reports else None)).to_dict()
            live["cgroups"] = [vars(cgroup) for cgroup in memory_cgroups(prog)]
            data["live"] = live
    width = terminal_width(sys.stdout)
    return emit(args, data, lambda data: render_text(data, width))


def _size(kb: Optional[int]) -> str:
    if kb is None:
        return "?"
    if abs(kb) >= 1024 * 1024:
        return f"{kb / 1048576:.2f} GiB"
    if abs(kb) >= 1024:
        return f"{kb / 1024:.1f} MiB"
    return f"{kb} kB"


def _victim(victim: Optional[Dict[str, Any]]) -> str:
    if victim is None:
        return "none named"
    sizes = ", ".join(f"{label} {_size(victim[key])}" for label, key in (
        ("total-vm", "total_vm_kb"), ("anon-rss", "anon_rss_kb"), ("file-rss", "file_rss_kb"),
        ("shmem-rss", "shmem_rss_kb")) if victim[key] is not None)
    return f"{victim['name']} (pid {victim['pid']})" + (f": {sizes}" if sizes else "")


def _render_one(number: int, total: int, report: Dict[str, Any], width: Optional[int]) -> List[str]:
    lines = [f"OOM report {number} of {total}: {report['first'] or 'no timestamp'} (line {report['first_line']})"]
    trigger = report["trigger"]
    asked = f"  Trigger: {trigger['name'] or '?'}" + (f" (pid {trigger['pid']})" if trigger["pid"] else "")
    if report["order"] is not None:
        asked += f" asked for an order-{report['order']} allocation"
    lines.append(asked)
    gfp = report["gfp_mask"]
    if gfp:
        names = "|".join(gfp["names"]) or "?"
        lines.append(f"  gfp_mask: {gfp['mask']} = {names}  [{gfp['source']}]")
    lines.append(f"  Killed:  {_victim(report['victim'] or report['selected'])}")
    context = [part for part in (report["kernel_version"] and f"kernel {report['kernel_version']}",
                                 report["constraint"]) if part]
    if context:
        lines.append("  Context: " + ", ".join(context))
    memcg = report["memcg"]
    if memcg:
        lines.append(f"  Cgroup:  {memcg['name'] or '?'} used {_size(memcg['usage_kb'])} "
                     f"of limit {_size(memcg['limit_kb'])}")
    if report["accounting"] and report["total_ram_kb"]:
        total_kb = report["total_ram_kb"]
        lines.append(f"  RAM {_size(total_kb)} = {report['pages_ram']} pages of {report['page_size'] // 1024} KiB:")
        rows = report["accounting"] + [{"name": "unaccounted", "kb": report["unaccounted_kb"],
                                         "note": "on no counter the report prints"}]
        for row in rows:
            share = row["kb"] * 100 / total_kb
            lines.append(f"    {row['name']:<24}{_size(row['kb']):>12} {share:6.1f}%  {row['note']}")
    swap = report["swap"]
    if swap["total_kb"] == 0:
        lines.append("  Swap: none")
    elif swap["total_kb"] is not None:
        lines.append(f"  Swap: {_size(swap['used_kb'])} used of {_size(swap['total_kb'])}")
    for zone in report["zones"]:
        where = f"Node {zone['node']} {zone['zone']}" if zone["node"] is not None else zone["zone"]
        lines.append(f"  Zone {where}: free {_size(zone['free_kb'])}, watermarks min {_size(zone['min_kb'])} / "
                     f"low {_size(zone['low_kb'])} / high {_size(zone['high_kb'])}: {zone['state']}")
    if report["top_tasks"]:
        lines.append(f"  Biggest tasks by RSS ({report['tasks_listed']} listed, "
                     f"{_size(report['tasks_rss_kb'])} in all):")
        for task in report["top_tasks"][:8]:
            lines.append(f"    {task['pid']:>8}  {task['name']:<20}{_size(task['rss_kb']):>12}")
    lines.append("")
    lines += textwrap.wrap(report["verdict"], width=width or PLAIN_WIDTH, initial_indent="  ", subsequent_indent="  ")
    return lines


def render_text(data: Dict[str, Any], width: Optional[int] = None) -> str:
    """Every report in turn: trigger, victim, memory accounting, zones, biggest tasks, verdict;
    for a dump, then the same accounting from the structures the dump froze. Fitted to ``width``
    columns when given (a terminal), else the verdict at 100 columns and table rows whole."""
    reports = data["reports"]
    lines: List[str] = []
    if not reports:
        lines.append(f"{data['source']}: no oom-killer reports found in the kernel log.")
    for number, report in enumerate(reports, start=1):
        if lines:
            lines.append("")
        lines += _render_one(number, len(reports), report, width)
    live = data.get("live")
    if live is not None:
        lines += ["", "Memory when the dump was taken (from the kernel's own counters, not the printed report):"]
        body = _render_one(1, 1, live, width)[1:]
        if not reports:  # no printed report to lend the trigger and victim
            body = [line for line in body if not line.startswith(("  Trigger:", "  Killed:"))]
        lines += body
        cgroups = live["cgroups"]
        if cgroups:
            lines.append("  Memory cgroups:")
            for cgroup in sorted(cgroups, key=lambda c: c["usage_kb"], reverse=True)[:10]:
                limit = _size(cgroup["limit_kb"]) if cgroup["limit_kb"] is not None else "no limit"
                lines.append(f"    {cgroup['path']:<40}{_size(cgroup['usage_kb']):>12} of {limit}")
    return "\n".join(fit_to_width(lines, width))
