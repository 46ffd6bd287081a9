"""ORC register numbering told from the tables of real kernels: the numbering up to 7.0 on the
Debian 5.10 to 6.12 kernels, the 7.1 renumbering on sid's 7.2, with the same answer from the
vmlinux's sections as from the dump."""
import os

import pytest

import pycore
from pycore.arch import orc

from corpus import cases, real_dumps

pytestmark = pytest.mark.real
real_dumps()


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_register_numbering_follows_the_kernel_release(case):
    with pycore.open(case.path(case.reference_dump)) as prog:
        release = prog.vmcoreinfo.osrelease
        table = orc.kernel_table_from_dump(prog)
        offset = prog.vmcoreinfo.kernel_offset or 0
    major, minor = (int(part) for part in release.split(".")[:2])
    expected = orc.REGISTERS_7_1 if (major, minor) >= (7, 1) else orc.REGISTERS_UP_TO_7_0
    assert table.registers is expected
    # Frames at function entry are CALL frames on SP whatever the numbering.
    first_calls = [table.entry(i) for i in range(0, table.count, 1009) if table.entry(i).type == orc.ORC_TYPE_CALL]
    assert sum(entry.sp_reg == orc.ORC_REG_SP for entry in first_calls) > len(first_calls) // 2
    if os.path.exists(case.vmlinux):
        from_file = orc.kernel_table_from_vmlinux(case.vmlinux, offset, table.version)
        assert from_file.registers is expected
