"""The corpus cases with a vmlinux, opened both by pycore and by drgn 0.3.0 (the reference for the
drgn-named helpers), once per case per test session; tests skip when drgn or the vmlinux is absent."""
import functools
import os
from typing import List, Optional

import pytest

import pycore

from corpus import Case, cases


def vmlinux_cases() -> List[Case]:
    """Real cases whose reference dump and vmlinux are both on disk (the sample has neither)."""
    return [case for case in cases() if case.name != "sample" and os.path.exists(case.vmlinux)
            and os.path.exists(case.path(case.reference_dump))]


def case_ids(case: Case) -> str:
    return case.name


# A worker keeps the programs of the last few cases only: a drgn program with the vmlinux is ~300 MB,
# pycore's with frame locals ~250 MB, and a worker that kept all 11 cases' ran out of memory.
@functools.lru_cache(maxsize=4)
def pycore_program(case: Case, with_vmlinux: bool) -> pycore.Program:
    """pycore on the case's reference dump, with the vmlinux (DWARF) or without (BTF + kallsyms)."""
    return pycore.open(case.path(case.reference_dump), vmlinux=case.vmlinux if with_vmlinux else None)


@functools.lru_cache(maxsize=2)
def _drgn_program(case: Case) -> Optional[object]:
    drgn = pytest.importorskip("drgn")
    prog = drgn.Program()
    prog.set_core_dump(case.path(case.reference_dump))
    prog.load_debug_info([case.vmlinux])
    return prog


def drgn_program(case: Case):
    """drgn on the same dump with the vmlinux; skips the test when drgn is not installed."""
    pytest.importorskip("drgn")
    return _drgn_program(case)
