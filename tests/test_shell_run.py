"""``pycore run DUMP SCRIPT [ARGS...]`` (drgn's ``drgn -c vmcore script.py``): ``pycore shell``'s
script runner with every word after SCRIPT the script's; drgn's names are there, the script's exit
status is the command's, its exception a traceback and status 1."""
import os

import pytest

import pycore.helpers.linux
from pycore.cli import main
from pycore.cli.shell import namespace

from corpus import SAMPLE, cases

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
pytestmark = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")

SCRIPT = """\
import sys
tasks = list(for_each_task(prog))
print(sys.argv[1:], __name__, len(tasks) > 10, sizeof(prog["init_task"]) == sizeof(tasks[0][0]))
if sys.argv[1:2] == ["exit"]:
    sys.exit(int(sys.argv[2]))
if sys.argv[1:2] == ["fault"]:
    prog.read(16, 8)
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "tasks.py"
    path.write_text(SCRIPT)
    return str(path)


def test_a_script_runs_as_main_with_drgns_names_and_every_word_after_it(script, capsys):
    assert main(["run", SAMPLE_DUMP, script, "-v", "--all", "x"]) == 0
    assert capsys.readouterr().out == "['-v', '--all', 'x'] __main__ True True\n"


def test_the_script_exit_status_is_the_command_status(script, capsys):
    assert main(["run", SAMPLE_DUMP, script, "exit", "3"]) == 3


@pytest.mark.parametrize("command", ["run", "shell"])
def test_a_script_exception_is_its_traceback_and_status_1(script, command, capsys):
    assert main([command, SAMPLE_DUMP, script, "fault"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert f'File "{script}", line 7, in <module>' in err.splitlines()[1]
    assert err.rstrip().splitlines()[-1].startswith("pycore.errors.FaultError: ") and "0x10" in err


def test_a_syntax_error_is_pythons_report_without_pycores_frames(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("x = (\n")
    assert main(["run", SAMPLE_DUMP, str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'  File "{broken}", line 1\n') and "SyntaxError: " in err and "pycore/cli" not in err


def test_a_missing_script_is_one_line(tmp_path, capsys):
    assert main(["run", SAMPLE_DUMP, str(tmp_path / "none.py")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pycore run: ") and "none.py" in err and "Traceback" not in err


def test_without_a_script_the_usage_error_names_it(capsys):
    assert main(["run", SAMPLE_DUMP]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "pycore run: error: the following arguments are required: SCRIPT"


def test_drgns_helpers_win_over_pycore_kernels_and_open_is_pythons():
    names = namespace(None)
    assert names["for_each_task"] is pycore.helpers.linux.for_each_task
    assert names["find_task"] is pycore.helpers.linux.find_task and names["sizeof"] is pycore.sizeof
    assert "open" not in names and names["sched"].__name__ == "pycore.kernel.sched"


def test_vmlinux_passes_through_to_the_scripts_program(tmp_path, capsys):
    case = next((case for case in cases() if case.name != "sample" and os.path.exists(case.vmlinux)
                 and os.path.exists(case.path(case.reference_dump))), None)
    if case is None:
        pytest.skip("no corpus case with its vmlinux (run testdata/corpus/build.sh)")
    path = tmp_path / "source.py"
    path.write_text("print(prog.vmlinux, prog.types.source.split()[0], prog['nr_threads'].type_.type_name())\n")
    assert main(["run", case.path(case.reference_dump), "--vmlinux", case.vmlinux, str(path)]) == 0
    assert capsys.readouterr().out == f"{case.vmlinux} dwarf int\n"
