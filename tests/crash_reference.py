"""How pycore's commands meet crash 9's recordings of the same crash: the command table, the one list
of deviations from crash, and the comparison.  Used by tests/test_real_commands.py (every real dump)
and bench/bench_commands.py (a bench's output must be right before its speed counts).

``COMMANDS`` says what runs and which of crash's recordings it meets.  ``DEVIATIONS`` is the one
list of the places where the output differs from crash's on purpose or because of how the
reference was recorded (README, "Deliberate differences from crash"): each entry checks the
difference itself and hands back what pycore must then print.  ``KNOWN_GAPS`` is the one list of
the places where pycore is wrong today: each is a strict expected failure, so that it turns into
an XPASS failure the moment it is fixed and its entry has to go.
"""
import datetime
import json
import os
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import pytest

import pycore
from pycore.errors import PageExcludedError

from cli_cases import modes
from corpus import Case, Output, cases, pycore_output

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
    tainted = "  [TAINTED]" if expected.lines[0].endswith("  [TAINTED]") else ""
    kernel = (f"      KERNEL: {run.case.vmlinux}{tainted}" if run.vmlinux
              else re.compile(r"      KERNEL: \(no vmlinux: symbols from kallsyms.*\)" + re.escape(tainted)))
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


def _crash_wrong_lines(run: Run, expected: Expected) -> bool:
    wrong = run.case.crash_wrong(run.command.crash) if run.command.crash else None
    return run.against == "crash" and wrong is not None and "lines" in wrong


def _guest_view_lines(run: Run, expected: Expected) -> Tuple[Run, Expected]:
    """crash's wrong lines replaced by pycore's, each checked against the guest's own view."""
    wrong = run.case.crash_wrong(run.command.crash)
    ours = {line.split(":", 1)[0].strip(): line
            for line in pycore_output(*run.argv).out.splitlines() if ":" in line}
    labels = [line.split(":", 1)[0].strip() if isinstance(line, str) else None for line in expected.lines]
    lines = list(expected.lines)
    for label in wrong["lines"]:
        if label in ours:  # else pycore failed, and the comparison shows it
            GUEST_CHECKS[label](run.case, ours[label])
            lines[labels.index(label)] = ours[label]
    return run, replace(expected, lines=lines)


def _date_follows_the_guest_clock(case: Case, line: str) -> None:
    """sys DATE: the crash came within a minute after the guest's ``date +%s`` (the console listings
    and sysrq-c are all that ran in between)."""
    date = datetime.datetime.strptime(line.split(":", 1)[1].strip(), "%a %b %d %H:%M:%S %Z %Y")
    crashed = date.replace(tzinfo=datetime.timezone.utc).timestamp()
    assert 0 <= crashed - int(case.guest_view("date")) < 60, line


def _uptime_follows_the_guest_uptime(case: Case, line: str) -> None:
    """sys UPTIME: at least the guest's /proc/uptime, less than a minute more."""
    hours, minutes, seconds = (int(part) for part in line.split(":", 1)[1].strip().split(":"))
    uptime = hours * 3600 + minutes * 60 + seconds
    assert 0 <= uptime - int(float(case.guest_view("uptime").split()[0])) < 60, line


def _crash_guessed_another_hz(run: Run, expected: Expected) -> bool:
    if run.command.crash != "sys" or run.against != "crash":
        return False
    result = pycore_output(*run.argv, "--json")
    if result.status != 0:
        return False  # pycore failed: the comparison shows it
    info = json.loads(result.out)
    return info["kernel_hz"] is not None and info["hz"] != info["kernel_hz"]


def _kernel_uptime_line(run: Run, expected: Expected) -> Tuple[Run, Expected]:
    """crash's UPTIME replaced by pycore's, checked against the guest's /proc/uptime."""
    ours = next(line for line in pycore_output(*run.argv).out.splitlines() if line.startswith("      UPTIME: "))
    _uptime_follows_the_guest_uptime(run.case, ours)
    lines = [ours if isinstance(line, str) and line.startswith("      UPTIME: ") else line for line in expected.lines]
    return run, replace(expected, lines=lines)


GUEST_CHECKS: Dict[str, Callable[[Case, str], None]] = {
    "DATE": _date_follows_the_guest_clock,
    "UPTIME": _uptime_follows_the_guest_uptime,
}
"""How a line crash gets wrong (the manifest's crash_wrong ``lines``) is checked against the guest."""


_CONSOLE_FRAME = re.compile(r"^\[\s*[\d.]+\]\s+([\w.]+)\+0x([0-9a-f]+)/0x\2\s*$")
_BT_FRAME = re.compile(r"^ ?#\d+ \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)")


def _calls_ending_their_function(case: Case) -> List[str]:
    """The functions of the kernel's own reliable call traces (console.log, frames without '?')
    whose return address is their last byte plus one (``watchdog.cold+0xd1/0xd1``): a call that
    ends its function."""
    if not os.path.exists(case.path("console.log")):
        return []
    with open(case.path("console.log"), errors="replace") as f:
        return [m.group(1) for m in map(_CONSOLE_FRAME.match, f.read().splitlines()) if m]


def _bt_of_call_ending_its_function(run: Run, expected: Expected) -> bool:
    return (run.command.crash in ("bt -a", "foreach bt") and run.against == "crash"
            and bool(_calls_ending_their_function(run.case)))


def _kernel_named_frames(run: Run, expected: Expected) -> Tuple[Run, Expected]:
    """crash's traces with pycore's where the only difference is a frame the kernel's trace shows
    and crash drops (the return address after a call that ends its function is the first byte
    of the next symbol: crash takes it for a function pointer), and the stale slots inside that
    frame, which crash then shows as frames of their own."""
    functions = _calls_ending_their_function(run.case)
    ours = pycore_output(*run.argv).out.rstrip("\n").split("\n\n")
    theirs = "\n".join(line for line in expected.lines if isinstance(line, str)).split("\n\n")
    if len(ours) != len(theirs):
        return run, expected  # not the difference this entry is about: the comparison shows it
    blocks = []
    for mine, crash in zip(ours, theirs):
        blocks.append(mine if mine != crash and _only_frames_after_calls_ending_their_function(
            mine.splitlines(), crash.splitlines(), functions) else crash)
    return run, replace(expected, lines="\n\n".join(blocks).splitlines())


def _only_frames_after_calls_ending_their_function(mine: List[str], crash: List[str], functions: List[str]) -> bool:
    """Whether two traces of one task differ only by frames in ``functions`` (pycore's) and
    crash's frames on the stack slots those frames cover (up to pycore's next frame)."""
    frames = [m.groups() for m in map(_BT_FRAME.match, mine) if m]
    others = [m.groups() for m in map(_BT_FRAME.match, crash) if m]
    if mine[0] != crash[0] or [line for line in mine if not _BT_FRAME.match(line)] != \
            [line for line in crash if not _BT_FRAME.match(line)]:
        return False
    if [frame for frame in frames if frame in others] != [frame for frame in others if frame in frames]:
        return False
    added = [frame for frame in frames if frame not in others]
    if not added or any(name not in functions for _, name, _ in added):
        return False
    covered = []
    for sp, _, _ in added:
        following = [int(other, 16) for other, _, _ in frames if int(other, 16) > int(sp, 16)]
        covered.append((int(sp, 16), min(following, default=1 << 64)))
    dropped = [frame for frame in others if frame not in frames]
    return all(any(low < int(sp, 16) < high for low, high in covered) for sp, _, _ in dropped)


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
    Deviation("sys UPTIME where crash's guess of HZ is not the kernel's (Debian's 6.12 and 7.2: 1000 for "
              "250): pycore counts jiffies at the kernel's own HZ, checked against the guest's /proc/uptime",
              _crash_guessed_another_hz, _kernel_uptime_line),
    Deviation("bt where the kernel's own trace shows a call that ends its function (6.12's khungtaskd: "
              "watchdog.cold+0xd1/0xd1 -> panic): its return address is the next symbol's first byte, which "
              "crash drops as a function pointer, showing the stale slots of the lost frame instead; pycore "
              "looks the return address up at ip - 1 as the kernel's unwinder does and names it by the call "
              "(%pB), checked against the kernel's trace (test_bt_console_real.py)",
              _bt_of_call_ending_its_function, _kernel_named_frames),
    Deviation("crash 9 is wrong on this kernel for some lines of the command (the manifest's crash_wrong): "
              "pycore's line stands, checked against the guest's own view (GUEST_CHECKS)",
              _crash_wrong_lines, _guest_view_lines),
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


@dataclass(frozen=True)
class KnownGap:
    """A place where pycore is known to be wrong today, on the dumps of one corpus case."""

    case: str
    """The case (its directory under the corpus)."""
    tests: Tuple[str, ...]
    """What fails: commands of ``COMMANDS`` as crash spells them (pycore's words for a command crash
    does not have), or names of test functions in the tests/test_*_real.py files."""
    modes: Tuple[str, ...]
    """Where: "dump only" (symbols and types from the dump), "vmlinux" (given --vmlinux), "with and
    without" (test_same_answer_with_and_without_the_vmlinux: the two against each other)."""
    reason: str
    dumps: Tuple[str, ...] = ()
    """The dump files it fails on; every one of the case when empty."""
    strict: bool = True
    """False where whether it fails depends on the build of the case (what the filter dropped, the
    state a task was caught in): a rebuilt corpus may not show it."""


ALL_MODES = ("dump only", "vmlinux", "with and without")
KNOWN_GAPS = [
    KnownGap("7.2-sysrq-l4", ("ps",), ("dump only",),
             "ps on the -d 31 dumps is a partial answer: makedumpfile 1.7.8 does not decode 7.1+'s struct page "
             "compound_info and drops the tail pages of multi-page slabs, where some tasks' memory counters "
             "lie (crash prints nothing); pycore prints every other task's line and names the PIDs it could "
             "not read, which tests/test_partial_task_list.py holds to crash's lines and PIDs",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd")),
    KnownGap("7.2-sysrq-l4", ("bt -a", "foreach bt"), ("dump only", "vmlinux"),
             "crash 9.0.2 reads 7.2's ORC tables with the pre-7.1 register numbers and falls back to guessing "
             "from the stack (frames the kernel marks '?', a second do_syscall_64); pycore's frames follow the "
             "kernel's own panic trace (test_bt_console_real.py), and there is no guest view of bt to compare "
             "with instead"),
    KnownGap("7.2-sysrq-l4", ("test_helpers_agree_with_each_other",), ("dump only",),
             "makedumpfile 1.7.8's -d 31 leaves out the tail pages of multi-page slabs on 7.1+ (it does not "
             "decode struct page's compound_info, which replaced compound_head): kmem -s cannot read the sheaves "
             "kept there and says so",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd")),
    KnownGap("7.2-hung-l4", ("ps", "foreach bt", "test_helpers_agree_with_each_other"),
             ("dump only",),
             "the -d 31 dumps lack pages of task_structs and slab tails makedumpfile 1.7.8 dropped on 7.1+ (see "
             "7.2-sysrq-l4): ps and foreach bt are partial (tests/test_partial_task_list.py, "
             "tests/test_bt_partial.py); which pages it drops depends on the build",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd"), strict=False),
    KnownGap("7.2-sysrq-l4", ("kmem -i",), ("dump only",),
             "kmem -i on the -d 31 dumps reads a page makedumpfile 1.7.8 dropped on 7.1+ (see above); which "
             "pages it drops depends on the build",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd"), strict=False),
    KnownGap("7.2-locks-l4", ("ps", "bt -a", "foreach bt"), ("dump only",),
             "the -d 31 dumps lack pages of task_structs makedumpfile 1.7.8 dropped on 7.1+ (see 7.2-sysrq-l4): "
             "ps is partial (tests/test_partial_task_list.py); which pages it drops depends on the build",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd"), strict=False),
    KnownGap("7.2-locks-l4", ("kmem -i",), ("dump only",),
             "kmem -i on the -d 31 dumps reads a page makedumpfile 1.7.8 dropped on 7.1+ (see 7.2-sysrq-l4)",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd"), strict=False),
    KnownGap("7.2-locks-l4", ("bt -a", "foreach bt"), ("dump only", "vmlinux"),
             "crash 9.0.2 reads 7.2's ORC tables with the pre-7.1 register numbers (stale page-fault frames) and "
             "runs with --no_modules (no module frames, exception RIP 'no symbolic reference'); "
             "tests/test_hang_locks.py meets the guest's /proc/PID/stack listing instead",
             dumps=("vmcore.elf",)),
    KnownGap("7.2-hung-l4", ("kmem -i",), ("dump only",),
             "the -d 31 dumps lack pages makedumpfile 1.7.8 dropped on 7.1+ (see 7.2-sysrq-l4); which pages it "
             "drops depends on the build",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd"), strict=False),
    KnownGap("7.2-zswap-l4", ("bt -a", "foreach bt"), ("dump only", "vmlinux"),
             "crash 9.0.2 reads 7.2's ORC tables with the pre-7.1 register numbers (see 7.2-sysrq-l4)"),
    KnownGap("7.2-locks-l4", ("test_helpers_agree_with_each_other",), ("dump only",),
             "makedumpfile 1.7.8's -d 31 leaves out the tail pages of multi-page slabs on 7.1+ (see 7.2-sysrq-l4)",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd")),
    KnownGap("7.2-hung-l4", ("foreach bt",), ("dump only", "vmlinux"),
             "crash 9.0.2 walks the blocked writers' stacks past do_syscall_64 into stale page-fault frames (the "
             "pre-7.1 ORC register numbers again); the guest's /proc/PID/stack agrees with pycore (test_hang.py)",
             dumps=("vmcore.elf",)),
    KnownGap("7.2-rcu-l4", ("ps", "bt -a", "foreach bt"), ("dump only",),
             "the -d 31 dumps lack pages of task_structs makedumpfile 1.7.8 dropped on 7.1+ (see 7.2-sysrq-l4): "
             "ps is partial (tests/test_partial_task_list.py)",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd")),
    KnownGap("7.2-rcu-l4", ("kmem -i",), ("dump only",),
             "kmem -i on the -d 31 dumps reads a page makedumpfile 1.7.8 dropped on 7.1+ (see 7.2-sysrq-l4)",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd"), strict=False),
    KnownGap("7.2-rcu-l4", ("bt -a", "foreach bt"), ("dump only", "vmlinux"),
             "crash 9.0.2 reads 7.2's ORC tables with the pre-7.1 register numbers (stale frames in the timer "
             "interrupt) and runs with --no_modules (no pycore_stall frames, exception RIP 'no symbolic "
             "reference'); tests/test_hang_rcu.py meets the guest's /proc/PID/stack listing instead",
             dumps=("vmcore.elf",)),
    KnownGap("7.2-rcu-l4", ("test_helpers_agree_with_each_other",), ("dump only",),
             "makedumpfile 1.7.8's -d 31 leaves out the tail pages of multi-page slabs on 7.1+ (see 7.2-sysrq-l4)",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd")),
    KnownGap("7.2-io-l4", ("ps", "foreach bt", "test_helpers_agree_with_each_other"),
             ("dump only",),
             "the -d 31 dumps lack pages of task_structs and slab tails makedumpfile 1.7.8 dropped on 7.1+ (see "
             "7.2-sysrq-l4): ps and foreach bt are partial (tests/test_partial_task_list.py, "
             "tests/test_bt_partial.py); bt -a needs no dropped page",
             dumps=("vmcore.flat-zstd", "vmcore-guest.kdump-zstd")),
    KnownGap("7.2-io-l4", ("foreach bt",), ("dump only", "vmlinux"),
             "crash 9.0.2 walks sleeping tasks' stacks (init's wait4, the dd tasks') past do_syscall_64 into "
             "stale page-fault frames (the pre-7.1 ORC register numbers, see 7.2-sysrq-l4); "
             "tests/test_corpus_io.py and test_hang.py meet the guest's /proc/PID/stack instead",
             dumps=("vmcore.elf",)),
]
"""Every known gap, once.  ``known_gap`` turns a matching entry into a strict xfail."""


def recorded_params(commands: Sequence[str], with_mode: bool = False,
                    marks: Callable[[Case, str, str], list] = lambda case, command, mode: []) -> list:
    """A pytest.param for each of crash's ``commands`` the corpus recorded on a case's reference
    dump, once in each of the case's modes (cli_cases.modes: the dump alone, with the vmlinux),
    named CASE-COMMAND-MODE: (case, command, options), or (case, command, mode, options) with
    ``with_mode``; ``marks(case, command, mode)`` gives its marks."""
    params = []
    for case in cases():
        for command in commands:
            if case.reference(command, case.reference_dump) is None:
                continue
            for mode, options in modes(case):
                values = (case, command, mode, options) if with_mode else (case, command, options)
                params.append(pytest.param(*values, id=f"{case.name}-{command}-{mode}",
                                           marks=marks(case, command, mode)))
    return params


def known_gap(case: str, test: str, mode: str, dump: Optional[str] = None) -> List[pytest.MarkDecorator]:
    """The marks of ``test`` (a command or a test function's name, as in ``KnownGap.tests``) on
    ``case`` in ``mode``, on ``dump`` when the test runs on one: a strict xfail giving the reason when
    ``KNOWN_GAPS`` lists it, else none."""
    return [pytest.mark.xfail(strict=gap.strict, reason=f"known gap: {gap.reason}") for gap in KNOWN_GAPS
            if gap.case == case and test in gap.tests and mode in gap.modes
            and (not gap.dumps or dump in gap.dumps)][:1]


def with_known_gaps(test: str, params: list, ids: List[str], mode: str = "dump only") -> list:
    """``params`` of a real-dump test (a case, or a tuple of the case and maybe its dump entry) as
    pytest.params carrying ``known_gap``'s marks for ``test``."""
    found = []
    for values, name in zip(params, ids):
        values = values if isinstance(values, tuple) else (values,)
        dump = values[1]["name"] if len(values) > 1 and isinstance(values[1], dict) else None
        found.append(pytest.param(*values, id=name, marks=known_gap(values[0].name, test, mode, dump)))
    return found
