"""Arguments every dump command shares: the dump, optional debuginfo, the C/Python choice."""
import argparse

from ..program import Program, open as open_program
from .output import add_json_flag


def add_dump_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dump", metavar="DUMP", help="the vmcore (ELF, kdump-compressed or flattened)")
    parser.add_argument("--vmlinux", help="the matching vmlinux with debug information")
    parser.add_argument("--system-map", help="the matching System.map")
    parser.add_argument("--pure", action="store_true", help="use the pure-Python path even if C is built")
    add_json_flag(parser)


def open_from_args(args: argparse.Namespace) -> Program:
    return open_program(args.dump, vmlinux=args.vmlinux, system_map=args.system_map,
                        native=False if args.pure else None)


def parse_address(text: str) -> int:
    """Addresses are hexadecimal, with or without 0x, as crash takes them."""
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a hexadecimal address: {text!r}") from None


def add_log_source_arguments(parser: argparse.ArgumentParser) -> None:
    """SOURCE for the log-reading commands: a vmcore (with optional debuginfo) or a text log."""
    parser.add_argument("source", metavar="SOURCE",
                        help="a vmcore, or a text log: dmesg, /var/log/messages, journalctl output or a "
                             "console capture ('-' for stdin)")
    parser.add_argument("--vmlinux", help="for a vmcore: the matching vmlinux with debug information")
    parser.add_argument("--system-map", help="for a vmcore: the matching System.map")
    parser.add_argument("--year", type=int,
                        help="year of syslog/journal lines that do not print one (default: this year)")
    add_json_flag(parser)
