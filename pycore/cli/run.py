"""``pycore run DUMP SCRIPT [ARGS...]``: run a Python script with the dump loaded as ``prog`` and
drgn's usual names imported, as ``drgn -c vmcore script.py`` does.  It is ``pycore shell DUMP
SCRIPT`` (pycore/cli/shell.py runs both), with every word after SCRIPT the script's own.
"""
import argparse

from . import shell
from .common import add_dump_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run a Python script with the dump loaded as prog",
                                   description="Run SCRIPT as __main__ with the dump as prog and the helpers "
                                               "imported; the script's exit status is the command's, an "
                                               "exception it raises prints its traceback and is status 1.")
    add_dump_arguments(parser, json_output=False)
    parser.add_argument("script", metavar="SCRIPT", help="the Python file to run, with sys.argv [SCRIPT, ARGS...]")
    script_args = parser.add_argument("script_args", metavar="ARGS", nargs=argparse.REMAINDER,
                                      help="the script's arguments, options included (pycore's own go before "
                                           "DUMP or SCRIPT)")
    # argparse counts a REMAINDER positional as required, and would name ARGS when SCRIPT is missing.
    script_args.required = False
    parser.set_defaults(handler=shell.run, code=None, ipython=False)
