"""Red-black trees (lib/rbtree.c): ``struct rb_root``, ``rb_root_cached`` (3.12+) and 7.x's
``rb_root_linked``, walked in order as the kernel's rb_first/rb_next do.  The node layout
(``__rb_parent_color``, ``rb_right``, ``rb_left``; colour in the parent pointer's low bit) is the
same from 2.6.18 to 7.2.
"""
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional, Set, Tuple, TypeVar

from ..errors import ValidationError
from ..object import Object, TypeArg, container_of
from ..types.model import TypeKind, pointer_type

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# A red-black tree of n nodes is at most 2*log2(n+1) deep; no machine holds 2**64 nodes, so a
# deeper path is a loop in a damaged tree, not a tall tree.
MAX_HEIGHT = 128
# Walks stop here even when no node repeats (a damaged tree that wanders through memory).
MAX_NODES = 1 << 24
_RB_BLACK = 1
K = TypeVar("K")


class RbtreeCorruptError(ValidationError):
    """A red-black tree is not a tree: a node repeats, a path is deeper than any real tree, a
    parent pointer does not lead back, or a colour rule is broken; names the tree's root."""


class _Layout:
    """Offsets in ``struct rb_node``, looked up once per walk."""

    __slots__ = ("parent_color", "right", "left", "node_pointer")

    def __init__(self, prog: "Program"):
        node_type = prog.type("struct rb_node")
        self.parent_color = node_type.offsetof("__rb_parent_color")
        self.right = node_type.offsetof("rb_right")
        self.left = node_type.offsetof("rb_left")
        self.node_pointer = prog.type("struct rb_node *")


def _read_pointer(prog: "Program", address: int) -> int:
    return int.from_bytes(prog.read(address, 8), "little")


def _pointer_to(obj: Object) -> Object:
    """``obj`` as a pointer: a struct in memory gives its address, a pointer stays."""
    if obj.type_.resolved().kind is TypeKind.POINTER:
        return obj
    return obj.address_of_()


def _root_node(root: Object) -> Tuple[int, int]:
    """(address of the root, its top ``rb_node``) for a ``struct rb_root``, or a ``struct
    rb_root_cached`` (3.12+) or ``rb_root_linked`` (7.x) around one, object or pointer."""
    pointer = _pointer_to(root)
    root = pointer.dereference_()
    if root.type_.resolved().has_member("rb_root"):
        root = root.rb_root
    return int(pointer), int(root.rb_node)


def _node_address(node: Object) -> int:
    return int(_pointer_to(node))


def RB_EMPTY_ROOT(root: Object) -> bool:
    """Whether the tree at ``root`` (``struct rb_root`` or ``rb_root_cached``, or a pointer to
    one) has no nodes."""
    return _root_node(root)[1] == 0


def RB_EMPTY_NODE(node: Object) -> bool:
    """Whether ``node`` (``struct rb_node *``) is on no tree: rb_erase/RB_CLEAR_NODE leave its
    parent pointer pointing at itself."""
    address = _node_address(node)
    layout = _Layout(node.prog_)
    return _read_pointer(node.prog_, address + layout.parent_color) == address


def rb_parent(node: Object) -> Object:
    """The parent of ``node`` (``struct rb_node *``); NULL for the root."""
    prog = node.prog_
    layout = _Layout(prog)
    parent = _read_pointer(prog, _node_address(node) + layout.parent_color) & ~3
    return Object(prog, layout.node_pointer, parent)


def _extreme(prog: "Program", root_address: int, node: int, offset: int) -> int:
    """The last node down the ``rb_left`` (or ``rb_right``) chain from ``node``."""
    for _ in range(MAX_HEIGHT):
        child = _read_pointer(prog, node + offset)
        if not child:
            return node
        node = child
    raise RbtreeCorruptError(f"red-black tree at {root_address:#x} is deeper than {MAX_HEIGHT} levels "
                             f"below {node:#x}: it loops")


def _end(root: Object, leftmost: bool) -> Object:
    """The leftmost (or rightmost) ``struct rb_node *`` of the tree at ``root``; NULL if empty."""
    prog = root.prog_
    layout = _Layout(prog)
    root_address, top = _root_node(root)
    end = _extreme(prog, root_address, top, layout.left if leftmost else layout.right) if top else 0
    return Object(prog, layout.node_pointer, end)


def rb_first(root: Object) -> Object:
    """The leftmost (first in order) ``struct rb_node *`` of the tree at ``root``; NULL if empty."""
    return _end(root, True)


def rb_last(root: Object) -> Object:
    """The rightmost (last in order) ``struct rb_node *`` of the tree at ``root``; NULL if empty."""
    return _end(root, False)


def _step(node: Object, forward: bool) -> Object:
    """rb_next (``forward``) or rb_prev: down the other side's extreme, else up past the parents
    whose that-side child we came from (lib/rbtree.c)."""
    prog = node.prog_
    layout = _Layout(prog)
    address = _node_address(node)
    down, up = (layout.right, layout.left) if forward else (layout.left, layout.right)
    if _read_pointer(prog, address + layout.parent_color) == address:  # RB_EMPTY_NODE
        return Object(prog, layout.node_pointer, 0)
    child = _read_pointer(prog, address + down)
    if child:
        return Object(prog, layout.node_pointer, _extreme(prog, address, child, up))
    for _ in range(MAX_HEIGHT):
        parent = _read_pointer(prog, address + layout.parent_color) & ~3
        if not parent or _read_pointer(prog, parent + down) != address:
            return Object(prog, layout.node_pointer, parent)
        address = parent
    raise RbtreeCorruptError(f"red-black tree node {_node_address(node):#x} has more than {MAX_HEIGHT} "
                             "ancestors: its parent pointers loop")


def rb_next(node: Object) -> Object:
    """The ``struct rb_node *`` after ``node`` in order; NULL after the last or for a node on
    no tree."""
    return _step(node, True)


def rb_prev(node: Object) -> Object:
    """The ``struct rb_node *`` before ``node`` in order; NULL before the first or for a node on
    no tree."""
    return _step(node, False)


def rbtree_inorder_addresses(root: Object, limit: int = MAX_NODES) -> Iterator[int]:
    """The address of each ``struct rb_node`` of the tree at ``root`` (``struct rb_root`` or
    ``rb_root_cached``, or a pointer to one), leftmost first.

    The walk follows child pointers only, with a stack, and is bounded: a node seen twice, a
    path deeper than :data:`MAX_HEIGHT` or more than ``limit`` nodes raise
    :class:`RbtreeCorruptError` naming the root; an unreadable node raises FaultError.
    """
    root_address, node = _root_node(root)
    yield from _inorder(root.prog_, f"red-black tree at {root_address:#x}", node, limit)


def rb_subtree_inorder_addresses(node: Object, limit: int = MAX_NODES) -> Iterator[int]:
    """The address of each ``struct rb_node`` under ``node`` (``struct rb_node *``, or a node),
    itself included, leftmost first: crash's ``tree -N``, a tree reached by one of its nodes
    rather than its root.  Bounded as :func:`rbtree_inorder_addresses`."""
    address = _node_address(node)
    yield from _inorder(node.prog_, f"red-black tree under node {address:#x}", address, limit)


def _inorder(prog: "Program", where: str, node: int, limit: int) -> Iterator[int]:
    layout = _Layout(prog)
    stack: List[int] = []
    seen: Set[int] = set()
    while stack or node:
        while node:
            if node in seen:
                raise RbtreeCorruptError(f"{where} reaches node {node:#x} twice")
            seen.add(node)
            if len(stack) >= MAX_HEIGHT:
                raise RbtreeCorruptError(f"{where} is deeper than {MAX_HEIGHT} levels: it loops")
            stack.append(node)
            node = _read_pointer(prog, node + layout.left)
        node = stack.pop()
        if len(seen) > limit:
            raise RbtreeCorruptError(f"{where} has more than {limit} nodes")
        yield node
        node = _read_pointer(prog, node + layout.right)


def rbtree_inorder_for_each(root: Object) -> Iterator[Object]:
    """Each ``struct rb_node *`` of the tree at ``root``, in order (bounded as
    :func:`rbtree_inorder_addresses`)."""
    node_pointer = _Layout(root.prog_).node_pointer
    for address in rbtree_inorder_addresses(root):
        yield Object(root.prog_, node_pointer, address)


def rbtree_inorder_for_each_entry(type: TypeArg, root: Object, member: str) -> Iterator[Object]:
    """Each ``type *`` of the tree at ``root``, in order, whose ``struct rb_node`` is ``member``."""
    for node in rbtree_inorder_for_each(root):
        yield container_of(node, type, member)


def rb_find(type: TypeArg, root: Object, member: str, key: K, cmp: Callable[[K, Object], int]) -> Object:
    """The ``type *`` in the tree at ``root`` for which ``cmp(key, entry)`` is 0, searching as the
    kernel's rb_find (5.12+) does: ``cmp < 0`` goes left, ``> 0`` right; NULL if none."""
    prog = root.prog_
    layout = _Layout(prog)
    outer = prog.type(type) if isinstance(type, str) else type
    root_address, node = _root_node(root)
    for _ in range(MAX_HEIGHT):
        if not node:
            return Object(prog, pointer_type(outer), 0)
        entry = container_of(Object(prog, layout.node_pointer, node), outer, member)
        order = cmp(key, entry)
        if order == 0:
            return entry
        node = _read_pointer(prog, node + (layout.left if order < 0 else layout.right))
    raise RbtreeCorruptError(f"red-black tree at {root_address:#x} is deeper than {MAX_HEIGHT} levels: it loops")


def validate_rbtree(type: TypeArg, root: Object, member: str,
                    cmp: Optional[Callable[[Object, Object], int]] = None, allow_equal: bool = True) -> None:
    """Check the tree at ``root`` is a valid red-black tree: each child's parent pointer leads
    back, the root is black, no red node has a red child, every path holds as many black nodes,
    and, with ``cmp`` (entries of ``type`` linked through ``member``), the entries are in
    order (``allow_equal``: equal neighbours allowed).  Raises :class:`RbtreeCorruptError`
    saying which rule broke where."""
    prog = root.prog_
    layout = _Layout(prog)
    root_address, top = _root_node(root)
    if not top:
        return
    if _read_pointer(prog, top + layout.parent_color) & ~3:
        raise RbtreeCorruptError(f"red-black tree at {root_address:#x}: root node {top:#x} has a parent")
    if not _read_pointer(prog, top + layout.parent_color) & _RB_BLACK:
        raise RbtreeCorruptError(f"red-black tree at {root_address:#x}: root node {top:#x} is red")
    black_depth: Optional[int] = None
    # (node, its parent, whether the parent is red, black nodes above it)
    pending: List[Tuple[int, int, bool, int]] = [(top, 0, False, 0)]
    seen: Set[int] = set()
    while pending:
        node, parent, parent_red, blacks = pending.pop()
        if not node:
            if black_depth is None:
                black_depth = blacks
            elif blacks != black_depth:
                raise RbtreeCorruptError(f"red-black tree at {root_address:#x}: a path below {parent:#x} has "
                                         f"{blacks} black nodes, another {black_depth}")
            continue
        if node in seen:
            raise RbtreeCorruptError(f"red-black tree at {root_address:#x} reaches node {node:#x} twice")
        if len(seen) >= MAX_NODES:
            raise RbtreeCorruptError(f"red-black tree at {root_address:#x} has more than {MAX_NODES} nodes")
        seen.add(node)
        parent_color = _read_pointer(prog, node + layout.parent_color)
        if parent_color & ~3 != parent:
            raise RbtreeCorruptError(f"red-black tree at {root_address:#x}: node {node:#x} names parent "
                                     f"{parent_color & ~3:#x}, not {parent:#x}")
        red = not parent_color & _RB_BLACK
        if red and parent_red:
            raise RbtreeCorruptError(f"red-black tree at {root_address:#x}: red node {node:#x} has a red parent")
        blacks += 0 if red else 1
        for offset in (layout.right, layout.left):
            pending.append((_read_pointer(prog, node + offset), node, red, blacks))
    if cmp is None:
        return
    previous = None
    for entry in rbtree_inorder_for_each_entry(type, root, member):
        if previous is not None:
            order = cmp(previous, entry)
            if order > 0 or (order == 0 and not allow_equal):
                raise RbtreeCorruptError(f"red-black tree at {root_address:#x}: {int(previous):#x} and "
                                         f"{int(entry):#x} are out of order")
        previous = entry


__all__ = ["RB_EMPTY_ROOT", "RB_EMPTY_NODE", "rb_parent", "rb_first", "rb_last", "rb_next", "rb_prev",
           "rbtree_inorder_addresses", "rb_subtree_inorder_addresses", "rbtree_inorder_for_each", "rbtree_inorder_for_each_entry", "rb_find",
           "validate_rbtree", "RbtreeCorruptError", "MAX_HEIGHT", "MAX_NODES"]
