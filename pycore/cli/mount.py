"""``pycore mount DUMP [MOUNT|VFSMOUNT|SUPERBLOCK|DEVNAME|DIRNAME ...]``: the mounts of a mount namespace
(PID 1's, or ``-n PID``'s) as crash 9's ``mount`` lists them: mount, superblock, filesystem type, device
name and mount point; with arguments, only the mounts one of them names."""
import argparse
from typing import Any, Dict, List, Optional

from ..errors import FaultError, PycoreError
from ..kernel import fs, sched
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import center
from .files import tasks_with_pid

HEADER = " ".join([center("MOUNT", 16), center("SUPERBLK", 16), "TYPE  ", "DEVNAME  ", "DIRNAME"])


def _namespace_task(prog: Program, pid: Optional[int]):
    """crash's namespace context: the task with PID ``pid`` or, for the default (None), the first
    PID from 1 up that has a task."""
    if pid is not None:
        tasks = tasks_with_pid(prog, pid)
        if not tasks:
            raise PycoreError(f"no task with PID {pid}")
        return tasks[0]
    limit = sched.pid_max(prog) or sched.PID_MAX_LIMIT
    for candidate in range(1, limit):
        tasks = tasks_with_pid(prog, candidate)
        if tasks:
            return tasks[0]
    raise PycoreError("no task has a PID")


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    task = _namespace_task(prog, args.namespace_pid)
    rows: List[Dict[str, Any]] = []
    try:
        for mount in fs.for_each_mount(task.nsproxy.mnt_ns.read_()):
            sb = mount.mnt.mnt_sb.read_()
            parent = mount.mnt_parent.read_()
            dirname = fs.d_path(parent.mnt.address_of_(), mount.mnt_mountpoint).decode("utf-8", "replace")
            rows.append({"mount": int(mount), "superblock": int(sb),
                         "type": fs.super_block_type(sb).decode("utf-8", "replace"),
                         "devname": fs.mount_src(mount).decode("utf-8", "replace"), "dirname": dirname})
    except FaultError as error:
        return Collected({"mounts": rows}, [], f"the mounts after these are unreadable: {error}")
    if args.names:
        vfsmount = prog.type("struct mount").offsetof("mnt")
        rows = [row for row in rows if any(names_mount(row, name, vfsmount) for name in args.names)]
    return Collected({"mounts": rows}, [])


def _path(text: str) -> str:
    return text.rstrip("/") or "/"


def names_mount(row: Dict[str, Any], name: str, vfsmount_offset: int) -> bool:
    """Whether crash's ``mount NAME`` picks the mount of ``row``: NAME is one of its line's columns
    (the mount or superblock address in hex, with or without 0x, the type, device name or directory,
    paths compared without a trailing /) or the address of the vfsmount inside the mount (cmd_mount).

    crash 9.0.2 itself prints the first mount whatever NAME is on kernels without
    ``super_block.s_files`` (3.13+): its search of the mount listing fails on the -f part."""
    word = name[2:] if name.startswith("0x") else name
    try:
        address = int(word, 16)
    except ValueError:
        address = None
    if address is not None and address in (row["mount"], row["superblock"], row["mount"] + vfsmount_offset):
        return True
    return any(_path(name) == _path(column) for column in (row["type"], row["devname"], row["dirname"]))


def mount_line(row: Dict[str, Any]) -> str:
    """crash's show_mounts line: the type and device name padded as it pads them, its extra spaces
    squeezed out of a long pair (while longer than 17 and ending in two spaces)."""
    middle = f"{row['type']:<6} " + f"{row['devname']:<9} "
    while len(middle) > 17 and middle[-2] == " ":
        middle = middle[:-1]
    return f"{row['mount']:16x} {row['superblock']:16x} {middle}{row['dirname']:<10}"


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    return "\n".join([HEADER] + [mount_line(row) for row in data["mounts"]])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", dest="namespace_pid", type=int, default=None, metavar="PID",
                        help="the mount namespace of this task (default: PID 1's)")
    parser.add_argument("names", metavar="MOUNT|VFSMOUNT|SUPERBLOCK|DEVNAME|DIRNAME", nargs="*",
                        help="only the mounts with this mount, vfsmount or super_block address (hex), device "
                             "name or directory")


COMMAND = DumpCommand("mount", add_arguments=add_arguments, collect=collect, render=render,
                      description="Mounted filesystems, as crash's mount prints them.")
