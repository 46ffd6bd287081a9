"""How bt names a task on real dumps: by address on 4- and 5-level paging (5-level direct-map
addresses lie below 0xffff800000000000, yet are no PIDs), and by PID."""
import pytest

import pycore
from pycore.kernel import stack

from corpus import cases, real_dumps

pytestmark = pytest.mark.real
real_dumps()


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_a_task_address_is_a_task_and_a_pid_its_task(case):
    with pycore.open(case.path(case.reference_dump)) as prog:
        unwinder = stack.Unwinder(prog)
        task = unwinder.panic_task
        by_address = stack.stack_trace(prog, task, unwinder)
        by_pid = stack.stack_trace(prog, by_address.pid, unwinder)
    assert by_address.task == task and by_address.useful
    assert by_pid.task == task and [frame.pc for frame in by_pid] == [frame.pc for frame in by_address]
