"""Symbols, types and objects on real dumps, in the three modes: dump only, + vmlinux, + System.map.

The answers must agree with each other and with crash 9's ``sym``, ``struct`` and ``ps``.
"""
import os
import re

import pytest

import pycore
from pycore.debuginfo import WrongDebugInfoError
from pycore.object import list_for_each_entry

from corpus import cases

pytestmark = pytest.mark.real
CASES = [c for c in cases() if c.reference("sym init_task")]
if not CASES:
    pytest.skip("no real dumps with crash references: run testdata/corpus/build.sh", allow_module_level=True)
MODES = ["dump-only", "vmlinux", "system-map"]


def open_mode(case, mode, dump_name=None):
    dump = dump_name or next(d["name"] for d in case.dumps() if d["format"] == "kdump")
    kwargs = {}
    if mode == "vmlinux":
        if not os.path.exists(case.vmlinux):
            pytest.skip(f"vmlinux {case.manifest['vmlinux']} is not downloaded")
        kwargs["vmlinux"] = case.vmlinux
    elif mode == "system-map":
        path = case.path(case.manifest["system_map"])
        if not os.path.exists(path):
            pytest.skip("no System.map")
        kwargs["system_map"] = path
    return pycore.open(case.path(dump), **kwargs)


def crash_tasks(case):
    """(pid, comm) of every task in crash's ps, idle tasks left out (they are not on init_task.tasks)."""
    rows = []
    for line in case.reference("ps").splitlines()[1:]:
        fields = line.lstrip(">").split()
        pid, comm = int(fields[0]), fields[-1]
        if comm.startswith("[") and comm.endswith("]"):
            comm = comm[1:-1]
        if pid != 0:
            rows.append((pid, comm))
    return sorted(rows)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_init_task_matches_crash_sym_and_struct(case, mode):
    sym = re.match(r"([0-9a-f]+) \((\w)\) init_task", case.reference("sym init_task").strip())
    struct_text = case.reference("struct task_struct.comm,pid init_task")
    comm = re.search(r'comm = "([^"\\]*)', struct_text).group(1)
    pid = int(re.search(r"pid = (\d+)", struct_text).group(1))
    with open_mode(case, mode) as prog:
        task = prog["init_task"]
        assert task.address_ == int(sym.group(1), 16)
        assert prog.symbol("init_task").address == int(sym.group(1), 16)
        assert task.comm.string_().decode() == comm
        assert task.pid.value_() == pid
        found = prog.symbol(int(sym.group(1), 16) + 8)
        assert found[0].name == "init_task" and found[1] == 8


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_task_list_matches_crash_ps(case, mode):
    with open_mode(case, mode) as prog:
        tasks = sorted((int(t.pid), t.comm.string_().decode())
                       for t in list_for_each_entry("struct task_struct", prog["init_task"].tasks.address_of_(),
                                                    "tasks"))
    # crash lists threads too; init_task.tasks holds thread-group leaders.
    assert set(tasks) <= set(crash_tasks(case))
    assert len(tasks) >= 0.9 * len(crash_tasks(case))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_three_modes_give_the_same_answers(case):
    answers = []
    for mode in MODES:
        with open_mode(case, mode) as prog:
            prb = prog["prb"]
            ring = prb.desc_ring
            answers.append((
                prb.value_(), int(ring.count_bits), int(ring.head_id.counter),
                prog.type("struct task_struct").size, prog.type("struct task_struct").offsetof("tasks"),
                prog.symbol("linux_banner").address,
                prog.read(prog.symbol("linux_banner").address, 64),
            ))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][-1].startswith(b"Linux version " + case.manifest["kernel_release"].encode())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_prb_is_the_symbol_vmcoreinfo_names(case):
    with open_mode(case, "dump-only") as prog:
        assert prog["prb"].address_ == prog.vmcoreinfo.symbol("prb")
        # prb is &printk_rb_static until setup_log_buf() moves the log to printk_rb_dynamic
        # (log_buf_len= or many CPUs; the corpus guests have neither).
        assert prog["prb"].value_() in (prog.vmcoreinfo.symbol("printk_rb_static"),
                                        prog.symbol("printk_rb_dynamic").address)


def test_a_vmlinux_of_another_build_is_refused():
    by_release = {c.manifest["kernel_release"]: c for c in CASES}
    if len(by_release) < 2:
        pytest.skip("needs dumps of two kernels")
    first, second = list(by_release.values())[:2]
    if not os.path.exists(second.vmlinux):
        pytest.skip("vmlinux not downloaded")
    dump = next(d["name"] for d in first.dumps() if d["format"] == "kdump")
    with pytest.raises(WrongDebugInfoError) as error:
        pycore.open(first.path(dump), vmlinux=second.vmlinux)
    assert "build-id" in str(error.value)


def test_a_system_map_of_another_build_is_refused():
    by_release = {c.manifest["kernel_release"]: c for c in CASES}
    if len(by_release) < 2:
        pytest.skip("needs dumps of two kernels")
    first, second = list(by_release.values())[:2]
    dump = next(d["name"] for d in first.dumps() if d["format"] == "kdump")
    with pycore.open(first.path(dump), system_map=second.path(second.manifest["system_map"])) as prog:
        with pytest.raises(WrongDebugInfoError):
            prog.symbols


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_info_says_which_source_answered(case):
    with open_mode(case, "dump-only") as prog:
        sources = prog.info()["debuginfo"]
    assert sources == {"symbols": "kallsyms (dump)", "types": "btf (dump)"}
