"""bt on 7.2's makedumpfile -d 31 dumps, which lack the second page of many task_structs (makedumpfile
1.7.8 drops 7.1+'s slab tail pages), where ``thread.sp`` lies: a partial answer held to pycore's answer
on the full vmcore.elf of the same crash (all three dumps of a case are /proc/vmcore read by the
guest's kdump kernel), which tests/test_real_commands.py holds to crash's recording or its known gaps."""
import json
import os
import re

import pytest

import pycore
from pycore.errors import PageExcludedError
from pycore.kernel import stack

from corpus import dump_ids, named_pids, pycore_output, real_dumps

pytestmark = pytest.mark.real

PARAMS = [(case, dump) for case, dump in real_dumps()
          if case.name.startswith("7.2-") and case.dump_level(dump["name"]) == 31
          and case.dump_level(case.reference_dump) == 0]
if not PARAMS:
    pytest.skip("no 7.2 corpus case with a -d 31 dump beside a full one", allow_module_level=True)
# foreach bt and the single-task runs: the kdump file of each case (the flattened one holds the same pages).
GUEST = [(case, dump) for case, dump in PARAMS if dump["name"] == "vmcore-guest.kdump-zstd"]

UNREAD = re.compile(r"pycore (?:bt|foreach): (\d+) tasks? could not be read in full \(PIDs? ([\d, ]+)\): "
                    r"thread\.sp: .*page excluded from the dump by makedumpfile's filter \(dump level 31\).*")
CANNOT_WALK = re.compile(r"bt: read of thread\.sp at ([0-9a-f]+) failed: not in the dump, the stack of task "
                         r"([0-9a-f]+) cannot be walked")


def _named(err: str) -> list:
    return named_pids(UNREAD, err)


def _blocks(text: str) -> dict:
    """Each task's block of a bt text by its header line."""
    blocks = text.rstrip("\n").split("\n\nPID: ")
    found = {}
    for index, block in enumerate(blocks):
        block = block if index == 0 else "PID: " + block
        header, _, rest = block.partition("\n")
        assert header not in found
        found[header] = rest
    return found


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_bt_a_unwinds_the_running_tasks_from_the_cpu_notes(case, dump):
    """Every CPU's running task prints in full, as on the full dump of the same crash: its walk starts
    at its CPU note's registers, not at the thread.sp the -d 31 dump lacks."""
    full = pycore_output("bt", "-a", case.path(case.reference_dump))
    run = pycore_output("bt", "-a", case.path(dump["name"]))
    assert run.out == full.out and run.out.count("PID: ") == full.out.count("PID: ") > 0
    assert (run.status, run.err) == (0, "")


@pytest.mark.parametrize("case,dump", GUEST, ids=dump_ids(GUEST))
def test_all_tasks_print_in_full_or_say_their_stack_cannot_be_walked(case, dump):
    """bt --all-tasks: every task of the full dump, in its order; each either as on the full dump or
    its header and the one bt: line; exit status 1 and one error line naming exactly those PIDs."""
    full = pycore_output("bt", "--all-tasks", case.path(case.reference_dump))
    run = pycore_output("bt", "--all-tasks", case.path(dump["name"]))
    mine, theirs = _blocks(run.out), _blocks(full.out)
    assert list(mine) == list(theirs)
    short = []
    for header, lines in mine.items():
        if lines == theirs[header]:
            continue
        match = CANNOT_WALK.fullmatch(lines)
        assert match, f"{header}: neither the full dump's trace nor the one bt: line"
        assert header.split("TASK: ")[1].startswith(match.group(2))
        short.append(int(header.split()[1]))
    assert short, "the -d 31 dump lacks no task's thread.sp: the test proves nothing here"
    assert run.status == 1
    assert sorted(_named(run.err)) == sorted(short)


@pytest.mark.parametrize("case,dump", GUEST[:1], ids=dump_ids(GUEST[:1]))
def test_foreach_bt_goes_on_past_a_partial_task(case, dump):
    """foreach bt prints what bt --all-tasks prints and names the same tasks in its one error line."""
    alone = pycore_output("bt", "--all-tasks", case.path(dump["name"]))
    run = pycore_output("foreach", case.path(dump["name"]), "bt")
    assert run.status == 1 and run.out == alone.out
    assert _named(run.err) == _named(alone.err)


def _blocked_unread(case, dump) -> dict:
    """One task --json lists as unread (blocked: the running ones unwind without thread.sp), not an
    idle task (``bt 0`` shows every CPU's)."""
    run = pycore_output("bt", "--json", "--all-tasks", case.path(dump["name"]))
    unread = json.loads(run.out)["unread"]
    assert unread and all(set(task["unreadable"]) == {"thread.sp"} for task in unread)
    return next(task for task in unread if task["pid"])


@pytest.mark.parametrize("case,dump", GUEST, ids=dump_ids(GUEST))
def test_bt_pid_and_t_of_a_task_without_thread_sp_say_so_in_one_line(case, dump):
    """bt PID and bt -t PID: the header and one bt: line naming thread.sp's address in the task_struct;
    exit status 1 naming the PID."""
    task = _blocked_unread(case, dump)
    for options in ((), ("-t",)):
        run = pycore_output("bt", *options, case.path(dump["name"]), str(task["pid"]))
        header, line = run.out.rstrip("\n").split("\n")
        assert header.startswith(f"PID: {task['pid']} ") and f"TASK: {task['task']:x}" in header
        match = CANNOT_WALK.fullmatch(line)
        assert match and int(match.group(2), 16) == task["task"]
        assert task["task"] < int(match.group(1), 16) < task["task"] + 0x4000
        assert run.status == 1 and _named(run.err) == [task["pid"]]


@pytest.mark.parametrize("case,dump", GUEST, ids=dump_ids(GUEST))
def test_bt_T_lists_the_stack_without_the_walk(case, dump):
    """bt -T needs no walk for the stack's words: they are the full dump's; the user-mode registers at
    its top, which the walk finds, give way to the one bt: line."""
    task = _blocked_unread(case, dump)
    full = pycore_output("bt", "-T", case.path(case.reference_dump), str(task["pid"])).out.rstrip("\n").split("\n")
    run = pycore_output("bt", "-T", case.path(dump["name"]), str(task["pid"]))
    lines = run.out.rstrip("\n").split("\n")
    assert CANNOT_WALK.fullmatch(lines[-1])
    assert len(lines) > 2 and lines[:-1] == full[:len(lines) - 1]
    assert all(line.startswith("    ") and ":" in line for line in full[len(lines) - 1:])
    assert run.status == 1 and _named(run.err) == [task["pid"]]


@pytest.mark.parametrize("case,dump", GUEST[:1], ids=dump_ids(GUEST[:1]))
def test_the_traces_name_the_fault(case, dump):
    """The helpers' answer: stack_trace keeps the PageExcludedError of thread.sp and finds no frame,
    reliable_trace (no frame to start from) raises it; the running tasks' traces lack nothing."""
    task = _blocked_unread(case, dump)["task"]
    with pycore.open(case.path(dump["name"])) as prog:
        unwinder = stack.Unwinder(prog)
        trace = stack.stack_trace(prog, task, unwinder)
        assert isinstance(trace.unreadable["thread.sp"], PageExcludedError)
        assert not trace.frames and len(trace.errors) == 1
        with pytest.raises(PageExcludedError):
            stack.reliable_trace(prog, task, unwinder)
        assert all(not trace.unreadable and trace.useful for trace in stack.active_traces(prog, unwinder))


@pytest.mark.parametrize("case,dump", GUEST[:1], ids=dump_ids(GUEST[:1]))
def test_bt_V_of_a_task_without_thread_sp_shows_the_one_line(case, dump):
    """bt -V: no frame, so no locals to look for: the header and the one bt: line, exit status 1."""
    if not os.path.exists(case.vmlinux):
        pytest.skip("bt -V needs the case's vmlinux")
    task = _blocked_unread(case, dump)
    run = pycore_output("bt", "-V", "--vmlinux", case.vmlinux, case.path(dump["name"]), str(task["pid"]))
    assert CANNOT_WALK.fullmatch(run.out.rstrip("\n").split("\n")[1])
    assert run.status == 1 and _named(run.err) == [task["pid"]]


@pytest.mark.parametrize("case,dump", GUEST[:1], ids=dump_ids(GUEST[:1]))
def test_a_trace_without_mm_says_the_user_registers_are_not_shown(case, dump):
    """No corpus dump lacks a task's mm: a task_info that could not read it (as it reports a fault)
    gives a trace ending in the one bt: line, the fault kept, the frames walked as they are."""
    with pycore.open(case.path(dump["name"])) as prog:
        unwinder = stack.Unwinder(prog)
        task = unwinder.active[min(unwinder.active)]
        whole = stack.stack_trace(prog, task, unwinder)
        info = unwinder.task_info(task)
        fault = PageExcludedError("unreadable", task + 0x100)
        unwinder.task_info = lambda address: dict(info, mm=None, unreadable={"mm": fault})
        trace = stack.stack_trace(prog, task, unwinder)
    assert trace.unreadable == {"mm": fault}
    assert trace.errors[-1] == f"read of mm at {task + 0x100:x} failed: not in the dump, user-mode registers not shown"
    assert trace.frames and [f.pc for f in trace.frames] == [f.pc for f in whole.frames]


@pytest.mark.parametrize("case,dump", GUEST[:1], ids=dump_ids(GUEST[:1]))
def test_a_walk_that_must_start_at_a_missing_thread_sp_raises_its_fault(case, dump):
    """A running task whose note's registers place it nowhere starts, as a blocked one, at thread.sp:
    without it the walk raises the fault of reading it (the caller's typed error), not a TypeError."""
    from pycore.kernel.backtrace import _Walk

    with pycore.open(case.path(dump["name"])) as prog:
        unwinder = stack.Unwinder(prog)
        task = unwinder.active[min(unwinder.active)]
        fault = PageExcludedError("unreadable", task + 0x100)
        info = dict(unwinder.task_info(task), sp=None, unreadable={"thread.sp": fault})
        walk = _Walk(unwinder, info, stack.StackTrace(task, info["pid"], info["comm"], info["cpu"], True))
        with pytest.raises(PageExcludedError) as raised:
            walk.sleeping_start()
    assert raised.value is fault
