"""``pycore vtop DUMP ADDRESS...`` and ``pycore ptov DUMP PHYSICAL...``: kernel virtual to physical
addresses with every page-table entry on the way, the PTE's flags and the ``struct page`` of the
page (crash 9's ``vtop``), and physical addresses to their direct-map addresses (crash's ``ptov``).

4- and 5-level paging, 4 KiB, 2 MiB and 1 GiB pages; the page's flags named as the kernel's
``%pGp`` names them (:func:`pycore.kernel.slab.page_descriptor`)."""
import argparse
from typing import Any, Dict, List

from ..arch.x86_64 import PTE_ADDR_MASK, pte_flag_names
from ..errors import PycoreError
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import PAGE_HEADER, center, page_columns
from .eval import address_argument

# The lines of the walk below the top ("PAGE DIRECTORY"), by level.
_LEVEL_NAMES = {4: "P4D", 3: "PUD", 2: "PMD", 1: "PTE"}
_PAGE_SIZE_NOTES = {1 << 21: "  (2MB)", 1 << 30: "  (1GB)"}
_KERNEL_HALF = 1 << 63


def _add_vtop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("addresses", metavar="ADDRESS", nargs="+",
                        help="kernel virtual addresses: hexadecimal, symbols or (expressions)")


def _add_ptov_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("addresses", metavar="PHYSICAL", nargs="+", help="hexadecimal physical addresses")


def _top_directory(prog: Program) -> int:
    try:
        return prog.symbols.by_name("init_top_pgt").address
    except LookupError:
        return prog.vmcoreinfo.symbol("init_top_pgt") or 0


def collect_vtop(prog: Program, args: argparse.Namespace) -> Collected:
    from ..kernel import slab

    results = []
    for text in args.addresses:
        address = address_argument(prog, text)
        if address is None:
            raise PycoreError(f"symbol not found: {text}")
        if address < _KERNEL_HALF:
            raise PycoreError(f"{address:x} is a user address: vtop reads kernel addresses only")
        walk = prog.arch.walk(address)
        result: Dict[str, Any] = {"virtual": address, "physical": walk.physical, "page_size": walk.page_size,
                                  "directory": _top_directory(prog),
                                  "entries": [{"level": e.level, "address": e.address, "entry": e.entry}
                                              for e in walk.entries]}
        if walk.physical is not None:
            page = slab.page_descriptor(prog, walk.physical)
            result["page"] = {"address": page.page, "physical": page.physical, "flags": page.flags,
                              "mapping": page.mapping, "index": page.index, "count": page.count,
                              "names": page.flag_names}
        results.append(result)
    return Collected({"translations": results}, [])


def pte_lines(entry: int, physical: int) -> List[str]:
    """crash's x86_64_translate_pte of a mapping entry (``vtop``'s last one, ``pte``'s value): the
    titles and the entry, its page address and its flags, "no mapping" for an empty entry."""
    pte, where = f"{entry:x}", f"{physical:x}"
    pte_width, physical_width = max(len(pte), 3), max(len(where), 8)
    flags = "|".join(pte_flag_names(entry)) if entry else "no mapping"
    return [f"{center('PTE', pte_width)}  {center('PHYSICAL', physical_width)}  FLAGS",
            f"{center(pte, pte_width, rjust=True)}  {center(where, physical_width, rjust=True)}  ({flags})"]


def render_vtop(data: Dict[str, Any], args: argparse.Namespace) -> str:
    blocks = []
    page_header = True
    for result in data["translations"]:
        physical = "(not mapped)" if result["physical"] is None else f"{result['physical']:x}"
        lines = [f"{'VIRTUAL':<16}  {'PHYSICAL':<16}", f"{result['virtual']:<16x}  {physical:<16}", "",
                 f"PGD DIRECTORY: {result['directory']:x}"]
        entries = result["entries"]
        lines.append(f"PAGE DIRECTORY: {entries[0]['entry']:x}")
        for entry in entries[1:]:
            lines.append(f"   {_LEVEL_NAMES[entry['level']]}: {entry['address']:x} => {entry['entry']:x}")
        if result["physical"] is not None:
            last = entries[-1]["entry"]
            frame = last & PTE_ADDR_MASK & ~(result["page_size"] - 1)
            lines.append(f"  PAGE: {frame:x}{_PAGE_SIZE_NOTES.get(result['page_size'], '')}")
            lines += [""] + pte_lines(last, frame) + [""]
            page = result["page"]
            # crash titles the page lines once a command.
            if page_header:
                lines.append(PAGE_HEADER)
                page_header = False
            lines.append(page_columns(page["address"], page["physical"], page["mapping"], page["index"],
                                      page["count"], page["flags"], ",".join(page["names"])))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def collect_ptov(prog: Program, args: argparse.Namespace) -> List[Dict[str, int]]:
    from ..kernel import mm

    rows = []
    for text in args.addresses:
        physical = address_argument(None, text)
        if physical is None:
            raise PycoreError(f"not a physical address: {text}")
        rows.append({"physical": physical, "virtual": mm.phys_to_virt(prog, physical)})
    return rows


def render_ptov(rows: List[Dict[str, int]], args: argparse.Namespace) -> str:
    return "\n\n".join(f"{'VIRTUAL':<16}  {'PHYSICAL':<16}\n{row['virtual']:<16x}  {row['physical']:<16x}"
                       for row in rows)


COMMANDS = [
    DumpCommand("vtop", _add_vtop_arguments, collect_vtop, render_vtop,
                description="Translate kernel virtual addresses as crash's vtop shows it: every page-table entry, "
                            "the PTE's flags and the page's struct page."),
    DumpCommand("ptov", _add_ptov_arguments, collect_ptov, render_ptov,
                description="Physical addresses to their kernel direct-map addresses, as crash's ptov."),
]
