"""Red-black tree walks (pycore.kernel.rbtree): in order on made-up trees and on the corpus's real
ones (hrtimer queues, CFS runqueues, vmap areas, 5.10's VMA trees) against drgn 0.3.0; loops and
broken trees end in RbtreeCorruptError naming the root, never an endless walk."""
import pytest

from pycore.errors import FaultError, PycoreError
from pycore.kernel import rbtree
from pycore.kernel.rbtree import RbtreeCorruptError
from pycore.kernel.sched import cpu_rq, nr_cpus
from pycore.object import Object, per_cpu

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram

ROOT = BASE + 0x40
RED, BLACK = 0, 1
# key -> (left key, right key, colour): 4 at the top, a valid red-black tree of 1..7.
SHAPE = {4: (2, 6, BLACK), 2: (1, 3, BLACK), 6: (5, 7, BLACK),
         1: (None, None, RED), 3: (None, None, RED), 5: (None, None, RED), 7: (None, None, RED)}


def item(key: int) -> int:
    return BASE + 0x100 + 0x40 * key


def node(key: int) -> int:
    return item(key) + 8


def build(shape=SHAPE, top=4) -> FakeProgram:
    prog = FakeProgram()
    prog.put(ROOT, node(top))
    parents = {child: key for key, (left, right, _) in shape.items() for child in (left, right) if child}
    for key, (left, right, colour) in shape.items():
        parent = node(parents[key]) if key in parents else 0
        prog.put(item(key), key, parent | colour, node(right) if right else 0, node(left) if left else 0)
    return prog


def root(prog) -> Object:
    return Object(prog, "struct rb_root *", ROOT)


def keys(prog) -> list:
    return [int(entry.key) for entry in rbtree.rbtree_inorder_for_each_entry("struct item", root(prog), "node")]


def by_key(key, entry) -> int:
    return key - int(entry.key)


def test_inorder_walk_and_rb_next_give_the_keys_in_order():
    prog = build()
    assert keys(prog) == [1, 2, 3, 4, 5, 6, 7]
    forward, n = [], rbtree.rb_first(root(prog))
    while n:
        forward.append(int(n))
        n = rbtree.rb_next(n)
    backward, n = [], rbtree.rb_last(root(prog))
    while n:
        backward.append(int(n))
        n = rbtree.rb_prev(n)
    assert forward == [node(k) for k in range(1, 8)] == backward[::-1]
    assert int(rbtree.rb_parent(Object(prog, "struct rb_node *", node(3)))) == node(2)
    assert int(rbtree.rb_parent(Object(prog, "struct rb_node *", node(4)))) == 0
    assert not rbtree.RB_EMPTY_ROOT(root(prog))


def test_rb_find_and_validate_on_a_good_tree():
    prog = build()
    assert int(rbtree.rb_find("struct item", root(prog), "node", 5, by_key)) == item(5)
    assert int(rbtree.rb_find("struct item", root(prog), "node", 8, by_key)) == 0
    rbtree.validate_rbtree("struct item", root(prog), "node", lambda a, b: int(a.key) - int(b.key), False)


def test_a_cached_root_and_an_empty_tree():
    prog = build()
    prog.put(ROOT + 0x10, node(4), node(1))  # struct rb_root_cached: rb_root, rb_leftmost
    cached = Object(prog, "struct rb_root_cached", address=ROOT + 0x10)
    assert int(rbtree.rb_first(cached)) == node(1)
    prog.put(ROOT, 0)
    assert rbtree.RB_EMPTY_ROOT(root(prog)) and keys(prog) == [] and int(rbtree.rb_first(root(prog))) == 0


def test_a_detached_node_is_empty_and_has_no_next():
    prog = build()
    prog.put(node(7), node(7))  # RB_CLEAR_NODE: the parent pointer points at the node itself
    detached = Object(prog, "struct rb_node *", node(7))
    assert rbtree.RB_EMPTY_NODE(detached) and int(rbtree.rb_next(detached)) == 0


def test_a_left_pointer_back_to_an_ancestor_is_reported_as_a_loop():
    prog = build()
    prog.put(node(1) + 16, node(4))  # 1's rb_left -> the root
    with pytest.raises(RbtreeCorruptError) as error:
        keys(prog)
    assert f"{ROOT:#x}" in str(error.value) and f"{node(4):#x} twice" in str(error.value)
    with pytest.raises(RbtreeCorruptError, match="deeper than 128"):
        rbtree.rb_first(root(prog))


def test_a_right_pointer_back_to_the_root_is_reported_not_walked_forever():
    prog = build()
    prog.put(node(7) + 8, node(4))  # 7's rb_right -> the root: in order, 1..7 then 1..7 again
    with pytest.raises(RbtreeCorruptError, match="twice"):
        keys(prog)


def test_a_left_pointer_loop_ends_rb_next():
    prog = build()
    prog.put(node(5) + 16, node(5))  # 5's rb_left is 5: rb_next(4) descends forever
    with pytest.raises(RbtreeCorruptError, match="deeper than 128"):
        rbtree.rb_next(Object(prog, "struct rb_node *", node(4)))


def test_an_unreadable_child_is_a_fault_error_naming_the_address():
    prog = build()
    prog.put(node(5) + 8, 0xFFFF8880DEAD0000)
    with pytest.raises(FaultError) as error:
        keys(prog)
    assert 0xFFFF8880DEAD0000 <= error.value.address < 0xFFFF8880DEAD0000 + 24  # a field of the node


@pytest.mark.parametrize("damage, message", [
    ((node(5), node(2) | RED), "names parent"),            # a child that does not name its parent
    ((node(2), node(4) | RED), "red parent"),              # 2 red over red 1 and 3
    ((node(7), node(6) | BLACK), "black nodes"),           # one path one black node longer
], ids=["parent", "red-red", "black-depth"])
def test_validate_names_the_broken_rule(damage, message):
    prog = build()
    prog.put(*damage)
    with pytest.raises(RbtreeCorruptError, match=message):
        rbtree.validate_rbtree("struct item", root(prog), "node")


def test_validate_finds_entries_out_of_order():
    prog = build()
    prog.put(item(5), 9)  # key 9 between 4 and 6
    with pytest.raises(RbtreeCorruptError, match="out of order"):
        rbtree.validate_rbtree("struct item", root(prog), "node", lambda a, b: int(a.key) - int(b.key))
    assert issubclass(RbtreeCorruptError, PycoreError)


# -- the corpus ------------------------------------------------------------------------
CASES = vmlinux_cases()


def variable(prog, name: str, type_name: str) -> Object:
    """A global by its symbol and a type named here: 5.10's BTF describes no variables."""
    return Object(prog, type_name, address=prog.symbols.by_name(name).address)


def real_trees(prog):
    """(name, rb_root, rb_root_cached or rb_root_linked Object, entry type, rb_node member) of the trees every
    kernel has: each CPU's hrtimer clock bases and CFS timeline, the vmap areas (before 6.9)."""
    trees = []
    bases = variable(prog, "hrtimer_bases", "struct hrtimer_cpu_base")
    for cpu in range(nr_cpus(prog)):
        for i, clock in enumerate(per_cpu(bases, cpu).clock_base):
            active = clock.active
            # 7.x queues hrtimers on an rb_root_linked of timerqueue_linked_nodes (rb_node_linked)
            linked = active.type_.type_name() == "struct timerqueue_linked_head"
            trees.append((f"hrtimer cpu{cpu} base{i}", active.rb_root,
                          "struct timerqueue_linked_node" if linked else "struct timerqueue_node",
                          "node.node" if linked else "node"))
        trees.append((f"cfs cpu{cpu}", cpu_rq(prog, cpu).cfs.tasks_timeline, "struct sched_entity", "run_node"))
    if "vmap_area_root" in prog.symbols:
        vmap_areas = variable(prog, "vmap_area_root", "struct rb_root")
        trees.append(("vmap_area_root", vmap_areas, "struct vmap_area", "rb_node"))
    return trees


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_real_trees_walk_as_drgn_walks_them(case, with_vmlinux):
    import drgn
    from drgn.helpers.linux.rbtree import rbtree_inorder_for_each

    reference = drgn_program(case)
    prog = pycore_program(case, with_vmlinux)
    walked = 0
    for name, tree, entry_type, member in real_trees(prog):
        ours = list(rbtree.rbtree_inorder_addresses(tree))
        theirs = [n.value_() for n in rbtree_inorder_for_each(drgn.Object(reference, "struct rb_root *",
                                                                            tree.address_))]
        assert ours == theirs, name
        assert int(rbtree.rb_first(tree)) == (ours[0] if ours else 0), name
        assert int(rbtree.rb_last(tree)) == (ours[-1] if ours else 0), name
        rbtree.validate_rbtree(entry_type, tree, member)
        walked += len(ours)
    assert walked > 0


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_hrtimers_are_queued_in_expiry_order_with_the_cached_leftmost_first(case):
    prog = pycore_program(case, False)
    timers = 0
    for name, tree, entry_type, member in real_trees(prog):
        if not name.startswith("hrtimer"):
            continue
        rbtree.validate_rbtree(entry_type, tree, member,
                               lambda a, b: (int(a.expires) > int(b.expires)) - (int(a.expires) < int(b.expires)))
        assert int(tree.rb_leftmost) == int(rbtree.rb_first(tree)), name
        timers += sum(1 for _ in rbtree.rbtree_inorder_addresses(tree))
    assert timers > 0
