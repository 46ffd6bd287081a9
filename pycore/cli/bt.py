"""``pycore bt DUMP [PID|-a|--all-tasks]``: kernel stack traces as crash 9's ``bt``,
``bt -a`` and ``foreach bt`` print them."""
import argparse
from typing import Any, Dict, List

from ..errors import PycoreError
from ..kernel import stack
from .common import add_dump_arguments, open_from_args
from .output import emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bt", help="kernel stack traces (crash's bt, bt -a, foreach bt)")
    add_dump_arguments(parser)
    parser.add_argument("pid", metavar="PID", type=int, nargs="?", help="the task with this PID")
    parser.add_argument("-a", dest="active", action="store_true", help="the active task of every CPU")
    parser.add_argument("--all-tasks", action="store_true", help="every task (crash's foreach bt)")
    parser.add_argument("--orc-from-vmlinux", action="store_true",
                        help="read the ORC tables from --vmlinux instead of the dump")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        unwinder = stack.Unwinder(prog, vmlinux_orc=args.orc_from_vmlinux)
        if args.all_tasks:
            traces = stack.all_traces(prog, unwinder)
        elif args.pid is not None:
            traces = [t for t in stack.all_traces(prog, unwinder) if t.pid == args.pid]
            if not traces:
                raise PycoreError(f"no task with PID {args.pid}")
        elif args.active or True:
            traces = stack.active_traces(prog, unwinder)
    return emit(args, {"traces": [dict(t.to_dict(), lines=t.lines) for t in traces]}, render)


def render(result: Dict[str, Any]) -> str:
    blocks: List[str] = []
    for trace in result["traces"]:
        header = stack.task_header(trace["pid"], trace["task"], trace["cpu"], trace["comm"])
        blocks.append("\n".join([header] + trace["lines"]))
    return "\n\n".join(blocks)
