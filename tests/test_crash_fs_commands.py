"""crash's files, vm, mount, net, swap, dev -d and ipcs, answer for answer: pycore's text against
crash 9.0.2's recording on every corpus case, with the vmlinux (DWARF) and without it (the dump's
BTF and kallsyms); the helpers under them (d_path, for_each_mount, for_each_file, for_each_vma,
the maple tree walk, the disks) against drgn 0.3.0 on every task of every case; crash's answers for
every task (foreach) and for options (vm -p, files -d, ...); made-up damage for the walks."""
import argparse
import hashlib
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
            for with_vmlinux in (True, False):
                params.append(pytest.param(case, command, with_vmlinux,
                                           id=f"{case.name}-{command}-{'vmlinux' if with_vmlinux else 'btf'}"))
    return params


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


# crash 9.0.2's answers to more of these commands' options, recorded on 6.12-oom-l5's reference
# dump (/tmp/crashrun.sh); addresses belong to that one build, so they are checked only on the
# dump with this sha256.
OPTIONS_DUMP_SHA256 = "089260637646dc97d86082654fb12cb1c28ae7432a582f9082c383f096d7aed0"
OPTION_ANSWERS = {
    # A kernel thread has no mm: its line of zeros, no areas.
    ("vm", "2"): (
        'PID: 2        TASK: ff2cd4ea81230000  CPU: 0    COMMAND: "kthreadd"\n'
        "       MM               PGD          RSS    TOTAL_VM\n"
        "       0                 0            0k       0k   \n"),
    # ... and no open files, but a root and working directory.
    ("files", "2"): (
        'PID: 2        TASK: ff2cd4ea81230000  CPU: 0    COMMAND: "kthreadd"\n'
        "ROOT: /    CWD: /\n"
        "No open files\n"
        "\n"),
    # A PID with several tasks (the idle task of each CPU), each followed by an empty line.
    ("files", "0"): (
        'PID: 0        TASK: ffffffff9e210940  CPU: 0    COMMAND: "swapper/0"\n'
        "ROOT: /    CWD: /\n"
        "No open files\n"
        "\n"
        'PID: 0        TASK: ff2cd4ea812e0000  CPU: 1    COMMAND: "swapper/1"\n'
        "ROOT: /    CWD: /\n"
        "No open files\n"
        "\n"),
    # A task by address: no empty line after it.
    ("files", "ff2cd4ea81234200"): (
        'PID: 1        TASK: ff2cd4ea81234200  CPU: 1    COMMAND: "init"\n'
        "ROOT: /    CWD: /\n"
        " FD       FILE            DENTRY           INODE       TYPE PATH\n"
        "  0 ff2cd4ea81afbd80 ff2cd4ea81416540 ff2cd4ea81210f58 CHR  /dev/console\n"
        "  1 ff2cd4ea81afbd80 ff2cd4ea81416540 ff2cd4ea81210f58 CHR  /dev/console\n"
        "  2 ff2cd4ea81afbd80 ff2cd4ea81416540 ff2cd4ea81210f58 CHR  /dev/console\n"
        " 10 ff2cd4ea81afb840 ff2cd4ea81417c00 ff2cd4ea81c1cc60 REG  /init\n"),
    ("files", "-d", "ff2cd4ea81416540"): (
        "     DENTRY           INODE           SUPERBLK     TYPE PATH\n"
        "ff2cd4ea81416540 ff2cd4ea81210f58 ff2cd4ea8104a800 CHR  /dev/console\n"),
    # A second task on the command line: an empty line before its header.
    ("vm", "1", "2"): (
        'PID: 1        TASK: ff2cd4ea81234200  CPU: 1    COMMAND: "init"\n'
        "       MM               PGD          RSS    TOTAL_VM\n"
        "ff2cd4ea8106d280  ff2cd4ea81d6a000  1736k    2260k  \n"
        "      VMA           START       END     FLAGS FILE\n"
        "ff2cd4eabfc8ddc0     400000     401000 8000071 /bin/busybox\n"
        "ff2cd4eabfc8dc60     401000     585000 8000075 /bin/busybox\n"
        "ff2cd4eabfc8de70     585000     5db000 8000071 /bin/busybox\n"
        "ff2cd4eabfc8d580     5db000     5e2000 8100071 /bin/busybox\n"
        "ff2cd4eabfc8dd10     5e2000     5e5000 8100073 /bin/busybox\n"
        "ff2cd4eabfc8db00     5e5000     5ec000 8100073 \n"
        "ff2cd4eabfc8d370   1cce3000   1cd05000 8100073 \n"
        "ff2cd4eabfc8d210 7f14b4cef000 7f14b4cf3000 c044411 \n"
        "ff2cd4eabfc8df20 7f14b4cf3000 7f14b4cf5000 8040075 \n"
        "ff2cd4eabfc8d4d0 7ffe44802000 7ffe44823000 100173 \n"
        "\n"
        'PID: 2        TASK: ff2cd4ea81230000  CPU: 0    COMMAND: "kthreadd"\n'
        "       MM               PGD          RSS    TOTAL_VM\n"
        "       0                 0            0k       0k   \n"),
    ("mount", "-n", "1"): (
        "     MOUNT           SUPERBLK     TYPE   DEVNAME   DIRNAME\n"
        "ff2cd4ea811ec900 ff2cd4ea8104a800 rootfs rootfs    /         \n"
        "ff2cd4ea811ec300 ff2cd4ea82aec800 proc   proc      /proc     \n"
        "ff2cd4ea811ed680 ff2cd4ea82aed000 sysfs  sysfs     /sys      \n"
        "ff2cd4ea81d71e00 ff2cd4ea8104f000 devtmpfs devtmpfs /dev      \n"
        "ff2cd4eabea42f00 ff2cd4ea81a56000 tmpfs  tmpfs     /tmp      \n"),
}


def _options_case():
    for case in cases():
        if case.name == "6.12-oom-l5":
            entry = next((d for d in case.manifest["dumps"] if d["name"] == case.reference_dump), None)
            if entry is not None and entry.get("sha256") == OPTIONS_DUMP_SHA256:
                return case
    return None


@pytest.mark.parametrize("words", list(OPTION_ANSWERS), ids=" ".join)
def test_options_print_what_crash_printed(words):
    case = _options_case()
    if case is None:
        pytest.skip("the 6.12-oom-l5 dump these answers were recorded on is not here")
    for argv in ([words[0], case.path(case.reference_dump), *words[1:]],
                 [words[0], case.path(case.reference_dump), *words[1:], "--vmlinux", case.vmlinux]):
        result = pycore_output(*argv)
        assert (result.status, result.err) == (0, "")
        assert result.out == OPTION_ANSWERS[words]


def test_an_unknown_pid_is_a_warning_not_a_failure():
    case = _options_case()
    if case is None:
        pytest.skip("the 6.12-oom-l5 dump is not here")
    result = pycore_output("files", case.path(case.reference_dump), "99999", "1")
    assert result.status == 0
    assert result.err == "files: invalid task or pid value: 99999\n"
    assert result.out == OPTION_ANSWERS[("files", "ff2cd4ea81234200")].replace("PID: 1 ", "\nPID: 1 ", 1) + "\n"


# crash 9.0.2's ``vm -p 1`` (every page of init's areas: physical address, file offset or not
# mapped; about 600 lines) on each case's reference dump, kept as the sha256 of its text beside the
# sha256 of the dump it was recorded on.
VM_PAGES = {
    "5.10-sysrq-l4": ("8c031eec7b975b78bcf84595067444951ecf84a31bc81eb97f8377da3cd43e1e",
                      "cf77973d19544a46d5dd1d1762a114ac59b0932b35d31e227f64d0ddfe0ce9f9"),
    "6.1-oom-l5": ("40e980f10c755bdd7b43b05dd9eb9041c6ec1fd0e6ae488091aab7a6b3c4d0f9",
                   "aef1f46556a6b3b090b423cfab19f333ac819f84d8b45c787b88c87bd24f66a9"),
    "6.1-sysrq-l4": ("e851a9ccbdcf99aa4c2db0d40dcec46f3d3945e96d73074949100e158b1194b8",
                     "6d0bdb987ffa3489b87dda54e559b3e24dd4ee36120584fe1dbf2f9f113c2f0c"),
    "6.12-oom-l5": ("089260637646dc97d86082654fb12cb1c28ae7432a582f9082c383f096d7aed0",
                    "69742347d90e1019942cf6de50da373c97e8f58aa7790dd160ba33541b68f274"),
    "6.12-sysrq-l4-qemu": ("861f4bfcf287217b7f29defd6c0e52af6e52a5042166f50c17829e9c0c82c7ab",
                           "45d0eee61b10768a26db0a7b94c82e7d9e8751a03d1e0ff5bd7d803ff8f589dd"),
    "7.2-sysrq-l4": ("257f9d8191f70747c4f454e1afa50673600be1ff2be41a128374fccb7e9154dd",
                     "776de448421127c65bb609a4cd2e36e9d7dfcd4655d1e86921fc185c7d1000a9"),
    "6.12-hung-l4": ("f93794e77d58c26c3b3e2da284836c21897a490d62399e0a791865ac046eb8b6",
                     "5c37d2bbda826ec50842184e3c1749ae488ea4130b164800390652cdaf59ffa7"),
}


@pytest.mark.parametrize("case", [c for c in cases() if c.name in VM_PAGES], ids=lambda c: c.name)
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
def test_vm_pages_print_what_crash_printed(case, with_vmlinux):
    dump_sha256, text_sha256 = VM_PAGES[case.name]
    entry = next((d for d in case.manifest["dumps"] if d["name"] == case.reference_dump), {})
    if entry.get("sha256") != dump_sha256:
        pytest.skip(f"{case.name}'s reference dump is not the one crash's vm -p was recorded on")
    argv = ["vm", case.path(case.reference_dump), "1", "-p"] + (["--vmlinux", case.vmlinux] if with_vmlinux else [])
    result = pycore_output(*argv)
    assert (result.status, result.err) == (0, "")
    assert "(not mapped)" in result.out and "FILE: /bin/busybox  OFFSET: " in result.out
    assert hashlib.sha256(result.out.encode()).hexdigest() == text_sha256


# crash 9.0.2's ``foreach files`` and ``foreach vm`` (every task of the dump, kernel threads and
# idle tasks too: a header, then the task's files or memory, then an empty line) on each case's
# reference dump: (sha256 of the dump, of the files text, of the vm text).
CRASH_FOREACH = {
    "5.10-sysrq-l4": ("8c031eec7b975b78bcf84595067444951ecf84a31bc81eb97f8377da3cd43e1e",
                      "3c1632dbf2a5c4f2b4d24be7d3ab3620449aa346814f2ef2129dab6a3eff865a",
                      "4fa69f5e82e5fcba99758323f08f0de7826bd1e623b384bc17b0fbefdaadab37"),
    "6.1-oom-l5": ("40e980f10c755bdd7b43b05dd9eb9041c6ec1fd0e6ae488091aab7a6b3c4d0f9",
                   "1b7cbd42e0758948238707784c44176c6e10b09362b240c852f6cd0e55d8b9d0",
                   "6b38f5b93ba574dad61ad52dbea559d364d33d3012c148de736e9a63da053837"),
    "6.1-sysrq-l4": ("e851a9ccbdcf99aa4c2db0d40dcec46f3d3945e96d73074949100e158b1194b8",
                     "673ff1095ef5b8b2fb3e37e18ee93a06c16090043635e90812b81b238c032b74",
                     "780573b187875fd70f40fc4426b54f7cb2294d3ec87f32cc536cd1b3e8ccd80a"),
    "6.12-hung-l4": ("f93794e77d58c26c3b3e2da284836c21897a490d62399e0a791865ac046eb8b6",
                     "df335118750e4e3c89df39484b6f7f9c3db0a4ab64b02bd92f1b0c49dc15907d",
                     "7f55a9f95f0a91ab020fb2de8ae90dbe58d9c605d7d390154c7621ae5d94ed58"),
    "6.12-oom-l5": ("089260637646dc97d86082654fb12cb1c28ae7432a582f9082c383f096d7aed0",
                    "a36e5df8cc06c85f41fe3153206095d494ada4b2a31d6572f93af2cf0c300c99",
                    "f6b3ba0dd8d16d47e5a2b4dec13dbedab991996414aaab96c955395baf416377"),
    "6.12-sysrq-l4-qemu": ("861f4bfcf287217b7f29defd6c0e52af6e52a5042166f50c17829e9c0c82c7ab",
                           "85790a9b8797bf7e3dd078d6bb97b88e7b76038f1478c99338f49295b6398837",
                           "4114e1be62a23894ed8f5af7ff676f173ed2129f982d2f0e66ad887cc9fbc8b9"),
    "7.2-sysrq-l4": ("257f9d8191f70747c4f454e1afa50673600be1ff2be41a128374fccb7e9154dd",
                     "d85219e311e96c550bb3f4c2a32d4c92103b3cf6eb53f88c4b1cbf16bdb20b2e",
                     "82ea813812abd22c4e8b81f15a6bd0a100964a2ee56c38d876f5f1672535506a"),
}


def _for_every_task(prog, collect_row, render) -> str:
    """The text of one command run on each task as crash's foreach runs it."""
    text = []
    for task in crash_task_list(prog):
        row = collect_row(task)
        row.update(by_pid=False, word=0)
        text.append(render({"tasks": [row]}, argparse.Namespace()).rstrip("\n") + "\n\n")
    return "".join(text)


@pytest.mark.parametrize("case", [c for c in cases() if c.name in CRASH_FOREACH], ids=lambda c: c.name)
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
def test_every_task_s_files_and_vm_are_crash_s(case, with_vmlinux):
    dump_sha256, files_sha256, vm_sha256 = CRASH_FOREACH[case.name]
    entry = next((d for d in case.manifest["dumps"] if d["name"] == case.reference_dump), {})
    if entry.get("sha256") != dump_sha256 or (with_vmlinux and not os.path.exists(case.vmlinux)):
        pytest.skip(f"{case.name}'s reference dump or vmlinux is not the one crash's foreach was recorded with")
    prog = pycore_program(case, with_vmlinux)
    files_text = _for_every_task(prog, files_cli.task_files, files_cli.render)
    vm_text = _for_every_task(prog, lambda task: vm_cli.task_vm(task, prog.dump.page_size), vm_cli.render)
    assert "No open files" in files_text and "/bin/busybox" in vm_text
    assert hashlib.sha256(files_text.encode()).hexdigest() == files_sha256
    assert hashlib.sha256(vm_text.encode()).hexdigest() == vm_sha256


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
        if expected is None:
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
