"""Types written as C declarations, the way gdb's ``ptype`` and ``whatis`` write them.

Independent of the debug-info source (DWARF or BTF) and of any kernel version: a declarator for a
name (``char comm[16]``, ``void (*func)(struct callback_head *)``, ``unsigned int x : 1``) and a
struct, union or enum body laid out line by line, so that a caller can frame it (crash's
``SIZE:`` line and ``-o`` offsets, drgn's tabs) without parsing text.
"""
from typing import List, NamedTuple, Optional

from .model import Qualifiers, Type, TypeKind

# gdb indents each level of a struct body by four columns (c_type_print_base_struct_union).
INDENT = "    "


def _qualifier_prefix(t: Type) -> str:
    words = [word for flag, word in ((Qualifiers.CONST, "const"), (Qualifiers.VOLATILE, "volatile"),
                                     (Qualifiers.RESTRICT, "restrict")) if t.qualifiers & flag]
    return " ".join(words) + " " if words else ""


def _specifier(t: Type) -> str:
    """The type specifier left once the declarator is peeled off: ``const struct list_head``,
    ``unsigned long``; an anonymous struct, union or enum is ``struct {...}``."""
    if t.kind in (TypeKind.STRUCT, TypeKind.UNION, TypeKind.ENUM):
        return f"{_qualifier_prefix(t)}{t.kind.value} {t.name if t.name is not None else '{...}'}"
    return _qualifier_prefix(t) + (t.name or "void")


def _declarator(t: Type, inner: str) -> "tuple[Type, str]":
    """Peel pointers, arrays and functions off ``t`` around ``inner`` (C's inside-out declarator);
    returns the type left (the specifier) and the declarator text."""
    while True:
        kind = t.kind
        if kind is TypeKind.POINTER:
            quals = _qualifier_prefix(t).strip()
            inner = "*" + (" " + quals + (" " if inner else "") if quals else "") + inner
            target = t.type
            if target is not None and target.kind in (TypeKind.ARRAY, TypeKind.FUNCTION):
                inner = "(" + inner + ")"
            t = target  # type: ignore[assignment]
        elif kind is TypeKind.ARRAY:
            inner += f"[{'' if t.length is None else t.length}]"
            t = t.type  # type: ignore[assignment]
        elif kind is TypeKind.FUNCTION:
            inner += "(" + parameter_list(t) + ")"
            t = t.type  # type: ignore[assignment]
        else:
            return t, inner


def parameter_list(function: Type) -> str:
    """A prototype's parameter types as gdb lists them: ``const char *, ...``, or ``void``."""
    params = [declaration(p.type) for p in function.parameters or ()]
    if function.is_variadic:
        params.append("...")
    return ", ".join(params) or "void"


def declaration(t: Type, name: str = "", bit_field_size: int = 0) -> str:
    """``t`` declaring ``name`` on one line, as gdb writes it: ``struct list_head *next``,
    ``char comm[16]``, ``void (*func)(struct callback_head *)``, ``unsigned int flag : 1``; with no
    name, the type's own spelling (``struct task_struct *``, ``char [16]``).  An anonymous struct,
    union or enum is written ``struct {...}``."""
    base, inner = _declarator(t, name)
    text = _specifier(base) + (" " + inner if inner else "")
    if bit_field_size:
        text += f" : {bit_field_size}"
    return text


def function_declaration(name: str, function: Type) -> str:
    """A function's prototype with its name: ``void panic(const char *, ...)``."""
    return declaration(function, name)


class Line(NamedTuple):
    """One line of a struct, union or enum body.

    ``depth`` is the nesting level (0 for the outer braces), ``text`` the line without its
    indentation, ``bit_offset`` the member's offset in bits from the start of the outermost type
    (None for a line that opens or closes a nested anonymous type, and for enumerators).
    """

    depth: int
    text: str
    bit_offset: Optional[int]
    bit_field_size: int = 0


def body_lines(t: Type, depth: int = 0, base_bits: int = 0, declarator: str = "") -> List[Line]:
    """The body of a struct, union or enum as gdb's ``ptype`` prints it: the opening line
    (``struct list_head {``), each member (anonymous struct and union members written out in
    place, one level deeper), and the closing line (``}``, or ``} declarator;``).  Enums are
    written on one line: ``enum pid_type {PIDTYPE_PID, PIDTYPE_TGID, ...}``."""
    t = t.unqualified() if t.kind is not TypeKind.TYPEDEF else t
    tag = f"{t.kind.value} {t.name} " if t.name is not None else f"{t.kind.value} "
    closing = "}" + (" " + declarator + ";" if declarator else "")
    if t.kind is TypeKind.ENUM:
        return [Line(depth, tag + "{" + enumerator_list(t) + closing, None)]
    if t.members is None:
        return [Line(depth, f"{t.kind.value} {t.name or '{...}'}" + (" " + declarator + ";" if declarator else ""),
                     None)]
    lines = [Line(depth, tag + "{", None)]
    for member in t.members:
        bits = base_bits + member.bit_offset
        member_type = member.type
        base, inner = _declarator(member_type, member.name or "")
        if base.kind in (TypeKind.STRUCT, TypeKind.UNION) and base.name is None:
            nested = body_lines(base, depth + 1, bits, inner)
            if member.name is None:
                nested[-1] = Line(depth + 1, "};", None)
            lines.append(Line(depth + 1, _qualifier_prefix(base) + nested[0].text, None))
            lines.extend(nested[1:-1])
            lines.append(Line(depth + 1, nested[-1].text, bits if member.name else None))
            continue
        if base.kind is TypeKind.ENUM and base.name is None:
            text = _qualifier_prefix(base) + "enum {" + enumerator_list(base) + "}" + (" " + inner if inner else "")
        else:
            text = declaration(member_type, member.name or "")
        if member.bit_field_size:
            text += f" : {member.bit_field_size}"
        lines.append(Line(depth + 1, text + ";", bits, member.bit_field_size))
    lines.append(Line(depth, closing, None))
    return lines


def enumerator_list(t: Type) -> str:
    """``A, B, C = 8`` as gdb lists an enum's values: a value is written only where it is not one
    more than the one before (the first is expected to be 0)."""
    parts = []
    expected = 0
    for enumerator in t.enumerators or ():
        parts.append(enumerator.name if enumerator.value == expected else f"{enumerator.name} = {enumerator.value}")
        expected = enumerator.value + 1
    return ", ".join(parts)


def definition(t: Type, indent: str = INDENT) -> str:
    """gdb's ``ptype`` text of a struct, union or enum (``indent`` per level), without ``type = ``."""
    return "\n".join(indent * line.depth + line.text for line in body_lines(t))
