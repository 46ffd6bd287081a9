"""Kernel stack traces of tasks, the frames crash 9's ``bt``, ``bt -a`` and ``foreach bt`` show.

x86_64 kernels with CONFIG_UNWINDER_ORC (4.14+; tested on 5.10, 6.1, 6.12, 7.2).  A trace is data:
frames (a return address found on a stack), exception frames (registers from a ``pt_regs`` or
the dump's CPU note), the switches from an IRQ or exception stack to the stack below and the
places the walk could not go on (crash's ``bt: ...`` lines);
pycore/cli/bt.py writes them as crash does.  The walk itself is in :mod:`.backtrace`, the
per-dump state it uses in :mod:`.unwind`.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from ..arch import orc
from ..errors import FaultError, PycoreError
from ..object import Object
from ..symbols.table import crash_name
from . import sched
from .backtrace import ENTRY_FRAMES, NO_STACK, walk
from .unwind import IRQ_STACK_SIZE, THREAD_SIZE, StackBuffer, Unwinder

# The largest PID a 64-bit kernel hands out (include/linux/threads.h); task addresses are far above.
PID_MAX_LIMIT = 4 * 1024 * 1024

__all__ = ["StackFrame", "ExceptionFrame", "StackSwitch", "UnwindError", "StackTrace", "Unwinder", "stack_trace",
           "say_where_it_stops", "reliable_trace", "text_symbols", "panic_trace", "active_traces", "all_traces",
           "all_tasks", "tasks_with_pid"]


@dataclass
class StackFrame:
    """One frame: a return address ``pc`` found at stack slot ``sp`` (crash's ``[sp]``), in
    ``symbol`` + ``offset`` of ``module`` (None: the kernel image).  ``regs`` holds the
    exception frame that follows this frame, if any; ``data`` the (address, value) stack words
    from the slot after the frame before it on the same stack up to ``sp`` (crash's ``bt -f``);
    ``registers`` the rip, rsp and rbp the kernel's ORC unwind recovers for the frame
    (:func:`reliable_trace`; empty in crash's scan, which recovers none)."""

    level: int
    sp: int
    pc: int
    symbol: Optional[str]
    offset: int
    module: Optional[str] = None
    regs: Optional[Dict[str, int]] = None
    data: List[Tuple[int, int]] = field(default_factory=list)
    registers: Dict[str, int] = field(default_factory=dict)
    trace: Optional["StackTrace"] = field(default=None, repr=False, compare=False)

    def locals(self) -> List[str]:
        """drgn's ``StackFrame.locals()``: the names of the parameters and locals in scope at the
        frame, from the vmlinux's DWARF (:mod:`pycore.kernel.frame_locals`)."""
        return self._frame_locals().locals()

    def __getitem__(self, name: str) -> Any:
        """drgn's ``frame["name"]``: a parameter's or local's Object; AbsentValueError (a
        MissingDebugInfoError) when it is optimized out or its register was not recovered."""
        return self._frame_locals()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._frame_locals()

    def _frame_locals(self) -> Any:
        if self.trace is None or self.trace.prog is None:
            raise LookupError("this frame belongs to no trace of a program: locals need stack_trace()'s frames")
        return self.trace.frame_locals(self)


@dataclass
class ExceptionFrame:
    """Registers shown in a trace: a ``pt_regs`` found on a stack, or (``notes``) the registers
    the dump's CPU note saved, which carry no ``orig_rax``.

    ``where`` says what crash writes about RIP: ``"kernel"`` (in ``symbol`` + ``offset``;
    ``symbol`` None when no symbol covers it), ``"user"`` (user space) or None (nothing: a
    user-mode ``pt_regs`` at the top of a process stack)."""

    regs: Dict[str, int]
    where: Optional[str] = None
    symbol: Optional[str] = None
    offset: int = 0
    notes: bool = False


@dataclass
class StackSwitch:
    """The walk left an IRQ or exception stack for the stack below: ``stack`` names the one it
    left (``"IRQ"``, ``"NMI exception"``, ``"DOUBLEFAULT exception"``, ...)."""

    stack: str


@dataclass
class UnwindError:
    """Where the walk could not go on, or went on with less than it needs: crash prints such a
    ``bt: ...`` line; a trace is never cut or guessed silently."""

    message: str


TraceItem = Union[StackFrame, ExceptionFrame, StackSwitch, UnwindError]


@dataclass
class StackTrace:
    """A task's trace: ``items`` in crash's order, ``active`` when the task was running on
    ``cpu`` when the dump was taken.  ``start`` is where the walk started, (function, address),
    as crash's ``bt -t`` names it in its START line (:func:`text_symbols`).  ``unreadable`` maps
    each task_struct member the walk needed and the dump lacks (``thread.sp``, ``mm``) to its
    fault: the trace is then partial, and its :class:`UnwindError` says what it could not do."""

    task: int
    pid: int
    comm: str
    cpu: int
    active: bool
    items: List[TraceItem] = field(default_factory=list)
    start: Optional[Tuple[str, int]] = None
    unreadable: Dict[str, FaultError] = field(default_factory=dict)
    prog: Any = field(default=None, repr=False, compare=False)
    _locals: Optional[List[Any]] = field(default=None, repr=False, compare=False)

    @property
    def frames(self) -> List[StackFrame]:
        return [item for item in self.items if isinstance(item, StackFrame)]

    # A trace reads as the sequence of its frames, innermost first, as drgn's StackTrace does.
    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> StackFrame:
        return self.frames[index]

    def __iter__(self) -> Iterator[StackFrame]:
        return iter(self.frames)

    @property
    def errors(self) -> List[str]:
        return [item.message for item in self.items if isinstance(item, UnwindError)]

    @property
    def useful(self) -> bool:
        """Whether the walk found anything: a frame or a set of registers."""
        return any(isinstance(item, (StackFrame, ExceptionFrame)) for item in self.items)

    def frame_locals(self, frame: StackFrame) -> Any:
        """The :class:`~pycore.kernel.frame_locals.FrameLocals` of one of this trace's frames; every
        frame's are found in one unwind of the registers, the first time one is asked for."""
        if self._locals is None:
            from .frame_locals import trace_locals  # DWARF locals: loaded only when asked for

            self._locals = trace_locals(self.prog, self)
        return self._locals[next(i for i, mine in enumerate(self.frames) if mine is frame)]

    def add_frame(self, level: int, sp: int, pc: int, symbol: Optional[str], offset: int,
                  module: Optional[str], data: Optional[List[Tuple[int, int]]] = None) -> None:
        self.items.append(StackFrame(level, sp, pc, symbol, offset, module, data=list(data or []), trace=self))

    def add_exception_frame(self, regs: Dict[str, int], where: Optional[str] = None, symbol: Optional[str] = None,
                            offset: int = 0, notes: bool = False) -> None:
        """Append the registers, which also become the ``regs`` of the frame before them."""
        self.items.append(ExceptionFrame(dict(regs), where, symbol, offset, notes))
        frames = self.frames
        if frames:
            frames[-1].regs = dict(regs)

    def add_stack_switch(self, stack: str) -> None:
        self.items.append(StackSwitch(stack))

    def add_error(self, message: str) -> None:
        self.items.append(UnwindError(message))

    def signature(self, count: int = 5) -> List[str]:
        """The top function names, for grouping crashes."""
        return [frame.symbol or hex(frame.pc) for frame in self.frames[:count]]

    def to_dict(self) -> dict:
        return {"task": self.task, "pid": self.pid, "comm": self.comm, "cpu": self.cpu, "active": self.active,
                "frames": [{"level": f.level, "sp": f.sp, "pc": f.pc, "symbol": f.symbol, "offset": f.offset,
                            "module": f.module, "regs": f.regs} for f in self.frames],
                "errors": self.errors, "unreadable": {name: str(error) for name, error in self.unreadable.items()}}


def _empty_trace(prog, task, unwinder: Unwinder) -> Tuple[Dict, StackTrace]:
    """The task ``task`` names (a task_struct Object or address, or a PID: the first task with it)
    and a trace with no frames yet for it; LookupError for a PID no task has."""
    address = int(task)
    if address <= PID_MAX_LIMIT:
        tasks = tasks_with_pid(prog, address, unwinder)
        if not tasks:
            raise LookupError(f"no task with PID {address}")
        address = tasks[0]
    info = unwinder.task_info(address)
    trace = StackTrace(info["task"], info["pid"], info["comm"], info["cpu"], info["active"], prog=prog)
    return info, trace


def stack_trace(prog, task, unwinder: Optional[Unwinder] = None, vmlinux_orc: bool = False) -> StackTrace:
    """The kernel stack trace of ``task`` as crash's ``bt`` finds it: a task_struct Object or
    address, or (a number up to PID_MAX_LIMIT, as drgn's ``stack_trace`` takes it) a PID, the
    first task with it.  ``vmlinux_orc`` reads the kernel's ORC table from ``prog.vmlinux``.
    Raises LookupError for a PID no task has."""
    unwinder = unwinder or Unwinder(prog, vmlinux_orc=vmlinux_orc)
    info, trace = _empty_trace(prog, task, unwinder)
    for problem in unwinder.problems:
        trace.add_error(problem)
    if _cannot_start(info, unwinder, trace):
        return trace
    try:
        walk(unwinder, info, trace)
    except PycoreError as error:
        trace.add_error(f"the walk stopped: {error}")
    if not trace.useful and not trace.errors:
        trace.add_error(f"no return address found on the stack of task {info['task']:x}")
    else:
        say_where_it_stops(trace)
    mm = info["unreadable"].get("mm")
    if mm is not None:
        # Without mm the walk cannot tell a user task by the registers at the top of its stack.
        trace.unreadable["mm"] = mm
        where = f" at {mm.address:x}" if mm.address is not None else ""
        trace.add_error(f"read of mm{where} failed: not in the dump, user-mode registers not shown")
    return trace


def _cannot_start(info: Dict, unwinder: Unwinder, trace: StackTrace) -> bool:
    """Whether the walk of the task ``info`` describes cannot start for want of its saved stack
    pointer, saying so in the trace (crash's one line for a stack it cannot read).  A blocked task's
    walk starts at ``thread.sp``; a running one's at the registers of its CPU's note, and needs
    ``thread.sp`` only when the dump saved none for that CPU."""
    error = info["unreadable"].get("thread.sp")
    if error is None or info["active"] and unwinder.cpus.get(info["cpu"]):
        return False
    trace.unreadable["thread.sp"] = error
    where = f" at {error.address:x}" if error.address is not None else ""
    trace.add_error(f"read of thread.sp{where} failed: not in the dump, the stack of task {info['task']:x} "
                    f"cannot be walked")
    return True


def say_where_it_stops(trace: StackTrace) -> None:
    """Add the :class:`UnwindError` of a walk that ended before the bottom of the task's stack:
    its last frame is no entry point (:data:`.backtrace.ENTRY_FRAMES`) and no registers saved in
    user mode (a system call's or an interrupt's from user space, a CPU caught in user mode)
    end it.  A trace that already says why it stopped is left as it is."""
    if trace.errors or not trace.items:
        return
    last = trace.items[-1]
    if isinstance(last, ExceptionFrame):
        if last.where == "user" or last.where is None and last.regs.get("cs", 0) & 3:
            return
    elif isinstance(last, StackFrame) and last.symbol in ENTRY_FRAMES:
        return
    frame = trace.frames[-1] if trace.frames else None
    where = f" at {frame.symbol} ({frame.sp:x})" if frame is not None else ""
    trace.add_error(f"the trace ends{where} before the task's entry code: no caller found on the stack")


def reliable_trace(prog, task, unwinder: Optional[Unwinder] = None, limit: int = 256) -> StackTrace:
    """The frames the kernel's own ORC unwinder (arch/x86/kernel/unwind_orc.c) finds for a task
    that is not running, each with the rip, rsp and rbp recovered for it (``registers``): from the
    task's ``inactive_task_frame`` through each frame's ORC entry (:func:`orc.unwind_step`),
    across the pt_regs of an entry from user mode, to the end of the stack.  These are the
    frames the kernel prints without ``?``; crash's ``bt`` (:func:`stack_trace`) shows them
    and the stale return addresses it cannot tell from them.  Where the ORC data ends the walk
    early, the trace says why (:class:`UnwindError`).  ``task`` as for :func:`stack_trace`; the
    FaultError of a ``thread.sp`` the dump lacks is raised (there is no frame to start from)."""
    unwinder = unwinder or Unwinder(prog)
    info, trace = _empty_trace(prog, task, unwinder)
    if info["active"]:
        trace.add_error("the task was running: its registers are the dump's, not an inactive_task_frame")
        return trace
    if info["sp"] is None:
        # Its callers (the hang analysis) name such a task as one they could not read.
        raise info["unreadable"]["thread.sp"]
    frame_type = prog.type("struct inactive_task_frame")
    slot = info["sp"] + frame_type.offsetof("ret_addr")
    ip = unwinder.read_word(slot)
    regs = orc.Registers(ip, slot + 8, unwinder.read_word(info["sp"] + frame_type.offsetof("bp")))
    signal, extra = False, {}
    for level in range(limit):
        if regs.ip is None:
            trace.add_error(f"return address at {slot:x} not in the dump")
            return trace
        # An interrupted RIP is named as it is, a return address by the call before it (%pB).
        hit = unwinder.lookup(regs.ip) if signal else unwinder.lookup_return(regs.ip)
        trace.add_frame(level, slot, regs.ip, crash_name(hit[0].name) if hit else None, hit[1] if hit else 0,
                        hit[2] if hit else None)
        trace.frames[-1].registers = {"rip": regs.ip, "rsp": regs.sp, "rbp": regs.bp}
        entry = unwinder.orc_find(regs.ip if signal else regs.ip - 1)
        if entry is not None and entry.type == orc.ORC_TYPE_END_OF_STACK:
            return trace
        if entry is None or entry.type == orc.ORC_TYPE_UNDEFINED:
            trace.add_error(f"no ORC data for {regs.ip:x}: the kernel's unwinder stops here too")
            return trace
        caller, pt_regs = orc.unwind_step(entry, regs, unwinder.read_word, extra)
        if caller is None or caller.ip is None:
            trace.add_error(f"the ORC entry for {regs.ip:x} leads to a register or memory the dump lacks")
            return trace
        signal = pt_regs is not None
        if signal:
            saved = {name: unwinder.read_word(pt_regs + offset) or 0 for name, offset in orc.PT_REGS_OFFSETS.items()}
            trace.add_exception_frame(saved, None if saved["cs"] & 3 else "kernel", None, 0)
            if saved["cs"] & 3:
                return trace
            extra = saved
            slot = pt_regs + orc.PT_REGS_OFFSETS["rip"]
        elif caller.sp <= regs.sp:
            trace.add_error(f"the stack goes backwards at {regs.sp:x}")
            return trace
        else:
            slot = caller.sp - 8
        regs = caller
    trace.add_error(f"more than {limit} frames")
    return trace


def text_symbols(prog, task, unwinder: Optional[Unwinder] = None, whole_stack: bool = False) -> StackTrace:
    """crash's ``bt -t`` (``whole_stack``: ``bt -T``): every kernel text address on the task's
    stacks, each a frame at its slot (no frame sizes, so stale return addresses and function
    pointers too), from the first frame of :func:`stack_trace` (``-t``) or the bottom of the
    process stack (``-T``) to the top of each stack the walk went through: an IRQ or exception
    stack's words, the switch to the stack below with the frame the walk resumed at and the
    registers saved there, then the process stack's words, then the user-mode registers at its
    top as the trace has them.  ``task`` as for :func:`stack_trace`."""
    unwinder = unwinder or Unwinder(prog)
    walked = stack_trace(prog, task, unwinder)
    info = unwinder.task_info(walked.task)
    trace = StackTrace(walked.task, walked.pid, walked.comm, walked.cpu, walked.active,
                       unreadable=dict(walked.unreadable))
    if not whole_stack and "thread.sp" in walked.unreadable:
        # -t lists from the first frame, which a walk that could not start did not find.
        for message in walked.errors:
            trace.add_error(message)
        return trace
    if not info["stack"]:
        # A zombie's freed stack (4.9+): no words to list, crash's "(no stack)" as for bt.
        trace.add_error(NO_STACK)
        return trace
    process = StackBuffer(prog, info["stack"], THREAD_SIZE)
    for address in process.missing:
        trace.add_error(f"process stack page {address:x} not in the dump, read as zeros")
    items = walked.items
    position, index = process.base, len(items)
    if not whole_stack and walked.frames:
        first = walked.frames[0]
        position, index, trace.start = first.sp, items.index(first), (first.symbol, first.pc)
        saved = items[0]
        if isinstance(saved, ExceptionFrame) and saved.notes and saved.where == "kernel":
            # A CPU the dump caught in the kernel (QEMU's CPU notes): the walk starts at its
            # registers, which -t does not show.
            position, trace.start = saved.regs["rsp"], (saved.symbol, saved.regs["rip"])
    while True:
        found = _stack_holding(prog, unwinder, position, process)
        if found is None:
            trace.add_error(f"the trace goes on at {position:x}, on no stack of the task: its text symbols are not listed")
            return trace
        buf, end = found
        switch = next((k for k in range(index, len(items)) if isinstance(items[k], StackSwitch)), None)
        _add_text_symbols(trace, unwinder, buf, position, end if switch is not None else buf.top)
        if switch is None:
            break
        # The registers saved at the top of an exception stack, the switch, then the frame the walk
        # resumed at on the stack below with the registers an interrupt's entry code saved there.
        for item in items[index:switch]:
            if isinstance(item, ExceptionFrame):
                trace.add_exception_frame(item.regs, item.where, item.symbol, item.offset, item.notes)
        trace.add_stack_switch(items[switch].stack)
        resumed = next((k for k in range(switch, len(items)) if isinstance(items[k], StackFrame)), None)
        if resumed is None:
            return trace
        frame = items[resumed]
        index, position = resumed, frame.sp
        if resumed + 1 < len(items) and isinstance(items[resumed + 1], ExceptionFrame):
            # An interrupt's entry code on the stack below, with the registers it saved there.
            saved = items[resumed + 1]
            trace.add_frame(len(trace.frames), frame.sp, frame.pc, frame.symbol, frame.offset, frame.module)
            trace.add_exception_frame(saved.regs, saved.where, saved.symbol, saved.offset, saved.notes)
            index, position = resumed + 2, frame.sp + orc.PT_REGS_SIZE
        elif items[switch].stack.endswith("exception"):
            # The interrupted function, which crash's -t shows at the exception stack's base
            # (its slot index 0 there); the stack below is then listed from its stack pointer.
            trace.add_frame(len(trace.frames), buf.base, frame.pc, frame.symbol, frame.offset, frame.module)
            index = resumed + 1
    user = items[-1] if items else None
    if isinstance(user, ExceptionFrame) and user.where is None:
        trace.add_exception_frame(user.regs)
    elif "thread.sp" in walked.unreadable:
        # -T lists the stack's words without a walk; the user-mode registers at its top need one.
        for message in walked.errors:
            trace.add_error(message)
    return trace


def _stack_holding(prog, unwinder: Unwinder, address: int,
                   process: StackBuffer) -> Optional[Tuple[StackBuffer, int]]:
    """The stack holding ``address`` and where crash's scan of it ends: the process stack's
    top, an IRQ stack's, or an exception stack's registers (below them the 12 words of a nested
    NMI's copy, 3.8+); None off the task's stacks."""
    if address in process:
        return process, process.top
    base = unwinder.in_irq_stack(address)
    if base is not None:
        buf = StackBuffer(prog, base, IRQ_STACK_SIZE)
        return buf, buf.top
    estack = unwinder.in_exception_stack(address)
    if estack is not None:
        label, start, size = estack
        buf = StackBuffer(prog, start, size)
        return buf, buf.top - orc.PT_REGS_SIZE - (12 * 8 if label == "NMI" else 0)
    return None


def _add_text_symbols(trace: StackTrace, unwinder: Unwinder, buf: StackBuffer, start: int, end: int) -> None:
    """Every kernel text address in [start, end) of ``buf`` as a frame at its slot."""
    for slot in range(start, end, 8):
        value = buf.word(slot)
        hit = unwinder.lookup(value) if unwinder.is_kernel_text(value) else None
        if hit is not None:
            trace.add_frame(len(trace.frames), slot, value, crash_name(hit[0].name), hit[1], hit[2])


def panic_trace(prog, unwinder: Optional[Unwinder] = None, vmlinux_orc: bool = False) -> List[StackTrace]:
    """``bt`` with no argument on a dump: crash's current context, the task that panicked
    (:func:`pycore.kernel.sched.panic_task`); when no CPU panicked, the task on the first CPU
    the dump saved, as crash falls back to.  Empty when the dump saved no CPU."""
    unwinder = unwinder or Unwinder(prog, vmlinux_orc=vmlinux_orc)
    task = unwinder.panic_task
    if task is None and unwinder.active:
        task = unwinder.active[min(unwinder.active)]
    return [stack_trace(prog, task, unwinder)] if task is not None else []


def active_traces(prog, unwinder: Optional[Unwinder] = None, vmlinux_orc: bool = False) -> List[StackTrace]:
    """``bt -a``: the task running on each CPU, in CPU order."""
    unwinder = unwinder or Unwinder(prog, vmlinux_orc=vmlinux_orc)
    return [stack_trace(prog, unwinder.active[cpu], unwinder) for cpu in sorted(unwinder.active)]


def all_tasks(prog, unwinder: Unwinder) -> Tuple[List[int], Optional[FaultError]]:
    """The address of every task crash's ``foreach`` visits (every CPU's idle task, every thread,
    the tasks running on the saved CPUs), and the fault that kept some from being read, None when
    none was: a task list broken by a page the dump lacks still gives every task it reaches
    (:func:`pycore.kernel.sched.crash_tasks`)."""
    found = sched.crash_tasks(prog)
    tasks = [int(t) for t in found.tasks]
    for task in unwinder.active.values():
        if task not in tasks:
            tasks.append(task)
    return tasks, found.error


def tasks_with_pid(prog, pid: int, unwinder: Unwinder) -> List[int]:
    """The tasks (addresses) whose PID is ``pid``: one, or every CPU's idle task for PID 0."""
    task_type = prog.type("struct task_struct")
    return [task for task in all_tasks(prog, unwinder)[0] if int(Object(prog, task_type, address=task).pid) == pid]


def all_traces(prog, unwinder: Optional[Unwinder] = None,
               vmlinux_orc: bool = False) -> Tuple[List[StackTrace], Optional[FaultError]]:
    """``foreach bt``: every task, in crash's order (by PID, then CPU for the idle tasks), and the
    fault that kept some tasks from being found (:func:`all_tasks`)."""
    unwinder = unwinder or Unwinder(prog, vmlinux_orc=vmlinux_orc)
    tasks, error = all_tasks(prog, unwinder)
    traces = [stack_trace(prog, task, unwinder) for task in tasks]
    traces.sort(key=lambda t: (t.pid, t.cpu, t.task))
    return traces, error
