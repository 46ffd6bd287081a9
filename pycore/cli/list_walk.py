"""``pycore list DUMP [OFFSET] START``: crash 9's ``list``, the entries of a linked list, each with
members of the struct around it (``-s`` in gdb's print format, ``-S`` read as numbers).
Kernel-version independent: it follows pointers; with ``-h``/``-H`` they are ``struct list_head``
links (``-O``: the head's at another offset), ``-r`` follows ``prev``; ``-B`` finds a loop with
Brent's algorithm and reports it as crash does.
"""
import argparse
import re
from typing import Any, Dict, List, Optional, Tuple

from ..errors import FaultError, PycoreError
from ..object import Object
from ..types.model import TypeKind
from ..program import Program
from ..symbols.table import Symbol
from .command import Collected, DumpCommand
from .gdbfmt import symbolizer, value_tree
from .struct import StructCommandError, find_type, member_entries, member_object, object_lines, parse_address

# No kernel list comes near this many entries; more is a loop that misses its start.
MAX_ENTRIES = 1 << 22
_POINTER = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", dest="offset", help="offset of the link in each entry (bytes or struct.member)")
    parser.add_argument("-e", dest="end", help="the address that ends the list instead of NULL or its start")
    members = parser.add_mutually_exclusive_group()
    members.add_argument("-s", dest="struct", help="show the struct at each entry, or some members: NAME[.a,b]")
    members.add_argument("-S", dest="fast_struct", metavar="STRUCT",
                         help="as -s, members of up to 8 bytes read as numbers (and char arrays as strings)")
    parser.add_argument("-O", dest="head_offset",
                        help="with -h: the head's list_head is at this offset of START (bytes or struct.member)")
    parser.add_argument("-B", dest="brent", action="store_true",
                        help="find a loop with Brent's algorithm (its length and start), not a table of entries")
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


def brent_walk(prog: Program, start: int, offset: int, head: Optional[str], reverse: bool,
               end: Optional[int]) -> Tuple[List[int], List[str], Optional[str]]:
    """``list -B``: the entries, the notes and the error of crash's do_list_no_hash, which finds a
    loop with R. P. Brent's algorithm (a tortoise and a hare, no table of the entries seen).  A list
    without a loop gives :func:`walk`'s entries; a loop is reported as crash reports it: its
    length, the distance from the start to it, then the duplicate entry where it closes."""
    link = _POINTER if reverse else 0
    if reverse and head is None:
        raise StructCommandError("-r needs -h or -H: only a list_head has a prev pointer")
    if head is None:
        shift, member, first, stops = 0, offset, start, {0, end}
    elif head == "H":
        shift, member, first, stops = offset, link, None, {0, end, start}
    else:
        shift, member, first, stops = offset, link, start + offset, {0, end, start + offset}

    def follow(node: int) -> int:
        return _pointer(prog, node + member)

    entries: List[int] = []
    notes: List[str] = []
    try:
        node = follow(start) if first is None else first
        if node in stops and head == "H":
            return entries, notes, None
        if first is None:
            stops.add(node)
        tortoise, hare = node, follow(node)
        power, length, distance = 2, 0, 0
        detected = closed = False
        count = 0
        while True:
            if not detected:
                entries.append(node - shift)
            if node and closed:
                return entries, notes, f"duplicate list entry: {tortoise:x}"
            if len(entries) >= MAX_ENTRIES:
                return entries, notes, f"more than {MAX_ENTRIES} entries: the list does not end"
            count += 1
            last, node = node, follow(node)
            if not detected:
                if count > 1 and tortoise == hare:
                    detected = True
                    notes.append(f"loop detected, loop length: {length}")
                    tortoise = hare = first if first is not None else follow(start)
                    for _ in range(length):
                        hare = follow(hare)
                else:
                    if power == length:
                        tortoise, power, length = hare, power * 2, 0
                    hare, length = node, length + 1
            elif not closed and tortoise == hare:
                closed = True
                notes.append(f"length from start to loop: {distance:x}")
            else:
                tortoise, hare, distance = follow(tortoise), follow(hare), distance + 1
            if node in stops or node == last:
                return entries, notes, None
    except FaultError as error:
        address = error.address if error.address is not None else 0
        return entries, notes, f"invalid kernel virtual address: {address:#x}"


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
    if args.head_offset is not None:
        if head != "h":
            raise StructCommandError("-O is used only with -h")
        # crash: a head embedded at another offset than the entries' links is a -H list there.
        head, start = "H", start + parse_offset(prog, args.head_offset)
    notes: List[str] = []
    if args.brent:
        entries, notes, error = brent_walk(prog, start, offset, head, args.reverse, end)
    else:
        entries, error = walk(prog, start, offset, head, args.reverse, end)
    shown: List[Dict[str, Any]] = [{"address": entry} for entry in entries]
    struct_text = args.struct or args.fast_struct
    link_offset = 0
    if struct_text is not None and args.link_offset is not None:  # -l only moves the struct of -s
        link_offset = parse_offset(prog, args.link_offset)
    type_name, failure = struct_values(prog, shown, struct_text, link_offset, True, fast=args.fast_struct is not None)
    error = error or failure
    data: Dict[str, Any] = {"type": type_name, "entries": shown}
    if not shown and error is None:  # a list_head with nothing on it, or -e at its first entry
        data["empty"] = True
    return Collected(data, notes, error)


def struct_values(prog: Program, entries: List[Dict[str, Any]], struct_text: Optional[str], link_offset: int,
                  empty_on_failure: bool, fast: bool = False) -> Tuple[Optional[str], Optional[str]]:
    """For ``-s TYPE[.MEMBER,...]`` (``list`` and ``tree``): each entry's struct at its address less
    ``link_offset``, its members or its whole value, until one cannot be read.  Returns the type's
    name (None without ``-s``) and that failure; the failing entry gets no members, or an empty
    list of them with ``empty_on_failure`` (list's way).  ``fast`` is ``-S``: each member of up
    to 8 bytes (or a string) as :func:`fast_member` reads it."""
    if struct_text is None:
        return None, None
    name, _, member_text = struct_text.partition(".")
    t = find_entry_type(prog, name)
    members = [m for m in member_text.split(",") if m]
    symbolize = symbolizer(prog)
    for entry in entries:
        obj = Object(prog, t, address=entry["address"] - link_offset)
        try:
            if members and fast:
                entry["members"] = [fast_member(obj, path, symbolize) for path in members]
            elif members:
                entry["members"] = member_entries(obj, members, symbolize)
            else:
                entry["value"] = value_tree(obj, symbolize)
        except PycoreError as failure:
            if empty_on_failure:
                entry["members"] = []
            return t.type_name(), str(failure)
    return t.type_name(), None


def fast_member(obj: Object, path: str, symbolize) -> Dict[str, Any]:
    """One member as crash's ``-S`` reads it (tools.c print_value): up to 8 bytes as an unsigned
    number (a pointer always in hex), a char array or char pointer as the string it holds, and the
    text symbol an 8-byte value is in; a wider member falls back to ``-s``'s gdb form."""
    member = member_object(obj, path)
    t = member.type_.resolved()
    width = t.size or 0
    pointer = t.kind is TypeKind.POINTER
    target = (t.type.resolved() if pointer or t.kind is TypeKind.ARRAY else None) if t.type is not None else None
    string = target is not None and target.kind is TypeKind.INT and target.size == 1
    if not 0 < width <= 8 and not string:
        return member_entries(obj, [path], symbolize)[0]
    raw = member.prog_.read(member.address_, min(width, 8)) if member.address_ is not None else member._raw()[:8]
    value = int.from_bytes(raw, "little")
    entry: Dict[str, Any] = {"name": path, "fast": True, "pointer": pointer, "width": width, "number": value}
    if string:
        address = value if pointer else member.address_
        entry["string"] = _c_string(member.prog_, address, 1024 if pointer else width)
    elif width == 8:
        symbol = text_symbol(member.prog_, value)
        if symbol is not None:
            entry["symbol"] = symbol
    return entry


def text_symbol(prog: Program, address: int) -> Optional[str]:
    """The name of the text (function) symbol ``address`` is in, else None: what crash's -S puts
    after a value that points into code."""
    from ..kernel.module import symbol_lookup

    try:
        found = symbol_lookup(prog, address)
    except (PycoreError, LookupError):
        return None
    if found is None:
        return None
    symbol: Symbol = found[0]
    return symbol.name if symbol.kind in ("T", "t", "function") else None


def _c_string(prog: Program, address: int, limit: int) -> str:
    """The NUL-terminated string at ``address`` (at most ``limit`` bytes), as crash's read_string."""
    data = b""
    while len(data) < limit:
        chunk = prog.read(address + len(data), min(64, limit - len(data)))
        end = chunk.find(b"\0")
        if end >= 0:
            return (data + chunk[:end]).decode("latin-1")
        data += chunk
    return data.decode("latin-1")


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """Each entry's address, as crash prints it, with its tree position (``tree -p``) and its members
    (``-s``) when collected; ``tree`` renders its entries the same way.  A list with no entry is
    crash's ``(empty)``."""
    if data.get("empty"):
        return "(empty)"
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
