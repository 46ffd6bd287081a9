"""ps and bt on a kdump file cut short (a copy that ran out of disk, a transfer stopped early): the
committed sample with its last 5% gone lacks the highest page frames, among them both CPUs'
runqueues and the task_structs of ten tasks.  Each command answers for what it can read, held to
its answer on the whole file, names what it could not read on its one error line, and exits 1."""
import re

import pytest

from corpus import named_pids, pycore_output

SAMPLE = "testdata/sample/vmcore"
UNREAD = re.compile(r"pycore (?:ps|bt): (\d+) tasks? could not be read \(PIDs? ([\d, ]+)\): "
                    r"unreadable \(the dump is incomplete: .*")


@pytest.fixture(scope="module")
def truncated(tmp_path_factory) -> str:
    with open(SAMPLE, "rb") as f:
        data = f.read()
    path = tmp_path_factory.mktemp("truncated") / "vmcore"
    path.write_bytes(data[:len(data) * 95 // 100])
    return str(path)


def _pid(line: str) -> int:
    return int(line[1:].split()[0])


@pytest.mark.parametrize("reader", [(), ("--pure",)], ids=["default", "pure"])
def test_ps_lists_the_tasks_it_reaches_and_names_the_others(truncated, reader):
    """Each row is the whole file's row (no task is marked running: the runqueues are gone), in its
    order; the PIDs printed and those named cover the whole file's, each once, but CPU 1's idle task."""
    whole = pycore_output("ps", SAMPLE, *reader).out.rstrip("\n").splitlines()
    run = pycore_output("ps", truncated, *reader)
    assert run.status == 1
    mine = run.out.rstrip("\n").splitlines()
    assert mine[0] == whole[0] and len(mine) > 40
    remaining = iter(" " + line[1:] for line in whole[1:])
    assert all(line in remaining for line in mine[1:]), "a row that is not the whole file's, or out of order"
    named = named_pids(UNREAD, run.err)
    printed = [_pid(line) for line in mine[1:]]
    assert not set(named) & set(printed)
    whole_pids = [_pid(line) for line in whole[1:]]
    whole_pids.remove(0)  # swapper/1, whose runqueue names it
    assert sorted(printed + named) == sorted(whole_pids)


@pytest.mark.parametrize("reader", [(), ("--pure",)], ids=["default", "pure"])
def test_bt_all_tasks_shows_the_tasks_it_reaches_and_names_the_others(truncated, reader):
    """bt --all-tasks: each trace's header is one of the whole file's, and the tasks shown and named
    cover the whole file's but CPU 1's idle task; the same error line as ps's; exit status 1."""
    whole = pycore_output("bt", "--all-tasks", SAMPLE, *reader).out
    run = pycore_output("bt", "--all-tasks", truncated, *reader)
    assert run.status == 1
    headers = [line for line in run.out.splitlines() if line.startswith("PID: ")]
    whole_headers = [line for line in whole.splitlines() if line.startswith("PID: ")]
    assert len(headers) > 40 and set(headers) <= set(whole_headers)
    named = named_pids(UNREAD, run.err)
    assert run.err == pycore_output("ps", truncated, *reader).err.replace("pycore ps:", "pycore bt:")
    shown = [int(header.split()[1]) for header in headers]
    assert sorted(shown + named) == sorted(int(header.split()[1]) for header in whole_headers
                                           if "swapper/1" not in header)


def test_bt_a_says_the_runqueues_are_missing_not_the_registers(truncated):
    """The CPU notes are at the file's start: the registers are there, the tasks they belong to are not."""
    run = pycore_output("bt", "-a", truncated)
    assert (run.status, run.out) == (1, "")
    assert run.err.startswith("pycore bt: no active task to show: the task running on CPU 0, 1 could not be read "
                              "(its runqueue's rq->curr or its task_struct is not in the dump): "
                              "unreadable (the dump is incomplete")


@pytest.fixture(scope="module")
def cpu_1_left(tmp_path_factory) -> str:
    """The sample without its last 2.5%: CPU 1's runqueue and running task (init) are still there,
    CPU 0's running task_struct (pycore-spin) is not."""
    with open(SAMPLE, "rb") as f:
        data = f.read()
    path = tmp_path_factory.mktemp("truncated") / "vmcore"
    path.write_bytes(data[:len(data) * 975 // 1000])
    return str(path)


@pytest.mark.parametrize("command", [("bt", "-a"), ("runq",)], ids=["bt -a", "runq"])
def test_a_cpu_whose_running_task_is_lost_leaves_the_others_whole(cpu_1_left, command):
    """bt -a and runq print CPU 1 as on the whole file and name CPU 0 on their error line; exit status 1."""
    whole = pycore_output(command[0], SAMPLE, *command[1:]).out.rstrip("\n").split("\n\n")
    run = pycore_output(command[0], cpu_1_left, *command[1:])
    assert run.status == 1
    assert run.out.rstrip("\n").split("\n\n") == [block for block in whole if "CPU: 1 " in block
                                                   or block.startswith("CPU 1 ")]
    assert re.match(r"pycore (bt: the task running on CPU 0 could not be read \(its runqueue's rq->curr or its "
                    r"task_struct is not in the dump\)|runq: the runqueue of CPU 0 could not be read): "
                    r"unreadable \(the dump is incomplete", run.err)


def test_foreach_bt_is_bt_all_tasks_and_names_the_same_tasks(truncated):
    """foreach bt walks the same broken task list: bt --all-tasks' traces, and its error line."""
    run = pycore_output("foreach", truncated, "bt")
    alone = pycore_output("bt", "--all-tasks", truncated)
    assert run.status == 1 and run.out == alone.out
    assert run.err == alone.err.replace("pycore bt:", "pycore foreach:")


@pytest.mark.parametrize("reader", [(), ("--pure",)], ids=["default", "pure"])
def test_sys_shows_every_line_it_can_read_and_names_the_others(truncated, reader):
    """sys: MEMORY (the zones' present pages) and TASKS lie on the lost pages and say (unreadable);
    every other line is the whole file's; one error line names the two; exit status 1."""
    whole = pycore_output("sys", SAMPLE, *reader).out.splitlines()
    run = pycore_output("sys", truncated, *reader)
    assert run.status == 1
    mine = run.out.splitlines()
    assert len(mine) == len(whole)
    for line, theirs in zip(mine, whole):
        if line.split(":")[0].strip() in ("MEMORY", "TASKS"):
            assert line.endswith(": (unreadable)") and not theirs.endswith("(unreadable)")
        elif not line.lstrip().startswith("DUMPFILE"):
            assert line == theirs
    assert run.err.startswith("pycore sys: MEMORY, TASKS unreadable: unreadable (the dump is incomplete")
