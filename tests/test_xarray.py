"""XArray lookups and walks (pycore.kernel.xarray): made-up trees with multi-index, value, zero
and sibling entries, damaged trees that must end in XarrayCorruptError, and the corpus's pid
idr and page caches against crash's ps, the pages' own back-pointers and drgn 0.3.0."""
import pytest

from pycore.errors import FaultError, ObjectTypeError
from pycore.kernel import xarray
from pycore.kernel.xarray import XA_ZERO_ENTRY, XarrayCorruptError
from pycore.object import Object, list_for_each_entry
from pycore.types.model import Member, int_type, pointer_type, struct_type

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram
from test_pid import ps_rows

XA = BASE + 0x40
TOP, LEAF, OTHER = BASE + 0x400, BASE + 0x800, BASE + 0xC00
P1, P5 = BASE + 0x3000, BASE + 0x3040
VALUE = (42 << 1) | 1  # xa_mk_value(42)


def slot(node: int, offset: int) -> int:
    return node + 48 + 8 * offset


def node_entry(node: int) -> int:
    return node | 2  # xa_mk_node


def build(chunk: int = 64) -> FakeProgram:
    """An XArray whose top node (shift log2(chunk)) holds a leaf at slot 0 (pointers at 1 and 5, a
    zero entry at 7) and a value entry of order 7 in slots 2-3 (3 is its sibling)."""
    prog = FakeProgram(xa_chunk=chunk)
    shift = chunk.bit_length() - 1
    prog.put(XA + 8, node_entry(TOP))
    prog.put_byte(TOP, shift)
    prog.put(slot(TOP, 0), node_entry(LEAF))
    prog.put(slot(TOP, 2), VALUE)
    prog.put(slot(TOP, 3), (2 << 2) | 2)  # xa_mk_sibling(2)
    prog.put(slot(LEAF, 1), P1)
    prog.put(slot(LEAF, 5), P5)
    prog.put(slot(LEAF, 7), XA_ZERO_ENTRY)
    return prog


def xa(prog) -> Object:
    return Object(prog, "struct xarray *", XA)


def entries(prog, advanced=False):
    return [(index, int(entry)) for index, entry in xarray.xa_for_each(xa(prog), advanced)]


@pytest.mark.parametrize("chunk", [64, 16], ids=["XA_CHUNK_SIZE-64", "CONFIG_BASE_SMALL-16"])
def test_walk_gives_each_entry_once_in_index_order(chunk):
    prog = build(chunk)
    assert entries(prog) == [(1, P1), (5, P5), (2 * chunk, VALUE)]
    assert entries(prog, advanced=True) == [(1, P1), (5, P5), (7, XA_ZERO_ENTRY), (2 * chunk, VALUE)]


@pytest.mark.parametrize("chunk", [64, 16], ids=["XA_CHUNK_SIZE-64", "CONFIG_BASE_SMALL-16"])
def test_load_follows_siblings_and_reads_reserved_slots_as_null(chunk):
    prog = build(chunk)
    load = lambda index: int(xarray.xa_load(xa(prog), index))  # noqa: E731
    assert (load(1), load(5), load(0), load(7)) == (P1, P5, 0, 0)
    assert load(2 * chunk) == load(3 * chunk + 1) == VALUE  # slot 3 is slot 2's sibling
    assert load(chunk * chunk) == 0  # beyond what the top node covers
    assert load(-1) == load(-chunk) == 0  # an unsigned long index: ULONG_MAX, not slot 63
    assert xarray.xa_is_value(xarray.xa_load(xa(prog), 2 * chunk))
    assert xarray.xa_to_value(VALUE) == 42 and xarray.xa_is_zero(XA_ZERO_ENTRY)


def test_a_single_entry_lives_in_the_head_at_index_zero():
    prog = FakeProgram()
    prog.put(XA + 8, P1)
    assert entries(prog) == [(0, P1)]
    assert int(xarray.xa_load(xa(prog), 0)) == P1 and int(xarray.xa_load(xa(prog), 1)) == 0
    prog.put(XA + 8, 0)
    assert entries(prog) == [] and int(xarray.xa_load(xa(prog), 0)) == 0


def test_a_node_pointing_back_at_its_parent_is_reported():
    prog = build()
    prog.put(slot(TOP, 4), node_entry(TOP))
    with pytest.raises(XarrayCorruptError) as error:
        entries(prog)
    assert f"XArray at {XA:#x} reaches node {TOP:#x} twice" in str(error.value)


def test_a_child_at_its_parents_shift_is_reported():
    prog = build()
    prog.put_byte(OTHER, 6)
    prog.put(slot(TOP, 4), node_entry(OTHER))  # shift 6 where a child of the top needs 0
    with pytest.raises(XarrayCorruptError, match="shift 6 where 0 belongs"):
        entries(prog)
    with pytest.raises(XarrayCorruptError, match="shift 6"):
        xarray.xa_load(xa(prog), 4 * 64)


def test_a_node_in_two_slots_is_reported():
    prog = build()
    prog.put(slot(TOP, 4), node_entry(LEAF))
    with pytest.raises(XarrayCorruptError, match="twice"):
        entries(prog)


def test_a_node_pointer_in_a_leaf_is_reported():
    prog = build()
    prog.put(slot(LEAF, 9), node_entry(OTHER))
    with pytest.raises(XarrayCorruptError, match="leaf node"):
        entries(prog)
    with pytest.raises(XarrayCorruptError, match="leaf node"):
        xarray.xa_load(xa(prog), 9)


def test_an_unreadable_node_is_a_fault_error():
    prog = build()
    prog.put(slot(TOP, 5), node_entry(0xFFFF8880DEAD0000))
    with pytest.raises(FaultError):
        entries(prog)


def test_a_radix_tree_before_the_xarray_is_refused_by_name():
    prog = FakeProgram()
    old_root = struct_type("radix_tree_root", 16, [Member("gfp_mask", int_type("unsigned int", 4, False)),
                                                   Member("rnode", pointer_type(int_type("char", 1, True)), 64)])
    with pytest.raises(ObjectTypeError, match="before 4.20"):
        xarray.radix_tree_lookup(Object(prog, old_root, address=XA), 0)


# -- the corpus ------------------------------------------------------------------------
CASES = vmlinux_cases()


def ps_pids(case):
    """Every PID crash's ps lists, the idle tasks' 0 left out (no struct pid in the idr)."""
    return {number for number, _ in ps_rows(case) if number}


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", [c for c in CASES if c.reference("ps")], ids=case_ids)
def test_the_pid_idr_holds_every_pid_ps_shows_each_under_its_number(case, with_vmlinux):
    import drgn
    from drgn.helpers.linux.xarray import xa_for_each

    prog = pycore_program(case, with_vmlinux)
    idr = Object(prog, "struct pid_namespace", address=prog.symbols.by_name("init_pid_ns").address).idr
    ours = [(index, int(entry)) for index, entry in xarray.xa_for_each(idr.idr_rt)]
    assert ps_pids(case) <= {index for index, _ in ours}
    for index, entry in ours:
        assert int(Object(prog, "struct pid *", entry).numbers[0].nr) == index
        assert int(xarray.xa_load(idr.idr_rt, index)) == entry
    reference = drgn_program(case)
    theirs = [(i, e.value_()) for i, e in xa_for_each(drgn.Object(reference, "struct xarray *", idr.idr_rt.address_))]
    assert ours == theirs


def cached_files(prog):
    """The ``struct address_space *`` of every inode with pages in the page cache."""
    head = Object(prog, "struct list_head", address=prog.symbols.by_name("super_blocks").address)
    for sb in list_for_each_entry("struct super_block", head, "s_list"):
        for inode in list_for_each_entry("struct inode", sb.s_inodes.address_of_(), "i_sb_list"):
            mapping = inode.i_mapping
            if int(mapping) and int(mapping.nrpages):
                yield mapping


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_page_cache_entries_point_back_at_their_file_and_index(case):
    import drgn
    from drgn.helpers.linux.xarray import xa_for_each

    prog = pycore_program(case, False)
    reference = drgn_program(case)
    # The cache holds a folio's (5.16+) or a page's head; 7.x's struct page has no index of its own.
    cached = "struct page *" if prog.type("struct page").has_member("index") else "struct folio *"
    pages = 0
    for mapping in cached_files(prog):
        ours = list(xarray.xa_entries(mapping.i_pages))
        for index, entry in ours:
            if xarray.xa_is_value(entry):  # a shadow entry of an evicted page
                continue
            page = Object(prog, cached, entry)
            assert (int(page.mapping), int(page.index)) == (int(mapping), index)
            pages += 1
        theirs = [(i, e.value_()) for i, e in xa_for_each(drgn.Object(reference, "struct xarray *",
                                                                      mapping.i_pages.address_))]
        assert ours == theirs
    assert pages > 0
