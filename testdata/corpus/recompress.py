"""Rewrite an uncompressed kdump-compressed file (makedumpfile without -c/-l/-z/-p)
with every page snappy-compressed, as makedumpfile -p would. No Debian
makedumpfile is built with snappy; the host's libsnappy (through ctypes) does
the compression, and crash 9, which is linked with snappy, checks the result.
Covers disk_dump_header versions 6 and later (64-bit max_mapnr)."""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

from fetch import BuildError

# disk_dump_header.status and page_desc.flags bits (makedumpfile's diskdump_mod.h).
DUMP_DH_COMPRESSED_ZLIB = 0x1
DUMP_DH_COMPRESSED_LZO = 0x2
DUMP_DH_COMPRESSED_SNAPPY = 0x4
DUMP_DH_COMPRESSED_ZSTD = 0x20
COMPRESSED = DUMP_DH_COMPRESSED_ZLIB | DUMP_DH_COMPRESSED_LZO | DUMP_DH_COMPRESSED_SNAPPY | DUMP_DH_COMPRESSED_ZSTD
PAGE_DESC = struct.Struct("<qIIQ")  # offset, size, flags, page_flags


class Snappy:
    def __init__(self):
        try:
            self.lib = ctypes.CDLL("libsnappy.so.1")
        except OSError as error:
            raise BuildError(f"libsnappy.so.1 not loadable ({error}); install libsnappy1v5")
        self.lib.snappy_max_compressed_length.restype = ctypes.c_size_t
        self.lib.snappy_max_compressed_length.argtypes = [ctypes.c_size_t]
        self.lib.snappy_compress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                             ctypes.POINTER(ctypes.c_size_t)]

    def compress(self, data: bytes) -> bytes:
        capacity = self.lib.snappy_max_compressed_length(len(data))
        out = ctypes.create_string_buffer(capacity)
        size = ctypes.c_size_t(capacity)
        if self.lib.snappy_compress(data, len(data), out, ctypes.byref(size)) != 0:
            raise BuildError("snappy_compress failed")
        return out.raw[:size.value]


def recompress_snappy(source: Path, target: Path) -> None:
    """target: source (an uncompressed kdump file) with its pages snappy-compressed."""
    snappy = Snappy()
    with open(source, "rb") as f:
        header = bytearray(f.read(4096))
        if header[:8] != b"KDUMP   ":
            raise BuildError(f"{source}: not a kdump-compressed file")
        version, = struct.unpack_from("<i", header, 8)
        status, block_size, sub_hdr_size, bitmap_blocks = struct.unpack_from("<iiii", header, 424)
        if version < 6 or status & COMPRESSED:
            raise BuildError(f"{source}: header version {version}, status {status:#x}; want >= 6 and uncompressed")
        f.seek(block_size)
        sub = f.read(104)
        offset_eraseinfo, size_eraseinfo = struct.unpack_from("<qQ", sub, 64)
        if size_eraseinfo:
            raise BuildError(f"{source}: has erase info at {offset_eraseinfo}; not supported")
        bitmap_offset = (1 + sub_hdr_size) * block_size
        f.seek(bitmap_offset)
        bitmaps = f.read(bitmap_blocks * block_size)
        dumpable = sum(bin(b).count("1") for b in bitmaps[len(bitmaps) // 2:])
        desc_offset = bitmap_offset + len(bitmaps)
        f.seek(0)
        prefix = f.read(desc_offset)
        table = f.read(dumpable * PAGE_DESC.size)
        data_offset = desc_offset + len(table)
        descriptors = [PAGE_DESC.unpack_from(table, i * PAGE_DESC.size) for i in range(dumpable)]
        written = {}  # source offset -> (target offset, size, flags); keeps the shared zero page shared
        out_table = bytearray()
        with open(target, "wb") as out:
            prefix = bytearray(prefix)
            struct.pack_into("<i", prefix, 424, status | DUMP_DH_COMPRESSED_SNAPPY)
            out.write(prefix)
            out.write(b"\0" * len(table))
            position = data_offset
            for offset, size, flags, page_flags in descriptors:
                if offset not in written:
                    if flags & COMPRESSED or size != block_size:
                        raise BuildError(f"{source}: page at {offset} is compressed ({flags:#x}) or short ({size})")
                    f.seek(offset)
                    page = f.read(size)
                    packed = snappy.compress(page)
                    # Like makedumpfile: keep a page raw when compressing does not shrink it.
                    if len(packed) < len(page):
                        page, new_flags = packed, DUMP_DH_COMPRESSED_SNAPPY
                    else:
                        new_flags = 0
                    out.write(page)
                    written[offset] = (position, len(page), new_flags)
                    position += len(page)
                new_offset, new_size, new_flags = written[offset]
                out_table += PAGE_DESC.pack(new_offset, new_size, new_flags, page_flags)
            out.seek(desc_offset)
            out.write(out_table)
