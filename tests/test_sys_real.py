"""``pycore sys --json`` on every real case: the numbers behind crash's text agree with ps and runq, and
the JSON carries what the text cannot (the kernel's own HZ next to crash's guess).  The text of sys,
ps and runq against crash 9: test_real_commands."""
import json

import pytest

from corpus import cases, cli_output, real_dumps
from crash_reference import with_known_gaps

pytestmark = pytest.mark.real
real_dumps()


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_sys_tasks_count_is_the_ps_listing(case):
    dump = case.path(case.reference_dump)
    info = json.loads(cli_output("sys", "--json", dump))
    tasks = json.loads(cli_output("ps", "--json", dump))["tasks"]
    assert info["tasks"] == len(tasks)
    # Every CPU's idle task is listed, and one task per CPU is marked active.
    assert [t["cpu"] for t in tasks if t["pid"] == 0] == list(range(info["cpus"]))
    assert sum(t["active"] for t in tasks) == info["cpus"]
    runq = json.loads(cli_output("runq", "--json", dump))["cpus"]
    active = {t["task"] for t in tasks if t["active"]}
    assert {rq["current"]["task"] for rq in runq} == active


@pytest.mark.parametrize("case", with_known_gaps("test_sys_json_gives_the_kernel_hz_next_to_crash_hz", cases(),
                                                [c.name for c in cases()]))
def test_sys_json_gives_the_kernel_hz_next_to_crash_hz(case):
    info = json.loads(cli_output("sys", "--json", case.path(case.reference_dump)))
    assert info["kernel_hz"] == 250        # Debian's CONFIG_HZ
    assert info["hz"] in (250, 1000)       # crash's guess: 1000 when mq-deadline is a module
    guest = case.guest_view("uptime")  # /proc/uptime a few seconds before the crash
    if guest:
        assert float(guest.split()[0]) <= info["kernel_uptime_seconds"] + 1 < float(guest.split()[0]) + 300
    else:
        assert info["kernel_uptime_seconds"] < 600  # the guest crashes within minutes of boot
    assert info["panic"].startswith("Kernel panic - not syncing: ")
    assert info["release"] == case.manifest["kernel_release"]
