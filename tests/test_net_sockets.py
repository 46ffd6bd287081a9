"""Sockets a task holds open, against crash 9's answers on the io cases (6.1-io-l4, 7.2-io-l4): two
busybox nc holding a loopback TCP connection (one end IPv6 with v4-mapped addresses, the other
IPv4) and pycore-unix's unix sockets.  The recordings (foreach nc net -s / -S, foreach nc files,
foreach pycore-unix net -s) are compared whole on the dump crash read, without and with the vmlinux;
crash's answers to ``net -s/-S -R REF`` are kept here with the command asked.
"""
import os
import re

import pytest

from cli_cases import argv
from corpus import cases, pycore_output
from pycore.cli.net import _referenced
from pycore.kernel.net import OpenSocket

RECORDED = ["foreach nc net -s", "foreach nc net -S", "foreach nc files", "foreach pycore-unix net -s"]
MODES = ["dump only", "vmlinux"]

# crash 9.0.2's answers (with the vmlinux) on the case's reference dump.  With -R crash keeps its
# reference flags across the tasks of one command: one task header, before the first task holding
# REF, and an empty line after each task from that one on (132 holds no descriptor 3: only its line).
# A decimal REF above the task's max_fds is hexadecimal (crash's dump_sockets_workhorse).
ANSWERS = {
    "6.1-io-l4": {
        "net -s -R 4 132": [
            'PID: 132      TASK: ffff8ee84677c180  CPU: 0    COMMAND: "nc"',
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 4 ffff8ee84218c9c0 ffff8ee846344440 INET6:STREAM 0:0:0:0:0:ffff:7f00:1-7777 "
            "0:0:0:0:0:ffff:7f00:1-38266",
            ""],
        "net -s -R 3 134 132 135": [
            'PID: 134      TASK: ffff8ee84677a0c0  CPU: 0    COMMAND: "nc"',
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 3 ffff8ee84218cd00 ffff8ee8427d6c00 INET:STREAM  127.0.0.1-38266 127.0.0.1-7777",
            "",
            "",
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 3 ffff8ee8414889c0 ffff8ee8425f4c00 UNIX:STREAM ",
            ""],
        "net -s -R ffff8ee84218cd00 134 135": [
            'PID: 134      TASK: ffff8ee84677a0c0  CPU: 0    COMMAND: "nc"',
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 3 ffff8ee84218cd00 ffff8ee8427d6c00 INET:STREAM  127.0.0.1-38266 127.0.0.1-7777",
            "",
            ""],
        "net -s -R 9 132": [],
        "net -s -R ffff8ee846344440": [],
    },
    "7.2-io-l4": {
        "net -s -R 4 149": [
            'PID: 149      TASK: ffff8c4cc3870000  CPU: 1    COMMAND: "nc"',
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 4 ffff8c4cc14a9080 ffff8c4cc2308000 INET6:STREAM 0:0:0:0:0:ffff:7f00:1-7777 "
            "0:0:0:0:0:ffff:7f00:1-45720",
            ""],
        "net -s -R 3 151 149 152": [
            'PID: 151      TASK: ffff8c4cc27da300  CPU: 1    COMMAND: "nc"',
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 3 ffff8c4cc14aa740 ffff8c4cc232e880 INET:STREAM  127.0.0.1-45720 127.0.0.1-7777",
            "",
            "",
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 3 ffff8c4cc14aa400 ffff8c4cc3811680 UNIX:STREAM ",
            ""],
        "net -s -R ffff8c4cc14aa740 151 152": [
            'PID: 151      TASK: ffff8c4cc27da300  CPU: 1    COMMAND: "nc"',
            "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT",
            " 3 ffff8c4cc14aa740 ffff8c4cc232e880 INET:STREAM  127.0.0.1-45720 127.0.0.1-7777",
            "",
            ""],
        "net -s -R 9 149": [],
        "net -s -R ffff8c4cc2308000": [],
    },
}
# crash's net -S -R FD PID is that task's block of its foreach nc net -S and an empty line (asked of
# crash on 6.1-io-l4: net -S -R 4 132), here checked on every io case's first nc.
S_REFERENCE = "foreach nc net -S"


def io_cases():
    return [case for case in cases() if "-io-" in case.name and os.path.exists(case.path(case.reference_dump))]


def run(case, command: str, mode: str):
    options = ["--vmlinux", case.vmlinux] if mode == "vmlinux" else []
    if mode == "vmlinux" and not os.path.exists(case.vmlinux):
        pytest.skip(f"{case.name} has no vmlinux here")
    return pycore_output(*argv(case, command, options))


@pytest.mark.real
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("command", RECORDED)
@pytest.mark.parametrize("case", io_cases(), ids=lambda case: case.name)
def test_recorded_sockets_and_files_are_crash_answer(case, command, mode):
    expected = case.reference(command, case.reference_dump)
    if expected is None:
        pytest.skip(f"{case.name} recorded no {command}")
    result = run(case, command, mode)
    assert (result.status, result.err) == (0, "")
    assert result.out == (expected if expected.endswith("\n") else expected + "\n")


def answers():
    by_name = {case.name: case for case in io_cases()}
    return [pytest.param(by_name[name], command, lines, mode, id=f"{name}/{command}/{mode}")
            for name, commands in ANSWERS.items() if name in by_name
            for command, lines in commands.items() for mode in MODES]


@pytest.mark.real
@pytest.mark.parametrize("case,command,lines,mode", answers())
def test_net_reference_is_crash_answer(case, command, lines, mode):
    # Kept answers hold for the boot crash answered on: a rebuilt corpus has other tasks' addresses
    # (and PIDs); the case's first answered task tells the boot.
    header = next(re.match(r"PID: (\d+) +TASK: ([0-9a-f]+)", line) for answer in ANSWERS[case.name].values()
                  for line in answer if line.startswith("PID: "))
    recorded = re.search(rf"^>? +{header.group(1)} +\d+ +\d+ +([0-9a-f]+) ", case.reference("ps"), re.M)
    if recorded is None or recorded.group(1) != header.group(2):
        pytest.skip(f"answers kept from another boot of {case.name} (PID {header.group(1)} is not task "
                    f"{header.group(2)} in this build's ps)")
    result = run(case, command, mode)
    assert (result.status, result.err, result.out) == (0, "", "\n".join(lines) + "\n" if lines else "")


@pytest.mark.real
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", io_cases(), ids=lambda case: case.name)
def test_net_S_reference_is_the_task_block_of_foreach_net_S(case, mode):
    recorded = case.reference(S_REFERENCE, case.reference_dump)
    if recorded is None:
        pytest.skip(f"{case.name} recorded no {S_REFERENCE}")
    block = recorded.split("\n\nPID: ")[0].rstrip("\n")
    pid = block.split()[1]
    fd = block.split("\n")[2].split()[0]
    result = run(case, f"net -S -R {fd} {pid}", mode)
    assert (result.status, result.err, result.out) == (0, "", block + "\n\n")


@pytest.mark.real
@pytest.mark.parametrize("case", io_cases()[:1], ids=lambda case: case.name)
def test_foreach_net_reference_ends_with_crash_empty_line(case):
    """crash's foreach nc net -s -R FD: the one nc holding descriptor FD, then an empty line."""
    recorded = case.reference("foreach nc net -s", case.reference_dump)
    block = next(block for block in recorded.split("\n\n") if block.split("\n")[2].split()[0] == "3")
    result = run(case, "foreach nc net -s -R 3", "dump only")
    assert result.out == block.rstrip("\n") + "\n\n"


def test_a_decimal_reference_past_the_descriptor_table_is_an_address():
    """crash reads a decimal REF above the task's max_fds as hexadecimal: 100 with 64 descriptors
    is 0x100, which names descriptor 256, not 100."""
    assert _referenced(OpenSocket(100, 0xffff888001000000, 0), "100", 128)
    assert not _referenced(OpenSocket(100, 0xffff888001000000, 0), "100", 64)
    assert _referenced(OpenSocket(0x100, 0xffff888001000000, 0), "100", 64)
