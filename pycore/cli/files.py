"""``pycore files DUMP [PID|TASK ...]``: a task's root, working directory and open files as crash 9's
``files`` lists them; ``-d DENTRY`` shows one dentry (crash's ``files -d``).  Also the task
arguments and crash's centred columns that ``vm`` shares."""
import argparse
from typing import Any, Dict, List, Optional, Tuple

from ..errors import FaultError, PycoreError
from ..kernel import fs, sched
from ..kernel.pid import find_task
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import center, task_header

# crash's type names (filesys.c inode_type); UNKN for a mode it has no name for.
_TYPE_NAMES = {"REG", "LNK", "DIR", "CHR", "BLK", "FIFO", "SOCK"}


# -- which tasks a command names --------------------------------------------------------------
def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", nargs="*", metavar="PID|TASK",
                        help="a decimal PID or a hexadecimal task_struct address (default: the current context, "
                             "else the task that panicked)")


def _task_row(task: Object) -> Dict[str, Any]:
    return {"pid": int(task.pid), "task": int(task), "cpu": sched.task_cpu(task), "comm": sched.task_comm(task)}


def tasks_with_pid(prog: Program, pid: int) -> List[Object]:
    """The tasks crash's pid_to_context chain holds for ``pid``: each CPU's idle task for 0, else
    the task the PID namespace's idr names (no walk of every task: a dump that lost some task
    structs still answers for the others)."""
    if pid == 0:
        return sched.idle_tasks(prog)
    task = find_task(prog, None, pid)
    return [task] if int(task) else []


def _is_task(prog: Program, address: int) -> bool:
    """Whether ``address`` is a task crash knows: an idle task, or the task its own PID names (an
    address that cannot be read is none)."""
    task = Object(prog, prog.type("struct task_struct *"), address)
    try:
        return any(int(t) == address for t in tasks_with_pid(prog, int(task.pid)))
    except FaultError:
        return False


def selected_tasks(prog: Program, args: argparse.Namespace) -> Tuple[List[Tuple[Object, bool, int]], List[str]]:
    """The tasks the command line names, as crash's str_to_context reads each word (a decimal number
    is a PID: every task with it, ``by_pid``; else a task_struct address), each with the index of its
    word, and a warning for a word that names no task.  No word: the prompt's context (``set``),
    else the panic task."""
    words = getattr(args, "task", None) or []
    if not words:
        context = getattr(args, "context", None)
        task = (Object(prog, prog.type("struct task_struct *"), context) if context is not None
                else sched.panic_task(prog))
        if task is None:
            raise PycoreError("no task panicked: name a PID or task")
        return [(task, False, 0)], []
    chosen: List[Tuple[Object, bool, int]] = []
    warnings = []
    for index, word in enumerate(words):
        found: List[Tuple[Object, bool, int]] = []
        if word.isdigit():
            found = [(task, True, index) for task in tasks_with_pid(prog, int(word))]
        else:
            try:
                address = int(word, 16)
            except ValueError:
                address = None
            if address is not None and _is_task(prog, address):
                found = [(Object(prog, prog.type("struct task_struct *"), address), False, index)]
        if not found:
            warnings.append(f"invalid task or pid value: {word}")
        chosen.extend(found)
    return chosen, warnings


def first_error(rows: List[Dict[str, Any]]) -> Optional[str]:
    """The first task's reason its listing stops short (memory the dump lacks), with its PID."""
    failed = next((row for row in rows if row.get("error")), None)
    return None if failed is None else f"PID {failed['pid']}: the rest is unreadable: {failed['error']}"


def header_lines(row: Dict[str, Any]) -> List[str]:
    """crash's print_task_header: the task's line, after an empty one for the second and later
    words of the command line."""
    head = [task_header(row["pid"], row["task"], row["cpu"], row["comm"])]
    return [""] + head if row["word"] else head


# -- files ----------------------------------------------------------------------------------------
def _file_path(file: Object, dentry: Object) -> str:
    """The PATH crash prints: d_path of the file, but for a dentry that names itself (sockets,
    pipes, anonymous inodes) its own name, as crash's get_pathname walk reads it."""
    if fs.dentry_is_pseudo(dentry):
        return dentry.d_name.name.string_().decode("utf-8", "replace")
    return fs.d_path(file.f_path).decode("utf-8", "replace")


def _inode_type(inode: Object, path: str) -> Tuple[str, str]:
    """crash's TYPE name and the path it prints with it: a socket's "/" is dropped."""
    kind = fs.decode_file_type(int(inode.i_mode))
    kind = kind if kind in _TYPE_NAMES else "UNKN"
    if kind == "SOCK" and path == "/":
        path = ""
    return kind, path


def task_files(task: Object) -> Dict[str, Any]:
    """One task's files as data: its root and working directory, and each open descriptor."""
    row = _task_row(task)
    row.update(root=None, cwd=None, files=[], error=None)
    try:
        _read_files(task, row)
    except FaultError as error:
        row["error"] = str(error)
    return row


def _read_files(task: Object, row: Dict[str, Any]) -> None:
    """Fill ``row`` with the task's root, working directory and files, as far as they read."""
    fs_struct = task.fs.read_()
    if int(fs_struct):
        for key, member in (("root", "root"), ("cwd", "pwd")):
            path = getattr(fs_struct, member)
            if int(path.dentry):
                row[key] = fs.d_path(path).decode("utf-8", "replace")
    for fd, file in fs.for_each_file(task):
        if not int(file):
            continue
        entry = {"fd": fd, "file": int(file), "dentry": 0, "inode": 0, "type": None, "path": None}
        dentry = fs.file_dentry(file)
        entry["dentry"] = int(dentry)
        if int(dentry):
            inode = dentry.d_inode.read_()
            entry["inode"] = int(inode)
            if int(inode):
                entry["type"], entry["path"] = _inode_type(inode, _file_path(file, dentry))
        row["files"].append(entry)


def dentry_info(prog: Program, address: int) -> Dict[str, Any]:
    """``files -d``: a dentry's inode, superblock, type and path (through the first mount of the
    initial namespace on its superblock, as crash looks one up)."""
    dentry = Object(prog, prog.type("struct dentry *"), address)
    inode = dentry.d_inode.read_()
    row: Dict[str, Any] = {"dentry": address, "inode": int(inode), "superblock": 0, "type": None, "path": ""}
    if not int(inode):
        return row
    sb = int(inode.i_sb)
    row["superblock"] = sb
    if sb:
        mount = next((m for m in fs.for_each_mount(prog) if int(m.mnt.mnt_sb) == sb), None)
        if mount is not None:
            path = fs.d_path(mount.mnt.address_of_(), dentry).decode("utf-8", "replace")
            row["path"] = path
    row["type"], row["path"] = _inode_type(inode, row["path"])
    return row


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    if args.dentry is not None:
        return Collected({"dentry": dentry_info(prog, args.dentry)}, [])
    tasks, warnings = selected_tasks(prog, args)
    rows = []
    for task, by_pid, word in tasks:
        row = task_files(task)
        row.update(by_pid=by_pid, word=word)
        rows.append(row)
    return Collected({"tasks": rows}, warnings, first_error(rows))


def file_lines(row: Dict[str, Any]) -> List[str]:
    """crash's lines for one task, after its header: ROOT/CWD, the column titles, one line a file."""
    lines = []
    if row["root"] is not None or row["cwd"] is not None:
        lines.append(f"ROOT: {row['root'] or ''}    CWD: {row['cwd'] or ''}")
    if not row["files"]:
        if not row.get("error"):
            lines.append("No open files")
        return lines
    lines.append(" FD" + " " + center("FILE", 16) + " " + center("DENTRY", 16) + " " + center("INODE", 16)
                 + " TYPE PATH")
    for f in row["files"]:
        if not f["dentry"]:
            lines.append(f"{f['fd']:3d} {f['file']:16x} {0:016x} {center('?', 16)} ?    ?")
            continue
        if not f["inode"]:
            lines.append(f"{f['fd']:3d} {f['file']:16x} {f['dentry']:16x} {0:016x} ?    ?")
            continue
        lines.append(f"{f['fd']:3d} {f['file']:16x} {f['dentry']:16x} {f['inode']:16x} {f['type']:<4} {f['path']}")
    return lines


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if "dentry" in data:
        row = data["dentry"]
        header = center("DENTRY", 16) + " " + center("INODE", 16) + " " + center("SUPERBLK", 16) + " TYPE PATH"
        kind = f"{row['type']:<4}" if row["type"] else "N/A"
        superblock = center(f"{row['superblock']:x}", 16)
        return "\n".join([header, f"{row['dentry']:16x} {row['inode']:16x} {superblock} {kind} {row['path']}"])
    lines: List[str] = []
    for row in data["tasks"]:
        lines.extend(header_lines(row))
        lines.extend(file_lines(row))
        if row["by_pid"] and not row.get("error"):  # a listing cut short ends where crash's stops
            lines.append("")
    return "\n".join(lines) + "\n" if lines else ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", dest="dentry", type=lambda text: int(text, 16), metavar="DENTRY",
                        help="show one dentry: its inode, superblock, type and path")
    add_task_arguments(parser)


COMMAND = DumpCommand("files", add_arguments=add_arguments, collect=collect, render=render,
                      description="Open files of tasks, as crash's files prints them.")
