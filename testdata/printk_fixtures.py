"""Synthetic kernel logs in the three printk layouts, placed in a synthetic dump's memory.

Each builder follows the kernel's own writer: ``log_store()`` of printk.c for ``struct
printk_log`` records (3.5-5.9), ``emit_log_char()`` for the character buffer (before 3.5)
and ``prb_reserve()``/``data_alloc()`` of printk_ringbuffer.c (5.10+).  ``make_dump`` puts
one of them in memory with the VMCOREINFO entries those kernels exported and returns the
bytes of a kdump-compressed file.
"""
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import synthetic

PAGE_OFFSET = 0xFFFF888000000000  # the direct map with 4-level paging
# Where the fixtures live in the synthetic machine: below its page tables (pfn 0x3C0).
VARIABLES_PHYS = 0x200000         # the kernel variables (log_buf, log_end, prb, ...)
BUFFER_PHYS = 0x210000            # the buffers they point at

LOG_NEWLINE, LOG_CONT = 2, 8


def kernel_address(physical: int) -> int:
    """A kernel-image (``__START_KERNEL_map``) address; synthetic machines have phys_base 0."""
    return synthetic.START_KERNEL_MAP + physical


def direct_address(physical: int) -> int:
    return PAGE_OFFSET + physical


def write(machine: synthetic.Machine, physical: int, data: bytes) -> None:
    """Store ``data`` in the machine's memory and make sure the dump keeps those pages."""
    while data:
        pfn, offset = divmod(physical, synthetic.PAGE_SIZE)
        take = min(len(data), synthetic.PAGE_SIZE - offset)
        page = bytearray(machine.pages[pfn])
        page[offset:offset + take] = data[:take]
        machine.pages[pfn] = bytes(page)
        machine.excluded.discard(pfn)
        physical += take
        data = data[take:]


@dataclass
class Message:
    text: bytes
    ts_nsec: int
    level: int = 6
    facility: int = 0
    flags: int = LOG_NEWLINE
    dictionary: bytes = b""        # printk_log: "KEY=value\0KEY=value"
    caller_id: int = 0             # task id, or 0x80000000 | cpu
    subsystem: bytes = b""         # printk_ringbuffer dev_info
    device: bytes = b""


# -- Linux 3.5-5.9: struct printk_log ---------------------------------------------
@dataclass
class PrintkLogBuffer:
    """``log_buf`` as log_store() leaves it: records aligned to 4 (x86 packs the struct), a
    zero-length header where a record did not fit before the end, the oldest records
    overwritten when the buffer is full."""
    size: int
    caller: bool = False           # CONFIG_PRINTK_CALLER (5.1+): a u32 after flags/level
    data: bytearray = field(init=False)
    first_idx: int = 0
    next_idx: int = 0
    first_seq: int = 0
    next_seq: int = 0

    def __post_init__(self):
        self.data = bytearray(self.size)

    @property
    def header_size(self) -> int:
        return 20 if self.caller else 16

    def _len_at(self, index: int) -> int:
        return struct.unpack_from("<H", self.data, index + 8)[0]

    def _log_next(self, index: int) -> int:
        length = self._len_at(index)
        if length == 0:
            return self._len_at(0)
        return index + length

    def _has_space(self, size: int, empty: bool) -> bool:
        if self.next_idx > self.first_idx or empty:
            free = max(self.size - self.next_idx, self.first_idx)
        else:
            free = self.first_idx - self.next_idx
        return free >= size + self.header_size

    def store(self, message: Message) -> None:
        size = self.header_size + len(message.text) + len(message.dictionary)
        size += -size % 4
        while self.first_seq < self.next_seq and not self._has_space(size, False):
            self.first_idx = self._log_next(self.first_idx)
            self.first_seq += 1
        if not self._has_space(size, self.first_seq == self.next_seq):
            raise ValueError("message larger than the buffer")
        if self.next_idx + size + self.header_size > self.size:
            self.data[self.next_idx:self.next_idx + self.header_size] = bytes(self.header_size)
            self.next_idx = 0
        header = struct.pack("<QHHHBB", message.ts_nsec, size, len(message.text), len(message.dictionary),
                             message.facility, message.flags | message.level << 5)
        if self.caller:
            header += struct.pack("<I", message.caller_id)
        record = (header + message.text + message.dictionary).ljust(size, b"\0")
        self.data[self.next_idx:self.next_idx + size] = record
        self.next_idx += size
        self.next_seq += 1

    def place(self, machine: synthetic.Machine, struct_name: str = "printk_log") -> Dict[str, int]:
        """Write the buffer and its variables; the VMCOREINFO entries 3.5-5.9 exported
        (``struct_name`` "log" for 3.5-3.10)."""
        write(machine, BUFFER_PHYS, bytes(self.data))
        variables = struct.pack("<QIII", direct_address(BUFFER_PHYS), self.size, self.first_idx, self.next_idx)
        write(machine, VARIABLES_PHYS, variables)
        return {
            "SYMBOL(log_buf)": kernel_address(VARIABLES_PHYS),
            "SYMBOL(log_buf_len)": kernel_address(VARIABLES_PHYS + 8),
            "SYMBOL(log_first_idx)": kernel_address(VARIABLES_PHYS + 12),
            "SYMBOL(log_next_idx)": kernel_address(VARIABLES_PHYS + 16),
            f"SIZE({struct_name})": self.header_size,
            f"OFFSET({struct_name}.ts_nsec)": 0,
            f"OFFSET({struct_name}.len)": 8,
            f"OFFSET({struct_name}.text_len)": 10,
            f"OFFSET({struct_name}.dict_len)": 12,
        }


# -- before 3.5: the character buffer ---------------------------------------------
@dataclass
class LegacyLogBuffer:
    """``log_buf`` of emit_log_char(): characters at ``log_end & (log_buf_len - 1)``, with
    ``log_end`` counting every character ever written."""
    size: int
    data: bytearray = field(init=False)
    log_end: int = 0

    def __post_init__(self):
        self.data = bytearray(self.size)

    def emit(self, text: bytes) -> None:
        for byte in text:
            self.data[self.log_end & (self.size - 1)] = byte
            self.log_end += 1

    def place(self, machine: synthetic.Machine) -> Dict[str, int]:
        write(machine, BUFFER_PHYS, bytes(self.data))
        write(machine, VARIABLES_PHYS, struct.pack("<QIII", direct_address(BUFFER_PHYS), self.log_end, self.size,
                                                   min(self.log_end, self.size)))
        return {
            "SYMBOL(log_buf)": kernel_address(VARIABLES_PHYS),
            "SYMBOL(log_end)": kernel_address(VARIABLES_PHYS + 8),
            "SYMBOL(log_buf_len)": kernel_address(VARIABLES_PHYS + 12),
            "SYMBOL(logged_chars)": kernel_address(VARIABLES_PHYS + 16),
        }


# -- Linux 5.10+: printk_ringbuffer ------------------------------------------------
DESC_REUSABLE, DESC_RESERVED, DESC_COMMITTED, DESC_FINALIZED = 3, 0, 1, 2
_ID_MASK = (1 << 62) - 1
_MASK64 = (1 << 64) - 1
FAILED_LPOS = 0x1

# The layout Linux 6.1 exported (reference/vmcoreinfo.txt of the corpus).
PRB_LAYOUT = {
    "SIZE(printk_ringbuffer)": 88, "OFFSET(printk_ringbuffer.desc_ring)": 0,
    "OFFSET(printk_ringbuffer.text_data_ring)": 48, "OFFSET(printk_ringbuffer.fail)": 80,
    "SIZE(prb_desc_ring)": 48, "OFFSET(prb_desc_ring.count_bits)": 0, "OFFSET(prb_desc_ring.descs)": 8,
    "OFFSET(prb_desc_ring.infos)": 16, "OFFSET(prb_desc_ring.head_id)": 24, "OFFSET(prb_desc_ring.tail_id)": 32,
    "SIZE(prb_desc)": 24, "OFFSET(prb_desc.state_var)": 0, "OFFSET(prb_desc.text_blk_lpos)": 8,
    "SIZE(prb_data_blk_lpos)": 16, "OFFSET(prb_data_blk_lpos.begin)": 0, "OFFSET(prb_data_blk_lpos.next)": 8,
    "SIZE(printk_info)": 88, "OFFSET(printk_info.seq)": 0, "OFFSET(printk_info.ts_nsec)": 8,
    "OFFSET(printk_info.text_len)": 16, "OFFSET(printk_info.caller_id)": 20, "OFFSET(printk_info.dev_info)": 24,
    "SIZE(dev_printk_info)": 64, "OFFSET(dev_printk_info.subsystem)": 0, "LENGTH(printk_info_subsystem)": 16,
    "OFFSET(dev_printk_info.device)": 16, "LENGTH(printk_info_device)": 48,
    "SIZE(prb_data_ring)": 32, "OFFSET(prb_data_ring.size_bits)": 0, "OFFSET(prb_data_ring.data)": 8,
    "OFFSET(prb_data_ring.head_lpos)": 16, "OFFSET(prb_data_ring.tail_lpos)": 24,
    "SIZE(atomic_long_t)": 8, "OFFSET(atomic_long_t.counter)": 0,
}


@dataclass
class _Desc:
    state: int
    id: int
    begin: int
    next: int
    info: bytes


class Ringbuffer:
    """A printk_ringbuffer as prb_init() starts it and prb_reserve()/prb_final_commit() fill it:
    ids from DESC0_ID, lpos from BLK0_LPOS, blocks of ``ALIGN(8 + text_len, 8)`` that wrap to
    the start of the data array, the oldest records made reusable when either ring is full."""

    def __init__(self, count_bits: int = 4, size_bits: int = 10):
        self.count_bits, self.size_bits = count_bits, size_bits
        self.count, self.data_size = 1 << count_bits, 1 << size_bits
        desc0 = (-(self.count + 1)) & 0xFFFFFFFF
        self.descs: Dict[int, _Desc] = {self.count - 1: _Desc(DESC_REUSABLE, desc0, FAILED_LPOS, FAILED_LPOS,
                                                               bytes(88))}
        self.data = bytearray(self.data_size)
        self.head_id = self.tail_id = desc0
        self.head_lpos = self.tail_lpos = (-self.data_size) & _MASK64
        self.live: List[int] = []   # ids whose data is still in the ring, oldest first
        self.seq = 0

    def _info(self, message: Message, text_len: int) -> bytes:
        return (struct.pack("<QQHBBI", self.seq, message.ts_nsec, text_len, message.facility,
                            message.flags | message.level << 5, message.caller_id)
                + message.subsystem.ljust(16, b"\0") + message.device.ljust(48, b"\0")).ljust(88, b"\0")

    def _retire(self, desc_id: int) -> None:
        desc = self.descs[desc_id & (self.count - 1)]
        if desc.id == desc_id:
            desc.state = DESC_REUSABLE

    def _oldest_data_begin(self) -> Optional[int]:
        for desc_id in self.live:
            desc = self.desc(desc_id)
            if desc.begin != FAILED_LPOS:
                return desc.begin
        return None

    def add(self, message: Message, state: int = DESC_FINALIZED) -> int:
        """Append a record; returns its descriptor id."""
        desc_id = (self.head_id + 1) & _ID_MASK
        # The descriptor ring is full: the record in this slot goes first (desc_push_tail()).
        while self.live and ((desc_id - self.live[0]) & _ID_MASK) >= self.count:
            self._retire(self.live.pop(0))
        text_len = len(message.text)
        if text_len == 0:
            begin = next_lpos = FAILED_LPOS
        else:
            size = (8 + text_len + 7) & ~7
            begin = self.head_lpos
            next_lpos = (begin + size) & _MASK64
            wraps = begin >> self.size_bits != next_lpos >> self.size_bits
            if wraps:  # get_next_lpos(): a wrapping block is stored at the start of the ring
                next_lpos = ((next_lpos & ~(self.data_size - 1)) + size) & _MASK64
            # data_push_tail(): records whose data the new block would overwrite are retired.
            while self._oldest_data_begin() is not None and \
                    ((next_lpos - self._oldest_data_begin()) & _MASK64) > self.data_size:
                self._retire(self.live.pop(0))
            offset = 0 if wraps else begin & (self.data_size - 1)
            struct.pack_into("<Q", self.data, begin & (self.data_size - 1), desc_id)
            struct.pack_into("<Q", self.data, offset, desc_id)
            self.data[offset + 8:offset + 8 + text_len] = message.text
            self.head_lpos = next_lpos
        self.descs[desc_id & (self.count - 1)] = _Desc(state, desc_id, begin, next_lpos,
                                                        self._info(message, text_len))
        self.head_id = desc_id
        self.live.append(desc_id)
        self.tail_id = self.live[0]
        self.seq += 1
        return desc_id

    def desc(self, desc_id: int) -> _Desc:
        return self.descs[desc_id & (self.count - 1)]

    def place(self, machine: synthetic.Machine) -> Dict[str, int]:
        descs_phys = BUFFER_PHYS
        infos_phys = descs_phys + 24 * self.count
        data_phys = infos_phys + 88 * self.count
        data_phys += -data_phys % 8
        descs, infos = bytearray(24 * self.count), bytearray(88 * self.count)
        for index, desc in self.descs.items():
            struct.pack_into("<QQQ", descs, 24 * index, desc.state << 62 | desc.id, desc.begin, desc.next)
            infos[88 * index:88 * index + 88] = desc.info
        write(machine, descs_phys, bytes(descs))
        write(machine, infos_phys, bytes(infos))
        write(machine, data_phys, bytes(self.data))
        ring_phys = VARIABLES_PHYS + 0x40
        ring = struct.pack("<IIQQQQQ", self.count_bits, 0, direct_address(descs_phys), direct_address(infos_phys),
                           self.head_id, self.tail_id, 0)
        ring += struct.pack("<IIQQQ", self.size_bits, 0, direct_address(data_phys), self.head_lpos, self.tail_lpos)
        ring += bytes(8)  # fail
        write(machine, ring_phys, ring)
        write(machine, VARIABLES_PHYS, struct.pack("<Q", kernel_address(ring_phys)))
        entries = {"SYMBOL(prb)": kernel_address(VARIABLES_PHYS), "SYMBOL(printk_rb_static)": kernel_address(ring_phys)}
        entries.update(PRB_LAYOUT)
        return entries


def make_dump(fixture, release: str = "5.4.0-synthetic", crash_time: Optional[int] = None,
              **place_options) -> Tuple[bytes, synthetic.Machine]:
    """A kdump-compressed dump of a synthetic machine holding ``fixture`` and its VMCOREINFO."""
    machine = synthetic.make_machine()
    synthetic.add_page_tables(machine)
    entries = fixture.place(machine, **place_options)
    text = machine.vmcoreinfo.decode().replace("OSRELEASE=6.1.0-synthetic", f"OSRELEASE={release}")
    if crash_time is not None:
        text = text.replace("CRASHTIME=1764115200", f"CRASHTIME={crash_time}")
    for key, value in entries.items():
        text += f"{key}={value:x}\n" if key.startswith("SYMBOL(") else f"{key}={value}\n"
    machine.vmcoreinfo = text.encode()
    machine.release = release
    return synthetic.build_kdump(machine, "zlib")[0], machine
