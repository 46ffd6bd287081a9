"""``pycore sys``, ``ps`` and ``runq`` on every real dump (corpus and sample) against crash 9's output.

Deliberate difference: without a vmlinux the KERNEL line says where symbols and types came from
(crash prints the vmlinux path; with ``--vmlinux`` the line is crash's).  ps and runq were recorded
on each case's reference dump only; every other format of the case must give the same answer.
"""
import json
import os

import pytest

from corpus import cases, cli_output as run, dump_ids, dump_params, reference_lines

pytestmark = pytest.mark.real
PARAMS = dump_params()
if not PARAMS:
    pytest.skip("no real dumps: run testdata/corpus/build.sh (the sample in testdata/sample is missing too)",
                allow_module_level=True)


def split_path_lines(lines):
    """(KERNEL value, DUMPFILE value, the other lines)."""
    assert lines[0].startswith("      KERNEL: ") and lines[1].startswith("    DUMPFILE: ")
    return lines[0][14:], lines[1][14:], lines[2:]


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_sys_matches_crash_line_for_line(case, dump, capsys):
    expected = reference_lines(case, "sys", dump)
    path = case.path(dump["name"])
    got = run(capsys, "sys", path).rstrip("\n").splitlines()
    kernel, dumpfile, rest = split_path_lines(got)
    _, expected_dumpfile, expected_rest = split_path_lines(expected)
    assert kernel.startswith("(no vmlinux: symbols from kallsyms")
    partial = dump["format"] in ("kdump", "flattened") and (dump["dump_level"] > 0 or
                                                            dump["captured_by"].startswith("qemu"))
    assert dumpfile == path + ("  [PARTIAL DUMP]" if partial else "")
    if case.reference("sys", dump["name"]) is not None:
        # crash recorded this very file: its DUMPFILE line is ours, up to how the path was spelled.
        assert os.path.basename(expected_dumpfile.split()[0]) == dump["name"]
        assert expected_dumpfile.endswith("[PARTIAL DUMP]") == partial
    assert rest == expected_rest


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_sys_tasks_count_is_the_ps_listing(case, capsys):
    dump = case.path(case.manifest["reference_dump"])
    info = json.loads(run(capsys, "sys", "--json", dump))
    tasks = json.loads(run(capsys, "ps", "--json", dump))["tasks"]
    assert info["tasks"] == len(tasks)
    # Every CPU's idle task is listed, and one task per CPU is marked active.
    assert [t["cpu"] for t in tasks if t["pid"] == 0] == list(range(info["cpus"]))
    assert sum(t["active"] for t in tasks) == info["cpus"]
    runq = json.loads(run(capsys, "runq", "--json", dump))["cpus"]
    active = {t["task"] for t in tasks if t["active"]}
    assert {rq["current"]["task"] for rq in runq} == active


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_sys_json_gives_the_kernel_hz_next_to_crash_hz(case, capsys):
    info = json.loads(run(capsys, "sys", "--json", case.path(case.manifest["reference_dump"])))
    assert info["kernel_hz"] == 250        # Debian's CONFIG_HZ
    assert info["hz"] in (250, 1000)       # crash's guess: 1000 when mq-deadline is a module
    assert info["kernel_uptime_seconds"] < 60  # every corpus guest crashed within a minute of boot
    assert info["panic"].startswith("Kernel panic - not syncing: ")
    assert info["release"] == case.manifest["kernel_release"]


@pytest.mark.parametrize("case", [c for c in cases() if os.path.exists(c.vmlinux)],
                         ids=lambda c: c.name)
def test_with_vmlinux_even_the_kernel_line_is_crash(case, capsys):
    pytest.importorskip("pycore.types.dwarf")
    dump = case.path(case.manifest["reference_dump"])
    vmlinux = case.vmlinux
    for command in ("sys", "ps", "runq"):
        expected = reference_lines(case, command, {"name": case.manifest["reference_dump"]})
        got = run(capsys, command, dump, "--vmlinux", vmlinux).rstrip("\n").splitlines()
        if command == "sys":
            assert got[0] == expected[0]
            got, expected = got[2:], expected[2:]
        assert got == expected, command
