"""The OOM autopsy from a dump's live structures, not from the text the kernel printed.

Counters come from ``vm_node_stat``/``vm_zone_stat``, zones and watermarks from
``struct zone``, swap from ``swap_info[]``, and each process's RSS and swap
entries from its ``mm_struct`` counters; the result is an :class:`OomReport`
that :func:`autopsy` explains like any printed report.  Memory cgroups are read
where the kernel has them (``root_mem_cgroup`` and its children).
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

from ..errors import PycoreError
from ..kernel import mm, vmstat
from ..kernel.meminfo import swap_pages
from ..kernel.sched import for_each_process, nr_cpus, task_comm
from ..object import Object, list_for_each_entry
from .oom import OomReport, OomTask, OomZone

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# Mem-Info names of the report, from the node (and zone) counters the kernel prints them from.
_NODE_COUNTERS = {
    "active_anon": "NR_ACTIVE_ANON", "inactive_anon": "NR_INACTIVE_ANON", "isolated_anon": "NR_ISOLATED_ANON",
    "active_file": "NR_ACTIVE_FILE", "inactive_file": "NR_INACTIVE_FILE", "isolated_file": "NR_ISOLATED_FILE",
    "unevictable": "NR_UNEVICTABLE", "shmem": "NR_SHMEM", "pagetables": "NR_PAGETABLE",
    "sec_pagetables": "NR_SECONDARY_PAGETABLE", "kernel_misc_reclaimable": "NR_KERNEL_MISC_RECLAIMABLE",
    "writeback": "NR_WRITEBACK", "dirty": "NR_FILE_DIRTY", "mapped": "NR_FILE_MAPPED",
}
# Slab counters: pages in vm_node_stat since 5.9 (NR_SLAB_*_B), in vm_zone_stat or nodes before.
_SLAB = {"slab_reclaimable": ("NR_SLAB_RECLAIMABLE_B", "NR_SLAB_RECLAIMABLE"),
         "slab_unreclaimable": ("NR_SLAB_UNRECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE")}


@dataclass
class MemoryCgroup:
    """A memory cgroup's charge (``memory.usage``) and limit (``memory.max``), in kB."""
    path: str
    usage_kb: int
    limit_kb: Optional[int]


def live_oom_report(prog: "Program", log_report: Optional[OomReport] = None) -> OomReport:
    """An OomReport of the machine as the dump froze it; ``log_report`` lends trigger and gfp_mask."""
    page_size = prog.dump.page_size
    page_kb = page_size // 1024
    node = vmstat.global_node_stat(prog)
    zone_totals = vmstat.global_zone_stat(prog)
    report = OomReport(page_size=page_size, header="live structures of the dump")
    if log_report is not None:
        for name in ("trigger", "trigger_pid", "gfp_mask", "gfp_names", "order", "constraint", "victim",
                     "selected", "kernel_version"):
            setattr(report, name, getattr(log_report, name))
    counters = {name: node[key] for name, key in _NODE_COUNTERS.items() if key in node}
    stats = {**zone_totals, **node}
    for name, keys in _SLAB.items():
        counters[name] = next((stats[key] for key in keys if key in stats), 0)
    counters["free"] = zone_totals.get("NR_FREE_PAGES", 0)
    counters["bounce"] = zone_totals.get("NR_BOUNCE", 0)
    report.counters = counters
    if "NR_KERNEL_STACK_KB" in stats:
        report.node_kb["kernel_stack"] = stats["NR_KERNEL_STACK_KB"]
    zones = [z for z in vmstat.zones(prog) if z.populated]
    report.pages_ram = sum(z.present_pages for z in zones)
    report.pages_reserved = sum(z.present_pages - z.managed_pages for z in zones)
    report.zones = [OomZone(z.node_id, z.name, z.free_pages * page_kb, z.watermark_min * page_kb,
                            z.watermark_low * page_kb, z.watermark_high * page_kb,
                            {"present": z.present_pages * page_kb, "managed": z.managed_pages * page_kb})
                    for z in zones]
    swap = swap_pages(prog)
    if swap is not None:
        report.total_swap_kb = swap["total"] * page_kb
        report.free_swap_kb = swap["free"] * page_kb
    report.tasks = live_tasks(prog)
    report.task_columns = ["rss", "swapents", "total_vm"]
    return report


def live_tasks(prog: "Program") -> List[OomTask]:
    """Every process with an address space: resident pages, swap entries and mapped pages."""
    cpus = nr_cpus(prog)
    tasks = []
    for task in for_each_process(prog):
        if not int(task.mm):
            continue
        space = task.mm.read_()
        tasks.append(OomTask(int(task.pid), task_comm(task), {
            "rss": mm.task_rss_pages(task, cpus),
            "swapents": mm.mm_counter_pages(space, mm.MM_SWAPENTS, cpus),
            "total_vm": int(space.total_vm),
        }))
    return tasks


def memory_cgroups(prog: "Program", limit: int = 256) -> List[MemoryCgroup]:
    """Every memory cgroup below the root (cgroup v1 and v2), or [] without memcg.

    The root is left out: the kernel does not charge it (its usage reads 0).
    """
    try:
        root = prog.object("root_mem_cgroup")
    except (LookupError, PycoreError):
        return []
    if not int(root):
        return []
    page_kb = prog.dump.page_size // 1024
    page_counter_max = ((1 << 63) - 1) // prog.dump.page_size
    found: List[MemoryCgroup] = []

    def visit(memcg: Object, path: str) -> None:
        if len(found) >= limit:
            return
        if path:
            counter = memcg.memory
            maximum = int(counter.max)
            unlimited = maximum >= page_counter_max  # PAGE_COUNTER_MAX: "max" in memory.max
            found.append(MemoryCgroup(path, int(counter.usage.counter) * page_kb,
                                      None if unlimited else maximum * page_kb))
        for child in list_for_each_entry("struct mem_cgroup", memcg.css.children.address_of_(), "css.sibling"):
            name = child.css.cgroup.kn.name.string_().decode(errors="replace")
            visit(child, f"{path}/{name}")

    visit(root, "")
    return found
