"""``pycore kmem DUMP -i | -z | -s | -S CACHE | -V | -f | -n | -g [FLAGS] | -p [ADDRESS] | ADDRESS``: crash 9's
memory summary, zone statistics, slab caches, the slabs and objects of one cache, the vm_stat and vm_event
counters, the buddy free lists, the memory nodes, sections and blocks, the page flag bits (those set in
FLAGS), the whole mem_map or one page's struct page, and what a kernel address is (kernel symbol, slab
object, task_struct or kernel stack, vmalloc area, and the page behind it).  SPARSEMEM kernels, 5.10 to 7.2."""
import argparse
from dataclasses import asdict
from typing import Any, Dict, List, Optional

from ..errors import FaultError, MissingDebugInfoError, PycoreError
from ..kernel import meminfo, mm, sched, slab, vmalloc, vmstat
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand, make_parser
from . import sym
from .common import parse_address
from .crashfmt import PAGE_HEADER, center, page_columns, pages_to_size, percent

SLAB_HEADER = "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE"
VMAP_HEADER = "   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                SIZE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-i", dest="mode", action="store_const", const="info",
                      help="memory usage summary (crash's kmem -i)")
    mode.add_argument("-z", dest="mode", action="store_const", const="zones",
                      help="per-zone statistics and watermarks (crash's kmem -z)")
    mode.add_argument("-s", dest="mode", action="store_const", const="slabs",
                      help="SLUB caches: objects allocated and total, slabs (crash's kmem -s)")
    mode.add_argument("-V", dest="mode", action="store_const", const="vm_stat",
                      help="the vm_zone_stat, vm_node_stat, vm_numa_stat and vm_event_states counters (crash's kmem -V)")
    mode.add_argument("-f", dest="mode", action="store_const", const="free",
                      help="each zone's buddy free lists, checked against nr_free_pages (crash's kmem -f)")
    mode.add_argument("-g", dest="mode", action="store_const", const="page_flags",
                      help="the bit and value of each page flag, or with a hexadecimal FLAGS value as ADDRESS, "
                           "of the flags set in it (crash's kmem -g [FLAGS])")
    mode.add_argument("-n", dest="mode", action="store_const", const="nodes",
                      help="memory nodes and their zones, the memory sections and the memory blocks "
                           "(crash's kmem -n)")
    mode.add_argument("-p", dest="mode", action="store_const", const="page",
                      help="every struct page of the mem_map, or that of ADDRESS: a page pointer, a physical or "
                           "a kernel virtual address (crash's kmem -p [ADDRESS])")
    mode.add_argument("-S", dest="cache", metavar="CACHE",
                      help="every slab of the cache CACHE and the state of each object (crash's kmem -S)")
    # Not in the group: argparse cannot intermix options with a positional of a group.
    parser.add_argument("address", metavar="ADDRESS", nargs="?", type=parse_address,
                        help="what this address is: symbol, slab object, task, stack, vmalloc area, page (hex; "
                             "physical below the kernel's half)")


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    if args.mode == "page":
        if args.address is None:
            return Collected({"pages": _mem_map(prog)}, [])
        return _page(prog, args.address)
    if args.mode == "page_flags":
        # enum pageflags in the kernel's order, aliases (PG_readahead = PG_reclaim, ...) included.
        flags = [{"name": name, "bit": value} for name, value in prog.type("enum pageflags").resolved().enumerators
                 if name.startswith("PG_")]
        return Collected({"page_flags": flags, "value": args.address or 0}, [])
    if (args.mode is not None or args.cache is not None) == (args.address is not None):
        raise PycoreError("kmem takes one of -i, -z, -s, -S CACHE, -V, -f, -n, -g [FLAGS], -p [ADDRESS] or an ADDRESS")
    if args.mode == "vm_stat":
        return Collected(_vm_stat(prog), [])
    if args.mode == "nodes":
        return Collected(_memory_nodes(prog), [])
    if args.mode == "free":
        return Collected(_free_areas(prog), [])
    warnings: List[str] = []
    if args.mode in ("info", "zones"):
        info = meminfo.kmem_info(prog) if args.mode == "info" else None
        cpus = sched.nr_cpus(prog)
        zones = [_zone_dict(zone, vmstat.zone_problems(zone, cpus)) for zone in vmstat.zones(prog)]
        for zone in zones:
            warnings += [f"zone {zone['node']}/{zone['name']} at {zone['address']:x}: {problem}"
                         for problem in zone["problems"]]
        if info is None:
            return Collected(zones, warnings)
        return Collected({**info, "warnings": warnings}, warnings)
    if args.mode == "slabs":
        caches = [cache._asdict() for cache in slab.iter_slab_caches(prog, warnings.append)]
        return Collected({"caches": caches, "warnings": warnings}, warnings)
    if args.cache is not None:
        try:
            address = slab.slab_cache_named(prog, args.cache)
        except LookupError as error:
            raise PycoreError(str(error)) from None
        slabs = slab.cache_slabs(prog, address, warnings.append)
        found = dict(asdict(slabs), cache=slabs.cache._asdict())
        return Collected({"slab_objects": found, "warnings": warnings}, warnings)
    return _address_report(prog, args.address)


# -- kmem -V, -f, -p -------------------------------------------------------------------------------
def _vm_stat(prog: Program) -> Dict[str, Any]:
    """crash's dump_vm_stat() and dump_vm_event_state(): the global counters, in enum order."""
    sections = [("VM_ZONE_STAT", vmstat.global_zone_stat(prog)), ("VM_NODE_STAT", vmstat.global_node_stat(prog)),
                ("VM_NUMA_STAT", vmstat.global_numa_stat(prog))]
    return {"stat": [{"title": title, "counters": counters} for title, counters in sections if counters],
            "events": vmstat.global_vm_events(prog, sched.possible_cpus(prog))}


def _free_areas(prog: Program) -> Dict[str, Any]:
    """crash's dump_free_pages_zones_v2(): each zone of each node with its free lists (none for an
    unpopulated zone), and the pages they hold against ``nr_free_pages``."""
    found = []
    starts: Dict[int, int] = {}
    for zone in vmstat.zones(prog):
        entry: Dict[str, Any] = {"node": zone.node_id, "index": zone.index, "name": zone.name,
                                 "size": zone.spanned_pages,
                                 "free": zone.free_pages, "mem_map": 0, "start_paddr": 0, "start_mapnr": 0,
                                 "free_lists": []}
        if zone.populated:
            if zone.node_id not in starts:
                starts[zone.node_id] = vmstat.node_start_pfn(prog, zone.node_id)
            entry.update(mem_map=int(mm.pfn_to_page(prog, zone.start_pfn)),
                         start_paddr=zone.start_pfn * prog.dump.page_size,
                         start_mapnr=zone.start_pfn - starts[zone.node_id],
                         free_lists=[found_list._asdict() for found_list in vmstat.zone_free_lists(prog, zone.address)])
        found.append(entry)
    return {"zones": found, "nr_free_pages": vmstat.global_zone_stat(prog).get("NR_FREE_PAGES", 0),
            "page_size": prog.dump.page_size}


def _memory_nodes(prog: Program) -> Dict[str, Any]:
    """crash's kmem -n: each online node (dump_memory_nodes: its span, pglist_data, zones, first
    page), the present memory sections (dump_mem_sections) and the memory blocks (dump_memory_blocks)."""
    page_size = prog.dump.page_size
    pgdat_type = prog.type("struct pglist_data")
    zone_count = pgdat_type.member("node_zones").type.resolved().length or 0
    zone_size = prog.type("struct zone").size
    all_zones = vmstat.zones(prog)
    nodes = []
    for nid in vmstat.online_nodes(prog):
        pgdat = Object(prog, "struct pglist_data", address=vmstat.pgdat_address(prog, nid))
        start_pfn = int(pgdat.node_start_pfn)
        zones_address = pgdat.address_ + pgdat_type.offsetof("node_zones")
        zones = [{"index": zone.index, "name": zone.name, "size": zone.spanned_pages,
                  "mem_map": int(mm.pfn_to_page(prog, zone.start_pfn)) if zone.spanned_pages else 0,
                  "start_paddr": zone.start_pfn * page_size,
                  "start_mapnr": zone.start_pfn if zone.spanned_pages else 0}
                 for zone in all_zones if zone.node_id == nid]
        nodes.append({"id": int(pgdat.node_id), "size": int(pgdat.node_spanned_pages), "pgdat": pgdat.address_,
                      "node_zones": [zones_address + index * zone_size for index in range(zone_count)],
                      "mem_map": int(mm.pfn_to_page(prog, start_pfn)), "start_paddr": start_pfn * page_size,
                      "start_mapnr": start_pfn, "zones": zones})
    sections = [dict(section._asdict(), mem_map=section.coded_mem_map + section.pfn * mm.page_struct_size(prog))
                for section in mm.for_each_present_section(prog)]
    return {"nodes": nodes, "sections": sections,
            "blocks": [block._asdict() for block in mm.memory_blocks(prog)]}


def _mem_map(prog: Program) -> List[List[Any]]:
    """crash's kmem -p without an address: each page's address, physical address, mapping, index,
    count, flags and the names of its flags (one list per page: a 1 GB guest has 262144)."""
    known = slab.page_flag_names(prog)
    names: Dict[int, str] = {}
    rows = []
    for entry in mm.for_each_mem_map_entry(prog):
        flags = entry.flags
        text = names.get(flags)
        if text is None:
            text = names[flags] = ",".join(name for mask, name in known if flags & mask == mask)
        rows.append([entry.page, entry.physical, entry.mapping, entry.index, entry.count, flags, text])
    return rows


def _page(prog: Program, address: int) -> Collected:
    """kmem -p ADDRESS: the page of a ``struct page`` pointer, a physical address (the lower half)
    or a kernel virtual address."""
    physical = slab.page_physical(prog, address)
    try:
        if physical is None:
            physical = address if not address >> 63 else prog.translate(address)
        return Collected({"page": asdict(slab.page_descriptor(prog, physical))}, [])
    except FaultError as error:
        return Collected({"page": None}, [], f"{address:x}: {error}")


def render_vm_stat(data: Dict[str, Any]) -> str:
    """The counters right-aligned on their colons: the stat sections share one width, the events
    their own."""
    width = max((len(name) for section in data["stat"] for name in section["counters"]), default=0)
    blocks = []
    for section in data["stat"]:
        blocks.append("\n".join([f"  {section['title']}:"] + [f"{name:>{width}}: {value}" for name, value
                                                              in section["counters"].items()]))
    if data["events"]:
        width = max(len(name) for name in data["events"])
        blocks.append("\n".join(["  VM_EVENT_STATES:"] + [f"{name:>{width}}: {value}" for name, value
                                                           in data["events"].items()]))
    return "\n\n".join(blocks)


def render_free_areas(data: Dict[str, Any]) -> str:
    """Each zone's line and its free lists, an empty line after each zone, then the check; on a
    machine of several nodes each node's zones under "NODE" and its number, the nodes apart by
    a dashed rule (crash's dump_free_pages_zones_v2 with NODES)."""
    lines = []
    total = 0
    several = len({zone["node"] for zone in data["zones"]}) > 1
    node = None
    for zone in data["zones"]:
        if several and zone["node"] != node:
            if node is not None:
                lines += ["-" * 74, ""]
            node = zone["node"]
            lines += ["NODE", f"  {node}"]
        lines.append("ZONE  NAME        SIZE    FREE      MEM_MAP       START_PADDR  START_MAPNR")
        mem_map, start = f"{zone['mem_map']:x}", f"{zone['start_paddr']:x}"
        lines.append(f"{zone['index']:3d}   {zone['name']:<9}{zone['size']:7d} {zone['free']:7d}  "
                     f"{center(mem_map, 16)}  {center(start, 12)}  "
                     f"{center(str(zone['start_mapnr']), 10)}")
        if zone["free_lists"]:
            lines.append("AREA    SIZE  FREE_AREA_STRUCT  BLOCKS  PAGES")
            for free_list in zone["free_lists"]:
                pages = free_list["blocks"] << free_list["order"]
                total += pages
                size = f"{(data['page_size'] >> 10) << free_list['order']}k"
                lines.append(f"{free_list['order']:3d}{size:>9}  {free_list['address']:16x}"
                             f"{free_list['blocks']:8d}{pages:7d}")
        lines.append("")
    check = "(verified)" if total == data["nr_free_pages"] else f"(found {total})"
    lines.append(f"nr_free_pages: {data['nr_free_pages']}  {check}")
    return "\n".join(lines)


def render_memory_nodes(data: Dict[str, Any]) -> str:
    """kmem -n as crash prints it: per node its line, zone addresses, first page and zone table;
    a dashed rule and the present sections; then the memory blocks."""
    lines: List[str] = []
    zone_header = "ZONE  NAME         SIZE  " + center("MEM_MAP", 16, rjust=True) + "  START_PADDR  START_MAPNR"
    for number, node in enumerate(data["nodes"]):
        if number:  # crash: "\n", the rule as wide as the zone header, then "\n\nNODE ..."
            lines += ["", "-" * len(zone_header), ""]
        lines.append("NODE  " + "  ".join([center("SIZE", 8), center("PGLIST_DATA", 16), center("BOOTMEM_DATA", 16),
                                            center("NODE_ZONES", 16)]))
        first, *others = node["node_zones"]
        lines.append(f" {node['id']:2d}   " + "  ".join([center(str(node["size"]), 8), f"{node['pgdat']:x}",
                                                       center("----", 16), f"{first:x}"]))
        lines += [" " * 52 + f"{address:x}" for address in others]
        lines.append(center("MEM_MAP", 16) + "     START_PADDR    START_MAPNR")
        lines.append(f"{node['mem_map']:x}  " + center(f"{node['start_paddr']:x}", 16, rjust=True) + "  "
                     + center(str(node["start_mapnr"]), 11, rjust=True))
        lines += ["", zone_header]
        lines += [f" {zone['index']:2d}   {zone['name']:<9} {zone['size']:7d}  {zone['mem_map']:16x}  "
                  f"{zone['start_paddr']:11x}  {zone['start_mapnr']:11d}" for zone in node["zones"]]
    lines += ["", "-" * 67, "", "NR  " + "  ".join([center("SECTION", 16), center("CODED_MEM_MAP", 16),
                                                    center("MEM_MAP", 16), center("STATE", 5)]) + " PFN"]
    for section in data["sections"]:
        state = "".join(letter for bit, letter in enumerate("PMOED") if section["flags"] >> bit & 1)
        lines.append(f"{section['nr']:2d}  {section['address']:x}  {section['coded_mem_map']:16x}  "
                     f"{section['mem_map']:16x}  {center(state, 5)} {section['pfn']:<16d}")
    if data["blocks"]:
        with_node = data["blocks"][0]["node"] is not None
        ranges = any(block["end"] is not None for block in data["blocks"])
        physical = "PHYSICAL RANGE" if ranges else "PHYSICAL START"
        if with_node:
            header = (f"{center('MEM_BLOCK', 16)} {center('NAME', 10)}   {center(physical, 18)}   NODE  STATE   "
                      "START_SECTION_NO")
        else:
            header = f"{center('MEM_BLOCK', 16)} {center('NAME', 10)}   {center(physical, 16)}    STATE   START_SECTION_NO"
        lines += ["", header]
        for block in data["blocks"]:
            state = mm.MEMORY_BLOCK_STATES.get(block["state"], "UNKNOWN")
            span = (center(f"{block['start']:x}", 19) if block["end"] is None
                    else f"{block['start']:8x} - {block['end']:8x}")
            node = f" {center(str(block['node']), 4)}" if with_node else ""
            lines.append(f" {block['address']:<16x} {center(block['name'], 12 if with_node else 10)} {span}{node}  "
                         f"{state:<7} {block['start_section']:<12d}")
    return "\n".join(lines)


def render_page_flags(flags: List[Dict[str, Any]], value: int = 0) -> str:
    """crash's kmem -g (dump_page_flags): each flag's name, bit and value (seven hex digits); given a
    non-zero FLAGS value, ``FLAGS: VALUE`` and, indented, the flags set in it (an alias as often as
    its bit is set: PG_reported with PG_uptodate), ``(none found)`` for none."""
    width = max([len(flag["name"]) for flag in flags] + [len("PAGE-FLAG")])
    indent = "  " if value else ""
    rows = [f"{indent}{flag['name']:<{width}}{flag['bit']:4d}  {1 << flag['bit']:07x}" for flag in flags
            if not value or value >> flag["bit"] & 1]
    if value and not rows:
        rows = ["  (none found)"]
    return "\n".join(([f"FLAGS: {value:x}"] if value else []) + [f"{indent}{'PAGE-FLAG':<{width}} BIT  VALUE"] + rows)


def page_line(page: Dict[str, Any]) -> str:
    """One ``struct page`` as crash's kmem -p lists it: page, physical address, mapping, index,
    reference count, flags and their names."""
    return page_columns(page["page"], page["physical"], page["mapping"], page["index"], page["count"],
                         page["flags"], ",".join(page["flag_names"]))


# -- kmem ADDRESS ----------------------------------------------------------------------------------
def _context(prog: Program, task: Object) -> Dict[str, Any]:
    """What crash's show_context() prints of a task."""
    snapshot = task.dereference_().read_()
    pid = int(snapshot.pid)
    panic = sched.panic_task(prog)
    active = int(task) in sched.active_tasks(prog).values()
    return {"pid": pid, "comm": sched.task_comm(snapshot), "task": int(task),
            "same_pid": sum(1 for other in sched.crash_task_list(prog) if int(other.pid) == pid),
            "thread_info": sched.thread_info_address(task), "cpu": sched.task_cpu(snapshot),
            "state": sched.state_names(sched.task_state_value(snapshot)),
            "marker": ("PANIC" if panic is not None and int(panic) == int(task) else "ACTIVE") if active else None}


def _address_report(prog: Program, address: int) -> Collected:
    """crash's kmem_search(): the kernel symbol at ``address``, the slab object, the task whose
    task_struct or kernel stack holds it, and the page behind it, each found independently.  An
    address below the kernel's half is a physical address, whose page alone is shown; a ``struct
    page`` of the vmemmap array is that page's."""
    report: Dict[str, Any] = {"address": address, "symbol": None, "slab": None, "task": None, "vmap_area": None,
                              "page": None}
    if not address >> 63:
        try:
            report["page"] = asdict(slab.page_descriptor(prog, address))
        except FaultError as error:
            return Collected(report, [], f"{address:x}: {error}")
        return Collected(report, [])
    if prog.symbols.lookup(address) is not None:
        # The kernel image's symbol, as crash's sym shows it (its letter; a text symbol's file: line).
        # sym's own parser gives every option of sym its default.
        sym_args = make_parser(sym.COMMAND).parse_args([f"{address:x}"])
        rows = sym.collect(prog, sym_args).data["symbols"]
        report["symbol"] = next((row for row in rows if "address" in row), None)
    warnings: List[str] = []
    try:
        in_slab = slab.slab_containing(prog, address)
    except MissingDebugInfoError as error:
        # 6.18+/7.0 sheaves: the object's cache is known, its state needs what crash 9 cannot read either.
        in_slab = None
        warnings.append(f"{address:x}: slab object not shown: {error}")
    if in_slab is not None:
        cache, listing = in_slab
        info = slab.cache_info(prog, cache)
        whole = listing.slab == address
        objects = listing.objects if whole else [o for o in listing.objects
                                                 if o.address <= address < o.address + info.size][:1]
        report["slab"] = {"cache": info._asdict(), "slab": asdict(listing), "shown": [asdict(o) for o in objects]}
    task = sched.task_containing(prog, address) or sched.task_with_stack(prog, address)
    if task is not None:
        report["task"] = _context(prog, task)
    area = vmalloc.find_vmap_area(prog, address)
    report["vmap_area"] = None if area is None else asdict(area)
    try:
        physical = slab.page_physical(prog, address)
        if physical is None:
            physical = prog.translate(address)
        report["page"] = asdict(slab.page_descriptor(prog, physical))
    except FaultError as error:
        if not any(report[key] for key in ("symbol", "slab", "task", "vmap_area")):
            return Collected(report, warnings, f"{address:x}: {error}")
    return Collected(report, warnings)


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


def _slab_line(listing: Dict[str, Any]) -> str:
    return "  %x  %x  %4d  %5d  %9d  %4d" % (listing["slab"], listing["memory"], listing["node"],
                                            listing["total"], listing["allocated"], listing["free"])


def _slab_lines(listing: Dict[str, Any], objects: List[Dict[str, Any]]) -> List[str]:
    """One slab as crash's do_slab_slub() lists it: its line, then each object, ``[allocated]``,
    free, or free on a CPU's freelist."""
    lines = [SLAB_HEADER, _slab_line(listing), "  FREE / [ALLOCATED]"]
    for entry in objects:
        if not entry["free"]:
            lines.append(f"  [{entry['address']:x}]")
        elif entry["cpu"] is not None:
            lines.append(f"   {entry['address']:x}  (cpu {entry['cpu']} cache)")
        else:
            lines.append(f"   {entry['address']:x}  ")
    return lines


def _slab_list(slabs: Optional[List[Dict[str, Any]]], missing: str = "  (empty)") -> List[str]:
    if slabs is None:
        return ["  (not tracked)"]
    lines = []
    for listing in slabs:
        lines += _slab_lines(listing, listing["objects"])
    return lines or [missing]


def _node_slab_list(slabs: Optional[List[Dict[str, Any]]]) -> List[str]:
    """A node's list as crash's do_node_lists_slub() prints it (do_slab_slub without VERBOSE):
    the header once, then each slab's line, without its objects."""
    if slabs is None:
        return ["  (not tracked)"]
    if not slabs:
        return ["  (empty)"]
    return [SLAB_HEADER] + [_slab_line(listing) for listing in slabs]


def render_slab_objects(found: Dict[str, Any]) -> str:
    """``kmem -S CACHE`` as crash 9 prints it for SLUB with per-CPU slabs."""
    lines = render_slabs([found["cache"]]).split("\n")
    for cpu in found["cpus"]:
        lines += [f"CPU {cpu['cpu']} KMEM_CACHE_CPU:", f"  {cpu['kmem_cache_cpu']:x}", f"CPU {cpu['cpu']} SLAB:"]
        lines += _slab_list([cpu["slab"]] if cpu["slab"] else [])
        lines += [f"CPU {cpu['cpu']} PARTIAL:"] + _slab_list(cpu["partial"])
    for node in found["nodes"]:
        lines += ["KMEM_CACHE_NODE   NODE  SLABS  PARTIAL  PER-CPU",
                  "%x %5d %6d %8d %8d" % (node["address"], node["node"], node["slabs"], node["partial_count"],
                                          node["per_cpu"]),
                  f"NODE {node['node']} PARTIAL:"] + _node_slab_list(node["partial"])
        lines += [f"NODE {node['node']} FULL:"] + _node_slab_list(node["full"]) + [""]
    return "\n".join(lines) + "\n"


def render_address(report: Dict[str, Any]) -> str:
    """``kmem ADDRESS``: crash's sections (symbol, slab, task, page), an empty line between them."""
    sections: List[List[str]] = []
    if report["symbol"] is not None:
        sections.append([sym.symbol_line(report["symbol"])])
    if report["slab"] is not None:
        found = report["slab"]
        sections.append(render_slabs([found["cache"]]).split("\n") + _slab_lines(found["slab"], found["shown"]))
    task = report["task"]
    if task is not None:
        same = f"(1 of {task['same_pid']})  " if task["same_pid"] > 1 else ""
        marker = f"({task['marker']})" if task["marker"] else ""
        sections.append([f"    PID: {task['pid']}", f'COMMAND: "{task["comm"]}"',
                         f"   TASK: {task['task']:x}  {same}[THREAD_INFO: {task['thread_info']:x}]",
                         f"    CPU: {task['cpu']}", f"  STATE: {'|'.join(task['state'])} {marker}"])
    area = report.get("vmap_area")
    if area is not None:
        sections.append([VMAP_HEADER, "%x  %x  %x - %x%9d" % (area["address"], area["vm"], area["start"], area["end"],
                                                               area["end"] - area["start"])])
    page = report["page"]
    if page is not None:
        sections.append([PAGE_HEADER, page_line(page)])
    return "\n\n".join("\n".join(section) for section in sections)


def render(data: Any, args: argparse.Namespace) -> str:
    if args.mode == "info":
        return render_info(data)
    if args.mode == "zones":
        return render_zones(data)
    if args.mode == "slabs":
        return render_slabs(data["caches"])
    if args.mode == "vm_stat":
        return render_vm_stat(data)
    if args.mode == "free":
        return render_free_areas(data)
    if args.mode == "nodes":
        return render_memory_nodes(data)
    if args.mode == "page_flags":
        return render_page_flags(data["page_flags"], data.get("value", 0))
    if args.mode == "page" and "pages" in data:
        return "\n".join([PAGE_HEADER] + [page_columns(*row) for row in data["pages"]])
    if args.mode == "page":
        return "\n".join([PAGE_HEADER, page_line(data["page"])]) if data["page"] is not None else ""
    if args.cache is not None:
        return render_slab_objects(data["slab_objects"])
    return render_address(data)


COMMAND = DumpCommand("kmem", add_arguments=add_arguments, collect=collect, render=render, values_only=True,
                      description="memory summary, zones, slab caches and addresses, as crash 9's kmem prints them")
