"""Per-task memory (RSS, VSZ, %MEM) and the system's page totals, computed the way crash 9's ps does.

RSS counters: ``mm->rss_stat.count[]`` atomic_long_t plus the per-thread ``task->rss_stat``
deltas (SPLIT_RSS_COUNTING, 2.6.34-6.1), or ``mm->rss_stat[]`` as percpu_counter (6.2+).
Pages: ``struct page`` in x86_64's vmemmap array, the direct map, page flags and page types
(6.10+), and the valid page frames from SPARSEMEM_EXTREME's ``mem_section`` (5.3+ subsections).
"""
import operator
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, List, NamedTuple, Optional, Tuple

from .variables import kernel_variable, read_kernel_variable
from ..errors import FaultError, MissingDebugInfoError
from ..object import Object
from ..types.model import TypeKind
from .percpu import percpu_counter_sums
from .sched import _struct_type, for_each_thread, nr_cpus

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES } (mm_types_task.h, 4.5+;
# no MM_SHMEMPAGES before): an anonymous enum that BTF does not name.
MM_FILEPAGES = 0
MM_ANONPAGES = 1
MM_SWAPENTS = 2
MM_SHMEMPAGES = 3
# User pages are read one 4 KiB page at a time where a fast read fails (huge pages are present
# ones, which the fast path or the per-page read reads whole).
_USER_PAGE_SIZE = 4096


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


def _percpu_counters_sum_positive(counters: List[Object], cpus: int) -> List[int]:
    """``count`` plus each CPU's s32 in ``counters`` of each counter, floored at 0 (crash sums CPUs
    0..kt->cpus-1, a CPU whose delta the dump lacks counting 0)."""
    return [max(total, 0) for total in percpu_counter_sums(counters, range(cpus), skip_unreadable=True)]


def mm_counter_pages(mm: Object, counter: int, cpus: Optional[int] = None) -> int:
    """One of ``mm``'s counters (MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES), floored at 0.

    6.2+ keeps percpu_counters; 2.6.34-6.1 atomic_long_t ``count[]``.
    """
    return _mm_counters_pages(mm, (counter,), cpus)[0]


def _mm_counters_pages(mm: Object, counters: Tuple[int, ...], cpus: Optional[int]) -> List[int]:
    """:func:`mm_counter_pages` of each of ``counters``: 6.2+'s percpu_counters summed together
    (one read per CPU where their deltas share a page)."""
    rss_stat = mm.rss_stat
    if rss_stat.type_.resolved().kind is TypeKind.ARRAY:  # 6.2+: struct percpu_counter rss_stat[]
        if cpus is None:
            cpus = nr_cpus(mm.prog_)
        return _percpu_counters_sum_positive([rss_stat[counter] for counter in counters], cpus)
    count = rss_stat.count
    return [max(_counter(count[counter]), 0) for counter in counters]


def mm_rss_pages(mm: Object, cpus: Optional[int] = None) -> int:
    """Resident pages of ``mm`` (``struct mm_struct *``) from its own counters, as crash 9
    counts them: MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES (4.5+), each floored at 0."""
    rss_stat = mm.rss_stat
    array = rss_stat if rss_stat.type_.resolved().kind is TypeKind.ARRAY else rss_stat.count
    return sum(_mm_counters_pages(mm, _rss_counters(array), cpus))


def _rss_counters(array: Object) -> Tuple[int, ...]:
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


def _mm_rss_pages_of(task: Object, mm: Object, cpus: Optional[int]) -> int:
    """:func:`task_rss_pages` of ``task`` whose ``mm`` (not NULL) the caller has read."""
    rss = mm_rss_pages(mm, cpus)
    if _struct_type(task).has_member("rss_stat"):
        rss += _split_rss(task)
    return rss


def task_rss_pages(task: Object, cpus: Optional[int] = None) -> int:
    """Resident pages of ``task``'s address space as crash's ps shows it (0 for kernel threads)."""
    mm = task.mm
    if not int(mm):
        return 0
    return _mm_rss_pages_of(task, mm, cpus)


def task_vsz_pages(task: Object) -> int:
    """``mm->total_vm``: pages mapped in ``task``'s address space (0 for kernel threads)."""
    mm = task.mm
    if not int(mm):
        return 0
    return int(mm.total_vm)


def task_memory(task: Object, total_pages: int, cpus: Optional[int] = None) -> TaskMemory:
    """RSS, VSZ and %MEM of ``task``; ``total_pages`` is the %MEM denominator
    (:func:`high_memory_pages` for crash's figure).  ``task->mm`` is read once for both."""
    page_size = task.prog_.dump.page_size
    mm = task.mm
    if int(mm):
        rss, total_vm = _mm_rss_pages_of(task, mm, cpus), int(mm.total_vm)
    else:
        rss = total_vm = 0
    percent = rss * 100 / total_pages if total_pages else 0.0
    return TaskMemory(rss, total_vm, rss * page_size // 1024, total_vm * page_size // 1024, percent)

__all__ = ["TaskMemory", "totalram_pages", "high_memory_pages", "present_pages",
           "mm_rss_pages", "task_rss_pages", "task_vsz_pages", "task_memory", "read_user", "read_mm", "follow_phys",
           "in_direct_map", "task_arguments",
           "page_offset", "vmemmap", "pfn_to_page", "page_to_pfn", "page_to_phys", "phys_to_virt", "virt_to_phys",
           "pfn_to_virt", "page_to_virt", "virt_to_pfn", "virt_to_page", "phys_to_page", "page_flags",
           "page_flag_bit", "page_flag_set", "PageHead", "PageTail", "PageCompound", "compound_head",
           "compound_order", "compound_nr", "PageSlab", "for_each_slab_page", "for_each_valid_page_range",
           "for_each_page"]


def read_user(task: Object, address: int, size: int) -> bytes:
    """``size`` bytes at user address ``address`` of ``task``, through its own page tables
    (``mm->pgd``), swapped-out pages included where the dump holds them (see :func:`read_mm`);
    FaultError where a page is not mapped or not in the dump (user pages are filtered out of
    ``makedumpfile -d 31`` dumps)."""
    space = task.mm
    if not int(space):
        raise FaultError("a kernel thread has no user address space", address)
    return read_mm(space, address, size)


def read_mm(mm: Object, address: int, size: int) -> bytes:
    """``size`` bytes at ``address`` of the address space ``mm`` (``struct mm_struct *``), through
    its page tables.  A page whose PTE holds a swap entry is read from the swap cache or from
    zram (:func:`pycore.kernel.swap.read_swapped_page`); FaultError names the first page that is
    not mapped or not in the dump (SwappedOutError: the swap device and offset)."""
    prog = mm.prog_
    root = prog.translate(int(mm.pgd))
    try:
        return prog.arch.read(address, size, root=root)
    except FaultError:
        pass
    data = bytearray()
    at, end = address, address + size
    while at < end:
        page = at & ~(_USER_PAGE_SIZE - 1)
        stop = min(page + _USER_PAGE_SIZE, end)
        try:
            data += prog.arch.read(at, stop - at, root=root)
        except FaultError as error:
            data += _swapped_page(prog, root, page, error)[at - page:stop - page]
        at = stop
    return bytes(data)


def _swapped_page(prog: "Program", root: int, page: int, error: FaultError) -> bytes:
    """The swapped-out user page at ``page`` (its PTE a swap entry), else ``error`` raised again."""
    # Imported here: swap brings zram, zsmalloc, zswap, fs and module, which only a user read that
    # meets a swap entry needs (every ps and kmem imported them, ~0.05-0.1 s).
    from . import swap

    try:
        walk = prog.arch.walk(page, root)
    except FaultError:
        raise error from None
    last = walk.entries[-1] if walk.entries else None
    entry = swap.pte_to_swp_entry(last.entry) if last is not None and last.level == 1 else None
    if entry is None or walk.physical is not None:
        raise error
    return swap.read_swapped_page(prog, entry, page)


def follow_phys(mm: Object, address: int) -> int:
    """The physical address behind ``address`` in the address space ``mm`` (``init_mm`` for
    kernel addresses); FaultError when it is not mapped."""
    prog = mm.prog_
    return prog.arch.translate(address, root=prog.translate(int(mm.pgd)))


def in_direct_map(prog: "Program", address: int) -> bool:
    """Whether ``address`` lies in the direct map of physical memory (where :func:`virt_to_phys`
    applies)."""
    start = page_offset(prog)
    return 0 <= address - start < prog.arch.direct_map_size


def task_arguments(task: Object, limit: int = 1 << 16) -> List[bytes]:
    """The process's argv as the kernel keeps it (``mm->arg_start`` .. ``arg_end``)."""
    space = task.mm
    start, end = int(space.arg_start), int(space.arg_end)
    if not 0 <= end - start <= limit:
        raise FaultError(f"argv of {end - start} bytes is not plausible", start)
    data = read_user(task, start, end - start)
    return data.rstrip(b"\0").split(b"\0") if data else []


# -- struct page, page frame numbers and the direct map (x86_64, SPARSEMEM_VMEMMAP) ------------
# Where the direct map and the vmemmap array start without CONFIG_RANDOMIZE_MEMORY (4.8+ moves
# them and keeps the bases in page_offset_base and vmemmap_base): Documentation/arch/x86/x86_64/mm.rst.
_PAGE_OFFSET_DEFAULT = {4: 0xFFFF888000000000, 5: 0xFF11000000000000}
_VMEMMAP_DEFAULT = {4: 0xFFFFEA0000000000, 5: 0xFFD4000000000000}
# mem_section.section_mem_map's low bits (include/linux/mmzone.h, 5.3+ for SECTION_IS_EARLY).
SECTION_HAS_MEM_MAP = 1 << 1
SECTION_IS_EARLY = 1 << 3
# Memory hot-add works in 2 MiB subsections within a section (5.3+, SPARSEMEM_VMEMMAP).
SUBSECTION_SHIFT = 21


def page_offset(prog: "Program") -> int:
    """Where the direct map of all physical memory starts (the kernel's PAGE_OFFSET)."""
    start = prog.arch.direct_map_start
    if start is None:
        start = read_kernel_variable(prog, "page_offset_base")
    return start if start is not None else _PAGE_OFFSET_DEFAULT[prog.arch.levels]


def vmemmap(prog: "Program") -> int:
    """The address of PFN 0's ``struct page`` in the vmemmap array: VMCOREINFO's
    ``SYMBOL(vmemmap)`` (6.x), else ``vmemmap_base`` (CONFIG_RANDOMIZE_MEMORY), else the default."""
    address = prog.vmcoreinfo.symbol("vmemmap") if prog.vmcoreinfo else None
    if address is None:
        address = read_kernel_variable(prog, "vmemmap_base")
    return address if address is not None else _VMEMMAP_DEFAULT[prog.arch.levels]


def page_struct_size(prog: "Program") -> int:
    """``sizeof(struct page)``: the stride of the vmemmap array."""
    size = prog.type("struct page").size
    if not size:
        raise MissingDebugInfoError(f"the size of struct page is not known from {prog.types.source}")
    return size


def pfn_to_page(prog: "Program", pfn: int) -> Object:
    """The ``struct page *`` of page frame ``pfn`` (not read: the page may be a hole)."""
    return Object(prog, "struct page *", (vmemmap(prog) + int(pfn) * page_struct_size(prog)) & ((1 << 64) - 1))


def page_to_pfn(page: Object) -> int:
    """The page frame number of ``page`` (``struct page *`` in the vmemmap array)."""
    prog = page.prog_
    offset = int(page) - vmemmap(prog)
    size = page_struct_size(prog)
    if offset < 0 or offset % size:
        raise FaultError(f"not a struct page of the vmemmap array at {vmemmap(prog):#x}", int(page))
    return offset // size


def page_to_phys(page: Object) -> int:
    """The physical address of ``page``'s memory."""
    return page_to_pfn(page) * page.prog_.dump.page_size


def phys_to_virt(prog: "Program", physical: int) -> int:
    """The direct-map address of physical address ``physical``."""
    return (page_offset(prog) + int(physical)) & ((1 << 64) - 1)


def virt_to_phys(prog: "Program", address: int) -> int:
    """The physical address behind direct-map ``address`` (kmalloc, slab and page-allocator
    memory; not vmalloc, modules or the kernel image: translate those with ``prog.translate``)."""
    return (int(address) - page_offset(prog)) & ((1 << 64) - 1)


def pfn_to_virt(prog: "Program", pfn: int) -> int:
    """The direct-map address of page frame ``pfn``."""
    return phys_to_virt(prog, int(pfn) * prog.dump.page_size)


def page_to_virt(page: Object) -> int:
    """The direct-map address of ``page``'s memory."""
    return pfn_to_virt(page.prog_, page_to_pfn(page))


def virt_to_pfn(prog: "Program", address: int) -> int:
    """The page frame of direct-map ``address`` (see :func:`virt_to_phys`)."""
    return virt_to_phys(prog, address) // prog.dump.page_size


def virt_to_page(prog: "Program", address: int) -> Object:
    """The ``struct page *`` of direct-map ``address`` (see :func:`virt_to_phys`)."""
    return pfn_to_page(prog, virt_to_pfn(prog, address))


def phys_to_page(prog: "Program", physical: int) -> Object:
    """The ``struct page *`` holding physical address ``physical``."""
    return pfn_to_page(prog, int(physical) // prog.dump.page_size)


def page_flags(page: Object) -> int:
    """``page->flags``: an unsigned long, inside ``memdesc_flags_t.f`` from 6.18."""
    flags = page.flags
    if flags.type_.resolved().kind is TypeKind.STRUCT:
        flags = flags.f
    return int(flags)


def page_flag_bit(prog: "Program", name: str) -> Optional[int]:
    """The bit number of page flag ``name`` (``PG_lru``) in ``enum pageflags``, or VMCOREINFO's
    ``NUMBER(name)``; None when this kernel has no such flag (PG_slab left in 6.10, PG_error in 6.12)."""
    try:
        enumerators = prog.type("enum pageflags").resolved().enumerators or ()
    except LookupError:
        enumerators = ()
    for enumerator, value in enumerators:
        if enumerator == name:
            return value
    return prog.vmcoreinfo.number(name) if prog.vmcoreinfo else None


def page_flag_set(page: Object, name: str) -> bool:
    """Whether page flag ``name`` (``PG_dirty``) is set on ``page``; False when this kernel has no
    such flag, as the kernel's PageXxx() would not exist."""
    bit = page_flag_bit(page.prog_, name)
    return bit is not None and bool(page_flags(page) >> bit & 1)


def _compound_member(prog: "Program") -> str:
    """The ``struct page`` member that marks a tail page with bit 0: ``compound_info`` (7.1+) or
    ``compound_head`` (4.4+); older kernels' PG_tail is not read."""
    page_type = prog.type("struct page")
    for member in ("compound_info", "compound_head"):
        if page_type.has_member(member):
            return member
    raise MissingDebugInfoError(f"struct page has neither compound_info nor compound_head in {prog.types.source}: "
                                "compound pages of kernels before 4.4 are not read")


def _head_flag(page: Object) -> bool:
    bit = page_flag_bit(page.prog_, "PG_head")
    return bit is not None and bool(page_flags(page) >> bit & 1)


def _fake_head(page: Object) -> bool:
    """A HugeTLB Vmemmap Optimization tail page that looks like a head (5.18 to 7.0: the vmemmap
    page holding it is shared with the real head's, so PG_head shows through)."""
    head = int(page[1].compound_head)
    return bool(head & 1) and head - 1 != int(page)


def PageHead(page: Object) -> bool:
    """Whether ``page`` (``struct page *``) heads a compound page (PG_head, a fake head excluded)."""
    return _head_flag(page) and not (_compound_member(page.prog_) == "compound_head" and _fake_head(page))


def PageTail(page: Object) -> bool:
    """Whether ``page`` is a tail page of a compound page (bit 0 of compound_head/compound_info)."""
    member = _compound_member(page.prog_)
    if int(page.member_(member)) & 1:
        return True
    return member == "compound_head" and _head_flag(page) and _fake_head(page)


def PageCompound(page: Object) -> bool:
    """Whether ``page`` is part of a compound page, head or tail."""
    return _head_flag(page) or bool(int(page.member_(_compound_member(page.prog_))) & 1)


def compound_head(page: Object) -> Object:
    """The head ``struct page *`` of the compound page ``page`` is part of, else ``page``.  7.1's
    compound_info holds a mask to apply to the tail's own address when ``struct page`` is a
    power of two in size with HugeTLB vmemmap optimization (``zone.vmemmap_tails``), else the
    head's address plus one, as compound_head did before."""
    prog = page.prog_
    member = _compound_member(prog)
    info = int(page.member_(member))
    if info & 1:
        size = page_struct_size(prog)
        if member == "compound_info" and not size & (size - 1) and prog.type("struct zone").has_member("vmemmap_tails"):
            return Object(prog, page.type_, int(page) & info)
        return Object(prog, page.type_, info - 1)
    if member == "compound_head" and _head_flag(page):
        head = int(page[1].compound_head)
        if head & 1:
            return Object(prog, page.type_, head - 1)
    return page


def compound_order(page: Object) -> int:
    """The allocation order of the compound page ``page`` heads (0 for any other page):
    ``folio._folio_order`` (6.1-6.5), the low byte of ``folio._flags_1`` (6.6+), or the first tail
    page's ``compound_order`` (before 6.1)."""
    if not PageHead(page):
        return 0
    prog = page.prog_
    try:
        folio = prog.type("struct folio")
    except LookupError:
        folio = None
    # 6.1-6.5's folio has _flags_1 too, but the order in its own byte
    if folio is not None and folio.has_member("_folio_order"):
        return int(Object(prog, "struct folio *", int(page))._folio_order)
    if folio is not None and folio.has_member("_flags_1"):
        return int(Object(prog, "struct folio *", int(page))._flags_1) & 0xFF
    return int(page[1].compound_order)


def compound_nr(page: Object) -> int:
    """How many pages the compound page ``page`` heads spans (1 for any other page)."""
    return 1 << compound_order(page)


def _slab_marker(prog: "Program") -> Tuple[int, int, int, int]:
    """(offset, width, mask, expected) of what marks a slab's head ``struct page``: its page type,
    ``_mapcount`` equal to VMCOREINFO's ``PAGE_SLAB_MAPCOUNT_VALUE`` (6.10+), else the PG_slab
    flag (before 6.10)."""
    page_type = prog.type("struct page")
    value = prog.vmcoreinfo.number("PAGE_SLAB_MAPCOUNT_VALUE") if prog.vmcoreinfo else None
    if value is not None:
        return page_type.offsetof("_mapcount"), 4, 0xFFFFFFFF, value & 0xFFFFFFFF
    bit = page_flag_bit(prog, "PG_slab")
    if bit is None:
        raise MissingDebugInfoError("neither VMCOREINFO's PAGE_SLAB_MAPCOUNT_VALUE nor enum pageflags' PG_slab "
                                    f"is known from {prog.types.source}: slab pages cannot be told")
    return page_type.offsetof("flags"), 8, 1 << bit, 1 << bit


def PageSlab(page: Object) -> bool:
    """Whether ``page`` is the head page of a slab (see :func:`_slab_marker` for the kernel versions)."""
    offset, width, mask, expected = _slab_marker(page.prog_)
    return int.from_bytes(page.prog_.read(int(page) + offset, width), "little") & mask == expected


def for_each_slab_page(prog: "Program") -> Iterator[Object]:
    """Each slab's head ``struct page *``, lowest PFN first: every page of the machine tested as
    :func:`PageSlab` does, read a few hundred pages at a time.  Pages the dump lacks are skipped."""
    offset, width, mask, expected = _slab_marker(prog)
    base, size = vmemmap(prog), page_struct_size(prog)
    page_pointer = prog.type("struct page *")
    chunk = 512
    for start, end in for_each_valid_page_range(prog):
        for first in range(start, end, chunk):
            count = min(chunk, end - first)
            raw, holes = prog.read_available(base + first * size, count * size)
            for index in range(count):
                at = index * size
                if any(low <= at < high for low, high in holes):
                    continue
                if int.from_bytes(raw[at + offset:at + offset + width], "little") & mask == expected:
                    yield Object(prog, page_pointer, base + (first + index) * size)


def _sparsemem(prog: "Program") -> Tuple[int, int, int, int, int]:
    """(roots address, number of roots, section size, sections per root, section_mem_map offset)
    of SPARSEMEM_EXTREME's ``mem_section`` (every x86_64 distribution kernel), from VMCOREINFO."""
    info = prog.vmcoreinfo
    roots = info.symbol("mem_section") if info else None
    count = info.length("mem_section") if info else None
    size = info.size("mem_section") if info else None
    bits = info.number("SECTION_SIZE_BITS") if info else None
    if None in (roots, count, size, bits):
        raise MissingDebugInfoError("the page map needs VMCOREINFO's mem_section, LENGTH, SIZE and "
                                    "SECTION_SIZE_BITS (SPARSEMEM_EXTREME, 2.6.24+)")
    return roots, count, size, prog.dump.page_size // size, info.offset("mem_section.section_mem_map") or 0


def for_each_valid_page_range(prog: "Program") -> Iterator[Tuple[int, int]]:
    """(first PFN, end PFN) of each run of page frames that have a ``struct page``: the
    sections with a mem_map, narrowed to their present 2 MiB subsections (5.3+) except for the
    boot-time (early) sections, as the kernel's pfn_valid() decides."""
    roots, count, size, per_root, map_offset = _sparsemem(prog)
    bits = prog.vmcoreinfo.number("SECTION_SIZE_BITS")
    page_shift = prog.dump.page_size.bit_length() - 1
    pages_per_section = 1 << (bits - page_shift)
    subsections = 1 << (bits - SUBSECTION_SHIFT)
    pages_per_subsection = 1 << (SUBSECTION_SHIFT - page_shift)
    section_type = prog.type("struct mem_section")
    usage_offset = section_type.offsetof("usage") if section_type.has_member("usage") else None
    subsection_map = None
    if usage_offset is not None:
        usage_type = prog.type("struct mem_section_usage")
        if usage_type.has_member("subsection_map"):
            subsection_map = usage_type.offsetof("subsection_map")
    start: Optional[int] = None
    pfn = 0
    root_pointers = prog.read(roots, 8 * count)
    for root_index in range(count):
        root = int.from_bytes(root_pointers[8 * root_index:8 * root_index + 8], "little")
        if not root:
            if start is not None:
                yield start, pfn
                start = None
            pfn += per_root * pages_per_section
            continue
        raw = prog.read(root, per_root * size)
        for section in range(per_root):
            mem_map = int.from_bytes(raw[section * size + map_offset:section * size + map_offset + 8], "little")
            if not mem_map & SECTION_HAS_MEM_MAP:
                if start is not None:
                    yield start, pfn
                    start = None
                pfn += pages_per_section
                continue
            present = (1 << subsections) - 1
            if subsection_map is not None and not mem_map & SECTION_IS_EARLY:
                usage = int.from_bytes(raw[section * size + usage_offset:section * size + usage_offset + 8],
                                       "little")
                if usage:
                    present = int.from_bytes(prog.read(usage + subsection_map, (subsections + 7) // 8),
                                             "little") & ((1 << subsections) - 1)
            for sub in range(subsections):
                here = pfn + sub * pages_per_subsection
                if present >> sub & 1:
                    if start is None:
                        start = here
                elif start is not None:
                    yield start, here
                    start = None
            pfn += pages_per_section
    if start is not None:
        yield start, pfn


def for_each_page(prog: "Program") -> Iterator[Object]:
    """Each ``struct page *`` that exists, lowest PFN first (see :func:`for_each_valid_page_range`)."""
    base, size = vmemmap(prog), page_struct_size(prog)
    page_pointer = prog.type("struct page *")
    for start, end in for_each_valid_page_range(prog):
        for pfn in range(start, end):
            yield Object(prog, page_pointer, base + pfn * size)


# -- memory nodes, sections and blocks (crash's kmem -n) --------------------------------------------
# mem_section.section_mem_map's flag bits below the coded mem_map (mmzone.h: PRESENT, HAS_MEM_MAP,
# ONLINE 4.13+, EARLY 5.3+, TAINT_ZONE_DEVICE 5.12+); the map itself is 64-byte aligned.
SECTION_MAP_FLAG_BITS = 0x3F
# memory_block.state's values (linux/memory.h MEM_ONLINE ... MEM_CANCEL_OFFLINE).
MEMORY_BLOCK_STATES = {1: "ONLINE", 2: "GOING_OFFLINE", 4: "OFFLINE", 8: "GOING_ONLINE", 16: "CANCEL_ONLINE",
                       32: "CANCEL_OFFLINE"}


class MemorySection(NamedTuple):
    """One present SPARSEMEM section: its number, ``struct mem_section`` address, the coded
    ``section_mem_map`` (the mem_map less the section's first PFN, flags cleared), its flag bits
    and the first PFN it covers."""

    nr: int
    address: int
    coded_mem_map: int
    flags: int
    pfn: int


def for_each_present_section(prog: "Program") -> Iterator[MemorySection]:
    """Each section whose ``section_mem_map`` is not zero, by number, as crash's
    dump_mem_sections() lists them (SPARSEMEM_EXTREME's roots, VMCOREINFO's layout)."""
    roots, count, size, per_root, map_offset = _sparsemem(prog)
    bits = prog.vmcoreinfo.number("SECTION_SIZE_BITS")
    pages_per_section = 1 << (bits - (prog.dump.page_size.bit_length() - 1))
    root_pointers = prog.read(roots, 8 * count)
    for root_index in range(count):
        root = int.from_bytes(root_pointers[8 * root_index:8 * root_index + 8], "little")
        if not root:
            continue
        raw = prog.read(root, per_root * size)
        for section in range(per_root):
            at = section * size + map_offset
            word = int.from_bytes(raw[at:at + 8], "little")
            if word:
                nr = root_index * per_root + section
                yield MemorySection(nr, root + section * size, word & ~SECTION_MAP_FLAG_BITS,
                                    word & SECTION_MAP_FLAG_BITS, nr * pages_per_section)


class MemoryBlock(NamedTuple):
    """A ``struct memory_block`` of the memory subsystem (the /sys/devices/system/memory/memoryN
    devices): its address, name, physical range (end None where the kernel does not say), node
    (None before 5.x's ``nid``), state word and first section."""

    address: int
    name: str
    start: int
    end: Optional[int]
    node: Optional[int]
    state: int
    start_section: int


def _memory_subsys_private(prog: "Program") -> int:
    """The memory bus's ``struct subsys_private``: ``memory_subsys.p`` before 6.3, else the
    ``bus_kset`` kobject named "memory" (6.3 removed bus_type.p)."""
    bus_type = prog.type("struct bus_type")
    if bus_type.has_member("p"):
        return int(Object(prog, "struct bus_type", address=prog.symbols.by_name("memory_subsys").address).p)
    kset = prog.type("struct kset")
    kobject = prog.type("struct kobject")
    private = prog.type("struct subsys_private")
    bus_kset = int(kernel_variable(prog, "bus_kset"))
    head = bus_kset + kset.offsetof("list")
    entry = kobject.offsetof("entry")
    for node in _list_nodes(prog, head):
        kobj = node - entry
        name = Object(prog, "struct kobject", address=kobj).name.string_().decode("utf-8", "replace")
        if name == "memory":
            return kobj - kset.offsetof("kobj") - private.offsetof("subsys")
    raise MissingDebugInfoError("bus_kset has no \"memory\" bus (memory hotplug sysfs not built?)")


def _list_nodes(prog: "Program", head: int, limit: int = 1 << 20) -> Iterator[int]:
    """The nodes of a ``list_head`` ring at ``head`` (bounded; a ring that does not come back to
    ``head`` within ``limit`` nodes is a FaultError)."""
    seen = 0
    node = int.from_bytes(prog.read(head, 8), "little")
    while node != head:
        yield node
        seen += 1
        if seen > limit:
            raise FaultError(f"list at {head:#x} does not return to its head", node)
        node = int.from_bytes(prog.read(node, 8), "little")


def memory_blocks(prog: "Program") -> List[MemoryBlock]:
    """The memory subsystem's blocks in the order of its device klist, as crash's
    dump_memory_blocks() walks them; the end from ``memory_block_size_probed`` (x86_64) or
    ``end_section_nr`` (before 5.x); the state as the word crash reads (8 bytes at ``state``,
    which from 6.x also holds ``online_type``: crash shows UNKNOWN there)."""
    block = prog.type("struct memory_block")
    private = prog.type("struct subsys_private")
    klist = prog.type("struct klist")
    device_private = prog.type("struct device_private")
    bits = prog.vmcoreinfo.number("SECTION_SIZE_BITS")
    head = _memory_subsys_private(prog) + private.offsetof("klist_devices") + klist.offsetof("k_list")
    knode = device_private.offsetof("knode_bus") + prog.type("struct klist_node").offsetof("n_node")
    probed = kernel_variable(prog, "memory_block_size_probed") if "memory_block_size_probed" in prog.symbols else None
    size = int(probed) if probed is not None else None
    found = []
    for node in _list_nodes(prog, head):
        device = int(Object(prog, "struct device_private", address=node - knode).device)
        address = device - block.offsetof("dev")
        memory = Object(prog, "struct memory_block", address=address)
        first = int(memory.start_section_nr)
        start = first << bits
        if size is not None:
            end: Optional[int] = start + size - 1
        elif block.has_member("end_section_nr"):
            end = ((int(memory.end_section_nr) + 1) << bits) - 1
        else:
            end = None
        state = int.from_bytes(prog.read(address + block.offsetof("state"), 8), "little")
        found.append(MemoryBlock(address, memory.dev.kobj.name.string_().decode("utf-8", "replace"), start, end,
                                 int(memory.nid) if block.has_member("nid") else None, state, first))
    return found


@dataclass
class MemMapEntry:
    """One ``struct page`` of the mem_map as crash's kmem -p lists it: its address, the physical
    address of its page, ``mapping``, ``index``, ``_refcount`` and ``flags``.  (A dataclass, as
    fast to build as a NamedTuple, so that :class:`pycore.kernel.slab.PageDescriptor` adds to it.)"""

    page: int
    physical: int
    mapping: int
    index: int
    count: int
    flags: int


def _mem_map_decoder(prog: "Program") -> Callable[[bytes, int, int], Iterator[MemMapEntry]]:
    """The one decoder of ``struct page``'s ``flags``, ``mapping``, ``index`` (``__folio_index``
    where 6.x's struct page names it so) and ``_refcount``: a function of (the struct pages read
    from the vmemmap array, the first one's address, its PFN) giving each one's MemMapEntry.  One
    struct.Struct spans a whole struct page and unpacks the four in offset order, so that kmem -p's
    262,144 pages of a 1 GiB guest cost one C call each."""
    page_type = prog.type("struct page")
    size = page_struct_size(prog)
    page_size = prog.dump.page_size
    members = sorted((page_type.offsetof(name), position, code) for position, (name, code) in enumerate((
        ("mapping", "Q"), ("index" if page_type.has_member("index") else "__folio_index", "Q"),
        ("_refcount", "i"), ("flags", "Q"))))
    layout, at = "<", 0
    for offset, _, code in members:
        layout += f"{offset - at}x{code}"
        at = offset + struct.calcsize(code)
    record = struct.Struct(f"{layout}{size - at}x")
    order = operator.itemgetter(*(sorted(range(4), key=lambda index: members[index][1])))

    def decode(raw: bytes, first: int, pfn: int) -> Iterator[MemMapEntry]:
        for number, values in enumerate(record.iter_unpack(raw)):
            yield MemMapEntry(first + number * size, (pfn + number) * page_size, *order(values))
    return decode


def mem_map_entry(prog: "Program", pfn: int) -> MemMapEntry:
    """The ``struct page`` of page frame ``pfn`` in the vmemmap array, decoded as kmem -p lists it;
    FaultError where the dump lacks it."""
    page = int(pfn_to_page(prog, pfn))
    return next(_mem_map_decoder(prog)(prog.read(page, page_struct_size(prog)), page, pfn))


def for_each_mem_map_entry(prog: "Program") -> Iterator[MemMapEntry]:
    """Every ``struct page`` of every present section, lowest PFN first, as crash's
    dump_mem_map_SPARSEMEM() walks them (a section's pages whether or not its subsections are
    present), each section's mem_map read at once.  FaultError where the dump lacks a section's
    mem_map."""
    decode = _mem_map_decoder(prog)
    size = page_struct_size(prog)
    bits = prog.vmcoreinfo.number("SECTION_SIZE_BITS")
    per_section = 1 << (bits - (prog.dump.page_size.bit_length() - 1))
    for section in for_each_present_section(prog):
        first = section.coded_mem_map + section.pfn * size
        yield from decode(prog.read(first, per_section * size), first, section.pfn)
