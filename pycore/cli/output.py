"""Shared output for commands: text for people, ``--json`` for programs, errors on stderr, and progress
bars for long work (opening a big dump, indexing DWARF) drawn only on a terminal."""
import argparse
import re
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, TextIO

# json, shutil and textwrap are imported in the functions that use them: a command printing text to
# a pipe needs none of them (~5 ms of start-up; shutil brings bz2 and lzma).

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID



def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def emit(args: argparse.Namespace, data: Any, render_text: Callable[[Any], str]) -> int:
    """Print ``data`` as JSON when --json was given, else ``render_text(data)``."""
    if getattr(args, "json", False):
        import json

        json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
        sys.stdout.write("\n")
    else:
        text = render_text(data)
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0


def report_error(command: Optional[str], message: str, as_json: bool, stream: Optional[TextIO] = None) -> None:
    """The one line a failed command leaves on stderr: ``pycore CMD: message``, or with --json
    ``{"error": message, "command": CMD}`` so that a program reading the JSON output can read the failure too."""
    stream = stream or sys.stderr
    if as_json:
        import json

        stream.write(json.dumps({"error": message, "command": command}) + "\n")
    else:
        stream.write(f"pycore{' ' + command if command else ''}: {message}\n")
    stream.flush()


def terminal_width(stream: TextIO) -> Optional[int]:
    """The width to fit text output to: the terminal's when ``stream`` is one, None (plain lines) otherwise."""
    if not stream.isatty():
        return None
    import shutil

    return max(40, shutil.get_terminal_size().columns)


def fit_to_width(lines: List[str], width: Optional[int]) -> List[str]:
    """``lines`` wrapped to ``width`` columns, each continuation indented two past its line's own
    indent (and its ``| `` evidence mark); unchanged when ``width`` is None."""
    if width is None:
        return lines
    import textwrap

    fitted: List[str] = []
    for line in lines:
        if len(line) <= width:
            fitted.append(line)
            continue
        indent = re.match(r"\s*(?:\| )?", line).group(0)
        fitted += textwrap.wrap(line[len(indent):], width=width, initial_indent=indent,
                                subsequent_indent=indent + "  ", break_on_hyphens=False) or [""]
    return fitted


class TerminalProgress:
    """A :data:`pycore.progress.Progress` drawn as rich progress bars on stderr, one line per stage.

    The bars fit the terminal's width (a long stage name is cut with an ellipsis, never wrapped onto a
    second line) and are redrawn in place.  Drawing starts with the first stage and stops, leaving the
    screen as it was, when the last stage reaches its total, so a command's own output never lands
    between bars.  When stderr is not a terminal (a pipe, a log file, CI) nothing is written at all.
    As a context manager it also clears bars that an error or Ctrl-C left unfinished.
    """

    def __init__(self, console: "Optional[Console]" = None):
        self._tasks: Dict[str, "TaskID"] = {}
        self._progress: "Optional[Progress]" = None
        if console is None and not sys.stderr.isatty():
            return  # rich is imported for a terminal only: it costs 30 ms, a tenth of a command's run
        from rich import console as rich_console, progress as rich_progress
        from rich.table import Column

        console = console or rich_console.Console(stderr=True)
        if console.is_terminal:
            self._progress = rich_progress.Progress(
                rich_progress.TextColumn("{task.description}", markup=False, table_column=Column(
                    no_wrap=True, overflow="ellipsis", ratio=1, min_width=8)),
                rich_progress.BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=5)),
                rich_progress.MofNCompleteColumn(),
                rich_progress.TimeElapsedColumn(),
                console=console, transient=True, expand=True,
                # On a terminal a print during the work goes above the bars; piped output stays out.
                redirect_stdout=sys.stdout.isatty())

    @property
    def enabled(self) -> bool:
        """Whether anything is drawn: only on a terminal."""
        return self._progress is not None

    def __call__(self, stage: str, done: int, total: Optional[int]) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(stage)
        if task is None:
            if not self._tasks:
                self._progress.start()
            task = self._tasks[stage] = self._progress.add_task(stage, total=total)
        if total is not None and done >= total:
            self._progress.remove_task(task)
            del self._tasks[stage]
            if not self._tasks:
                self._progress.stop()
            return
        self._progress.update(task, completed=done, total=total)

    def __rich__(self) -> Any:
        """The unfinished stages' bars, for ``console.print``; empty when nothing is drawn."""
        return self._progress.get_renderable() if self._progress is not None else ""

    def __enter__(self) -> "TerminalProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None and self._tasks:
            for task in self._tasks.values():
                self._progress.remove_task(task)
            self._tasks.clear()
            self._progress.stop()
