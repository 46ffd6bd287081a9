"""drgn's ``Symbol``: a name, the address range it covers, its ELF binding and kind.

Made from pycore's symbol tables (kallsyms and System.map type letters, or a vmlinux ELF
symtab's kinds); the same for every kernel version.
"""
import enum
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from .symbols.table import Symbol as TableSymbol


class SymbolBinding(enum.Enum):
    """ELF symbol binding, as drgn numbers it (``STB_*`` plus one)."""

    UNKNOWN = 0
    LOCAL = 1
    GLOBAL = 2
    WEAK = 3
    UNIQUE = 11


class SymbolKind(enum.Enum):
    """ELF symbol type, as drgn numbers it (``STT_*``)."""

    UNKNOWN = 0
    OBJECT = 1
    FUNC = 2
    SECTION = 3
    FILE = 4
    COMMON = 5
    TLS = 6
    IFUNC = 10


# nm/kallsyms type letters: text is a function, data/bss/rodata an object; 'W'/'V' weak, 'u' unique.
_LETTER_KINDS = {"t": SymbolKind.FUNC, "w": SymbolKind.FUNC, "d": SymbolKind.OBJECT, "b": SymbolKind.OBJECT,
                 "r": SymbolKind.OBJECT, "g": SymbolKind.OBJECT, "s": SymbolKind.OBJECT, "v": SymbolKind.OBJECT,
                 "u": SymbolKind.OBJECT, "c": SymbolKind.COMMON}
# The ELF symtab loader keeps the symbol type but not the binding (pycore.symbols.elfsyms).
_ELF_KINDS = {"function": SymbolKind.FUNC, "object": SymbolKind.OBJECT, "tls": SymbolKind.TLS,
              "notype": SymbolKind.UNKNOWN}


def _binding(letter: str) -> SymbolBinding:
    if letter in ("W", "w", "V", "v"):
        return SymbolBinding.WEAK
    if letter == "u":
        return SymbolBinding.UNIQUE
    if letter.isalpha() and len(letter) == 1:
        return SymbolBinding.GLOBAL if letter.isupper() else SymbolBinding.LOCAL
    return SymbolBinding.UNKNOWN


class Symbol:
    """A symbol as drgn 0.3 shows it: ``name``, ``address``, ``size`` (0 when the source does not
    record sizes, as kallsyms does not), ``binding`` and ``kind``.

    ``prog.symbol(address)`` returned a ``(symbol, offset)`` tuple before pycore 0.2; a Symbol
    still unpacks and indexes that way (``symbol, offset = prog.symbol(address)``), ``offset``
    being how far the looked-up address is into the symbol (0 when looked up by name).
    """

    __slots__ = ("name", "address", "size", "binding", "kind", "offset")

    def __init__(self, name: str, address: int, size: int, binding: SymbolBinding, kind: SymbolKind,
                 offset: int = 0):
        self.name = name
        self.address = address
        self.size = size
        self.binding = binding
        self.kind = kind
        self.offset = offset

    @classmethod
    def from_table(cls, symbol: "TableSymbol", offset: int = 0) -> "Symbol":
        """The drgn view of a pycore symbol table entry."""
        kind = _ELF_KINDS.get(symbol.kind)
        binding = SymbolBinding.UNKNOWN
        if kind is None:
            kind = _LETTER_KINDS.get(symbol.kind.lower(), SymbolKind.UNKNOWN)
            binding = _binding(symbol.kind)
        return cls(symbol.name, symbol.address, symbol.size or 0, binding, kind, offset)

    def __iter__(self) -> Iterator[Any]:
        return iter((self, self.offset))

    def __getitem__(self, index: int) -> Any:
        return (self, self.offset)[index]

    def _key(self) -> tuple:
        return (self.name, self.address, self.size, self.binding, self.kind)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Symbol) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Symbol(name={self.name!r}, address={self.address:#x}, size={self.size:#x}, "
                f"binding={self.binding!r}, kind={self.kind!r})")

