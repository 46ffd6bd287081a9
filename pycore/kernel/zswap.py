"""zswap (mm/zswap.c): the compressed pages zswap holds in front of a swap device, found by swap
entry in ``zswap_trees[type]`` (one XArray per 64 MiB of swap space, 6.10+), and decompressed from
the entry's zsmalloc pool (through its zpool up to 6.17) with the pool's compressor; types from
the kernel's BTF (built in).
"""
from typing import TYPE_CHECKING, Iterator, Optional, Tuple

from ..dump.codecs import decompress_kernel_page
from ..errors import PycoreError
from ..object import Object
from ..types.model import TypeNotFoundError
from . import swap, zsmalloc
from .xarray import xa_for_each, xa_is_value, xa_load

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

_PAGE_SIZE = 4096
# One XArray per 2^SWAP_ADDRESS_SPACE_SHIFT swap slots (swap_zswap_tree, 6.8+).
SWAP_ADDRESS_SPACE_SHIFT = 14
# include/linux/hash.h GOLDEN_RATIO_64: hash_ptr picks an entry's zpool (zswap_find_zpool).
GOLDEN_RATIO_64 = 0x61C8864680B583EB
_MASK64 = (1 << 64) - 1
_NAME_LIMIT = 128  # CRYPTO_MAX_ALG_NAME, the size of zswap_pool.tfm_name


class ZswapError(PycoreError):
    """zswap holds a page the way pycore does not read (a zbud or z3fold pool, the rbtree of
    kernels before 6.10): names what was found."""


def _read_words(prog: "Program", symbol: str, size: int, count: int) -> list:
    """``count`` unsigned words of ``size`` bytes from the array at kernel symbol ``symbol``."""
    data = prog.read(prog.symbols.by_name(symbol).address, size * count)
    return [int.from_bytes(data[i:i + size], "little") for i in range(0, len(data), size)]


def zswap_trees(prog: "Program", type: int) -> list:
    """The addresses of the ``struct xarray`` trees of swap area ``type`` (``zswap_trees[type]``,
    ``nr_zswap_trees[type]`` of them); empty when the kernel has no zswap (no ``zswap_trees``: the
    cloud kernels) or the area has none.  ZswapError on kernels before 6.10, whose trees are
    rbtrees (``struct zswap_tree``)."""
    if "zswap_trees" not in prog.symbols:
        return []
    try:
        prog.type("struct zswap_tree")
    except TypeNotFoundError:
        pass
    else:
        raise ZswapError("zswap keeps its entries in rbtrees (struct zswap_tree, before 6.10): not read")
    # zswap_trees[] has MAX_SWAPFILES slots less the migration, hwpoison, device and marker
    # types (fewer than 32): only the first nr_swapfiles are areas, past them lie other globals.
    count = swap.nr_swapfiles(prog)
    if not 0 <= type < count:
        raise PycoreError(f"swap type {type} is not a swap area (nr_swapfiles {count})")
    base = _read_words(prog, "zswap_trees", 8, type + 1)[type]
    count = _read_words(prog, "nr_zswap_trees", 4, type + 1)[type]
    if not base:
        return []
    size = prog.type("struct xarray").size
    return [base + index * size for index in range(count)]


def zswap_entry(prog: "Program", type: int, offset: int) -> Optional[Object]:
    """The ``struct zswap_entry *`` holding swap slot ``offset`` of area ``type``, or None when
    zswap does not hold it (not stored, written back to the device, or no zswap).  The tree is
    ``offset >> SWAP_ADDRESS_SPACE_SHIFT``, indexed by the whole offset (swap_zswap_tree)."""
    trees = zswap_trees(prog, type)
    number = offset >> SWAP_ADDRESS_SPACE_SHIFT
    if number >= len(trees):
        return None
    found = xa_load(Object(prog, "struct xarray *", trees[number]), offset)
    if not int(found) or xa_is_value(found):
        return None
    return Object(prog, "struct zswap_entry *", int(found))


def for_each_zswap_entry(prog: "Program") -> Iterator[Tuple[int, int, Object]]:
    """(swap type, offset, ``struct zswap_entry *``) of each page zswap holds, area by area."""
    if "zswap_trees" not in prog.symbols:
        return
    for type in range(swap.nr_swapfiles(prog)):
        for tree in zswap_trees(prog, type):
            for offset, found in xa_for_each(Object(prog, "struct xarray *", tree)):
                if not xa_is_value(found):
                    yield type, offset, Object(prog, "struct zswap_entry *", int(found))


def hash_ptr(pointer: int, bits: int) -> int:
    """The kernel's ``hash_ptr`` on 64-bit (``hash_64``: the golden-ratio multiply, top bits)."""
    return (pointer * GOLDEN_RATIO_64 & _MASK64) >> (64 - bits) if bits else 0


def zswap_zpool(entry: Object) -> Object:
    """The ``struct zpool *`` holding ``entry``'s data (6.10 to 6.17): one of ``pool->zpools[]``,
    chosen by hashing the entry's address (zswap_find_zpool, ZSWAP_NR_ZPOOLS of them up to 6.10),
    else ``pool->zpool``."""
    pool = entry.pool
    if pool.type_.resolved().type.resolved().has_member("zpools"):
        zpools = pool.zpools
        count = zpools.type_.resolved().length
        if count < 1 or count & (count - 1):
            raise PycoreError(f"zswap pool {int(pool):#x} has {count} zpools, not a power of two")
        return zpools[hash_ptr(int(entry), count.bit_length() - 1)].read_()
    return pool.zpool.read_()


def zswap_zs_pool(entry: Object) -> Object:
    """The zsmalloc pool (``struct zs_pool *``) holding ``entry``'s data: ``pool->zs_pool`` where
    zswap calls zsmalloc itself (6.18+), else its zpool's pool when the zpool is zsmalloc's.
    ZswapError for a zbud or z3fold zpool."""
    prog = entry.prog_
    pool = entry.pool
    if pool.type_.resolved().type.resolved().has_member("zs_pool"):
        address = int(pool.zs_pool)
    else:
        zpool = zswap_zpool(entry)
        driver = zpool.driver.type.string_().decode(errors="replace")
        if driver != "zsmalloc":
            raise ZswapError(f"zswap entry {int(entry):#x} is in a {driver} pool: only zsmalloc is read")
        address = int(zpool.pool)
    return Object(prog, zsmalloc.zsmalloc_types(prog).find("struct zs_pool *"), address)


def zswap_compressor(entry: Object) -> str:
    """The compressor ``entry`` was stored with: its pool's ``tfm_name`` (zswap's compressor
    parameter when the pool was made)."""
    name = entry.prog_.read(entry.pool.tfm_name.address_, _NAME_LIMIT)
    return name.split(b"\0", 1)[0].decode(errors="replace")


def zswap_read_page(entry: Object) -> bytes:
    """The page ``entry`` holds: ``length`` bytes of its zsmalloc object, decompressed with its
    pool's compressor.  ZswapError for a zpool other than zsmalloc; FormatError or
    CodecUnavailableError from the compressor."""
    data = zsmalloc.zs_object_read(zswap_zs_pool(entry), int(entry.handle), int(entry.length))
    return decompress_kernel_page(zswap_compressor(entry), data, _PAGE_SIZE)


__all__ = ["ZswapError", "for_each_zswap_entry", "hash_ptr", "zswap_compressor", "zswap_entry",
           "zswap_read_page", "zswap_trees", "zswap_zpool", "zswap_zs_pool"]
