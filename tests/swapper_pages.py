"""pycore-swapper (testdata/corpus/swapper.c) on the corpus's swap and zswap cases, as their tests
share it: what it printed (the oracle of its pages), the dumps each case is opened from, and the
sweep over a sample of its pages, each read back and checked, giving the swap entries behind them."""
import glob
import json
import os
import re
from typing import Iterator, List, NamedTuple, Optional, Tuple

import pytest

import pycore
from pycore.helpers.linux.pid import find_task
from pycore.errors import FaultError
from pycore.kernel import mm, swap

from corpus import CACHE, Case

PAGE = 4096


class Swapper(NamedTuple):
    """What pycore-swapper printed: its pid, region, and how it filled each page."""

    pid: int
    region: int
    size: int
    pattern: int
    same: int
    same_every: int
    zero_every: int

    def expected(self, index: int) -> bytes:
        """The bytes pycore-swapper wrote to page ``index`` (swapper.c), or b"" for a page it left
        untouched (never faulted in: not mapped)."""
        if index % self.zero_every == self.zero_every - 1:
            return b""
        if index % self.same_every == self.same_every - 1:
            return (self.same ^ index).to_bytes(8, "little") * (PAGE // 8)
        start = self.region + index * PAGE
        data = b"".join(((start + 8 * word) ^ self.pattern).to_bytes(8, "little") for word in range(PAGE // 8))
        return b"PYCORE-SWAPPER-MARK\0" + data[20:] if index == 0 else data


def swapper(case: Case) -> Swapper:
    """The swapper's line on the case's console."""
    with open(case.path("console.log"), errors="replace") as f:
        console = f.read()
    m = re.search(r"PYCORE: swapper pid (\d+) region (0x[0-9a-f]+) size (0x[0-9a-f]+) pattern (0x[0-9a-f]+) "
                  r"same (0x[0-9a-f]+) every (\d+) zero every (\d+)", console)
    assert m, "the swap case's console names pycore-swapper's region"
    return Swapper(int(m[1]), int(m[2], 16), int(m[3], 16), int(m[4], 16), int(m[5], 16), int(m[6]), int(m[7]))


def scenario_cases(scenario: str) -> List[Case]:
    """The corpus's cases of ``scenario`` ("swap", "zswap").  Not corpus.cases(): its pure-Python
    subset leaves them out, and their tests read a bounded sample of pages, cheap enough for both
    paths."""
    found = []
    for manifest in sorted(glob.glob(os.path.join(CACHE, "corpus", "*", "manifest.json"))):
        with open(manifest) as f:
            if json.load(f).get("scenario") == scenario:
                found.append(Case(os.path.dirname(manifest)))
    return found


def dump_files(cases: List[Case]) -> List[Tuple[Case, str]]:
    """(case, dump) for each dump file of ``cases`` but the flattened one."""
    return [(case, dump["name"]) for case in cases for dump in case.dumps() if dump["format"] != "flattened"]


def opened_dumps(cases: List[Case]) -> List[Tuple[Case, str, bool]]:
    """(case, dump, with the vmlinux) for each dump file of ``cases`` but the flattened one, read
    with the dump's own BTF and, the ELF, with the vmlinux's DWARF too (zram's and zsmalloc's types
    come from their modules' BTF in the dump either way)."""
    dumps = dump_files(cases)
    return [(case, name, False) for case, name in dumps] + [(case, name, True) for case, name in dumps
                                                           if name.endswith(".elf")]


def opened_fixture(opened: List[Tuple[Case, str, bool]]):
    """A module-scoped fixture giving (case, prog) for each of ``opened`` (:func:`opened_dumps`)."""
    @pytest.fixture(scope="module", params=opened,
                    ids=[f"{case.name}/{name}{'+vmlinux' if vmlinux else ''}" for case, name, vmlinux in opened])
    def fixture(request):
        case, name, vmlinux = request.param
        prog = pycore.open(case.path(name), vmlinux=case.vmlinux if vmlinux else None)
        yield case, prog
        prog.close()
    return fixture


def swap_entry(prog: pycore.Program, root: int, address: int) -> Optional[swap.SwapEntry]:
    """The swap entry in the PTE of user ``address`` under page table ``root``, or None when the
    page is present."""
    walk = prog.arch.walk(address, root)
    return None if walk.physical is not None else swap.pte_to_swp_entry(walk.entries[-1].entry)


def swapped_out_entries(prog: pycore.Program, case: Case, stride: int) -> Iterator[swap.SwapEntry]:
    """Reads every ``stride``-th page of the swapper's region, first to last, as the swapper's own
    memory (mm.read_user), asserting it is what the swapper wrote (a page it never touched: not
    mapped); yields the swap entry of each page read back from swap, not from memory or the swap
    cache."""
    oracle = swapper(case)
    task = find_task(prog, oracle.pid)
    root = prog.translate(int(task.mm.pgd))
    for index in range(0, oracle.size // PAGE, stride):
        address = oracle.region + index * PAGE
        expected = oracle.expected(index)
        if not expected:
            with pytest.raises(FaultError, match="not mapped"):
                mm.read_user(task, address, PAGE)
            continue
        assert mm.read_user(task, address, PAGE) == expected, hex(address)
        entry = swap_entry(prog, root, address)
        if entry is not None and swap.swap_cache_page(prog, entry) is None:
            yield entry


def crash_swap_lines(recorded: str) -> List[Tuple[int, str, int]]:
    """(address, device, offset) of each SWAP line of crash's ``vm -p``."""
    return [(int(address, 16), device, int(offset)) for address, device, offset
            in re.findall(r"^([0-9a-f]+)\s+SWAP: (\S+)\s+OFFSET: (\d+)$", recorded, re.M)]


def swap_entry_place(prog: pycore.Program, root: int, address: int) -> Tuple[str, int]:
    """The device and offset of the swap entry in the PTE of ``address``, as crash's vm -p names
    them."""
    entry = swap_entry(prog, root, address)
    return swap.swap_device_name(swap.swap_info(prog, entry.type)), entry.offset
