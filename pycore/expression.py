"""The C expressions crash's commands take (``p init_task.tasks``, ``*(struct list_head *)0x...``),
parsed and evaluated to :class:`~pycore.object.Object` values.

A subset of gdb's C: symbols, integer literals, ``.member``, ``->member``, ``[index]``, unary ``&``,
``*``, ``-`` and ``~``, casts to a type spelling, the binary arithmetic and bitwise operators (their
C meaning is pycore.object's: promotions, pointer arithmetic), parentheses, and gdb's value
history (``$``, ``$$``, ``$N``, ``$$N``) when a session keeps one.  Any kernel version: everything
is asked of the Program's symbols and types.
"""
import operator
import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

from .errors import MissingDebugInfoError, PycoreError
from .object import Object, cast
from .types.model import Type, TypeKind, TypeNotFoundError, pointer_type

_MASK64 = (1 << 64) - 1


class ExpressionError(PycoreError, ValueError):
    """An expression that does not parse, or names what the dump does not have."""


class HistoryError(ExpressionError):
    """A value history reference past the values printed so far (``$9`` after three), or inside an
    expression where the value is void."""


class Token(NamedTuple):
    kind: str  # "name", "number", "op", "end"
    text: str
    position: int


_TOKEN = re.compile(r"\s*(?:(?P<number>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<name>[A-Za-z_$][\w$]*)"
                    r"|(?P<op>->|<<|>>|[-+*/%&|^~.\[\]()]))")


# crash's expressions are a few tokens long; the bound keeps the recursive descent (four calls a
# parenthesis) far from Python's recursion limit whatever is typed.
MAX_TOKENS = 200


def tokenize(text: str) -> List[Token]:
    """The tokens of ``text``; ExpressionError at the first character that is none, or past
    :data:`MAX_TOKENS`."""
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot parse {text!r} at {text[position:].strip()!r}")
        kind = match.lastgroup or "op"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(f"expression longer than {MAX_TOKENS} tokens")
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# The parse tree: nested tuples whose first item names the node.
Node = Tuple
# C's precedence, loosest first; each level's operators associate to the left.
_BINARY_LEVELS = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"), ("*", "/", "%"))
_UNARY = {"&": "address_of", "*": "dereference", "-": "negate", "~": "invert"}
_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod,
              "<<": operator.lshift, ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor}


class _Parser:
    """Recursive descent over the tokens; a parenthesized type spelling is a cast when the
    Program's types know it (gdb's rule, which needs the type index to decide)."""

    def __init__(self, text: str, is_type):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.is_type = is_type

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self, text: Optional[str] = None) -> Token:
        token = self.peek()
        if text is not None and token.text != text:
            found = token.text or "the end"
            raise ExpressionError(f"cannot parse {self.text!r}: expected {text!r} at {found!r}")
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek().kind != "end":
            raise ExpressionError(f"cannot parse {self.text!r} at {self.text[self.peek().position:]!r}")
        return node

    def binary(self, level: int) -> Node:
        """C's binary operators, loosest first (``|`` ... ``*``), each left-associative."""
        if level == len(_BINARY_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in _BINARY_LEVELS[level]:
            op = self.take().text
            node = ("binary", op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in _UNARY:
            self.take()
            return (_UNARY[token.text], self.unary())
        if token.text == "(":
            spelling = self._type_spelling()
            if spelling is not None:
                return ("cast", spelling, self.unary())
        return self.postfix()

    def _type_spelling(self) -> Optional[str]:
        """The type spelled between the parentheses at the current token, consumed, or None
        (and nothing consumed) when they hold an expression."""
        depth, end = 0, self.index
        while True:
            token = self.tokens[end]
            if token.kind == "end":
                return None
            if token.text == "(":
                depth += 1
            elif token.text == ")":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        inner = self.tokens[self.index + 1:end]
        if not inner or inner[0].kind != "name":
            return None
        spelling = self.text[inner[0].position:inner[-1].position + len(inner[-1].text)]
        if not self.is_type(spelling):
            return None
        self.index = end + 1
        return spelling

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            token = self.peek()
            if token.text in (".", "->"):
                self.take()
                name = self.take()
                if name.kind != "name":
                    raise ExpressionError(f"cannot parse {self.text!r}: a member name must follow {token.text!r}")
                node = ("member", node, name.text, token.text)
            elif token.text == "[":
                self.take()
                index = self.binary(0)
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return ("number", int(token.text, 0))
        if token.kind == "name":
            return ("symbol", token.text)
        if token.text == "(":
            node = self.binary(0)
            self.take(")")
            return node
        raise ExpressionError(f"cannot parse {self.text!r} at {token.text or 'the end'!r}")


def parse(text: str, is_type=lambda spelling: False) -> Node:
    """The parse tree of ``text``; ``is_type(spelling)`` says whether a parenthesized spelling
    names a type (a cast) rather than an expression."""
    return _Parser(text, is_type).parse()


def _type_known(prog, spelling: str) -> bool:
    try:
        prog.type(spelling)
    except (TypeNotFoundError, MissingDebugInfoError):
        return False
    return True


class Evaluated(NamedTuple):
    """What an expression came to: the value (None for gdb's void: a convenience variable, or a
    history value that was one), and the symbol it named when it was a bare name (crash prints
    ``jiffies = $1 = ...`` for those)."""

    value: Optional[Object]
    symbol: Optional[str]


# gdb's value history: $ (the last value), $$ (the one before), $N (the Nth), $$N (N back from the last).
_HISTORY = re.compile(r"\$(?:(\d+)|\$(\d*))?")


def history_value(history: Sequence[Optional[Object]], name: str) -> Optional[Object]:
    """The value ``name`` (``$``, ``$$``, ``$N``, ``$$N``) refers to in ``history`` (values from $1
    on; None is void), or None (void) for any other ``$name``, a convenience variable gdb has never
    set.  HistoryError for a number the history has not reached."""
    match = _HISTORY.fullmatch(name)
    if match is None:
        return None
    number, back = match.groups()
    if number is not None:
        index = int(number)
    else:
        index = len(history) - (int(back or "1") if back is not None else 0)
    if not 1 <= index <= len(history):
        raise HistoryError(f"History has not yet reached ${index}.")
    return history[index - 1]


def evaluate(prog, text: str, history: Optional[Sequence[Optional[Object]]] = None) -> Evaluated:
    """Evaluate the C expression ``text`` in ``prog``.

    A name is a global variable (its type from the debug info or pycore.types.known_globals) or a
    function (its prototype from BTF); ExpressionError or MissingDebugInfoError say what is
    missing.  With ``history`` (a session's printed values, $1 first), ``$`` names are gdb's
    value history and convenience variables.  Reading memory happens later, when the value is
    printed."""
    tree = parse(text, lambda spelling: _type_known(prog, spelling))
    if history is not None and tree[0] == "symbol" and tree[1].startswith("$"):
        return Evaluated(history_value(history, tree[1]), None)
    value = _evaluate(prog, tree, history)
    return Evaluated(value, tree[1] if tree[0] == "symbol" else None)


def _literal(prog, value: int) -> Object:
    """An integer literal typed as C types it: int, long or unsigned long by magnitude."""
    for spelling, limit in (("int", 1 << 31), ("long", 1 << 63), ("unsigned long", 1 << 64)):
        if value < limit:
            return Object(prog, prog.type(spelling), value)
    raise ExpressionError(f"integer constant {value:#x} is larger than 64 bits")


def symbol_object(prog, name: str) -> Object:
    """The variable or function called ``name``, as an Object at its address."""
    try:
        symbol = prog.symbol(name)
    except LookupError:
        raise ExpressionError(f"no symbol \"{name}\" in current context") from None
    try:
        return prog.object(name)
    except MissingDebugInfoError:
        prototype = function_prototype(prog, name)
        if prototype is None:
            raise
        return Object(prog, prototype, address=symbol.address)


def function_prototype(prog, name: str) -> Optional[Type]:
    """The prototype of kernel function ``name`` from the BTF that describes it (the dump's own, or
    the vmlinux's .BTF when DWARF is the type source: pycore's DWARF index holds no functions)."""
    lookup = getattr(prog.types, "function_type", None)
    if lookup is not None:
        return lookup(name)
    if prog.vmlinux:
        from .types.btf import load_vmlinux_btf
        index = load_vmlinux_btf(prog.vmlinux)
        if index is not None:
            return index.function_type(name)
    return None


def _evaluate(prog, node: Node, history: Optional[Sequence[Optional[Object]]] = None) -> Object:
    kind = node[0]
    if kind == "number":
        return _literal(prog, node[1])
    if kind == "symbol":
        if history is not None and node[1].startswith("$"):
            value = history_value(history, node[1])
            if value is None:
                raise HistoryError(f"{node[1]} is void")
            return value
        return symbol_object(prog, node[1])
    if kind == "member":
        base = _evaluate(prog, node[1], history)
        if node[3] == "->" and base.type_.resolved().kind is not TypeKind.POINTER:
            raise ExpressionError(f"the left operand of -> has type {base.type_.type_name()}, not a pointer")
        return base.member_(node[2])
    if kind == "index":
        base = _evaluate(prog, node[1], history)
        return base[int(_evaluate(prog, node[2], history))]
    if kind == "address_of":
        target = _evaluate(prog, node[1], history)
        if target.type_.resolved().kind is TypeKind.FUNCTION and target.address_ is not None:
            return Object(prog, pointer_type(target.type_), target.address_)
        try:
            return target.address_of_()
        except ValueError:
            raise ExpressionError("attempt to take the address of a value not located in memory") from None
    if kind == "dereference":
        target = _evaluate(prog, node[1], history)
        if target.type_.resolved().kind is TypeKind.ARRAY:
            return target[0]
        if target.type_.resolved().kind is TypeKind.FUNCTION:
            return target
        return target.dereference_()
    if kind == "negate":
        return -_evaluate(prog, node[1], history)
    if kind == "invert":
        return ~_evaluate(prog, node[1], history)
    if kind == "cast":
        return _cast(prog, node[1], _evaluate(prog, node[2], history))
    if kind == "binary":
        left, right = _evaluate(prog, node[2], history), _evaluate(prog, node[3], history)
        try:
            return _OPERATORS[node[1]](left, right)
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
    raise ExpressionError(f"cannot evaluate {kind}")  # pragma: no cover


def _cast(prog, spelling: str, operand: Object) -> Object:
    """``(type)operand``: scalars and pointers convert; an array or a function is its address
    first, as C converts them."""
    target = prog.type(spelling)
    resolved = operand.type_.resolved()
    if resolved.kind in (TypeKind.ARRAY, TypeKind.FUNCTION):
        if operand.address_ is None:
            raise ExpressionError(f"cannot cast {operand.type_.type_name()} not in memory")
        operand = Object(prog, pointer_type(resolved.type if resolved.kind is TypeKind.ARRAY  # type: ignore[arg-type]
                                            else operand.type_), operand.address_)
    if target.resolved().kind in (TypeKind.STRUCT, TypeKind.UNION, TypeKind.ARRAY):
        raise ExpressionError(f"invalid cast to {target.type_name()}")
    return cast(target, operand)


__all__ = ["ExpressionError", "HistoryError", "Evaluated", "evaluate", "history_value", "parse", "tokenize", "symbol_object", "function_prototype"]
