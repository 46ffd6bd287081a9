"""``pycore shell DUMP``: a Python prompt with the dump loaded as ``prog`` and the helpers imported."""
import argparse
import code
import importlib
import pkgutil
import sys
from typing import Any, Dict

from .. import kernel, object as objects
from .common import add_dump_arguments, open_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("shell", help="interactive Python with the dump loaded as prog")
    add_dump_arguments(parser)
    parser.add_argument("-c", dest="code", metavar="CODE", help="run CODE instead of starting a prompt")
    parser.set_defaults(handler=run)


def namespace(prog: Any) -> Dict[str, Any]:
    """``prog``, the Object API, and every public name of the kernel helper modules."""
    names: Dict[str, Any] = {"prog": prog}
    names.update({name: getattr(objects, name) for name in objects.__all__})
    for module_info in pkgutil.iter_modules(kernel.__path__):
        module = importlib.import_module(f"{kernel.__name__}.{module_info.name}")
        public = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
        for name in public:
            value = getattr(module, name)
            if callable(value) and getattr(value, "__module__", None) == module.__name__:
                names[name] = value
        names[module_info.name] = module
    return names


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        names = namespace(prog)
        if args.code is not None:
            exec(compile(args.code, "<pycore shell -c>", "exec"), names)
            return 0
        info = prog.info()
        banner = (f"pycore shell: {info['kernel_release']} {info['format']} dump, {info['cpus']} CPUs.\n"
                  "prog is the dump: prog['init_task'].comm.string_(), prog.type('struct task_struct'),\n"
                  "list_for_each_entry(...), and the helpers of pycore.kernel are imported.")
        code.interact(banner=banner, local=names, exitmsg="")
    return 0
