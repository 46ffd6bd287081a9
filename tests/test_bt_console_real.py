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


def is_subsequence(needles: List[str], haystack: List[str]) -> bool:
    remaining = iter(haystack)
    return all(any(name == candidate for candidate in remaining) for name in needles)


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
        traces = stack.panic_trace(prog)
    names = [frame.symbol for frame in traces[0].frames]
    ours = names[next((i for i, name in enumerate(names) if name in ("panic", "vpanic")), len(names)):]
    assert is_subsequence(kernel, ours), (kernel, ours)
