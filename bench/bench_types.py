"""Type sources: BTF parse time, DWARF first use (C scan) and reopen from the on-disk index.

Targets (issue 4): vmlinux BTF parsed in <= 0.3 s; DWARF first use <= 5 s to a fully
resolved struct task_struct, <= 0.5 s when reopened, peak RSS <= 400 MB.
Every parse must give the types the kernel has: struct task_struct as drgn reads it from the same
vmlinux (conftest.TASK_STRUCT), the host's list_head and comm as every kernel lays them out; a fast
wrong parser fails here.
Run: python -m pytest bench/bench_types.py --benchmark-only -q
"""
import glob
import os
import resource
import time

import pytest

from pycore import native
from pycore.types import dwarf, load_btf_file, load_vmlinux_btf

from conftest import SUMMARIES, TASK_STRUCT, task_struct_layout

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
    """struct task_struct with every member's type resolved, as a first use needs it."""
    task = index.find("struct task_struct")
    assert all(m.type is not None for m in task.members)
    return task


def _release(vmlinux: str) -> str:
    return os.path.basename(os.path.dirname(vmlinux))


def _record(benchmark, name: str) -> None:
    if benchmark.stats is not None:  # None under --benchmark-disable
        RESULTS[name] = benchmark.stats.stats.mean


@pytest.mark.skipif(not os.path.exists(HOST_BTF), reason=f"{HOST_BTF} is missing")
def test_parse_host_btf(benchmark):
    index = benchmark.pedantic(load_btf_file, args=(HOST_BTF,), rounds=5, iterations=1)
    # The host's kernel is unknown; these layouts hold in every 64-bit kernel.
    list_head = index.find("struct list_head")
    assert (list_head.size, list_head.offsetof("next"), list_head.offsetof("prev")) == (16, 0, 8)
    assert _resolve_task_struct(index).member_path("comm").type.size == 16  # TASK_COMM_LEN
    _record(benchmark, "BTF parse, " + HOST_BTF)


@pytest.mark.parametrize("vmlinux", VMLINUXES, ids=_release)
def test_parse_vmlinux_btf(benchmark, vmlinux):
    index = benchmark.pedantic(load_vmlinux_btf, args=(vmlinux,), rounds=5, iterations=1)
    assert task_struct_layout(_resolve_task_struct(index)) == TASK_STRUCT[_release(vmlinux)]
    _record(benchmark, "BTF parse (.BTF section), " + _release(vmlinux))


@pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built")
@pytest.mark.parametrize("vmlinux", VMLINUXES, ids=_release)
def test_dwarf_first_use_and_reopen(benchmark, vmlinux, tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    name = _release(vmlinux)
    start = time.perf_counter()
    first = _resolve_task_struct(dwarf.load_dwarf(vmlinux))
    RESULTS["DWARF first use (scan + index + task_struct), " + name] = time.perf_counter() - start
    assert task_struct_layout(first) == TASK_STRUCT[name]
    reopened = benchmark.pedantic(lambda: _resolve_task_struct(dwarf.load_dwarf(vmlinux)), rounds=5, iterations=1)
    assert task_struct_layout(reopened) == TASK_STRUCT[name]
    _record(benchmark, "DWARF reopen (cached index + task_struct), " + name)
