"""Integer kernel variables read by symbol, for helpers that need a value and not a typed Object
(``jiffies_64``, ``pid_max``, ``tick_nsec``, ...); every kernel version, any symbol source."""
from typing import TYPE_CHECKING, Optional

from ..errors import PycoreError

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program


def symbol_address(prog: "Program", name: str) -> Optional[int]:
    """The address of symbol ``name``, or None when the symbol table has no such name."""
    try:
        return prog.symbols.by_name(name).address
    except LookupError:
        return None


def kernel_variable(prog: "Program", name: str, size: int = 8, signed: bool = False) -> int:
    """An integer kernel variable by symbol; MissingDebugInfoError or FaultError say why not."""
    address = prog.symbols.by_name(name).address
    return int.from_bytes(prog.read(address, size), "little", signed=signed)


def read_kernel_variable(prog: "Program", name: str, size: int = 8, signed: bool = False) -> Optional[int]:
    """An integer kernel variable by symbol, or None when the symbol or memory is missing."""
    try:
        return kernel_variable(prog, name, size, signed)
    except (LookupError, PycoreError):
        return None
