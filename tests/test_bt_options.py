"""crash's bt options against crash 9's own answers on the same dumps, kept under
testdata/crash_answers/<case>/bt*.txt (recorded by testdata/crash_answers/record.py, the command on
the first line): a task by address, -s/-x (symbol offsets), -f (each frame's stack words), -t/-T
(text symbols on the stack) and -l (file: line from the vmlinux's DWARF line tables).

Each answer is compared whole, byte for byte, on the dump crash read, with the vmlinux and without
it; without it ``bt -l`` has no line tables and is a MissingDebugInfoError (exit 1, one line).
"""
import glob
import os

import pytest

from corpus import cases, pycore_output

pytestmark = pytest.mark.real
ANSWERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "crash_answers")


def _answers():
    """(case, dump, crash's command, crash's answer) of every bt answer whose case and dump the
    corpus holds (the dump's sha256, from the manifest, is the one crash read)."""
    found = []
    for case in cases():
        for path in sorted(glob.glob(os.path.join(ANSWERS, case.name, "bt*.txt"))):
            with open(path) as f:
                header, answer = f.read().split("\n", 1)
            command, where = header[len("crash> "):].split("  # on ")
            dump, digest = where.split("/", 1)[1].split(" sha256 ")
            entry = next((d for d in case.dumps() if d["name"] == dump), None)
            if entry is None or not os.path.exists(case.path(dump)) or entry.get("sha256") != digest:
                continue
            found.append((case, dump, command, answer))
    return found


def params():
    result = []
    for case, dump, command, answer in _answers():
        modes = ["dump only"] + (["vmlinux"] if os.path.exists(case.vmlinux) else [])
        for mode in modes:
            result.append(pytest.param(case, dump, command, answer, mode, id=f"{case.name}/{command}/{mode}"))
    return result


def _argv(case, dump: str, command: str, vmlinux: bool):
    words = command.split()
    argv = [words[0], case.path(dump), *words[1:]]
    return argv + (["--vmlinux", case.vmlinux] if vmlinux else [])


@pytest.mark.parametrize("case,dump,command,answer,mode", params())
def test_bt_option_prints_crash_answer(case, dump, command, answer, mode):
    result = pycore_output(*_argv(case, dump, command, mode == "vmlinux"))
    if "-l" in command.split() and mode == "dump only":
        assert (result.status, result.out) == (1, "")
        assert result.err.startswith("pycore bt: ") and "--vmlinux" in result.err, result.err
        return
    assert (result.status, result.err) == (0, ""), result.err
    assert result.out == (answer if answer.endswith("\n") else answer + "\n")
