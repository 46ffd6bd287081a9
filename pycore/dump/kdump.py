"""makedumpfile's kdump-compressed format (signature ``KDUMP   ``), header versions 1-6+.

Layout: ``disk_dump_header`` in block 0, ``kdump_sub_header`` from block 1,
then the 1st bitmap (pages that exist) and 2nd bitmap (pages dumped), then one
24-byte ``page_desc`` per dumped page in PFN order, then page data.  Zero pages
share one descriptor; pages may be zlib/LZO/snappy/zstd compressed or raw.
Old ``DISKDUMP`` files use the same header without a sub-header.
"""
import struct
from typing import Any, Dict, List, Optional, Tuple

from .. import native as _native
from ..cache import PageCache, page_cache_pages
from ..errors import FormatError, IncompleteDumpError
from ..native import Context, Fault, Status
from .base import Dump, NativeMemory
from .codecs import (CODEC_LZO, CODEC_NAMES, CODEC_NONE, CODEC_SNAPPY, CODEC_ZLIB, CODEC_ZSTD,
                     Decompressor)
from .file import DumpFile, closed_error
from .notes import parse_notes
from .vmcoreinfo import VmcoreInfo

KDUMP_SIGNATURE = b"KDUMP   "
DISKDUMP_SIGNATURE = b"DISKDUMP"

DUMP_DH_COMPRESSED_ZLIB = 0x1
DUMP_DH_COMPRESSED_LZO = 0x2
DUMP_DH_COMPRESSED_SNAPPY = 0x4
DUMP_DH_COMPRESSED_INCOMPLETE = 0x8
DUMP_DH_EXCLUDED_VMEMMAP = 0x10
DUMP_DH_COMPRESSED_ZSTD = 0x20
_COMPRESSED = (DUMP_DH_COMPRESSED_ZLIB | DUMP_DH_COMPRESSED_LZO
               | DUMP_DH_COMPRESSED_SNAPPY | DUMP_DH_COMPRESSED_ZSTD)
_CODEC_OF_FLAG = {0: CODEC_NONE, DUMP_DH_COMPRESSED_ZLIB: CODEC_ZLIB, DUMP_DH_COMPRESSED_LZO: CODEC_LZO,
                  DUMP_DH_COMPRESSED_SNAPPY: CODEC_SNAPPY, DUMP_DH_COMPRESSED_ZSTD: CODEC_ZSTD}

# disk_dump_header on 64-bit: signature, header_version, utsname (6 x 65), pad to 8,
# timestamp (timeval), status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr,
# total_ram_blocks, device_blocks, written_blocks, current_cpu, nr_cpus.
DISK_DUMP_HEADER = struct.Struct("<8si390s6xqqIiiIIIIIIi")
# kdump_sub_header: phys_base, dump_level, split, start_pfn, end_pfn, offset/size of
# vmcoreinfo, note, eraseinfo, then start_pfn_64, end_pfn_64, max_mapnr_64 (version 6).
KDUMP_SUB_HEADER = struct.Struct("<QiiQQQQQQQQQQQ")
PAGE_DESC = struct.Struct("<QIIQ")

_MAX_PAGE_SIZE = 1 << 18
_MAX_NOTES = 64 << 20
# csrc/kdump.c's own direct-mapped cache, which the C page-table walk reads its entries through.
_CACHE_PAGES = 256
_SCRATCH_LIMIT = 64 << 20

# fault.detail of Status.BAD_DESC: which page_desc field is impossible.
_DESC_OFFSET, _DESC_SIZE, _DESC_FLAGS = 0, 1, 2


def is_kdump(head: bytes) -> bool:
    return head[:8] in (KDUMP_SIGNATURE, DISKDUMP_SIGNATURE)


class KdumpDump(Dump):
    """A kdump-compressed dump; reads run in C when the extension is built."""

    format = "kdump"

    def __init__(self, file: DumpFile, native: Optional[bool] = None):
        super().__init__(file)
        self._parse_header()
        self._parse_sub_header()
        self._parse_bitmaps()
        self.dumpable = _popcount(self.bitmap2, self.max_mapnr)
        self.data_offset = self.desc_offset + self.dumpable * PAGE_DESC.size
        self.zero_offset = self._zero_page_offset()
        if self.data_offset > file.size:
            self.incomplete = True
        # Left to pycore to decide, a dump whose codec the extension was built without
        # reads in Python; asked for C explicitly, such pages raise CodecUnavailableError.
        codec = _CODEC_OF_FLAG.get(self.status & _COMPRESSED, CODEC_NONE)
        self.native = _native.use_native(native) and (native is not None or codec in _native.NATIVE_CODECS)
        self._reader = _NativeReader(self) if self.native else _PureReader(self)
        # Reads are the hot path: skip a layer of Python calls.
        self.read_physical = self._reader.read  # type: ignore[method-assign]
        self.read_physical_into = self._reader.read_into  # type: ignore[method-assign]

    # -- header -----------------------------------------------------------------
    def _parse_header(self) -> None:
        raw = self.file.read(0, DISK_DUMP_HEADER.size, "disk_dump_header")
        (signature, self.header_version, utsname, tv_sec, tv_usec, self.status, self.block_size,
         self.sub_hdr_size, self.bitmap_blocks, max_mapnr32, self.total_ram_blocks, self.device_blocks,
         self.written_blocks, self.current_cpu, self.nr_cpus) = DISK_DUMP_HEADER.unpack(raw)
        self.signature = signature.decode("ascii", "replace")
        fields = [utsname[i * 65:(i + 1) * 65].split(b"\0", 1)[0].decode("utf-8", "replace") for i in range(6)]
        self.utsname = dict(zip(("sysname", "nodename", "release", "version", "machine", "domainname"), fields))
        self.timestamp = tv_sec + tv_usec / 1e6
        self.max_mapnr = max_mapnr32
        bs = self.block_size
        if bs < 1024 or bs > _MAX_PAGE_SIZE or bs & (bs - 1):
            raise FormatError(f"block_size {bs} is not a power of two between 1 KiB and 256 KiB",
                              offset=428, field="disk_dump_header.block_size")
        self.page_size = bs
        if self.header_version < 0 or self.header_version > 1000:
            raise FormatError(f"header_version {self.header_version} is not a known version",
                              offset=8, field="disk_dump_header.header_version")
        if self.sub_hdr_size < 0 or (1 + self.sub_hdr_size) * bs > self.file.size:
            raise FormatError(f"sub_hdr_size {self.sub_hdr_size} blocks runs past the end of the file",
                              offset=432, field="disk_dump_header.sub_hdr_size")
        if self.nr_cpus < 0 or self.nr_cpus > 1 << 20:
            raise FormatError(f"nr_cpus {self.nr_cpus} is absurd", offset=460, field="disk_dump_header.nr_cpus")
        if self.status & DUMP_DH_COMPRESSED_INCOMPLETE:
            self.incomplete = True
        if self.utsname["machine"] and self.utsname["machine"] != "x86_64":
            self.machine = self.utsname["machine"]

    def _parse_sub_header(self) -> None:
        self.phys_base_header: Optional[int] = None
        self.dump_level: Optional[int] = None
        self.split = False
        # DISKDUMP files and header version 0 have no sub-header, hence no notes: the
        # dump then has no CPUs (Dump's empty list), never a missing attribute.
        if self.signature != KDUMP_SIGNATURE.decode() or self.header_version < 1:
            return
        bs = self.block_size
        available = min(KDUMP_SUB_HEADER.size, max(self.sub_hdr_size * bs, 0), self.file.size - bs)
        raw = self.file.read(bs, available, "kdump_sub_header").ljust(KDUMP_SUB_HEADER.size, b"\0")
        (self.phys_base_header, self.dump_level, split, _start_pfn, _end_pfn, off_vmcoreinfo,
         size_vmcoreinfo, off_note, size_note, _off_erase, _size_erase, _start64, _end64,
         max_mapnr64) = KDUMP_SUB_HEADER.unpack(raw)
        self.split = self.header_version >= 2 and split != 0
        if self.split:
            raise FormatError("split dumps (makedumpfile --split) need all their files; not supported",
                              offset=bs + 12, field="kdump_sub_header.split")
        if self.header_version >= 6:
            self.max_mapnr = max_mapnr64
        if self.header_version >= 3 and size_vmcoreinfo:
            self.vmcoreinfo = VmcoreInfo.from_bytes(
                self._read_area(off_vmcoreinfo, size_vmcoreinfo, bs + 32, "kdump_sub_header.offset_vmcoreinfo"))
        notes = []
        if self.header_version >= 4 and size_note:
            data = self._read_area(off_note, size_note, bs + 48, "kdump_sub_header.offset_note")
            notes = parse_notes(data, off_note)
        self._set_notes(notes)

    def _read_area(self, offset: int, size: int, field_offset: int, field: str) -> bytes:
        if size > _MAX_NOTES or offset + size > self.file.size:
            raise FormatError(f"area of {size} bytes at {offset:#x} lies outside the {self.file.size}-byte file",
                              offset=field_offset, field=field)
        return self.file.read(offset, size, field)

    def _parse_bitmaps(self) -> None:
        bs = self.block_size
        start = (1 + self.sub_hdr_size) * bs
        total = self.bitmap_blocks * bs
        if start + total > self.file.size:
            raise FormatError(f"bitmap_blocks {self.bitmap_blocks} ({total} bytes) runs past the end of the"
                              f" {self.file.size}-byte file", offset=436, field="disk_dump_header.bitmap_blocks")
        half = total // 2
        if self.max_mapnr > half * 8:
            raise FormatError(f"max_mapnr {self.max_mapnr} needs more bits than each {half}-byte bitmap has",
                              offset=440, field="disk_dump_header.max_mapnr")
        self.bitmap_bytes = half
        self.bitmap1 = self.file.read(start, half, "1st bitmap")
        self.bitmap2 = self.file.read(start + half, half, "2nd bitmap")
        self.desc_offset = start + total

    def _zero_page_offset(self) -> Optional[int]:
        """makedumpfile and QEMU write one zero page first and point every zero page at it."""
        try:
            if self.file.read(self.data_offset, self.page_size, "zero page") == bytes(self.page_size):
                return self.data_offset
        except (FormatError, IncompleteDumpError):
            pass
        return None

    # -- reads ------------------------------------------------------------------
    @property
    def error_context(self) -> Context:
        return Context(container="kdump", page_size=self.page_size, file_size=self.file.size,
                       dump_level=self.dump_level)

    def native_memory(self) -> Optional[NativeMemory]:
        reader = self._reader
        if reader.handle is None:
            return None
        return NativeMemory(self.error_context, kdump=reader.handle, page_cache=reader.page_cache)

    def page_cache_stats(self) -> Optional[Dict[str, int]]:
        return self._reader.cache_stats()

    # -- summary ----------------------------------------------------------------
    def ranges(self) -> List[Tuple[int, int]]:
        result: List[Tuple[int, int]] = []
        bitmap = self.bitmap1
        pfn, end_pfn = 0, self.max_mapnr
        while pfn < end_pfn:
            byte = bitmap[pfn >> 3]
            if byte == 0 and pfn & 7 == 0:
                pfn += 8
                continue
            if (byte >> (pfn & 7)) & 1:
                start = pfn
                while pfn < end_pfn and bitmap[pfn >> 3] == 0xff and pfn & 7 == 0 and pfn + 8 <= end_pfn:
                    pfn += 8
                while pfn < end_pfn and (bitmap[pfn >> 3] >> (pfn & 7)) & 1:
                    pfn += 1
                    while pfn < end_pfn and pfn & 7 == 0 and bitmap[pfn >> 3] == 0xff and pfn + 8 <= end_pfn:
                        pfn += 8
                result.append((start * self.page_size, pfn * self.page_size))
            else:
                pfn += 1
        return result

    def page_counts(self) -> Dict[str, Optional[int]]:
        present = _popcount(self.bitmap1, self.max_mapnr)
        zero, missing = self._reader.count_zero()
        return {"present": present, "dumped": self.dumpable, "excluded": present - self.dumpable,
                "zero": zero, "missing": missing}

    def describe(self) -> Dict[str, Any]:
        codecs = self.codecs_used()
        compressed = [name for name in codecs if name != "none"]
        return {
            "signature": self.signature,
            "header_version": self.header_version,
            # Pages that do not shrink are stored raw whatever the codec: name the codec.
            "codec": compressed[0] if compressed else "none",
            "codecs_seen": codecs,
            "dump_level": self.dump_level,
            "status": self.status,
            "phys_base_header": self.phys_base_header,
            "timestamp": self.timestamp,
            "nr_cpus": self.nr_cpus,
            "utsname": self.utsname,
        }

    def codecs_used(self, sample: int = 64) -> List[str]:
        """Codec names seen in the first ``sample`` non-zero page descriptors."""
        names = []
        for index in range(min(self.dumpable, 4096)):
            try:
                offset, size, flags, _ = PAGE_DESC.unpack(
                    self.file.read(self.desc_offset + index * PAGE_DESC.size, PAGE_DESC.size, "page_desc"))
            except IncompleteDumpError:
                break
            if offset == self.zero_offset and not flags & _COMPRESSED:
                continue
            name = CODEC_NAMES.get(_CODEC_OF_FLAG.get(flags & _COMPRESSED, -1), "invalid")
            if name not in names:
                names.append(name)
            sample -= 1
            if not sample:
                break
        return names

    def _close_readers(self) -> None:
        self._reader.close()


def _popcount(bitmap: bytes, bits: int) -> int:
    whole = bits >> 3
    count = int.from_bytes(bitmap[:whole], "little").bit_count()
    if bits & 7:
        count += (bitmap[whole] & ((1 << (bits & 7)) - 1)).bit_count()
    return count


class _PureReader:
    """Page reads in pure Python, the twin of csrc/kdump.c."""

    _BLOCK = 64  # bytes of bitmap per rank entry (512 pages)
    handle = None  # no C reader for the C page-table walk to read through

    def __init__(self, dump: KdumpDump):
        self.dump = dump
        self.page_size = dump.page_size
        self.decompressor = Decompressor(native=False)
        bitmap2, blocks = dump.bitmap2, self._BLOCK
        self.rank = [0]
        total = 0
        for start in range(0, (dump.max_mapnr + 7) // 8, blocks):
            total += int.from_bytes(bitmap2[start:start + blocks], "little").bit_count()
            self.rank.append(total)
        self.data_offset = dump.data_offset
        self.zero_offset = dump.zero_offset
        self.cache = PageCache(page_cache_pages(dump.page_size))

    def _rank(self, pfn: int) -> int:
        block = pfn >> 9
        start = block * self._BLOCK
        byte = pfn >> 3
        bitmap2 = self.dump.bitmap2
        count = self.rank[block] + int.from_bytes(bitmap2[start:byte], "little").bit_count()
        return count + (bitmap2[byte] & ((1 << (pfn & 7)) - 1)).bit_count()

    def _fail(self, status: Status, address: int, file_offset: int = 0, detail: int = 0) -> Exception:
        return _native.error(status, Fault(address, file_offset=file_offset, detail=detail), self.dump.error_context)

    def _page(self, pfn: int, zero_excluded: bool, address: int) -> bytes:
        """Page ``pfn``; faults name ``address``, the first byte the caller wanted from it.

        Check for check the twin of csrc/kdump.c read_page, failing with the same status.
        """
        dump = self.dump
        if pfn >= dump.max_mapnr:
            raise self._fail(Status.NOT_PRESENT, address)
        if not (dump.bitmap2[pfn >> 3] >> (pfn & 7)) & 1:
            if not (dump.bitmap1[pfn >> 3] >> (pfn & 7)) & 1:
                raise self._fail(Status.NOT_PRESENT, address)
            if not zero_excluded:
                raise self._fail(Status.EXCLUDED, address)
            return bytes(self.page_size)
        desc_at = dump.desc_offset + self._rank(pfn) * PAGE_DESC.size
        try:
            offset, size, flags, _ = PAGE_DESC.unpack(dump.file.read(desc_at, PAGE_DESC.size, "page_desc"))
        except IncompleteDumpError:
            raise self._fail(Status.INCOMPLETE, address, desc_at) from None
        if offset == 0 and size == 0:  # descriptor never filled in: the dump stopped
            raise self._fail(Status.INCOMPLETE, address, desc_at)
        codec = _CODEC_OF_FLAG.get(flags & _COMPRESSED)
        if codec == CODEC_NONE and offset == self.zero_offset and size == self.page_size:
            return bytes(self.page_size)
        if codec is None:
            raise self._fail(Status.BAD_DESC, address, desc_at, _DESC_FLAGS)
        if offset < self.data_offset or offset >= 1 << 63:
            raise self._fail(Status.BAD_DESC, address, desc_at, _DESC_OFFSET)
        if size == 0 or size > self.page_size or (codec == CODEC_NONE and size != self.page_size):
            raise self._fail(Status.BAD_DESC, address, desc_at, _DESC_SIZE)
        try:
            data = dump.file.read(offset, size, "page data")
        except IncompleteDumpError:
            raise self._fail(Status.INCOMPLETE, address, offset) from None
        if codec == CODEC_NONE:
            return data
        try:
            return self.decompressor.decompress(codec, data, self.page_size)
        except FormatError as error:
            # Worded as C words it: the codec library's own reason is not in the C fault.
            status = getattr(error, "status", Status.CORRUPT)
            raise self._fail(status, address, offset, codec) from None

    def _excluded(self, pfn: int) -> bool:
        """Whether page ``pfn`` exists but was filtered out (read as zeros with zero_excluded)."""
        dump = self.dump
        return (pfn < dump.max_mapnr and (dump.bitmap1[pfn >> 3] >> (pfn & 7)) & 1
                and not (dump.bitmap2[pfn >> 3] >> (pfn & 7)) & 1)

    def _cached_page(self, pfn: int, zero_excluded: bool, address: int) -> bytes:
        """Page ``pfn`` through the cache, as csrc/pagecache.c reads it: a page the dump holds is
        decoded once and kept; a filtered-out one read as zeros is not; faults name ``address``."""
        cache = self.cache
        page = cache.get(pfn)
        if page is None:
            if zero_excluded and self._excluded(pfn):
                return bytes(self.page_size)
            page = self._page(pfn, False, address)
            cache.keep(pfn, page)
        return page

    def read(self, address: int, size: int, zero_excluded: bool = False) -> bytes:
        if address < 0 or size < 0:
            raise ValueError("address and size must not be negative")
        page_size = self.page_size
        parts = []
        while size:
            pfn, in_page = divmod(address, page_size)
            n = min(size, page_size - in_page)
            page = self._cached_page(pfn, zero_excluded, address)
            parts.append(page if n == page_size else page[in_page:in_page + n])
            address += n
            size -= n
        return b"".join(parts)

    def read_into(self, address: int, buffer, zero_excluded: bool = False) -> None:
        """:meth:`read` written straight into ``buffer``, a page at a time (no joined copy)."""
        view = memoryview(buffer).cast("B")
        if address < 0:
            raise ValueError("address must not be negative")
        page_size = self.page_size
        position, size = 0, len(view)
        while position < size:
            pfn, in_page = divmod(address, page_size)
            n = min(size - position, page_size - in_page)
            page = self._cached_page(pfn, zero_excluded, address)
            view[position:position + n] = page if n == page_size else page[in_page:in_page + n]
            address += n
            position += n

    def count_zero(self) -> Tuple[int, int]:
        zero = missing = 0
        dump = self.dump
        available = max(0, min(dump.file.size, self.data_offset) - dump.desc_offset) // PAGE_DESC.size
        missing += dump.dumpable - available
        table = dump.file.read(dump.desc_offset, available * PAGE_DESC.size, "page_desc table")
        file_size = dump.file.size
        for offset, size, flags, _ in PAGE_DESC.iter_unpack(table):
            if offset == 0 and size == 0:
                missing += 1
            elif offset == self.zero_offset and size == self.page_size and not flags & _COMPRESSED:
                zero += 1
            elif offset + size > file_size:  # the file was cut short before this page's data
                missing += 1
        return zero, missing

    def cache_stats(self) -> Dict[str, int]:
        return self.cache.stats()

    def close(self) -> None:
        self.cache.clear()


class _NativeReader:
    """Page reads through csrc/kdump.c."""

    def __init__(self, dump: KdumpDump):
        ffi, lib = _native.ffi, _native.lib
        self.dump = dump
        self._stream = ffi.from_buffer(dump.file.map)
        segments = dump.file.segments if dump.file.flattened else []
        self._keep = [
            ffi.new("uint64_t[]", [s[0] for s in segments] or [0]),
            ffi.new("uint64_t[]", [s[1] for s in segments] or [0]),
            ffi.new("uint64_t[]", [s[2] for s in segments] or [0]),
        ]
        params = ffi.new("struct pc_kdump_params *")
        params.stream = self._stream
        params.stream_size = dump.file.stream_size
        params.seg_logical, params.seg_stream, params.seg_length = self._keep
        params.nsegs = len(segments)
        bitmap1 = ffi.from_buffer(dump.bitmap1)
        bitmap2 = ffi.from_buffer(dump.bitmap2)
        params.bitmap1 = bitmap1
        params.bitmap2 = bitmap2
        params.bitmap_bytes = dump.bitmap_bytes
        params.max_mapnr = dump.max_mapnr
        params.desc_offset = dump.desc_offset
        params.page_size = dump.page_size
        params.cache_pages = _CACHE_PAGES
        params.data_offset = dump.data_offset
        params.zero_offset = 2 ** 64 - 1 if dump.zero_offset is None else dump.zero_offset
        handle = lib.pc_kdump_new(params)
        if handle == ffi.NULL:
            raise MemoryError("cannot allocate the kdump reader's bitmaps and cache")
        # Public: the C page-table walk reads through it (Dump.native_memory).
        self.handle = ffi.gc(handle, lib.pc_kdump_free)
        cache = lib.pc_pagecache_new(dump.page_size, page_cache_pages(dump.page_size))
        if cache == ffi.NULL:
            raise MemoryError("cannot allocate the kdump reader's page cache")
        # Public too: the C page-table walk reads through it, so each page is decoded once.
        self.page_cache = ffi.gc(cache, lib.pc_pagecache_free)
        self._stats = ffi.new("struct pc_pagecache_stats *")
        self._fault = ffi.new("struct pc_fault *")
        # Every byte of the buffer is written before it is read: no need to clear it.
        self._allocate = ffi.new_allocator(should_clear_after_alloc=False)
        self._scratch_size = dump.page_size
        self._scratch = self._allocate("uint8_t[]", self._scratch_size)
        self._read = lib.pc_pagecache_kdump_read
        self._buffer = ffi.buffer

    def read(self, address: int, size: int, zero_excluded: bool = False) -> bytes:
        if address < 0 or size <= 0:
            if size == 0 and address >= 0:
                return b""
            raise ValueError("address and size must not be negative")
        if size > self._scratch_size:
            # Fresh memory costs a page fault per page: keep one buffer for reuse, within reason.
            if size > _SCRATCH_LIMIT:
                buffer = self._allocate("uint8_t[]", size)
                self._fill(address, buffer, size, zero_excluded)
                return self._buffer(buffer, size)[:]
            self._scratch = self._allocate("uint8_t[]", size)
            self._scratch_size = size
        # The common case, inlined: one Python call per read is most of the overhead above the codec.
        handle = self.handle
        if handle is None:
            raise closed_error()
        scratch = self._scratch
        status = self._read(self.page_cache, handle, address, scratch, size, zero_excluded, self._fault)
        if status:
            raise _native.error(status, Fault.from_c(self._fault), self.dump.error_context)
        return self._buffer(scratch, size)[:]

    def read_into(self, address: int, buffer, zero_excluded: bool = False) -> None:
        target = _native.ffi.from_buffer(buffer, require_writable=True)
        if address < 0:
            raise ValueError("address must not be negative")
        self._fill(address, target, len(target), zero_excluded)

    def _fill(self, address: int, target, size: int, zero_excluded: bool) -> None:
        handle = self.handle
        if handle is None:
            raise closed_error()
        status = self._read(self.page_cache, handle, address, target, size, zero_excluded, self._fault)
        if status:
            raise _native.error(status, Fault.from_c(self._fault), self.dump.error_context)

    def count_zero(self) -> Tuple[int, int]:
        if self.handle is None:
            raise closed_error()
        ffi = _native.ffi
        zero, missing = ffi.new("uint64_t *"), ffi.new("uint64_t *")
        _native.lib.pc_kdump_count_zero(self.handle, zero, missing)
        return int(zero[0]), int(missing[0])

    def cache_stats(self) -> Dict[str, int]:
        if self.handle is None:
            raise closed_error()
        _native.lib.pc_pagecache_stats(self.page_cache, self._stats)
        stats = self._stats
        return {"hits": int(stats.hits), "misses": int(stats.misses), "pages": int(stats.pages),
                "capacity": int(stats.capacity)}

    def close(self) -> None:
        if self.handle is not None:
            _native.ffi.release(self.page_cache)
            _native.ffi.release(self.handle)
            _native.ffi.release(self._stream)
            self.handle = None
