"""Values printed in gdb's ``print`` format, as crash 9 shows them (pretty structs, no repeat
folding, at most 256 elements of an array or characters of a string).

Two steps, so that ``--json`` has the data: :func:`value_tree` reads an Object into plain data
(every member, element, pointer's symbol and string), :func:`format_value` writes that data as
gdb does with a format letter (``p/x``) or an output radix (crash's ``-x``).  Any kernel version.
"""
import unicodedata
from typing import Any, Callable, Dict, List, Optional

from ..errors import PycoreError
from ..object import Object
from ..types.cdecl import declaration
from ..types.model import MAX_NESTING, Type, TypeKind

# crash 9 runs its gdb with "set print elements 256" and "set print repeats unlimited".
ELEMENTS = 256
_CHAR_NAMES = frozenset({"char", "signed char", "unsigned char"})
_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\033"}

Node = Dict[str, Any]
Symbolizer = Callable[[int], Optional[str]]


def is_char(t: Type) -> bool:
    """gdb's textual types: a one-byte integer named char, signed char or unsigned char (u8 and
    other typedefs of them too)."""
    resolved = t.resolved()
    return resolved.kind is TypeKind.INT and resolved.size == 1 and resolved.name in _CHAR_NAMES


def symbolizer(prog) -> Symbolizer:
    """``name`` or ``name+offset`` (decimal, as gdb writes ``<init_task+2224>``) for an address in
    the kernel image or a loaded module, else None.  Like gdb (build_address_symbolic), a label of
    no size outside the kernel's text (``__end_rodata_aligned``, a linker-script symbol) names
    nothing, unless a sized symbol shares its address."""
    from ..kernel.module import symbol_lookup

    text = _text_range(prog)

    def is_label(symbol) -> bool:
        return symbol.kind == "notype" and not symbol.size and not text[0] <= symbol.address < text[1]

    def lookup(address: int) -> Optional[str]:
        try:
            found = symbol_lookup(prog, address)
        except PycoreError:
            return None
        if found is None:
            return None
        symbol, offset, module = found
        if module is None and is_label(symbol):
            sized = [other for other in prog.symbols.symbols_at(symbol.address) if not is_label(other)]
            if not sized:
                return None
            symbol = sized[0]
        return f"{symbol.name}+{offset}" if offset else symbol.name
    return lookup


def _text_range(prog) -> "tuple[int, int]":
    """The kernel's text, ``_stext`` to ``_etext`` (empty when the symbols do not say)."""
    try:
        return prog.symbols.by_name("_stext").address, prog.symbols.by_name("_etext").address
    except (LookupError, PycoreError):
        return 0, 0


def _error(error: Exception) -> Node:
    address = getattr(error, "address", None)
    if address is None:
        return {"kind": "error", "message": str(error)}
    return {"kind": "error", "message": f"Cannot access memory at address {address:#x}", "address": address}


def _read_string(prog, address: int, limit: int = ELEMENTS) -> Node:
    """The C string at ``address``, at most ``limit`` bytes (gdb's ``print elements``)."""
    data = bytearray()
    try:
        while len(data) < limit:
            take = min(limit - len(data), 4096 - (address + len(data)) % 4096)
            chunk = prog.read(address + len(data), take)
            end = chunk.find(b"\0")
            if end >= 0:
                data += chunk[:end]
                return {"data": bytes(data).hex(), "truncated": False}
            data += chunk
    except PycoreError as error:
        if not data:
            return _error(error)
        return {"data": bytes(data).hex(), "truncated": False, "error": _error(error)["message"]}
    return {"data": bytes(data).hex(), "truncated": True}


def value_tree(obj: Object, symbolize: Symbolizer, depth: int = 0) -> Node:
    """``obj`` as plain data for :func:`format_value`: ``kind`` (int, bool, float, enum, pointer,
    function, array, chars, struct, union, error) and what that kind needs.  A fault while reading
    becomes an ``error`` node, where gdb prints ``<error: Cannot access memory at address 0x...>``."""
    if depth > MAX_NESTING:
        return {"kind": "error", "message": "nested too deep: a type that contains itself"}
    t = obj.type_
    resolved = t.resolved()
    kind = resolved.kind
    try:
        if kind is TypeKind.FUNCTION:
            address = obj.address_ or 0
            return {"kind": "function", "type": declaration(t), "address": address, "symbol": symbolize(address)}
        if kind in (TypeKind.STRUCT, TypeKind.UNION):
            if obj.address_ is not None:
                obj.prog_.read(obj.address_, resolved.size or 0)  # gdb reads the whole object, or fails
            return _members(obj, resolved, symbolize, depth)
        if kind is TypeKind.ARRAY:
            return _array(obj, resolved, symbolize, depth)
        return _scalar(obj.prog_, t, obj.value_(), symbolize)
    except PycoreError as error:
        return _error(error)


def _members(obj: Object, resolved: Type, symbolize: Symbolizer, depth: int) -> Node:
    """A struct or union; an unnamed member (an anonymous struct or union) lists its own members,
    reached by name through ``obj`` as C reaches them."""
    members = []
    for member in resolved.members or ():
        if member.name is None:
            value = _members(obj, member.type.resolved(), symbolize, depth + 1)
        else:
            value = value_tree(obj.member_(member.name), symbolize, depth + 1)
        members.append({"name": member.name, "value": value})
    return {"kind": resolved.kind.value, "members": members}


def _array(obj: Object, resolved: Type, symbolize: Symbolizer, depth: int) -> Node:
    """An array: a char array as its bytes, others element by element (at most 256, gdb's
    ``print elements``).  An array of unknown length (``extern const char linux_banner[]``, a
    flexible array member) prints as gdb prints it, as the address of its first element."""
    element = resolved.type
    if resolved.length is None:
        if obj.address_ is None:
            return {"kind": "error", "message": "an array of unknown length not in memory"}
        return _pointer(obj.prog_, element, obj.address_, symbolize, None)  # type: ignore[arg-type]
    if is_char(element):  # type: ignore[arg-type]
        return {"kind": "chars", "data": bytes(v & 0xFF for v in obj.value_()).hex()}
    count = min(resolved.length, ELEMENTS)
    element_kind = element.resolved().kind  # type: ignore[union-attr]
    if element_kind in (TypeKind.INT, TypeKind.BOOL, TypeKind.ENUM, TypeKind.POINTER, TypeKind.FLOAT):
        values = obj.value_()[:count]
        items = [_scalar(obj.prog_, element, value, symbolize) for value in values]  # type: ignore[arg-type]
    else:
        items = [value_tree(obj[i], symbolize, depth + 1) for i in range(count)]
    return {"kind": "array", "elements": items, "truncated": resolved.length > ELEMENTS}


def _scalar(prog, t: Type, value: Any, symbolize: Symbolizer) -> Node:
    resolved = t.resolved()
    kind = resolved.kind
    if kind is TypeKind.POINTER:
        return _pointer(prog, resolved.type, value, symbolize, t)  # type: ignore[arg-type]
    if kind is TypeKind.BOOL:
        return {"kind": "bool", "value": bool(value)}
    if kind is TypeKind.FLOAT:
        return {"kind": "float", "value": value, "size": resolved.size}
    if kind is TypeKind.ENUM:
        return {"kind": "enum", "value": value, "size": resolved.size, "name": enum_name(resolved, value)}
    return {"kind": "int", "value": value, "size": resolved.size, "char": is_char(t)}


def _pointer(prog, target: Type, address: int, symbolize: Symbolizer, t: Optional[Type]) -> Node:
    """A pointer (``t``, None for an array's decayed address): its symbol, and the string a char
    pointer points at.  gdb leaves the type out of a top-level ``char *`` (an unnamed pointer to a
    type named exactly char): the string shows it."""
    function = target.resolved().kind is TypeKind.FUNCTION
    node: Node = {"kind": "pointer", "value": address, "function": function,
                  "symbol": symbolize(address) if address else None,
                  "type": None if t is None else declaration(t),
                  "bare": t is None or (t.kind is TypeKind.POINTER and target.name == "char")}
    if is_char(target) and address and not function:
        node["string"] = _read_string(prog, address)
    return node


def enum_name(t: Type, value: int) -> Optional[str]:
    """What gdb prints for ``value`` of enum ``t``: the enumerator's name; for a flag enum (values
    of one bit each, none shared) the flags as ``(A | B)``, ``(A | unknown: 0x8)``, ``0``; None
    when gdb prints the number."""
    enumerators = t.enumerators or ()
    for enumerator in enumerators:
        if enumerator.value == value:
            return enumerator.name
    mask = 0
    for enumerator in enumerators:
        if enumerator.value < 0 or bin(enumerator.value).count("1") > 1 or mask & enumerator.value:
            return None
        mask |= enumerator.value
    parts = []
    left = value
    for enumerator in enumerators:
        if left & enumerator.value:
            parts.append(enumerator.name)
            left &= ~enumerator.value
    if left:
        parts.append(f"unknown: {left:#x}")
    return "(" + " | ".join(parts) + ")" if parts else "0"


def escape(data: bytes, quote: str) -> str:
    """Bytes as gdb writes them inside quotes: printable ASCII as is, the usual backslash
    escapes, anything else as three octal digits."""
    out = []
    position = 0
    while position < len(data):
        byte = data[position]
        position += 1
        char = chr(byte)
        if char in (quote, "\\"):
            out.append("\\" + char)
        elif byte in _ESCAPES:
            out.append(_ESCAPES[byte])
        elif 32 <= byte < 127:
            out.append(char)
        else:
            decoded = _utf8_at(data, position - 1)
            if decoded is not None:
                out.append(decoded)
                position += len(decoded.encode()) - 1
            else:
                out.append(f"\\{byte:03o}")
    return "".join(out)


def _utf8_at(data: bytes, position: int) -> Optional[str]:
    """The printable character a valid UTF-8 sequence at ``position`` spells, else None: gdb
    (on a UTF-8 host, as crash's recordings were made) prints those as characters."""
    lead = data[position]
    length = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
    if not length:
        return None
    try:
        char = data[position:position + length].decode("utf-8")
    except UnicodeDecodeError:
        return None
    # glibc's iswprint, which gdb asks, counts the private use areas printable; Python does not.
    printable = char.isprintable() or unicodedata.category(char) == "Co"
    return char if len(char) == 1 and printable else None


def _integer(value: int, size: Optional[int], fmt: Optional[str]) -> str:
    """An integer as /x (two's complement at the type's size), /d (signed) or plain."""
    bits = 8 * (size or 8)
    if fmt == "x":
        return f"{value & ((1 << bits) - 1):#x}"
    if fmt == "d":
        value &= (1 << bits) - 1
        return str(value - (1 << bits) if value >> (bits - 1) else value)
    return str(value)


def _string_literal(data: bytes, truncated: bool) -> str:
    return '"' + escape(data, '"') + '"' + ("..." if truncated else "")


def format_value(node: Node, fmt: Optional[str] = None, radix: int = 10, level: int = 0, top: bool = False) -> str:
    """gdb's text of a :func:`value_tree` node.  ``fmt`` is a print format letter (``x``, ``d``,
    as ``p/x``), ``radix`` the output radix (crash's ``-x`` sets 16: integers in hex, strings and
    symbols kept); ``level`` the nesting (two columns each); ``top`` the value ``p`` prints itself,
    where a pointer shows its type as ``(struct task_struct *) 0x...`` and a function its prototype."""
    if fmt is None and radix == 16:
        fmt_scalar: Optional[str] = "x"
    else:
        fmt_scalar = fmt
    kind = node["kind"]
    if kind == "int":
        text = _integer(node["value"], node["size"], fmt_scalar)
        if node["char"] and fmt_scalar is None:
            text += " '" + escape(bytes([node["value"] & 0xFF]), "'") + "'"
        return text
    if kind == "bool":
        return _integer(int(node["value"]), 1, fmt_scalar) if fmt_scalar else ("true" if node["value"] else "false")
    if kind == "float":  # gdb's %g with the digits that round-trip the type (float 9, double 17)
        return f"{node['value']:.{9 if node['size'] == 4 else 17}g}"
    if kind == "enum":  # the output radix leaves enumerators by name (gdb's generic_val_print_enum)
        if fmt or node["name"] is None:
            return _integer(node["value"], node["size"], fmt)
        return node["name"]
    if kind == "error":
        return f"<error: {node['message']}>"
    if kind == "function":
        text = f"{node['address']:#x}" + (f" <{node['symbol']}>" if node["symbol"] else "")
        return "{" + node["type"] + "} " + text if top else text
    if kind == "pointer":
        return _format_pointer(node, fmt, top)
    if kind == "chars":
        data = bytes.fromhex(node["data"])
        if fmt is not None:
            items = [_integer(b - 256 if fmt == "d" and b > 127 else b, 1, fmt) for b in data[:ELEMENTS]]
            return "{" + ", ".join(items) + ("..." if len(data) > ELEMENTS else "") + "}"
        truncated = len(data) > ELEMENTS
        if not truncated and data.endswith(b"\0"):
            data = data[:-1]
        return _string_literal(data[:ELEMENTS], truncated)
    if kind == "array":
        items = [format_value(item, fmt, radix, level + 1) for item in node["elements"]]
        return "{" + ", ".join(items) + ("..." if node["truncated"] else "") + "}"
    return _format_members(node, fmt, radix, level)


def _format_pointer(node: Node, fmt: Optional[str], top: bool) -> str:
    if fmt is not None:
        return _integer(node["value"], 8, fmt)
    text = f"{node['value']:#x}"
    if node["symbol"]:
        text += f" <{node['symbol']}>"
    string = node.get("string")
    if string is not None:
        if string.get("kind") == "error":
            text += f" <error: {string['message']}>"
        else:
            text += " " + _string_literal(bytes.fromhex(string["data"]), string["truncated"])
            if "error" in string:
                text += f"<error: {string['error']}>"
    if top and not node["bare"]:
        text = f"({node['type']}) " + text
    return text


def _format_members(node: Node, fmt: Optional[str], radix: int, level: int) -> str:
    """A struct or union, one member a line, indented as gdb's ``set print pretty on`` does."""
    inner = "  " * (level + 1)
    lines = []
    for member in node["members"]:
        value = format_value(member["value"], fmt, radix, level + 1)
        lines.append(inner + (f"{member['name']} = {value}" if member["name"] is not None else value))
    if not lines:  # a struct with no members (lockdep's empty lock_class_key without lockdep)
        return "{<No data fields>}"
    return "{\n" + ",\n".join(lines) + "\n" + "  " * level + "}"


def member_lines(node: Node, name: str, fmt: Optional[str] = None, radix: int = 10, last: bool = False) -> List[str]:
    """One member as crash's ``struct TYPE.member ADDRESS`` prints it, the lines of gdb's whole
    struct it keeps: ``  name = value,`` at the first level (a struct value's lines following),
    without the comma for the ``last`` member of the struct or union holding it."""
    return f"  {name} = {format_value(node, fmt, radix, 1)}{'' if last else ','}".split("\n")
