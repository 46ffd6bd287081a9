"""The fast paths under the scripting API: the decoded-page cache every kdump read goes through
(csrc/pagecache.c and its twin pycore.cache.PageCache, hit for hit), and read_members, the bulk
typed read, against the per-Object reads it replaces (synthetic dumps, then a real one)."""
import random
import struct

import pytest

import pycore
from pycore import native
from pycore.cache import PageCache, page_cache_pages
from pycore.dump import open_dump
from pycore.errors import FaultError, MissingMemberError, ObjectTypeError, PageExcludedError
from pycore.object import Object, read_members
from pycore.symbols.table import SymbolTable
from pycore.types.model import Member, array_type, int_type, pointer_type, struct_type

from conftest import NATIVE_SKIP, synthetic, write
from corpus import cases
from test_object import DictIndex

PAGE = synthetic.PAGE_SIZE
ITEMS_PFN = 0x3A0  # three pages of struct item from here; the middle one filtered out of the dump
ITEMS = 3 * PAGE // 32


def _item_bytes(index: int) -> bytes:
    """struct item number ``index``: flags, value, bits:3 and sbits:5 in one byte, name, next."""
    bits = (index % 8) | ((index % 32) - 16 & 0x1F) << 3
    return struct.pack("<QiB3x8sQ", (index << 40) | index, -index, bits, f"it{index}".encode(), 0xFFFF888000000000 + index)


def _item_types() -> DictIndex:
    int_t = int_type("int", 4, True)
    item = struct_type("item", 32, lambda: [
        Member("flags", int_type("unsigned long", 8, False), 0), Member("value", int_t, 64),
        Member("bits", int_type("unsigned int", 4, False), 96, 3), Member("sbits", int_t, 99, 5),
        Member("name", array_type(int_type("char", 1, True), 8), 128), Member("next", pointer_type(item), 192)])
    return DictIndex({("struct", "item"): item, ("", "int"): int_t}, {"items": item})


@pytest.fixture(scope="module")
def items_dump(tmp_path_factory):
    machine = synthetic.make_machine(seed=21)
    tables = synthetic.add_page_tables(machine, levels=4)
    data = b"".join(_item_bytes(i) for i in range(ITEMS))
    for page in range(3):
        machine.pages[ITEMS_PFN + page] = data[page * PAGE:(page + 1) * PAGE]
        machine.excluded.discard(ITEMS_PFN + page)
    machine.excluded.add(ITEMS_PFN + 1)
    path = write(tmp_path_factory.mktemp("speedpaths"), "items.vmcore", synthetic.build_kdump(machine, "zlib")[0])
    return path, machine, tables


@pytest.fixture
def prog(items_dump, native_path):
    path, _, tables = items_dump
    program = pycore.open(path, native=native_path)
    program.types = _item_types()
    start = tables.mappings[0][0] + ITEMS_PFN * PAGE
    program.symbols = SymbolTable("test symbols", ["items"], [start], [32], ["D"])
    yield program
    program.close()


def _readable(index: int) -> bool:
    return not PAGE <= index * 32 < 2 * PAGE


# -- the decoded-page cache ----------------------------------------------------------------
def test_second_read_of_a_page_is_not_decoded_again(items_dump, native_path):
    path, machine, _ = items_dump
    with pycore.open(path, native=native_path) as prog:
        pfn = ITEMS_PFN
        before = prog.dump.page_cache_stats()  # opening reads too, looking for the kernel's symbols
        assert prog.read_physical(pfn * PAGE, PAGE) == machine.pages[pfn]
        assert prog.read_physical(pfn * PAGE + 100, 8) == machine.pages[pfn][100:108]
        stats = prog.dump.page_cache_stats()
        assert [stats[key] - before[key] for key in ("hits", "misses", "pages")] == [1, 1, 1]
        assert stats["capacity"] == page_cache_pages(PAGE)


def test_cache_twins_agree_hit_for_hit_and_evict_the_least_recently_used(items_dump, monkeypatch):
    """The same reads in the same order: the same bytes and the same counts on both twins, with a
    cache of 8 pages so that evictions happen."""
    if not native.AVAILABLE:
        pytest.skip("pycore._native is not built")
    path, machine, _ = items_dump
    monkeypatch.setenv("PYCORE_PAGE_CACHE_MIB", str(8 * PAGE / (1 << 20)))
    rng = random.Random(5)
    dumped = sorted(pfn for pfn in machine.pages if pfn not in machine.excluded)[:24]
    reads = [(rng.choice(dumped) * PAGE + rng.randrange(PAGE), rng.choice([1, 8, 100, PAGE, 2 * PAGE]))
             for _ in range(400)]
    seen = {}
    for native_path in (True, False):
        with open_dump(path, native=native_path) as dump:  # a Program would read on opening
            found = []
            for address, size in reads:
                try:
                    found.append(dump.read_physical(address, size))
                except FaultError as error:
                    found.append(str(error))
            seen[native_path] = (found, dump.page_cache_stats())
    assert seen[True] == seen[False]
    found, stats = seen[False]
    assert all(data == machine.read(*read) for read, data in zip(reads, found) if isinstance(data, bytes))
    assert stats["pages"] == stats["capacity"] == 8 and stats["hits"] and stats["misses"] > 8


def test_filtered_out_page_fails_alike_and_zero_filled_is_not_kept(items_dump, native_path):
    path, _, _ = items_dump
    hole = (ITEMS_PFN + 1) * PAGE
    with pycore.open(path, native=native_path) as prog:
        with pytest.raises(PageExcludedError) as raised:
            prog.read_physical(hole + 16, 8)
        assert raised.value.address == hole + 16
        kept = prog.dump.page_cache_stats()["pages"]
        assert prog.read_physical(hole, PAGE, zero_excluded=True) == bytes(PAGE)
        assert prog.dump.page_cache_stats()["pages"] == kept


def _deltas(before, after):
    return [after[key] - before[key] for key in ("hits", "misses")]


def test_virtual_reads_of_a_page_decode_it_once_on_both_walkers(items_dump, native_path):
    """The C page-table walk reads kdump pages through the dump's cache like the Python one: the
    second read of a page through a virtual address is a hit, and so is a physical read of it."""
    path, machine, tables = items_dump
    address = tables.mappings[0][0] + ITEMS_PFN * PAGE
    with pycore.open(path, native=native_path) as prog:
        assert prog.arch.native is native_path
        first = prog.dump.page_cache_stats()
        assert prog.arch.read(address + 8, 16) == machine.pages[ITEMS_PFN][8:24]
        second = prog.dump.page_cache_stats()
        assert prog.arch.read(address + 200, 8) == machine.pages[ITEMS_PFN][200:208]
        third = prog.dump.page_cache_stats()
        assert prog.read_physical(ITEMS_PFN * PAGE, 8) == machine.pages[ITEMS_PFN][:8]
        assert _deltas(first, second)[1] >= 1
        assert _deltas(second, third) == [1, 0]
        assert _deltas(third, prog.dump.page_cache_stats()) == [1, 0]


def test_c_and_python_walkers_agree_hit_for_hit(items_dump, monkeypatch):
    """Virtual and physical reads mixed, mapped, filtered out and unmapped, in the same order on
    both paths: the same bytes, the same errors and the same counts, with 8 pages of cache so that
    page tables and data evict each other."""
    if not native.AVAILABLE:
        pytest.skip("pycore._native is not built")
    path, machine, tables = items_dump
    monkeypatch.setenv("PYCORE_PAGE_CACHE_MIB", str(8 * PAGE / (1 << 20)))
    rng = random.Random(9)
    page_offset = tables.mappings[0][0]
    pfns = sorted(machine.pages)[:24] + sorted(machine.excluded)[:2]
    reads = []
    for _ in range(300):
        pfn, offset, size = rng.choice(pfns), rng.randrange(PAGE), rng.choice([1, 8, 100, PAGE])
        kind = rng.choice(["virtual", "virtual", "physical", "unmapped"])
        reads.append((kind, (tables.hole if kind == "unmapped" else pfn * PAGE) + offset, size))
    seen = {}
    for native_path in (True, False):
        with pycore.open(path, native=native_path) as prog:
            assert prog.arch.native is native_path
            found = []
            for kind, address, size in reads:
                try:
                    if kind == "physical":
                        found.append(prog.read_physical(address, size))
                    else:
                        found.append(prog.arch.read(address + (0 if kind == "unmapped" else page_offset), size))
                except FaultError as error:
                    found.append((type(error).__name__, str(error)))
            seen[native_path] = (found, prog.dump.page_cache_stats())
    assert seen[True] == seen[False]
    found, stats = seen[True]
    assert {type(item) for item in found} == {bytes, tuple}
    assert stats["pages"] == 8 and stats["hits"] and stats["misses"] > 8


def test_page_cache_keeps_what_it_is_given_up_to_capacity():
    cache = PageCache(2)
    assert cache.get(1) is None
    cache.keep(1, b"one")
    cache.keep(2, b"two")
    assert cache.get(1) == b"one"  # 2 is now the least recently used
    cache.keep(3, b"three")
    assert cache.get(2) is None and cache.get(3) == b"three"
    assert cache.stats() == {"hits": 2, "misses": 2, "pages": 2, "capacity": 2}
    with pytest.raises(ValueError):
        PageCache(0)


def test_elf_dump_has_no_page_cache(dump_files):
    with pycore.open(dump_files["elf-kdump"]) as prog:
        assert prog.dump.page_cache_stats() is None


# -- the gather twins ------------------------------------------------------------------------------
GATHERS = [(0, 64, 8, 100), (8, 64, 8, 100), (3, 24, 5, 200), (0, 4, 4, 1600), (6400 - 8, 64, 8, 1), (0, 8, 8, 0)]


@NATIVE_SKIP
@pytest.mark.parametrize("first, stride, width, count", GATHERS)
def test_gather_twins_give_the_same_bytes(first, stride, width, count):
    from pycore.object import _gather_native, _gather_python

    data = random.Random(first + stride).randbytes(6400)
    expected = b"".join(data[first + i * stride:first + i * stride + width] for i in range(count))
    assert _gather_python(data, first, stride, width, count) == expected
    assert bytes(_gather_native(memoryview(bytearray(data)), first, stride, width, count)) == expected


@pytest.mark.parametrize("first, stride, width, count", [(0, 64, 8, 101), (6400, 64, 8, 1), (0, 4, 8, 2),
                                                         (0, 8, 0, 2), (-1, 8, 8, 1)])
def test_gather_twins_refuse_the_same_bounds(first, stride, width, count):
    from pycore.object import _gather_native, _gather_python

    gathers = [_gather_python] + ([_gather_native] if native.AVAILABLE and first >= 0 else [])
    for gather in gathers:
        with pytest.raises(ValueError):
            gather(bytes(6400), first, stride, width, count)


# -- the per-type classes' readers -------------------------------------------------------------
LAYOUTS = [(1, False), (1, True), (2, False), (2, True), (3, False), (3, True), (4, False), (4, True), (8, False),
           (8, True), (16, False), (16, True)]


def test_every_integer_layout_reads_what_its_bytes_say(prog):
    """The per-layout ``value_`` (a precompiled struct format, or int.from_bytes for 3 and 16 bytes)
    equals the bytes read and converted by hand, on a reference, a snapshot and a bit field."""
    start = prog["items"].address_
    item = prog.type("struct item")
    for index in (0, 5, ITEMS - 1):
        address = start + 32 * index + 1  # an odd offset: every layout straddles item fields
        raw = prog.read(address, 16)
        for size, signed in LAYOUTS:
            t = int_type(f"int{size}{'s' if signed else 'u'}", size, signed)
            expected = int.from_bytes(raw[:size], "little", signed=signed)
            reference = Object(prog, t, address=address)
            assert reference.value_() == expected == reference.read_().value_()
        obj = Object(prog, item, address=start + 32 * index)
        assert (obj.bits.value_(), obj.sbits.value_()) == (index % 8, (index % 32) - 16)
        assert obj.name.string_() == f"it{index}".encode() == obj.read_().name.string_()


def test_pointer_members_and_elements_of_references_and_values_agree(prog):
    """A pointer read from memory and the same pointer held as a value lead to the same place."""
    start = prog["items"].address_
    pointer = Object(prog, "struct item *", start)
    in_memory = Object(prog, prog.type("struct item"), address=start).next
    assert in_memory.address_ == start + 24 and in_memory.value_() == 0xFFFF888000000000
    assert pointer[2].value.value_() == -2 and pointer.flags.value_() == 0
    assert in_memory.read_()[0].address_ == in_memory[0].address_ == in_memory.value_()
    assert in_memory.flags.address_ == in_memory.read_().flags.address_ == in_memory.value_()


def test_members_read_from_the_program_page_cache_equal_prog_read_and_fault_alike(prog):
    """Integer and char-array members take their bytes from ``prog.pages`` when the page is cached
    and readable (what ``prog.read`` answers from); a member on the filtered-out page raises the
    PageExcludedError ``prog.read`` raises, same message and address, and one that straddles a page
    boundary is read exactly (here: into that page, so it faults too)."""
    start = prog["items"].address_
    item = prog.type("struct item")
    for index in (0, 3, ITEMS // 3 - 1, ITEMS // 2, 2 * ITEMS // 3, ITEMS - 1):
        address = start + 32 * index
        obj = Object(prog, item, address=address)
        if _readable(index):
            assert (obj.flags.value_(), obj.value.value_(), obj.name.string_()) == \
                ((index << 40) | index, -index, f"it{index}".encode())
            assert prog.pages[address & ~(PAGE - 1)][address % PAGE:address % PAGE + 32] == _item_bytes(index)
            continue
        for member, offset, size in ((obj.value.value_, 8, 4), (obj.name.string_, 16, 8)):
            with pytest.raises(PageExcludedError) as by_prog:
                prog.read(address + offset, size)
            with pytest.raises(PageExcludedError) as by_object:
                member()
            assert str(by_object.value) == str(by_prog.value) and by_object.value.address == by_prog.value.address
        assert prog.pages[address & ~(PAGE - 1)] == b""
    straddling = Object(prog, int_type("unsigned long", 8, False), address=start + PAGE - 4)
    with pytest.raises(PageExcludedError) as by_object:
        straddling.value_()
    with pytest.raises(PageExcludedError) as by_prog:
        prog.read(start + PAGE - 4, 8)
    assert str(by_object.value) == str(by_prog.value)


def test_a_member_read_answers_from_the_cached_page(prog):
    """The cache is what answers: a page put in ``prog.pages`` is what the member reads see."""
    address = prog["items"].address_ + 32 * 5
    obj = Object(prog, prog.type("struct item"), address=address)
    assert obj.value.value_() == -5
    page = bytearray(prog.pages[address & ~(PAGE - 1)])
    struct.pack_into("<i4x8s", page, address % PAGE + 8, 77, b"swapped\0")
    prog.pages[address & ~(PAGE - 1)] = bytes(page)
    assert (obj.value.value_(), obj.name.string_()) == (77, b"swapped") == \
        (int.from_bytes(prog.read(address + 8, 4), "little", signed=True), prog.read(address + 16, 7))


# -- read_members ------------------------------------------------------------------------------
@pytest.mark.parametrize("member", ["flags", "value", "bits", "sbits", "name", "next"])
def test_consecutive_members_equal_one_object_at_a_time(prog, member):
    start = prog["items"].address_
    bulk = read_members(prog, "struct item", member, start, ITEMS, default=None)
    one_by_one = [Object(prog, "struct item", address=start + 32 * i).member_(member).value_() if _readable(i)
                  else None for i in range(ITEMS)]
    assert bulk == one_by_one
    assert bulk[0] is not None and bulk[-1] is not None and bulk[ITEMS // 2] is None


@pytest.mark.parametrize("member", ["flags", "value", "next"])
def test_as_array_holds_the_same_values_in_the_member_c_type(prog, member):
    start = prog["items"].address_
    values = read_members(prog, "struct item", member, start, ITEMS, default=0, as_array=True)
    assert values.typecode == {"flags": "Q", "value": "i", "next": "Q"}[member]
    assert values.tolist() == [0 if value is None else value
                               for value in read_members(prog, "struct item", member, start, ITEMS, default=None)]
    listed = read_members(prog, "struct item", member, [start + 32 * 3, start + PAGE], default=7, as_array=True)
    assert listed.tolist() == [values[3], 7]


def test_as_array_refuses_what_has_no_array_type(prog):
    start = prog["items"].address_
    for member in ("bits", "name"):
        with pytest.raises(ObjectTypeError):
            read_members(prog, "struct item", member, start, 4, as_array=True)


def test_listed_addresses_in_their_order(prog):
    start = prog["items"].address_
    order = [5, 2, 200, 7, 2]
    assert read_members(prog, "struct item", "flags", [start + 32 * i for i in order], default=-1) == \
        [(5 << 40) | 5, (2 << 40) | 2, -1, (7 << 40) | 7, (2 << 40) | 2]


def test_a_fault_raises_without_a_default(prog):
    start = prog["items"].address_
    with pytest.raises(PageExcludedError) as raised:
        read_members(prog, "struct item", "value", start, ITEMS)
    assert PAGE <= raised.value.address - start < 2 * PAGE
    with pytest.raises(FaultError):
        read_members(prog, "struct item", "value", [start + PAGE])


def test_unmapped_pages_are_holes(items_dump, prog):
    _, _, tables = items_dump
    end = synthetic.VMEMMAP + (2 << 20)  # the vmemmap mapping ends here
    values = read_members(prog, "struct item", "flags", end - 64, 4, default="hole")
    assert values[2:] == ["hole", "hole"]
    assert values[:2] == [int.from_bytes(prog.read(end - 64 + 32 * i, 8), "little") for i in range(2)]
    with pytest.raises(FaultError) as raised:
        read_members(prog, "struct item", "flags", end - 64, 4)
    assert raised.value.address == end


def test_pointer_type_and_member_path_are_accepted_bad_ones_refused(prog):
    start = prog["items"].address_
    assert read_members(prog, "struct item *", "value", start, 3) == [0, -1, -2]
    with pytest.raises(MissingMemberError):
        read_members(prog, "struct item", "nothing", start, 3)
    with pytest.raises(ObjectTypeError):
        read_members(prog, "struct item", "next.flags", start, 3)
    with pytest.raises(ValueError):
        read_members(prog, "struct item", "value", start)
    assert read_members(prog, "struct item", "value", start, 0) == []


# -- a real dump ------------------------------------------------------------------------------
REAL = [case for case in cases() if case.name.startswith("6.12") and case.dumps()][:1]


@pytest.mark.skipif(not REAL, reason="no 6.12 corpus case: run testdata/corpus/build.sh")
def test_every_struct_page_flags_equal_the_per_page_reads(native_path):
    from pycore.kernel.mm import for_each_valid_page_range, vmemmap

    case = REAL[0]
    kdump = [d["name"] for d in case.dumps() if d["format"] == "kdump"]
    with pycore.open(case.path(kdump[0]), native=native_path) as prog:
        base, size = vmemmap(prog), prog.type("struct page").size
        start, end = next(for_each_valid_page_range(prog))
        start = max(start, end - 3000)  # the top of memory: pages of every kind, not the reserved low ones
        flags = read_members(prog, "struct page", "flags", base + start * size, end - start)
        pages = Object(prog, "struct page *", base)
        assert flags == [pages[pfn].flags.value_() for pfn in range(start, end)]
        assert len(set(flags)) > 3


@pytest.mark.skipif(not REAL, reason="no 6.12 corpus case: run testdata/corpus/build.sh")
def test_a_real_dump_page_read_twice_through_the_walker_is_decoded_once(native_path):
    case = REAL[0]
    kdump = [d["name"] for d in case.dumps() if d["format"] == "kdump"]
    with pycore.open(case.path(kdump[0]), native=native_path) as prog:
        assert prog.arch.native is native_path
        address = prog["init_task"].address_
        first = prog.arch.read(address, 64)
        before = prog.dump.page_cache_stats()
        assert prog.arch.read(address, 64) == first
        assert _deltas(before, prog.dump.page_cache_stats()) == [1, 0]
