"""``pycore search DUMP [options] VALUE...``: memory searched for values or strings as crash 9's
``search`` does: kernel virtual memory (``-k``, the default; ``-K`` without vmalloc and vmemmap,
``-V`` without the direct map and kernel image), the current task's user memory (``-u``), physical
memory (``-p``) or every task's kernel stack (``-t``, ``-T`` the active tasks'); from ``-s`` to
``-e`` or for ``-l`` bytes; longs, ``-w`` ints, ``-h`` shorts (with ``-m`` a mask of bits to ignore
and ``-x`` the memory around each hit) or ``-c`` strings.

Pages that are not mapped or not in the dump are skipped, as crash skips them, silently; ``--json``
says how many.  Any x86_64 kernel."""
import argparse
import re
import struct
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..errors import PycoreError
from ..kernel import mm, search
from ..kernel.sched import cpu_curr, crash_task_list, online_cpus, task_comm, task_cpu
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import task_header
from .eval import evaluate
from .rd import context_task, htoll, stol

_SIZES = {"ulong": 8, "uint": 4, "ushort": 2}
_FORMATS = {8: "Q", 4: "I", 2: "H"}
_KERNEL_HALF = 1 << 63
_ALL_KERNEL = (search.UNITY_MAP, search.VMALLOC, search.VMEMMAP, search.START_MAP)
# crash's expressions (can_eval): a parenthesized word, or one with an operator between operands.
_EXPRESSION = re.compile(r"\(.*\)|[^-+*/%&|^<>~]+[-+*/%&|^<>].+")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", dest="start", metavar="START", help="where to start: hexadecimal address or symbol")
    parser.add_argument("-e", dest="end", metavar="END", help="where to stop: hexadecimal address or symbol")
    parser.add_argument("-l", dest="length", metavar="LENGTH", type=stol, help="how many bytes to search")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-k", dest="memory", action="store_const", const="kernel", help="kernel virtual memory")
    where.add_argument("-K", dest="memory", action="store_const", const="kernel-no-vmalloc",
                       help="kernel virtual memory without vmalloc, modules and vmemmap")
    where.add_argument("-V", dest="memory", action="store_const", const="kernel-vmalloc",
                       help="kernel virtual memory without the direct map and the kernel image")
    where.add_argument("-u", dest="memory", action="store_const", const="user",
                       help="the current task's user memory")
    where.add_argument("-p", dest="memory", action="store_const", const="physical", help="physical memory")
    where.add_argument("-t", dest="memory", action="store_const", const="stacks", help="every task's kernel stack")
    where.add_argument("-T", dest="memory", action="store_const", const="active-stacks",
                       help="the kernel stacks of the tasks running on a CPU")
    parser.add_argument("-m", dest="mask", metavar="MASK", type=htoll, default=0,
                        help="hexadecimal bits of each value to ignore")
    # crash's -h (16-bit values) takes argparse's -h; --help still asks for help.
    mode = parser.add_argument_group("value size", conflict_handler="resolve").add_mutually_exclusive_group()
    mode.add_argument("-w", dest="mode", action="store_const", const="uint", help="search 32-bit values")
    mode.add_argument("-h", dest="mode", action="store_const", const="ushort", help="search 16-bit values")
    mode.add_argument("-c", dest="mode", action="store_const", const="chars", help="search strings")
    parser.add_argument("-x", dest="around", metavar="COUNT", type=int, default=0,
                        help="show COUNT values before and after each one found")
    parser.add_argument("values", metavar="VALUE", nargs="+",
                        help="hexadecimal value, symbol or (expression); a string with -c")
    parser.set_defaults(mode="ulong", memory=None)


def _address(prog: Program, text: str) -> int:
    """-s and -e: a symbol, else a hexadecimal address (crash: "invalid input" otherwise)."""
    symbol = prog.symbols.by_name(text) if text in prog.symbols else None
    if symbol is not None:
        return symbol.address
    if re.fullmatch(r"(0[xX])?[0-9a-fA-F]+", text):
        return int(text[2:] if text[:2].lower() == "0x" else text, 16)
    raise PycoreError(f'invalid input: "{text}"')


def _values(prog: Program, args: argparse.Namespace) -> Tuple[List[int], List[str]]:
    """The values searched for and the label crash shows after each hit: ``(symbol)`` or the
    ``(expression)`` as typed; none for a number or when a mask is given."""
    size = _SIZES[args.mode]
    values, labels = [], []
    for word in args.values:
        label = ""
        if _EXPRESSION.fullmatch(word):
            value = evaluate(prog, word if word.startswith("(") else f"({word})")
            label = word if word.startswith("(") else f"({word})"
        elif word in prog.symbols:
            value = prog.symbols.by_name(word).address
            label = f"({word})"
        else:
            value = _hexadecimal_value(word)
        if size < 8 and value >> (8 * size):
            option = "-w" if size == 4 else "-h"
            shown = "" if args.mask else label
            raise PycoreError(f"value too large for {option} option: {value:x} {shown}".rstrip())
        values.append(value)
        labels.append("" if args.mask else label)
    return values, labels


def _hexadecimal_value(word: str) -> int:
    try:
        return int(word[2:] if word[:2].lower() == "0x" else word, 16)
    except ValueError:
        raise PycoreError(f"invalid input: \"{word}\"") from None


def _check(args: argparse.Namespace) -> None:
    """crash's refusals of option combinations, word for word."""
    if args.memory in ("stacks", "active-stacks") and (args.start or args.end or args.length):
        letter = "t" if args.memory == "stacks" else "T"
        raise PycoreError(f"-{letter} option cannot be used with other memory-selection options")
    if args.end is not None and args.length is not None:
        raise PycoreError("-e and -l cannot be used together")
    if args.around and args.mode == "chars":
        raise PycoreError("-x option is not allowed with -c")
    if args.around:
        most = 4096 // _SIZES[args.mode]
        if args.around > most:
            raise PycoreError(f"context value {args.around} is too large: maximum is {most}")


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    _check(args)
    memory = args.memory or "kernel"
    scan = search.MemoryScan(prog)
    warnings: List[str] = []
    if args.mode == "chars":
        if args.mask:
            warnings.append("mask ignored on string search")
        targets = [word.encode("latin-1", "replace") for word in args.values if word]
        values, labels = [], []
    else:
        targets = []
        values, labels = _values(prog, args)
    groups: List[Dict[str, Any]] = []
    reader = _reader(prog, args, memory)
    if memory in ("stacks", "active-stacks"):
        tasks = crash_task_list(prog)
        if memory == "active-stacks":
            active = {int(cpu_curr(prog, cpu)) for cpu in online_cpus(prog)}
            tasks = [task for task in tasks if int(task) in active]
        for task in tasks:
            hits = _hits(args, scan.stack(task), values, labels, targets, reader)
            if hits:
                groups.append({"task": {"pid": int(task.pid), "task": int(task), "cpu": task_cpu(task),
                                        "comm": task_comm(task)}, "hits": hits})
    else:
        chunks = _chunks(prog, args, memory, scan)
        hits = _hits(args, chunks, values, labels, targets, reader)
        groups.append({"task": None, "hits": hits})
    data = {"memory": memory, "mode": args.mode, "context": args.around, "groups": groups,
            "pages_read": scan.stats.read, "pages_skipped": scan.stats.skipped}
    return Collected(data, warnings)


def _chunks(prog: Program, args: argparse.Namespace, memory: str, scan: search.MemoryScan) -> Iterator[search.Chunk]:
    """The pages to search, from -s/-e/-l and the kind of memory."""
    start = _address(prog, args.start) if args.start else None
    end = _address(prog, args.end) if args.end else None
    if end == 0:
        raise PycoreError("invalid ending address: 0")
    if memory == "user":
        task = context_task(prog, args)
        first = search.user_start(task)
        if first is None:
            raise PycoreError("current context has no user address space")
        start = first if start is None else start
        if start >= search.USER_END:
            raise PycoreError(f"invalid user virtual address: {start:x}")
        end = _bounded_end(start, end, args.length, search.USER_END)
        if end > search.USER_END:
            raise PycoreError(f"ending address {end:x} is in kernel space: {end:x}")
        return scan.user(task, start, end)
    if memory == "physical":
        start = 0 if start is None else start
        end = _bounded_end(start, end, args.length, scan.physical_end())
        return scan.physical(start, end)
    ranges = scan.kernel_ranges()
    start = ranges[0].start if start is None else start
    if start < _KERNEL_HALF:
        raise PycoreError(f"invalid kernel virtual address: {start:x}")
    end = _bounded_end(start, end, args.length, max(r.end for r in ranges))
    kinds = {"kernel": _ALL_KERNEL, "kernel-no-vmalloc": (search.UNITY_MAP, search.START_MAP),
             "kernel-vmalloc": (search.VMALLOC, search.VMEMMAP)}[memory]
    return scan.kernel(start, end, kinds)


def _bounded_end(start: int, end: Optional[int], length: Optional[int], default: int) -> int:
    if length is not None:
        end = start + length
    end = default if end is None else end
    if end < start:
        raise PycoreError(f"ending address {end:x} is below starting address {start:x}")
    return end


Reader = Callable[[int, int], bytes]


def _reader(prog: Program, args: argparse.Namespace, memory: str) -> Reader:
    """How -x reads the memory around a hit: through the same kind of address as the search."""
    if memory == "physical":
        return prog.read_physical
    if memory == "user":
        task = context_task(prog, args)
        return lambda address, size: mm.read_user(task, address, size)
    return prog.read


def _hits(args: argparse.Namespace, chunks: Iterator[search.Chunk], values: List[int], labels: List[str],
          targets: List[bytes], read: Reader) -> List[Dict[str, Any]]:
    if args.mode == "chars":
        return [{"address": hit.address, "text": hit.text.decode("latin-1")}
                for hit in search.find_strings(chunks, targets)]
    size = _SIZES[args.mode]
    hits = []
    for hit in search.find_values(chunks, values, size, args.mask):
        row: Dict[str, Any] = {"address": hit.address, "value": hit.value, "label": labels[hit.index]}
        if args.around:
            row["before"] = _around(read, hit.address - args.around * size, args.around, size)
            row["after"] = _around(read, hit.address + size, args.around, size)
        hits.append(row)
    return hits


def _around(read: Reader, address: int, count: int, size: int) -> List[List[int]]:
    """``count`` values from ``address`` as crash's -x shows them: ``[address, value]`` of each
    that can be read (one that cannot is left out, as crash's display_memory does quietly)."""
    found = []
    for index in range(count):
        at = address + index * size
        try:
            found.append([at, struct.unpack(f"<{_FORMATS[size]}", read(at, size))[0]])
        except PycoreError:
            continue
    return found


def _context_lines(values: List[List[int]], size: int) -> List[str]:
    """crash's display_memory of -x's values: ``per line`` values after the first one's address,
    then their ASCII, padded to its column."""
    per_line, width = 16 // size, 2 * size
    lines = []
    for first in range(0, len(values), per_line):
        chunk = values[first:first + per_line]
        words = "".join(f"{value:0{width}x} " for _, value in chunk)
        raw = b"".join(value.to_bytes(size, "little") for _, value in chunk)
        text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in raw)
        padding = " " * ((per_line - len(chunk)) * (width + 1))
        lines.append(f"{chunk[0][0]:>16x}:  {words}{padding}  {text}")
    return lines


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    size = _SIZES.get(data["mode"], 8)
    out: List[str] = []
    for number, group in enumerate(data["groups"]):
        task = group["task"]
        if task is not None:
            if number:
                out.append("")
            out.append(task_header(task["pid"], task["task"], task["cpu"], task["comm"]))
        for hit in group["hits"]:
            if "text" in hit:
                shown = "".join(c if 0x20 <= ord(c) < 0x7f else "." for c in hit["text"])
                out.append(f"{hit['address']:x}: {shown}")
            elif "before" in hit:
                out += _context_lines(hit["before"], size)
                out.append(f"{hit['address']:>16x}:  {hit['value']:x} {hit['label']}")
                out += _context_lines(hit["after"], size)
                out.append("")
            else:
                out.append(f"{hit['address']:x}: {hit['value']:x} {hit['label']}")
    return "\n".join(out) + "\n" if out else ""


COMMAND = DumpCommand("search", _add_arguments, collect, render,
                      description="Search memory for values or strings as crash's search does.")
