"""Every command on a broken dump: a one-line error naming what is missing, never a traceback."""
import json
import os

import pytest

import pycore
from pycore.cli import main

from cli_cases import SAMPLE_DUMP, cut_sample
from conftest import synthetic, write
COMMANDS = [["info"], ["log"], ["sys"], ["ps"], ["bt", "-a"], ["kmem", "-i"], ["kmem", "-z"], ["kmem", "-s"],
            ["mod"], ["runq"], ["trouble"], ["oom"], ["rd", "-p", "100000"],
            # crash's command mode
            ["files", "1"], ["vm", "1"], ["mount"], ["net"], ["swap"], ["dev", "-d"], ["ipcs"], ["sig", "1"],
            ["task"], ["timer"], ["irq", "-s"], ["p", "jiffies"], ["whatis", "init_task"], ["struct", "list_head"],
            ["sym", "panic"], ["dis", "panic", "5"], ["list", "-H", "modules"], ["vtop", "ffffffff81000000"],
            ["hang"], ["search", "-c", "Linux"], ["waitq", "log_wait"], ["gcore", "1", "-o", "/dev/null"],
            ["mach"], ["mach", "-m"], ["mach", "-c"], ["pte", "1e8b063"], ["fuser", "/"]]
needs_sample = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """The sample cut in half: headers, bitmaps and early pages are there, kernel data is not."""
    return cut_sample(tmp_path_factory.mktemp("broken"))


def run(capsys, argv):
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# What each command makes of the sample cut in half: 0, or how its one-line error begins.
# One that answers prints what it prints for the whole dump (info: but the lines that name the
# file and what it lacks).  The kernel data the others start from (kallsyms, the log buffer,
# init_task) lies in the lost half; kmem -z and -s first need types, whose BTF is found by symbols.
INCOMPLETE = "unreadable (the dump is incomplete: data at file offset"
NO_TYPES = "no type information: tried BTF in the dump (no symbols to locate __start_BTF/__stop_BTF by)"
TRUNCATED_OUTCOME = {
    "info": 0, "log": INCOMPLETE, "sys": INCOMPLETE, "ps": INCOMPLETE, "bt -a": INCOMPLETE, "kmem -i": INCOMPLETE,
    "kmem -z": NO_TYPES, "kmem -s": NO_TYPES, "mod": INCOMPLETE,
    "runq": "the runqueue of CPU 0, 1 could not be read: " + INCOMPLETE, "trouble": INCOMPLETE,
    "oom": INCOMPLETE, "rd -p 100000": 0,
    "files 1": INCOMPLETE, "vm 1": INCOMPLETE, "mount": INCOMPLETE, "net": "the devices after these are unreadable",
    "swap": INCOMPLETE, "dev -d": NO_TYPES, "ipcs": INCOMPLETE, "sig 1": INCOMPLETE, "task": NO_TYPES,
    "timer": INCOMPLETE, "irq -s": NO_TYPES, "p jiffies": INCOMPLETE, "whatis init_task": INCOMPLETE,
    "struct list_head": NO_TYPES, "sym panic": INCOMPLETE, "dis panic 5": INCOMPLETE, "list -H modules": INCOMPLETE,
    "vtop ffffffff81000000": "level-4 page-table entry at physical", "hang": INCOMPLETE,
    "search -c Linux": NO_TYPES, "waitq log_wait": INCOMPLETE, "gcore 1 -o /dev/null": INCOMPLETE,
    "mach": INCOMPLETE, "mach -m": INCOMPLETE, "mach -c": NO_TYPES, "pte 1e8b063": 0, "fuser /": INCOMPLETE,
}
PRINT_AS_THEY_READ = {"net"}
INFO_LINES_ABOUT_THE_CUT = {"DUMPFILE", "INCOMPLETE", "SYMBOLS", "TYPES"}


@needs_sample
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_truncated_dump_gives_a_clear_error_or_the_whole_dumps_answer(truncated, command, capsys, monkeypatch):
    # The whole dump's cached kallsyms and BTF (same build, same KASLR offset) would lend the
    # cut dump its symbols: what is tested here is what the cut file alone gives.
    monkeypatch.setenv("PYCORE_NO_CACHE", "1")
    status, out, err = run(capsys, [command[0], truncated, *command[1:]])
    expected = TRUNCATED_OUTCOME[" ".join(command)]
    if expected:
        # A command that lists as it reads (net) prints what it read before the error: the whole
        # dump's answer begins with it.
        assert status == 1 and run(capsys, [command[0], SAMPLE_DUMP, *command[1:]])[1].startswith(out)
        assert out == "" or command[0] in PRINT_AS_THEY_READ
        assert err.startswith(f"pycore {command[0]}: {expected}") and len(err.strip().splitlines()) == 1
        return
    assert status == 0 and err == ""
    whole_status, whole_out, _ = run(capsys, [command[0], SAMPLE_DUMP, *command[1:]])
    assert whole_status == 0
    if command != ["info"]:
        assert out == whole_out
        return
    lines, whole_lines = out.splitlines(), whole_out.splitlines()
    assert len(lines) == len(whole_lines)
    assert {line.split(":", 1)[0].strip() for line, whole in zip(lines, whole_lines)
            if line != whole} == INFO_LINES_ABOUT_THE_CUT
    assert "INCOMPLETE: yes" in out and "SYMBOLS: unavailable: unreadable (the dump is incomplete" in out


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_not_a_dump_gives_a_clear_error(tmp_path, command, capsys):
    path = write(tmp_path, "notes.txt", b"this is not a vmcore\n" * 100)
    status, out, err = run(capsys, [command[0], path, *command[1:]])
    assert "Traceback" not in err
    if command[0] == "trouble":  # a text file is a log to it: one without any event
        assert status == 0 and err == ""
        assert out.splitlines() == [f"{path}: 100 lines; 0 critical, 0 error, 0 warning, 0 noise",
                                    "No trouble found."]
    elif command[0] == "oom":  # the same, without an oom report
        assert status == 0 and err == ""
        assert out.splitlines() == [f"{path}: no oom-killer reports found in the kernel log."]
    else:
        assert status == 1 and "not a vmcore" in err


# pte decodes the numbers it is given: a dump without symbols is no obstacle.
@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0] not in ("info", "rd", "log", "pte")], ids=" ".join)
def test_dump_without_symbols_says_what_it_needs(tmp_path, command, capsys):
    # The synthetic kernel's VMCOREINFO has no kallsyms tables, as before Linux 6.0.
    path = write(tmp_path, "old.vmcore", synthetic.build_kdump(synthetic.make_machine(), "zlib")[0])
    status, out, err = run(capsys, [command[0], path, *command[1:]])
    assert "Traceback" not in err
    assert status == 1 and err.startswith(f"pycore {command[0]}: ")


@needs_sample
def test_read_available_reports_the_holes(truncated):
    with pycore.open(SAMPLE_DUMP) as whole, pycore.open(truncated) as half:
        base = whole.arch.direct_map_start or whole.symbols and whole.arch.direct_map_start
        start, end = half.dump.ranges()[-1]
        address = base + end - 64 * 4096
        data, holes = half.read_available(address, 64 * 4096)
        assert holes, "the last pages of the cut dump should be unreadable"
        for offset in range(0, len(data), 4096):
            if not any(a <= offset < b for a, b in holes):
                assert data[offset:offset + 4096] == whole.read(address + offset, 4096)
            else:
                assert data[offset:offset + 4096] == bytes(4096)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0] not in ("trouble", "oom")], ids=" ".join)
def test_not_a_dump_under_json_is_a_json_error(tmp_path, command, capsys):
    path = write(tmp_path, "notes.txt", b"this is not a vmcore\n" * 100)
    status, out, err = run(capsys, [command[0], path, *command[1:], "--json"])
    assert status == 1 and out == ""
    error = json.loads(err)
    assert error["command"] == command[0] and "not a vmcore" in error["error"]
