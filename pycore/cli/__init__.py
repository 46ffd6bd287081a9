"""The ``pycore`` command: one module per sub-command under pycore/cli/.

Each command module defines ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function taking the parsed arguments and returning an exit
status) as a default.  ``COMMANDS`` lists the modules; a module's parser may be
named differently (``sysinfo`` registers ``sys``).
"""
import argparse
import importlib
import sys
from typing import List, Optional

from ..errors import PycoreError

COMMANDS = ["info", "rd", "trouble", "oom", "shell", "log", "kmem", "sysinfo", "ps", "runq", "bt", "mod", "triage"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pycore", description="Read Linux kernel crash dumps.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # output piped into head, less, ...
        return 0
    except (PycoreError, OSError) as error:
        print(f"pycore {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
