"""zsmalloc (mm/zsmalloc.c): the bytes of an object behind a handle, as zram and zswap store
compressed pages; page-based zspages, ``page->private`` naming the zspage (read on 6.12).  Built as
a module (Debian), its types come from that module's BTF, read out of the dump.
"""
import struct
from typing import TYPE_CHECKING, List, NamedTuple, Tuple

from ..errors import FaultError, MissingDebugInfoError, PycoreError
from ..object import Object, list_for_each_entry
from ..types.btf import parse_btf
from ..types.model import TypeNotFoundError
from . import mm

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program
    from ..types.model import TypeIndex

# struct btf_header (include/uapi/linux/btf.h): magic, version, flags, hdr_len, type_off, type_len,
# str_off, str_len.
_BTF_HEADER = struct.Struct("<HBBIIIII")
_BTF_MAGIC = 0xEB9F
# A module's BTF is split BTF on top of vmlinux's (5.11+, CONFIG_DEBUG_INFO_BTF_MODULES): its
# type ids continue vmlinux's and its string offsets start past vmlinux's strings.
_MAX_MODULE_BTF = 16 << 20
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


def _btf_sections(data: bytes, what: str) -> Tuple[bytes, bytes]:
    """The type and string sections of a BTF blob."""
    if len(data) < _BTF_HEADER.size:
        raise MissingDebugInfoError(f"{what}: {len(data)} bytes, too short for a BTF header")
    magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = _BTF_HEADER.unpack_from(data)
    if magic != _BTF_MAGIC or version != 1:
        raise MissingDebugInfoError(f"{what}: not BTF (magic {magic:#06x}, version {version})")
    types = data[hdr_len + type_off:hdr_len + type_off + type_len]
    strings = data[hdr_len + str_off:hdr_len + str_off + str_len]
    if len(types) != type_len or len(strings) != str_len:
        raise MissingDebugInfoError(f"{what}: its sections run past its {len(data)} bytes")
    return types, strings


def _module_btf_data(prog: "Program", name: str) -> bytes:
    """The split BTF the kernel parsed for module ``name`` (``btf_modules``, kernel/bpf/btf.c)."""
    try:
        head = prog.symbols.by_name("btf_modules").address
    except LookupError:
        raise MissingDebugInfoError(f"the types of module {name}: the kernel keeps no module BTF "
                                    "(no btf_modules: CONFIG_DEBUG_INFO_BTF_MODULES is off)") from None
    for entry in list_for_each_entry("struct btf_module", Object(prog, "struct list_head", address=head)
                                     .address_of_(), "list"):
        if entry.module.name.string_().decode(errors="replace") == name:
            btf = entry.btf
            size = int(btf.data_size)
            if not 0 < size <= _MAX_MODULE_BTF:
                raise MissingDebugInfoError(f"module {name}'s BTF claims {size} bytes")
            return prog.read(int(btf.data), size)
    raise MissingDebugInfoError(f"the types of module {name}: it is not loaded (or has no BTF)")


def _vmlinux_btf_data(prog: "Program") -> bytes:
    start = prog.symbols.by_name("__start_BTF").address
    stop = prog.symbols.by_name("__stop_BTF").address
    return prog.read(start, stop - start)


def module_types(prog: "Program", name: str) -> "TypeIndex":
    """The types of loaded module ``name`` from its BTF in the dump (5.11+), as one index with
    vmlinux's: the split BTF's sections follow vmlinux's, which is what split BTF's ids and string
    offsets mean.  Kept in ``prog.cache`` under ``("module.btf", name)``."""
    key = ("module.btf", name)
    index = prog.cache.get(key)
    if index is None:
        base_types, base_strings = _btf_sections(_vmlinux_btf_data(prog), "the kernel's BTF")
        types, strings = _btf_sections(_module_btf_data(prog, name), f"module {name}'s BTF")
        header = _BTF_HEADER.pack(_BTF_MAGIC, 1, 0, _BTF_HEADER.size, 0, len(base_types) + len(types),
                                  len(base_types) + len(types), len(base_strings) + len(strings))
        index = parse_btf(header + base_types + types + base_strings + strings, source=f"btf (module {name})")
        prog.cache[key] = index
    return index


def zsmalloc_types(prog: "Program") -> "TypeIndex":
    """Where zsmalloc's types are: the kernel's own index when zsmalloc is built in, else the
    zsmalloc module's BTF."""
    try:
        prog.type("struct zspage")
        return prog.types
    except TypeNotFoundError:
        return module_types(prog, "zsmalloc")


def _zspage_of(prog: "Program", types: "TypeIndex", pfn: int) -> Object:
    """The ``struct zspage`` of the page ``pfn`` (``page->private``)."""
    page = mm.pfn_to_page(prog, pfn)
    return Object(prog, types.find("struct zspage *"), int(page.private))


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
    """The page after ``pfn`` in its zspage: ``page->index`` links them (6.12)."""
    following = int(mm.pfn_to_page(prog, pfn).index)
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


__all__ = ["ZSPAGE_MAGIC", "ZS_HANDLE_SIZE", "ZsObject", "module_types", "zsmalloc_types", "zs_object_read"]
