"""``pycore vm DUMP [PID|TASK ...]``: a task's mm_struct, page directory, RSS, size and virtual
memory areas as crash 9's ``vm`` lists them."""
import argparse
from typing import Any, Dict, List

from ..kernel import mm as kernel_mm
from ..kernel import vma as kernel_vma
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .files import add_task_arguments, center, header_lines, selected_tasks

# crash's own header for 64-bit addresses (memory.c vm_area_dump), not built from the column widths.
VMA_HEADER = "      VMA           START       END     FLAGS FILE"


def task_vm(task: Object, page_size: int) -> Dict[str, Any]:
    """One task's address space as data: mm, pgd, RSS and total size in KiB, and each area."""
    from ..kernel import sched

    row: Dict[str, Any] = {"pid": int(task.pid), "task": int(task), "cpu": sched.task_cpu(task),
                           "comm": sched.task_comm(task), "mm": 0, "pgd": 0, "rss_kb": 0, "total_vm_kb": 0,
                           "vmas": []}
    mm = task.mm.read_()
    if not int(mm):
        return row
    row.update(mm=int(mm), pgd=int(mm.pgd), rss_kb=kernel_mm.task_rss_pages(task) * page_size // 1024,
               total_vm_kb=int(mm.total_vm) * page_size // 1024)
    for area in kernel_vma.for_each_vma(mm):
        path = kernel_vma.vma_file_path(area)
        row["vmas"].append({"vma": int(area), "start": int(area.vm_start), "end": int(area.vm_end),
                            "flags": kernel_vma.vma_flags(area),
                            "file": None if path is None else path.decode("utf-8", "replace")})
    return row


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    tasks, warnings = selected_tasks(prog, args)
    rows = []
    for task, by_pid, word in tasks:
        row = task_vm(task, prog.dump.page_size)
        row.update(by_pid=by_pid, word=word)
        rows.append(row)
    return Collected({"tasks": rows}, warnings)


def vm_lines(row: Dict[str, Any]) -> List[str]:
    """crash's lines for one task after its header: the mm line, then the areas (none for a task
    without an mm, a kernel thread)."""
    mm = f"{row['mm']:x}"
    pgd = f"{row['pgd']:x}"
    lines = [center("MM", 16) + "  " + center("PGD", 16) + "  " + center("RSS", 6) + "  " + center("TOTAL_VM", 8),
             center(mm, 16) + "  " + center(pgd, 16) + "  " + center(f"{row['rss_kb']}k", 6) + "  "
             + center(f"{row['total_vm_kb']}k", 8)]
    if not row["mm"]:
        return lines
    lines.append(VMA_HEADER)
    for area in row["vmas"]:
        lines.append(f"{area['vma']:16x} {area['start']:10x} {area['end']:10x} {area['flags']:x} {area['file'] or ''}")
    return lines


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines: List[str] = []
    for row in data["tasks"]:
        lines.extend(header_lines(row))
        lines.extend(vm_lines(row))
    return "\n".join(lines)


COMMAND = DumpCommand("vm", add_arguments=add_task_arguments, collect=collect, render=render,
                      description="Virtual memory of tasks, as crash's vm prints it.")
