"""pycore: read Linux kernel crash dumps and explain why the machine died."""
from .errors import (
    FaultError,
    FormatError,
    IncompleteDumpError,
    MissingDebugInfoError,
    MissingMemberError,
    ObjectTypeError,
    PageExcludedError,
    PycoreError,
)
from .native import CodecUnavailableError

from .object import NULL, Object, cast, container_of, offsetof, reinterpret, sizeof
from .program import Program, Thread, open
from .symbol import Symbol, SymbolBinding, SymbolKind

__version__ = "0.1.0"

__all__ = [
    "NULL",
    "Object",
    "Symbol",
    "SymbolBinding",
    "SymbolKind",
    "Thread",
    "cast",
    "container_of",
    "offsetof",
    "reinterpret",
    "sizeof",
    "FaultError",
    "FormatError",
    "IncompleteDumpError",
    "MissingDebugInfoError",
    "MissingMemberError",
    "ObjectTypeError",
    "CodecUnavailableError",
    "PageExcludedError",
    "Program",
    "PycoreError",
    "__version__",
    "open",
]
