"""One symbol table interface over every source: kallsyms, the vmlinux ELF symtab, System.map.

A table keeps its symbols as parallel columns and builds ``Symbol`` objects on
demand: the loaders stay within their time budget for ~200k symbols, and an
address lookup is one bisect over a list of ints plus one comparison.  The kallsyms
and .symtab loaders hand over flat columns (:class:`SymbolColumns`), indexed here by a
C/Python twin pair (csrc/symtab.c), the form the cache pickles as it is.
"""
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate, chain, compress
from operator import add, ne
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from .. import native as _native
from ..errors import MissingDebugInfoError


@dataclass(frozen=True)
class Symbol:
    """A named address.  ``kind`` is the kallsyms/nm type letter ('T', 't', 'D', ...) for
    kallsyms and System.map, or 'function' / 'object' / 'notype' for an ELF symtab;
    ``size`` is None when the source does not record it."""

    name: str
    address: int
    size: Optional[int]
    kind: str


# gcc's clone suffixes crash cuts a symbol's name at (symbols.c strip_symbol_end), tried in this
# order: the first ".isra." if there is one, else the first ".part.", else the first ".llvm.".
_CRASH_STRIPPED = (".isra.", ".part.", ".llvm.")


def crash_name(name: str) -> str:
    """A symbol's name as crash stores it in its table, so as sym, bt, dis and rd show it: cut at
    the first of gcc's clone markers crash knows (``x.isra.0.cold`` and ``x.part.0.constprop.0``
    are ``x``, ``x.part.0.isra.0`` is ``x.part.0``; ``x.constprop.0`` and ``x.cold`` stay), and a
    Rust v0 name demangled where it starts (``__pfx__RNvCs..._4core...`` is ``__pfx_core::...``;
    7.x kernels built with Rust)."""
    for marker in _CRASH_STRIPPED:
        at = name.find(marker)
        if at >= 0:
            name = name[:at]
            break
    at = name.find("_R")
    while at >= 0:
        demangled = rust_demangle(name[at:])
        if demangled is not None:
            return name[:at] + demangled
        at = name.find("_R", at + 1)
    return name


# Rust's v0 mangling (RFC 2603), printed as rustc-demangle's alternate form (and libiberty's, which
# crash's gdb links) prints it: no crate hashes, no type suffixes on constants.
_BASIC_TYPES = {"a": "i8", "b": "bool", "c": "char", "d": "f64", "e": "str", "f": "f32", "h": "u8", "i": "isize",
                "j": "usize", "l": "i32", "m": "u32", "n": "i128", "o": "u128", "s": "i16", "t": "u16", "u": "()",
                "v": "...", "x": "i64", "y": "u64", "z": "!", "p": "_"}
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Invalid(Exception):
    """Not a v0 symbol (or one this printer cannot follow)."""


class _RustV0:
    """One v0 symbol's printer: the grammar's productions as methods, each printing as it parses.
    ``quiet`` parses without printing (an impl's own path); backrefs re-parse from an earlier
    position of ``text`` (the symbol after ``_R``)."""

    def __init__(self, text: str):
        self.text = text
        self.at = 0
        self.out: List[str] = []
        self.quiet = 0
        self.depth = 0
        self.bound_lifetimes = 0

    def print(self, text: str) -> None:
        if not self.quiet:
            self.out.append(text)

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def next(self) -> str:
        if self.at >= len(self.text):
            raise _Invalid
        self.at += 1
        return self.text[self.at - 1]

    def eat(self, char: str) -> bool:
        if self.peek() == char:
            self.at += 1
            return True
        return False

    def integer_62(self) -> int:
        if self.eat("_"):
            return 0
        value = 0
        while not self.eat("_"):
            digit = _BASE62.find(self.next())
            if digit < 0:
                raise _Invalid
            value = value * 62 + digit
        return value + 1

    def opt_integer_62(self, tag: str) -> int:
        return self.integer_62() + 1 if self.eat(tag) else 0

    def decimal(self) -> int:
        """``0``, or a non-zero digit and more (``005`` is three numbers: a closure's empty name)."""
        if self.eat("0"):
            return 0
        start = self.at
        while self.peek().isdigit():
            self.at += 1
        if start == self.at:
            raise _Invalid
        return int(self.text[start:self.at])

    def ident(self) -> str:
        punycode = self.eat("u")
        length = self.decimal()
        self.eat("_")
        name = self.text[self.at:self.at + length]
        if len(name) != length:
            raise _Invalid
        self.at += length
        if not punycode:
            return name
        ascii_part, _, encoded = name.rpartition("_")
        try:
            return (ascii_part + "-" + encoded if ascii_part else encoded).encode().decode("punycode")
        except UnicodeError:
            raise _Invalid from None

    def enter(self) -> None:
        self.depth += 1
        if self.depth > 500:
            raise _Invalid

    def backref(self, print_it) -> None:
        start = self.at - 1
        target = self.integer_62()
        if target >= start:
            raise _Invalid
        saved = self.at
        self.at = target
        print_it()
        self.at = saved

    def path(self, in_value: bool) -> None:
        self.enter()
        tag = self.next()
        if tag == "C":
            self.opt_integer_62("s")
            self.print(self.ident())
        elif tag == "N":
            namespace = self.next()
            if not namespace.isalpha():
                raise _Invalid
            self.path(in_value)
            disambiguator = self.opt_integer_62("s")
            name = self.ident()
            if namespace.isupper():
                kind = {"C": "closure", "S": "shim"}.get(namespace, namespace)
                self.print("::{" + kind + (":" + name if name else "") + f"#{disambiguator}}}")
            elif name:
                self.print("::" + name)
        elif tag in "MXY":
            if tag != "Y":
                self.opt_integer_62("s")
                self.quiet += 1
                self.path(False)
                self.quiet -= 1
            self.print("<")
            self.type()
            if tag != "M":
                self.print(" as ")
                self.path(False)
            self.print(">")
        elif tag == "I":
            self.path(in_value)
            self.print("::<" if in_value else "<")
            self.list(self.generic_arg, ", ")
            self.print(">")
        elif tag == "B":
            self.backref(lambda: self.path(in_value))
        else:
            raise _Invalid
        self.depth -= 1

    def list(self, item, separator: str) -> int:
        count = 0
        while not self.eat("E"):
            if count:
                self.print(separator)
            item()
            count += 1
        return count

    def generic_arg(self) -> None:
        if self.eat("L"):
            self.lifetime(self.integer_62())
        elif self.eat("K"):
            self.const()
        else:
            self.type()

    def lifetime(self, index: int) -> None:
        if index == 0:
            self.print("'_")
            return
        depth = self.bound_lifetimes - index
        if depth < 0:
            raise _Invalid
        self.print("'" + (chr(ord("a") + depth) if depth < 26 else f"_{depth}"))

    def binder(self, inner) -> None:
        bound = self.opt_integer_62("G")
        if bound:
            self.print("for<")
            for number in range(bound):
                self.print(", " if number else "")
                self.bound_lifetimes += 1
                self.lifetime(1)
            self.print("> ")
        inner()
        self.bound_lifetimes -= bound

    def type(self) -> None:
        tag = self.next()
        if tag in _BASIC_TYPES:
            self.print(_BASIC_TYPES[tag])
            return
        self.enter()
        if tag in "RQ":
            self.print("&")
            if self.eat("L"):
                index = self.integer_62()
                if index:
                    self.lifetime(index)
                    self.print(" ")
            self.print("mut " if tag == "Q" else "")
            self.type()
        elif tag in "PO":
            self.print("*const " if tag == "P" else "*mut ")
            self.type()
        elif tag in "AS":
            self.print("[")
            self.type()
            if tag == "A":
                self.print("; ")
                self.const()
            self.print("]")
        elif tag == "T":
            self.print("(")
            if self.list(self.type, ", ") == 1:
                self.print(",")
            self.print(")")
        elif tag == "F":
            self.binder(self.function)
        elif tag == "D":
            self.print("dyn ")
            self.binder(lambda: self.list(self.dyn_trait, " + "))
            if not self.eat("L"):
                raise _Invalid
            index = self.integer_62()
            if index:
                self.print(" + ")
                self.lifetime(index)
        elif tag == "B":
            self.backref(self.type)
        else:
            self.at -= 1
            self.path(False)
        self.depth -= 1

    def function(self) -> None:
        unsafe = self.eat("U")
        abi = None
        if self.eat("K"):
            abi = "C" if self.eat("C") else self.ident().replace("_", "-")
        self.print("unsafe " if unsafe else "")
        self.print(f'extern "{abi}" ' if abi is not None else "")
        self.print("fn(")
        self.list(self.type, ", ")
        self.print(")")
        if not self.eat("u"):
            self.print(" -> ")
            self.type()

    def dyn_trait(self) -> None:
        opened = self.open_generics()
        while self.eat("p"):
            self.print(", " if opened else "<")
            opened = True
            self.print(self.ident() + " = ")
            self.type()
        if opened:
            self.print(">")

    def open_generics(self) -> bool:
        if self.eat("B"):
            found = []
            self.backref(lambda: found.append(self.open_generics()))
            return found[0]
        if self.eat("I"):
            self.path(False)
            self.print("<")
            self.list(self.generic_arg, ", ")
            return True
        self.path(False)
        return False

    def const(self) -> None:
        tag = self.next()
        if tag == "p":
            self.print("_")
        elif tag in "htmyoj":
            self.print(str(self.hex_value()))
        elif tag in "aslxni":
            self.print("-" if self.eat("n") else "")
            self.print(str(self.hex_value()))
        elif tag == "b":
            value = self.hex_value()
            if value > 1:
                raise _Invalid
            self.print("true" if value else "false")
        elif tag == "c":
            self.print(repr(chr(self.hex_value())))
        elif tag == "B":
            self.backref(self.const)
        else:
            raise _Invalid

    def hex_value(self) -> int:
        start = self.at
        while self.peek() != "_":
            if self.next() not in "0123456789abcdef":
                raise _Invalid
        digits = self.text[start:self.at]
        self.at += 1
        return int(digits, 16) if digits else 0


def rust_demangle(symbol: str) -> Optional[str]:
    """A Rust v0 symbol (``_R...``) as rustc-demangle's alternate form prints it
    (``_RNvNtCs1234_4core9panicking9panic_fmt`` is ``core::panicking::panic_fmt``); None for
    anything else, or a symbol with bytes after its path and instantiating crate."""
    if not symbol.startswith("_R"):
        return None
    text = symbol[2:]
    printer = _RustV0(text)
    try:
        if printer.peek().isdigit():
            printer.decimal()
        printer.path(True)
        if printer.peek().isupper():
            printer.quiet += 1
            printer.path(False)
    except (_Invalid, RecursionError):
        return None
    if printer.at != len(text):
        return None
    return "".join(printer.out)


class SymbolNotFoundError(MissingDebugInfoError, LookupError):
    """A symbol name is not in the table; names the table's source."""

    def __init__(self, name: str, source: str):
        self.name = name
        self.source = source
        super().__init__(f"symbol {name!r} not found in {source}")


def kernel_image_bounds(names: Sequence[str], addresses: Sequence[int]) -> Tuple[Optional[int], Optional[int]]:
    """``_text`` (or ``_stext``) and ``_end``: the kernel image, where address lookups answer."""
    start = end = None
    for name in ("_text", "_stext"):
        if name in names:
            start = addresses[names.index(name)]
            break
    if "_end" in names:
        end = addresses[names.index("_end")]
    return start, end


# Name lookups a table remembers (SymbolTable._name_position).
_POSITIONS_KEPT = 4096
MASK64 = (1 << 64) - 1


class SymbolColumns(NamedTuple):
    """A table's symbols as flat columns, in the source's order of preference (address order for
    the loaders that build them): ``names`` joined by NULs with ``ends[i]`` the offset just past
    name i, ``sizes`` an int64 array with -1 for unknown (None when no symbol has one), ``kinds``
    one byte each indexing ``kind_values`` (sorted)."""

    names: str
    ends: "array[int]"
    addresses: "array[int]"
    sizes: "Optional[array[int]]"
    kinds: Union[bytes, List[str]]
    kind_values: Tuple[str, ...]


def columns_from_lists(names: Sequence[str], addresses: Sequence[int], sizes: Sequence[Optional[int]],
                       kinds: Sequence[str]) -> SymbolColumns:
    """Parallel lists as :class:`SymbolColumns` (sizes None for unknown; the kinds a list of their
    own past 256 distinct ones).  Raises OverflowError for a size or address that an int64 or
    uint64 cannot hold."""
    ends = array("Q", map(add, accumulate(map(len, names)), range(len(names))))
    sized = None if sizes.count(None) == len(sizes) else array("q", [-1 if size is None else size for size in sizes])
    kind_values = tuple(sorted(set(kinds)))
    code = {kind: position for position, kind in enumerate(kind_values)}
    coded = bytes(map(code.__getitem__, kinds)) if len(kind_values) <= 256 else list(kinds)
    return SymbolColumns("\0".join(names), ends, array("Q", addresses), sized, coded, kind_values)


def _first_position(names: Sequence[str], by_name: Sequence[int], name: str) -> Optional[int]:
    """The first position of ``name`` in the source's order, by bisecting the stable name order."""
    position = bisect_left(by_name, name, key=names.__getitem__)
    return by_name[position] if position < len(by_name) and names[by_name[position]] == name else None


def _name_order_python(names: str, ends: "array[int]") -> "array[int]":
    """Every index, sorted by name; a stable sort, so each name's first position comes first."""
    if not ends:
        return array("I")
    split = names.split("\0")
    return array("I", sorted(range(len(split)), key=split.__getitem__))


def _name_order_native(names: str, ends: "array[int]") -> "array[int]":
    """:func:`_name_order_python` through csrc/symtab.c (pc_symtab_name_order)."""
    ffi, lib = _native.ffi, _native.lib
    order = array("I", bytes(4 * len(ends)))
    if not ends:
        return order
    data = names.encode("latin-1")
    status = lib.pc_symtab_name_order(data, len(data), ffi.from_buffer("uint64_t[]", ends), len(ends),
                                      ffi.from_buffer("uint32_t[]", order))
    if status:
        raise _native.error(status, context=_native.Context(container="symtab", reason="symbol name order"))
    return order


def name_order(names: str, ends: "array[int]", native: Optional[bool] = None) -> "array[int]":
    """Every index of the joined ``names``, sorted by name (equal names in index order): in C when
    the extension is built and the names are ASCII (C compares bytes, which orders other text
    otherwise than Python's code points), else in Python."""
    use_c = _native.use_native(native) and names.isascii()
    return (_name_order_native if use_c else _name_order_python)(names, ends)


def image_bounds(columns: SymbolColumns, by_name: Sequence[int]) -> Tuple[Optional[int], Optional[int]]:
    """:func:`kernel_image_bounds` of columns, through their name order."""
    names = _JoinedColumn(columns.names, columns.ends)
    start = end = None
    for name in ("_text", "_stext"):
        position = _first_position(names, by_name, name)
        if position is not None:
            start = columns.addresses[position]
            break
    position = _first_position(names, by_name, "_end")
    if position is not None:
        end = columns.addresses[position]
    return start, end


def _resolve_bounds(ordered: Sequence[int], last_size: Optional[int], start: Optional[int],
                    end: Optional[int]) -> Tuple[int, int]:
    """``start`` and ``end`` where the loader did not know them: the first address, and the end of
    the last symbol (its size, else one byte), never past 2**64 - 1."""
    if start is None:
        start = ordered[0] if len(ordered) else 0
    if end is None:
        end = min(max(ordered[-1] + (last_size if last_size and last_size > 0 else 1), start), MASK64) \
            if len(ordered) else start
    return start, end


def _runs(ordered: Sequence[int], order: Sequence[int], sizes: Any, start: int,
          end: int) -> Tuple[List[int], List[int], List[int]]:
    """One entry per distinct address in [start, end): the address, the preferred (first) symbol
    there, and the first address past what it covers (its size, else the next symbol, else end).
    The first of each run of equal addresses, found by comparing the column with itself shifted
    by one, all in C: a third of a dict's cost.  ``sizes`` is indexed by symbol; None, 0 or a
    negative size is unknown."""
    run_starts = list(map(ne, ordered, chain((None,), ordered)))
    keys = list(compress(ordered, run_starts))
    firsts = list(compress(order, run_starts))
    low, high = bisect_left(keys, start), bisect_left(keys, end)
    keys, firsts = keys[low:high], firsts[low:high]
    limits = keys[1:] + [end] if keys else []
    if sizes is not None and any(sizes):
        limits = [(key + size if key + size < end else end) if size and size > 0 else limit
                  for key, size, limit in zip(keys, map(sizes.__getitem__, firsts), limits)]
    return keys, firsts, limits


def _address_runs_python(addresses: "array[int]", sizes: "Optional[array[int]]", start: int,
                         end: int) -> Tuple["array[int]", "array[int]", "array[int]"]:
    """:func:`_runs` of columns in address order, as arrays."""
    keys, firsts, limits = _runs(addresses, range(len(addresses)), sizes, start, end)
    return array("Q", keys), array("I", firsts), array("Q", limits)


def _address_runs_native(addresses: "array[int]", sizes: "Optional[array[int]]", start: int,
                         end: int) -> Tuple["array[int]", "array[int]", "array[int]"]:
    """:func:`_address_runs_python` through csrc/symtab.c (pc_symtab_runs)."""
    ffi, lib = _native.ffi, _native.lib
    count = len(addresses)
    keys, firsts, limits = array("Q", bytes(8 * count)), array("I", bytes(4 * count)), array("Q", bytes(8 * count))
    if count:
        runs = ffi.new("size_t *")
        lib.pc_symtab_runs(ffi.from_buffer("uint64_t[]", addresses),
                           ffi.NULL if sizes is None else ffi.from_buffer("int64_t[]", sizes), count, start, end,
                           ffi.from_buffer("uint64_t[]", keys), ffi.from_buffer("uint32_t[]", firsts),
                           ffi.from_buffer("uint64_t[]", limits), runs)
        del keys[runs[0]:], firsts[runs[0]:], limits[runs[0]:]
    return keys, firsts, limits


def indexed_table(source: str, columns: SymbolColumns, by_name: "array[int]", start: Optional[int],
                  end: Optional[int], native: Optional[bool] = None) -> "SymbolTable":
    """A table of ``columns`` (addresses ascending), ``by_name`` from :func:`name_order`; ``start``
    and ``end`` as :class:`SymbolTable` takes them.  The address runs are built in C when the
    extension is, and the table keeps the columns as they are, for lookups and for the cache."""
    addresses, sizes = columns.addresses, columns.sizes
    start, end = _resolve_bounds(addresses, sizes[-1] if sizes else None, start, end)
    runs = _address_runs_native if _native.use_native(native) else _address_runs_python
    keys, firsts, limits = runs(addresses, sizes, start, end)
    return _restore(source, start, end, (*columns, None, keys, firsts, limits, by_name))


class SymbolTable:
    """Symbols from one source, answering lookups by address and by name.

    ``names``, ``addresses``, ``sizes`` and ``kinds`` are parallel sequences in the
    source's order of preference: where several symbols share an address, the
    first one is the one ``lookup`` reports (the kernel's own rule for kallsyms).
    ``start`` and ``end`` bound the addresses ``lookup`` answers for (the kernel
    image, ``_text`` to ``_end``, when the loader knows them); per-CPU offsets and
    absolute values below ``start`` are still found by name.
    """

    def __init__(self, source: str, names: Sequence[str], addresses: Sequence[int],
                 sizes: Optional[Sequence[Optional[int]]], kinds: Sequence[str],
                 start: Optional[int] = None, end: Optional[int] = None):
        count = len(names)
        if len(addresses) != count or len(kinds) != count or (sizes is not None and len(sizes) != count):
            raise ValueError("symbol columns differ in length")
        self.source = source
        self._names = list(names)
        self._addresses = list(addresses)
        self._sizes: Sequence[Optional[int]] = list(sizes) if sizes is not None else [None] * count
        self._kinds = list(kinds)
        self._objects: List[Optional[Symbol]] = [None] * count
        self._by_name: Optional[Sequence[int]] = None
        self._positions: Dict[str, Optional[int]] = {}
        self._columns: Optional[tuple] = None

        # Address order; sorted() is stable, so ties keep the source's preference.
        addresses = self._addresses
        if addresses == sorted(addresses):
            order: Sequence[int] = range(count)
            ordered = addresses
        else:
            order = sorted(range(count), key=addresses.__getitem__)
            ordered = [addresses[index] for index in order]
        self._order = order

        last_size = self._sizes[order[-1]] if count else None
        self.start, self.end = start, end = _resolve_bounds(ordered, last_size, start, end)
        self._keys, self._firsts, self._limits = _runs(ordered, order, self._sizes, start, end)

    def __reduce__(self) -> tuple:
        """Pickled (pycore.cache) as a few flat columns: ~160k names joined in one string with where
        each ends, the numbers as arrays, the kinds as one byte each.  A warm run reads them back as
        they are (:func:`_restore`), in a few ms: splitting the names and turning the arrays back
        into lists cost ~60 ms for a 6.12 vmlinux's ~190k symbols.  A table the loaders built in
        column form (:func:`indexed_table`) is pickled with its columns as they are."""
        columns = self._columns
        if columns is None:
            order = None if isinstance(self._order, range) else array("I", self._order)
            columns = (*columns_from_lists(self._names, self._addresses, self._sizes, self._kinds), order,
                       array("Q", self._keys), array("I", self._firsts), array("Q", self._limits),
                       array("I", self._name_order()))
        return (_restore, (self.source, self.start, self.end, columns))

    def __repr__(self) -> str:
        return f"<SymbolTable {self.source}: {len(self)} symbols>"

    def __len__(self) -> int:
        return len(self._names)

    def _symbol(self, index: int) -> Symbol:
        symbol = self._objects[index]
        if symbol is None:
            symbol = Symbol(self._names[index], self._addresses[index], self._sizes[index], self._kinds[index])
            self._objects[index] = symbol
        return symbol

    def __iter__(self) -> Iterator[Symbol]:
        """Every symbol, in address order."""
        symbol = self._symbol
        return (symbol(index) for index in self._order)

    def lookup(self, address: int) -> Optional[Tuple[Symbol, int]]:
        """The symbol containing ``address`` and the offset into it, or None.

        The nearest symbol at or below the address, as the kernel's ``kallsyms_lookup``
        picks it; None before ``start``, at or past ``end``, and past the end of a
        symbol whose size is known (alignment padding between functions).
        """
        position = bisect_right(self._keys, address) - 1
        if position < 0 or address >= self._limits[position]:
            return None
        symbol = self._objects[self._firsts[position]]
        if symbol is None:
            symbol = self._symbol(self._firsts[position])
        return symbol, address - symbol.address

    def _address_column(self) -> List[int]:
        """Every symbol's address in address order (``_order``), built on first use."""
        column = self.__dict__.get("_sorted_addresses")
        if column is None:
            column = self.__dict__["_sorted_addresses"] = [self._addresses[index] for index in self._order]
        return column

    def symbols_at(self, address: int) -> List[Symbol]:
        """Every symbol whose address is ``address``, the preferred one first."""
        column = self._address_column()
        first, last = bisect_left(column, address), bisect_right(column, address)
        return [self._symbol(self._order[position]) for position in range(first, last)]

    def crash_choice(self, symbol: Symbol, offset: int) -> Symbol:
        """Of the symbols at ``symbol``'s address, the one crash names ``offset`` bytes into them:
        crash's table sorts them by name, and its ``value_search`` takes the first for the address
        itself and the last for an address inside (``__do_sys_pause``, ``__ia32_sys_pause`` and
        ``__x64_sys_pause``, 4.17+'s syscall wrappers: ``__x64_sys_pause+39``; ``__memset`` at
        memset's address, ``memset+5`` past it), whatever order kallsyms or ``.symtab`` give."""
        group = self.symbols_at(symbol.address)
        if len(group) < 2:
            return symbol
        return (max if offset else min)(group, key=lambda candidate: candidate.name)

    def nearest(self, address: int) -> Optional[Tuple[Symbol, int]]:
        """The nearest symbol at or below ``address`` and the offset into it, whatever its size,
        for addresses from ``start`` up to the last symbol's address: crash's ``value_search``,
        which names alignment padding after a function by that function."""
        if not self._keys or address < self.start or address > self._keys[-1]:
            return None
        position = bisect_right(self._keys, address) - 1
        if position < 0:
            return None
        symbol = self._symbol(self._firsts[position])
        return symbol, address - symbol.address

    def neighbour(self, symbol: Symbol, step: int) -> Optional[Symbol]:
        """The symbol after (``step`` 1) or before (``step`` -1) ``symbol`` in address order,
        skipping the others at its own address; None past either end."""
        column = self._address_column()
        if step > 0:
            position = bisect_right(column, symbol.address)
        else:
            position = bisect_left(column, symbol.address) - 1
        if not 0 <= position < len(column):
            return None
        if step < 0:
            # The preferred symbol of the address below: the first of its run.
            position = bisect_left(column, column[position])
        return self._symbol(self._order[position])

    def search(self, text: str) -> List[Symbol]:
        """Every symbol whose name contains ``text``, in address order (crash's ``sym -q``)."""
        names = self._names
        return [self._symbol(index) for index in self._order if text in names[index]]

    def by_name(self, name: str) -> Symbol:
        """The symbol called ``name`` (the preferred one when several share it).

        Raises SymbolNotFoundError, a MissingDebugInfoError and LookupError naming the source.
        """
        index = self._name_position(name)
        if index is None:
            raise SymbolNotFoundError(name, self.source)
        return self._symbol(index)

    def symbols_named(self, name: str) -> List[Symbol]:
        """Every symbol called ``name`` (static functions repeat across files), in address order."""
        order, names = self._name_order(), self._names
        first = bisect_left(order, name, key=names.__getitem__)
        last = bisect_right(order, name, lo=first, key=names.__getitem__)
        return sorted((self._symbol(index) for index in order[first:last]), key=lambda symbol: symbol.address)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._name_position(name) is not None

    def _name_order(self) -> Sequence[int]:
        """Every index, sorted by name; a stable sort, so each name's first position comes first."""
        if self._by_name is None:
            self._by_name = sorted(range(len(self._names)), key=self._names.__getitem__)
        return self._by_name

    def _name_position(self, name: str) -> Optional[int]:
        """The first position of ``name`` in the source's order, or None: one bisect, where a dict of
        every name cost each run ~90 ms to build before its first lookup; the answer is kept, as
        helpers ask for the same few names again and again (``__per_cpu_offset`` per task on a
        large machine)."""
        positions = self._positions
        if name in positions:
            return positions[name]
        found = _first_position(self._names, self._name_order(), name)
        if len(positions) >= _POSITIONS_KEPT:
            positions.clear()  # a script asking for every name: the bisect alone answers as fast
        positions[name] = found
        return found

    def format(self, address: int) -> str:
        """``schedule+0x2d`` (``schedule`` at offset 0), or the bare hex address when no symbol covers it."""
        found = self.lookup(address)
        if found is None:
            return f"{address:#x}"
        symbol, offset = found
        return f"{symbol.name}+{offset:#x}" if offset else symbol.name


def _restore(source: str, start: int, end: int, columns: tuple) -> SymbolTable:
    """A table from the columns :meth:`SymbolTable.__reduce__` keeps, used as they are: nothing is
    sorted, split or copied again (the arrays answer bisect and indexing as lists do)."""
    names, ends, addresses, sizes, kinds, kind_values, order, keys, firsts, limits, by_name = columns
    table = SymbolTable.__new__(SymbolTable)
    table.source, table.start, table.end = source, start, end
    count = len(addresses)
    table._addresses = addresses
    table._names = _JoinedColumn(names, ends)
    table._kinds = _CodedColumn(kinds, kind_values) if isinstance(kinds, bytes) else kinds
    table._sizes = _SizeColumn(sizes) if sizes is not None else [None] * count
    table._objects = [None] * count
    table._order = order if order is not None else range(count)
    table._keys, table._firsts, table._limits, table._by_name = keys, firsts, limits, by_name
    table._positions = {}
    table._columns = columns
    return table


class _JoinedColumn(Sequence[str]):
    """The names of a table read back from the cache: one string, NUL-separated, and where each
    name ends; a name is sliced out when asked for (a command asks for a few hundred of ~190k)."""

    __slots__ = ("_text", "_ends")

    def __init__(self, text: str, ends: "array[int]"):
        self._text, self._ends = text, ends

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        if index < 0:
            index += len(self._ends)
        end = self._ends[index]
        return self._text[self._ends[index - 1] + 1 if index else 0:end]


class _CodedColumn(Sequence[str]):
    """The kinds of a table read back from the cache: one byte each, indexing the distinct kinds."""

    __slots__ = ("_codes", "_values")

    def __init__(self, codes: bytes, values: Tuple[str, ...]):
        self._codes, self._values = codes, values

    def __len__(self) -> int:
        return len(self._codes)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._values[self._codes[index]]


class _SizeColumn(Sequence[Optional[int]]):
    """The sizes of a table read back from the cache: an array where -1 stands for None (unknown)."""

    __slots__ = ("_sizes",)

    def __init__(self, sizes: "array[int]"):
        self._sizes = sizes

    def __len__(self) -> int:
        return len(self._sizes)

    def __getitem__(self, index: int) -> Optional[int]:  # type: ignore[override]
        size = self._sizes[index]
        return None if size < 0 else size
