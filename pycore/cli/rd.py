"""``pycore rd DUMP -p ADDRESS [COUNT]``: physical memory shown the way crash's ``rd -p`` shows it.

Like crash, a range running into memory the dump cannot give (excluded, missing, beyond RAM) is shown
up to that point, then the error is reported and the exit status is 1."""
import argparse
import struct
from typing import Any, Dict, Optional, Tuple

from ..errors import PycoreError
from ..program import Program
from .common import add_dump_arguments, open_from_args, parse_address
from .output import emit

_FORMATS = {8: "B", 16: "H", 32: "I", 64: "Q"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rd", help="read memory (crash's rd)")
    add_dump_arguments(parser)
    parser.add_argument("-p", dest="physical", action="store_true", required=True,
                        help="ADDRESS is physical (the only kind until address translation lands)")
    for bits in _FORMATS:
        parser.add_argument(f"-{bits}", dest="bits", action="store_const", const=bits,
                            help=f"show {bits}-bit values")
    parser.add_argument("--zero-excluded", action="store_true", help="read excluded pages as zeros")
    parser.add_argument("address", metavar="ADDRESS", type=parse_address, help="hexadecimal address")
    parser.add_argument("count", metavar="COUNT", type=_count, nargs="?", default=1, help="number of values")
    parser.set_defaults(handler=run, bits=64)


def _count(text: str) -> int:
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"COUNT must be at least 1, got {text}")
    return count


def read_until_fault(prog: Program, address: int, size: int, unit: int,
                     zero_excluded: bool = False) -> Tuple[bytes, Optional[PycoreError]]:
    """The bytes from ``address`` up to the first ``unit`` that cannot be read, and the error of that
    unit (None when all ``size`` bytes were read).  Pages are read whole; a page that fails is read
    again unit by unit, since what is readable may end inside it (an ELF segment need not end on a
    page boundary)."""
    try:
        return prog.read_physical(address, size, zero_excluded=zero_excluded), None
    except PycoreError:
        pass
    page_size = prog.dump.page_size
    parts, offset = [], 0
    while offset < size:
        take = min(size - offset, page_size - (address + offset) % page_size)
        try:
            parts.append(prog.read_physical(address + offset, take, zero_excluded=zero_excluded))
        except PycoreError:
            for start in range(offset, offset + take, unit):
                try:
                    parts.append(prog.read_physical(address + start, unit, zero_excluded=zero_excluded))
                except PycoreError as error:
                    return b"".join(parts), error
        offset += take
    return b"".join(parts), None


def run(args: argparse.Namespace) -> int:
    size = args.bits // 8
    with open_from_args(args) as prog:
        data, fault = read_until_fault(prog, args.address, args.count * size, size, args.zero_excluded)
    if data:
        values = list(struct.unpack(f"<{len(data) // size}{_FORMATS[args.bits]}", data))
        result = {"address": args.address, "bits": args.bits, "physical": True, "values": values, "hex": data.hex()}
        emit(args, result, render)
    if fault is not None:
        raise fault
    return 0


def render(result: Dict[str, Any]) -> str:
    """Lines of 16 bytes: address right-justified, values zero-padded, then the bytes as ASCII."""
    bits = result["bits"]
    width = bits // 4
    per_line = 16 // (bits // 8)
    data = bytes.fromhex(result["hex"])
    values = result["values"]
    lines = []
    for start in range(0, len(values), per_line):
        chunk = values[start:start + per_line]
        address = result["address"] + start * (bits // 8)
        words = " ".join(f"{value:0{width}x}" for value in chunk)
        raw = data[start * (bits // 8):(start + len(chunk)) * (bits // 8)]
        text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in raw)
        pad = " " * ((per_line - len(chunk)) * (width + 1))
        lines.append(f"{address:>16x}:  {words}{pad}   {text}")
    return "\n".join(lines)
