"""Every command on a broken dump: a one-line error naming what is missing, never a traceback."""
import json
import os

import pytest

import pycore
from pycore.cli import main

from conftest import synthetic, write
from corpus import SAMPLE

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
COMMANDS = [["info"], ["log"], ["sys"], ["ps"], ["bt", "-a"], ["kmem", "-i"], ["kmem", "-z"], ["kmem", "-s"],
            ["mod"], ["runq"], ["trouble"], ["oom"], ["rd", "-p", "100000"]]
needs_sample = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """The sample cut in half: headers, bitmaps and early pages are there, kernel data is not."""
    path = tmp_path_factory.mktemp("broken") / "half.vmcore"
    with open(SAMPLE_DUMP, "rb") as f:
        path.write_bytes(f.read(os.path.getsize(SAMPLE_DUMP) // 2))
    return str(path)


def run(capsys, argv):
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@needs_sample
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_truncated_dump_gives_a_clear_error_or_a_partial_answer(truncated, command, capsys):
    status, out, err = run(capsys, [command[0], truncated, *command[1:]])
    assert "Traceback" not in err
    if status:
        assert err.startswith(f"pycore {command[0]}: ") and len(err.strip().splitlines()) == 1
        assert "incomplete" in err or "excluded" in err or "not" in err
    elif command == ["info"]:
        assert "INCOMPLETE: yes" in out


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_not_a_dump_gives_a_clear_error(tmp_path, command, capsys):
    path = write(tmp_path, "notes.txt", b"this is not a vmcore\n" * 100)
    status, out, err = run(capsys, [command[0], path, *command[1:]])
    assert "Traceback" not in err
    if command[0] in ("trouble", "oom"):  # a text file is a log to them
        assert status == 0
    else:
        assert status == 1 and "not a vmcore" in err


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0] not in ("info", "rd", "log")], ids=" ".join)
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
