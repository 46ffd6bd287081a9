"""Per-task memory (RSS, VSZ, %MEM) and the system's page totals, computed the way crash 9's ps does.

RSS counters: ``mm->rss_stat.count[]`` atomic_long_t plus the per-thread ``task->rss_stat``
deltas (SPLIT_RSS_COUNTING, 2.6.34-6.1), or ``mm->rss_stat[]`` as percpu_counter (6.2+).
"""
from typing import TYPE_CHECKING, List, NamedTuple, Optional

from .variables import kernel_variable, read_kernel_variable
from ..errors import FaultError, MissingDebugInfoError
from ..object import Object
from ..types.model import TypeKind
from .sched import _struct_type, for_each_thread, nr_cpus

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES } (mm_types_task.h, 4.5+;
# no MM_SHMEMPAGES before): an anonymous enum that BTF does not name.
MM_FILEPAGES = 0
MM_ANONPAGES = 1
MM_SWAPENTS = 2
MM_SHMEMPAGES = 3


class TaskMemory(NamedTuple):
    """A task's memory as crash's ps shows it: pages, KiB and percent of memory."""
    rss_pages: int
    total_vm_pages: int
    rss_kb: int
    vsz_kb: int
    percent: float


def totalram_pages(prog: "Program") -> int:
    """``_totalram_pages`` (atomic_long_t, 5.0+) or ``totalram_pages`` (unsigned long, before)."""
    for name in ("_totalram_pages", "totalram_pages"):
        if name in prog.symbols:
            return kernel_variable(prog, name)
    raise MissingDebugInfoError(f"neither _totalram_pages nor totalram_pages is in {prog.symbols.source}")


def high_memory_pages(prog: "Program") -> int:
    """Pages below ``high_memory`` (the end of the direct map): crash's ``vt->total_pages``,
    the denominator of ps's %MEM on x86_64 (no highmem)."""
    high_memory = kernel_variable(prog, "high_memory")
    page_offset = read_kernel_variable(prog, "page_offset_base")
    if page_offset is None:
        page_offset = 0xFFFF888000000000
    return (high_memory - page_offset) // prog.dump.page_size


def present_pages(prog: "Program") -> int:
    """Sum of ``node_present_pages`` over the nodes in ``node_data[]`` (what crash's sys calls MEMORY)."""
    node_data = prog.symbols.by_name("node_data").address
    pgdat_type = prog.type("struct pglist_data")
    offset = pgdat_type.offsetof("node_present_pages")
    total = 0
    for node in range(_max_numnodes(prog)):
        pgdat = int.from_bytes(prog.read(node_data + 8 * node, 8), "little")
        if not pgdat:
            continue
        total += int.from_bytes(prog.read(pgdat + offset, 8), "little")
    return total


def _max_numnodes(prog: "Program") -> int:
    # node_data[] has MAX_NUMNODES entries; the next symbol bounds it.
    try:
        size = prog.symbols.by_name("node_data").size
    except (LookupError, AttributeError):
        size = None
    if size:
        return max(1, size // 8)
    return 64


def _counter(obj: Object) -> int:
    """An atomic_long_t / atomic_t / plain integer's value, signed."""
    t = obj.type_.resolved()
    if t.kind in (TypeKind.STRUCT, TypeKind.UNION):
        obj = obj.counter
    return int(obj)


def _percpu_counter_sum_positive(prog: "Program", counter: Object, cpus: int) -> int:
    """``count`` plus each CPU's s32 in ``counters``, floored at 0 (crash sums CPUs 0..kt->cpus-1)."""
    total = int(counter.count)
    counters = int(counter.counters)
    for cpu in range(cpus):
        try:
            raw = prog.read((counters + prog.per_cpu_offset(cpu)) & ((1 << 64) - 1), 4)
        except FaultError:
            continue
        total += int.from_bytes(raw, "little", signed=True)
    return max(total, 0)


def mm_counter_pages(mm: Object, counter: int, cpus: Optional[int] = None) -> int:
    """One of ``mm``'s counters (MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES), floored at 0.

    6.2+ keeps percpu_counters; 2.6.34-6.1 atomic_long_t ``count[]``.
    """
    rss_stat = mm.rss_stat
    if rss_stat.type_.resolved().kind is TypeKind.ARRAY:  # 6.2+: struct percpu_counter rss_stat[]
        if cpus is None:
            cpus = nr_cpus(mm.prog_)
        return _percpu_counter_sum_positive(mm.prog_, rss_stat[counter], cpus)
    return max(_counter(rss_stat.count[counter]), 0)


def mm_rss_pages(mm: Object, cpus: Optional[int] = None) -> int:
    """Resident pages of ``mm`` (``struct mm_struct *``) from its own counters, as crash 9
    counts them: MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES (4.5+), each floored at 0."""
    rss_stat = mm.rss_stat
    array = rss_stat if rss_stat.type_.resolved().kind is TypeKind.ARRAY else rss_stat.count
    return sum(mm_counter_pages(mm, i, cpus) for i in _rss_counters(array))


def _rss_counters(array: Object):
    """The resident counters an rss_stat array holds: MM_SHMEMPAGES exists from 4.5."""
    length = array.type_.resolved().length or 0
    return (MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES) if length > MM_SHMEMPAGES else (MM_FILEPAGES, MM_ANONPAGES)


def _split_rss(task: Object) -> int:
    """The not-yet-synced per-thread deltas (``task->rss_stat.count[]``, int, 2.6.34-6.1) of
    every thread in ``task``'s group, which crash adds to the mm's counters."""
    total = 0
    for thread in for_each_thread(task):
        counts = thread.rss_stat.count
        total += sum(int(counts[i]) for i in _rss_counters(counts))
    return total


def task_rss_pages(task: Object, cpus: Optional[int] = None) -> int:
    """Resident pages of ``task``'s address space as crash's ps shows it (0 for kernel threads)."""
    mm = task.mm
    if not int(mm):
        return 0
    rss = mm_rss_pages(mm.read_(), cpus)
    if _struct_type(task).has_member("rss_stat"):
        rss += _split_rss(task)
    return rss


def task_vsz_pages(task: Object) -> int:
    """``mm->total_vm``: pages mapped in ``task``'s address space (0 for kernel threads)."""
    mm = task.mm
    if not int(mm):
        return 0
    return int(mm.total_vm)


def task_memory(task: Object, total_pages: int, cpus: Optional[int] = None) -> TaskMemory:
    """RSS, VSZ and %MEM of ``task``; ``total_pages`` is the %MEM denominator
    (:func:`high_memory_pages` for crash's figure)."""
    page_size = task.prog_.dump.page_size
    rss = task_rss_pages(task, cpus)
    total_vm = task_vsz_pages(task)
    percent = rss * 100 / total_pages if total_pages else 0.0
    return TaskMemory(rss, total_vm, rss * page_size // 1024, total_vm * page_size // 1024, percent)


__all__ = ["TaskMemory", "totalram_pages", "high_memory_pages", "present_pages",
           "mm_rss_pages", "task_rss_pages", "task_vsz_pages", "task_memory"]


def read_user(task: Object, address: int, size: int) -> bytes:
    """``size`` bytes at user address ``address`` of ``task``, through its own page tables
    (``mm->pgd``); FaultError where a page is not mapped or not in the dump (user pages are
    filtered out of ``makedumpfile -d 31`` dumps)."""
    prog = task.prog_
    space = task.mm
    if not int(space):
        raise FaultError("a kernel thread has no user address space", address)
    return prog.arch.read(address, size, root=prog.translate(int(space.pgd)))


def task_arguments(task: Object, limit: int = 1 << 16) -> List[bytes]:
    """The process's argv as the kernel keeps it (``mm->arg_start`` .. ``arg_end``)."""
    space = task.mm
    start, end = int(space.arg_start), int(space.arg_end)
    if not 0 <= end - start <= limit:
        raise FaultError(f"argv of {end - start} bytes is not plausible", start)
    data = read_user(task, start, end - start)
    return data.rstrip(b"\0").split(b"\0") if data else []
