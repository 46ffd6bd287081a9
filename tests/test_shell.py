"""``pycore shell``: the dump is there as ``prog`` with the helpers, for a snippet or at the prompt."""
import os
import subprocess
import sys

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
