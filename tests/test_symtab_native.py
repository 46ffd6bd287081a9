"""The C and Python builds of a symbol table (csrc/symtab.c, csrc/kallsyms.c and their twins in
pycore/symbols/) give the same columns, and the C and Python searches for kallsyms tables the same
candidates: on the real vmlinux files the corpus downloads, on hostile
.symtab sections (truncated, names past or without their string table's end, non-ASCII names,
empty tables, impossible sizes, 32-bit and big-endian ones), and on random input (hypothesis)."""
import glob
import os
import pickle
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kallsyms_writer
import pycore.program
from pycore import FormatError
from pycore.symbols import SymbolTable, elfsyms, kallsyms, kallsyms_scan, load_elf_symbols, load_system_map, table
from pycore.symbols.elf_sections import ElfHeaders

from conftest import NATIVE_SKIP
from corpus import cases

pytestmark = NATIVE_SKIP

KERNELS = os.path.expanduser(os.environ.get("PYCORE_KERNELS", "~/.cache/pycore/downloads/kernels"))
VMLINUXES = sorted(glob.glob(os.path.join(KERNELS, "*/vmlinux")))
SCALE = int(os.environ.get("PYCORE_FUZZ_SCALE", "1"))
KASLR = 0x2C400000
STT_FUNC, STT_OBJECT, STT_TLS, STT_SECTION = 2, 1, 6, 3


def source_of(path: str, kaslr_offset: int = 0) -> "elfsyms._SymtabInput":
    with open(path, "rb") as stream:
        headers = ElfHeaders(stream, path)
        section, symtab, strtab = elfsyms._symtab_section(headers)
        return elfsyms._SymtabInput(path, section.offset, symtab, strtab, headers.elfclass, headers.endian,
                                    elfsyms._kernel_start(headers), kaslr_offset)


def columns(source):
    """Both twins' columns of ``source``, after checking they are equal (or raise the same error)."""
    try:
        python = elfsyms._columns_python(source)
    except FormatError as error:
        with pytest.raises(FormatError) as raised:
            elfsyms._columns_native(source)
        assert str(raised.value) == str(error)
        raise
    assert elfsyms._columns_native(source) == python
    return python


def index_twins_agree(built: table.SymbolColumns) -> None:
    order = table._name_order_python(built.names, built.ends)
    assert table._name_order_native(built.names, built.ends) == order
    start, end = table._resolve_bounds(built.addresses, built.sizes[-1] if built.sizes else None, None, None)
    for bounds in ((start, end), (start + 1, end - 1), (end, start)):
        assert (table._address_runs_native(built.addresses, built.sizes, *bounds)
                == table._address_runs_python(built.addresses, built.sizes, *bounds))


def entry(name_offset, value, size=0, info=(1 << 4) | STT_FUNC, shndx=1, elfclass=64, endian="<"):
    if elfclass == 64:
        return struct.pack(endian + "IBBHQQ", name_offset, info, 0, shndx, value, size)
    return struct.pack(endian + "IIIBBH", name_offset, value, size, info, 0, shndx)


def synthetic(entries, strtab, elfclass=64, endian="<", kernel_start=0x1000, kaslr_offset=0):
    return elfsyms._SymtabInput("synthetic", 0x4000, b"".join(entries), strtab, elfclass, endian, kernel_start,
                                kaslr_offset)


STRTAB = b"\0alpha\0beta\0gamma\0_text\0_end\0"
ALPHA, BETA, GAMMA, TEXT, END = (STRTAB.index(name + b"\0") for name in (b"alpha", b"beta", b"gamma", b"_text",
                                                                          b"_end"))


# --- real vmlinux files -------------------------------------------------------------------------

@pytest.mark.real
@pytest.mark.skipif(not VMLINUXES, reason=f"no vmlinux under {KERNELS} (run the corpus build)")
@pytest.mark.parametrize("path", VMLINUXES, ids=[os.path.basename(os.path.dirname(p)) for p in VMLINUXES])
def test_c_and_python_build_the_same_table_from_a_real_vmlinux(path):
    built = columns(source_of(path, KASLR))
    assert len(built.ends) > 80000 and {"function", "notype", "object"} <= set(built.kind_values)
    index_twins_agree(built)
    c, python = load_elf_symbols(path, KASLR, native=True), load_elf_symbols(path, KASLR, native=False)
    assert (c.start, c.end) == (python.start, python.end) and c.start == c.by_name("_text").address
    assert pickle.dumps(c) == pickle.dumps(python)


# --- hostile .symtab sections -------------------------------------------------------------------

def test_a_partial_last_entry_is_left_out():
    whole = [entry(ALPHA, 0x2000), entry(BETA, 0x3000)]
    built = columns(synthetic(whole + [entry(GAMMA, 0x4000)[:20]], STRTAB))
    assert built.names == "alpha\0beta"


def test_names_past_the_string_table_are_left_out_and_an_unterminated_one_ends_with_it():
    strtab = STRTAB + b"tail"
    built = columns(synthetic([entry(len(strtab) + 5, 0x2000), entry(len(strtab), 0x2100),
                               entry(len(strtab) - 4, 0x2200), entry(ALPHA, 0x2300)], strtab))
    assert built.names == "tail\0alpha"


def test_empty_tables_build_an_empty_table():
    for source in (synthetic([], STRTAB), synthetic([entry(ALPHA, 0x2000)], b""), synthetic([], b"")):
        built = columns(source)
        assert (built.names, len(built.ends), built.kind_values, built.sizes) == ("", 0, (), None)
        assert table._name_order_native(built.names, built.ends) == table._name_order_python(built.names, built.ends)


def test_section_undefined_and_unnamed_symbols_are_left_out():
    built = columns(synthetic([entry(0, 0x2000), entry(ALPHA, 0x2000, shndx=0),
                               entry(BETA, 0x2000, info=STT_SECTION), entry(GAMMA, 0x2000, info=STT_TLS)], STRTAB))
    assert (built.names, built.kind_values) == ("gamma", ("tls",))


def test_ties_at_one_address_sort_alike():
    # Same address: sized first, then global, weak, local, other bindings, then function/object,
    # TLS, untyped, then the name, the size and the kind.
    infos = [(binding << 4) | kind for binding in (0, 1, 2, 3) for kind in (0, 1, 2, 5, 6, 10)]
    entries = [entry(name, 0x2000, size, info) for name in (ALPHA, BETA) for size in (0, 8, 16) for info in infos]
    built = columns(synthetic(entries, STRTAB))
    assert len(built.ends) == len(entries)
    index_twins_agree(built)


def test_32_bit_and_big_endian_tables_with_kaslr_wrapping():
    for elfclass, endian in ((32, "<"), (32, ">"), (64, ">")):
        top = (1 << elfclass) - 0x100
        entries = [entry(ALPHA, top, 0x10, elfclass=elfclass, endian=endian),
                   entry(BETA, 0x10, elfclass=elfclass, endian=endian),
                   entry(GAMMA, 0x2000, shndx=0xFFF1, elfclass=elfclass, endian=endian)]
        built = columns(synthetic(entries, STRTAB, elfclass, endian, kaslr_offset=0x1000 - (1 << 70)))
        assert list(built.addresses) == [0x10, 0xF00, 0x2000]


def test_a_size_beyond_int64_is_the_same_format_error_from_both():
    source = synthetic([entry(ALPHA, 0x2000, 1), entry(BETA, 0x2000, 1 << 63), entry(GAMMA, 0x3000, (1 << 64) - 1)],
                       STRTAB)
    with pytest.raises(FormatError, match=r"st_size 0x8000000000000000.*at file offset 0x4018"):
        columns(source)


def test_non_ascii_names_are_built_by_the_python_twin(tmp_path):
    built = kallsyms_writer.build_vmlinux()
    image = bytearray(built.elf)
    at = image.index(b"\0schedule\0") + 1
    image[at:at + 2] = b"\xc3\xa9"  # "éhedule": C would order its bytes, Python its code points
    image[image.index(b"\0runqueues\0") + 1] = 0xFF  # not UTF-8: "\ufffdunqueues"
    path = tmp_path / "vmlinux"
    path.write_bytes(bytes(image))
    c, python = load_elf_symbols(str(path), native=True), load_elf_symbols(str(path), native=False)
    assert [*c] == [*python] and "\u00e9hedule" in c and "\ufffdunqueues" in c
    assert pickle.dumps(c) == pickle.dumps(python)


@settings(max_examples=150 * SCALE, deadline=None)
@given(names=st.lists(st.text("ab_.\0", max_size=6), min_size=1, max_size=6),
       rows=st.lists(st.tuples(st.integers(0, 40), st.sampled_from([0x1000, 0x1008, 0x2000, 0x10, (1 << 64) - 8]),
                               st.sampled_from([0, 1, 8, 0x1000]), st.integers(0, 255),
                               st.sampled_from([0, 1, 2, 0xFFF1])), max_size=40),
       cut=st.integers(0, 23), kaslr=st.sampled_from([0, KASLR]))
def test_random_tables_build_alike(names, rows, cut, kaslr):
    strtab = b"\0".join(name.encode() for name in names)
    entries = [entry(name, value, size, info, shndx) for name, value, size, info, shndx in rows]
    built = columns(synthetic(entries + [b"\x01" * cut], strtab, kaslr_offset=kaslr))
    if built.ends:
        index_twins_agree(built)


# --- the index twins and the table built from columns -------------------------------------------

@settings(max_examples=150 * SCALE, deadline=None)
@given(rows=st.lists(st.tuples(st.text("ab_\u00e9", max_size=10), st.integers(0, 40), st.sampled_from([-1, 0, 4, 100])),
                     max_size=30))
def test_a_table_from_columns_answers_as_one_from_lists(rows):
    rows.sort(key=lambda row: row[1])
    names, addresses = [row[0] for row in rows], [row[1] for row in rows]
    sizes = [row[2] if row[2] > 0 else None for row in rows]
    built = table.columns_from_lists(names, addresses, sizes, ["T"] * len(rows))
    if names and "".join(names).isascii():
        index_twins_agree(built)
    by_name = table.name_order(built.names, built.ends)
    start, end = table.image_bounds(built, by_name)
    from_columns = table.indexed_table("t", built, by_name, start, end)
    from_lists = SymbolTable("t", names, addresses, sizes, ["T"] * len(rows), start=start, end=end)
    assert (from_columns.start, from_columns.end) == (from_lists.start, from_lists.end)
    assert [from_columns.lookup(address) for address in range(-1, 150)] == \
        [from_lists.lookup(address) for address in range(-1, 150)]
    for name in set(names) | {"x"}:
        assert from_columns.symbols_named(name) == from_lists.symbols_named(name)
        assert (name in from_columns) == (name in from_lists)


def test_a_table_built_in_columns_pickles_them_as_they_are():
    built = table.columns_from_lists(["_text", "b", "_end"], [0x1000, 0x1010, 0x2000], [None, 8, None], ["T"] * 3)
    by_name = table.name_order(built.names, built.ends)
    symbols = table.indexed_table("t", built, by_name, *table.image_bounds(built, by_name))
    _restore, (_source, start, end, pickled) = symbols.__reduce__()
    assert (start, end) == (0x1000, 0x2000) and pickled[0] is built.names and pickled[2] is built.addresses
    copy = pickle.loads(pickle.dumps(symbols))
    assert [*copy] == [*symbols] and copy.lookup(0x1017)[0].name == "b" and copy.lookup(0x1018) is None


# --- kallsyms ------------------------------------------------------------------------------------

def expand_both(data: bytes, count: int, tokens: list):
    results = []
    for expand in (kallsyms._expand_python, kallsyms._expand_native):
        expanded = kallsyms._Expanded()
        offset = expand(data, 0, count, tokens, expanded)
        results.append((offset, bytes(expanded.kinds), bytes(expanded.names), expanded.ends))
    assert results[0] == results[1]
    return results[0]


@settings(max_examples=200 * SCALE, deadline=None)
@given(tokens=st.lists(st.binary(max_size=4).filter(lambda token: b"\0" not in token), min_size=1, max_size=8),
       data=st.binary(max_size=200), count=st.integers(0, 50))
def test_kallsyms_expanders_agree_on_random_tables(tokens, data, count):
    expand_both(data, count, [tokens[code % len(tokens)] for code in range(256)])


def test_kallsyms_expanders_keep_empty_entries_and_leading_empty_tokens():
    tokens = [b""] + [bytes([code]) for code in range(1, 256)]
    # An empty entry, one whose first token is empty, and a two-byte length.
    data = bytes([0, 3, 0, ord("T"), ord("a"), 0x81, 0x01]) + bytes([ord("t")] * 129)
    offset, kinds, names, ends = expand_both(data, 3, tokens)
    assert (offset, kinds, names[:3], list(ends)[:2]) == (len(data), b"\0Tt", b"\0a\0", [0, 2])


@settings(max_examples=200 * SCALE, deadline=None)
@given(offsets=st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=1, max_size=30),
       base=st.sampled_from([0, 0xFFFFFFFF81000000, (1 << 64) - 1]), layout=st.sampled_from([1, 2]))
def test_kallsyms_addresses_agree_in_every_layout(offsets, base, layout):
    data = struct.pack(f"<{len(offsets)}i", *offsets)
    assert kallsyms._addresses_native(data, len(offsets), layout, base) == \
        kallsyms._addresses_python(data, len(offsets), layout, base)
    absolute = struct.pack(f"<{len(offsets)}Q", *(offset & ((1 << 64) - 1) for offset in offsets))
    assert kallsyms._addresses_native(absolute, len(offsets), kallsyms.ABSOLUTE, 0) == \
        kallsyms._addresses_python(absolute, len(offsets), kallsyms.ABSOLUTE, 0)


def test_a_short_address_table_is_refused_in_c():
    with pytest.raises(RuntimeError, match="kallsyms addresses"):
        kallsyms._addresses_native(b"\0" * 7, 2, kallsyms.RELATIVE, 0)


# --- the search for kallsyms tables (kernels before 6.0) ------------------------------------------

def token_index_bytes(steps):
    return struct.pack("<256H", *[sum(steps[:i]) for i in range(256)])


@settings(max_examples=200 * SCALE, deadline=None)
@given(pieces=st.lists(st.one_of(st.binary(max_size=24), st.sampled_from([
    token_index_bytes([1 + i % 9 for i in range(255)]), token_index_bytes([1 + i % 9 for i in range(255)])[:300],
    token_index_bytes([2] * 100 + [0] + [3] * 154), b"\0\0\x05\0\x07\0\x09\0"])), max_size=8),
       start=st.integers(0, 40), skew=st.integers(0, 3))
def test_kallsyms_token_index_searches_agree(pieces, start, skew):
    data = b"".join(pieces)
    results = []
    for find in (kallsyms_scan._find_token_index_python, kallsyms_scan._find_token_index_native):
        found, offset, calls = [], start, 0
        while calls < 64:
            position, patterns = find(data, offset, skew)
            found.append((position, patterns))
            if position is None:
                break
            offset, calls = position + 1, calls + 1
        results.append(found)
    assert results[0] == results[1]


def markers_bytes(steps):
    return struct.pack(f"<{len(steps) + 1}I", *[sum(steps[:i]) for i in range(len(steps) + 1)])


@settings(max_examples=200 * SCALE, deadline=None)
@given(pieces=st.lists(st.one_of(st.binary(max_size=16), st.sampled_from([
    markers_bytes([3000, 2600, 5000]), markers_bytes([511, 4000]), markers_bytes([1 << 20]), markers_bytes([512]),
    bytes(8), bytes(800)])), max_size=8), start=st.integers(0, 40), skew=st.integers(0, 3))
def test_kallsyms_markers_searches_agree(pieces, start, skew):
    data = b"".join(pieces)
    results = []
    for find in (kallsyms_scan._find_markers_python, kallsyms_scan._find_markers_native):
        found, offset = [], start
        while len(found) < 64:
            found.append(find(data, offset, skew))
            if found[-1] is None:
                break
            offset = found[-1][0] + 1
        results.append(found)
    assert results[0] == results[1]


@settings(max_examples=200 * SCALE, deadline=None)
@given(lengths=st.lists(st.integers(0, 200), max_size=600), padding=st.binary(max_size=9),
       count_delta=st.integers(-2, 2), marker_delta=st.integers(-1, 1))
def test_kallsyms_names_walks_agree(lengths, padding, count_delta, marker_delta):
    data, markers = bytearray(), []
    for number, length in enumerate(lengths):
        if number % 256 == 0:
            markers.append(len(data))
        data += bytes([0x80 | length & 0x7F, length >> 7]) if length > 127 else bytes([length])
        data += bytes(range(1, 1 + length % 200)) + bytes(max(0, length - 200))
    data += padding
    markers = markers or [0]
    markers[-1] = max(0, markers[-1] + marker_delta)
    count = max(0, min(len(lengths) + count_delta, 256 * len(markers)))
    assert kallsyms_scan._walk_names_native(bytes(data), count, markers) == \
        kallsyms_scan._walk_names_python(bytes(data), count, markers)


def test_a_names_walk_its_markers_cannot_cover_is_refused_in_c():
    with pytest.raises(RuntimeError, match="kallsyms_names walk"):
        kallsyms_scan._walk_names_native(bytes(600), 257, [0])


def one_case_per_kernel():
    """A case of each kernel build: the cases of one kernel hold the same kallsyms tables."""
    kernels = {}
    for case in cases():
        kernels.setdefault(case.manifest.get("kernel_release"), case)
    return list(kernels.values())


@pytest.mark.real
@pytest.mark.parametrize("case", one_case_per_kernel() or [None], ids=lambda case: case.name if case else "none")
def test_c_and_python_decode_the_same_kallsyms_from_each_kernel(case):
    if case is None:
        pytest.skip("no corpus case built")
    prog = pycore.program.open(case.path(case.reference_dump))
    info, locate = prog.vmcoreinfo, None
    if info.symbol("kallsyms_names") is None:
        # Before 6.0 VMCOREINFO does not name the tables: the case's System.map does.
        system_map = load_system_map(case.path("System.map"), kaslr_offset=info.kernel_offset or 0)
        locate = lambda name: system_map.by_name(name).address  # noqa: E731
    c = kallsyms.load_kallsyms(prog.arch.read, info, locate, native=True)
    python = kallsyms.load_kallsyms(prog.arch.read, info, locate, native=False)
    assert len(c) > 80000 and pickle.dumps(c) == pickle.dumps(python)
