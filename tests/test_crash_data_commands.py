"""crash's data commands (sym, rd, eval, ascii, ptob, btop, ptov, vtop, dis, search) against crash 9's own
answers on the same dumps: the corpus recordings (testdata/corpus/reference.py FULL_COMMANDS and the
per-dump vtop/ptov/rd lines) and the answers to further options kept under testdata/crash_answers/.

Each answer is compared whole, byte for byte, on the dump crash read, with the vmlinux and without it
where crash's answer does not come from DWARF.  The differences, each checked here:

- pycore ends every output with a newline; ``rd -a`` without a count stops at the first byte that is
  not printable and crash prints no newline after the string.
- without a vmlinux there is no DWARF: ``sym`` of a text symbol ends after the name and one space
  (crash's separator before its ``file: line``), and ``dis -l`` and ``dis -s`` are a
  MissingDebugInfoError.
- crash 9.0.2 reads no module on 7.2 (it runs with --no_modules there): the guest's own
  /proc/modules decides the module names pycore's ``sym -M``, ``sym -m`` and module lookups show.
"""
import os
import re

import pytest

from cli_cases import recorded_commands
from corpus import at_kaslr_offset, cases, pycore_output

pytestmark = pytest.mark.real
ANSWERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "crash_answers")

COMMANDS = {"sym", "rd", "eval", "ascii", "ptob", "btop", "ptov", "vtop", "dis", "search"}
# Recorded commands of these words another module compares with crash: the whole symbol table.
TESTED_ELSEWHERE = {"sym -l": "tests/test_crash_more_commands.py"}
# The recorded crash commands of each case this module's commands answer.
RECORDED = [command for command in recorded_commands(COMMANDS) if command not in TESTED_ELSEWHERE]
# The options of each command that take a value (the word after them).
VALUE_OPTIONS = {"sym": {"-q", "-m"}, "rd": {"-o", "-e", "-r"}, "search": {"-s", "-e", "-l", "-m", "-x"}}
# Module symbols, which crash 9.0.2 cannot read on 7.2 (see module_names_are_the_guests): by command,
# or by what a per-dump command's address is.
LOCKS_SYMBOLS = "sym pycore_mutex_a pycore_mutex_b pycore_rwsem"  # the locks cases' test module
MODULE_SYMBOLS = {"sym -M", "sym -m qemu_fw_cfg", "sym fw_cfg_sysfs_probe", "sym -q fw_cfg_sysfs_pro",
                  "sym virtblk_done", "dis virtblk_done", "dis -r virtblk_done+20", "rd virtblk_done 2",
                  "the last module's list_head", LOCKS_SYMBOLS}
# Where crash 9.0.2 stopped at 7.1's slab pages: tests/test_slab_lookup_real.py checks rd -S there.
CRASH_STOPS = "invalid structure member offset: page_first_page"
# Answers that need the vmlinux's DWARF (sym's source line) or differ without it.
NEEDS_DWARF = re.compile(r"^([0-9a-f]+ \(\w\) \S+) \S+: \d+$")
SECTION_NAME = re.compile(r"(?<= )\.data +")

# Where pycore differs from crash until a layer below the CLI changes (strict: a fix shows): the
# command (a per-dump one by its word and what its address is), the kernels, the mode (None: both), why.
GAPS = [
    ("dis entry_SYSCALL_64", {"5.10", "6.1", "6.12", "7.2"}, "dump only",
     "its size covers the global labels inside it (entry_SYSCALL_64_safe_stack, ...), where kallsyms alone ends it"),
    ("dis filemap_read", {"6.12"}, "dump only",
     "gdb names no symbol for a %rip-relative string past the end of the last sized symbol; kallsyms gives the "
     "nearest one before it"),
]


# crash 9.0.2's answer to ASSEMBLER_SYMBOLS on the reference dump of one case of each kernel (with its
# vmlinux), about the functions of .S units: weak ones (memset, memcpy: W on 5.10 and 6.1), a macro's
# (GEN-for-each-reg.h), a global label inside another function (entry_SYSCALL_64_safe_stack), one
# without line rows (copy_user_generic_unrolled: crash's separator space and nothing after it), one
# the kernel lacks.
ASSEMBLER_SYMBOLS = ("sym memset __memmove entry_SYSCALL_64 __x86_return_thunk memcpy copy_user_generic_unrolled "
                     "rep_movs_alternative __x86_indirect_thunk_rax entry_SYSCALL_64_safe_stack")
# Addresses as the vmlinux links them: each run adds its dump's KASLR offset (a corpus build boots anew).
ASSEMBLER_ANSWERS = {
    "5.10-sysrq-l4": [
        'ffffffff8153bb20 (W) memset /build/reproducible-path/linux-5.10.223/arch/x86/lib/memset_64.S: 28',
        'ffffffff8153b970 (T) __memmove /build/reproducible-path/linux-5.10.223/arch/x86/lib/memmove_64.S: 30',
        'ffffffff81a00080 (T) entry_SYSCALL_64 /build/reproducible-path/linux-5.10.223/arch/x86/entry/entry_64.S: 90',
        'ffffffff81c02140 (T) __x86_return_thunk /build/reproducible-path/linux-5.10.223/arch/x86/lib/retpoline.S: 262',
        'ffffffff818a8830 (W) memcpy /build/reproducible-path/linux-5.10.223/arch/x86/lib/memcpy_64.S: 32',
        'ffffffff81538cf0 (T) copy_user_generic_unrolled ',
        'symbol not found: rep_movs_alternative',
        'possible alternatives:',
        '  (none found)',
        'ffffffff81c01de0 (T) __x86_indirect_thunk_rax /build/reproducible-path/linux-5.10.223/arch/x86/include/asm/GEN-for-each-reg.h: 6',
        'ffffffff81a000a9 (T) entry_SYSCALL_64_safe_stack /build/reproducible-path/linux-5.10.223/arch/x86/entry/entry_64.S: 99',
    ],
    "6.1-sysrq-l4": [
        'ffffffff819c5eb0 (W) memset /build/reproducible-path/linux-6.1.192/arch/x86/lib/memset_64.S: 27',
        'ffffffff819c5d00 (T) __memmove /build/reproducible-path/linux-6.1.192/arch/x86/lib/memmove_64.S: 29',
        'ffffffff81c00080 (T) entry_SYSCALL_64 /build/reproducible-path/linux-6.1.192/arch/x86/entry/entry_64.S: 91',
        'ffffffff81e01ef0 (T) __x86_return_thunk /build/reproducible-path/linux-6.1.192/arch/x86/lib/retpoline.S: 383',
        'ffffffff81a077a0 (W) memcpy /build/reproducible-path/linux-6.1.192/arch/x86/lib/memcpy_64.S: 32',
        'ffffffff819c2d90 (T) copy_user_generic_unrolled ',
        'symbol not found: rep_movs_alternative',
        'possible alternatives:',
        '  (none found)',
        'ffffffff81e01740 (T) __x86_indirect_thunk_rax /build/reproducible-path/linux-6.1.192/arch/x86/include/asm/GEN-for-each-reg.h: 6',
        'ffffffff81c000a9 (T) entry_SYSCALL_64_safe_stack /build/reproducible-path/linux-6.1.192/arch/x86/entry/entry_64.S: 101',
    ],
    "6.12-oom-l5": [
        'ffffffff81cbe120 (T) memset debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/memset_64.S: 31',
        'ffffffff81cbdf60 (T) __memmove debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/memmove_64.S: 29',
        'ffffffff81e00080 (T) entry_SYSCALL_64 debian/build/build_amd64_none_cloud-amd64/arch/x86/entry/entry_64.S: 89',
        'ffffffff81ccc670 (T) __x86_return_thunk debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/retpoline.S: 447',
        'ffffffff81cbdde0 (T) memcpy debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/memcpy_64.S: 33',
        'symbol not found: copy_user_generic_unrolled',
        'possible alternatives:',
        '  (none found)',
        'ffffffff81c6a4a0 (T) rep_movs_alternative debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/copy_user_64.S: 32',
        'ffffffff81ccba40 (T) __x86_indirect_thunk_rax debian/build/build_amd64_none_cloud-amd64/arch/x86/include/asm/GEN-for-each-reg.h: 6',
        'ffffffff81e000ab (T) entry_SYSCALL_64_safe_stack debian/build/build_amd64_none_cloud-amd64/arch/x86/entry/entry_64.S: 101',
    ],
    "7.2-sysrq-l4": [
        'ffffffff82242a10 (T) memset debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/memset_64.S: 32',
        'ffffffff82242850 (T) __memmove debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/memmove_64.S: 30',
        'ffffffff81000080 (T) entry_SYSCALL_64 debian/build/build_amd64_none_cloud-amd64/arch/x86/entry/entry_64.S: 89',
        'ffffffff82254b30 (T) __x86_return_thunk debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/retpoline.S: 463',
        'ffffffff822426e0 (T) memcpy debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/memcpy_64.S: 33',
        'symbol not found: copy_user_generic_unrolled',
        'possible alternatives:',
        '  (none found)',
        'ffffffff82231a10 (T) rep_movs_alternative debian/build/build_amd64_none_cloud-amd64/arch/x86/lib/copy_user_64.S: 36',
        'ffffffff82253f00 (T) __x86_indirect_thunk_rax debian/build/build_amd64_none_cloud-amd64/arch/x86/include/asm/GEN-for-each-reg.h: 6',
        'ffffffff810000ab (T) entry_SYSCALL_64_safe_stack debian/build/build_amd64_none_cloud-amd64/arch/x86/entry/entry_64.S: 101',
    ],
}



def known_gap(case, command: str, what: str, mode: str):
    """Why pycore's answer differs from crash's on this case (GAPS), or None."""
    kernel = case.name.split("-")[0]
    names = {command, f"{command.split()[0]} {what}"}
    return next((why for name, kernels, only, why in GAPS if name in names and kernel in kernels
                 and only in (None, mode)), None)


def recordings():
    params = []
    for case in cases():
        dump = case.reference_dump
        if not os.path.exists(case.path(dump)):
            continue
        commands = [(c, "") for c in RECORDED if case.reference(c, dump) is not None]
        commands += [(r["command"], r["what"]) for r in per_dump(case)]
        for command, what in commands:
            if CRASH_STOPS in case.reference(command, dump):
                continue
            modes = ["dump only"] + (["vmlinux"] if os.path.exists(case.vmlinux) else [])
            for mode in modes:
                # Only what names symbols (sym, dis, rd): vtop and search of a module's address print none;
                # the test module's locks only where the guest loaded it (the locks case).
                module = bool({command, what} & MODULE_SYMBOLS) and bool(case.crash_wrong("mod")) \
                    and command.split()[0] in ("sym", "dis", "rd") \
                    and (command != LOCKS_SYMBOLS or "pycore_locks" in (case.guest_view("modules") or ""))
                why = None if module else known_gap(case, command, what, mode)
                marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
                excluded = "(user memory)" in what and bool(case.dump_level() & 8)  # the large guest's -d 31
                params.append(pytest.param(case, command, mode, module, excluded,
                                           id=f"{case.name}/{command}/{mode}", marks=marks))
    return params


def per_dump(case):
    """The recordings of these commands on an address of the case's reference dump (crash's own answer
    about it: reference.py ADDRESS_COMMANDS and the vtop/ptov/rd of a symbol's address), but for
    ``rd -p``'s, which tests/crash_reference.py compares on every dump."""
    return [r for r in case.references("") if "what" in r and r.get("dump") == case.reference_dump
            and r["command"].split()[0] in COMMANDS and not r["command"].startswith("rd -p ")]


def pycore_argv(case, crash_command: str, vmlinux: bool):
    """crash's words as pycore's command line: the command, its leading options (with the values
    of those that take one), the dump, the rest (argparse takes no option between two runs of
    positionals: ``sym DUMP -n panic`` would not parse)."""
    words = crash_command.split()
    options = []
    rest = words[1:]
    takes_value = VALUE_OPTIONS.get(words[0], set())
    while rest and re.fullmatch(r"-[a-zA-Z]+|-(8|16|32|64)", rest[0]):
        options.append(rest.pop(0))
        if options[-1] in takes_value and rest:
            options.append(rest.pop(0))
    argv = [words[0]] + options + [case.path(case.reference_dump)] + rest
    if vmlinux:
        argv += ["--vmlinux", case.vmlinux]
    return argv


def expected_without_dwarf(crash_text: str) -> str:
    """crash's answer as pycore gives it without the vmlinux: no ``file: line`` after a text symbol."""
    return "\n".join(NEEDS_DWARF.sub(r"\1 ", line) for line in crash_text.split("\n"))


def check(case, command: str, crash_text: str, vmlinux: bool) -> None:
    expected = crash_text if crash_text.endswith("\n") else crash_text + "\n"
    if not vmlinux:
        expected = expected_without_dwarf(expected)
    result = pycore_output(*pycore_argv(case, command, vmlinux))
    if re.fullmatch(rf"{command.split()[0]}: [^\n]+\n", expected):
        # crash's one-line refusal (rd -e short of a whole value): pycore's, on stderr with its name.
        assert (result.status, result.out, result.err) == (1, "", f"pycore {expected}")
        return
    # crash says on its console, not in the command's output, that it has no source text for dis -s.
    said = f"dis: {command.split()[-1]}: source code is not available\n" if command.startswith("dis -s") else ""
    # dis of a name the kernel lacks prints crash's answer (its possible alternatives) and fails.
    status = int(command.startswith("dis") and expected.startswith("symbol not found: "))
    assert (result.status, result.err) == (status, said), result.err
    ours, theirs = result.out.split("\n"), expected.split("\n")
    assert len(ours) == len(theirs), result.out
    for line, crash_line in zip(ours, theirs):
        section = SECTION_NAME.search(crash_line)
        if section:
            # crash names the first byte of .data by its section, a name neither kallsyms nor the
            # ELF symtab has; pycore names it by a symbol there.
            pattern = re.escape(crash_line[:section.start()]) + r"\S+ +" + re.escape(crash_line[section.end():])
            assert re.fullmatch(pattern, line), line
        else:
            assert line == crash_line


@pytest.mark.parametrize("case,command,mode,module,excluded", recordings())
def test_recorded_answer_is_crash_answer(case, command, mode, module, excluded):
    """Every recording of these commands, whole, on the dump crash read; a module's symbols where
    crash reads no module (7.2) as the guest listed its modules; user memory the dump left out is
    an error naming the excluded page (README: crash's record there is empty, its error went to
    its console), and search finds nothing there."""
    if excluded:
        result = pycore_output(*pycore_argv(case, command, mode == "vmlinux"))
        if command.startswith("search"):
            assert (result.status, result.out.strip()) == (0, "")
        else:
            assert result.status == 1 and "excluded from the dump" in result.err, result
        return
    if module:
        module_names_are_the_guests(case, command, mode == "vmlinux")
        return
    if mode == "dump only" and command.startswith(("dis -s", "dis -l")):
        result = pycore_output(*pycore_argv(case, command, False))
        assert result.status == 1 and "needs the vmlinux" in result.err
        return
    check(case, command, case.reference(command, case.reference_dump), mode == "vmlinux")


def module_names_are_the_guests(case, command: str, vmlinux: bool) -> None:
    """Where crash reads no module (7.2), the module names pycore shows are those the guest's
    /proc/modules listed, each module's symbols between its START and END lines; ``dis`` and ``rd``
    of a module's function read it where sym finds it, in a module the guest listed."""
    guest = case.guest_view("modules")
    if guest is None:
        pytest.skip(f"{case.name} recorded no guest view of its modules")
    loaded = {line.split()[0] for line in guest.splitlines() if line.strip()}
    result = pycore_output(*pycore_argv(case, command, vmlinux))
    assert (result.status, result.err) == (0, ""), result.err
    lines = result.out.splitlines()
    assert lines
    if command.startswith("sym -M") or command.startswith("sym -m"):
        starts = [line.split(": ")[1] for line in lines if " MODULE " in line and "START: " in line]
        ends = [line.split(": ")[1] for line in lines if " MODULE " in line and "END: " in line]
        assert starts and starts == ends and set(starts) <= loaded
    elif command.split()[0] in ("dis", "rd"):
        target = command.split()[-2 if command.startswith("rd ") else -1]
        name = re.sub(r"\+\d+$", "", target)
        named = pycore_output("sym", case.path(case.reference_dump), name).out.split()
        assert named[-1].strip("[]") in loaded
        assert lines[0].startswith(f"0x{named[0]} <{name}>:" if command.startswith("dis ") else f"{named[0]}:  ")
    else:
        modules = [re.search(r" \[(\w+)\] ?$", line) for line in lines if line]
        assert all(found and found.group(1) in loaded for found in modules), result.out


def answers():
    """(case, command, crash's text) of each answer to this module's commands kept under
    testdata/crash_answers/<case>/ (other commands' tests keep theirs there too),
    on the case's reference dump when it is the one crash read (its sha256 in the answer's first line)."""
    params = []
    by_name = {case.name: case for case in cases()}
    for name in sorted(os.listdir(ANSWERS)) if os.path.isdir(ANSWERS) else []:
        directory = os.path.join(ANSWERS, name)
        if name not in by_name or not os.path.isdir(directory):
            continue
        case = by_name[name]
        dump = next((d for d in case.dumps() if d["name"] == case.reference_dump), None)
        for file in sorted(os.listdir(directory)):
            with open(os.path.join(directory, file), errors="replace") as f:
                header, _, text = f.read().partition("\n")
            command, _, recorded = header[len("crash> "):].partition("  # on ")
            if command.split()[0] not in COMMANDS or dump is None or dump.get("sha256") != recorded.rsplit(" ", 1)[-1]:
                continue
            for mode in ["dump only"] + (["vmlinux"] if os.path.exists(case.vmlinux) else []):
                why = known_gap(case, command, "", mode)
                marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
                params.append(pytest.param(case, command, text, mode, id=f"{name}/{command}/{mode}", marks=marks))
    return params


@pytest.mark.parametrize("case,command,text,mode", answers())
def test_further_options_answer_as_crash(case, command, text, mode):
    """crash's answers to the options beyond the corpus recordings, whole, on the dump crash read."""
    if mode == "dump only" and command.startswith("dis -l"):
        result = pycore_output(*pycore_argv(case, command, False))
        assert result.status == 1 and "needs the vmlinux" in result.err
        return
    check(case, command, text, mode == "vmlinux")


def assembler_cases():
    by_name = {case.name: case for case in cases()}
    return [pytest.param(by_name[name], id=name) for name in ASSEMBLER_ANSWERS
            if name in by_name and os.path.exists(by_name[name].path(by_name[name].reference_dump))]


@pytest.mark.parametrize("mode", ["dump only", "vmlinux"])
@pytest.mark.parametrize("case", assembler_cases())
def test_sym_of_assembler_functions_is_crash_answer(case, mode):
    """The ``file: line`` of functions written in assembler (their units' line programs, DWARF 4 on
    5.10 and 6.1, 5 on 6.12 and 7.2) and of weak ones, as crash gives them."""
    if mode == "vmlinux" and not os.path.exists(case.vmlinux):
        pytest.skip(f"{case.name} has no vmlinux here")
    check(case, ASSEMBLER_SYMBOLS, at_kaslr_offset(case, "\n".join(ASSEMBLER_ANSWERS[case.name]) + "\n"),
          mode == "vmlinux")


SAMPLE = next((case for case in cases() if case.name == "sample"), None)
needs_sample = pytest.mark.skipif(SAMPLE is None, reason="the committed sample dump is missing")


@needs_sample
def test_vtop_of_an_unmapped_address_shows_the_walk_up_to_the_missing_entry():
    """crash prints a physical address made of whatever the walk held; pycore says it is not mapped."""
    result = pycore_output("vtop", SAMPLE.path(SAMPLE.reference_dump), "ffff800000000000")
    assert result.status == 0
    lines = result.out.split("\n")
    assert lines[1] == f"{'ffff800000000000':<16}  {'(not mapped)':<16}"
    assert lines[-2] == "PAGE DIRECTORY: 0"


@needs_sample
@pytest.mark.parametrize("argv,message", [
    (("vtop", "1000"), "pycore vtop: 1000 is a user address: vtop reads kernel addresses only\n"),
    (("eval", "1", "/", "0"), "pycore eval: invalid expression: (1 / 0)\n"),
    (("sym",), "pycore sym: sym needs a symbol name, an address, -q STRING, -l, -M or -m MODULE\n"),
])
def test_what_cannot_be_answered_is_one_line_and_status_1(argv, message):
    result = pycore_output(argv[0], SAMPLE.path(SAMPLE.reference_dump), *argv[1:])
    assert (result.status, result.out, result.err) == (1, "", message)


@needs_sample
def test_dis_of_a_name_the_kernel_lacks_prints_crash_answer_and_fails():
    """crash's ``symbol not found`` and its possible alternatives, the symbols ``sym -q`` finds for
    the name (none here), on stdout; exit status 1 since nothing was disassembled."""
    result = pycore_output("dis", SAMPLE.path(SAMPLE.reference_dump), "nosuchsymbol")
    assert (result.status, result.out, result.err) == (
        1, "symbol not found: nosuchsymbol\npossible alternatives:\n  (none found)\n", "")


@needs_sample
def test_dis_of_memory_the_dump_lacks_is_an_error_naming_the_address():
    result = pycore_output("dis", SAMPLE.path(SAMPLE.reference_dump), "ffff800000000000", "2")
    assert result.status == 1 and result.out == ""
    assert result.err.startswith("pycore dis: ") and "0xffff800000000000" in result.err
