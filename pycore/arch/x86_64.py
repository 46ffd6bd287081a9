"""x86_64 virtual memory: 4- and 5-level paging, 2 MiB / 1 GiB pages, KASLR.

Kernel-image addresses translate as ``vaddr - __START_KERNEL_map + phys_base``
and direct-map addresses as ``vaddr - page_offset_base`` without a walk; the
rest walks the page tables from ``init_top_pgt`` (or a task's ``mm->pgd``).
VMCOREINFO gives ``phys_base``, ``pgtable_l5_enabled`` (Linux 4.17+; absent
means 4-level) and ``KERNEL_IMAGE_SIZE`` (5.3+).
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from .. import native as _native
from ..dump import Dump
from ..dump.elf import ElfDump
from ..dump.kdump import KdumpDump
from ..errors import FaultError, IncompleteDumpError, MissingDebugInfoError

START_KERNEL_MAP = 0xFFFFFFFF80000000
# KERNEL_IMAGE_SIZE is 1 GiB with CONFIG_RANDOMIZE_BASE and 512 MiB without.
KERNEL_IMAGE_SIZE_KASLR = 1 << 30
KERNEL_IMAGE_SIZE_FIXED = 512 << 20
DIRECT_MAP_SIZE = {4: 64 << 40, 5: 32 << 50}
DEFAULT_PAGE_OFFSET = {4: 0xFFFF888000000000, 5: 0xFF11000000000000}
PTE_PRESENT = 0x1
PTE_PSE = 0x80
PTE_ADDR_MASK = 0x000FFFFFFFFFF000
_MASK64 = (1 << 64) - 1
_TABLE_CACHE = 512
_TLB = 4096

# Codes of csrc/kdump.h and csrc/x86_64.h.
_NOT_MAPPED, _NONCANONICAL = -20, -21


class X86_64:
    """Translation of kernel (and, given a page-table root, user) addresses of one dump."""

    def __init__(self, dump: Dump, native: Optional[bool] = None):
        self.dump = dump
        vmcoreinfo = dump.vmcoreinfo
        if vmcoreinfo is None:
            raise MissingDebugInfoError("the dump has no VMCOREINFO note: cannot find the kernel's page tables"
                                        " (looked in the ELF notes / kdump sub-header)")
        self.levels = 5 if vmcoreinfo.number("pgtable_l5_enabled") else 4
        phys_base = vmcoreinfo.number("phys_base")
        if phys_base is None:
            phys_base = getattr(dump, "phys_base_header", None) or 0
        self.phys_base = phys_base & _MASK64
        self.kernel_offset = vmcoreinfo.kernel_offset or 0
        image_size = vmcoreinfo.number("KERNEL_IMAGE_SIZE")
        if image_size is None:
            image_size = KERNEL_IMAGE_SIZE_KASLR if self.kernel_offset else KERNEL_IMAGE_SIZE_FIXED
        self.kernel_image_size = image_size
        init_top_pgt = vmcoreinfo.symbol("init_top_pgt") or vmcoreinfo.symbol("init_level4_pgt")
        if init_top_pgt is None:
            cr3 = [cpu.registers.get("cr3") for cpu in dump.cpus if cpu.registers.get("cr3")]
            if not cr3:
                raise MissingDebugInfoError("no page-table root: VMCOREINFO lacks SYMBOL(init_top_pgt) and the"
                                            " dump has no CPU notes with CR3")
            self.kernel_root = cr3[0] & PTE_ADDR_MASK
        else:
            self.kernel_root = self._kernel_image_to_physical(init_top_pgt)
        self.direct_map_start: Optional[int] = None
        self.direct_map_size = DIRECT_MAP_SIZE[self.levels]
        self.native = _native.use_native(native) and _native_memory(dump) is not None
        self._tables: "OrderedDict[int, bytes]" = OrderedDict()
        self._tlb: Dict[Tuple[int, int], int] = {}
        self._handle = None
        if self.native:
            self._make_native()

    # -- configuration ----------------------------------------------------------
    def set_direct_map(self, page_offset_base: int, end: Optional[int] = None) -> None:
        """Use ``page_offset_base`` (randomized with CONFIG_RANDOMIZE_MEMORY) as a shortcut.

        ``end`` (the next randomized region, ``vmalloc_base``) bounds it: randomization packs
        vmalloc and vmemmap closer than the architectural maximum size of the direct map.
        """
        self.direct_map_start = page_offset_base
        size = DIRECT_MAP_SIZE[self.levels]
        if end is not None and 0 < end - page_offset_base < size:
            size = end - page_offset_base
        self.direct_map_size = size
        if self.native:
            self._make_native()

    def _make_native(self) -> None:
        ffi, lib = _native.ffi, _native.lib
        params = ffi.new("struct pc_x86_64_params *")
        self._keep = _native_memory(self.dump)
        params.mem = self._keep[0][0]
        params.levels = self.levels
        params.kernel_map_start = START_KERNEL_MAP
        params.kernel_map_size = self.kernel_image_size
        params.phys_base = self.phys_base
        params.direct_map_start = self.direct_map_start or 0
        params.direct_map_size = self.direct_map_size if self.direct_map_start else 0
        handle = lib.pc_x86_64_new(params)
        if handle == ffi.NULL:
            raise MemoryError("cannot allocate the x86_64 translator")
        self._handle = ffi.gc(handle, lib.pc_x86_64_free)
        self._fault = ffi.new("struct pc_kdump_fault *")
        self._out = ffi.new("uint64_t[2]")
        self._allocate = ffi.new_allocator(should_clear_after_alloc=False)

    def close(self) -> None:
        """Let go of the dump's memory: the C view of an ELF core pins its file mapping."""
        if self._handle is not None:
            ffi = _native.ffi
            ffi.release(self._handle)
            self._handle = None
            for kept in self._keep:
                if isinstance(kept, ffi.CData) and ffi.typeof(kept).kind == "array" and \
                        ffi.typeof(kept).item.cname == "char":
                    ffi.release(kept)
            self._keep = []

    # -- translation --------------------------------------------------------------
    def _kernel_image_to_physical(self, address: int) -> int:
        return (address - START_KERNEL_MAP + self.phys_base) & _MASK64

    def translate(self, address: int, root: Optional[int] = None) -> int:
        """Physical address of virtual ``address`` (kernel page tables unless ``root`` is given)."""
        root = self.kernel_root if root is None else root
        if self._handle is not None:
            fault = self._fault
            code = _native.lib.pc_x86_64_translate(self._handle, root, address & _MASK64, self._out,
                                                   self._out + 1, fault)
            if code == 0:
                return int(self._out[0])
        return self._translate_python(address, root)[0]

    def translate_many(self, addresses: Sequence[int], root: Optional[int] = None) -> List[Optional[int]]:
        """Physical addresses of many virtual ones; None where an address is not mapped."""
        root = self.kernel_root if root is None else root
        if self._handle is not None:
            ffi = _native.ffi
            count = len(addresses)
            vaddrs = ffi.new("uint64_t[]", addresses)
            paddrs = ffi.new("uint64_t[]", count)
            status = ffi.new("int32_t[]", count)
            failures = _native.lib.pc_x86_64_translate_many(self._handle, root, vaddrs, count, paddrs, status)
            result: List[Optional[int]] = ffi.unpack(paddrs, count)
            if failures:
                for index, code in enumerate(ffi.unpack(status, count)):
                    if code:
                        result[index] = None
            return result
        result = []
        for address in addresses:
            try:
                result.append(self._translate_python(address, root)[0])
            except FaultError:
                result.append(None)
        return result

    def _translate_python(self, address: int, root: int) -> Tuple[int, int]:
        if not 0 <= address <= _MASK64:
            raise FaultError("address out of range", address)
        if 0 <= address - START_KERNEL_MAP < self.kernel_image_size:
            return self._kernel_image_to_physical(address), 4096
        start = self.direct_map_start
        if start is not None and 0 <= address - start < self.direct_map_size:
            return address - start, 4096
        bits = 57 if self.levels == 5 else 48
        top = address >> (bits - 1)
        if top != 0 and top != (_MASK64 >> (bits - 1)):
            raise FaultError(f"non-canonical address for {self.levels}-level paging", address)
        key = (root, address >> 12)
        cached = self._tlb.get(key)
        if cached is not None:
            return cached | (address & 0xFFF), 4096
        table = root & PTE_ADDR_MASK
        for level in range(self.levels, 0, -1):
            shift = 12 + 9 * (level - 1)
            index = (address >> shift) & 0x1FF
            entry = int.from_bytes(self._table(table, address)[index * 8:index * 8 + 8], "little")
            if not entry & PTE_PRESENT:
                raise FaultError(f"not mapped (level-{level} page-table entry {entry:#x} not present)", address)
            if level == 1 or (level in (2, 3) and entry & PTE_PSE):
                size = 1 << shift
                physical = (entry & PTE_ADDR_MASK & ~(size - 1)) | (address & (size - 1))
                if len(self._tlb) >= _TLB:
                    self._tlb.clear()
                self._tlb[key] = physical & ~0xFFF
                return physical, size
            table = entry & PTE_ADDR_MASK
        raise FaultError("not mapped", address)

    def _table(self, physical: int, address: int) -> bytes:
        table = self._tables.get(physical)
        if table is None:
            try:
                table = self.dump.read_physical(physical, 4096)
            except FaultError as error:
                raise FaultError(f"page table at physical {physical:#x} unreadable ({error})", address) from None
            self._tables[physical] = table
            if len(self._tables) > _TABLE_CACHE:
                self._tables.popitem(last=False)
        else:
            self._tables.move_to_end(physical)
        return table

    # -- reads --------------------------------------------------------------------
    def read(self, address: int, size: int, root: Optional[int] = None, zero_excluded: bool = False) -> bytes:
        """``size`` bytes of virtual memory at ``address``; FaultError names the first unreadable byte."""
        if size <= 0:
            if size == 0:
                return b""
            raise ValueError("size must not be negative")
        root = self.kernel_root if root is None else root
        if self._handle is not None and 0 <= address <= _MASK64:
            buffer = self._allocate("uint8_t[]", size)
            code = _native.lib.pc_x86_64_read(self._handle, root, address, buffer, size, zero_excluded, self._fault)
            if code == 0:
                return _native.ffi.buffer(buffer, size)[:]
            # Errors are rare: the Python path says precisely what failed.
        return self._read_python(address, size, root, zero_excluded)

    def _read_python(self, address: int, size: int, root: int, zero_excluded: bool) -> bytes:
        parts = []
        while size:
            physical, page_size = self._translate_python(address, root)
            take = min(size, page_size - (physical & (page_size - 1)))
            try:
                parts.append(self.dump.read_physical(physical, take, zero_excluded))
            except FaultError as error:
                # The same kind of fault, now naming the virtual address the caller used.
                raise _refault(error, f"unreadable ({error})", address) from None
            address += take
            size -= take
        return b"".join(parts)


def _refault(error: FaultError, message: str, address: int) -> FaultError:
    if isinstance(error, IncompleteDumpError):
        return IncompleteDumpError(message, address, physical=False, offset=error.offset, field=error.field)
    return type(error)(message, address, physical=False)


def _native_memory(dump: Dump):
    """The C view of ``dump``'s physical memory, with the objects that must stay alive, or None."""
    if not _native.AVAILABLE:
        return None
    ffi = _native.ffi
    memory = ffi.new("struct pc_physmem *")
    keep: list = [memory]
    if isinstance(dump, KdumpDump):
        reader = dump._reader
        if not getattr(reader, "_handle", None):
            return None
        memory.kdump = reader._handle
        keep.append(reader)
    elif isinstance(dump, ElfDump) and not dump.file.flattened:
        segments = [(load.paddr, end, load.offset) for load, end in zip(dump.loads, dump._file_ends)
                    if end > load.paddr]
        starts = ffi.new("uint64_t[]", [s[0] for s in segments] or [0])
        ends = ffi.new("uint64_t[]", [s[1] for s in segments] or [0])
        offsets = ffi.new("uint64_t[]", [s[2] for s in segments] or [0])
        stream = ffi.from_buffer("char[]", dump.file.map)
        memory.map = stream
        memory.map_size = dump.file.stream_size
        memory.seg_start, memory.seg_end, memory.seg_offset = starts, ends, offsets
        memory.nsegs = len(segments)
        keep.extend([starts, ends, offsets, stream])
    else:
        return None
    return keep
