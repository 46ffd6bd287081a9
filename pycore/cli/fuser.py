"""``pycore fuser DUMP PATH|INODE...``: the tasks using a file, as crash 9's ``fuser`` finds them.

crash does not resolve the argument: it prints ``foreach files`` and ``foreach vm`` with inode
addresses (their ``-i`` forms) and looks for the argument as text in each task's lines, a match
being the first place it occurs when a space or the line's end follows it: in the ROOT/CWD line
(``root``, ``cwd``), in an open file's line (``fd``: its file, dentry, inode or path) and in a
mapping's line (``mmap``: its vm_area_struct, inode or path).  So ``/console`` finds
``/dev/console`` and ``//init`` finds nothing; the same text search is made here, over the same
fields, in crash's task order.  An argument crash refuses ends the answer with crash's words; crash
names itself ``foreach:`` there after its first argument (the name its foreach left behind), pycore
``fuser:`` always.
"""
import argparse
import re
from typing import Any, Dict, List, Tuple

from ..errors import FaultError, PycoreError
from ..kernel import fs, mm, sched
from ..kernel import vma as kernel_vma
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .common import unread_tasks, unread_tasks_message
from .crashfmt import center
from .files import file_lines, task_files

HEADER = " PID   " + center("TASK", 16) + "  COMM             USAGE"
# What crash takes for an inode address: at most 16 hexadecimal digits after an optional 0x.
_HEXADECIMAL = re.compile(r"(0[xX])?([0-9a-fA-F]{1,16})")
_MASK64 = (1 << 64) - 1


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", metavar="PATH|INODE", nargs="+",
                        help="a full path as the task's files and mappings show it, or a hexadecimal inode address")


def search_text(prog: Program, word: str) -> str:
    """The text crash looks for: a path as typed, an address without its ``0x``.  Anything else
    (a relative name, a number that is no kernel address: below the direct map, or crash's error
    value ULONG_MAX) is crash's refusal, PycoreError ``invalid argument``."""
    if word.startswith("/"):
        return word
    match = _HEXADECIMAL.fullmatch(word)
    if match is not None:
        value = int(match.group(2), 16)
        if value != _MASK64 and value >= mm.phys_to_virt(prog, 0):
            return word[2:] if word.startswith("0x") else word
    raise PycoreError(f"invalid argument: {word}")


def _found_at(line: str, text: str, start: int = 0) -> int:
    """Where crash's ``strstr`` finds ``text`` in ``line`` from ``start``, if a space or the end of
    the line follows it there; else -1 (a later occurrence is not looked for)."""
    at = line.find(text, start)
    if at < 0 or line[at + len(text):at + len(text) + 1] not in ("", " "):
        return -1
    return at


def task_lines(task: Object) -> Dict[str, Any]:
    """``task``'s lines as crash's ``foreach files -i`` and ``foreach vm -i`` print them, the parts
    fuser searches: ``root`` (the ROOT/CWD line, None without an fs_struct), ``files`` (one line an
    open file) and ``maps`` (one line a mapping: ``vm_area_struct``, start, end, flags, inode where
    the file has one, path); ``error``, the fault that cut them short."""
    lines: Dict[str, Any] = {"root": None, "files": [], "maps": [], "error": None}
    row = task_files(task)
    lines["files"] = [line for line in file_lines(dict(row, root=None, cwd=None)) if line[:3].strip().isdigit()]
    lines["error"] = row["error"]
    # Each part is read on its own: a page the dump lacks costs the part it holds, not the others.
    for read in (_root_line, _map_lines):
        try:
            read(task, row, lines)
        except FaultError as error:
            lines["error"] = lines["error"] or str(error)
    return lines


def _root_line(task: Object, row: Dict[str, Any], lines: Dict[str, Any]) -> None:
    """crash's ROOT/CWD line with inodes (its paths are the ones ``files`` read), or without them
    where a dentry is missing."""
    paths = fs.task_root_pwd(task)
    if paths is None:
        return
    root, pwd = paths
    names = (row["root"] or "", row["cwd"] or "")
    if int(root.dentry) and int(pwd.dentry):
        inodes = (int(fs.path_inode(root)), int(fs.path_inode(pwd)))
        lines["root"] = f"ROOT: {inodes[0]:x} {names[0]}    CWD: {inodes[1]:x} {names[1]}"
    else:
        lines["root"] = f"ROOT: {names[0]}    CWD: {names[1]}"


def _map_lines(task: Object, row: Dict[str, Any], lines: Dict[str, Any]) -> None:
    """crash's vm -i line of each mapping, as far as they read."""
    task_mm = task.mm.read_()
    if not int(task_mm):
        return
    for area in kernel_vma.for_each_vma(task_mm):
        path = kernel_vma.vma_file_path(area)
        inode = int(kernel_vma.vma_inode(area))
        text = "" if path is None else path.decode("utf-8", "replace")
        columns = f"{int(area):x}  {int(area.vm_start):x}  {int(area.vm_end):x}  {kernel_vma.vma_flags(area):x}"
        lines["maps"].append(f"{columns}  {inode:x} {text}" if inode else f"{columns}  {text}")


def uses(lines: Dict[str, Any], text: str) -> List[str]:
    """How a task uses ``text`` by crash's search of its lines: ``root`` and ``cwd`` from the
    ROOT/CWD line (``cwd`` alone when the first match is past ``CWD:``), ``fd`` and ``mmap`` once
    each when any line of theirs matches."""
    found: List[str] = []
    root = lines["root"]
    at = _found_at(root, text) if root is not None else -1
    if at >= 0:
        if "CWD:" in root[at:]:
            found.append("root")
            if _found_at(root, text, at + len(text)) >= 0:
                found.append("cwd")
        else:
            found.append("cwd")
    if any(_found_at(line, text) >= 0 for line in lines["files"]):
        found.append("fd")
    if any(_found_at(line, text) >= 0 for line in lines["maps"]):
        found.append("mmap")
    return found


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    """Each argument's users in turn; an argument crash refuses ends the answer after the ones
    before it, as crash's error does.  Tasks whose files or mappings could not all be read, or
    that a broken task list hid, are named in the error line."""
    listed = sched.crash_tasks(prog)
    searched: List[Tuple[Object, Dict[str, Any]]] = []
    answers: List[Dict[str, Any]] = []
    for word in args.files:
        try:
            text = search_text(prog, word)
        except PycoreError as error:
            return Collected({"arguments": answers}, [], str(error))
        if not searched:
            searched = [(task, task_lines(task)) for task in listed.tasks]
        users = [{"pid": int(task.pid), "task": int(task), "comm": sched.task_comm(task), "uses": found}
                 for task, lines in searched for found in [uses(lines, text)] if found]
        answers.append({"text": text, "users": users})
    errors = ([unread_tasks_message(unread_tasks(prog, (int(t) for t in listed.tasks), listed.error))]
              if listed.error is not None else [])
    partial = [(int(task.pid), lines["error"]) for task, lines in searched if lines["error"]]
    if partial:
        errors.append(f"the files or mappings of {len(partial)} task{'s' if len(partial) != 1 else ''} could not "
                      f"all be read (PIDs {', '.join(str(pid) for pid, _ in partial)}): {partial[0][1]}")
    return Collected({"arguments": answers}, [], "; ".join(errors) or None)


def _command_column(comm: str) -> str:
    """crash's show_fuser COMM: the header's quoted name cut to 16 characters, its last one (the
    closing quote or the newline) blanked."""
    cut = f'"{comm}"\n'[:16]
    return cut[:-1].ljust(16)


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines: List[str] = []
    for answer in data["arguments"]:
        if not answer["users"]:
            lines.append(f"No users of {answer['text']} found")
            continue
        lines.append(HEADER)
        for user in answer["users"]:
            usage = "".join(f"{use} " for use in user["uses"])
            lines.append(f"{user['pid']:>5}  {user['task']:>16x}  {_command_column(user['comm'])} {usage}")
    return "\n".join(lines)


COMMAND = DumpCommand("fuser", _add_arguments, collect, render, values_only=True,
                      description="The tasks using a file as root, working directory, open file or mapping, "
                                  "as crash's fuser finds them.")
