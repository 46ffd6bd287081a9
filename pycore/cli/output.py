"""Shared output for commands: text for people, ``--json`` for programs."""
import argparse
import json
import sys
from typing import Any, Callable


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def emit(args: argparse.Namespace, data: Any, render_text: Callable[[Any], str]) -> int:
    """Print ``data`` as JSON when --json was given, else ``render_text(data)``."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
        sys.stdout.write("\n")
    else:
        text = render_text(data)
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0
