"""pycore hang on I/O that never completes: made-up requests tied to made-up tasks (a bio on the
task's stack, a bi_private naming it, the folio it waits on among a bio's pages, a seeker queued behind
an rw_semaphore's last reader), a folio placed on its disk; and on the corpus's io cases, 6.1 and 7.2
(testdata/corpus/scenarios/io.sh: null_blk requests that end only after 180 s) the requests in flight
against the guest's own /sys/block/nullb0/inflight and crash's dev -d, the direct reader waiting for
its bio, the buffered readers for the lock of the page their readahead reads, the writer for its
page's writeback, and triage's signature of the hung-task panic, checked against the guest's listing
of its blocked tasks and crash's foreach bt.  The corpus tests skip where a case is not built."""
import json
import re

import pytest

from pycore.analysis import hang
from pycore.kernel import block, filemap, fs
from pycore.types.model import Member, array_type, int_type, pointer_type, struct_type, void_type

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


def test_a_reader_queued_behind_the_last_reader_of_an_rwsem_probably_waits_for_it():
    prog = io_program()
    reader = entry(TASKS[0], folio=FOLIO)
    reader.update(state="UN", owner=None, owner_evidence=None, lock_object=None, lock_details={}, flush=None,
                  folio={"folio": FOLIO, "disk": "nullb0", "sector": 128, "index": 16, "device": None},
                  wait={"kind": "folio", "function": "folio_wait_bit_common", "caller": "filemap_get_pages",
                        "lock": None, "write": None, "frames": [], "folio": FOLIO, "folio_bit": "locked"})
    seeker = entry(TASKS[1])
    # 6.1's blkdev_llseek takes the bdev inode's i_rwsem for writing; a reader in blkdev_read_iter holds it
    # shared: the kernel lists no readers, the count says one and rw_semaphore.owner names the last.
    seeker.update(state="UN", owner={"task": TASKS[0], "pid": reader["pid"], "comm": "dd", "state": "UN"},
                  owner_evidence="last reader", flush=None, folio=None,
                  lock_object={"object": "inode", "member": "i_rwsem", "fd": 0, "address": BASE, "path": "/dev/nullb0"},
                  lock_details={"writer_locked": False, "readers": 1, "reader_owned": True, "last_reader": TASKS[0]},
                  wait={"kind": "rw_semaphore", "function": "rwsem_down_write_slowpath", "caller": "blkdev_llseek",
                        "lock": BASE, "write": True, "frames": [], "folio": None, "folio_bit": None})
    readahead = request(128, [block.Bio(BASE + 0x2200, 0, "mpage_end_io", [FOLIO])])
    hang.attach_io(prog, [reader, seeker], [readahead], 11_000_000_000)
    (chain,) = hang.wait_graph([reader, seeker])
    assert chain["tasks"] == [seeker["pid"], reader["pid"]]
    assert chain["explanation"] == (
        f"dd (pid {seeker['pid']}) waits for write access to the rw_semaphore i_rwsem of /dev/nullb0 (fd 0), probably "
        f"held for reading by dd (pid {reader['pid']}) (the last reader to take it, and its count says one); "
        f"dd (pid {reader['pid']}) waits for the lock of the page at sector 128 of nullb0 (index 16 of its page "
        f"cache) (in folio_wait_bit_common), whose read of 4096 bytes at sector 128 of nullb0 was submitted 10.00 s "
        f"ago and is not yet completed by the driver (null_blk).")


def folio_program(blockdev_superblock: int):
    """A folio in a page cache: struct folio, address_space, inode, super_block, block_device,
    bdev_inode and gendisk laid out as 6.x's first members are, and ``blockdev_superblock``."""
    prog = FakeProgram(symbols={"blockdev_superblock": BASE + 0x10})
    types = prog.types.types
    ulong, uint, ushort = int_type("unsigned long", 8, False), int_type("unsigned int", 4, False), \
        int_type("unsigned short", 2, False)
    name = array_type(int_type("char", 1, True), 32)
    types[("struct", "super_block")] = struct_type("super_block", 32, [Member("s_id", name, 0)])
    types[("struct", "inode")] = inode = struct_type("inode", 32, [
        Member("i_mode", ushort, 0), Member("i_rdev", uint, 32), Member("i_sb", pointer_type(
            types[("struct", "super_block")]), 64), Member("i_ino", ulong, 128)])
    types[("struct", "address_space")] = struct_type("address_space", 8, [Member("host", pointer_type(inode), 0)])
    types[("struct", "folio")] = struct_type("folio", 32, [
        Member("flags", ulong, 0), Member("mapping", pointer_type(types[("struct", "address_space")]), 64),
        Member("index", ulong, 128)])
    types[("struct", "gendisk")] = struct_type("gendisk", 32, [Member("disk_name", name, 0)])
    types[("struct", "block_device")] = bdev = struct_type("block_device", 16, [
        Member("bd_start_sect", ulong, 0), Member("bd_disk", pointer_type(types[("struct", "gendisk")]), 64)])
    types[("struct", "bdev_inode")] = struct_type("bdev_inode", 48, [Member("bdev", bdev, 0),
                                                                      Member("vfs_inode", inode, 128)])
    prog.put(BASE + 0x10, blockdev_superblock)
    return prog


FOLIO_AT, MAPPING, BDEV, DISK, SB = BASE + 0x100, BASE + 0x200, BASE + 0x300, BASE + 0x400, BASE + 0x500


@pytest.mark.parametrize("on_blockdev_fs,expected", [
    # A partition's own page cache: the disk and the sector, its start plus the index in sectors.
    (True, ("sda", 2048 + 16 * 8, None)),
    # A device node's inode elsewhere (or a regular file's) caches nothing of the disk's sectors.
    (False, (None, None, "vda1")),
])
def test_a_folio_is_placed_on_its_disk_only_in_a_block_devices_own_page_cache(on_blockdev_fs, expected):
    prog = folio_program(SB if on_blockdev_fs else BASE + 0x600)
    prog.put(FOLIO_AT, 0, MAPPING, 16)
    prog.put(MAPPING, BDEV + 16)
    prog.put(BDEV, 2048, DISK)
    prog.put(BDEV + 16, fs.S_IFBLK | 0o600 | 8 << 32, SB, 12)
    prog.memory[DISK - BASE:DISK - BASE + 4] = b"sda\0"
    prog.memory[SB - BASE:SB - BASE + 5] = b"vda1\0"
    found = filemap.folio_location(prog, FOLIO_AT)
    assert (found.mapping, found.inode, found.ino, found.index) == (MAPPING, BDEV + 16, 12, 16)
    assert (found.disk, found.sector, found.device) == expected
    # Anonymous (PAGE_MAPPING_ANON) or no mapping: no page cache.
    for mapping in (MAPPING | 1, 0):
        prog.put(FOLIO_AT + 8, mapping)
        assert filemap.folio_location(prog, FOLIO_AT) is None


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


def log_reported(case):
    """The pids khungtaskd reported: "INFO: task COMM:PID blocked for more than N seconds" ("blocked in
    I/O wait for more than", 7.x, for a task in io_schedule)."""
    return {int(pid) for pid in re.findall(r"INFO: task \S+:(\d+) blocked (?:in I/O wait )?for more than",
                                            case.reference("log"))}


@pytest.mark.parametrize("case,mode", IO)
def test_the_signature_is_the_io_wait_of_a_task_khungtaskd_reported(case, mode):
    report = hang_report(case, mode)
    tasks = tasks_by_pid(report)
    chain = next(c for c in report["chains"] if report["summary"] == c["explanation"])
    root = tasks[chain["root"]]
    assert set(chain["tasks"]) & log_reported(case) and root["io"]
    assert report["signature"] == "task hung in io wait on nullb0"
    assert report["signature_frames"] == [root["wait"]["function"], root["wait"]["caller"]]


@pytest.mark.parametrize("case,mode", IO)
def test_the_reported_column_and_the_cause_are_khungtaskds_reports(case, mode):
    # 7.2 words the report of a task in io_schedule "blocked in I/O wait for more than N seconds":
    # the same hung-task report (grammar.py), so the REPORTED column and trouble's hung_task event
    # name the tasks khungtaskd reported on 7.2 as on 6.1, and the panic's cause is that report.
    reported = log_reported(case)
    report = hang_report(case, mode)
    timeout = report["settings"]["timeout_secs"]
    assert len(reported) == 2 and report["cause"] == "hung_task"
    assert {entry["pid"]: entry["reported_secs"] for entry in report["tasks"]} == \
        {entry["pid"]: timeout if entry["pid"] in reported else None for entry in report["tasks"]}
    options = ("--vmlinux", case.vmlinux) if mode == "vmlinux" else ()
    rows = {int(line.split()[0]): line.split()[3] for line in
            cli_output("hang", case.path(case.reference_dump), *options).splitlines() if re.match(r" +\d+  UN ", line)}
    assert rows == {pid: f"{timeout}s" if pid in reported else "-" for pid in tasks_by_pid(report)}
    trouble = json.loads(cli_output("trouble", case.path(case.reference_dump), "--json", *options))
    (event,) = [event for event in trouble["events"] if event["kind"] == "hung_task"]
    assert event["count"] == len(reported) and event["details"]["pid"] in reported
    assert (event["details"]["task"], event["details"]["seconds"]) == ("dd", timeout)


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
        if case.reference("foreach bt") is None:
            continue
        crash = crash_frames(case, pid)
        if case.manifest["kernel_release"].startswith("7."):
            # crash 9.0.2 on 7.2 walks on past do_syscall_64 into stale return addresses (as on the
            # hung case, tests/test_hang.py); up to there it is ours, and the guest's listing ends there.
            syscall = frames.index("do_syscall_64") + 1
            assert crash[:syscall] == frames[:syscall] and frames[syscall:] == ["entry_SYSCALL_64_after_hwframe"]
        else:
            assert frames == crash


@pytest.mark.parametrize("case", IO_CASES, ids=lambda c: c.name)
def test_triage_signs_the_io_hang_by_the_blocked_tasks_wait_not_khungtaskd(case):
    from pycore.analysis.triage_analyze import analyze_crash
    from pycore.analysis.triage_discover import CrashSource

    result = analyze_crash(CrashSource(case.name, vmcore=case.path(case.reference_dump)))
    assert result.errors == [] and result.reason == "hung_task: blocked tasks"
    assert any(frame.startswith("watchdog") for frame in result.backtrace)
    report = json.loads(cli_output("hang", case.path(case.reference_dump), "--json"))
    assert result.title == f"INFO: {report['signature']}" == "INFO: task hung in io wait on nullb0"
    # Whichever dd leads (the direct reader, the writer waiting for writeback, a reader for its page's
    # lock: each waits for a request in flight on nullb0), the key is the disk and its driver.
    assert report["signature_key"] == {"kind": "hung_task", "waits": ["io on nullb0 (null_blk)"], "frames": []}
    assert {hang._wait_key(entry) for entry in report["tasks"]} == {"io on nullb0 (null_blk)"}
    assert (result.signature, result.signature_frames) == ("hung_task: blocked tasks @ io on nullb0 (null_blk)",
                                                           ["io on nullb0 (null_blk)"])


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
