"""``pycore tree DUMP -t rbtree|radix|xarray START``: crash 9's ``tree``, the entries of a red-black
tree (depth first from the root as crash lists them, ``-l`` in order, ``-p`` each one's position) or
of an XArray (index order; 4.20+ radix trees are XArrays), with ``-s`` members of the struct at each.
The walks are pycore.kernel.rbtree's and pycore.kernel.xarray's.
"""
import argparse
from typing import Any, Dict, List, Tuple

from ..kernel.rbtree import rb_parent, rbtree_inorder_addresses
from ..kernel.xarray import xa_entries
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .list_walk import parse_offset, render, struct_values
from .struct import StructCommandError, parse_address


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", dest="kind", required=True, choices=("rbtree", "radix", "xarray"),
                        help="the kind of tree")
    parser.add_argument("-r", dest="root_offset", help="START is a struct holding the root at this offset "
                                                       "(bytes or struct.member)")
    parser.add_argument("-o", dest="offset", help="rbtree: offset of the rb_node in each entry (bytes or struct.member)")
    parser.add_argument("-s", dest="struct", help="show the struct at each entry, or some members: NAME[.a,b]")
    radix = parser.add_mutually_exclusive_group()
    radix.add_argument("-x", dest="radix", action="store_const", const=16, help="integers in hexadecimal")
    radix.add_argument("-d", dest="radix", action="store_const", const=10, help="integers in decimal")
    parser.add_argument("-p", dest="position", action="store_true", help="rbtree: show each entry's position")
    parser.add_argument("-l", dest="linear", action="store_true", help="rbtree: in order (leftmost first)")
    parser.add_argument("start", help="the root's address or symbol (or the struct's, with -r)")


def rbtree_preorder(prog: Program, root: int) -> List[Tuple[int, str]]:
    """(rb_node address, position) of each node of the rb_root at ``root``, root first, then its
    left subtree, then its right (crash's order), the position as crash writes it (``root/l/r``).
    The nodes are the kernel helper's in-order walk; a node is its parent's left child when it
    comes before the parent in order."""
    root_object = Object(prog, "struct rb_root", address=root)
    order = list(rbtree_inorder_addresses(root_object))
    rank = {node: index for index, node in enumerate(order)}
    node_pointer = prog.type("struct rb_node *")
    children: Dict[int, Dict[str, int]] = {node: {} for node in order}
    top = None
    for node in order:
        parent = int(rb_parent(Object(prog, node_pointer, node)))
        if parent not in children:
            top = node
            continue
        children[parent]["l" if rank[node] < rank[parent] else "r"] = node
    walked: List[Tuple[int, str]] = []
    stack = [] if top is None else [(top, "root")]
    while stack:
        node, position = stack.pop()
        walked.append((node, position))
        for side in ("r", "l"):
            if side in children[node]:
                stack.append((children[node][side], f"{position}/{side}"))
    return walked


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    root = parse_address(prog, args.start)
    if args.root_offset is not None:
        root += parse_offset(prog, args.root_offset)
    entries: List[Dict[str, Any]] = []
    if args.kind == "rbtree":
        offset = parse_offset(prog, args.offset) if args.offset is not None else 0
        if args.linear:
            walked = [(node, None) for node in rbtree_inorder_addresses(Object(prog, "struct rb_root", address=root))]
        else:
            walked = rbtree_preorder(prog, root)  # type: ignore[assignment]
        for node, position in walked:
            entry: Dict[str, Any] = {"address": node - offset}
            if args.position and position is not None:
                entry["position"] = position
            entries.append(entry)
    else:
        if args.position or args.offset is not None or args.linear:
            raise StructCommandError("-p, -o and -l are for -t rbtree")
        xarray = Object(prog, "struct xarray", address=root)
        entries = [{"address": value, "index": index} for index, value in xa_entries(xarray)]
    type_name, error = struct_values(prog, entries, args.struct, 0, False)
    return Collected({"kind": args.kind, "type": type_name, "entries": entries}, [], error)


COMMAND = DumpCommand("tree", add_arguments=add_arguments, collect=collect, render=render,
                      description="The entries of a red-black tree or an XArray (radix tree).")
