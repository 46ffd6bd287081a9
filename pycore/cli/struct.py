"""``pycore struct DUMP NAME[.member[,member]] [ADDRESS [COUNT]]`` and ``union``: crash 9's
``struct`` and ``union``, a type's layout (``-o`` with offsets) or objects' contents in gdb's print
format (``-x``/``-d`` radix, ``-r`` raw memory, ``-p`` pointers followed); the address may be an
embedded member's (``-l``), a user address (``-u``) or a dump file offset (``-f``).  Any kernel
version whose debug info (DWARF, or BTF) has the type.
"""
import argparse
import re
from typing import Any, Dict, List, Optional

from ..errors import FaultError, PycoreError
from ..object import Object
from ..program import Program
from ..types.cdecl import Line, body_lines, declaration
from ..types.model import Type, TypeKind, TypeNotFoundError
from .command import Collected, DumpCommand
from .gdbfmt import format_value, member_lines, symbolizer, value_tree
from .rd import render_values


class StructCommandError(PycoreError, ValueError):
    """A struct/union/whatis command line crash would refuse; the message is crash's."""


def find_type(prog: Program, keyword: str, name: str) -> Type:
    """``keyword`` (struct or union) ``name`` as crash looks it up: the tagged type, else a typedef
    of one; crash's "invalid data structure reference" when neither is there.  A dump with no type
    information at all is not that: its MissingDebugInfoError says what was tried."""
    for spelling in (f"{keyword} {name}", name):
        try:
            found = prog.type(spelling)
        except TypeNotFoundError:
            continue
        if found.resolved().kind in (TypeKind.STRUCT, TypeKind.UNION):
            return found
    raise StructCommandError(f"invalid data structure reference: {name}")


def definition_lines(t: Type, offsets: bool = False, base: Optional[int] = None) -> List[str]:
    """crash's layout of a struct or union (a typedef of one as ``typedef struct {...} name;``),
    without the SIZE line: gdb's ``ptype``, and with ``offsets`` crash's ``-o`` column, each
    member's byte offset (its address when ``base`` is given) right-aligned before it."""
    resolved = t.resolved()
    declarator = t.name if t.kind is TypeKind.TYPEDEF else ""
    lines = body_lines(resolved, declarator=declarator)
    if declarator:
        lines[0] = Line(0, "typedef " + lines[0].text, None)
    if not offsets:
        return ["    " * line.depth + line.text for line in lines]
    width = len(f"[{resolved.size}]") + 2 if base is None else 20
    return [line.text if line.depth == 0 else _offset_line(line, width, base) for line in lines]


def _offset_line(line: Line, width: int, base: Optional[int]) -> str:
    if line.bit_offset is None:
        column = " " * width
    elif base is None:
        column = f"[{line.bit_offset // 8}]".rjust(width)
    else:
        column = f"[{base + line.bit_offset // 8:x}]".rjust(width)
    return column + " " + "    " * (line.depth - 1) + line.text


def member_declaration_lines(t: Type, path: str, base: Optional[int] = None) -> List[str]:
    """crash's ``struct TYPE.member`` without an address: the member's declaration with its offset
    (``[2224] struct list_head tasks;``) inside the type's braces."""
    resolved = t.resolved()
    member = resolved.member_path(path)
    name = path.rsplit(".", 1)[-1]
    width = len(f"[{resolved.size}]") + 2 if base is None else 20
    text = declaration(member.type, name, member.bit_field_size) + ";"
    line = _offset_line(Line(1, text, member.bit_offset, member.bit_field_size), width, base)
    return [f"{resolved.kind.value} {resolved.name or ''} {{".replace("  ", " "), line, "}"]


def parse_address(prog: Program, text: str) -> int:
    """An object's address as crash takes it: hexadecimal with or without 0x, or a symbol."""
    if re.fullmatch(r"(0[xX])?[0-9a-fA-F]+", text):
        return int(text, 16)
    try:
        return prog.symbol(text).address
    except LookupError:
        raise StructCommandError(f"invalid address or symbol: {text}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", dest="offsets", action="store_true", help="show member offsets")
    parser.add_argument("-l", dest="link_offset", metavar="OFFSET",
                        help="ADDRESS is a member's at this offset in the struct (bytes or struct.member)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-u", dest="user", action="store_true",
                       help="ADDRESS is a user address of the current task (the panic task in a dump)")
    where.add_argument("-f", dest="file_offset", action="store_true", help="ADDRESS is an offset in the dump file")
    parser.add_argument("-p", dest="pointers", action="store_true",
                        help="show each pointer member's type and what it points to")
    radix = parser.add_mutually_exclusive_group()
    radix.add_argument("-x", dest="radix", action="store_const", const=16, help="integers in hexadecimal")
    radix.add_argument("-d", dest="radix", action="store_const", const=10, help="integers in decimal")
    parser.add_argument("-r", dest="raw", action="store_true", help="the objects' memory as rd shows it")
    parser.add_argument("-c", dest="count", type=int, help="how many objects, one after the other")
    parser.add_argument("name", help="TYPE, TYPE.member or TYPE.member,member")
    parser.add_argument("address", nargs="?", help="an address (hexadecimal) or a symbol")
    parser.add_argument("count_word", nargs="?", type=int, metavar="count", help="how many objects")


def collect_for(keyword: str):
    """``collect`` of the struct (``keyword`` "struct") or union command."""
    def collect(prog: Program, args: argparse.Namespace) -> "Dict[str, Any] | Collected":
        name, _, member_text = args.name.partition(".")
        members = [m for m in member_text.split(",") if m] if member_text else []
        t = find_type(prog, keyword, name)
        size = t.resolved().size or 0
        # crash heads an object with the command's keyword and the name as typed ("struct spinlock_t {").
        result: Dict[str, Any] = {"type": f"{keyword} {name}", "size": size, "members": members,
                                  "offsets": args.offsets}
        if args.address is None:
            if len(members) > 1:
                raise StructCommandError("multiple member format not supported in this syntax")
            result["lines"] = member_declaration_lines(t, members[0]) if members else \
                definition_lines(t, args.offsets)
            return result
        address = parse_address(prog, args.address)
        if args.link_offset is not None:
            from .list_walk import parse_offset

            address -= parse_offset(prog, args.link_offset)
        if args.offsets:
            result["lines"] = member_declaration_lines(t, members[0], address) if members else \
                definition_lines(t, True, address)
            return result
        count = args.count or args.count_word or 1
        if args.raw:
            return raw_objects(prog, result, address, size, count)
        symbolize = symbolizer(prog)
        objects: List[Dict[str, Any]] = []
        result["objects"] = objects
        if args.pointers and not members:  # crash follows the pointers among the top-level members
            members = top_level_members(t)
            result["whole"] = True
        for index in range(count):
            start = address + index * size
            try:
                obj = object_at(prog, args, t, start)
            except FaultError:
                return Collected(result, [], f"invalid {'user virtual address' if args.user else 'dumpfile offset'}:"
                                             f" {start:#x}")
            if members:
                entry = {"address": start, "members": member_entries(obj, members, symbolize, args.pointers)}
                values = [member["value"] for member in entry["members"] if "value" in member]
                number_followed(obj, entry["members"], args)
            else:
                entry = {"address": start, "value": value_tree(obj, symbolize)}
                values = [entry["value"]]
            failed = next((value for value in values if value["kind"] == "error"), None)
            if failed is not None:  # crash stops at the first object it cannot read
                where = failed.get("address")
                return Collected(result, [], failed["message"] if where is None else
                                 f"invalid kernel virtual address: {where:#x}")
            objects.append(entry)
        return result
    return collect


def object_at(prog: Program, args: argparse.Namespace, t: Type, address: int) -> Object:
    """The object of type ``t`` at ``address``: kernel memory, or its bytes read from the current
    task's user memory (``-u``) or from the dump file (``-f``); FaultError when they cannot be read."""
    if getattr(args, "user", False):
        from ..kernel.mm import read_user
        from .rd import context_task

        return Object(prog, t, read_user(context_task(prog, args), address, t.resolved().size or 0))
    if getattr(args, "file_offset", False):
        return Object(prog, t, prog.dump.file.read(address, t.resolved().size or 0, "struct -f"))
    return Object(prog, t, address=address)


def top_level_members(t: Type) -> List[str]:
    """The names of a struct's members as ``-p`` lists them: an anonymous struct or union's own
    members in its place."""
    names: List[str] = []
    for member in t.resolved().members or ():
        if member.name is None:
            names += top_level_members(member.type)
        else:
            names.append(member.name)
    return names


def raw_objects(prog: Program, result: Dict[str, Any], address: int, size: int, count: int) -> Any:
    """crash's ``-r``: each object's bytes, in the widest unit that divides its size."""
    result["raw"] = raw = []
    for index in range(count):
        start = address + index * size
        try:
            raw.append({"address": start, "hex": prog.read(start, size).hex()})
        except FaultError as error:
            where = start if error.address is None else error.address
            return Collected(result, [], f"invalid kernel virtual address: {where:#x}")
    return result


def _raw_lines(entry: Dict[str, Any]) -> str:
    data = bytes.fromhex(entry["hex"])
    unit = next(size for size in (8, 4, 2, 1) if len(data) % size == 0)
    values = [int.from_bytes(data[i:i + unit], "little") for i in range(0, len(data), unit)]
    return render_values({"bits": unit * 8, "hex": entry["hex"], "values": values, "address": entry["address"]})


def member_entries(obj: Object, paths: List[str], symbolize, pointers: bool = False) -> List[Dict[str, Any]]:
    """Each member ``paths`` names in ``obj``: its value tree, and whether it is the last member of
    the struct or union holding it (gdb writes no comma after that one, nor does crash).  With
    ``pointers`` (``-p``), a pointer member is followed: see :func:`followed_pointer`."""
    entries = []
    for path in paths:
        member = member_object(obj, path)
        if pointers and member.type_.resolved().kind is TypeKind.POINTER:
            entries.append({"name": path, "pointer": followed_pointer(member, path, symbolize)})
            continue
        entries.append({"name": path, "value": value_tree(member, symbolize), "last": is_last_member(obj.type_, path)})
    return entries


def number_followed(obj: Object, members: List[Dict[str, Any]], args: argparse.Namespace) -> None:
    """crash's ``-p`` prints a pointer's target with gdb's ``print``, which numbers it in the value
    history (at the prompt, ``args.value_history``) as ``p`` would: each target printed joins it."""
    history = getattr(args, "value_history", None)
    if history is None:
        return
    for member in members:
        followed = member.get("pointer")
        if followed is not None and followed["target"] in ("value", "label"):
            target = member_object(obj, member["name"]).type_.resolved().type
            history.append(Object(obj.prog_, target, address=followed["address"]))


def followed_pointer(pointer: Object, name: str, symbolize) -> Dict[str, Any]:
    """crash's ``-p`` for one pointer member: its declaration and value, then what it points to:
    ``null``, a struct or union's value (``value``, with the symbol at its address), the symbol of
    any other target, ``unreadable`` memory, or ``unknown`` (a function, or memory crash would
    not interpret)."""
    target_type = pointer.type_.resolved().type
    address = pointer.value_()
    found: Dict[str, Any] = {"declaration": declaration(pointer.type_, name.rsplit(".", 1)[-1]), "address": address}
    if address == 0:
        return dict(found, target="null")
    symbol = symbolize(address)
    resolved = target_type.resolved() if target_type is not None else None
    if resolved is not None and resolved.kind in (TypeKind.STRUCT, TypeKind.UNION):
        first = first_symbol_at(pointer.prog_, address)
        if first is not None and first != symbol:
            # crash names the target by the first symbol at its address and prints gdb's value of
            # that symbol; a linker label sharing the address (5.10's __begin_sched_classes before
            # idle_sched_class) has no type for gdb, which prints its address under the variable's name.
            return dict(found, target="label", symbol=first, label=symbol)
        value = value_tree(Object(pointer.prog_, target_type, address=address), symbolize)
        if value["kind"] == "error":
            return dict(found, target="unreadable")
        return dict(found, target="value", symbol=first, value=value)
    if symbol is not None:
        return dict(found, target="symbol", symbol=symbol)
    if resolved is not None and resolved.kind is TypeKind.FUNCTION:
        return dict(found, target="unknown")
    try:
        pointer.prog_.read(address, 1)
    except PycoreError:
        return dict(found, target="unreadable")
    return dict(found, target="unknown")


def first_symbol_at(prog: Program, address: int) -> Optional[str]:
    """The first name, in sorted order, of the symbols that start at ``address`` (the one crash's
    value_search gives), or None where none does."""
    return min((symbol.name for symbol in prog.symbols.symbols_at(address)), default=None)


_FOLLOWED = {"null": "NULL", "unreadable": "(not accessible)", "unknown": "(unknown)"}


def pointer_lines(followed: Dict[str, Any], radix: int) -> List[str]:
    """``  DECLARATION = 0xVALUE`` and ``  -> `` what it points to, as crash's ``-p`` prints them:
    a struct's value is gdb's, its lines under the arrow's."""
    lines = [f"  {followed['declaration']} = {followed['address']:#x}"]
    target = followed["target"]
    if target in _FOLLOWED:
        return lines + [f"  -> {_FOLLOWED[target]}"]
    symbol = f"<{followed['symbol']}>" if followed.get("symbol") else ""
    if target == "symbol":
        return lines + [f"  -> {symbol}"]
    if target == "label":
        label = f" <{followed['label']}>" if followed.get("label") else ""
        return lines + [f"  -> {symbol} {followed['address']:#x}{label}"]
    value = format_value(followed["value"], radix=radix).split("\n")
    head = f"  -> {symbol} {value[0]}" if symbol else f"  -> {value[0]}"
    return lines + [head] + ["     " + line for line in value[1:]]


def is_last_member(t: Type, path: str) -> bool:
    """Whether the member at ``path`` (``se.load``) comes last in the struct or union (an
    anonymous one included) that holds it."""
    parent, _, name = path.rpartition(".")
    holder = t.resolved()
    if parent:
        holder = holder.member_path(parent).type.resolved()
    while True:
        members = holder.members or ()
        for index, member in enumerate(members):
            if member.name == name:
                return index == len(members) - 1
        inner = next((m.type.resolved() for m in members if m.name is None and m.type.resolved().has_member(name)),
                     None)
        if inner is None:
            return False
        holder = inner


def member_object(obj: Object, path: str) -> Object:
    """``obj.a.b[2].c`` for the member path crash takes after the type name."""
    for part in re.findall(r"[A-Za-z_]\w*|\[\d+\]", path):
        obj = obj[int(part[1:-1])] if part.startswith("[") else obj.member_(part)
    return obj


def object_lines(entry: Dict[str, Any], type_name: str, radix: int) -> List[str]:
    """One object as crash prints it: ``struct list_head {`` and gdb's members, or only the
    members asked for, ``  name = value,`` each."""
    if "members" in entry:
        lines = []
        for member in entry["members"]:
            if member.get("fast"):
                lines.append(fast_line(member, radix))
            elif "pointer" in member:
                lines += pointer_lines(member["pointer"], radix)
            else:
                lines += member_lines(member["value"], member["name"], radix=radix, last=member["last"])
        return lines
    return (type_name + " " + format_value(entry["value"], radix=radix)).split("\n")


def fast_line(member: Dict[str, Any], radix: int) -> str:
    """One member of ``list -S``/``tree -S`` as crash's print_value writes it: the number (a
    pointer in hex), then a string or the text symbol it points into."""
    name = member["name"]
    line = ""
    if member["width"] in (1, 2, 4, 8):
        hexadecimal = member["pointer"] or radix == 16
        line = f"  {name} = " + (f"{member['number']:#x}" if hexadecimal else str(member["number"]))
    if "string" in member:
        line += f"  \"{member['string']}\"" if member["pointer"] else f"  {name} = \"{member['string']}\""
    elif "symbol" in member:
        line += f" <{member['symbol']}>"
    return line


def render_for(keyword: str):
    def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
        if "lines" in data:
            lines = list(data["lines"])
            if not data["members"]:
                lines.append(f"SIZE: {data['size']}")
            return "\n".join(lines)
        if "raw" in data:
            return "\n\n".join(_raw_lines(entry) for entry in data["raw"])
        type_name = data["type"]
        blocks = ["\n".join(object_lines(entry, type_name, args.radix or 10)) for entry in data["objects"]]
        if data.get("whole"):  # -p of the whole struct: its members inside its braces
            blocks = [f"{type_name} {{\n{block}\n}}" for block in blocks]
        return "\n\n".join(blocks)
    return render


COMMANDS = [
    DumpCommand("struct", add_arguments=add_arguments, collect=collect_for("struct"), render=render_for("struct"),
                description="A struct's layout (-o: with offsets) or the contents of one at an address."),
    DumpCommand("union", add_arguments=add_arguments, collect=collect_for("union"), render=render_for("union"),
                description="A union's layout (-o: with offsets) or the contents of one at an address."),
]
