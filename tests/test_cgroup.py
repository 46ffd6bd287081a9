"""cgroup and kernfs walks (pycore.kernel.cgroup, kernfs): a made-up css tree walked pre-order
with a released position and a loop, the corpus's sysfs directories and cgroups named as
drgn 0.3.0 names them (the corpus's guests run no cgroup manager: the root cgroup only)."""
import pytest

from pycore.kernel import cgroup, kernfs
from pycore.kernel.cgroup import CSS_RELEASED, CgroupCorruptError
from pycore.object import ListCorruptError, Object, container_of

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram

# css number -> parent number; children in creation order.
TREE = {1: None, 2: 1, 3: 2, 4: 2, 5: 1, 6: 5}


def css(number: int) -> int:
    return BASE + 0x100 * number


def build(tree=TREE) -> FakeProgram:
    prog = FakeProgram()
    children = {n: [c for c, p in tree.items() if p == n] for n in tree}
    for number, parent in tree.items():
        kids = children[number]
        head = css(number) + 16
        # children: a ring from the head through each child's sibling
        prog.put(head, css(kids[0]) if kids else head, css(kids[-1]) if kids else head)
        prog.put(css(number) + 32, css(parent) if parent else 0)
        prog.put(css(number) + 48, 0, number)  # flags, serial_nr
        if parent:
            siblings = children[parent]
            i = siblings.index(number)
            after = css(siblings[i + 1]) if i + 1 < len(siblings) else css(parent) + 16
            before = css(siblings[i - 1]) if i else css(parent) + 16
            prog.put(css(number), after, before)
    return prog


def pointer(prog, number: int) -> Object:
    return Object(prog, "struct cgroup_subsys_state *", css(number))


def test_descendants_come_pre_order_by_both_walks():
    prog = build()
    walked = [int(c) for c in cgroup.css_for_each_descendant_pre(pointer(prog, 1))]
    assert walked == [css(n) for n in (1, 2, 3, 4, 5, 6)]
    stepped, pos = [], Object(prog, "struct cgroup_subsys_state *", 0)
    while True:
        pos = cgroup.css_next_descendant_pre(pos, pointer(prog, 1))
        if not int(pos):
            break
        stepped.append(int(pos))
    assert stepped == walked
    assert [int(c) for c in cgroup.css_for_each_child(pointer(prog, 2))] == [css(3), css(4)]


def test_a_released_position_continues_at_the_next_serial_number():
    prog = build()
    prog.put(css(3) + 48, CSS_RELEASED, 3)  # 3 is off its parent's list but still the position
    prog.put(css(2) + 16, css(4), css(4))
    prog.put(css(4), css(2) + 16, css(2) + 16)
    assert int(cgroup.css_next_child(pointer(prog, 3), pointer(prog, 2))) == css(4)


def test_a_child_that_is_an_ancestor_is_reported():
    prog = build()
    prog.put(css(6) + 16, css(1), css(1))  # 6's children list holds the root
    prog.put(css(1), css(6) + 16, css(6) + 16)
    with pytest.raises(CgroupCorruptError, match=f"reaches css {css(1):#x} twice"):
        list(cgroup.css_for_each_descendant_pre(pointer(prog, 1)))


def test_a_children_list_that_never_returns_is_a_list_error():
    prog = build()
    prog.put(css(4), css(3), css(3))  # 4's sibling.next goes back to 3: 3, 4, 3, ...
    with pytest.raises(ListCorruptError, match="loops"):
        list(cgroup.css_for_each_child(pointer(prog, 2)))


CASES = vmlinux_cases()


def sysfs_root(prog) -> Object:
    return Object(prog, "struct kernfs_node *", address=prog.symbols.by_name("sysfs_root_kn").address).read_()


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_sysfs_directories_are_named_and_found_as_drgn_does(case, with_vmlinux):
    from drgn.helpers.linux import kernfs as drgn_kernfs

    prog, reference = pycore_program(case, with_vmlinux), drgn_program(case)
    cpu = kernfs.kernfs_walk(sysfs_root(prog), "devices/system/cpu")
    assert kernfs.kernfs_path(cpu) == b"/devices/system/cpu" and kernfs.kernfs_name(cpu) == b"cpu"
    theirs = drgn_kernfs.kernfs_walk(reference["sysfs_root_kn"], "devices/system/cpu")
    assert int(cpu) == theirs.value_()
    ours = [(int(kn), kernfs.kernfs_path(kn)) for kn in kernfs.kernfs_children(cpu)]
    assert ours == [(kn.value_(), drgn_kernfs.kernfs_path(kn)) for kn in drgn_kernfs.kernfs_children(theirs)]
    assert b"/devices/system/cpu/online" in {path for _, path in ours}
    assert int(kernfs.kernfs_walk(sysfs_root(prog), "devices/system/cpu/no-such")) == 0
    assert kernfs.kernfs_name(sysfs_root(prog)) == b"/" == kernfs.kernfs_path(sysfs_root(prog))


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_every_task_is_in_a_cgroup_drgn_names_alike(case):
    import drgn
    from drgn.helpers.linux import cgroup as drgn_cgroup

    prog, reference = pycore_program(case, False), drgn_program(case)
    root = Object(prog, "struct cgroup_root", address=prog.symbols.by_name("cgrp_dfl_root").address)
    walked = [int(c) for c in cgroup.css_for_each_descendant_pre(root.cgrp.self.address_of_())]
    theirs = drgn_cgroup.css_for_each_descendant_pre(reference["cgrp_dfl_root"].cgrp.self.address_of_())
    assert walked == [c.value_() for c in theirs]
    for address in walked:
        cgrp = container_of(Object(prog, "struct cgroup_subsys_state *", address), "struct cgroup", "self")
        path = cgroup.cgroup_path(cgrp)
        assert path == drgn_cgroup.cgroup_path(drgn.Object(reference, "struct cgroup *", int(cgrp)))
        assert int(cgroup.cgroup_get_from_path(prog, path)) == int(cgrp)
    assert cgroup.cgroup_name(root.cgrp.address_of_()) == b"/"
    assert int(cgroup.cgroup_parent(root.cgrp.address_of_())) == 0
