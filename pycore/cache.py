"""An on-disk cache of decoded debug information, keyed by kernel build.

Decoding kallsyms (~87-160k symbols) and the kernel's BTF takes a few tenths of
a second per open; reading them back pickled takes a few hundredths.  Entries
live under ``$PYCORE_CACHE/debuginfo`` (default ``~/.cache/pycore``), are keyed
by what identifies the data (build-id, KASLR offset) plus a digest of the code
that built them, and are rebuilt when missing or unreadable.  ``PYCORE_NO_CACHE=1``
turns the cache off.
"""
import hashlib
import os
import pickle
import tempfile
from types import ModuleType
from typing import Callable, Optional, Sequence, TypeVar

T = TypeVar("T")
_DIGESTS: dict = {}


def cache_root() -> str:
    return os.environ.get("PYCORE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "pycore")


def _code_digest(modules: Sequence[ModuleType]) -> str:
    key = tuple(m.__name__ for m in modules)
    digest = _DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        for module in modules:
            with open(module.__file__, "rb") as f:  # type: ignore[arg-type]
                h.update(f.read())
        digest = _DIGESTS[key] = h.hexdigest()[:16]
    return digest


def cached(kind: str, key: Optional[str], build: Callable[[], T], modules: Sequence[ModuleType]) -> T:
    """``build()``'s result for ``key``, from the cache when an entry for it and this code exists."""
    if not key or os.environ.get("PYCORE_NO_CACHE", "") not in ("", "0"):
        return build()
    directory = os.path.join(cache_root(), "debuginfo")
    safe_key = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    path = os.path.join(directory, f"{kind}-{safe_key}-{_code_digest(modules)}.pickle")
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        pass
    except Exception:  # a damaged or foreign entry: rebuild it
        pass
    value = build()
    try:
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only or full cache only costs speed
    return value
