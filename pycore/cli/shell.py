"""``pycore shell DUMP [SCRIPT [ARGS...]]``: a Python prompt with the dump loaded as ``prog`` and the
helpers imported, or a script file run with them (as ``drgn -c vmcore script.py`` runs one;
``pycore run``, pycore/cli/run.py, is the same without the prompt).

At a terminal the prompt is IPython when it is installed, else Python's own with readline: tab
completion of names and attributes, and a history kept in ``$PYCORE_CACHE/shell_history``.  The shell
prints no data of its own, so it takes no ``--json``.
"""
import argparse
import code
import importlib
import os
import pkgutil
import sys
import traceback
from typing import Any, Dict, List

from .. import kernel, object as objects
from ..cache import cache_root
from .common import add_dump_arguments, open_from_args

HISTORY_LENGTH = 5000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("shell", help="interactive Python with the dump loaded as prog")
    add_dump_arguments(parser, json_output=False)
    parser.add_argument("-c", dest="code", metavar="CODE", help="run CODE instead of starting a prompt")
    parser.add_argument("script", metavar="SCRIPT", nargs="?",
                        help="run this Python file instead of starting a prompt, with sys.argv [SCRIPT, ARGS...]")
    parser.add_argument("script_args", metavar="ARGS", nargs="*",
                        help="the script's arguments (after --, those that start with -)")
    parser.add_argument("--no-ipython", dest="ipython", action="store_false",
                        help="use Python's own prompt even when IPython is installed")
    parser.set_defaults(handler=run)


def namespace(prog: Any) -> Dict[str, Any]:
    """What a drgn session has, pycore's way: ``prog``, the ``pycore`` package and its public names
    (``Object``, ``cast``, ``sizeof``, ``FaultError``, ... as ``from drgn import *`` gives drgn's),
    every public name of the kernel helper modules (and the modules, ``sched``, ``mm``, ...), and over
    those the drgn-named helpers of :mod:`pycore.helpers.linux` (``from drgn.helpers.linux import *``),
    so that a drgn script's ``for_each_task(prog)`` is drgn's.  ``pycore.open`` is left out: it would
    hide Python's own ``open``."""
    import pycore
    from ..helpers import linux as drgn_helpers

    names: Dict[str, Any] = {"prog": prog, "pycore": pycore}
    names.update({name: getattr(objects, name) for name in objects.__all__})
    for module_info in pkgutil.iter_modules(kernel.__path__):
        module = importlib.import_module(f"{kernel.__name__}.{module_info.name}")
        public = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
        for name in public:
            value = getattr(module, name)
            if callable(value) and getattr(value, "__module__", None) == module.__name__:
                names[name] = value
        names[module_info.name] = module
    names.update({name: getattr(pycore, name) for name in pycore.__all__ if name not in ("open", "__version__")})
    names.update({name: getattr(drgn_helpers, name) for name in drgn_helpers.__all__})
    return names


def history_path() -> str:
    """Where the plain prompt keeps its readline history (IPython keeps its own)."""
    return os.path.join(cache_root(), "shell_history")


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        names = namespace(prog)
        if args.code is not None:
            exec(compile(args.code, "<pycore shell -c>", "exec"), names)
            return 0
        if args.script is not None:
            return run_script(args.script, args.script_args, names)
        info = prog.info()
        banner = (f"pycore shell: {info['kernel_release']} {info['format']} dump, {info['cpus']} CPUs.\n"
                  "prog is the dump: prog['init_task'].comm.string_(), prog.type('struct task_struct'),\n"
                  "for_each_task(prog): drgn's helpers (pycore.helpers.linux) and pycore.kernel's are imported.")
        if args.ipython and sys.stdin.isatty() and _ipython(names, banner):
            return 0
        _python_prompt(names, banner)
    return 0


def run_script(path: str, argv: List[str], names: Dict[str, Any]) -> int:
    """Run the Python file ``path`` as ``__main__`` in ``names`` with ``sys.argv`` ``[path, *argv]``,
    as ``python path`` would: its status is what it passes to ``sys.exit`` (0 when it ends); an
    exception it raises (a pycore error too) or a syntax error prints its traceback from the
    script's own frame on and is status 1.  A file that cannot be read is the caller's OSError (one line, no traceback)."""
    with open(path, "rb") as f:
        source = f.read()
    saved_argv = sys.argv
    sys.argv = [path, *argv]
    try:
        exec(compile(source, path, "exec"), dict(names, __name__="__main__", __file__=path))
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)  # sys.exit("message"), as Python itself reports it
        return 1
    except BrokenPipeError:  # output piped into head: pycore's main ends quietly, as for any command
        raise
    except Exception as error:
        # Python's report without this frame: the traceback starts in the script, as `python path`'s does.
        sys.stdout.flush()
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        return 1
    finally:
        sys.argv = saved_argv
    return 0


def _ipython(names: Dict[str, Any], banner: str) -> bool:
    """Run IPython on ``names``; False when it is not installed."""
    try:
        from IPython import start_ipython  # type: ignore[import-not-found]
    except ImportError:
        return False
    print(banner, file=sys.stderr)
    start_ipython(argv=["--no-banner"], user_ns=names)
    return True


def _python_prompt(names: Dict[str, Any], banner: str) -> None:
    """Python's own prompt; at a terminal with readline completion and a history kept between sessions."""
    readline = None
    if sys.stdin.isatty():
        try:
            import readline
            import rlcompleter
        except ImportError:  # a Python built without readline
            readline = None
    if readline is None:
        code.interact(banner=banner, local=names, exitmsg="")
        return
    readline.set_completer(rlcompleter.Completer(names).complete)
    # macOS's Python links libedit, which spells the binding its own way.
    readline.parse_and_bind("bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") else "tab: complete")
    path = history_path()
    try:
        readline.read_history_file(path)
    except OSError:  # the first session: no history yet
        pass
    readline.set_history_length(HISTORY_LENGTH)
    try:
        code.interact(banner=banner, local=names, exitmsg="")
    finally:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        readline.write_history_file(path)
