"""ps never lists a task it could not have read right without saying so: pids that are not pids,
pid 0 off the idle tasks, CPUs that do not exist (sched.task_problems); ps puts them on stderr and in
--json (tests/test_crash_task_commands.py)."""
from types import SimpleNamespace

import pytest

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
