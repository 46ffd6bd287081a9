"""ps never lists a task it could not have read right without saying so: pids that are not pids,
pid 0 off the idle tasks, CPUs that do not exist (sched.task_problems), on stderr and in --json."""
import contextlib
import json
from types import SimpleNamespace

import pytest

from pycore.cli import ps
from pycore.kernel import sched
from pycore.types.model import Member, int_type, struct_type

TASK_STRUCT = struct_type("task_struct", 64, [Member("pid", int_type("int", 4, True), 0),
                                               Member("tgid", int_type("int", 4, True), 32),
                                               Member("cpu", int_type("unsigned int", 4, False), 64)])


def task(pid=117, tgid=117, cpu=1):
    """A task_struct snapshot as sched reads one (4.9-5.15 keep the CPU in task_struct.cpu)."""
    return SimpleNamespace(pid=pid, tgid=tgid, cpu=cpu, type_=TASK_STRUCT)


def test_a_task_as_the_kernel_keeps_it_has_no_problems():
    assert sched.task_problems(task(), pid_limit=32768, cpu_count=2, idle=False) == []
    assert sched.task_problems(task(pid=0, tgid=0, cpu=1), pid_limit=32768, cpu_count=2, idle=True) == []


@pytest.mark.parametrize("fields,idle,problem", [
    ({"pid": 32768}, False, "pid 32768 is not a pid (pid_max 32768)"),
    ({"pid": -5}, False, "pid -5 is not a pid (pid_max 32768)"),
    ({"tgid": 1 << 30}, False, "tgid 1073741824 is not a pid (pid_max 32768)"),
    ({"pid": 0, "tgid": 0}, False, "pid 0 on a task that is no CPU's idle task"),
    ({"cpu": 2}, False, "cpu 2 is not a CPU (nr_cpu_ids 2)"),
], ids=["pid-max", "negative", "tgid", "pid-0", "cpu"])
def test_what_no_kernel_makes_is_a_problem(fields, idle, problem):
    assert sched.task_problems(task(**fields), pid_limit=32768, cpu_count=2, idle=idle) == [problem]


def test_ps_reports_problems_on_stderr_and_in_json(monkeypatch, capsys):
    row = {"pid": 40000, "ppid": 1, "cpu": 0, "task": 0xFFFF8DBFC4090000, "state": "IN", "state_value": 1,
           "percent_mem": 0.0, "percent_mem_text": "0.0", "vsz_kb": 0, "rss_kb": 0, "rss_pages": 0,
           "comm": "sleeper", "kernel_thread": False, "active": False,
           "problems": ["pid 40000 is not a pid (pid_max 32768)"]}
    monkeypatch.setattr(ps, "open_from_args", lambda args: contextlib.nullcontext(SimpleNamespace()))
    monkeypatch.setattr(ps, "tasks", lambda prog: [row])
    assert ps.run(SimpleNamespace(json=True)) == 0
    out, err = capsys.readouterr()
    assert err == "ps: task ffff8dbfc4090000: pid 40000 is not a pid (pid_max 32768)\n"
    assert json.loads(out)["warnings"] == ["task ffff8dbfc4090000: pid 40000 is not a pid (pid_max 32768)"]
