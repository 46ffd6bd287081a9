"""Typed objects on synthetic memory: members, bit fields, enums, unions, arrays, pointers, lists."""
import struct

import pytest

import pycore
from pycore.errors import (FaultError, FormatError, MissingDebugInfoError, MissingMemberError, ObjectTypeError,
                           PycoreError)
from pycore.kernel.mm import mm_rss_pages
from pycore.object import (ListCorruptError, Object, cast, container_of, hlist_for_each_entry, list_empty,
                           list_for_each_entry)
from pycore.symbols.table import SymbolTable
from pycore.types.model import (Member, TypeIndexBase, array_type, enum_type, int_type, pointer_type,
                                struct_type, typedef_type, union_type)

from conftest import synthetic, write

PAGE = synthetic.PAGE_SIZE
HEAD_PFN, NODES_PFN, TASK_PFN = 0x390, 0x391, 0x392


class DictIndex(TypeIndexBase):
    source = "test types"

    def __init__(self, types, variables):
        self.types, self.variables = types, variables

    def _lookup(self, namespace, name):
        return self.types.get((namespace, name))

    def variable_type(self, name):
        return self.variables.get(name)


def make_types():
    int_t = int_type("int", 4, True)
    uint_t = int_type("unsigned int", 4, False)
    u64 = typedef_type("u64", int_type("unsigned long long", 8, False))
    u32 = typedef_type("u32", uint_t)
    char = int_type("char", 1, True)
    list_head = struct_type("list_head", 16, lambda: [
        Member("next", pointer_type(list_head)), Member("prev", pointer_type(list_head), 64)])
    hlist_node = struct_type("hlist_node", 16, lambda: [
        Member("next", pointer_type(hlist_node)), Member("pprev", pointer_type(pointer_type(hlist_node)), 64)])
    hlist_head = struct_type("hlist_head", 8, [Member("first", pointer_type(hlist_node))])
    node = struct_type("node", 48, [
        Member("list", list_head, 0), Member("value", int_t, 128),
        Member("flags", uint_t, 160, 3), Member("signed_bits", int_t, 163, 5),
        Member("name", array_type(char, 8), 192), Member("hash", hlist_node, 256)])
    state = enum_type("state", 4, False, [("RUNNING", 0), ("SLEEPING", 1), ("DEAD", 16)])
    anon = union_type(None, 8, [Member("a", u64), Member("b", array_type(u32, 2))])
    task = struct_type("task", 48, [
        Member("comm", array_type(char, 16), 0), Member("pid", int_t, 128), Member("st", state, 160),
        Member(None, anon, 192), Member("first", pointer_type(node), 256), Member("buckets", hlist_head, 320)])
    types = {("struct", "list_head"): list_head, ("struct", "node"): node, ("struct", "task"): task,
             ("enum", "state"): state, ("", "int"): int_t, ("", "u64"): u64, ("", "char"): char,
             ("struct", "hlist_node"): hlist_node}
    return DictIndex(types, {"the_task": task, "the_list": list_head})


@pytest.fixture(scope="module")
def memory(tmp_path_factory):
    machine = synthetic.make_machine(seed=9)
    tables = synthetic.add_page_tables(machine, levels=4)
    page_offset = tables.mappings[0][0]
    va = lambda pfn, offset=0: page_offset + pfn * PAGE + offset  # noqa: E731
    head = va(HEAD_PFN)
    nodes = [va(NODES_PFN, 64 * i) for i in range(3)]
    pages = {pfn: bytearray(PAGE) for pfn in (HEAD_PFN, NODES_PFN, TASK_PFN)}
    struct.pack_into("<QQ", pages[HEAD_PFN], 0, nodes[0], nodes[2])
    for i, address in enumerate(nodes):
        nxt = nodes[i + 1] if i < 2 else head
        prv = nodes[i - 1] if i else head
        flags_byte = (i + 5) & 0x7 | ((-3 - i) & 0x1F) << 3
        hash_next = nodes[i + 1] + 32 if i < 2 else 0
        struct.pack_into("<QQiB3x8sQQ", pages[NODES_PFN], 64 * i, nxt, prv, 100 + i, flags_byte,
                         f"node{i}".encode(), hash_next, 0)
    struct.pack_into("<16siI8sQQ", pages[TASK_PFN], 0, b"kworker/0:1\0junk", 4242, 16,
                     struct.pack("<Q", 0x1122334455667788), nodes[0], nodes[0] + 32)
    for pfn, data in pages.items():
        machine.pages[pfn] = bytes(data)
        machine.excluded.discard(pfn)
    path = write(tmp_path_factory.mktemp("objects"), "objects.vmcore", synthetic.build_kdump(machine, "zlib")[0])
    return path, head, nodes, va(TASK_PFN)


@pytest.fixture
def prog(memory, native_path):
    path, head, nodes, task = memory
    program = pycore.open(path, native=native_path)
    program.types = make_types()
    program.symbols = SymbolTable("test symbols", ["the_list", "the_task"], [head, task], [16, 48], ["D", "D"])
    yield program
    program.close()


def test_global_variables_come_from_symbols_and_types(prog, memory):
    _, head, _, task = memory
    assert prog["the_task"].address_ == task
    assert prog["the_task"].type_.type_name() == "struct task"
    assert prog["the_list"].address_ == head


def test_char_array_string_and_int_members(prog):
    task = prog["the_task"]
    assert task.comm.string_() == b"kworker/0:1"
    assert task.pid.value_() == 4242 and int(task.pid) == 4242
    assert task.comm.type_.type_name() == "char [16]"


def test_enum_member_reads_its_value(prog):
    assert prog["the_task"].st.value_() == 16


def test_anonymous_union_members_are_reachable(prog):
    task = prog["the_task"]
    assert task.a.value_() == 0x1122334455667788
    assert task.b[0].value_() == 0x55667788 and task.b[1].value_() == 0x11223344
    assert task.a.type_.type_name() == "u64"


def test_bit_fields_unsigned_and_signed(prog, memory):
    _, _, nodes, _ = memory
    node = Object(prog, "struct node", address=nodes[1])
    assert node.flags.value_() == 6
    assert node.signed_bits.value_() == -4
    snapshot = node.read_()
    assert snapshot.flags.value_() == 6 and snapshot.signed_bits.value_() == -4


def test_pointer_members_follow_and_index(prog, memory):
    _, _, nodes, _ = memory
    first = prog["the_task"].first
    assert first.value_() == nodes[0]
    assert first.value.value_() == 100           # ptr->value
    assert first[0].name.string_() == b"node0"   # ptr[0].name
    assert first.dereference_().address_ == nodes[0]
    assert first[1].address_ == nodes[0] + 48


def test_list_for_each_entry_walks_the_kernel_list(prog):
    values = [n.value.value_() for n in list_for_each_entry("struct node", prog["the_list"].address_of_(), "list")]
    assert values == [100, 101, 102]
    assert not list_empty(prog["the_list"])


def test_hlist_for_each_entry(prog):
    names = [n.name.string_() for n in hlist_for_each_entry("struct node", prog["the_task"].buckets, "hash")]
    assert names == [b"node0", b"node1", b"node2"]


def test_container_of_and_address_of(prog, memory):
    _, _, nodes, _ = memory
    hash_ptr = Object(prog, "struct node", address=nodes[2]).hash.address_of_()
    assert container_of(hash_ptr, "struct node", "hash").value_() == nodes[2]


def test_value_of_a_struct_is_a_dict(prog):
    value = prog["the_task"].value_()
    assert value["pid"] == 4242 and value["st"] == 16 and value["a"] == 0x1122334455667788
    assert value["comm"][:3] == [ord("k"), ord("w"), ord("o")]


def test_cast_truncates_and_sign_extends(prog):
    pid = prog["the_task"].pid
    assert cast("char", pid).value_() == 4242 % 256 - 256 if 4242 % 256 > 127 else 4242 % 256
    assert cast("u64", cast("int", Object(prog, "int", -1))).value_() == 2**64 - 1


def test_list_that_loops_is_reported_not_followed_forever(prog, memory):
    _, _, nodes, _ = memory
    # A head (a copy, at no address) whose ring never leads back to it.
    stray = Object(prog, "struct list_head", struct.pack("<QQ", nodes[1], nodes[0]))
    with pytest.raises(ListCorruptError) as error:
        list(list_for_each_entry("struct node", stray, "list"))
    assert "loops" in str(error.value)


def test_reading_an_unmapped_pointer_raises_fault_error_with_the_address(prog):
    bad = Object(prog, "struct node *", 0xFFFFC900DEAD0000)
    with pytest.raises(FaultError) as error:
        bad.value.value_()
    assert error.value.address == 0xFFFFC900DEAD0000 + 16


def test_unknown_global_type_says_what_is_missing(prog):
    # A data symbol no debug info types is its bytes (marked as guessed); asked not to guess, or a
    # text symbol with no prototype, it is the error naming what is missing.
    prog.symbols = SymbolTable("test symbols", ["_stext", "routine", "_etext", "mystery"],
                               [0xFFFFFFFF81000000, 0xFFFFFFFF81000100, 0xFFFFFFFF81001000, 0xFFFFFFFF82000000],
                               [None, 16, None, 8], ["T", "T", "T", "D"])
    assert prog["mystery"].type_origin_ == "guessed from symbol size"
    with pytest.raises(MissingDebugInfoError, match="mystery"):
        prog.object("mystery", guess=False)
    with pytest.raises(MissingDebugInfoError):
        prog["routine"]


def test_repr_is_readable(prog, memory):
    _, _, _, task = memory
    assert repr(prog["the_task"]) == f"Object(prog, 'struct task', address={task:#x})"
    assert repr(Object(prog, "int", 5)) == "Object(prog, 'int', value=5)"


def test_missing_member_names_type_and_member_and_is_an_attribute_error(prog):
    task = prog["the_task"]
    with pytest.raises(MissingMemberError) as error:
        task.rss_stat
    assert error.value.type_name == "struct task" and error.value.member == "rss_stat"
    assert "struct task" in str(error.value) and "'rss_stat'" in str(error.value)
    assert isinstance(error.value, PycoreError) and isinstance(error.value, MissingDebugInfoError)
    # Version branches written with getattr/hasattr or `except LookupError` keep working.
    assert getattr(task, "rss_stat", None) is None and not hasattr(task, "rss_stat") and hasattr(task, "pid")
    with pytest.raises(LookupError):
        task.member_("rss_stat")


def test_member_of_a_scalar_is_a_missing_member_naming_the_scalar_type(prog):
    with pytest.raises(MissingMemberError) as error:
        prog["the_task"].pid.count
    assert error.value.type_name == "int" and error.value.member == "count"
    assert "not a structure or union" in str(error.value)


def test_helper_on_an_altered_layout_raises_a_typed_error(prog):
    """Issue 10 finding 6: BTF whose mm_struct lost (or renamed) rss_stat made mm_rss_pages
    die with a bare AttributeError from Object.__getattr__."""
    altered = struct_type("mm_struct", 16, [Member("rss_stat_renamed", int_type("long", 8, True))])
    mm = Object(prog, pointer_type(altered), 0xFFFF888000390000)
    with pytest.raises(MissingMemberError) as error:
        mm_rss_pages(mm)
    assert (error.value.type_name, error.value.member) == ("struct mm_struct", "rss_stat")
    retyped = struct_type("mm_struct", 16, [Member("rss_stat", int_type("long", 8, True))])
    with pytest.raises(MissingMemberError) as error:
        mm_rss_pages(Object(prog, pointer_type(retyped), 0xFFFF888000390000))
    assert (error.value.type_name, error.value.member) == ("long", "count")


def test_iterating_a_char_array_yields_its_elements_and_ends(prog):
    comm = prog["the_task"].comm
    assert len(comm) == 16
    assert bytes(int(c) for c in comm)[:11] == b"kworker/0:1"
    assert [int(c) for c in comm.read_()] == [int(c) for c in comm]
    assert len(list(comm)) == 16


def test_pointers_and_flexible_arrays_have_no_length_and_are_not_iterable(prog):
    first = prog["the_task"].first
    flexible = Object(prog, array_type(int_type("char", 1, True), None), address=first.value_())
    for obj in (first, flexible, prog["the_task"]):
        with pytest.raises(ObjectTypeError):
            iter(obj)
        with pytest.raises(TypeError):
            len(obj)


def test_impossible_type_size_is_refused_before_reading(prog):
    huge = struct_type("huge", 1 << 40, [Member("x", int_type("int", 4, True))])
    with pytest.raises(FormatError) as error:
        Object(prog, huge, address=0xFFFF888000390000).value_()
    assert error.value.field == "size"
    long_array = Object(prog, array_type(int_type("char", 1, True), 1 << 40), address=0xFFFF888000390000)
    with pytest.raises(FormatError) as error:
        len(long_array)
    assert error.value.field == "length"


@pytest.mark.real
def test_init_task_comm_iterates_to_its_length_on_a_real_dump():
    """Issue 10: ``for c in prog["init_task"].comm`` never ended (no __iter__, and Python's
    fallback indexed past the array forever)."""
    from corpus import cases
    dumps = [(case, dump) for case in cases() for dump in case.dumps() if dump["format"] == "kdump"]
    if not dumps:
        pytest.skip("no real dumps: run testdata/corpus/build.sh")
    case, dump = dumps[0]
    with pycore.open(case.path(dump["name"])) as prog:
        comm = prog["init_task"].comm
        chars = [int(c) for c in comm]
        assert len(chars) == len(comm) == 16
        assert bytes(chars).split(b"\0")[0] == comm.string_() == b"swapper/0"
