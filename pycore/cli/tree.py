"""``pycore tree DUMP -t rbtree|radix|xarray START``: crash 9's ``tree``, the entries of a red-black
tree (depth first from the root as crash lists them, ``-l`` in order, ``-p`` each one's position;
``-N`` from one of its nodes) or of an XArray (index order; 4.20+ radix trees are XArrays), with
``-s`` members of the struct at each (``-S``: read as numbers, crash's fast form).  The walks are
pycore.kernel.rbtree's and pycore.kernel.xarray's.
"""
import argparse
from typing import Any, Dict, List, Tuple

from ..kernel.rbtree import rb_parent, rb_subtree_inorder_addresses, rbtree_inorder_addresses
from ..kernel.xarray import xa_entries, xa_node_entries
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
    members = parser.add_mutually_exclusive_group()
    members.add_argument("-s", dest="struct", help="show the struct at each entry, or some members: NAME[.a,b]")
    members.add_argument("-S", dest="fast_struct", metavar="STRUCT",
                         help="as -s, members of up to 8 bytes read as numbers (and char arrays as strings)")
    parser.add_argument("-N", dest="node", action="store_true",
                        help="START is an rb_node (or xa_node), the tree under it is walked")
    radix = parser.add_mutually_exclusive_group()
    radix.add_argument("-x", dest="radix", action="store_const", const=16, help="integers in hexadecimal")
    radix.add_argument("-d", dest="radix", action="store_const", const=10, help="integers in decimal")
    parser.add_argument("-p", dest="position", action="store_true", help="rbtree: show each entry's position")
    parser.add_argument("-l", dest="linear", action="store_true", help="rbtree: in order (leftmost first)")
    parser.add_argument("start", help="the root's address or symbol (or the struct's, with -r)")


def rbtree_preorder(prog: Program, order: List[int]) -> List[Tuple[int, str]]:
    """(rb_node address, position) of each node of a tree given in order (``order``, the kernel
    helper's walk), its top node first, then its left subtree, then its right (crash's order), the
    position as crash writes it (``root/l/r``).  A node is its parent's left child when it comes
    before the parent in order."""
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
    if args.node and args.root_offset is not None:
        raise StructCommandError("-r and -N options are mutually exclusive")
    if args.root_offset is not None:
        root += parse_offset(prog, args.root_offset)
    entries: List[Dict[str, Any]] = []
    if args.kind == "rbtree":
        offset = parse_offset(prog, args.offset) if args.offset is not None else 0
        if args.node:
            order = list(rb_subtree_inorder_addresses(Object(prog, "struct rb_node", address=root)))
        else:
            order = list(rbtree_inorder_addresses(Object(prog, "struct rb_root", address=root)))
        if args.linear:
            walked = [(node, None) for node in order]
        else:
            walked = rbtree_preorder(prog, order)  # type: ignore[assignment]
        for node, position in walked:
            entry: Dict[str, Any] = {"address": node - offset}
            if args.position and position is not None:
                entry["position"] = position
            entries.append(entry)
    else:
        if args.position or args.offset is not None or args.linear:
            raise StructCommandError("-p, -o and -l are for -t rbtree")
        if args.node:
            found = xa_node_entries(prog, root)
        else:
            found = xa_entries(Object(prog, "struct xarray", address=root))
        entries = [{"address": value, "index": index} for index, value in found]
    type_name, error = struct_values(prog, entries, args.struct or args.fast_struct, 0, False,
                                     fast=args.fast_struct is not None)
    return Collected({"kind": args.kind, "type": type_name, "entries": entries}, [], error)


COMMAND = DumpCommand("tree", add_arguments=add_arguments, collect=collect, render=render,
                      description="The entries of a red-black tree or an XArray (radix tree).")
