"""Traces on dumps makedumpfile filtered (-d 31) against the unfiltered dump of the same crash: the
stack pages the filter dropped were zero pages, so the traces are the same and say nothing of
them, where a page the dump lacks for any other reason is a bt: line (test_stack.py)."""
import pytest

import pycore
from pycore.kernel import stack

from corpus import cases, real_dumps

pytestmark = pytest.mark.real
real_dumps()


# makedumpfile 1.7.8's -d 31 leaves out the second page of many task_structs on 7.1+, where
# thread.sp lies: the running tasks' walks start at their CPU notes' registers and do not need it
# (the tasks that do: test_bt_partial.py).
def filtered_dumps():
    return [pytest.param(case, dump, id=f"{case.name}-{dump['name']}")
            for case in cases() for dump in case.dumps()
            if dump["dump_level"] > 0 and dump["name"] != case.reference_dump]


def frames(path):
    with pycore.open(path) as prog:
        return [(t.pid, [(f.sp, f.pc) for f in t], t.errors) for t in stack.active_traces(prog)]


@pytest.mark.parametrize("case,dump", filtered_dumps())
def test_filtered_dump_gives_the_unfiltered_traces_without_errors(case, dump):
    filtered = frames(case.path(dump["name"]))
    assert filtered == frames(case.path(case.reference_dump))
    assert all(not errors for _, _, errors in filtered) and all(trace for _, trace, _ in filtered)
