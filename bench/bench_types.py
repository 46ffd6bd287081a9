"""Type sources: BTF parse time, DWARF first use (C scan) and reopen from the on-disk index.

Targets (issue 4): vmlinux BTF parsed in <= 0.3 s; DWARF first use <= 5 s to a fully
resolved struct task_struct, <= 0.5 s when reopened, peak RSS <= 400 MB.
Run: python -m pytest bench/bench_types.py --benchmark-only -q
"""
import glob
import os
import resource
import time

import pytest

from pycore import native
from pycore.types import dwarf, load_btf_file, load_vmlinux_btf

from conftest import SUMMARIES

HOST_BTF = "/sys/kernel/btf/vmlinux"
KERNELS = os.path.join(os.environ.get("PYCORE_CACHE") or os.path.expanduser("~/.cache/pycore"),
                       "downloads", "kernels")
VMLINUXES = sorted(glob.glob(os.path.join(KERNELS, "*", "vmlinux")))
RESULTS: "dict[str, float]" = {}


def summary():
    if not RESULTS:
        return []
    lines = ["", "type sources (seconds; targets: BTF 0.3, DWARF first use 5, reopen 0.5)"]
    lines += [f"  {name:60} {seconds:8.3f}" for name, seconds in RESULTS.items()]
    lines.append(f"  peak RSS of this run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return lines


SUMMARIES.append(summary)


def _resolve_task_struct(index):
    task = index.find("struct task_struct")
    return [m.type for m in task.members]


@pytest.mark.skipif(not os.path.exists(HOST_BTF), reason=f"{HOST_BTF} is missing")
def test_parse_host_btf(benchmark):
    benchmark.pedantic(load_btf_file, args=(HOST_BTF,), rounds=5, iterations=1)
    RESULTS["BTF parse, " + HOST_BTF] = benchmark.stats.stats.mean


@pytest.mark.parametrize("vmlinux", VMLINUXES, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_parse_vmlinux_btf(benchmark, vmlinux):
    benchmark.pedantic(load_vmlinux_btf, args=(vmlinux,), rounds=5, iterations=1)
    RESULTS["BTF parse (.BTF section), " + os.path.basename(os.path.dirname(vmlinux))] = benchmark.stats.stats.mean


@pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built")
@pytest.mark.parametrize("vmlinux", VMLINUXES, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_dwarf_first_use_and_reopen(benchmark, vmlinux, tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    name = os.path.basename(os.path.dirname(vmlinux))
    start = time.perf_counter()
    _resolve_task_struct(dwarf.load_dwarf(vmlinux))
    RESULTS["DWARF first use (scan + index + task_struct), " + name] = time.perf_counter() - start
    benchmark.pedantic(lambda: _resolve_task_struct(dwarf.load_dwarf(vmlinux)), rounds=5, iterations=1)
    RESULTS["DWARF reopen (cached index + task_struct), " + name] = benchmark.stats.stats.mean
