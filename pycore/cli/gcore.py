"""``pycore gcore DUMP PID -o CORE``: an ELF core file of one user process that gdb loads, written
from the dump: a PT_LOAD for each VMA (swapped-out pages read back from the swap cache, zswap and
zram; file pages the process has not touched from the page cache, vDSO pages from the kernel's
image), NT_PRSTATUS for each thread (the user registers saved at the top of its kernel stack) with
NT_PRFPREG and NT_X86_XSTATE (its FPU registers as saved in its fpstate, 5.16+), NT_PRPSINFO,
NT_AUXV (``mm->saved_auxv``) and NT_FILE.  Pages the dump does not hold are written as zeros and
listed (stderr, or ``unreadable`` under ``--json``).  x86_64, kernels 4.14 to 7.2.
"""
import argparse
import struct
from typing import Any, BinaryIO, Dict, List, NamedTuple, Optional

from ..errors import FaultError, PycoreError
from ..kernel import mm, sched, swap
from ..kernel.pid import find_task
from ..kernel.unwind import Unwinder
from ..kernel.user import kuid_val
from ..kernel.vma import for_each_vma, vma_file_path
from ..kernel.xarray import xa_is_value, xa_load, xa_to_value
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand

PAGE = 4096
# <linux/elf.h> and <elf.h>: the core file's header, program headers and note types.
ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
ET_CORE, EM_X86_64, PT_LOAD, PT_NOTE = 4, 62, 1, 4
PF_X, PF_W, PF_R = 1, 2, 4
NT_PRSTATUS, NT_PRFPREG, NT_PRPSINFO, NT_AUXV, NT_FILE = 1, 2, 3, 6, 0x46494C45
# The XSAVE image's note (include/uapi/linux/elf.h), named "LINUX" as the kernel's own core dumps.
NT_X86_XSTATE = 0x202
# vm_flags (include/linux/mm.h): VM_READ, VM_WRITE, VM_EXEC.
VM_READ, VM_WRITE, VM_EXEC = 0x1, 0x2, 0x4
# struct elf_prstatus (336 bytes): siginfo (3 ints), cursig, sigpend, sighold, pid, ppid, pgrp, sid,
# four struct timevals, the 27 registers, fpvalid.
PRSTATUS = struct.Struct("<3ih2xQQ4i64s27Qi4x")
# struct elf_prpsinfo (136 bytes): state, sname, zomb, nice, flag, uid, gid, pid, ppid, pgrp, sid,
# fname[16], psargs[80].
PRPSINFO = struct.Struct("<cccb4xQII4i16s80s")
# enum pid_type (include/linux/pid.h, 4.19+): the process group and session of a signal_struct.
PIDTYPE_PGID, PIDTYPE_SID = 2, 3


class Segment(NamedTuple):
    """One VMA as a PT_LOAD: its range, ELF flags, and the mapped file's path, page offset and
    ``struct address_space *`` (its page cache; 0 for an anonymous VMA); for the vDSO, the kernel's
    copy of the image its pages come from (``mm->context.vdso_image->data``), else 0."""

    start: int
    end: int
    flags: int
    path: Optional[bytes]
    page_offset: int
    mapping: int
    image: int


def _note(kind: int, desc: bytes, name: bytes = b"CORE") -> bytes:
    """One ELF note: header, name and descriptor, each padded to 4 bytes."""
    name = name + b"\0"
    return (struct.pack("<III", len(name), len(desc), kind) + name.ljust(-(-len(name) // 4) * 4, b"\0")
            + desc.ljust(-(-len(desc) // 4) * 4, b"\0"))


def _pid_of(task: Object, kind: int) -> int:
    """The pid number of the process group or session (``signal->pids[]``, 4.19+) of ``task``."""
    pid = task.signal.pids[kind]
    return int(pid.numbers[0].nr) if int(pid) else 0


def prstatus(task: Object, registers: Dict[str, int], fpvalid: bool) -> bytes:
    """NT_PRSTATUS of one thread: its ids and registers, and whether its FPU notes follow (no
    signal: the dump shows none pending for gdb; times are zero)."""
    return PRSTATUS.pack(0, 0, 0, 0, 0, 0, int(task.pid), sched.task_ppid(task), _pid_of(task, PIDTYPE_PGID),
                         _pid_of(task, PIDTYPE_SID), bytes(64), *(registers[name] for name in sched.USER_REGS),
                         int(fpvalid))


def prpsinfo(task: Object) -> bytes:
    """NT_PRPSINFO of the process: state, nice, flags, credentials, ids, comm and arguments."""
    state = sched.task_state_to_char(task)
    try:
        arguments = b" ".join(mm.task_arguments(task))
    except FaultError:
        arguments = b""
    credentials = task.cred
    # fill_psinfo (fs/binfmt_elf.c): pr_state numbers pr_sname in "RSDTZW".
    number = max(0, "RSDTZW".find(state))
    return PRPSINFO.pack(bytes([number]), state.encode()[:1], b"\1" if state == "Z" else b"\0",
                         int(task.static_prio) - 120, int(task.flags), kuid_val(credentials.uid),
                         kuid_val(credentials.gid), int(task.pid), sched.task_ppid(task),
                         _pid_of(task, PIDTYPE_PGID), _pid_of(task, PIDTYPE_SID),
                         sched.task_comm(task).encode()[:15], arguments[:79])


def auxv(space: Object) -> bytes:
    """``mm->saved_auxv`` up to and including its AT_NULL pair."""
    words = [int(word) for word in space.saved_auxv]
    for index in range(0, len(words) - 1, 2):
        if words[index] == 0:
            words = words[:index + 2]
            break
    return struct.pack(f"<{len(words)}Q", *words)


def file_note(segments: List[Segment]) -> bytes:
    """NT_FILE: the file-backed segments' ranges and page offsets, then their paths."""
    mapped = [segment for segment in segments if segment.path is not None]
    header = struct.pack("<QQ", len(mapped), PAGE)
    ranges = b"".join(struct.pack("<QQQ", s.start, s.end, s.page_offset) for s in mapped)
    return header + ranges + b"".join(s.path + b"\0" for s in mapped)


def segments_of(space: Object) -> List[Segment]:
    """The VMAs of ``space`` as core segments."""
    found = []
    vdso = int(space.context.vdso)
    image = int(space.context.vdso_image.data) if vdso and int(space.context.vdso_image) else 0
    for area in for_each_vma(space):
        flags = int(area.vm_flags)
        elf_flags = (PF_R if flags & VM_READ else 0) | (PF_W if flags & VM_WRITE else 0) | (
            PF_X if flags & VM_EXEC else 0)
        mapping = int(area.vm_file.f_mapping) if int(area.vm_file) else 0
        found.append(Segment(int(area.vm_start), int(area.vm_end), elf_flags, vma_file_path(area),
                             int(area.vm_pgoff), mapping, image if int(area.vm_start) == vdso else 0))
    return found


def _never_mapped(space: Object, page: int) -> bool:
    """Whether ``page`` has no page-table entry at all (an empty entry at some level): a page the
    process never touched, or a file page never read in."""
    prog = space.prog_
    try:
        walk = prog.arch.walk(page, prog.translate(int(space.pgd)))
    except FaultError:
        return False
    return walk.physical is None and not walk.entries[-1].entry


def _unreadable_reason(space: Object, segment: Segment, page: int, error: PycoreError) -> Optional[str]:
    """Why ``page`` of ``segment`` is not in the core, worded once for a whole run of such pages;
    None for an anonymous page the process never touched (zeros, as it reads in the process)."""
    if isinstance(error, swap.SwappedOutError):
        return f"swapped out to {error.device}: not in the dump"
    if _never_mapped(space, page):
        if segment.path is None:
            return None
        return f"a page of {segment.path.decode(errors='replace')} not in the page cache: not in the dump"
    return str(error)


def _page_cache_page(space: Object, segment: Segment, page: int) -> Optional[bytes]:
    """The file page behind ``page`` of a file mapping the process has not touched, from the page
    cache (``f_mapping->i_pages``), as the process would read it; a tmpfs page swapped out (in a
    shmem mapping, a value entry holds its swap entry) from swap; None when it is not cached (a
    value entry of any other file is a workingset shadow)."""
    prog = space.prog_
    mapping = Object(prog, "struct address_space *", segment.mapping)
    found = xa_load(mapping.i_pages.address_of_(), segment.page_offset + (page - segment.start) // PAGE)
    if not int(found):
        return None
    if xa_is_value(found):
        if int(mapping.a_ops) != prog.symbols.by_name("shmem_aops").address:
            return None
        value = xa_to_value(found)
        entry = swap.SwapEntry(value >> swap.SWP_TYPE_SHIFT, value & ((1 << swap.SWP_TYPE_SHIFT) - 1))
        return swap.read_swapped_page(prog, entry, page)
    return prog.read(mm.page_to_phys(Object(prog, "struct page *", int(found))), PAGE, physical=True)


def _read_segment(space: Object, segment: Segment, out: BinaryIO, unreadable: List[Dict[str, Any]]) -> int:
    """Write ``segment``'s bytes to ``out``; pages that cannot be read (not in the dump, or damaged:
    a corrupt compressed page, a broken zspage) are zeros, listed in ``unreadable`` as runs of
    pages with one reason, and pages of an anonymous VMA the process never touched are zeros, as
    they read in the process.  Returns those pages' count."""
    size = segment.end - segment.start
    try:
        out.write(mm.read_mm(space, segment.start, size))
        return 0
    except PycoreError:
        pass
    untouched = 0
    for page in range(segment.start, segment.end, PAGE):
        try:
            out.write(mm.read_mm(space, page, PAGE))
            continue
        except PycoreError as error:
            failure = error
        try:
            cached = None
            if segment.mapping and _never_mapped(space, page):
                cached = _page_cache_page(space, segment, page)
            elif segment.image and _never_mapped(space, page):
                cached = space.prog_.read(segment.image + page - segment.start, PAGE)
        except PycoreError as error:
            failure, cached = error, None
        if cached is not None:
            out.write(cached)
            continue
        reason = _unreadable_reason(space, segment, page, failure)
        out.write(bytes(PAGE))
        if reason is None:
            untouched += 1
            continue
        last = unreadable[-1] if unreadable else None
        if last is not None and last["end"] == page and last["error"] == reason:
            last["end"] = page + PAGE
        else:
            unreadable.append({"start": page, "end": page + PAGE, "error": reason})
    return untouched


def write_core(prog: Program, task: Object, path: str) -> Dict[str, Any]:
    """Write the core file of ``task``'s process to ``path``; returns what was written."""
    leader = task.group_leader
    space = leader.mm
    if not int(space):
        raise PycoreError(f"PID {int(leader.pid)} is a kernel thread: it has no user memory to dump")
    padding = Unwinder(prog).stack_padding
    threads = list(sched.for_each_thread(leader))
    segments = segments_of(space)
    notes = b""
    fpu_missing = []
    for thread in threads:
        try:
            fpu = sched.task_fpu_state(thread)
        except PycoreError as error:
            fpu = None
            fpu_missing.append(f"PID {int(thread.pid)}: no FPU registers in the core: {error}")
        notes += _note(NT_PRSTATUS, prstatus(thread, sched.task_user_regs(thread, padding), fpu is not None))
        if fpu is not None:
            notes += _note(NT_PRFPREG, fpu.fxsave)
            if fpu.xsave is not None:
                notes += _note(NT_X86_XSTATE, fpu.xsave, b"LINUX")
    notes += _note(NT_PRPSINFO, prpsinfo(leader)) + _note(NT_AUXV, auxv(space)) + _note(NT_FILE, file_note(segments))
    headers = 1 + len(segments)
    notes_at = ELF_HEADER.size + headers * PROGRAM_HEADER.size
    data_at = -(-(notes_at + len(notes)) // PAGE) * PAGE
    table = [PROGRAM_HEADER.pack(PT_NOTE, 0, notes_at, 0, 0, len(notes), 0, 4)]
    offset = data_at
    for segment in segments:
        size = segment.end - segment.start
        table.append(PROGRAM_HEADER.pack(PT_LOAD, segment.flags, offset, segment.start, 0, size, size, PAGE))
        offset += size
    identity = b"\x7fELF\x02\x01\x01" + bytes(9)
    header = ELF_HEADER.pack(identity, ET_CORE, EM_X86_64, 1, 0, ELF_HEADER.size, 0, 0, ELF_HEADER.size,
                             PROGRAM_HEADER.size, headers, 0, 0, 0)
    unreadable: List[Dict[str, Any]] = []
    untouched = 0
    with open(path, "wb") as out:
        out.write(header + b"".join(table) + notes)
        out.write(bytes(data_at - notes_at - len(notes)))
        for segment in segments:
            untouched += _read_segment(space, segment, out, unreadable)
    return {"core": path, "pid": int(leader.pid), "comm": sched.task_comm(leader), "threads": len(threads),
            "segments": len(segments), "size": offset, "untouched_pages": untouched, "unreadable": unreadable,
            "fpu_missing": fpu_missing}


def _task(prog: Program, args: argparse.Namespace) -> Object:
    if args.pid is not None:
        task = find_task(prog, None, args.pid)
        if not int(task):
            raise PycoreError(f"no task with PID {args.pid}")
        return task
    context = getattr(args, "context", None)
    if context is not None:
        return Object(prog, "struct task_struct *", context)
    task = sched.panic_task(prog)
    if task is None:
        raise PycoreError("no CPU panicked: name the process (gcore PID)")
    return task


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    task = _task(prog, args)
    path = args.output or f"core.{int(task.tgid)}"
    result = write_core(prog, task, path)
    warnings = [f"{run['start']:#x}-{run['end']:#x}: {run['error']} (zeros in the core)"
                for run in result["unreadable"]] + result["fpu_missing"]
    return Collected(result, warnings)


def render(result: Dict[str, Any], args: argparse.Namespace) -> str:
    return f"Saved corefile {result['core']}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pid", nargs="?", type=int, help="the process (default: the context, else the panic task)")
    parser.add_argument("-o", "--output", help="the core file (default core.PID)")


COMMAND = DumpCommand("gcore", add_arguments=add_arguments, collect=collect, render=render,
                      description="write an ELF core file of a user process that gdb loads")
