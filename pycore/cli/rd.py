"""``pycore rd DUMP -p ADDRESS [COUNT]``: physical memory shown the way crash's ``rd -p`` shows it."""
import argparse
import struct
from typing import Any, Dict

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
    parser.add_argument("count", metavar="COUNT", type=int, nargs="?", default=1, help="number of values")
    parser.set_defaults(handler=run, bits=64)


def run(args: argparse.Namespace) -> int:
    size = args.bits // 8
    if args.count < 1:
        raise SystemExit("pycore rd: COUNT must be at least 1")
    with open_from_args(args) as prog:
        data = prog.read_physical(args.address, args.count * size, zero_excluded=args.zero_excluded)
    values = list(struct.unpack(f"<{args.count}{_FORMATS[args.bits]}", data))
    result = {"address": args.address, "bits": args.bits, "physical": True, "values": values, "hex": data.hex()}
    return emit(args, result, render)


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
