"""``pycore mod DUMP``: the loaded modules as crash 9's ``mod`` lists them."""
import argparse
from typing import Any, Dict

from ..kernel import module
from .common import add_dump_arguments, open_from_args
from .output import emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("mod", help="loaded kernel modules (crash's mod)")
    add_dump_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        modules = module.for_each_module(prog)
        lines = module.crash_mod_lines(prog, modules)
    return emit(args, {"modules": [module.module_to_dict(m) for m in modules], "lines": lines}, render)


def render(result: Dict[str, Any]) -> str:
    return "\n".join(result["lines"])
