"""Object access against drgn 0.3.0 on the same dump in the same run (issue 14 item 5).

Two walks a script makes all the time: every task's pid, comm and __state from ``init_task.tasks``,
and one member (``flags``) of each ``struct page`` of the first PAGES page frames.  pycore runs on
both paths (the C extension and ``PYCORE_PURE``), dump-only and with the vmlinux; drgn with the
vmlinux (it needs one).  Every walk's result is checked equal to drgn's before its time counts.
Goals (issue 14): per-field access at most 2x drgn's time in pure Python, 1x with the extension.
Run: python -m pytest bench/bench_objects.py --benchmark-only -q
"""
import pytest

import pycore
from pycore.object import Object, list_for_each_entry

from conftest import SUMMARIES
from corpus import cases

CASE = "6.12-oom-l5"
PAGES = 4096
# (walk, pycore configuration) -> median seconds per item; ("tasks" | "pages", "drgn") the baseline.
RESULTS: "dict[tuple[str, str], float]" = {}  # medians: the machine may be shared
ITEMS: "dict[str, int]" = {}

drgn = pytest.importorskip("drgn", reason="drgn 0.3.0 (the baseline) is not installed")
CASES = [case for case in cases() if case.name == CASE and case.dumps()]
pytestmark = pytest.mark.skipif(not CASES, reason=f"corpus case {CASE} is missing: run testdata/corpus/build.sh")
CONFIGURATIONS = ["C, dump only", "C, vmlinux", "pure, dump only", "pure, vmlinux"]


def summary():
    if not RESULTS:
        return []
    lines = ["", f"object access on {CASE}: µs per item (x drgn 0.3.0 with the vmlinux, same run)"]
    for walk, label in (("tasks", "task: pid, comm, __state"), ("pages", "struct page: flags")):
        base = RESULTS.get((walk, "drgn"))
        lines.append(f"  {label} ({ITEMS.get(walk, 0)} items)")
        for name in ["drgn"] + CONFIGURATIONS:
            seconds = RESULTS.get((walk, name))
            if seconds is not None:
                ratio = f"  x{seconds / base:.1f}" if base else ""
                lines.append(f"    {name:18} {seconds * 1e6:8.2f}{ratio}")
    return lines


SUMMARIES.append(summary)


def _dump_path(case) -> str:
    kdump = [d for d in case.dumps() if d["format"] == "kdump" and d["name"].startswith("vmcore.")]
    return case.path((kdump or case.dumps())[0]["name"])


@pytest.fixture(scope="module")
def case():
    return CASES[0]


@pytest.fixture(scope="module")
def drgn_prog(case):
    prog = drgn.Program()
    prog.set_core_dump(_dump_path(case))
    prog.load_debug_info([case.vmlinux])
    return prog


@pytest.fixture(scope="module", params=CONFIGURATIONS)
def pycore_prog(request, case):
    native = request.param.startswith("C")
    if native and not pycore.native.AVAILABLE:
        pytest.skip("the C extension is not built")
    vmlinux = case.vmlinux if request.param.endswith("vmlinux") else None
    with pycore.open(_dump_path(case), vmlinux=vmlinux, native=native) as prog:
        yield request.param, prog


def tasks(prog, list_for_each_entry):
    """(pid, comm, __state) of every thread-group leader, as a drgn script reads them."""
    init = prog["init_task"]
    return [(task.pid.value_(), task.comm.string_(), task.__state.value_())
            for task in list_for_each_entry("struct task_struct", init.tasks.address_of_(), "tasks")]


def page_flags(prog, object_type):
    """``flags`` of the first PAGES ``struct page`` of the vmemmap."""
    pages = object_type(prog, "struct page *", prog["vmemmap_base"].value_())
    return [pages[pfn].flags.value_() for pfn in range(PAGES)]


@pytest.fixture(scope="module")
def expected(drgn_prog):
    from drgn.helpers.linux.list import list_for_each_entry as drgn_list_for_each_entry

    found = {"tasks": tasks(drgn_prog, drgn_list_for_each_entry), "pages": page_flags(drgn_prog, drgn.Object)}
    assert len(found["tasks"]) > 10 and any(found["pages"])
    return found


def _record(benchmark, walk: str, name: str, count: int) -> None:
    ITEMS[walk] = count
    if benchmark.stats is not None:  # None under --benchmark-disable
        RESULTS[(walk, name)] = benchmark.stats.stats.median / count


def test_task_walk_drgn(benchmark, drgn_prog, expected):
    from drgn.helpers.linux.list import list_for_each_entry as drgn_list_for_each_entry

    assert benchmark(tasks, drgn_prog, drgn_list_for_each_entry) == expected["tasks"]
    _record(benchmark, "tasks", "drgn", len(expected["tasks"]))


def test_task_walk_pycore(benchmark, pycore_prog, expected):
    name, prog = pycore_prog
    assert tasks(prog, list_for_each_entry) == expected["tasks"]
    assert benchmark(tasks, prog, list_for_each_entry) == expected["tasks"]
    _record(benchmark, "tasks", name, len(expected["tasks"]))


def test_page_flags_drgn(benchmark, drgn_prog, expected):
    assert benchmark(page_flags, drgn_prog, drgn.Object) == expected["pages"]
    _record(benchmark, "pages", "drgn", PAGES)


def test_page_flags_pycore(benchmark, pycore_prog, expected):
    name, prog = pycore_prog
    assert page_flags(prog, Object) == expected["pages"]
    assert benchmark(page_flags, prog, Object) == expected["pages"]
    _record(benchmark, "pages", name, PAGES)
