"""``pycore dis DUMP ADDRESS|SYMBOL [COUNT]``: kernel text disassembled as crash 9's ``dis`` prints it,
in gdb's AT&T syntax with symbolic branch and %rip-relative targets: a whole function by name, COUNT
instructions from an address (one by default), ``-r`` up to an address, ``-f`` from it to the end of
its function, ``-l`` with source lines (from the vmlinux's DWARF).  Any kernel version; needs capstone."""
import argparse
from typing import Any, Dict, List, Optional, Tuple

from ..arch.x86_64_disasm import Instruction, disassemble, instruction_line, is_ftrace_nop, trim_padding
from ..errors import MissingDebugInfoError, PycoreError
from ..program import Program
from .command import Collected, DumpCommand
from .eval import address_argument
from .rd import read_until_fault
from .sym import crash_name, crash_symbol

# The longest x86 instruction, and how far a function may run when no symbol ends it.
_LONGEST = 15
_FUNCTION_LIMIT = 1 << 16
_MODULE_SPACE = (0xFFFFFFFFC0000000, 0xFFFFFFFFFF000000)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("-r", dest="reverse", action="store_true",
                           help="from the start of the function up to and including ADDRESS")
    direction.add_argument("-f", dest="forward", action="store_true", help="from ADDRESS to the end of its function")
    parser.add_argument("-l", dest="lines", action="store_true", help="show source lines (needs --vmlinux)")
    parser.add_argument("address", metavar="ADDRESS", help="a function name, hexadecimal address or (expression)")
    parser.add_argument("count", metavar="COUNT", type=int, nargs="?", help="number of instructions")


def _function(prog: Program, address: int) -> Optional[Tuple[str, int, Optional[int], bool]]:
    """``(name, start, end, exact)`` of the function holding ``address``: the end from the symbol's
    size (a vmlinux's symtab), else the next symbol.  ``exact`` is False where the kernel's kallsyms
    left the size out: the padding before the next symbol is not the function's, and crash (which
    has the vmlinux) leaves it out.  A module's function runs to the next symbol, as crash shows it."""
    table = prog.symbols
    found = table.nearest(address)
    if found is not None:
        symbol = found[0]
        if symbol.size:
            return symbol.name, symbol.address, symbol.address + symbol.size, True
        after = table.neighbour(symbol, 1)
        return symbol.name, symbol.address, after.address if after is not None else None, False
    if _MODULE_SPACE[0] <= address < _MODULE_SPACE[1]:
        from ..kernel import module

        index = module.module_symbol_index(prog)
        loaded = index.module_of(address)
        if loaded is not None:
            found = index.table(loaded).nearest(address)
            if found is not None:
                after = index.table(loaded).neighbour(found[0], 1)
                end = after.address if after is not None else loaded.text_base + loaded.text_size
                return found[0].name, found[0].address, end, True
    return None


def symbolize(prog: Program, address: int) -> Optional[str]:
    """crash's ``symbol+offset`` (decimal) of a kernel or module address, None outside them."""
    hit = crash_symbol(prog, address)
    if hit is None:
        return None
    symbol, offset, _ = hit
    name = crash_name(symbol.name)
    return f"{name}+{offset}" if offset else name


def gdb_symbol(prog: Program, address: int) -> Optional[str]:
    """gdb's ``symbol+offset`` of the address a %rip-relative operand points at: as crash names
    addresses, but none past the end of symbols whose sizes the vmlinux gives, and none for the
    assembler's local labels (``.LC0``)."""
    hit = crash_symbol(prog, address)
    if hit is None or hit[0].name.startswith(".L"):
        return None
    symbol, offset, _ = hit
    if offset:
        sizes = [other.size for other in prog.symbols.symbols_at(symbol.address)]
        if all(sizes) and offset >= max(sizes):
            return None
    name = crash_name(symbol.name)
    return f"{name}+{offset}" if offset else name


def _decode(prog: Program, start: int, end: int, count: Optional[int] = None) -> Tuple[List[Instruction], Optional[str]]:
    """The instructions from ``start`` to ``end`` (at most ``count``), and why they stop short: the
    error of the first byte that could not be read, when the instructions asked for need it (a
    count reads up to the longest instructions could take, which may run into a hole they do not
    reach)."""
    code, fault = read_until_fault(prog.arch.read, start, end - start, 1, prog.dump.page_size)
    instructions = list(disassemble(code, start, count))
    short = count is None or len(instructions) < count
    return instructions, str(fault) if fault is not None and short else None


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    address = address_argument(prog, args.address, expressions=True)
    if address is None:
        raise PycoreError(f"symbol not found: {args.address}")
    lines = None
    if args.lines:
        if not prog.vmlinux:
            raise MissingDebugInfoError("dis -l needs the vmlinux's DWARF line table: give --vmlinux")
        from ..types.dwarf_lines import LineTable

        lines = LineTable(prog.vmlinux, prog.vmcoreinfo.kernel_offset or 0)
    function = _function(prog, address)
    whole = args.count is None and not (args.reverse or args.forward) and function is not None \
        and function[1] == address and address_argument(None, args.address) is None
    if args.reverse or args.forward or whole:
        if function is None:
            raise PycoreError(f"{address:x} is in no function")
        _, start, end, exact = function
        end = end if end is not None else start + _FUNCTION_LIMIT
        instructions, error = _decode(prog, address if args.forward else start, end)
        if not exact:
            instructions = trim_padding(instructions)
        if args.reverse:
            instructions = [i for i in instructions if i.address <= address]
    else:
        count = args.count or 1
        instructions, error = _decode(prog, address, address + count * _LONGEST, count)
    rows: List[Dict[str, Any]] = []

    def named(target: int, rip_relative: bool) -> Optional[str]:
        return gdb_symbol(prog, target) if rip_relative else symbolize(prog, target)
    try:
        for instruction in instructions:
            where = symbolize(prog, instruction.address)
            row = {"address": instruction.address, "symbol": where, "size": instruction.size,
                   "bytes": instruction.raw.hex(), "text": instruction_line(instruction, named),
                   "ftrace_nop": bool(where and "+" not in where and is_ftrace_nop(instruction))}
            if lines is not None:
                found = lines.line(instruction.address)
                row["line"] = f"{found[0]}: {found[1]}" if found else None
            rows.append(row)
    finally:
        if lines is not None:
            lines.close()
    if error is not None:
        return Collected({"instructions": rows}, [], error)
    return Collected({"instructions": rows}, [])


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    out: List[str] = []
    current = None
    for row in data["instructions"]:
        if "line" in row and row["line"] and row["line"] != current:
            out.append(row["line"])
            current = row["line"]
        where = f" <{row['symbol']}>" if row["symbol"] else ""
        mark = " [FTRACE NOP]" if row["ftrace_nop"] else ""
        out.append(f"0x{row['address']:x}{where}:\t{row['text']}{mark}")
    return "\n".join(out)


COMMAND = DumpCommand("dis", _add_arguments, collect, render,
                      description="Disassemble kernel text as crash's dis does (gdb's AT&T syntax).")
