"""``pycore bt DUMP [PID|TASK|-a|--all-tasks] [-f|-F|-FF] [-s|-x] [-l] [-t|-T]``: kernel stack traces as
crash 9's ``bt`` (the panic task), ``bt PID``, ``bt TASK``, ``bt -a`` and ``foreach bt`` print them,
with crash's frame data (-f as words; -F naming kernel symbols and slab objects' caches, -FF with
the object's address), symbol offsets (-s, -x), source lines (-l, from the vmlinux's DWARF
line tables) or text symbols found on the stack (-t from the first frame, -T the whole stack).

Where a walk could not go on, the trace says so in a ``bt: ...`` line as crash does; the command
exits 1 when no trace found a frame or a set of registers (nothing useful was printed), or when a
task_struct member a walk needed was not in the dump (7.2's makedumpfile -d 31 dumps lack the
tail pages of task_structs): every trace is printed as far as it goes, then one error line names
those tasks, as ``ps`` names the tasks it could not read."""
import argparse
from typing import Any, Dict, List, Optional

from ..errors import MissingDebugInfoError, PycoreError
from ..kernel import stack
from ..kernel.backtrace import NO_STACK
from ..program import Program
from .command import Collected, DumpCommand
from .common import UnreadTasks, unread_tasks, unread_tasks_message
from .crashfmt import task_header

_REGISTER_ROWS = (("RIP", "rip", "RSP", "rsp", "RFLAGS", "eflags"), ("RAX", "rax", "RBX", "rbx", "RCX", "rcx"),
                  ("RDX", "rdx", "RSI", "rsi", "RDI", "rdi"), ("RBP", "rbp", " R8", "r8", " R9", "r9"),
                  ("R10", "r10", "R11", "r11", "R12", "r12"), ("R13", "r13", "R14", "r14", "R15", "r15"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", metavar="PID|TASK", nargs="?",
                        help="the task with this PID (decimal), or the task_struct at this address (hex)")
    parser.add_argument("-f", dest="full", action="store_true",
                        help="show the stack words of each frame (crash's bt -f, as its source writes them)")
    parser.add_argument("-F", dest="symbolic", action="count", default=0,
                        help="as -f, a word that is a kernel symbol's address as name+offset, one in a slab object "
                             "as [cache]; -FF as [address:cache]")
    parser.add_argument("-s", dest="offsets", action="store_true",
                        help="show each frame's symbol with its offset (decimal; hex with -x)")
    parser.add_argument("-x", dest="hex", action="store_true",
                        help="write the offsets -s shows in hex (alone it changes nothing, as in crash)")
    parser.add_argument("-l", dest="lines", action="store_true",
                        help="show the source file and line of each frame (needs --vmlinux with debug information)")
    parser.add_argument("-V", dest="locals", action="store_true",
                        help="show each frame's parameters and locals under it as gdb prints them (needs --vmlinux "
                             "with debug information)")
    parser.add_argument("-t", dest="text", action="store_const", const="from start",
                        help="list every text symbol on the stack from the first frame on (crash's bt -t)")
    parser.add_argument("-T", dest="text", action="store_const", const="whole stack",
                        help="list every text symbol on the whole process stack (crash's bt -T)")
    parser.add_argument("-a", dest="active", action="store_true", help="the active task of every CPU")
    parser.add_argument("--all-tasks", action="store_true", help="every task (crash's foreach bt)")
    parser.add_argument("--orc-from-vmlinux", action="store_true",
                        help="read the ORC tables from --vmlinux instead of the dump")


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    """The traces the options ask for; without one, the current context's task at the crash prompt
    (``args.context``, set by ``set``), else the task that panicked.  Exit status 1 (no message of
    its own: the ``bt:`` lines say why) when no trace found a frame or a set of registers."""
    unwinder = stack.Unwinder(prog, vmlinux_orc=args.orc_from_vmlinux)
    context = getattr(args, "context", None)
    missing: Optional[UnreadTasks] = None
    if args.all_tasks:
        traces, walk_error = stack.all_traces(prog, unwinder)
        if walk_error is not None:
            missing = unread_tasks(prog, (trace.task for trace in traces), walk_error)
    elif args.task is not None:
        traces = [stack.stack_trace(prog, task, unwinder) for task in _tasks_named(prog, unwinder, args.task)]
    elif args.active:
        traces = stack.active_traces(prog, unwinder)
        if not traces:
            raise _no_active_task(unwinder)
    elif context is not None:
        traces = [stack.stack_trace(prog, context, unwinder)]
    else:
        traces = stack.panic_trace(prog, unwinder)
        if not traces:
            raise _no_active_task(unwinder, "no panic task")
    warnings: List[str] = []
    if args.text:
        traces = [stack.text_symbols(prog, trace.task, unwinder, args.text == "whole stack") for trace in traces]
        result = {"traces": [dict(t.to_dict(), lines=text_lines(t, args.text == "whole stack")) for t in traces]}
    else:
        source = _source_lines(prog, unwinder, traces) if args.lines else None
        radix = (16 if args.hex else 10) if args.offsets else None
        names = _stack_names(prog, traces, args.symbolic, warnings) if args.symbolic else None
        result = {"traces": [dict(t.to_dict(), lines=trace_lines(t, radix, args.full or bool(names is not None),
                                                                   source, names)) for t in traces]}
        if args.locals:
            for trace, shown in zip(traces, result["traces"]):
                shown["lines"] = _with_locals(prog, unwinder, trace, shown["lines"], source)
    # A task whose stack was freed (a zombie) is answered by crash's "(no stack)": not a failure.
    answered = any(trace.useful or trace.errors == [NO_STACK] for trace in traces)
    unread = [{"task": trace.task, "pid": trace.pid, "unreadable": shown["unreadable"]}
              for trace, shown in zip(traces, result["traces"]) if trace.unreadable]
    if unread:
        result["unread"] = unread
    errors = [unread_message(unread)] if unread else []
    if args.active and unwinder.active_faults:
        errors.insert(0, _running_tasks_unread(unwinder))
    if missing is not None:
        result["missing"] = [{"task": task, "pid": pid} for task, pid in missing.pids.items()]
        errors.insert(0, unread_tasks_message(missing))
    return Collected(result, warnings, "; ".join(errors) or None, failed=not answered)


def _no_active_task(unwinder: stack.Unwinder, what: str = "no active task to show") -> PycoreError:
    """Why no CPU's running task is known: the dump saved no CPU's registers, or it saved them and
    lacks what names the tasks (:func:`_running_tasks_unread`)."""
    if not unwinder.active_faults:
        return PycoreError(f"{what}: the dump saved no CPU's registers (try --all-tasks)")
    return PycoreError(f"{what}: {_running_tasks_unread(unwinder)}")


def _running_tasks_unread(unwinder: stack.Unwinder) -> str:
    """The CPUs whose registers the dump saved without the runqueue or the task_struct that names the
    task running there, and the first one's fault."""
    faults = unwinder.active_faults
    cpus = ", ".join(map(str, sorted(faults)))
    return (f"the task running on CPU {cpus} could not be read (its runqueue's rq->curr or its task_struct "
            f"is not in the dump): {faults[min(faults)]}")


def unread_message(unread: List[Dict[str, Any]]) -> str:
    """The error line of a partial answer, in ``ps``'s words: how many tasks, which PIDs, and the
    first task's missing member with its fault (``unread`` as :func:`collect` lists it)."""
    pids = sorted({task["pid"] for task in unread})
    member, fault = next(iter(unread[0]["unreadable"].items()))
    count = len(unread)
    return (f"{count} task{'s' if count != 1 else ''} could not be read in full "
            f"(PID{'s' if len(pids) != 1 else ''} {', '.join(map(str, pids))}): {member}: {fault}")


def _with_locals(prog: Program, unwinder: stack.Unwinder, trace: stack.StackTrace, lines: List[str],
                 source: Optional[Dict[int, str]]) -> List[str]:
    """``bt -V``: a trace's lines with each frame's parameters and locals under it (after its
    ``bt -l`` line), ``name = value`` as gdb's ``info locals`` prints them, ``<optimized out>``
    (or what else the frame lacks) for a value it no longer has; where calls were inlined at the
    frame's address, each function's under its name, innermost first
    (:func:`pycore.kernel.frame_locals.trace_locals`; needs --vmlinux)."""
    from ..kernel.frame_locals import trace_locals
    from .gdbfmt import format_value, symbolizer, value_tree

    if not trace.frames:
        # No frame to show locals for (a walk that could not start: a thread.sp the dump lacks).
        return lines
    symbolize = symbolizer(prog)
    found = {(item.frame.level, item.frame.sp): item for item in trace_locals(prog, trace, unwinder)}
    frames = iter(trace.frames)
    frame = next(frames, None)
    shown: List[str] = []
    position = 0
    while position < len(lines):
        shown.append(lines[position])
        position += 1
        if frame is None or not shown[-1].lstrip().startswith(f"#{frame.level} [{frame.sp:8x}] "):
            continue
        if source and frame.pc in source:
            shown.append(lines[position])
            position += 1
        functions = found[(frame.level, frame.sp)].functions
        for function in functions:
            indent = "    "
            if len(functions) > 1:
                shown.append(f"    {function.function}{' (inlined)' if function.inlined else ''}:")
                indent = "      "
            for local in function.locals:
                if local.value is None:
                    value = "<optimized out>" if (local.absent or "").startswith("optimized out") else local.absent
                else:
                    try:
                        value = format_value(value_tree(local.value, symbolize))
                    except PycoreError as error:
                        value = f"<error: {error}>"
                shown += f"{indent}{local.name} = {value}".replace("\n", "\n" + indent).split("\n")
        frame = next(frames, None)
    return shown


def _source_lines(prog: Program, unwinder: stack.Unwinder, traces: List[stack.StackTrace]) -> Dict[int, str]:
    """``file: line`` of each frame's address and each kernel exception frame's RIP, as gdb names
    them for crash's ``bt -l``: the line of the address itself (crash asks gdb about the return
    address, not the call before it), but for a frame named by the call that ends its function
    (:meth:`.Unwinder.lookup_return`), whose return address lies in the next function.
    MissingDebugInfoError without a vmlinux that has DWARF line tables."""
    from ..types.dwarf_lines import LineTable

    if not prog.vmlinux:
        raise MissingDebugInfoError("bt -l needs the DWARF line tables of a vmlinux built with debug information: "
                                    "give --vmlinux")
    offset = (prog.vmcoreinfo.kernel_offset or 0) if prog.vmcoreinfo is not None else 0
    table = LineTable(prog.vmlinux, offset)
    try:
        found: Dict[int, str] = {}
        for trace in traces:
            for item in trace.items:
                if isinstance(item, stack.StackFrame):
                    hit = unwinder.lookup(item.pc)
                    address = item.pc if hit is not None and hit[1] == item.offset else item.pc - 1
                elif isinstance(item, stack.ExceptionFrame) and item.where == "kernel":
                    address = item.regs["rip"]
                else:
                    continue
                where = table.line(address)
                if where is not None:
                    found[address if isinstance(item, stack.ExceptionFrame) else item.pc] = f"{where[0]}: {where[1]}"
        return found
    finally:
        table.close()


def _stack_names(prog: Program, traces: List[stack.StackTrace], level: int, warnings: List[str]) -> Dict[int, str]:
    """What crash's ``bt -F`` (``level`` 1) or ``-FF`` (2) writes for each stack word of the frames'
    data that it names (x86_64_display_full_frame's format_stack_entry): a readable address from the
    first kernel symbol to the last, or in a module, as ``name+offset`` (sym's choice of name,
    :func:`.sym.crash_symbol`); else one in a slab object as ``[cache]`` (``[address:cache]`` with
    -FF; :func:`pycore.kernel.slab.slab_containing`).  Other words are written in hex; where the
    slabs cannot be read (a kernel whose slab layout pycore does not know), their words are too,
    and ``warnings`` says why."""
    from ..kernel import slab
    from ..object import Object
    from ..symbols.table import crash_name
    from .sym import crash_symbol

    names: Dict[int, str] = {}
    slabs_unreadable = False
    values = {value for trace in traces for frame in trace.frames for _, value in frame.data}
    for value in sorted(values):
        try:
            prog.read(value, 1)
        except PycoreError:
            continue
        hit = crash_symbol(prog, value)
        if hit is not None:
            symbol, offset, _ = hit
            names[value] = crash_name(symbol.name) + (f"+{offset}" if offset else "")
            continue
        if slabs_unreadable:
            continue
        try:
            found = slab.slab_containing(prog, value)
        except PycoreError as error:
            warnings.append(f"slab objects are shown in hex: {error}")
            slabs_unreadable = True
            continue
        if found is not None:
            cache = Object(prog, prog.type("struct kmem_cache"), address=found[0]).name.string_().decode("utf-8",
                                                                                                "replace")
            names[value] = f"[{value:x}:{cache}]" if level > 1 else f"[{cache}]"
    return names


def _tasks_named(prog, unwinder: stack.Unwinder, word: str) -> List[int]:
    """The tasks ``bt WORD`` shows, as crash reads WORD: a decimal PID (every idle task for 0),
    else a task_struct address in hex."""
    tasks = stack.all_tasks(prog, unwinder)[0]
    if word.isdigit():
        found = stack.tasks_with_pid(prog, int(word), unwinder)
        if not found:
            raise PycoreError(f"no task with PID {word}")
        return found
    try:
        address = int(word, 16)
    except ValueError:
        raise PycoreError(f"invalid task or pid value: {word}") from None
    if address not in tasks:
        raise PycoreError(f"no task at address {address:x}")
    return [address]


def trace_lines(trace: stack.StackTrace, radix: Optional[int] = None, full: bool = False,
                source: Optional[Dict[int, str]] = None, names: Optional[Dict[int, str]] = None) -> List[str]:
    """crash's lines for one trace, without its header: frames, exception frames, stack switches;
    ``radix`` 10 or 16 writes each frame's symbol with its offset (crash's ``bt -s``/``-x``),
    ``full`` the stack words before each frame, two a line (``bt -f``: x86_64_display_full_frame,
    each word followed by a space), a word ``names`` has (``bt -F``) as that name left-justified
    to 16 columns; ``source`` maps a frame's address or an exception frame's RIP to its
    ``file: line``, written below the frame or the registers (``bt -l``)."""
    names = names or {}
    lines: List[str] = []
    for item in trace.items:
        if isinstance(item, stack.StackFrame):
            if full:
                for at in range(0, len(item.data), 2):
                    words = "".join(f"{names[value]:<16} " if value in names else f"{value:016x} "
                                    for _, value in item.data[at:at + 2])
                    lines.append(f"    {item.data[at][0]:x}: {words}")
            name = item.symbol
            if radix and item.offset:
                name += f"+{item.offset:#x}" if radix == 16 else f"+{item.offset}"
            line = f"{' ' if item.level < 10 else ''}#{item.level} [{item.sp:8x}] {name} at {item.pc:x}"
            lines.append(line + (f" [{item.module}]" if item.module else ""))
            if source and item.pc in source:
                lines.append(f"    {source[item.pc]}")
        elif isinstance(item, stack.ExceptionFrame):
            lines += _exception_lines(item)
            if source and item.where == "kernel" and item.regs["rip"] in source:
                lines.append(f"    {source[item.regs['rip']]}")
        elif isinstance(item, stack.UnwindError):
            lines.append(_error_line(item))
        else:
            lines.append(f"--- <{item.stack} stack> ---")
    return lines


def _error_line(error: stack.UnwindError) -> str:
    """crash's ``(no stack)`` for a task without a kernel stack, else its ``bt: ...`` line."""
    return "(no stack)" if error.message == NO_STACK else f"bt: {error.message}"


def text_lines(trace: stack.StackTrace, whole_stack: bool = False) -> List[str]:
    """crash's ``bt -t`` lines for :func:`.stack.text_symbols`' trace: the START line naming
    where the walk started (not for ``bt -T``), each text symbol at its slot, the switches between stacks
    with the registers saved there, the user-mode registers."""
    lines: List[str] = []
    if trace.start is not None and not whole_stack:
        lines.append(f"{' ' * 14}START: {trace.start[0]} at {trace.start[1]:x}")
    for item in trace.items:
        if isinstance(item, stack.StackFrame):
            lines.append(f"  [{item.sp:x}] {item.symbol} at {item.pc:x}" + (f" [{item.module}]" if item.module else ""))
        elif isinstance(item, stack.ExceptionFrame):
            lines += _exception_lines(item)
        elif isinstance(item, stack.UnwindError):
            lines.append(_error_line(item))
        else:
            lines.append(f"--- <{item.stack} stack> ---")
    return lines


def _exception_lines(frame: stack.ExceptionFrame) -> List[str]:
    regs = frame.regs
    lines = []
    if frame.where == "user":
        lines.append("    [exception RIP: user space]")
    elif frame.where == "kernel":
        where = "unknown or invalid address" if frame.symbol is None else \
            frame.symbol + (f"+{frame.offset}" if frame.offset else "")
        lines.append(f"    [exception RIP: {where}]")
    for row in _REGISTER_ROWS:
        width = 8 if row[4] == "RFLAGS" else 16
        lines.append(f"    {row[0]}: {regs[row[1]]:016x}  {row[2]}: {regs[row[3]]:016x}  "
                     f"{row[4]}: {regs[row[5]]:0{width}x}")
    if frame.notes:
        lines.append(f"    CS: {regs['cs']:04x}  SS: {regs['ss']:04x}")
    else:
        lines.append(f"    ORIG_RAX: {regs['orig_rax']:016x}  CS: {regs['cs']:04x}  SS: {regs['ss']:04x}")
    return lines


def render(result: Dict[str, Any], args: Optional[argparse.Namespace] = None) -> str:
    blocks: List[str] = []
    for trace in result["traces"]:
        header = task_header(trace["pid"], trace["task"], trace["cpu"], trace["comm"])
        blocks.append("\n".join([header] + trace["lines"]))
    return "\n\n".join(blocks)


# -V prints frame locals, which only the vmlinux's DWARF describes.
COMMAND = DumpCommand("bt", add_arguments=add_arguments, collect=collect, render=render,
                      values_only=lambda args: not args.locals,
                      description="Without PID or option: the task that panicked, crash's current context in a dump.")
