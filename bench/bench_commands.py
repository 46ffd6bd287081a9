"""Each command end to end on the committed sample, as a person runs it: a fresh process.

Cold: an empty debug-info cache (kallsyms and BTF decoded from the dump); warm:
the cache from the previous run.  Baselines in the same run: the interpreter
alone (``python -c pass``) and crash 9 running the same command on the same dump
with the vmlinux, when the corpus build has put crash and the vmlinux in
``~/.cache/pycore/downloads``.

Every run's output is checked before its time counts: pycore's against crash's recording on the
sample by the rules of tests/crash_reference.py (info and trouble, which crash lacks, against the
manifest and crash's panic line), crash's against its own recording.
Run: python -m pytest bench/bench_commands.py --benchmark-only -q
"""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import SUMMARIES
from corpus import SAMPLE as SAMPLE_CASE, Case, Output
from crash_reference import COMMANDS as CRASH_COMMANDS, Run, argv, assert_output, expect, recordings

SAMPLE = os.path.join(SAMPLE_CASE, "vmcore")
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
    """crash 9 on the sample, run in the sample's directory as it was when the recordings were made."""
    tools = os.path.join(CACHE, "downloads", "tools-root")
    vmlinux = os.path.join(CACHE, "downloads", "kernels", "6.1.0-56-cloud-amd64", "vmlinux")
    ld_so = os.path.join(tools, "usr/lib64/ld-linux-x86-64.so.2")
    if not (os.path.exists(ld_so) and os.path.exists(vmlinux)):
        return None
    libraries = ":".join(os.path.join(tools, d) for d in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"))
    return [ld_so, "--library-path", libraries, os.path.join(tools, "usr/bin/crash"), "-s", vmlinux,
            os.path.basename(SAMPLE)]


def _run(argv, env=None, stdin=None, cwd=None) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _crash_command(name: str):
    """The entry of tests/crash_reference.py for a benched command, None when crash has no such command."""
    return next((c for c in CRASH_COMMANDS if c.crash and c.pycore == tuple(COMMANDS[name])), None)


def _check_pycore(name: str, result: subprocess.CompletedProcess) -> None:
    """pycore's output must be crash's recording on the sample, up to the deviations from crash."""
    output = Output(result.returncode, result.stdout, result.stderr)
    case = Case(SAMPLE_CASE)
    dump = next(d for d in case.dumps() if d["name"] == os.path.basename(SAMPLE))
    command = _crash_command(name)
    if command is None:
        assert (output.status, output.err) == (0, ""), name
        panic = case.reference("sys").split('PANIC: "')[1].split('"')[0]
        if name == "info":
            for field, value in (("FORMAT", dump["format"]), ("CODEC", dump["codec"]),
                                 ("RELEASE", case.manifest["kernel_release"]), ("CPUS", case.manifest["guest_cpus"])):
                assert f"{field}: {value}\n" in output.out, (name, field)
        else:
            assert f"[panic] {panic}\n" in output.out, name
        return
    reference = recordings(case, dump, command)[0]
    with open(case.path(reference["file"]), errors="replace") as f:
        crash_lines = f.read().rstrip("\n").splitlines()
    run, expected = expect(Run(case, dump, command, argv(case, dump["name"], command, reference), vmlinux=False,
                               against="crash", reference=reference), crash_lines)
    assert_output(output, expected, name)


def _check_crash(name: str, result: subprocess.CompletedProcess) -> None:
    """crash's output must be its own recording: a baseline that failed to load would be fast too."""
    reference = Case(SAMPLE_CASE).reference(_crash_command(name).crash)
    assert result.stdout.rstrip("\n") == reference.rstrip("\n"), name


def test_interpreter_floor(benchmark):
    benchmark.group = "floor"
    benchmark.pedantic(_run, args=([sys.executable, "-c", "pass"],), rounds=5, iterations=1)
    if benchmark.stats is not None:  # None under --benchmark-disable
        RESULTS[("python -c pass", "floor")] = benchmark.stats.stats.mean


@pytest.mark.parametrize("mode", ["cold", "warm", "crash"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_end_to_end(benchmark, name, mode):
    benchmark.group = name
    if mode == "crash":
        crash = _crash()
        if crash is None:
            pytest.skip("crash 9 and the 6.1 vmlinux are not in the download cache")
        if _crash_command(name) is None:
            pytest.skip("crash has no such command")
        result = benchmark.pedantic(_run, args=(crash,), rounds=2, iterations=1,
                                    kwargs={"stdin": _crash_command(name).crash + "\nquit\n",
                                            "cwd": os.path.dirname(SAMPLE)})
        _check_crash(name, result)
    else:
        command_line = [sys.executable, "-m", "pycore", *COMMANDS[name], SAMPLE]
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, PYCORE_CACHE=cache)
            if mode == "warm":
                _run(command_line, env)  # fill the cache
                result = benchmark.pedantic(_run, args=(command_line, env), rounds=3, iterations=1)
            else:
                def cold():
                    shutil.rmtree(os.path.join(cache, "debuginfo"), ignore_errors=True)
                    return _run(command_line, env)
                result = benchmark.pedantic(cold, rounds=3, iterations=1)
        _check_pycore(name, result)
    if benchmark.stats is not None:
        RESULTS[(name, mode)] = benchmark.stats.stats.mean
