"""A user's first minutes with ``pycore``: the version, exit statuses, Ctrl-C, errors under --json,
``rd`` into a hole, and progress bars that fit the terminal and stay off a pipe."""
import importlib.metadata
import io
import json
import os
import signal
import subprocess
import sys

import pytest
from rich.console import Console

from pycore import native
from pycore.cli import main
from pycore.cli.common import describe_build
from pycore.cli.output import TerminalProgress

from corpus import ROOT, SAMPLE

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
needs_sample = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")
# The sample (kdump, dump level 31): page 0x11f000 is dumped, 0x120000 is a free page left out.
LAST_READABLE, EXCLUDED = 0x11f000, 0x120000


def run(capsys, argv):
    try:
        status = main(argv)
    except SystemExit as exit:  # --version and --help print and exit, as argparse does
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def reader_flag(native_path):
    return [] if native_path else ["--pure"]


def test_version_names_the_package_the_reader_and_the_codecs(capsys):
    status, out, _ = run(capsys, ["--version"])
    reader = "C extension" if native.AVAILABLE else "pure Python"
    assert status == 0
    assert out.startswith(f"pycore {importlib.metadata.version('pycore')}, {reader} (")
    if native.AVAILABLE:
        assert all(codec in out for codec in native.describe()["codecs"])


def test_version_says_pure_python_and_why_when_the_extension_is_switched_off():
    result = subprocess.run([sys.executable, "-m", "pycore", "--version"], capture_output=True, text=True,
                            env={**os.environ, "PYCORE_PURE": "1"}, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith(", pure Python (PYCORE_PURE is set)")


def test_version_line_splits_the_codecs_by_path():
    build = {"version": "1.2", "reader": "C extension", "why_not_c": None,
             "codecs": {"zlib": "C", "lzo": "Python", "snappy": "Python", "zstd": "C"}}
    assert describe_build(build) == "1.2, C extension (codecs in C: zlib, zstd; in Python: lzo, snappy)"


@needs_sample
def test_info_shows_the_version_and_the_reader(capsys):
    status, out, _ = run(capsys, ["info", SAMPLE_DUMP])
    version_line = next(line for line in out.splitlines() if line.strip().startswith("PYCORE:"))
    assert status == 0 and importlib.metadata.version("pycore") in version_line
    status, out, _ = run(capsys, ["info", SAMPLE_DUMP, "--json"])
    build = json.loads(out)["pycore"]
    assert build["reader"] == ("C extension" if native.AVAILABLE else "pure Python")
    assert build["codecs"] == native.describe()["codecs"]


def test_help_lists_the_exit_statuses(capsys):
    status, out, _ = run(capsys, ["--help"])
    assert status == 0
    statuses = out[out.index("exit status:"):].split()
    assert all(code in statuses for code in ("0", "1", "2", "3", "130"))


@needs_sample
def test_ctrl_c_exits_130_with_one_line_and_no_traceback():
    ready = "print('ready', flush=True)\nimport time\ntime.sleep(600)"
    # SIGINT as a terminal's foreground job has it: a run started in the background by a shell without
    # job control (`cmd &`, nohup) ignores SIGINT, and the child would inherit that and sleep on.
    process = subprocess.Popen([sys.executable, "-m", "pycore", "shell", SAMPLE_DUMP, "-c", ready], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err == "pycore shell: interrupted\n"


@needs_sample
def test_read_error_under_json_is_json_on_stderr(capsys):
    status, out, err = run(capsys, ["rd", SAMPLE_DUMP, "-p", f"{EXCLUDED:x}", "--json"])
    assert status == 1 and out == ""
    error = json.loads(err)
    assert error["command"] == "rd" and "excluded" in error["error"] and hex(EXCLUDED) in error["error"]


def test_missing_dump_under_json_is_json_on_stderr(tmp_path, capsys):
    status, out, err = run(capsys, ["info", str(tmp_path / "no-such-vmcore"), "--json"])
    assert status == 1 and out == ""
    assert json.loads(err)["command"] == "info" and "No such file" in json.loads(err)["error"]


def test_usage_error_exits_2_and_is_json_under_json(capsys):
    status, out, err = run(capsys, ["rd", "vmcore", "-p", "not-hex", "--json"])
    assert status == 2 and out == ""
    assert json.loads(err) == {"error": "argument ADDRESS: not a hexadecimal address: 'not-hex'", "command": "rd"}


def test_usage_error_without_json_is_argparse_text(capsys):
    status, _, err = run(capsys, ["rd", "vmcore", "-p", "1000", "0"])
    assert status == 2
    assert err.startswith("usage: pycore rd") and "pycore rd: error: argument COUNT: COUNT must be at least 1" in err


def test_shell_refuses_json(capsys):
    status, _, err = run(capsys, ["shell", "vmcore", "--json"])
    assert status == 2 and "unrecognized arguments: --json" in err


@needs_sample
def test_rd_into_a_hole_prints_the_readable_lines_then_the_error(native_path, capsys):
    start = EXCLUDED - 0x40
    status, out, err = run(capsys, ["rd", SAMPLE_DUMP, *reader_flag(native_path), "-p", f"{start:x}", "12"])
    assert status == 1
    assert [line.split(":")[0].strip() for line in out.splitlines()] == \
        [f"{address:x}" for address in range(start, EXCLUDED, 16)]
    assert err.startswith("pycore rd: page excluded") and err.strip().endswith(hex(EXCLUDED))
    assert len(err.splitlines()) == 1


@needs_sample
def test_rd_into_a_hole_mid_line_stops_at_the_last_readable_value(native_path, capsys):
    status, out, err = run(capsys, ["rd", SAMPLE_DUMP, *reader_flag(native_path), "-32", "-p",
                                    f"{EXCLUDED - 8:x}", "4", "--json"])
    assert status == 1
    result = json.loads(out)
    assert result["address"] == EXCLUDED - 8 and len(result["values"]) == 2
    assert json.loads(err)["command"] == "rd"


@needs_sample
def test_rd_starting_in_a_hole_prints_nothing(native_path, capsys):
    status, out, err = run(capsys, ["rd", SAMPLE_DUMP, *reader_flag(native_path), "-p", f"{EXCLUDED:x}", "4"])
    assert status == 1 and out == "" and err.startswith("pycore rd: page excluded")


@needs_sample
def test_rd_of_a_readable_range_is_unchanged(native_path, capsys):
    status, out, err = run(capsys, ["rd", SAMPLE_DUMP, *reader_flag(native_path), "-p",
                                    f"{LAST_READABLE:x}", "512"])
    assert status == 0 and err == "" and len(out.splitlines()) == 256


def terminal(width):
    return Console(file=io.StringIO(), force_terminal=True, width=width, record=True)


def bars(progress, width):
    """The lines the bars take on a terminal ``width`` columns wide."""
    console = terminal(width)
    console.print(progress)
    return console.export_text().splitlines()


def test_progress_bars_fit_a_narrow_terminal():
    with TerminalProgress(terminal(40)) as progress:
        progress("opening /var/crash/202611260120/vmcore-with-a-very-long-name", 5, 10)
        progress("indexing DWARF", 3, None)
        progress("indexing DWARF", 7, 20)
        lines = bars(progress, 40)
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines)
    assert "5/10" in lines[0] and lines[1].startswith("indexing") and "7/20" in lines[1]


def test_a_finished_stage_leaves_the_screen():
    with TerminalProgress(terminal(80)) as progress:
        progress("opening vmcore", 1, 2)
        progress("indexing DWARF", 1, 4)
        progress("opening vmcore", 2, 2)
        assert [line.split()[0] for line in bars(progress, 80)] == ["indexing"]
        progress("indexing DWARF", 4, 4)
        assert bars(progress, 80) == []


def test_progress_draws_nothing_off_a_terminal(capsys):
    stream = io.StringIO()
    for progress in (TerminalProgress(Console(file=stream, force_terminal=False)), TerminalProgress()):
        with progress:
            progress("opening vmcore", 1, 2)
        assert not progress.enabled
    assert stream.getvalue() == "" and capsys.readouterr().err == ""
