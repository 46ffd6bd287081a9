"""Maple trees (lib/maple_tree.c, 6.1+): the range-to-entry trees that hold a process's VMAs
(``mm_struct.mm_mt``) from 6.1 on, walked leaf by leaf in index order.  The node layout
(``maple_range_64``, ``maple_arange_64``, the type in bits 3-6 of an encoded node pointer) is the
same from 6.1 to 7.2.
"""
import collections
from typing import TYPE_CHECKING, Deque, Iterator, List, Tuple

from ..errors import ValidationError
from ..object import Object
from ..types.model import TypeKind

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# enum maple_type and the encoding of a node pointer (include/linux/maple_tree.h).
maple_leaf_64 = 1
maple_range_64 = 2
maple_arange_64 = 3
MAPLE_NODE_MASK = 255
MAPLE_NODE_TYPE_MASK = 0x0F
MAPLE_NODE_TYPE_SHIFT = 0x03
# xa_mk_internal(257): a reserved slot, not an entry (XA_ZERO_ENTRY).
XA_ZERO_ENTRY = (257 << 2) | 2
_ULONG_MAX = (1 << 64) - 1
# A maple tree of 64-bit indices is at most a few dozen levels deep, and no machine has more
# nodes than this: past it, the walk is going round a damaged tree.
MAX_NODES = 1 << 22


class MapleTreeCorruptError(ValidationError):
    """A maple tree node is not one the kernel makes (an unknown type, a node seen twice, more
    nodes than any tree holds); names the tree."""


def _is_node(entry: int) -> bool:
    """Whether ``ma_root`` holds an encoded node (xa_is_node: low bits 10, above the first page)
    rather than a single entry.  Only the root is marked so (MAPLE_ROOT_NODE); a child's encoding
    is the node, its type in bits 3-6 and MAPLE_ENODE_NULL (bit 2)."""
    return entry & 3 == 2 and entry > 4096


class _Layout:
    """Offsets and slot counts of the two node kinds, read once per walk."""

    def __init__(self, prog: "Program"):
        node = prog.type("struct maple_node")
        range64 = prog.type("struct maple_range_64")
        arange64 = prog.type("struct maple_arange_64")
        self.node_size = node.size
        self.range_pivots = range64.member("pivot").type.resolved().length
        self.range_pivot = node.offsetof("mr64") + range64.offsetof("pivot")
        self.range_slot = node.offsetof("mr64") + range64.offsetof("slot")
        self.range_end = node.offsetof("mr64") + range64.offsetof("meta") + \
            prog.type("struct maple_metadata").offsetof("end")
        self.arange_pivot = node.offsetof("ma64") + arange64.offsetof("pivot")
        self.arange_slot = node.offsetof("ma64") + arange64.offsetof("slot")
        self.arange_pivots = arange64.member("pivot").type.resolved().length
        self.arange_end = node.offsetof("ma64") + arange64.offsetof("meta") + \
            prog.type("struct maple_metadata").offsetof("end")


def _words(raw: bytes, offset: int, count: int) -> List[int]:
    return [int.from_bytes(raw[offset + 8 * i:offset + 8 * i + 8], "little") for i in range(count)]


def _node(prog: "Program", layout: _Layout, entry: int, maximum: int,
          root: int) -> Tuple[List[int], List[int], int, bool]:
    """(pivots, slots, index of the last used slot, is a leaf) of the node ``entry`` encodes:
    the kernel's mte_to_node, mte_node_type and ma_data_end."""
    kind = (entry >> MAPLE_NODE_TYPE_SHIFT) & MAPLE_NODE_TYPE_MASK
    raw = prog.read(entry & ~MAPLE_NODE_MASK, layout.node_size)
    if kind == maple_arange_64:
        count = layout.arange_pivots
        pivots = _words(raw, layout.arange_pivot, count)
        slots = _words(raw, layout.arange_slot, count + 1)
        end = raw[layout.arange_end]
    elif kind in (maple_range_64, maple_leaf_64):
        count = layout.range_pivots
        pivots = _words(raw, layout.range_pivot, count)
        slots = _words(raw, layout.range_slot, count + 1)
        last = pivots[count - 1]
        # A full node has no room for its metadata; one ending at the parent's maximum stops early.
        if not last:
            end = raw[layout.range_end]
        elif last == maximum:
            end = count - 1
        else:
            end = count
    else:
        raise MapleTreeCorruptError(f"maple tree at {root:#x}: node {entry:#x} has unknown type {kind}")
    if end > count:
        raise MapleTreeCorruptError(f"maple tree at {root:#x}: node {entry:#x} ends at slot {end} of {count + 1}")
    return pivots, slots, end, kind == maple_leaf_64


def mt_for_each(mt: Object, advanced: bool = False) -> Iterator[Tuple[int, int, int]]:
    """Each entry of the maple tree ``mt`` (``struct maple_tree *`` or the tree itself) with its
    range: ``(first, last, entry)``, both ends inclusive, in index order (drgn's mt_for_each, with
    the entry as an address).  Reserved slots (XA_ZERO_ENTRY) are skipped unless ``advanced``.

    Leaves are all at one depth, so a breadth-first walk meets them in order.  Every node is read
    once, whole; a damaged tree raises :class:`MapleTreeCorruptError` naming it."""
    prog = mt.prog_
    tree = mt if mt.type_.resolved().kind is TypeKind.POINTER else mt.address_of_()
    root_address = int(tree)
    top = int(tree.ma_root)
    if not _is_node(top):
        if top and (advanced or top != XA_ZERO_ENTRY):
            yield 0, 0, top
        return
    layout = _Layout(prog)
    queue: Deque[Tuple[int, int, int]] = collections.deque([(top, 0, _ULONG_MAX)])
    seen = set()
    while queue:
        entry, minimum, maximum = queue.popleft()
        if entry in seen or len(seen) > MAX_NODES:
            raise MapleTreeCorruptError(f"maple tree at {root_address:#x} reaches node {entry:#x} twice")
        seen.add(entry)
        pivots, slots, end, leaf = _node(prog, layout, entry, maximum, root_address)
        previous = minimum
        for offset in range(end + 1):
            pivot = pivots[offset] if offset < end else maximum
            slot = slots[offset]
            if leaf:
                if slot and (advanced or slot != XA_ZERO_ENTRY):
                    yield previous, pivot, slot
            elif slot & ~MAPLE_NODE_MASK == 0:
                raise MapleTreeCorruptError(f"maple tree at {root_address:#x}: node {entry:#x} slot {offset} "
                                            f"holds {slot:#x}, not a node")
            else:
                queue.append((slot, previous, pivot))
            previous = pivot + 1


def mtree_load(mt: Object, index: int) -> int:
    """The entry of the maple tree ``mt`` whose range holds ``index``, as an address; 0 if none
    (the kernel's mtree_load; XA_ZERO_ENTRY reads as 0)."""
    prog = mt.prog_
    tree = mt if mt.type_.resolved().kind is TypeKind.POINTER else mt.address_of_()
    entry = int(tree.ma_root)
    if not _is_node(entry):
        return entry if index == 0 and entry != XA_ZERO_ENTRY else 0
    layout = _Layout(prog)
    maximum = _ULONG_MAX
    for _ in range(64):
        pivots, slots, end, leaf = _node(prog, layout, entry, maximum, int(tree))
        offset = next((i for i in range(end) if pivots[i] >= index), end)
        if offset < end:
            maximum = pivots[offset]
        entry = slots[offset]
        if leaf:
            return 0 if entry == XA_ZERO_ENTRY else entry
        if entry & ~MAPLE_NODE_MASK == 0:
            return 0
    raise MapleTreeCorruptError(f"maple tree at {int(tree):#x} is deeper than 64 levels")


__all__ = ["mt_for_each", "mtree_load", "MapleTreeCorruptError", "XA_ZERO_ENTRY"]
