"""Shared pages for the benchmarks and a summary table printed at the end of the session.

Every benchmark checks what it computed (pages, translations, symbols, types, command output)
before its time counts, and reports speed as a ratio to a baseline timed in the same run.
"""
import os
import random
import struct
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# testdata/ holds the synthetic dump writers; tests/ the corpus helpers and crash's recordings.
sys.path.insert(0, os.path.join(ROOT, "testdata"))
sys.path.append(os.path.join(ROOT, "tests"))

PAGE_SIZE = 4096
PAGE_COUNT = 1000
# struct task_struct of the corpus kernels as drgn 0.3.0 reads it from each vmlinux's DWARF (on a
# dump of that kernel): size and the offsets of comm, pid and tasks.  A type source whose answer
# differs is wrong, however fast.
TASK_STRUCT = {
    "6.1.0-56-cloud-amd64": {"size": 9728, "comm": 2976, "pid": 2416, "tasks": 2192},
    "6.12.117+deb13-cloud-amd64": {"size": 9792, "comm": 2976, "pid": 2432, "tasks": 2224},
}


def task_struct_layout(task) -> "dict[str, int]":
    """The numbers of TASK_STRUCT for a pycore ``struct task_struct``."""
    return {"size": task.size, **{name: task.offsetof(name) for name in ("comm", "pid", "tasks")}}

# (codec name, path) -> mean seconds per page, filled in by the benchmarks.
PER_PAGE_SECONDS: "dict[tuple[str, str], float]" = {}
# Functions returning summary lines, registered by other bench modules.
SUMMARIES: "list" = []


def _kernel_pointer(rng: random.Random) -> bytes:
    return struct.pack("<Q", 0xFFFF888000000000 + rng.randrange(1 << 30) * 8)


def realistic_page(rng: random.Random) -> bytes:
    """A page shaped like dump contents: structs, printk text, page tables, sparse pages, noise."""
    kind = rng.randrange(6)
    if kind == 0:
        record = b"".join(_kernel_pointer(rng) for _ in range(4)) + struct.pack("<IIQ", rng.randrange(100), 0, 0)
        body = record * (PAGE_SIZE // len(record) + 1)
    elif kind == 1:
        body = "".join(f"[{rng.random() * 1000:12.6f}] {rng.choice(['eth0', 'sda', 'ext4', 'oom'])}: "
                       f"event {rng.randrange(10000)} at {rng.randrange(1 << 48):#x}\n" for _ in range(80)).encode()
    elif kind == 2:
        body = b"".join(struct.pack("<Q", (rng.randrange(1 << 24) << 12) | 0x63) for _ in range(rng.randrange(512)))
    elif kind == 3:
        body = rng.randbytes(PAGE_SIZE)
    elif kind == 4:
        page = bytearray(PAGE_SIZE)
        for _ in range(rng.randrange(1, 20)):
            offset = rng.randrange(0, PAGE_SIZE - 8, 8)
            page[offset:offset + 8] = _kernel_pointer(rng)
        body = bytes(page)
    else:
        chunks = []
        while sum(map(len, chunks)) < PAGE_SIZE:
            chunks.append(rng.choice([bytes(rng.randrange(1, 700)), rng.randbytes(rng.randrange(1, 200)),
                                      b"slab_cache " * rng.randrange(1, 30), _kernel_pointer(rng) * rng.randrange(1, 50)]))
        body = b"".join(chunks)
    return (body + bytes(PAGE_SIZE))[:PAGE_SIZE]


@pytest.fixture(scope="session")
def realistic_pages() -> "list[bytes]":
    rng = random.Random(1)
    return [realistic_page(rng) for _ in range(PAGE_COUNT)]


def pytest_terminal_summary(terminalreporter):
    for summary in SUMMARIES:
        for line in summary():
            terminalreporter.write_line(line)
    if not PER_PAGE_SECONDS:
        return
    write = terminalreporter.write_line
    write("")
    write(f"page codecs, {PAGE_COUNT} pages of {PAGE_SIZE} bytes: mean µs per page "
          "(x the codec's own binding / x the C floor, measured in the same run)")
    paths = list(dict.fromkeys(path for _, path in PER_PAGE_SECONDS))
    write(f"{'codec':8}" + "".join(f"{path:>30}" for path in paths))
    for codec in dict.fromkeys(codec for codec, _ in PER_PAGE_SECONDS):
        library = PER_PAGE_SECONDS.get((codec, "library"))
        floor = PER_PAGE_SECONDS.get((codec, "floor"))
        cells = []
        for path in paths:
            seconds = PER_PAGE_SECONDS.get((codec, path))
            if seconds is None:
                cells.append(f"{'-':>30}")
                continue
            ratios = "/".join(f"{seconds / base:.2f}" if base else "-" for base in (library, floor))
            cells.append(f"{seconds * 1e6:>14.2f}{' (x' + ratios + ')':>16}")
        write(f"{codec:8}" + "".join(cells))
