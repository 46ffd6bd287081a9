"""The kernel log buffer, read through VMCOREINFO alone (as vmcore-dmesg does), in its three layouts:
the lockless ``printk_ringbuffer`` (Linux 5.10+), ``struct printk_log`` records (3.5-5.9; named
``struct log`` before 3.11) and the plain character ``log_buf`` with ``<N>`` prefixes (before 3.5).
pycore/cli/log.py prints the records the way crash 9's ``log`` command does.  Also the audit
messages still queued for auditd (``log -a``) and printk_safe's per-CPU buffers (4.11 to 5.14, ``log -s``).
"""
import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

from ..errors import FormatError, MissingDebugInfoError, PycoreError
from .percpu import per_cpu_address

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# prb_desc.state_var: the top two bits are the state, the rest the descriptor id (printk_ringbuffer.h).
_DESC_FLAGS_SHIFT = 62
_DESC_ID_MASK = (1 << _DESC_FLAGS_SHIFT) - 1
# Logical positions in the data ring are unsigned longs that start at -size (BLK0_LPOS).
_MASK64 = (1 << 64) - 1
DESC_RESERVED, DESC_COMMITTED, DESC_FINALIZED, DESC_REUSABLE = range(4)
_STATE_NAMES = {DESC_RESERVED: "reserved", DESC_REUSABLE: "reusable"}

# printk_log.flags (printk.c, 3.5-5.9).
LOG_NOCONS, LOG_NEWLINE, LOG_PREFIX, LOG_CONT = 1, 2, 4, 8

# Bit 31 of caller_id marks a CPU (printk from interrupt context), else it holds a task id.
CALLER_CPU = 0x80000000

_LEVEL_PREFIX = re.compile(rb"<([0-7])>")
# printk's "[%5lu.%06lu] ": seconds of a u64 nanosecond clock have at most 11 digits; a longer
# number (a damaged buffer) stays part of the text rather than reaching int()'s digit limit.
_TIMESTAMP_PREFIX = re.compile(rb"\[ *(\d{1,11})\.(\d{6})\] ")


@dataclass
class PrintkRecord:
    """One kernel log message.

    ``timestamp_ns`` is the kernel's local clock (None when a legacy line carries no time);
    ``level`` 0-7, ``facility`` (0 for the kernel) and ``caller_id`` (a task id, or a CPU
    with bit 31 set) are None where the layout does not record them.  ``dictionary`` holds
    the ``KEY=value`` properties dev_printk() attached (SUBSYSTEM=, DEVICE=, ...).
    """
    seq: Optional[int]
    timestamp_ns: Optional[int]
    level: Optional[int]
    facility: Optional[int]
    flags: int
    caller_id: Optional[int]
    text: str
    subsystem: str = ""
    device: str = ""
    dictionary: List[str] = field(default_factory=list)
    # A ringbuffer record without a data block: crash prints a bare empty line for it.
    dataless: bool = False
    raw_text: bytes = field(default=b"", repr=False, compare=False)

    @property
    def caller(self) -> Optional[str]:
        """``T<pid>`` or ``C<cpu>`` as printk's caller id is shown, or None."""
        if self.caller_id is None:
            return None
        kind = "C" if self.caller_id & CALLER_CPU else "T"
        return f"{kind}{self.caller_id & ~CALLER_CPU}"

    def to_dict(self) -> Dict[str, object]:
        dev_info = None
        if self.subsystem or self.device:
            dev_info = {"subsystem": self.subsystem, "device": self.device}
        return {
            "seq": self.seq,
            "timestamp": None if self.timestamp_ns is None else self.timestamp_ns / 1e9,
            "level": self.level,
            "facility": self.facility,
            "flags": self.flags,
            "caller": self.caller,
            "text": self.text,
            "dev_info": dev_info,
            "dictionary": self.dictionary,
        }


class PrintkRecords(list):
    """The records in log order, with what reading them found.

    ``format`` names the layout (``printk_ringbuffer``, ``printk_log`` or ``log_buf``);
    ``skipped`` counts records left out by reason (a descriptor still ``reserved`` by a
    writer, ``reusable``, ``lpos`` outside the data ring, ``text_len`` larger than its
    block, ...); ``lost`` is their total.
    """

    def __init__(self, records: Iterable[PrintkRecord] = (), format: str = "", skipped: Optional[Dict[str, int]] = None):
        super().__init__(records)
        self.format = format
        self.skipped: Dict[str, int] = dict(skipped or {})

    @property
    def lost(self) -> int:
        return sum(self.skipped.values())

    def _skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _record(seq, timestamp_ns, level, facility, flags, caller_id, raw: bytes, **extra) -> PrintkRecord:
    return PrintkRecord(seq, timestamp_ns, level, facility, flags, caller_id,
                        raw.decode("utf-8", "replace"), raw_text=raw, **extra)


def _cstring(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


# No descriptor, info or record header of any printk layout comes near a page (6.1: 24, 88 and
# 88 bytes); VMCOREINFO accepts any size up to 16 MiB, which times 2**24 descriptors is no read to try.
_MAX_RECORD_SIZE = 4096


def _shown(value: int) -> str:
    return str(value) if value.bit_length() <= 128 else f"a {len(str(value))}-digit number"


class _Layout:
    """Sizes and offsets from VMCOREINFO, checked where the log reader uses them, with a message
    that names the missing or implausible key."""

    def __init__(self, vmcoreinfo, what: str):
        self.vmcoreinfo = vmcoreinfo
        self.what = what

    def _need(self, value: Optional[int], key: str) -> int:
        if value is None:
            raise MissingDebugInfoError(f"cannot read the {self.what}: VMCOREINFO has no {key}")
        return value

    def symbol(self, name: str) -> int:
        return self._need(self.vmcoreinfo.symbol(name), f"SYMBOL({name})")

    def _plausible(self, value: int, key: str, low: int) -> int:
        if not low <= value < _MAX_RECORD_SIZE:
            raise FormatError(f"cannot read the {self.what}: VMCOREINFO {key}={_shown(value)} is not within"
                              f" {low}..{_MAX_RECORD_SIZE - 1}", field=key)
        return value

    def size(self, *names: str) -> int:
        """The first of ``SIZE(name)`` VMCOREINFO has, 1 to 4095 bytes."""
        for name in names:
            value = self.vmcoreinfo.size(name)
            if value is not None:
                return self._plausible(value, f"SIZE({name})", 1)
        return self._need(None, f"SIZE({names[0]})")

    def offset(self, *names: str) -> int:
        """The first of ``OFFSET(name)`` VMCOREINFO has, 0 to 4095."""
        for name in names:
            value = self.vmcoreinfo.offset(name)
            if value is not None:
                return self._plausible(value, f"OFFSET({name})", 0)
        return self._need(None, f"OFFSET({names[0]})")

    def offset_key(self, *names: str) -> str:
        """``OFFSET(name)`` for the first of ``names`` VMCOREINFO has (the one :meth:`offset` reads)."""
        present = [name for name in names if self.vmcoreinfo.offset(name) is not None]
        return f"OFFSET({(present or names)[0]})"

    def field(self, key: str, position: int, width: int, size: int, struct_name: str) -> int:
        """``position``, when ``width`` bytes there lie inside a ``size``-byte ``struct_name``
        (``key`` names the VMCOREINFO entry that put them there)."""
        if not 0 <= position <= size - width:
            raise FormatError(f"cannot read the {self.what}: VMCOREINFO {key} puts {width} bytes at {position}"
                              f" of the {size}-byte {struct_name}", field=key)
        return position


def _u(prog: "Program", address: int, size: int) -> int:
    return int.from_bytes(prog.read(address, size), "little")


def get_printk_records(prog: "Program") -> PrintkRecords:
    """The kernel log of ``prog``'s dump, oldest record first, from VMCOREINFO alone.

    Linux 5.10+ keeps it in the lockless ``printk_ringbuffer`` (SYMBOL(prb)), 3.5-5.9 in
    ``struct printk_log`` records (SYMBOL(log_first_idx)), older kernels in a character
    buffer (SYMBOL(log_end)).  Damaged or half-written records are skipped and counted in
    the result's ``skipped``/``lost``; an unreadable buffer raises :class:`FaultError`.
    """
    vmcoreinfo = prog.vmcoreinfo
    if vmcoreinfo is None:
        raise MissingDebugInfoError("cannot read the kernel log: the dump has no VMCOREINFO")
    if vmcoreinfo.symbol("prb") is not None:
        return _read_ringbuffer(prog, _Layout(vmcoreinfo, "printk ringbuffer"))
    if vmcoreinfo.symbol("log_first_idx") is not None:
        return _read_printk_log(prog, _Layout(vmcoreinfo, "printk_log records"))
    if vmcoreinfo.symbol("log_end") is not None:
        return _read_log_buf(prog, _Layout(vmcoreinfo, "log_buf"))
    raise MissingDebugInfoError("cannot find the kernel log: VMCOREINFO has none of SYMBOL(prb),"
                                " SYMBOL(log_first_idx) or SYMBOL(log_end)")


def _in_hole(holes: Sequence[Tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) touches one of the unreadable ranges ``read_available`` reported."""
    return any(hole_start < end and start < hole_end for hole_start, hole_end in holes)


# -- Linux 5.10+: the lockless ringbuffer -----------------------------------------
def _read_ringbuffer(prog: "Program", layout: _Layout) -> PrintkRecords:
    prb = _u(prog, layout.symbol("prb"), 8)
    counter = layout.offset("atomic_long_t.counter")
    desc_ring = prb + layout.offset("printk_ringbuffer.desc_ring")
    data_ring = prb + layout.offset("printk_ringbuffer.text_data_ring")
    count_bits = _u(prog, desc_ring + layout.offset("prb_desc_ring.count_bits"), 4)
    size_bits = _u(prog, data_ring + layout.offset("prb_data_ring.size_bits"), 4)
    if count_bits > 24 or size_bits > 31:
        raise PycoreError(f"printk ringbuffer at {prb:#x} is not plausible: count_bits {count_bits},"
                          f" size_bits {size_bits}")
    count, data_size = 1 << count_bits, 1 << size_bits
    descs_address = _u(prog, desc_ring + layout.offset("prb_desc_ring.descs"), 8)
    infos_address = _u(prog, desc_ring + layout.offset("prb_desc_ring.infos"), 8)
    head_id = _u(prog, desc_ring + layout.offset("prb_desc_ring.head_id") + counter, 8)
    tail_id = _u(prog, desc_ring + layout.offset("prb_desc_ring.tail_id") + counter, 8)
    data_address = _u(prog, data_ring + layout.offset("prb_data_ring.data"), 8)

    desc_size = layout.size("prb_desc")
    info_size = layout.size("printk_info")
    if count * max(desc_size, info_size) > 1 << 30:
        raise FormatError(f"printk ringbuffer at {prb:#x}: {count} descriptors of {desc_size} and {info_size}"
                          " bytes are more than 1 GiB", field="SIZE(prb_desc)")
    # A page of the rings missing from the dump (truncated, filtered) costs the records in it, not the log.
    descs, desc_holes = prog.read_available(descs_address, desc_size * count)
    infos, info_holes = prog.read_available(infos_address, info_size * count)
    data, data_holes = prog.read_available(data_address, data_size)

    # Each field is checked to lie inside its record: the walk below unpacks them unchecked.
    in_desc = lambda key, at, width: layout.field(key, at, width, desc_size, "prb_desc")  # noqa: E731
    in_info = lambda key, at, width: layout.field(key, at, width, info_size, "printk_info")  # noqa: E731
    state_at = in_desc("OFFSET(prb_desc.state_var)", layout.offset("prb_desc.state_var") + counter, 8)
    lpos = layout.offset("prb_desc.text_blk_lpos")
    begin_at = in_desc("OFFSET(prb_data_blk_lpos.begin)", lpos + layout.offset("prb_data_blk_lpos.begin"), 8)
    next_at = in_desc("OFFSET(prb_data_blk_lpos.next)", lpos + layout.offset("prb_data_blk_lpos.next"), 8)
    seq_at = in_info("OFFSET(printk_info.seq)", layout.offset("printk_info.seq"), 8)
    ts_at = in_info("OFFSET(printk_info.ts_nsec)", layout.offset("printk_info.ts_nsec"), 8)
    # facility and flags:5/level:3 follow text_len (u16) and are not in VMCOREINFO.
    text_len_at = in_info("OFFSET(printk_info.text_len)", layout.offset("printk_info.text_len"), 4)
    facility_at, level_at = text_len_at + 2, text_len_at + 3
    caller_at = in_info("OFFSET(printk_info.caller_id)", layout.offset("printk_info.caller_id"), 4)
    dev_info = layout.offset("printk_info.dev_info")
    subsystem_len = prog.vmcoreinfo.length("printk_info_subsystem") or 16
    device_len = prog.vmcoreinfo.length("printk_info_device") or 48
    subsystem_at = in_info("OFFSET(dev_printk_info.subsystem)", dev_info + layout.offset("dev_printk_info.subsystem"),
                           subsystem_len)
    device_at = in_info("OFFSET(dev_printk_info.device)", dev_info + layout.offset("dev_printk_info.device"),
                        device_len)

    records = PrintkRecords(format="printk_ringbuffer")
    unpack_q = struct.Struct("<Q").unpack_from
    # From the tail to the head inclusive, as crash walks it; a corrupt head/tail pair
    # cannot make the walk longer than the ring.
    span = ((head_id - tail_id) & _DESC_ID_MASK) + 1
    if span > count:
        records._skip("head_id/tail_id further apart than the descriptor ring")
        tail_id = (head_id - count + 1) & _DESC_ID_MASK
        span = count
    for step in range(span):
        desc_id = (tail_id + step) & _DESC_ID_MASK
        index = desc_id & (count - 1)
        desc = index * desc_size
        info = index * info_size
        if _in_hole(desc_holes, desc, desc + desc_size) or _in_hole(info_holes, info, info + info_size):
            records._skip("descriptor unreadable in the dump")
            continue
        state_var = unpack_q(descs, desc + state_at)[0]
        if state_var & _DESC_ID_MASK != desc_id:
            records._skip("descriptor id does not match (overwritten)")
            continue
        state = state_var >> _DESC_FLAGS_SHIFT
        # DESC0_ID, the placeholder the ring starts with, was never a record.  It is -(count + 1) in the
        # width of _DESCS_COUNT(): 32 bits on 5.10-6.12 (0xffffefff), the id's 62 bits on 7.2.
        if state == DESC_REUSABLE and desc_id in ((-(count + 1)) & 0xFFFFFFFF, (-(count + 1)) & _DESC_ID_MASK):
            continue
        if state not in (DESC_COMMITTED, DESC_FINALIZED):
            records._skip(_STATE_NAMES[state])
            continue
        seq = unpack_q(infos, info + seq_at)[0]
        ts_nsec = unpack_q(infos, info + ts_at)[0]
        text_len = infos[info + text_len_at] | infos[info + text_len_at + 1] << 8
        facility = infos[info + facility_at]
        flags_level = infos[info + level_at]
        caller_id = int.from_bytes(infos[info + caller_at:info + caller_at + 4], "little")
        subsystem = _cstring(infos[info + subsystem_at:info + subsystem_at + subsystem_len])
        device = _cstring(infos[info + device_at:info + device_at + device_len])
        common = dict(subsystem=subsystem, device=device,
                      dictionary=[f"SUBSYSTEM={subsystem}"] * bool(subsystem) + [f"DEVICE={device}"] * bool(device))
        begin = unpack_q(descs, desc + begin_at)[0]
        next_lpos = unpack_q(descs, desc + next_at)[0]
        if begin % data_size == next_lpos % data_size:
            # FAILED_LPOS/EMPTY_LINE_LPOS: no data block (crash tests the ring offsets).
            records.append(_record(seq, ts_nsec, flags_level >> 5, facility, flags_level & 0x1F, caller_id, b"",
                                   dataless=True, **common))
            continue
        # get_data(): a block that wraps starts at the beginning of the data array.
        if begin >> size_bits == next_lpos >> size_bits:
            start, block_size = begin & (data_size - 1), next_lpos - begin
        elif ((begin + data_size) & _MASK64) >> size_bits == next_lpos >> size_bits:
            start, block_size = 0, next_lpos & (data_size - 1)
        else:
            records._skip("lpos outside the data ring")
            continue
        if not 8 < block_size <= data_size - start:
            records._skip("lpos outside the data ring")
            continue
        if _in_hole(data_holes, start, start + block_size):
            records._skip("text unreadable in the dump")
            continue
        if unpack_q(data, start)[0] != desc_id:
            records._skip("data block belongs to another descriptor")
            continue
        if text_len > block_size - 8:
            records._skip("text_len larger than its data block")
            continue
        raw = bytes(data[start + 8:start + 8 + text_len])
        records.append(_record(seq, ts_nsec, flags_level >> 5, facility, flags_level & 0x1F, caller_id, raw,
                               **common))
    return records


# -- Linux 3.5-5.9: struct printk_log records ------------------------------------
def _read_printk_log(prog: "Program", layout: _Layout) -> PrintkRecords:
    log_buf = _u(prog, layout.symbol("log_buf"), 8)
    buf_len = _u(prog, layout.symbol("log_buf_len"), 4)
    first_idx = _u(prog, layout.symbol("log_first_idx"), 4)
    next_idx = _u(prog, layout.symbol("log_next_idx"), 4)
    # The struct was named "log" until 3.11 (62e32ac3505a).
    header = layout.size("printk_log", "log")

    def in_header(name: str, width: int) -> int:
        names = (f"printk_log.{name}", f"log.{name}")
        return layout.field(layout.offset_key(*names), layout.offset(*names), width, header, "printk_log")

    ts_at = in_header("ts_nsec", 8)
    len_at = in_header("len", 2)
    text_len_at = in_header("text_len", 2)
    # dict_len (u16) is followed by facility and flags:5/level:3, which VMCOREINFO does not name.
    dict_len_at = in_header("dict_len", 4)
    facility_at, level_at = dict_len_at + 2, dict_len_at + 3
    # CONFIG_PRINTK_CALLER (5.1+) appends a u32 caller_id after the flags/level byte.
    caller_at = prog.vmcoreinfo.offset("printk_log.caller_id")
    if caller_at is not None:
        caller_at = layout.field("OFFSET(printk_log.caller_id)", caller_at, 4, header, "printk_log")
    elif header >= level_at + 1 + 4:
        caller_at = level_at + 1
    if buf_len == 0 or buf_len > 1 << 31:
        raise PycoreError(f"log_buf_len {buf_len} is not plausible")
    buf = prog.read(log_buf, buf_len)

    records = PrintkRecords(format="printk_log")
    u16 = struct.Struct("<H").unpack_from
    index, seen = first_idx, 0
    # Each record takes at least the header, so a walk longer than this is a loop.
    limit = buf_len // max(header, 1) + 2
    while index != next_idx:
        seen += 1
        if seen > limit or index + header > buf_len:
            records._skip("record index outside log_buf")
            break
        length = u16(buf, index + len_at)[0]
        if length == 0:
            # log_from_idx(): a zero length marks the end of the buffer; wrap to the start.
            if index == 0:
                records._skip("record index outside log_buf")
                break
            index = 0
            continue
        text_len = u16(buf, index + text_len_at)[0]
        dict_len = u16(buf, index + dict_len_at)[0]
        if length < header or index + length > buf_len or header + text_len + dict_len > length:
            records._skip("record length inconsistent")
            break
        flags_level = buf[index + level_at]
        caller_id = None
        if caller_at is not None:
            caller_id = int.from_bytes(buf[index + caller_at:index + caller_at + 4], "little")
        text = bytes(buf[index + header:index + header + text_len])
        dictionary = [entry.decode("utf-8", "replace") for entry in
                      bytes(buf[index + header + text_len:index + header + text_len + dict_len]).split(b"\0")
                      ] if dict_len else []
        properties = dict(entry.split("=", 1) for entry in dictionary if "=" in entry)
        records.append(_record(None, struct.unpack_from("<Q", buf, index + ts_at)[0], flags_level >> 5,
                               buf[index + facility_at], flags_level & 0x1F, caller_id, text,
                               subsystem=properties.get("SUBSYSTEM", ""), device=properties.get("DEVICE", ""),
                               dictionary=dictionary))
        index += length
    return records


# -- before 3.5: a character buffer ----------------------------------------------
def _read_log_buf(prog: "Program", layout: _Layout) -> PrintkRecords:
    log_buf = _u(prog, layout.symbol("log_buf"), 8)
    # log_end was an unsigned long before 2.6.25 and an unsigned int since; the low half agrees.
    log_end = _u(prog, layout.symbol("log_end"), 4)
    buf_len = _u(prog, layout.symbol("log_buf_len"), 4)
    if buf_len == 0 or buf_len & (buf_len - 1) or buf_len > 1 << 31:
        raise PycoreError(f"log_buf_len {buf_len} is not a plausible power of two")
    if log_end < buf_len:
        text, wrapped = prog.read(log_buf, log_end), False
    else:
        index = log_end & (buf_len - 1)
        whole = prog.read(log_buf, buf_len)
        text, wrapped = whole[index:] + whole[:index], True
    return parse_log_buf(text, wrapped)


def parse_log_buf(text: bytes, wrapped: bool = False) -> PrintkRecords:
    """Records from a pre-3.5 character log: one per line, ``<N>`` taken as the level and a
    ``[%5lu.%06lu] `` prefix (CONFIG_PRINTK_TIME) as the timestamp.  When the buffer has
    wrapped, its first line is the tail of an overwritten one and is kept as it is."""
    records = PrintkRecords(format="log_buf")
    lines = text.replace(b"\0", b"").split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines):
        level = timestamp = None
        if not (wrapped and number == 0):
            match = _LEVEL_PREFIX.match(line)
            if match:
                level, line = int(match.group(1)), line[match.end():]
            match = _TIMESTAMP_PREFIX.match(line)
            if match and b"[%5d.%s] " % (int(match.group(1)), match.group(2)) == match.group(0):
                timestamp = int(match.group(1)) * 1_000_000_000 + int(match.group(2)) * 1000
                line = line[match.end():]
        records.append(_record(None, timestamp, level, None, 0, None, line))
    return records


def boot_time(prog: "Program", records: Sequence[PrintkRecord]) -> int:
    """Seconds since the epoch when the kernel booted: the crash time (VMCOREINFO CRASHTIME)
    less the uptime, taken as the last record's timestamp (crash uses jiffies and HZ)."""
    crash_time = prog.vmcoreinfo.crash_time if prog.vmcoreinfo is not None else None
    if crash_time is None:
        raise MissingDebugInfoError("human-readable times need the crash time: VMCOREINFO has no CRASHTIME")
    stamps = [r.timestamp_ns for r in records if r.timestamp_ns is not None]
    return crash_time - (max(stamps) // 1_000_000_000 if stamps else 0)


# -- audit records not yet read by auditd (kernel/audit.c) -------------------------------------------
# The sk_buff queues audit messages wait on, in the order crash reads them: 4.11+ (audit_queue with
# its hold and retry queues), else the older audit_skb_queue and its hold queue.
AUDIT_QUEUES = (("audit_hold_queue", "audit_retry_queue", "audit_queue"),
                ("audit_skb_hold_queue", "audit_skb_queue"))
# NLMSG_HDRLEN: the netlink header, rounded to NLMSG_ALIGNTO (4), before the message text.
NLMSG_HDRLEN = 16
# More queued messages than this is a loop in the queue, not audit backlog.
MAX_AUDIT_RECORDS = 1 << 20


@dataclass
class AuditRecord:
    """One audit message still queued in the kernel: its netlink type and text."""

    type: int
    text: bytes


def audit_records(prog: "Program") -> Optional[List[AuditRecord]]:
    """The audit messages waiting in the kernel's sk_buff queues (each ``sk_buff.data`` a netlink
    message: ``nlmsghdr.nlmsg_type``, then the text up to ``sk_buff.len``), queue by queue as crash's
    ``log -a`` reads them; None for a kernel with neither set of queues (no CONFIG_AUDIT)."""
    names = next((group for group in AUDIT_QUEUES if _has_symbol(prog, group[-1])), None)
    if names is None:
        return None
    head_type = prog.type("struct sk_buff_head")
    skb_type = prog.type("struct sk_buff")
    type_offset = prog.type("struct nlmsghdr").offsetof("nlmsg_type")
    found: List[AuditRecord] = []
    for name in names:
        if not _has_symbol(prog, name):
            continue
        head = prog.symbols.by_name(name).address
        if not _u(prog, head + head_type.offsetof("qlen"), 4):
            continue
        skb = _u(prog, head + head_type.offsetof("next"), 8)
        while skb != head:
            if not skb or len(found) >= MAX_AUDIT_RECORDS:
                raise PycoreError(f"{name}: the sk_buff queue at {head:#x} is broken at {skb:#x}")
            length = _u(prog, skb + skb_type.offsetof("len"), 4)
            data = _u(prog, skb + skb_type.offsetof("data"), 8)
            text = prog.read(data + NLMSG_HDRLEN, max(length - NLMSG_HDRLEN, 0)) if length > NLMSG_HDRLEN else b""
            found.append(AuditRecord(_u(prog, data + type_offset, 2), text.split(b"\0", 1)[0]))
            skb = _u(prog, skb + skb_type.offsetof("next"), 8)
    return found


def _has_symbol(prog: "Program", name: str) -> bool:
    try:
        prog.symbols.by_name(name)
    except LookupError:
        return False
    return True


# -- printk_safe per-CPU buffers (kernel/printk/printk_safe.c, 4.11 to 5.14) -------------------------
PRINTK_SAFE_BUFFERS = ("nmi_print_seq", "safe_print_seq")


@dataclass
class SafeBuffer:
    """One CPU's printk_safe_seq_buf: where it is, the bytes written (``len``), the messages lost,
    and the text not yet flushed to the log (the first ``len`` bytes of ``buffer``)."""

    name: str
    cpu: int
    address: int
    length: int
    message_lost: int
    text: bytes


def printk_safe_buffers(prog: "Program", cpus: int) -> Optional[List[SafeBuffer]]:
    """Each CPU's ``nmi_print_seq`` and ``safe_print_seq`` (buffer by buffer, CPU 0 first), the
    printk text NMI and recursion-safe contexts left there before it reached the log; None on a
    kernel without them (5.15 removed printk_safe's buffers)."""
    try:
        seq_buf = prog.type("struct printk_safe_seq_buf")
    except LookupError:
        return None
    buffer_size = seq_buf.member("buffer").type.size
    found: List[SafeBuffer] = []
    for name in PRINTK_SAFE_BUFFERS:
        if not _has_symbol(prog, name):
            continue
        base = prog.symbols.by_name(name).address
        for cpu in range(cpus):
            address = per_cpu_address(prog, base, cpu)
            length = struct.unpack("<i", prog.read(address + seq_buf.offsetof("len"), 4))[0]
            lost = struct.unpack("<i", prog.read(address + seq_buf.offsetof("message_lost"), 4))[0]
            text = prog.read(address + seq_buf.offsetof("buffer"), min(length, buffer_size)) if length > 0 else b""
            found.append(SafeBuffer(name, cpu, address, length, lost, text))
    return found
