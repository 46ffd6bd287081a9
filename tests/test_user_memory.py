"""User-space memory through a task's own page tables (mm->pgd), on full real dumps, and swapped-out
pages read back: the corpus's swap case (6.12-swap-l4) runs pycore-swapper
(testdata/corpus/swapper.c), whose 96 MiB of known words were pushed out to four zram devices
(zstd, deflate, lz4hc, lz4) before the crash.  The words it wrote, as it printed them to the
console, are the oracle; crash 9's ``vm -p 1`` names the swap entries."""
import io
import os
from collections import Counter

import pytest

import pycore
from pycore.cli import crash as prompt
from pycore.errors import FaultError, PageExcludedError
from pycore.helpers.linux.pid import find_task
from pycore.kernel import mm, swap, zram
from pycore.kernel.mm import read_user, task_arguments
from pycore.kernel.sched import for_each_process, task_comm

from corpus import SAMPLE, cases
from swapper_pages import (PAGE, crash_swap_lines, opened_dumps, opened_fixture, scenario_cases, swap_entry_place,
                           swapped_out_entries, swapper)

pytestmark = pytest.mark.real
FULL = [(c, d["name"]) for c in cases() for d in c.dumps() if d["format"] == "elf" and d["dump_level"] == 0]


@pytest.mark.parametrize("case,dump", FULL, ids=[f"{c.name}/{d}" for c, d in FULL])
def test_argv_of_the_guest_s_processes(case, dump, native_path):
    # testdata/corpus/init.sh starts each helper as "/bin/sh /bin/pycore-NAME".
    with pycore.open(case.path(dump), native=native_path) as prog:
        seen = 0
        for task in for_each_process(prog):
            comm = task_comm(task)
            if int(task.mm) and comm == "pycore-swapper":
                # The swap case's static program (its argv swapped out to zram).
                assert task_arguments(task) == [b"pycore-swapper", b"96"]
            elif int(task.mm) and comm == "pycore-unix":
                # The io case's static program (testdata/corpus/unixsockets.c).
                assert task_arguments(task) == [b"pycore-unix", b"/tmp/pycore.sock"]
            elif int(task.mm) and comm.startswith("pycore-"):
                argv = task_arguments(task)
                assert argv[0] == b"/bin/sh" and argv[1] == f"/bin/{comm}".encode(), (comm, argv)
                seen += 1
        assert seen >= 3


def test_user_pages_filtered_out_of_the_sample_are_named_as_such():
    with pycore.open(os.path.join(SAMPLE, "vmcore")) as prog:
        init = next(t for t in for_each_process(prog) if int(t.pid) == 1)
        with pytest.raises(PageExcludedError) as error:
            task_arguments(init)
        assert not error.value.physical and error.value.address == int(init.mm.arg_start)
        kthread = next(t for t in for_each_process(prog) if not int(t.mm))
        with pytest.raises(FaultError):
            read_user(kthread, 0x400000, 8)


# Every STRIDE-th page of the region is read in the sweep (the four devices' compressors all show
# up in that sample; reading all 24576 pages takes a minute in pure Python).
STRIDE = 7
opened = opened_fixture(opened_dumps(scenario_cases("swap")))


def test_swapped_out_pages_read_back_as_the_process_wrote_them(opened):
    case, prog = opened
    where = Counter()
    for entry in swapped_out_entries(prog, case, STRIDE):
        device = zram.disk_to_zram(swap.swap_info(prog, entry.type).bdev.bd_disk)
        slot = zram.zram_slot(device, entry.offset)
        where[slot.compressor, slot.kind] += 1
    # Every compressor of the four devices, and pages of one repeated word (ZRAM_SAME).
    assert {compressor for compressor, _kind in where} == {"zstd", "deflate", "lz4hc", "lz4"}
    assert where["lz4", "same"] > 0


def test_a_read_across_pages_joins_swapped_pages(opened):
    case, prog = opened
    oracle = swapper(case)
    task = find_task(prog, oracle.pid)
    start = oracle.region + PAGE - 100
    expected = oracle.expected(0)[PAGE - 100:] + oracle.expected(1)[:300]
    assert mm.read_user(task, start, 400) == expected


def test_the_swap_cache_copy_is_the_zram_slot(opened):
    """A page in the swap cache is read from there; zram still holds the same bytes in its slot."""
    _case, prog = opened
    compared = 0
    for si in swap.for_each_swap_info(prog):
        device = zram.disk_to_zram(si.bdev.bd_disk)
        for index in range(1, int(si.max)):
            entry = swap.SwapEntry(int(si.type), index)
            if swap.swap_cache_page(prog, entry) is None or zram.zram_slot(device, index).kind == "empty":
                continue
            assert swap.read_swapped_page(prog, entry) == zram.zram_read_page(device, index)
            compared += 1
    if not compared:
        pytest.skip("no page of this build was in the swap cache with its zram slot still written")


def test_an_empty_zram_slot_names_the_device_and_offset(opened):
    _case, prog = opened
    si = next(si for si in swap.for_each_swap_info(prog) if swap.swap_device_name(si) == "/dev/zram3")
    device = zram.disk_to_zram(si.bdev.bd_disk)
    last = int(si.max) - 1
    assert zram.zram_slot(device, last).kind == "empty"
    with pytest.raises(swap.SwappedOutError, match=f"/dev/zram3 at offset {last}: zram3 slot {last} is empty") as caught:
        swap.read_swapped_page(prog, swap.SwapEntry(int(si.type), last), 0x1000)
    assert (caught.value.device, caught.value.offset, caught.value.address) == ("/dev/zram3", last, 0x1000)


def test_swap_entries_name_the_device_and_offset_crash_shows(opened):
    """crash 9's ``vm -p 1``: each SWAP line's device and offset is the PTE's swap entry."""
    case, prog = opened
    recorded = case.reference("vm -p 1")
    if recorded is None:
        pytest.skip("no crash recording of vm -p 1 (built before it was recorded)")
    root = prog.translate(int(find_task(prog, 1).mm.pgd))
    lines = crash_swap_lines(recorded)
    assert lines
    for address, device, offset in lines:
        assert swap_entry_place(prog, root, address) == (device, offset)


def test_rd_u_at_the_prompt_shows_the_swapped_out_words(opened):
    """crash's ``set PID`` then ``rd -u``: the marker and words pycore-swapper wrote, read back from
    zram (crash 9 refuses these pages: it decodes only lzo, and only with the module's debuginfo)."""
    case, prog = opened
    oracle = swapper(case)
    session = prompt.Session(prog, io.StringIO(), io.StringIO())
    assert session.run_lines([f"set {oracle.pid}", f"rd -u {oracle.region:#x} 4"]) == 0
    first, second = oracle.expected(0)[:16], oracle.expected(0)[16:32]
    words = [int.from_bytes(part[i:i + 8], "little") for part in (first, second) for i in (0, 8)]
    assert session.out.getvalue().splitlines()[-2:] == [
        f"    {oracle.region:x}:  {words[0]:016x} {words[1]:016x}   PYCORE-SWAPPER-M",
        f"    {oracle.region + 16:x}:  {words[2]:016x} {words[3]:016x}   "
        + "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in second)]
