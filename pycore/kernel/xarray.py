"""XArrays (lib/xarray.c, 4.20+): ``struct xarray`` and its ``struct xa_node`` tree, looked up and
walked in index order, as xa_load and xa_for_each do.  From 4.20 ``struct radix_tree_root`` is
the XArray too (the page cache's ``i_pages``, the idr); the older radix tree is not read.
"""
from typing import TYPE_CHECKING, Iterator, List, Set, Tuple

from ..errors import ObjectTypeError, ValidationError
from ..object import Object
from ..types.model import TypeKind

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# Entry encoding (include/linux/xarray.h): the low two bits 10 mark an internal entry; internal
# entries above 4096 are node pointers, those below (XA_CHUNK_SIZE - 1) << 2 | 2 siblings of a
# multi-index entry, 256 the retry entry and 257 the zero entry (reserved, reads as NULL).
_INTERNAL_TAG = 2
_NODE_MIN = 4096
XA_RETRY_ENTRY = (256 << 2) | _INTERNAL_TAG
XA_ZERO_ENTRY = (257 << 2) | _INTERNAL_TAG
# An index is an unsigned long: no node sits above shift 64, so at most 64 levels even for a
# one-bit chunk; a deeper path is a damaged tree.
_MAX_SHIFT = 64


class XarrayCorruptError(ValidationError):
    """An XArray is not a tree: a node repeats, a child's shift is not its parent's minus
    XA_CHUNK_SHIFT, or a node pointer sits where only values may; names the XArray."""


class _Layout:
    """``struct xa_node``'s offsets and XA_CHUNK_SIZE (64, or 16 with CONFIG_BASE_SMALL),
    taken from the type of its ``slots`` array."""

    __slots__ = ("shift", "slots", "chunk_size", "chunk_shift", "void_pointer")

    def __init__(self, prog: "Program"):
        node_type = prog.type("struct xa_node")
        self.shift = node_type.offsetof("shift")
        slots = node_type.member("slots")
        self.slots = slots.bit_offset // 8
        self.chunk_size = slots.type.resolved().length or 0
        self.chunk_shift = self.chunk_size.bit_length() - 1
        if self.chunk_size < 2 or 1 << self.chunk_shift != self.chunk_size:
            raise XarrayCorruptError(f"struct xa_node has {self.chunk_size} slots, not a power of two")
        self.void_pointer = prog.type("void *")


def xa_is_internal(entry: int) -> bool:
    """Whether the raw entry value is one of the XArray's own (node, sibling, retry, zero)."""
    return entry & 3 == _INTERNAL_TAG


def _is_node(entry: int) -> bool:
    return entry & 3 == _INTERNAL_TAG and entry > _NODE_MIN


def _is_sibling(entry: int, chunk_size: int) -> bool:
    return entry & 3 == _INTERNAL_TAG and entry < (((chunk_size - 1) << 2) | _INTERNAL_TAG)


def _entry_value(entry: "Object | int") -> int:
    return entry if isinstance(entry, int) else int(entry)


def xa_is_value(entry: "Object | int") -> bool:
    """Whether ``entry`` holds an integer (xa_mk_value: shadow and swap entries) not a pointer."""
    return bool(_entry_value(entry) & 1)


def xa_to_value(entry: "Object | int") -> int:
    """The integer a value entry holds."""
    return _entry_value(entry) >> 1


def xa_is_zero(entry: "Object | int") -> bool:
    """Whether ``entry`` is XA_ZERO_ENTRY: reserved (xa_reserve, an allocated idr slot not yet
    filled), which xa_load reads as NULL."""
    return _entry_value(entry) == XA_ZERO_ENTRY


def _xarray(xa: Object) -> Tuple[int, int]:
    """(address, ``xa_head``) of a ``struct xarray`` or pointer to one; a 4.19- radix tree root
    (``rnode``) raises ObjectTypeError, as it is not read."""
    if xa.type_.resolved().kind is TypeKind.POINTER:
        xa = xa.dereference_()
    t = xa.type_.resolved()
    if not t.has_member("xa_head"):
        raise ObjectTypeError(f"{xa.type_.type_name()} is not an XArray: the radix tree of kernels "
                              "before 4.20 is not read")
    address = xa.address_ if xa.address_ is not None else 0
    return address, int(xa.xa_head)


def _read_node(prog: "Program", layout: _Layout, node: int) -> Tuple[int, List[int]]:
    """(shift, slots) of the ``struct xa_node`` at ``node``."""
    shift = prog.read(node + layout.shift, 1)[0]
    raw = prog.read(node + layout.slots, 8 * layout.chunk_size)
    return shift, [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]


def xa_entries(xa: Object, advanced: bool = False) -> Iterator[Tuple[int, int]]:
    """(index, raw entry) of each entry of the XArray ``xa`` (``struct xarray`` or pointer to
    one), lowest index first; a multi-index entry once, at its first index.

    Zero entries (reserved slots) are left out unless ``advanced``; retry entries always.  The
    walk is bounded: a node reached twice or a child whose shift is not its parent's minus
    XA_CHUNK_SHIFT raises :class:`XarrayCorruptError` naming the XArray; an unreadable node
    raises FaultError.
    """
    prog = xa.prog_
    address, head = _xarray(xa)
    if not head:
        return
    if not _is_node(head):
        if not xa_is_internal(head) or (advanced and head == XA_ZERO_ENTRY):
            yield 0, head
        return
    yield from _walk(prog, f"XArray at {address:#x}", head - _INTERNAL_TAG, advanced)


def xa_node_entries(prog: "Program", node: int, advanced: bool = False) -> Iterator[Tuple[int, int]]:
    """(index, raw entry) of each entry under the ``struct xa_node`` at ``node`` (its internal
    tag, if left on, is taken off), indexes counted from that node: crash's ``tree -t xarray -N``,
    an XArray reached by one of its nodes rather than its root.  Skipped entries and the bounds
    are :func:`xa_entries`'."""
    if xa_is_internal(node):
        node -= _INTERNAL_TAG
    yield from _walk(prog, f"XArray node {node:#x}", node, advanced)


def _walk(prog: "Program", where: str, top: int, advanced: bool) -> Iterator[Tuple[int, int]]:
    layout = _Layout(prog)
    seen: Set[int] = set()

    def walk(node: int, base: int, expected: "int | None") -> Iterator[Tuple[int, int]]:
        # Each level's shift is its parent's minus XA_CHUNK_SHIFT, so the recursion ends.
        if node in seen:
            raise XarrayCorruptError(f"{where} reaches node {node:#x} twice")
        seen.add(node)
        shift, slots = _read_node(prog, layout, node)
        if (expected is not None and shift != expected) or shift % layout.chunk_shift or shift >= _MAX_SHIFT:
            raise XarrayCorruptError(f"{where}: node {node:#x} has shift {shift}"
                                     + ("" if expected is None else f" where {expected} belongs"))
        for offset, entry in enumerate(slots):
            if not entry or _is_sibling(entry, layout.chunk_size) or entry == XA_RETRY_ENTRY:
                continue
            index = base + (offset << shift)
            if _is_node(entry):
                if not shift:
                    raise XarrayCorruptError(f"{where}: leaf node {node:#x} holds node pointer "
                                             f"{entry:#x} in slot {offset}")
                yield from walk(entry - _INTERNAL_TAG, index, shift - layout.chunk_shift)
            elif advanced or entry != XA_ZERO_ENTRY:
                yield index, entry

    yield from walk(top, 0, None)


def xa_for_each(xa: Object, advanced: bool = False) -> Iterator[Tuple[int, Object]]:
    """(index, ``void *`` entry) of each entry of the XArray ``xa``, lowest index first (see
    :func:`xa_entries` for what is skipped and how a damaged tree is reported)."""
    void_pointer = xa.prog_.type("void *")
    for index, entry in xa_entries(xa, advanced):
        yield index, Object(xa.prog_, void_pointer, entry)


def _load(xa: Object, index: int) -> int:
    prog = xa.prog_
    index &= (1 << 64) - 1  # an unsigned long: -1 is ULONG_MAX, beyond every entry but a huge tree's
    address, entry = _xarray(xa)
    if not _is_node(entry):
        return entry if index == 0 else 0
    layout = _Layout(prog)
    node = entry - _INTERNAL_TAG
    expected = None
    for _ in range(_MAX_SHIFT + 1):
        shift, slots = _read_node(prog, layout, node)
        if (expected is not None and shift != expected) or shift >= _MAX_SHIFT:
            raise XarrayCorruptError(f"XArray at {address:#x}: node {node:#x} has shift {shift}")
        if expected is None and index >> shift >= layout.chunk_size:
            return 0  # beyond the top node's reach
        offset = (index >> shift) & (layout.chunk_size - 1)
        entry = slots[offset]
        if _is_sibling(entry, layout.chunk_size):
            entry = slots[entry >> 2]
        if not _is_node(entry):
            return entry
        if not shift:
            raise XarrayCorruptError(f"XArray at {address:#x}: leaf node {node:#x} holds node pointer {entry:#x}")
        node, expected = entry - _INTERNAL_TAG, shift - layout.chunk_shift
    raise XarrayCorruptError(f"XArray at {address:#x} is deeper than any index needs")


def xa_load(xa: Object, index: int) -> Object:
    """The ``void *`` entry at ``index`` of the XArray ``xa`` (``struct xarray`` or pointer to
    one); NULL when there is none or it is only reserved (a zero or retry entry)."""
    entry = _load(xa, index)
    if xa_is_internal(entry):  # the zero and retry entries read as NULL
        entry = 0
    return Object(xa.prog_, xa.prog_.type("void *"), entry)


def radix_tree_lookup(root: Object, index: int) -> Object:
    """The ``void *`` at ``index`` of a ``struct radix_tree_root``: the XArray from 4.20."""
    return xa_load(root, index)


def radix_tree_for_each(root: Object) -> Iterator[Tuple[int, Object]]:
    """(index, ``void *``) of each entry of a ``struct radix_tree_root`` (the XArray from 4.20)."""
    return xa_for_each(root)


__all__ = ["xa_load", "xa_for_each", "xa_entries", "xa_node_entries", "xa_is_value", "xa_to_value", "xa_is_zero", "xa_is_internal",
           "radix_tree_lookup", "radix_tree_for_each", "XarrayCorruptError", "XA_ZERO_ENTRY", "XA_RETRY_ENTRY"]
