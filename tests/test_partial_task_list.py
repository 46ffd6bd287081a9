"""ps on 7.2's makedumpfile -d 31 dumps, which lack pages of task_structs, signal_structs and per-CPU
counters (makedumpfile 1.7.8 does not decode 7.1+'s struct page compound_info and drops the tail
pages of multi-page slabs): a partial answer held to crash's recording from the full vmcore.elf."""
import json
import re

import pytest

from corpus import dump_ids, named_pids, pycore_output, real_dumps

PARAMS = [(case, dump) for case, dump in real_dumps()
          if case.name.startswith("7.2-") and case.dump_level(dump["name"]) == 31 and case.reference("ps")]
if not PARAMS:
    pytest.skip("no 7.2 corpus case with a -d 31 dump and crash's ps", allow_module_level=True)

UNREAD = re.compile(r"pycore ps: (\d+) tasks? could not be read \(PIDs? ([\d, ]+)\): .*"
                    r"page excluded from the dump by makedumpfile's filter \(dump level 31\).*")


def _pid(line: str) -> int:
    return int(line[1:].split()[0])


def _named(err: str) -> list:
    return named_pids(UNREAD, err)


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_ps_prints_crash_lines_and_names_the_pids_it_could_not_read(case, dump):
    """Every line printed is crash's line, in crash's order; the PIDs printed and those the error line
    names (from the pid IDR) are crash's PIDs, each once; exit status 1."""
    crash = case.reference("ps").rstrip("\n").splitlines()
    run = pycore_output("ps", case.path(dump["name"]))
    if run.status == 0:  # which pages the filter drops depends on the build: this one kept every task's
        assert (run.out.rstrip("\n").splitlines(), run.err) == (crash, "")
        return
    assert run.status == 1
    mine = run.out.rstrip("\n").splitlines()
    assert mine[0] == crash[0]
    remaining = iter(crash[1:])
    assert all(line in remaining for line in mine[1:]), "a line that is not crash's, or out of crash's order"
    named = _named(run.err)
    printed = [_pid(line) for line in mine[1:]]
    assert not set(named) & set(printed)
    assert sorted(printed + named) == sorted(_pid(line) for line in crash[1:])


def test_ps_json_lists_the_unread_tasks():
    """--json: the rows read, and each task not read with its address and PID, as the error names them
    (on the first -d 31 dump whose ps is partial: which pages the filter drops depends on the build)."""
    partial = [(case, dump) for case, dump in PARAMS if pycore_output("ps", case.path(dump["name"])).status == 1]
    if not partial:
        pytest.skip("no -d 31 dump of this corpus build lacks a task's page")
    case, dump = partial[0]
    run = pycore_output("ps", "--json", case.path(dump["name"]))
    assert run.status == 1
    data = json.loads(run.out)
    error = json.loads(run.err)
    assert error["command"] == "ps"
    named = _named(f"pycore ps: {error['error']}")
    assert sorted(task["pid"] for task in data["unread"]) == sorted(named)
    assert all(task["task"] for task in data["unread"])
    assert not {task["task"] for task in data["unread"]} & {row["task"] for row in data["tasks"]}
