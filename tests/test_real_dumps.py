"""Real vmcores from Debian kernels (testdata/corpus, testdata/sample): each file is what the manifest
says it is, and every format of a crash holds the same memory as the full ELF and as crash 9 read it
(crash's commands, rd -p included, against pycore's: test_real_commands)."""
import datetime
import random
import re

import pytest

import pycore
from pycore.errors import FaultError

from corpus import cases, dump_ids, real_dumps

pytestmark = pytest.mark.real
PARAMS = real_dumps()


def parse_vmcoreinfo(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_format_and_codec_as_built(case, dump, native_path):
    with pycore.open(case.path(dump["name"]), native=native_path) as prog:
        info = prog.info()
    expected_format = {"flattened": "kdump"}.get(dump["format"], dump["format"])
    assert info["format"] == expected_format
    assert info["flattened"] == (dump["format"] == "flattened")
    if dump["format"] != "elf":
        assert info["codec"] == dump["codec"]
        if not dump["captured_by"].startswith("qemu"):  # QEMU always writes dump_level 1
            assert info["details"]["dump_level"] == dump["dump_level"]
    assert info["kernel_release"] == case.manifest["kernel_release"]
    assert info["cpus"] == case.manifest["guest_cpus"]
    assert info["incomplete"] is False


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_vmcoreinfo_matches_the_recorded_text(case, dump):
    reference = case.reference("vmcoreinfo") or open(case.path("reference/vmcoreinfo.txt")).read()
    with pycore.open(case.path(dump["name"])) as prog:
        assert dict(prog.vmcoreinfo) == parse_vmcoreinfo(reference)
        assert prog.vmcoreinfo.build_id == case.manifest["vmlinux_build_id"]
        assert prog.arch.levels == case.manifest["paging_levels"]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_filtered_formats_hold_the_same_pages_as_the_full_elf(case):
    full = [d for d in case.dumps() if d["format"] == "elf" and d["dump_level"] == 0]
    filtered = [d for d in case.dumps() if d["dump_level"] == 31]
    if not full or not filtered:
        pytest.skip("needs a full ELF dump and filtered ones")
    rng = random.Random(1)
    with pycore.open(case.path(full[0]["name"])) as truth:
        counts = None
        for dump in filtered:
            with pycore.open(case.path(dump["name"])) as prog:
                pages = prog.dump.page_counts()
                if dump["format"] != "elf":
                    if counts is not None:
                        assert (pages["present"], pages["dumped"]) == counts, dump["name"]
                    counts = (pages["present"], pages["dumped"])
                ranges = prog.dump.ranges()
                checked = 0
                for _ in range(3000):
                    # Over all of memory: how much of one range a filter keeps depends on the build.
                    start, end = rng.choices(ranges, weights=[end - start for start, end in ranges])[0]
                    address = rng.randrange(start, end) & ~0xFFF
                    try:
                        data = prog.read_physical(address, 4096)
                    except FaultError:
                        continue
                    assert data == truth.read_physical(address, 4096), f"{dump['name']} {address:#x}"
                    checked += 1
                assert checked > 100


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_crash_time_and_release_agree_with_crash_sys(case):
    sys_text = case.reference("sys")
    if sys_text is None:
        pytest.skip("no sys reference")
    fields = dict(re.findall(r"^\s*([A-Z ]+): (.*)$", sys_text, re.M))
    dump = case.dumps()[0]
    with pycore.open(case.path(dump["name"])) as prog:
        info = prog.info()
    assert fields["RELEASE"].strip() == info["kernel_release"]
    assert int(fields["CPUS"].split()[0]) == info["cpus"]
    if info["crash_time"] is None:
        # QEMU's dump of a live guest: no CRASHTIME (crash reads the kernel's clock instead).
        assert dump["captured_by"].startswith("qemu")
        return
    ours = datetime.datetime.fromisoformat(info["crash_time_utc"])
    wrong = case.crash_wrong("sys")
    if wrong and "DATE" in wrong.get("lines", []):
        # crash's DATE is wrong on this kernel: the guest's clock a moment before the crash holds.
        assert 0 <= ours.timestamp() - int(case.guest_view("date")) < 60
        return
    # crash prints DATE in the dump's local time zone; ours is UTC ISO 8601.
    crash_date = datetime.datetime.strptime(fields["DATE"].strip(), "%a %b %d %H:%M:%S %Z %Y")
    assert crash_date == ours.replace(tzinfo=None)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_vtop_of_init_task_matches_crash(case, native_path):
    ref = next((r for r in case.references("vtop")), None)
    if ref is None:
        pytest.skip("no vtop reference")
    text = open(case.path(ref["file"])).read()
    virtual, physical = re.search(r"^([0-9a-f]{16})\s+([0-9a-f]+)\s*$", text, re.M).groups()
    dump = next(d for d in case.dumps() if d["name"] == ref["dump"])
    with pycore.open(case.path(dump["name"]), native=native_path) as prog:
        assert prog.translate(int(virtual, 16)) == int(physical, 16)
        # The batched translation (one C call on the native path) gives the same answer.
        assert prog.arch.translate_many([int(virtual, 16)]) == [int(physical, 16)]
