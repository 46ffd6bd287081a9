"""``pycore log DUMP``: the kernel log as crash's ``log`` command prints it, from VMCOREINFO alone."""
import argparse
import sys
from typing import Any, Dict

from ..kernel.printk import boot_time, caller_width, format_log, get_printk_records
from .common import add_dump_arguments, open_from_args
from .output import emit


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "log", help="the kernel log buffer, as crash's log command prints it",
        description="Print the kernel log (printk ringbuffer, printk_log records or the pre-3.5 character "
                    "buffer) from the dump's VMCOREINFO alone, with crash 9's log options.")
    add_dump_arguments(parser)
    parser.add_argument("-T", dest="human_time", action="store_true",
                        help="human-readable timestamps (boot time = crash time - uptime)")
    parser.add_argument("-t", dest="no_time", action="store_true", help="no timestamps")
    parser.add_argument("-d", dest="dictionary", action="store_true",
                        help="show the SUBSYSTEM=/DEVICE= properties dev_printk() attached")
    parser.add_argument("-m", dest="level", action="store_true", help="show each message's level as <N>")
    parser.add_argument("-c", dest="caller", action="store_true",
                        help="show the caller id: [T<pid>] or [C<cpu>] (Linux 5.1+ with CONFIG_PRINTK_CALLER)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        records = get_printk_records(prog)
        if args.json:
            data: Dict[str, Any] = {"format": records.format, "lost": records.lost, "skipped": records.skipped,
                                    "records": [record.to_dict() for record in records]}
            return emit(args, data, str)
        text = format_log(records, timestamps=not args.no_time,
                          boot=boot_time(prog, records) if args.human_time and not args.no_time else None,
                          show_level=args.level, show_caller=args.caller, show_dictionary=args.dictionary,
                          caller_width=caller_width(prog) if args.caller else 8)
    sys.stdout.write(text)
    if records.lost:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(records.skipped.items()))
        print(f"pycore log: {records.lost} record(s) skipped ({reasons})", file=sys.stderr)
    return 0
