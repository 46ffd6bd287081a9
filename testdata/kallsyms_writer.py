"""Synthetic kallsyms tables, encoded the way scripts/kallsyms.c encodes them, and a tiny vmlinux.

``build_kallsyms`` compresses a symbol list with the kernel's token scheme (used
characters stand for themselves, free codes for the most frequent pairs) and lays
the tables out in one of the kernel's layouts:

- ``absolute-percpu``: s32 offsets + relative base; 'A' (per-CPU) symbols absolute,
  the rest ``relative_base - 1 - offset`` (x86_64 SMP, 4.6-6.14)
- ``relative``: u32 offsets from the relative base (other architectures; x86_64 6.15+)
- ``absolute``: u64 ``kallsyms_addresses`` (before 4.6, and !KALLSYMS_BASE_RELATIVE until 6.10)
- ``pc-relative``: s32 offsets relative to each entry's own place, no relative base (2026+)

Names take one length byte, or two (ULEB128) past 127 bytes, as since 6.1.
``build_vmlinux`` wraps text, the kallsyms tables, a banner and a build-id note
into an ELF64 file with a ``.symtab``, plus the matching System.map text.
"""
from collections import Counter
from dataclasses import dataclass, field
import random
import string
import struct
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from pycore.dump.vmcoreinfo import VmcoreInfo
from pycore.errors import FaultError

LAYOUTS = ("absolute-percpu", "relative", "absolute", "pc-relative")
# Order of the tables in .rodata: offsets first up to 6.1, names first from 6.2 on.
ORDER_6_1 = ("kallsyms_offsets", "kallsyms_relative_base", "kallsyms_num_syms", "kallsyms_names",
             "kallsyms_markers", "kallsyms_seqs_of_names", "kallsyms_token_table", "kallsyms_token_index")
ORDER_6_12 = ("kallsyms_num_syms", "kallsyms_names", "kallsyms_markers", "kallsyms_token_table",
              "kallsyms_token_index", "kallsyms_offsets", "kallsyms_relative_base", "kallsyms_seqs_of_names")
# kallsyms_names last, so the decoder meets the end of readable memory right after it.
ORDER_NAMES_LAST = ("kallsyms_offsets", "kallsyms_relative_base", "kallsyms_num_syms", "kallsyms_markers",
                    "kallsyms_token_table", "kallsyms_token_index", "kallsyms_names")

Entry = Tuple[str, str, int]  # (name, type letter, address)


@dataclass
class KallsymsImage:
    """Encoded tables at ``base``: ``read`` them like kernel memory; ``locations`` are the kallsyms_* symbols."""

    base: int
    data: bytes
    locations: Dict[str, int]
    big_entries: int = 0  # names that took the two-byte length form

    def read(self, address: int, size: int) -> bytes:
        offset = address - self.base
        if offset < 0 or offset + size > len(self.data) or size < 0:
            raise FaultError("outside the synthetic kallsyms image", address)
        return self.data[offset:offset + size]

    def vmcoreinfo(self, names: Optional[Iterable[str]] = None) -> VmcoreInfo:
        """VMCOREINFO text with ``SYMBOL(name)`` for the given tables (default: all of them)."""
        wanted = self.locations if names is None else names
        return VmcoreInfo("".join(f"SYMBOL({name})={self.locations[name]:x}\n"
                                  for name in wanted if name in self.locations))


def _compress(symbols: List[bytes], max_tokens: int) -> Tuple[List[List[int]], List[bytes]]:
    """The kernel's table-lookup compression, simplified: greedy most-frequent pairs into free codes."""
    tokens: List[Optional[bytes]] = [None] * 256
    for symbol in symbols:
        for code in symbol:
            tokens[code] = bytes([code])
    sequences = [list(symbol) for symbol in symbols]
    free = [code for code in range(255, -1, -1) if tokens[code] is None]
    for code in free[:max_tokens]:
        pairs: Counter = Counter()
        for sequence in sequences:
            pairs.update(zip(sequence, sequence[1:]))
        if not pairs:
            break
        (first, second), count = pairs.most_common(1)[0]
        if count < 2:
            break
        tokens[code] = tokens[first] + tokens[second]
        for position, sequence in enumerate(sequences):
            if len(sequence) < 2:
                continue
            replaced, index = [], 0
            while index < len(sequence):
                if index + 1 < len(sequence) and sequence[index] == first and sequence[index + 1] == second:
                    replaced.append(code)
                    index += 2
                else:
                    replaced.append(sequence[index])
                    index += 1
            sequences[position] = replaced
    return sequences, [token or b"" for token in tokens]


def _align(blob: bytearray, alignment: int) -> None:
    blob.extend(b"\0" * (-len(blob) % alignment))


def build_kallsyms(symbols: Sequence[Entry], layout: str = "absolute-percpu", base: int = 0xFFFFFFFF82000000,
                   order: Sequence[str] = ORDER_6_12, max_tokens: int = 64, long_num_syms: bool = False,
                   truncate: int = 0) -> KallsymsImage:
    """Encode ``symbols`` (sorted by address, as the kernel sorts them) at ``base``.

    ``max_tokens=0`` stores every character as itself, so a name's entry length is
    exactly ``1 + len(name)`` (for testing the one/two-byte boundary).
    ``long_num_syms`` stores the count as an 8-byte unsigned long (older kernels);
    ``truncate`` drops that many bytes from the end of the image.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {LAYOUTS}")
    symbols = sorted(symbols, key=lambda entry: entry[2])
    raw = [(kind + name).encode() for name, kind, _address in symbols]
    sequences, tokens = _compress(raw, max_tokens)
    count = len(symbols)

    names = bytearray()
    markers = []
    big = 0
    for index, sequence in enumerate(sequences):
        if index % 256 == 0:
            markers.append(len(names))
        length = len(sequence)
        if length > 0x3FFF:
            raise ValueError(f"symbol {symbols[index][0][:40]!r}... is too long for kallsyms")
        if length <= 0x7F:
            names.append(length)
        else:
            names.extend(((length & 0x7F) | 0x80, length >> 7))
            big += 1
        names.extend(sequence)

    token_table = bytearray()
    token_index = []
    for token in tokens:
        token_index.append(len(token_table))
        token_table.extend(token + b"\0")

    absolute = [kind in "Aa" and layout == "absolute-percpu" for _name, kind, _address in symbols]
    relative_base = min((address for (_n, _k, address), is_abs in zip(symbols, absolute) if not is_abs),
                        default=0)
    parts: Dict[str, bytes] = {
        "kallsyms_num_syms": struct.pack("<Q" if long_num_syms else "<I", count),
        "kallsyms_names": bytes(names),
        "kallsyms_markers": struct.pack(f"<{len(markers)}I", *markers),
        "kallsyms_seqs_of_names": bytes(3 * count),
        "kallsyms_token_table": bytes(token_table),
        "kallsyms_token_index": struct.pack("<256H", *token_index),
    }
    if layout == "absolute":
        parts["kallsyms_addresses"] = struct.pack(f"<{count}Q", *(address for _n, _k, address in symbols))
        order = ["kallsyms_addresses" if name == "kallsyms_offsets" else name for name in order
                 if name != "kallsyms_relative_base"]
    elif layout == "pc-relative":
        order = [name for name in order if name != "kallsyms_relative_base"]
        parts["kallsyms_offsets"] = b""  # placeholder: needs its own address, filled in below
    else:
        offsets = []
        for (name, _kind, address), is_absolute in zip(symbols, absolute):
            if layout == "relative":
                offset = address - relative_base
                if not 0 <= offset <= 0xFFFFFFFF:
                    raise ValueError(f"{name} at {address:#x} is out of range in relative mode")
                offset = struct.unpack("<i", struct.pack("<I", offset))[0]
            elif is_absolute:
                offset = address
                if not 0 <= offset <= 0x7FFFFFFF:
                    raise ValueError(f"absolute {name} at {address:#x} is out of range")
            else:
                offset = relative_base - address - 1
                if not -0x80000000 <= offset < 0:
                    raise ValueError(f"{name} at {address:#x} is out of range in relative mode")
            offsets.append(offset)
        parts["kallsyms_offsets"] = struct.pack(f"<{count}i", *offsets)
        parts["kallsyms_relative_base"] = struct.pack("<Q", relative_base)

    blob = bytearray()
    locations: Dict[str, int] = {}
    for name in order:
        if name not in parts:
            continue
        _align(blob, 8)
        locations[name] = base + len(blob)
        if name == "kallsyms_offsets" and layout == "pc-relative":
            place = base + len(blob)
            parts[name] = struct.pack(f"<{count}i", *(address - (place + 4 * index)
                                                      for index, (_n, _k, address) in enumerate(symbols)))
        blob.extend(parts[name])
    if truncate:
        del blob[-truncate:]
    # Memory is readable in whole pages: what follows the tables up to the page end reads as zeros.
    _align(blob, 4096)
    return KallsymsImage(base, bytes(blob), locations, big)


def sample_symbols(functions: int = 400, kaslr: int = 0, long_names: Sequence[int] = (150, 300),
                   absolute_percpu: bool = True) -> List[Entry]:
    """A kernel-shaped symbol list: per-CPU symbols, text from ``_text``, data, ``_end``.

    With ``absolute_percpu`` (x86_64 SMP before 6.15) the per-CPU symbols are 'A'
    offsets from 0 that KASLR does not move; otherwise they are ordinary 'D'
    symbols inside the image.  ``long_names`` adds Rust-like names of those
    lengths (two-byte entries).
    """
    text = 0xFFFFFFFF81000000 + kaslr
    percpu, kind = (0, "A") if absolute_percpu else (0xFFFFFFFF83000000 + kaslr, "D")
    entries: List[Entry] = [
        ("__per_cpu_start", kind, percpu), ("fixed_percpu_data", kind, percpu),
        ("cpu_debug_store", kind, percpu + 0x1000), ("runqueues", kind, percpu + 0x2C000),
        ("__per_cpu_end", kind, percpu + 0x34000),
        ("_text", "T", text), ("_stext", "T", text), ("startup_64", "T", text),
    ]
    subsystems = ("sched", "mm", "vfs", "net", "blk", "irq", "rcu", "ext4")
    verbs = ("alloc", "free", "lookup", "insert", "wake_up", "schedule", "flush", "init")
    address = text + 0x100
    for index in range(functions):
        name = f"{subsystems[index % 8]}_{verbs[(index // 8) % 8]}_{index}"
        entries.append((name, "T" if index % 3 else "t", address))
        address += 0x40 + (index * 37) % 0x200
    for length in long_names:
        stem = f"_RNvNtCs{length}_kernel"
        rng = random.Random(length)  # varied enough that pair tokens cannot squeeze it under 128 bytes
        name = (stem + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length)))[:length]
        entries.append((name, "T", address))
        address += 0x80
    entries.append(("schedule", "T", address))
    entries.append(("_etext", "T", address + 0x1000))
    data = 0xFFFFFFFF82800000 + kaslr
    for index in range(40):
        entries.append((f"data_{index}", "D" if index % 2 else "d", data + index * 0x100))
    entries.append(("linux_banner", "D", data + 40 * 0x100))
    entries.append(("__bss_start", "B", data + 0x10000))
    entries.append(("_end", "B", data + 0x20000 if absolute_percpu else percpu + 0x40000))
    return entries


# --- a tiny vmlinux ---------------------------------------------------------------------------

@dataclass
class Section:
    name: str
    address: int
    data: bytes
    sh_type: int = 1  # SHT_PROGBITS
    flags: int = 0x2  # SHF_ALLOC
    size: Optional[int] = None  # for NOBITS


@dataclass
class Vmlinux:
    elf: bytes
    system_map: str
    symbols: List[Entry] = field(default_factory=list)
    kallsyms: Optional[KallsymsImage] = None


def _build_id_note(build_id: bytes) -> bytes:
    name = b"GNU\0"
    return struct.pack("<III", len(name), len(build_id), 3) + name + build_id + b"\0" * (-len(build_id) % 4)


def build_vmlinux(symbols: Optional[List[Entry]] = None, sizes: Optional[Dict[str, int]] = None,
                  build_id: bytes = bytes(range(20)), banner: str = "Linux version 6.99.0-synthetic (gcc) #1 SMP\n",
                  layout: str = "absolute-percpu") -> Vmlinux:
    """An ELF64 x86_64 vmlinux: .text, .rodata holding ``linux_banner`` and the kallsyms tables,
    .data..percpu at address 0, .bss, a build-id note, and ``.symtab`` (functions 'T'/'t' as
    STT_FUNC, data as STT_OBJECT, lowercase letters STB_LOCAL), plus its System.map text."""
    symbols = list(symbols if symbols is not None else sample_symbols())
    sizes = dict(sizes or {})
    by_name = {name: address for name, _kind, address in symbols}
    text_start = by_name["_text"]
    rodata_start = (by_name["_etext"] + 0xFFFFF) & ~0xFFFFF
    banner_bytes = banner.encode() + b"\0"
    sizes.setdefault("linux_banner", len(banner_bytes))
    symbols = [entry for entry in symbols if entry[0] != "linux_banner"] + [("linux_banner", "D", rodata_start)]
    # The tables land after the banner; the kallsyms symbols themselves are not in kallsyms.
    kallsyms = build_kallsyms(symbols, layout=layout, base=rodata_start + 0x1000)
    rodata = banner_bytes.ljust(0x1000, b"\0") + kallsyms.data
    all_symbols = symbols + [(name, "D", address) for name, address in kallsyms.locations.items()]
    all_symbols.sort(key=lambda entry: entry[2])

    data_start = min(address for _name, kind, address in all_symbols
                     if kind in "Dd" and address > rodata_start + len(rodata))
    bss_start = by_name["__bss_start"]
    sections = [
        Section(".text", text_start, b"\xcc" * (by_name["_etext"] - text_start), flags=0x6),
        Section(".rodata", rodata_start, rodata),
        Section(".notes", rodata_start + len(rodata) + 0x100, _build_id_note(build_id), sh_type=7),
        Section(".data", data_start, b"\x11" * (bss_start - data_start), flags=0x3),
        Section(".data..percpu", 0, b"\0" * by_name["__per_cpu_end"], flags=0x3),
        Section(".bss", bss_start, b"", sh_type=8, flags=0x3, size=by_name["_end"] - bss_start),
    ]

    def section_of(address: int) -> int:
        for number, section in enumerate(sections, 1):
            size = section.size if section.size is not None else len(section.data)
            if section.address <= address < section.address + size or (
                    address == section.address + size and section.name == ".bss"):
                return number
        return 0xFFF1  # SHN_ABS

    strtab = bytearray(b"\0")
    symtab = bytearray(b"\0" * 24)
    ordered = sorted(all_symbols, key=lambda entry: entry[1].isupper())  # locals first, as ELF requires
    first_global = 1 + sum(1 for entry in ordered if not entry[1].isupper())
    for name, kind, address in ordered:
        binding = 1 if kind.isupper() else 0
        sym_type = 2 if kind in "Tt" and name not in ("_text", "_stext", "_etext") else (
            1 if kind in "DdBbRr" and name not in ("_end", "__bss_start") and not name.startswith("__per_cpu") else 0)
        shndx = section_of(address) if kind not in "Aa" else 5  # per-CPU symbols live in .data..percpu
        symtab.extend(struct.pack("<IBBHQQ", len(strtab), (binding << 4) | sym_type, 0, shndx, address,
                                  sizes.get(name, 0)))
        strtab.extend(name.encode() + b"\0")

    shstrtab = bytearray(b"\0")
    headers = []
    body = bytearray(b"\0" * 64)
    for section in sections:
        _align(body, 16)
        offset = len(body)
        body.extend(section.data)
        size = section.size if section.size is not None else len(section.data)
        headers.append((section.name, section.sh_type, section.flags, section.address, offset, size, 0, 0,
                        4 if section.sh_type == 7 else 16, 0))
    for name, sh_type, content, link, info, entsize in ((".symtab", 2, bytes(symtab), len(sections) + 2,
                                                        first_global, 24),
                                                       (".strtab", 3, bytes(strtab), 0, 0, 0)):
        _align(body, 8)
        headers.append((name, sh_type, 0, 0, len(body), len(content), link, info, 8, entsize))
        body.extend(content)
    headers.append((".shstrtab", 3, 0, 0, 0, 0, 0, 0, 1, 0))
    name_offsets = []
    for header in headers:
        name_offsets.append(len(shstrtab))
        shstrtab.extend(header[0].encode() + b"\0")
    headers[-1] = headers[-1][:4] + (len(body), len(shstrtab)) + headers[-1][6:]
    body.extend(shstrtab)
    _align(body, 8)
    shoff = len(body)
    body.extend(b"\0" * 64)
    for (name, sh_type, flags, address, offset, size, link, info, align, entsize), name_offset in zip(
            headers, name_offsets):
        body.extend(struct.pack("<IIQQQQIIQQ", name_offset, sh_type, flags, address, offset, size, link, info,
                                align, entsize))
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    body[:64] = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, text_start, 0, shoff, 0, 64, 56, 0, 64,
                                    len(headers) + 1, len(headers))
    system_map = "".join(f"{address:016x} {kind} {name}\n" for name, kind, address in all_symbols)
    return Vmlinux(bytes(body), system_map, all_symbols, kallsyms)
