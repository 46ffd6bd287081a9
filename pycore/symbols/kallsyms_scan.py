"""Finding the kallsyms tables in a kernel image by their structure, for kernels whose VMCOREINFO
does not name them (before 6.0) and no System.map or vmlinux is at hand.

Covers the table orders scripts/kallsyms.c has written on x86_64: offsets (or absolute addresses)
and the relative base before ``kallsyms_num_syms`` (up to 6.1, with ``kallsyms_seqs_of_names``
between the markers and the token table in 6.1), after ``kallsyms_token_index`` (6.2+, with or
without a relative base), each table aligned to 8 bytes (to 4 in the 7.2 image).  The byte-by-byte
searches and the walk of the names run in C (csrc/kallsyms.c) when the extension is built.
"""
from dataclasses import dataclass, field
import re
import struct
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

from .. import native as _native
from ..errors import FaultError

Reader = Callable[[int, int], bytes]

PAGE = 4096
CHUNK = 1 << 20
# A chunk that faults is probed every 64 KiB and at its last page before it is read page by page:
# the tables of a real kernel exceed a chunk, so any chunk holding a part of them has a readable
# probe, and a chunk past the image costs 17 faults instead of 256.
PROBE = 64 << 10
# Fully unreadable chunks in a row that end the search: the kernel frees and unmaps the gaps
# between text, rodata and data (each under 2 MiB), so three in a row are past its image.
MAX_UNREADABLE_CHUNKS = 3
# The kernel image from _stext: text, rodata (where the tables are), data; 7.2's _end is 50 MiB in.
SEARCH_SIZE = 64 << 20
# x86_64 links the kernel at __START_KERNEL_map + CONFIG_PHYSICAL_START (16 MiB); KASLR moves it.
LINK_ADDRESS = 0xFFFFFFFF81000000
# Bounds for the search only (the decoder has its own): 6.12 has ~158k symbols, 7.2 ~187k.
MAX_SYMBOLS = 1 << 20
# A token is a run of a symbol's characters; the longest seen is 23 bytes (6.12).  Bounded so
# that the first step of the token index fits the one byte its pattern allows.
MAX_TOKEN = 254
# Fewer distinct characters than this cannot spell a kernel's symbols (letters, digits, '_').
MIN_TOKENS = 32
# kallsyms_names entry: a one- or two-byte length, then up to KSYM_NAME_LEN (512 since 6.1) codes.
MAX_ENTRY = 2 + 512
# Token tables examined, and marker runs tried per token table: the kernel has one of each, and
# a hostile image full of copies must not make the search quadratic.
MAX_TOKEN_TABLES = 16
MAX_TRIES = 64
# Names entries walked in all, for the same reason: a few times the largest table searched for.
MAX_WALKED = 4 * MAX_SYMBOLS

# kallsyms_token_index starts 0, then token 0's length + 1, then two more small offsets.
_TOKEN_INDEX_START = re.compile(rb"\x00\x00[\x01-\xff]\x00.[\x00\x01].[\x00-\x02]", re.DOTALL)
# kallsyms_markers starts 0, then the size of the first 256 entries (at least 2 bytes each, below 1 MiB).
_MARKERS_START = re.compile(rb"\x00\x00\x00\x00(?:.[\x02-\xff][\x00-\x0f]|..[\x01-\x0f])\x00", re.DOTALL)
_TOKEN_TABLE = re.compile(rb"[\x00\x21-\x7e]*")
# kallsyms_seqs_of_names (6.1) takes 3 bytes a symbol, 768 a marker, and pads to 8.
_SEQS_PER_MARKER = 3 * 256
_SEQS_SLACK = 16


def _aligned_matches(pattern: "re.Pattern[bytes]", data: bytes, start: int, skew: int) -> Iterator[int]:
    """Offsets at or after ``start`` of the matches of ``pattern`` in ``data`` on 4-byte boundaries
    of memory (``skew``: the address of ``data`` modulo 4), overlapping ones included: a match one
    byte early must not hide the table's own."""
    match = pattern.search(data, start)
    while match is not None:
        if (skew + match.start()) % 4 == 0:
            yield match.start()
        match = pattern.search(data, match.start() + 1)


def _num_syms_pattern(chunks: int) -> "re.Pattern[bytes]":
    """A u32 that kallsyms_num_syms may hold with ``chunks`` markers, 256 * (chunks - 1) + 1 to
    256 * chunks: a low byte 1-255 above the bytes of chunks - 1, or 0 above those of chunks
    (one search of the window by the regex engine: a Python test of each word cost ~4 ms)."""
    return re.compile(b"[\\x01-\\xff]" + re.escape((chunks - 1).to_bytes(3, "little"))
                      + b"|\\x00" + re.escape(chunks.to_bytes(3, "little")), re.DOTALL)


def _increasing_index(index: Tuple[int, ...]) -> bool:
    """Whether each token offset lies 1 to ``MAX_TOKEN + 1`` bytes after the one before."""
    return all(0 < offset - previous <= MAX_TOKEN + 1 for previous, offset in zip(index, index[1:]))


# Each twin finds the next candidate at or after ``start`` in ``data`` (csrc/pc_kallsyms.h says what
# makes one); the scanner proves it with the memory around it, then asks again from the next byte.

def _find_token_index_python(data: bytes, start: int, skew: int) -> Tuple[Optional[int], int]:
    """The next kallsyms_token_index candidate's offset (None: none), and how many offsets matched
    ``_TOKEN_INDEX_START`` up to it: pc_kallsyms_find_token_index."""
    patterns = 0
    for offset in _aligned_matches(_TOKEN_INDEX_START, data, start, skew):
        patterns += 1
        if len(data) - offset < 512 or _increasing_index(struct.unpack_from("<256H", data, offset)):
            return offset, patterns
    return None, patterns


def _find_token_index_native(data: bytes, start: int, skew: int) -> Tuple[Optional[int], int]:
    """:func:`_find_token_index_python` through csrc/kallsyms.c."""
    ffi, lib = _native.ffi, _native.lib
    position, patterns, found = ffi.new("size_t *"), ffi.new("size_t *"), ffi.new("int32_t *")
    lib.pc_kallsyms_find_token_index(data, len(data), start, skew, MAX_TOKEN + 1, position, patterns, found)
    return (position[0] if found[0] else None), patterns[0]


def _markers_run(data: bytes, offset: int) -> List[int]:
    """The u32 words from ``offset``, 0 first, each 512 bytes to 1 MiB (256 names entries) above the
    one before: as many as could be kallsyms_markers."""
    markers = [0]
    limit = min(len(data), offset + 4 * (MAX_SYMBOLS // 256))
    for position in range(offset + 4, limit - 3, 4):
        (value,) = struct.unpack_from("<I", data, position)
        if not 2 * 256 <= value - markers[-1] < 1 << 20:
            break
        markers.append(value)
    return markers


def _find_markers_python(data: bytes, start: int, skew: int) -> Optional[Tuple[int, int]]:
    """The next run of ``_markers_run`` words that can end where ``data`` ends (the token table
    follows), or behind kallsyms_seqs_of_names (6.1): its offset and length, or None
    (pc_kallsyms_find_markers)."""
    for offset in _aligned_matches(_MARKERS_START, data, start, skew):
        words = len(_markers_run(data, offset))
        if words >= 2 and len(data) - (offset + 4 * words) < _SEQS_PER_MARKER * words + _SEQS_SLACK:
            return offset, words
    return None


def _find_markers_native(data: bytes, start: int, skew: int) -> Optional[Tuple[int, int]]:
    """:func:`_find_markers_python` through csrc/kallsyms.c."""
    ffi, lib = _native.ffi, _native.lib
    position, words, found = ffi.new("size_t *"), ffi.new("size_t *"), ffi.new("int32_t *")
    lib.pc_kallsyms_find_markers(data, len(data), start, skew, MAX_SYMBOLS // 256, position, words, found)
    return (position[0], words[0]) if found[0] else None


def _walk_names_python(data: bytes, count: int, markers: List[int]) -> bool:
    """Whether ``count`` kallsyms_names entries from the start of ``data`` put entry 256k at
    ``markers[k]`` and end in the zero padding of at most 7 bytes that ends ``data`` (the length
    byte's top bit marks a two-byte length, 6.1+): pc_kallsyms_walk_names."""
    size = len(data)
    offset = 0
    for number in range(count):
        if number % 256 == 0 and offset != markers[number // 256]:
            return False
        if offset >= size:
            return False
        length = data[offset]
        if length & 0x80:
            if offset + 1 >= size:
                return False
            length = (length & 0x7F) | (data[offset + 1] << 7)
            offset += 2
        else:
            offset += 1
        if length == 0:
            return False
        offset += length
    return 0 <= size - offset < 8 and not any(data[offset:])


def _walk_names_native(data: bytes, count: int, markers: List[int]) -> bool:
    """:func:`_walk_names_python` through csrc/kallsyms.c."""
    ffi, lib = _native.ffi, _native.lib
    matches = ffi.new("int32_t *")
    status = lib.pc_kallsyms_walk_names(data, len(data), count, ffi.new("uint32_t[]", markers), len(markers), matches)
    if status:
        raise _native.error(status, context=_native.Context(container="symtab", reason="kallsyms_names walk"))
    return bool(matches[0])


@dataclass(frozen=True)
class KallsymsCandidate:
    """Where one consistent set of kallsyms tables lies: ``locations`` maps ``kallsyms_*`` names
    to addresses.  ``layout`` says which order and address encoding was assumed; the addresses
    are only proved right by decoding them (pycore.symbols.kallsyms) and comparing with VMCOREINFO."""

    layout: str
    locations: Dict[str, int] = field(hash=False)

    def locate(self, name: str) -> Optional[int]:
        """The table's address, or None: the ``locate`` callback of ``load_kallsyms``."""
        return self.locations.get(name)


def kernel_image_start(vmcoreinfo) -> Optional[int]:
    """Where the running kernel's text starts: VMCOREINFO's ``SYMBOL(_stext)`` (every kernel
    since 2.6.x's kdump support), else the link address moved by ``KERNELOFFSET``."""
    if vmcoreinfo is None:
        return None
    stext = vmcoreinfo.symbol("_stext")
    if stext is not None:
        return stext
    offset = vmcoreinfo.kernel_offset
    return None if offset is None else LINK_ADDRESS + offset


class _Memory:
    """The searched range read through ``read`` in chunks, each kept once read.

    A chunk that faults is probed (``PROBE``), then read page by page.  Its unreadable pages
    (makedumpfile leaves zero pages out) scan as zeros, but no table is read from them: ``get``
    raises FaultError there.
    """

    def __init__(self, read: Reader, start: int, size: int):
        self.read_memory = read
        self.start = start
        self.end = start + size
        self.chunks: Dict[int, bytes] = {}
        self.unreadable: Set[int] = set()  # page numbers

    def chunk(self, index: int) -> bytes:
        """Chunk ``index`` of the range, unreadable pages as zeros."""
        data = self.chunks.get(index)
        if data is None:
            address = self.start + index * CHUNK
            end = min(address + CHUNK, self.end)
            try:
                data = self.read_memory(address, end - address)
            except FaultError:
                data = self._read_pages(address, end)
            if len(data) != min(CHUNK, self.end - self.start - index * CHUNK):
                raise FaultError(f"short read of {len(data)} bytes", self.start + index * CHUNK)
            self.chunks[index] = data
        return data

    def _read_pages(self, address: int, end: int) -> bytes:
        probes = list(range(address, end, PROBE)) + [(end - 1) // PAGE * PAGE]
        if not any(self._readable(probe) for probe in probes):
            self.unreadable.update(range(address // PAGE, (end - 1) // PAGE + 1))
            return bytes(end - address)
        pieces = []
        while address < end:
            page_end = min(end, (address // PAGE + 1) * PAGE)
            try:
                pieces.append(self.read_memory(address, page_end - address))
            except FaultError:
                pieces.append(bytes(page_end - address))
                self.unreadable.add(address // PAGE)
            address = page_end
        return b"".join(pieces)

    def _readable(self, address: int) -> bool:
        try:
            self.read_memory(address, 1)
        except FaultError:
            return False
        return True

    def fully_unreadable(self, index: int) -> bool:
        """Whether no page of chunk ``index`` (read already) could be read."""
        address = self.start + index * CHUNK
        end = min(address + CHUNK, self.end)
        return all(page in self.unreadable for page in range(address // PAGE, (end - 1) // PAGE + 1))

    def get(self, address: int, size: int, strict: bool = True) -> bytes:
        """``size`` bytes at ``address``: FaultError where memory is unreadable, unless not ``strict``
        (for a region only searched), where unreadable pages read as zeros."""
        if size <= 0 or not (self.start <= address and address + size <= self.end):
            return self.read_memory(address, size)
        first = (address - self.start) // CHUNK
        last = (address + size - 1 - self.start) // CHUNK
        data = b"".join(self.chunk(index) for index in range(first, last + 1))
        if strict and self.unreadable:
            for page in range(address // PAGE, (address + size - 1) // PAGE + 1):
                if page in self.unreadable:
                    raise FaultError("unreadable page in the searched range", page * PAGE)
        offset = address - self.start - first * CHUNK
        return data[offset:offset + size]

    def u64(self, address: int) -> int:
        return struct.unpack("<Q", self.get(address, 8))[0]


class _SearchBudgetSpent(Exception):
    """Raised inside the scanner when ``MAX_WALKED`` names entries have been walked."""


@dataclass
class _Tokens:
    index_address: int
    table_address: int
    end: int  # first byte after kallsyms_token_index


@dataclass
class _Names:
    num_syms_address: int
    count: int
    names_address: int
    markers_address: int


class KallsymsScanner:
    """Searches ``size`` bytes of kernel memory from ``start`` for the kallsyms tables.

    The token index (256 increasing u16 offsets, the first 0) is matched by a pattern, then
    proved by the token table that must end right before it (a NUL at every offset, printable
    characters between).  Before the token table lie the markers (one u32 per 256 symbols, from 0
    up), possibly behind ``kallsyms_seqs_of_names``; before the markers the names, whose entries
    walked by their lengths must land on every marker; before the names ``kallsyms_num_syms``.
    The addresses are then tried where each kernel generation put them.  Every step reads a
    bounded amount, so the search is linear in ``size``.  ``describe()`` says what was found.
    """

    def __init__(self, read: Reader, start: int, size: int = SEARCH_SIZE, native: Optional[bool] = None):
        self.start = start
        self.size = size
        self.end = start + size  # where the search ended: earlier past the image
        self.memory = _Memory(read, start, size)
        self.token_index_matches = 0
        self.token_tables: List[int] = []
        self.names_tables: List[int] = []
        self.walked = 0
        self.budget_spent = False
        twin = _native.use_native(native)
        self._find_token_index = _find_token_index_native if twin else _find_token_index_python
        self._find_markers = _find_markers_native if twin else _find_markers_python
        self._walk = _walk_names_native if twin else _walk_names_python

    def candidates(self) -> Iterator[KallsymsCandidate]:
        """Every consistent set of tables, in address order; the first is the kernel's unless the
        image holds a second copy of the structure (it never has)."""
        try:
            for tokens in self._token_tables():
                for names in self._names_tables(tokens):
                    yield from self._address_tables(tokens, names)
        except _SearchBudgetSpent:
            self.budget_spent = True

    def describe(self) -> str:
        """What the search covered and found, for an error message."""
        notes = []
        if self.memory.unreadable:
            notes.append(f"{len(self.memory.unreadable) * PAGE >> 10} KiB unreadable")
        if self.end < self.start + self.size:
            notes.append(f"ended after {MAX_UNREADABLE_CHUNKS} unreadable MiB: past the kernel image")
        searched = f"searched {self.start:#x}-{self.end:#x}" + (f" ({'; '.join(notes)})" if notes else "")
        found = (f"{self.token_index_matches} token index patterns, "
                 f"{len(self.token_tables)} token tables ({', '.join(map(hex, self.token_tables)) or 'none'}), "
                 f"{len(self.names_tables)} names+markers ({', '.join(map(hex, self.names_tables)) or 'none'})")
        if len(self.token_tables) == MAX_TOKEN_TABLES:
            found += f"; the search stops at {MAX_TOKEN_TABLES} token tables"
        if self.budget_spent:
            found += f"; the search stopped after walking {self.walked} names entries"
        return f"{searched}: {found}"

    # --- kallsyms_token_index and kallsyms_token_table -------------------------------------------

    def _token_tables(self) -> Iterator[_Tokens]:
        chunks = (self.size + CHUNK - 1) // CHUNK
        tail = b""
        unreadable = 0
        for number in range(chunks):
            chunk = self.memory.chunk(number)
            unreadable = unreadable + 1 if self.memory.fully_unreadable(number) else 0
            if unreadable == MAX_UNREADABLE_CHUNKS:
                self.end = self.start + (number + 1) * CHUNK
                return
            base = self.start + number * CHUNK
            # The indexes starting in the 7 bytes before the chunk, then those inside it: the chunk
            # is searched where it lies, not copied behind the tail.
            for data, data_base in ((tail + chunk[:7], base - len(tail)), (chunk, base)):
                for address in self._token_index_candidates(data, data_base):
                    index = self._token_index(address)
                    if index is not None:
                        for table in self._token_table(address, index):
                            if len(self.token_tables) == MAX_TOKEN_TABLES:
                                return
                            self.token_tables.append(table)
                            yield _Tokens(address, table, address + 512)
            tail = chunk[-7:]

    def _token_index_candidates(self, data: bytes, base: int) -> Iterator[int]:
        offset = 0
        while True:
            found, patterns = self._find_token_index(data, offset, base % 4)
            self.token_index_matches += patterns
            if found is None:
                return
            yield base + found
            offset = found + 1

    def _token_index(self, address: int) -> Optional[Tuple[int, ...]]:
        """The 256 offsets at ``address``, when they are readable and increase as an index's do."""
        try:
            index = struct.unpack("<256H", self.memory.get(address, 512))
        except FaultError:
            return None
        return index if _increasing_index(index) else None

    def _token_table(self, index_address: int, index: Tuple[int, ...]) -> Iterator[int]:
        """Starts of the token tables that end, NUL and up to 7 bytes of padding, right before the index."""
        before = index[255] + MAX_TOKEN + 8
        try:
            data = self.memory.get(index_address - before, before)
        except FaultError:
            return
        for padding in range(8):
            end = before - padding
            if data[end - 1] != 0 or any(data[end:]):
                break
            last_start = data.rfind(b"\0", 0, end - 1) + 1
            table = last_start - index[255]
            if last_start == 0 or table < 0 or (index_address - before + table) % 4:
                continue
            contents = data[table:end]
            if contents.count(0) != 256 or not _TOKEN_TABLE.fullmatch(contents):
                continue
            if any(contents[offset - 1] for offset in index[1:]):
                continue
            if sum(1 for first, second in zip(index, index[1:]) if second - first > 1) < MIN_TOKENS:
                continue
            yield index_address - before + table

    # --- kallsyms_markers, kallsyms_names, kallsyms_num_syms ---------------------------------------

    def _names_tables(self, tokens: _Tokens) -> Iterator[_Names]:
        """Markers ending right before the token table (5.x, 6.2+) or before the 3-byte-per-symbol
        ``kallsyms_seqs_of_names`` that 6.1 put in between; then the names and count before them."""
        window = 3 * MAX_SYMBOLS + 4 * (MAX_SYMBOLS // 256) + 16
        low = max(self.start, tokens.table_address - window)
        try:
            data = self.memory.get(low, tokens.table_address - low, strict=False)
        except FaultError:
            return
        tries = 0
        offset = 0
        while True:
            found = self._find_markers(data, offset, low % 4)
            if found is None:
                return
            offset, words = found
            address = low + offset
            markers = list(struct.unpack_from(f"<{words}I", data, offset))
            for count in self._marker_counts(address, words, tokens.table_address):
                tries += 1
                if tries > MAX_TRIES:
                    return
                names = self._names(address, markers[:count])
                if names is not None:
                    self.names_tables.append(names.names_address)
                    yield names
            offset += 1

    @staticmethod
    def _marker_counts(address: int, available: int, table_address: int) -> Iterator[int]:
        """How many of the increasing words can be the markers: those that end within 8 bytes of
        the token table, or 3 bytes a symbol (kallsyms_seqs_of_names, 6.1) before it."""
        for count in range(2, available + 1):
            end = address + 4 * count
            gap = table_address - end
            seqs_of_names = gap - (-end % 8)
            if 0 <= gap < 8 or 3 * (256 * (count - 1) + 1) <= seqs_of_names < 3 * 256 * count + 8:
                yield count

    def _names(self, markers_address: int, markers: List[int]) -> Optional[_Names]:
        """The names table whose entries land on ``markers`` and end right before them, right
        after a ``kallsyms_num_syms`` (u32, then 4 bytes of padding in 8-aligned tables) that
        needs that many markers."""
        chunks = len(markers)
        # The entries after the last marker (1 to 256 of them) end at the markers.
        high = markers_address - markers[-1] - 2
        high -= high % 4
        low = max(self.start, high - 256 * MAX_ENTRY)
        low -= low % 4
        if high - low < 8:
            return None
        try:
            window = self.memory.get(low, high - low, strict=False)
        except FaultError:
            return None
        for offset in reversed(list(_aligned_matches(_num_syms_pattern(chunks), window, 0, low % 4))):
            (count,) = struct.unpack_from("<I", window, offset)
            num_syms_address = low + offset
            # 8-aligned tables pad the u32 count up to the names; 4-aligned ones (7.2) do not.
            padded = window[offset + 4:offset + 8] == bytes(4)
            names_address = num_syms_address + (8 if padded else 4)
            if self._walk_names(names_address, count, markers, markers_address):
                return _Names(num_syms_address, count, names_address, markers_address)
        return None

    def _walk_names(self, address: int, count: int, markers: List[int], markers_address: int) -> bool:
        """Whether ``count`` entries from ``address`` put entry 256k at ``markers[k]`` and end in the
        padding before ``markers_address`` (the length byte's top bit marks a two-byte length, 6.1+)."""
        try:
            data = self.memory.get(address, markers_address - address)
        except FaultError:
            return False
        if self.walked + count > MAX_WALKED:
            raise _SearchBudgetSpent
        self.walked += count
        return self._walk(data, count, markers)

    # --- kallsyms_offsets, kallsyms_relative_base, kallsyms_addresses ------------------------------

    def _address_tables(self, tokens: _Tokens, names: _Names) -> Iterator[KallsymsCandidate]:
        """The address tables where each kernel generation put them, those whose values look like
        kernel addresses: before kallsyms_num_syms up to 6.1, after kallsyms_token_index since."""
        common = {"kallsyms_num_syms": names.num_syms_address, "kallsyms_names": names.names_address,
                  "kallsyms_markers": names.markers_address, "kallsyms_token_table": tokens.table_address,
                  "kallsyms_token_index": tokens.index_address}
        count = names.count
        # A sorted run of kernel addresses proves the absolute layout; its last entry would
        # otherwise pass for a relative base, so it is tried first.
        addresses = names.num_syms_address - 8 * count
        if self._sorted_kernel_addresses(addresses, count):
            yield KallsymsCandidate("absolute kallsyms_addresses before kallsyms_num_syms (before 4.6; up to 6.1 "
                                    "without KALLSYMS_BASE_RELATIVE)",
                                    {**common, "kallsyms_addresses": addresses})
        relative_base = names.num_syms_address - 8
        if self._kernel_address(relative_base):
            # .balign 8 may pad the s32 offsets to the relative base; 4-aligned tables do not.
            for offsets in dict.fromkeys((relative_base - 4 * count - (4 * count) % 8, relative_base - 4 * count)):
                yield KallsymsCandidate("offsets and relative base before kallsyms_num_syms (up to 6.1)",
                                        {**common, "kallsyms_offsets": offsets,
                                         "kallsyms_relative_base": relative_base})
        offsets = tokens.end
        addresses = offsets + offsets % 8
        if self._sorted_kernel_addresses(addresses, count):
            yield KallsymsCandidate("absolute kallsyms_addresses after kallsyms_token_index (6.2-6.10 without "
                                    "KALLSYMS_BASE_RELATIVE)",
                                    {**common, "kallsyms_addresses": addresses})
        for relative_base in dict.fromkeys((offsets + 4 * count + (4 * count) % 8, offsets + 4 * count)):
            if self._kernel_address(relative_base):
                yield KallsymsCandidate("offsets and relative base after kallsyms_token_index (6.2+)",
                                        {**common, "kallsyms_offsets": offsets,
                                         "kallsyms_relative_base": relative_base})
        if self._place_relative_in_image(offsets, count):
            yield KallsymsCandidate("place-relative offsets after kallsyms_token_index (7.0+)",
                                    {**common, "kallsyms_offsets": offsets})

    def _in_image(self, address: int) -> bool:
        # The relative base is _text, which may sit a little below _stext.
        return self.start - (16 << 20) <= address < self.start + self.size

    def _kernel_address(self, address: int) -> bool:
        try:
            return self._in_image(self.memory.u64(address))
        except FaultError:
            return False

    def _sorted_kernel_addresses(self, address: int, count: int) -> bool:
        # Per-CPU symbols hold small offsets, but most of a kernel's symbols are in its image: two
        # of them are read first, the whole table only when they are.
        if not all(self._kernel_address(address + 8 * index) for index in (count // 2, count - 1)):
            return False
        try:
            values = struct.unpack(f"<{count}Q", self.memory.get(address, 8 * count))
        except FaultError:
            return False
        return all(a <= b for a, b in zip(values, values[1:]))

    def _place_relative_in_image(self, address: int, count: int) -> bool:
        try:
            data = self.memory.get(address, 4 * count)
        except FaultError:
            return False
        first = address + struct.unpack_from("<i", data, 0)[0]
        last = address + 4 * (count - 1) + struct.unpack_from("<i", data, 4 * (count - 1))[0]
        return first <= last and self._in_image(last)
