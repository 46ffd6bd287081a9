"""The unwinder's inputs and data on real vmcores: the ORC tables from the dump equal the vmlinux's,
and a trace gives a crash signature (bt -a, foreach bt and mod against crash 9: test_real_commands)."""
import json
import os

import pytest

import pycore
from pycore.arch import orc
from pycore.kernel import stack

from corpus import cases, real_dumps

pytestmark = pytest.mark.real
real_dumps()


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_orc_from_vmlinux_equals_orc_from_dump(case):
    vmlinux = case.vmlinux
    if not os.path.exists(vmlinux):
        pytest.skip("vmlinux not downloaded")
    dump = case.dumps()[0]["name"]
    with pycore.open(case.path(dump)) as prog:
        from_dump = orc.kernel_table_from_dump(prog)
        offset = int(prog.vmcoreinfo.get("KERNELOFFSET", "0"), 16)
        from_file = orc.kernel_table_from_vmlinux(vmlinux, offset, from_dump.version)
        assert from_file.count == from_dump.count
        for index in range(0, from_dump.count, 997):
            assert from_file.address(index) == from_dump.address(index)
            assert from_file.entry(index) == from_dump.entry(index)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_stack_trace_frames_give_a_crash_signature(case):
    dump = case.dumps()[0]["name"]
    with pycore.open(case.path(dump)) as prog:
        unwinder = stack.Unwinder(prog)
        trace = stack.stack_trace(prog, unwinder.panic_task, unwinder)
    names = trace.signature(3)
    assert names[0] in ("machine_kexec", "panic") and trace.active
    assert json.dumps(trace.to_dict())
