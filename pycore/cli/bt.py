"""``pycore bt DUMP [PID|-a|--all-tasks]``: kernel stack traces as crash 9's ``bt`` (the panic
task), ``bt PID``, ``bt -a`` and ``foreach bt`` print them.

Where a walk could not go on, the trace says so in a ``bt: ...`` line as crash does; the command
exits 1 when no trace found a frame or a set of registers (nothing useful was printed)."""
import argparse
from typing import Any, Dict, List, Optional

from ..errors import PycoreError
from ..kernel import stack
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import task_header

_REGISTER_ROWS = (("RIP", "rip", "RSP", "rsp", "RFLAGS", "eflags"), ("RAX", "rax", "RBX", "rbx", "RCX", "rcx"),
                  ("RDX", "rdx", "RSI", "rsi", "RDI", "rdi"), ("RBP", "rbp", " R8", "r8", " R9", "r9"),
                  ("R10", "r10", "R11", "r11", "R12", "r12"), ("R13", "r13", "R14", "r14", "R15", "r15"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", metavar="PID|TASK", nargs="?",
                        help="the task with this PID (decimal), or the task_struct at this address (hex)")
    parser.add_argument("-f", dest="full", action="store_true",
                        help="show the stack words of each frame (crash's bt -f, as its source writes them)")
    parser.add_argument("-s", dest="radix", action="store_const", const=10,
                        help="show each frame's symbol with its offset (decimal)")
    parser.add_argument("-x", dest="radix", action="store_const", const=16,
                        help="show each frame's symbol with its offset (hex)")
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
    if args.all_tasks:
        traces = stack.all_traces(prog, unwinder)
    elif args.task is not None:
        traces = [stack.stack_trace(prog, task, unwinder) for task in _tasks_named(prog, unwinder, args.task)]
    elif args.active:
        traces = stack.active_traces(prog, unwinder)
        if not traces:
            raise PycoreError("the dump saved no CPU's registers: no active task to show")
    elif context is not None:
        traces = [stack.stack_trace(prog, context, unwinder)]
    else:
        traces = stack.panic_trace(prog, unwinder)
        if not traces:
            raise PycoreError("no panic task: the dump saved no CPU (try --all-tasks)")
    result = {"traces": [dict(t.to_dict(), lines=trace_lines(t, args.radix, args.full)) for t in traces]}
    return Collected(result, [], failed=not any(trace.useful for trace in traces))


def _tasks_named(prog, unwinder: stack.Unwinder, word: str) -> List[int]:
    """The tasks ``bt WORD`` shows, as crash reads WORD: a decimal PID (every idle task for 0),
    else a task_struct address in hex."""
    tasks = stack.all_tasks(prog, unwinder)
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


def trace_lines(trace: stack.StackTrace, radix: Optional[int] = None, full: bool = False) -> List[str]:
    """crash's lines for one trace, without its header: frames, exception frames, stack switches;
    ``radix`` 10 or 16 writes each frame's symbol with its offset (crash's ``bt -s``/``-x``),
    ``full`` the stack words before each frame, two a line (``bt -f``: x86_64_display_full_frame,
    each word followed by a space)."""
    lines: List[str] = []
    for item in trace.items:
        if isinstance(item, stack.StackFrame):
            if full:
                for at in range(0, len(item.data), 2):
                    words = "".join(f"{value:016x} " for _, value in item.data[at:at + 2])
                    lines.append(f"    {item.data[at][0]:x}: {words}")
            name = item.symbol
            if radix and item.offset:
                name += f"+{item.offset:#x}" if radix == 16 else f"+{item.offset}"
            line = f"{' ' if item.level < 10 else ''}#{item.level} [{item.sp:8x}] {name} at {item.pc:x}"
            lines.append(line + (f" [{item.module}]" if item.module else ""))
        elif isinstance(item, stack.ExceptionFrame):
            lines += _exception_lines(item)
        elif isinstance(item, stack.UnwindError):
            lines.append(f"bt: {item.message}")
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


COMMAND = DumpCommand("bt", add_arguments=add_arguments, collect=collect, render=render,
                      description="Without PID or option: the task that panicked, crash's current context in a dump.")
