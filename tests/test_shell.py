"""``pycore shell``: the dump is there as ``prog`` with the helpers, for a snippet or at the prompt."""
import os
import pty
import select
import subprocess
import sys
import types

import pytest

from pycore.cli import main

from corpus import SAMPLE

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
pytestmark = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")


def test_snippet_reads_init_task_without_debuginfo(capsys):
    assert main(["shell", SAMPLE_DUMP, "-c", "print(prog['init_task'].comm.string_().decode())"]) == 0
    assert capsys.readouterr().out.strip() == "swapper/0"


def test_helpers_are_in_the_namespace(capsys):
    code = ("n = sum(1 for _ in list_for_each_entry('struct task_struct', prog['init_task'].tasks.address_of_(),"
            " 'tasks'))\nprint(n)")
    assert main(["shell", SAMPLE_DUMP, "-c", code]) == 0
    assert int(capsys.readouterr().out) > 10


def test_interactive_prompt_reads_stdin():
    result = subprocess.run([sys.executable, "-m", "pycore", "shell", SAMPLE_DUMP],
                            input="print(hex(prog['init_task'].address_))\n", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    assert "pycore shell:" in result.stderr
    assert "0xffffffff" in result.stdout


def test_a_missing_dump_is_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["info", str(tmp_path / "no-such-vmcore")]) == 1
    err = capsys.readouterr().err
    assert "pycore info:" in err and "No such file" in err and "Traceback" not in err


def test_ipython_runs_the_prompt_at_a_terminal_when_installed(monkeypatch, capsys):
    started = {}

    def start_ipython(argv, user_ns):
        started.update(argv=argv, names=user_ns)

    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(start_ipython=start_ipython))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert main(["shell", SAMPLE_DUMP]) == 0
    assert started["argv"] == ["--no-banner"]
    assert started["names"]["prog"].dump.format == "kdump" and "list_for_each_entry" in started["names"]
    assert "pycore shell:" in capsys.readouterr().err


def _read_until(master, marker, collected):
    """Read the terminal until ``marker`` appears in what was read since ``collected`` had its length."""
    start = len(collected)
    while marker not in collected[start:]:
        ready, _, _ = select.select([master], [], [], 120)
        assert ready, f"no {marker!r} from the shell; it printed {bytes(collected)!r}"
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the shell closed the terminal
            chunk = b""
        assert chunk, f"the shell ended before {marker!r}; it printed {bytes(collected)!r}"
        collected += chunk


def test_prompt_at_a_terminal_completes_names_and_keeps_history(tmp_path):
    master, slave = pty.openpty()
    env = {**os.environ, "PYCORE_CACHE": str(tmp_path), "TERM": "dumb"}
    process = subprocess.Popen([sys.executable, "-m", "pycore", "shell", SAMPLE_DUMP, "--no-ipython"],
                               stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    collected = bytearray()
    try:
        _read_until(master, b">>> ", collected)
        # Tab completes the attribute: without completion the line is an AttributeError.
        os.write(master, b"print(prog.vmcorein\t.osrelease.upper())\n")
        _read_until(master, b">>> ", collected)
        os.write(master, b"\x04")
        assert process.wait(timeout=120) == 0
    finally:
        process.kill()
        os.close(master)
    assert b"6.1.0-56-CLOUD-AMD64" in collected
    with open(tmp_path / "shell_history") as f:
        assert f.read().splitlines()[-1] == "print(prog.vmcoreinfo.osrelease.upper())"
