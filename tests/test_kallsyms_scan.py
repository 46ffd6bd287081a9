"""Finding the kallsyms tables without VMCOREINFO's help (kernels before 6.0): in the Debian vmlinux
files, in synthetic kernel images of every table order (testdata/kallsyms_writer.py), in damaged
images (an error, never a wrong table), and in the 5.10 corpus dump, where every command must then
say what it says with the vmlinux; in every dump file of the 5.10 kernel, and in the 6.x and 7.x dumps,
whose VMCOREINFO names the tables the search must find.
"""
import os
import struct

import pytest

from kallsyms_writer import ORDER_6_1, ORDER_6_12, build_kallsyms, sample_symbols
from pycore import FaultError, MissingDebugInfoError
from pycore import open as open_dump
from pycore.debuginfo import load_symbols
from pycore.dump.vmcoreinfo import VmcoreInfo
from pycore.symbols import load_elf_symbols, load_kallsyms, load_system_map, vmlinux_reader
from pycore.symbols import kallsyms_scan
from pycore.symbols.kallsyms_scan import MAX_TOKEN_TABLES, KallsymsScanner, kernel_image_start

from corpus import cases, pycore_output

KERNELS = os.path.expanduser(os.environ.get("PYCORE_KERNELS", "~/.cache/pycore/downloads/kernels"))
# 5.x order; 6.1 with kallsyms_seqs_of_names; the 6.2+ order; 4-aligned place-relative offsets (7.2).
RELEASES = ["5.10.0-32-cloud-amd64", "6.1.0-56-cloud-amd64", "6.12.117+deb13-cloud-amd64", "7.2.13+deb14-cloud-amd64"]
TABLES = ("kallsyms_num_syms", "kallsyms_names", "kallsyms_markers", "kallsyms_token_table",
          "kallsyms_token_index", "kallsyms_offsets", "kallsyms_relative_base", "kallsyms_addresses")
# 5.x wrote no kallsyms_seqs_of_names; 6.1 put it between the markers and the token table.
ORDER_5_X = tuple(name for name in ORDER_6_1 if name != "kallsyms_seqs_of_names")
KASLR = 0x2C400000
TEXT = 0xFFFFFFFF81000000 + KASLR


# --- (a) the Debian kernels' own tables ------------------------------------------------------------

def debian_kernel(release):
    directory = os.path.join(KERNELS, release)
    if not all(os.path.exists(os.path.join(directory, name)) for name in ("vmlinux", "System.map")):
        pytest.skip(f"no vmlinux + System.map in {directory} (run the corpus build)")
    return os.path.join(directory, "vmlinux"), load_system_map(os.path.join(directory, "System.map"))


@pytest.mark.real
@pytest.mark.parametrize("release", RELEASES)
def test_scan_finds_the_tables_where_system_map_puts_them(release):
    vmlinux, system_map = debian_kernel(release)
    scanner = KallsymsScanner(vmlinux_reader(vmlinux), system_map.by_name("_stext").address)
    candidate = next(scanner.candidates())
    listed = {symbol.name: symbol.address for symbol in system_map if symbol.name in TABLES}
    assert candidate.locations == listed


@pytest.mark.real
@pytest.mark.parametrize("release", RELEASES)
def test_scanned_symbols_hold_every_system_map_and_symtab_text_and_data_symbol(release):
    vmlinux, system_map = debian_kernel(release)
    read = vmlinux_reader(vmlinux)
    candidate = next(KallsymsScanner(read, system_map.by_name("_stext").address).candidates())
    decoded = {(symbol.name, symbol.address) for symbol in load_kallsyms(read, None, locate=candidate.locate)}
    # The kallsyms tables are the one thing scripts/kallsyms leaves out of itself.
    listed = [symbol for symbol in system_map if symbol.kind in "TtDdRrBb" and not symbol.name.startswith("kallsyms_")]
    symtab = [symbol for symbol in load_elf_symbols(vmlinux) if symbol.kind in ("function", "object")
              and not symbol.name.startswith("kallsyms_")]
    assert len(listed) > 80000 and len(symtab) > 60000
    assert [symbol for symbol in listed if (symbol.name, symbol.address) not in decoded] == []
    assert [symbol for symbol in symtab if (symbol.name, symbol.address) not in decoded] == []


# --- (b) synthetic kernel images -------------------------------------------------------------------

class SyntheticKernel:
    """Kernel memory from ``TEXT``: 2 MiB of text holding decoys, an unmapped 2 MiB (the gap the
    kernel frees between text and rodata), and the kallsyms tables.

    The decoys are what a search meets first: a u16 array counting 0 to 255 (a token index
    with no token table), and ``copies`` copies of the real token table and index with nothing
    before them.
    Everything else faults, as unmapped memory does.
    """

    def __init__(self, entries, layout="absolute-percpu", order=ORDER_6_12, copies=1):
        self.tables = build_kallsyms(entries, layout=layout, order=order, base=TEXT + (4 << 20))
        tokens = self.tables.locations["kallsyms_token_table"]
        copy = self.tables.data[tokens - self.tables.base:self.tables.locations["kallsyms_token_index"]
                                + 512 - self.tables.base]
        text = bytearray(b"\xcc" * (2 << 20))
        text[0x10000:0x10200] = struct.pack("<256H", *range(256))
        for number in range(copies):
            start = 0x40000 + number * 0x1000
            text[start:start + len(copy)] = copy
        self.memory = bytearray(self.tables.data)
        self.text = bytes(text)

    def read(self, address, size):
        for start, data in ((TEXT, self.text), (self.tables.base, self.memory)):
            if start <= address and address + size <= start + len(data) and size >= 0:
                return bytes(data[address - start:address - start + size])
        raise FaultError("not in the synthetic kernel", address)

    def vmcoreinfo(self, entries, names=("_stext", "init_uts_ns")):
        addresses = {name: address for name, _kind, address in entries}
        return VmcoreInfo(f"KERNELOFFSET={KASLR:x}\n" + "".join(f"SYMBOL({name})={addresses[name]:x}\n"
                                                                 for name in names))

    def token_offset(self, character):
        """Where the token of ``character`` (a character symbols use, its own token) starts in the table."""
        index = self.tables.locations["kallsyms_token_index"] - self.tables.base
        return struct.unpack_from("<256H", self.tables.data, index)[ord(character)]

    def patch(self, table, offset, data):
        """Overwrite bytes of one kallsyms table, as a damaged or hostile dump would have them."""
        position = self.tables.locations[table] - self.tables.base + offset
        self.memory[position:position + len(data)] = data


def kernel_symbols(layout="absolute-percpu"):
    entries = sample_symbols(kaslr=KASLR, absolute_percpu=layout == "absolute-percpu")
    entries.append(("init_uts_ns", "D", TEXT + 0x1800100))
    return sorted(entries, key=lambda entry: entry[2])


SYNTHETIC = [
    pytest.param(ORDER_5_X, "absolute-percpu", id="5.x-offsets-absolute-percpu"),
    pytest.param(ORDER_5_X, "relative", id="5.x-offsets"),
    pytest.param(ORDER_5_X, "absolute", id="5.x-addresses"),
    pytest.param(ORDER_6_1, "absolute-percpu", id="6.1-seqs-of-names"),
    pytest.param(ORDER_6_12, "absolute-percpu", id="6.12-offsets-absolute-percpu"),
    pytest.param(ORDER_6_12, "relative", id="6.12-offsets"),
    pytest.param(ORDER_6_12, "absolute", id="6.12-addresses"),
    pytest.param(ORDER_6_12, "pc-relative", id="7.x-place-relative"),
]


@pytest.mark.parametrize("order,layout", SYNTHETIC)
def test_scan_finds_the_tables_in_every_kernel_order(order, layout):
    entries = kernel_symbols(layout)
    kernel = SyntheticKernel(entries, layout, order)
    scanner = KallsymsScanner(kernel.read, TEXT)
    candidate = next(scanner.candidates())
    written = {name: address for name, address in kernel.tables.locations.items() if name in TABLES}
    assert candidate.locations == written
    # Both decoys passed the token index pattern; the copied token table was proved, then left.
    assert len(scanner.token_tables) == 2
    assert scanner.names_tables == [written["kallsyms_names"]]


@pytest.mark.parametrize("order,layout", SYNTHETIC)
def test_symbols_without_vmcoreinfo_tables_are_the_kernels_own(order, layout):
    entries = kernel_symbols(layout)
    kernel = SyntheticKernel(entries, layout, order)
    symbols = load_symbols(kernel.vmcoreinfo(entries), None, None, kernel.read)
    assert symbols.source == "kallsyms (dump)"
    assert [(symbol.name, symbol.kind, symbol.address) for symbol in symbols] == entries


def test_search_starts_at_stext_else_at_the_link_address_moved_by_kaslr():
    assert kernel_image_start(VmcoreInfo("SYMBOL(_stext)=ffffffffb4a00000\nKERNELOFFSET=1000\n")) == 0xFFFFFFFFB4A00000
    assert kernel_image_start(VmcoreInfo(f"KERNELOFFSET={KASLR:x}\n")) == TEXT
    assert kernel_image_start(VmcoreInfo("OSRELEASE=5.10.0\n")) is None


# --- (c) damaged tables: an error, never a wrong table ---------------------------------------------

DAMAGE = [
    pytest.param("kallsyms_token_index", 20, struct.pack("<H", 1), id="token-index-not-increasing"),
    pytest.param("kallsyms_token_table", "_", b"\x00", id="token-table-nul-inside-a-token"),
    pytest.param("kallsyms_markers", 4, struct.pack("<I", 0x7FFF), id="marker-off-an-entry"),
    pytest.param("kallsyms_num_syms", 0, struct.pack("<I", 3 * 256), id="num-syms-beyond-the-markers"),
    pytest.param("kallsyms_num_syms", 0, struct.pack("<I", 1), id="num-syms-short-of-the-markers"),
    pytest.param("kallsyms_names", 0, b"\x7f", id="first-name-length"),
    pytest.param("kallsyms_relative_base", 0, struct.pack("<Q", TEXT + 0x1000), id="relative-base-moved"),
]


@pytest.mark.parametrize("table,offset,data", DAMAGE)
def test_damaged_tables_are_refused(table, offset, data):
    entries = kernel_symbols()
    kernel = SyntheticKernel(entries)
    if isinstance(offset, str):
        offset = kernel.token_offset(offset)
    kernel.patch(table, offset, data)
    with pytest.raises(MissingDebugInfoError, match="search of the kernel image"):
        load_symbols(kernel.vmcoreinfo(entries), None, None, kernel.read)


def test_search_gives_up_after_a_bounded_number_of_token_tables():
    entries = kernel_symbols()
    kernel = SyntheticKernel(entries, copies=MAX_TOKEN_TABLES)
    scanner = KallsymsScanner(kernel.read, TEXT)
    assert list(scanner.candidates()) == []
    assert len(scanner.token_tables) == MAX_TOKEN_TABLES and scanner.names_tables == []
    assert f"the search stops at {MAX_TOKEN_TABLES} token tables" in scanner.describe()


def test_search_gives_up_after_a_bounded_number_of_names_entries(monkeypatch):
    entries = kernel_symbols()
    kernel = SyntheticKernel(entries)
    monkeypatch.setattr(kallsyms_scan, "MAX_WALKED", len(entries) - 1)
    scanner = KallsymsScanner(kernel.read, TEXT)
    assert list(scanner.candidates()) == []
    assert "the search stopped after walking 0 names entries" in scanner.describe()


def test_tables_that_disagree_with_vmcoreinfo_are_refused():
    entries = kernel_symbols()
    kernel = SyntheticKernel(entries)
    vmcoreinfo = VmcoreInfo(kernel.vmcoreinfo(entries).text.replace(f"{TEXT + 0x1800100:x}", f"{TEXT + 0x1800200:x}"))
    with pytest.raises(MissingDebugInfoError, match="puts init_uts_ns at"):
        load_symbols(vmcoreinfo, None, None, kernel.read)


def test_tables_vmcoreinfo_cannot_check_are_refused():
    entries = kernel_symbols()
    kernel = SyntheticKernel(entries)
    with pytest.raises(MissingDebugInfoError, match="no symbol VMCOREINFO names"):
        load_symbols(VmcoreInfo(f"KERNELOFFSET={KASLR:x}\n"), None, None, kernel.read)


def test_no_tables_says_where_it_searched():
    memory = struct.pack("<256H", *range(256)) * 2048

    def read(address, size):
        if TEXT <= address and address + size <= TEXT + len(memory):
            return memory[address - TEXT:address - TEXT + size]
        raise FaultError("unmapped", address)

    with pytest.raises(MissingDebugInfoError) as error:
        load_symbols(VmcoreInfo(f"SYMBOL(_stext)={TEXT:x}\n"), None, None, read)
    # The search ends where 3 MiB in a row are unreadable: past the kernel image.
    assert f"searched {TEXT:#x}-{TEXT + (4 << 20):#x} (3072 KiB unreadable; ended after 3 unreadable MiB" \
        in str(error.value)
    assert "2048 token index patterns, 0 token tables" in str(error.value)


def test_no_place_to_search_from_is_missing_debuginfo():
    with pytest.raises(MissingDebugInfoError, match="neither SYMBOL\\(_stext\\) nor KERNELOFFSET"):
        load_symbols(VmcoreInfo("OSRELEASE=5.10.0\n"), None, None, lambda address, size: bytes(size))


# --- (d) the 5.10 dump, with no vmlinux ------------------------------------------------------------

CASE_5_10 = [case for case in cases() if case.manifest.get("kernel_release", "").startswith("5.10.")]
COMMANDS = (("sys",), ("ps",), ("log",), ("mod",), ("kmem", "-i"), ("kmem", "-z"), ("kmem", "-s"), ("runq",),
            ("bt", "-a"))


def case_5_10():
    if not CASE_5_10:
        pytest.skip("no 5.10 case in the corpus (run testdata/corpus/build.sh)")
    return CASE_5_10[0]


@pytest.mark.real
def test_5_10_dump_symbols_are_its_system_map_moved_by_kaslr(monkeypatch):
    case = case_5_10()
    monkeypatch.setenv("PYCORE_NO_CACHE", "1")
    prog = open_dump(case.path(case.reference_dump))
    assert prog.vmcoreinfo.symbol("kallsyms_names") is None
    system_map = load_system_map(case.path(case.manifest["system_map"]), kaslr_offset=prog.vmcoreinfo.kernel_offset)
    decoded = {(symbol.name, symbol.address) for symbol in prog.symbols}
    listed = [symbol for symbol in system_map if symbol.kind in "TtDdRrBb" and not symbol.name.startswith("kallsyms_")]
    assert prog.symbols.source == "kallsyms (dump)" and len(listed) > 80000
    assert [symbol for symbol in listed if (symbol.name, symbol.address) not in decoded] == []
    # With the symbols, the kernel's own BTF (CONFIG_DEBUG_INFO_BTF) is found between __start_BTF and __stop_BTF.
    assert prog.type("struct task_struct").size > 0
    assert prog["init_task"].comm.string_() == b"swapper/0"


@pytest.mark.real
def test_every_5_10_dump_file_holds_the_tables_where_system_map_puts_them(native_path):
    """The search on each format's dump of the 5.10 kernel (the ELF, makedumpfile's kdump and flattened
    files, zero pages left out) finds System.map's tables, moved by KASLR, on the C and Python twins."""
    case = case_5_10()
    assert len(case.dumps()) >= 2
    for dump in case.dumps():
        prog = open_dump(case.path(dump["name"]))
        system_map = load_system_map(case.path(case.manifest["system_map"]), kaslr_offset=prog.vmcoreinfo.kernel_offset)
        scanner = KallsymsScanner(prog.arch.read, kernel_image_start(prog.vmcoreinfo), native=native_path)
        candidate = next(scanner.candidates())
        assert candidate.locations == {symbol.name: symbol.address for symbol in system_map if symbol.name in TABLES}
        assert scanner.token_tables == [candidate.locations["kallsyms_token_table"]]


NAMED_BY_VMCOREINFO = [case for case in {case.manifest.get("kernel_release"): case for case in cases()}.values()
                       if not case.manifest.get("kernel_release", "").startswith("5.")]


@pytest.mark.real
@pytest.mark.parametrize("case", NAMED_BY_VMCOREINFO or [None], ids=lambda case: case.name if case else "none")
def test_search_finds_the_tables_vmcoreinfo_names_since_6_0(case, native_path):
    """Searched for as if VMCOREINFO did not name them, a 6.x or 7.x kernel's tables are those it names."""
    if case is None:
        pytest.skip("no corpus case of a 6.0+ kernel built")
    prog = open_dump(case.path(case.reference_dump))
    info = prog.vmcoreinfo
    scanner = KallsymsScanner(prog.arch.read, kernel_image_start(info), native=native_path)
    candidate = next(scanner.candidates())
    named = {name: info.symbol(name) for name in TABLES if info.symbol(name) is not None}
    assert len(named) >= 5
    assert {name: candidate.locations.get(name) for name in named} == named


@pytest.mark.real
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_5_10_commands_without_vmlinux_say_what_they_say_with_it(command):
    case = case_5_10()
    dump = case.path(case.reference_dump)
    without = pycore_output(*command, dump)
    with_vmlinux = pycore_output(*command, "--vmlinux", case.vmlinux, dump)
    assert (without.status, without.err) == (0, "")
    assert len(without.out.splitlines()) > 1

    def body(output):
        return [line for line in output.splitlines() if not line.lstrip().startswith("KERNEL:")]

    assert body(without.out) == body(with_vmlinux.out)


def test_a_failed_symbol_search_is_kept_not_repeated(tmp_path, machine, monkeypatch):
    """A dump whose symbols cannot be found raises the same error on every question, without
    scanning the kernel image again each time (prog.info() alone asks three times)."""
    from conftest import synthetic, write
    from pycore import debuginfo

    calls = []
    real = debuginfo.load_symbols

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(debuginfo, "load_symbols", counting)
    path = write(tmp_path, "elf.vmcore", synthetic.build_elf(machine))
    with open_dump(path) as prog:
        calls.clear()  # open may have tried once already
        errors = []
        for _ in range(3):
            with pytest.raises(MissingDebugInfoError) as error:
                prog.symbols
            errors.append(error.value)
        assert len(calls) <= 1 and errors[0] is errors[1] is errors[2]
