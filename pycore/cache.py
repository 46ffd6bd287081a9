"""pycore's two caches: decoded debug information on disk, decoded dump pages in memory.

:class:`PageCache` is the LRU of decoded pages every read of a kdump-compressed dump goes
through, the pure-Python twin of csrc/pagecache.c (same hits, misses and evictions);
``PYCORE_PAGE_CACHE_MIB`` sizes it (default 32 MiB per dump, taken as pages are first read).

Decoding kallsyms (~87-160k symbols) and the kernel's BTF takes a few tenths of
a second per open; reading them back takes a few hundredths.  Entries
live under ``$PYCORE_CACHE/debuginfo`` (default ``~/.cache/pycore``), are keyed
by what identifies the data (build-id, KASLR offset) plus a digest of the code
that built them, and are rebuilt when missing or unreadable.  ``PYCORE_NO_CACHE=1``
turns the cache off.

The cache stays bounded.  Writing an entry removes the entries of its kind and key built by
other code (their digests: this code never reads them again; another installed pycore version
sharing the cache rebuilds its own, at the cost of a rebuild each time the two alternate).
``PYCORE_CACHE_MAX_MIB`` (default 2048, 0: no cap) caps ``debuginfo/`` and the DWARF
indexes in ``dwarf/`` together: after a write, the least recently used entries go until the
total fits (the entry just written stays, whatever its size); temporary files of writers that
died go too.  A read marks its entry used by setting its mtime (relatime mounts keep atime only
daily).  Nothing else under the root is touched (the test corpus, CI's venv and downloads,
histories).  Removing is unlinking, never truncating: a reader that opened or mapped an entry keeps
its pages on Linux.  Pruning never fails a command: a read-only or shared cache costs only speed.

An entry is a pickle (protocol 5) whose large buffers lie after it in the file, each on a page
boundary, and are memory-mapped when read instead of copied: a BTF blob pickled as a
``pickle.PickleBuffer`` comes back as a read-only ``mmap`` of its bytes (pages read as they
are touched), an ``array.array`` is filled straight from the mapping.  What was read into fresh
memory cost a page fault per 4 KiB, the larger part of a warm run's system time.
"""
import array
import importlib.util
import mmap
import os
import pickle
import struct
import sys
import time
from collections import OrderedDict
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence, TypeVar, Union

T = TypeVar("T")
_DIGESTS: dict = {}

# The file's first bytes: the format, and this machine's byte order (arrays are stored as they lie
# in memory); then the number of out-of-band buffers and where their table starts.  The pickle follows.
_MAGIC = f"pycore-cache 2 {sys.byteorder}\n".encode()
_HEADER = struct.Struct("<QQ")
_SPAN = struct.Struct("<QQ")  # one buffer: offset (page-aligned), length
# A buffer smaller than this stays inside the pickle: mapping it would cost more than copying it.
_OUT_OF_BAND_MIN = 64 << 10


# The directories under the cache root whose entries pycore writes and removes, and their entries'
# suffix; the root also holds what is not pycore's to remove (the test corpus, CI's venv, downloads).
_MANAGED = {"debuginfo": ".pickle", "dwarf": ".idx"}
# 2 GiB holds the decoded symbols and types of ~100 dumps (BTF ~8 MiB a kernel, kallsyms 6-13 MiB
# a dump, a vmlinux's symbols ~11 MiB, a DWARF index ~4 MiB): a working set far larger than a
# day's, while one entry rebuilt costs tenths of a second.
_DEFAULT_MAX_MIB = 2048
# A temporary file this old was left by a writer that died (a write takes seconds at most).
_ABANDONED_SECONDS = 3600
# A read sets an entry's mtime only when it is older than this: recency to the minute is all the
# LRU needs, and a warm run then writes no inode.
_RECENCY_SECONDS = 60


def cache_root() -> str:
    return os.environ.get("PYCORE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "pycore")


def max_bytes() -> Optional[int]:
    """The cap on the entries pycore keeps, ``PYCORE_CACHE_MAX_MIB`` (default 2048) MiB in bytes;
    None when it is 0 (no cap).  A value that is not a number means the default."""
    try:
        mib = float(os.environ.get("PYCORE_CACHE_MAX_MIB", "") or _DEFAULT_MAX_MIB)
    except ValueError:
        mib = _DEFAULT_MAX_MIB
    return int(mib * (1 << 20)) if mib > 0 else None


def mark_used(fd: int) -> None:
    """Record that the entry open as ``fd`` was just read: its mtime is its last use, the order in
    which :func:`prune` removes entries.  A cache this process may not write keeps its times."""
    try:
        if time.time() - os.fstat(fd).st_mtime > _RECENCY_SECONDS:
            os.utime(fd)
    except OSError:
        pass


def prune(written: str, superseded: Optional[str] = None) -> None:
    """After writing the entry ``written``: remove the entries beside it whose names start with
    ``superseded`` and go on with another code digest only, the temporary files of writers that died,
    then the least recently used entries of the managed directories until they fit
    :func:`max_bytes`.  Never raises: another process pruning at once, or a cache this one may not
    write, only leaves more on disk."""
    try:
        _prune(written, superseded)
    except OSError:
        pass


def _prune(written: str, superseded: Optional[str]) -> None:
    now = time.time()
    total = 0
    candidates = []
    for name, suffix in _MANAGED.items():
        directory = os.path.join(cache_root(), name)
        try:
            listing = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in listing:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
                if entry.name.endswith(".tmp"):
                    if now - stat.st_mtime > _ABANDONED_SECONDS:
                        _remove(entry.path)
                    continue
                if not entry.name.endswith(suffix):
                    continue
            except FileNotFoundError:  # removed by another process's prune
                continue
            if entry.path == written:
                total += stat.st_size
            elif (superseded and entry.name.startswith(superseded)
                  and "-" not in entry.name[len(superseded):] and directory == os.path.dirname(written)):
                _remove(entry.path)  # the same kind and key, built by other code
            else:
                total += stat.st_size
                candidates.append((stat.st_mtime, entry.path, stat.st_size))
    cap = max_bytes()
    if cap is None or total <= cap:
        return
    candidates.sort()
    for _mtime, path, size in candidates:
        if total <= cap:
            break
        if _remove(path):
            total -= size


def _remove(path: str) -> bool:
    """Unlink ``path`` (a reader holding it open or mapped keeps its pages); False when it could
    not be (gone already, or not ours to remove)."""
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


def _source_path(module: Union[ModuleType, str]) -> str:
    """The source file of ``module``, or of the module so named without importing it (a loader the
    run may never need, such as kallsyms_scan for a 6.0+ kernel)."""
    if isinstance(module, str):
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ImportError(f"no source for {module}")
        return spec.origin
    return module.__file__  # type: ignore[return-value]


def _code_digest(modules: Sequence[Union[ModuleType, str]]) -> str:
    key = tuple(m if isinstance(m, str) else m.__name__ for m in modules)
    digest = _DIGESTS.get(key)
    if digest is None:
        sources = []
        for module in modules:
            with open(_source_path(module), "rb") as f:
                sources.append(f.read())
        # importlib's hash of a source file (SipHash, 64 bits): hashlib would load OpenSSL, ~4 ms.
        digest = _DIGESTS[key] = importlib.util.source_hash(b"\0".join(sources)).hex()
    return digest


def cached(kind: str, key: Optional[str], build: Callable[[], T],
           modules: Sequence[Union[ModuleType, str]]) -> T:
    """``build()``'s result for ``key``, from the cache when an entry for it and this code exists.
    ``modules``: the code that builds it, as modules or their dotted names, whose sources the
    entry's name digests."""
    if not key or os.environ.get("PYCORE_NO_CACHE", "") not in ("", "0"):
        return build()
    directory = os.path.join(cache_root(), "debuginfo")
    safe_key = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    stem = f"{kind}-{safe_key}-"
    path = os.path.join(directory, f"{stem}{_code_digest(modules)}.pickle")
    try:
        return _read_entry(path)
    except FileNotFoundError:
        pass
    except Exception:  # a damaged or foreign entry: rebuild it
        pass
    value = build()
    try:
        _write_entry(directory, path, value)
    except OSError:
        return value  # a read-only or full cache only costs speed
    prune(path, superseded=stem)
    return value


def _read_entry(path: str) -> object:
    """The value of the entry at ``path``, its out-of-band buffers mapped, not read."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(len(_MAGIC) + _HEADER.size)
        if len(head) != len(_MAGIC) + _HEADER.size or not head.startswith(_MAGIC):
            raise ValueError(f"{path} is not a pycore cache entry of this format")
        count, table = _HEADER.unpack_from(head, len(_MAGIC))
        f.seek(table)
        spans = f.read(count * _SPAN.size)
        if len(spans) != count * _SPAN.size:
            raise ValueError(f"{path} is truncated")
        buffers: List[mmap.mmap] = []
        for offset, length in _SPAN.iter_unpack(spans):
            # A span past the end would map pages whose reading raises SIGBUS: refuse it here.
            if offset % mmap.ALLOCATIONGRANULARITY or not 0 < length <= size - offset:
                raise ValueError(f"{path}: buffer {offset:#x}+{length:#x} is outside the file")
            buffers.append(mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ, offset=offset))
        f.seek(len(head))
        value = pickle.load(f, buffers=buffers)
        mark_used(f.fileno())
        return value


class _Pickler(pickle.Pickler):
    """Pickles arrays as their buffers, which :func:`_write_entry` may put out of band."""

    def reducer_override(self, obj: object) -> object:
        if type(obj) is array.array:
            return _array, (obj.typecode, pickle.PickleBuffer(obj))
        return NotImplemented


def _array(typecode: str, buffer: object) -> "array.array":
    """An array read back from its buffer (a mapping of the entry, or bytes in the pickle)."""
    values = array.array(typecode)
    values.frombytes(buffer)  # type: ignore[arg-type]
    return values


def _write_entry(directory: str, path: str, value: object) -> None:
    """Write ``value`` as the entry at ``path``: a new file renamed into place, so that a reader
    sees the old entry or the new one, never a part."""
    import tempfile  # only a run that builds an entry writes one

    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            buffers: List[pickle.PickleBuffer] = []

            def out_of_band(buffer: pickle.PickleBuffer) -> bool:
                if buffer.raw().nbytes < _OUT_OF_BAND_MIN:
                    return True
                buffers.append(buffer)
                return False

            f.write(_MAGIC + _HEADER.pack(0, 0))
            _Pickler(f, protocol=5, buffer_callback=out_of_band).dump(value)
            spans = []
            for buffer in buffers:
                position = f.tell()
                offset = position + -position % mmap.ALLOCATIONGRANULARITY  # the next page boundary
                f.seek(offset)
                raw = buffer.raw()
                f.write(raw)
                spans.append(_SPAN.pack(offset, raw.nbytes))
            table = f.tell()
            f.write(b"".join(spans))
            f.seek(0)
            f.write(_MAGIC + _HEADER.pack(len(spans), table))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


_DEFAULT_PAGE_CACHE_MIB = 32


def page_cache_pages(page_size: int) -> int:
    """How many decoded pages a dump keeps: ``PYCORE_PAGE_CACHE_MIB`` (default 32) MiB of them,
    at least one.  32 MiB holds the ``struct page`` array of a 1 GiB machine (16 MiB), which a
    census reads in full, with room for the pages a command's helpers come back to: at 16 MiB
    the array alone filled the cache and every census of the 6.12 corpus dump decoded it again
    (C census 28 -> 8 ms, bench/bench_objects.py).  Taken as pages are first read."""
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
