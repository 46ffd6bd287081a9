"""Whole-process ``pycore ps/log/sys/bt -a/kmem -i DUMP`` against drgn 0.3.0 doing the same on the same
dump, in the same rounds (issue 18): what a person at a shell pays, start-up and opening included.

drgn runs its own port of crash's command (``drgn -c DUMP -s VMLINUX -e "run_command(prog, 'crash ps')"``):
it needs the vmlinux and keeps no cache.  pycore runs on one case of each corpus kernel (and the large
guest when it is built) in four modes: without the vmlinux (symbols and types from the dump) with a
cold and a warm debug-info cache, and with ``--vmlinux`` cold (no DWARF index, no decoded symbols)
and warm.  Each round runs drgn and the four modes one after the other, so a busy machine slows all
of them alike; the summary gives medians of wall time and of CPU time (user + system of the child:
drgn indexes DWARF on several threads, so its CPU time exceeds its wall time on an idle machine).
Every run is checked before its time counts: it exits 0 and pycore's first line is crash 9's (for
``sys``, its RELEASE line), drgn's output shares with crash's recording what it must.
Run: python -m pytest bench/bench_startup.py --benchmark-only -q   (PYCORE_BENCH_ROUNDS=N, default 3)
"""
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

import pytest

from conftest import SUMMARIES
from corpus import CACHE as CORPUS_CACHE, Case

# One case of each kernel, then the 4 GiB guest with thousands of tasks (issue 18's "how cost grows").
CASES = ("5.10-sysrq-l4", "6.1-sysrq-l4", "6.12-oom-l5", "7.2-sysrq-l4", "6.12-large-l4")
COMMANDS = ("ps", "log", "sys", "bt -a", "kmem -i")
MODES = ("cold", "warm", "vmlinux cold", "vmlinux warm")
DRGN = os.path.join(os.path.dirname(sys.executable), "drgn")
ROUNDS = int(os.environ.get("PYCORE_BENCH_ROUNDS", "3"))
# (case, command, "drgn" or a mode) -> [(wall seconds, CPU seconds)], one per round.
SAMPLES: Dict[Tuple[str, str, str], List[Tuple[float, float]]] = {}


def _case(name: str) -> Case:
    directory = os.path.join(CORPUS_CACHE, "corpus", name)
    if not os.path.exists(os.path.join(directory, "manifest.json")):
        pytest.skip(f"the corpus case {name} is not built (testdata/corpus/build.sh --case {name})")
    case = Case(directory)
    if not os.path.exists(case.vmlinux):
        pytest.skip(f"the vmlinux of {name} is not downloaded")
    return case


def _timed(argv: List[str], env: Optional[Dict[str, str]] = None) -> Tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds of one child process, and what it printed; it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), result


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _check_pycore(case: Case, name: str, out: str) -> None:
    """pycore printed what crash 9 recorded first (for ``sys``, the RELEASE line: its KERNEL line names
    the vmlinux or the dump's own debug info)."""
    recorded = case.reference(name)
    assert out.strip(), f"pycore {name} printed nothing"
    if recorded is None or case.crash_wrong(name):
        return  # the case did not record the command, or crash is wrong there: it ran and printed
    if name == "sys":
        release = re.search(r"^ +RELEASE: .*$", recorded, re.M).group(0)
        assert release in out.splitlines(), f"pycore sys has no {release!r}"
    else:
        assert _first_line(out) == _first_line(recorded)


def _task_addresses(listing: str) -> list:
    return sorted(re.findall(r"\b([0-9a-f]{16})\b", listing))


def _check_drgn(case: Case, name: str, out: str) -> None:
    """drgn's port prints its own layout; what it shares with crash's recording must be crash's."""
    recorded = case.reference(name)
    assert out.strip(), f"drgn {name} printed nothing"
    if recorded is None or case.crash_wrong(name):
        return
    if name == "ps":
        assert _task_addresses(out) == _task_addresses(recorded)
    elif name == "log":  # drgn indents a message's continuation lines its own way
        assert [line.strip() for line in out.splitlines()] == [line.strip() for line in recorded.splitlines()]
    elif name == "bt -a":  # the same tasks on the same CPUs, each in drgn's own frame layout
        header = r"PID: +(\d+) +TASK: ([0-9a-f]+) +CPU: (\d+)"
        assert re.findall(header, out) == re.findall(header, recorded)
    elif name == "kmem -i":
        total = re.search(r"TOTAL MEM +(\d+)", recorded).group(1)
        assert re.search(r"TOTAL MEM +(\d+)", out).group(1) == total
    else:
        release = re.search(r"RELEASE: (.*)", recorded).group(1)
        assert f"RELEASE: {release}" in out


def _round(case: Case, name: str, cache: str) -> Callable[[], None]:
    """One run of drgn and of each pycore mode, their times added to SAMPLES."""
    dump = case.path(case.reference_dump)
    drgn = [DRGN, "-q", "-c", dump, "-s", case.vmlinux, "-e",
            f"from drgn.commands import run_command\nrun_command(prog, 'crash {name}')"]
    pycore = [sys.executable, "-m", "pycore", *name.split(), dump]
    env = dict(os.environ, PYCORE_CACHE=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's interpreter keeps its bytecode, as .ci/run does
    empty = {"cold": ("debuginfo",), "vmlinux cold": ("debuginfo", "dwarf")}
    # Fill the caches the warm modes read, and the page cache for everyone.
    _timed(pycore, env)
    _timed(pycore + ["--vmlinux", case.vmlinux], env)
    _timed(drgn)

    def run() -> None:
        wall, cpu, result = _timed(drgn)
        _check_drgn(case, name, result.stdout)
        SAMPLES.setdefault((case.name, name, "drgn"), []).append((wall, cpu))
        for mode in MODES:
            for directory in empty.get(mode, ()):
                shutil.rmtree(os.path.join(cache, directory), ignore_errors=True)
            wall, cpu, result = _timed(pycore + (["--vmlinux", case.vmlinux] if mode.startswith("vmlinux") else []),
                                       env)
            _check_pycore(case, name, result.stdout)
            SAMPLES.setdefault((case.name, name, mode), []).append((wall, cpu))

    return run


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("case_name", CASES)
def test_whole_process_against_drgn(benchmark, case_name, name):
    benchmark.group = f"startup {case_name}"
    case = _case(case_name)
    if not os.path.exists(DRGN):
        pytest.skip("drgn 0.3.0 is not installed")
    with tempfile.TemporaryDirectory() as cache:
        benchmark.pedantic(_round(case, name, cache), rounds=ROUNDS, iterations=1)
    assert len(SAMPLES[(case.name, name, "drgn")]) >= 1


def _median(case: str, command: str, mode: str, column: int) -> Optional[float]:
    samples = SAMPLES.get((case, command, mode))
    return statistics.median(sample[column] for sample in samples) if samples else None


def summary() -> List[str]:
    if not SAMPLES:
        return []
    lines = []
    for column, what in ((0, "wall"), (1, "CPU")):
        lines += ["", f"whole process, {what} seconds (median of {ROUNDS} rounds); x = pycore / drgn 0.3.0 in the same rounds",
                  f"  {'case':14} {'command':8} {'drgn':>6} " + " ".join(f"{mode:>18}" for mode in MODES)]
        for case in CASES:
            for command in COMMANDS:
                drgn = _median(case, command, "drgn", column)
                if drgn is None:
                    continue
                cells = []
                for mode in MODES:
                    seconds = _median(case, command, mode, column)
                    cells.append(f"{seconds:7.2f} (x{seconds / drgn:.2f})" if seconds else f"{'-':>18}")
                lines.append(f"  {case:14} {command:8} {drgn:6.2f} " + " ".join(f"{cell:>18}" for cell in cells))
    return lines


SUMMARIES.append(summary)
