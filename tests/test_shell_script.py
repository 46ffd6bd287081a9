"""``pycore shell DUMP SCRIPT [ARGS...]``: a script file runs with the dump as ``prog``, as
``drgn -c vmcore script.py`` runs one."""
import os
import subprocess
import sys

import pytest

from corpus import SAMPLE

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
pytestmark = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")

SCRIPT = """\
import sys
print(sys.argv[1:], __name__, prog["init_task"].comm.string_().decode())
n = sum(1 for _ in list_for_each_entry("struct task_struct", prog["init_task"].tasks.address_of_(), "tasks"))
print(n > 10)
if sys.argv[1:2] == ["exit"]:
    sys.exit(int(sys.argv[2]))
"""


def shell(*argv):
    return subprocess.run([sys.executable, "-m", "pycore", "shell", SAMPLE_DUMP, *argv], capture_output=True,
                          text=True, timeout=300)


def test_a_script_runs_as_main_with_prog_helpers_and_its_arguments(tmp_path):
    script = tmp_path / "tasks.py"
    script.write_text(SCRIPT)
    result = shell(str(script), "--", "--all", "-v")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['--all', '-v'] __main__ swapper/0\nTrue\n"


def test_words_without_a_dash_need_no_double_dash(tmp_path):
    script = tmp_path / "tasks.py"
    script.write_text(SCRIPT)
    assert shell(str(script), "one", "two").stdout.startswith("['one', 'two'] __main__")


def test_the_script_exit_status_is_the_command_status(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(SCRIPT)
    assert shell(str(script), "exit", "3").returncode == 3


def test_a_missing_script_is_one_line(tmp_path):
    result = shell(str(tmp_path / "none.py"))
    assert result.returncode == 1
    assert result.stderr.startswith("pycore shell: ") and "none.py" in result.stderr and "Traceback" not in result.stderr
