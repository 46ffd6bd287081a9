"""The kernel log's records on the real-kernel corpus against vmcore-dmesg and
``makedumpfile --dump-dmesg``, from every dump format (crash's ``log`` text: test_real_commands)."""
import re

import pytest

import pycore
from pycore.kernel.printk import get_printk_records

from corpus import cases, dump_ids, real_dumps
from crash_reference import with_known_gaps

pytestmark = pytest.mark.real
PARAMS = real_dumps()

_HEADER = re.compile(r"^\[ *(\d+\.\d{6})\] (?:\[ *([TC]\d+)\] )?")


def reference_records(text):
    """(timestamp, caller, text lines) per record of a vmcore-dmesg/makedumpfile log; a line
    without the ``[time] `` header continues the record before it."""
    records = []
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            records.append((match.group(1), match.group(2), [line[match.end():]]))
        elif records:
            records[-1][2].append(line)
    return records


def our_records(records):
    return [(f"{r.timestamp_ns // 10**9}.{r.timestamp_ns % 10**9 // 1000:06d}", r.caller,
             r.raw_text.decode("ascii", "replace").split("\n")) for r in records]


@pytest.mark.parametrize("case,dump", with_known_gaps("test_records_match_vmcore_dmesg_and_makedumpfile", PARAMS,
                                                     dump_ids(PARAMS)))
def test_records_match_vmcore_dmesg_and_makedumpfile(case, dump, native_path):
    with pycore.open(case.path(dump["name"]), native=native_path) as prog:
        records = get_printk_records(prog)
    assert records.format == "printk_ringbuffer" and records.lost == 0
    ours = our_records(records)
    compared = 0
    for ref in case.references("vmcore-dmesg") + case.references("makedumpfile --dump-dmesg"):
        text = open(case.path(ref["file"]), errors="replace").read()
        if "failed" in text.splitlines()[0]:
            continue  # the tool could not read this dump (a QEMU ELF without kexec's program headers)
        theirs = reference_records(text)
        with_caller = any(caller for _, caller, _ in theirs)
        assert len(ours) == len(theirs), ref["file"]
        for (stamp, caller, lines), (ref_stamp, ref_caller, ref_lines) in zip(ours, theirs):
            assert stamp == ref_stamp and lines[0] == ref_lines[0], ref["file"]
            if with_caller:
                assert caller == ref_caller, ref["file"]
            # vmcore-dmesg does not indent continuation lines, makedumpfile indents them under
            # the text: compare them without the indentation.
            assert [line.strip() for line in lines[1:]] == [line.strip() for line in ref_lines[1:]]
        compared += 1
    if not compared:
        pytest.skip("no vmcore-dmesg or makedumpfile reference could read this case")


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_every_format_gives_the_same_records(case):
    logs = {}
    for dump in case.dumps():
        with pycore.open(case.path(dump["name"])) as prog:
            logs[dump["name"]] = [(r.seq, r.timestamp_ns, r.level, r.caller_id, r.text, r.subsystem, r.device)
                                  for r in get_printk_records(prog)]
    first = next(iter(logs.values()))
    assert all(log == first for log in logs.values()), "makedumpfile -d 31 must not drop log pages"
