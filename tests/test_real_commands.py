"""Every crash command pycore reproduces, run as its command line on every real dump (the corpus
and the committed sample) and compared with what crash 9 printed on the same crash.

``COMMANDS`` says what runs and which of crash's recordings it meets.  ``DEVIATIONS`` is the one
list of the places where the output differs from crash's on purpose or because of how the
reference was recorded (README, "Deliberate differences from crash"): each entry checks the
difference itself and hands back what pycore must then print.  Tests that prove more than text
equality (JSON fields, helpers against each other, other tools' logs) stay in the focused
test_*_real.py files.
"""
import itertools
import os
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple, Union

import pytest

import pycore
from pycore import native
from pycore.errors import PageExcludedError

from corpus import Case, Output, pycore_output, real_dumps

pytestmark = pytest.mark.real
PARAMS = real_dumps()

Line = Union[str, re.Pattern]


@dataclass(frozen=True)
class Command:
    """One crash command: how crash's recordings name it and how pycore spells it."""

    crash: Optional[str]
    """The command as the case manifests record it; None for a pycore command crash does not have."""
    pycore: Tuple[str, ...]
    """pycore's words for it (the dump goes after the first word)."""
    per_reference: bool = False
    """crash recorded it on each dump with its own arguments (``rd -p ADDRESS COUNT``): one test per
    recording, on that dump only.  Otherwise the recording on the case's reference dump holds for
    every format of the crash: -d 31 keeps every page these commands read."""
    both_readers: bool = False
    """Run it on the C reader and on pure Python (``--pure``), not only on the default path."""


COMMANDS = [
    Command("log", ("log",)),
    Command("sys", ("sys",)),
    Command("ps", ("ps",)),
    Command("runq", ("runq",)),
    Command("kmem -i", ("kmem", "-i")),
    Command("kmem -z", ("kmem", "-z")),
    Command("kmem -s", ("kmem", "-s")),
    Command("bt -a", ("bt", "-a")),
    Command("foreach bt", ("bt", "--all-tasks")),
    Command("mod", ("mod",)),
    Command("rd -p", ("rd", "-p"), per_reference=True, both_readers=True),
    Command(None, ("oom",)),
    Command(None, ("trouble",)),
]


@dataclass(frozen=True)
class Run:
    """One comparison: pycore's command line, and what it is held to."""

    case: Case
    dump: Dict
    command: Command
    argv: Tuple[str, ...]
    vmlinux: bool
    """--vmlinux was given (else symbols and types come from the dump)."""
    against: str
    """"crash" (a recording of crash 9), or "dump only" (pycore's own answer without the vmlinux)."""
    reference: Optional[Dict] = None
    """The manifest entry of crash's recording."""


@dataclass(frozen=True)
class Expected:
    """What pycore must do: exit status, standard output lines (a pattern stands for a line that must
    match it), and standard error."""

    status: int
    lines: List[Line]
    stderr: Line = ""


@dataclass(frozen=True)
class Deviation:
    """A place where pycore's output is not crash's, and why; ``expect`` checks the difference
    and returns what pycore must print instead of the reference."""

    why: str
    applies: Callable[[Run, Expected], bool]
    expect: Callable[[Run, Expected], Tuple[Run, Expected]] = field(repr=False)


def _partial_dump(dump: Dict) -> bool:
    """crash's ``[PARTIAL DUMP]``: a kdump-compressed file written with a dump level above 0 (QEMU's
    kdump files say level 1 whatever they hold)."""
    return dump["format"] in ("kdump", "flattened") and (dump["dump_level"] > 0
                                                          or dump["captured_by"].startswith("qemu"))


def _kernel_line(run: Run, expected: Expected) -> Tuple[Run, Expected]:
    assert expected.lines[0].startswith("      KERNEL: ")
    kernel = (f"      KERNEL: {run.case.vmlinux}" if run.vmlinux
              else re.compile(r"      KERNEL: \(no vmlinux: symbols from kallsyms.*\)"))
    return run, replace(expected, lines=[kernel] + expected.lines[1:])


def _dumpfile_line(run: Run, expected: Expected) -> Tuple[Run, Expected]:
    crash_line = expected.lines[1]
    assert crash_line.startswith("    DUMPFILE: ")
    partial = _partial_dump(run.dump)
    if run.reference["dump"] == run.dump["name"]:
        # crash read this very file: its DUMPFILE line is ours, up to how the path was spelled.
        assert os.path.basename(crash_line[14:].split()[0]) == run.dump["name"]
        assert crash_line.endswith("[PARTIAL DUMP]") == partial
    ours = f"    DUMPFILE: {run.argv[1]}" + ("  [PARTIAL DUMP]" if partial else "")
    return run, replace(expected, lines=[expected.lines[0], ours] + expected.lines[2:])


def _crash_could_not_read(run: Run, expected: Expected) -> bool:
    return (run.command.crash == "rd -p"
            and (not expected.lines or any(re.search(r"(read|seek) error|excluded", line)
                                           for line in expected.lines)))


def _unreadable_address(run: Run, expected: Expected) -> Tuple[Run, Expected]:
    address = int(run.argv[3], 16)
    return run, Expected(1, [], re.compile(rf"pycore rd: .*: physical address {address:#x}\n"))


def _zero_fill_past_filesz(run: Run, expected: Expected) -> bool:
    return (run.command.crash == "rd -p" and expected.status == 0
            and run.dump["format"] == "elf" and run.dump["dump_level"] > 0)


def _excluded_page_is_an_error(run: Run, expected: Expected) -> Tuple[Run, Expected]:
    result = pycore_output(*run.argv)
    if result.status == 0:
        return run, expected  # a page the filter kept
    address, count = int(run.argv[3], 16), int(run.argv[4])
    assert result.out == "" and result.err.startswith("pycore rd: ")
    with pycore.open(run.argv[1], native=False if "--pure" in run.argv else None) as prog:
        with pytest.raises(PageExcludedError):
            prog.read_physical(address, count * 8)
    assert all(re.fullmatch(r" *[0-9a-f]+:  0{16} 0{16}   \.{16}", line) for line in expected.lines)
    return replace(run, argv=run.argv + ("--zero-excluded",)), expected


DEVIATIONS = [
    Deviation("sys without a vmlinux: the KERNEL line says where symbols and types came from; crash names "
              "the vmlinux (and pycore does too when given one)",
              lambda run, expected: run.command.crash == "sys" and (not run.vmlinux or run.against == "dump only"),
              _kernel_line),
    Deviation("sys: DUMPFILE is the path as given; crash's reference was recorded with its own path, and on "
              "the reference dump for the formats crash has no recording of (a flattened file, which crash "
              "cannot read)",
              lambda run, expected: run.command.crash == "sys" and run.against == "crash",
              _dumpfile_line),
    Deviation("rd -p of an address the dump does not hold: crash prints its error among the output (or on its "
              "terminal only, leaving the recording empty); pycore prints it on standard error and exits 1",
              _crash_could_not_read, _unreadable_address),
    Deviation("rd -p on an ELF dump from makedumpfile -E -d N: crash shows the zero fill past p_filesz; "
              "pycore says the page was filtered out (the machine's memory was not zero there) and shows "
              "crash's zeros with --zero-excluded",
              _zero_fill_past_filesz, _excluded_page_is_an_error),
]


def expect(run: Run, lines: List[str]) -> Tuple[Run, Expected]:
    """What ``run`` must print: ``lines`` (crash's or pycore's own), after every deviation that applies."""
    expected = Expected(0, lines)
    for deviation in DEVIATIONS:
        if deviation.applies(run, expected):
            run, expected = deviation.expect(run, expected)
    return run, expected


def assert_output(result: Output, expected: Expected, what: str) -> None:
    got = result.out.rstrip("\n").splitlines()
    # A pattern line of the expectation becomes pycore's line when it matches, so that any
    # difference shows in pytest's diff of the two lists.
    resolved = [line if isinstance(want, re.Pattern) and want.fullmatch(line) else want
                for line, want in zip(got, expected.lines)] + expected.lines[len(got):]
    assert got == resolved, what
    stderr = expected.stderr
    assert result.err == stderr or isinstance(stderr, re.Pattern) and stderr.fullmatch(result.err), what
    assert result.status == expected.status, what


def argv(case: Case, dump: str, command: Command, reference: Optional[Dict], *options: str) -> Tuple[str, ...]:
    """pycore's command line for ``command`` on ``dump``, with the arguments crash was given."""
    arguments = reference["command"].split()[len(command.crash.split()):] if command.per_reference else []
    return (command.pycore[0], case.path(dump), *command.pycore[1:], *arguments, *options)


def recordings(case: Case, dump: Dict, command: Command) -> List[Dict]:
    """crash's recordings that ``command`` on ``dump`` is held to."""
    found = [r for r in case.references(command.crash)
             if r["command"] == command.crash or command.per_reference and r["command"].startswith(command.crash + " ")]
    own = [r for r in found if r.get("dump") == dump["name"]]
    if own or command.per_reference:
        return own
    return [r for r in found if r.get("dump") == case.reference_dump][:1]


NATIVE = pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built or PYCORE_PURE is set")


def crash_comparisons() -> list:
    """(case, dump, command, recording, options) for every recording of crash a command meets, on every
    dump; on the reference dump also with the vmlinux, where it is downloaded."""
    params = []
    for case, dump in PARAMS:
        modes = [()]
        if dump["name"] == case.reference_dump and os.path.exists(case.vmlinux):
            modes.append(("--vmlinux", case.vmlinux))
        for command, mode in itertools.product(COMMANDS, modes):
            if command.crash is None or mode and command.per_reference:
                continue
            for reference in recordings(case, dump, command):
                readers = [("C", (), [NATIVE]), ("python", ("--pure",), [])] if command.both_readers else [("", (), [])]
                for reader, flag, marks in readers:
                    words = reference["command"] if command.per_reference else command.crash
                    name = "/".join(filter(None, [case.name, dump["name"], words, reader, mode and "vmlinux"]))
                    params.append(pytest.param(case, dump, command, reference, flag + mode, id=name, marks=marks))
    return params


@pytest.mark.parametrize("case,dump,command,reference,options", crash_comparisons())
def test_command_matches_crash(case, dump, command, reference, options):
    run = Run(case, dump, command, argv(case, dump["name"], command, reference, *options),
              vmlinux="--vmlinux" in options, against="crash", reference=reference)
    with open(case.path(reference["file"]), errors="replace") as f:
        crash_lines = f.read().rstrip("\n").splitlines()
    run, expected = expect(run, crash_lines)
    assert_output(pycore_output(*run.argv), expected, " ".join(run.argv))


VMLINUX_CASES = [case for case in {case.name: case for case, _ in PARAMS}.values() if os.path.exists(case.vmlinux)]


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.per_reference], ids=lambda c: " ".join(c.pycore))
@pytest.mark.parametrize("case", VMLINUX_CASES, ids=lambda c: c.name)
def test_same_answer_with_and_without_the_vmlinux(case, command):
    """With the vmlinux, symbols and types come from its DWARF and .symtab instead of the dump's
    kallsyms and BTF: every command must still give the same answer."""
    dump = next(d for d in case.dumps() if d["name"] == case.reference_dump)
    without = pycore_output(*argv(case, dump["name"], command, None))
    assert (without.status, without.err) == (0, "")
    run = Run(case, dump, command, argv(case, dump["name"], command, None, "--vmlinux", case.vmlinux),
              vmlinux=True, against="dump only")
    run, expected = expect(run, without.out.rstrip("\n").splitlines())
    assert_output(pycore_output(*run.argv), expected, " ".join(run.argv))
