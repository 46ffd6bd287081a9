"""crash 9's kernel-state commands (issue 13, part B): foreach, waitq, log -a/-s, kmem -V/-f/-g/-p, net -s,
dev and mount NAME, compared byte for byte with crash's recordings on every corpus case, with the vmlinux
and without it; where crash is wrong (mount NAME everywhere, dev's module symbols on 7.2) the test says
why and what holds instead.  Then what no recording shows: the layouts of sockets, free-list checks,
safe-buffer records and the words foreach and waitq take."""
import argparse
import contextlib
import io
import os
import re

import pytest

from pycore.cli import dev, foreach, kmem, log, main, mount, net, waitq
from pycore.errors import PycoreError, ValidationError
from pycore.kernel import fs
from pycore.types.model import Member, int_type, pointer_type, struct_type

from cli_cases import SAMPLE_DUMP, argv, cut_sample
from corpus import cases, pycore_output
from fake_program import BASE, FakeProgram
from crash_reference import known_gap, recorded_params

# crash's commands as the corpus records them (testdata/corpus/reference.py FULL_COMMANDS).
COMMANDS = ["foreach UN bt", "foreach RU task -R pid", "foreach kernel ps", "foreach user files", "foreach net -s",
            "foreach init vm", "waitq khugepaged_wait", "waitq kauditd_wait", "waitq log_wait", "log -a", "log -s",
            "kmem -V", "kmem -f", "kmem -g", "kmem -p 0x1000", "kmem -p 0x1000000", "net -s", "net -s 1", "dev",
            "mount /", "mount /proc", "foreach active ps", "foreach gleader ps"]


def _foreach_bt_gaps(case, command: str, mode: str) -> list:
    """foreach UN bt shows foreach bt's blocked tasks: where crash walks their stacks wrong
    (crash_reference.KNOWN_GAPS), so does this, when it lists any."""
    traced = command == "foreach UN bt" and case.reference(command, case.reference_dump).strip()
    return known_gap(case.name, "foreach bt", mode, case.reference_dump) if traced else []


def _mount_lines(case, name: str):
    """crash's own mount listing, its header and the lines whose directory is ``name``."""
    listing = case.reference("mount", case.reference_dump).splitlines()
    return [listing[0]] + [line for line in listing[1:] if line.split()[4] == name]


def _dev_module_names(case, expected: str, got: str) -> str:
    """crash 9.0.2 on 7.2 runs with --no_modules: it names no module symbol, so a module's operations
    are hex in its dev table.  pycore names them: each such hex must be what pycore's sym names."""
    fixed = []
    for crash_line, line in zip(expected.splitlines(), got.splitlines()):
        words = crash_line.split()
        if words and re.fullmatch(r"ffffffffc[0-9a-f]{7}", words[-1]):
            name = line.split()[-1]
            named = pycore_output("sym", case.path(case.reference_dump), words[-1]).out
            assert re.search(rf"^{words[-1]} \(.\) {re.escape(name)} \[", named, re.M), named
            crash_line = crash_line[:crash_line.rindex(words[-1])] + name
        fixed.append(crash_line)
    return "\n".join(fixed) + "\n"


@pytest.mark.real
@pytest.mark.parametrize("case,command,options", recorded_params(COMMANDS, marks=_foreach_bt_gaps))
def test_command_prints_what_crash_printed(case, command, options):
    """The whole output, byte for byte, but where crash is wrong:

    * ``mount NAME``: crash 9.0.2 prints the first mount whatever NAME is (its search of the mount
      listing also lists each super_block's open files, and stops at the s_files list 3.13 removed);
      pycore prints crash's own ``mount`` line of that directory.
    * ``dev`` on 7.2: crash names no module symbol there (--no_modules), pycore does (see above)."""
    expected = case.reference(command, case.reference_dump)
    result = pycore_output(*argv(case, command, options))
    assert (result.status, result.err) == (0, ""), result.err
    if command.startswith("mount "):
        expected = "\n".join(_mount_lines(case, command.split()[1])) + "\n"
    if command == "dev" and case.crash_wrong("mod"):
        expected = _dev_module_names(case, expected, result.out)
    assert result.out == expected


@pytest.mark.real
@pytest.mark.parametrize("case", [c for c in cases() if c.reference("foreach bt") is not None], ids=lambda c: c.name)
def test_foreach_bt_of_chosen_tasks_is_their_part_of_bt_all_tasks(case):
    """foreach runs bt with each chosen task as the context: the idle tasks' traces (foreach 0 bt)
    are the first blocks of bt --all-tasks, crash's foreach bt, as crash joins them."""
    everything = pycore_output(*argv(case, "bt --all-tasks")).out.split("\n\n")
    idle = pycore_output(*argv(case, "foreach 0 bt")).out.rstrip("\n").split("\n\n")
    assert idle == [block.rstrip("\n") for block in everything[:len(idle)]]
    assert all(block.startswith("PID: 0 ") for block in idle)
    # A state no task is in chooses none (crash prints nothing); a PID no task has is an error.
    assert pycore_output(*argv(case, "foreach TR bt")) == (0, "", "")
    missing = pycore_output(*argv(case, "foreach 99999 bt"))
    assert missing.status == 1 and 'unknown argument: "99999"' in missing.err


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_waitq_takes_the_queue_by_symbol_by_address_and_by_struct_member(case):
    """The three spellings crash's waitq takes name the same queue: khugepaged_wait by its symbol, by
    its address, and as a member of a struct at the address that puts the member there."""
    dump = case.path(case.reference_dump)
    address = int(pycore_output("sym", dump, "khugepaged_wait").out.split()[0], 16)
    by_symbol = pycore_output("waitq", dump, "khugepaged_wait").out
    by_address = pycore_output("waitq", dump, f"{address:x}").out
    # khugepaged sleeps there between scans (the committed sample caught it awake).
    if by_symbol.startswith("wait queue"):
        assert (by_symbol, by_address) == (f'wait queue "khugepaged_wait" ({address:x}) is empty\n',
                                           f"wait queue {address:x} is empty\n")
    else:
        assert re.fullmatch(r'PID: \d+ +TASK: [0-9a-f]+  CPU: \d+ +COMMAND: "khugepaged"\n', by_symbol)
        assert by_address == by_symbol
    # struct wait_queue_head's own first member (lock) sits where the queue starts.
    assert pycore_output("waitq", dump, "wait_queue_head.lock", f"{address:x}").out == by_address
    empty = pycore_output("waitq", dump, "log_wait").out
    assert re.fullmatch(r'wait queue "log_wait" \(([0-9a-f]+)\) is empty\n', empty)
    queue = re.search(r"\(([0-9a-f]+)\)", empty).group(1)
    assert pycore_output("waitq", dump, queue).out == f"wait queue {queue} is empty\n"


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_mount_names_a_mount_by_each_of_its_columns(case):
    """mount NAME picks a mount by its mount, vfsmount or superblock address (0x or not), its type,
    device name or directory: the same line each time; a name of no mount prints the header alone."""
    dump = case.path(case.reference_dump)
    listing = pycore_output("mount", dump).out.splitlines()
    proc = next(line for line in listing if line.split()[4] == "/proc")
    mount_address, superblock = proc.split()[:2]
    for name in (mount_address, "0x" + superblock, "/proc/", proc.split()[2]):
        assert pycore_output("mount", dump, name).out.splitlines() == [listing[0], proc], name
    assert pycore_output("mount", dump, "/no/such/dir").out.splitlines() == [listing[0]]


# -- what no recording shows ---------------------------------------------------------------------------------
def test_foreach_reads_the_selection_up_to_the_first_command_name():
    assert foreach.split_words(["RU", "task", "-R", "pid"]) == {"selection": ["RU"], "command": "task",
                                                                 "arguments": ["-R", "pid"]}
    # A task named like a command is written with a backslash.
    assert foreach.split_words(["\\bt", "1", "files"])["selection"] == ["bt", "1"]
    assert foreach.split_words(["bt", "-s"]) == {"selection": [], "command": "bt", "arguments": ["-s"]}
    with pytest.raises(PycoreError, match="no command to run"):
        foreach.split_words(["kernel", "UN"])
    # pycore's own options after the dump would be lost among foreach's words.
    with pytest.raises(PycoreError, match="put it before the dump"):
        foreach.split_words(["UN", "bt", "--vmlinux", "/boot/vmlinux"])


def test_waitq_names_an_empty_queue_by_symbol_or_address():
    assert waitq.render({"name": "log_wait", "address": 0xffffffff9dad2350, "waiters": []}, None) == \
        'wait queue "log_wait" (ffffffff9dad2350) is empty\n'
    assert waitq.render({"name": None, "address": 0xffff88810a0b0c08, "waiters": []}, None) == \
        "wait queue ffff88810a0b0c08 is empty\n"
    waiter = {"pid": 36, "task": 0xffff8dacaa31a0c0, "cpu": 1, "comm": "khugepaged", "wake_function": None}
    assert waitq.render({"name": "khugepaged_wait", "address": 1, "waiters": [waiter]}, None) == \
        'PID: 36       TASK: ffff8dacaa31a0c0  CPU: 1    COMMAND: "khugepaged"\n'


def test_net_s_lists_a_socket_as_crash_64_bit_layout():
    """crash's sym_socket_dump() and get_sock_info(): FD, socket, sock, FAMILY:TYPE, and for AF_INET
    the local and remote ADDRESS-PORT (the corpus holds no task with a socket)."""
    inet = {"fd": 3, "socket": 0xffff888104a3c000, "sock": 0xffff888104ba8000, "family": 2, "type": 1,
            "source": bytes([10, 0, 2, 15]), "source_port": 22, "destination": bytes([10, 0, 2, 2]),
            "destination_port": 51234}
    assert net.socket_line(inet) == "%s %16x %16x INET:STREAM  10.0.2.15-22 10.0.2.2-51234" % (
        " 3", 0xffff888104a3c000, 0xffff888104ba8000)
    unix = dict(inet, fd=12, family=1, type=2, source=None, destination=None)
    assert net.socket_line(unix).endswith(" UNIX:DGRAM  ")
    data = {"tasks": [{"pid": 1, "task": 0xffff1, "cpu": 0, "comm": "init", "sockets": [inet]},
                      {"pid": 2, "task": 0xffff2, "cpu": 1, "comm": "kthreadd", "sockets": []}]}
    lines = net.render_sockets(data).splitlines()
    assert lines[1] == "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT"
    assert lines[3:] == ["", 'PID: 2        TASK: ffff2  CPU: 1    COMMAND: "kthreadd"', "No open sockets."]


def test_mount_name_matches_a_column_or_the_vfsmount_inside_the_mount():
    row = {"mount": 0xffff8911018568c0, "superblock": 0xffff891102596000, "type": "tmpfs", "devname": "tmpfs",
           "dirname": "/tmp"}
    assert mount.names_mount(row, "ffff8911018568c0", 0x20)
    assert mount.names_mount(row, "0xffff891102596000", 0x20)
    assert mount.names_mount(row, "ffff8911018568e0", 0x20)  # &mount->mnt
    assert mount.names_mount(row, "/tmp/", 0x20) and mount.names_mount(row, "tmpfs", 0x20)
    assert not mount.names_mount(row, "/", 0x20) and not mount.names_mount(row, "ffff8911018568c8", 0x20)


def test_kmem_f_says_how_many_free_pages_it_found_when_they_disagree():
    zone = {"node": 0, "index": 0, "name": "DMA", "size": 4095, "free": 3808, "mem_map": 0xffffedbd80000040,
            "start_paddr": 0x1000, "start_mapnr": 0,
            "free_lists": [{"order": 0, "migrate_type": 0, "address": 0xffff89113ee37100, "blocks": 2},
                           {"order": 3, "migrate_type": 1, "address": 0xffff89113ee37218, "blocks": 1}]}
    empty = dict(zone, index=2, name="Normal", size=0, free=0, mem_map=0, start_paddr=0, free_lists=[])
    text = kmem.render_free_areas({"zones": [zone, empty], "nr_free_pages": 10, "page_size": 4096})
    lines = text.splitlines()
    assert lines[1] == "  0   DMA         4095    3808  ffffedbd80000040      1000          0     "
    assert lines[3:5] == ["  0       4k  ffff89113ee37100       2      2", "  3      32k  ffff89113ee37218       1      8"]
    assert lines[7] == "  2   Normal         0       0         0               0            0     "
    assert lines[-1] == "nr_free_pages: 10  (verified)"
    assert kmem.render_free_areas({"zones": [zone], "nr_free_pages": 11, "page_size": 4096}).endswith(
        "nr_free_pages: 11  (found 10)")
    # Two nodes: each under NODE and its number, a dashed rule between them (crash with NODES).
    two = kmem.render_free_areas({"zones": [zone, dict(empty, node=1)], "nr_free_pages": 10, "page_size": 4096})
    assert two.splitlines()[:2] == ["NODE", "  0"]
    assert two.splitlines()[8:12] == ["-" * 74, "", "NODE", "  1"]


def test_kmem_g_pads_the_names_to_the_longest():
    flags = [{"name": "PG_locked", "bit": 0}, {"name": "PG_owner_priv_1", "bit": 10}]
    assert kmem.render_page_flags(flags).splitlines() == ["PAGE-FLAG       BIT  VALUE", "PG_locked         0  0000001",
                                                          "PG_owner_priv_1  10  0000400"]


def test_log_s_starts_a_line_at_each_record_and_marks_unprintable_bytes():
    """crash's __dump_printk_safe_seq_buf(): a record's SOH and level byte start an indented line,
    other bytes are printed (unprintable ones as '.'), a missing last newline is added."""
    text = b"\x014Uhhuh. NMI\n\x01" + b"6Dazed\x07 and confused"
    buffers = [{"name": "nmi_print_seq", "cpu": 0, "address": 0xffff8ca4fbc19ce0, "length": len(text),
                "message_lost": 0, "text": text},
               {"name": "nmi_print_seq", "cpu": 1, "address": 0xffff8ca4fbd19ce0, "length": 0, "message_lost": 2,
                "text": b""}]
    assert log.format_safe_buffers(buffers) == (
        "PRINTK_SAFE_SEQ_BUF: nmi_print_seq\n"
        f"CPU: 0  ADDR: ffff8ca4fbc19ce0 LEN: {len(text)}  MESSAGE_LOST: 0\n"
        "  Uhhuh. NMI\n  Dazed. and confused\n\n"
        "CPU: 1  ADDR: ffff8ca4fbd19ce0 LEN: 0  MESSAGE_LOST: 2\n  (empty)\n\n")


def test_log_a_prints_each_queued_audit_message_or_says_there_is_none():
    args = argparse.Namespace()
    assert log.render({"audit": []}, args) == "log: kernel audit log is empty\n"
    records = [{"type": 1320, "text": b"audit(1489384479.809:4342): "}, {"type": 1300, "text": b"arch=c000003e"}]
    assert log.render({"audit": records}, args) == "type=1320 audit(1489384479.809:4342): \ntype=1300 arch=c000003e\n"


def test_dev_marks_a_registration_nothing_serves():
    data = {"chrdevs": [{"major": 13, "name": "input", "cdev": 0, "operations": None},
                        {"major": 1, "name": "mem", "cdev": 0xffff89111a5c6100, "operations": "memory_fops"}],
            "blkdevs": [{"major": 259, "name": "blkext", "gendisk": 0, "operations": None}]}
    assert dev.render_devices(data).splitlines() == [
        "CHRDEV    NAME                 CDEV        OPERATIONS      ",
        "  13      input               (none)     ",
        "   1      mem            ffff89111a5c6100  memory_fops",
        "",
        "BLKDEV    NAME                GENDISK      OPERATIONS      ",
        " 259      blkext              (none)     "]


BROKEN_COMMANDS = [["foreach", "UN", "bt"], ["waitq", "log_wait"], ["log", "-a"], ["log", "-s"], ["kmem", "-V"],
                   ["kmem", "-f"], ["kmem", "-g"], ["kmem", "-p", "1000"], ["net", "-s"], ["dev"], ["mount", "/"],
                   ["kmem", "-n"], ["kmem", "-p"], ["kmem", "-g", "4000"], ["sym", "-l"], ["net", "-S"],
                   ["foreach", "'k.*'", "set"], ["foreach", "1", "vtop", "fffffe0000000000"]]


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """The committed sample cut in half: its kernel data is in the lost half."""
    return cut_sample(tmp_path_factory.mktemp("broken"))


@pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")
@pytest.mark.parametrize("command", BROKEN_COMMANDS, ids=" ".join)
def test_on_a_truncated_dump_each_command_fails_in_one_line(truncated, command, monkeypatch):
    """A dump without its kernel data: one line naming what failed (the whole dump's cached symbols
    and types turned off), never a traceback; dev prints its tables as far as they read (here their
    headers), then says where it stopped."""
    monkeypatch.setenv("PYCORE_NO_CACHE", "1")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([command[0], truncated, *command[1:]])
    assert status == 1 and err.getvalue().startswith(f"pycore {command[0]}: ")
    assert len(err.getvalue().splitlines()) == 1
    if command == ["dev"]:
        assert out.getvalue().split("\n")[0].startswith("CHRDEV") and "the devices after these" in err.getvalue()
    else:
        assert out.getvalue() == ""


def test_a_chrdevs_chain_that_comes_back_is_a_validation_error():
    """dev walks each chrdevs slot's chain: one that links back to an entry is an error naming it,
    not an endless listing."""
    prog = FakeProgram(symbols={"chrdevs": BASE})
    uint = int_type("unsigned int", 4, False)
    entry_type = struct_type("char_device_struct", 16, lambda: [
        Member("next", pointer_type(entry_type), 0), Member("major", uint, 64), Member("baseminor", uint, 96)])
    prog.types.types[("struct", "char_device_struct")] = entry_type
    first, second = BASE + 0x1000, BASE + 0x1010
    prog.put(BASE + 8 * 4, first)  # chrdevs[4]
    prog.put(first, second, 4)
    prog.put(second, first, 4 | 64 << 32)
    with pytest.raises(ValidationError, match=f"chrdevs chain at {first:#x} loops at {first:#x}"):
        list(fs.for_each_chrdev(prog))
