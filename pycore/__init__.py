"""pycore: read Linux kernel crash dumps and explain why the machine died.

The scripting surface (``Program``, ``Object``, ``open``, ...) is imported on first use, so that
``pycore --help`` and a command that needs little do not pay for all of it at start-up."""
import importlib
from typing import Any

from .errors import (
    FaultError,
    FormatError,
    IncompleteDumpError,
    MissingDebugInfoError,
    MissingMemberError,
    ObjectTypeError,
    PageExcludedError,
    PycoreError,
    ValidationError,
)

__version__ = "0.1.0"

# name: the module under pycore that defines it
_LAZY = {
    "CodecUnavailableError": "native",
    "NULL": "object", "Object": "object", "cast": "object", "container_of": "object", "offsetof": "object",
    "read_members": "object", "reinterpret": "object", "sizeof": "object",
    "Program": "program", "Thread": "program", "open": "program",
    "Symbol": "symbol", "SymbolBinding": "symbol", "SymbolKind": "symbol",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))

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
    "read_members",
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
    "ValidationError",
    "__version__",
    "open",
]
