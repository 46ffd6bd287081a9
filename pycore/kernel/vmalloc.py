"""vmalloc's busy areas (mm/vmalloc.c): the ``struct vmap_area`` whose range holds an address, found
in the busy red-black tree as the kernel's find_vmap_area() finds it.

2.6.28-6.8 keep one tree, ``vmap_area_root``; 6.9+ split it over ``vmap_nodes[nr_vmap_nodes]``,
each ``vmap_node.busy.root``.  ``va->vm`` (the ``struct vm_struct``) shares a union with
``subtree_max_size`` from 5.4, which is only used for free areas.
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional

from ..object import Object
from .rbtree import rb_find
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


def find_vmap_area(prog: "Program", address: int) -> Optional[VmapArea]:
    """The busy vmalloc area holding ``address``, or None (the kernel's find_vmap_area())."""
    area_type = prog.type("struct vmap_area")

    def compare(key: int, area: Object) -> int:
        return -1 if key < int(area.va_start) else 1 if key >= int(area.va_end) else 0

    for root in _busy_roots(prog):
        area = rb_find(area_type, root, "rb_node", address, compare)
        if int(area):
            return VmapArea(int(area), int(area.vm), int(area.va_start), int(area.va_end))
    return None
