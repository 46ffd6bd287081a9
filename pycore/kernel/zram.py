"""zram (drivers/block/zram): the compressed RAM disk's slots and the pages they hold, with the
types of the zram module's BTF in the dump (no debuginfo); ``comp_algs[]`` and the compression
priority bits of 6.2+ (the ``compressor`` name before), slot flags from ``enum zram_pageflags``.
"""
from typing import TYPE_CHECKING, NamedTuple, Optional

from ..dump.codecs import decompress_kernel_page
from ..errors import FaultError, MissingDebugInfoError, PycoreError
from ..object import Object
from ..types.model import TypeNotFoundError
from . import zsmalloc
from .module import module_types

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

_PAGE_SIZE = 4096
_NAME_LIMIT = 64  # CRYPTO_MAX_ALG_NAME


class ZramError(FaultError):
    """A zram slot does not hold the page asked for in the dump: empty, written back to the
    backing device, or unreadable; names the device and the slot."""


class ZramSlot(NamedTuple):
    """One slot of ``zram->table``: its index, raw flags, the stored size, the handle (or, for
    ``same`` pages, the repeated word; for ``writeback``, the backing device's block), the
    compressor it was written with and what it holds: ``"same"`` (a page of one repeated word),
    ``"huge"`` (stored uncompressed), ``"compressed"``, ``"writeback"`` or ``"empty"``."""

    index: int
    flags: int
    size: int
    handle: int
    compressor: str
    kind: str


def zram_types(prog: "Program"):
    """The type index holding ``struct zram``: the kernel's when zram is built in, else the zram
    module's BTF."""
    try:
        prog.type("struct zram")
        return prog.types
    except TypeNotFoundError:
        return module_types(prog, "zram")


def disk_to_zram(disk: Object) -> Optional[Object]:
    """The ``struct zram *`` behind ``disk`` (``struct gendisk *``), or None when the disk is no
    zram device (its name does not start with "zram", or its ``private_data`` does not lead back
    to it)."""
    if not disk.disk_name.string_().startswith(b"zram"):
        return None
    prog = disk.prog_
    zram = Object(prog, zram_types(prog).find("struct zram *"), int(disk.private_data))
    return zram if int(zram.disk) == int(disk) else None


def _pageflags(zram: Object) -> dict:
    """``enum zram_pageflags`` as {name: bit}; its first value is ZRAM_FLAG_SHIFT, below which the
    flags word holds the object size (24 in older kernels, PAGE_SHIFT + 1 in 6.12)."""
    enum = zram_types(zram.prog_).find("enum zram_pageflags").resolved()
    return {e.name: e.value for e in enum.enumerators}


def zram_name(zram: Object) -> str:
    """The device's name (``zram0``), for messages."""
    return zram.disk.disk_name.string_().decode(errors="replace")


def _compressor(zram: Object, priority: int) -> str:
    """The compressor of priority ``priority``: ``comp_algs[]`` (6.2+), else ``compressor``."""
    prog = zram.prog_
    if zram.type_.resolved().type.resolved().has_member("comp_algs"):
        algorithms = zram.comp_algs
        if priority >= algorithms.type_.resolved().length:
            raise PycoreError(f"{zram_name(zram)}: compression priority {priority} past comp_algs[]")
        address = int(algorithms[priority])
        if not address:
            raise PycoreError(f"{zram_name(zram)}: no compressor of priority {priority}")
        raw = prog.read(address, _NAME_LIMIT)
    elif priority == 0:
        raw = zram.compressor.string_()
    else:
        raise PycoreError(f"{zram_name(zram)}: compression priority {priority} before comp_algs[] (6.2)")
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def _slot_flags(entry: Object) -> int:
    """A ``struct zram_table_entry``'s flags word: ``flags`` (6.x), ``value`` (before), or
    ``attr.flags`` (7.x: a u32 beside the access time, in a union with the slot's lock word)."""
    layout = entry.type_.resolved()
    if layout.has_member("flags"):
        return int(entry.flags)
    if layout.has_member("value"):
        return int(entry.value)
    return int(entry.attr.flags)


def zram_slot(zram: Object, index: int) -> ZramSlot:
    """Slot ``index`` of ``zram`` (``zram->table[index]``); IndexError past the disk's size."""
    pages = int(zram.disksize) // _PAGE_SIZE
    if not 0 <= index < pages:
        raise IndexError(f"{zram_name(zram)} has {pages} slots, not {index}")
    entry = zram.table[index]
    flags = _slot_flags(entry)
    bits = _pageflags(zram)
    shift = min(bits.values())
    size = flags & ((1 << shift) - 1)
    priority = 0
    for position, name in enumerate(("ZRAM_COMP_PRIORITY_BIT1", "ZRAM_COMP_PRIORITY_BIT2")):
        if name in bits and flags >> bits[name] & 1:
            priority |= 1 << position
    handle = int(entry.handle)
    if flags >> bits["ZRAM_SAME"] & 1:
        kind = "same"
    elif "ZRAM_WB" in bits and flags >> bits["ZRAM_WB"] & 1:
        kind = "writeback"
    elif not handle:
        kind = "empty"
    elif ("ZRAM_HUGE" in bits and flags >> bits["ZRAM_HUGE"] & 1) or size == _PAGE_SIZE:
        kind = "huge"
    else:
        kind = "compressed"
    return ZramSlot(index, flags, size, handle, _compressor(zram, priority), kind)


def zram_read_page(zram: Object, index: int) -> bytes:
    """The page stored in slot ``index`` of ``zram``, decompressed.  ZramError when the slot is
    empty or written back to the backing device (not in the dump); FormatError or
    CodecUnavailableError from the compressor."""
    slot = zram_slot(zram, index)
    name = zram_name(zram)
    if slot.kind == "same":
        return slot.handle.to_bytes(8, "little") * (_PAGE_SIZE // 8)
    if slot.kind == "empty":
        raise ZramError(f"{name} slot {index} is empty")
    if slot.kind == "writeback":
        raise ZramError(f"{name} slot {index} was written back to the backing device (block "
                        f"{slot.handle}): not in the dump")
    try:
        data = zsmalloc.zs_object_read(zram.mem_pool, slot.handle, slot.size)
    except MissingDebugInfoError:
        raise
    except PycoreError as error:
        raise ZramError(f"{name} slot {index}: {error}") from None
    if slot.kind == "huge":
        return data
    return decompress_kernel_page(slot.compressor, data, _PAGE_SIZE)


__all__ = ["ZramError", "ZramSlot", "disk_to_zram", "zram_name", "zram_read_page", "zram_slot", "zram_types"]
