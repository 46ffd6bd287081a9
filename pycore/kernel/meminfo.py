"""The memory summary crash's ``kmem -i`` shows, computed the way crash 9 computes it.

Reads ``_totalram_pages``, the zone and node counters, block-device page caches,
``hstates``, ``swap_info`` and the overcommit settings (Linux 5.0+; older names where noted).
"""
from typing import Any, Dict, Optional

from ..errors import FaultError
from . import vmstat
from .mm import totalram_pages
from .variables import symbol_address

SWP_USED = 1
_MASK64 = (1 << 64) - 1


def _read_u(prog, address: int, size: int = 8, signed: bool = False) -> int:
    return int.from_bytes(prog.read(address, size), "little", signed=signed)


def free_pages(prog) -> int:
    """``NR_FREE_PAGES`` summed over every zone of every online node (crash's FREE)."""
    return sum(zone.free_pages for zone in vmstat.zones(prog))


def nr_blockdev_pages(prog) -> int:
    """Pages cached for block devices: ``nrpages`` of each inode on ``blockdev_superblock->s_inodes``.

    Before 5.9 the kernel listed block devices on ``all_bdevs``; both are read as crash reads them.
    """
    inode = prog.type("struct inode")
    i_mapping = inode.offsetof("i_mapping")
    nrpages = prog.type("struct address_space").offsetof("nrpages")
    all_bdevs = symbol_address(prog, "all_bdevs")
    if all_bdevs:
        bdev = prog.type("struct block_device")
        head, link = all_bdevs, bdev.offsetof("bd_list")
        to_inode = lambda entry: _read_u(prog, entry + bdev.offsetof("bd_inode"))  # noqa: E731
    else:
        superblock = symbol_address(prog, "blockdev_superblock")
        if not superblock:
            return 0
        head = _read_u(prog, superblock) + prog.type("struct super_block").offsetof("s_inodes")
        link = inode.offsetof("i_sb_list")
        to_inode = lambda entry: entry  # noqa: E731
    total = 0
    node = _read_u(prog, head)
    seen = set()
    while node != head and node not in seen:
        seen.add(node)
        mapping = _read_u(prog, to_inode(node - link) + i_mapping)
        total += _read_u(prog, mapping + nrpages)
        node = _read_u(prog, node)
    return total


def swapper_space_pages(prog) -> int:
    """Pages in the swap caches: ``nrpages`` of every ``swapper_spaces[type][bank]`` address space."""
    spaces, counts, nr_files = (symbol_address(prog, n) for n in ("swapper_spaces", "nr_swapper_spaces", "nr_swapfiles"))
    if not (spaces and counts and nr_files):
        return 0
    size = prog.type("struct address_space").size
    nrpages = prog.type("struct address_space").offsetof("nrpages")
    total = 0
    for i in range(_read_u(prog, nr_files, 4)):
        banks = _read_u(prog, counts + 4 * i, 4)
        base = _read_u(prog, spaces + 8 * i) if banks else 0
        for bank in range(banks if base else 0):
            total += _read_u(prog, base + bank * size + nrpages)
    return total


def swap_cache_pages(prog, stats: Dict[str, int]) -> int:
    """Pages in the swap cache as the kernel's ``total_swapcache_pages()`` counts them: the
    NR_SWAPCACHE node counter where the kernel has it (5.12+), which the kernel and crash use;
    before, the ``nrpages`` of the swap caches' address spaces.  The two differ by pages being
    added or removed when the machine stopped (6.12-swap-l4: 74 counted, 78 in the trees)."""
    if "NR_SWAPCACHE" in stats:
        return stats["NR_SWAPCACHE"]
    return swapper_space_pages(prog)


def hugetlb_pages(prog) -> Optional[Dict[str, int]]:
    """Huge pages of every registered ``hstate``, counted in base pages; None without hugetlbfs."""
    hstates = symbol_address(prog, "hstates")
    if not hstates:
        return None
    hstate = prog.type("struct hstate")
    count_at = symbol_address(prog, "hugetlb_max_hstate")
    count = _read_u(prog, count_at, 4) if count_at else 2  # HUGE_MAX_HSTATE on x86
    total = free = 0
    for i in range(count):
        address = hstates + i * hstate.size
        order = _read_u(prog, address + hstate.offsetof("order"), 4)
        if not order:
            continue
        total += _read_u(prog, address + hstate.offsetof("nr_huge_pages")) << order
        free += _read_u(prog, address + hstate.offsetof("free_huge_pages")) << order
    return {"total": total, "free": free}


def swap_pages(prog) -> Optional[Dict[str, int]]:
    """Total and used swap pages over the ``swap_info[]`` entries in use (``SWP_USED``)."""
    swap_info, nr_files = symbol_address(prog, "swap_info"), symbol_address(prog, "nr_swapfiles")
    if not (swap_info and nr_files):
        return None
    info = prog.type("struct swap_info_struct")
    flags = info.member("flags")
    total = used = 0
    for i in range(_read_u(prog, nr_files, 4)):
        try:
            entry = _read_u(prog, swap_info + 8 * i)
        except FaultError:
            continue
        if not entry:
            continue
        if not _read_u(prog, entry + flags.offset, flags.type.size) & SWP_USED:
            continue
        total += _read_u(prog, entry + info.offsetof("pages"), 4)
        if info.has_member("inuse_pages"):
            member = info.member("inuse_pages")
            used += _read_u(prog, entry + member.offset, member.type.size)
    return {"total": total, "used": used, "free": total - used}


def commit_pages(prog, totalram: int, hugetlb_total: Optional[int], swap_total: int) -> Optional[Dict[str, int]]:
    """CommitLimit and Committed_AS as crash shows them (``vm_committed_as.count``, never negative)."""
    if not symbol_address(prog, "sysctl_overcommit_memory"):
        return None
    kbytes_at = symbol_address(prog, "sysctl_overcommit_kbytes")
    kbytes = _read_u(prog, kbytes_at) if kbytes_at else 0
    if kbytes:
        allowed = kbytes >> (prog.dump.page_size.bit_length() - 1 - 10)
    else:
        if hugetlb_total is None:
            return None
        ratio = _read_u(prog, symbol_address(prog, "sysctl_overcommit_ratio"), 4, signed=True)
        allowed = (totalram - hugetlb_total) * ratio // 100
    committed_at = symbol_address(prog, "vm_committed_as")
    if committed_at is None:
        return None
    count = prog.type("struct percpu_counter").offsetof("count")
    committed = max(_read_u(prog, committed_at + count, 8, signed=True), 0)
    return {"limit": allowed + swap_total, "committed": committed}


def slab_pages(stats: Dict[str, int]) -> int:
    """Slab pages from the node counters: ``NR_SLAB_*_B`` (5.9+), ``NR_SLAB_*`` or ``NR_SLAB``."""
    for names in (("NR_SLAB",), ("NR_SLAB_RECLAIMABLE", "NR_SLAB_UNRECLAIMABLE"),
                  ("NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B")):
        if names[0] in stats:
            return sum(stats.get(name, 0) for name in names)
    return 0


def kmem_info(prog) -> Dict[str, Any]:
    """Everything ``kmem -i`` prints, in pages: a dict with ``total_mem``, ``free``, ``used``,
    ``buffers``, ``cached``, ``slab`` and the ``hugetlb``, ``swap`` and ``commit`` groups (None
    where the kernel lacks them, and crash prints nothing)."""
    stats = vmstat.global_vm_stat(prog)
    total = totalram_pages(prog)
    free = free_pages(prog)
    buffers = nr_blockdev_pages(prog)
    cached = stats.get("NR_FILE_PAGES", 0) - swap_cache_pages(prog, stats) - buffers
    hugetlb = hugetlb_pages(prog)
    swap = swap_pages(prog) if (symbol_address(prog, "swapper_space") or symbol_address(prog, "swapper_spaces")) else None
    commit = commit_pages(prog, total, hugetlb["total"] if hugetlb else None, swap["total"] if swap else 0)
    return {
        "page_size": prog.dump.page_size,
        "total_mem": total,
        "free": free,
        "used": (total - free) & _MASK64,
        "buffers": buffers,
        "cached": max(cached, 0),  # crash: "page_cache_size went negative ..., setting to 0"
        "slab": slab_pages(stats),
        "hugetlb": hugetlb,
        "swap": swap,
        "commit": commit,
    }


__all__ = ["kmem_info", "totalram_pages", "free_pages",
           "nr_blockdev_pages", "swapper_space_pages", "swap_cache_pages", "hugetlb_pages", "swap_pages", "commit_pages", "slab_pages"]
