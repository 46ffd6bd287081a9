"""Memory counters and zones: ``vm_zone_stat``/``vm_node_stat``/``vm_numa_stat``, the per-CPU
``vm_event_states``, each node's ``struct zone``s, their watermarks and buddy free lists.

Covers the split counters of Linux 4.8+ (zone items in ``enum zone_stat_item``, node
items in ``enum node_stat_item``, NUMA items in ``enum numa_stat_item`` 4.14 to 5.13) and
``zone._watermark`` (5.0+) or ``zone.watermark``.
"""
import struct
from typing import Dict, List, NamedTuple, Optional

from ..errors import FaultError, MissingDebugInfoError
from ..types.model import TypeNotFoundError
from .percpu import per_cpu_address


def stat_item_names(prog, enum_name: str, count_name: str) -> List[str]:
    """The counter names of ``enum <enum_name>`` indexed by value, up to ``<count_name>``.

    Aliases (``NR_ZONE_LRU_BASE`` = ``NR_ZONE_INACTIVE_ANON``) resolve to the last
    enumerator with that value, as crash lists them.
    """
    enumerators = prog.type(f"enum {enum_name}").enumerators or ()
    count = next((value for name, value in enumerators if name == count_name), None)
    if count is None:
        count = max((value for _, value in enumerators), default=-1) + 1
    names = [""] * count
    for name, value in enumerators:
        if name != count_name and 0 <= value < count:
            names[value] = name
    return names


def zone_stat_items(prog) -> List[str]:
    """``enum zone_stat_item`` names by index (``NR_FREE_PAGES`` first)."""
    return prog.cache.get("vmstat.zone_items", lambda: stat_item_names(prog, "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS"))


def node_stat_items(prog) -> List[str]:
    """``enum node_stat_item`` names by index (empty before 4.8, when every counter was per zone)."""
    def build() -> List[str]:
        try:
            return stat_item_names(prog, "node_stat_item", "NR_VM_NODE_STAT_ITEMS")
        except TypeNotFoundError:
            return []
    return prog.cache.get("vmstat.node_items", build)


def read_counters(prog, address: int, names: List[str]) -> Dict[str, int]:
    """An ``atomic_long_t`` array at ``address`` as ``{name: value}`` (signed, as the kernel keeps them)."""
    if not names:
        return {}
    values = struct.unpack(f"<{len(names)}q", prog.read(address, 8 * len(names)))
    return dict(zip(names, values))


def global_zone_stat(prog) -> Dict[str, int]:
    """``vm_zone_stat``: the machine-wide zone counters, without the per-CPU deltas not yet folded in."""
    return read_counters(prog, prog.symbols.by_name("vm_zone_stat").address, zone_stat_items(prog))


def global_node_stat(prog) -> Dict[str, int]:
    """``vm_node_stat``: machine-wide node counters (``NR_FILE_PAGES``, ``NR_SLAB_*_B`` in pages, ...)."""
    names = node_stat_items(prog)
    if not names:
        return {}
    return read_counters(prog, prog.symbols.by_name("vm_node_stat").address, names)


def global_vm_stat(prog) -> Dict[str, int]:
    """Zone and node counters together, the way crash's ``dump_vm_stat()`` looks an item up."""
    stats = global_zone_stat(prog)
    stats.update(global_node_stat(prog))
    return stats


def global_numa_stat(prog) -> Dict[str, int]:
    """``vm_numa_stat`` (4.14 to 5.13: NUMA_HIT, NUMA_MISS, ...); empty on kernels that count NUMA
    events per CPU instead (``vm_numa_event``, 5.14+) or have no NUMA counters."""
    try:
        address = prog.symbols.by_name("vm_numa_stat").address
        names = stat_item_names(prog, "numa_stat_item", "NR_VM_NUMA_STAT_ITEMS")
    except (LookupError, TypeNotFoundError):
        return {}
    return read_counters(prog, address, names)


def vm_event_items(prog) -> List[str]:
    """``enum vm_event_item`` names by index (PGPGIN first), as the kernel's config built it."""
    return stat_item_names(prog, "vm_event_item", "NR_VM_EVENT_ITEMS")


def global_vm_events(prog, cpus: List[int]) -> Dict[str, int]:
    """``vm_event_states`` summed over ``cpus`` (all_vm_events(): each CPU's ``event[]`` array of
    unsigned longs); empty without CONFIG_VM_EVENT_COUNTERS."""
    try:
        address = prog.symbols.by_name("vm_event_states").address
    except LookupError:
        return {}
    names = vm_event_items(prog)
    totals = [0] * len(names)
    for cpu in cpus:
        raw = prog.read(per_cpu_address(prog, address, cpu), 8 * len(names))
        for index, value in enumerate(struct.unpack(f"<{len(names)}Q", raw)):
            totals[index] += value
    return {name: total & (1 << 64) - 1 for name, total in zip(names, totals)}


def online_nodes(prog) -> List[int]:
    """Node ids set in ``node_states[N_ONLINE]`` (``[0]`` when the kernel has no node map)."""
    def build() -> List[int]:
        try:
            address = prog.symbols.by_name("node_states").address
            n_online = next(v for n, v in prog.type("enum node_states").enumerators if n == "N_ONLINE")
            size = prog.type("nodemask_t").size
        except (LookupError, MissingDebugInfoError, StopIteration):
            return [0]
        bits = int.from_bytes(prog.read(address + n_online * size, size), "little")
        nodes = [i for i in range(size * 8) if bits >> i & 1]
        return nodes or [0]
    return prog.cache.get("vmstat.nodes", build)


def pgdat_address(prog, nid: int) -> int:
    """Address of node ``nid``'s ``struct pglist_data``: ``node_data[nid]``, or ``contig_page_data``."""
    try:
        base = prog.symbols.by_name("node_data").address
    except LookupError:
        if nid == 0:
            return prog.symbols.by_name("contig_page_data").address
        raise
    return int.from_bytes(prog.read(base + 8 * nid, 8), "little")


class ZoneInfo(NamedTuple):
    """One ``struct zone`` of one node; ``node`` counts online nodes, ``node_id`` is the kernel's id."""
    node: int
    node_id: int
    index: int
    name: str
    address: int
    start_pfn: int
    spanned_pages: int
    present_pages: int
    managed_pages: int
    watermark_min: int
    watermark_low: int
    watermark_high: int
    watermark_boost: int
    vm_stat: Dict[str, int]

    @property
    def populated(self) -> bool:
        """crash calls a zone with no spanned pages "[unpopulated]"."""
        return self.spanned_pages != 0

    @property
    def free_pages(self) -> int:
        return self.vm_stat.get("NR_FREE_PAGES", 0)

    def below_min(self) -> bool:
        """Free pages at or under the min watermark (boost included, as ``min_wmark_pages()``)."""
        return self.free_pages <= self.watermark_min + self.watermark_boost


def _zone_layout(prog):
    def build():
        zone = prog.type("struct zone")
        members = {}
        for name in ("zone_start_pfn", "spanned_pages", "present_pages", "managed_pages", "name", "vm_stat",
                     "watermark_boost"):
            members[name] = zone.offsetof(name) if zone.has_member(name) else None
        watermark = "_watermark" if zone.has_member("_watermark") else "watermark"
        members["watermark"] = zone.offsetof(watermark)
        wmarks = {n: v for n, v in prog.type("enum zone_watermarks").enumerators}
        members["wmark"] = (wmarks.get("WMARK_MIN", 0), wmarks.get("WMARK_LOW", 1), wmarks.get("WMARK_HIGH", 2))
        node_zones = prog.type("struct pglist_data").member("node_zones")
        return {"size": zone.size, "count": node_zones.type.resolved().length, "offsets": members,
                "node_zones": node_zones.offset}
    return prog.cache.get("vmstat.zone_layout", build)


def _read_string(prog, address: int, limit: int = 64) -> Optional[str]:
    try:
        raw = prog.read(address, limit)
    except FaultError:
        return None
    return raw.split(b"\0", 1)[0].decode("latin-1")


def zones(prog) -> List[ZoneInfo]:
    """Every zone of every online node (populated or not), in crash's ``kmem -z`` order."""
    layout = _zone_layout(prog)
    offsets = layout["offsets"]
    names = zone_stat_items(prog)
    result = []
    for node, nid in enumerate(online_nodes(prog)):
        base = pgdat_address(prog, nid) + layout["node_zones"]
        for index in range(layout["count"]):
            address = base + index * layout["size"]
            raw = prog.read(address, layout["size"])

            def ulong(offset: Optional[int]) -> int:
                return 0 if offset is None else struct.unpack_from("<Q", raw, offset)[0]

            counters = {}
            if offsets["vm_stat"] is not None:
                values = struct.unpack_from(f"<{len(names)}q", raw, offsets["vm_stat"])
                counters = dict(zip(names, values))
            wmin, wlow, whigh = (ulong(offsets["watermark"] + 8 * i) for i in offsets["wmark"])
            result.append(ZoneInfo(
                node=node, node_id=nid, index=index,
                name=_read_string(prog, ulong(offsets["name"])) or "(unknown) ",
                address=address, start_pfn=ulong(offsets["zone_start_pfn"]),
                spanned_pages=ulong(offsets["spanned_pages"]), present_pages=ulong(offsets["present_pages"]),
                managed_pages=ulong(offsets["managed_pages"]),
                watermark_min=wmin, watermark_low=wlow, watermark_high=whigh,
                watermark_boost=ulong(offsets["watermark_boost"]), vm_stat=counters))
    return result


# The most a zone counter can drift through its per-CPU deltas: stat_threshold is at most 125
# pages per CPU (calculate_normal_threshold(), mm/vmstat.c).
MAX_STAT_THRESHOLD = 125


def zone_problems(zone: ZoneInfo, cpus: int) -> List[str]:
    """What no kernel keeps in a zone, as read: more present than spanned pages or more managed than
    present, a watermark above the managed pages, a page counter beyond the zone's pages (less or
    more than the per-CPU deltas of ``cpus`` CPUs can explain).  Empty for a zone as the kernel keeps it."""
    problems = []
    if zone.present_pages > zone.spanned_pages:
        problems.append(f"{zone.present_pages} present pages of {zone.spanned_pages} spanned")
    if zone.managed_pages > zone.present_pages:
        problems.append(f"{zone.managed_pages} managed pages of {zone.present_pages} present")
    if zone.watermark_high > zone.managed_pages and zone.populated:
        problems.append(f"high watermark {zone.watermark_high} above its {zone.managed_pages} managed pages")
    drift = MAX_STAT_THRESHOLD * max(cpus, 1)
    for name, value in zone.vm_stat.items():
        if not -drift <= value <= zone.spanned_pages + drift:
            problems.append(f"{name} {value} beyond the zone's {zone.spanned_pages} pages")
    return problems


class FreeList(NamedTuple):
    """One buddy free list of a zone: its order and migrate type, the address of its list_head
    (``&zone->free_area[order].free_list[type]``) and how many blocks of 2^order pages it holds."""
    order: int
    migrate_type: int
    address: int
    blocks: int


def zone_free_lists(prog, zone_address: int) -> List[FreeList]:
    """Every free list of the ``struct zone`` at ``zone_address``, by order then migrate type, each
    walked to count its blocks (bounded, cycle-checked); as many orders and types as the kernel's
    ``free_area[]`` and ``free_list[]`` arrays have (MAX_ORDER / NR_PAGE_ORDERS, MIGRATE_TYPES)."""
    from ..object import Object, list_for_each

    zone = prog.type("struct zone")
    free_area = zone.member("free_area").type.resolved()
    area_type = free_area.type.resolved()
    lists = area_type.member("free_list")
    list_head = prog.type("struct list_head")
    found = []
    for order in range(free_area.length):
        for migrate_type in range(lists.type.resolved().length):
            address = (zone_address + zone.offsetof("free_area") + order * area_type.size + lists.offset
                       + migrate_type * list_head.size)
            head = Object(prog, list_head, address=address)
            found.append(FreeList(order, migrate_type, address, sum(1 for _ in list_for_each(head.address_of_()))))
    return found


def node_start_pfn(prog, nid: int) -> int:
    """``node_start_pfn`` of node ``nid``'s ``pglist_data``."""
    offset = prog.type("struct pglist_data").offsetof("node_start_pfn")
    return int.from_bytes(prog.read(pgdat_address(prog, nid) + offset, 8), "little")


def node_of_pfn(prog, pfn: int) -> int:
    """Index (into :func:`online_nodes`) of the node whose span holds ``pfn``; -1 if none does."""
    def build():
        spans = []
        pgdat = prog.type("struct pglist_data")
        start_off, span_off = pgdat.offsetof("node_start_pfn"), pgdat.offsetof("node_spanned_pages")
        for nid in online_nodes(prog):
            address = pgdat_address(prog, nid)
            start = int.from_bytes(prog.read(address + start_off, 8), "little")
            spans.append((start, start + int.from_bytes(prog.read(address + span_off, 8), "little")))
        return spans
    for index, (start, end) in enumerate(prog.cache.get("vmstat.node_spans", build)):
        if start <= pfn < end:
            return index
    return -1


__all__ = ["FreeList", "zone_free_lists", "node_start_pfn", "global_numa_stat", "vm_event_items", "global_vm_events", "ZoneInfo", "zones", "zone_stat_items", "node_stat_items", "global_zone_stat", "global_node_stat",
           "global_vm_stat", "online_nodes", "pgdat_address", "read_counters", "stat_item_names", "node_of_pfn"]
