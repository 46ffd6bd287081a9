"""crash 9's last commands of issue 13: kmem -n (nodes, sections, memory blocks), kmem -g FLAGS, kmem -p
(the whole mem_map), sym -l (the whole symbol table), set -v, net -S and -R, and foreach's regular
expressions, set and vtop; each compared byte for byte with crash's recording on every corpus case, with
the vmlinux and without it.  Where pycore must differ (sym -l without the vmlinux, whose kallsyms lacks
crash's local labels and section symbols; the modules crash 9.0.2 leaves out on 7.2; set -v's paths) the
test says why and checks what holds instead.  Then what no recording shows: the rules and layouts alone."""
import contextlib
import difflib
import io
import os
import re

import pytest

from pycore.cli import main
from pycore.cli.crash import render_variables, split_words
from pycore.cli.kmem import render_memory_nodes, render_page_flags
from pycore.cli.net import _referenced, render_sockets
from pycore.kernel.net import OpenSocket
from pycore.symbols.elf_sections import SHT_NOBITS
from pycore.symbols.elfsyms import SHN_ABS, STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FUNC, STT_OBJECT, _bfd_letter
from pycore.symbols.table import crash_name

from cli_cases import argv
from crash_reference import recorded_params

# The lines testdata/corpus/reference.py FULL_COMMANDS records for these commands.
COMMANDS = ["kmem -n", "kmem -g 4000", "kmem -g 17ffffc0000068", "set -v", "net -S", "net -S 1", "net -s -R 3",
            "foreach 'kworker/0.*' ps", "foreach 'ksoftirqd.*' 'kworker/1.*' task -R pid", "foreach 1 set",
            "foreach RU set", "foreach 1 vtop fffffe0000000000", "sym -l", "kmem -p"]
# Commands crash runs at its prompt only: pycore's crash prompt runs them.
PROMPT_ONLY = ("set -v",)


def _run(argv):
    """pycore's status, output and errors for ``argv``, not memoized: sym -l and kmem -p print
    megabytes on each case, which corpus.pycore_output would keep."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def _argv(case, command, options):
    """pycore's words for a recorded crash line: the prompt's ``-c LINE`` for prompt-only commands,
    else the command, pycore's options and the dump, then crash's words (their quotes kept, as
    crash's parse_line keeps a foreach regular expression's)."""
    if command in PROMPT_ONLY:
        return ("crash", *options, case.path(case.reference_dump), "-c", command)
    return argv(case, command, options)


def _same(got: str, expected: str) -> None:
    """Equal texts, else the first differing lines (a whole mem_map diff would drown the report)."""
    if got != expected:
        diff = difflib.unified_diff(expected.splitlines(), got.splitlines(), "crash", "pycore", lineterm="", n=1)
        pytest.fail("\n".join(list(diff)[:40]))


def _kallsyms_subset(case, got: str, expected: str) -> None:
    """sym -l without the vmlinux lists the dump's kallsyms: crash reads the vmlinux's symtab, whose
    local labels (.LC0), section symbols and absolute values kallsyms lacks.  Each kernel line pycore
    prints is crash's, in crash's order, with crash's letter but for the per-CPU symbols, which kallsyms
    marks A where nm's class is D or d; the modules' part is crash's own.  Only symbols at _text's
    address that sort before it are pycore's alone: crash keeps nothing below _text in its order
    (x86_64_verify_symbol) but the per-CPU symbols, so it drops 6.12's __pfx_sev_es_terminate."""
    crash_kernel = [line for line in expected.splitlines() if not line.startswith("ffffffffc")]
    crash_letters = {}
    for line in crash_kernel:
        address, letter, name = line.split(" ", 2)
        crash_letters[(address, name)] = letter
    order = {key: at for at, key in enumerate(crash_letters)}
    mine = [line for line in got.splitlines() if not line.startswith("ffffffffc")]
    positions = []
    text = next(address for (address, name) in crash_letters if name == "_text")
    for line in mine:
        address, letter, name = line.split(" ", 2)
        if (address, name) not in crash_letters:
            assert address == text and name < "_text", line
            continue
        theirs = crash_letters[(address, name)]
        assert letter == theirs or (letter == "(A)" and theirs in ("(D)", "(d)") and int(address, 16) < 1 << 32), line
        positions.append(order[(address, name)])
    assert positions == sorted(positions)
    assert len(mine) > len(crash_kernel) // 2
    assert [line for line in got.splitlines() if line.startswith("ffffffffc")] == \
        [line for line in expected.splitlines() if line.startswith("ffffffffc")]


def _without_the_modules_crash_left_out(case, got: str) -> str:
    """crash 9.0.2 runs with --no_modules on 7.2 (the manifest's crash_wrong for mod): its sym -l stops
    after the kernel's symbols.  pycore's goes on with each loaded module's, those of the guest's own
    /proc/modules; its kernel part is what is held to crash's."""
    start = re.search(r"^[0-9a-f]+ MODULE (?:\w+ )?START: ", got, re.M)
    assert start is not None
    modules = got[start.start():]
    listed = set(re.findall(r"MODULE (?:\w+ )?START: (\S+)", modules))
    guest = case.guest_view("modules")
    if guest is not None:
        assert listed == {line.split()[0] for line in guest.splitlines() if line.strip()}
    return got[:start.start()]


@pytest.mark.real
@pytest.mark.parametrize("case,command,mode,options", recorded_params(COMMANDS, with_mode=True))
def test_command_prints_what_crash_printed(case, command, mode, options):
    """The whole output, byte for byte, but where pycore must differ:

    * ``sym -l`` without the vmlinux: see _kallsyms_subset; on 7.2, see _without_the_modules_crash_left_out.
    * ``set -v``: namelist is the vmlinux given (without one, where the symbols and types came
      from), dumpfile the dump as pycore was given it (crash's as crash was, beside it)."""
    expected = case.reference(command, case.reference_dump)
    status, got, err = _run(_argv(case, command, options))
    assert (status, err) == (0, ""), err
    if command == "sym -l":
        if case.crash_wrong("mod"):
            got = _without_the_modules_crash_left_out(case, got)
        if mode == "dump only":
            _kallsyms_subset(case, got, expected)
            return
    if command == "set -v":
        namelist = case.vmlinux if options else re.search(r"namelist: (.*)", got).group(1)
        assert namelist == case.vmlinux or namelist.startswith("(none: kallsyms")
        assert re.search(r"dumpfile: (.*)", expected).group(1) == os.path.basename(case.reference_dump)
        expected = re.sub(r"namelist: .*", f"namelist: {namelist}", expected)
        expected = re.sub(r"dumpfile: .*", f"dumpfile: {case.path(case.reference_dump)}", expected)
    _same(got, expected)


# -- what no recording shows ------------------------------------------------------------------------
@pytest.mark.parametrize("raw,shown", [
    ("vfs_statfs.part.0.isra.0", "vfs_statfs.part.0"), ("print_task.isra.0.cold", "print_task"),
    ("pgd_populate.part.0.constprop.0", "pgd_populate"), ("virtblk_probe.cold", "virtblk_probe.cold"),
    ("vring_map_single.constprop.0", "vring_map_single.constprop.0"), ("f.llvm.123456", "f"),
    ("__func__.21", "__func__.21")])
def test_crash_name_cuts_at_the_first_clone_marker_crash_knows(raw, shown):
    """crash's strip_symbol_end tries .isra. first, then .part., then .llvm.: one rule for sym, bt,
    dis and rd."""
    assert crash_name(raw) == shown


@pytest.mark.parametrize("raw,shown", [
    ("__pfx__RINvNtCsbZfwWpAStWS_4core9panicking13assert_failedINtNtB4_6option6OptionjEBM_EB4_",
     "__pfx_core::panicking::assert_failed::<core::option::Option<usize>, core::option::Option<usize>>"),
    ("__ksymtab__RNvNCNvMs0_NtCsdJ13ReMSUMg_6kernel9workqueueNtB9_5Queue9try_spawns_05CLASS",
     "__ksymtab_<kernel::workqueue::Queue>::try_spawn::{closure#1}::CLASS"),
    ("_RNvXs_NtCs1_4core3fmtRNtB4_9ArgumentsNtB4_7Display3fmt",
     "<&core::fmt::Arguments as core::fmt::Display>::fmt"),
    ("tcp_ld_RTO_revert", "tcp_ld_RTO_revert"), ("rust_helper_REFCOUNT_INIT", "rust_helper_REFCOUNT_INIT")])
def test_crash_name_demangles_rust_v0_names_where_they_start(raw, shown):
    """7.2 is built with Rust: crash shows its v0 names demangled after any prefix (__pfx_, __ksymtab_),
    closures numbered, generic arguments after ::< in a value path; a word that only looks like one
    (_RTO) stays."""
    assert crash_name(raw) == shown


def test_bfd_letters_follow_the_section_binding_and_kind():
    """nm's classes as crash 9's bfd gives them: the section's flags (text, read-only data, data,
    bss), upper case when global, V/W for weak objects and others, a for absolute values."""
    null, progbits = 0, 1
    sections = [("", null, 0), (".text", progbits, 0x6), (".rodata", progbits, 0x2), (".data", progbits, 0x3),
                (".bss", SHT_NOBITS, 0x3), (".init.data", progbits, 0x3)]
    assert _bfd_letter(STB_GLOBAL << 4 | STT_FUNC, 1, sections) == "T"
    assert _bfd_letter(STB_LOCAL << 4 | STT_FUNC, 1, sections) == "t"
    assert _bfd_letter(STB_LOCAL << 4, 2, sections) == "r"  # a .LC label
    assert _bfd_letter(STB_GLOBAL << 4 | STT_OBJECT, 3, sections) == "D"
    assert _bfd_letter(STB_LOCAL << 4 | STT_OBJECT, 4, sections) == "b"
    assert _bfd_letter(STB_LOCAL << 4 | STT_OBJECT, 5, sections) == "d"  # no 't' for .init.data
    assert _bfd_letter(STB_WEAK << 4 | STT_OBJECT, 3, sections) == "V"
    assert _bfd_letter(STB_WEAK << 4 | STT_FUNC, 1, sections) == "W"
    assert _bfd_letter(STB_GLOBAL << 4, SHN_ABS, sections) == "A"


def test_page_flags_of_a_value_show_the_bits_set_aliases_too():
    flags = [{"name": "PG_locked", "bit": 0}, {"name": "PG_uptodate", "bit": 3},
             {"name": "PG_reported", "bit": 3}]
    assert render_page_flags(flags, 0x9).split("\n") == [
        "FLAGS: 9", "  PAGE-FLAG   BIT  VALUE", "  PG_locked     0  0000001", "  PG_uptodate   3  0000008",
        "  PG_reported   3  0000008"]
    assert render_page_flags(flags, 0x100).split("\n")[-1] == "  (none found)"
    assert render_page_flags(flags).split("\n")[0] == "PAGE-FLAG   BIT  VALUE"


def test_memory_blocks_without_a_node_or_an_end_use_crash_s_other_layout():
    """Before memory_block.nid crash drops the NODE column; without an end (no probed size, no
    end_section_nr) it centres the start in the range's columns and heads them PHYSICAL START."""
    data = {"nodes": [], "sections": [{"nr": 0, "address": 0xffff888000001000, "coded_mem_map": 0xffffea0000000000,
                                       "flags": 0xb, "pfn": 0, "mem_map": 0xffffea0000000000}],
            "blocks": [{"address": 0xffff888000002000, "name": "memory0", "start": 0, "end": None, "node": None,
                        "state": 1, "start_section": 0}]}
    lines = render_memory_nodes(data).split("\n")
    assert lines[:4] == ["", "-" * 67, "",
                         "NR      SECTION        CODED_MEM_MAP        MEM_MAP       STATE PFN"]
    assert lines[4] == " 0  ffff888000001000  ffffea0000000000  ffffea0000000000   PME  0               "
    assert lines[6] == "   MEM_BLOCK        NAME       PHYSICAL START     STATE   START_SECTION_NO"
    assert lines[7] == " ffff888000002000  memory0            0           ONLINE  0           "


def test_a_second_node_follows_a_rule_as_wide_as_the_zone_header():
    """crash's dump_memory_nodes between nodes: an empty line, the rule, an empty line, the next NODE."""
    zone = {"index": 0, "name": "DMA", "size": 4095, "mem_map": 0xffffea0000000040, "start_paddr": 0x1000,
            "start_mapnr": 1}
    node = {"id": 0, "size": 4095, "pgdat": 0xffff88803ffd5000, "node_zones": [0xffff88803ffd5000],
            "mem_map": 0xffffea0000000040, "start_paddr": 0x1000, "start_mapnr": 1, "zones": [zone]}
    lines = render_memory_nodes({"nodes": [node, dict(node, id=1)], "sections": [], "blocks": []}).split("\n")
    second = lines.index("  1     4095    ffff88803ffd5000        ----        ffff88803ffd5000")
    assert lines[second - 5:second - 1] == [
        "  0   DMA          4095  ffffea0000000040         1000            1", "", "-" * 67, ""]
    assert lines[second - 1].startswith("NODE    SIZE")


def test_net_reference_is_a_descriptor_in_decimal_else_an_address():
    found = OpenSocket(3, 0xffff888001000000, 0xffff888002000000)
    assert _referenced(found, None) and _referenced(found, "3") and not _referenced(found, "4")
    assert _referenced(found, "ffff888002000000") and _referenced(found, "ffff888001000000")
    assert not _referenced(found, "ffff888003000000")


def test_net_structures_head_each_socket_and_reference_hides_tasks_without_it():
    entry = {"pid": 7, "task": 0xffff888000100000, "cpu": 1, "comm": "nc",
             "sockets": [{"fd": 3, "socket": 0xffff888001000000, "sock": 0, "structs": []},
                         {"fd": 4, "socket": 0xffff888001000100, "sock": 0, "structs": []}]}
    lines = render_sockets({"tasks": [entry], "structures": True, "reference": None}).split("\n")
    assert lines[1:] == ["FD       SOCKET             SOCK      ", " 3  ffff888001000000                 0", "",
                         "", "FD       SOCKET             SOCK      ", " 4  ffff888001000100                 0", ""]
    empty = dict(entry, sockets=[])
    assert render_sockets({"tasks": [empty], "structures": False, "reference": "3"}) == ""
    assert render_sockets({"tasks": [empty], "structures": False, "reference": None}).endswith("No open sockets.")


def test_the_prompt_keeps_a_foreach_regular_expression_quoted():
    assert split_words("foreach 'kworker/0.*' ps -G") == ["foreach", "'kworker/0.*'", "ps", "-G"]
    assert split_words("foreach \"a b\" ps") == ["foreach", "a b", "ps"]
    assert split_words("p 'x'") == ["p", "x"]


def test_set_v_aligns_each_variable_on_its_colon():
    assert render_variables([("scroll", "off (none)"), ("zero_excluded", "off")]).split("\n") == [
        "        scroll: off (none)", " zero_excluded: off"]
