"""A process's virtual memory areas (mm/mmap.c): ``struct vm_area_struct`` by address, from the
maple tree ``mm_struct.mm_mt`` (6.1+) or the ``mmap``/``vm_next`` list (before 6.1), and what
each maps; kernels 4.14 to 7.2.
"""
from typing import Iterator, List, NamedTuple, Optional

from ..errors import FaultError
from ..object import ListCorruptError, Object
from .fs import d_path, path_inode
from .maple_tree import mt_for_each
from .swap import pte_to_swp_entry

_PAGE_SIZE = 4096
# A process has at most vm.max_map_count areas (65530 by default, an int sysctl): a list that goes
# on past any sysctl value loops.
MAX_VMAS = 1 << 31


def _mm_type(mm: Object):
    return mm.type_.resolved().type.resolved()


def for_each_vma(mm: Object) -> Iterator[Object]:
    """Each ``struct vm_area_struct *`` of ``mm`` (``struct mm_struct *``), lowest address first.

    6.1 ("mm: remove the vma linked list") keeps them in the maple tree ``mm_mt``; before, on the
    ``mmap`` list through ``vm_next``."""
    prog = mm.prog_
    vma_pointer = prog.type("struct vm_area_struct *")
    if _mm_type(mm).has_member("mm_mt"):
        for _, _, entry in mt_for_each(mm.mm_mt.address_of_()):
            yield Object(prog, vma_pointer, entry)
        return
    vma = mm.mmap.read_()
    seen = 0
    while int(vma):
        seen += 1
        if seen > MAX_VMAS:
            raise ListCorruptError(f"the VMA list of mm {int(mm):#x} has more than {MAX_VMAS} entries: it loops")
        yield vma
        vma = vma.vm_next.read_()


def vma_flags(vma: Object) -> int:
    """``vm_flags`` of a ``struct vm_area_struct *`` (a const member of a union with
    ``__vm_flags`` from 6.3; the same bits on every kernel)."""
    return int(vma.vm_flags)


def vma_file_path(vma: Object) -> Optional[bytes]:
    """The path of the file ``vma`` maps (``vm_file->f_path``), or None for anonymous memory."""
    file = vma.vm_file.read_()
    if not int(file):
        return None
    return d_path(file.f_path)


def vma_inode(vma: Object) -> Object:
    """The ``struct inode *`` of the file ``vma`` maps, through its dentry
    (``vm_file->f_path.dentry->d_inode``, where crash reads it); NULL for anonymous memory."""
    file = vma.vm_file.read_()
    if not int(file):
        return Object(vma.prog_, "struct inode *", 0)
    return path_inode(file.f_path)


class VmaPage(NamedTuple):
    """What one page of a VMA is: ``kind`` ``"physical"`` (``value`` the physical address),
    ``"file"`` (not in memory, ``value`` its offset in the mapped file), ``"swap"`` (``value`` the
    swap offset, ``swap_type`` the swap_info index), ``"none"`` (never touched) or
    ``"unreadable"`` (its page tables are not in the dump)."""

    address: int
    kind: str
    value: int = 0
    swap_type: int = 0


def _unmapped(prog, vma: Object, address: int, root: int, file_backed: bool) -> VmaPage:
    """A page the walk did not translate, told apart by its last page-table entry."""
    try:
        walk = prog.arch.walk(address, root)
    except FaultError:
        return VmaPage(address, "unreadable")
    last = walk.entries[-1] if walk.entries else None
    entry = pte_to_swp_entry(last.entry) if last is not None and last.level == 1 else None
    if entry is not None:
        return VmaPage(address, "swap", entry.offset, entry.type)
    if file_backed:
        return VmaPage(address, "file", address - int(vma.vm_start) + int(vma.vm_pgoff) * _PAGE_SIZE)
    return VmaPage(address, "none")


def vma_pages(vma: Object, root: int) -> List[VmaPage]:
    """Each 4 KiB page of ``vma`` through the page tables at physical ``root`` (the mm's
    ``pgd``, translated): where it is in memory, in its file, in swap, or that it is not mapped."""
    prog = vma.prog_
    start, end = int(vma.vm_start), int(vma.vm_end)
    addresses = list(range(start, end, _PAGE_SIZE))
    physical = prog.arch.translate_many(addresses, root)
    file_backed = bool(int(vma.vm_file))
    return [VmaPage(address, "physical", found) if found is not None
            else _unmapped(prog, vma, address, root, file_backed)
            for address, found in zip(addresses, physical)]


__all__ = ["for_each_vma", "vma_flags", "vma_file_path", "vma_inode", "vma_pages", "VmaPage"]
