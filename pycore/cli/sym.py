"""``pycore sym DUMP NAME|ADDRESS ...``: kernel symbols as crash 9's ``sym`` shows them: by name (every
symbol of that name, a module's too), by address (symbol+offset, the kernel's or a module's), ``-q``
by part of a name, ``-l`` all of them (the kernel's, then each module's), ``-M`` the modules' and
``-m NAME`` one module's, ``-n``/``-p`` with the next or previous symbol.

A text symbol (``T``, ``t`` or a weak ``W``) is followed by its ``file: line`` when the vmlinux (and
its DWARF) is given, as crash prints it; the type letter is the kernel's own (kallsyms, as ``nm`` gives it), and a module's data
symbol's is ``?`` as crash shows it.  A module's symbols are listed between its ``MODULE START`` and
``MODULE END`` lines, per memory region (``MODULE TEXT START``, ...) from 6.4.  Any kernel version."""
import argparse
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import PycoreError
from ..program import Program
from ..symbols.table import Symbol, SymbolTable, crash_name
from .command import Collected, DumpCommand

# nm's letters for an ELF symbol's kind, where the dump's kallsyms do not give the kernel's own.
_ELF_LETTERS = {"function": "T", "object": "D", "tls": "D"}
_MODULE_SPACE = (0xFFFFFFFFC0000000, 0xFFFFFFFFFF000000)
# nm's letters of the symbols crash follows with their ``file: line``: functions, global, local or weak.
_TEXT_LETTERS = ("T", "t", "W")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-l", dest="list_all", action="store_true",
                        help="list every symbol: the kernel's, then each module's")
    parser.add_argument("-M", dest="all_modules", action="store_true", help="list every module's symbols")
    parser.add_argument("-m", dest="module", metavar="MODULE", help="list the symbols of MODULE")
    parser.add_argument("-q", dest="query", metavar="STRING", help="the symbols whose names contain STRING")
    parser.add_argument("-n", dest="next", action="store_true", help="also show the next symbol")
    parser.add_argument("-p", dest="previous", action="store_true", help="also show the previous symbol")
    parser.add_argument("what", metavar="NAME|ADDRESS", nargs="*", help="symbol names or hexadecimal addresses")


class _Shower:
    """Rows of crash's ``show_symbol``: address, letter, name (+offset, [module]), and the source
    line of a text address when the vmlinux's DWARF is there."""

    def __init__(self, prog: Program):
        self.prog = prog
        self._letters: Optional[Callable[[Symbol], str]] = None
        self._lines = None
        self._lines_error: Optional[str] = None

    def letter(self, symbol: Symbol) -> str:
        if self._letters is None:
            self._letters = _letter_source(self.prog)
        return self._letters(symbol)

    def line(self, address: int) -> Optional[str]:
        if not self.prog.vmlinux or self._lines_error is not None:
            return None
        if self._lines is None:
            from ..types.dwarf_lines import LineTable

            try:
                self._lines = LineTable(self.prog.vmlinux, self.prog.vmcoreinfo.kernel_offset or 0)
            except PycoreError as error:
                self._lines_error = str(error)
                return None
        found = self._lines.line(address)
        return f"{found[0]}: {found[1]}" if found else None

    def row(self, symbol: Symbol, offset: int = 0, module: Optional[str] = None, lines: bool = True) -> Dict[str, Any]:
        letter = module_letter(symbol) if module else self.letter(symbol)
        address = symbol.address + offset
        # A weak function (memset, memcpy on 5.10 and 6.1: ``W``) is text as much as a strong one.
        text = letter in _TEXT_LETTERS
        name = table_name(symbol.name)
        return {"address": address, "type": letter, "name": name, "offset": offset, "module": module,
                "text": text, "line": self.line(address) if text and lines else None, "show_line": lines}

    def close(self) -> None:
        if self._lines is not None:
            self._lines.close()


def _letter_source(prog: Program) -> Callable[[Symbol], str]:
    """The type letter of a symbol: its own where the table keeps letters (kallsyms, System.map),
    else that of the same symbol in the dump's kallsyms (a vmlinux's ELF symtab keeps kinds only),
    else nm's letter for the kind."""
    table = prog.symbols
    if all(len(symbol.kind) == 1 for symbol in table.symbols_at(table.start)):
        return lambda symbol: symbol.kind
    from .. import debuginfo

    try:
        kallsyms: Optional[SymbolTable] = debuginfo.load_symbols(prog.vmcoreinfo, None, None, prog.arch.read)
    except PycoreError:
        kallsyms = None

    def letter(symbol: Symbol) -> str:
        if len(symbol.kind) == 1:  # a module's, from its own kallsyms
            return symbol.kind
        if kallsyms is not None:
            for candidate in kallsyms.symbols_at(symbol.address):
                if candidate.name == symbol.name:
                    return candidate.kind
        return _ELF_LETTERS.get(symbol.kind, "?")
    return letter


def module_letter(symbol: Symbol) -> str:
    """The letter crash shows for a module's symbol: the text ones' own (``t``, ``T``), ``?`` for
    the rest (crash keeps no type for a module's data)."""
    return symbol.kind if symbol.kind in ("t", "T") else "?"


# A symbol's name in crash's table, the one rule for sym, dis, rd and bt -F (they import it from here).
table_name = crash_name


def crash_symbol(prog: Program, address: int) -> Optional[Tuple[Symbol, int, Optional[str]]]:
    """``(symbol, offset, module)`` as crash's ``value_search`` names an address: the nearest kernel
    symbol at or below it (whatever its size), else a module's; of several symbols at one address,
    the one crash names (:meth:`SymbolTable.crash_choice`)."""
    found = prog.symbols.nearest(address)
    if found is not None:
        return prog.symbols.crash_choice(*found), found[1], None
    if _MODULE_SPACE[0] <= address < _MODULE_SPACE[1]:
        from ..kernel import module

        return module.symbol_lookup(prog, address)
    return None


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    if not (args.what or args.query is not None or args.list_all or args.all_modules or args.module):
        raise PycoreError("sym needs a symbol name, an address, -q STRING, -l, -M or -m MODULE")
    shower = _Shower(prog)
    table = prog.symbols
    rows: List[Dict[str, Any]] = []
    warnings: List[str] = []
    try:
        if args.list_all:
            rows += _kernel_rows(prog, shower)
        if args.list_all or args.all_modules:
            for loaded in _modules(prog):
                rows += _module_rows(prog, shower, loaded)
        if args.module:
            chosen = [loaded for loaded in _modules(prog) if loaded.name == args.module]
            if not chosen:
                raise PycoreError(f"{args.module}: module not loaded")
            rows += _module_rows(prog, shower, chosen[0])
        if args.query is not None:
            rows += query_rows(prog, shower, args.query) or [{"none_found": True}]
        for word in args.what:
            rows += _lookup(prog, shower, table, word, args, warnings)
    finally:
        shower.close()
    return Collected({"symbols": rows}, warnings)


def _kernel_rows(prog: Program, shower: _Shower) -> List[Dict[str, Any]]:
    """sym -l's kernel part.  From a vmlinux, crash's own table (:func:`.elfsyms.crash_symbol_list`:
    its local labels, section symbols and nm's letters, in its order); without one, the symbols the
    dump's kallsyms has, sorted by address, then name, as crash sorts its table (kallsyms has no
    ``.LC`` labels nor section symbols, and its per-CPU symbols are ``A`` where nm's are ``D``/``d``)."""
    if prog.vmlinux:
        from ..symbols.elfsyms import crash_symbol_list

        return [{"address": address, "type": letter, "name": name, "offset": 0, "module": None, "text": False,
                 "line": None, "show_line": False}
                for address, letter, name in crash_symbol_list(prog.vmlinux, prog.vmcoreinfo.kernel_offset or 0)]
    return [shower.row(symbol, lines=False) for symbol in sorted(prog.symbols, key=lambda s: (s.address, s.name))]


def _modules(prog: Program):
    """The loaded modules, lowest address first, as crash keeps them."""
    from ..kernel import module

    return sorted(module.module_symbol_index(prog).modules, key=lambda loaded: loaded.text_base)


def query_rows(prog: Program, shower: _Shower, text: str) -> List[Dict[str, Any]]:
    """crash's ``symbol_query``: the symbols of its table whose names contain ``text``, in its order,
    then each module's.  With a vmlinux its table is :func:`.elfsyms.crash_symbol_list` (no absolute
    ``__crc_`` symbols, local labels kept); without one, the dump's kallsyms."""
    if prog.vmlinux:
        from ..symbols.elfsyms import crash_symbol_list

        rows = [{"address": address, "type": letter, "name": name, "offset": 0, "module": None,
                 "text": False, "line": None, "show_line": False}
                for address, letter, name in crash_symbol_list(prog.vmlinux, prog.vmcoreinfo.kernel_offset or 0)
                if text in name]
    else:
        rows = [shower.row(symbol, lines=False) for symbol in prog.symbols.search(text)
                if text in table_name(symbol.name)]
    return rows + _module_query(prog, shower, text)


def not_found(prog: Program, word: str) -> Dict[str, Any]:
    """crash's answer to a name it has no symbol of (sym, dis, rd): ``symbol not found`` and, as
    its possible alternatives, the symbols ``sym -q`` finds for the name (:func:`query_rows`)."""
    shower = _Shower(prog)
    try:
        return {"not_found": word, "alternatives": query_rows(prog, shower, word)}
    finally:
        shower.close()


def not_found_lines(row: Dict[str, Any]) -> List[str]:
    """The lines of a :func:`not_found` row (no alternatives for an address in module space)."""
    lines = [f"symbol not found: {row['not_found']}"]
    if row["alternatives"] is not None:
        lines.append("possible alternatives:")
        lines += [f"  {symbol_line(r)}" for r in row["alternatives"]] or ["  (none found)"]
    return lines


def _module_query(prog: Program, shower: _Shower, text: str) -> List[Dict[str, Any]]:
    from ..kernel import module

    index = module.module_symbol_index(prog)
    rows = []
    for loaded in _modules(prog):
        rows += [shower.row(symbol, 0, loaded.name, lines=False) for symbol in index.table(loaded)
                 if text in symbol.name]
    return rows


def _module_regions(prog: Program, loaded) -> List[Tuple[Optional[str], int, int]]:
    """``(region name, start, end)`` of a module's memory as crash's sym -m heads it: one region
    without a name up to 6.3 (``core_layout``, its end its base plus size), each non-empty
    ``mem[]`` region by its enum mod_mem_type name from 6.4 (its end the last byte)."""
    module_object = loaded.object
    struct_module = module_object.type_.resolved()
    struct_module = struct_module.type.resolved() if struct_module.type is not None else struct_module
    if not struct_module.has_member("mem"):
        return [(None, loaded.text_base, loaded.text_base + loaded.size)]
    names = {enumerator.value: enumerator.name[len("MOD_"):]
             for enumerator in prog.type("enum mod_mem_type").resolved().enumerators or ()}
    regions = []
    mem = module_object.mem
    for index in range(mem.type_.resolved().length or 0):
        base, size = int(mem[index].base), int(mem[index].size)
        if size:
            regions.append((names.get(index, str(index)), base, base + size - 1))
    return regions


def _module_rows(prog: Program, shower: _Shower, loaded) -> List[Dict[str, Any]]:
    """crash's sym -m of one module: each region's START line, its symbols in address order, its
    END line (symbols in no region, an unloaded init section's, are not shown)."""
    from ..kernel import module

    symbols = list(module.module_symbol_index(prog).table(loaded))
    rows: List[Dict[str, Any]] = []
    for region, start, end in _module_regions(prog, loaded):
        rows.append({"module_start": loaded.name, "region": region, "address": start})
        rows += [shower.row(symbol, 0, loaded.name, lines=False) | {"module": None}
                 for symbol in symbols if start <= symbol.address < end + (region is not None)]
        rows.append({"module_end": loaded.name, "region": region, "address": end})
    return rows


def _lookup(prog: Program, shower: _Shower, table: SymbolTable, word: str, args: argparse.Namespace,
            warnings: List[str]) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    address = _hexadecimal(word)
    if address is None:
        named = table.symbols_named(word) or [symbol for symbol in table.search(word + ".")
                                              if table_name(symbol.name) == word]
        if not named:
            in_module = _module_symbol(prog, word)
            if in_module is not None:
                return [shower.row(in_module[0], 0, in_module[1])]
            return [{"not_found": word, "alternatives": query_rows(prog, shower, word)}]
        for symbol in named:
            rows += _with_neighbours(shower, table, symbol, 0, None, args)
        return rows
    hit = crash_symbol(prog, address)
    if hit is not None and hit[2] is None:
        return _with_neighbours(shower, table, hit[0], hit[1], None, args)
    if hit is not None:
        return [shower.row(hit[0], hit[1], hit[2])]
    if _MODULE_SPACE[0] <= address < _MODULE_SPACE[1]:
        return [{"not_found": word, "alternatives": None}]
    warnings.append(f"invalid address: {word}")
    return rows


def _module_symbol(prog: Program, name: str) -> Optional[Tuple[Symbol, str]]:
    """A loaded module's symbol called ``name`` and the module's name."""
    from ..kernel import module

    index = module.module_symbol_index(prog)
    for loaded in index.modules:
        table = index.table(loaded)
        if name in table:
            return table.by_name(name), loaded.name
    return None


def _with_neighbours(shower: _Shower, table: SymbolTable, symbol: Symbol, offset: int, module: Optional[str],
                     args: argparse.Namespace) -> List[Dict[str, Any]]:
    rows = []
    if args.previous:
        before = table.neighbour(symbol, -1)
        if before is not None:
            rows.append(shower.row(before))
    rows.append(shower.row(symbol, offset, module))
    if args.next:
        after = table.neighbour(symbol, 1)
        if after is not None:
            rows.append(shower.row(after))
    return rows


def _hexadecimal(word: str) -> Optional[int]:
    """crash's ``hexadecimal()``: an address is all hexadecimal digits (``0x`` optional)."""
    digits = word[2:] if word[:2].lower() == "0x" else word
    if digits and all(c in "0123456789abcdefABCDEF" for c in digits):
        return int(digits, 16)
    return None


def symbol_line(row: Dict[str, Any]) -> str:
    """One line of crash's ``show_symbol``: ``ADDRESS (L) NAME[+OFFSET] [MODULE]``, then for a text
    symbol a space and its ``file: line`` (nothing after the space without DWARF)."""
    name = row["name"] + (f"+{row['offset']}" if row["offset"] else "")
    if row["module"]:
        name += f" [{row['module']}]"
    line = f"{row['address']:x} ({row['type']}) {name}"
    if row["text"] and row["show_line"]:
        line += " " + (row["line"] or "")
    return line


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines = []
    for row in data["symbols"]:
        if "module_start" in row or "module_end" in row:
            region = f"{row['region']} " if row["region"] else ""
            edge = "START" if "module_start" in row else "END"
            lines.append(f"{row['address']:x} MODULE {region}{edge}: {row.get('module_start') or row['module_end']}")
        elif row.get("none_found"):
            lines.append("(none found)")
        elif "not_found" in row:
            lines += not_found_lines(row)
        else:
            lines.append(symbol_line(row))
    return "\n".join(lines)


COMMAND = DumpCommand("sym", _add_arguments, collect, render,
                      description="Translate symbols to addresses and back, as crash's sym does.")
