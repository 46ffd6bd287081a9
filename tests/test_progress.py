"""Progress reports of the long steps (pycore.progress): indexing a flattened stream and scanning a
vmlinux's DWARF report as they go, end at their total, and give the very result of a silent run."""
import os
import shutil
import subprocess

import pytest

import pycore
from pycore.types import dwarf

from conftest import synthetic
from corpus import cases

NATIVE_SKIP = pytest.mark.skipif(not pycore.native.AVAILABLE, reason="C extension not built")
BOTH_PATHS = pytest.mark.parametrize("native_path", [pytest.param(True, marks=NATIVE_SKIP, id="C"),
                                                     pytest.param(False, id="python")])


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, stage, done, total):
        self.calls.append((stage, done, total))

    def of(self, stage):
        return [(done, total) for name, done, total in self.calls if name == stage]


def assert_finished_stage(reports, total):
    """Reports rise, never pass the total, and the last one is done == total (which ends the bar)."""
    assert len(reports) >= 2, reports
    done = [d for d, _ in reports]
    assert done == sorted(done) and all(t == total for _, t in reports)
    assert reports[-1] == (total, total)


@BOTH_PATHS
def test_flattened_indexing_reports_progress_and_reads_alike(tmp_path, machine, native_path, monkeypatch):
    from pycore.dump import flattened

    monkeypatch.setattr(flattened, "_PROGRESS_STEP", 64 << 10)  # a report every 64 KiB of this small stream
    image, _ = synthetic.build_kdump(machine, "zlib")
    path = tmp_path / "flat.vmcore"
    path.write_bytes(synthetic.flatten(image, seed=3))
    recorder = Recorder()
    with pycore.open(str(path), native=native_path, progress=recorder) as prog, \
            pycore.open(str(path), native=native_path) as silent:
        assert_finished_stage(recorder.of("indexing flattened stream"), path.stat().st_size)
        pfn = next(iter(machine.pages))
        assert prog.read_physical(pfn << 12, 4096) == silent.read_physical(pfn << 12, 4096) == machine.pages[pfn]


UNIT_A = "struct alpha { int a; long b; }; struct alpha first_alpha; int main(void) { return first_alpha.a; }\n"
UNIT_B = "struct beta { char c[3]; struct beta *next; }; struct beta first_beta;\n"


@pytest.fixture
def two_unit_elf(tmp_path, monkeypatch):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "a.c").write_text(UNIT_A)
    (tmp_path / "b.c").write_text(UNIT_B)
    out = tmp_path / "two-units"
    subprocess.run([gcc, "-g", "-O0", "-o", str(out), str(tmp_path / "a.c"), str(tmp_path / "b.c")], check=True)
    return str(out)


@BOTH_PATHS
def test_dwarf_scan_in_slices_gives_the_index_of_one_scan(two_unit_elf, native_path, monkeypatch):
    monkeypatch.setattr(dwarf, "_PROGRESS_SLICE", 1)  # every unit a slice of its own
    whole = dwarf.load_dwarf(two_unit_elf, use_cache=False, native=native_path)
    recorder = Recorder()
    sliced = dwarf.load_dwarf(two_unit_elf, use_cache=False, native=native_path, progress=recorder)
    size = len(dwarf.open_sections(two_unit_elf).info)
    assert_finished_stage(recorder.of("indexing DWARF"), size)
    for name in ("struct alpha", "struct beta"):
        assert sliced.find(name).size == whole.find(name).size
    assert [m.name for m in sliced.find("struct beta").members] == ["c", "next"]


@NATIVE_SKIP
@pytest.mark.real
def test_dwarf_scan_of_a_debian_vmlinux_reports_in_slices(tmp_path, monkeypatch):
    case = next((c for c in cases() if os.path.exists(c.vmlinux)), None)
    if case is None:
        pytest.skip("no corpus vmlinux")
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path / "cache"))
    recorder = Recorder()
    sliced = dwarf.load_dwarf(case.vmlinux, use_cache=False, progress=recorder)
    whole = dwarf.load_dwarf(case.vmlinux, use_cache=False)
    reports = recorder.of("indexing DWARF")
    assert_finished_stage(reports, len(dwarf.open_sections(case.vmlinux).info))
    assert len(reports) > 10  # 8 MiB slices of a Debian cloud kernel's ~160 MiB .debug_info
    for name in ("struct task_struct", "struct page", "struct kmem_cache"):
        assert sliced.find(name).size == whole.find(name).size
