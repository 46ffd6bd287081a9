"""The kernel's own symbol table (kallsyms), decoded from kernel memory.

Covers the layouts scripts/kallsyms.c has emitted for 64-bit little-endian kernels:
``kallsyms_addresses`` (absolute, before 4.6 and !KALLSYMS_BASE_RELATIVE until 6.10),
``kallsyms_offsets`` + ``kallsyms_relative_base`` (4.6+; with or without
KALLSYMS_ABSOLUTE_PERCPU, which x86_64 SMP used until 6.15), and place-relative
``kallsyms_offsets`` with no relative base (Ard Biesheuvel's 2026 series), with
one- or two-byte name lengths (6.1+).  VMCOREINFO names the tables since 6.0;
older kernels need a ``locate`` callback (System.map, vmlinux).  Names are expanded
straight into the table's columns (csrc/kallsyms.c, or its Python twin here).
"""
from array import array
from itertools import accumulate
from operator import add
import string
import struct
from typing import Callable, List, Optional, Tuple

from .. import native as _native
from ..errors import FaultError, FormatError, MissingDebugInfoError
from .table import SymbolColumns, SymbolTable, image_bounds, indexed_table, name_order

Reader = Callable[[int, int], bytes]
Locator = Callable[[str], Optional[int]]

SOURCE = "kallsyms (dump)"
PAGE = 4096
# Far above any real kernel (6.12 has ~158k symbols); a larger count means a wrong address.
MAX_SYMBOLS = 4_000_000
# Longest token in the table: scripts/kallsyms.c builds tokens from pairs of
# tokens, so a few dozen bytes in practice; read this much past the last index.
TOKEN_SLACK = 512
# Largest kallsyms_names entry: two length bytes and up to 0x3FFF token bytes.
MAX_ENTRY = 2 + 0x3FFF
MASK64 = (1 << 64) - 1
# csrc/pc_kallsyms.h PC_KALLSYMS_*: how a table gives the addresses.
ABSOLUTE, RELATIVE, PLACE_RELATIVE = range(3)
_LETTERS = string.ascii_letters.encode()


def _read_available(read: Reader, address: int, size: int) -> bytes:
    """Up to ``size`` bytes at ``address``, stopping at the first unreadable page."""
    try:
        return read(address, size)
    except FaultError:
        pass
    pieces = []
    end = address + size
    while address < end:
        chunk = min(end, (address // PAGE + 1) * PAGE) - address
        try:
            pieces.append(read(address, chunk))
        except FaultError:
            break
        address += chunk
    return b"".join(pieces)


def _read_exact(read: Reader, address: int, size: int, field: str) -> bytes:
    data = read(address, size)
    if len(data) != size:
        raise FormatError(f"short read of {field}: {len(data)} of {size} bytes at {address:#x}", field=field)
    return data


def _token_table(read: Reader, table_address: int, index_address: int) -> List[bytes]:
    index = struct.unpack("<256H", _read_exact(read, index_address, 512, "kallsyms_token_index"))
    table = _read_available(read, table_address, max(index) + TOKEN_SLACK)
    tokens = []
    for code, start in enumerate(index):
        end = table.find(b"\0", start)
        if end < 0:
            raise FormatError(f"kallsyms_token_table entry {code} at {table_address + start:#x} "
                              f"has no NUL within {TOKEN_SLACK} bytes", field="kallsyms_token_table")
        tokens.append(table[start:end])
    return tokens


class _Expanded:
    """``kallsyms_names`` expanded so far, in column form: each entry's type letter (0 for an
    entry that expands to nothing), its name followed by a NUL, and where each NUL is."""

    def __init__(self) -> None:
        self.kinds = bytearray()
        self.names = bytearray()
        self.ends: "array[int]" = array("Q")


def _expand_names(read: Reader, names_address: int, count: int, tokens: List[bytes],
                  native: Optional[bool] = None) -> _Expanded:
    """Every ``kallsyms_names`` entry expanded (``kallsyms_expand_symbol``), in C
    (csrc/kallsyms.c) when the extension is built, else by :func:`_expand_python`."""
    expand = _expand_native if _native.use_native(native) else _expand_python
    # The table's size is not recorded anywhere VMCOREINFO reaches, so read a
    # generous estimate (real kernels use 13-14 bytes a symbol) and grow on demand.
    data = _read_available(read, names_address, count * 16 + MAX_ENTRY)
    exhausted = len(data) < count * 16 + MAX_ENTRY
    expanded = _Expanded()
    offset = 0
    while True:
        offset = expand(data, offset, count - len(expanded.kinds), tokens, expanded)
        if len(expanded.kinds) == count:
            return expanded
        if exhausted:
            if offset < len(data):
                raise FormatError(f"kallsyms_names entry {len(expanded.kinds)} runs past readable memory at "
                                  f"{names_address + len(data):#x}", field="kallsyms_names")
            raise FormatError(f"kallsyms_names ends at {names_address + len(data):#x} after "
                              f"{len(expanded.kinds)} of {count} symbols", field="kallsyms_names")
        want = max(len(data) // 2, MAX_ENTRY)
        more = _read_available(read, names_address + len(data), want)
        exhausted = len(more) < want
        data += more


def _expand_python(data: bytes, offset: int, count: int, tokens: List[bytes], expanded: _Expanded) -> int:
    """Append to ``expanded`` at most ``count`` entries of ``data`` from ``offset``, stopping before
    an entry that does not lie wholly in ``data``; returns the offset after the last one."""
    token = tokens.__getitem__
    join = b"".join
    entries = []
    append = entries.append
    size = len(data)
    for _ in range(count):
        if offset >= size:
            break
        length = data[offset]
        header = 1
        if length & 0x80:
            # Since 6.1 ("big" symbols, mostly Rust): ULEB128 in two bytes, low 7 bits first.
            if offset + 1 >= size:
                break
            length = (length & 0x7F) | (data[offset + 1] << 7)
            header = 2
        end = offset + header + length
        if end > size:
            break
        append(join(map(token, data[offset + header:end])))
        offset = end
    if entries:
        expanded.kinds += bytes(entry[0] if entry else 0 for entry in entries)
        rests = [entry[1:] for entry in entries]
        base = len(expanded.names)
        expanded.ends.extend(map(add, accumulate(map(len, rests)), range(base, base + len(rests))))
        expanded.names += b"\0".join(rests) + b"\0"
    return offset


def _expand_native(data: bytes, offset: int, count: int, tokens: List[bytes], expanded: _Expanded) -> int:
    """:func:`_expand_python` through csrc/kallsyms.c (pc_kallsyms_expand)."""
    ffi, lib = _native.ffi, _native.lib
    blob = b"".join(tokens)
    starts = [0, *accumulate(map(len, tokens))]
    token_start = ffi.new("uint32_t[257]", starts)
    position = ffi.new("size_t *", offset)
    names_len, done = ffi.new("size_t *"), ffi.new("size_t *")
    # Room for any one entry (a two-byte length reaches 0x7FFF codes) past what the names hold.
    room = 0x8000 * max(map(len, tokens)) + 1
    kinds, ends, names = expanded.kinds, expanded.ends, expanded.names
    while count:
        had = len(kinds)
        kinds.extend(bytes(count))
        ends.frombytes(bytes(8 * count))
        names_len[0] = len(names)
        names.extend(bytes(max(count * 32, room)))
        status = lib.pc_kallsyms_expand(data, len(data), position, count, blob, len(blob), token_start,
                                        ffi.from_buffer("uint8_t[]", kinds) + had,
                                        ffi.from_buffer("uint64_t[]", ends) + had,
                                        ffi.from_buffer("uint8_t[]", names), len(names), names_len, done)
        if status:
            raise _native.error(status, context=_native.Context(container="symtab", reason="kallsyms token table"))
        del kinds[had + done[0]:], ends[had + done[0]:], names[names_len[0]:]
        count -= done[0]
        if not done[0] or position[0] >= len(data):
            break
    return position[0]


def _addresses_python(table: bytes, count: int, layout: int, base: int) -> Tuple["array[int]", int]:
    """Every symbol's address, the way ``kallsyms_sym_address`` computes it from ``table`` laid out
    as ``layout`` (csrc/pc_kallsyms.h PC_KALLSYMS_*), and the first index whose address is below the
    one before it (``count`` when they are sorted)."""
    if layout == ABSOLUTE:
        addresses = list(struct.unpack(f"<{count}Q", table[:8 * count]))
    else:
        offsets = struct.unpack(f"<{count}i", table[:4 * count])
        # The kernel adds in unsigned long: a damaged table wraps around 2**64, never past it.
        if layout == PLACE_RELATIVE:
            # No relative base (2026+): each entry is a PC32 value, relative to its own place.
            addresses = [(base + 4 * index + offset) & MASK64 for index, offset in enumerate(offsets)]
        elif min(offsets) < 0:
            # KALLSYMS_ABSOLUTE_PERCPU: non-negative entries are absolute values (per-CPU
            # offsets), negative ones count down from relative_base - 1.  Without it every
            # entry is an unsigned offset from the base, and a kernel image would need to
            # span 2 GiB for one to look negative, so the sign tells the two apart.
            addresses = [offset if offset >= 0 else (base - 1 - offset) & MASK64 for offset in offsets]
        else:
            addresses = [(base + offset) & MASK64 for offset in offsets]
    unsorted = count
    if addresses != sorted(addresses):
        unsorted = next(i for i in range(1, count) if addresses[i - 1] > addresses[i])
    return array("Q", addresses), unsorted


def _addresses_native(table: bytes, count: int, layout: int, base: int) -> Tuple["array[int]", int]:
    """:func:`_addresses_python` through csrc/kallsyms.c (pc_kallsyms_addresses)."""
    ffi, lib = _native.ffi, _native.lib
    addresses = array("Q", bytes(8 * count))
    unsorted = ffi.new("size_t *")
    status = lib.pc_kallsyms_addresses(table, len(table), count, layout, base, ffi.from_buffer("uint64_t[]", addresses),
                                       unsorted)
    if status:
        raise _native.error(status, context=_native.Context(container="symtab", reason="kallsyms addresses"))
    return addresses, unsorted[0]


def _addresses(read: Reader, count: int, offsets_address: Optional[int], relative_base_address: Optional[int],
               addresses_address: Optional[int], native: Optional[bool]) -> Tuple["array[int]", int]:
    """Every symbol's address and where they stop being sorted (:func:`_addresses_python`), from
    the table the kernel has."""
    if offsets_address is None:
        if addresses_address is None:
            raise MissingDebugInfoError("kallsyms: neither kallsyms_offsets nor kallsyms_addresses was found "
                                        "in VMCOREINFO or by the locate fallback")
        table, layout, base = _read_exact(read, addresses_address, 8 * count, "kallsyms_addresses"), ABSOLUTE, 0
    else:
        table = _read_exact(read, offsets_address, 4 * count, "kallsyms_offsets")
        if relative_base_address is None:
            layout, base = PLACE_RELATIVE, offsets_address
        else:
            layout = RELATIVE
            (base,) = struct.unpack("<Q", _read_exact(read, relative_base_address, 8, "kallsyms_relative_base"))
    return (_addresses_native if _native.use_native(native) else _addresses_python)(table, count, layout, base)


def load_kallsyms(read: Reader, vmcoreinfo, locate: Optional[Locator] = None,
                  native: Optional[bool] = None) -> SymbolTable:
    """Decode the kernel's kallsyms tables through ``read(address, size)``.

    The tables' addresses come from VMCOREINFO's ``SYMBOL(kallsyms_*)`` entries
    (Linux 6.0+), else from ``locate(name)`` (an address or None), which older
    kernels need; both give runtime addresses, so the symbols are runtime addresses
    too.  ``vmcoreinfo`` may be None when ``locate`` knows everything.  Raises
    MissingDebugInfoError when a table cannot be found, FormatError when what is
    read does not decode as kallsyms, FaultError when a table is unreadable.
    """
    def where(name: str) -> Optional[int]:
        address = vmcoreinfo.symbol(name) if vmcoreinfo is not None else None
        if address is None and locate is not None:
            try:
                address = locate(name)
            except LookupError:
                address = None
        return address

    def required(name: str) -> int:
        address = where(name)
        if address is None:
            hint = "" if locate is not None else " (kernels before 6.0 need a locate fallback: System.map or vmlinux)"
            raise MissingDebugInfoError(f"kallsyms: {name} is not in VMCOREINFO nor found by locate{hint}")
        return address

    num_syms_address = required("kallsyms_num_syms")
    names_address = required("kallsyms_names")
    token_table_address = required("kallsyms_token_table")
    token_index_address = required("kallsyms_token_index")
    offsets_address = where("kallsyms_offsets")
    relative_base_address = where("kallsyms_relative_base") if offsets_address is not None else None
    addresses_address = where("kallsyms_addresses") if offsets_address is None else None

    # An unsigned int since 5.x, an unsigned long before: the low 4 bytes serve both.
    (count,) = struct.unpack("<I", _read_exact(read, num_syms_address, 4, "kallsyms_num_syms"))
    if not 0 < count <= MAX_SYMBOLS:
        raise FormatError(f"kallsyms_num_syms at {num_syms_address:#x} is {count}, expected 1..{MAX_SYMBOLS}",
                          field="kallsyms_num_syms")

    tokens = _token_table(read, token_table_address, token_index_address)
    expanded = _expand_names(read, names_address, count, tokens, native)
    kinds, ends = bytes(expanded.kinds), expanded.ends
    names = str(memoryview(expanded.names)[:-1], "latin-1")

    def name(position: int) -> str:
        return names[ends[position - 1] + 1 if position else 0:ends[position]]

    if kinds.translate(None, _LETTERS):
        position = next(i for i, kind in enumerate(kinds) if kind not in _LETTERS)
        kind = chr(kinds[position]) if kinds[position] else ""
        raise FormatError(f"kallsyms_names entry {position} decodes to {kind + name(position)!r}, whose "
                          f"type letter {kind!r} is not a letter: wrong table address or token table",
                          field="kallsyms_names")

    addresses, unsorted = _addresses(read, count, offsets_address, relative_base_address, addresses_address, native)
    if unsorted < count:
        raise FormatError(f"kallsyms addresses are not sorted at entry {unsorted} ({name(unsorted)!r}): "
                          "wrong kallsyms_offsets/kallsyms_relative_base or layout", field="kallsyms_offsets")

    present = sorted(set(kinds))
    columns = SymbolColumns(names, ends, addresses, None,
                            kinds.translate(bytes.maketrans(bytes(present), bytes(range(len(present))))),
                            tuple(map(chr, present)))
    by_name = name_order(names, ends, native)
    start, end = image_bounds(columns, by_name)
    if end is not None and end <= (start or 0):
        end = None
    return indexed_table(SOURCE, columns, by_name, start, end, native)
