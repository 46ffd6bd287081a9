"""The kernel's own ORC unwind of every sleeping task (stack.reliable_trace) against crash 9's
``foreach bt`` of the same task: the reliable frames are crash's frames less the stale return
addresses crash's scan shows, so they must come in crash's order, and the walk must reach the
end of each stack without an error, with or without the vmlinux."""
import os
import re
from typing import Dict, List

import pytest

import pycore
from pycore.kernel import stack

from conftest import is_subsequence
from corpus import cases, real_dumps

pytestmark = pytest.mark.real
real_dumps()


def crash_frames(recording: str) -> Dict[int, List[str]]:
    """Each task's frame names in a recording of crash's ``foreach bt``, by task address, with the
    function an exception frame's RIP is in where crash names it (the kernel's unwinder shows
    the interrupted function as a frame)."""
    frames: Dict[int, List[str]] = {}
    task = None
    for line in recording.splitlines():
        header = re.match(r"PID: \d+\s+TASK: ([0-9a-f]+)", line)
        if header:
            task = int(header.group(1), 16)
            frames[task] = []
        frame = re.match(r"\s*#\d+ \[[0-9a-f]+\] (\S+) at |\s*\[exception RIP: ([\w.]+)", line)
        if frame and task is not None:
            frames[task].append(frame.group(1) or frame.group(2))
    return frames


def params():
    result = []
    for case in cases():
        if not case.reference("foreach bt"):
            continue
        # crash 9.0.2 runs with --no_modules on 7.2 and drops module frames (the locks case's
        # pycore_abba_thread, the rcu case's pycore_stall_sync): tests/test_hang_locks.py and
        # test_hang_rcu.py meet the guest's /proc/PID/stack there.
        marks = [pytest.mark.xfail(strict=True, reason="crash --no_modules drops the module's frames")] \
            if case.crash_wrong("mod") and case.manifest.get("scenario") in ("locks", "rcu") else []
        result.append(pytest.param(case, False, id=f"{case.name}-dump", marks=marks))
        if os.path.exists(case.vmlinux):
            result.append(pytest.param(case, True, id=f"{case.name}-vmlinux", marks=marks))
    return result


@pytest.mark.parametrize("case,vmlinux", params())
def test_reliable_frames_of_sleeping_tasks_are_crash_frames_in_order(case, vmlinux):
    expected = crash_frames(case.reference("foreach bt"))
    options = {"vmlinux": case.vmlinux} if vmlinux else {}
    checked = 0
    with pycore.open(case.path(case.reference_dump), **options) as prog:
        unwinder = stack.Unwinder(prog)
        for task in stack.all_tasks(prog, unwinder)[0]:
            trace = stack.reliable_trace(prog, task, unwinder)
            if trace.active or not expected[task]:
                continue  # crash walks no kernel frame: a zombie whose stack is freed, a child not yet run
            names = [frame.symbol for frame in trace]
            assert not trace.errors and names, (trace.pid, trace.errors)
            assert is_subsequence(names, expected[task]), (trace.pid, names, expected[task])
            assert all(frame.registers["rip"] == frame.pc and frame.registers["rsp"] > frame.sp
                       for frame in trace.frames)
            checked += 1
    assert checked >= 20
