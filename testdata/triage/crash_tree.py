"""Lay out /var/crash-style trees for the triage tests, in both tools' naming: kdump-tools'
``YYYYMMDDHHMM/`` and kexec-tools' ``HOST-YYYY-MM-DD-HH:MM:SS/``, each with ``vmcore`` and
``vmcore-dmesg.txt``. Copies of the committed sample get chosen crash times by rewriting the
``CRASHTIME=`` digits in their VMCOREINFO (same length, so nothing else moves); corpus dumps
are symlinked. Bad entries (truncated, not a dump, text log only) are made here too.
"""
import calendar
import os
import shutil
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE_DIR = os.path.join(ROOT, "testdata", "sample")
SAMPLE_VMCORE = os.path.join(SAMPLE_DIR, "vmcore")
SAMPLE_DMESG = os.path.join(SAMPLE_DIR, "vmcore-dmesg.txt")
CORPUS = os.path.join(os.environ.get("PYCORE_CACHE", os.path.expanduser("~/.cache/pycore")), "corpus")


def epoch(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
    """Seconds since the epoch of a UTC time, as CRASHTIME holds it."""
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def with_crash_time(source: str, destination: str, crash_time: Optional[int]) -> None:
    """Copy a dump, rewriting VMCOREINFO's CRASHTIME to ``crash_time`` (None removes the key by
    renaming it, for a dump that says nothing about when it crashed)."""
    with open(source, "rb") as f:
        data = bytearray(f.read())
    start = data.find(b"CRASHTIME=")
    if start < 0:
        raise ValueError(f"{source}: no CRASHTIME in VMCOREINFO")
    end = data.index(b"\n", start)
    old = bytes(data[start + len(b"CRASHTIME="):end])
    if crash_time is None:
        data[start:start + 1] = b"X"
    else:
        new = str(crash_time).encode()
        if len(new) != len(old):
            raise ValueError(f"CRASHTIME {crash_time} is not {len(old)} digits like {old!r}")
        data[start + len(b"CRASHTIME="):end] = new
    with open(destination, "wb") as f:
        f.write(data)


def truncated(source: str, destination: str, size: int) -> None:
    """The first ``size`` bytes of a dump, as an interrupted capture leaves it."""
    with open(source, "rb") as f:
        data = f.read(size)
    with open(destination, "wb") as out:
        out.write(data)


def _crash_dir(root: str, name: str) -> str:
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    return path


# The sample tree: five sysrq crashes at 15:0x UTC on different days, one at 03:01, a copy, and
# three that cannot be read. Tests state the counts these timestamps give.
SAMPLE_TREE: List[Dict] = [
    {"dir": "202611201502", "vmcore": ("crashtime", epoch(2026, 11, 20, 15, 2, 11)), "dmesg": True},
    {"dir": "202611211504", "vmcore": ("crashtime", epoch(2026, 11, 21, 15, 4, 40)), "dmesg": True},
    {"dir": "127.0.0.1-2026-11-23-15:01:09", "vmcore": ("crashtime", epoch(2026, 11, 23, 15, 1, 9)), "dmesg": True},
    # No CRASHTIME: the time comes from the directory name.
    {"dir": "202611240301", "vmcore": ("crashtime", None), "dmesg": False},
    # The same file as the first crash, filed again: a copy, not a new crash.
    {"dir": "202611250914", "vmcore": ("link", "202611201502/vmcore"), "dmesg": False},
    # The vmcore was never written; the text log was.
    {"dir": "202611261507", "vmcore": None, "dmesg": True},
    # Capture cut short: the vmcore is unreadable, vmcore-dmesg.txt carries the crash.
    {"dir": "202611271508", "vmcore": ("truncated", (1 << 20, epoch(2026, 11, 27, 15, 8, 30))), "dmesg": True},
    # Unreadable and nothing to fall back on.
    {"dir": "202611281200", "vmcore": ("garbage", 4 << 20), "dmesg": False},
    {"dir": "202611291530", "vmcore": ("truncated", (64 << 10, epoch(2026, 11, 29, 15, 30, 5))), "dmesg": False},
]


def build_sample_tree(root: str, layout: List[Dict] = SAMPLE_TREE) -> str:
    """Lay ``layout`` out under ``root`` from the committed sample; returns ``root``."""
    os.makedirs(root, exist_ok=True)
    for entry in layout:
        directory = _crash_dir(root, entry["dir"])
        vmcore = os.path.join(directory, "vmcore")
        kind = entry["vmcore"]
        if kind is not None:
            what, arg = kind
            if what == "crashtime":
                with_crash_time(SAMPLE_VMCORE, vmcore, arg)
            elif what == "link":
                os.symlink(os.path.join(root, arg), vmcore)
            elif what == "truncated":
                size, crash_time = arg
                with_crash_time(SAMPLE_VMCORE, vmcore, crash_time)
                truncated(vmcore, vmcore, size)
            elif what == "garbage":
                with open(vmcore, "wb") as f:
                    f.write(bytes((i * 131 + 7) % 251 for i in range(arg)))
            else:
                raise ValueError(f"unknown vmcore kind {what!r}")
        if entry["dmesg"]:
            shutil.copyfile(SAMPLE_DMESG, os.path.join(directory, "vmcore-dmesg.txt"))
    # Not crashes: kdump-tools' own files and an empty directory are passed over.
    with open(os.path.join(root, "kexec_cmd"), "w") as f:
        f.write("kexec -p /boot/vmlinuz --initrd=/boot/initrd.img\n")
    os.makedirs(os.path.join(root, "lost+found"), exist_ok=True)
    return root


# Corpus dumps filed as further crashes (symlinks; the 6.12 QEMU dump has no CRASHTIME).
CORPUS_TREE: List[Dict] = [
    {"dir": "10.0.0.7-2026-11-26-01:14:38", "dump": "6.1-sysrq-l4/vmcore.kdump-zstd"},
    {"dir": "202611301501", "dump": "6.12-sysrq-l4-qemu/qemu.kdump-zlib"},
    {"dir": "10.0.0.8-2026-11-26-01:17:26", "dump": "6.1-oom-l5/vmcore.kdump-lzo"},
    {"dir": "202611260115", "dump": "6.12-oom-l5/vmcore.flat-zstd"},
]


def corpus_available(layout: List[Dict] = CORPUS_TREE) -> bool:
    return all(os.path.exists(os.path.join(CORPUS, entry["dump"])) for entry in layout)


def build_corpus_tree(root: str, layout: List[Dict] = CORPUS_TREE) -> str:
    """Add ``layout``'s corpus dumps to the tree at ``root`` as symlinked ``vmcore`` files."""
    for entry in layout:
        directory = _crash_dir(root, entry["dir"])
        os.symlink(os.path.join(CORPUS, entry["dump"]), os.path.join(directory, "vmcore"))
    return root
