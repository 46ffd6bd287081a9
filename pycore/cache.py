"""pycore's two caches: decoded debug information on disk, decoded dump pages in memory.

:class:`PageCache` is the LRU of decoded pages every read of a kdump-compressed dump goes
through, the pure-Python twin of csrc/pagecache.c (same hits, misses and evictions);
``PYCORE_PAGE_CACHE_MIB`` sizes it (default 16 MiB per dump, taken as pages are first read).

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
from collections import OrderedDict
from types import ModuleType
from typing import Callable, Dict, Optional, Sequence, TypeVar

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


_DEFAULT_PAGE_CACHE_MIB = 16


def page_cache_pages(page_size: int) -> int:
    """How many decoded pages a dump keeps: ``PYCORE_PAGE_CACHE_MIB`` (default 16) MiB of them,
    at least one.  16 MiB holds the ``struct page`` array of a 1 GiB machine, which a census
    reads in full, and the pages a command's helpers come back to."""
    try:
        mib = float(os.environ.get("PYCORE_PAGE_CACHE_MIB", "") or _DEFAULT_PAGE_CACHE_MIB)
    except ValueError:
        mib = _DEFAULT_PAGE_CACHE_MIB
    return max(1, min(int(mib * (1 << 20)) // max(page_size, 1), 1 << 30))


class PageCache:
    """The decoded pages of one dump, the least recently used given up first: the pure-Python
    twin of csrc/pagecache.c, counting hits and misses as it does."""

    def __init__(self, capacity: int):
        if capacity <= 0:
            raise ValueError("a page cache holds at least one page")
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._pages: "OrderedDict[int, bytes]" = OrderedDict()

    def get(self, pfn: int) -> Optional[bytes]:
        """The decoded page ``pfn`` (now the most recently used), counted as a hit; None, counted as
        a miss, when it is not kept: the caller decodes it and gives it to :meth:`keep`."""
        page = self._pages.get(pfn)
        if page is None:
            self.misses += 1
            return None
        self.hits += 1
        self._pages.move_to_end(pfn)
        return page

    def keep(self, pfn: int, page: bytes) -> None:
        """Keep the decoded page ``pfn``, giving up the least recently used one when full."""
        pages = self._pages
        if len(pages) >= self.capacity:
            pages.popitem(last=False)
        pages[pfn] = page

    def stats(self) -> Dict[str, int]:
        """``hits``, ``misses``, ``pages`` held and ``capacity`` (csrc's struct pc_pagecache_stats)."""
        return {"hits": self.hits, "misses": self.misses, "pages": len(self._pages), "capacity": self.capacity}

    def clear(self) -> None:
        self._pages.clear()
