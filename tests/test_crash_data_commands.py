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

from corpus import cases, pycore_output

pytestmark = pytest.mark.real
ANSWERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "crash_answers")

# The recorded crash commands of each case this module's commands answer.
RECORDED = ["sym linux_banner", "sym init_task", "sym panic", "sym -q sysrq_handle_crash", "rd linux_banner 4",
            "rd -32 linux_banner 8", "rd -8 linux_banner 16", "rd -a linux_banner", "rd -d jiffies 1",
            "eval 0x1000 + 16", "ascii 4c696e7578", "btop 0x10000", "ptob 16", "dis panic 5",
            "dis sysrq_handle_crash",
            "search -s linux_banner -l 64 -c Linux", "search -s init_task -l 8192 init_task",
            "search -s init_task -l 8192 -x 1 init_task", "search -s linux_banner -l 64 -w 756e694c",
            "search -s linux_banner -l 64 -h -m f000 694c", "search -t init_task", "search -p -c pycore.scenario",
            "rd -N -32 linux_banner 4", "rd -16 -N linux_banner 8", "rd -R linux_banner 4", "rd -o 8 linux_banner 2",
            "rd -x linux_banner 4", "rd -D -32 linux_banner 2", "rd -r /dev/null linux_banner 64", "rd -f 0x40 4",
            "dis -x panic 5", "dis -x sysrq_handle_crash", "dis -s panic", "sym -M", "sym -m qemu_fw_cfg",
            "sym fw_cfg_sysfs_probe", "sym -q fw_cfg_sysfs_pro"]
PER_DUMP = ("vtop ", "ptov ", "rd 0x")
COMMANDS = {"sym", "rd", "eval", "ascii", "ptob", "btop", "ptov", "vtop", "dis", "search"}
# The options of each command that take a value (the word after them).
VALUE_OPTIONS = {"sym": {"-q", "-m"}, "rd": {"-o", "-e", "-r"}, "search": {"-s", "-e", "-l", "-m", "-x"}}
# Module symbols, which crash 9.0.2 cannot read on 7.2 (see module_names_are_the_guests).
MODULE_SYMBOLS = {"sym -M", "sym -m qemu_fw_cfg", "sym fw_cfg_sysfs_probe", "sym -q fw_cfg_sysfs_pro"}
# Where pycore differs from crash until a layer below the CLI changes (strict: a fix shows).
KNOWN_DIFFERENCES: dict = {}
VMLINUX_DIFFERENCES: dict = {}
# Answers that need the vmlinux's DWARF (sym's source line) or differ without it.
NEEDS_DWARF = re.compile(r" debian/\S+: \d+$")
SECTION_NAME = re.compile(r"(?<= )\.data +")


def recordings():
    params = []
    for case in cases():
        dump = case.reference_dump
        if not os.path.exists(case.path(dump)):
            continue
        commands = [c for c in RECORDED if case.reference(c, dump) is not None]
        commands += [r["command"] for prefix in PER_DUMP for r in case.references(prefix) if r.get("dump") == dump]
        for command in commands:
            modes = ["dump only"] + (["vmlinux"] if os.path.exists(case.vmlinux) else [])
            for mode in modes:
                params.append(pytest.param(case, command, mode, id=f"{case.name}/{command}/{mode}"))
    return params


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
    return "\n".join(NEEDS_DWARF.sub(" ", line) for line in crash_text.split("\n"))


def check(case, command: str, crash_text: str, vmlinux: bool) -> None:
    expected = crash_text if crash_text.endswith("\n") else crash_text + "\n"
    if not vmlinux:
        expected = expected_without_dwarf(expected)
    result = pycore_output(*pycore_argv(case, command, vmlinux))
    # crash says on its console, not in the command's output, that it has no source text for dis -s.
    said = f"dis: {command.split()[-1]}: source code is not available\n" if command.startswith("dis -s") else ""
    assert (result.status, result.err) == (0, said), result.err
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


def known_difference(case, command: str, mode: str):
    if command in MODULE_SYMBOLS and case.crash_wrong("mod"):
        return None
    return KNOWN_DIFFERENCES.get(command) or (VMLINUX_DIFFERENCES.get(command) if mode == "vmlinux" else None)


@pytest.mark.parametrize("case,command,mode", recordings())
def test_recorded_answer_is_crash_answer(case, command, mode, request):
    """Every recording of these commands, whole, on the dump crash read."""
    why = known_difference(case, command, mode)
    if why:
        request.applymarker(pytest.mark.xfail(reason=why, strict=True))
    if command in MODULE_SYMBOLS and case.crash_wrong("mod"):
        module_names_are_the_guests(case, command, mode == "vmlinux")
        return
    if mode == "dump only" and command.startswith("dis -s"):
        result = pycore_output(*pycore_argv(case, command, False))
        assert result.status == 1 and "needs the vmlinux" in result.err
        return
    check(case, command, case.reference(command, case.reference_dump), mode == "vmlinux")


def module_names_are_the_guests(case, command: str, vmlinux: bool) -> None:
    """Where crash reads no module (7.2), the module names pycore shows are those the guest's
    /proc/modules listed, each module's symbols between its START and END lines."""
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
    else:
        modules = [re.search(r" \[(\w+)\] ?$", line) for line in lines]
        assert all(found and found.group(1) in loaded for found in modules), result.out


# Answers pycore cannot give without the vmlinux: kallsyms has no symbol sizes, so a function runs
# to the next symbol (less its NOP padding) and a data address is named by the symbol before it.
DUMP_ONLY_LIMITS = {
    "dis entry_SYSCALL_64": "its size covers the global labels inside it (entry_SYSCALL_64_safe_stack, ...), "
                            "where kallsyms alone ends it",
    "dis __x86_return_thunk": "the INT3s after it are alignment the size leaves out; without it they look like "
                              "an assembler function's own",
    "dis filemap_read": "gdb names no symbol for a %rip-relative string past the end of the last sized symbol; "
                        "kallsyms gives the nearest one before it",
}


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
                why = DUMP_ONLY_LIMITS.get(command) if mode == "dump only" else None
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
    (("dis", "nosuchsymbol"), "pycore dis: symbol not found: nosuchsymbol\n"),
    (("sym",), "pycore sym: sym needs a symbol name, an address, -q STRING, -l, -M or -m MODULE\n"),
])
def test_what_cannot_be_answered_is_one_line_and_status_1(argv, message):
    result = pycore_output(argv[0], SAMPLE.path(SAMPLE.reference_dump), *argv[1:])
    assert (result.status, result.out, result.err) == (1, "", message)


@needs_sample
def test_dis_of_memory_the_dump_lacks_is_an_error_naming_the_address():
    result = pycore_output("dis", SAMPLE.path(SAMPLE.reference_dump), "ffff800000000000", "2")
    assert result.status == 1 and result.out == ""
    assert result.err.startswith("pycore dis: ") and "0xffff800000000000" in result.err
