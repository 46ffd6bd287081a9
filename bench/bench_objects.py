"""Object access against drgn 0.3.0 on the same dump in the same run (issue 14 item 5).

Three walks a script makes: every task's pid, comm and __state from ``init_task.tasks``; one member
(``flags``) of each ``struct page`` of the first PAGES page frames, an Object per page; and a
census of the page flags of the whole machine (how many pages have each PG_ bit), which pycore
reads with one bulk call (``read_members(..., as_array=True)``) and drgn a page at a time.  pycore
runs on both paths (the C extension and pure Python), dump-only and with the vmlinux; drgn with the
vmlinux (it needs one).  Every walk's result is checked equal to drgn's before its time counts.
Times are the best round of each (the machine is shared: the best round is the one least
disturbed), as a ratio to drgn's best round in the same run.
Goals (issue 14): per-field access at most 2x drgn's time in pure Python, 1x with the extension;
the census at most 0.1x drgn's per-page loop.
Measured on 6.12-oom-l5 (CPU time, best round, x drgn in the same run) when scalar ``value_`` and
char-array ``string_`` began reading straight from ``Program.pages``: struct page flags x2.51-2.99
-> x2.17-2.67 (PYCORE_PURE=1: x2.36 -> x2.16); the task walk x1.49-1.56 -> x1.26-1.39
(PYCORE_PURE=1: x1.41-1.48 -> x1.40-1.41).  When the Object classes became per type and program
(two slot stores per object, not six; value_ and string_ reading the page cache through the class;
members learned on first read), columns C dump-only / C vmlinux / pure dump-only / pure vmlinux:
struct page flags x2.13/2.33/1.99/1.99 -> x1.67/1.57/1.60/1.60 (PYCORE_PURE=1: x1.72/1.71); the task
walk x1.41/1.44/1.27/1.24 -> x1.08/1.00/0.99/1.03 (PYCORE_PURE=1: x1.07/1.05).  What is left per page
is three Python calls (pages[i], the member's property, value_) and two objects; CPython 3.11
specializes no attribute read on an Object (see pycore.object.Object.__getattr__).
Run: python -m pytest bench/bench_objects.py --benchmark-only -q
(on a shared, loaded machine add --benchmark-timer=time.process_time: CPU time, which other
processes disturb far less than the wall clock; the ratios are what to compare.)
"""
import collections

import pytest

import pycore
from pycore.kernel.mm import for_each_valid_page_range, vmemmap
from pycore.object import Object, list_for_each_entry, read_members

from conftest import SUMMARIES
from corpus import cases

CASE = "6.12-oom-l5"
PAGES = 4096
# (walk, pycore configuration) -> best seconds per item; (walk, "drgn") the baseline.
RESULTS: "dict[tuple[str, str], float]" = {}
ITEMS: "dict[str, int]" = {}
# (walk, label, goal in pure Python, goal with the extension, the walk whose drgn time is the baseline)
WALKS = (("tasks", "task: pid, comm, __state", 2.0, 1.0, "tasks"),
         ("pages", "struct page: flags, an Object each", 2.0, 1.0, "pages"),
         ("census", "page flag census, every struct page", 0.1, 0.1, "census"),
         ("census, cold", "the census in a freshly opened program: every page decoded", 0.1, 0.1, "census"))

drgn = pytest.importorskip("drgn", reason="drgn 0.3.0 (the baseline) is not installed")
CASES = [case for case in cases() if case.name == CASE and case.dumps()]
pytestmark = pytest.mark.skipif(not CASES, reason=f"corpus case {CASE} is missing: run testdata/corpus/build.sh")
CONFIGURATIONS = ["C, dump only", "C, vmlinux", "pure, dump only", "pure, vmlinux"]


def summary():
    if not RESULTS:
        return []
    lines = ["", f"object access on {CASE}: µs per item, best round (x drgn 0.3.0 with the vmlinux, same run; "
             "goal: pure / C)"]
    for walk, label, pure_goal, c_goal, baseline in WALKS:
        base = RESULTS.get((baseline, "drgn"))
        lines.append(f"  {label} ({ITEMS.get(walk, 0)} items; goal x{pure_goal:g} / x{c_goal:g})")
        for name in ["drgn"] + CONFIGURATIONS:
            seconds = RESULTS.get((walk, name))
            if seconds is not None:
                ratio = f"  x{seconds / base:.2f}" if base else ""
                lines.append(f"    {name:18} {seconds * 1e6:8.3f}{ratio}")
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


@pytest.fixture(scope="module")
def machine(case):
    """The vmemmap's address, the size of struct page, the page frame ranges that have one, and the
    PG_ bits (``__NR_PAGEFLAGS``), from pycore with the vmlinux: the same numbers for every walker."""
    with pycore.open(_dump_path(case), vmlinux=case.vmlinux) as prog:
        return (vmemmap(prog), prog.type("struct page").size, list(for_each_valid_page_range(prog)),
                range(prog.constant("__NR_PAGEFLAGS").value_()))


def tasks(prog, list_for_each_entry):
    """(pid, comm, __state) of every thread-group leader, as a drgn script reads them."""
    init = prog["init_task"]
    return [(task.pid.value_(), task.comm.string_(), task.__state.value_())
            for task in list_for_each_entry("struct task_struct", init.tasks.address_of_(), "tasks")]


def page_flags(prog, object_type):
    """``flags`` of the first PAGES ``struct page`` of the vmemmap."""
    pages = object_type(prog, "struct page *", prog["vmemmap_base"].value_())
    return [pages[pfn].flags.value_() for pfn in range(PAGES)]


def census_per_page(prog, machine):
    """PG_ bit -> pages with it set, reading each page's flags through an Object (drgn's way): the
    flag words counted, then each bit over the distinct words."""
    base, _, ranges, bits = machine
    pages = drgn.Object(prog, "struct page *", base)
    words = collections.Counter(pages[pfn].flags.value_() for start, end in ranges for pfn in range(start, end))
    return {bit: sum(n for word, n in words.items() if word >> bit & 1) for bit in bits}


# For each bit of a byte: the table that turns a byte into 1 when the bit is set, else 0.
_BIT_OF_BYTE = [bytes((byte >> bit) & 1 for byte in range(256)) for bit in range(8)]


def census_bulk(prog, machine):
    """The same census from one bulk read per range: each bit counted on the array's bytes (the
    byte holding the bit, every 8th byte, turned into 0 or 1 and counted), no Python int per page."""
    base, size, ranges, bits = machine
    column = {bit: 0 for bit in bits}
    for start, end in ranges:
        flags = read_members(prog, "struct page", "flags", base + start * size, end - start, as_array=True)
        raw = flags.tobytes()
        byte_columns = {byte: raw[byte::8] for byte in {bit // 8 for bit in bits}}
        for bit in bits:
            column[bit] += byte_columns[bit // 8].translate(_BIT_OF_BYTE[bit % 8]).count(1)
    return column


@pytest.fixture(scope="module")
def expected(drgn_prog, machine):
    from drgn.helpers.linux.list import list_for_each_entry as drgn_list_for_each_entry

    found = {"tasks": tasks(drgn_prog, drgn_list_for_each_entry), "pages": page_flags(drgn_prog, drgn.Object),
             "census": census_per_page(drgn_prog, machine)}
    assert len(found["tasks"]) > 10 and any(found["pages"])
    assert sum(end - start for start, end in machine[2]) > 100000 and len(set(found["census"].values())) > 5
    return found


def _record(benchmark, walk: str, name: str, count: int) -> None:
    ITEMS[walk] = count
    if benchmark.stats is not None:  # None under --benchmark-disable
        RESULTS[(walk, name)] = benchmark.stats.stats.min / count


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


def test_census_drgn(benchmark, drgn_prog, machine, expected):
    assert benchmark.pedantic(census_per_page, (drgn_prog, machine), rounds=5) == expected["census"]
    _record(benchmark, "census", "drgn", sum(end - start for start, end in machine[2]))


def test_census_pycore(benchmark, pycore_prog, machine, expected):
    name, prog = pycore_prog
    assert census_bulk(prog, machine) == expected["census"]
    assert benchmark(census_bulk, prog, machine) == expected["census"]
    _record(benchmark, "census", name, sum(end - start for start, end in machine[2]))


@pytest.mark.parametrize("name", ["C, dump only", "pure, dump only"])
def test_census_pycore_cold(benchmark, case, machine, expected, name):
    """The census as a script run once sees it: each round in a program opened for it (not timed), so
    every page of the vmemmap is decoded, as drgn's per-page loop decodes them (its cache is smaller
    than the vmemmap of this 1 GiB machine)."""
    native = name.startswith("C")
    if native and not pycore.native.AVAILABLE:
        pytest.skip("the C extension is not built")
    opened = []

    def fresh():
        opened.append(pycore.open(_dump_path(case), native=native))
        return (opened[-1], machine), {}

    try:
        assert benchmark.pedantic(census_bulk, setup=fresh, rounds=3) == expected["census"]
    finally:
        for prog in opened:
            prog.close()
    _record(benchmark, "census, cold", name, sum(end - start for start, end in machine[2]))
