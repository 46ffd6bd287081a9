"""crash's type and data commands (p, whatis, struct, union, list, tree) against crash 9.0.2's own
answers on the same dumps: the corpus recordings (testdata/corpus/reference.py FULL_COMMANDS) and the
answers to further options in crash_type_answers.json (asked of crash 9.0.2 at its prompt on each
case's reference dump, in a few sessions, each run here as one, in its order).  Each answer is compared
whole, byte for byte, with the vmlinux and without it; ``p`` runs as the crash prompt runs it, one value
history per session, so that ``$N`` counts as crash's did.  The differences, each checked here:

- the corpus's ``p/x init_task.flags`` is crash's own failure (crash hands ``p/x ... > FILE`` to gdb
  whole); its answer at the prompt is in crash_type_answers.json.
- ``union NAME ADDRESS``: crash prints no newline after the closing brace; pycore ends with one.
- zero-length arrays (``__u8 __cloned_offset[0]``): pycore's DWARF index keeps no zero length and BTF
  has none, so pycore writes them ``[]`` as flexible arrays are.
- 5.10 with the vmlinux: gdb types ``linux_banner`` by a declaration (``const char []``, printed as its
  address), pycore's DWARF index by the definition (``const char [192]``, printed as the string).
- 7.2: crash runs with --no_modules, so its gdb names no module address (``<__this_module+8>``), and
  it names init_task's stack ``<init_thread_union>``, which the vmlinux's ELF symbols give no size to
  (pycore names zero-sized labels nowhere, as gdb does without DWARF's word).
- ``tree -t radix`` where the radix tree is an XArray (4.20+): crash 9.0.2 refuses on 5.10 ("radix
  trees do not exist or have changed their format"); pycore walks it as the XArray it is, and gives
  crash's ``-t xarray`` answer.
- 5.10 without the vmlinux: its BTF describes no per-CPU variable and pycore's table of globals has
  no ``irq_stat``: ``p irq_stat`` is a MissingDebugInfoError saying what would tell its type.
- without the vmlinux: an array whose length only DWARF knows (``__per_cpu_offset``, ``node_states``;
  BTF has no variables) prints as its address, as gdb prints an array of unknown length; and kallsyms
  has no sizes, so the linker label ``init_stack`` names the stack's first address, which gdb leaves
  unnamed (a label of no size).
"""
import functools
import io
import json
import os
import re
from typing import Dict, List, Optional, Tuple

import pytest

import pycore
from pycore.errors import PycoreError
from pycore.cli import dump_command
from pycore.cli.command import make_parser

from corpus import cases, pycore_output

pytestmark = pytest.mark.real
ANSWERS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_type_answers.json")

# The recorded commands of these command modules, p's in the order crash's session ran them.
RECORDED = ["struct task_struct.comm,pid init_task", "whatis init_task", "whatis panic", "whatis struct list_head",
            "struct list_head", "struct -o list_head", "p jiffies", "p &init_task", "p/x init_task.flags",
            "p init_task.tasks", "p init_uts_ns.name", "struct -x task_struct.pid init_task",
            "list task_struct.tasks -s task_struct.pid,comm -h init_task", "list -H modules"]
# crash's answer when it passed a recording's "> FILE" to gdb with the command.
REDIRECT_FAILURE = re.compile(r"^gdb: gdb request failed: p/\w .* > \S+\n$")


def load_answers() -> Dict[str, Dict]:
    if not os.path.exists(ANSWERS_FILE):
        return {}
    with open(ANSWERS_FILE) as f:
        return json.load(f)


ANSWERS = load_answers()


def prompt_words(command: str) -> Tuple[str, List[str]]:
    """The command and its words as the crash prompt passes them: ``p/x EXPR`` is ``p /x EXPR``."""
    words = command.split()
    if words[0].startswith("p/"):
        return "p", ["/" + words[0][2:]] + words[1:]
    return words[0], words[1:]


def run_session(case, vmlinux: bool, commands: Tuple[str, ...]) -> Dict[str, Tuple[int, str, str]]:
    """(status, output, errors) of each command, run in order on one open dump with one value history."""
    results = {}
    history: List = []
    with pycore.open(case.path(case.reference_dump), vmlinux=case.vmlinux if vmlinux else None) as prog:
        for command in commands:
            name, words = prompt_words(command)
            found = dump_command(name)
            args = make_parser(found).parse_args(words)
            args.value_history = history
            out, err = io.StringIO(), io.StringIO()
            try:
                status = found.run(prog, args, out, err)
            except PycoreError as error:  # what the prompt reports as "CMD: error"
                status = 1
                err.write(f"{name}: {error}\n")
            results[command] = (status, out.getvalue(), err.getvalue())
    return results


@functools.lru_cache(maxsize=None)
def session(case_name: str, vmlinux: bool, commands: Tuple[str, ...]) -> Dict[str, Tuple[int, str, str]]:
    case = next(c for c in cases() if c.name == case_name)
    return run_session(case, vmlinux, commands)


def compared(case, command: str, crash_text: str, vmlinux: bool, ours: str) -> Optional[Tuple[str, str]]:
    """(crash's answer, pycore's) made comparable by the differences the module docstring lists;
    None where pycore's answer is a different rendering this function checks itself."""
    if crash_text.startswith("tree: radix trees do not exist"):
        crash_text = answer(case.name, command.replace("-t radix", "-t xarray"))[1]
    expected = crash_text if crash_text.endswith("\n") else crash_text + "\n"
    expected = expected.replace("[0];", "[];")
    if "--no_modules" in case.manifest.get("crash_options", []):
        ours = re.sub(r"(0xffffffffc[0-9a-f]{7}) <[^>]+>", r"\1", ours)
        expected = expected.replace(" <init_thread_union>", "")
    if not vmlinux:
        if command in ("p __per_cpu_offset", "p node_states"):
            name = command.split()[1]
            assert re.fullmatch(rf"{name} = \$\d+ = 0x[0-9a-f]+ <{name}>\n", ours), ours
            return None
        for address in re.findall(r"(0x[0-9a-f]+) <init_stack>$", ours, flags=re.M):
            expected = re.sub(rf"{address}$", f"{address} <init_stack>", expected, flags=re.M)
    return expected, ours


def check(case, command: str, crash_text: str, vmlinux: bool, result: Tuple[int, str, str]) -> None:
    status, ours, errors = result
    if not vmlinux and case.name.startswith("5.10") and command.endswith(" irq_stat"):
        assert status == 1 and "the type of 'irq_stat' (at 0x" in errors and "is not known" in errors, errors
        return
    assert (status, errors) == (0, ""), errors
    if vmlinux and case.name.startswith("5.10") and "linux_banner" in command:
        assert "linux_banner[192]" in ours or '"Linux version' in ours
        pytest.xfail("5.10: pycore's DWARF index types linux_banner by its definition, gdb by a declaration")
    pair = compared(case, command, crash_text, vmlinux, ours)
    if pair is not None:
        assert pair[1] == pair[0]


def recordings():
    params = []
    for case in cases():
        if not os.path.exists(case.path(case.reference_dump)):
            continue
        for command in RECORDED:
            if case.reference(command, case.reference_dump) is None:
                continue
            for mode in ["dump only"] + (["vmlinux"] if os.path.exists(case.vmlinux) else []):
                params.append(pytest.param(case, command, mode, id=f"{case.name}/{command}/{mode}"))
    return params


def recorded_session(case) -> Tuple[str, ...]:
    """The recorded commands crash answered, in its session's order (a failure numbers no value)."""
    return tuple(c for c in RECORDED if case.reference(c, case.reference_dump) is not None
                 and not REDIRECT_FAILURE.match(case.reference(c, case.reference_dump)))


@pytest.mark.parametrize("case,command,mode", recordings())
def test_recorded_answer_is_crash_answer(case, command, mode):
    """Every corpus recording of these commands, whole, on the dump crash read."""
    crash_text = case.reference(command, case.reference_dump)
    if REDIRECT_FAILURE.match(crash_text):
        assert command.startswith("p/")
        pytest.skip("crash's recording is its own failure to print p/FMT into a file; see crash_type_answers.json")
    results = session(case.name, mode == "vmlinux", recorded_session(case))
    check(case, command, crash_text, mode == "vmlinux", results[command])


def test_standalone_command_line_prints_the_recorded_answer():
    """``pycore CMD DUMP ...`` (the command line, not the prompt) gives the same answers: $1 for p."""
    for case in cases():
        crash_text = case.reference("p jiffies", case.reference_dump)
        if crash_text is None or not os.path.exists(case.path(case.reference_dump)):
            continue
        result = pycore_output("p", case.path(case.reference_dump), "jiffies")
        assert result.out == re.sub(r"\$\d+", "$1", crash_text)
        crash_text = case.reference("list -H modules", case.reference_dump)
        assert pycore_output("list", case.path(case.reference_dump), "-H", "modules").out == crash_text
        return
    pytest.skip("no corpus case with crash's p jiffies recorded")


def answer(case_name: str, command: str) -> Tuple[Tuple[str, ...], str]:
    """The crash session (its commands, in order) that answered ``command``, and the answer."""
    for recorded in ANSWERS[case_name]["sessions"]:
        if command in recorded:
            return tuple(recorded), recorded[command]
    raise KeyError(command)


def answers():
    params = []
    for case in cases():
        recorded = ANSWERS.get(case.name)
        if recorded is None or not os.path.exists(case.path(case.reference_dump)):
            continue
        dump = next(d for d in case.manifest["dumps"] if d["name"] == case.reference_dump)
        marks = [] if dump.get("sha256") == recorded["sha256"] else [pytest.mark.skip(
            reason="the corpus dump changed since crash's answers were recorded")]
        for command in (command for commands in recorded["sessions"] for command in commands):
            for mode in ["dump only"] + (["vmlinux"] if os.path.exists(case.vmlinux) else []):
                params.append(pytest.param(case, command, mode, marks=marks, id=f"{case.name}/{command}/{mode}"))
    return params


@pytest.mark.parametrize("case,command,mode", answers())
def test_answer_to_further_options_is_crash_answer(case, command, mode):
    """crash's answers to the options beyond the corpus recordings, each session run as crash ran it."""
    commands, crash_text = answer(case.name, command)
    results = session(case.name, mode == "vmlinux", commands)
    check(case, command, crash_text, mode == "vmlinux", results[command])
