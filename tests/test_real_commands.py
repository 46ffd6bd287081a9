"""Every crash command pycore reproduces, run as its command line on every real dump (the corpus
and the committed sample) and compared with what crash 9 printed on the same crash.

The commands, the recordings each meets and the deviations from crash are tables in
tests/crash_reference.py.  Tests that prove more than text equality (JSON fields, helpers against
each other, other tools' logs) stay in the focused test_*_real.py files.
"""
import itertools
import os

import pytest

from pycore import native

from corpus import pycore_output, real_dumps
from crash_reference import COMMANDS, Run, argv, assert_output, expect, known_gap, recordings

pytestmark = pytest.mark.real
PARAMS = real_dumps()
NATIVE = pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built or PYCORE_PURE is set")


def crash_comparisons() -> list:
    """(case, dump, command, recording, options) for every recording of crash a command meets, on every
    dump; on the reference dump also with the vmlinux, where it is downloaded.  A recording the
    manifest says crash got wrong as a whole is skipped, with the test that meets the guest's own view
    instead (test_guest_view_real.py); a known gap of pycore is a strict xfail."""
    params = []
    for case, dump in PARAMS:
        modes = [()]
        if dump["name"] == case.reference_dump and os.path.exists(case.vmlinux):
            modes.append(("--vmlinux", case.vmlinux))
        for command, mode in itertools.product(COMMANDS, modes):
            if command.crash is None or mode and command.per_reference:
                continue
            wrong = case.crash_wrong(command.crash)
            gap = known_gap(case.name, command.crash, "vmlinux" if mode else "dump only", dump["name"])
            for reference in recordings(case, dump, command):
                readers = [("C", (), [NATIVE]), ("python", ("--pure",), [])] if command.both_readers else [("", (), [])]
                for reader, flag, marks in readers:
                    words = reference["command"] if command.per_reference else command.crash
                    name = "/".join(filter(None, [case.name, dump["name"], words, reader, mode and "vmlinux"]))
                    if wrong and "lines" not in wrong:
                        marks = marks + [pytest.mark.skip(reason=f"crash is wrong here ({wrong['why']}); "
                                                                 f"test_guest_view_real.py meets the guest's "
                                                                 f"{wrong['guest_view']} instead")]
                    params.append(pytest.param(case, dump, command, reference, flag + mode, id=name,
                                               marks=marks + gap))
    return params


@pytest.mark.parametrize("case,dump,command,reference,options", crash_comparisons())
def test_command_matches_crash(case, dump, command, reference, options):
    """pycore's output is crash's recording, up to the deviations listed in crash_reference.DEVIATIONS."""
    run = Run(case, dump, command, argv(case, dump["name"], command, reference, *options),
              vmlinux="--vmlinux" in options, against="crash", reference=reference)
    with open(case.path(reference["file"]), errors="replace") as f:
        crash_lines = f.read().rstrip("\n").splitlines()
    run, expected = expect(run, crash_lines)
    assert_output(pycore_output(*run.argv), expected, " ".join(run.argv))


VMLINUX_CASES = [case for case in {case.name: case for case, _ in PARAMS}.values() if os.path.exists(case.vmlinux)]


def with_and_without() -> list:
    """(case, command) of every case with its vmlinux downloaded; a known gap is a strict xfail."""
    return [pytest.param(case, command, id=f"{case.name}-{' '.join(command.pycore)}",
                         marks=known_gap(case.name, command.crash or " ".join(command.pycore), "with and without",
                                         case.reference_dump))
            for case in VMLINUX_CASES for command in COMMANDS if not command.per_reference]


@pytest.mark.parametrize("case,command", with_and_without())
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
