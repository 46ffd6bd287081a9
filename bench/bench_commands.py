"""Each command end to end on the committed sample, as a person runs it: a fresh process.

Cold: an empty debug-info cache (kallsyms and BTF decoded from the dump); warm:
the cache from the previous run.  Baselines in the same run: the interpreter
alone (``python -c pass``) and crash 9 running the same command on the same dump
with the vmlinux, when the corpus build has put crash and the vmlinux in
``~/.cache/pycore/downloads``.

Run: python -m pytest bench/bench_commands.py --benchmark-only -q
"""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import SUMMARIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample", "vmcore")
CACHE = os.environ.get("PYCORE_CACHE") or os.path.expanduser("~/.cache/pycore")
COMMANDS = {"info": ["info"], "log": ["log"], "sys": ["sys"], "ps": ["ps"], "bt -a": ["bt", "-a"],
            "kmem -i": ["kmem", "-i"], "kmem -s": ["kmem", "-s"], "mod": ["mod"], "runq": ["runq"],
            "trouble": ["trouble"]}
RESULTS: "dict[tuple[str, str], float]" = {}

pytestmark = pytest.mark.skipif(not os.path.exists(SAMPLE), reason="testdata/sample/vmcore is missing")


def summary():
    if not RESULTS:
        return []
    floor = RESULTS.get(("python -c pass", "floor"))
    lines = ["", "commands on testdata/sample/vmcore, seconds end to end (fresh process)"]
    lines.append(f"  {'command':10} {'cold':>7} {'warm':>7} {'crash 9':>8}   warm vs crash")
    for name in COMMANDS:
        cold, warm, crash = (RESULTS.get((name, kind)) for kind in ("cold", "warm", "crash"))
        cells = [f"{v:7.2f}" if v is not None else f"{'-':>7}" for v in (cold, warm)]
        cells.append(f"{crash:8.2f}" if crash is not None else f"{'-':>8}")
        ratio = f"   x{crash / warm:.1f} faster" if crash and warm else ""
        lines.append(f"  {name:10} {' '.join(cells)}{ratio}")
    if floor:
        lines.append(f"  (the interpreter alone starts in {floor:.2f} s)")
    return lines


SUMMARIES.append(summary)


def _crash():
    tools = os.path.join(CACHE, "downloads", "tools-root")
    vmlinux = os.path.join(CACHE, "downloads", "kernels", "6.1.0-56-cloud-amd64", "vmlinux")
    ld_so = os.path.join(tools, "usr/lib64/ld-linux-x86-64.so.2")
    if not (os.path.exists(ld_so) and os.path.exists(vmlinux)):
        return None
    libraries = ":".join(os.path.join(tools, d) for d in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"))
    return [ld_so, "--library-path", libraries, os.path.join(tools, "usr/bin/crash"), "-s", vmlinux, SAMPLE]


def _run(argv, env=None, stdin=None):
    result = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_interpreter_floor(benchmark):
    benchmark.group = "floor"
    benchmark.pedantic(_run, args=([sys.executable, "-c", "pass"],), rounds=5, iterations=1)
    RESULTS[("python -c pass", "floor")] = benchmark.stats.stats.mean


@pytest.mark.parametrize("mode", ["cold", "warm", "crash"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_end_to_end(benchmark, name, mode):
    benchmark.group = name
    if mode == "crash":
        crash = _crash()
        if crash is None:
            pytest.skip("crash 9 and the 6.1 vmlinux are not in the download cache")
        if name == "trouble":
            pytest.skip("crash has no such command")
        benchmark.pedantic(_run, args=(crash,), kwargs={"stdin": " ".join(COMMANDS[name]) + "\nquit\n"},
                           rounds=2, iterations=1)
    else:
        argv = [sys.executable, "-m", "pycore", *COMMANDS[name], SAMPLE]
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, PYCORE_CACHE=cache)
            if mode == "warm":
                _run(argv, env)  # fill the cache
                benchmark.pedantic(_run, args=(argv, env), rounds=3, iterations=1)
            else:
                def cold():
                    shutil.rmtree(os.path.join(cache, "debuginfo"), ignore_errors=True)
                    _run(argv, env)
                benchmark.pedantic(cold, rounds=3, iterations=1)
    RESULTS[(name, mode)] = benchmark.stats.stats.mean
