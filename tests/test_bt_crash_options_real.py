"""bt's options against crash 9's recordings of them on every corpus case (testdata/corpus/reference.py
FULL_COMMANDS: bt, -f, -F, -FF, -FF -a, -t, -t -a, -T, -l, -sx; and bt of a task by its address),
the whole output byte for byte on the case's reference dump, with the vmlinux and without it.

Where pycore must differ, the test says why: without a vmlinux ``bt -l`` has no line tables (exit 1,
one line naming --vmlinux), and ``bt -F`` cannot name a word by the vmlinux's local labels
(``.LC3+673``: the compiler's string literals, in the ``.symtab`` only), so such a word is named by
the nearest kallsyms symbol and checked to be one; 6.12's khungtaskd and 7.2 are covered by the
deviations and gaps of tests/crash_reference.py.
"""
import os
import re

import pytest

import pycore
from corpus import cases, pycore_output
from crash_reference import _calls_ending_their_function, _only_frames_after_calls_ending_their_function

pytestmark = pytest.mark.real

COMMANDS = ("bt", "bt -f", "bt -F", "bt -FF", "bt -FF -a", "bt -t", "bt -t -a", "bt -T", "bt -l", "bt -sx")
# bt of one task by its task_struct address, as the corpus records it (reference.py ADDRESS_COMMANDS).
_TASK_COMMAND = re.compile(r"^bt (?:-l )?[0-9a-f]{16}$")


def _recorded(case):
    """crash's bt commands the case's manifest holds a recording of."""
    found = [command for command in COMMANDS if case.reference(command) is not None]
    return found + [ref["command"] for ref in case.references("bt ") if _TASK_COMMAND.match(ref["command"])]


def params():
    result = []
    for case in cases():
        for command in _recorded(case):
            for mode in ("dump only", "vmlinux"):
                if mode == "vmlinux" and not os.path.exists(case.vmlinux):
                    continue
                result.append(pytest.param(case, command, mode, id=f"{case.name}/{command}/{mode}"))
    return result


def _why_not_compared(case, command: str):
    """Where crash's recording is not pycore's answer, and where that is checked instead."""
    if case.manifest.get("kernel_release", "").startswith("7."):
        return ("crash 9.0.2 reads 7.x's ORC tables with the pre-7.1 register numbers (bt guesses from the stack) "
                "and cannot decode 7.1's slab pages (-F stops at 'invalid structure member offset'): "
                "test_bt_console_real.py checks the panic trace against the kernel's own")
    if _calls_ending_their_function(case) and {"-f", "-F", "-FF", "-l", "-sx"} & set(command.split()):
        return ("crash drops the frame after a call that ends its function and shows the stale words it covers as "
                "frames (tests/crash_reference.py DEVIATIONS), and the lines -f, -l and -sx add to each frame "
                "follow that split: bt's own frames are compared without them")
    return None


def compare(case, command: str, mode: str, expected: str) -> None:
    """pycore's answer to crash's ``command`` on the case's reference dump equals crash's
    ``expected`` output, but for the differences the module docstring names."""
    words = command.split()
    argv = ["bt", case.path(case.reference_dump), *words[1:]] + (["--vmlinux", case.vmlinux] if mode == "vmlinux" else [])
    result = pycore_output(*argv)
    if "-l" in words and mode == "dump only":
        assert (result.status, result.out) == (1, "")
        assert result.err.startswith("pycore bt: ") and "--vmlinux" in result.err, result.err
        return
    assert (result.status, result.err) == (0, ""), result.err
    ours, theirs = result.out.rstrip("\n").split("\n"), expected.rstrip("\n").split("\n")
    functions = _calls_ending_their_function(case)
    if functions and ours != theirs:
        # tests/crash_reference.py DEVIATIONS: the kernel's name for a call that ends its function.
        assert _only_frames_after_calls_ending_their_function(ours, theirs, functions), "\n".join(ours)
        return
    if mode == "dump only" and {"-F", "-FF"} & set(words) and ours != theirs:
        assert len(ours) == len(theirs)
        with pycore.open(case.path(case.reference_dump)) as prog:
            for mine, line in zip(ours, theirs):
                if mine != line:
                    assert _only_vmlinux_labels_differ(prog.symbols, mine, line), (mine, line)
        return
    assert ours == theirs


def _only_vmlinux_labels_differ(kallsyms, mine: str, line: str) -> bool:
    """Whether a line of bt -F's words differs from crash's only where crash names a word by a
    symbol that only the vmlinux's .symtab has (``.LC3+673``), which pycore names by another."""
    ours, theirs = mine.split(), line.split()
    if len(ours) != len(theirs) or ours[0] != theirs[0]:
        return False
    for word, crash_word in zip(ours[1:], theirs[1:]):
        if word != crash_word and (crash_word.split("+")[0] in kallsyms or not re.fullmatch(r"\S+\+\d+", word)):
            return False
    return True


@pytest.mark.parametrize("case,command,mode", params())
def test_bt_option_prints_crash_recording(case, command, mode):
    why = _why_not_compared(case, command)
    if why:
        pytest.skip(why)
    compare(case, command, mode, case.reference(command))


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_bt_of_the_panic_task_by_address_is_bt(case):
    """``bt TASK`` with the panic task's address is crash's ``bt`` (its current context)."""
    expected = case.reference("bt")
    if expected is None:
        pytest.skip("crash's bt is not recorded on this build of the case")
    task = re.match(r"PID: \d+\s+TASK: ([0-9a-f]+)", expected).group(1)
    why = _why_not_compared(case, "bt")
    if why:
        pytest.skip(why)
    compare(case, f"bt {task}", "dump only", expected)
