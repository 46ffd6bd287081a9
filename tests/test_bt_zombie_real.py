"""bt -t and bt -T of a zombie whose kernel stack was freed at its last switch (task_struct.stack 0,
4.9+): the ten unreaped sleeps of the corpus's larger guest (6.12-large-l4).  crash's whole answer
is ``(no stack)``, as for bt; the corpus records no bt -t of a zombie, so crash 9.0.2's answer is
written here, with the command that produced it."""
import json
import os

import pytest

from corpus import cases, pycore_output

pytestmark = pytest.mark.real
CASE = next((case for case in cases() if case.name == "6.12-large-l4"), None)
if CASE is None:
    pytest.skip("no 6.12-large-l4 corpus case: testdata/corpus/build.py --case 6.12-large-l4 "
                "(the pure-Python run reads it with PYCORE_ALL_CASES=1)", allow_module_level=True)
MODES = [pytest.param((), id="dump only")]
if os.path.exists(CASE.vmlinux):
    MODES.append(pytest.param(("--vmlinux", CASE.vmlinux), id="vmlinux"))
ZOMBIES = 10
# /tmp/crashrun.sh 6.12-large-l4 <<< $'bt -t 2294\nbt -T 2294' (crash 9.0.2 on the case's
# reference dump and vmlinux): both print this.
ZOMBIE_PID, ZOMBIE_TASK = 2294, 0xffff8b5e89b8a100
CRASH_ANSWER = """\
PID: 2294     TASK: ffff8b5e89b8a100  CPU: 0    COMMAND: "sleep"
(no stack)
"""


@pytest.mark.parametrize("options", MODES)
@pytest.mark.parametrize("flag", ["-t", "-T"])
def test_bt_t_of_a_zombie_is_crashs_no_stack(flag, options):
    """No read of the freed stack's pages (pycore listed four "not in the dump" errors and exited 1)."""
    dump = CASE.path(CASE.reference_dump)
    tasks = json.loads(pycore_output("ps", dump, "--json").out)["tasks"]
    if not any(row["pid"] == ZOMBIE_PID and row["task"] == ZOMBIE_TASK for row in tasks):
        pytest.skip(f"the case was rebuilt since crash was asked: pid {ZOMBIE_PID} is not task {ZOMBIE_TASK:x}")
    assert pycore_output("bt", flag, *options, dump, str(ZOMBIE_PID)) == (0, CRASH_ANSWER, "")


@pytest.mark.parametrize("options", MODES)
def test_every_zombie_s_text_symbols_are_no_stack(options):
    """foreach ZO bt -t: each zombie's trace is crash's one line, with no frame and no other error."""
    result = pycore_output("foreach", "--json", *options, CASE.path(CASE.reference_dump), "ZO", "bt", "-t")
    assert (result.status, result.err) == (0, "")
    traces = [trace for run in json.loads(result.out)["runs"] for trace in run["data"]["traces"]]
    assert len(traces) == ZOMBIES
    assert all(trace["lines"] == ["(no stack)"] and not trace["frames"] and len(trace["errors"]) == 1
               for trace in traces)
