"""Scanning memory for values and strings as crash 9's ``search`` does: kernel virtual memory by
crash's x86_64 ranges (direct map, vmalloc, vmemmap, kernel image), physical pages, a task's user
VMAs and kernel stacks, page by page, skipping pages that are not mapped or not in the dump.

Any x86_64 kernel with SPARSEMEM (every distribution kernel): the vmalloc areas come from the busy
tree of ``struct vmap_area`` (kernel/vmalloc.py: ``vmap_area_root`` up to 6.8, ``vmap_nodes`` from 6.9).
"""
import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional, Sequence, Tuple

from ..arch.x86_64 import START_KERNEL_MAP
from ..errors import PycoreError
from ..object import Object
from . import machine, vmalloc
from . import mm as mm_helpers
from .sched import thread_size
from .variables import read_kernel_variable, symbol_address
from .vma import for_each_vma

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# crash's end of user space on x86_64 (machdep->kvbase): the start of the kernel half.
USER_END = 0xFFFF800000000000
# crash's -c output: the string and what follows it, 56 characters in all.
CHARS_CONTEXT = 56

# crash's kernel virtual ranges (x86_64_get_kvaddr_ranges), each with its rule for the page after
# one that cannot be read.
UNITY_MAP, VMALLOC, VMEMMAP, START_MAP = "unity map", "vmalloc", "vmemmap", "kernel image"


@dataclass
class KernelRange:
    """One of crash's kernel virtual address ranges: ``kind`` is UNITY_MAP, VMALLOC, VMEMMAP or
    START_MAP, ``[start, end)`` its extent."""

    kind: str
    start: int
    end: int


@dataclass
class Chunk:
    """What one page gives a search: ``page`` is the whole page read (its first byte at
    ``address - offset``), ``offset`` where the searched part starts in it and ``length`` how
    many bytes of it are searched (a whole number of longs, as crash counts them)."""

    address: int
    page: bytes
    offset: int
    length: int


@dataclass
class ScanStats:
    """Pages looked at and pages skipped (not mapped, no ``struct page``, not in the dump):
    crash skips them silently; ``--json`` reports them."""

    read: int = 0
    skipped: int = 0


@dataclass
class ValueHit:
    """A value found: where, the memory's value there and which of the searched values it is."""

    address: int
    value: int
    index: int


@dataclass
class StringHit:
    """A string found: where, the bytes crash shows from there (up to 56) and which string."""

    address: int
    text: bytes
    index: int


def _page_size(prog: "Program") -> int:
    return prog.dump.page_size


def vmap_areas(prog: "Program") -> List[Tuple[int, int]]:
    """``(start, end)`` of each busy vmalloc area with a ``vm_struct`` (crash's vmlist), lowest
    first."""
    return sorted((area.start, area.end) for area in vmalloc.for_each_vmap_area(prog) if area.vm)


def kernel_ranges(prog: "Program", areas: Optional[List[Tuple[int, int]]] = None) -> List[KernelRange]:
    """crash's kernel virtual ranges on x86_64, lowest first: the direct map up to ``high_memory``,
    vmalloc up to the end of its last area (the modules' areas included), the vmemmap array of
    every page frame up to ``high_memory``'s, and the kernel image from ``__START_KERNEL_map`` to
    ``_end``.  The vmalloc range runs over the kernel image: crash searches an address there twice
    when a search starts inside it.  ``areas`` are :func:`vmap_areas` when already read."""
    page = _page_size(prog)
    direct = mm_helpers.page_offset(prog)
    high_memory = read_kernel_variable(prog, "high_memory")
    if high_memory is None:
        raise PycoreError("high_memory cannot be read: the end of the direct map is unknown")
    vmalloc_start = machine.vmalloc_start(prog)
    areas = vmap_areas(prog) if areas is None else areas
    vmalloc_end = max(end for _, end in areas) if areas else vmalloc_start
    vmemmap = mm_helpers.vmemmap(prog)
    struct_page = prog.type("struct page").size
    image_end = symbol_address(prog, "_end")
    ranges = [KernelRange(UNITY_MAP, direct, high_memory),
              KernelRange(VMALLOC, vmalloc_start, vmalloc_end),
              KernelRange(VMEMMAP, vmemmap, vmemmap + (high_memory - direct) // page * struct_page),
              KernelRange(START_MAP, START_KERNEL_MAP, image_end if image_end is not None else START_KERNEL_MAP)]
    return sorted((r for r in ranges if r.end > r.start), key=lambda r: r.start)


class _ValidFrames:
    """Page frames with a ``struct page`` (crash's phys_to_page): membership and the next one."""

    def __init__(self, prog: "Program"):
        self.ranges = list(mm_helpers.for_each_valid_page_range(prog))

    def valid(self, pfn: int) -> bool:
        return any(start <= pfn < end for start, end in self.ranges)

    def next_valid(self, pfn: int) -> Optional[int]:
        """The first valid frame at or after ``pfn``, None past the last."""
        for start, end in self.ranges:
            if pfn < end:
                return max(pfn, start)
        return None


def _chunks(start: int, end: int, page: int, read_page: Callable[[int], Optional[bytes]],
            next_page: Callable[[int], Optional[int]], stats: ScanStats) -> Iterator[Chunk]:
    """crash's search_virtual/search_physical loop: from ``start`` (rounded down to a long) to
    ``end``, each page ``read_page`` gives is searched from where the search stands to the page's end
    (or to ``end``).  A page that is not there (None: not mapped, no ``struct page``) is followed by
    what ``next_page`` says (None ends the search); one that is mapped but not in the dump (b"") by
    the very next page, as crash goes on after a failed read."""
    start &= ~7
    position = start
    base = start - start % page
    while position < end:
        data = read_page(base)
        if not data:
            stats.skipped += 1
            following = next_page(base) if data is None else base + page
            if following is None:
                return
            base = position = following
            continue
        stats.read += 1
        offset = position - base
        last = base == end - end % page
        length = (end - position) // 8 * 8 if last else page - offset
        if length > 0:
            yield Chunk(position, data, offset, length)
        base += page
        position = base


class MemoryScan:
    """The pages one search reads, as crash's search walks them, with what it looked at and
    skipped (:attr:`stats`).  The valid page frames and the vmalloc areas are read once, when
    the scan is made."""

    def __init__(self, prog: "Program"):
        self.prog = prog
        self.page = _page_size(prog)
        self.frames = _ValidFrames(prog)
        self.stats = ScanStats()
        self._areas: Optional[List[Tuple[int, int]]] = None

    @property
    def areas(self) -> List[Tuple[int, int]]:
        if self._areas is None:
            self._areas = vmap_areas(self.prog)
        return self._areas

    def kernel_ranges(self) -> List[KernelRange]:
        return kernel_ranges(self.prog, self.areas)

    def physical_end(self) -> int:
        """The end of physical memory crash's ``search -p`` runs to: the last valid frame's end."""
        return self.frames.ranges[-1][1] * self.page if self.frames.ranges else 0

    def _read_virtual(self, translate: Callable[[int], int]) -> Callable[[int], Optional[bytes]]:
        """Read a virtual page as crash's search does: None when it does not translate to a frame
        with a ``struct page``, b"" when its frame is not in the dump."""
        prog, page, frames = self.prog, self.page, self.frames

        def read_page(address: int) -> Optional[bytes]:
            try:
                physical = translate(address)
            except PycoreError:
                return None
            if not frames.valid(physical // page):
                return None
            try:
                return prog.read_physical(physical - physical % page, page)
            except PycoreError:
                return b""
        return read_page

    def kernel(self, start: int, end: int, kinds: Sequence[str]) -> Iterator[Chunk]:
        """The pages of kernel virtual ``[start, end)`` in crash's order: range by range (``kinds``
        chooses them: -K leaves out vmalloc and vmemmap, -V the direct map and kernel image), each
        with its rule for what follows a page that does not translate: the next valid frame's
        direct-map page, the next vmalloc area, or simply the next page."""
        read_page = self._read_virtual(self.prog.arch.translate)
        for kernel_range in self.kernel_ranges():
            if kernel_range.kind not in kinds or start >= kernel_range.end or end <= kernel_range.start:
                continue
            yield from _chunks(max(start, kernel_range.start), min(end, kernel_range.end), self.page, read_page,
                               self._next_rule(kernel_range.kind), self.stats)

    def _next_rule(self, kind: str) -> Callable[[int], Optional[int]]:
        """crash's next_kpage for one range kind: what page to try after ``address``."""
        page = self.page
        if kind == UNITY_MAP:
            direct = mm_helpers.page_offset(self.prog)

            def next_identity(address: int) -> Optional[int]:
                pfn = self.frames.next_valid((address - direct) // page + 1)
                return None if pfn is None else direct + pfn * page
            return next_identity
        if kind == VMALLOC:
            return lambda address: _next_in(self.areas, address - address % page + page)
        return lambda address: address + page

    def physical(self, start: int, end: int) -> Iterator[Chunk]:
        """The physical pages of ``[start, end)`` that have a ``struct page`` and are in the dump."""
        prog, page, frames = self.prog, self.page, self.frames

        def read_page(address: int) -> Optional[bytes]:
            if not frames.valid(address // page):
                return None
            try:
                return prog.read_physical(address, page)
            except PycoreError:
                return None

        def next_page(address: int) -> Optional[int]:
            pfn = frames.next_valid(address // page + 1)
            return None if pfn is None else pfn * page
        yield from _chunks(start, end, page, read_page, next_page, self.stats)

    def user(self, task: Object, start: int, end: int) -> Iterator[Chunk]:
        """The pages of the task's user ``[start, end)`` that are mapped and in the dump, VMA by
        VMA (crash's next_upage: after a page that does not translate, the next one in a VMA)."""
        space = task.mm
        vmas = [(int(vma.vm_start), int(vma.vm_end)) for vma in for_each_vma(space)]
        read_page = self._read_virtual(lambda address: mm_helpers.follow_phys(space, address))
        page = self.page
        yield from _chunks(start, end, page, read_page, lambda address: _next_in(vmas, address + page), self.stats)

    def stack(self, task: Object) -> Iterator[Chunk]:
        """The pages of the task's kernel stack (``task->stack``, THREAD_SIZE bytes), up to the
        first that does not translate (crash's search -t stops there)."""
        base = int(task.stack)
        yield from _chunks(base, base + thread_size(self.prog), self.page,
                           self._read_virtual(self.prog.arch.translate), lambda address: None, self.stats)


def _next_in(spans: List[Tuple[int, int]], address: int) -> Optional[int]:
    """``address`` when a span holds it, else the start of the next span, None past the last
    (crash's next_vmlist_vaddr and next_upage)."""
    for span_start, span_end in spans:
        if address <= span_start:
            return span_start
        if address < span_end:
            return address
    return None


def user_start(task: Object) -> Optional[int]:
    """Where crash's ``search -u`` starts: the task's first VMA (None for a kernel thread)."""
    space = task.mm
    if not int(space):
        return None
    for vma in for_each_vma(space):
        return int(vma.vm_start)
    return None


def _masked_pattern(value: int, mask: int, size: int) -> "re.Pattern[bytes]":
    """A regular expression of the ``size`` bytes whose bits outside ``mask`` are ``value``'s:
    one class of allowed bytes per position, in a lookahead so that overlapping places are all
    found (the caller keeps the aligned ones)."""
    classes = []
    for position in range(size):
        want = (value >> (8 * position)) & 0xFF
        ignore = (mask >> (8 * position)) & 0xFF
        allowed = [byte for byte in range(256) if byte | ignore == want | ignore]
        if len(allowed) == 256:
            classes.append(b"(?s:.)")
        else:
            classes.append(b"[" + b"".join(b"\\x%02x" % byte for byte in allowed) + b"]")
    return re.compile(b"(?=" + b"".join(classes) + b")")


def find_values(chunks: Iterator[Chunk], values: Sequence[int], size: int, mask: int = 0) -> Iterator[ValueHit]:
    """The ``size``-byte units (8, 4 or 2, aligned as the search runs) equal to one of ``values``
    where the bits of ``mask`` are ignored, in address order (of several values at one address,
    in the order given).  Each value's bytes are found with ``bytes.find``, or with a byte-class
    regular expression under a mask: the scan stays in C, a page at a time."""
    limit = (1 << (8 * size)) - 1
    unpack = {8: "<Q", 4: "<I", 2: "<H"}[size]
    patterns = [_masked_pattern(value & limit, mask & limit, size) for value in values] if mask else None
    for chunk in chunks:
        data = chunk.page
        low, high = chunk.offset, chunk.offset + chunk.length
        hits: List[Tuple[int, int]] = []
        for index, value in enumerate(values):
            if patterns is not None:
                hits += [(match.start(), index) for match in patterns[index].finditer(data, low, high)
                         if (match.start() - low) % size == 0]
                continue
            needle = (value & limit).to_bytes(size, "little")
            at = data.find(needle, low, high)
            while at >= 0:
                if (at - low) % size == 0:
                    hits.append((at, index))
                at = data.find(needle, at + 1, high)
        for at, index in sorted(hits):
            yield ValueHit(chunk.address - chunk.offset + at, struct.unpack_from(unpack, data, at)[0], index)


def find_strings(chunks: Iterator[Chunk], targets: Sequence[bytes]) -> Iterator[StringHit]:
    """crash's string search: each place a target starts, with the 56 bytes from there (fewer at the
    end of the searched part of a page); a target that runs over into the next page searched is
    found when that page follows directly, shown as the target and what follows it there."""
    pending: List[List[int]] = [[] for _ in targets]  # per target: tail positions that may continue
    pending_end: Optional[int] = None
    for chunk in chunks:
        data, low, high = chunk.page, chunk.offset, chunk.offset + chunk.length
        base = chunk.address - low
        if pending_end == chunk.address:
            for index, target in enumerate(targets):
                for tail_start in pending[index]:
                    done = pending_end - tail_start
                    rest = target[done:]
                    if data[low:low + len(rest)] == rest:
                        after = data[low + len(rest):low + len(rest) + CHARS_CONTEXT - len(target)]
                        yield StringHit(tail_start, target + after, index)
        pending = [[] for _ in targets]
        pending_end = chunk.address + chunk.length
        hits: List[Tuple[int, int]] = []
        for index, target in enumerate(targets):
            at = data.find(target, low, high)
            while at >= 0:
                hits.append((at, index))
                at = data.find(target, at + 1, high)
            for at in range(max(low, high - len(target) + 1), high):
                if target.startswith(data[at:high]):
                    pending[index].append(base + at)
        for at, index in sorted(hits):
            yield StringHit(base + at, data[at:min(at + CHARS_CONTEXT, high)], index)
