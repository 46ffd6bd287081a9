"""Every container format, read on both paths, against the synthetic machine it was built from."""
import random
import struct

import pytest

import pycore
from pycore.dump import kdump as kdump_module
from pycore.dump import codecs
from pycore.errors import FaultError, PageExcludedError

from conftest import synthetic, write

FORMATS = ["elf-kdump", "elf-qemu", "kdump-none", "kdump-zlib", "kdump-lzo", "kdump-snappy", "kdump-zstd",
           "flat-kdump-zstd", "flat-kdump-lzo", "flat-elf"]
PAGE = synthetic.PAGE_SIZE


@pytest.mark.parametrize("name", FORMATS)
def test_every_dumped_page_reads_back_exactly(name, dump_files, machine, native_path):
    with pycore.open(dump_files[name], native=native_path) as prog:
        for pfn, data in machine.pages.items():
            if pfn not in machine.excluded:
                assert prog.read_physical(pfn * PAGE, PAGE) == data, f"pfn {pfn:#x}"


@pytest.mark.parametrize("name", FORMATS)
def test_unaligned_reads_across_page_boundaries(name, dump_files, machine, native_path):
    rng = random.Random(7)
    dumped = sorted(pfn for pfn in machine.pages if pfn not in machine.excluded
                    and pfn + 1 in machine.pages and pfn + 1 not in machine.excluded)
    with pycore.open(dump_files[name], native=native_path) as prog:
        for _ in range(300):
            pfn = rng.choice(dumped)
            address = pfn * PAGE + rng.randrange(PAGE)
            size = rng.randrange(1, PAGE + 1)
            size = min(size, (pfn + 2) * PAGE - address)
            assert prog.read_physical(address, size) == machine.read(address, size)


@pytest.mark.parametrize("name", FORMATS)
def test_c_and_python_paths_give_identical_bytes(name, dump_files, native_path):
    if not native_path:
        pytest.skip("compares the C path with the Python path")
    with pycore.open(dump_files[name], native=True) as fast, pycore.open(dump_files[name], native=False) as slow:
        for start, end in fast.dump.ranges():
            assert fast.read_physical(start, end - start, zero_excluded=True) == \
                slow.read_physical(start, end - start, zero_excluded=True)


@pytest.mark.parametrize("name", ["kdump-zlib", "kdump-snappy", "flat-kdump-zstd", "elf-kdump"])
def test_excluded_page_raises_page_excluded_error_with_its_address(name, dump_files, machine, native_path):
    pfn = min(machine.excluded)
    with pycore.open(dump_files[name], native=native_path) as prog:
        with pytest.raises(PageExcludedError) as error:
            prog.read_physical(pfn * PAGE + 8, 16)
        assert error.value.address == pfn * PAGE + 8
        assert f"{pfn * PAGE + 8:#x}" in str(error.value)


@pytest.mark.parametrize("name", ["kdump-lzo", "flat-kdump-lzo", "elf-qemu"])
def test_zero_excluded_reads_excluded_pages_as_zeros(name, dump_files, machine, native_path):
    pfn = min(machine.excluded)
    with pycore.open(dump_files[name], native=native_path) as prog:
        data = prog.read_physical((pfn - 1) * PAGE, 3 * PAGE, zero_excluded=True)
        assert data[PAGE:2 * PAGE] == bytes(PAGE)
        assert data[:PAGE] == machine.pages[pfn - 1]
        # A zero-filled read must not be cached as the page's content.
        with pytest.raises(PageExcludedError):
            prog.read_physical(pfn * PAGE, 8)


@pytest.mark.parametrize("name", ["kdump-zstd", "elf-kdump", "flat-kdump-zstd"])
def test_hole_between_ranges_is_a_fault_not_an_exclusion(name, dump_files, native_path):
    with pycore.open(dump_files[name], native=native_path) as prog:
        with pytest.raises(FaultError) as error:
            prog.read_physical(0xC0000, 8)
        assert not isinstance(error.value, PageExcludedError)
        assert error.value.address == 0xC0000
        with pytest.raises(FaultError):
            prog.read_physical(0x40000000, 8)


@pytest.mark.parametrize("name", FORMATS)
def test_page_counts_and_ranges_match_the_machine(name, dump_files, machine, native_path):
    with pycore.open(dump_files[name], native=native_path) as prog:
        counts = prog.dump.page_counts()
        assert counts["present"] == len(machine.pages)
        assert counts["dumped"] == len(machine.pages) - len(machine.excluded)
        assert counts["excluded"] == len(machine.excluded)
        assert counts["missing"] == 0
        if name.startswith(("kdump", "flat-kdump")):
            assert counts["zero"] == len(machine.zero_pfns())
        assert prog.dump.ranges() == machine.ranges


def test_zero_pages_are_not_decompressed(dump_files, machine, monkeypatch):
    calls = []
    original = codecs._PureCodecs.decompress
    monkeypatch.setattr(codecs._PureCodecs, "decompress", lambda self, *a: calls.append(a) or original(self, *a))
    with pycore.open(dump_files["kdump-zlib"], native=False) as prog:
        for pfn in sorted(machine.zero_pfns()):
            assert prog.read_physical(pfn * PAGE, PAGE) == bytes(PAGE)
    assert calls == []


@pytest.mark.parametrize("name", FORMATS)
def test_vmcoreinfo_and_cpu_registers_come_from_the_notes(name, dump_files, machine, native_path):
    with pycore.open(dump_files[name], native=native_path) as prog:
        info = prog.vmcoreinfo
        assert info.osrelease == "6.1.0-synthetic"
        assert info.symbol("init_top_pgt") == 0xFFFFFFFF82A0A000
        assert info.kernel_offset == 0x1E000000
        assert info.crash_time == 1764115200
        assert [cpu.registers["rip"] for cpu in prog.dump.cpus] == [r["rip"] for r in machine.registers]
        assert [cpu.registers["rsp"] for cpu in prog.dump.cpus] == [r["rsp"] for r in machine.registers]
        assert [cpu.pid for cpu in prog.dump.cpus] == [100, 101]


def test_phys_base_is_taken_from_vmcoreinfo_not_the_kdump_header(dump_files):
    # QEMU writes VMCOREINFO's decimal phys_base into the header as if it were hex.
    with pycore.open(dump_files["kdump-zlib"]) as prog:
        assert prog.dump.phys_base_header == 0x1000000
        assert prog.dump.phys_base == 0
        assert prog.info()["phys_base"] == 0


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
def test_every_kdump_header_version(version, tmp_path, machine, native_path):
    data, _ = synthetic.build_kdump(machine, "zlib", header_version=version)
    path = write(tmp_path, f"v{version}.vmcore", data)
    with pycore.open(path, native=native_path) as prog:
        assert prog.dump.header_version == version
        pfn = max(p for p in machine.pages if p not in machine.excluded)
        assert prog.read_physical(pfn * PAGE, PAGE) == machine.pages[pfn]
        assert (prog.vmcoreinfo is not None) == (version >= 3)
        assert len(prog.dump.cpus) == (2 if version >= 4 else 0)


def test_detection_is_by_content_not_name(tmp_path, machine):
    path = write(tmp_path, "vmcore.elf", synthetic.build_kdump(machine, "snappy")[0])
    with pycore.open(path) as prog:
        assert prog.dump.format == "kdump"
        assert prog.info()["codec"] == "snappy"


def test_flattened_stream_is_read_in_place_later_records_win(tmp_path, machine, native_path):
    image, layout = synthetic.build_kdump(machine, "zlib")
    path = write(tmp_path, "flat.vmcore", synthetic.flatten(image, seed=11, rewrite=True))
    with pycore.open(path, native=native_path) as prog:
        assert prog.dump.flattened and prog.info()["flattened"]
        assert prog.dump.file.size == len(image)
        assert prog.dump.file.read(0, len(image)) == image


def test_info_reports_what_crash_sys_and_help_d_would(dump_files):
    with pycore.open(dump_files["flat-kdump-zstd"]) as prog:
        info = prog.info()
    assert info["format"] == "kdump" and info["flattened"] is True
    assert info["codec"] == "zstd"
    assert info["architecture"] == "x86_64"
    assert info["kernel_release"] == "6.1.0-synthetic"
    assert info["page_size"] == 4096
    assert info["cpus"] == 2
    assert info["crash_time_utc"] == "2025-11-26T00:00:00+00:00"
    assert info["incomplete"] is False
    assert info["physical_ranges"] == [{"start": 0, "end": 0xA0000}, {"start": 0x100000, "end": 0x400000}]


def test_elf_styles_are_told_apart(dump_files):
    with pycore.open(dump_files["elf-qemu"]) as qemu, pycore.open(dump_files["elf-kdump"]) as kdump:
        assert "qemu" in qemu.info()["details"]["style"]
        assert "kdump" in kdump.info()["details"]["style"]


def test_kdump_page_desc_layout_is_24_bytes():
    assert kdump_module.PAGE_DESC.size == 24
    assert kdump_module.DISK_DUMP_HEADER.size == 464
    assert struct.calcsize("<QiiQQQQQQQQQQQ") == kdump_module.KDUMP_SUB_HEADER.size == 104


@pytest.mark.parametrize("name", ["kdump-zstd", "flat-kdump-lzo", "elf-kdump", "flat-elf"])
def test_read_into_fills_a_callers_buffer(name, dump_files, machine, native_path):
    with pycore.open(dump_files[name], native=native_path) as prog:
        buffer = bytearray(3 * PAGE + 100)
        prog.read_physical_into(0x1000 + 7, buffer)
        assert bytes(buffer) == machine.read(0x1000 + 7, len(buffer))


@pytest.mark.parametrize("name", ["kdump-zstd", "elf-kdump"])
def test_results_stay_valid_after_later_reads(name, dump_files, machine, native_path):
    with pycore.open(dump_files[name], native=native_path) as prog:
        first = prog.read_physical(0x1000, 2 * PAGE)
        prog.read_physical(0x5000, 2 * PAGE)
        prog.read_physical(0, 64 * PAGE)
        assert first == machine.read(0x1000, 2 * PAGE)


def test_flattened_holes_read_as_zeros(tmp_path, machine, native_path):
    image, _ = synthetic.build_kdump(machine, "zstd")
    stream = synthetic.flatten(image, seed=2, rewrite=False, skip_zero=True)
    with pycore.open(write(tmp_path, "holes.vmcore", stream), native=native_path) as prog:
        written = sum(length for _, _, length in prog.dump.file.segments)
        assert written < len(image)  # the holes really are missing from the stream
        assert prog.dump.file.read(0, len(image)) == image
        for pfn, data in machine.pages.items():
            if pfn not in machine.excluded:
                assert prog.read_physical(pfn * PAGE, PAGE) == data
