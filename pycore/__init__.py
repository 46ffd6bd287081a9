"""pycore: read Linux kernel crash dumps and explain why the machine died."""
from .errors import (
    FaultError,
    FormatError,
    IncompleteDumpError,
    MissingDebugInfoError,
    PageExcludedError,
    PycoreError,
)

__version__ = "0.1.0"

__all__ = [
    "FaultError",
    "FormatError",
    "IncompleteDumpError",
    "MissingDebugInfoError",
    "PageExcludedError",
    "PycoreError",
    "__version__",
]
