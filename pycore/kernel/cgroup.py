"""Control groups (kernel/cgroup, 4.x+ with the unified ``cgroup_subsys_state`` tree): a cgroup's
parent, name and path (its kernfs node), and the pre-order walks of a css and its descendants.
"""
from typing import TYPE_CHECKING, Iterator, List, Set, Union

from ..errors import ValidationError
from ..object import Object, container_of, list_for_each_entry
from .kernfs import kernfs_name, kernfs_path, kernfs_walk

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# The css flags (include/linux/cgroup-defs.h, an anonymous enum since 3.15): CSS_RELEASED is set
# once a css is off its parent's children list.
CSS_RELEASED = 1 << 2
# No kernel holds more than a million cgroups: a walk past that is lost in damaged memory.
MAX_CGROUPS = 1 << 20


class CgroupCorruptError(ValidationError):
    """A cgroup tree leads back into itself; names the css where the walk started."""


def cgroup_parent(cgrp: Object) -> Object:
    """The parent ``struct cgroup *`` of ``cgrp``; NULL for a hierarchy's root."""
    parent = cgrp.self.parent
    if int(parent):
        return container_of(parent, "struct cgroup", "self")
    return Object(cgrp.prog_, "struct cgroup *", 0)


def cgroup_name(cgrp: Object) -> bytes:
    """The last component of ``cgrp``'s path (``/`` for a root)."""
    return kernfs_name(cgrp.kn)


def cgroup_path(cgrp: Object) -> bytes:
    """``cgrp``'s path in its hierarchy, as /proc/PID/cgroup shows it (``/user.slice``)."""
    return kernfs_path(cgrp.kn)


def cgroup_get_from_path(prog: "Program", path: Union[str, bytes]) -> Object:
    """The ``struct cgroup *`` at ``path`` in the default (v2) hierarchy; NULL if there is none."""
    root = Object(prog, "struct cgroup_root", address=prog.symbols.by_name("cgrp_dfl_root").address)
    node = kernfs_walk(root.cgrp.kn, path)
    if not int(node):
        return Object(prog, "struct cgroup *", 0)
    return Object(prog, "struct cgroup *", int(node.priv))


def css_next_child(pos: Object, parent: Object) -> Object:
    """The child of ``parent`` (``struct cgroup_subsys_state *``) after ``pos`` (NULL: the
    first); NULL after the last.  A released ``pos`` is off the list: the next is the first
    child with a larger ``serial_nr``, as the kernel's css_next_child finds it."""
    prog = parent.prog_
    null = Object(prog, "struct cgroup_subsys_state *", 0)
    head = parent.children.address_of_()
    if not int(pos):
        following = int(parent.children.next)
    elif not int(pos.flags) & CSS_RELEASED:
        following = int(pos.sibling.next)
    else:
        serial = int(pos.serial_nr)
        for css in list_for_each_entry("struct cgroup_subsys_state", head, "sibling"):
            if int(css.serial_nr) > serial:
                return css
        return null
    if following == int(head):
        return null
    return container_of(Object(prog, "struct list_head *", following), "struct cgroup_subsys_state", "sibling")


def css_next_descendant_pre(pos: Object, root: Object) -> Object:
    """The css after ``pos`` in a pre-order walk of ``root``'s subtree (``pos`` NULL: ``root``
    itself); NULL at the end."""
    if not int(pos):
        return root
    null = Object(root.prog_, "struct cgroup_subsys_state *", 0)
    child = css_next_child(null, pos)
    if int(child):
        return child
    for _ in range(MAX_CGROUPS):
        if int(pos) == int(root):
            return null
        following = css_next_child(pos, pos.parent)
        if int(following):
            return following
        pos = pos.parent
    return null


def css_for_each_child(css: Object) -> Iterator[Object]:
    """Each child ``struct cgroup_subsys_state *`` of ``css`` (offline ones too), oldest first;
    a children list that loops raises ListCorruptError."""
    return list_for_each_entry("struct cgroup_subsys_state", css.children.address_of_(), "sibling")


def css_for_each_descendant_pre(css: Object) -> Iterator[Object]:
    """``css`` and then each of its descendants (offline ones too), pre-order: a parent before its
    children, siblings oldest first.  A css met twice (a child list leading back up the tree)
    raises :class:`CgroupCorruptError`; a children list that loops, ListCorruptError."""
    seen: Set[int] = {int(css)}
    yield css
    stack: List[Iterator[Object]] = [css_for_each_child(css)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if int(child) in seen or len(seen) > MAX_CGROUPS:
            raise CgroupCorruptError(f"cgroup tree below css {int(css):#x} reaches css {int(child):#x} twice")
        seen.add(int(child))
        yield child
        stack.append(css_for_each_child(child))


__all__ = ["cgroup_parent", "cgroup_name", "cgroup_path", "cgroup_get_from_path", "css_next_child",
           "css_next_descendant_pre", "css_for_each_child", "css_for_each_descendant_pre", "CgroupCorruptError",
           "CSS_RELEASED"]
