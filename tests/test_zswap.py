"""Swapped-out pages read back from zswap's pool: the corpus's zswap cases (6.12-zswap-l4 on the
generic 6.12 kernel, 7.2-zswap-l4) run pycore-swapper (testdata/corpus/swapper.c) with zswap (lzo, zsmalloc)
in front of four zram devices and its pool held small, so that the swapper's known words are in
zswap and in zram behind it.  The words it wrote are the oracle; the kernel's own counter and the
guest's /proc/meminfo count zswap's pages; crash 9 names the swap entries (it does not read zswap)."""
import re
from collections import Counter

import pytest

from pycore.helpers.linux.pid import find_task
from pycore.kernel import swap, zram, zswap

from swapper_pages import (PAGE, crash_swap_lines, opened_dumps, opened_fixture, scenario_cases, swap_entry_place,
                           swapped_out_entries, swapper)

pytestmark = pytest.mark.real
# Every 11th page of the swapper's 24576: about 2200 pages, spread over zswap and zram.
STRIDE = 11
# zswap's types are the kernel's own (built in) in the dump's BTF and the vmlinux's DWARF alike.
OPENED = opened_dumps(scenario_cases("zswap"))
if not OPENED:
    pytest.skip("no zswap case in the corpus: testdata/corpus/build.py --case 6.12-zswap-l4", allow_module_level=True)
opened = opened_fixture(OPENED)


def test_swapped_pages_read_back_from_zswap_and_from_zram_behind_it(opened):
    case, prog = opened
    where = Counter()
    for entry in swapped_out_entries(prog, case, STRIDE):
        stored = zswap.zswap_entry(prog, entry.type, entry.offset)
        if stored is not None:
            where["zswap", zswap.zswap_compressor(stored)] += 1
        else:
            device = zram.disk_to_zram(swap.swap_info(prog, entry.type).bdev.bd_disk)
            where["zram", zram.zram_slot(device, entry.offset).compressor] += 1
    # Both kernels' zswap compresses with lzo (CONFIG_ZSWAP_COMPRESSOR_DEFAULT); its pool filled,
    # so later pages went on to zram.
    assert where["zswap", "lzo"] > 100
    assert sum(count for (kind, _compressor), count in where.items() if kind == "zram") > 100


def test_a_page_in_zswap_has_no_data_in_its_zram_slot(opened):
    """zswap took the page before the device saw it: the zram slot of its entry is empty, so what
    read_swapped_page returns came from zswap's pool."""
    _case, prog = opened
    checked = 0
    for type, offset, stored in _sample(prog):
        device = zram.disk_to_zram(swap.swap_info(prog, type).bdev.bd_disk)
        assert zram.zram_slot(device, offset).kind == "empty"
        assert swap.read_swapped_page(prog, swap.SwapEntry(type, offset)) == zswap.zswap_read_page(stored)
        checked += 1
    assert checked


def _sample(prog, count: int = 50):
    """Every n-th zswap entry, about ``count`` of them."""
    entries = list(zswap.for_each_zswap_entry(prog))
    return entries[::max(1, len(entries) // count)]


def test_zswap_holds_the_pages_the_kernel_counts(opened):
    """Entries in the trees: the kernel's zswap_stored_pages (an atomic_t on 6.12, atomic_long_t on
    7.2: its low four bytes either way) at the crash,
    and the guest's /proc/meminfo Zswapped a moment before it (pages read back in between leave
    zswap: 6.12's loads are exclusive)."""
    case, prog = opened
    entries = sum(1 for _ in zswap.for_each_zswap_entry(prog))
    counter = int.from_bytes(prog.read(prog.symbols.by_name("zswap_stored_pages").address, 4), "little")
    assert entries == counter
    zswapped = int(re.search(r"^Zswapped:\s+(\d+) kB$", case.guest_view("meminfo"), re.M)[1]) // 4
    assert 0 <= zswapped - entries <= 256


def test_swap_entries_name_the_device_and_offset_crash_shows(opened):
    """crash 9's ``foreach pycore-swapper vm -p``: each SWAP line's device and offset is the PTE's
    swap entry, pages in zswap included (the entry names the device zswap stands in front of)."""
    case, prog = opened
    recorded = case.reference("foreach pycore-swapper vm -p")
    if recorded is None:
        pytest.skip("no crash recording of foreach pycore-swapper vm -p")
    root = prog.translate(int(find_task(prog, swapper(case).pid).mm.pgd))
    lines = crash_swap_lines(recorded)
    assert len(lines) > 1000
    for address, device, offset in lines[::STRIDE]:
        assert swap_entry_place(prog, root, address) == (device, offset)


def test_the_swap_table_s_cached_slots_are_folios_of_their_entries(opened):
    """7.2 keeps the swap cache in a swap table per cluster: each slot whose word holds a folio's
    PFN gives a page whose folio records that swap entry; a slot whose zero flag is set holds its
    page nowhere (neither zswap nor zram was written)."""
    _case, prog = opened
    if not prog.type("struct swap_cluster_info").has_member("table"):
        pytest.skip("this kernel keeps the swap cache in swapper_spaces (before 6.18)")
    cached = zeros = 0
    for si in swap.for_each_swap_info(prog):
        device = zram.disk_to_zram(si.bdev.bd_disk)
        for offset in range(1, int(si.max)):
            entry = swap.SwapEntry(int(si.type), offset)
            word = swap.swap_table_word(si, offset)
            if word & 0b11 == swap.SWP_TB_PFN_MARK:
                assert swap.swap_cache_page(prog, entry) is not None
                cached += 1
            if swap.swap_zeromap_test(si, offset):
                assert zswap.zswap_entry(prog, entry.type, offset) is None
                assert zram.zram_slot(device, offset).kind == "empty"
                assert swap.read_swapped_page(prog, entry) == bytes(PAGE)
                zeros += 1
    if not cached and not zeros:
        pytest.skip("no slot of this build was in the swap cache or held a zero page")


def test_the_swapper_s_fpu_is_where_its_fpstate_pointer_says(opened):
    """The swapper's struct fpu (thread.fpu on 6.12, after the task_struct on 7.2): its fpstate
    pointer is its own __fpstate, and the saved image holds the default MXCSR the swapper never
    changed."""
    from pycore.kernel import sched

    case, prog = opened
    task = find_task(prog, swapper(case).pid)
    fpu = sched.task_fpu(task)
    assert int(fpu.fpstate) == fpu.member_("__fpstate").address_
    state = sched.task_fpu_state(task)
    assert int.from_bytes(state.fxsave[24:28], "little") == 0x1F80
    assert state.xsave is not None and state.xsave[:416] == state.fxsave[:416]
