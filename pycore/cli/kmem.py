"""``pycore kmem DUMP -i | -z | -s``: crash's memory summary, zone statistics and slab caches."""
import argparse
import sys
from typing import Any, Dict, List

from ..kernel import meminfo, sched, slab, vmstat
from .common import add_dump_arguments, open_from_args
from .crashfmt import pages_to_size, percent
from .output import emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kmem", help="memory summary, zones and slab caches (crash's kmem)")
    add_dump_arguments(parser)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("-i", dest="mode", action="store_const", const="info",
                      help="memory usage summary (crash's kmem -i)")
    mode.add_argument("-z", dest="mode", action="store_const", const="zones",
                      help="per-zone statistics and watermarks (crash's kmem -z)")
    mode.add_argument("-s", dest="mode", action="store_const", const="slabs",
                      help="SLUB caches: objects allocated and total, slabs (crash's kmem -s)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    warnings: List[str] = []

    def report(message: str) -> None:
        # As crash's error(INFO, ...): on stderr as it happens, so the listing stays clean on stdout.
        warnings.append(message)
        print(f"kmem: {message}", file=sys.stderr)

    with open_from_args(args) as prog:
        if args.mode in ("info", "zones"):
            info = meminfo.kmem_info(prog) if args.mode == "info" else None
            cpus = sched.nr_cpus(prog)
            zones = [_zone_dict(zone, vmstat.zone_problems(zone, cpus)) for zone in vmstat.zones(prog)]
            for zone in zones:
                for problem in zone["problems"]:
                    report(f"zone {zone['node']}/{zone['name']} at {zone['address']:x}: {problem}")
            if info is None:
                return emit(args, zones, render_zones)
            return emit(args, {**info, "warnings": warnings}, render_info)
        caches = [cache._asdict() for cache in slab.iter_slab_caches(prog, report)]
        return emit(args, {"caches": caches, "warnings": warnings}, lambda data: render_slabs(data["caches"]))


def _zone_dict(zone: vmstat.ZoneInfo, problems: List[str]) -> Dict[str, Any]:
    data = zone._asdict()
    data["populated"] = zone.populated
    data["problems"] = problems
    return data


def render_info(info: Dict[str, Any]) -> str:
    """The ``kmem -i`` table, line for line as crash 9 prints it."""
    page = info["page_size"]
    total = info["total_mem"]
    dashes = "       ----"

    def row(label: str, pages: int, tail: str) -> str:
        return "%13s  %7d  %11s  %s" % (label, pages, pages_to_size(pages, page), tail)

    def share(pages: int, whole: int, of: str) -> str:
        return "%3d%% of %s" % (percent(pages, whole), of)

    lines = ["                 PAGES        TOTAL      PERCENTAGE", row("TOTAL MEM", total, dashes)]
    for label, key in (("FREE", "free"), ("USED", "used"), ("BUFFERS", "buffers"), ("CACHED", "cached"),
                       ("SLAB", "slab")):
        lines.append(row(label, info[key], share(info[key], total, "TOTAL MEM")))
    hugetlb = info["hugetlb"]
    if hugetlb is not None:
        lines += ["", row("TOTAL HUGE", hugetlb["total"], dashes),
                  row("HUGE FREE", hugetlb["free"], share(hugetlb["free"], hugetlb["total"], "TOTAL HUGE"))]
    lines.append("")
    swap = info["swap"]
    if swap is not None:
        lines += [row("TOTAL SWAP", swap["total"], dashes),
                  row("SWAP USED", swap["used"], share(swap["used"], swap["total"], "TOTAL SWAP")),
                  row("SWAP FREE", swap["free"], share(swap["free"], swap["total"], "TOTAL SWAP"))]
    commit = info["commit"]
    if commit is not None:
        lines += ["", row("COMMIT LIMIT", commit["limit"], dashes)]
        if commit["limit"]:
            lines.append(row("COMMITTED", commit["committed"],
                             share(commit["committed"], commit["limit"], "TOTAL LIMIT")))
        else:
            lines.append(row("COMMITTED", commit["committed"], dashes))
    return "\n".join(lines)


def render_zones(zones: List[Dict[str, Any]]) -> str:
    """``kmem -z`` as crash 9 prints it for split zone/node counters (4.8+)."""
    lines = []
    for zone in zones:
        lines.append(f'NODE: {zone["node"]}  ZONE: {zone["index"]}  ADDR: {zone["address"]:x}  '
                     f'NAME: "{zone["name"]}"')
        if not zone["populated"]:
            lines += ["  [unpopulated]", ""]
            continue
        size = f'  SIZE: {zone["spanned_pages"]}'
        if zone["present_pages"] < zone["spanned_pages"]:
            size += f'  PRESENT: {zone["present_pages"]}'
        size += f'  MIN/LOW/HIGH: {zone["watermark_min"]}/{zone["watermark_low"]}/{zone["watermark_high"]}'
        lines += [size, "  VM_STAT:"]
        width = max((len(name) for name in zone["vm_stat"]), default=0)
        lines += [f"{name:>{width}}: {value}" for name, value in zone["vm_stat"].items()]
        lines += ["", ""]
    return "\n".join(lines)


def render_slabs(caches: List[Dict[str, Any]]) -> str:
    """``kmem -s``: crash 9's columns, ``?`` where a cache's slabs could not be counted or its
    slab size is not plausible."""
    lines = ["CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME"]
    for cache in caches:
        head = "%-16x %8d  " % (cache["address"], cache["object_size"])
        if cache["total"] is None:
            counts = "%9s  %8s  %5s  " % ("?", "?", "?")
        else:
            counts = "%9d  %8d  %5d  " % (cache["allocated"], cache["total"], cache["slabs"])
        ssize = "    ?" if cache["slab_size"] is None else f'{cache["slab_size"] // 1024:4d}k'
        lines.append(f'{head}{counts}{ssize}  {cache["name"]}')
    return "\n".join(lines)
