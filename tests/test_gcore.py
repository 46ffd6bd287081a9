"""``pycore gcore``: ELF core files of the swap case's processes (6.12-swap-l4), checked against
what the guest itself printed (pycore-swapper's words, init's user registers in the panic
report) and loaded into gdb where gdb is installed."""
import json
import os
import re
import shutil
import struct
import subprocess

import pytest

from corpus import pycore_output
from swapper_pages import PAGE, dump_files, scenario_cases, swapper
from test_user_memory import STRIDE

pytestmark = pytest.mark.real
ELF_DUMPS = [(case, name) for case, name in dump_files(scenario_cases("swap")) if name.endswith(".elf")]
if not ELF_DUMPS:
    pytest.skip("no swap case in the corpus: testdata/corpus/build.py --case 6.12-swap-l4", allow_module_level=True)
CASE, DUMP = ELF_DUMPS[0]
GDB = shutil.which("gdb")


def gdb(core: str, *commands: str) -> str:
    args = [GDB, "-q", "-batch", "-nx", "-ex", f"core-file {core}"]
    for command in commands:
        args += ["-ex", command]
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300).stdout


def loads(core: str):
    """The PT_LOAD segments of an ELF core: (vaddr, file offset, size)."""
    with open(core, "rb") as f:
        header = f.read(64)
        phoff, = struct.unpack_from("<Q", header, 32)
        phnum, = struct.unpack_from("<H", header, 56)
        f.seek(phoff)
        table = f.read(56 * phnum)
    found = []
    for index in range(phnum):
        kind, _flags, offset, vaddr, _paddr, filesz, _memsz, _align = struct.unpack_from("<IIQQQQQQ", table, 56 * index)
        if kind == 1:
            found.append((vaddr, offset, filesz))
    return found


@pytest.fixture(scope="module")
def swapper_core(tmp_path_factory):
    oracle = swapper(CASE)
    path = str(tmp_path_factory.mktemp("gcore") / "core.swapper")
    result = pycore_output("gcore", CASE.path(DUMP), str(oracle.pid), "-o", path, "--json")
    return oracle, path, result


@pytest.fixture(scope="module")
def init_core(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("gcore") / "core.init")
    result = pycore_output("gcore", CASE.path(DUMP), "1", "-o", path)
    return path, result


def test_every_page_of_the_swapper_is_in_its_core(swapper_core):
    oracle, path, result = swapper_core
    assert result.status == 0 and result.err == ""
    written = json.loads(result.out)
    assert (written["pid"], written["comm"], written["threads"], written["unreadable"]) == (
        oracle.pid, "pycore-swapper", 1, [])
    # The pages pycore-swapper never touched read as zeros, as in the process; not "unreadable".
    assert written["untouched_pages"] >= oracle.size // PAGE // oracle.zero_every


def test_the_swapper_s_words_read_back_from_its_core(swapper_core):
    oracle, path, _result = swapper_core
    vaddr, offset, size = next(segment for segment in loads(path) if segment[0] == oracle.region)
    assert size == oracle.size
    with open(path, "rb") as f:
        for index in range(0, oracle.size // PAGE, STRIDE):
            f.seek(offset + index * PAGE)
            assert f.read(PAGE) == (oracle.expected(index) or bytes(PAGE)), hex(vaddr + index * PAGE)


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
def test_gdb_reads_the_swapped_words_from_the_core(swapper_core):
    oracle, path, _result = swapper_core
    address = oracle.region + 5 * PAGE + 64
    words = re.findall(r"0x[0-9a-f]{16}", gdb(path, f"x/4gx {address:#x}").split(f"{address:#x}", 1)[1])
    assert [int(word, 16) for word in words] == [(address + 8 * i) ^ oracle.pattern for i in range(4)]


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
def test_gdb_shows_init_s_registers_as_the_panic_report_printed_them(init_core):
    """init wrote sysrq-c: the panic report's user registers (RIP: 0033:..., RSP: 002b:...) are
    the ones on its kernel stack."""
    path, result = init_core
    assert result.status == 0 and result.out == "Saved corefile " + path + "\n"
    with open(CASE.path("console.log"), errors="replace") as f:
        console = f.read()
    rip = int(re.search(r"RIP: 0033:(0x[0-9a-f]+)", console)[1], 16)
    rsp = int(re.search(r"RSP: 002b:([0-9a-f]+)", console)[1], 16)
    rax = int(re.search(r"RAX: ([0-9a-f]+) RBX", console)[1], 16)
    output = gdb(path, "info registers rip rsp rax", "bt", "info auxv")
    registers = dict(re.findall(r"^(rip|rsp|rax)\s+(0x[0-9a-f]+)", output, re.M))
    assert {name: int(value, 16) for name, value in registers.items()} == {"rip": rip, "rsp": rsp, "rax": rax}
    assert re.search(rf"^#0  {rip:#018x} in ", output, re.M)
    assert re.search(r"AT_PAGESZ\s+System page size\s+4096", output)
    assert "corrupt" not in output and "warning" not in output.lower()


def test_a_kernel_thread_has_no_core(tmp_path):
    result = pycore_output("gcore", CASE.path(DUMP), "2", "-o", str(tmp_path / "core.2"))
    assert result.status != 0 and "kernel thread" in result.err
    assert not os.path.exists(tmp_path / "core.2")


def test_the_core_s_notes_are_what_gdb_and_readelf_expect(init_core):
    """One NT_PRSTATUS per thread (init has one), NT_PRPSINFO with its comm and arguments, NT_AUXV
    ending in AT_NULL, NT_FILE with one entry per file-backed segment."""
    from elftools.elf.elffile import ELFFile

    path, _result = init_core
    with open(path, "rb") as f:
        elf = ELFFile(f)
        assert elf.header.e_type == "ET_CORE" and elf.header.e_machine == "EM_X86_64"
        notes = [note for segment in elf.iter_segments() if segment.header.p_type == "PT_NOTE"
                 for note in segment.iter_notes()]
        kinds = [note.n_type for note in notes]
        assert kinds == ["NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV", "NT_FILE"]
        info = notes[1].n_desc
        assert (info.pr_pid, info.pr_fname.rstrip(b"\0"), info.pr_psargs.rstrip(b"\0")) == (1, b"init", b"/bin/sh /init")
        # init wrote sysrq-c: running (R, number 0 of fs/binfmt_elf.c's "RSDTZW").
        assert (info.pr_state, info.pr_sname) == (0, b"R")
        words = struct.unpack(f"<{len(notes[2].n_desc) // 8}Q", notes[2].n_desc)
        auxv = dict(zip(words[::2], words[1::2]))
        assert words[-2:] == (0, 0) and auxv[6] == PAGE  # AT_NULL last; AT_PAGESZ
        files = notes[3].n_desc
        loads_with_files = [segment for segment in elf.iter_segments() if segment.header.p_type == "PT_LOAD"]
        assert files.num_map_entries == len(files.Elf_Nt_File_Entry) <= len(loads_with_files)
        assert set(files.filename) == {b"/bin/busybox"}


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
def test_gdb_shows_the_swapper_s_sse_registers_as_its_fpstate_holds_them(swapper_core):
    """pycore-swapper sleeps in pause(): its FPU registers were saved to its fpstate when it left
    the CPU.  gdb reads xmm0-15 and MXCSR from the core's NT_PRFPREG/NT_X86_XSTATE as the dump's
    struct fxregs_state has them (xmm_space at byte 160, MXCSR at 24, the control word at 0)."""
    import pycore
    from pycore.helpers.linux.pid import find_task

    oracle, path, _result = swapper_core
    with pycore.open(CASE.path(DUMP)) as prog:
        state = find_task(prog, oracle.pid).thread.fpu.fpstate
        saved = prog.read(state.regs.address_, 512)
    names = [f"xmm{index}" for index in range(16)]
    output = gdb(path, "info registers " + " ".join(names) + " mxcsr", "info float")
    shown = dict(re.findall(r"^(xmm\d+)\s.*uint128 = (0x[0-9a-f]+)\}$", output, re.M))
    assert {name: int(shown[name], 16) for name in names} == {
        name: int.from_bytes(saved[160 + 16 * index:176 + 16 * index], "little") for index, name in enumerate(names)}
    assert int(re.search(r"^mxcsr\s+(0x[0-9a-f]+)", output, re.M)[1], 16) == struct.unpack_from("<I", saved, 24)[0]
    assert int(re.search(r"^Control Word:\s+(0x[0-9a-f]+)", output, re.M)[1], 16) == struct.unpack_from("<H", saved, 0)[0]


def test_a_running_task_s_fpu_registers_are_named_missing(init_core):
    """init was on its CPU writing sysrq-c: its FPU registers were in the CPU, not in its fpstate,
    so its core has no FPU notes and gcore says why."""
    path, result = init_core
    assert "PID 1: no FPU registers in the core: PID 1 was running on CPU" in result.err
