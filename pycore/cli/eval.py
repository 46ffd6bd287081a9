"""crash's calculator commands: ``eval`` (one binary operation on numbers and symbols), ``ascii``
(a number as the characters it holds), ``ptob`` and ``btop`` (pages and bytes), with crash 9's
number syntax.  Only symbols come from the dump, so these answer alike on every kernel version."""
import argparse
import re
from typing import Any, Dict, List, Optional

from ..errors import PycoreError
from ..program import Program
from .command import DumpCommand

_MASK64 = (1 << 64) - 1
_PAGE_SHIFT = 12
# crash's eval takes the first of these characters as the operator (a leading minus is a sign).
_OPERATORS = "#><+-&|*/%^"
_SUFFIXES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class EvalError(PycoreError, ValueError):
    """An expression crash would call invalid (the message is crash's)."""


def _number(text: str, hex_bias: bool = False) -> int:
    """crash's ``stol``/``htol``: ``0x`` means hexadecimal; otherwise decimal digits are decimal
    (hexadecimal with ``hex_bias``) and any of a-f makes the number hexadecimal."""
    lower = text.lower()
    if lower.startswith("0x"):
        digits, base = lower[2:], 16
    elif hex_bias or re.search("[a-f]", lower):
        digits, base = lower, 16
    else:
        digits, base = lower, 10
    if not digits or not re.fullmatch("[0-9a-f]+" if base == 16 else "[0-9]+", digits):
        raise EvalError(f"invalid number: {text}")
    return int(digits, base)


def _symbol_value(prog: Optional[Program], name: str) -> Optional[int]:
    """The address of a kernel symbol, else of a loaded module's (crash's ``symbol_search``)."""
    if prog is None or not re.fullmatch(r"[A-Za-z_.$][\w.$]*", name):
        return None
    try:
        return prog.symbols.by_name(name).address
    except LookupError:
        pass
    from ..kernel import module

    index = module.module_symbol_index(prog)
    for loaded in index.modules:
        table = index.table(loaded)
        if name in table:
            return table.by_name(name).address
    return None


def _value(prog: Optional[Program], text: str) -> int:
    """crash's ``calculate``: a symbol, or a number with an optional k/m/g multiplier and ``~``."""
    text = text.strip()
    complement = text.startswith("~")
    if complement:
        text = text[1:]
    value = _symbol_value(prog, text)
    if value is None:
        factor = _SUFFIXES.get(text[-1:].lower(), 1)
        value = _number(text[:-1] if factor > 1 else text) * factor
    return (~value if complement else value) & _MASK64


def _apply(operator: str, left: int, right: int) -> int:
    if operator in "/%" and right == 0:
        raise EvalError("divide by zero")
    result = {"+": lambda: left + right, "-": lambda: left - right, "&": lambda: left & right,
              "|": lambda: left | right, "*": lambda: left * right, "/": lambda: left // right,
              "%": lambda: left % right, "<": lambda: left << right if right < 64 else 0,
              ">": lambda: left >> right, "^": lambda: left ^ right,
              "#": lambda: pow(left, right, 1 << 64)}[operator]()
    return result & _MASK64


def evaluate(prog: Optional[Program], expression: str) -> int:
    """crash's ``eval_common``: ``(a OP b)`` or ``a OP b`` or one value, where OP is one of
    ``+ - * / % & | ^ << >> #`` (``#`` is a power), a and b numbers (decimal unless ``0x`` or a-f)
    or symbols; no nesting.  The result is an unsigned 64-bit number."""
    work = expression.strip()
    if "(" in work or ")" in work:
        if not (work.startswith("(") and work.endswith(")")) or work.index(")") != len(work) - 1:
            raise EvalError(f"invalid expression: {expression}")
        work = work[1:-1]
        if "(" in work or ")" in work:
            raise EvalError(f"invalid expression: {expression}")
    if work.startswith("-"):
        work = "0" + work  # crash reads a leading minus as 0 - ...
    position = next((i for i, c in enumerate(work) if c in _OPERATORS), None)
    try:
        if position is None:
            return _value(prog, work)
        operator = work[position]
        skip = 1
        if operator in "<>":
            if work[position + 1:position + 2] != operator:
                raise EvalError(f"invalid expression: {expression}")
            skip = 2
        left, right = work[:position].strip(), work[position + skip:].strip()
        if not left or not right:
            raise EvalError(f"invalid expression: {expression}")
        return _apply(operator, _value(prog, left), _value(prog, right))
    except EvalError:
        raise EvalError(f"invalid expression: {expression}") from None


def eval_words(words: List[str]) -> str:
    """The expression crash's ``eval`` evaluates from its words: the first word in parentheses
    alone, else all the words joined (crash's parser keeps ``(...)`` as one word)."""
    joined = " ".join(words)
    start = joined.find("(")
    if start >= 0:
        end = joined.find(")", start)
        return joined[start:end + 1] if end >= 0 else joined[start:]
    return "(" + joined + ")"


def address_argument(prog: Optional[Program], text: str, expressions: bool = False) -> Optional[int]:
    """An address as crash's ``rd``, ``dis`` and ``vtop`` take one: ``(expression)``, a
    hexadecimal number, or a symbol; with ``expressions`` (``dis``) also ``symbol+offset`` and the
    like without parentheses (crash's ``can_eval``).  None when it is none of these (crash: "symbol
    not found")."""
    if text.startswith("("):
        return evaluate(prog, text)
    if re.fullmatch(r"(0[xX])?[0-9a-fA-F]+", text):
        return int(text[2:] if text[:2].lower() == "0x" else text, 16)
    value = _symbol_value(prog, text)
    if value is None and expressions and re.fullmatch(r"[^" + re.escape(_OPERATORS) + r"]+[" + re.escape(_OPERATORS)
                                                      + r"].+", text):
        return evaluate(prog, text)
    return value


def _size_note(value: int) -> str:
    if value < 1 << 10:
        return ""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if value % size == 0:
            return f"({value // size}{unit})"
    return ""


def eval_lines(value: int, bits: bool) -> List[str]:
    """crash's ``print_number``: hexadecimal (with a KB/MB/GB note), decimal (and negative),
    octal, the 64 binary digits, and with ``-b`` the bits set, wrapped before column 77."""
    signed = value - (1 << 64) if value >> 63 else value
    lines = [f"hexadecimal: {value:x}  {_size_note(value)}",
             f"    decimal: {value}  " + (f"({signed})" if signed < 0 else ""),
             f"      octal: {value:o}",
             f"     binary: {value:064b}"]
    if bits:
        header = "   bits set: "
        line, width = header, len(header)
        for bit in range(63, -1, -1):
            if value >> bit & 1:
                word = f"{bit} "
                line += word
                width += len(word)
                if width >= 77:
                    lines.append(line)
                    line, width = " " * len(header), len(header)
        lines.append(line)
    return lines


def _add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-b", dest="bits", action="store_true", help="also list the bits set")
    parser.add_argument("-l", dest="long_long", action="store_true",
                        help="64-bit arithmetic (what x86_64 always does)")
    parser.add_argument("words", metavar="EXPRESSION", nargs="+",
                        help="a value, or 'a OP b' with OP one of + - * / %% & | ^ << >>")


def _collect_eval(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    value = evaluate(prog, eval_words(args.words))
    return {"value": value, "bits_set": [bit for bit in range(63, -1, -1) if value >> bit & 1]}


def _render_eval(data: Dict[str, Any], args: argparse.Namespace) -> str:
    return "\n".join(eval_lines(data["value"], args.bits))


# crash's ascii table, as crash 9 prints it (its rows 0, 7, D and F swap ` with ' and - with _).
_ASCII_TABLE = """
      0    1   2   3   4   5   6   7
    +-------------------------------
  0 | NUL DLE  SP  0   @   P   '   p
  1 | SOH DC1  !   1   A   Q   a   q
  2 | STX DC2  "   2   B   R   b   r
  3 | ETX DC3  #   3   C   S   c   s
  4 | EOT DC4  $   4   D   T   d   t
  5 | ENQ NAK  %   5   E   U   e   u
  6 | ACK SYN  &   6   F   V   f   v
  7 | BEL ETB  `   7   G   W   g   w
  8 |  BS CAN  (   8   H   X   h   x
  9 |  HT  EM  )   9   I   Y   i   y
  A |  LF SUB  *   :   J   Z   j   z
  B |  VT ESC  +   ;   K   [   k   {
  C |  FF  FS  ,   <   L   \\   l   |
  D |  CR  GS  _   =   M   ]   m   }
  E |  SO  RS  .   >   N   ^   n   ~
  F |  SI  US  /   ?   O   -   o  DEL
"""
_CONTROL_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB "
                  "CAN EM SUB ESC FS GS RS US").split()


def ascii_line(value: int) -> str:
    """``%016llx: `` and the eight bytes of ``value`` from the lowest, a control character as
    ``<NAME>``, DEL as ``<DEL>`` and a byte above 0x7f as ``<xx>``."""
    parts = []
    for byte in value.to_bytes(8, "little"):
        if 0x20 <= byte < 0x7f:
            parts.append(chr(byte))
        elif byte < 0x20:
            parts.append(f"<{_CONTROL_NAMES[byte]}>")
        elif byte == 0x7f:
            parts.append("<DEL>")
        else:
            parts.append(f"<{byte:02x}>")
    return f"{value:016x}: " + "".join(parts)


def _add_ascii_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("values", metavar="VALUE", nargs="*", help="hexadecimal numbers (none: the ASCII table)")


def _collect_ascii(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    values = []
    for text in args.values:
        digits = text[2:] if text[:2].lower() == "0x" else text
        if len(digits) > 16:
            raise EvalError(f'input string too large: "{text}" ({len(digits)} vs 16)')
        values.append(_number(text, hex_bias=True))
    return {"values": values}


def _render_ascii(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if not data["values"]:
        return _ASCII_TABLE + "\n"
    return "\n".join(ascii_line(value) for value in data["values"])


def _add_page_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("values", metavar="VALUE", nargs="+")


def _collect_ptob(prog: Program, args: argparse.Namespace) -> List[Dict[str, int]]:
    pages = [_number(text) for text in args.values]
    return [{"pages": page, "bytes": (page << _PAGE_SHIFT) & _MASK64} for page in pages]


def _render_ptob(rows: List[Dict[str, int]], args: argparse.Namespace) -> str:
    return "\n".join(f"{row['pages']:x}: {row['bytes']:x}" for row in rows)


def _collect_btop(prog: Program, args: argparse.Namespace) -> List[Dict[str, int]]:
    addresses = [_number(text, hex_bias=True) for text in args.values]
    return [{"bytes": address, "pages": address >> _PAGE_SHIFT} for address in addresses]


def _render_btop(rows: List[Dict[str, int]], args: argparse.Namespace) -> str:
    return "\n".join(f"{row['bytes']:x}: {row['pages']:x}" for row in rows)


COMMANDS = [
    DumpCommand("eval", _add_eval_arguments, _collect_eval, _render_eval,
                description="evaluate one expression as crash does: hexadecimal, decimal, octal and binary"),
    DumpCommand("ascii", _add_ascii_arguments, _collect_ascii, _render_ascii, json=False,
                description="the characters in hexadecimal values, or the ASCII table"),
    DumpCommand("ptob", _add_page_arguments, _collect_ptob, _render_ptob,
                description="page frame numbers (decimal unless 0x) to byte addresses"),
    DumpCommand("btop", _add_page_arguments, _collect_btop, _render_btop,
                description="byte addresses (hexadecimal) to page frame numbers"),
]
