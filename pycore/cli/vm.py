"""``pycore vm DUMP [PID|TASK ...]``: a task's mm_struct, page directory, RSS, size and virtual
memory areas as crash 9's ``vm`` lists them."""
import argparse
from typing import Any, Dict, List

from ..errors import FaultError
from ..kernel import mm as kernel_mm
from ..kernel import sched
from ..kernel import vma as kernel_vma
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import center
from .files import add_task_arguments, first_error, header_lines, selected_tasks

# crash's own header for 64-bit addresses (memory.c vm_area_dump), not built from the column widths.
VMA_HEADER = "      VMA           START       END     FLAGS FILE"


def task_vm(task: Object, page_size: int, pages: bool = False) -> Dict[str, Any]:
    """One task's address space as data: mm, pgd, RSS and total size in KiB, and each area (with
    where each of its pages is, for ``pages``)."""
    row: Dict[str, Any] = {"pid": int(task.pid), "task": int(task), "cpu": sched.task_cpu(task),
                           "comm": sched.task_comm(task), "mm": 0, "pgd": 0, "rss_kb": 0, "total_vm_kb": 0,
                           "vmas": [], "error": None}
    try:
        _read_vm(task, page_size, pages, row)
    except FaultError as error:
        row["error"] = str(error)
    return row


def _read_vm(task: Object, page_size: int, pages: bool, row: Dict[str, Any]) -> None:
    """Fill ``row`` with the task's mm and areas, as far as they read."""
    mm = task.mm.read_()
    if not int(mm):
        return
    row.update(mm=int(mm), pgd=int(mm.pgd), rss_kb=kernel_mm.task_rss_pages(task) * page_size // 1024,
               total_vm_kb=int(mm.total_vm) * page_size // 1024)
    root = task.prog_.translate(int(mm.pgd)) if pages else 0
    for area in kernel_vma.for_each_vma(mm):
        path = kernel_vma.vma_file_path(area)
        entry = {"vma": int(area), "start": int(area.vm_start), "end": int(area.vm_end),
                 "flags": kernel_vma.vma_flags(area), "file": None if path is None else path.decode("utf-8", "replace")}
        if pages:
            entry["pages"] = [page._asdict() for page in kernel_vma.vma_pages(area, root)]
        row["vmas"].append(entry)


def _swap_names(prog: Program) -> Dict[int, str]:
    """swap_info index -> the path of that swap area, for the SWAP lines of ``vm -p``."""
    from ..kernel import swap

    return {int(si.type): swap.swap_device_name(si) for si in swap.for_each_swap_info(prog)}


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    tasks, warnings = selected_tasks(prog, args)
    rows = []
    for task, by_pid, word in tasks:
        row = task_vm(task, prog.dump.page_size, args.pages)
        row.update(by_pid=by_pid, word=word)
        rows.append(row)
        unreadable = sum(1 for area in row["vmas"] for page in area.get("pages", []) if page["kind"] == "unreadable")
        if unreadable:
            warnings.append(f"PID {row['pid']}: the page tables of {unreadable} pages are not in the dump")
    data: Dict[str, Any] = {"tasks": rows}
    if args.pages and any(page["kind"] == "swap" for row in rows for area in row["vmas"] for page in area["pages"]):
        data["swap_names"] = _swap_names(prog)
    return Collected(data, warnings, first_error(rows))


def vm_lines(row: Dict[str, Any], swap_names: Dict[int, str]) -> List[str]:
    """crash's lines for one task after its header: the mm line, then the areas (none for a task
    without an mm, a kernel thread)."""
    if row.get("error") and not row["mm"]:
        return []
    mm = f"{row['mm']:x}"
    pgd = f"{row['pgd']:x}"
    lines = [center("MM", 16) + "  " + center("PGD", 16) + "  " + center("RSS", 6) + "  " + center("TOTAL_VM", 8),
             center(mm, 16) + "  " + center(pgd, 16) + "  " + center(f"{row['rss_kb']}k", 6) + "  "
             + center(f"{row['total_vm_kb']}k", 8)]
    if not row["mm"]:
        return lines
    lines.append(VMA_HEADER)
    for index, area in enumerate(row["vmas"]):
        if "pages" in area and index:
            lines.append(VMA_HEADER)
        lines.append(f"{area['vma']:16x} {area['start']:10x} {area['end']:10x} {area['flags']:x} {area['file'] or ''}")
        if "pages" in area:
            lines.append("VIRTUAL     PHYSICAL")
            lines.extend(_page_line(page, area, swap_names) for page in area["pages"])
    return lines


def _page_line(page: Dict[str, Any], area: Dict[str, Any], swap_names: Dict[int, str]) -> str:
    """crash's vm -p line for one page: where it is, else its file and offset, its swap area
    and offset, or that it is not mapped (a page whose tables the dump lacks reads as that too,
    with a warning)."""
    where = {"physical": lambda: f"{page['value']:>8x}",
             "file": lambda: f"FILE: {area['file']}  OFFSET: {page['value']:x}",
             "swap": lambda: f"SWAP: {swap_names.get(page['swap_type'], '(unknown swap location)')}  "
                             f"OFFSET: {page['value']}"}.get(page["kind"], lambda: "(not mapped)")()
    return f"{page['address']:<10x}  {where}"


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines: List[str] = []
    for row in data["tasks"]:
        lines.extend(header_lines(row))
        lines.extend(vm_lines(row, {int(k): v for k, v in data.get("swap_names", {}).items()}))
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", dest="pages", action="store_true",
                        help="each page of each area: its physical address, or where it is instead")
    add_task_arguments(parser)


COMMAND = DumpCommand("vm", add_arguments=add_arguments, collect=collect, render=render,
                      description="Virtual memory of tasks, as crash's vm prints it.")
