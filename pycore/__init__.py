"""pycore: read Linux kernel crash dumps and explain why the machine died."""
from .errors import (
    FaultError,
    FormatError,
    IncompleteDumpError,
    MissingDebugInfoError,
    PageExcludedError,
    PycoreError,
)

from .program import Program, open

__version__ = "0.1.0"

__all__ = [
    "FaultError",
    "FormatError",
    "IncompleteDumpError",
    "MissingDebugInfoError",
    "PageExcludedError",
    "Program",
    "PycoreError",
    "__version__",
    "open",
]
