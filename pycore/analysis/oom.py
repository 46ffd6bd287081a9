"""OOM-killer reports: parse them out of kernel log records and account for the memory.

Covers the report as printed from 2.6.2x (``oomkilladj``, ``Out of memory: kill
process``) through 2.6.32/3.10 (``oom_adj``, per-cpu lists, task table with
``nr_ptes``) and 4.x/5.x/6.x (``oom-kill:constraint=``, per-node lines,
``pgtables_bytes``, ``rss_anon``, ``Out of memory: Killed process``).
``autopsy()`` reads only the ``OomReport`` dataclass, so a report assembled
from a dump's structures can be explained the same way.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from .gfp import GfpDecoding, decode_gfp_mask, parse_gfp_field
from .grammar import OOM_LINES, OPENERS, is_report_body, oom_line, parse_task_line
from .logtext import LogRecord

__all__ = ["OomTask", "OomZone", "OomVictim", "OomReport", "MemoryPart", "OomAutopsy",
           "parse_oom_reports", "autopsy"]


@dataclass
class OomTask:
    """One row of the OOM task table; memory columns in pages except ``pgtables_bytes``."""

    pid: int
    name: str
    columns: Dict[str, int]

    @property
    def rss_pages(self) -> int:
        return self.columns.get("rss", 0)


@dataclass
class OomZone:
    """A per-zone line: free pages and watermarks, all in kB as printed."""

    node: Optional[int]
    name: str
    free_kb: int
    min_kb: int
    low_kb: int
    high_kb: int
    fields_kb: Dict[str, int] = field(default_factory=dict)
    largest_free_order: Optional[int] = None

    @property
    def watermark_state(self) -> str:
        """Where free sits against the watermarks: below min means only OOM or reclaim could help."""
        if self.free_kb < self.min_kb:
            return "below min"
        if self.free_kb < self.low_kb:
            return "below low"
        if self.free_kb < self.high_kb:
            return "below high"
        return "above high"


@dataclass
class OomVictim:
    """The killed process, with the sizes the kernel printed in kB (None when not printed)."""

    pid: int
    name: str
    total_vm_kb: Optional[int] = None
    anon_rss_kb: Optional[int] = None
    file_rss_kb: Optional[int] = None
    shmem_rss_kb: Optional[int] = None
    uid: Optional[int] = None
    oom_score_adj: Optional[int] = None


@dataclass
class OomReport:
    """Everything one oom-killer report states, as numbers; memory counters in pages."""

    trigger: Optional[str] = None
    trigger_pid: Optional[int] = None
    header: str = ""
    gfp_mask: Optional[int] = None
    gfp_names: Optional[str] = None
    order: Optional[int] = None
    kernel_version: Optional[str] = None
    constraint: Optional[str] = None
    oom_kill: Dict[str, str] = field(default_factory=dict)
    counters: Dict[str, int] = field(default_factory=dict)        # Mem-Info, in pages
    node_kb: Dict[str, int] = field(default_factory=dict)         # per-node lines summed, kB
    zones: List[OomZone] = field(default_factory=list)
    hugepages_kb: int = 0
    pages_ram: Optional[int] = None
    pages_reserved: Optional[int] = None
    pages_highmem: Optional[int] = None
    pagecache_pages: Optional[int] = None
    swapcache_pages: Optional[int] = None
    free_swap_kb: Optional[int] = None
    total_swap_kb: Optional[int] = None
    memcg_usage_kb: Optional[int] = None
    memcg_limit_kb: Optional[int] = None
    memcg: Optional[str] = None
    tasks: List[OomTask] = field(default_factory=list)
    task_columns: List[str] = field(default_factory=list)
    selected: Optional[OomVictim] = None       # "Out of memory: Kill process N (x) score S"
    victim: Optional[OomVictim] = None         # "Killed process N (x) ..."
    page_size: int = 4096
    records: List[LogRecord] = field(default_factory=list)

    @property
    def first(self) -> Optional[LogRecord]:
        return self.records[0] if self.records else None

    @property
    def last(self) -> Optional[LogRecord]:
        return self.records[-1] if self.records else None

    @property
    def gfp(self) -> Optional[GfpDecoding]:
        if self.gfp_mask is None:
            return None
        return decode_gfp_mask(self.gfp_mask, self.gfp_names, self.kernel_version, self.header)


_ORDER = re.compile(r"\border=(\d+)")
_MEMINFO_COUNTER = re.compile(r"(\w+):(\d+)(?=\s|$)")
_KB_FIELD = re.compile(r"([\w()]+):(\d+)kB")
_BUDDY_TERM = re.compile(r"(\d+)\*(\d+)kB")
_VICTIM_SIZES = re.compile(r"(total-vm|anon-rss|file-rss|shmem-rss):(\d+)kB")

#: The "N pages X" summary lines (2.6.x to 6.x) and the OomReport field each fills; the others
#: ("pages shared", "pages cma reserved", ...) are part of the report with nothing to record.
_PAGE_COUNTS = {"pages RAM": "pages_ram", "pages reserved": "pages_reserved", "pages HighMem": "pages_highmem",
                "pages HighMem/MovableOnly": "pages_highmem", "total pagecache pages": "pagecache_pages",
                "pages in swap cache": "swapcache_pages"}


def _victim_from(match: "re.Match[str]") -> OomVictim:
    """The process a ``select`` or ``killed`` line names, with the sizes printed after it."""
    tail, uid = match["tail"], match["uid"]
    sizes = {key: int(value) for key, value in _VICTIM_SIZES.findall(tail)}
    uid_match = re.search(r"UID:? ?(\d+)", tail)
    adj_match = re.search(r"oom_score_adj:(-?\d+)", tail)
    return OomVictim(pid=int(match["pid"]), name=match["name"], total_vm_kb=sizes.get("total-vm"),
                     anon_rss_kb=sizes.get("anon-rss"), file_rss_kb=sizes.get("file-rss"),
                     shmem_rss_kb=sizes.get("shmem-rss"),
                     uid=int(uid) if uid else (int(uid_match.group(1)) if uid_match else None),
                     oom_score_adj=int(adj_match.group(1)) if adj_match else None)


class _ReportBuilder:
    """Feeds one report's lines into an ``OomReport``; ``take`` says whether a line belonged.

    A kind of :data:`grammar.OOM_LINES` with a handler here (``_on_<kind>``) has what its line states
    recorded; the handler returns False to let the next kind try the line. A kind without a handler
    (Mem-Info, cpuset, oom_reaper, per-cpu lists) belongs to the report with nothing to record.
    """

    def __init__(self, report: OomReport):
        self.report = report
        self.in_trace = True         # between the header and Mem-Info
        self.complete = False        # the victim line has been seen

    def take(self, record: LogRecord) -> bool:
        report, text = self.report, record.text.strip()
        if self.complete:
            if text.startswith("oom_reaper: "):
                report.records.append(record)
                return True
            return False
        kind = self._fields(text)
        if kind is not None:
            # The trace runs from the header to the first line of the memory summary.
            if kind not in ("task", "cpuset"):
                self.in_trace = False
            report.records.append(record)
            return True
        if self.in_trace and is_report_body(record.text):
            report.records.append(record)
            return True
        return False

    def _fields(self, text: str) -> Optional[str]:
        """The kind of report line ``text`` is, after recording what it states; None if not one."""
        task = parse_task_line(text)
        if task is not None and self.report.trigger_pid is None:
            self.report.trigger_pid = task.pid
            self.report.kernel_version = task.release
            return "task"
        for kind, pattern in OOM_LINES:
            match = pattern.match(text)
            handler = getattr(self, f"_on_{kind}", None)
            if match and (handler is None or handler(match)):
                return kind
        return None

    def _on_oom_kill(self, match: "re.Match[str]") -> bool:
        report = self.report
        report.oom_kill = dict(part.split("=", 1) for part in match["fields"].split(",") if "=" in part)
        report.constraint = report.oom_kill.get("constraint")
        report.memcg = report.oom_kill.get("oom_memcg") or report.memcg
        return True

    def _on_select(self, match: "re.Match[str]") -> bool:
        report, victim = self.report, _victim_from(match)
        if match["verb"] == "Killed":
            report.victim = victim
            self.complete = True
        else:
            score = re.search(r"score (\d+)", match["tail"])
            report.selected = victim
            if score:
                report.oom_kill.setdefault("score", score.group(1))
        if match.string.startswith("Memory cgroup"):
            report.constraint = report.constraint or "CONSTRAINT_MEMCG"
        return True

    def _on_killed(self, match: "re.Match[str]") -> bool:
        self.report.victim = _victim_from(match)
        self.complete = True
        return True

    def _on_task_header(self, match: "re.Match[str]") -> bool:
        self.report.task_columns = match["columns"].split()
        return True

    def _on_task_row(self, match: "re.Match[str]") -> bool:
        report = self.report
        if not report.task_columns:
            return False
        numeric = report.task_columns[:-1]           # the columns between "[ pid ]" and "name"
        parts = match["rest"].split(None, len(numeric))
        if len(parts) < len(numeric) + 1:
            return False
        try:
            values = [int(part) for part in parts[:len(numeric)]]
        except ValueError:
            return False
        report.tasks.append(OomTask(pid=int(match["pid"]), name=parts[len(numeric)].strip(),
                                    columns=dict(zip(numeric, values))))
        return True

    def _on_node(self, match: "re.Match[str]") -> bool:
        for key, value in _KB_FIELD.findall(match.string):
            self.report.node_kb[key] = self.report.node_kb.get(key, 0) + int(value)
        return True

    def _on_zone(self, match: "re.Match[str]") -> bool:
        fields = {key: int(value) for key, value in _KB_FIELD.findall(match.string)}
        self.report.zones.append(OomZone(node=int(match["node"]) if match["node"] else None,
                                         name=match["zone"], free_kb=fields.get("free", 0),
                                         min_kb=fields.get("min", 0), low_kb=fields.get("low", 0),
                                         high_kb=fields.get("high", 0), fields_kb=fields))
        return True

    def _on_buddy(self, match: "re.Match[str]") -> bool:
        terms = [(int(count), int(size)) for count, size in _BUDDY_TERM.findall(match["terms"])]
        if not terms:
            return True
        # The order-0 block is one page, so the first term states the page size.
        self.report.page_size = terms[0][1] * 1024
        largest = None
        for order, (count, _size) in enumerate(terms):
            if count:
                largest = order
        node = int(match["node"]) if match["node"] else None
        for zone in self.report.zones:
            if zone.name == match["zone"] and zone.node == node:
                zone.largest_free_order = largest
        return True

    def _on_hugepages(self, match: "re.Match[str]") -> bool:
        self.report.hugepages_kb += int(match["total"]) * int(match["size"])
        return True

    def _on_pages(self, match: "re.Match[str]") -> bool:
        field_name = _PAGE_COUNTS.get(match["what"])
        if field_name is not None:
            setattr(self.report, field_name, int(match["count"]))
        return True

    def _on_swap(self, match: "re.Match[str]") -> bool:
        if match["which"] == "Free":
            self.report.free_swap_kb = int(match["kb"])
        else:
            self.report.total_swap_kb = int(match["kb"])
        return True

    def _on_memcg_usage(self, match: "re.Match[str]") -> bool:
        self.report.memcg_usage_kb, self.report.memcg_limit_kb = int(match["usage"]), int(match["limit"])
        return True

    def _on_memcg_task(self, match: "re.Match[str]") -> bool:
        self.report.memcg = match["cgroup"]
        self.report.constraint = self.report.constraint or "CONSTRAINT_MEMCG"
        return True

    def _on_counters(self, match: "re.Match[str]") -> bool:
        # Inside the trace a line of "name:number" pairs is a register dump, not Mem-Info.
        if self.in_trace:
            return False
        for key, value in _MEMINFO_COUNTER.findall(match.string):
            self.report.counters[key] = int(value)
        return True


def _apart(first: LogRecord, later: LogRecord) -> float:
    """Seconds between two records, 0 when they carry no comparable time."""
    if first.timestamp is not None and later.timestamp is not None:
        return later.timestamp - first.timestamp
    if first.wallclock is not None and later.wallclock is not None:
        try:
            return (later.wallclock - first.wallclock).total_seconds()
        except TypeError:        # one aware, one naive
            return 0.0
    return 0.0


def parse_oom_reports(records: Iterable[LogRecord]) -> List[OomReport]:
    """Collect every oom-killer report in the records, in log order.

    A report starts at ``X invoked oom-killer`` (or at a bare ``Out of memory``
    line when the header was lost) and ends after the killed-process line and
    any ``oom_reaper`` follow-up. Lines of other programs interleaved in syslog
    are skipped; each report keeps the records it was built from.
    """
    reports: List[OomReport] = []
    builder: Optional[_ReportBuilder] = None
    for record in records:
        if not record.from_kernel:
            continue
        if builder is not None and not builder.complete and _apart(builder.report.records[0], record) > 60:
            builder = None           # a report whose end never came (cut off, or a panic in between)
        text = record.text.strip()
        header = OPENERS["oom"].match(text)
        if header:
            report = OomReport(trigger=header.group("comm"), header=text)
            gfp = parse_gfp_field(text)
            if gfp:
                report.gfp_mask, report.gfp_names = gfp
            order = _ORDER.search(text)
            if order:
                report.order = int(order.group(1))
            report.records.append(record)
            reports.append(report)
            builder = _ReportBuilder(report)
            continue
        if builder is not None and builder.take(record):
            continue
        if builder is not None and builder.complete:
            builder = None
        kill = oom_line(text)
        if kill is not None and kill[0] in ("select", "killed") and (builder is None or builder.complete):
            # A kill whose header is not in the log (cut off, or edited out).
            report = OomReport()
            reports.append(report)
            builder = _ReportBuilder(report)
            builder.in_trace = False
            builder.take(record)
    return reports


@dataclass
class MemoryPart:
    """One non-overlapping slice of RAM in the accounting."""

    name: str
    kb: int
    note: str = ""


@dataclass
class OomAutopsy:
    """What the report says happened, with RAM accounted part by part (kB)."""

    report: OomReport
    total_kb: Optional[int]
    parts: List[MemoryPart]
    unaccounted_kb: Optional[int]
    swap_used_kb: Optional[int]
    task_rss_kb: Optional[int]
    top_tasks: List[OomTask]
    verdict: str
    zone_notes: List[str]
    gfp: Optional[GfpDecoding]

    def to_dict(self) -> Dict[str, object]:
        """A JSON-ready dict: the report's facts, the accounting and the verdict."""
        report, page_kb = self.report, self.report.page_size // 1024

        def victim(item: Optional[OomVictim]) -> Optional[Dict[str, object]]:
            return None if item is None else dict(vars(item))

        first, last = report.first, report.last
        return {
            "first": first.when() if first else None, "last": last.when() if last else None,
            "first_line": first.lineno if first else None, "last_line": last.lineno if last else None,
            "kernel_version": report.kernel_version,
            "trigger": {"name": report.trigger, "pid": report.trigger_pid},
            "gfp_mask": None if self.gfp is None else {
                "mask": f"{self.gfp.mask:#x}", "names": self.gfp.names, "source": self.gfp.source,
                "unknown_bits": f"{self.gfp.unknown_bits:#x}"},
            "order": report.order,
            "constraint": report.constraint,
            "memcg": None if report.memcg_limit_kb is None and report.memcg is None else {
                "name": report.memcg, "usage_kb": report.memcg_usage_kb, "limit_kb": report.memcg_limit_kb},
            "selected": victim(report.selected),
            "victim": victim(report.victim),
            "page_size": report.page_size,
            "pages_ram": report.pages_ram,
            "total_ram_kb": self.total_kb,
            "accounting": [dict(vars(part)) for part in self.parts],
            "unaccounted_kb": self.unaccounted_kb,
            "counters_pages": report.counters,
            "swap": {"total_kb": report.total_swap_kb, "free_kb": report.free_swap_kb, "used_kb": self.swap_used_kb},
            "zones": [{"node": zone.node, "zone": zone.name, "free_kb": zone.free_kb, "min_kb": zone.min_kb,
                       "low_kb": zone.low_kb, "high_kb": zone.high_kb, "state": zone.watermark_state,
                       "largest_free_order": zone.largest_free_order} for zone in report.zones],
            "tasks_listed": len(report.tasks),
            "tasks_rss_kb": self.task_rss_kb,
            "top_tasks": [{"pid": task.pid, "name": task.name, "rss_kb": task.rss_pages * page_kb,
                           "columns": task.columns} for task in self.top_tasks],
            "verdict": self.verdict,
        }

    def part(self, name: str) -> Optional[MemoryPart]:
        for part in self.parts:
            if part.name == name:
                return part
        return None


def _account(report: OomReport) -> List[MemoryPart]:
    """Split RAM into parts that do not overlap.

    shmem/tmpfs pages sit on the anon LRU lists (since 2.6.28), so they are taken
    out of "anon"; what does not fit there was on the unevictable list (ramfs, SHM_LOCK).
    """
    counters, page_kb = report.counters, report.page_size // 1024
    if not counters:
        return []

    def pages(*names: str) -> int:
        return sum(counters.get(name, 0) for name in names)

    anon_lru = pages("active_anon", "inactive_anon", "isolated_anon")
    unevictable = pages("unevictable")
    shmem = pages("shmem")
    shmem_on_anon = min(shmem, anon_lru)
    shmem_unevictable = min(shmem - shmem_on_anon, unevictable)
    parts = [
        MemoryPart("anon", (anon_lru - shmem_on_anon) * page_kb,
                   "process private memory (heap, stack, anonymous mmap)"),
        MemoryPart("shmem", (shmem_on_anon + shmem_unevictable) * page_kb, "tmpfs, SysV/POSIX shared memory"),
        MemoryPart("file", pages("active_file", "inactive_file", "isolated_file") * page_kb, "page cache"),
        MemoryPart("unevictable", (unevictable - shmem_unevictable) * page_kb, "mlocked pages"),
        MemoryPart("free", pages("free", "free_pcp") * page_kb, "free, including per-cpu lists"),
        MemoryPart("slab_reclaimable", pages("slab_reclaimable") * page_kb, "kernel caches (dentries, inodes)"),
        MemoryPart("slab_unreclaimable", pages("slab_unreclaimable") * page_kb, "kernel objects"),
        MemoryPart("pagetables", pages("pagetables", "sec_pagetables") * page_kb, "process page tables"),
    ]
    # kernel_stack moved from the zone lines to the node lines in 5.x; truncated lines may lack it.
    stack_kb = report.node_kb.get("kernel_stack")
    if stack_kb is None and any("kernel_stack" in zone.fields_kb for zone in report.zones):
        stack_kb = sum(zone.fields_kb.get("kernel_stack", 0) for zone in report.zones)
    if stack_kb is not None:
        parts.append(MemoryPart("kernel_stack", stack_kb, "kernel stacks of all threads"))
    for name, note in (("bounce", "bounce buffers"), ("kernel_misc_reclaimable", "other reclaimable kernel memory")):
        if name in counters:
            parts.append(MemoryPart(name, pages(name) * page_kb, note))
    if report.hugepages_kb:
        parts.append(MemoryPart("hugepages", report.hugepages_kb, "hugetlbfs pool (used or not)"))
    if report.pages_reserved is not None:
        parts.append(MemoryPart("reserved", report.pages_reserved * page_kb,
                                "reserved at boot (kernel image, memmap, crashkernel)"))
    return parts


def _mib(kb: float) -> str:
    if abs(kb) >= 1024 * 1024:
        return f"{kb / 1024 / 1024:.1f} GiB"
    return f"{kb / 1024:.1f} MiB"


def autopsy(report: OomReport) -> OomAutopsy:
    """Account for all of RAM in ``report`` and say in plain words who used it.

    The parts plus ``unaccounted_kb`` equal ``pages RAM`` times the page size;
    ``unaccounted`` is memory on no counter the report prints (driver and
    vmalloc allocations, balloon drivers, ...).
    """
    page_kb = report.page_size // 1024
    total_kb = report.pages_ram * page_kb if report.pages_ram is not None else None
    if total_kb is None and report.zones and all("present" in zone.fields_kb for zone in report.zones):
        total_kb = sum(zone.fields_kb["present"] for zone in report.zones)
    parts = _account(report)
    unaccounted = total_kb - sum(part.kb for part in parts) if total_kb is not None and parts else None
    swap_used = (report.total_swap_kb - report.free_swap_kb
                 if report.total_swap_kb is not None and report.free_swap_kb is not None else None)
    task_rss_kb = sum(task.rss_pages for task in report.tasks) * page_kb if report.tasks else None
    top = sorted(report.tasks, key=lambda task: task.rss_pages, reverse=True)[:10]
    zone_notes = []
    for zone in report.zones:
        where = f"Node {zone.node} {zone.name}" if zone.node is not None else zone.name
        zone_notes.append(f"{where}: free {zone.free_kb} kB, min {zone.min_kb} / low {zone.low_kb} / "
                          f"high {zone.high_kb} kB: {zone.watermark_state}")
    return OomAutopsy(report=report, total_kb=total_kb, parts=parts, unaccounted_kb=unaccounted,
                      swap_used_kb=swap_used, task_rss_kb=task_rss_kb, top_tasks=top,
                      verdict=_verdict(report, total_kb, parts, unaccounted, swap_used, task_rss_kb, top),
                      zone_notes=zone_notes, gfp=report.gfp)


def _verdict(report: OomReport, total_kb: Optional[int], parts: List[MemoryPart], unaccounted: Optional[int],
             swap_used: Optional[int], task_rss_kb: Optional[int], top: List[OomTask]) -> str:
    """One paragraph: the constraint, who used the memory, where it went."""
    page_kb = report.page_size // 1024
    sentences = []
    if report.constraint == "CONSTRAINT_MEMCG" or report.memcg_limit_kb is not None:
        limit = f" of {_mib(report.memcg_limit_kb)}" if report.memcg_limit_kb is not None else ""
        sentences.append(f"A memory cgroup{(' ' + report.memcg) if report.memcg else ''} hit its limit{limit}; "
                         "the machine as a whole need not have been short of memory.")
    if total_kb is None or not parts:
        if not sentences:
            sentences.append("The report does not include the memory summary (Mem-Info and pages RAM), "
                             "so RAM cannot be accounted for.")
    else:
        by_name = {part.name: part.kb for part in parts}
        free = by_name.get("free", 0)
        used = total_kb - free
        user = by_name["anon"] + by_name["shmem"] + by_name["file"] + by_name["unevictable"]
        kernel = (by_name["slab_reclaimable"] + by_name["slab_unreclaimable"] + by_name["pagetables"]
                  + by_name.get("kernel_stack", 0) + by_name.get("bounce", 0)
                  + by_name.get("kernel_misc_reclaimable", 0))
        biggest = max(("anon", "shmem", "file", "slab_unreclaimable", "slab_reclaimable", "pagetables",
                       "hugepages"), key=lambda name: by_name.get(name, 0))
        sentences.append(f"Of {_mib(total_kb)} RAM, {_mib(used)} was in use and {_mib(free)} free.")
        if user >= used / 2:
            sentences.append(f"Processes used it: {_mib(user)} was process memory "
                             f"({_mib(by_name['anon'])} anonymous, {_mib(by_name['shmem'])} shmem/tmpfs, "
                             f"{_mib(by_name['file'])} page cache), against {_mib(kernel)} for the kernel's "
                             f"own counted use (slab, page tables, stacks).")
        else:
            sentences.append(f"The kernel, not processes, held most of it: process memory was only {_mib(user)}, "
                             f"kernel counters {_mib(kernel)}, and {_mib(unaccounted or 0)} is on no counter "
                             f"the report prints.")
        sentences.append(f"The largest single part was {biggest} ({_mib(by_name.get(biggest, 0))}).")
        if unaccounted is not None and unaccounted > total_kb * 0.2:
            sentences.append(f"{_mib(unaccounted)} ({unaccounted * 100 // total_kb}%) is not on any printed "
                             "counter: driver or vmalloc allocations, a balloon driver, or a kernel memory leak.")
        if by_name["pagetables"] > total_kb * 0.03:
            sentences.append(f"Page tables alone took {_mib(by_name['pagetables'])}, a sign of very many "
                             "processes or huge mappings.")
    if swap_used is not None and report.total_swap_kb:
        if report.free_swap_kb == 0 or swap_used > report.total_swap_kb * 0.9:
            swapped = ""
            if parts:
                in_ram = sum(part.kb for part in parts if part.name in ("anon", "shmem"))
                swapped = (f"; counting what was swapped out, anonymous and shared memory came to about "
                           f"{_mib(in_ram + swap_used)}")
            sentences.append(f"Swap was full ({_mib(swap_used)} of {_mib(report.total_swap_kb)} used), so "
                             f"anonymous memory had nowhere to go: process memory exceeded RAM plus swap{swapped}.")
        else:
            sentences.append(f"Swap was not exhausted ({_mib(swap_used)} of {_mib(report.total_swap_kb)} used): "
                             "look at why reclaim could not use it (mlock, hugepages, cgroup limits, GFP flags).")
    elif report.total_swap_kb == 0:
        sentences.append("There was no swap.")
    if task_rss_kb is not None and top:
        heavy = top[0]
        sentences.append(f"Listed tasks' resident memory adds up to {_mib(task_rss_kb)}; the biggest was "
                         f"{heavy.name} (pid {heavy.pid}) with {_mib(heavy.rss_pages * page_kb)}.")
    elif not report.tasks:
        sentences.append("No task table was printed (set vm.oom_dump_tasks=1 to get one next time).")
    if report.order:
        sentences.append(f"The allocation was order {report.order} ({2 ** report.order} contiguous pages): "
                         "fragmentation can cause this OOM even with free memory.")
    return " ".join(sentences)
