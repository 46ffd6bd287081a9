"""SymbolTable lookups, System.map and vmlinux ELF symbols, on synthetic files from testdata/kallsyms_writer.py."""
import gzip

import pytest

import kallsyms_writer
from pycore import FaultError, FormatError, MissingDebugInfoError
from pycore.symbols import (Symbol, SymbolNotFoundError, SymbolTable, elf_build_id, elf_linux_banner,
                            load_elf_symbols, load_system_map, vmlinux_reader)

KASLR = 0x1E200000


def table(entries, sizes=None, start=None, end=None):
    names = [name for name, _address, _kind in entries]
    addresses = [address for _name, address, _kind in entries]
    kinds = [kind for _name, _address, kind in entries]
    return SymbolTable("test", names, addresses, sizes, kinds, start=start, end=end)


@pytest.fixture(scope="module")
def vmlinux(tmp_path_factory):
    built = kallsyms_writer.build_vmlinux(sizes={"schedule": 0x40, "data_3": 0x10})
    directory = tmp_path_factory.mktemp("vmlinux")
    (directory / "vmlinux").write_bytes(built.elf)
    (directory / "System.map").write_text(built.system_map)
    (directory / "System.map.gz").write_bytes(gzip.compress(built.system_map.encode()))
    return built, directory


# --- SymbolTable -----------------------------------------------------------------------------

def test_lookup_returns_nearest_symbol_at_or_below_and_offset():
    symbols = table([("a", 0x1000, "T"), ("b", 0x1100, "t"), ("_end", 0x2000, "B")], end=0x2000)
    assert symbols.lookup(0x1000) == (Symbol("a", 0x1000, None, "T"), 0)
    assert symbols.lookup(0x10FF)[1] == 0xFF
    found, offset = symbols.lookup(0x1180)
    assert (found.name, offset) == ("b", 0x80)


def test_lookup_is_none_before_the_first_symbol_and_at_or_past_end():
    symbols = table([("a", 0x1000, "T"), ("b", 0x1100, "t")], end=0x1200)
    assert symbols.lookup(0xFFF) is None
    assert symbols.lookup(0x11FF)[0].name == "b"
    assert symbols.lookup(0x1200) is None
    assert symbols.lookup(1 << 64) is None


def test_last_unsized_symbol_covers_only_its_address_without_an_end():
    symbols = table([("a", 0x1000, "T"), ("b", 0x1100, "t")])
    assert symbols.lookup(0x1100)[0].name == "b"
    assert symbols.lookup(0x1101) is None


def test_known_size_ends_a_symbol_before_the_next_one():
    symbols = table([("f", 0x1000, "function"), ("g", 0x1100, "function")], sizes=[0x40, None], end=0x2000)
    assert symbols.lookup(0x103F)[0].name == "f"
    assert symbols.lookup(0x1040) is None  # alignment padding
    assert symbols.lookup(0x1500)[0].name == "g"  # unsized: up to end


def test_first_symbol_of_an_alias_group_wins_like_the_kernel():
    symbols = table([("_text", 0x1000, "T"), ("_stext", 0x1000, "T"), ("startup_64", 0x1000, "T"),
                     ("next", 0x1040, "T")], end=0x2000)
    assert symbols.lookup(0x1010)[0].name == "_text"
    assert symbols.by_name("startup_64").address == 0x1000


def test_symbols_below_start_are_found_by_name_but_not_by_address():
    symbols = table([("fixed_percpu_data", 0, "A"), ("runqueues", 0x2C000, "A"), ("_text", 0x1000000, "T")],
                    start=0x1000000, end=0x2000000)
    assert symbols.by_name("runqueues").address == 0x2C000
    assert symbols.lookup(0x2C010) is None
    assert symbols.lookup(0x1000010)[0].name == "_text"


def test_unsorted_input_is_iterated_in_address_order():
    symbols = table([("c", 0x3000, "T"), ("a", 0x1000, "T"), ("b", 0x2000, "T")], end=0x4000)
    assert [symbol.name for symbol in symbols] == ["a", "b", "c"]
    assert len(symbols) == 3
    assert symbols.lookup(0x2FFF)[0].name == "b"


def test_by_name_error_is_a_lookup_error_naming_the_source():
    symbols = table([("a", 0x1000, "T")])
    with pytest.raises(SymbolNotFoundError) as caught:
        symbols.by_name("missing_function")
    assert isinstance(caught.value, MissingDebugInfoError)
    assert isinstance(caught.value, LookupError)
    assert "missing_function" in str(caught.value) and "test" in str(caught.value)


def test_repeated_static_names_are_all_listed():
    symbols = table([("show", 0x1000, "t"), ("x", 0x1800, "T"), ("show", 0x2000, "t")], end=0x3000)
    assert [symbol.address for symbol in symbols.symbols_named("show")] == [0x1000, 0x2000]
    assert symbols.by_name("show").address == 0x1000
    assert "show" in symbols and "nothing" not in symbols
    assert symbols.symbols_named("nothing") == []


def test_format_writes_name_plus_hex_offset_like_crash():
    symbols = table([("schedule", 0xFFFFFFFF81A00000, "T"), ("_end", 0xFFFFFFFF82000000, "B")],
                    end=0xFFFFFFFF82000000)
    assert symbols.format(0xFFFFFFFF81A0002D) == "schedule+0x2d"
    assert symbols.format(0xFFFFFFFF81A00000) == "schedule"
    assert symbols.format(0xFFFFFFFFC0001000) == "0xffffffffc0001000"


def test_empty_table_finds_nothing():
    symbols = table([])
    assert len(symbols) == 0 and symbols.lookup(0x1000) is None and list(symbols) == []


# --- System.map ------------------------------------------------------------------------------

def test_system_map_holds_every_line(vmlinux):
    built, directory = vmlinux
    symbols = load_system_map(str(directory / "System.map"))
    assert symbols.source == "System.map"
    assert len(symbols) == len(built.symbols)
    schedule = symbols.by_name("schedule")
    assert (schedule.kind, schedule.size) == ("T", None)
    assert symbols.lookup(schedule.address + 0x2D) == (schedule, 0x2D)


def test_gzip_system_map_reads_the_same(vmlinux):
    _built, directory = vmlinux
    plain = load_system_map(str(directory / "System.map"))
    packed = load_system_map(str(directory / "System.map.gz"))
    assert list(plain) == list(packed)


def test_system_map_kaslr_moves_kernel_addresses_but_not_absolute_percpu(vmlinux):
    _built, directory = vmlinux
    plain = load_system_map(str(directory / "System.map"))
    moved = load_system_map(str(directory / "System.map"), kaslr_offset=KASLR)
    assert moved.by_name("schedule").address == plain.by_name("schedule").address + KASLR
    assert moved.by_name("_end").address == plain.by_name("_end").address + KASLR
    assert moved.by_name("runqueues").address == 0x2C000
    assert moved.lookup(plain.by_name("schedule").address + KASLR + 8)[0].name == "schedule"


def test_malformed_system_map_line_names_its_number(tmp_path):
    path = tmp_path / "System.map"
    path.write_text("ffffffff81000000 T _text\nffffffff81000100 T\nffffffff81000200 t ok\n")
    with pytest.raises(FormatError, match="line 2"):
        load_system_map(str(path))
    path.write_text("ffffffff81000000 T _text\nnot-hex T name\n")
    with pytest.raises(FormatError, match="line 2"):
        load_system_map(str(path))


def test_empty_system_map_is_a_format_error(tmp_path):
    path = tmp_path / "System.map"
    path.write_text("\n")
    with pytest.raises(FormatError):
        load_system_map(str(path))


# --- vmlinux ELF -----------------------------------------------------------------------------

def test_elf_symbols_match_system_map_with_kinds_and_sizes(vmlinux):
    built, directory = vmlinux
    elf = load_elf_symbols(str(directory / "vmlinux"))
    assert elf.source == "vmlinux symtab"
    assert {(s.name, s.address) for s in elf} == {(name, address) for name, _kind, address in built.symbols}
    schedule = elf.by_name("schedule")
    assert (schedule.kind, schedule.size) == ("function", 0x40)
    assert elf.by_name("data_3").kind == "object"
    assert elf.by_name("_text").kind == "notype"


def test_elf_lookup_respects_symbol_sizes(vmlinux):
    _built, directory = vmlinux
    elf = load_elf_symbols(str(directory / "vmlinux"))
    schedule = elf.by_name("schedule")
    assert elf.lookup(schedule.address + 0x3F) == (schedule, 0x3F)
    assert elf.lookup(schedule.address + 0x40) is None
    assert elf.format(schedule.address + 0x2D) == "schedule+0x2d"


def test_elf_prefers_global_sized_symbol_among_aliases(vmlinux):
    _built, directory = vmlinux
    elf = load_elf_symbols(str(directory / "vmlinux"))
    # _text, _stext (labels) and startup_64 (a function) share the first text address.
    assert elf.lookup(elf.by_name("_text").address)[0].name == "startup_64"


def test_elf_kaslr_moves_image_symbols_but_not_percpu(vmlinux):
    _built, directory = vmlinux
    plain = load_elf_symbols(str(directory / "vmlinux"))
    moved = load_elf_symbols(str(directory / "vmlinux"), kaslr_offset=KASLR)
    assert moved.by_name("schedule").address == plain.by_name("schedule").address + KASLR
    assert moved.by_name("_end").address == plain.by_name("_end").address + KASLR
    assert moved.by_name("runqueues").address == 0x2C000
    assert moved.start == plain.start + KASLR and moved.end == plain.end + KASLR


def test_elf_build_id_and_banner(vmlinux):
    _built, directory = vmlinux
    path = str(directory / "vmlinux")
    assert elf_build_id(path) == bytes(range(20)).hex()
    assert elf_linux_banner(path) == "Linux version 6.99.0-synthetic (gcc) #1 SMP\n"


def test_vmlinux_reader_reads_sections_and_faults_elsewhere(vmlinux):
    built, directory = vmlinux
    read = vmlinux_reader(str(directory / "vmlinux"))
    banner = dict((name, address) for name, _kind, address in built.symbols)["linux_banner"]
    assert read(banner, 13) == b"Linux version"
    with pytest.raises(FaultError) as caught:
        read(0xFFFFFFFF80000000, 8)
    assert caught.value.address == 0xFFFFFFFF80000000


def test_non_elf_file_is_a_format_error(tmp_path):
    path = tmp_path / "vmlinux"
    path.write_bytes(b"this is not an ELF file" * 10)
    with pytest.raises(FormatError):
        load_elf_symbols(str(path))
    with pytest.raises(FormatError):
        elf_build_id(str(path))
