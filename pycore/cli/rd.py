"""``pycore rd DUMP ADDRESS [COUNT]``: memory shown the way crash 9's ``rd`` shows it: kernel virtual
(by address, symbol or ``(expression)``), user virtual (``-u``, or any address below the kernel half,
in the current task's address space), physical (``-p``) or the dump file itself (``-f``, an offset);
8- to 64-bit values in hexadecimal with their ASCII, signed (``-d``) or unsigned (``-D``) decimal,
symbols (``-s``) and slab objects (``-S``), or a string (``-a``); 16- and 32-bit values in network
byte order (``-N``), the memory up to the address (``-R``), from an offset (``-o``) or to an end
(``-e``), or copied raw to a file (``-r``).

Like crash, a range running into memory the dump cannot give (excluded, missing, not mapped) is shown
up to that point, then the error is reported and the exit status is 1.  Any kernel version."""
import argparse
import re
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import FaultError, PycoreError
from ..program import Program
from .command import Collected, DumpCommand
from .eval import address_argument
from .sym import not_found, not_found_lines

_FORMATS = {8: "B", 16: "H", 32: "I", 64: "Q"}
# crash's printf formats of a value in decimal, signed (-d) and unsigned (-D); 16- and 8-bit values
# are promoted to int, so even -d shows them unsigned.
_SIGNED = {64: ("q", 15), 32: ("i", 12), 16: ("H", 5), 8: ("B", 3)}
_UNSIGNED = {64: 20, 32: 12, 16: 5, 8: 3}
_ASCII_PER_LINE = 60
# The top half of the address space is the kernel's (crash's IS_KVADDR on x86_64).
_KERNEL_HALF = 1 << 63
Reader = Callable[[int, int], bytes]


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-p", dest="physical", action="store_true", help="ADDRESS is physical")
    where.add_argument("-u", dest="user", action="store_true",
                       help="ADDRESS is a user address of the current task (the panic task in a dump)")
    where.add_argument("-f", dest="file_offset", action="store_true", help="ADDRESS is an offset in the dump file")
    for bits in _FORMATS:
        parser.add_argument(f"-{bits}", dest="bits", action="store_const", const=bits, help=f"show {bits}-bit values")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("-a", dest="ascii", action="store_true", help="show the memory as a string")
    shown.add_argument("-d", dest="decimal", action="store_const", const="signed", help="signed decimal")
    shown.add_argument("-D", dest="decimal", action="store_const", const="unsigned", help="unsigned decimal")
    shown.add_argument("-s", dest="symbols", action="store_true",
                       help="show 64-bit values that are kernel addresses as symbol+offset")
    shown.add_argument("-S", dest="slab", action="count", default=0,
                       help="as -s, and a slab object as [cache] (-SS: [address:cache])")
    parser.add_argument("-x", dest="no_ascii", action="store_true", help="leave out the ASCII at the line ends")
    parser.add_argument("-N", dest="network", action="store_true",
                        help="16- and 32-bit values in network byte order")
    parser.add_argument("-R", dest="reverse", action="store_true",
                        help="the COUNT values that end at ADDRESS (ADDRESS's own last)")
    parser.add_argument("-o", dest="offset", metavar="OFFSET", type=stol, default=0,
                        help="add OFFSET to ADDRESS (decimal, or hexadecimal with 0x or a-f)")
    parser.add_argument("-e", dest="end", metavar="END", type=htoll,
                        help="show the memory up to the hexadecimal address END")
    parser.add_argument("-r", dest="raw_file", metavar="FILE",
                        help="copy the memory to FILE (COUNT or -e gives the bytes)")
    parser.add_argument("--zero-excluded", action="store_true", help="read excluded pages as zeros")
    parser.add_argument("address", metavar="ADDRESS", type=_address_word,
                        help="hexadecimal address, symbol, or (expression); physical with -p")
    parser.add_argument("count", metavar="COUNT", type=_count, nargs="?", default=None,
                        help="number of values (default 1; with -a up to the end of the string)")
    parser.set_defaults(bits=64)


def _address_word(text: str) -> str:
    """What crash's rd takes as an address (checked now, looked up once the dump is open)."""
    if not re.fullmatch(r"\(.*\)|(0[xX])?[0-9a-fA-F]+|[A-Za-z_.$][\w.$]*", text):
        raise argparse.ArgumentTypeError(f"not a hexadecimal address: {text!r}")
    return text


def stol(text: str) -> int:
    """crash's ``stol``: hexadecimal after 0x, decimal when all digits are, else hexadecimal."""
    try:
        if text[:2].lower() == "0x":
            return int(text[2:], 16)
        return int(text) if text.isdigit() else int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None


def htoll(text: str) -> int:
    """crash's ``htoll``: hexadecimal digits, 0x optional (no symbols: rd's ``-e`` takes an address,
    search's ``-m`` a mask)."""
    try:
        return int(text[2:] if text[:2].lower() == "0x" else text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid hexadecimal number: {text!r}") from None


def _count(text: str) -> int:
    count = stol(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"COUNT must be at least 1, got {text}")
    return count


def read_until_fault(read: Reader, address: int, size: int, unit: int,
                     page_size: int = 4096) -> Tuple[bytes, Optional[PycoreError]]:
    """The bytes from ``address`` up to the first ``unit`` that cannot be read, and the error of that
    unit (None when all ``size`` bytes were read).  Pages are read whole; a page that fails is read
    again unit by unit, since what is readable may end inside it (an ELF segment need not end on a
    page boundary)."""
    try:
        return read(address, size), None
    except PycoreError:
        pass
    parts, offset = [], 0
    while offset < size:
        take = min(size - offset, page_size - (address + offset) % page_size)
        try:
            parts.append(read(address + offset, take))
        except PycoreError:
            for start in range(offset, offset + take, unit):
                try:
                    parts.append(read(address + start, unit))
                except PycoreError as error:
                    return b"".join(parts), error
        offset += take
    return b"".join(parts), None


def _read_string(read: Reader, address: int, page_size: int) -> Tuple[bytes, Optional[PycoreError]]:
    """The printable bytes from ``address`` to the first that is not (crash's ``rd -a`` without a
    count), read a page at a time."""
    parts: List[bytes] = []
    while True:
        take = page_size - address % page_size
        data, error = read_until_fault(read, address, take, 1, page_size)
        for index, byte in enumerate(data):
            if not 0x20 <= byte < 0x7f:
                return b"".join(parts) + data[:index], None
        parts.append(data)
        if error is not None:
            return b"".join(parts), error
        address += take


def context_task(prog: Program, args: argparse.Namespace):
    """The task whose user memory ``-u`` reads (``rd``, ``dis``, ``search``): the prompt's context,
    else the panic task."""
    from ..kernel import sched
    from ..object import Object

    context = getattr(args, "context", None)
    if context is not None:
        return Object(prog, prog.type("struct task_struct"), address=context)
    task = sched.panic_task(prog)
    if task is None:
        raise FaultError("no current task: no CPU panicked and no context was set", None)
    return task


def _reader(prog: Program, args: argparse.Namespace, address: int) -> Tuple[str, Reader]:
    zero = args.zero_excluded
    if args.file_offset:
        return "file", lambda at, size: prog.dump.file.read(at, size, "rd -f")
    if args.physical:
        return "physical", lambda at, size: prog.read_physical(at, size, zero_excluded=zero)
    if args.user or address < _KERNEL_HALF:
        from ..kernel import mm

        task = context_task(prog, args)
        return "user", lambda at, size: mm.read_user(task, at, size)
    return "kernel", lambda at, size: prog.arch.read(at, size, zero_excluded=zero)


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    if args.physical or args.file_offset:
        address: Optional[int] = address_argument(None, args.address)
    else:
        address = address_argument(prog, args.address)
    if address is None:
        return Collected(not_found(prog, args.address), [])
    if args.slab:
        args.symbols = True
    if args.symbols and args.bits != 64:
        raise PycoreError("-s and -S are only allowed with 64-bit display")
    address += args.offset
    size = 1 if args.ascii or args.raw_file else args.bits // 8
    count, warnings = _count_of(args, address, size)
    if args.reverse and count is not None and count > 1:
        address -= (count - 1) * size
    memory, read = _reader(prog, args, address)
    if args.raw_file:
        return _copy_raw(read, address, count, args.raw_file, memory)
    if args.ascii and count is None:
        data, fault = _read_string(read, address, prog.dump.page_size)
    else:
        data, fault = read_until_fault(read, address, (count or 1) * size, size, prog.dump.page_size)
    if fault is not None and not data:
        raise fault
    if args.network and size in (2, 4):
        # crash's htons/htonl of each value: the value and its ASCII are the bytes reversed.
        data = b"".join(data[at:at + size][::-1] for at in range(0, len(data), size))
    values = list(struct.unpack(f"<{len(data) // size}{_FORMATS[8 * size]}", data))
    result: Dict[str, Any] = {"address": address, "bits": 8 * size, "memory": memory,
                              "physical": memory == "physical", "values": values, "hex": data.hex()}
    if args.network and size in (2, 4):
        result["network_order"] = True
    if args.symbols:
        result["symbols"] = [_symbolic(prog, value) or (_slab_object(prog, value, args.slab) if args.slab else None)
                             for value in values]
    return Collected(result, warnings, str(fault) if fault is not None else None)


def _count_of(args: argparse.Namespace, address: int, size: int) -> Tuple[Optional[int], List[str]]:
    """How many values (bytes with ``-a`` and ``-r``) to show, as crash's ``cmd_rd`` works it out:
    COUNT, else what ``-e`` spans, else one (``-a``: up to the end of the string, None)."""
    if args.count is not None:
        return args.count, ["ending address ignored when count is specified"] if args.end is not None else []
    if args.end is not None:
        if args.end <= address:
            raise PycoreError(f"invalid ending address: {args.end:x}")
        count = (args.end - address) // size
        if count < 1:
            raise PycoreError(f"invalid count request: {count}")
        return count, []
    if args.raw_file:
        raise PycoreError("-r option requires either a count argument or the -e option")
    return (None if args.ascii else 1), []


def _copy_raw(read: Reader, address: int, count: int, path: str, memory: str) -> Collected:
    """``rd -r FILE``: ``count`` bytes from ``address`` written to ``path`` (crash stops at the
    first byte it cannot read and writes nothing more)."""
    data = read(address, count)
    try:
        with open(path, "wb") as out:
            out.write(data)
    except OSError as error:
        raise PycoreError(f"cannot write to: {path} ({error.strerror})") from None
    return Collected({"address": address, "memory": memory, "copied": len(data), "file": path}, [])


def _symbolic(prog: Program, value: int) -> Optional[str]:
    """``name+offset`` (decimal) of a value crash's ``rd -s`` names: one from the first kernel
    symbol up to the last, or in a module."""
    from .sym import crash_name, crash_symbol

    hit = crash_symbol(prog, value)
    if hit is None:
        return None
    symbol, offset, _ = hit
    name = crash_name(symbol.name)
    return f"{name}+{offset}" if offset else name


def _slab_object(prog: Program, value: int, level: int) -> Optional[str]:
    """crash's ``rd -S`` name of a value in a slab: ``[cache]``, with ``-SS`` ``[value:cache]``."""
    from ..kernel import slab

    if value < _KERNEL_HALF:
        return None
    cache = slab.cache_of(prog, value)
    if cache is None:
        return None
    name = slab.cache_name(prog, cache)
    return f"[{value:x}:{name}]" if level > 1 else f"[{name}]"


def render(result: Dict[str, Any], args: argparse.Namespace) -> str:
    if "copied" in result:
        return f"{result['copied']} bytes copied from {result['address']:#x} to {result['file']}"
    if "not_found" in result:
        return "\n".join(not_found_lines(result))
    if getattr(args, "ascii", False):
        return render_string(result)
    decimal = getattr(args, "decimal", None)
    ascii_end = not (decimal or getattr(args, "symbols", False) or getattr(args, "no_ascii", False))
    return render_values(result, decimal, result.get("symbols"), ascii_end)


def render_values(result: Dict[str, Any], decimal: Optional[str] = None,
                  symbols: Optional[List[Optional[str]]] = None, ascii_end: bool = True) -> str:
    """crash's ``display_memory``: 16 bytes a line after the address right-justified to 16, each
    value zero-padded hexadecimal (or decimal, or a symbol left-justified to 16) and a space, then
    the bytes as ASCII when hexadecimal; a short last line is padded to the ASCII column."""
    bits = result["bits"]
    size = bits // 8
    width = bits // 4
    per_line = 16 // size
    data = bytes.fromhex(result["hex"])
    values = result["values"]
    lines = []
    for start in range(0, len(values), per_line):
        chunk = values[start:start + per_line]
        words = []
        for index, value in enumerate(chunk, start):
            name = symbols[index] if symbols else None
            if name is not None:
                words.append(f"{name:<16} ")
            elif decimal == "signed":
                code, pad = _SIGNED[bits]
                shown = struct.unpack(f"<{code}", struct.pack(f"<{_FORMATS[bits]}", value))[0]
                words.append(f"{shown:>{pad}} ")
            elif decimal == "unsigned":
                words.append(f"{value:>{_UNSIGNED[bits]}} ")
            else:
                words.append(f"{value:0{width}x} ")
        line = f"{result['address'] + start * size:>16x}:  " + "".join(words)
        if ascii_end:
            raw = data[start * size:(start + len(chunk)) * size]
            text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in raw)
            line += " " * ((per_line - len(chunk)) * (width + 1)) + "  " + text
        lines.append(line)
    return "\n".join(lines)


def render_string(result: Dict[str, Any]) -> str:
    """crash's ``rd -a``: printable characters 60 a line, each line after its address; a byte that
    is not printable ends the line (and the string, without a count)."""
    data = bytes.fromhex(result["hex"])
    lines: List[str] = []
    run = 0
    for offset, byte in enumerate(data):
        if not 0x20 <= byte < 0x7f:
            run = 0
            continue
        if run % _ASCII_PER_LINE == 0:
            lines.append(f"{result['address'] + offset:>16x}:  ")
        lines[-1] += chr(byte)
        run += 1
    return "\n".join(lines)


COMMAND = DumpCommand("rd", _add_arguments, collect, render,
                       description="Read memory as crash's rd shows it.  ADDRESS is kernel virtual unless -p or -u "
                                   "(or below the kernel half: then a user address of the current task).")
