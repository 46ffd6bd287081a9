"""Selects the C fast path (pycore._native) or the pure-Python path, once at import.

``PYCORE_PURE=1`` forces pure Python.  Code that has both paths takes a
``native`` argument defaulting to :data:`AVAILABLE`, so tests can run both in
one process and compare their results.
"""
import os

try:
    if os.environ.get("PYCORE_PURE", "") not in ("", "0"):
        raise ImportError("PYCORE_PURE is set")
    from ._native import ffi, lib  # type: ignore[import-not-found]
except ImportError:
    ffi = None
    lib = None

AVAILABLE: bool = lib is not None


def use_native(native: "bool | None") -> bool:
    """Resolve a caller's ``native`` choice; asking for C when it was not built is an error."""
    if native is None:
        return AVAILABLE
    if native and not AVAILABLE:
        raise RuntimeError("pycore._native is not built (or PYCORE_PURE is set)")
    return native
