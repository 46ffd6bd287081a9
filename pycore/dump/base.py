"""What every dump container offers: physical memory, notes, VMCOREINFO and a summary."""
import weakref
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..native import Context
from .file import DumpFile
from .notes import CpuState, Note, cpu_states, vmcoreinfo_note
from .vmcoreinfo import VmcoreInfo


class Segment(NamedTuple):
    """One PT_LOAD as the C walker reads it: [paddr, paddr + memsz) of the machine, of
    which the first ``filesz`` bytes are at ``offset`` in the file."""
    paddr: int
    memsz: int
    filesz: int
    offset: int
    index: int


class NativeMemory(NamedTuple):
    """What the C page-table walker needs to read a dump's physical memory by itself.

    Either ``kdump``, the dump's C reader (``struct pc_kdump *``) with ``page_cache``, the
    decoded pages every read of the dump shares (``struct pc_pagecache *``, or None), or
    ``mapping`` (the file's mmap) with its ``segments``.  ``context`` words the errors of
    those reads.
    """
    context: Context
    kdump: Any = None
    page_cache: Any = None
    mapping: Any = None
    segments: Sequence[Segment] = ()


class Dump:
    """A dump's physical memory and metadata; subclasses know one container format."""

    format = "unknown"

    def __init__(self, file: DumpFile):
        self.file = file
        self.notes: List[Note] = []
        self.cpus: List[CpuState] = []
        self.vmcoreinfo: Optional[VmcoreInfo] = None
        self.page_size = 4096
        self.machine = "x86_64"
        self.incomplete = False
        self.flattened = False
        #: True once :meth:`close` ran: every read then raises :func:`~pycore.dump.file.closed_error`'s.
        self.closed = False
        self._on_close: List[weakref.WeakMethod] = []

    def _set_notes(self, notes: List[Note]) -> None:
        self.notes = notes
        if self.vmcoreinfo is None:
            raw = vmcoreinfo_note(notes)
            if raw is not None:
                self.vmcoreinfo = VmcoreInfo.from_bytes(raw)
        self.cpus = cpu_states(notes)

    @property
    def phys_base(self) -> Optional[int]:
        """``phys_base`` from VMCOREINFO, which QEMU's kdump header gets wrong."""
        if self.vmcoreinfo is not None:
            return self.vmcoreinfo.number("phys_base")
        return None

    def read_physical(self, address: int, size: int, zero_excluded: bool = False) -> bytes:
        """Read ``size`` bytes of physical memory at ``address``.

        Pages the dump filtered out raise PageExcludedError, or read as zeros
        with ``zero_excluded=True`` (crash's ``--zero_excluded``).
        """
        raise NotImplementedError

    def read_physical_into(self, address: int, buffer, zero_excluded: bool = False) -> None:
        """Fill the writable ``buffer`` (bytearray, memoryview, ...) from physical ``address``.

        Bulk readers use this to skip allocating and copying a result.
        """
        view = memoryview(buffer).cast("B")
        view[:] = self.read_physical(address, len(view), zero_excluded)

    @property
    def error_context(self) -> Context:
        """What :func:`pycore.native.error` needs to word this dump's read errors."""
        return Context(container=self.format, file_size=self.file.size)

    def native_memory(self) -> Optional[NativeMemory]:
        """This dump's physical memory for the C page-table walker, or None when C cannot
        read it (then the walk runs in Python over :meth:`read_physical`).  Whoever takes it
        registers with :meth:`on_close`: the pointers it holds die with the dump."""
        return None

    def on_close(self, release: Callable[[], None]) -> None:
        """Have the bound method ``release`` called when the dump closes, before its memory goes:
        the C walker lets go of the reader, page cache and mapping :meth:`native_memory` gave it
        (its reads would touch freed memory).  Held weakly: a walker that is gone is skipped."""
        self._on_close.append(weakref.WeakMethod(release))  # type: ignore[arg-type]

    def page_cache_stats(self) -> Optional[Dict[str, int]]:
        """The decoded-page cache every read of this dump goes through (see
        :class:`pycore.cache.PageCache`): ``hits``, ``misses``, ``pages`` and ``capacity``; None
        for a container that decodes nothing (an ELF core's pages are read from the mapped file)."""
        return None

    def ranges(self) -> List[Tuple[int, int]]:
        """Physical ranges ``(start, end)`` of the machine's memory that the dump describes."""
        raise NotImplementedError

    def page_counts(self) -> Dict[str, Optional[int]]:
        """Pages: ``present`` in the machine, ``dumped``, ``excluded``, ``zero`` and ``missing``."""
        raise NotImplementedError

    def describe(self) -> Dict[str, Any]:
        """Format-specific facts for ``pycore info``."""
        return {}

    def close(self) -> None:
        """Close the dump: those :meth:`on_close` names let go first, then the container's readers
        and the file.  Reads afterwards raise :func:`~pycore.dump.file.closed_error`'s error;
        closing twice is harmless."""
        for reference in self._on_close:
            release = reference()
            if release is not None:
                release()
        self._on_close.clear()
        self.closed = True
        self._close_readers()
        self.file.close()

    def _close_readers(self) -> None:
        """What a container lets go of before its file (the kdump reader and its page cache)."""

    def __enter__(self) -> "Dump":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
