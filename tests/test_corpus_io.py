"""The corpus's io cases (testdata/corpus/scenarios/io.sh: null_blk's nullb0 whose requests never
complete in the guest's life, dd tasks waiting on them, two busybox nc joined over loopback TCP and
pycore-unix's unix sockets) against the crashing guest's own listings: its blocked tasks, nullb0's
in-flight counts, /proc/net/tcp and tcp6, and each socket holder's descriptors.  Skips where no io
case is built."""
import os
import re
from typing import Dict, List, Tuple

import pytest

import pycore
from pycore.kernel import block, net, pid, stack

from conftest import is_subsequence
from corpus import cases
from test_guest_view_real import pycore_json
from test_hang import guest_blocked

pytestmark = pytest.mark.real
CASES = [case for case in cases() if case.manifest.get("scenario") == "io"]
if not CASES:
    pytest.skip("no io case in the corpus: build.py --case 6.1-io-l4", allow_module_level=True)

AF_UNIX = 1
SOCK_STREAM = 1
TCP_ESTABLISHED = 1


def params() -> list:
    """(case, mode) of every io case, with the vmlinux too where it is downloaded."""
    return [pytest.param(case, mode, id=f"{case.name}-{mode.replace(' ', '-')}")
            for case in CASES for mode in ("dump only", "vmlinux")
            if mode == "dump only" or os.path.exists(case.vmlinux)]


def open_dump(case, mode: str):
    options = {"vmlinux": case.vmlinux} if mode == "vmlinux" else {}
    return pycore.open(case.path(case.reference_dump), **options)


def net_tasks(case) -> Dict[int, Tuple[str, str, Dict[int, str]]]:
    """{pid: (role, comm, {fd: what it points to})} of the guest's pycore-net-tasks listing."""
    found, current = {}, None
    for line in case.guest_view("net_tasks").splitlines():
        if line.startswith("  "):
            fd, target = line.split(None, 1)
            found[current][2][int(fd)] = target
        else:
            role, number, comm = line.split(" ", 2)
            current = int(number)
            found[current] = (role, comm, {})
    return found


def socket_inodes(descriptors: Dict[int, str]) -> Dict[int, int]:
    """{fd: socket inode} of a listing's descriptors that are sockets."""
    return {fd: int(m.group(1)) for fd, target in descriptors.items()
            if (m := re.fullmatch(r"socket:\[(\d+)\]", target))}


def tcp_table(text: str) -> List[Tuple[bytes, int, bytes, int, int, int]]:
    """(local address, port, remote address, port, state, inode) of each line of /proc/net/tcp or
    tcp6: the addresses as the kernel's 32-bit words print them, each word little-endian."""
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        (local, local_port), (remote, remote_port) = (f.split(":") for f in fields[1:3])
        words = [bytes.fromhex(address[i:i + 8])[::-1] for address in (local, remote)
                 for i in range(0, len(address), 8)]
        half = len(words) // 2
        rows.append((b"".join(words[:half]), int(local_port, 16), b"".join(words[half:]), int(remote_port, 16),
                     int(fields[3], 16), int(fields[9])))
    return rows


@pytest.mark.parametrize("case,mode", params())
def test_the_blocked_dd_tasks_are_uninterruptible_in_ps(case, mode):
    """Every task the guest listed in D state is a dd pycore's ps shows as UN: the direct reader,
    the fsync writer and the two buffered readers."""
    blocked = guest_blocked(case)
    assert len(blocked) == 4 and {comm for comm, _ in blocked.values()} == {"dd"}
    tasks = {t["pid"]: (t["comm"], t["state"]) for t in pycore_json(case, mode, "ps")["tasks"]}
    assert {p: tasks.get(p) for p in blocked} == {p: ("dd", "UN") for p in blocked}


@pytest.mark.parametrize("case,mode", params())
def test_the_blocked_dd_tasks_frames_hold_the_guests_stacks_in_order(case, mode):
    """Each blocked dd's /proc/PID/stack (the kernel's unwind less the scheduler's own functions) is
    in order among the frames of pycore's walk of it: where crash 9.0.2 on 7.2 walks on into stale
    frames (crash_reference.KNOWN_GAPS), the guest decides."""
    with open_dump(case, mode) as prog:
        unwinder = stack.Unwinder(prog)
        for number, (_, functions) in guest_blocked(case).items():
            trace = stack.reliable_trace(prog, int(pid.find_task(prog, None, number)), unwinder)
            names = [frame.symbol for frame in trace]
            assert not trace.errors and is_subsequence(functions, names), (number, functions, names)


@pytest.mark.parametrize("case,mode", params())
def test_the_socket_holders_are_in_ps_under_their_comm(case, mode):
    holders = net_tasks(case)
    assert sorted(role for role, _, _ in holders.values()) == ["nc-client", "nc-listener", "pycore-unix"]
    tasks = {t["pid"]: t["comm"] for t in pycore_json(case, mode, "ps")["tasks"]}
    assert {p: tasks.get(p) for p in holders} == {p: comm for p, (_, comm, _) in holders.items()}


@pytest.mark.parametrize("case,mode", params())
def test_the_requests_in_flight_on_nullb0_are_the_guests_inflight_count(case, mode):
    """/sys/block/nullb0/inflight (reads, writes) is what pycore finds in flight on nullb0, each
    request null_blk's: none of them completes before the crash."""
    reads, writes = map(int, case.guest_view("inflight").split())
    with open_dump(case, mode) as prog:
        requests = [r for r in block.requests_in_flight(prog) if r.disk == "nullb0"]
    assert (sum(not r.write for r in requests), sum(r.write for r in requests)) == (reads, writes)
    assert writes >= 1 and reads >= 2
    assert {r.driver for r in requests} == {"null_blk"}


@pytest.mark.parametrize("case,mode", params())
def test_each_socket_descriptor_of_the_guest_is_one_pycore_finds(case, mode):
    """The descriptors /proc/PID/fd shows as sockets are task_sockets' of each holder, by number;
    pycore-unix's are unix stream sockets."""
    holders = net_tasks(case)
    with open_dump(case, mode) as prog:
        for number, (role, _, descriptors) in holders.items():
            sockets = net.task_sockets(pid.find_task(prog, None, number))
            assert [s.fd for s in sockets] == sorted(socket_inodes(descriptors)), role
            if role == "pycore-unix":
                assert {(s.family, s.type) for s in sockets} == {(AF_UNIX, SOCK_STREAM)}


@pytest.mark.parametrize("case,mode", params())
def test_the_nc_pair_is_the_guests_established_loopback_connection(case, mode):
    """The client's socket has the addresses and ports /proc/net/tcp gives its inode (busybox nc
    listens on IPv6: the listener's accepted socket is in tcp6, with the client's v4-mapped address)."""
    holders = net_tasks(case)
    client = next(descriptors for role, _, descriptors in holders.values() if role == "nc-client")
    listener = next(descriptors for role, _, descriptors in holders.values() if role == "nc-listener")
    (client_fd, client_inode), = socket_inodes(client).items()
    rows = {row[5]: row for row in tcp_table(case.guest_view("tcp"))}
    local, local_port, remote, remote_port, state, _ = rows[client_inode]
    assert (local, remote, remote_port, state) == (bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]), 7777,
                                                    TCP_ESTABLISHED)
    accepted = {row[5]: row for row in tcp_table(case.guest_view("tcp6"))}
    listener_inodes = set(socket_inodes(listener).values())
    assert any(row[1] == 7777 and row[3] == local_port and row[4] == TCP_ESTABLISHED
               for inode, row in accepted.items() if inode in listener_inodes)
    with open_dump(case, mode) as prog:
        sockets = {s.fd: s for s in net.task_sockets(pid.find_task(prog, None, next(
            p for p, (role, _, _) in holders.items() if role == "nc-client")))}
    ours = sockets[client_fd]
    assert (ours.family, ours.type) == (net.AF_INET, SOCK_STREAM)
    assert (ours.source, ours.source_port, ours.destination, ours.destination_port) == \
        (local, local_port, remote, remote_port)
