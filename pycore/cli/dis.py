"""``pycore dis DUMP ADDRESS|SYMBOL [COUNT]``: kernel text disassembled as crash 9's ``dis`` prints it,
in gdb's AT&T syntax with symbolic branch and %rip-relative targets: a whole function by name, COUNT
instructions from an address (one by default), ``-r`` up to an address, ``-f`` from it to the end of
its function, ``-l`` with source lines and ``-s`` with the source position (from the vmlinux's
DWARF), ``-x``/``-d`` symbol offsets in hexadecimal or decimal, ``-u`` a user address of the current
task, ``-b`` the bytes skipped after a ``ud2``.  Any kernel version; needs capstone.

The arch layer (arch/x86_64_disasm.py) gives each instruction's mnemonic and operands as data; the
columns gdb lays them out in are this module's."""
import argparse
import re
from typing import Any, Dict, List, Optional, Tuple

from ..arch.x86_64_disasm import Instruction, disassemble, is_ftrace_nop, trim_padding
from ..errors import MissingDebugInfoError, PycoreError
from ..program import Program
from .command import Collected, DumpCommand
from .eval import address_argument
from .rd import context_task, read_until_fault
from .sym import crash_name, crash_symbol, not_found, not_found_lines

# The longest x86 instruction, and how far a function may run when no symbol ends it.
_LONGEST = 15
_FUNCTION_LIMIT = 1 << 16
_MODULE_SPACE = (0xFFFFFFFFC0000000, 0xFFFFFFFFFF000000)
# gdb pads a mnemonic with its prefix words to this width before the operands.
_MNEMONIC_WIDTH = 6
# The linker script's labels of a section's start or end: zero-sized, in no object's bytes.
_BOUNDARY_LABEL = re.compile(r"_edata$|_etext$|_end$|__bss_stop$|__(start|stop|end)_\w")
# The bytes crash skips after a ud2 (its "dis -b"): 0 on every kernel since BUG()'s file and line
# moved to the __bug_table (2.6.19).
_UD2_SKIP = 0


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("-r", dest="reverse", action="store_true",
                           help="from the start of the function up to and including ADDRESS")
    direction.add_argument("-f", dest="forward", action="store_true", help="from ADDRESS to the end of its function")
    parser.add_argument("-l", dest="lines", action="store_true", help="show source lines (needs --vmlinux)")
    parser.add_argument("-s", dest="source", action="store_true",
                        help="show the source file and line of ADDRESS (needs --vmlinux)")
    parser.add_argument("-u", dest="user", action="store_true", help="ADDRESS is a user address of the current task")
    parser.add_argument("-x", dest="hexadecimal", action="store_true", help="symbol offsets in hexadecimal")
    parser.add_argument("-d", dest="decimal", action="store_true", help="symbol offsets in decimal (the default)")
    parser.add_argument("-b", dest="skip", metavar="NUM", type=int, nargs="?", const=-1, default=None,
                        help="show the bytes skipped after a ud2 (a NUM is taken for this command)")
    parser.add_argument("address", metavar="ADDRESS", nargs="?",
                        help="a function name, hexadecimal address or (expression)")
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


def symbolize(prog: Program, address: int) -> Optional[Tuple[str, int]]:
    """crash's ``(symbol, offset)`` of a kernel or module address, None outside them."""
    hit = crash_symbol(prog, address)
    if hit is None:
        return None
    return crash_name(hit[0].name), hit[1]


def gdb_symbol(prog: Program, address: int) -> Optional[Tuple[str, int]]:
    """gdb's ``(symbol, offset)`` of the address a %rip-relative operand points at: as crash names
    addresses, but none past the end of symbols whose sizes the vmlinux gives, none for the
    assembler's local labels (``.LC0``), and none by a label without size that is no function
    (gdb's build_address_symbolic drops a zero-sized data symbol, and a section's boundary label
    is another section's: 7.2's WARN points into __bug_table, where only ``_edata`` of .data and
    ``__start___bug_table`` precede it).  Without the vmlinux (no sizes) the linker script's
    boundary labels are known by name."""
    hit = crash_symbol(prog, address)
    if hit is None or hit[0].name.startswith(".L"):
        return None
    symbol, offset, _ = hit
    at = prog.symbols.symbols_at(symbol.address)
    if all(_BOUNDARY_LABEL.match(other.name) for other in at):
        return None
    if prog.vmlinux and all(other.size is None and other.kind != "function" for other in at):
        return None
    if offset:
        sizes = [other.size for other in prog.symbols.symbols_at(symbol.address)]
        if all(sizes) and offset >= max(sizes):
            return None
    return crash_name(symbol.name), offset


def _decode(read, start: int, end: int, page_size: int,
            count: Optional[int] = None) -> Tuple[List[Instruction], Optional[str]]:
    """The instructions from ``start`` to ``end`` (at most ``count``), and why they stop short: the
    error of the first byte that could not be read, when the instructions asked for need it (a
    count reads up to the longest instructions could take, which may run into a hole they do not
    reach)."""
    code, fault = read_until_fault(read, start, end - start, 1, page_size)
    instructions = list(disassemble(code, start, count))
    short = count is None or len(instructions) < count
    return instructions, str(fault) if fault is not None and short else None


def _source(prog: Program, address: int, word: str) -> Dict[str, Any]:
    """What ``dis -s`` shows of ``address``: its file and line from the vmlinux's DWARF (the
    source text itself is not on this machine: crash says so too when it lacks it)."""
    if not prog.vmlinux:
        raise MissingDebugInfoError("dis -s needs the vmlinux's DWARF line table: give --vmlinux")
    from ..types.dwarf_lines import LineTable

    lines = LineTable(prog.vmlinux, prog.vmcoreinfo.kernel_offset or 0)
    try:
        found = lines.unit_line(address)
    finally:
        lines.close()
    if found is None:
        raise PycoreError(f"{word}: no source line information for {address:x}")
    return {"source": {"address": address, "file": found[0], "line": found[1], "name": word}}


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    if args.hexadecimal and args.decimal:
        raise PycoreError("-d and -x are mutually exclusive")
    if args.address is None:
        if args.skip is not None:
            return Collected({"ud2_skip": _UD2_SKIP if args.skip < 0 else args.skip}, [])
        raise PycoreError("dis needs an address, a symbol or an (expression)")
    skip = _UD2_SKIP if args.skip is None or args.skip < 0 else args.skip
    if args.user:
        return _collect_user(prog, args, skip)
    address = address_argument(prog, args.address, expressions=True)
    if address is None:
        # crash's answer (its possible alternatives) is the output; nothing was disassembled.
        return Collected(not_found(prog, args.address), [], failed=True)
    if args.source:
        # crash prints the file and line, then says on its console that it has no source text.
        return Collected(_source(prog, address, args.address), [f"{args.address}: source code is not available"])
    lines = None
    if args.lines:
        if not prog.vmlinux:
            raise MissingDebugInfoError("dis -l needs the vmlinux's DWARF line table: give --vmlinux")
        from ..types.dwarf_lines import LineTable

        lines = LineTable(prog.vmlinux, prog.vmcoreinfo.kernel_offset or 0)
    read, page_size = prog.arch.read, prog.dump.page_size
    function = _function(prog, address)
    whole = args.count is None and not (args.reverse or args.forward) and function is not None \
        and function[1] == address and address_argument(None, args.address) is None
    if args.reverse or args.forward or whole:
        if function is None:
            raise PycoreError(f"{address:x} is in no function")
        _, start, end, exact = function
        end = end if end is not None else start + _FUNCTION_LIMIT
        instructions, error = _decode(read, address if args.forward else start, end, page_size)
        if not exact:
            instructions = trim_padding(instructions)
        if args.reverse:
            # crash (gdb's disassembly up to the address) ends with the first instruction that
            # starts at or after it: past the one that holds it when it is not an instruction's start.
            before = [i for i in instructions if i.address < address]
            instructions = before + [i for i in instructions if i.address >= address][:1]
    else:
        count = args.count or 1
        instructions, error = _decode(read, address, address + count * _LONGEST, page_size, count)
    instructions = _skip_after_ud2(instructions, skip)
    rows: List[Dict[str, Any]] = []
    try:
        for instruction in instructions:
            row = _row(instruction, symbolize(prog, instruction.address))
            if instruction.target is not None:
                named = (gdb_symbol if instruction.rip_relative else symbolize)(prog, instruction.target)
                row["target_symbol"] = list(named) if named else None
            row["ftrace_nop"] = bool(row["symbol"] and not row["symbol"][1] and is_ftrace_nop(instruction))
            if lines is not None:
                found = lines.line(instruction.address)
                row["line"] = f"{found[0]}: {found[1]}" if found else None
            rows.append(row)
    finally:
        if lines is not None:
            lines.close()
    return Collected({"instructions": rows}, [], error)


def _skip_after_ud2(instructions: List[Instruction], skip: int) -> List[Instruction]:
    """crash's ``dis -b NUM``: the NUM bytes after each ud2 are data (BUG()'s file and line before
    2.6.19), so the instructions decoded from them are dropped and decoding goes on past them."""
    if not skip:
        return instructions
    kept: List[Instruction] = []
    resume = None
    for instruction in instructions:
        if resume is not None and instruction.address < resume:
            continue
        kept.append(instruction)
        resume = instruction.address + instruction.size + skip if instruction.name == "ud2" else None
    return kept


def _row(instruction: Instruction, symbol: Optional[Tuple[str, int]]) -> Dict[str, Any]:
    return {"address": instruction.address, "symbol": list(symbol) if symbol else None, "size": instruction.size,
            "bytes": instruction.raw.hex(), "mnemonic": instruction.mnemonic,
            "operands": list(instruction.operands), "target": instruction.target,
            "rip_relative": instruction.rip_relative, "target_symbol": None, "ftrace_nop": False}


def _collect_user(prog: Program, args: argparse.Namespace, skip: int) -> Collected:
    """``dis -u``: COUNT instructions at a user address of the current task, unnamed (crash ignores
    -r and -l there)."""
    from ..kernel import mm

    address = address_argument(None, args.address)
    if address is None:
        raise PycoreError(f"invalid user address: {args.address}")
    task = context_task(prog, args)
    count = args.count or 1
    instructions, error = _decode(lambda at, size: mm.read_user(task, at, size), address,
                                  address + count * _LONGEST, prog.dump.page_size, count)
    rows = [_row(instruction, None) for instruction in _skip_after_ud2(instructions, skip)]
    return Collected({"instructions": rows, "user": True}, [], error)


def _name(symbol: List[Any], hexadecimal: bool) -> str:
    name, offset = symbol
    if not offset:
        return name
    return f"{name}+{offset:#x}" if hexadecimal else f"{name}+{offset}"


def instruction_text(row: Dict[str, Any], hexadecimal: bool = False) -> str:
    """gdb's text of one instruction: the mnemonic (with its prefix words) padded to six columns,
    the operands, then the ``<symbol+offset>`` of a branch target or the ``        # address
    <symbol+offset>`` of a %rip-relative operand."""
    head, operands = row["mnemonic"], ",".join(row["operands"])
    text = f"{head:<{_MNEMONIC_WIDTH}} {operands}" if operands else head
    target = row["target"]
    if target is None:
        return text
    named = row["target_symbol"]
    if row["rip_relative"]:
        return f"{text}        # {target:#x}" + (f" <{_name(named, hexadecimal)}>" if named else "")
    if named:
        return text.replace(f"{target:#x}", f"{target:#x} <{_name(named, hexadecimal)}>", 1)
    return text


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if "ud2_skip" in data:
        return f"encoded bytes being skipped after ud2a: {data['ud2_skip']}"
    if "not_found" in data:
        return "\n".join(not_found_lines(data))
    if "source" in data:
        source = data["source"]
        return f"FILE: {source['file']}\nLINE: {source['line']}\n\n"
    hexadecimal = getattr(args, "hexadecimal", False)
    out: List[str] = []
    current = None
    for row in data["instructions"]:
        if data.get("user"):
            out.append(f"   {row['address']:#x}:\t{instruction_text(row, hexadecimal)}")
            continue
        if "line" in row and row["line"] and row["line"] != current:
            out.append(row["line"])
            current = row["line"]
        where = f" <{_name(row['symbol'], hexadecimal)}>" if row["symbol"] else ""
        mark = " [FTRACE NOP]" if row["ftrace_nop"] else ""
        out.append(f"{row['address']:#x}{where}:\t{instruction_text(row, hexadecimal)}{mark}")
    return "\n".join(out)


COMMAND = DumpCommand("dis", _add_arguments, collect, render,
                      description="Disassemble kernel text as crash's dis does (gdb's AT&T syntax).")
