"""``pycore pte DUMP VALUE...``: page-table entry values decoded as crash 9's ``pte`` decodes them
(x86_64_translate_pte): a mapping entry's page address and flags, a swap entry's swap area and
offset (x86_64 swap entries of 4.18+, after L1TF), an empty entry's "no mapping"."""
import argparse
import re
from typing import Any, Dict, List, Optional

from ..arch.x86_64 import pte_physical, pte_present
from ..errors import FaultError, PycoreError
from ..kernel import swap
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import center
from .vtop import pte_lines

# crash's htoll: an optional 0x, then at most 16 hexadecimal digits.
_HEXADECIMAL = re.compile(r"(0[xX])?([0-9a-fA-F]+)")
# crash's answer where a swap entry's area cannot be named (no area at its index, no swap file, a
# path crash's parse_line splits).
UNLOCATED = "cannot determine swap location"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("values", metavar="VALUE", nargs="*", help="hexadecimal page-table entry values")


def _entry_value(text: str) -> int:
    """A PTE value as crash's htoll reads it; its refusals word for word."""
    match = _HEXADECIMAL.fullmatch(text)
    if match is None:
        raise PycoreError(f'invalid input: "{text}"')
    digits = match.group(2)
    if len(digits) > 16:
        raise PycoreError(f'input string too large: "{text}" ({len(digits)} vs 16)')
    return int(digits, 16)


def _swap_area(prog: Program, type: int) -> Optional[str]:
    """The path of swap area ``type``, as crash's get_swapdev names it; None where crash cannot (no
    swap support, no area at that index or without a swap file, a path with white space in it)."""
    try:
        si = swap.swap_info(prog, type)
    except FaultError:
        raise
    except (LookupError, PycoreError):
        return None
    if not int(si.swap_file):
        return None
    path = swap.swap_device_name(si)
    return None if not path or any(c.isspace() for c in path) else path


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    """Each value decoded in turn; the first that cannot be (a bad number, a swap entry whose area
    has no name) ends the answer, as crash's error does, after what came before it."""
    levels = prog.arch.levels
    rows: List[Dict[str, Any]] = []
    for text in args.values:
        try:
            value = _entry_value(text)
        except PycoreError as error:
            return Collected({"entries": rows}, [], str(error))
        if not value or pte_present(value):
            rows.append({"pte": value, "physical": pte_physical(value, levels)})
            continue
        entry = swap.pte_to_swp_entry(value)
        area = _swap_area(prog, entry.type) if entry is not None else None
        if area is None:
            rows.append({"pte": value, "swap": None})
            return Collected({"entries": rows}, [], UNLOCATED)
        rows.append({"pte": value, "swap": area, "offset": entry.offset})
    return Collected({"entries": rows}, [])


def _swap_lines(row: Dict[str, Any]) -> List[str]:
    """crash's SWAP/OFFSET lines of a swap entry; only the PTE title where its area has no name
    (crash prints its error after it, on the same line)."""
    pte = f"{row['pte']:x}"
    pte_width = max(len(pte), 3)
    title = center("PTE", pte_width) + "  "
    if row["swap"] is None:
        return [title]
    offset = str(row["offset"])
    swap_width, offset_width = max(len(row["swap"]), 4), max(len(offset), 6)
    return [title + center("SWAP", swap_width) + "  " + center("OFFSET", offset_width),
            center(pte, pte_width, rjust=True) + "  " + center(row["swap"], swap_width, rjust=True) + "  "
            + center(offset, offset_width, rjust=True)]


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines: List[str] = []
    for row in data["entries"]:
        lines += _swap_lines(row) if "swap" in row else pte_lines(row["pte"], row["physical"])
    return "\n".join(lines)


COMMAND = DumpCommand("pte", _add_arguments, collect, render, values_only=True,
                      description="Decode page-table entry values as crash's pte: the page address and flags, "
                                  "or the swap area and offset of a swap entry.")
