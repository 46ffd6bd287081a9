"""``pycore dev DUMP [-d]``: crash 9's ``dev``, the character device registrations (with the cdev
serving each and its file operations) and the block device majors (with a disk of each); ``-d``: each
disk with its request queue and the requests in flight on it, as ``dev -d`` lists them."""
import argparse
import re
from typing import Any, Dict, List, Optional

from ..errors import FaultError
from ..kernel import block, fs, module, sched
from ..program import Program
from .command import Collected, DumpCommand

# crash names disks it leaves out of dev -d by these prefixes (dev.c skipped_disk_name).
SKIPPED_DISKS = ("ram", "loop")


def _sync_columns(prog: Program) -> bool:
    """crash titles the counts ASYNC/SYNC while the kernel has the BLK_RW_SYNC enum, which 5.18
    removed with the congestion tracking; READ/WRITE after."""
    release = prog.vmcoreinfo.osrelease if prog.vmcoreinfo else None
    match = re.match(r"(\d+)\.(\d+)", release or "")
    return bool(match) and (int(match.group(1)), int(match.group(2))) < (5, 18)


def _operations(prog: Program, address: int) -> str:
    """crash's value_to_symstr() of an operations pointer: its symbol, in the kernel or a module
    (``+offset`` inside one), else hex."""
    found = module.symbol_lookup(prog, address)
    if found is None:
        return f"{address:x}"
    symbol, offset, _ = found
    return symbol.name + (f"+{offset}" if offset else "")


def collect_devices(prog: Program) -> Collected:
    """dev: the chrdevs registrations and the major_names heads, each with what serves it."""
    chrdevs: List[Dict[str, Any]] = []
    blkdevs: List[Dict[str, Any]] = []
    data = {"chrdevs": chrdevs, "blkdevs": blkdevs}
    try:
        for _, entry in fs.for_each_chrdev(prog):
            cdev = fs.chrdev_cdev(entry)
            ops = int(cdev.ops) if int(cdev) else 0
            chrdevs.append({"major": int(entry.major), "name": entry.name.string_().decode("utf-8", "replace"),
                            "cdev": int(cdev), "operations": _operations(prog, ops) if ops else None})
        for index, entry in block.for_each_blkdev_major(prog):
            major = int(entry.major)
            # crash looks the disk up by the slot's index where the major hashed elsewhere (> 254).
            disk = block.disk_of_major(prog, major if major == index else index)
            ops = int(disk.fops) if int(disk) else 0
            blkdevs.append({"major": major, "name": entry.name.string_().decode("utf-8", "replace"),
                            "gendisk": int(disk), "operations": _operations(prog, ops) if ops else None})
    except FaultError as error:
        return Collected(data, [], f"the devices after these are unreadable: {error}")
    return Collected(data, [])


def render_devices(data: Dict[str, Any]) -> str:
    """crash's dump_chrdevs() and dump_blkdevs(): ``(none)`` where nothing serves a registration."""
    lines = ["CHRDEV    NAME           " + f"{'CDEV':^16}" + "  " + f"{'OPERATIONS':<16}"]
    for row in data["chrdevs"]:
        lines.append(_device_line(row["major"], row["name"], row["cdev"], row["operations"]))
    # crash centers GENDISK to the right (mkstring CENTER|RJUST), CDEV to the left.
    lines += ["", "BLKDEV    NAME           " + f"{'GENDISK':>12}{'':4}" + "  " + f"{'OPERATIONS':<16}"]
    for row in data["blkdevs"]:
        lines.append(_device_line(row["major"], row["name"] or "(unknown)", row["gendisk"], row["operations"]))
    return "\n".join(lines)


def _device_line(major: int, name: str, address: int, operations: Optional[str]) -> str:
    if operations is None:
        return f" {major:3d}      {name:<13}  {'(none)':^16}"
    return f" {major:3d}      {name:<13}  {address:16x}  {operations}"


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    if not args.disks:
        return collect_devices(prog)
    cpus = sched.nr_cpus(prog)
    rows = []
    data = {"sync_columns": _sync_columns(prog), "disks": rows}
    try:
        for disk in block.for_each_disk(prog):
            name = disk.disk_name.string_().decode("utf-8", "replace")
            if name.startswith(SKIPPED_DISKS):
                continue
            queue = disk.queue.read_()
            if int(queue.mq_ops):
                reads, writes = block.queue_in_flight(queue)
            else:
                reads, writes = block.disk_stats_in_flight(disk, cpus)
            rows.append({"major": int(disk.major), "gendisk": int(disk), "name": name,
                         "request_queue": int(queue), "read": reads, "write": writes})
    except FaultError as error:
        return Collected(data, [], f"the disks after these are unreadable: {error}")
    return Collected(data, [])


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if "chrdevs" in data:
        return render_devices(data)
    first, second = ("ASYNC", "SYNC") if data["sync_columns"] else ("READ", "WRITE")
    lines = [f"MAJOR {'GENDISK':<18} NAME       {'REQUEST_QUEUE':<18} TOTAL {first:>5} {second:>5} "]
    for row in data["disks"]:
        lines.append(f"{row['major']:>5} {row['gendisk']:<16x}   {row['name']:<10} {row['request_queue']:<16x}   "
                     f"{row['read'] + row['write']:5d} {row['read']:>5} {row['write']:>5} ")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", dest="disks", action="store_true",
                        help="the disks and their requests in flight (without it: the character and block devices)")


COMMAND = DumpCommand("dev", add_arguments=add_arguments, collect=collect, render=render,
                      description="Character and block devices, or (-d) disks and their requests in flight, "
                                  "as crash's dev prints them.")
