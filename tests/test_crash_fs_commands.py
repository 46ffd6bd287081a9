"""crash's files, vm, mount, net, swap, dev -d and ipcs, answer for answer: pycore's text against
crash 9.0.2's recording on every corpus case, with the vmlinux (DWARF) and without it (the dump's
BTF and kallsyms); the helpers under them (d_path, for_each_mount, for_each_file, for_each_vma,
the maple tree walk, the disks) against drgn 0.3.0 on every task of every case; crash's answers for
every task (foreach) and for options (vm -p, files -d, ...), all recorded in the corpus; made-up
damage for the walks."""
import argparse
import os

import pytest

from pycore.cli import files as files_cli
from pycore.cli import vm as vm_cli
from pycore.kernel import block, fs, maple_tree, vma
from pycore.kernel.sched import crash_task_list, for_each_task
from pycore.object import Object
from pycore.types.model import Member, array_type, int_type, pointer_type, struct_type, union_type, void_type

from corpus import cases, pycore_output
from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram

# The commands the corpus records crash's answer to (testdata/corpus/reference.py FULL_COMMANDS).
RECORDED = ["files 1", "vm 1", "mount", "net", "swap", "dev -d", "ipcs"]


def _recorded():
    params = []
    for case in cases():
        if case.name == "sample":
            continue
        for command in RECORDED:
            marks = [pytest.mark.xfail(strict=True, reason=CRASH_FAILS)] if crash_failed(case, command) else []
            for with_vmlinux in (True, False):
                params.append(pytest.param(case, command, with_vmlinux, marks=marks,
                                           id=f"{case.name}-{command}-{'vmlinux' if with_vmlinux else 'btf'}"))
    return params


# crash 9.0.2 stops with its own error on a kernel newer than it (7.2's swap_info_struct has no
# swap_map: the swap table of 6.18+); pycore's swap there is checked by tests/test_zswap.py.
CRASH_FAILS = "crash 9.0.2 fails on this kernel: invalid structure member offset"


def crash_failed(case, command: str) -> bool:
    return "invalid structure member offset" in (case.reference(command) or "")


@pytest.mark.parametrize("case,command,with_vmlinux", _recorded())
def test_command_prints_what_crash_recorded(case, command, with_vmlinux):
    expected = case.reference(command)
    if expected is None:
        pytest.skip(f"no crash recording of {command!r} on {case.name}")
    words = command.split()
    argv = [words[0], case.path(case.reference_dump), *words[1:]]
    if with_vmlinux:
        argv += ["--vmlinux", case.vmlinux]
    result = pycore_output(*argv)
    assert (result.status, result.err) == (0, "")
    assert result.out == expected


# crash 9.0.2's answers to more of these commands' options, recorded on every case (reference.py's
# FULL_COMMANDS): a kernel thread's (no mm, no open files; a root and working directory), a PID with
# several tasks (the idle tasks, each followed by an empty line), a second task on the command line
# (an empty line before its header), mount -n; and the per-dump forms: a task by address (no empty
# line after it) and files -d of a dentry.
OPTIONS = ["vm 2", "files 2", "files 0", "vm 1 2", "mount -n 1"]
ADDRESSED = ("files 0x", "files -d 0x")


def _options():
    params = []
    for case in cases():
        if case.name == "sample":
            continue
        commands = OPTIONS + [r["command"] for r in case.references("files ") if r["command"].startswith(ADDRESSED)
                              and r.get("dump") == case.reference_dump]
        for command in commands:
            for with_vmlinux in (True, False):
                params.append(pytest.param(case, command, with_vmlinux,
                                           id=f"{case.name}-{command}-{'vmlinux' if with_vmlinux else 'btf'}"))
    return params


@pytest.mark.parametrize("case,command,with_vmlinux", _options())
def test_options_print_what_crash_printed(case, command, with_vmlinux):
    expected = case.reference(command, case.reference_dump)
    if expected is None:
        pytest.skip(f"no crash recording of {command!r} on {case.name}: a corpus built before it was recorded")
    words = command.split()
    argv = [words[0], case.path(case.reference_dump), *words[1:]] + (["--vmlinux", case.vmlinux] if with_vmlinux else [])
    result = pycore_output(*argv)
    assert (result.status, result.err) == (0, "")
    assert result.out == expected


def test_an_unknown_pid_is_a_warning_not_a_failure():
    case = next((c for c in cases() if c.name != "sample" and c.reference("files 1", c.reference_dump)), None)
    if case is None:
        pytest.skip("no corpus case with crash's files 1 recorded")
    result = pycore_output("files", case.path(case.reference_dump), "99999", "1")
    assert result.status == 0
    assert result.err == "files: invalid task or pid value: 99999\n"
    # The unknown PID's block is empty, so pid 1's starts after the empty line between blocks.
    assert result.out == "\n" + case.reference("files 1", case.reference_dump)


@pytest.mark.parametrize("case", [c for c in cases() if c.name != "sample"], ids=lambda c: c.name)
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
def test_vm_pages_print_what_crash_printed(case, with_vmlinux):
    """crash's ``vm -p 1``: every page of init's areas, its physical address, file offset or not mapped."""
    expected = case.reference("vm -p 1", case.reference_dump)
    if expected is None:
        pytest.skip(f"no crash recording of vm -p 1 on {case.name}")
    argv = ["vm", case.path(case.reference_dump), "1", "-p"] + (["--vmlinux", case.vmlinux] if with_vmlinux else [])
    result = pycore_output(*argv)
    assert (result.status, result.err) == (0, "")
    assert "(not mapped)" in result.out and "FILE: /bin/busybox  OFFSET: " in result.out
    assert result.out == expected


def _for_every_task(prog, collect_row, render) -> str:
    """The text of one command run on each task as crash's foreach runs it: an empty line between
    two tasks' blocks, none after the last."""
    blocks = []
    for task in crash_task_list(prog):
        row = collect_row(task)
        row.update(by_pid=False, word=0)
        blocks.append(render({"tasks": [row]}, argparse.Namespace()).rstrip("\n") + "\n")
    return "\n".join(blocks)


@pytest.mark.parametrize("case", [c for c in cases() if c.name != "sample"], ids=lambda c: c.name)
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
def test_every_task_s_files_and_vm_are_crash_s(case, with_vmlinux):
    """crash's ``foreach files`` and ``foreach vm``: every task of the dump, kernel threads and idle
    tasks too, a header, then the task's files or memory, then an empty line."""
    files_expected = case.reference("foreach files", case.reference_dump)
    vm_expected = case.reference("foreach vm", case.reference_dump)
    if files_expected is None or vm_expected is None or (with_vmlinux and not os.path.exists(case.vmlinux)):
        pytest.skip(f"no crash recording of foreach files and foreach vm on {case.name}, or no vmlinux")
    prog = pycore_program(case, with_vmlinux)
    files_text = _for_every_task(prog, files_cli.task_files, files_cli.render)
    vm_text = _for_every_task(prog, lambda task: vm_cli.task_vm(task, prog.dump.page_size), vm_cli.render)
    assert "No open files" in files_text and "/bin/busybox" in vm_text
    assert files_text == files_expected
    assert vm_text == vm_expected


# -- the helpers against drgn ------------------------------------------------------------------
@pytest.fixture(scope="module", params=vmlinux_cases(), ids=case_ids)
def both(request):
    return pycore_program(request.param, False), drgn_program(request.param)


def _drgn_task(dprog, task):
    import drgn

    return drgn.Object(dprog, "struct task_struct *", int(task))


def test_every_task_has_drgn_s_vmas(both):
    prog, dprog = both
    from drgn.helpers.linux.mm import for_each_vma as drgn_for_each_vma

    compared = 0
    for task in for_each_task(prog):
        if not int(task.mm):
            continue
        ours = [(int(v), int(v.vm_start), int(v.vm_end), vma.vma_flags(v)) for v in vma.for_each_vma(task.mm)]
        theirs = [(v.value_(), v.vm_start.value_(), v.vm_end.value_(), v.vm_flags.value_())
                  for v in drgn_for_each_vma(_drgn_task(dprog, task).mm)]
        assert ours == theirs, f"task {int(task):#x}"
        compared += len(ours)
    assert compared > 10


def test_every_open_file_has_drgn_s_path(both):
    prog, dprog = both
    from drgn.helpers.linux.fs import d_path as drgn_d_path
    from drgn.helpers.linux.fs import for_each_file as drgn_for_each_file

    compared = 0
    for task in for_each_task(prog):
        # A descriptor being opened has its bit set before its file is installed (NULL).
        ours = [(fd, int(file), fs.d_path(file.f_path)) for fd, file in fs.for_each_file(task) if int(file)]
        theirs = [(fd, file.value_(), drgn_d_path(file.f_path))
                  for fd, file in drgn_for_each_file(_drgn_task(dprog, task)) if file.value_()]
        assert ours == theirs, f"task {int(task):#x}"
        # A lone dentry's path, through a mount of its superblock drgn picks alike.
        ours = [fs.d_path(fs.file_dentry(file)) for _, file in fs.for_each_file(task) if int(file)]
        theirs = [drgn_d_path(file.f_path.dentry) for _, file in drgn_for_each_file(_drgn_task(dprog, task))
                  if file.value_()]
        assert ours == theirs, f"task {int(task):#x}"
        compared += len(ours)
    assert compared >= 4


def test_mounts_and_their_names_are_drgn_s(both):
    prog, dprog = both
    from drgn.helpers.linux import fs as drgn_fs

    ours = [(int(m), fs.mount_src(m), fs.mount_dst(m), fs.mount_fstype(m)) for m in fs.for_each_mount(prog)]
    theirs = [(m.value_(), drgn_fs.mount_src(m), drgn_fs.mount_dst(m), drgn_fs.mount_fstype(m))
              for m in drgn_fs.for_each_mount(dprog)]
    assert ours == theirs
    assert [m for m in fs.for_each_mount(prog, fstype="proc")] and all(
        fs.mount_dst(m) == b"/proc" for m in fs.for_each_mount(prog, fstype=b"proc"))


def test_disks_and_their_requests_in_flight_are_drgn_s(both):
    prog, dprog = both
    from drgn.helpers.linux.block import for_each_disk as drgn_for_each_disk
    from drgn.helpers.linux.block import request_queue_busy_iter

    ours = [(int(disk), int(disk.queue)) for disk in block.for_each_disk(prog)]
    theirs = [(disk.value_(), disk.queue.value_()) for disk in drgn_for_each_disk(dprog)]
    assert ours == theirs
    for disk in drgn_for_each_disk(dprog):
        queue = disk.queue
        busy = [rq for rq in request_queue_busy_iter(queue, "driver")
                if rq.q == queue and rq.state.value_() == block.MQ_RQ_IN_FLIGHT]
        writes = sum(1 for rq in busy if rq.cmd_flags.value_() & 1)
        pycore_queue = Object(prog, prog.type("struct request_queue *"), queue.value_())
        assert block.queue_in_flight(pycore_queue) == (len(busy) - writes, writes)


# -- made-up damage ----------------------------------------------------------------------------
def _maple_program():
    """A FakeProgram that knows the maple tree's node layout (64-bit, 16 slots: 6.1 to 7.2)."""
    prog = FakeProgram()
    ulong = int_type("unsigned long", 8, False)
    uchar = int_type("unsigned char", 1, False)
    void_p = pointer_type(void_type())
    metadata = struct_type("maple_metadata", 2, [Member("end", uchar, 0), Member("gap", uchar, 8)])
    range64 = struct_type("maple_range_64", 256, [
        Member("parent", void_p, 0), Member("pivot", array_type(ulong, 15), 64),
        Member(None, union_type(None, 128, [
            Member("slot", array_type(void_p, 16), 0),
            Member(None, struct_type(None, 128, [Member("pad", array_type(void_p, 15), 0),
                                                  Member("meta", metadata, 960)]), 0)]), 1024)])
    arange64 = struct_type("maple_arange_64", 248, [
        Member("parent", void_p, 0), Member("pivot", array_type(ulong, 9), 64),
        Member("slot", array_type(void_p, 10), 640), Member("gap", array_type(ulong, 10), 1280),
        Member("meta", metadata, 1920)])
    node = struct_type("maple_node", 256, [Member(None, union_type(None, 256, [
        Member("mr64", range64, 0), Member("ma64", arange64, 0)]), 0)])
    tree = struct_type("maple_tree", 16, [Member("ma_lock", int_type("unsigned int", 4, False), 0),
                                          Member("ma_flags", int_type("unsigned int", 4, False), 32),
                                          Member("ma_root", void_p, 64)])
    prog.types.types.update({("struct", "maple_metadata"): metadata, ("struct", "maple_range_64"): range64,
                             ("struct", "maple_arange_64"): arange64, ("struct", "maple_node"): node,
                             ("struct", "maple_tree"): tree})
    return prog


def _leaf(prog, address, pivots, slots):
    prog.put(address + 8, *(pivots + [0] * (15 - len(pivots))))
    prog.put(address + 128, *(slots + [0] * (16 - len(slots))))
    prog.put_byte(address + 248, len(pivots))


def test_a_leaf_root_gives_its_ranges_in_order():
    prog = _maple_program()
    node = BASE + 0x1000
    _leaf(prog, node, [0xfff, 0x1fff, 0x4fff], [0, BASE + 0x100, 0, BASE + 0x200])
    prog.put(BASE, 0, node | (maple_tree.maple_leaf_64 << 3) | 2)
    tree = Object(prog, prog.type("struct maple_tree *"), BASE)
    assert list(maple_tree.mt_for_each(tree)) == [(0x1000, 0x1fff, BASE + 0x100), (0x5000, (1 << 64) - 1, BASE + 0x200)]
    assert maple_tree.mtree_load(tree, 0x1800) == BASE + 0x100
    assert maple_tree.mtree_load(tree, 0x2000) == 0


def test_a_node_that_is_its_own_child_is_named_not_looped_on():
    prog = _maple_program()
    node = BASE + 0x1000
    encoded = node | (maple_tree.maple_range_64 << 3) | 2
    _leaf(prog, node, [0xfff], [encoded, encoded])
    prog.put(BASE, 0, encoded)
    tree = Object(prog, prog.type("struct maple_tree *"), BASE)
    with pytest.raises(maple_tree.MapleTreeCorruptError, match=f"{BASE:#x}"):
        list(maple_tree.mt_for_each(tree))


def test_a_node_of_unknown_type_is_an_error():
    prog = _maple_program()
    prog.put(BASE, 0, (BASE + 0x1000) | (7 << 3) | 2)
    tree = Object(prog, prog.type("struct maple_tree *"), BASE)
    with pytest.raises(maple_tree.MapleTreeCorruptError, match="unknown type 7"):
        list(maple_tree.mt_for_each(tree))


def _path_program():
    """A FakeProgram with the members d_path reads: dentry, qstr, vfsmount and mount."""
    prog = FakeProgram()
    void_p = pointer_type(void_type())
    char_p = pointer_type(int_type("char", 1, True))
    qstr = struct_type("qstr", 16, [Member("hash_len", int_type("unsigned long", 8, False), 0),
                                    Member("name", char_p, 64)])
    dentry = struct_type("dentry", 48, lambda: [
        Member("d_parent", pointer_type(dentry), 0), Member("d_name", qstr, 64), Member("d_op", void_p, 192),
        Member("d_sb", void_p, 256), Member("d_inode", void_p, 320)])
    vfsmount = struct_type("vfsmount", 8, [Member("mnt_root", pointer_type(dentry), 0)])
    mount = struct_type("mount", 24, lambda: [Member("mnt_parent", pointer_type(mount), 0),
                                              Member("mnt_mountpoint", pointer_type(dentry), 64),
                                              Member("mnt", vfsmount, 128)])
    prog.types.types.update({("struct", "qstr"): qstr, ("struct", "dentry"): dentry,
                             ("struct", "vfsmount"): vfsmount, ("struct", "mount"): mount})
    return prog


def test_a_path_that_never_reaches_a_root_is_an_error_not_a_hang():
    prog = _path_program()
    first, second, mount, name = BASE + 0x100, BASE + 0x200, BASE + 0x300, BASE + 0x400
    prog.put(name, int.from_bytes(b"loop\0\0\0\0", "little"))
    prog.put(first, second, 0, name)      # d_parent, d_name.hash_len, d_name.name
    prog.put(second, first, 0, name)
    prog.put(mount, mount, 0, BASE + 0x800)  # its own parent; its root is no dentry of the loop
    vfsmnt = Object(prog, prog.type("struct vfsmount *"), mount + 16)
    with pytest.raises(fs.PathLoopError, match=f"{first:#x}|{second:#x}"):
        fs.d_path(vfsmnt, Object(prog, prog.type("struct dentry *"), first))


def test_a_path_crosses_into_the_parent_mount():
    prog = _path_program()
    root, dev, console, dev_root = BASE + 0x100, BASE + 0x200, BASE + 0x300, BASE + 0x400
    top, devtmpfs = BASE + 0x500, BASE + 0x600
    names = {"dev": BASE + 0x700, "console": BASE + 0x710}
    prog.put(names["dev"], int.from_bytes(b"dev\0\0\0\0\0", "little"))
    prog.put(names["console"], int.from_bytes(b"console\0", "little"))
    prog.put(root, root, 0, 0)
    prog.put(dev, root, 0, names["dev"])
    prog.put(dev_root, dev_root, 0, 0)
    prog.put(console, dev_root, 0, names["console"])
    prog.put(top, top, root, root)             # the root mount: its own parent, mounted on its root
    prog.put(devtmpfs, top, dev, dev_root)     # devtmpfs on /dev
    vfsmnt = Object(prog, prog.type("struct vfsmount *"), devtmpfs + 16)
    assert fs.d_path(vfsmnt, Object(prog, prog.type("struct dentry *"), console)) == b"/dev/console"
    assert fs.dentry_path(Object(prog, prog.type("struct dentry *"), console)) == b"console"


def _filtered_dumps():
    """(case, dump name) of each case's flattened makedumpfile -d 31 dump: the same machine as the
    reference dump, with the pages the filter drops (on 7.x some slab pages of live objects too)."""
    return [pytest.param(case, d["name"], id=f"{case.name}/{d['name']}") for case in cases()
            if case.name != "sample" for d in case.dumps() if d.get("format") == "flattened"]


@pytest.mark.parametrize("case,dump", _filtered_dumps())
def test_a_filtered_dump_gives_crash_s_answer_or_its_beginning_and_why_not(case, dump):
    for command in RECORDED:
        expected = case.reference(command)
        if expected is None or crash_failed(case, command):
            continue
        words = command.split()
        result = pycore_output(words[0], case.path(dump), *words[1:])
        if result.status == 0:
            assert (result.out, result.err) == (expected, "")
            continue
        # Memory the filter left out: what was read before it, then one line saying where.
        assert result.status == 1 and expected.startswith(result.out), command
        assert result.err.startswith(f"pycore {words[0]}: ") and "excluded" in result.err, command
        assert result.err.count("\n") == 1, command


# -- dumps that cannot answer ----------------------------------------------------------------------
MY_COMMANDS = [["files", "1"], ["vm", "1"], ["vm", "1", "-p"], ["files", "-d", "ffff888000000000"], ["mount"], ["net"],
               ["swap"], ["dev", "-d"], ["ipcs"]]


@pytest.mark.parametrize("command", MY_COMMANDS, ids=" ".join)
def test_not_a_dump_or_a_dump_without_symbols_is_one_line_saying_so(tmp_path, command):
    from conftest import synthetic, write

    text = write(tmp_path, "notes.txt", b"this is not a vmcore\n" * 100)
    result = pycore_output(command[0], text, *command[1:])
    assert result.status == 1 and result.out == "" and "not a vmcore" in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    # The synthetic kernel's VMCOREINFO has no kallsyms tables, as before Linux 6.0.
    old = write(tmp_path, "old.vmcore", synthetic.build_kdump(synthetic.make_machine(), "zlib")[0])
    result = pycore_output(command[0], old, *command[1:])
    assert result.status == 1 and result.err.startswith(f"pycore {command[0]}: ")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


@pytest.mark.parametrize("command", MY_COMMANDS, ids=" ".join)
def test_a_dump_cut_in_half_is_one_line_naming_what_is_missing(tmp_path, command, monkeypatch):
    from corpus import SAMPLE

    whole = os.path.join(SAMPLE, "vmcore")
    if not os.path.exists(whole):
        pytest.skip("testdata/sample/vmcore is missing")
    # The whole dump's cached kallsyms and BTF would lend the cut one its symbols.
    monkeypatch.setenv("PYCORE_NO_CACHE", "1")
    half = tmp_path / "half.vmcore"
    with open(whole, "rb") as f:
        half.write_bytes(f.read(os.path.getsize(whole) // 2))
    result = pycore_output(command[0], str(half), *command[1:])
    assert result.status == 1 and result.err.startswith(f"pycore {command[0]}: ")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
