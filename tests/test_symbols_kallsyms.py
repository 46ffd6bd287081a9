"""kallsyms decoding on tables built by testdata/kallsyms_writer.py, in every layout the kernel has used."""
import pytest

import kallsyms_writer
from kallsyms_writer import LAYOUTS, ORDER_6_1, ORDER_6_12, ORDER_NAMES_LAST, build_kallsyms, sample_symbols
from pycore import FaultError, FormatError, MissingDebugInfoError
from pycore.symbols import load_kallsyms, load_system_map, vmlinux_reader

KASLR = 0x2C400000


def decoded(symbols):
    return [(symbol.name, symbol.kind, symbol.address) for symbol in symbols]


def expected(entries):
    return sorted(entries, key=lambda entry: entry[2])


def sample(layout, **options):
    return sample_symbols(absolute_percpu=layout == "absolute-percpu", **options)


@pytest.mark.parametrize("order", [ORDER_6_1, ORDER_6_12], ids=["6.1-order", "6.12-order"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_decodes_names_types_and_addresses(layout, order):
    entries = sample(layout)
    image = build_kallsyms(entries, layout=layout, order=order)
    symbols = load_kallsyms(image.read, image.vmcoreinfo())
    assert symbols.source == "kallsyms (dump)"
    assert decoded(symbols) == expected(entries)


def test_long_names_take_the_two_byte_length_form(native_path):
    entries = sample("absolute-percpu", long_names=(150, 300, 1000))
    image = build_kallsyms(entries)
    assert image.big_entries >= 3
    symbols = load_kallsyms(image.read, image.vmcoreinfo(), native=native_path)
    assert len([s for s in symbols if len(s.name) >= 150]) == 3
    assert decoded(symbols) == expected(entries)


@pytest.mark.parametrize("length", [126, 127, 128, 0x3FFE])
def test_length_byte_boundary_without_compression(length, native_path):
    # With no tokens an entry is the type letter plus the name: 127 bytes is the last one-byte length.
    name = ("x" * length)[:length]
    entries = [("_text", "T", 0xFFFFFFFF81000000), (name, "T", 0xFFFFFFFF81000100), ("after", "t", 0xFFFFFFFF81000200)]
    image = build_kallsyms(entries, layout="relative", max_tokens=0)
    assert image.big_entries == (1 if length + 1 > 127 else 0)
    assert decoded(load_kallsyms(image.read, image.vmcoreinfo(), native=native_path)) == entries


def test_absolute_percpu_symbols_keep_their_offsets_under_kaslr():
    entries = sample("absolute-percpu", kaslr=KASLR)
    image = build_kallsyms(entries)
    symbols = load_kallsyms(image.read, image.vmcoreinfo())
    assert symbols.by_name("runqueues").address == 0x2C000
    assert symbols.by_name("runqueues").kind == "A"
    assert symbols.by_name("_text").address == 0xFFFFFFFF81000000 + KASLR


def test_lookup_covers_the_kernel_image_only():
    entries = sample("absolute-percpu")
    image = build_kallsyms(entries)
    symbols = load_kallsyms(image.read, image.vmcoreinfo())
    text, end = symbols.by_name("_text").address, symbols.by_name("_end").address
    assert (symbols.start, symbols.end) == (text, end)
    assert symbols.lookup(0x2C008) is None  # a per-CPU offset is not a kernel address
    assert symbols.lookup(text)[0].name == "_text"
    assert symbols.lookup(end) is None
    assert symbols.lookup(0xFFFFFFFFC0000000) is None  # module space
    schedule = symbols.by_name("schedule")
    assert symbols.format(schedule.address + 0x2D) == "schedule+0x2d"


def test_older_kernels_find_the_tables_through_locate():
    entries = sample("absolute-percpu")
    image = build_kallsyms(entries, order=ORDER_6_1, long_num_syms=True)
    symbols = load_kallsyms(image.read, None, locate=image.locations.get)
    assert decoded(symbols) == expected(entries)


def test_locate_fills_what_vmcoreinfo_lacks():
    entries = sample("absolute-percpu")
    image = build_kallsyms(entries)
    partial = image.vmcoreinfo(["kallsyms_names", "kallsyms_num_syms"])

    def locate(name):
        if name not in image.locations:
            raise LookupError(name)
        return image.locations[name]

    assert decoded(load_kallsyms(image.read, partial, locate)) == expected(entries)


def test_missing_table_is_reported_by_name():
    image = build_kallsyms(sample("absolute-percpu"))
    with pytest.raises(MissingDebugInfoError, match="kallsyms_token_table"):
        load_kallsyms(image.read, image.vmcoreinfo(["kallsyms_names", "kallsyms_num_syms"]))
    with pytest.raises(MissingDebugInfoError, match="kallsyms_offsets"):
        load_kallsyms(image.read, image.vmcoreinfo(["kallsyms_names", "kallsyms_num_syms", "kallsyms_token_table",
                                                    "kallsyms_token_index"]))


def test_names_table_ending_at_the_end_of_readable_memory_decodes(native_path):
    entries = sample("absolute-percpu", functions=1500)
    image = build_kallsyms(entries, order=ORDER_NAMES_LAST)
    assert decoded(load_kallsyms(image.read, image.vmcoreinfo(), native=native_path)) == expected(entries)


@pytest.mark.parametrize("truncate", [300, 150])
def test_truncated_names_table_is_a_format_error(truncate, native_path):
    image = build_kallsyms(sample("absolute-percpu", long_names=(300,)), order=ORDER_NAMES_LAST, truncate=truncate)
    with pytest.raises(FormatError, match="kallsyms_names") as error:
        load_kallsyms(image.read, image.vmcoreinfo(), native=native_path)
    # Both twins stop at the same entry and say the same.
    with pytest.raises(FormatError) as other:
        load_kallsyms(image.read, image.vmcoreinfo(), native=False)
    assert str(other.value) == str(error.value)


def test_unreadable_token_index_raises_fault():
    image = build_kallsyms(sample("absolute-percpu"))
    info = image.vmcoreinfo()
    index = image.locations["kallsyms_token_index"]

    def read(address, size):
        if address <= index < address + size:
            raise FaultError("page excluded", index)
        return image.read(address, size)

    with pytest.raises(FaultError):
        load_kallsyms(read, info)


def test_wrong_table_address_is_a_format_error():
    image = build_kallsyms(sample("absolute-percpu"))
    locations = dict(image.locations)
    locations["kallsyms_names"] = locations["kallsyms_offsets"]
    with pytest.raises(FormatError):
        load_kallsyms(image.read, None, locate=locations.get)
    locations = dict(image.locations)
    locations["kallsyms_num_syms"] = locations["kallsyms_token_table"] + 16
    with pytest.raises(FormatError, match="kallsyms_num_syms"):
        load_kallsyms(image.read, None, locate=locations.get)


def test_kallsyms_from_a_vmlinux_agree_with_its_symtab_and_system_map(tmp_path):
    built = kallsyms_writer.build_vmlinux()
    (tmp_path / "vmlinux").write_bytes(built.elf)
    (tmp_path / "System.map").write_text(built.system_map)
    system_map = load_system_map(str(tmp_path / "System.map"))
    symbols = load_kallsyms(vmlinux_reader(str(tmp_path / "vmlinux")), None,
                            locate=lambda name: system_map.by_name(name).address)
    listed = {(s.name, s.address, s.kind) for s in system_map}
    assert all((s.name, s.address, s.kind) in listed for s in symbols)
    # Everything but the kallsyms tables themselves is in kallsyms.
    assert len(system_map) - len(symbols) == len(built.kallsyms.locations)
