"""Seed inputs for every fuzz target, built from the synthetic fixtures (never hand-edited bytes).

A seed is the bytes a target parses, the byte ranges that hold structure (headers, tables,
descriptors: mutated far more often than page contents) and what the target needs besides
the bytes (where kallsyms tables start, how the DWARF sections were concatenated).  Run as
a script to write the corpus for a long atheris campaign: ``make_seeds.py OUTDIR``.
"""
import functools
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

TESTDATA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTDATA not in sys.path:
    sys.path.insert(0, TESTDATA)

import btf_writer  # noqa: E402
import kallsyms_writer  # noqa: E402
import printk_fixtures  # noqa: E402
import synthetic  # noqa: E402

Range = Tuple[int, int]


@dataclass
class Seed:
    """One starting input: ``data`` as the target reads it, ``hot`` the [start, end) ranges of
    structure in it, ``text`` whether it is line-oriented text, ``context`` the rest."""

    target: str
    name: str
    data: bytes
    hot: List[Range]
    text: bool = False
    context: Dict[str, Any] = field(default_factory=dict)


# -- dump containers -----------------------------------------------------------------
def small_machine() -> synthetic.Machine:
    """48 pages in two ranges with a hole and excluded pages: small enough to write per example."""
    return synthetic.make_machine(seed=5, ranges=[(0, 0x10000), (0x110000, 0x130000)], exclude_every=7)


def elf_structure(image: bytes) -> List[Range]:
    """An ELF core's header, program headers and PT_NOTE contents."""
    phoff, = struct.unpack_from("<Q", image, 32)
    phnum, = struct.unpack_from("<H", image, 56)
    hot = [(0, 64), (phoff, phoff + 56 * phnum)]
    for i in range(phnum):
        kind, _flags, offset, _vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", image, phoff + 56 * i)
        if kind == 4:
            hot.append((offset, offset + filesz))
    return hot


def kdump_structure(layout: synthetic.KdumpLayout) -> List[Range]:
    """A kdump file's disk_dump_header, sub-header with notes and VMCOREINFO, the first bytes
    of both bitmaps, and the page descriptors."""
    block = layout.block_size
    bitmap = (1 + layout.sub_hdr_size) * block
    half = layout.bitmap_blocks // 2 * block
    return [(0, 0x1D0), (block, bitmap), (bitmap, bitmap + 64), (bitmap + half, bitmap + half + 64),
            (layout.desc_offset, layout.data_offset)]


def elf_file_range(image: bytes, physical: int, size: int) -> Optional[Range]:
    """The file bytes holding physical [physical, physical+size) in an ELF core, if one PT_LOAD has them."""
    phoff, = struct.unpack_from("<Q", image, 32)
    phnum, = struct.unpack_from("<H", image, 56)
    for i in range(phnum):
        kind, _flags, offset, _vaddr, paddr, filesz = struct.unpack_from("<IIQQQQ", image, phoff + 56 * i)
        if kind == 1 and paddr <= physical and physical + size <= paddr + filesz:
            start = offset + physical - paddr
            return start, start + size
    return None


def flattened_headers(stream: bytes) -> List[Range]:
    """The flattened stream's file header (signature, type, version) and every record header."""
    hot = [(0, 32)]
    position = 4096
    while position + 16 <= len(stream):
        offset, size = struct.unpack_from(">qq", stream, position)
        hot.append((position, position + 16))
        if offset < 0 or size < 0:
            break
        position += 16 + size
    return hot


def dump_seeds() -> List[Seed]:
    machine = small_machine()
    seeds = []
    for name, image in (("elf-kdump", synthetic.build_elf(machine)),
                        ("elf-qemu", synthetic.build_elf(machine, qemu_style=True))):
        seeds.append(Seed("elf", name, image, elf_structure(image)))
    kdumps = {}
    for codec in synthetic.FLAG_OF_CODEC:
        image, layout = synthetic.build_kdump(machine, codec)
        kdumps[codec] = image
        seeds.append(Seed("kdump", f"kdump-{codec}", image, kdump_structure(layout)))
    for name, options in (("kdump-v1", {"header_version": 1}), ("kdump-diskdump", {"signature": b"DISKDUMP"}),
                          ("kdump-incomplete", {"status": synthetic.DUMP_DH_COMPRESSED_INCOMPLETE})):
        image, layout = synthetic.build_kdump(machine, "zlib", **options)
        seeds.append(Seed("kdump", name, image, kdump_structure(layout)))
    for name, image in (("flat-kdump-zstd", synthetic.flatten(kdumps["zstd"], seed=3)),
                        ("flat-elf", synthetic.flatten(synthetic.build_elf(machine), seed=5, skip_zero=True))):
        seeds.append(Seed("flattened", name, image, flattened_headers(image)))
    return seeds


# -- VMCOREINFO and notes ------------------------------------------------------------------
def vmcoreinfo_seeds() -> List[Seed]:
    texts = {"synthetic": small_machine().vmcoreinfo,
             "printk-ringbuffer": printk_machine("ringbuffer").vmcoreinfo,
             "printk-log": printk_machine("printk_log").vmcoreinfo}
    with open(os.path.join(TESTDATA, "sample", "vmcoreinfo.txt"), "rb") as stream:
        texts["sample-6.1"] = stream.read()
    return [Seed("vmcoreinfo", name, text, [(0, len(text))], text=True) for name, text in texts.items()]


def qemu_note(cpu: int) -> bytes:
    """QEMU's per-CPU note (QEMUCPUState version 1): registers, segments, control registers."""
    desc = struct.pack("<II", 1, 8 + 8 * 18 + 24 * 10 + 40 + 8)
    desc += struct.pack("<18Q", *(cpu << 32 | i for i in range(18)))
    desc += b"".join(struct.pack("<IIIIQ", i, 0xFFFFF, 0, 0, 0x1000 * i) for i in range(10))
    desc += struct.pack("<5Q", 0x80050033, 0, 0xFFFFFFFF, 0x1000, 0x3506F0) + struct.pack("<Q", 0)
    return struct.pack("<III", 5, len(desc), 0) + b"QEMU\0\0\0\0" + desc


def note_seeds() -> List[Seed]:
    machine = small_machine()
    plain = synthetic.notes(machine)
    with_qemu = plain + qemu_note(0) + qemu_note(1)
    return [Seed("notes", "kdump-notes", plain, [(0, len(plain))]),
            Seed("notes", "qemu-notes", with_qemu, [(0, len(with_qemu))])]


# -- symbols -----------------------------------------------------------------------------
def kallsyms_seeds() -> List[Seed]:
    seeds = []
    for layout in kallsyms_writer.LAYOUTS:
        symbols = kallsyms_writer.sample_symbols(functions=150, absolute_percpu=layout == "absolute-percpu")
        image = kallsyms_writer.build_kallsyms(symbols, layout=layout)
        hot = [(address - image.base, address - image.base + 64) for address in image.locations.values()]
        seeds.append(Seed("kallsyms", layout, image.data, [(0, len(image.data))] + hot,
                          context={"base": image.base, "locations": dict(image.locations)}))
    return seeds


def elf_sections(image: bytes) -> Dict[str, Range]:
    """Name -> file range of each section of an ELF64 file, and the header tables themselves."""
    shoff, = struct.unpack_from("<Q", image, 40)
    shnum, shstrndx = struct.unpack_from("<HH", image, 60)
    headers = [struct.unpack_from("<IIQQQQ", image, shoff + 64 * i) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    out = {"<headers>": (0, 64), "<section headers>": (shoff, shoff + 64 * shnum)}
    for name_offset, sh_type, _flags, _address, offset, size in headers:
        name = image[names_at + name_offset:image.index(b"\0", names_at + name_offset)].decode()
        if sh_type != 8:  # NOBITS has no file bytes
            out[name] = (offset, offset + size)
    return out


def vmlinux_seeds() -> List[Seed]:
    vmlinux = kallsyms_writer.build_vmlinux(kallsyms_writer.sample_symbols(functions=100))
    sections = elf_sections(vmlinux.elf)
    hot = [sections[name] for name in ("<headers>", "<section headers>", ".symtab", ".strtab", ".shstrtab",
                                       ".notes", ".rodata")]
    system_map = vmlinux.system_map.encode()
    return [Seed("vmlinux", "vmlinux-6.99", vmlinux.elf, hot),
            Seed("system_map", "system-map-6.99", system_map, [(0, len(system_map))], text=True)]


# -- types ---------------------------------------------------------------------------------
def btf_seeds() -> List[Seed]:
    blob, _ = btf_writer.kernel_like()
    return [Seed("btf", "kernel-like", blob, [(0, len(blob))])]


DWARF_SOURCE = r"""
struct list_head { struct list_head *next, *prev; };
typedef unsigned long long u64;
typedef struct { long counter; } atomic_long_t;
enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_MAX = -1 };
struct mm_struct { atomic_long_t rss_stat[4]; unsigned long total_vm; struct task_struct *owner; };
struct task_struct {
    unsigned int __state;
    unsigned int on_cpu : 1, in_iowait : 1, prio : 5;
    struct list_head tasks;
    union { u64 whole; struct { unsigned int lo, hi; }; };
    char comm[16];
    struct mm_struct *mm;
    int (*callback)(struct task_struct *, const char *, ...);
    volatile long flags;
    const enum pid_type type;
    double load;
    unsigned long data[];
};
struct task_struct init_task;
struct mm_struct *mms[4];
static const char banner[] = "Linux version fuzz";
int main(void) { return init_task.comm[0] + banner[0] + (int)sizeof(mms); }
"""
DWARF_SECTIONS = (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str", ".debug_str_offsets")


@functools.lru_cache(maxsize=None)
def _dwarf_object(version: int) -> Optional[bytes]:
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    with tempfile.TemporaryDirectory() as directory:
        source = os.path.join(directory, "fuzz.c")
        with open(source, "w") as stream:
            stream.write(DWARF_SOURCE)
        out = os.path.join(directory, "fuzz")
        subprocess.run([gcc, f"-gdwarf-{version}", "-O0", "-fno-eliminate-unused-debug-types", "-o", out, source],
                       check=True)
        with open(out, "rb") as stream:
            return stream.read()


def dwarf_seeds() -> List[Seed]:
    """DWARF 4 and 5 of a kernel-shaped C file, as the sections the scanner reads, concatenated
    (gcc is needed to make them: no seed where it is missing)."""
    seeds = []
    for version in (4, 5):
        image = _dwarf_object(version)
        if image is None:
            continue
        sections = elf_sections(image)
        data = b""
        lengths = []
        for name in DWARF_SECTIONS:
            start, end = sections.get(name, (0, 0))
            data += image[start:end]
            lengths.append(end - start)
        seeds.append(Seed("dwarf", f"dwarf{version}", data, [(0, lengths[0] + lengths[1])],
                          context={"lengths": lengths}))
    return seeds


# -- ORC ---------------------------------------------------------------------------------
ORC_IP_BASE = 0xFFFFFFFF82000000
ORC_TEXT = 0xFFFFFFFF81000000
ORC_STACK = 0xFFFFC90000010000


def orc_seeds() -> List[Seed]:
    """A table of CALL, REGS, REGS_PARTIAL, UNDEFINED and END entries over 64 functions, and a
    stack whose return addresses lead through them: layout versions 1 and 3 with the register
    numbering up to 7.0, and version 3 renumbered as 7.1 does (SP=3, PREV_SP=8)."""
    seeds = []
    count = 64
    ips = b"".join(struct.pack("<i", ORC_TEXT + 0x40 * i - (ORC_IP_BASE + 4 * i)) for i in range(count))
    for name, version, sp, bp, prev_sp in (("orc-v1", 1, 5, 4, 1), ("orc-v3", 3, 5, 4, 1), ("orc-v3-7.1", 3, 3, 4, 8)):
        entries = bytearray()
        for i in range(count):
            sp_reg, bp_reg = (sp, 0) if i % 5 else (bp, prev_sp)   # SP or BP based, bp saved or not
            if version >= 3:
                kind = (2, 2, 3, 4, 2, 0, 2, 1)[i % 8]              # CALL REGS REGS_PARTIAL UNDEFINED END
                flags = sp_reg | bp_reg << 4 | kind << 8
            else:
                old, end = ((0, 0), (0, 0), (1, 0), (2, 0), (0, 0), (0, 0), (0, 0), (0, 1))[i % 8]
                flags = sp_reg | bp_reg << 4 | old << 8 | end << 10
            entries += struct.pack("<hhH", 8 + 8 * (i % 4), -16, flags)
        stack = b"".join(struct.pack("<Q", ORC_TEXT + 0x40 * ((i * 7) % count) + 3 if i % 2 else ORC_STACK + 8 * i)
                         for i in range(128))
        data = ips + bytes(entries) + stack
        seeds.append(Seed("orc", name, data, [(0, len(ips) + len(entries))],
                          context={"count": count, "version": version}))
    return seeds


# -- printk ------------------------------------------------------------------------------
PRINTK_KINDS = ("ringbuffer", "printk_log", "log_buf")


def printk_fixture(kind: str):
    messages = [printk_fixtures.Message(b"fuzz message %02d %s" % (i, b"x" * (i * 7 % 23)), ts_nsec=i * 10 ** 9 + 7,
                                        level=i % 8, caller_id=100 + i) for i in range(24)]
    if kind == "ringbuffer":
        fixture = printk_fixtures.Ringbuffer(count_bits=4, size_bits=9)
        for message in messages:
            fixture.add(message)
    elif kind == "printk_log":
        fixture = printk_fixtures.PrintkLogBuffer(512)
        for message in messages:
            fixture.store(message)
    else:
        fixture = printk_fixtures.LegacyLogBuffer(512)
        for i, message in enumerate(messages):
            fixture.emit(b"<%d>[%5d.%06d] %s\n" % (i % 8, i, i * 11, message.text))
    return fixture


@functools.lru_cache(maxsize=None)
def printk_machine(kind: str) -> synthetic.Machine:
    """The synthetic machine of printk_fixtures.make_dump, holding one kernel log layout."""
    machine = synthetic.make_machine()
    synthetic.add_page_tables(machine)
    entries = printk_fixture(kind).place(machine)
    text = machine.vmcoreinfo.decode()
    for key, value in entries.items():
        text += f"{key}={value:x}\n" if key.startswith("SYMBOL(") else f"{key}={value}\n"
    machine.vmcoreinfo = text.encode()
    return machine


def printk_elf(kind: str, vmcoreinfo: Optional[bytes] = None) -> bytes:
    """An ELF core of the printk machine of ``kind``, with another VMCOREINFO text if given."""
    machine = printk_machine(kind)
    if vmcoreinfo is None:
        return synthetic.build_elf(machine)
    original = machine.vmcoreinfo
    machine.vmcoreinfo = vmcoreinfo
    try:
        return synthetic.build_elf(machine)
    finally:
        machine.vmcoreinfo = original


def printk_seeds() -> List[Seed]:
    """The kernel log's structures in memory (``printk_memory``), the VMCOREINFO that
    describes them (``printk_vmcoreinfo``), and the pre-3.5 text parser (``log_buf``)."""
    seeds = []
    for kind in PRINTK_KINDS:
        image = printk_elf(kind)
        hot = elf_structure(image)
        for physical, size in ((printk_fixtures.VARIABLES_PHYS, 0x100), (printk_fixtures.BUFFER_PHYS, 0x4000)):
            where = elf_file_range(image, physical, size)
            if where is not None:
                hot.append(where)
        seeds.append(Seed("printk_memory", kind, image, hot, context={"kind": kind}))
        text = printk_machine(kind).vmcoreinfo
        seeds.append(Seed("printk_vmcoreinfo", kind, text, [(0, len(text))], text=True, context={"kind": kind}))
    legacy = printk_fixture("log_buf").data
    seeds.append(Seed("log_buf", "legacy-512", bytes(legacy), [(0, len(legacy))], text=True))
    return seeds


# -- text logs -------------------------------------------------------------------------------
TEXT_LOGS = ("oom-ubuntu-5.4-two-reports.log", "oom-rhel6-2.6.32.log", "oom-memcg-6.1.log", "oops-panic-5.15.log",
             "lockups-hung-3.10.log", "disk-errors-4.15.log", "fs-errors-5.14.log", "mce-4.18.log",
             "serial-console.log", "warnings.log", "seed-slides-oops-2.6.32.log")


def textlog_seeds() -> List[Seed]:
    seeds = []
    for name in TEXT_LOGS:
        with open(os.path.join(TESTDATA, "logs", name), "rb") as stream:
            data = stream.read()
        seeds.append(Seed("textlog", name, data, [(0, len(data))], text=True))
    return seeds


BUILDERS = (dump_seeds, vmcoreinfo_seeds, note_seeds, kallsyms_seeds, vmlinux_seeds, btf_seeds, dwarf_seeds,
            orc_seeds, printk_seeds, textlog_seeds)


@functools.lru_cache(maxsize=None)
def all_seeds() -> Dict[str, Tuple[Seed, ...]]:
    """Every seed, grouped by target name."""
    grouped: Dict[str, List[Seed]] = {}
    for builder in BUILDERS:
        for seed in builder():
            grouped.setdefault(seed.target, []).append(seed)
    return {target: tuple(seeds) for target, seeds in grouped.items()}


def main(outdir: str) -> None:
    for target, seeds in all_seeds().items():
        directory = os.path.join(outdir, target)
        os.makedirs(directory, exist_ok=True)
        for seed in seeds:
            with open(os.path.join(directory, seed.name), "wb") as stream:
                stream.write(seed.data)
        print(f"{target}: {len(seeds)} seeds, {sum(len(seed.data) for seed in seeds)} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz-seeds")
