"""``pycore p DUMP EXPR``: crash 9's ``p`` (gdb's ``print``) of a C expression, on any kernel.

``p /x EXPR`` and ``p /d EXPR`` are gdb's format letters (the crash prompt's ``p/x EXPR``),
``-x`` and ``-d`` crash's output radix.  A bare symbol is printed as crash prints it,
``jiffies = $1 = 4294896206``; values are numbered from ``$1`` in a session, and at the prompt
``$``, ``$$``, ``$N`` and ``$$N`` name them again (gdb's value history).
"""
import argparse
from typing import Any, Dict, List, Optional

from ..errors import FaultError
from ..expression import ExpressionError, HistoryError, evaluate
from ..kernel import sched
from ..kernel.percpu import per_cpu_address
from ..object import Object
from ..program import Program
from ..types.cdecl import declaration
from .command import DumpCommand
from .gdbfmt import format_value, symbolizer, value_tree

_FORMATS = ("x", "d")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    radix = parser.add_mutually_exclusive_group()
    radix.add_argument("-x", dest="radix", action="store_const", const=16, help="integers in hexadecimal")
    radix.add_argument("-d", dest="radix", action="store_const", const=10, help="integers in decimal")
    parser.add_argument("expression", nargs="+",
                        help="a C expression (symbol, .member, ->, [i], &, *, casts); /x or /d first for a format")


def split_format(words: List[str]) -> "tuple[Optional[str], str]":
    """gdb's ``/FMT`` in front of the expression (``p /x jiffies``, or ``p/x`` typed at the prompt
    and passed as ``/x``): the format letter and the expression text."""
    text = " ".join(words).strip()
    if not text.startswith("/"):
        return None, text
    letters, _, rest = text[1:].partition(" ")
    if letters not in _FORMATS:
        raise ExpressionError(f"undefined output format \"{letters}\" (pycore knows /x and /d)")
    return letters, rest.strip()


def value_number(args: argparse.Namespace, value: Optional[Object]) -> int:
    """gdb's value history number for the value printed now: ``$1`` for a standalone command; the
    crash prompt keeps one list per session in ``args.value_history`` (Objects, None for void), and
    each value joins it."""
    history = getattr(args, "value_history", None)
    if history is None:
        return 1
    history.append(value)
    return len(history)


def per_cpu_addresses(prog: Program, address: int) -> Optional[List[int]]:
    """Each CPU's copy of the per-CPU variable at ``address`` (an offset in the per-CPU section,
    ``__per_cpu_start`` to ``__per_cpu_end``, every SMP kernel), CPU 0 first; None for an address
    outside that section."""
    try:
        start, end = prog.symbol("__per_cpu_start").address, prog.symbol("__per_cpu_end").address
    except LookupError:
        return None
    if not start <= address < end:
        return None
    return [per_cpu_address(prog, address, cpu) for cpu in range(sched.nr_cpus(prog))]


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    fmt, text = split_format(args.expression)
    if not text:
        raise ExpressionError("no expression to print")
    history = getattr(args, "value_history", None)
    try:
        evaluated = evaluate(prog, text, history)
    except HistoryError:
        # gdb's own words stay inside crash, which says only that the request failed.
        raise ExpressionError(f"gdb request failed: p {text}") from None
    if evaluated.value is None:  # gdb's void: a convenience variable never set, or a void $N
        return {"expression": text, "symbol": None, "format": fmt, "radix": args.radix or 10,
                "number": value_number(args, None), "value": None}
    copies = None
    if evaluated.symbol is not None and evaluated.value.address_ is not None:
        copies = per_cpu_addresses(prog, evaluated.value.address_)
    if copies is not None:  # crash shows where each CPU's copy is, not a value
        return {"expression": text, "symbol": evaluated.symbol, "per_cpu": copies,
                "declaration": declaration(evaluated.value.type_, evaluated.symbol)}
    value = value_tree(evaluated.value, symbolizer(prog))
    if value["kind"] == "error":  # gdb prints no value, only why (and numbers none)
        raise FaultError(value["message"])
    return {"expression": text, "symbol": evaluated.symbol, "format": fmt, "radix": args.radix or 10,
            "number": value_number(args, evaluated.value), "value": value}


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if "per_cpu" in data:
        return "\n".join(["PER-CPU DATA TYPE:", f"  {data['declaration']};", "PER-CPU ADDRESSES:"]
                         + [f"  [{cpu}]: {address:x}" for cpu, address in enumerate(data["per_cpu"])])
    line = f"${data['number']} = "
    if data["value"] is None:
        return line + "void"
    text = format_value(data["value"], data["format"], data["radix"], top=True)
    if data["symbol"] is None or data["format"] is not None:
        return line + text
    # crash puts "NAME = " before gdb's answer for a bare symbol (not after p/FMT), and starts an
    # aggregate that gdb writes on one line (an array, a function) on the next line, one column in.
    if text.startswith("{") and text.split("\n", 1)[0] != "{":
        text = "\n " + text
    return f"{data['symbol']} = {line}{text}"


COMMAND = DumpCommand("p", add_arguments=add_arguments, collect=collect, render=render,
                      description="Print the value of a C expression as crash (gdb) prints it.")
