"""crash's ``pte``: the committed sample's recordings of crash 9.0.2, whole and byte for byte, with the
vmlinux and without it; on every corpus dump (no recording there), the decoding of the page-table
entry vtop walks to, which must be vtop's own PTE lines; crash's refusals; the swap lines' layout.

crash prints its error after what it printed of the value on the same line ("PTE   pte: cannot
determine swap location"); pycore prints that part, then the error on stderr as ``pycore pte: ...``.
"""
import re

import pytest

import pycore
from cli_cases import mode_argv, recordings_in_modes
from corpus import cases, pycore_output
from pycore.kernel import sched, swap
from pycore.kernel import vma as kernel_vma
from pycore.arch.x86_64 import pte_flag_names, pte_physical, pte_present
from pycore.cli.pte import UNLOCATED, render

@pytest.mark.real
@pytest.mark.parametrize("case,command,mode", recordings_in_modes("pte "),
                         ids=lambda value: value if isinstance(value, str) else getattr(value, "name", None))
def test_recorded_pte_is_crash_answer(case, command, mode):
    """Every recording of pte, whole: the entries, and a swap entry crash cannot place ending the
    answer with its error."""
    expected = case.reference(command)
    result = pycore_output(*mode_argv(case, command, mode))
    if expected.rstrip("\n").endswith(f"pte: {UNLOCATED}"):
        assert result.status == 1 and result.err == f"pycore pte: {UNLOCATED}\n"
        assert result.out.rstrip("\n") + f"pte: {UNLOCATED}\n" == expected
    else:
        assert (result.status, result.err) == (0, "")
        assert result.out == expected


VTOP_PTE = re.compile(r"\n\n( *PTE +PHYSICAL +FLAGS\n[^\n]+\n)\n")


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_pte_of_the_entry_vtop_reaches_is_vtop_pte_lines(case):
    """pte of the entry vtop's walk ends at (init_task's page) prints vtop's own PTE, PHYSICAL and
    FLAGS lines: one decoding serves both."""
    vtop = pycore_output("vtop", case.path(case.reference_dump), "init_task")
    assert (vtop.status, vtop.err) == (0, ""), vtop.err
    block = VTOP_PTE.search(vtop.out).group(1)
    entry = block.split("\n")[1].split()[0]
    result = pycore_output("pte", case.path(case.reference_dump), entry)
    assert (result.status, result.err, result.out) == (0, "", block)


def _swapped_pages(prog, count: int):
    """The first ``count`` swapped-out user pages crash's task order reaches, one per swap area
    when it can: (PTE value, swap_info index, offset), the last two as ``vm -p`` shows them."""
    found = {}
    for task in sched.crash_tasks(prog).tasks:
        task_mm = task.mm.read_()
        if not int(task_mm):
            continue
        root = prog.translate(int(task_mm.pgd))
        for area in kernel_vma.for_each_vma(task_mm):
            for page in kernel_vma.vma_pages(area, root):
                if page.kind == "swap" and page.swap_type not in found:
                    entry = prog.arch.walk(page.address, root).entries[-1].entry
                    found[page.swap_type] = (entry, page.swap_type, page.value)
                    if len(found) == count:
                        return list(found.values())
    return list(found.values())


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_pte_of_a_swapped_out_page_names_the_area_and_offset_of_vm_p(case):
    """On a dump with swap areas in use (6.12-swap-l4's zram devices), pte of a swapped-out
    page's entry names the area ``swap`` lists at that index and the offset ``vm -p`` shows
    (crash 9.0.2 answered so for one page of each of 6.12-swap-l4's four areas)."""
    with pycore.open(case.path(case.reference_dump)) as prog:
        areas = {int(si.type): swap.swap_device_name(si) for si in swap.for_each_swap_info(prog)}
        if not areas:
            pytest.skip("no swap area in use")
        pages = _swapped_pages(prog, len(areas))
    assert pages
    for entry, area, offset in pages:
        result = pycore_output("pte", case.path(case.reference_dump), f"{entry:x}")
        assert (result.status, result.err) == (0, "")
        assert result.out.split("\n")[1].split() == [f"{entry:x}", areas[area], str(offset)]


@pytest.mark.real
@pytest.mark.parametrize("values,message", [
    (["zz"], 'invalid input: "zz"'),
    (["10000000000000000"], 'input string too large: "10000000000000000" (17 vs 16)'),
])
def test_a_value_crash_refuses_is_its_one_line_error(values, message):
    case = cases()[0]
    result = pycore_output("pte", case.path(case.reference_dump), *values)
    assert (result.status, result.out, result.err) == (1, "", f"pycore pte: {message}\n")


@pytest.mark.real
def test_an_error_ends_the_answer_after_the_values_before_it():
    """crash's FATAL error: the first value is answered, the third is not looked at."""
    case = cases()[0]
    result = pycore_output("pte", case.path(case.reference_dump), "1", "zz", "1")
    assert (result.status, result.err) == (1, 'pycore pte: invalid input: "zz"\n')
    assert result.out == "PTE  PHYSICAL  FLAGS\n 1       0     (PRESENT)\n"


@pytest.mark.parametrize("entry,names", [
    (0x8000000011E8B067, ["PRESENT", "RW", "USER", "ACCESSED", "DIRTY", "NX"]),
    (0x80, []),                                  # PSE is named only in a present entry
    (0x81, ["PRESENT", "PSE"]),
    (0x100, ["PROTNONE", "GLOBAL"]),             # a PROT_NONE page: the GLOBAL bit, not present
    (0x101, ["PRESENT", "GLOBAL"]),
])
def test_flag_names_follow_crash_rules(entry, names):
    assert pte_flag_names(entry) == names


def test_a_prot_none_entry_maps_a_page_and_a_swap_entry_does_not():
    assert pte_present(0x100) and pte_present(0x1) and not pte_present(0x3C00)


@pytest.mark.parametrize("levels,physical", [(4, 0x3FFFFFFFF000), (5, 0xFFFFFFFFFF000)])
def test_physical_bits_are_crash_mask_of_the_paging_mode(levels, physical):
    """crash's __PHYSICAL_MASK_SHIFT: 46 bits with 4-level paging, 52 with 5-level (crash 9.0.2's
    pte ffffffffffffffff on the sample and on 6.12-oom-l5)."""
    assert pte_physical((1 << 64) - 1, levels) == physical


def test_swap_entry_lines_center_each_column_as_crash():
    """A swap entry's two lines, each column as wide as its widest text and centred, an odd spare
    space right of a title and left of a value (crash's x86_64_translate_pte; no corpus case had a
    swap area to record crash on).  0x7fffffffff65a00: type 0, offset 1234 (inverted, 4.18+)."""
    data = {"entries": [{"pte": 0x7FFFFFFFFF65A00, "swap": "/dev/zram0", "offset": 1234}]}
    assert render(data, None) == ("      PTE           SWAP     OFFSET\n"
                                  "7fffffffff65a00  /dev/zram0   1234 ")
