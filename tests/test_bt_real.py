"""bt -a, foreach bt and mod on real vmcores against crash 9's references."""
import json

import pytest

import pycore
from pycore.kernel import module, stack

from corpus import cases, dump_ids, dump_params

pytestmark = pytest.mark.real
PARAMS = dump_params()
if not PARAMS:
    pytest.skip("no real dumps (testdata/corpus/build.sh)", allow_module_level=True)


def reference(case, command, name):
    text = case.reference(command)
    if text is None:
        pytest.skip(f"crash recorded no {command}")
    return text.rstrip("\n").splitlines()


def rendered(traces):
    return stack.render(traces).rstrip("\n").splitlines()


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_bt_a_matches_crash(case, dump):
    expected = reference(case, "bt -a", dump["name"])
    with pycore.open(case.path(dump["name"])) as prog:
        lines = rendered(stack.active_traces(prog))
    assert lines == expected


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_foreach_bt_matches_crash(case, dump):
    expected = reference(case, "foreach bt", dump["name"])
    with pycore.open(case.path(dump["name"])) as prog:
        lines = rendered(stack.all_traces(prog))
    assert lines == expected


@pytest.mark.parametrize("command", ["bt -a", "foreach bt"])
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_with_the_vmlinux_names_are_crash_s_exactly(case, command):
    """With the vmlinux, symbols come from its ELF symtab, as crash's do: no renaming needed."""
    if not __import__("os").path.exists(case.vmlinux):
        pytest.skip("vmlinux not downloaded")
    expected = reference(case, command, case.manifest.get("reference_dump"))
    dump = case.manifest.get("reference_dump") or case.dumps()[0]["name"]
    with pycore.open(case.path(dump), vmlinux=case.vmlinux) as prog:
        traces = stack.active_traces(prog) if command == "bt -a" else stack.all_traces(prog)
        assert rendered(traces) == expected


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_orc_from_vmlinux_equals_orc_from_dump(case):
    vmlinux = case.vmlinux
    if not __import__("os").path.exists(vmlinux):
        pytest.skip("vmlinux not downloaded")
    dump = case.dumps()[0]["name"]
    with pycore.open(case.path(dump)) as prog:
        from pycore.arch import orc
        from_dump = orc.kernel_table_from_dump(prog)
        offset = int(prog.vmcoreinfo.get("KERNELOFFSET", "0"), 16)
        from_file = orc.kernel_table_from_vmlinux(vmlinux, offset, from_dump.version)
        assert from_file.count == from_dump.count
        for index in range(0, from_dump.count, 997):
            assert from_file.address(index) == from_dump.address(index)
            assert from_file.entry(index) == from_dump.entry(index)


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_mod_matches_crash(case, dump):
    expected = reference(case, "mod", dump["name"])
    with pycore.open(case.path(dump["name"])) as prog:
        assert module.crash_mod_lines(prog) == expected


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_stack_trace_frames_give_a_crash_signature(case):
    dump = case.dumps()[0]["name"]
    with pycore.open(case.path(dump)) as prog:
        unwinder = stack.Unwinder(prog)
        trace = stack.stack_trace(prog, unwinder.panic_task, unwinder)
    names = trace.signature(3)
    assert names[0] in ("machine_kexec", "panic") and trace.active
    assert json.dumps(trace.to_dict())
