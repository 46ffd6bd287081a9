"""The printk ringbuffer's placeholder descriptor (DESC0_ID) in both widths the kernels compute it in:
-(count + 1) as an unsigned int on 5.10-6.12, as the descriptor id's 62 bits on 7.2.  The placeholder
was never a record: its reusable state is no lost record."""
import pytest

import pycore
from pycore.kernel.printk import get_printk_records

import printk_fixtures as fixtures
from printk_fixtures import Message

ID_MASK = (1 << 62) - 1


@pytest.mark.parametrize("width", [32, 62])
def test_the_placeholder_descriptor_is_no_lost_record(tmp_path, width):
    ring = fixtures.Ringbuffer(count_bits=4, size_bits=10)
    desc0 = (-(ring.count + 1)) & ((1 << width) - 1)
    ring.descs[ring.count - 1].id = desc0
    ring.head_id = ring.tail_id = desc0
    for i in range(3):
        ring.add(Message(b"record %d" % i, ts_nsec=(i + 1) * 1_000_000_000))
    # Until the ring first wraps, the kernel's tail stays on the placeholder (7.2's dump shows it so).
    ring.tail_id = desc0
    assert (ring.desc(desc0).id, ring.desc(desc0).state) == (desc0, fixtures.DESC_REUSABLE)
    path = tmp_path / "vmcore"
    path.write_bytes(fixtures.make_dump(ring)[0])
    with pycore.open(str(path)) as prog:
        records = get_printk_records(prog)
    assert [r.text for r in records] == ["record 0", "record 1", "record 2"]
    assert (records.lost, records.skipped) == (0, {})


def test_a_reusable_descriptor_that_is_not_the_placeholder_is_counted(tmp_path):
    ring = fixtures.Ringbuffer(count_bits=4, size_bits=10)
    first = ring.add(Message(b"record 0", ts_nsec=1_000_000_000))
    ring.add(Message(b"record 1", ts_nsec=2_000_000_000))
    ring.desc(first).state = fixtures.DESC_REUSABLE
    path = tmp_path / "vmcore"
    path.write_bytes(fixtures.make_dump(ring)[0])
    with pycore.open(str(path)) as prog:
        records = get_printk_records(prog)
    assert [r.text for r in records] == ["record 1"]
    assert records.skipped == {"reusable": 1}
