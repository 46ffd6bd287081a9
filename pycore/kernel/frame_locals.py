"""Parameters and local variables of the frames of a kernel stack trace (drgn's ``StackFrame.locals()``
and ``frame["name"]``, what gdb's ``info locals`` shows crash users), from the vmlinux's DWARF.

Each frame's registers are recovered with the vmlinux's call frame information (``.debug_frame``,
the kernel's ORC where a function has none) from what the dump saved: a CPU's registers for a task
that was running, the ``inactive_task_frame`` a sleeping task switched out with (x86_64, 4.9+), the
``pt_regs`` of an exception.  A value the frame no longer has is said to be absent, never guessed.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..arch import orc
from ..errors import FaultError, MissingDebugInfoError
from ..object import Object
from ..types.dwarf_locals import (RETURN_ADDRESS, RSP, CallFrameTable, LocalsIndex, Machine, Piece,
                                  Scope, caller_registers, evaluate)
from ..types.model import Type, TypeKind
from .stack import ExceptionFrame, StackFrame, StackTrace
from .unwind import Unwinder

__all__ = ["Local", "FunctionLocals", "FrameLocals", "AbsentValueError", "frame_locals", "trace_locals",
           "frame_registers", "DWARF_REGISTERS"]

# x86-64 psABI DWARF register numbers of the registers a CPU note or pt_regs names.
DWARF_REGISTERS = {"rax": 0, "rdx": 1, "rcx": 2, "rbx": 3, "rsi": 4, "rdi": 5, "rbp": 6, "rsp": 7, "r8": 8, "r9": 9,
                   "r10": 10, "r11": 11, "r12": 12, "r13": 13, "r14": 14, "r15": 15, "rip": RETURN_ADDRESS}
# The callee-saved registers __switch_to_asm pushes, as struct inactive_task_frame names them.
_INACTIVE_FRAME_REGISTERS = {"r15": 15, "r14": 14, "r13": 13, "r12": 12, "bx": 3, "bp": 6}
_MAX_FRAMES = 256
_MASK = (1 << 64) - 1


class AbsentValueError(MissingDebugInfoError, LookupError):
    """The variable exists in the frame's scope, but its value is not there any more (optimized
    out, or in a register the unwind could not recover); drgn's absent object."""


@dataclass
class Local:
    """A parameter or local variable: ``value`` its Object, or None with ``absent`` saying why."""

    name: str
    type: Type
    parameter: bool
    value: Optional[Object] = None
    absent: Optional[str] = None


@dataclass
class FunctionLocals:
    """The variables of one function instance at the frame's address: the function itself or (in
    ``inlined``) a call inlined into it, with those of its lexical blocks that hold the address."""

    function: Optional[str]
    inlined: bool
    locals: List[Local] = field(default_factory=list)


@dataclass
class FrameLocals:
    """The parameters and locals of one frame: ``functions`` innermost first (the calls inlined at
    the frame's address, then the function), ``registers`` what the unwind recovered (DWARF
    numbers; empty when the frame is not on the recovered chain of frames)."""

    frame: StackFrame
    functions: List[FunctionLocals] = field(default_factory=list)
    registers: Dict[int, int] = field(default_factory=dict)

    def locals(self) -> List[str]:
        """The names of the variables in scope, innermost function first, each once (drgn's
        ``StackFrame.locals()``)."""
        names: Dict[str, None] = {}
        for function in self.functions:
            names.update((local.name, None) for local in function.locals)
        return list(names)

    def local(self, name: str) -> Local:
        """The variable ``name`` as the innermost function that has it sees it; KeyError if none does."""
        for function in self.functions:
            for local in reversed(function.locals):  # an inner block's variable hides the function's
                if local.name == name:
                    return local
        raise KeyError(f"no variable {name!r} in the scope of {self.frame.symbol or hex(self.frame.pc)}")

    def __getitem__(self, name: str) -> Object:
        """``frame["name"]``: the variable's Object; AbsentValueError when its value is gone."""
        local = self.local(name)
        if local.value is None:
            raise AbsentValueError(f"{name} in {self.frame.symbol}: {local.absent}")
        return local.value

    def __contains__(self, name: object) -> bool:
        return any(local.name == name for function in self.functions for local in function.locals)


def _debug_info(prog) -> Tuple[LocalsIndex, CallFrameTable]:
    """The vmlinux's locals index and call frame table, opened once per program."""
    from ..types.dwarf import DwarfIndex
    from ..types.dwarf_locals import open_locals_index

    types = prog.types
    if not prog.vmlinux or not isinstance(types, DwarfIndex):
        raise MissingDebugInfoError("parameters and locals need the DWARF of a vmlinux built with debug "
                                    "information: give --vmlinux")

    def build() -> Tuple[LocalsIndex, CallFrameTable]:
        offset = (prog.vmcoreinfo.kernel_offset or 0) if prog.vmcoreinfo is not None else 0
        return open_locals_index(types.sections, prog.vmlinux, offset)

    return prog.cache.get("frame_locals.dwarf", build)


def _initial_registers(prog, trace: StackTrace, unwinder: Unwinder) -> Optional[Tuple[Dict[int, int], bool]]:
    """Where the walk of a trace starts: the saved CPU registers of a running task (the instruction
    itself: interrupted), else what the task's ``inactive_task_frame`` holds (a return address)."""
    if trace.active:
        saved = unwinder.cpus.get(trace.cpu)
        if saved is None:
            return None
        return {DWARF_REGISTERS[name]: value for name, value in saved.items() if name in DWARF_REGISTERS}, True
    frame_type = prog.type("struct inactive_task_frame")
    sp = unwinder.task_info(trace.task)["sp"]
    registers: Dict[int, int] = {}
    for name, regno in _INACTIVE_FRAME_REGISTERS.items():
        value = unwinder.read_word(sp + frame_type.offsetof(name))
        if value is not None:
            registers[regno] = value
    slot = sp + frame_type.offsetof("ret_addr")
    ip = unwinder.read_word(slot)
    if ip is None:
        return None
    registers[RETURN_ADDRESS] = ip
    registers[RSP] = slot + 8
    return registers, False


def _walk(table: CallFrameTable, unwinder: Unwinder, registers: Dict[int, int], interrupted: bool,
          found: Dict[Tuple[int, int], Dict[int, int]]) -> None:
    """Unwind from ``registers``, recording each caller's registers under (the stack slot its
    return address was read from, that address).  CFI first, the kernel's ORC for code without
    CFI (its callers keep only rip, rsp and rbp); stops at an exception frame (whose pt_regs start
    their own walk), a frame it cannot unwind, or a stack that goes backwards."""
    for _ in range(_MAX_FRAMES):
        pc = registers.get(RETURN_ADDRESS)
        if pc is None or RSP not in registers:
            return
        lookup = pc if interrupted else pc - 1
        # The vmlinux's CFI covers its own text only: a module's address, less the KASLR slide,
        # may fall inside it.
        row = table.row(lookup) if _in_kernel_image(unwinder, lookup) else None
        if row is not None:
            cfa, caller = caller_registers(row, registers, unwinder.read_word)
        else:
            entry = unwinder.orc_find(lookup)
            if entry is None or entry.type != orc.ORC_TYPE_CALL:
                return
            step, pt_regs = orc.unwind_step(entry, orc.Registers(pc, registers[RSP], registers.get(6)),
                                            unwinder.read_word, {})
            if step is None or pt_regs is not None or step.ip is None:
                return
            cfa, caller = step.sp, {RSP: step.sp, RETURN_ADDRESS: step.ip}
            if step.bp is not None:
                caller[6] = step.bp
        if cfa is None or RETURN_ADDRESS not in caller or caller[RSP] <= registers[RSP]:
            return
        found[(cfa - 8, caller[RETURN_ADDRESS])] = caller
        registers, interrupted = caller, False


def _in_kernel_image(unwinder: Unwinder, address: int) -> bool:
    return any(start <= address < end for start, end in unwinder.text)


def frame_registers(prog, trace: StackTrace, unwinder: Optional[Unwinder] = None) -> List[Dict[int, int]]:
    """The registers recovered for each frame of ``trace`` (DWARF numbers): rip, rsp and the
    callee-saved registers CFI restores, for the frames on the chain that starts at the saved
    registers (and again at each kernel-mode exception frame); empty for a frame off that chain
    (a stale return address crash's scan shows).  Needs the vmlinux's ``.debug_frame``."""
    _, table = _debug_info(prog)
    unwinder = unwinder or Unwinder(prog)
    found: Dict[Tuple[int, int], Dict[int, int]] = {}
    start = _initial_registers(prog, trace, unwinder)
    if start is not None:
        registers, interrupted = start
        if not interrupted:
            found[(registers[RSP] - 8, registers[RETURN_ADDRESS])] = registers
        _walk(table, unwinder, registers, interrupted, found)
    for item in trace.items:
        if isinstance(item, ExceptionFrame) and item.where == "kernel":
            regs = {DWARF_REGISTERS[name]: value for name, value in item.regs.items() if name in DWARF_REGISTERS}
            _walk(table, unwinder, regs, True, found)
    return [dict(found.get((frame.sp, frame.pc), {})) for frame in trace.frames]


def _read(prog, address: int, size: int) -> Optional[int]:
    try:
        return int.from_bytes(prog.read(address, size), "little")
    except FaultError:
        return None


def _function_scopes(scopes: List[Scope]) -> List[List[Scope]]:
    """The scopes grouped by function instance, innermost first: each function or inlined call
    with the lexical blocks inside it (before the next inlined call)."""
    groups: List[List[Scope]] = []
    for scope in scopes:
        if scope.is_function or not groups:
            groups.append([scope])
        else:
            groups[-1].append(scope)
    return list(reversed(groups))


def _value(prog, type_: Type, pieces: List[Piece], registers: Dict[int, int]) -> Tuple[Optional[Object], str]:
    """The Object the pieces of a location make, or None and why it is absent."""
    size = type_.size
    if size is None or type_.resolved().kind in (TypeKind.VOID, TypeKind.FUNCTION):
        return None, "<incomplete type>"
    if len(pieces) == 1 and pieces[0].kind == "memory":
        return Object(prog, type_, address=pieces[0].value), ""
    data = b""
    for piece in pieces:
        width = size - len(data) if piece.size is None else piece.size
        if piece.kind == "absent":
            return None, piece.why
        if piece.kind == "memory":
            try:
                data += prog.read(piece.value, width)
            except FaultError as error:
                return None, f"<{error}>"
        elif piece.kind == "register":
            value = registers.get(piece.value)  # type: ignore[arg-type]
            if value is None:
                return None, "<register unavailable>"
            data += value.to_bytes(8, "little")[:width].ljust(width, b"\0")
        elif piece.kind == "value":
            data += (int(piece.value) & _MASK).to_bytes(8, "little")[:width].ljust(width, b"\0")  # type: ignore[arg-type]
        else:
            data += bytes(piece.value)[:width].ljust(width, b"\0")  # type: ignore[arg-type]
    if len(data) < size:
        return None, "optimized out (only part of it is described)"
    return Object(prog, type_, data[:size]), ""


def _locals_of(prog, index: LocalsIndex, table: CallFrameTable, frame: StackFrame,
               registers: Dict[int, int]) -> FrameLocals:
    types = prog.types
    lookup = frame.pc - 1
    result = FrameLocals(frame, registers=registers)
    if frame.module is not None:  # the vmlinux's DWARF describes no module
        return result
    scopes = index.scopes_at(lookup)
    if not scopes:
        return result
    unit = index.unit_of(lookup)

    def cfa() -> Optional[int]:
        row = table.row(lookup)
        if row is None or not isinstance(row[0], tuple) or row[0][0] not in registers:
            return None
        return (registers[row[0][0]] + row[0][1]) & _MASK

    base_cache: List[Optional[int]] = []

    def frame_base() -> Optional[int]:
        if not base_cache:
            base = None
            if scopes[0].frame_base is not None:
                pieces = evaluate(scopes[0].frame_base, Machine(registers.get, lambda a, s: _read(prog, a, s),
                                                                lambda: None, cfa))
                if pieces[0].kind == "memory":
                    base = pieces[0].value
                elif pieces[0].kind == "register":
                    base = registers.get(pieces[0].value)  # type: ignore[arg-type]
            base_cache.append(base)  # type: ignore[arg-type]
        return base_cache[0]

    machine = Machine(registers.get, lambda a, s: _read(prog, a, s), frame_base, cfa,
                      lambda i: index.address_entry(unit, i), index.offset)
    for group in _function_scopes(scopes):
        function = FunctionLocals(group[0].name, group[0].inlined)
        for scope in group:
            for variable in scope.variables:
                type_ = types.type_at(variable.type_offset) if variable.type_offset is not None else None
                if type_ is None:
                    continue
                local = Local(variable.name, type_, variable.parameter)
                if variable.location is not None:
                    local.value, local.absent = _value(prog, type_, evaluate(variable.location, machine), registers)
                elif isinstance(variable.constant, int):
                    local.value, local.absent = _value(prog, type_, [Piece("value", variable.constant)], registers)
                elif isinstance(variable.constant, bytes):
                    local.value, local.absent = _value(prog, type_, [Piece("implicit", variable.constant)], registers)
                else:
                    local.absent = "optimized out"
                local.absent = local.absent or None
                function.locals.append(local)
        result.functions.append(function)
    return result


def trace_locals(prog, trace: StackTrace, unwinder: Optional[Unwinder] = None) -> List[FrameLocals]:
    """The parameters and locals of every frame of ``trace`` (see :func:`frame_locals`)."""
    index, table = _debug_info(prog)
    registers = frame_registers(prog, trace, unwinder)
    return [_locals_of(prog, index, table, frame, regs) for frame, regs in zip(trace.frames, registers)]


def frame_locals(prog, trace: StackTrace, index: int, unwinder: Optional[Unwinder] = None) -> FrameLocals:
    """The parameters and locals of frame ``index`` of ``trace``: every function instance at its
    address (calls inlined there first), each variable an Object or absent with the reason
    (optimized out; a register the unwind could not recover, as in a frame off the recovered
    chain).  MissingDebugInfoError without a vmlinux's DWARF; IndexError for a frame the trace
    lacks."""
    frame = trace.frames[index]
    index_, table = _debug_info(prog)
    return _locals_of(prog, index_, table, frame, frame_registers(prog, trace, unwinder)[index])
