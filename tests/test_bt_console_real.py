"""The panic task's trace against the kernel's own: the call trace the dying kernel printed to the
console.  Its frames without ``?`` are those its ORC unwinder followed, so every one of them from
the panic on must be in pycore's trace, in order, with or without the vmlinux.  This is the oracle
where crash 9 is wrong: on 7.2 it reads the 7.1 ORC numbering with the old numbers and shows
stale frames (security_file_permission) in place of write_sysrq_trigger."""
import os
import re
from typing import List

import pytest

import pycore
from pycore.kernel import stack
from pycore.symbols.table import crash_name

from corpus import cases, real_dumps

pytestmark = pytest.mark.real
real_dumps()

_FRAME = re.compile(r"^\[\s*[\d.]+\]\s+(\?\s+)?([\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+")


def console_panic_trace(path: str) -> List[str]:
    """The reliable frames of the first "Kernel panic" call trace in a console log, from panic
    (or vpanic, 6.14+) on; empty when the log has none."""
    frames: List[str] = []
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if "Kernel panic - not syncing" in line]
    if not starts:
        return frames
    for line in lines[starts[0]:]:
        if "</TASK>" in line or " RIP: 00" in line:
            break
        match = _FRAME.match(line)
        if match and not match.group(1):
            frames.append(match.group(2))
    first = next((i for i, name in enumerate(frames) if name in ("panic", "vpanic")), len(frames))
    return frames[first:]


def params():
    result = []
    for case in cases():
        kernel = console_panic_trace(case.path("console.log")) if os.path.exists(case.path("console.log")) else []
        modes = [False] + ([True] if os.path.exists(case.vmlinux) else [])
        for vmlinux in modes:
            result.append(pytest.param(case, kernel, vmlinux, id=f"{case.name}-{'vmlinux' if vmlinux else 'dump'}",
                                       marks=[] if kernel else [pytest.mark.skip(reason="no panic call trace")]))
    return result


@pytest.mark.parametrize("case,kernel,vmlinux", params())
def test_panic_trace_holds_every_frame_the_kernel_unwound(case, kernel, vmlinux):
    options = {"vmlinux": case.vmlinux} if vmlinux else {}
    with pycore.open(case.path(case.reference_dump), **options) as prog:
        frames = stack.panic_trace(prog)[0].frames
    # pycore names a return address as the kernel does (%pB: the call before it), so a call that
    # ends its function (khungtaskd's panic at the end of watchdog.cold on 6.12) is named by the
    # caller, not by the next symbol as crash would; an .isra.N clone goes by its source name,
    # as crash shows it.
    names = [frame.symbol for frame in frames]
    start = next((i for i, name in enumerate(names) if name in ("panic", "vpanic")), len(names))
    remaining = iter(names[start:])
    assert all(crash_name(name) in remaining for name in kernel), (kernel, names[start:])


_REGISTER = re.compile(r"\b(RAX|RBX|RCX|RDX|RSI|RDI|RBP|R0[89]|R1[0-5]|EFLAGS|ORIG_RAX): ([0-9a-f]{8,16})")
# The kernel's register names as pt_regs members are named in pycore.
_NAMES = {"EFLAGS": "eflags", "ORIG_RAX": "orig_rax", "R08": "r8", "R09": "r9"}


def console_user_registers(path: str) -> dict:
    """The user-mode registers the kernel printed after the panic's call trace ("RIP: 0033:..."),
    named as pycore names pt_regs members; empty when the panic came from no system call."""
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if "Kernel panic - not syncing" in line]
    regs: dict = {}
    for line in lines[starts[0]:] if starts else []:
        if "</TASK>" in line:
            break
        rip = re.search(r"RIP: 0033:0x([0-9a-f]+)", line)
        if rip:
            regs["rip"] = int(rip.group(1), 16)
        rsp = re.search(r"RSP: 002b:([0-9a-f]{16})", line)
        if rsp:
            regs["rsp"] = int(rsp.group(1), 16)
        if "rip" in regs:
            for name, value in _REGISTER.findall(line):
                regs[_NAMES.get(name, name.lower())] = int(value, 16)
    return regs


def user_register_params():
    return [pytest.param(case, id=case.name) for case in cases()
            if os.path.exists(case.path("console.log")) and console_user_registers(case.path("console.log"))]


@pytest.mark.parametrize("case", user_register_params())
def test_user_registers_at_the_stack_top_are_the_ones_the_kernel_printed(case):
    """The pt_regs at the top of the panic task's stack (below the FRED padding on 7.2) hold the
    registers of the system call the kernel's own report shows."""
    kernel = console_user_registers(case.path("console.log"))
    with pycore.open(case.path(case.reference_dump)) as prog:
        trace = stack.panic_trace(prog)[0]
    user = [item for item in trace.items if isinstance(item, stack.ExceptionFrame) and item.regs["cs"] == 0x33]
    assert len(kernel) == 19 and user  # RIP, RSP, EFLAGS, ORIG_RAX and the 15 others
    assert {name: user[-1].regs[name] for name in kernel} == kernel
