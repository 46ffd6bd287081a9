"""``pycore list DUMP [OFFSET] START``: crash 9's ``list``, the entries of a linked list, each with
members of the struct around it (``-s``) in gdb's print format.  Kernel-version independent: it
follows pointers; with ``-h``/``-H`` they are ``struct list_head`` links, ``-r`` follows ``prev``.
"""
import argparse
import re
from typing import Any, Dict, List, Optional, Tuple

from ..errors import FaultError, PycoreError
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .gdbfmt import symbolizer, value_tree
from .struct import StructCommandError, find_type, member_entries, object_lines, parse_address

# No kernel list comes near this many entries; more is a loop that misses its start.
MAX_ENTRIES = 1 << 22
_POINTER = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", dest="offset", help="offset of the link in each entry (bytes or struct.member)")
    parser.add_argument("-e", dest="end", help="the address that ends the list instead of NULL or its start")
    parser.add_argument("-s", dest="struct", help="show the struct at each entry, or some members: NAME[.a,b]")
    parser.add_argument("-l", dest="link_offset",
                        help="with -s: each entry is a link at this offset in the struct (bytes or struct.member)")
    radix = parser.add_mutually_exclusive_group()
    radix.add_argument("-x", dest="radix", action="store_const", const=16, help="integers in hexadecimal")
    radix.add_argument("-d", dest="radix", action="store_const", const=10, help="integers in decimal")
    parser.add_argument("-r", dest="reverse", action="store_true", help="follow list_head prev pointers")
    # crash's -h (a struct holding the head) takes argparse's -h; --help still asks for help.  Each
    # takes START as its value too, as crash's "list task_struct.tasks -s ... -h init_task" puts it
    # after the options, past the positional words argparse has already consumed.
    head = parser.add_argument_group("list head", conflict_handler="resolve").add_mutually_exclusive_group()
    head.add_argument("-h", dest="head_struct", nargs="?", const="", metavar="START",
                      help="START is a struct holding the list_head at OFFSET (shown first)")
    head.add_argument("-H", dest="head_list", nargs="?", const="", metavar="START",
                      help="START is a list_head heading the list (not shown)")
    parser.add_argument("words", nargs="*", metavar="[OFFSET] START",
                        help="optionally the link's offset (bytes or struct.member), then an address or symbol")


def parse_offset(prog: Program, text: str) -> int:
    """crash's offset argument: a number of bytes, or ``struct.member``."""
    if re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", text):
        return int(text, 0)
    name, _, member = text.partition(".")
    if not member:
        raise StructCommandError(f"invalid offset: {text} (bytes, or struct.member)")
    return find_entry_type(prog, name).offsetof(member)


def find_entry_type(prog: Program, name: str):
    try:
        return find_type(prog, "struct", name)
    except StructCommandError:
        return find_type(prog, "union", name)


def walk(prog: Program, start: int, offset: int, head: Optional[str], reverse: bool,
         end: Optional[int]) -> Tuple[List[int], Optional[str]]:
    """The entries crash's list prints and the error that ended the walk early (or None).

    Without ``head`` each entry's pointer at ``offset`` holds the next entry's address and START
    is the first entry; with ``h`` START is an entry whose ``struct list_head`` sits at
    ``offset`` and each link points at the next entry's list_head; with ``H`` START is the
    list_head heading the list and is not an entry.  A list ends at NULL, back at its start, or
    at ``end``; an entry seen twice is a loop, except that with ``end`` given and never met the
    walk goes round once (the head too) and ends where it began, as crash's does."""
    if reverse and head is None:
        raise StructCommandError("-r needs -h or -H: only a list_head has a prev pointer")
    link = _POINTER if reverse else 0
    entries: List[int] = []
    seen = set()
    if head == "H":
        stop, node = start, None
    elif head == "h":
        stop, node = start + offset, None
        entries.append(start)
        seen.add(start)
    else:
        stop, node = start, start
    try:
        if head is not None:
            node = _pointer(prog, stop + link)
        while True:
            if node in (0, end) or (head is not None and node == stop and end is None):
                return entries, None
            entry = node - offset if head is not None else node  # type: ignore[operator]
            if entry in seen:
                if end is not None:  # told where the list ends, crash goes round once, head and all
                    return entries, None
                return entries, f"duplicate list entry: {entry:x}"
            if len(entries) >= MAX_ENTRIES:
                return entries, f"more than {MAX_ENTRIES} entries: the list does not end"
            entries.append(entry)
            seen.add(entry)
            node = _pointer(prog, node + link if head is not None else node + offset)  # type: ignore[operator]
            if head is None and node == start:
                return entries, None
    except FaultError as error:
        address = error.address if error.address is not None else 0
        return entries, f"invalid kernel virtual address: {address:#x}"


def _pointer(prog: Program, address: int) -> int:
    return int.from_bytes(prog.read(address, _POINTER), "little")


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    head, start_text = None, None
    for letter, value in (("h", args.head_struct), ("H", args.head_list)):
        if value is not None:
            head, start_text = letter, value or None
    words = list(args.words) + ([start_text] if start_text else [])
    if not words or len(words) > 2:
        raise StructCommandError("give [OFFSET] START: " + (" ".join(words) or "no start address"))
    offset_text = args.offset if args.offset is not None else (words[0] if len(words) == 2 else None)
    offset = parse_offset(prog, offset_text) if offset_text is not None else 0
    start = parse_address(prog, words[-1])
    end = parse_address(prog, args.end) if args.end is not None else None
    entries, error = walk(prog, start, offset, head, args.reverse, end)
    shown: List[Dict[str, Any]] = [{"address": entry} for entry in entries]
    link_offset = 0
    if args.struct is not None and args.link_offset is not None:  # -l only moves the struct of -s
        link_offset = parse_offset(prog, args.link_offset)
    type_name, failure = struct_values(prog, shown, args.struct, link_offset, True)
    error = error or failure
    return Collected({"type": type_name, "entries": shown}, [], error)


def struct_values(prog: Program, entries: List[Dict[str, Any]], struct_text: Optional[str], link_offset: int,
                  empty_on_failure: bool) -> Tuple[Optional[str], Optional[str]]:
    """For ``-s TYPE[.MEMBER,...]`` (``list`` and ``tree``): each entry's struct at its address less
    ``link_offset``, its members or its whole value, until one cannot be read.  Returns the type's
    name (None without ``-s``) and that failure; the failing entry gets no members, or an empty
    list of them with ``empty_on_failure`` (list's way)."""
    if struct_text is None:
        return None, None
    name, _, member_text = struct_text.partition(".")
    t = find_entry_type(prog, name)
    members = [m for m in member_text.split(",") if m]
    symbolize = symbolizer(prog)
    for entry in entries:
        obj = Object(prog, t, address=entry["address"] - link_offset)
        try:
            if members:
                entry["members"] = member_entries(obj, members, symbolize)
            else:
                entry["value"] = value_tree(obj, symbolize)
        except PycoreError as failure:
            if empty_on_failure:
                entry["members"] = []
            return t.type_name(), str(failure)
    return t.type_name(), None


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """Each entry's address, as crash prints it, with its tree position (``tree -p``) and its members
    (``-s``) when collected; ``tree`` renders its entries the same way."""
    lines: List[str] = []
    for entry in data["entries"]:
        lines.append(f"{entry['address']:x}")
        if "position" in entry:
            lines.append(f"  position: {entry['position']}")
        if "members" in entry or "value" in entry:
            lines += object_lines(entry, data["type"], args.radix or 10)
    return "\n".join(lines)


COMMAND = DumpCommand("list", add_arguments=add_arguments, collect=collect, render=render,
                      description="The entries of a linked list, optionally with the struct around each.")
