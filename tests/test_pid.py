"""PIDs, the idr under them and the CPU masks (pycore.kernel.pid, idr, cpumask) on the corpus:
every task crash's ps lists is found by its PID, in drgn 0.3.0's order, and the masks hold the
CPUs crash's sys counts; the idr's base offset on a made-up idr."""
import re

import pytest

from pycore.kernel import cpumask, idr, pid
from pycore.object import Object

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases
from fake_program import BASE, FakeProgram

IDR = BASE + 0x40
ENTRY = BASE + 0x3000


def test_an_idr_counts_from_its_base():
    prog = FakeProgram()
    prog.put(IDR + 8, ENTRY)  # one entry at index 0 of the XArray
    prog.put(IDR + 16, 1)     # idr_base 1 (idr_init_base), idr_next 0
    table = Object(prog, "struct idr *", IDR)
    assert [(i, int(e)) for i, e in idr.idr_for_each(table)] == [(1, ENTRY)]
    assert (int(idr.idr_find(table, 1)), int(idr.idr_find(table, 0)), int(idr.idr_find(table, 2))) == (ENTRY, 0, 0)
    assert [(i, int(e)) for i, e in idr.idr_for_each_entry(table, "struct item")] == [(1, ENTRY)]
    assert idr.idr_for_each_entry(table, "struct item").__next__()[1].type_.type_name() == "struct item *"


CASES = vmlinux_cases()


def ps_rows(case):
    """(pid, task address) of every task crash's ps lists."""
    rows = []
    for line in case.reference("ps").splitlines()[1:]:
        fields = line.lstrip(">").split()
        rows.append((int(fields[0]), int(fields[3], 16)))
    return rows


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", [c for c in CASES if c.reference("ps")], ids=case_ids)
def test_every_task_ps_lists_is_found_by_its_pid(case, with_vmlinux):
    prog = pycore_program(case, with_vmlinux)
    rows = ps_rows(case)
    for number, task in rows:
        if number == 0:
            assert int(pid.find_task(prog, None, 0)) == 0  # the idle tasks have no struct pid
            continue
        # a thread's PID leads to the thread itself
        assert int(pid.find_task(prog, None, number)) == task, number
    # ps lists each CPU's idle task; drgn's walk (and so pycore's) only the online CPUs' ones
    idle = [task for number, task in rows if number == 0]
    listed = {task for number, task in rows if number} | {idle[cpu] for cpu in cpumask.for_each_online_cpu(prog)}
    found = [int(task) for task in pid.for_each_pid_task(prog, idle=True)]
    assert set(found) == listed and len(found) == len(listed)
    assert int(pid.find_task(prog, None, max(n for n, _ in rows) + 100000)) == 0


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_pids_and_tasks_come_in_drgns_order(case):
    from drgn.helpers.linux import pid as drgn_pid

    prog, reference = pycore_program(case, False), drgn_program(case)
    assert [int(p) for p in pid.for_each_pid(prog)] == [p.value_() for p in drgn_pid.for_each_pid(reference)]
    ours = [int(t) for t in pid.for_each_pid_task(prog, idle=True)]
    assert ours == [t.value_() for t in drgn_pid.for_each_task(reference, idle=True)]


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", [c for c in CASES if c.reference("sys")], ids=case_ids)
def test_cpu_masks_hold_the_cpus_crash_counts(case, with_vmlinux):
    prog = pycore_program(case, with_vmlinux)
    match = re.search(r"CPUS: (\d+)(?: \[OFFLINE: (\d+)\])?", case.reference("sys"))
    cpus, offline = int(match.group(1)), int(match.group(2) or 0)
    assert cpumask.num_possible_cpus(prog) == cpumask.num_present_cpus(prog) == cpus
    assert cpumask.num_online_cpus(prog) == cpus - offline
    online = list(cpumask.for_each_online_cpu(prog))
    # the corpus's online CPUs are one run: "N" alone, else "first-last"
    assert online == list(range(online[0], online[-1] + 1))
    expected = str(online[0]) if len(online) == 1 else f"{online[0]}-{online[-1]}"
    assert cpumask.cpumask_to_cpulist(cpumask.cpu_online_mask(prog)) == expected
    assert list(cpumask.for_each_possible_cpu(prog)) == list(range(cpus))
    snapshot = cpumask.cpu_possible_mask(prog).dereference_().read_()
    assert list(cpumask.for_each_cpu(snapshot)) == list(range(cpus))
