"""Physical reads through the containers, as ratios to baselines measured in the same run.

kdump: the codec floor (pc_decompress_many on the very blobs the dump stores) and
libkdumpfile on the same file; pycore one call per page (C and Python) and one
bulk call, each decoding every page (a page cache of one page); and the same
pages read again through the decoded-page cache (C and Python), which holds them; and
read again by virtual address through the page-table walk (C and Python), whose page-table
and data reads go through that cache too (the C walk decoded every page again before).
ELF: random and sequential 4 KiB reads, against libkdumpfile.

Every path must read the machine the file was written from, byte for byte (the baselines too):
a fast wrong reader fails here.
Run: python -m pytest bench/bench_read.py --benchmark-only -q
"""
import random
import sys

import pytest

import pycore
from pycore import native
from pycore.dump.codecs import CODEC_LZO, CODEC_SNAPPY, CODEC_ZLIB, CODEC_ZSTD

import synthetic  # testdata/synthetic.py, on the path through bench/conftest.py

try:
    sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-libkdumpfile
    import kdumpfile
except ImportError:
    kdumpfile = None
finally:
    sys.path.remove("/usr/lib/python3/dist-packages")

from conftest import PAGE_SIZE, SUMMARIES, realistic_page  # noqa: E402

PAGES = 2048
ELF_PAGES = 16384  # 64 MiB
CODECS = {"zlib": CODEC_ZLIB, "lzo": CODEC_LZO, "snappy": CODEC_SNAPPY, "zstd": CODEC_ZSTD}
NATIVE_ONLY = pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built")
KDUMPFILE_ONLY = pytest.mark.skipif(kdumpfile is None, reason="python3-libkdumpfile is not installed")
RESULTS: "dict[tuple[str, str], float]" = {}


def _machine(pages: int, seed: int) -> synthetic.Machine:
    rng = random.Random(seed)
    content = {pfn: realistic_page(rng) for pfn in range(pages)}
    return synthetic.Machine([(0, pages * PAGE_SIZE)], content, set(), synthetic.make_machine().vmcoreinfo,
                             synthetic.make_machine().registers)


@pytest.fixture(scope="module")
def kdump_machine() -> synthetic.Machine:
    return _machine(PAGES, 2)


@pytest.fixture(scope="module")
def kdump_files(tmp_path_factory, kdump_machine):
    """codec -> (path, the compressed blobs as stored, the pages they hold)."""
    directory = tmp_path_factory.mktemp("bench-kdump")
    files = {}
    for name in CODECS:
        image, layout = synthetic.build_kdump(kdump_machine, name)
        path = directory / f"{name}.vmcore"
        path.write_bytes(image)
        stored = [(pfn, offset, size) for pfn, (offset, size) in layout.data_of.items() if size < PAGE_SIZE]
        blobs = [image[offset:offset + size] for _, offset, size in stored]
        files[name] = (str(path), blobs, b"".join(kdump_machine.pages[pfn] for pfn, _, _ in stored))
    return files


@pytest.fixture(scope="module")
def walked_file(tmp_path_factory):
    """A zlib kdump of PAGES pages of data and, above them, page tables mapping them all (the
    direct map): (path, the machine, the virtual address of page 0)."""
    machine = _machine(PAGES + 32, 4)
    tables = synthetic.add_page_tables(machine, levels=4, first_pfn=PAGES)
    path = tmp_path_factory.mktemp("bench-walk") / "walked.vmcore"
    path.write_bytes(synthetic.build_kdump(machine, "zlib")[0])
    return str(path), machine, tables.mappings[0][0]


@pytest.fixture(scope="module")
def elf_machine() -> synthetic.Machine:
    rng = random.Random(3)
    return synthetic.Machine([(0, ELF_PAGES * PAGE_SIZE)], {p: rng.randbytes(PAGE_SIZE) for p in range(ELF_PAGES)},
                             set(), synthetic.make_machine().vmcoreinfo, [])


@pytest.fixture(scope="module")
def elf_file(tmp_path_factory, elf_machine):
    path = tmp_path_factory.mktemp("bench-elf") / "elf.vmcore"
    path.write_bytes(synthetic.build_elf(elf_machine))
    return str(path)


def _memory(machine: synthetic.Machine, pages: int) -> bytes:
    return b"".join(machine.pages[pfn] for pfn in range(pages))


def summary():
    """Lines for the end of the run: µs per page and ratios to the baselines."""
    lines = []
    if not RESULTS:
        return lines
    lines.append("")
    lines.append(f"kdump reads, {PAGES} pages: µs per page, best round; overhead = pycore - codec floor; ratio to "
                 "libkdumpfile")
    for codec in CODECS:
        floor = RESULTS.get((codec, "floor"))
        other = RESULTS.get((codec, "libkdumpfile"))
        for path in ("C bulk", "C bulk into", "C per page", "python per page", "C cached", "python cached",
                     "libkdumpfile"):
            seconds = RESULTS.get((codec, path))
            if seconds is None:
                continue
            line = f"  {codec:7} {path:16} {seconds * 1e6:8.2f} µs"
            if floor:
                line += f"  floor {floor * 1e6:6.2f}  overhead {(seconds - floor) * 1e6:+6.2f} µs"
            if other and path != "libkdumpfile":
                line += f"  x{seconds / other:.2f} of libkdumpfile"
            lines.append(line)
    for path in ("C walk cached", "python walk cached"):
        seconds = RESULTS.get(("zlib", path))
        physical = RESULTS.get(("zlib", path.replace(" walk", "")))
        if seconds is not None:
            line = f"  zlib    {path:18} {seconds * 1e6:8.2f} µs"
            if physical:
                line += f"  x{seconds / physical:.2f} of the same pages read physically"
            lines.append(line)
    for path in ("random", "sequential", "bulk", "bulk into"):
        for reader in ("pycore", "libkdumpfile"):
            seconds = RESULTS.get(("elf", f"{reader} {path}"))
            if seconds:
                lines.append(f"  elf {path:10} {reader:12} {PAGE_SIZE / seconds / 1e9:6.2f} GB/s")
    return lines


SUMMARIES.append(summary)


def _record(benchmark, key, pages):
    if benchmark.stats is not None:
        RESULTS[key] = benchmark.stats.stats.min / pages  # the best round: the machine may be shared
        benchmark.extra_info["us_per_page"] = round(RESULTS[key] * 1e6, 3)


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("path", [pytest.param("floor", marks=NATIVE_ONLY),
                                  pytest.param("libkdumpfile", marks=KDUMPFILE_ONLY),
                                  pytest.param("C bulk", marks=NATIVE_ONLY),
                                  pytest.param("C bulk into", marks=NATIVE_ONLY),
                                  pytest.param("C per page", marks=NATIVE_ONLY),
                                  "python per page",
                                  pytest.param("C cached", marks=NATIVE_ONLY),
                                  "python cached"])
def test_kdump_read_speed(benchmark, kdump_files, kdump_machine, codec, path, monkeypatch):
    file, blobs, stored_pages = kdump_files[codec]
    benchmark.group = f"kdump {codec}"
    if path == "floor":
        ffi, lib = native.ffi, native.lib
        src = b"".join(blobs)
        offsets, position = [], 0
        for blob in blobs:
            offsets.append(position)
            position += len(blob)
        offsets_c = ffi.new("uint64_t[]", offsets)
        sizes_c = ffi.new("uint32_t[]", [len(b) for b in blobs])
        dst = ffi.new("uint8_t[]", len(blobs) * PAGE_SIZE)
        contexts = ffi.gc(lib.pc_codecs_new(), lib.pc_codecs_free)
        status = benchmark(lambda: lib.pc_decompress_many(contexts, CODECS[codec], src, len(src), offsets_c, sizes_c,
                                                          len(blobs), dst, PAGE_SIZE))
        assert status == lib.PC_OK
        assert ffi.buffer(dst)[:] == stored_pages, f"the {codec} floor decoded the dump's pages wrongly"
        _record(benchmark, (codec, path), PAGES)
        return
    if path == "libkdumpfile":
        context = kdumpfile.kdumpfile(file)
        read_page = context.read
        space = kdumpfile.KDUMP_MACHPHYSADDR

        def run():
            return b"".join([read_page(space, pfn * PAGE_SIZE, PAGE_SIZE) for pfn in range(PAGES)])
    else:
        if not path.endswith("cached"):
            # A cache of one page: every page of the run is decoded, as the codec floor decodes them.
            monkeypatch.setenv("PYCORE_PAGE_CACHE_MIB", str(PAGE_SIZE / (1 << 20)))
        prog = pycore.open(file, native=path.startswith("C"))
        read = prog.read_physical
        if path == "C bulk":
            def run():
                return read(0, PAGES * PAGE_SIZE)
        elif path == "C bulk into":
            target = bytearray(PAGES * PAGE_SIZE)

            def run():
                prog.read_physical_into(0, target)
                return target
        else:
            def run():
                return b"".join([read(pfn * PAGE_SIZE, PAGE_SIZE) for pfn in range(PAGES)])
    if path.endswith("cached"):
        # Checked (and the cache filled) first; then each page read and let go, as a script does: a
        # run that kept them all would time the allocation of fresh memory for a copy of each.
        assert run() == _memory(kdump_machine, PAGES), f"{path} read the {codec} dump wrongly"
        filled = prog.dump.page_cache_stats()

        def run_cached():
            for pfn in range(PAGES):
                read(pfn * PAGE_SIZE, PAGE_SIZE)
            return prog.dump.page_cache_stats()

        stats = benchmark(run_cached)
        assert stats["misses"] == filled["misses"] and stats["hits"] >= filled["hits"] + PAGES, \
            f"{path}: the pages were decoded again"
    else:
        assert benchmark(run) == _memory(kdump_machine, PAGES), f"{path} read the {codec} dump wrongly"
    _record(benchmark, (codec, path), PAGES)


@pytest.mark.parametrize("path", [pytest.param("C walk cached", marks=NATIVE_ONLY), "python walk cached"])
def test_kdump_virtual_read_speed(benchmark, walked_file, path):
    """Every page read again by virtual address, a page at a time, once the cache holds them."""
    file, machine, page_offset = walked_file
    benchmark.group = "kdump zlib"
    prog = pycore.open(file, native=path.startswith("C"))
    assert prog.arch.native is path.startswith("C")
    read = prog.arch.read
    addresses = [page_offset + pfn * PAGE_SIZE for pfn in range(PAGES)]
    assert b"".join([read(address, PAGE_SIZE) for address in addresses]) == _memory(machine, PAGES), \
        f"{path} read the dump wrongly"
    filled = prog.dump.page_cache_stats()

    def run():
        for address in addresses:
            read(address, PAGE_SIZE)
        return prog.dump.page_cache_stats()

    stats = benchmark(run)
    assert stats["misses"] == filled["misses"] and stats["hits"] >= filled["hits"] + PAGES, \
        f"{path}: the pages were decoded again"
    _record(benchmark, ("zlib", path), PAGES)


@pytest.mark.parametrize("reader", ["pycore", pytest.param("libkdumpfile", marks=KDUMPFILE_ONLY)])
@pytest.mark.parametrize("pattern", ["random", "sequential", "bulk", "bulk into"])
def test_elf_read_speed(benchmark, elf_file, elf_machine, reader, pattern):
    benchmark.group = f"elf {pattern}"
    if reader == "pycore":
        prog = pycore.open(elf_file)
        read = prog.read_physical
    else:
        context = kdumpfile.kdumpfile(elf_file)
        space = kdumpfile.KDUMP_MACHPHYSADDR
        read = lambda address, size: context.read(space, address, size)  # noqa: E731
    addresses = [pfn * PAGE_SIZE for pfn in range(ELF_PAGES)]
    if pattern == "random":
        random.Random(5).shuffle(addresses)
    if pattern.startswith("bulk"):
        if reader == "libkdumpfile":
            pytest.skip("libkdumpfile reads at most a page per call")
        if pattern == "bulk":
            def run():
                return read(0, ELF_PAGES * PAGE_SIZE)
        else:
            target = bytearray(ELF_PAGES * PAGE_SIZE)

            def run():
                prog.read_physical_into(0, target)
                return target
        assert benchmark(run) == _memory(elf_machine, ELF_PAGES), f"{reader} {pattern} read the ELF dump wrongly"
    else:
        def run():
            return [read(address, PAGE_SIZE) for address in addresses]
        pages = benchmark(run)
        assert pages == [elf_machine.pages[address // PAGE_SIZE] for address in addresses], \
            f"{reader} {pattern} read the ELF dump wrongly"
    _record(benchmark, ("elf", f"{reader} {pattern}"), ELF_PAGES)
