"""vmalloc's busy areas (mm/vmalloc.c): each ``struct vmap_area`` of the busy red-black tree, and the
one whose range holds an address, found as the kernel's find_vmap_area() finds it.

2.6.28-6.8 keep one tree, ``vmap_area_root``; 6.9+ split it over ``vmap_nodes[nr_vmap_nodes]``,
each ``vmap_node.busy.root``.  ``va->vm`` (the ``struct vm_struct``) shares a union with
``subtree_max_size`` from 5.4, which is only used for free areas.
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional

from ..object import Object
from .rbtree import rb_find, rbtree_inorder_for_each_entry
from .variables import kernel_variable, symbol_address

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program


@dataclass
class VmapArea:
    """A busy vmalloc area: the ``struct vmap_area``, its ``struct vm_struct`` (0 for vm_map_ram
    areas) and its range ``[start, end)``, guard page included."""

    address: int
    vm: int
    start: int
    end: int


def _busy_roots(prog: "Program") -> Iterator[Object]:
    """The busy tree's ``struct rb_root``: ``vmap_area_root`` (up to 6.8) or each
    ``vmap_nodes[i].busy.root`` (6.9+); none when the kernel has neither symbol."""
    root_type = prog.type("struct rb_root")
    address = symbol_address(prog, "vmap_area_root")
    if address is not None:
        yield Object(prog, root_type, address=address)
        return
    nodes = symbol_address(prog, "vmap_nodes")
    if nodes is None:
        return
    node_type = prog.type("struct vmap_node")
    first = kernel_variable(prog, "vmap_nodes")
    count = kernel_variable(prog, "nr_vmap_nodes", 4)
    for index in range(count):
        yield Object(prog, node_type, address=first + index * node_type.size).busy.root


def _area(area: Object) -> VmapArea:
    return VmapArea(int(area), int(area.vm), int(area.va_start), int(area.va_end))


def for_each_vmap_area(prog: "Program") -> Iterator[VmapArea]:
    """Each busy vmalloc area, tree by tree and in address order within a tree (6.9+ spreads the
    areas over ``nr_vmap_nodes`` trees, so sort when the whole order matters).  vm_map_ram areas
    (``vm`` 0) are included: crash's vmlist is the areas with a ``vm``."""
    area_type = prog.type("struct vmap_area")
    for root in _busy_roots(prog):
        for area in rbtree_inorder_for_each_entry(area_type, root, "rb_node"):
            yield _area(area)


def find_vmap_area(prog: "Program", address: int) -> Optional[VmapArea]:
    """The busy vmalloc area holding ``address``, or None (the kernel's find_vmap_area())."""
    area_type = prog.type("struct vmap_area")

    def compare(key: int, area: Object) -> int:
        return -1 if key < int(area.va_start) else 1 if key >= int(area.va_end) else 0

    for root in _busy_roots(prog):
        area = rb_find(area_type, root, "rb_node", address, compare)
        if int(area):
            return _area(area)
    return None
