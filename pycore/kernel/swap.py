"""Swap areas (mm/swapfile.c): the ``swap_info[]`` pointers (``nr_swapfiles`` of them, 2.6.33+), the
areas in use, their file or partition, size, usage and priority; kernels 4.14 to 7.2.
"""
from typing import TYPE_CHECKING, Iterator

from ..errors import PycoreError
from ..object import Object
from ..types.model import TypeKind
from .fs import S_IFBLK, S_IFMT, d_path

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# swap_info_struct.flags: the slot holds an area (include/linux/swap.h SWP_USED, the same bit on
# every kernel).
SWP_USED = 1 << 0
# 6.13+ keeps inuse_pages in an atomic_long_t whose bit 62 marks an area off the allocation list.
SWAP_USAGE_COUNTER_MASK = 0xBFFFFFFFFFFFFFFF
# MAX_SWAPFILES is at most 32 on every kernel: a larger nr_swapfiles is damage.
MAX_SWAPFILES = 32


def for_each_swap_info(prog: "Program") -> Iterator[Object]:
    """Each ``struct swap_info_struct *`` in use (SWP_USED), in ``swap_info[]`` order (drgn's
    for_each_swap_info)."""
    count = int.from_bytes(prog.read(prog.symbols.by_name("nr_swapfiles").address, 4), "little")
    if count > MAX_SWAPFILES:
        raise PycoreError(f"nr_swapfiles is {count}, more than MAX_SWAPFILES ({MAX_SWAPFILES})")
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


__all__ = ["for_each_swap_info", "swap_file_path", "swap_is_file", "swap_usage_in_pages", "SWP_USED"]
