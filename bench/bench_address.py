"""Address translation on the committed real sample: C single and batched against the pure-Python walk.

Addresses are direct-map pages translated by page-table walks (the direct-map
shortcut off), more distinct pages than the C TLB holds, so most lookups walk.
Also times drgn 0.3.0 (PyPI) opening the same dump with the vmlinux, as the
baseline for "time to first type", when drgn and the corpus vmlinux are present.

Every translation must land on the physical page the direct map says, and every
source must give struct task_struct the layout drgn and crash give it: a fast
wrong walk or type fails here.

Run: python -m pytest bench/bench_address.py --benchmark-only -q
"""
import os

import pytest

import pycore
from pycore import native
from pycore.arch import X86_64

from conftest import SUMMARIES, TASK_STRUCT, task_struct_layout

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "sample", "vmcore")
CACHE = os.environ.get("PYCORE_CACHE") or os.path.expanduser("~/.cache/pycore")
PAGES = 8192
RELEASE = "6.1.0-56-cloud-amd64"  # the sample's kernel
RESULTS: "dict[str, float]" = {}
NATIVE_ONLY = pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built")


def summary():
    if not RESULTS:
        return []
    base = RESULTS.get("python walk")
    lines = ["", f"address translation, {PAGES} direct-map pages by page-table walk: µs per address"]
    for name, seconds in RESULTS.items():
        if name.startswith("first type"):
            continue
        ratio = f"  x{base / seconds:.1f} faster than the Python walk" if base and name != "python walk" else ""
        lines.append(f"  {name:28} {seconds * 1e6:8.3f}{ratio}")
    first = {k: v for k, v in RESULTS.items() if k.startswith("first type")}
    if first:
        lines.append("time to first type (struct task_struct), seconds:")
        drgn = first.get("first type: drgn + vmlinux")
        for name, seconds in first.items():
            ratio = f"  ({seconds / drgn:.2f} of drgn)" if drgn and "drgn" not in name else ""
            lines.append(f"  {name:40} {seconds:7.3f}{ratio}")
    return lines


SUMMARIES.append(summary)


@pytest.fixture(scope="module")
def addresses() -> "list[tuple[int, int]]":
    """(virtual, physical) pairs: direct-map addresses and the physical addresses they map."""
    if not os.path.exists(SAMPLE):
        pytest.skip("testdata/sample/vmcore is missing")
    with pycore.open(SAMPLE) as prog:
        prog.symbols  # reads page_offset_base
        base = prog.arch.direct_map_start
        ranges = prog.dump.ranges()
    pages = []
    for start, end in ranges:
        pages.extend(range(start, end, 4096))
    step = max(1, len(pages) // PAGES)
    return [(base + p + 0x123, p + 0x123) for p in pages[::step][:PAGES]]


def _translator(native_path):
    dump = pycore.open(SAMPLE, native=native_path).dump
    return X86_64(dump, native=native_path)


@pytest.mark.parametrize("mode", ["python walk", pytest.param("C single", marks=NATIVE_ONLY),
                                  pytest.param("C batched", marks=NATIVE_ONLY)])
def test_translation_speed(benchmark, addresses, mode):
    benchmark.group = "translation"
    virtual = [v for v, _ in addresses]
    if mode == "python walk":
        dump = pycore.open(SAMPLE, native=False).dump

        def run():
            # A fresh walker each round: its unbounded TLB would otherwise answer every
            # address from the second round on (8192 pages overflow the C walk's 1024 entries).
            arch = X86_64(dump, native=False)
            return [arch.translate(address) for address in virtual]
    elif mode == "C single":
        arch = _translator(True)
        translate = arch.translate

        def run():
            return [translate(address) for address in virtual]
    else:
        arch = _translator(True)

        def run():
            return arch.translate_many(virtual)
    assert benchmark(run) == [p for _, p in addresses], f"{mode} translated the direct map wrongly"
    if benchmark.stats is not None:
        RESULTS[mode] = benchmark.stats.stats.mean / len(addresses)


def _vmlinux():
    kernels = os.path.join(CACHE, "downloads", "kernels")
    path = os.path.join(kernels, RELEASE, "vmlinux")
    return path if os.path.exists(path) else None


@pytest.mark.parametrize("source", ["btf (dump), decoded", "btf (dump), cached", "dwarf (cached index)",
                                    "drgn + vmlinux"])
def test_time_to_first_type(benchmark, source, monkeypatch):
    vmlinux = _vmlinux()
    if source == "btf (dump), decoded":
        monkeypatch.setenv("PYCORE_NO_CACHE", "1")  # kallsyms and BTF decoded from the dump every time
    if not source.startswith("btf") and vmlinux is None:
        pytest.skip("the corpus vmlinux is not downloaded")
    if source == "drgn + vmlinux":
        drgn = pytest.importorskip("drgn", minversion="0.3.0")

        def run():
            prog = drgn.Program()
            prog.set_core_dump(SAMPLE)
            prog.load_debug_info([vmlinux])
            task = prog.type("struct task_struct")
            return {"size": task.size, **{name: drgn.offsetof(task, name) for name in ("comm", "pid", "tasks")}}
    else:
        def run():
            with pycore.open(SAMPLE, vmlinux=vmlinux if source.startswith("dwarf") else None) as prog:
                return task_struct_layout(prog.type("struct task_struct"))
    run()  # warm the page cache (and the DWARF index) once
    benchmark.group = "first type"
    layout = benchmark.pedantic(run, rounds=3, iterations=1)
    assert layout == TASK_STRUCT[RELEASE], f"{source} read struct task_struct wrongly"
    if benchmark.stats is not None:
        RESULTS[f"first type: {source}"] = benchmark.stats.stats.mean
