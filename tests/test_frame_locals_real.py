"""Parameters and locals of real frames (pycore.kernel.frame_locals) against drgn 0.3.0 on the same
dump with the same vmlinux: the task on each saved CPU and every task in D state, frame by frame where
both unwound the same frame (same pc and stack pointer).  Where drgn has a value pycore has the same
one; where drgn's is absent (optimized out, a register it could not recover) so is pycore's."""
import pytest

from pycore.errors import FaultError, MissingDebugInfoError
from pycore.kernel import stack
from pycore.kernel.frame_locals import AbsentValueError, frame_locals, trace_locals

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases

CASES = vmlinux_cases()
if not CASES:
    pytest.skip("no corpus case with its vmlinux: run testdata/corpus/build.sh", allow_module_level=True)


def _drgn_tasks(drgn_prog):
    """The PIDs of the tasks drgn sees in D state (uninterruptible sleep)."""
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import task_state_to_char

    return sorted(int(task.pid) for task in for_each_task(drgn_prog) if task_state_to_char(task) == "D")


def _drgn_value(obj):
    """drgn's value of a local, or None when it is absent (or its memory is not in the dump)."""
    import drgn

    if obj.absent_:
        return None
    try:
        return obj.value_()
    except drgn.FaultError:
        return FaultError


def _pairs(prog, trace, drgn_trace):
    """(pycore FrameLocals, drgn frames innermost first) for each frame both walks reached: same
    return address, drgn's stack pointer just above pycore's slot."""
    by_place = {}
    for frame in drgn_trace:
        try:
            by_place.setdefault((frame.pc, frame.sp), []).append(frame)
        except LookupError:
            continue
    return [(found, by_place[(found.frame.pc, found.frame.sp + 8)]) for found in trace_locals(prog, trace)
            if found.registers and (found.frame.pc, found.frame.sp + 8) in by_place]


def _traces(case):
    """(pycore's trace, drgn's) of the task on each CPU the dump saved and of every task in D state."""
    import drgn

    prog, drgn_prog = pycore_program(case, True), drgn_program(case)
    unwinder = stack.Unwinder(prog)
    traces = stack.active_traces(prog, unwinder)
    traces += [stack.stack_trace(prog, pid, unwinder) for pid in _drgn_tasks(drgn_prog)]
    return prog, drgn_prog, [(trace, drgn_prog.stack_trace(drgn.Object(drgn_prog, "struct task_struct *", trace.task)))
                             for trace in traces]


@pytest.fixture(scope="module", params=CASES, ids=case_ids)
def compared(request):
    return request.param, _traces(request.param)


def test_locals_equal_drgns_in_every_frame_both_unwound(compared):
    case, (prog, drgn_prog, traces) = compared
    checked = 0
    for trace, drgn_trace in traces:
        for found, drgn_frames in _pairs(prog, trace, drgn_trace):
            if not found.functions:  # assembly code: no DWARF scope, drgn names the symbol
                assert not any(frame.locals() for frame in drgn_frames), found.frame
                continue
            assert [f.function for f in found.functions] == [f.name for f in drgn_frames], found.frame
            for function, drgn_frame in zip(found.functions, drgn_frames):
                assert [local.name for local in function.locals] == list(drgn_frame.locals()), drgn_frame
                for local in function.locals:
                    expected = _drgn_value(drgn_frame[local.name])
                    where = f"{case.name} pid {trace.pid} {drgn_frame.name} {local.name}"
                    if expected is None:
                        assert local.value is None, where
                    elif expected is not FaultError:
                        assert local.value is not None, f"{where}: pycore says {local.absent}"
                        assert local.value.value_() == expected, where
                        checked += 1
    assert checked, f"{case.name}: no local compared (no frame both unwound)"


def _frame_named(prog, trace, names):
    return next(i for i, frame in enumerate(trace.frames) if frame.symbol in names)


@pytest.mark.parametrize("case", [c for c in CASES if c.manifest.get("scenario") == "sysrq"], ids=case_ids)
def test_sysrq_handler_frame_has_the_key_that_was_written(case):
    """echo c > /proc/sysrq-trigger: __handle_sysrq's key is 'c' where the compiler kept it (5.10,
    6.1: in rbx, which sysrq_handle_crash's CFI restores); where it describes the key only as its
    value on entry to the function (DW_OP_entry_value: GCC 12+ on 6.12 and 7.2), it is absent, as
    drgn says too."""
    prog, drgn_prog = pycore_program(case, True), drgn_program(case)
    trace = stack.panic_trace(prog)[0]
    index = _frame_named(prog, trace, ("__handle_sysrq", "__handle_sysrq.cold"))
    key = frame_locals(prog, trace, index).local("key")
    if key.value is not None:
        assert key.value.value_() == ord("c")
    else:
        assert "on entry" in key.absent
        drgn_frame = next(f for f in drgn_prog.crashed_thread().stack_trace() if f.name == "__handle_sysrq")
        assert drgn_frame["key"].absent_
    assert "key" in frame_locals(prog, trace, _frame_named(prog, trace, ("sysrq_handle_crash",))).locals()


@pytest.mark.parametrize("case", [c for c in CASES if c.manifest.get("scenario") == "hung"], ids=case_ids)
def test_hung_writer_frame_has_its_file(case):
    """The writer that hangs in vfs_write: its ``file`` is the struct file drgn finds, the one
    whose path the task opened (its f_path dentry names a file)."""
    prog, drgn_prog = pycore_program(case, True), drgn_program(case)
    checked = 0
    for pid in _drgn_tasks(drgn_prog):
        trace = stack.stack_trace(prog, pid)
        if not any(frame.symbol == "vfs_write" for frame in trace.frames):
            continue
        found = frame_locals(prog, trace, _frame_named(prog, trace, ("vfs_write",)))
        drgn_frame = next(f for f in drgn_prog.stack_trace(pid) if f.name == "vfs_write")
        assert found["file"].value_() == drgn_frame["file"].value_()
        assert found["file"].f_path.dentry.d_name.name.string_()
        checked += 1
    if not checked:
        pytest.skip(f"{case.name}: no task hangs in vfs_write")


def test_absent_value_raises_and_unknown_name_is_a_key_error():
    case = next((c for c in CASES if c.manifest.get("scenario") == "sysrq"), None)
    if case is None:
        pytest.skip("no sysrq case")
    prog = pycore_program(case, True)
    trace = stack.panic_trace(prog)[0]
    found = frame_locals(prog, trace, _frame_named(prog, trace, ("sysrq_handle_crash",)))
    with pytest.raises(AbsentValueError):
        found["key"]
    with pytest.raises(KeyError):
        found["no_such_variable"]


@pytest.mark.parametrize("case", CASES[:1], ids=case_ids)
def test_without_vmlinux_locals_need_debug_info(case):
    prog = pycore_program(case, False)
    trace = stack.panic_trace(prog)[0]
    with pytest.raises(MissingDebugInfoError, match="--vmlinux"):
        frame_locals(prog, trace, 0)


@pytest.mark.parametrize("case", [c for c in CASES if c.manifest.get("scenario") == "sysrq"], ids=case_ids)
def test_bt_V_prints_each_frames_parameters_and_locals_under_it(case):
    """``pycore bt -V``: under the sysrq handler's frame (after its ``bt -l`` line), the key as gdb
    prints an int, or ``<optimized out>`` where the compiler left only its value on entry."""
    from corpus import cli_output

    prog = pycore_program(case, True)
    trace = stack.panic_trace(prog)[0]
    index = _frame_named(prog, trace, ("__handle_sysrq", "__handle_sysrq.cold"))
    key = frame_locals(prog, trace, index).local("key")
    lines = cli_output("bt", case.path(case.reference_dump), "--vmlinux", case.vmlinux, "-V", "-l").splitlines()
    frame = trace.frames[index]
    at = lines.index(f"{' ' if frame.level < 10 else ''}#{frame.level} [{frame.sp:8x}] {frame.symbol} at {frame.pc:x}")
    block = lines[at + 2:next(i for i in range(at + 1, len(lines)) if lines[i].lstrip().startswith("#"))]
    assert ("    key = 99" if key.value is not None else "    key = <optimized out>") in block
    assert lines[at + 1].startswith("    ") and ": " in lines[at + 1]  # the -l line stays right under the frame


@pytest.mark.parametrize("case", CASES[:1], ids=case_ids)
def test_bt_V_without_vmlinux_says_what_it_needs(case):
    from corpus import pycore_output

    result = pycore_output("bt", case.path(case.reference_dump), "-V")
    assert result.status != 0 and "--vmlinux" in result.err


@pytest.mark.parametrize("case", [c for c in CASES if c.manifest.get("scenario") == "hung"], ids=case_ids)
def test_drgn_style_frames_of_a_thread_give_their_locals(case):
    """A drgn script's spelling: ``prog.thread(pid).stack_trace()[i]["name"]`` and ``.locals()``
    on pycore's frames, the same values as frame_locals and drgn."""
    prog, drgn_prog = pycore_program(case, True), drgn_program(case)
    for pid in _drgn_tasks(drgn_prog):
        trace = prog.thread(pid).stack_trace()
        frame = next((f for f in trace if f.symbol == "vfs_write"), None)
        if frame is None:
            continue
        drgn_frame = next(f for f in drgn_prog.stack_trace(pid) if f.name == "vfs_write")
        assert "file" in frame and "file" in frame.locals()
        assert frame["file"].value_() == drgn_frame["file"].value_()
        return
    pytest.skip(f"{case.name}: no task hangs in vfs_write")
