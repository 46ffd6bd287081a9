"""drgn's ``drgn.helpers.linux.mm``: struct page and the direct map, page flag tests, the valid
page frames and the VMAs of an address space, from :mod:`pycore.kernel.mm` and
:mod:`pycore.kernel.vma` (x86_64, SPARSEMEM_VMEMMAP; kernels 5.10 to 7.2), returning Objects as
drgn does (``page_to_pfn(page).value_()``).
"""
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional, Tuple

from ...kernel import mm as _mm
from ...kernel.mm import PageCompound, PageHead, PageSlab, PageTail, compound_head, for_each_page, pfn_to_page
from ...kernel.vma import for_each_vma
from ...object import Object

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def _unsigned_long(prog: "Program", value: int) -> Object:
    return Object(prog, "unsigned long", value)


def _phys_addr(prog: "Program", value: int) -> Object:
    return Object(prog, "phys_addr_t", value)


def _void_pointer(prog: "Program", value: int) -> Object:
    return Object(prog, "void *", value)


def PFN_PHYS(prog: "Program", pfn: int) -> Object:
    """The physical address (``phys_addr_t``) of page frame ``pfn``."""
    return _phys_addr(prog, int(pfn) * prog.dump.page_size)


def PHYS_PFN(prog: "Program", addr: int) -> Object:
    """The page frame (``unsigned long``) holding physical address ``addr``."""
    return _unsigned_long(prog, int(addr) // prog.dump.page_size)


def page_to_pfn(page: Object) -> Object:
    """The page frame number of ``page`` (``struct page *``)."""
    return _unsigned_long(page.prog_, _mm.page_to_pfn(page))


def page_to_phys(page: Object) -> Object:
    """The physical address of ``page``'s memory."""
    return _phys_addr(page.prog_, _mm.page_to_phys(page))


def page_to_virt(page: Object) -> Object:
    """The direct-map address (``void *``) of ``page``'s memory."""
    return _void_pointer(page.prog_, _mm.page_to_virt(page))


def pfn_to_virt(prog: "Program", pfn: int) -> Object:
    """The direct-map address (``void *``) of page frame ``pfn``."""
    return _void_pointer(prog, _mm.pfn_to_virt(prog, int(pfn)))


def phys_to_virt(prog: "Program", addr: int) -> Object:
    """The direct-map address (``void *``) of physical address ``addr``."""
    return _void_pointer(prog, _mm.phys_to_virt(prog, int(addr)))


def phys_to_page(prog: "Program", addr: int) -> Object:
    """The ``struct page *`` holding physical address ``addr``."""
    return _mm.phys_to_page(prog, int(addr))


def virt_to_phys(prog: "Program", addr: int) -> Object:
    """The physical address behind a direct-map address (kmalloc, slab, page allocator)."""
    return _phys_addr(prog, _mm.virt_to_phys(prog, int(addr)))


def virt_to_pfn(prog: "Program", addr: int) -> Object:
    """The page frame of a direct-map address."""
    return _unsigned_long(prog, _mm.virt_to_pfn(prog, int(addr)))


def virt_to_page(prog: "Program", addr: int) -> Object:
    """The ``struct page *`` of a direct-map address."""
    return _mm.virt_to_page(prog, int(addr))


def page_flags(page: Object) -> Object:
    """``page->flags`` as an ``unsigned long`` (inside memdesc_flags_t from 6.18)."""
    return _unsigned_long(page.prog_, _mm.page_flags(page))


def page_index(page: Object) -> Object:
    """The page's offset in its mapping: ``index``, ``__folio_index`` from 6.16."""
    return page.member_("index" if page.type_.resolved().type.resolved().has_member("index")  # type: ignore[union-attr]
                        else "__folio_index")


def for_each_valid_page_range(prog: "Program") -> Iterator[Tuple[int, int, Object]]:
    """(first PFN, end PFN, ``mem_map``) of each run of valid page frames; ``mem_map`` is the
    ``struct page *`` of PFN 0 (the vmemmap array), so ``mem_map + pfn`` is a PFN's page."""
    mem_map = pfn_to_page(prog, 0)
    for start, end in _mm.for_each_valid_page_range(prog):
        yield start, end, mem_map


def for_each_valid_pfn_and_page(prog: "Program") -> Iterator[Tuple[int, Object]]:
    """(PFN, ``struct page *``) of each valid page frame."""
    for start, end in _mm.for_each_valid_page_range(prog):
        for pfn in range(start, end):
            yield pfn, pfn_to_page(prog, pfn)


def follow_phys(mm: Object, addr: int) -> Object:
    """The physical address behind ``addr`` in the address space ``mm`` (``struct mm_struct *``)."""
    return _phys_addr(mm.prog_, _mm.follow_phys(mm, int(addr)))


def follow_pfn(mm: Object, addr: int) -> Object:
    """The page frame behind ``addr`` in the address space ``mm``."""
    return _unsigned_long(mm.prog_, _mm.follow_phys(mm, int(addr)) // mm.prog_.dump.page_size)


def follow_page(mm: Object, addr: int) -> Object:
    """The ``struct page *`` behind ``addr`` in the address space ``mm``."""
    return _mm.phys_to_page(mm.prog_, _mm.follow_phys(mm, int(addr)))


def vmalloc_to_page(prog: "Program", addr: int) -> Object:
    """The ``struct page *`` behind a kernel address outside the direct map (vmalloc, modules)."""
    return _mm.phys_to_page(prog, prog.translate(int(addr)))


def vmalloc_to_pfn(prog: "Program", addr: int) -> Object:
    """The page frame behind a kernel address outside the direct map."""
    return _unsigned_long(prog, prog.translate(int(addr)) // prog.dump.page_size)


def in_direct_map(prog: "Program", addr: int) -> bool:
    """Whether ``addr`` lies in the direct map."""
    return _mm.in_direct_map(prog, int(addr))


def access_remote_vm(mm: Object, address: int, size: int) -> bytes:
    """``size`` bytes at ``address`` of the address space ``mm``; FaultError where a page is not
    mapped or not in the dump (``makedumpfile -d 31`` leaves user pages out)."""
    return _mm.read_mm(mm, int(address), int(size))


def access_process_vm(task: Object, address: int, size: int) -> bytes:
    """``size`` bytes at user address ``address`` of ``task``."""
    return _mm.read_user(task, int(address), int(size))


def cmdline(task: Object) -> Optional[List[bytes]]:
    """``task``'s argv as the kernel keeps it; None for a kernel thread."""
    if not int(task.mm):
        return None
    return _mm.task_arguments(task)


def totalram_pages(prog: "Program") -> int:
    """The pages the page allocator manages (``_totalram_pages``, 5.0+; ``totalram_pages`` before)."""
    return _mm.totalram_pages(prog)


def compound_order(page: Object) -> Object:
    """The allocation order (``unsigned int``) of the compound page ``page`` heads; 0 otherwise."""
    return Object(page.prog_, "unsigned int", _mm.compound_order(page))


def compound_nr(page: Object) -> Object:
    """How many pages (``unsigned long``) the compound page ``page`` heads spans; 1 otherwise."""
    return _unsigned_long(page.prog_, _mm.compound_nr(page))


def page_size(page: Object) -> Object:
    """How many bytes (``unsigned long``) the compound page ``page`` heads spans; a page otherwise."""
    return _unsigned_long(page.prog_, _mm.compound_nr(page) * page.prog_.dump.page_size)


def _flag_test(name: str, flag: str) -> Callable[[Object], bool]:
    def test(page: Object) -> bool:
        return _mm.page_flag_set(page, flag)

    test.__name__ = test.__qualname__ = name
    test.__doc__ = (f"Whether ``{flag}`` is set on ``page`` (``struct page *``); False on kernels "
                    "without that flag.")
    return test


# drgn's PageXxx() tests: (its name, the enum pageflags member it reads).
_FLAG_TESTS = [
    ("PageActive", "PG_active"), ("PageChecked", "PG_checked"), ("PageDirty", "PG_dirty"),
    ("PageDoubleMap", "PG_double_map"), ("PageError", "PG_error"), ("PageForeign", "PG_foreign"),
    ("PageHWPoison", "PG_hwpoison"), ("PageHasHWPoisoned", "PG_has_hwpoisoned"), ("PageIdle", "PG_idle"),
    ("PageIsolated", "PG_isolated"), ("PageLRU", "PG_lru"), ("PageLocked", "PG_locked"),
    ("PageMappedToDisk", "PG_mappedtodisk"), ("PageMlocked", "PG_mlocked"), ("PageOwnerPriv1", "PG_owner_priv_1"),
    ("PagePinned", "PG_pinned"), ("PagePrivate", "PG_private"), ("PagePrivate2", "PG_private_2"),
    ("PageReadahead", "PG_readahead"), ("PageReclaim", "PG_reclaim"), ("PageReferenced", "PG_referenced"),
    ("PageReported", "PG_reported"), ("PageReserved", "PG_reserved"), ("PageSavePinned", "PG_savepinned"),
    ("PageSkipKASanPoison", "PG_skip_kasan_poison"), ("PageSlobFree", "PG_slob_free"),
    ("PageSwapBacked", "PG_swapbacked"), ("PageUncached", "PG_uncached"), ("PageUnevictable", "PG_unevictable"),
    ("PageUptodate", "PG_uptodate"), ("PageVmemmapSelfHosted", "PG_vmemmap_self_hosted"),
    ("PageWaiters", "PG_waiters"), ("PageWorkingset", "PG_workingset"), ("PageWriteback", "PG_writeback"),
    ("PageXenRemapped", "PG_xen_remapped"), ("PageYoung", "PG_young"),
]
for _name, _flag in _FLAG_TESTS:
    globals()[_name] = _flag_test(_name, _flag)

__all__ = ["PFN_PHYS", "PHYS_PFN", "PageCompound", "PageHead", "PageSlab", "PageTail", "compound_head",
           "compound_nr", "compound_order", "page_size", "access_process_vm", "access_remote_vm", "cmdline",
           "follow_page", "follow_pfn", "follow_phys", "in_direct_map", "totalram_pages", "vmalloc_to_page",
           "vmalloc_to_pfn", "for_each_page", "for_each_valid_page_range", "for_each_valid_pfn_and_page",
           "for_each_vma", "page_flags", "page_index", "page_to_pfn", "page_to_phys", "page_to_virt", "pfn_to_page",
           "pfn_to_virt", "phys_to_page", "phys_to_virt", "virt_to_page", "virt_to_pfn", "virt_to_phys"]
__all__.extend(name for name, _ in _FLAG_TESTS)
