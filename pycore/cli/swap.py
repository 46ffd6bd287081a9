"""``pycore swap DUMP``: the swap areas in use, as crash 9's ``swap`` lists them: the
swap_info_struct, partition or file, size and use in KiB, percent used, priority and path."""
import argparse
from typing import Any, Dict

from ..kernel import swap
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import center

HEADER = "SWAP_INFO_STRUCT    TYPE       SIZE       USED     PCT  PRI  FILENAME"


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    kb_per_page = prog.dump.page_size // 1024
    rows = []
    for si in swap.for_each_swap_info(prog):
        rows.append({"swap_info_struct": int(si), "partition": not swap.swap_is_file(si),
                     "size_kb": int(si.pages) * kb_per_page,
                     "used_kb": swap.swap_usage_in_pages(si) * kb_per_page, "priority": int(si.prio),
                     "filename": swap.swap_file_path(si).decode("utf-8", "replace")})
    return Collected({"areas": rows}, [])


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines = [HEADER]
    for row in data["areas"]:
        percent = row["used_kb"] * 100 // row["size_kb"] if row["size_kb"] else 0
        lines.append(f"{row['swap_info_struct']:<16x}  {'PARTITION' if row['partition'] else '  FILE   '} "
                     f"{center(str(row['size_kb']) + 'k', 10, rjust=True)} {center(str(row['used_kb']) + 'k', 10, rjust=True)} "
                     f"{center(f'{percent:2d}%', 4, rjust=True)} {row['priority']:>4}  {row['filename']}")
    return "\n".join(lines)


COMMAND = DumpCommand("swap", add_arguments=lambda parser: None, collect=collect, render=render,
                      description="Swap areas in use, as crash's swap prints them.")
