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

from .program import Program, open

__version__ = "0.1.0"

__all__ = [
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
