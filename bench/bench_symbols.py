"""Symbol layer: kallsyms decode time, the .symtab build and address-lookup cost, against baselines measured
in the same run.

Tables: the real Debian 6.1 / 6.12 vmlinux files when the corpus build has
downloaded them (kallsyms decoded from their .rodata), else a synthetic
87k-symbol kallsyms table.  Lookup baselines: ``bisect_right`` on a plain list
of the same addresses (the floor for any sorted search in Python) and a dict
``get`` by exact address (what a hash lookup costs, though it cannot find
"nearest below").

Building a table cold (issue 18): the C build (csrc/symtab.c, csrc/kallsyms.c) against its
pure-Python twin, both timed in CPU seconds, best of the rounds, table built and pickled for the
cache as a cold run does; each must pickle to the same bytes as the other.

Searching a kernel image for its kallsyms tables (what a kernel before 6.0 needs without a
vmlinux): the C searches (csrc/kallsyms.c) against their Python twins, CPU seconds, best of the
rounds, memory served from a cache; both must find the tables where System.map puts them.

Every decode must give the symbols the kernel's System.map lists (the synthetic table: the symbols
it was written from), and every lookup the symbol the bisect baseline finds: a fast wrong decoder
or lookup fails here.
Run: python -m pytest bench/bench_symbols.py --benchmark-only -q
"""
from bisect import bisect_right
import glob
import os
import pickle
import random
import time

import pytest

from pycore import native
from pycore.symbols import load_elf_symbols, load_kallsyms, load_system_map, vmlinux_reader
from pycore.symbols.kallsyms_scan import KallsymsScanner

import kallsyms_writer  # testdata/kallsyms_writer.py, on the path through bench/conftest.py

from conftest import SUMMARIES

KERNELS = os.path.expanduser("~/.cache/pycore/downloads/kernels")
LOOKUPS = 20000
KASLR = 0x2C400000
RESULTS: "dict[tuple[str, str], float]" = {}
# (kernel, source) -> the pickle of the first build, which every other build must equal.
_BUILT: "dict[tuple[str, str], bytes]" = {}
PATHS = [pytest.param(True, id="C", marks=pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native not built")),
         pytest.param(False, id="python")]


def _sources():
    found = {}
    for vmlinux in sorted(glob.glob(os.path.join(KERNELS, "*/vmlinux"))):
        system_map = os.path.join(os.path.dirname(vmlinux), "System.map")
        if os.path.exists(system_map):
            found[os.path.basename(os.path.dirname(vmlinux))] = (vmlinux, system_map)
    return found


SOURCES = _sources()
KERNEL_IDS = list(SOURCES) or ["synthetic-87k"]
_TABLES: dict = {}


def _decoder(kernel: str):
    """(read, vmcoreinfo, locate, check) for decoding this kernel's kallsyms, reads served from memory;
    ``check(table)`` asserts the decoded table is the kernel's."""
    if kernel in SOURCES:
        vmlinux, system_map_path = SOURCES[kernel]
        system_map = load_system_map(system_map_path)
        read = vmlinux_reader(vmlinux)
        locate = lambda name: system_map.by_name(name).address  # noqa: E731
        # Pre-read the tables once so the benchmark times decoding, not the page cache.
        cache = {}

        def cached(address, size):
            key = (address, size)
            if key not in cache:
                cache[key] = read(address, size)
            return cache[key]

        def check(table):
            listed = {(symbol.name, symbol.address): symbol.kind for symbol in system_map}
            assert len(table) > 80000
            for symbol in table:
                kind = listed.get((symbol.name, symbol.address))
                if kind is None and symbol.name.startswith(".L"):
                    continue  # 5.10's kallsyms keeps local labels (.LC4), which System.map leaves out
                # scripts/kallsyms marks per-CPU symbols absolute ('A') under KALLSYMS_ABSOLUTE_PERCPU.
                assert kind is not None and (kind == symbol.kind or symbol.kind == "A"), symbol

        return cached, None, locate, check
    entries = kallsyms_writer.sample_symbols(functions=87000, long_names=(150, 300))
    image = kallsyms_writer.build_kallsyms(entries, max_tokens=24)

    def check(table):
        assert sorted((symbol.name, symbol.kind, symbol.address) for symbol in table) == sorted(entries)

    return image.read, image.vmcoreinfo(), None, check


@pytest.fixture(scope="module", params=KERNEL_IDS)
def kernel(request):
    return request.param


def _table(kernel):
    if kernel not in _TABLES:
        read, info, locate, check = _decoder(kernel)
        table = load_kallsyms(read, info, locate)  # also warms the read cache
        check(table)
        _TABLES[kernel] = (read, info, locate, table, check)
    return _TABLES[kernel]


def _record(benchmark, key, divisor: int = 1) -> None:
    if benchmark.stats is not None:  # None under --benchmark-disable
        RESULTS[key] = benchmark.stats.stats.median / divisor


def test_kallsyms_decode(benchmark, kernel):
    read, info, locate, _symbols, check = _table(kernel)
    check(benchmark.pedantic(lambda: load_kallsyms(read, info, locate), rounds=5, iterations=1))
    _record(benchmark, (kernel, "decode"))


def _addresses(table, count=LOOKUPS):
    rng = random.Random(7)
    return [rng.randrange(table.start, table.end) for _ in range(count)]


def _nearest_below(table, addresses):
    """The start of the symbol at or below each address, by bisect on the table's sorted addresses."""
    keys = sorted({symbol.address for symbol in table})
    return [keys[bisect_right(keys, address) - 1] for address in addresses]


def test_lookup_symbol_table(benchmark, kernel):
    table = _table(kernel)[3]
    addresses = _addresses(table)
    lookup = table.lookup
    for address in addresses:  # build the cached Symbol objects first; steady state is what counts
        lookup(address)

    def run():
        return [lookup(address) for address in addresses]

    found = [(symbol.address, offset) for symbol, offset in benchmark(run)]
    assert found == [(start, address - start) for start, address in zip(_nearest_below(table, addresses), addresses)]
    _record(benchmark, (kernel, "lookup"), LOOKUPS)


def test_lookup_baseline_bisect(benchmark, kernel):
    table = _table(kernel)[3]
    addresses = _addresses(table)
    keys = sorted({symbol.address for symbol in table})

    def run():
        return [bisect_right(keys, address) for address in addresses]

    assert [keys[i - 1] for i in benchmark(run)] == _nearest_below(table, addresses)
    _record(benchmark, (kernel, "bisect"), LOOKUPS)


def test_lookup_baseline_dict(benchmark, kernel):
    table = _table(kernel)[3]
    exact = {symbol.address: symbol for symbol in table}
    addresses = _addresses(table)
    get = exact.get

    def run():
        return [get(address) for address in addresses]

    # An exact-address map finds only the addresses that start a symbol.
    assert [symbol is not None for symbol in benchmark(run)] == [address in exact for address in addresses]
    _record(benchmark, (kernel, "dict"), LOOKUPS)


def _cold_build(benchmark, kernel: str, source: str, build, native_path: bool, rounds: int = 3) -> None:
    """Time ``build(native_path)`` and the pickle the cache writes of it, in CPU seconds (best of the
    rounds); the pickle must be the other path's, byte for byte."""
    cpu = []

    def run():
        started = time.process_time()
        data = pickle.dumps(build(native_path), protocol=5)
        cpu.append(time.process_time() - started)
        return data

    data = benchmark.pedantic(run, rounds=rounds, iterations=1)
    assert _BUILT.setdefault((kernel, source), data) == data
    RESULTS[(kernel, f"{source} {'C' if native_path else 'python'}")] = min(cpu)


@pytest.mark.skipif(not SOURCES, reason="no real vmlinux downloaded")
@pytest.mark.parametrize("native_path", PATHS)
def test_symtab_cold_build(benchmark, kernel, native_path):
    vmlinux, system_map_path = SOURCES[kernel]
    system_map = load_system_map(system_map_path, kaslr_offset=KASLR)
    table = load_elf_symbols(vmlinux, KASLR, native=native_path)
    for name in ("schedule", "panic", "do_exit", "init_task", "linux_banner", "_text", "_end"):
        assert table.by_name(name).address == system_map.by_name(name).address, name
    _cold_build(benchmark, kernel, "symtab", lambda path: load_elf_symbols(vmlinux, KASLR, native=path), native_path)


@pytest.mark.parametrize("native_path", PATHS)
def test_kallsyms_cold_build(benchmark, kernel, native_path):
    read, info, locate, _symbols, check = _table(kernel)
    check(load_kallsyms(read, info, locate, native=native_path))
    _cold_build(benchmark, kernel, "kallsyms", lambda path: load_kallsyms(read, info, locate, native=path),
                native_path, rounds=5)


@pytest.mark.skipif(not SOURCES, reason="no real vmlinux downloaded")
@pytest.mark.parametrize("native_path", PATHS)
def test_kallsyms_search(benchmark, kernel, native_path):
    read, _info, locate, _symbols, _check = _table(kernel)
    system_map = load_system_map(SOURCES[kernel][1])
    start = system_map.by_name("_stext").address
    listed = {symbol.name: symbol.address for symbol in system_map if symbol.name in (
        "kallsyms_num_syms", "kallsyms_names", "kallsyms_markers", "kallsyms_token_table", "kallsyms_token_index")}
    cpu = []

    def run():
        started = time.process_time()
        candidate = next(KallsymsScanner(read, start, native=native_path).candidates())
        cpu.append(time.process_time() - started)
        return candidate

    candidate = benchmark.pedantic(run, rounds=3, iterations=1)
    assert {name: candidate.locations[name] for name in listed} == listed
    RESULTS[(kernel, f"search {'C' if native_path else 'python'}")] = min(cpu)


@pytest.mark.skipif(not SOURCES, reason="no real vmlinux downloaded")
def test_load_elf_and_system_map(benchmark, kernel):
    vmlinux, system_map_path = SOURCES[kernel]
    started = time.perf_counter()
    system_map = load_system_map(system_map_path)
    RESULTS[(kernel, "system_map")] = time.perf_counter() - started
    elf = benchmark.pedantic(lambda: load_elf_symbols(vmlinux), rounds=3, iterations=1)
    for name in ("schedule", "panic", "do_exit", "init_task", "linux_banner"):
        assert elf.by_name(name).address == system_map.by_name(name).address, name
    _record(benchmark, (kernel, "elf"))


def summary():
    lines = ["", "symbols: kallsyms decode and address lookup (medians; µs per lookup, baselines in the same run)"]
    for kernel in KERNEL_IDS:
        decode = RESULTS.get((kernel, "decode"))
        line = f"  {kernel:28} {len(_table(kernel)[3]) if kernel in _TABLES else 0:7} symbols"
        if decode is not None:
            line += f"  kallsyms decode {decode * 1e3:6.1f} ms"
        if (kernel, "elf") in RESULTS:
            line += (f"  .symtab {RESULTS[(kernel, 'elf')] * 1e3:6.1f} ms"
                     f"  System.map {RESULTS[(kernel, 'system_map')] * 1e3:6.1f} ms")
        lines.append(line)
        for source in ("symtab", "kallsyms"):
            c, python = RESULTS.get((kernel, f"{source} C")), RESULTS.get((kernel, f"{source} python"))
            if c and python:
                lines.append(f"  {'':28} {source} built and pickled cold, CPU: C {c * 1e3:6.1f} ms, "
                             f"Python twin {python * 1e3:6.1f} ms (x{c / python:.2f})")
        c, python = RESULTS.get((kernel, "search C")), RESULTS.get((kernel, "search python"))
        if c and python:
            lines.append(f"  {'':28} kallsyms tables searched from _stext, CPU: C {c * 1e3:6.1f} ms, "
                         f"Python twin {python * 1e3:6.1f} ms (x{c / python:.2f})")
        lookup, floor, exact = (RESULTS.get((kernel, key)) for key in ("lookup", "bisect", "dict"))
        if lookup and floor and exact:
            lines.append(f"  {'':28} lookup {lookup * 1e6:.3f} µs  bisect on list {floor * 1e6:.3f} µs"
                         f" (x{lookup / floor:.2f})  dict.get {exact * 1e6:.3f} µs (x{lookup / exact:.2f})")
    return lines


SUMMARIES.append(summary)
