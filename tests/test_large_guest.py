"""The corpus's larger guest (6.12-large-l4: 4 GiB over two NUMA nodes, 4 CPUs, about 2200 tasks in
a spread of states; testdata/corpus/scenarios/large.sh).  The commands whose output grows with the
machine (ps, bt -a, kmem -i, kmem -z, runq) equal crash 9's recordings byte for byte, with and
without the vmlinux, and hold what the guest and its scenario say: every process of the guest's own
ps and no other, both nodes' zones, the spinners on the run queues of the CPUs they were bound to,
the stopped tasks and zombies, one trace per CPU.  The case's other recordings are met where every
case's are (test_real_commands.py, test_crash_task_commands.py, test_crash_state_commands.py)."""
import json
import os
import re
from collections import Counter

import pytest

from corpus import cases, pycore_output
from crash_reference import COMMANDS, Run, argv, assert_output, expect, known_gap, recordings

pytestmark = pytest.mark.real
CASE = next((case for case in cases() if case.name == "6.12-large-l4"), None)
if CASE is None:
    pytest.skip("no 6.12-large-l4 corpus case: testdata/corpus/build.py --case 6.12-large-l4 "
                "(the pure-Python run reads it with PYCORE_ALL_CASES=1)", allow_module_level=True)
DUMP = next(dump for dump in CASE.dumps() if dump["name"] == CASE.reference_dump)
MODES = [("dump only", ())]
if os.path.exists(CASE.vmlinux):
    MODES.append(("vmlinux", ("--vmlinux", CASE.vmlinux)))
# What large.sh started besides the 2000 sleeps: pycore-spin bound to CPUs 1, 2, 3 and 3 (init.sh's
# own spinner is not bound), 10 stopped sleeps, 10 zombie sleeps.
BOUND_SPINNERS = Counter({1: 1, 2: 1, 3: 2})
STOPPED = ZOMBIES = 10


def crash_comparisons() -> list:
    """(command, crash's recording, pycore's options) of the commands that grow with the machine, in
    both modes; a known gap is a strict xfail."""
    params = []
    for command in COMMANDS:
        if command.crash not in ("ps", "bt -a", "kmem -i", "kmem -z", "runq"):
            continue
        for reference in recordings(CASE, DUMP, command):
            for mode, options in MODES:
                params.append(pytest.param(command, reference, options, id=f"{command.crash}-{mode}",
                                           marks=known_gap(CASE.name, command.crash, mode, DUMP["name"])))
    return params


@pytest.mark.parametrize("command,reference,options", crash_comparisons())
def test_growing_command_is_crash_byte_for_byte(command, reference, options):
    """ps of ~2200 tasks, bt -a of 4 CPUs, kmem -i and kmem -z over two nodes, runq of 4 CPUs: crash's
    recording, up to crash_reference.DEVIATIONS."""
    run = Run(CASE, DUMP, command, argv(CASE, DUMP["name"], command, reference, *options),
              vmlinux=bool(options), against="crash", reference=reference)
    with open(CASE.path(reference["file"]), errors="replace") as f:
        crash_lines = f.read().rstrip("\n").splitlines()
    run, expected = expect(run, crash_lines)
    assert_output(pycore_output(*run.argv), expected, " ".join(run.argv))


def pycore_json(options, *words: str):
    """``pycore WORDS[0] DUMP WORDS[1:] --json OPTIONS``, asserting it succeeded."""
    result = pycore_output(words[0], CASE.path(DUMP["name"]), *words[1:], "--json", *options)
    assert (result.status, result.err) == (0, "")
    return json.loads(result.out)


def guest_processes() -> dict:
    """{pid: command} of the guest's busybox ps, save the ps itself (gone by the crash)."""
    found = {}
    for line in CASE.guest_view("ps").splitlines()[1:]:
        pid, _, command = line.split(None, 2)
        found[int(pid)] = command
    ps_itself = max(pid for pid, command in found.items() if command.startswith("{ps}") or command == "ps")
    del found[ps_itself]
    return found


def modes(test: str) -> list:
    return [pytest.param(options, id=mode, marks=known_gap(CASE.name, test, mode, DUMP["name"]))
            for mode, options in MODES]


@pytest.mark.parametrize("options", modes("test_tasks_are_exactly_the_guest_processes"))
def test_tasks_are_exactly_the_guest_processes(options):
    """Every process the guest's ps listed and no other, plus one idle task per CPU: busybox's
    processes have one thread each, and nothing started or ended between the listing and the crash
    but the ps itself and the scenario's `sleep 10`."""
    guest = guest_processes()
    assert sum(command == "sleep 100000" for command in guest.values()) >= 2000
    tasks = pycore_json(options, "ps")["tasks"]
    idle = [task for task in tasks if task["pid"] == 0]
    assert sorted(task["cpu"] for task in idle) == [0, 1, 2, 3]
    assert len(tasks) == len(guest) + len(idle)
    assert {task["pid"] for task in tasks} - {0} == set(guest)


@pytest.mark.parametrize("options", modes("test_stopped_tasks_and_zombies_keep_their_state"))
def test_stopped_tasks_and_zombies_keep_their_state(options):
    """large.sh's stopped sleeps are ST and its unreaped ones ZO, each a sleep."""
    states = Counter(task["state"] for task in pycore_json(options, "ps")["tasks"] if task["comm"] == "sleep")
    assert (states["ST"], states["ZO"]) == (STOPPED, ZOMBIES)
    assert states["IN"] >= 2000


@pytest.mark.parametrize("options", modes("test_both_nodes_have_their_zones"))
def test_both_nodes_have_their_zones(options):
    """kmem -z lists each node's zones, node 1 starting where the crashing kernel's boot put it
    (its first "Initmem setup" lines; the capture kernel's come after): the second half of memory,
    QEMU's memory backend of node 1."""
    zones = pycore_json(options, "kmem", "-z")
    assert {zone["node"] for zone in zones} == {0, 1}
    initmem = {}
    with open(CASE.path("console.log"), errors="replace") as f:
        for node, start in re.findall(r"Initmem setup node (\d) \[mem (0x[0-9a-f]+)-0x[0-9a-f]+\]", f.read()):
            initmem.setdefault(node, start)
    node1 = [zone for zone in zones if zone["node"] == 1 and zone["spanned_pages"]]
    assert node1 and min(zone["start_pfn"] for zone in node1) == int(initmem["1"], 16) >> 12
    assert sum(zone["present_pages"] for zone in node1) > 0


@pytest.mark.parametrize("options", modes("test_bound_spinners_are_on_their_cpus_run_queues"))
def test_bound_spinners_are_on_their_cpus_run_queues(options):
    """runq has the 4 CPUs, and the spinners large.sh bound to CPUs 1-3 each running or queued on
    their CPU (two on CPU 3: one waits)."""
    cpus = pycore_json(options, "runq")["cpus"]
    assert [cpu["cpu"] for cpu in cpus] == [0, 1, 2, 3]
    spinners = Counter()
    for cpu in cpus:
        queued = [cpu["current"]] + cpu["rt"] + cpu["cfs"]
        spinners[cpu["cpu"]] = sum(task["comm"] == "pycore-spin" for task in queued)
    assert all(spinners[cpu] >= count for cpu, count in BOUND_SPINNERS.items())
    assert sum(spinners.values()) == 5


@pytest.mark.parametrize("options", modes("test_bt_a_traces_every_cpu"))
def test_bt_a_traces_every_cpu(options):
    """bt -a: one trace per CPU, each with frames and no error."""
    traces = pycore_json(options, "bt", "-a")["traces"]
    assert [trace["cpu"] for trace in traces] == [0, 1, 2, 3]
    assert all(trace["frames"] and not trace["errors"] for trace in traces)


@pytest.mark.parametrize("options", modes("test_zombies_are_no_kernel_threads"))
def test_zombies_are_no_kernel_threads(options):
    """A zombie has no mm left, yet crash's is_kernel_thread says no for it (exit_state,
    PF_EXITING): ps writes the zombie sleeps unbracketed and ps -k leaves them out, while the
    kernel threads stay bracketed."""
    rows = pycore_json(options, "ps")["tasks"]
    zombies = [row for row in rows if row["state"] == "ZO"]
    assert len(zombies) == ZOMBIES and not any(row["kernel_thread"] for row in zombies)
    kernel = pycore_json(options, "ps", "-k")["tasks"]
    assert kernel and not any(row["state"] == "ZO" for row in kernel)
    assert {"kthreadd", "swapper/0"} <= {row["comm"] for row in kernel}


@pytest.mark.parametrize("options", modes("test_zombies_without_a_stack_are_no_stack"))
def test_zombies_without_a_stack_are_no_stack(options):
    """foreach ZO bt: each zombie's kernel stack was freed at its last switch (task_struct.stack 0),
    which crash writes ``(no stack)``, with no frame and no failed read."""
    result = pycore_output("foreach", "--json", *options, CASE.path(DUMP["name"]), "ZO", "bt")
    assert (result.status, result.err) == (0, "")
    traces = [trace for run in json.loads(result.out)["runs"] for trace in run["data"]["traces"]]
    assert len(traces) == ZOMBIES
    assert all(trace["lines"] == ["(no stack)"] and not trace["frames"] for trace in traces)


@pytest.mark.parametrize("options", modes("test_foreach_kernel_and_user_take_zombies_as_users"))
def test_foreach_kernel_and_user_take_zombies_as_users(options):
    """foreach kernel/user/gleader choose as crash's is_kernel_thread does: the zombie sleeps are
    user tasks and group leaders, none of them a kernel thread."""
    def states(word: str) -> Counter:
        result = pycore_output("foreach", *options, CASE.path(DUMP["name"]), word, "ps")
        assert (result.status, result.err) == (0, "")
        return Counter(line.split()[4] for line in result.out.splitlines()[1:] if line.strip())
    assert states("kernel")["ZO"] == 0
    assert states("user")["ZO"] == states("gleader")["ZO"] == ZOMBIES


@pytest.mark.parametrize("options", modes("test_bt_of_a_zombie_answers_no_stack"))
def test_bt_of_a_zombie_answers_no_stack(options):
    """bt PID of a zombie: crash's "(no stack)" is the whole answer, so bt succeeds (a trace that
    found nothing else still exits 1)."""
    zombie = next(row for row in pycore_json(options, "ps")["tasks"] if row["state"] == "ZO")
    result = pycore_output("bt", *options, CASE.path(DUMP["name"]), str(zombie["pid"]))
    assert (result.status, result.err) == (0, "")
    assert result.out.splitlines()[1:] == ["(no stack)"]
