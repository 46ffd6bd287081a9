"""crash's ``fuser``: the committed sample's recordings of crash 9.0.2, whole and byte for byte, with the
vmlinux and without it; on every corpus dump (no recording there), answers that must agree with
``files`` and ``vm`` of PID 1; crash's refusals; and its text search, which looks for the argument in
each task's lines rather than resolving a path (pycore.cli.fuser)."""
import re

import pytest

from cli_cases import mode_argv, recordings_in_modes
from corpus import cases, pycore_output
from pycore.cli.fuser import HEADER, uses

def _ids(value):
    return value if isinstance(value, str) else getattr(value, "name", None)


@pytest.mark.real
@pytest.mark.parametrize("case,command,mode", recordings_in_modes("fuser "), ids=_ids)
def test_recorded_fuser_is_crash_answer(case, command, mode):
    """Every recording of fuser, whole: paths, an inode address, a path no task uses."""
    result = pycore_output(*mode_argv(case, command, mode))
    assert (result.status, result.err) == (0, "")
    assert result.out == case.reference(command)


def _users(out: str):
    """PID -> USAGE words of a fuser answer."""
    assert out.startswith(HEADER + "\n"), out
    return {int(line.split()[0]): line[42:].split() for line in out.splitlines()[1:]}


FILE_LINE = re.compile(r" *\d+ ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{16}) \S+ +(/\S*)$")
VMA_LINE = re.compile(r"([0-9a-f]{16}) +[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ (/\S+)$")


@pytest.mark.real
@pytest.mark.parametrize("case", cases(), ids=_ids)
def test_the_files_and_mappings_of_init_are_found_as_files_and_vm_show_them(case):
    """fuser of what ``files 1`` shows (its first open file's FILE, DENTRY and INODE addresses,
    the last ``0x``-prefixed, and its path) names PID 1 with ``fd``; of what ``vm 1`` shows (a
    mapping's vm_area_struct and file) with ``mmap``; ``/`` names PID 1 as root and cwd."""
    dump = case.path(case.reference_dump)
    files = pycore_output("files", dump, "1").out
    file, dentry, inode, path = next(m.groups() for m in map(FILE_LINE.match, files.splitlines()) if m)
    for word in (file, dentry, "0x" + inode, path):
        result = pycore_output("fuser", dump, word)
        assert (result.status, result.err) == (0, ""), word
        assert "fd" in _users(result.out)[1], word
    vm = pycore_output("vm", dump, "1").out
    area, mapped = next(m.groups() for m in map(VMA_LINE.match, vm.splitlines()) if m)
    assert _users(pycore_output("fuser", dump, area).out)[1] == ["mmap"]
    assert "mmap" in _users(pycore_output("fuser", dump, mapped).out)[1]
    assert _users(pycore_output("fuser", dump, "/").out)[1] == ["root", "cwd"]


@pytest.mark.real
def test_each_argument_has_its_answer_and_a_refused_one_ends_them():
    """One header (or "No users") per argument, in order; an argument crash refuses (not a full
    path, not a kernel address) is its error and the arguments after it are not looked at."""
    case = cases()[0]
    dump = case.path(case.reference_dump)
    result = pycore_output("fuser", dump, "/nonexistent", "/init", "400000", "/")
    assert (result.status, result.err) == (1, "pycore fuser: invalid argument: 400000\n")
    assert result.out.startswith("No users of /nonexistent found\n" + HEADER + "\n")
    assert result.out.count(HEADER) == 1
    for word in ("busybox", "ffff800000000000", "ffffffffffffffff", "0000ffff8f32c7b7b190"):
        refused = pycore_output("fuser", dump, word)
        assert (refused.status, refused.out, refused.err) == (1, "", f"pycore fuser: invalid argument: {word}\n")


ROOT = "ROOT: ffff8f32c7b7b190 /    CWD: ffff8f32c7b7b190 /"


@pytest.mark.parametrize("lines,text,found", [
    ({"root": ROOT, "files": [], "maps": []}, "/", ["root", "cwd"]),
    ({"root": ROOT, "files": [], "maps": []}, "ffff8f32c7b7b190", ["root", "cwd"]),
    # the first match decides: "/" in "/tmp" is followed by "t", so the cwd is not found
    ({"root": "ROOT: 1 /    CWD: 2 /tmp", "files": [], "maps": []}, "/", ["root"]),
    # a match past "CWD:" alone is the working directory
    ({"root": "ROOT: 1 /    CWD: 2 /tmp", "files": [], "maps": []}, "/tmp", ["cwd"]),
    # the end of a path matches: /console finds /dev/console
    ({"root": None, "files": ["  0 a b c CHR  /dev/console"], "maps": []}, "/console", ["fd"]),
    ({"root": None, "files": ["  0 a b c CHR  /dev/console"], "maps": []}, "/dev", []),
    ({"root": None, "files": [], "maps": ["v 400000 401000 8000071  i /bin/busybox"]}, "/bin/busybox", ["mmap"]),
    ({"root": ROOT, "files": ["  0 a b c REG  /x"], "maps": ["v 1 2 3  i /x"]}, "/x", ["fd", "mmap"]),
])
def test_the_search_is_crash_first_match_followed_by_a_space_or_the_end(lines, text, found):
    assert uses(lines, text) == found
