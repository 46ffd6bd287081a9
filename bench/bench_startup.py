"""Whole-process ``pycore ps/log/sys DUMP`` against drgn 0.3.0 doing the same on the same dump, in the
same run (issue 18): what a person at a shell pays, start-up and opening included.

drgn runs its own port of crash's command (``drgn -c DUMP -s VMLINUX -e "run_command(prog, 'crash ps')"``):
it needs the vmlinux.  pycore runs without it (symbols and types from the dump) with a cold and a warm
debug-info cache, and with it (warm).  Each output is checked before its time counts: pycore's against
crash 9's recording by the rules of tests/crash_reference.py, drgn's against the same recording for
what it must share with crash (the tasks, the log messages, the release).
Run: python -m pytest bench/bench_startup.py --benchmark-only -q
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Tuple

import pytest

from conftest import SUMMARIES
from corpus import CACHE as CORPUS_CACHE, Case, Output
from crash_reference import COMMANDS as CRASH_COMMANDS, Run, argv, assert_output, expect, recordings

CASE_DIRECTORY = os.path.join(CORPUS_CACHE, "corpus", "6.12-oom-l5")
COMMANDS = ("ps", "log", "sys", "bt -a", "kmem -i")
DRGN = os.path.join(os.path.dirname(sys.executable), "drgn")
ROUNDS = 3
RESULTS: Dict[Tuple[str, str], float] = {}

pytestmark = [
    pytest.mark.skipif(not os.path.exists(os.path.join(CASE_DIRECTORY, "manifest.json")),
                       reason="the 6.12 case of the corpus is not built (testdata/corpus/build.sh)"),
]


def _case() -> Case:
    return Case(CASE_DIRECTORY)


def summary():
    if not RESULTS:
        return []
    lines = ["", "whole process on 6.12-oom-l5, seconds (mean); x = pycore's time / drgn 0.3.0's in the same run"]
    lines.append(f"  {'command':8} {'drgn':>7} {'cold':>14} {'warm':>14} {'vmlinux':>14}")
    for name in COMMANDS:
        drgn = RESULTS.get((name, "drgn"))
        cells = [f"{drgn:7.2f}" if drgn else f"{'-':>7}"]
        for mode in ("cold", "warm", "vmlinux"):
            seconds = RESULTS.get((name, mode))
            ratio = f" (x{seconds / drgn:.2f})" if seconds and drgn else ""
            cells.append(f"{seconds:6.2f}{ratio:>8}" if seconds else f"{'-':>14}")
        lines.append(f"  {name:8} {' '.join(cells)}")
    return lines


SUMMARIES.append(summary)


def _run(command_line, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run(command_line, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _pycore_run(name: str, with_vmlinux: bool) -> Tuple[Run, object]:
    """The comparison tests/test_real_commands.py makes for ``name`` on the case's reference dump."""
    case = _case()
    dump = next(d for d in case.dumps() if d["name"] == case.reference_dump)
    command = next(c for c in CRASH_COMMANDS if c.crash == name)
    reference = recordings(case, dump, command)[0]
    with open(case.path(reference["file"]), errors="replace") as f:
        crash_lines = f.read().rstrip("\n").splitlines()
    options = ("--vmlinux", case.vmlinux) if with_vmlinux else ()
    return expect(Run(case, dump, command, argv(case, dump["name"], command, reference, *options),
                      vmlinux=with_vmlinux, against="crash", reference=reference), crash_lines)


def _task_addresses(listing: str) -> list:
    return sorted(re.findall(r"\b([0-9a-f]{16})\b", listing))


def _check_drgn(name: str, out: str) -> None:
    """drgn's port prints its own layout; what it shares with crash's recording must be crash's."""
    recorded = _case().reference(name)
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


@pytest.mark.parametrize("name", COMMANDS)
def test_drgn_whole_process(benchmark, name):
    benchmark.group = f"startup {name}"
    case = _case()
    if not os.path.exists(DRGN) or not os.path.exists(case.vmlinux):
        pytest.skip("drgn 0.3.0 or the 6.12 vmlinux is not installed")
    command_line = [DRGN, "-q", "-c", case.path(case.reference_dump), "-s", case.vmlinux, "-e",
                    f"from drgn.commands import run_command\nrun_command(prog, 'crash {name}')"]
    _run(command_line)  # drgn keeps no cache of its own: this only warms the page cache, as for pycore
    result = benchmark.pedantic(_run, args=(command_line,), rounds=ROUNDS, iterations=1)
    _check_drgn(name, result.stdout)
    if benchmark.stats is not None:  # None under --benchmark-disable
        RESULTS[(name, "drgn")] = benchmark.stats.stats.mean


@pytest.mark.parametrize("mode", ["cold", "warm", "vmlinux"])
@pytest.mark.parametrize("name", COMMANDS)
def test_pycore_whole_process(benchmark, name, mode):
    benchmark.group = f"startup {name}"
    if mode == "vmlinux" and not os.path.exists(_case().vmlinux):
        pytest.skip("the 6.12 vmlinux is not downloaded")
    run, expected = _pycore_run(name, with_vmlinux=mode == "vmlinux")
    command_line = [sys.executable, "-m", "pycore", *run.argv]
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, PYCORE_CACHE=cache)
        if mode == "cold":
            def cold():
                shutil.rmtree(os.path.join(cache, "debuginfo"), ignore_errors=True)
                return _run(command_line, env)
            result = benchmark.pedantic(cold, rounds=ROUNDS, iterations=1)
        else:
            _run(command_line, env)  # fill the cache
            result = benchmark.pedantic(_run, args=(command_line, env), rounds=ROUNDS, iterations=1)
    assert_output(Output(result.returncode, result.stdout, result.stderr), expected, " ".join(command_line))
    if benchmark.stats is not None:
        RESULTS[(name, mode)] = benchmark.stats.stats.mean
