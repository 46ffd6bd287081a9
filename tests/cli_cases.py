"""What the command tests share beside tests/corpus.py: the modes a corpus case runs in, crash's command
words as pycore's command line, the commands the corpus records crash's answer to, and the committed
sample dump cut in half (a dump whose kernel data is lost)."""
import os
import sys
from pathlib import Path
from typing import Any, List, Sequence, Tuple

from corpus import SAMPLE

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "corpus"))
import reference  # noqa: E402  (testdata/corpus is no package)

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")


def modes(case) -> List[Tuple[str, Tuple[str, ...]]]:
    """("dump only", no options), and ("vmlinux", ``--vmlinux`` and its path) where the case has one."""
    found: List[Tuple[str, Tuple[str, ...]]] = [("dump only", ())]
    if os.path.exists(case.vmlinux):
        found.append(("vmlinux", ("--vmlinux", case.vmlinux)))
    return found


def argv(case, command: str, options: Sequence[str] = ()) -> Tuple[str, ...]:
    """pycore's command line for crash's ``command`` on the case's reference dump: pycore's own
    ``options`` go before the dump, as foreach needs (it takes every word after the dump as its own)
    and every other command accepts."""
    words = command.split()
    return (words[0], *options, case.path(case.reference_dump), *words[1:])


MODES = ("dump only", "vmlinux")


def mode_argv(case, command: str, mode: str) -> Tuple[str, ...]:
    """:func:`argv` in one of ``MODES``: with the case's vmlinux for "vmlinux"."""
    return argv(case, command, ("--vmlinux", case.vmlinux) if mode == "vmlinux" else ())


def recordings_in_modes(prefix: str) -> List[Tuple[Any, str, str]]:
    """(case, command, mode) for each recording of crash whose command starts with ``prefix``, in each
    of ``MODES``."""
    from corpus import cases

    return [(case, ref["command"], mode) for case in cases() for ref in case.references(prefix) for mode in MODES]


def recorded_commands(words: Sequence[str]) -> List[str]:
    """The commands of testdata/corpus/reference.py FULL_COMMANDS whose command word is one of ``words``,
    in its order: what the corpus records crash's answer to."""
    return [command for command in reference.FULL_COMMANDS if command.split()[0] in words]


def cut_sample(directory: Path) -> str:
    """The committed sample written to ``directory`` cut in half: headers, bitmaps and early pages are
    there, kernel data is not.  Its path."""
    path = directory / "half.vmcore"
    with open(SAMPLE_DUMP, "rb") as f:
        path.write_bytes(f.read(os.path.getsize(SAMPLE_DUMP) // 2))
    return str(path)
