"""pycore hang on I/O that never completes: made-up requests tied to made-up tasks (a bio on the
task's stack, a bi_private naming it, the folio it waits on among a bio's pages); and on the corpus's
io cases, 6.1 and 7.2 (testdata/corpus/scenarios/io.sh: null_blk requests that end only after 180 s)
the requests in flight against the guest's own /sys/block/nullb0/inflight and crash's dev -d, the
direct reader waiting for its bio, the buffered reader for the lock of the page its readahead reads,
the dd processes queued behind it on the device's i_rwsem, and triage's signature of the hung-task
panic, checked against the guest's listing of its blocked tasks and crash's foreach bt.  The corpus
tests skip where a case is not built."""
import json
import re

import pytest

from pycore.analysis import hang
from pycore.kernel import block
from pycore.types.model import Member, int_type, pointer_type, struct_type, void_type

from conftest import is_subsequence
from corpus import cases, cli_output
from fake_program import BASE, FakeProgram
from test_hang import crash_frames, crash_ps, guest_blocked, hang_report, params

# -- made-up requests and tasks ---------------------------------------------------------------

TASKS = [BASE + 0x100, BASE + 0x200, BASE + 0x300]
STACKS = [BASE + 0x4000, BASE + 0x8000, BASE + 0xC000]
FOLIO = 0xFFFFEA0000400000


def io_program():
    prog = FakeProgram(size=0x10000)
    prog.types.types[("struct", "task_struct")] = struct_type("task_struct", 16, [
        Member("__state", int_type("unsigned int", 4, False), 0), Member("stack", pointer_type(void_type()), 64)])
    for task, stack in zip(TASKS, STACKS):
        prog.put(task + 8, stack)
    return prog


def entry(task: int, folio=None):
    return {"task": task, "pid": task & 0xFFF, "comm": "dd", "wait": {"folio": folio}, "io": []}


def request(sector: int, bios):
    return block.Request(BASE + 0x3000 + sector, "nullb0", sector, 4096, "read", False, 1_000_000_000, 3, "null_blk",
                         bios)


def test_a_task_waits_for_the_request_whose_bio_is_on_its_stack_names_it_or_holds_its_folio():
    prog = io_program()
    tasks = [entry(TASKS[0]), entry(TASKS[1]), entry(TASKS[2], folio=FOLIO)]
    on_stack = request(64, [block.Bio(STACKS[0] + 0x3E00, 0, "submit_bio_wait_endio")])
    # The direct I/O loop's bi_private is the task; submit_bio_wait's is a completion on its stack.
    named = request(72, [block.Bio(BASE + 0x2000, TASKS[1], "blkdev_bio_end_io_simple")])
    completion = request(80, [block.Bio(BASE + 0x2100, STACKS[1] + 0x3F00, "submit_bio_wait_endio")])
    readahead = request(128, [block.Bio(BASE + 0x2200, 0, "mpage_end_io", [FOLIO - 64, FOLIO])])
    elsewhere = request(256, [block.Bio(BASE + 0x2300, BASE + 0x2400, "mpage_end_io", [FOLIO + 64])])
    hang.attach_io(prog, tasks, [on_stack, named, completion, readahead, elsewhere], 13_500_000_000)
    assert [(r["sector"], r["how"]) for r in tasks[0]["io"]] == [(64, "its bio, on its stack")]
    assert [(r["sector"], r["how"]) for r in tasks[1]["io"]] == [
        (72, "its bio's bi_private (its end_io wakes it)"), (80, "its bio's bi_private (its end_io wakes it)")]
    assert [(r["sector"], r["how"]) for r in tasks[2]["io"]] == [
        (128, "the folio it waits on is in the bio (mpage_end_io)")]
    assert tasks[2]["io"][0]["age_secs"] == 12.5 and tasks[2]["io"][0]["driver"] == "null_blk"


def test_an_io_root_explains_the_request_and_signs_by_its_disk():
    prog = io_program()
    task = entry(TASKS[0])
    task.update(state="UN", owner=None, lock_object=None, lock_details={}, flush=None, folio=None,
                wait={"kind": "io", "function": "submit_bio_wait", "caller": "__blkdev_direct_IO_simple", "lock": None,
                      "write": None, "frames": ["__schedule", "submit_bio_wait"], "folio": None, "folio_bit": None})
    hang.attach_io(prog, [task], [request(64, [block.Bio(STACKS[0] + 0x3E00, 0, "submit_bio_wait_endio")])], None)
    (chain,) = hang.wait_graph([task])
    assert chain["explanation"] == (
        f"dd (pid {task['pid']}) waits for its read of 4096 bytes at sector 64 of nullb0 (in submit_bio_wait), which "
        f"was submitted and is not yet completed by the driver (null_blk).")
    assert hang.signature([task], [chain])[:2] == ("task hung in io wait on nullb0",
                                                   ["submit_bio_wait", "__blkdev_direct_IO_simple"])


# -- the corpus -------------------------------------------------------------------------------

IO = [p for p in params(hung_only=False) if p.values[0].manifest.get("scenario") == "io"]
IO_CASES = [c for c in cases() if c.manifest.get("scenario") == "io"]


def guest_tasks(case, *functions: str):
    """The pids whose stack in the guest's listing of its blocked tasks has all of ``functions``."""
    return sorted(pid for pid, (_, frames) in guest_blocked(case).items() if set(functions) <= set(frames))


def guest_in_flight(case):
    """(reads, writes) of the guest's /sys/block/nullb0/inflight."""
    reads, writes = case.guest_view("inflight").split()
    return int(reads), int(writes)


def crash_dev_d(case):
    """(read, write) of nullb0 in crash's dev -d, None where the case did not record it."""
    text = case.reference("dev -d")
    if text is None:
        return None
    line = next(line for line in text.splitlines() if " nullb0 " in line)
    total, read, write = line.split()[4:7]
    assert int(total) == int(read) + int(write)
    return int(read), int(write)


def tasks_by_pid(report):
    return {entry["pid"]: entry for entry in report["tasks"]}


@pytest.mark.parametrize("case,mode", IO)
def test_the_requests_in_flight_are_the_guests_and_crashs(case, mode):
    report = hang_report(case, mode)
    requests = report["requests"]
    counts = (sum(not r["write"] for r in requests), sum(r["write"] for r in requests))
    assert counts == guest_in_flight(case)
    if crash_dev_d(case) is not None:
        assert counts == crash_dev_d(case)
    assert {(r["disk"], r["driver"]) for r in requests} == {("nullb0", "null_blk")}
    assert all(r["op"] in ("read", "write") and r["bytes"] % 4096 == 0 and r["sector"] % 8 == 0 for r in requests)
    # A request a task waits for was submitted before it went to sleep (or by another task before).
    for entry in report["tasks"]:
        for request in entry["io"]:
            assert request["age_secs"] >= entry["waited_ns"] / 1e9 - 0.5


@pytest.mark.parametrize("case,mode", IO)
def test_the_direct_reader_waits_for_the_bio_on_its_stack(case, mode):
    (pid,) = guest_tasks(case, "__blkdev_direct_IO_simple")
    report = hang_report(case, mode)
    task = tasks_by_pid(report)[pid]
    assert (task["wait"]["kind"], task["wait"]["function"], task["wait"]["caller"]) == \
        ("io", "submit_bio_wait", "__blkdev_direct_IO_simple")
    (request,) = task["io"]
    # dd iflag=direct bs=4096 count=1: one page read into its buffer.
    assert (request["op"], request["bytes"], request["how"]) == ("read", 4096, "its bio, on its stack")
    chain = next(c for c in report["chains"] if c["root"] == pid)
    assert chain["explanation"] == (
        f"dd (pid {pid}) waits for its read of 4096 bytes at sector {request['sector']} of nullb0 (in submit_bio_wait), "
        f"which was submitted {request['age_secs']:.2f} s ago and is not yet completed by the driver (null_blk).")


@pytest.mark.parametrize("case,mode", IO)
def test_the_page_cache_waiters_wait_for_the_request_that_has_their_page(case, mode):
    readers = guest_tasks(case, "folio_wait_bit_common", "filemap_read")
    writers = guest_tasks(case, "folio_wait_bit_common", "folio_wait_writeback")
    assert readers or writers
    report = hang_report(case, mode)
    tasks = tasks_by_pid(report)
    for pids, bit, op in ((readers, "locked", "read"), (writers, "writeback", "write")):
        for pid in pids:
            task = tasks[pid]
            assert (task["wait"]["kind"], task["wait"]["folio_bit"]) == ("folio", bit)
            folio = task["folio"]
            (request,) = task["io"]
            # The bdev's page cache: the page's index is its place on the disk, inside the request.
            assert (folio["disk"], folio["sector"]) == ("nullb0", folio["index"] * 8)
            assert request["sector"] <= folio["sector"] < request["sector"] + request["bytes"] // 512
            assert request["op"] == op and request["how"].startswith("the folio it waits on is in the bio")
            chain = next(c for c in report["chains"] if c["root"] == pid)
            assert chain["explanation"].startswith(
                f"dd (pid {pid}) waits for the {'lock' if bit == 'locked' else 'writeback'} of the page at sector "
                f"{folio['sector']} of nullb0 (index {folio['index']} of its page cache) (in {task['wait']['function']}), "
                f"whose {op} of {request['bytes']} bytes at sector {request['sector']} of nullb0 was submitted ")


@pytest.mark.parametrize("case,mode", IO)
def test_the_seeking_dds_queue_behind_the_reader_holding_the_devices_i_rwsem(case, mode):
    seekers = guest_tasks(case, "blkdev_llseek")
    if not seekers:
        pytest.skip(f"{case.name}: no dd waits in blkdev_llseek")
    (reader,) = guest_tasks(case, "folio_wait_bit_common", "filemap_read")
    report = hang_report(case, mode)
    tasks = tasks_by_pid(report)
    for pid in seekers:
        task = tasks[pid]
        assert (task["wait"]["kind"], task["wait"]["write"], task["wait"]["caller"]) == \
            ("rw_semaphore", True, "blkdev_llseek")
        assert (task["lock_object"]["member"], task["lock_object"]["path"]) == ("i_rwsem", "/dev/nullb0")
        # The kernel lists no readers; the count says one and the owner word names the reader.
        assert (task["lock_details"]["readers"], task["lock_details"]["writer_locked"]) == (1, False)
        assert (task["owner"]["pid"], task["owner_evidence"]) == (reader, "last reader")
        chain = next(c for c in report["chains"] if c["tasks"][0] == pid)
        assert chain["tasks"] == [pid, reader]


@pytest.mark.parametrize("case,mode", IO)
def test_the_signature_is_the_io_wait_of_a_task_khungtaskd_reported(case, mode):
    report = hang_report(case, mode)
    tasks = tasks_by_pid(report)
    chain = next(c for c in report["chains"] if report["summary"] == c["explanation"])
    root = tasks[chain["root"]]
    assert any(tasks[pid]["reported_secs"] for pid in chain["tasks"]) and root["io"]
    assert report["signature"] == "task hung in io wait on nullb0"
    assert report["signature_frames"] == [root["wait"]["function"], root["wait"]["caller"]]


@pytest.mark.parametrize("case,mode", IO)
def test_the_blocked_dds_are_the_guests_with_its_frames_and_crashs(case, mode):
    guest = guest_blocked(case)
    ps = crash_ps(case)
    report = hang_report(case, mode)
    tasks = tasks_by_pid(report)
    assert set(guest) <= set(tasks)
    for pid, (comm, functions) in guest.items():
        frames = tasks[pid]["wait"]["frames"]
        assert tasks[pid]["comm"] == comm and ps[pid] == (tasks[pid]["task"], "UN")
        assert is_subsequence(functions, [f.split(".")[0] for f in frames])
        if case.reference("foreach bt") is not None and not case.manifest["kernel_release"].startswith("7."):
            assert frames == crash_frames(case, pid)


@pytest.mark.parametrize("case", IO_CASES, ids=lambda c: c.name)
def test_triage_signs_the_io_hang_by_the_blocked_tasks_wait_not_khungtaskd(case):
    from pycore.analysis.crash_report import crash_signature
    from pycore.analysis.triage_analyze import analyze_crash
    from pycore.analysis.triage_discover import CrashSource

    result = analyze_crash(CrashSource(case.name, vmcore=case.path(case.reference_dump)))
    assert result.errors == [] and result.reason == "hung_task: blocked tasks"
    assert any(frame.startswith("watchdog") for frame in result.backtrace)
    report = json.loads(cli_output("hang", case.path(case.reference_dump), "--json"))
    assert result.title == f"INFO: {report['signature']}" == "INFO: task hung in io wait on nullb0"
    assert crash_signature(result.reason, report["signature_frames"]) == (result.signature, result.signature_frames)


@pytest.mark.parametrize("case", IO_CASES, ids=lambda c: c.name)
def test_the_text_names_the_requests_and_who_waits_for_them(case):
    report = json.loads(cli_output("hang", case.path(case.reference_dump), "--json"))
    text = cli_output("hang", case.path(case.reference_dump)).splitlines()
    assert text[2] == f"SUMMARY: {report['summary']}"
    in_flight = [line for line in text if line.startswith("IN FLIGHT: ")]
    assert len(in_flight) == len(report["requests"])
    for request in report["requests"]:
        assert any(re.match(rf"IN FLIGHT: {request['request']:x} {request['op']} {request['bytes']} bytes at sector "
                            rf"{request['sector']} of nullb0, [\d.]+s old, tag {request['tag']}, driver null_blk$", line)
                   for line in in_flight)
    for chain in report["chains"]:
        assert f"     {chain['explanation']}" in text
