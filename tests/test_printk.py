"""The kernel log from synthetic dumps: printk_log records (3.5-5.9), the legacy character
buffer (before 3.5) and the lockless ringbuffer's edge cases (5.10+), each built by
testdata/printk_fixtures.py the way the kernel writes them."""
import json

import pytest

import pycore
from pycore.cli import main
from pycore.cli.log import format_log
from pycore.errors import FormatError, MissingDebugInfoError
from pycore.kernel.printk import get_printk_records, parse_log_buf

import printk_fixtures as fixtures
from printk_fixtures import Message


def open_dump(tmp_path, fixture, **options):
    image, _ = fixtures.make_dump(fixture, **options)
    path = tmp_path / "vmcore"
    path.write_bytes(image)
    return pycore.open(str(path)), str(path)


def log_of(tmp_path, fixture, **format_options):
    prog, _ = open_dump(tmp_path, fixture)
    with prog:
        records = get_printk_records(prog)
    return records, format_log(records, **format_options)


# -- struct printk_log (3.5-5.9) ---------------------------------------------------
def printk_log_messages():
    return [Message(b"boot message %02d %s" % (i, b"x" * (i * 7 % 23)), ts_nsec=i * 1_250_000_000 + 999,
                    level=i % 8, caller_id=100 + i if i % 2 else 0x80000000 | (i % 4)) for i in range(20)]


def test_printk_log_wraps_and_keeps_the_newest_records(tmp_path):
    buffer = fixtures.PrintkLogBuffer(512)
    messages = printk_log_messages()
    for message in messages:
        buffer.store(message)
    # The writer overwrote the oldest records and wrapped (a zero-length record marks the end).
    assert buffer.first_seq == 10 and buffer.next_idx < buffer.first_idx
    records, text = log_of(tmp_path, buffer)
    assert records.format == "printk_log" and records.lost == 0
    assert text.splitlines() == [
        "[   12.500000] boot message 10 x",
        "[   13.750000] boot message 11 xxxxxxxx",
        "[   15.000000] boot message 12 xxxxxxxxxxxxxxx",
        "[   16.250000] boot message 13 xxxxxxxxxxxxxxxxxxxxxx",
        "[   17.500000] boot message 14 xxxxxx",
        "[   18.750000] boot message 15 xxxxxxxxxxxxx",
        "[   20.000000] boot message 16 xxxxxxxxxxxxxxxxxxxx",
        "[   21.250000] boot message 17 xxxx",
        "[   22.500000] boot message 18 xxxxxxxxxxx",
        "[   23.750000] boot message 19 xxxxxxxxxxxxxxxxxx",
    ]
    assert [r.level for r in records] == [2, 3, 4, 5, 6, 7, 0, 1, 2, 3]
    assert all(r.caller_id is None and r.seq is None for r in records)


def test_printk_log_caller_id_when_the_kernel_has_it(tmp_path):
    buffer = fixtures.PrintkLogBuffer(512, caller=True)
    for message in printk_log_messages()[:3]:
        buffer.store(message)
    records, text = log_of(tmp_path, buffer, show_caller=True, caller_width=6, show_level=True)
    assert text.splitlines() == [
        "[    0.000000] [    C0] <0>boot message 00 ",
        "[    1.250000] [  T101] <1>boot message 01 xxxxxxx",
        "[    2.500000] [    C2] <2>boot message 02 xxxxxxxxxxxxxx",
    ]
    assert records[1].caller == "T101" and records[0].caller_id == 0x80000000


def test_printk_log_dictionary_and_multiline_text_are_indented(tmp_path):
    buffer = fixtures.PrintkLogBuffer(1024, caller=True)
    buffer.store(Message(b"e1000 0000:00:03.0 eth0: link up\nsecond line", ts_nsec=5_000_001_000,
                         dictionary=b"SUBSYSTEM=pci\0DEVICE=+pci:0000:00:03.0", caller_id=42))
    buffer.store(Message(b"tab\there, bell\x07, byte \xff", ts_nsec=6_000_000_000))
    records, text = log_of(tmp_path, buffer, show_dictionary=True)
    assert text == ("[    5.000001] e1000 0000:00:03.0 eth0: link up\n"
                    "               second line\n"
                    "               SUBSYSTEM=pci\n"
                    "               DEVICE=+pci:0000:00:03.0\n"
                    "[    6.000000] tab\there, bell., byte .\n")
    assert records[0].subsystem == "pci" and records[0].device == "+pci:0000:00:03.0"
    assert format_log(records, timestamps=False).splitlines()[:2] == [
        "e1000 0000:00:03.0 eth0: link up", "second line"]


def test_printk_log_under_its_3_5_name_struct_log(tmp_path):
    buffer = fixtures.PrintkLogBuffer(256)
    buffer.store(Message(b"Linux version 3.8.0", ts_nsec=0))
    image, _ = fixtures.make_dump(buffer, struct_name="log")
    path = tmp_path / "vmcore"
    path.write_bytes(image)
    with pycore.open(str(path)) as prog:
        assert "SIZE(log)" in prog.vmcoreinfo and "SIZE(printk_log)" not in prog.vmcoreinfo
        assert format_log(get_printk_records(prog)) == "[    0.000000] Linux version 3.8.0\n"


def test_printk_log_walk_that_never_meets_next_idx_ends(tmp_path):
    buffer = fixtures.PrintkLogBuffer(512)
    for message in printk_log_messages():
        buffer.store(message)
    buffer.next_idx = 3  # no record starts there: the walk must stop on its own
    records, _ = log_of(tmp_path, buffer)
    assert records.lost == 1 and len(records) >= 9


def test_printk_log_record_with_impossible_length_is_skipped(tmp_path):
    buffer = fixtures.PrintkLogBuffer(512)
    for message in printk_log_messages()[:4]:
        buffer.store(message)
    second = 16 + len(printk_log_messages()[0].text)
    second += -second % 4
    buffer.data[second + 10:second + 12] = (600).to_bytes(2, "little")  # text_len beyond len
    records, text = log_of(tmp_path, buffer)
    assert text == "[    0.000000] boot message 00 \n"
    assert records.skipped == {"record length inconsistent": 1}


# -- the character buffer (before 3.5) -----------------------------------------------
def test_legacy_log_buf_wrapped(tmp_path):
    buffer = fixtures.LegacyLogBuffer(256)
    for i in range(12):
        buffer.emit(b"<%d>[%5d.%06d] legacy line %d\n" % (i % 8, i, i * 11, i))
    buffer.emit(b"<4>unterminated")
    assert buffer.log_end > 256
    records, text = log_of(tmp_path, buffer)
    assert records.format == "log_buf"
    # The first line is the tail of an overwritten one: kept as it is, as crash does.
    assert text.splitlines() == [
        " legacy line 4",
        "[    5.000055] legacy line 5",
        "[    6.000066] legacy line 6",
        "[    7.000077] legacy line 7",
        "[    8.000088] legacy line 8",
        "[    9.000099] legacy line 9",
        "[   10.000110] legacy line 10",
        "[   11.000121] legacy line 11",
        "unterminated",
    ]
    assert [r.level for r in records] == [None, 5, 6, 7, 0, 1, 2, 3, 4]
    assert records[1].timestamp_ns == 5_000_055_000
    with_levels = format_log(records, show_level=True).splitlines()
    assert with_levels[1] == "<5>[    5.000055] legacy line 5" and with_levels[-1] == "<4>unterminated"
    assert format_log(records, timestamps=False).splitlines()[1] == "legacy line 5"


def test_legacy_log_buf_not_wrapped(tmp_path):
    buffer = fixtures.LegacyLogBuffer(1024)
    buffer.emit(b"<5>Linux version 2.6.32\n<6>Command line: ro root=/dev/sda1\n<4>no time here\n")
    records, text = log_of(tmp_path, buffer)
    assert text == "Linux version 2.6.32\nCommand line: ro root=/dev/sda1\nno time here\n"
    assert [r.level for r in records] == [5, 6, 4] and records[0].timestamp_ns is None


def test_legacy_parser_leaves_a_malformed_timestamp_in_the_text():
    records = parse_log_buf(b"<6>[1.5] short\n<6>[    1.500000]no space\n")
    assert [(r.timestamp_ns, r.text) for r in records] == [(None, "[1.5] short"), (None, "[    1.500000]no space")]


# -- the lockless ringbuffer (5.10+) ---------------------------------------------------
def ring_messages(count):
    return [Message(b"ring record %02d %s" % (i, b"-" * (i * 5 % 17)), ts_nsec=i * 2_000_000_000 + 7_000,
                    level=i % 8, caller_id=i) for i in range(count)]


def expected_ring_line(i):
    return f"[{2 * i:5d}.000007] ring record {i:02d} " + "-" * (i * 5 % 17)


def test_ringbuffer_wrapped_data_block_is_read_from_the_start(tmp_path):
    ring = fixtures.Ringbuffer(count_bits=4, size_bits=9)
    ids = [ring.add(message) for message in ring_messages(25)]
    wrapping = [i for i, desc_id in enumerate(ids)
                if ring.desc(desc_id).begin >> 9 != ring.desc(desc_id).next >> 9
                and ring.desc(desc_id).id == desc_id]
    assert wrapping, "the fixture must hold a block that wraps"
    records, text = log_of(tmp_path, ring)
    survivors = [i for i in range(25) if ring.desc(ids[i]).id == ids[i] and ring.desc(ids[i]).state == 2
                 and ids[i] in ring.live]
    assert set(wrapping) <= set(survivors)
    assert text.splitlines() == [expected_ring_line(i) for i in survivors]
    assert [r.seq for r in records] == survivors and records.lost == 0


def test_ringbuffer_skips_torn_records_and_counts_them(tmp_path):
    ring = fixtures.Ringbuffer(count_bits=5, size_bits=12)
    ids = [ring.add(message) for message in ring_messages(8)]
    ring.desc(ids[1]).begin, ring.desc(ids[1]).next = 0x10, 0x18 + 2 * 4096   # lpos outside the ring
    info = bytearray(ring.desc(ids[2]).info)
    info[16:18] = (4000).to_bytes(2, "little")                                  # text_len absurd
    ring.desc(ids[2]).info = bytes(info)
    ring.desc(ids[3]).state = fixtures.DESC_REUSABLE
    ring.desc(ids[4]).state = fixtures.DESC_COMMITTED                           # committed: printed
    ring.data[ring.desc(ids[5]).begin & 4095] ^= 0xFF                           # block of another id
    ring.add(Message(b"still being written", ts_nsec=99_000_000_000), state=fixtures.DESC_RESERVED)
    records, text = log_of(tmp_path, ring)
    assert text.splitlines() == [expected_ring_line(i) for i in (0, 4, 6, 7)]
    assert records.skipped == {"lpos outside the data ring": 1, "text_len larger than its data block": 1,
                               "reusable": 1, "data block belongs to another descriptor": 1, "reserved": 1}
    assert records.lost == 5


def test_ringbuffer_dataless_record_prints_a_bare_empty_line(tmp_path):
    ring = fixtures.Ringbuffer(count_bits=4, size_bits=10)
    ring.add(Message(b"before", ts_nsec=1_000_000_000))
    ring.add(Message(b"", ts_nsec=2_000_000_000))
    ring.add(Message(b"after", ts_nsec=3_000_000_000))
    records, text = log_of(tmp_path, ring)
    assert text == "[    1.000000] before\n\n[    3.000000] after\n"
    assert records[1].dataless and records.lost == 0


def test_ringbuffer_head_and_tail_far_apart_stay_bounded(tmp_path):
    ring = fixtures.Ringbuffer(count_bits=4, size_bits=10)
    for message in ring_messages(3):
        ring.add(message)
    ring.tail_id = (ring.head_id - 5_000_000) & ((1 << 62) - 1)
    records, text = log_of(tmp_path, ring)
    assert text.splitlines() == [expected_ring_line(i) for i in range(3)]
    assert records.skipped["head_id/tail_id further apart than the descriptor ring"] == 1


def test_ringbuffer_options_like_crash(tmp_path):
    ring = fixtures.Ringbuffer(count_bits=4, size_bits=10)
    ring.add(Message(b"virtio_net virtio1 enp0s3: renamed\nfrom eth0", ts_nsec=12_345_678_901, level=6,
                     caller_id=321, subsystem=b"virtio", device=b"+virtio:virtio1"))
    ring.add(Message(b"NMI backtrace", ts_nsec=13_000_000_000, level=4, caller_id=0x80000001))
    records, text = log_of(tmp_path, ring, show_caller=True, caller_width=6, show_level=True,
                           show_dictionary=True)
    assert text == ("[   12.345678] [  T321] <6>virtio_net virtio1 enp0s3: renamed\n"
                    "                           from eth0\n"
                    "                           SUBSYSTEM=virtio\n"
                    "                           DEVICE=+virtio:virtio1\n"
                    "[   13.000000] [    C1] <4>NMI backtrace\n")
    assert format_log(records, boot=1764115187).splitlines()[0] == \
        "[Tue Nov 25 23:59:59 UTC 2025] virtio_net virtio1 enp0s3: renamed"


def test_log_command_human_time_json_and_text(tmp_path, capsys):
    ring = fixtures.Ringbuffer(count_bits=4, size_bits=10)
    ring.add(Message(b"first", ts_nsec=0, caller_id=1, subsystem=b"pci", device=b"+pci:0000:00:01.0"))
    ring.add(Message(b"last", ts_nsec=43_500_000_000, level=0))
    _, path = open_dump(tmp_path, ring, crash_time=1764115200)
    assert main(["log", path, "-T"]) == 0
    # Boot time = crash time (Wed Nov 26 00:00:00 UTC 2025) - 43 s of uptime.
    assert capsys.readouterr().out == ("[Tue Nov 25 23:59:17 UTC 2025] first\n"
                                       "[Wed Nov 26 00:00:00 UTC 2025] last\n")
    assert main(["log", path, "-t", "-m"]) == 0
    assert capsys.readouterr().out == "<6>first\n<0>last\n"
    assert main(["log", path, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "printk_ringbuffer" and data["lost"] == 0
    assert data["records"][0] == {"seq": 0, "timestamp": 0.0, "level": 6, "facility": 0, "flags": 2,
                                  "caller": "T1", "text": "first",
                                  "dev_info": {"subsystem": "pci", "device": "+pci:0000:00:01.0"},
                                  "dictionary": ["SUBSYSTEM=pci", "DEVICE=+pci:0000:00:01.0"]}
    assert data["records"][1]["timestamp"] == 43.5 and data["records"][1]["dev_info"] is None


def test_dump_without_a_log_in_vmcoreinfo_says_what_is_missing(dump_files):
    with pycore.open(dump_files["kdump-zlib"]) as prog:
        with pytest.raises(MissingDebugInfoError, match="SYMBOL\\(prb\\)"):
            get_printk_records(prog)


def test_ringbuffer_page_missing_from_the_dump_costs_only_its_records(tmp_path):
    ring = fixtures.Ringbuffer(count_bits=6, size_bits=13)       # 8 KiB of text: two pages
    ids = [ring.add(Message(b"record %02d " % i + b"=" * 150, ts_nsec=i * 1000)) for i in range(40)]
    image, machine = fixtures.make_dump(ring)
    data_phys = fixtures.BUFFER_PHYS + 24 * ring.count + 88 * ring.count
    data_phys += -data_phys % 8
    lost_page = (data_phys + 4096) // 4096                       # the second page of the data ring
    machine.excluded.add(lost_page)
    path = tmp_path / "vmcore"
    path.write_bytes(fixtures.synthetic.build_kdump(machine, "zlib")[0])

    def touches_lost_page(desc_id):
        desc = ring.desc(desc_id)
        start = 0 if desc.begin >> 13 != desc.next >> 13 else desc.begin & 8191
        end = start + ((desc.next - desc.begin) & ((1 << 64) - 1) if start else desc.next & 8191)
        first, last = (data_phys + start) // 4096, (data_phys + end - 1) // 4096
        return first <= lost_page <= last

    live = [i for i in range(40) if ids[i] in ring.live]
    expected = [i for i in live if not touches_lost_page(ids[i])]
    assert 0 < len(expected) < len(live)
    with pycore.open(str(path)) as prog:
        records = get_printk_records(prog)
    assert [r.seq for r in records] == expected
    assert records.skipped == {"text unreadable in the dump": len(live) - len(expected)}


class WithVmcoreinfo:
    """A fixture whose VMCOREINFO entries are changed the way a damaged or hostile dump changes them."""

    def __init__(self, fixture, **entries):
        self.fixture, self.entries = fixture, entries

    def place(self, machine, **options):
        entries = self.fixture.place(machine, **options)
        entries.update(self.entries)
        return entries


def small_ring():
    ring = fixtures.Ringbuffer()
    for message in ring_messages(3):
        ring.add(message)
    return ring


@pytest.mark.parametrize("key,value", [
    ("SIZE(printk_info)", -88),                     # issue 10 finding 2: a negative read size
    ("OFFSET(prb_desc.state_var)", int("9" * 300)),  # finding 3: OverflowError
    ("SIZE(prb_desc)", 0),                           # finding 4: struct.error on an empty record
    ("SIZE(prb_desc)", 1 << 20),                     # 16 descriptors of 1 MiB each: no plausible record
    ("OFFSET(prb_desc.state_var)", 20),              # 8 bytes from 20 overrun the 24-byte prb_desc
    ("OFFSET(printk_info.text_len)", 86),            # text_len, facility and level overrun printk_info
    ("OFFSET(prb_data_blk_lpos.next)", 12),          # the lpos pair ends past prb_desc
    ("OFFSET(printk_ringbuffer.desc_ring)", 1 << 40),
])
def test_ringbuffer_layout_from_vmcoreinfo_is_checked_where_it_is_used(tmp_path, capsys, key, value):
    prog, path = open_dump(tmp_path, WithVmcoreinfo(small_ring(), **{key: value}))
    with prog:
        with pytest.raises(FormatError) as error:
            get_printk_records(prog)
    assert error.value.field == key and "\n" not in str(error.value) and len(str(error.value)) < 200
    assert main(["log", path]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pycore log: ") and err.count("\n") == 1 and key in err


@pytest.mark.parametrize("key,value", [("SIZE(printk_log)", 0), ("OFFSET(printk_log.ts_nsec)", 12),
                                       ("OFFSET(printk_log.dict_len)", 14)])
def test_printk_log_layout_from_vmcoreinfo_is_checked_where_it_is_used(tmp_path, key, value):
    buffer = fixtures.PrintkLogBuffer(4096)
    for message in printk_log_messages()[:2]:
        buffer.store(message)
    prog, _ = open_dump(tmp_path, WithVmcoreinfo(buffer, **{key: value}))
    with prog:
        with pytest.raises(FormatError) as error:
            get_printk_records(prog)
    assert error.value.field == key
