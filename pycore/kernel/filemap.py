"""Where a page-cache folio belongs (mm/filemap.c, block/bdev.c): its ``address_space``, the inode
that owns it and its index there, and for a block device's own page cache (the bdev inode's
mapping) the disk and the 512-byte sector it caches.  Kernels 5.10 to 7.2 (``bd_start_sect`` 5.11+,
``bd_part`` before; a folio, 5.16+, read as such: 7.x's struct page no longer names its index).
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..object import Object, container_of
from .fs import S_IFBLK, S_IFMT
from .variables import read_kernel_variable

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

__all__ = ["FolioLocation", "folio_location"]

# PAGE_MAPPING_ANON and PAGE_MAPPING_MOVABLE (include/linux/page-flags.h): the low bits of a
# page's mapping word when it is no address_space.
PAGE_MAPPING_FLAGS = 0x3
# PAGE_SHIFT - SECTOR_SHIFT on x86_64.
PAGE_SECTORS_SHIFT = 12 - 9


@dataclass
class FolioLocation:
    """A page-cache folio's place: its ``mapping``, the owning ``inode`` and its inode number,
    ``index`` (in pages), and when the mapping is a block device's own (``disk`` set) the disk's
    name and the ``sector`` of the folio's first byte on it; else the ``device`` of the inode's
    superblock (``s_id``)."""

    folio: int
    mapping: int
    inode: int
    ino: int
    index: int
    disk: Optional[str] = None
    sector: Optional[int] = None
    device: Optional[str] = None


def _is_block_device_cache(prog: "Program", inode: Object) -> bool:
    """Whether ``inode`` is a block device's own (a bdev inode, on ``blockdev_superblock``; a
    device node's inode on devtmpfs or a disk filesystem is S_IFBLK too, and caches nothing)."""
    if int(inode.i_mode) & S_IFMT != S_IFBLK:
        return False
    superblock = read_kernel_variable(prog, "blockdev_superblock")
    return superblock is None or int(inode.i_sb) == superblock


def _block_device_of(prog: "Program", inode: Object) -> Object:
    """The ``struct block_device *`` whose page cache is ``inode``'s (``struct bdev_inode``)."""
    return container_of(inode, "struct bdev_inode", "vfs_inode").bdev.address_of_()


def _start_sector(bdev: Object) -> int:
    """The first sector of a block device on its disk: ``bd_start_sect`` (5.11+), else its
    ``bd_part``'s ``start_sect``; 0 for a whole disk."""
    if bdev.type_.resolved().type.resolved().has_member("bd_start_sect"):
        return int(bdev.bd_start_sect)
    part = bdev.bd_part.read_()
    return int(part.start_sect) if int(part) else 0


def folio_location(prog: "Program", folio: int) -> Optional[FolioLocation]:
    """Where the page-cache folio (or page) at ``folio`` belongs (:class:`FolioLocation`), None
    when its mapping is none or no address_space (anonymous, movable, or freed: then a waiter's
    folio was reused).  FaultError where the folio or its inode cannot be read."""
    try:
        page = Object(prog, prog.type("struct folio *"), folio)
    except LookupError:
        # Before 5.16: a page (7.x's struct page no longer names its index: the folio does).
        page = Object(prog, prog.type("struct page *"), folio)
    mapping = int(page.mapping)
    if not mapping or mapping & PAGE_MAPPING_FLAGS:
        return None
    space = Object(prog, prog.type("struct address_space *"), mapping)
    inode = space.host.read_()
    if not int(inode):
        return None
    found = FolioLocation(folio, mapping, int(inode), int(inode.i_ino), int(page.index))
    if _is_block_device_cache(prog, inode):
        bdev = _block_device_of(prog, inode)
        disk = bdev.bd_disk.read_()
        if int(disk):
            found.disk = disk.disk_name.string_().decode(errors="replace")
            found.sector = _start_sector(bdev) + (found.index << PAGE_SECTORS_SHIFT)
            return found
    sb = inode.i_sb.read_()
    if int(sb):
        found.device = sb.s_id.string_().decode(errors="replace")
    return found
