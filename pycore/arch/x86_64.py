"""x86_64 virtual memory: 4- and 5-level paging, 2 MiB / 1 GiB pages, KASLR.

Kernel-image addresses translate as ``vaddr - __START_KERNEL_map + phys_base``
and direct-map addresses as ``vaddr - page_offset_base`` without a walk; the
rest walks the page tables from ``init_top_pgt`` (or a task's ``mm->pgd``).
VMCOREINFO gives ``phys_base``, ``pgtable_l5_enabled`` (Linux 4.17+; absent
means 4-level) and ``KERNEL_IMAGE_SIZE`` (5.3+).
"""
import dataclasses
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .. import native as _native
from ..dump import closed_error
from ..dump.base import Dump, NativeMemory
from ..errors import FaultError, MissingDebugInfoError
from ..native import Context, Fault, Status

START_KERNEL_MAP = 0xFFFFFFFF80000000
# KERNEL_IMAGE_SIZE is 1 GiB with CONFIG_RANDOMIZE_BASE and 512 MiB without.
KERNEL_IMAGE_SIZE_KASLR = 1 << 30
KERNEL_IMAGE_SIZE_FIXED = 512 << 20
DIRECT_MAP_SIZE = {4: 64 << 40, 5: 32 << 50}
DEFAULT_PAGE_OFFSET = {4: 0xFFFF888000000000, 5: 0xFF11000000000000}
PTE_PRESENT = 0x1
PTE_PSE = 0x80
PTE_ADDR_MASK = 0x000FFFFFFFFFF000
# A non-present entry with the GLOBAL bit set is a PROT_NONE page, not a swap entry (the kernel's
# pte_present counts it present: _PAGE_PROTNONE is _PAGE_GLOBAL).
PTE_PROTNONE = 0x100
# The PTE bits crash's x86_64_translate_pte names, in its order; PSE is named only in a present
# entry and PROTNONE only in one that is not.
PTE_FLAGS = [(0, "PRESENT"), (1, "RW"), (2, "USER"), (3, "PWT"), (4, "PCD"), (5, "ACCESSED"), (6, "DIRTY"),
             (7, "PSE"), (8, "PROTNONE"), (8, "GLOBAL"), (63, "NX")]
# crash's __PHYSICAL_MASK_SHIFT: the physical address bits it takes from an entry, 46 with 4-level
# paging and 52 with 5-level, whatever the CPU's own width.
PHYSICAL_MASK_SHIFT = {4: 46, 5: 52}
_MASK64 = (1 << 64) - 1
_TLB = 4096


def pte_present(entry: int) -> bool:
    """Whether a page-table entry maps a page as the kernel's ``pte_present`` reads it: PRESENT, or
    PROT_NONE (a page mapped without access)."""
    return bool(entry & (PTE_PRESENT | PTE_PROTNONE))


def pte_flag_names(entry: int) -> List[str]:
    """The names of the bits set in ``entry``, as crash's ``pte`` and ``vtop`` show them (see
    PTE_FLAGS): PSE only in a present entry, PROTNONE only in one that is not."""
    present = entry & PTE_PRESENT
    return [name for bit, name in PTE_FLAGS
            if entry >> bit & 1 and not (name == "PSE" and not present) and not (name == "PROTNONE" and present)]


def pte_physical(entry: int, levels: int) -> int:
    """The page address in ``entry`` as crash's ``pte`` shows it (its PHYSICAL_PAGE_MASK: bits 12 up
    to PHYSICAL_MASK_SHIFT for 4- or 5-level paging)."""
    return entry & ((1 << PHYSICAL_MASK_SHIFT[levels]) - 1) & ~0xFFF


class PageTableEntry(NamedTuple):
    """One step of a page-table walk: the level (5 or 4 for the top, 1 for the PTE), the physical
    address the entry was read from and the entry itself."""

    level: int
    address: int
    entry: int


class PageWalk(NamedTuple):
    """A page-table walk of one virtual address as crash's ``vtop`` shows it: the entries read from
    the top down, and, when the last one maps a page, the physical address and the page size."""

    entries: List[PageTableEntry]
    physical: Optional[int]
    page_size: Optional[int]


def walk_tables(dump: Dump, root: int, address: int, levels: int) -> PageWalk:
    """Walk the 4- or 5-level page tables at physical ``root`` for ``address`` over
    ``dump.read_physical``: every entry read from the top down and, when the last maps a page,
    the physical address and page size (a non-present entry ends the walk with ``physical``
    None).  An entry that cannot be read raises FaultError.  The pure-Python walk: the C twin
    is csrc/x86_64.c."""
    table = root & PTE_ADDR_MASK
    entries: List[PageTableEntry] = []
    level = levels
    while True:
        shift = 12 + 9 * (level - 1)
        entry_at = table + ((address >> shift) & 0x1FF) * 8
        try:
            entry = int.from_bytes(dump.read_physical(entry_at, 8), "little")
        except FaultError as error:
            raise _native.page_table_error(error, level, entry_at, address) from None
        entries.append(PageTableEntry(level, entry_at, entry))
        if not entry & PTE_PRESENT:
            return PageWalk(entries, None, None)
        if level == 1 or (level in (2, 3) and entry & PTE_PSE):
            size = 1 << shift
            return PageWalk(entries, (entry & PTE_ADDR_MASK & ~(size - 1)) | (address & (size - 1)), size)
        table = entry & PTE_ADDR_MASK
        level -= 1


class X86_64:
    """Translation of kernel (and, given a page-table root, user) addresses of one dump.

    The walk runs in C (csrc/x86_64.c) when the extension is built and the dump can
    hand C its physical memory (:meth:`Dump.native_memory`), else in Python; the
    choice is made once, and each twin reports its failures through
    :func:`pycore.native.error`.
    """

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
        self._memory = dump.native_memory() if _native.use_native(native) else None
        self.native = self._memory is not None
        self._walker: "_NativeWalker | _PureWalker" = self._make_walker()
        dump.on_close(self.close)

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
        self._walker.close()
        self._walker = self._make_walker()

    def _make_walker(self) -> "_NativeWalker | _PureWalker":
        if self._memory is not None:
            return _NativeWalker(self, self._memory)
        return _PureWalker(self)

    def close(self) -> None:
        """Let go of the dump's memory: the C view of an ELF core pins its file mapping, and the
        C walk of a kdump holds the reader and page cache the dump frees when it closes (it calls
        this first).  Reads afterwards raise the dump-closed error."""
        self._walker.close()

    def _kernel_image_to_physical(self, address: int) -> int:
        return (address - START_KERNEL_MAP + self.phys_base) & _MASK64

    # -- translation and reads ----------------------------------------------------
    def translate(self, address: int, root: Optional[int] = None) -> int:
        """Physical address of virtual ``address`` (kernel page tables unless ``root`` is given)."""
        _check_address(address)
        return self._walker.translate(address, self.kernel_root if root is None else root)

    def walk(self, address: int, root: Optional[int] = None) -> PageWalk:
        """Walk the page tables for ``address`` from ``root`` (the kernel's ``init_top_pgt`` when
        None) and return every entry read, even where translation would take the kernel-image or
        direct-map shortcut: ``vtop`` shows the tables themselves.  A non-present entry ends the
        walk with ``physical`` None; an entry that cannot be read raises FaultError.  Pure Python
        over ``dump.read_physical``: one address at a time, so the C walker is not needed."""
        _check_address(address)
        return walk_tables(self.dump, self.kernel_root if root is None else root, address, self.levels)

    def translate_many(self, addresses: Sequence[int], root: Optional[int] = None) -> List[Optional[int]]:
        """Physical addresses of many virtual ones; None where an address faults (not mapped,
        or its page tables are not in the dump).  A corrupt dump still raises."""
        for address in addresses:
            _check_address(address)
        return self._walker.translate_many(addresses, self.kernel_root if root is None else root)

    def read(self, address: int, size: int, root: Optional[int] = None, zero_excluded: bool = False) -> bytes:
        """``size`` bytes of virtual memory at ``address``; FaultError names the first unreadable part."""
        if size <= 0:
            if size == 0:
                return b""
            raise ValueError("size must not be negative")
        _check_address(address)
        if address + size - 1 > _MASK64:  # C would wrap to address 0 and read on
            raise FaultError(f"a {size}-byte read runs past the top of the address space", address)
        return self._walker.read(address, size, self.kernel_root if root is None else root, zero_excluded)


def _check_address(address: int) -> None:
    if not 0 <= address <= _MASK64:
        raise FaultError("address out of range", address)


class _NativeWalker:
    """The page-table walk in csrc/x86_64.c, reading the dump's memory itself."""

    def __init__(self, arch: X86_64, memory: NativeMemory):
        ffi, lib = _native.ffi, _native.lib
        self._context = dataclasses.replace(memory.context, levels=arch.levels)
        params = ffi.new("struct pc_x86_64_params *")
        self._keep: list = [memory]
        self._mapping = None
        if memory.kdump is not None:
            params.mem.kdump = memory.kdump
            if memory.page_cache is not None:
                params.mem.cache = memory.page_cache
        else:
            segments = memory.segments
            columns = [ffi.new("uint64_t[]", [getattr(s, name) for s in segments] or [0])
                       for name in ("paddr", "memsz", "filesz", "offset")]
            indexes = ffi.new("uint32_t[]", [s.index for s in segments] or [0])
            self._mapping = ffi.from_buffer("uint8_t[]", memory.mapping)
            params.mem.map = self._mapping
            params.mem.map_size = len(memory.mapping)
            params.mem.seg_start, params.mem.seg_memsz, params.mem.seg_filesz, params.mem.seg_offset = columns
            params.mem.seg_index = indexes
            params.mem.nsegs = len(segments)
            self._keep.extend(columns + [indexes])
        params.levels = arch.levels
        params.kernel_map_start = START_KERNEL_MAP
        params.kernel_map_size = arch.kernel_image_size
        params.phys_base = arch.phys_base
        params.direct_map_start = arch.direct_map_start or 0
        params.direct_map_size = arch.direct_map_size if arch.direct_map_start else 0
        handle = lib.pc_x86_64_new(params)
        if handle == ffi.NULL:
            raise MemoryError("cannot allocate the x86_64 translator")
        self._handle = ffi.gc(handle, lib.pc_x86_64_free)
        self._fault = ffi.new("struct pc_fault *")
        self._out = ffi.new("uint64_t[2]")
        self._allocate = ffi.new_allocator(should_clear_after_alloc=False)

    def _live_handle(self) -> Any:
        """The C translator; once closed (with the dump, whose memory it read), the typed error
        instead of a NULL handed to C."""
        handle = self._handle
        if handle is None:
            raise closed_error()
        return handle

    def translate(self, address: int, root: int) -> int:
        status = _native.lib.pc_x86_64_translate(self._live_handle(), root, address, self._out, self._out + 1,
                                                 self._fault)
        if status:
            raise _native.error(status, Fault.from_c(self._fault), self._context)
        return int(self._out[0])

    def translate_many(self, addresses: Sequence[int], root: int) -> List[Optional[int]]:
        ffi = _native.ffi
        count = len(addresses)
        paddrs = ffi.new("uint64_t[]", count)
        status = ffi.new("int32_t[]", count)
        failures = _native.lib.pc_x86_64_translate_many(self._live_handle(), root, ffi.new("uint64_t[]", addresses),
                                                        count, paddrs, status)
        result: List[Optional[int]] = ffi.unpack(paddrs, count)
        if failures:
            for index, code in enumerate(ffi.unpack(status, count)):
                if code in _native.FAULT_STATUSES:
                    result[index] = None
                elif code:
                    self.translate(addresses[index], root)  # raises the error, with its fault
        return result

    def read(self, address: int, size: int, root: int, zero_excluded: bool) -> bytes:
        handle = self._live_handle()
        buffer = self._allocate("uint8_t[]", size)
        status = _native.lib.pc_x86_64_read(handle, root, address, buffer, size, zero_excluded, self._fault)
        if status:
            raise _native.error(status, Fault.from_c(self._fault), self._context)
        return _native.ffi.buffer(buffer, size)[:]

    def close(self) -> None:
        if self._handle is not None:
            _native.ffi.release(self._handle)
            self._handle = None
            if self._mapping is not None:
                _native.ffi.release(self._mapping)
                self._mapping = None
            self._keep = []


class _PureWalker:
    """The page-table walk in Python over ``dump.read_physical``; the twin of csrc/x86_64.c."""

    def __init__(self, arch: X86_64):
        self.arch = arch
        self.dump = arch.dump
        self._context: Context = dataclasses.replace(arch.dump.error_context, levels=arch.levels)
        self._tlb: Dict[Tuple[int, int], int] = {}
        self._closed = False

    def translate(self, address: int, root: int) -> int:
        self._check_open()
        return self._translate(address, root)[0]

    def _check_open(self) -> None:
        """Closed, the twin of _NativeWalker fails alike, even where no page would be read (the
        kernel image and direct map are arithmetic)."""
        if self._closed:
            raise closed_error()

    def translate_many(self, addresses: Sequence[int], root: int) -> List[Optional[int]]:
        self._check_open()
        result: List[Optional[int]] = []
        for address in addresses:
            try:
                result.append(self._translate(address, root)[0])
            except FaultError:
                result.append(None)
        return result

    def _translate(self, address: int, root: int) -> Tuple[int, int]:
        arch = self.arch
        if 0 <= address - START_KERNEL_MAP < arch.kernel_image_size:
            return arch._kernel_image_to_physical(address), 4096
        start = arch.direct_map_start
        if start is not None and 0 <= address - start < arch.direct_map_size:
            return address - start, 4096
        bits = 57 if arch.levels == 5 else 48
        top = address >> (bits - 1)
        if top != 0 and top != (_MASK64 >> (bits - 1)):
            raise _native.error(Status.NONCANONICAL, Fault(address), self._context)
        key = (root, address >> 12)
        cached = self._tlb.get(key)
        if cached is not None:
            return cached | (address & 0xFFF), 4096
        walked = walk_tables(self.dump, root, address, arch.levels)
        if walked.physical is None:
            last = walked.entries[-1]
            raise _native.error(Status.NOT_MAPPED, Fault(address, last.address, level=last.level), self._context)
        if len(self._tlb) >= _TLB:
            self._tlb.clear()
        self._tlb[key] = walked.physical & ~0xFFF
        return walked.physical, walked.page_size

    def read(self, address: int, size: int, root: int, zero_excluded: bool) -> bytes:
        self._check_open()
        parts = []
        while size:
            physical, page_size = self._translate(address, root)
            take = min(size, page_size - (physical & (page_size - 1)))
            try:
                parts.append(self.dump.read_physical(physical, take, zero_excluded))
            except FaultError as error:
                raise _native.virtual_error(error, address) from None
            address += take
            size -= take
        return b"".join(parts)

    def close(self) -> None:
        self._tlb.clear()
        self._closed = True
