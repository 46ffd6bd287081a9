"""Cost of page decompression: the codec's own Python binding and the C floor (pc_decompress_many)
as baselines, Decompressor on C per page, Decompressor on pure Python per page and our own LZO1X
decoder, for every codec on the same realistic pages.

Every path must give back the very pages that were compressed: a fast wrong decoder fails here.
Run: python -m pytest bench/bench_codecs.py --benchmark-only -q
"""
import zlib

import lzo
import pytest
import snappy
import zstandard

from pycore import native
from pycore.dump import lzo1x
from pycore.dump.codecs import CODEC_LZO, CODEC_NAMES, CODEC_SNAPPY, CODEC_ZLIB, CODEC_ZSTD, Decompressor

from conftest import PAGE_SIZE, PER_PAGE_SECONDS

COMPRESSORS = {
    CODEC_ZLIB: lambda page: zlib.compress(page, 6),
    CODEC_LZO: lambda page: lzo.compress(page, 1, False),
    CODEC_SNAPPY: snappy.compress,
    CODEC_ZSTD: zstandard.ZstdCompressor(level=1).compress,
}
# The codecs' own bindings, one call per page: the baseline every path is measured against.
LIBRARIES = {
    CODEC_ZLIB: lambda blob, size: zlib.decompress(blob),
    CODEC_LZO: lambda blob, size: lzo.decompress(blob, False, size),
    CODEC_SNAPPY: lambda blob, size: snappy.decompress(blob),
    CODEC_ZSTD: lambda blob, size: zstandard.ZstdDecompressor().decompress(blob, max_output_size=size),
}
NATIVE_ONLY = pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built")
# The baselines run first so that the others can report their ratio to them.
PATHS = [
    "library",
    pytest.param("floor", marks=NATIVE_ONLY),
    pytest.param("C per page", marks=NATIVE_ONLY),
    "python per page",
    "lzo1x.py per page",
]


@pytest.fixture(scope="module")
def compressed(realistic_pages):
    return {codec: [compress(page) for page in realistic_pages] for codec, compress in COMPRESSORS.items()}


def _floor(codec: int, blobs: "list[bytes]"):
    ffi, lib = native.ffi, native.lib
    src = b"".join(blobs)
    offsets = ffi.new("uint64_t[]", _offsets(blobs))
    sizes = ffi.new("uint32_t[]", [len(blob) for blob in blobs])
    dst = ffi.new("uint8_t[]", len(blobs) * PAGE_SIZE)
    contexts = ffi.gc(lib.pc_codecs_new(), lib.pc_codecs_free)

    def run():
        ret = lib.pc_decompress_many(contexts, codec, src, len(src), offsets, sizes, len(blobs), dst, PAGE_SIZE)
        assert ret == lib.PC_OK
        return dst

    return run


def _offsets(blobs: "list[bytes]") -> "list[int]":
    offsets, position = [], 0
    for blob in blobs:
        offsets.append(position)
        position += len(blob)
    return offsets


def _per_page(decompress, codec: int, blobs: "list[bytes]"):
    def run():
        return [decompress(codec, blob, PAGE_SIZE) for blob in blobs]

    return run


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("codec", list(COMPRESSORS), ids=lambda codec: CODEC_NAMES[codec])
def test_page_decompression_speed(benchmark, compressed, realistic_pages, codec, path):
    blobs = compressed[codec]
    if path == "library":
        library = LIBRARIES[codec]
        run = _per_page(lambda _codec, blob, size: library(blob, size), codec, blobs)
    elif path == "floor":
        run = _floor(codec, blobs)
    elif path == "C per page":
        run = _per_page(Decompressor(native=True).decompress, codec, blobs)
    elif path == "python per page":
        run = _per_page(Decompressor(native=False).decompress, codec, blobs)
    else:
        if codec != CODEC_LZO:
            pytest.skip("our own decoder exists only for LZO")
        run = _per_page(lambda _codec, blob, size: lzo1x.decompress(blob, size), codec, blobs)
    benchmark.group = CODEC_NAMES[codec]
    pages = benchmark(run)
    if path == "floor":
        out = native.ffi.buffer(pages)[:]
        pages = [out[i:i + PAGE_SIZE] for i in range(0, len(out), PAGE_SIZE)]
    assert [bytes(page) for page in pages] == realistic_pages, f"{path} decoded {CODEC_NAMES[codec]} pages wrongly"
    if benchmark.stats is None:  # --benchmark-disable
        return
    per_page = benchmark.stats.stats.mean / len(blobs)
    PER_PAGE_SECONDS[(CODEC_NAMES[codec], path)] = per_page
    benchmark.extra_info["us_per_page"] = round(per_page * 1e6, 3)
    for baseline in ("library", "floor"):
        seconds = PER_PAGE_SECONDS.get((CODEC_NAMES[codec], baseline))
        if seconds and baseline != path:
            benchmark.extra_info[f"ratio_to_{baseline}"] = round(per_page / seconds, 2)
