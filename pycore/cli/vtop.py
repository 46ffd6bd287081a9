"""``pycore vtop DUMP ADDRESS...`` and ``pycore ptov DUMP PHYSICAL...``: kernel virtual to physical
addresses with every page-table entry on the way, the PTE's flags and the ``struct page`` of the
page (crash 9's ``vtop``), and physical addresses to their direct-map addresses (crash's ``ptov``).

4- and 5-level paging, 4 KiB, 2 MiB and 1 GiB pages; page flag names from the kernel's own
``pageflag_names`` table (4.6+), else from ``enum pageflags``."""
import argparse
from typing import Any, Dict, List, Optional

from ..arch.x86_64 import DEFAULT_PAGE_OFFSET, PTE_ADDR_MASK
from ..errors import MissingDebugInfoError, MissingMemberError, ObjectTypeError, PycoreError
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .eval import address_argument

# The PTE bits crash's x86_64_translate_pte names, in its order.
_PTE_FLAGS = [(0, "PRESENT"), (1, "RW"), (2, "USER"), (3, "PWT"), (4, "PCD"), (5, "ACCESSED"), (6, "DIRTY"),
              (7, "PSE"), (8, "GLOBAL"), (63, "NX")]
# The lines of the walk below the top ("PAGE DIRECTORY"), by level.
_LEVEL_NAMES = {4: "P4D", 3: "PUD", 2: "PMD", 1: "PTE"}
_PAGE_SIZE_NOTES = {1 << 21: "  (2MB)", 1 << 30: "  (1GB)"}
_KERNEL_HALF = 1 << 63
_FLAG_NAMES_LIMIT = 64
_SECTION_SIZE = 1 << 27


def _add_vtop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("addresses", metavar="ADDRESS", nargs="+",
                        help="kernel virtual addresses: hexadecimal, symbols or (expressions)")


def _add_ptov_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("addresses", metavar="PHYSICAL", nargs="+", help="hexadecimal physical addresses")


def _center(text: str, width: int, right: bool) -> str:
    """crash's ``mkstring(CENTER)``: an odd space goes right of the text (LJUST) or left of it (RJUST)."""
    spare = max(width - len(text), 0)
    left = spare // 2 + (spare % 2 if right else 0)
    return " " * left + text + " " * (spare - left)


def _physical_width(prog: Program) -> int:
    """crash's ``paddr_prlen``: the hexadecimal digits of the end of memory, from the kernel's
    ``max_pfn`` or a kdump header's ``max_mapnr``, whichever is higher (an ELF dump's segments may
    include firmware above RAM, which crash does not count)."""
    pages = getattr(prog.dump, "max_mapnr", None) or 0
    try:
        pages = max(pages, int.from_bytes(prog.read(prog.symbols.by_name("max_pfn").address, 8), "little"))
    except (LookupError, PycoreError):
        pass
    # crash counts memory in whole SPARSEMEM sections (128 MiB, SECTION_SIZE_BITS 27 on x86_64).
    end = -(-pages * prog.dump.page_size // _SECTION_SIZE) * _SECTION_SIZE
    return max(len(f"{end:x}"), 1)


def _page_flag_names(prog: Program) -> List[Dict[str, Any]]:
    """``[{mask, name}]`` of the kernel's ``pageflag_names`` (mm/debug.c, what ``%pGp`` prints),
    else ``enum pageflags`` less its ``PG_`` prefix and aliases."""
    try:
        base = prog.symbols.by_name("pageflag_names").address
    except LookupError:
        base = None
    names: List[Dict[str, Any]] = []
    if base is not None:
        for index in range(_FLAG_NAMES_LIMIT):
            raw = prog.read(base + 16 * index, 16)
            mask, pointer = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
            if not pointer:
                return names
            name = prog.read(pointer, 32).split(b"\0")[0].decode("ascii", "replace")
            names.append({"mask": mask, "name": name})
    enum = prog.type("enum pageflags")
    seen = set()
    for enumerator in enum.enumerators or ():
        if enumerator.name.startswith("__NR_"):
            break
        if enumerator.value not in seen and enumerator.name.startswith("PG_"):
            seen.add(enumerator.value)
            names.append({"mask": 1 << enumerator.value, "name": enumerator.name[3:]})
    return names


def _page(prog: Program, pfn: int) -> Dict[str, Any]:
    """The ``struct page`` of ``pfn`` in the vmemmap array (SPARSEMEM_VMEMMAP, every x86_64 kernel
    since 2.6.24): its address, flags, mapping, index and reference count."""
    page_type = prog.type("struct page")
    try:
        vmemmap = int.from_bytes(prog.read(prog.symbols.by_name("vmemmap_base").address, 8), "little")
    except LookupError:
        raise MissingDebugInfoError("no vmemmap_base symbol: cannot find the struct page array") from None
    page = Object(prog, page_type, address=vmemmap + pfn * page_type.size)
    try:
        index = int(page.index)
    except MissingMemberError:  # 6.16 renamed it
        index = int(page.__folio_index)
    try:
        flags = int(page.flags)
    except ObjectTypeError:  # 6.17's memdesc_flags_t, a struct around the word
        flags = int(page.flags.f)
    return {"address": vmemmap + pfn * page_type.size, "flags": flags, "mapping": int(page.mapping),
            "index": index, "count": int(page._refcount.counter)}


def _top_directory(prog: Program) -> int:
    try:
        return prog.symbols.by_name("init_top_pgt").address
    except LookupError:
        return prog.vmcoreinfo.symbol("init_top_pgt") or 0


def collect_vtop(prog: Program, args: argparse.Namespace) -> Collected:
    results = []
    flag_names: Optional[List[Dict[str, Any]]] = None
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
            if flag_names is None:
                flag_names = _page_flag_names(prog)
            page = _page(prog, walk.physical >> 12)
            page["names"] = [f["name"] for f in flag_names if page["flags"] & f["mask"]]
            result["page"] = page
        results.append(result)
    return Collected({"translations": results, "physical_width": _physical_width(prog)}, [])


def _pte_lines(entry: int, physical: int) -> List[str]:
    pte, where = f"{entry:x}", f"{physical:x}"
    pte_width, physical_width = max(len(pte), 3), max(len(where), 8)
    flags = "|".join(name for bit, name in _PTE_FLAGS if entry >> bit & 1)
    return [f"{_center('PTE', pte_width, False)}  {_center('PHYSICAL', physical_width, False)}  FLAGS",
            f"{_center(pte, pte_width, True)}  {_center(where, physical_width, True)}  ({flags})"]


def render_vtop(data: Dict[str, Any], args: argparse.Namespace) -> str:
    blocks = []
    width = data["physical_width"]
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
            lines += [""] + _pte_lines(last, frame) + [""]
            page = result["page"]
            # crash titles the page lines once a command.
            if page_header:
                lines.append(f"{_center('PAGE', 16, False)} {_center('PHYSICAL', width, True)} "
                             f"{_center('MAPPING', 16, True)}   INDEX CNT FLAGS")
                page_header = False
            line = (f"{page['address']:x} {result['physical'] & ~0xFFF:>{width}x} {page['mapping']:>16x} "
                    f"{page['index']:>8x} {page['count']:>2} {page['flags']:x}")
            if page["names"]:
                line += " " + ",".join(page["names"])
            lines.append(line)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _direct_map_base(prog: Program) -> int:
    """Where the direct map starts: ``page_offset_base`` (randomized with CONFIG_RANDOMIZE_MEMORY,
    4.8+), else the fixed base of the paging mode."""
    base = prog.arch.direct_map_start
    if base is None:
        try:
            base = int.from_bytes(prog.read(prog.symbols.by_name("page_offset_base").address, 8), "little")
        except (LookupError, PycoreError):
            base = DEFAULT_PAGE_OFFSET[prog.arch.levels]
    return base


def collect_ptov(prog: Program, args: argparse.Namespace) -> List[Dict[str, int]]:
    base = _direct_map_base(prog)
    rows = []
    for text in args.addresses:
        physical = address_argument(None, text)
        if physical is None:
            raise PycoreError(f"not a physical address: {text}")
        rows.append({"physical": physical, "virtual": base + physical})
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
