"""Synthetic vmcores in every container format, for what no real dump shows.

Each builder returns the file's bytes; the ground truth (a ``Machine``: physical
memory, which pages were left out, VMCOREINFO, CPU registers) comes with it, so
tests compare what pycore reads against what was written.  Run as a script to
write a set of fixtures into a directory: ``python testdata/synthetic.py OUTDIR``.
"""
import hashlib
import os
import random
import re
import struct
import sys
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

PAGE_SIZE = 4096
DIRECT_MAP = 0xFFFF888000000000

# Flags of makedumpfile's page_desc and disk_dump_header.status.
FLAG_OF_CODEC = {"none": 0, "zlib": 0x1, "lzo": 0x2, "snappy": 0x4, "zstd": 0x20}
DUMP_DH_COMPRESSED_INCOMPLETE = 0x8

PRSTATUS_REGISTERS = (
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
    "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base",
    "gs_base", "ds", "es", "fs", "gs",
)


@dataclass
class Machine:
    """The truth a synthetic dump is made from."""
    ranges: List[Tuple[int, int]]                 # physical (start, end), page aligned
    pages: Dict[int, bytes]                       # pfn -> content, for every pfn in ranges
    excluded: Set[int] = field(default_factory=set)
    vmcoreinfo: bytes = b""
    registers: List[Dict[str, int]] = field(default_factory=list)
    release: str = "6.1.0-synthetic"

    def read(self, address: int, size: int) -> bytes:
        out = bytearray()
        while size:
            pfn, offset = divmod(address, PAGE_SIZE)
            take = min(size, PAGE_SIZE - offset)
            out += self.pages[pfn][offset:offset + take]
            address += take
            size -= take
        return bytes(out)

    @property
    def max_pfn(self) -> int:
        return max(end for _, end in self.ranges) // PAGE_SIZE

    def zero_pfns(self) -> Set[int]:
        zero = bytes(PAGE_SIZE)
        return {pfn for pfn, data in self.pages.items() if data == zero and pfn not in self.excluded}


def _page(kind: int, rng: random.Random, pfn: int) -> bytes:
    if kind == 0:
        return bytes(PAGE_SIZE)
    if kind == 1:  # text, compresses well
        line = f"pfn {pfn:#x}: the quick brown fox jumps over the lazy dog {rng.random()}\n".encode()
        return (line * (PAGE_SIZE // len(line) + 1))[:PAGE_SIZE]
    if kind == 2:  # random, does not compress: stored raw
        return rng.randbytes(PAGE_SIZE)
    # structures: pointers and small integers
    words = [DIRECT_MAP + rng.randrange(1 << 20) * 8 if i % 3 else i for i in range(PAGE_SIZE // 8)]
    return struct.pack(f"<{PAGE_SIZE // 8}Q", *words)


def make_machine(seed: int = 1, ranges: Optional[List[Tuple[int, int]]] = None,
                 exclude_every: int = 7) -> Machine:
    """A machine with a hole below 1 MiB, zero/text/random/structured pages and some excluded."""
    rng = random.Random(seed)
    ranges = ranges or [(0, 0xA0000), (0x100000, 0x400000)]
    pages: Dict[int, bytes] = {}
    excluded: Set[int] = set()
    for start, end in ranges:
        for pfn in range(start // PAGE_SIZE, end // PAGE_SIZE):
            pages[pfn] = _page(rng.randrange(4), rng, pfn)
            if exclude_every and pfn % exclude_every == 3 and pfn > 0x100:
                excluded.add(pfn)
    release = "6.1.0-synthetic"
    vmcoreinfo = (
        f"OSRELEASE={release}\nBUILD-ID=0123456789abcdef0123456789abcdef01234567\nPAGESIZE={PAGE_SIZE}\n"
        "SYMBOL(init_uts_ns)=ffffffff82a13460\nSYMBOL(init_top_pgt)=ffffffff82a0a000\n"
        "SYMBOL(_stext)=ffffffff81000000\nOFFSET(list_head.next)=0\nSIZE(page)=64\n"
        "NUMBER(phys_base)=0\nNUMBER(pgtable_l5_enabled)=0\nKERNELOFFSET=1e000000\n"
        "CRASHTIME=1764115200\n"
    ).encode()
    registers = [{name: (cpu << 32) | (index * 0x1111) for index, name in enumerate(PRSTATUS_REGISTERS)}
                 for cpu in range(2)]
    return Machine(ranges, pages, excluded, vmcoreinfo, registers, release)


# -- page tables -------------------------------------------------------------
START_KERNEL_MAP = 0xFFFFFFFF80000000
VMALLOC = 0xFFFFC90000000000
VMEMMAP = 0xFFFFEA0000000000
USER_BASE = 0x400000
PTE_PRESENT, PTE_RW, PTE_PSE = 0x1, 0x2, 0x80


@dataclass
class PageTables:
    """Roots and the mappings they hold: (virtual, physical, size) per mapping."""
    levels: int
    kernel_root: int
    user_root: int
    mappings: List[Tuple[int, int, int]]
    user_mappings: List[Tuple[int, int, int]]
    hole: int  # a canonical kernel address with no mapping


def add_page_tables(machine: Machine, levels: int = 4, first_pfn: int = 0x3C0) -> PageTables:
    """Build x86_64 page tables into ``machine``'s memory and point VMCOREINFO at them.

    Kernel: a 1 GiB page for the direct map, a 2 MiB page in vmemmap, and 4 KiB
    vmalloc pages scattered over memory; user: a few 4 KiB pages.
    """
    free = iter(range(first_pfn, machine.max_pfn))
    tables: Dict[int, bytearray] = {}

    def new_table() -> int:
        pfn = next(free)
        tables[pfn] = bytearray(PAGE_SIZE)
        return pfn * PAGE_SIZE

    def entry(table: int, index: int) -> int:
        return struct.unpack_from("<Q", tables[table // PAGE_SIZE], index * 8)[0]

    def set_entry(table: int, index: int, value: int) -> None:
        struct.pack_into("<Q", tables[table // PAGE_SIZE], index * 8, value)

    def map_one(root: int, vaddr: int, paddr: int, size: int) -> None:
        leaf_level = {1 << 30: 3, 2 << 20: 2, PAGE_SIZE: 1}[size]
        table = root
        for level in range(levels, leaf_level, -1):
            index = (vaddr >> (12 + 9 * (level - 1))) & 0x1FF
            current = entry(table, index)
            if not current & PTE_PRESENT:
                current = new_table() | PTE_PRESENT | PTE_RW
                set_entry(table, index, current)
            table = current & 0x000FFFFFFFFFF000
        index = (vaddr >> (12 + 9 * (leaf_level - 1))) & 0x1FF
        set_entry(table, index, paddr | PTE_PRESENT | PTE_RW | (PTE_PSE if leaf_level > 1 else 0))

    page_offset = 0xFFFF888000000000 if levels == 4 else 0xFF11000000000000
    kernel_root = new_table()
    user_root = new_table()
    rng = random.Random(levels)
    dumped = [pfn for pfn in sorted(machine.pages) if pfn < first_pfn and pfn not in machine.excluded]
    mappings = [(page_offset, 0, 1 << 30), (VMEMMAP, 0x200000, 2 << 20)]
    mappings += [(VMALLOC + i * PAGE_SIZE, rng.choice(dumped) * PAGE_SIZE, PAGE_SIZE) for i in range(24)]
    user_mappings = [(USER_BASE + i * PAGE_SIZE, rng.choice(dumped) * PAGE_SIZE, PAGE_SIZE) for i in range(8)]
    for vaddr, paddr, size in mappings:
        map_one(kernel_root, vaddr, paddr, size)
    for vaddr, paddr, size in user_mappings:
        map_one(user_root, vaddr, paddr, size)
    for pfn, table in tables.items():
        machine.pages[pfn] = bytes(table)
        machine.excluded.discard(pfn)
    phys_base = int(re.search(rb"NUMBER\(phys_base\)=(-?\d+)", machine.vmcoreinfo).group(1)) & (2**64 - 1)
    symbol = (kernel_root - phys_base + START_KERNEL_MAP) & (2**64 - 1)
    text = re.sub(rb"SYMBOL\(init_top_pgt\)=[0-9a-f]+", b"SYMBOL(init_top_pgt)=%x" % symbol, machine.vmcoreinfo)
    text = re.sub(rb"NUMBER\(pgtable_l5_enabled\)=\d", b"NUMBER(pgtable_l5_enabled)=%d" % (levels == 5), text)
    machine.vmcoreinfo = text
    hole = VMALLOC + 0x40000000
    return PageTables(levels, kernel_root, user_root, mappings, user_mappings, hole)


# -- notes ---------------------------------------------------------------------
def _note(name: bytes, kind: int, desc: bytes) -> bytes:
    name0 = name + b"\0"
    pad = lambda b: b + bytes(-len(b) % 4)  # noqa: E731
    return struct.pack("<III", len(name0), len(desc), kind) + pad(name0) + pad(desc)


def notes(machine: Machine) -> bytes:
    out = b""
    for cpu, regs in enumerate(machine.registers):
        prstatus = bytearray(336)
        struct.pack_into("<i", prstatus, 32, 100 + cpu)
        struct.pack_into(f"<{len(PRSTATUS_REGISTERS)}Q", prstatus, 112, *(regs[n] for n in PRSTATUS_REGISTERS))
        out += _note(b"CORE", 1, bytes(prstatus))
    out += _note(b"VMCOREINFO", 0, machine.vmcoreinfo)
    return out


# -- ELF -----------------------------------------------------------------------
def build_elf(machine: Machine, qemu_style: bool = False, filter_excluded: bool = True) -> bytes:
    """An ELF64 core: one PT_LOAD per run of dumped pages; excluded pages at a run's end become
    p_memsz > p_filesz, excluded pages inside a range split it (as ``makedumpfile -E -d N`` does)."""
    note_data = notes(machine)
    segments: List[Tuple[int, int, int]] = []  # paddr, filesz, memsz
    for start, end in machine.ranges:
        pfns = list(range(start // PAGE_SIZE, end // PAGE_SIZE))
        run_start = None
        for pfn in pfns + [None]:
            dumped = pfn is not None and not (filter_excluded and pfn in machine.excluded)
            if dumped and run_start is None:
                run_start = pfn
            elif not dumped and run_start is not None:
                last = pfn if pfn is not None else end // PAGE_SIZE
                tail = 1 if pfn is not None else 0  # the excluded page after a run: memsz only
                segments.append((run_start * PAGE_SIZE, (last - run_start) * PAGE_SIZE,
                                 (last - run_start + tail) * PAGE_SIZE))
                run_start = None
    phnum = 1 + len(segments)
    data_offset = 64 + 56 * phnum
    data_offset += -data_offset % 16
    note_offset = data_offset
    load_offset = note_offset + len(note_data)
    load_offset += -load_offset % PAGE_SIZE
    header = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 4, 62, 1, 0, 64, 0, 0,
                         64, 56, phnum, 0, 0, 0)
    phdrs = struct.pack("<IIQQQQQQ", 4, 0, note_offset, 0, 0, len(note_data), len(note_data), 0)
    body = bytearray()
    for paddr, filesz, memsz in segments:
        vaddr = 0 if qemu_style else DIRECT_MAP + paddr
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, load_offset + len(body), vaddr, paddr, filesz, memsz, 0)
        body += machine.read(paddr, filesz)
    out = bytearray(header + phdrs)
    out += bytes(note_offset - len(out)) + note_data
    out += bytes(load_offset - len(out)) + body
    return bytes(out)


# -- kdump-compressed ------------------------------------------------------------
def compress(codec: str, data: bytes) -> bytes:
    if codec == "zlib":
        return zlib.compress(data)
    if codec == "lzo":
        import lzo
        return lzo.compress(data, 1, False)
    if codec == "snappy":
        import snappy
        return snappy.compress(data)
    if codec == "zstd":
        import zstandard
        return zstandard.ZstdCompressor(level=1).compress(data)
    raise ValueError(codec)


@dataclass
class KdumpLayout:
    """Where things landed in a synthetic kdump file, for tests that corrupt it."""
    block_size: int
    sub_hdr_size: int
    bitmap_blocks: int
    desc_offset: int
    data_offset: int
    desc_of: Dict[int, int]  # pfn -> offset of its page_desc
    data_of: Dict[int, Tuple[int, int]]  # pfn -> (offset, size) of its stored data


def build_kdump(machine: Machine, codec: str = "zlib", header_version: int = 6,
                status: int = 0, signature: bytes = b"KDUMP   ") -> Tuple[bytes, KdumpLayout]:
    """A makedumpfile kdump-compressed file of ``machine`` with every page compressed by ``codec``."""
    bs = PAGE_SIZE
    max_mapnr = machine.max_pfn
    note_data = notes(machine)
    sub = struct.calcsize("<QiiQQQQQQQQQQQ")
    note_off = bs + sub
    vmci_off = note_off + len(note_data)
    sub_hdr_size = -(-(sub + len(note_data) + len(machine.vmcoreinfo)) // bs)
    half_blocks = -(-max_mapnr // (8 * bs))
    bitmap_blocks = 2 * half_blocks
    bitmap1 = bytearray(half_blocks * bs)
    bitmap2 = bytearray(half_blocks * bs)
    dumped = []
    for pfn in sorted(machine.pages):
        bitmap1[pfn >> 3] |= 1 << (pfn & 7)
        if pfn not in machine.excluded:
            bitmap2[pfn >> 3] |= 1 << (pfn & 7)
            dumped.append(pfn)
    desc_offset = (1 + sub_hdr_size + bitmap_blocks) * bs
    data_offset = desc_offset + 24 * len(dumped)
    descs = bytearray()
    data = bytearray(bytes(bs))  # the shared zero page comes first
    layout = KdumpLayout(bs, sub_hdr_size, bitmap_blocks, desc_offset, data_offset, {}, {})
    zero = bytes(bs)
    flag = FLAG_OF_CODEC[codec]
    for index, pfn in enumerate(dumped):
        page = machine.pages[pfn]
        layout.desc_of[pfn] = desc_offset + 24 * index
        if page == zero:
            descs += struct.pack("<QIIQ", data_offset, bs, 0, 0)
            layout.data_of[pfn] = (data_offset, bs)
            continue
        stored, flags = page, 0
        if codec != "none":
            packed = compress(codec, page)
            if len(packed) < bs:
                stored, flags = packed, flag
        layout.data_of[pfn] = (data_offset + len(data), len(stored))
        descs += struct.pack("<QIIQ", data_offset + len(data), len(stored), flags, 0)
        data += stored
    utsname = b"".join(s.encode().ljust(65, b"\0") for s in
                       ("Linux", "synthetic", machine.release, "#1 SMP", "x86_64", "(none)"))
    header = struct.pack("<8si390s6xqqIiiIIIIIIi", signature, header_version, utsname, 1764115200, 0, status,
                         bs, sub_hdr_size, bitmap_blocks, min(max_mapnr, 0xFFFFFFFF), 0, 0, 0, 0,
                         len(machine.registers))
    subheader = struct.pack("<QiiQQQQQQQQQQQ", 0x1000000, 31, 0, 0, max_mapnr, vmci_off,
                            len(machine.vmcoreinfo), note_off, len(note_data), 0, 0, 0, max_mapnr, max_mapnr)
    out = bytearray(header.ljust(bs, b"\0"))
    area = (subheader + note_data + machine.vmcoreinfo).ljust(sub_hdr_size * bs, b"\0")
    out += area + bitmap1 + bitmap2 + descs + data
    return bytes(out), layout


# -- flattened -----------------------------------------------------------------
def flatten(image: bytes, seed: int = 0, rewrite: bool = True, skip_zero: bool = False) -> bytes:
    """``image`` as makedumpfile's flattened stream: records of varied size, some out of
    order, and (with ``rewrite``) one region first written with garbage, then rewritten.
    With ``skip_zero``, all-zero records (but the last) are left out, as holes."""
    rng = random.Random(seed)
    records: List[Tuple[int, bytes]] = []
    position = 0
    while position < len(image):
        size = min(rng.choice((512, 1000, 4096, 7000, 24)), len(image) - position)
        records.append((position, image[position:position + size]))
        position += size
    if skip_zero:
        records = [r for r in records[:-1] if any(r[1])] + records[-1:]
    # makedumpfile writes the header last when it learns the final status: move it.
    records = records[1:] + records[:1]
    for i in range(2, len(records) - 1, 9):  # swap some neighbours
        records[i], records[i + 1] = records[i + 1], records[i]
    if rewrite and len(records) > 4:
        offset, chunk = records[3]
        records.insert(0, (offset, bytes(len(chunk) // 2) + b"\xff" * (len(chunk) - len(chunk) // 2)))
    head = b"makedumpfile".ljust(16, b"\0") + struct.pack(">qq", 1, 1)
    out = bytearray(head.ljust(4096, b"\0"))
    for offset, chunk in records:
        out += struct.pack(">qq", offset, len(chunk)) + chunk
    out += struct.pack(">qq", -1, -1)
    return bytes(out)


def main(outdir: str) -> None:
    os.makedirs(outdir, exist_ok=True)
    machine = make_machine()
    files = {"elf-kdump.vmcore": build_elf(machine), "elf-qemu.vmcore": build_elf(machine, qemu_style=True)}
    for codec in FLAG_OF_CODEC:
        files[f"kdump-{codec}.vmcore"] = build_kdump(machine, codec)[0]
    files["flat-kdump-zlib.vmcore"] = flatten(files["kdump-zlib.vmcore"])
    for name, data in files.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()[:16]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "synthetic-out")
