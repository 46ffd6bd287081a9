"""Swap areas (mm/swapfile.c): the ``swap_info[]`` pointers (``nr_swapfiles`` of them, 2.6.33+), the
areas in use, their file or partition, size, usage and priority; kernels 4.14 to 7.2.  Swapped-out
pages: x86_64 swap entries in PTEs (4.18+), the swap cache (``swapper_spaces``, 4.11 to 6.17; the
swap table, 6.18+), the zero pages of ``zeromap`` (6.12+), zswap's pool (6.10+) and the pages zram holds.
"""
from typing import TYPE_CHECKING, Iterator, List, NamedTuple, Optional

from ..errors import FaultError, PycoreError
from ..object import Object
from ..types.model import TypeKind
from . import mm, zram, zswap
from .fs import S_IFBLK, S_IFMT, d_path
from .xarray import xa_is_value, xa_load

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# swap_info_struct.flags: the slot holds an area (include/linux/swap.h SWP_USED, the same bit on
# every kernel).
SWP_USED = 1 << 0
# 6.13+ keeps inuse_pages in an atomic_long_t whose bit 62 marks an area off the allocation list.
SWAP_USAGE_COUNTER_MASK = 0xBFFFFFFFFFFFFFFF
# MAX_SWAPFILES is at most 32 on every kernel: a larger nr_swapfiles is damage.
MAX_SWAPFILES = 32
# x86_64 swap entries in a non-present PTE (arch/x86/include/asm/pgtable_64.h, 4.18+ after L1TF):
# the type in the top SWP_TYPE_BITS bits, the offset stored inverted from bit SWP_OFFSET_SHIFT
# (_PAGE_BIT_PROTNONE + 1 + SWP_TYPE_BITS).  A non-present entry with _PAGE_PROTNONE is a
# PROT_NONE page, not a swap entry.
SWP_TYPE_BITS = 5
SWP_OFFSET_SHIFT = 14
_PAGE_PROTNONE = 1 << 8
# The arch-independent swp_entry_t (include/linux/swapops.h): the type above the offset, below
# the xarray's value bit (BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT).
SWP_TYPE_SHIFT = 63 - SWP_TYPE_BITS
# One swap cache address space per 2^SWAP_ADDRESS_SPACE_SHIFT entries (4.11+).
SWAP_ADDRESS_SPACE_SHIFT = 14
# The swap table (mm/swap_table.h, 6.18+): one word per slot of a cluster of SWAPFILE_CLUSTER
# slots (HPAGE_PMD_NR, 512, with transparent huge pages, else 256).  A cached slot holds its
# folio: a pointer (6.18) or, once the counts moved into the table (7.x), its PFN above the mark
# 0b10 with the count and flags in the top five bits at most; 0b1 marks a shadow (not cached)
# and SWP_TB_BAD a slot never used.
SWAPFILE_CLUSTER_THP, SWAPFILE_CLUSTER = 512, 256
SWP_TB_SHADOW_MARK = 0b1
SWP_TB_PFN_MARK, SWP_TB_PFN_MARK_BITS = 0b10, 2
SWP_TB_FLAGS_MAX_BITS = 5
SWP_TB_BAD = ((1 << 64) - 1) << 3 & ((1 << 64) - 1)
# Where the table holds the counts (7.x, no si->zeromap), the lowest of the five flag bits marks a
# slot whose page was all zeros (SWP_TB_ZERO_FLAG).
SWP_TB_ZERO_BIT = 64 - SWP_TB_FLAGS_MAX_BITS
_PAGE_SIZE = 4096
_MASK64 = (1 << 64) - 1


class SwapEntry(NamedTuple):
    """A swap entry: the ``swap_info[]`` index (``type``) and the page's slot on that area."""

    type: int
    offset: int

    @property
    def value(self) -> int:
        """``swp_entry_t.val``, as the swap cache's folios record it."""
        return self.type << SWP_TYPE_SHIFT | self.offset


class SwappedOutError(FaultError):
    """A swapped-out page whose data the dump does not hold (on a disk or file, or a zram slot
    that is empty or written back): names the swap device and the offset."""

    def __init__(self, message: str, address: Optional[int], device: str, offset: int):
        self.device = device
        self.offset = offset
        super().__init__(message, address)


def nr_swapfiles(prog: "Program") -> int:
    """``nr_swapfiles``: the ``swap_info[]`` slots ever used (``zswap_trees[]`` has as many);
    PycoreError past MAX_SWAPFILES."""
    count = int.from_bytes(prog.read(prog.symbols.by_name("nr_swapfiles").address, 4), "little")
    if count > MAX_SWAPFILES:
        raise PycoreError(f"nr_swapfiles is {count}, more than MAX_SWAPFILES ({MAX_SWAPFILES})")
    return count


def for_each_swap_info(prog: "Program") -> Iterator[Object]:
    """Each ``struct swap_info_struct *`` in use (SWP_USED), in ``swap_info[]`` order (drgn's
    for_each_swap_info)."""
    count = nr_swapfiles(prog)
    base = prog.symbols.by_name("swap_info").address
    pointer = prog.type("struct swap_info_struct *")
    for index in range(count):
        si = Object(prog, pointer, int.from_bytes(prog.read(base + 8 * index, 8), "little"))
        if int(si) and int(si.flags) & SWP_USED:
            yield si


def swap_file_path(si: Object) -> bytes:
    """The path of the swap partition or file of ``si`` (``swap_file->f_path``)."""
    return d_path(si.swap_file.f_path)


def swap_is_file(si: Object) -> bool:
    """Whether ``si`` swaps to a regular file rather than a block device (the kernel's /proc/swaps
    rule: the swap file's inode is not S_ISBLK)."""
    return int(si.swap_file.f_inode.i_mode) & S_IFMT != S_IFBLK


def swap_usage_in_pages(si: Object) -> int:
    """Pages in use on ``si`` (``inuse_pages``; its counter without the off-list bit on 6.13+)."""
    inuse = si.inuse_pages
    if inuse.type_.resolved().kind is TypeKind.STRUCT:
        return int(inuse.counter) & SWAP_USAGE_COUNTER_MASK
    return int(inuse)


def pte_to_swp_entry(pte: int) -> Optional[SwapEntry]:
    """The swap entry in the non-present x86_64 PTE value ``pte``, or None for an empty PTE and a
    PROT_NONE one.  Entries whose type is past the swap areas in use are migration, hwpoison or
    marker entries (:func:`swap_info` refuses them)."""
    if not pte or pte & 1 or pte & _PAGE_PROTNONE:
        return None
    offset = ((~pte & _MASK64) << SWP_TYPE_BITS & _MASK64) >> SWP_OFFSET_SHIFT
    return SwapEntry(pte >> (64 - SWP_TYPE_BITS), offset)


def swap_info(prog: "Program", type: int) -> Object:
    """``swap_info[type]``, the area a swap entry of that type lives on; PycoreError when no area
    in use has that index (a migration, hwpoison or marker entry, or damage)."""
    count = int.from_bytes(prog.read(prog.symbols.by_name("nr_swapfiles").address, 4), "little")
    if not 0 <= type < min(count, MAX_SWAPFILES):
        raise PycoreError(f"swap type {type} is not a swap area (nr_swapfiles {count}): a migration, "
                          "hwpoison or marker entry")
    address = int.from_bytes(prog.read(prog.symbols.by_name("swap_info").address + 8 * type, 8), "little")
    si = Object(prog, "struct swap_info_struct *", address)
    if not address or not int(si.flags) & SWP_USED:
        raise PycoreError(f"swap type {type} is not in use")
    return si


def swap_device_name(si: Object) -> str:
    """The swap area's path, as /proc/swaps shows it."""
    return swap_file_path(si).decode(errors="replace")


def swap_cache_page(prog: "Program", entry: SwapEntry) -> Optional[Object]:
    """The ``struct page *`` holding ``entry``'s data in the swap cache, or None.  Up to 6.17 the
    cache is ``swapper_spaces[type][offset >> SWAP_ADDRESS_SPACE_SHIFT]``, whose xarray is indexed
    by the whole offset in older kernels and by the offset within its space in newer ones
    (``swap_cache_index``, 6.12 among them): both are tried.  From 6.18 it is the swap table of the
    slot's cluster (``cluster_info[].table``).  A folio counts only when its ``swap``
    (``private``) is the entry."""
    cluster_info = prog.type("struct swap_cluster_info")
    if cluster_info.has_member("table"):
        candidates = _swap_table_folio(prog, entry)
    else:
        candidates = _swapper_space_folios(prog, entry)
    for head in candidates:
        # A large folio records the entry of its first page; the rest follow it.
        step = entry.value - _swap_value(head)
        if 0 <= step < mm.compound_nr(head):
            return mm.pfn_to_page(prog, mm.page_to_pfn(head) + step)
    return None


def _swapper_space_folios(prog: "Program", entry: SwapEntry) -> List[Object]:
    """The folios ``swapper_spaces`` (4.11 to 6.17) holds at ``entry``'s two possible indexes."""
    try:
        spaces = prog.symbols.by_name("swapper_spaces").address
        counts = prog.symbols.by_name("nr_swapper_spaces").address
    except LookupError:
        return []
    base = int.from_bytes(prog.read(spaces + 8 * entry.type, 8), "little")
    number = int.from_bytes(prog.read(counts + 4 * entry.type, 4), "little")
    space_index = entry.offset >> SWAP_ADDRESS_SPACE_SHIFT
    if not base or space_index >= number:
        return []
    space = Object(prog, "struct address_space", address=base + space_index * prog.type("struct address_space").size)
    pages = space.i_pages.address_of_()
    found = []
    for index in dict.fromkeys((entry.offset & ((1 << SWAP_ADDRESS_SPACE_SHIFT) - 1), entry.offset)):
        folio = xa_load(pages, index)
        if int(folio) and not xa_is_value(folio):
            found.append(Object(prog, "struct page *", int(folio)))
    return found


def swap_table_word(si: Object, offset: int) -> int:
    """The swap table word (6.18+) of slot ``offset`` of ``si``; 0 when its cluster has no table."""
    prog = si.prog_
    cluster = SWAPFILE_CLUSTER_THP if "transparent_hugepage_flags" in prog.symbols else SWAPFILE_CLUSTER
    if not 0 <= offset < int(si.max):
        raise PycoreError(f"swap offset {offset} is past the {int(si.max)} slots of {swap_device_name(si)}")
    table = int(si.cluster_info[offset // cluster].table)
    if not table:
        return 0
    return int.from_bytes(prog.read(table + 8 * (offset % cluster), 8), "little")


def _swap_table_folio(prog: "Program", entry: SwapEntry) -> List[Object]:
    """The folio the swap table (6.18+) holds for ``entry``, as swap_cache_get_folio reads it: the
    word of the slot in its cluster's ``table``; none for a free slot, a shadow or a bad slot."""
    word = swap_table_word(swap_info(prog, entry.type), entry.offset)
    if not word or word & SWP_TB_SHADOW_MARK or word == SWP_TB_BAD:
        return []
    if word & ((1 << SWP_TB_PFN_MARK_BITS) - 1) == SWP_TB_PFN_MARK:
        pfn = (word & ((1 << (64 - SWP_TB_FLAGS_MAX_BITS)) - 1)) >> SWP_TB_PFN_MARK_BITS
        return [mm.pfn_to_page(prog, pfn)]
    return [Object(prog, "struct page *", word)]


def _swap_value(page: Object) -> int:
    """The swap entry a swap cache page records: ``page->private`` (``folio->swap`` aliases it, 6.6+)."""
    return int(page.private)


def swap_zeromap_test(si: Object, offset: int) -> bool:
    """Whether the page at ``offset`` of ``si`` was all zeros when swapped out, so that nothing
    was written to the device: its bit in ``si->zeromap`` (6.12+), or the zero flag of its swap
    table word where the table holds the counts (7.x)."""
    if not si.type_.resolved().type.resolved().has_member("zeromap"):
        if not si.prog_.type("struct swap_cluster_info").has_member("extend_table"):
            return False
        word = swap_table_word(si, offset)
        return word != SWP_TB_BAD and bool(word & 0b11) and bool(word >> SWP_TB_ZERO_BIT & 1)
    if not int(si.zeromap):
        return False
    word = int.from_bytes(si.prog_.read(int(si.zeromap) + offset // 64 * 8, 8), "little")
    return bool(word >> offset % 64 & 1)


def read_swapped_page(prog: "Program", entry: SwapEntry, address: Optional[int] = None) -> bytes:
    """The page swapped out to ``entry``, from the dump, where the kernel's swap_read_folio looks:
    the swap cache's copy, else zeros where the zeromap says so (6.12+), else zswap's compressed
    copy, else the swap device's slot when it is zram.
    SwappedOutError names the device and offset when the dump does not hold it (a disk or file,
    an empty or written-back zram slot); ``address`` is the user address, for the message."""
    si = swap_info(prog, entry.type)
    page = swap_cache_page(prog, entry)
    if page is not None:
        return prog.read(mm.page_to_phys(page), _PAGE_SIZE, physical=True)
    if swap_zeromap_test(si, entry.offset):
        return bytes(_PAGE_SIZE)
    # Before 6.10 zswap's entries are in rbtrees, which are not read: the device is still read,
    # and where it lacks the page the message says zswap may hold it.
    unread_zswap = ""
    try:
        stored = zswap.zswap_entry(prog, entry.type, entry.offset)
    except zswap.ZswapError as error:
        stored, unread_zswap = None, f" (or in zswap: {error})"
    if stored is not None:
        return zswap.zswap_read_page(stored)
    disk = None if swap_is_file(si) else si.bdev.bd_disk
    device_zram = zram.disk_to_zram(disk) if disk is not None else None
    if device_zram is None:
        why = "not in the dump"
    else:
        try:
            return zram.zram_read_page(device_zram, entry.offset)
        except zram.ZramError as error:
            why = str(error)
    device = swap_device_name(si)
    raise SwappedOutError(f"swapped out to {device} at offset {entry.offset}: {why}{unread_zswap}", address, device,
                          entry.offset)


__all__ = ["for_each_swap_info", "nr_swapfiles", "swap_file_path", "swap_is_file", "swap_usage_in_pages", "SWP_USED",
           "SwapEntry", "SwappedOutError", "pte_to_swp_entry", "read_swapped_page", "swap_cache_page",
           "swap_device_name", "swap_info", "swap_table_word", "swap_zeromap_test"]
