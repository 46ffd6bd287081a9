"""The list walks drgn scripts use (pycore.object, pycore.helpers.linux.list/llist/list_nulls): in
reverse, validated, lock-free lists and nulls lists, on made-up memory (rings that break, chains
that loop) and on the corpus's task list; and every corrupt-structure error caught as drgn's
ValidationError."""
import pytest

from pycore import ValidationError
from pycore.errors import PycoreError
from pycore.helpers import ValidationError as HelpersValidationError
from pycore.helpers.linux import list as lists, list_nulls, llist
from pycore.kernel import cgroup, fs, kernfs, maple_tree, rbtree, sched, xarray
from pycore.object import ListCorruptError, Object

from drgn_oracle import case_ids, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram, addresses

HEAD = BASE + 0x40
NODES = addresses(4, 0x20)  # struct list_head at each


def ring(prog, nodes):
    """A list_head ring: HEAD, then ``nodes`` in order, next and prev both ways."""
    chain = [HEAD] + list(nodes) + [HEAD]
    for before, node, after in zip(chain, chain[1:], chain[2:]):
        prog.put(node, after, before)
    prog.put(HEAD, chain[1], chain[-2])


def walk(iterator):
    return [int(node) for node in iterator]


def test_a_ring_walks_backwards_as_the_forward_walk_reversed():
    prog = FakeProgram()
    ring(prog, NODES.values())
    head = Object(prog, "struct list_head *", HEAD)
    forward = walk(lists.list_for_each(head))
    assert forward == list(NODES.values())
    assert walk(lists.list_for_each_reverse(head)) == forward[::-1]
    assert walk(lists.list_for_each_entry_reverse("struct list_head", head, "prev")) == [n - 8 for n in forward[::-1]]
    assert walk(lists.validate_list_for_each(head)) == forward and lists.validate_list_count_nodes(head) == 4
    lists.validate_list(head)


def test_an_empty_ring_is_valid_and_empty_both_ways():
    prog = FakeProgram()
    prog.put(HEAD, HEAD, HEAD)
    head = Object(prog, "struct list_head", address=HEAD)
    assert lists.list_empty(head) and walk(lists.list_for_each_reverse(head)) == []
    assert walk(lists.validate_list_for_each_entry("struct list_head", head, "next")) == []


def test_a_prev_that_does_not_lead_back_is_named():
    prog = FakeProgram()
    ring(prog, NODES.values())
    prog.put(NODES[2] + 8, NODES[0])  # node 2's prev skips node 1
    head = Object(prog, "struct list_head *", HEAD)
    assert len(walk(lists.list_for_each(head))) == 4  # the forward walk alone does not notice
    with pytest.raises(ListCorruptError, match=f"prev of {NODES[2]:#x} is {NODES[0]:#x}, not {NODES[1]:#x}"):
        lists.validate_list(head)
    seen = []
    with pytest.raises(ValidationError):
        for node in lists.validate_list_for_each(head):
            seen.append(int(node))
    assert seen == [NODES[0], NODES[1]]


def test_a_head_whose_prev_is_not_the_last_entry_is_named():
    prog = FakeProgram()
    ring(prog, NODES.values())
    prog.put(HEAD + 8, NODES[1])
    with pytest.raises(ListCorruptError, match="the head's prev"):
        lists.validate_list(Object(prog, "struct list_head *", HEAD))


def test_a_backward_loop_raises_instead_of_walking_forever():
    prog = FakeProgram()
    ring(prog, NODES.values())
    prog.put(NODES[1] + 8, NODES[3])  # prev: 3 -> 2 -> 1 -> 3 ...
    with pytest.raises(ListCorruptError, match="loops"):
        walk(lists.list_for_each_reverse(Object(prog, "struct list_head *", HEAD)))


LLIST = BASE + 0x400


def test_an_llist_is_walked_to_its_null():
    prog = FakeProgram()
    head = Object(prog, "struct llist_head", address=LLIST)
    assert llist.llist_empty(head) and not llist.llist_is_singular(head)
    prog.put(LLIST, NODES[0])
    assert llist.llist_is_singular(head) and not llist.llist_empty(head)
    prog.put(NODES[0], NODES[1])
    prog.put(NODES[1], NODES[2])
    assert not llist.llist_is_singular(head)
    assert walk(llist.llist_for_each(head.first)) == [NODES[0], NODES[1], NODES[2]]
    assert walk(llist.llist_for_each_entry("struct llist_node", head.first, "next")) == [NODES[0], NODES[1], NODES[2]]
    assert int(llist.llist_first_entry(head, "struct llist_node", "next")) == NODES[0]


def test_an_llist_that_loops_raises():
    prog = FakeProgram()
    prog.put(NODES[0], NODES[1])
    prog.put(NODES[1], NODES[2])
    prog.put(NODES[2], NODES[1])
    with pytest.raises(ListCorruptError, match=f"llist from {NODES[0]:#x} loops"):
        walk(llist.llist_for_each(Object(prog, "struct llist_node *", NODES[0])))


def test_a_nulls_list_ends_at_its_marker():
    prog = FakeProgram()
    head = Object(prog, "struct hlist_nulls_head", address=LLIST)
    marker = 7 << 1 | 1
    prog.put(LLIST, marker)
    assert list_nulls.hlist_nulls_empty(head) and list_nulls.is_a_nulls(marker)
    prog.put(LLIST, NODES[0])
    prog.put(NODES[0], NODES[1], LLIST)
    prog.put(NODES[1], marker, NODES[0])
    assert not list_nulls.hlist_nulls_empty(head)
    assert walk(list_nulls.hlist_nulls_for_each_entry("struct hlist_nulls_node", head, "next")) == [NODES[0], NODES[1]]
    prog.put(NODES[1], NODES[0], NODES[0])
    with pytest.raises(ValidationError, match="hlist_nulls at .* loops"):
        walk(list_nulls.hlist_nulls_for_each_entry("struct hlist_nulls_node", head, "next"))


@pytest.mark.parametrize("error", [ListCorruptError, rbtree.RbtreeCorruptError, xarray.XarrayCorruptError,
                                   cgroup.CgroupCorruptError, maple_tree.MapleTreeCorruptError,
                                   kernfs.KernfsCorruptError, fs.PathLoopError])
def test_each_corrupt_structure_error_is_caught_as_validation_error(error):
    assert HelpersValidationError is ValidationError and issubclass(ValidationError, PycoreError)
    with pytest.raises(ValidationError) as caught:
        raise error("damaged")
    assert type(caught.value) is error


def test_a_looping_rbtree_is_caught_as_validation_error():
    prog = FakeProgram()
    root, node = BASE + 0x200, BASE + 0x300
    prog.put(root, node)
    prog.put(node, 1, 0, node)  # black root whose left child is itself
    with pytest.raises(ValidationError, match="twice"):
        list(rbtree.rbtree_inorder_addresses(Object(prog, "struct rb_root *", root)))


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", vmlinux_cases(), ids=case_ids)
def test_the_task_list_reversed_is_the_forward_walk_reversed(case, with_vmlinux):
    prog = pycore_program(case, with_vmlinux)
    head = sched.init_task(prog).tasks.address_of_()
    forward = walk(lists.list_for_each_entry("struct task_struct", head, "tasks"))
    assert len(forward) > 10
    assert walk(lists.list_for_each_entry_reverse("struct task_struct", head, "tasks")) == forward[::-1]
    assert walk(lists.validate_list_for_each_entry("struct task_struct", head, "tasks")) == forward
    assert forward == [int(t) for t in sched.for_each_process(prog)][1:]  # init_task is the head, no entry
