"""``pycore dev DUMP -d``: each disk with its request queue and the requests in flight on it, as
crash 9's ``dev -d`` lists them (crash's ``dev`` without ``-d``, the character and block device
tables, is not done)."""
import argparse
import re
from typing import Any, Dict

from ..errors import FaultError
from ..kernel import block, sched
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


def collect(prog: Program, args: argparse.Namespace) -> Collected:
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
    first, second = ("ASYNC", "SYNC") if data["sync_columns"] else ("READ", "WRITE")
    lines = [f"MAJOR {'GENDISK':<18} NAME       {'REQUEST_QUEUE':<18} TOTAL {first:>5} {second:>5} "]
    for row in data["disks"]:
        lines.append(f"{row['major']:>5} {row['gendisk']:<16x}   {row['name']:<10} {row['request_queue']:<16x}   "
                     f"{row['read'] + row['write']:5d} {row['read']:>5} {row['write']:>5} ")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", dest="disks", action="store_true", required=True,
                        help="the disks and their requests in flight (the only form of dev done)")


COMMAND = DumpCommand("dev", add_arguments=add_arguments, collect=collect, render=render,
                      description="Disks and their requests in flight, as crash's dev -d prints them.")
