"""User-space memory through a task's own page tables (mm->pgd), on full real dumps."""
import os

import pytest

import pycore
from pycore.errors import FaultError, PageExcludedError
from pycore.kernel.mm import read_user, task_arguments
from pycore.kernel.sched import for_each_process, task_comm

from corpus import SAMPLE, cases

pytestmark = pytest.mark.real
FULL = [(c, d["name"]) for c in cases() for d in c.dumps() if d["format"] == "elf" and d["dump_level"] == 0]


@pytest.mark.parametrize("case,dump", FULL, ids=[f"{c.name}/{d}" for c, d in FULL])
def test_argv_of_the_guest_s_processes(case, dump, native_path):
    # testdata/corpus/init.sh starts each helper as "/bin/sh /bin/pycore-NAME".
    with pycore.open(case.path(dump), native=native_path) as prog:
        seen = 0
        for task in for_each_process(prog):
            comm = task_comm(task)
            if int(task.mm) and comm.startswith("pycore-"):
                argv = task_arguments(task)
                assert argv[0] == b"/bin/sh" and argv[1] == f"/bin/{comm}".encode(), (comm, argv)
                seen += 1
        assert seen >= 3


def test_user_pages_filtered_out_of_the_sample_are_named_as_such():
    with pycore.open(os.path.join(SAMPLE, "vmcore")) as prog:
        init = next(t for t in for_each_process(prog) if int(t.pid) == 1)
        with pytest.raises(PageExcludedError) as error:
            task_arguments(init)
        assert not error.value.physical and error.value.address == int(init.mm.arg_start)
        kthread = next(t for t in for_each_process(prog) if not int(t.mm))
        with pytest.raises(FaultError):
            read_user(kthread, 0x400000, 8)
