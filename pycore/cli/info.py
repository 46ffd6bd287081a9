"""``pycore info DUMP``: what the dump is, which kernel it holds, how complete it is, and which pycore
(version, C extension or pure Python) reads it."""
import argparse
from typing import Any, Dict, Optional

from ..program import Program
from .command import DumpCommand
from .common import build_info, describe_build


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    info = prog.info()
    info["pycore"] = build_info()
    return info


def _size(pages: Any, page_size: int) -> str:
    if pages is None:
        return "unknown"
    return f"{pages} ({pages * page_size / 2**20:.1f} MiB)"


def _reader(info: Dict[str, Any]) -> str:
    if info["format"] == "elf" and not info["flattened"]:
        return "file mapping (nothing to decompress)"
    return "C extension" if info["native"] else "pure Python"


def render(info: Dict[str, Any], args: Optional[argparse.Namespace] = None) -> str:
    page = info["page_size"]
    pages = info["pages"]
    fmt = info["format"] + (" (flattened stream)" if info["flattened"] else "")
    lines = [
        f"{'DUMPFILE':>14}: {info['path']}",
        f"{'FORMAT':>14}: {fmt}",
        f"{'CODEC':>14}: {info['codec'] or 'none'}",
        f"{'ARCHITECTURE':>14}: {info['architecture']}",
        f"{'RELEASE':>14}: {info['kernel_release'] or 'unknown'}",
        f"{'PAGE SIZE':>14}: {page}",
        f"{'CPUS':>14}: {info['cpus']}",
        f"{'CRASH TIME':>14}: {info['crash_time_utc'] or 'unknown'}",
        f"{'PHYS_BASE':>14}: {'unknown' if info['phys_base'] is None else hex(info['phys_base'] & (2**64 - 1))}",
        f"{'KERNEL OFFSET':>14}: {'unknown' if info['kernel_offset'] is None else hex(info['kernel_offset'])}",
        f"{'PRESENT PAGES':>14}: {_size(pages['present'], page)}",
        f"{'DUMPED PAGES':>14}: {_size(pages['dumped'], page)}",
        f"{'EXCLUDED':>14}: {_size(pages['excluded'], page)}",
        f"{'ZERO PAGES':>14}: {_size(pages['zero'], page)}",
        f"{'INCOMPLETE':>14}: {'yes, ' + str(pages['missing']) + ' pages missing' if info['incomplete'] else 'no'}",
        f"{'READER':>14}: {_reader(info)}",
        f"{'PYCORE':>14}: {describe_build(info['pycore'])}",
        f"{'SYMBOLS':>14}: {info['debuginfo']['symbols']}",
        f"{'TYPES':>14}: {info['debuginfo']['types']}",
        f"{'RANGES':>14}:",
    ]
    for memory_range in info["physical_ranges"]:
        start, end = memory_range["start"], memory_range["end"]
        lines.append(f"{'':>16}{start:#014x} - {end:#014x}  ({(end - start) / 2**20:.1f} MiB)")
    return "\n".join(lines)


COMMAND = DumpCommand("info", add_arguments=lambda parser: None, collect=collect, render=render)
