"""zsmalloc (mm/zsmalloc.c): the bytes of an object behind a handle, as zram and zswap store
compressed pages; page-based zspages, ``page->private`` naming the zspage (read on 6.12), or the
``struct zpdesc`` over each page (6.14+, read on 7.2).  Built as
a module (Debian's cloud kernels), its types come from that module's BTF, read out of the dump.
"""
from typing import TYPE_CHECKING, List, NamedTuple

from ..errors import FaultError, PycoreError
from ..object import Object
from ..types.model import TypeNotFoundError
from . import mm
from .module import module_types

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program
    from ..types.model import TypeIndex

# zspage.magic (mm/zsmalloc.c ZSPAGE_MAGIC).
ZSPAGE_MAGIC = 0x58
# Each object of a zspage that is not "huge" opens with its handle (ZS_HANDLE_SIZE).
ZS_HANDLE_SIZE = 8
# obj = pfn << OBJ_INDEX_BITS | obj_idx (6.12), shifted left by OBJ_TAG_BITS in older kernels.
# OBJ_INDEX_BITS is 64 - (MAX_POSSIBLE_PHYSMEM_BITS - PAGE_SHIFT): 52 physical bits with
# CONFIG_X86_5LEVEL, else 46.  The dump records neither, so each (index bits, tag bits) is tried
# and the one whose page is a zspage of the pool wins.
_OBJ_LAYOUTS = ((24, 0), (30, 0), (23, 1), (29, 1))
_PAGE_SIZE = 4096


class ZsObject(NamedTuple):
    """Where a zsmalloc object lies: the page frame holding its first byte, its index in the
    zspage, the class's object size and whether the zspage is huge (no handle header)."""

    pfn: int
    index: int
    class_size: int
    huge: bool


def zsmalloc_types(prog: "Program") -> "TypeIndex":
    """Where zsmalloc's types are: the kernel's own index when zsmalloc is built in, else the
    zsmalloc module's BTF."""
    try:
        prog.type("struct zspage")
        return prog.types
    except TypeNotFoundError:
        return module_types(prog, "zsmalloc")


def _zpdesc(prog: "Program", types: "TypeIndex", pfn: int) -> Object:
    """The page ``pfn`` as zsmalloc sees it: ``struct zpdesc`` (6.14+, overlaying struct page:
    ``zspage`` where ``private`` is, ``next`` where ``index`` was), else the ``struct page``."""
    page = mm.pfn_to_page(prog, pfn)
    try:
        return Object(prog, types.find("struct zpdesc *"), int(page))
    except TypeNotFoundError:
        return page


def _zspage_of(prog: "Program", types: "TypeIndex", pfn: int) -> Object:
    """The ``struct zspage`` of the page ``pfn`` (``zpdesc->zspage``, ``page->private`` before 6.14)."""
    page = _zpdesc(prog, types, pfn)
    owner = page.zspage if page.type_.resolved().type.resolved().has_member("zspage") else page.private
    return Object(prog, types.find("struct zspage *"), int(owner))


def _locate(pool: Object, obj: int) -> ZsObject:
    """The object behind an encoded ``obj`` value of ``pool``."""
    prog = pool.prog_
    types = zsmalloc_types(prog)
    # zram's BTF knows struct zs_pool only by name: take zsmalloc's own.
    pool = Object(prog, types.find("struct zs_pool *"), int(pool))
    tried: List[str] = []
    for index_bits, tag_bits in _OBJ_LAYOUTS:
        value = obj >> tag_bits
        pfn, index = value >> index_bits, value & ((1 << index_bits) - 1)
        try:
            zspage = _zspage_of(prog, types, pfn)
            if int(zspage.magic) != ZSPAGE_MAGIC or int(zspage.pool) != int(pool):
                tried.append(f"pfn {pfn:#x}")
                continue
            size_class = pool.size_class[int(zspage.member_("class"))]
            return ZsObject(pfn, index, int(size_class.size), bool(int(zspage.huge)))
        except FaultError:
            tried.append(f"pfn {pfn:#x} (unreadable)")
    raise PycoreError(f"zsmalloc object {obj:#x} of pool {int(pool):#x} is in no zspage of the pool "
                      f"(tried {', '.join(tried)})")


def _next_page(prog: "Program", pfn: int) -> int:
    """The page after ``pfn`` in its zspage: ``zpdesc->next`` links them (6.14+), ``page->index``
    before."""
    page = _zpdesc(prog, zsmalloc_types(prog), pfn)
    following = int(page.next if page.type_.resolved().type.resolved().has_member("next") else page.index)
    if not following:
        raise PycoreError(f"zspage page {pfn:#x} has no next page")
    return mm.page_to_pfn(Object(prog, "struct page *", following))


def zs_object_read(pool: Object, handle: int, size: int) -> bytes:
    """The first ``size`` bytes of the data of the object behind ``handle`` in ``pool`` (``struct
    zs_pool *``): what ``zs_map_object`` maps, past the handle header unless the zspage is huge;
    an object across a page boundary is joined from both pages."""
    prog = pool.prog_
    obj = int.from_bytes(prog.read(handle, 8), "little")
    where = _locate(pool, obj)
    if not 0 < size <= _PAGE_SIZE:
        raise PycoreError(f"zsmalloc object of {size} bytes asked for (at most a page)")
    offset = (where.index * where.class_size) % _PAGE_SIZE + (0 if where.huge else ZS_HANDLE_SIZE)
    pfn = where.pfn
    data = b""
    while len(data) < size:
        if offset >= _PAGE_SIZE:
            pfn, offset = _next_page(prog, pfn), offset - _PAGE_SIZE
            continue
        chunk = min(size - len(data), _PAGE_SIZE - offset)
        data += prog.read(pfn * _PAGE_SIZE + offset, chunk, physical=True)
        offset += chunk
    return data


__all__ = ["ZSPAGE_MAGIC", "ZS_HANDLE_SIZE", "ZsObject", "zsmalloc_types", "zs_object_read"]
