"""struct page, PFNs and the direct map (pycore.kernel.mm) on the corpus: crash's vtop and ptov
give the page, its flags and the direct-map address; drgn 0.3.0 gives the valid page ranges,
vmemmap and PageSlab/PageLRU; conversions round-trip."""
import itertools

import pytest

from pycore.errors import FaultError
from pycore.kernel import mm, slab
from pycore.object import Object
from pycore.types.model import Member, enum_type, int_type, struct_type

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram

CASES = vmlinux_cases()
MODES = pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])


def page_rows(text):
    """(page, physical, flags) of each row under crash's ``PAGE PHYSICAL MAPPING ...`` header."""
    rows, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.split()[:2] == ["PAGE", "PHYSICAL"] and i + 1 < len(lines):
            fields = lines[i + 1].split()
            rows.append((int(fields[0], 16), int(fields[1], 16), int(fields[5], 16), fields[6:]))
    return rows


@pytest.mark.real
@MODES
@pytest.mark.parametrize("case", [c for c in CASES if c.references("vtop ")], ids=case_ids)
def test_the_page_behind_crashs_vtop_has_crashs_address_and_flags(case, with_vmlinux):
    prog = pycore_program(case, with_vmlinux)
    checked = 0
    for reference in case.references("vtop "):
        with open(case.path(reference["file"])) as f:
            for page, physical, flags, names in page_rows(f.read()):
                ours = mm.phys_to_page(prog, physical)
                assert int(ours) == page
                assert mm.page_to_phys(ours) == physical and mm.page_flags(ours) == flags
                assert mm.page_flag_set(ours, "PG_reserved") == ("reserved" in names)
                checked += 1
    assert checked


@pytest.mark.real
@MODES
@pytest.mark.parametrize("case", [c for c in CASES if c.references("ptov ")], ids=case_ids)
def test_phys_to_virt_is_crashs_ptov(case, with_vmlinux):
    prog = pycore_program(case, with_vmlinux)
    for reference in case.references("ptov "):
        with open(case.path(reference["file"])) as f:
            virtual, physical = (int(x, 16) for x in f.read().splitlines()[1].split())
        assert mm.phys_to_virt(prog, physical) == virtual
        assert mm.virt_to_phys(prog, virtual) == physical == prog.translate(virtual)
        page = mm.virt_to_page(prog, virtual)
        assert mm.page_to_pfn(page) == mm.virt_to_pfn(prog, virtual) == physical // prog.dump.page_size
        assert mm.page_to_virt(page) == mm.pfn_to_virt(prog, mm.page_to_pfn(page)) == virtual & ~0xFFF
        assert int(mm.pfn_to_page(prog, mm.page_to_pfn(page))) == int(page)


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_valid_pages_and_page_tests_agree_with_drgn(case):
    import drgn
    from drgn.helpers.linux import mm as drgn_mm

    prog, reference = pycore_program(case, False), drgn_program(case)
    assert mm.vmemmap(prog) == reference["vmemmap"].value_()
    assert list(mm.for_each_valid_page_range(prog)) == [(s, e) for s, e, _ in
                                                         drgn_mm.for_each_valid_page_range(reference)]
    slab = 0
    for page in list(mm.for_each_page(prog))[::61]:
        theirs = drgn.Object(reference, "struct page *", int(page))
        assert mm.PageSlab(page) == drgn_mm.PageSlab(theirs), hex(int(page))
        assert mm.page_flag_set(page, "PG_lru") == drgn_mm.PageLRU(theirs), hex(int(page))
        slab += mm.PageSlab(page)
    assert slab > 0
    assert mm.page_flag_bit(prog, "PG_no_such_flag") is None


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_compound_pages_are_told_as_drgn_tells_them(case):
    import drgn
    from drgn.helpers.linux import mm as drgn_mm

    prog, reference = pycore_program(case, False), drgn_program(case)
    heads = list(mm.for_each_slab_page(prog))[::9]
    pages = [page for head in heads for page in (head, head + 1)] + list(mm.for_each_page(prog))[::997]
    orders = set()
    for page in pages:
        theirs = drgn.Object(reference, "struct page *", int(page))
        assert (mm.PageHead(page), mm.PageTail(page), mm.PageCompound(page), int(mm.compound_head(page)),
                mm.compound_order(page)) == \
            (drgn_mm.PageHead(theirs), drgn_mm.PageTail(theirs), drgn_mm.PageCompound(theirs),
             drgn_mm.compound_head(theirs).value_(), drgn_mm.compound_order(theirs).value_()), hex(int(page))
        assert mm.compound_nr(page) == 1 << mm.compound_order(page)
        orders.add(mm.compound_order(page))
    assert len(orders) > 1  # some slabs are compound pages: heads, tails and orders were met


@pytest.mark.real
@MODES
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_kmem_p_s_struct_page_fields_are_drgn_s(case, with_vmlinux):
    """mm's one decoder of struct page, as kmem -p lists the mem_map and as one page
    (slab.page_descriptor, kmem -p ADDRESS and vtop) shows it: drgn reads the same members."""
    import drgn

    prog, reference = pycore_program(case, with_vmlinux), drgn_program(case)
    index = "index" if reference.type("struct page").has_member("index") else "__folio_index"
    checked = 0
    for entry in itertools.islice(mm.for_each_mem_map_entry(prog), 0, None, 2003):
        theirs = drgn.Object(reference, "struct page *", entry.page)
        flags = theirs.flags  # a memdesc_flags_t on 7.x
        flags = flags.f if flags.type_.unaliased_kind() == drgn.TypeKind.STRUCT else flags
        assert (entry.mapping, entry.index, entry.count, entry.flags) == \
            (theirs.mapping.value_(), getattr(theirs, index).value_(), theirs._refcount.counter.value_(),
             flags.value_()), hex(entry.page)
        pfn = entry.physical // prog.dump.page_size
        assert mm.mem_map_entry(prog, pfn) == entry
        described = slab.page_descriptor(prog, entry.physical + 0x10)
        assert (described.page, described.physical, described.count, described.flags) == \
            (entry.page, entry.physical, entry.count, entry.flags)
        checked += 1
    assert checked >= 50


@pytest.mark.real
@pytest.mark.parametrize("case", CASES[:1], ids=case_ids)
def test_a_pointer_into_or_below_the_page_array_is_no_page(case):
    prog = pycore_program(case, False)
    for address in (mm.vmemmap(prog) + 8, mm.vmemmap(prog) - 64):
        with pytest.raises(FaultError, match="not a struct page") as error:
            mm.page_to_pfn(Object(prog, "struct page *", address))
        assert error.value.address == address


PG_HEAD = 6


class _Pages(FakeProgram):
    """A 64-byte ``struct page`` (flags, then ``member``), PG_head in ``enum pageflags`` and a
    ``struct zone`` with or without 7.1's ``vmemmap_tails``."""

    vmcoreinfo = None

    def __init__(self, member: str, vmemmap_tails: bool):
        super().__init__()
        ulong = int_type("unsigned long", 8, False)
        self.types.types.update({
            ("struct", "page"): struct_type("page", 64, [Member("flags", ulong, 0), Member(member, ulong, 64)]),
            ("struct", "zone"): struct_type("zone", 8, [Member("vmemmap_tails" if vmemmap_tails else "flags", ulong)]),
            ("enum", "pageflags"): enum_type("pageflags", 4, False, [("PG_locked", 0), ("PG_head", PG_HEAD)])})


@pytest.mark.parametrize("member, tails, words, head", [
    ("compound_head", False, {0x1048: 0x1001 + BASE}, 0x1000),      # 4.6-7.0: the head's address + 1
    ("compound_head", False, {}, 0x1040),                           # not a tail page: itself
    # 5.18-7.0 HugeTLB vmemmap optimization: a tail showing PG_head, whose next page names the real head
    ("compound_head", False, {0x1040: 1 << PG_HEAD, 0x1088: 0x1001 + BASE}, 0x1000),
    ("compound_info", True, {0x1048: 0xFFFFFFFFFFFFFF01}, 0x1000),  # 7.1+: ~(64 << 2) + 1, an order-2 mask
    ("compound_info", False, {0x1048: 0x0F81 + BASE}, 0x0F80),      # 7.1+ without tails in zone: address + 1
], ids=["head-pointer", "head-page", "fake-head", "mask", "info-pointer"])
def test_compound_head_of_a_tail_page(member, tails, words, head):
    prog = _Pages(member, tails)
    for address, value in words.items():
        prog.put(BASE + address, value)
    assert int(mm.compound_head(Object(prog, "struct page *", BASE + 0x1040))) == BASE + head
