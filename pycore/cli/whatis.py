"""``pycore whatis DUMP ARG``: crash 9's ``whatis``, the declaration of a symbol (``struct task_struct
init_task;``, ``void panic(const char *, ...);``), the layout of a type (with its SIZE), one member's
offset (``task_struct.comm``) or an expression's type.  Any kernel version: types come from DWARF or
BTF, a variable's type without DWARF from pycore.types.known_globals, a function's from BTF.
"""
import argparse
from typing import Any, Dict, List

from ..errors import MissingDebugInfoError
from ..expression import evaluate, function_prototype
from ..program import Program
from ..types.cdecl import declaration, function_declaration
from ..types.model import Type, TypeKind, TypeNotFoundError
from .command import DumpCommand
from .struct import definition_lines, member_declaration_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", dest="offsets", action="store_true", help="show a struct's member offsets")
    parser.add_argument("words", nargs="+", metavar="ARG",
                        help="a symbol, a type (struct NAME, union NAME, enum NAME, a typedef), TYPE.member, "
                             "or an expression")


def _find(prog: Program, spelling: str):
    try:
        return prog.type(spelling)
    except (TypeNotFoundError, MissingDebugInfoError):
        return None


def type_lines(t: Type, offsets: bool = False) -> List[str]:
    """crash's answer for a type: a struct or union (or a typedef of one) laid out with its SIZE
    (and each member's offset with ``offsets``), an enum one enumerator a line, any other typedef
    as ``typedef int pid_t;`` with its SIZE."""
    if t.kind is TypeKind.ENUM:
        return [f"enum {t.name} {{"] + [f"  {e.name} = {e.value}" for e in t.enumerators or ()] + ["};"]
    resolved = t.resolved()
    if resolved.kind in (TypeKind.STRUCT, TypeKind.UNION):
        return definition_lines(t, offsets) + [f"SIZE: {resolved.size}"]
    if t.kind is TypeKind.TYPEDEF:
        # gdb's ptype, which crash shows, strips the typedefs at the top of the chain only.
        target = t.type
        while target is not None and target.kind is TypeKind.TYPEDEF:
            target = target.type
        return [f"typedef {declaration(target, t.name or '')};", f"SIZE: {t.size}"]  # type: ignore[arg-type]
    return [declaration(t), f"SIZE: {t.size}"]


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    text = " ".join(args.words).strip()
    first = text.split(".", 1)[0]
    if text.split()[0] in ("struct", "union", "enum"):
        t = _find(prog, text)
        if t is None:
            raise TypeNotFoundError(f"whatis: invalid data structure reference: {text}")
        return {"argument": text, "lines": type_lines(t, args.offsets)}
    if text.isidentifier():
        if text in prog.symbols:
            return {"argument": text, "lines": [symbol_declaration(prog, text) + ";"]}
        for spelling in (text, f"struct {text}", f"union {text}", f"enum {text}"):
            t = _find(prog, spelling)
            if t is not None:
                return {"argument": text, "lines": type_lines(t, args.offsets)}
    elif "." in text and first.isidentifier() and first not in prog.symbols:
        for spelling in (f"struct {first}", f"union {first}", first):
            t = _find(prog, spelling)
            if t is not None and t.resolved().kind in (TypeKind.STRUCT, TypeKind.UNION):
                return {"argument": text, "lines": member_declaration_lines(t, text.split(".", 1)[1])}
    return {"argument": text, "lines": [evaluate(prog, text).value.type_.type_name()]}


def symbol_declaration(prog: Program, name: str) -> str:
    """``struct task_struct init_task``, ``void panic(const char *, ...)``: a symbol declared with
    the type the debug info gives it."""
    try:
        return declaration(prog.object(name).type_, name)
    except MissingDebugInfoError:
        prototype = function_prototype(prog, name)
        if prototype is None:
            raise
        return function_declaration(name, prototype)


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    return "\n".join(data["lines"])


COMMAND = DumpCommand("whatis", add_arguments=add_arguments, collect=collect, render=render,
                      description="The declaration of a symbol, the layout of a type, or the type of an expression.")
