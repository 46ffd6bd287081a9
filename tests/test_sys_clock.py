"""sys's clock on kernels without ``tick_nsec`` or ``tk_core`` (7.2 has neither), and its KERNEL
line for a tainted kernel: where each value is found is decided by the symbols and types the dump
has, never by its version."""
import struct
from types import SimpleNamespace

import pytest

from pycore.cli import sysinfo
from pycore.errors import FaultError
from pycore.kernel import system
from pycore.symbols.table import SymbolTable
from pycore.types.model import Member, int_type, struct_type

U32 = int_type("unsigned int", 4, False)
CLOCKSOURCE = struct_type("clocksource", 200, [Member("mult", U32, 8 * 24), Member("shift", U32, 8 * 28)])
TIMEKEEPER = struct_type("timekeeper", 304, [Member("xtime_sec", int_type("u64", 8, False), 8 * 56)])
TK_DATA = struct_type("tk_data", 640, [Member("timekeeper", TIMEKEEPER, 8 * 8)])
SEQCOUNT = struct_type("seqcount_raw_spinlock", 4, [])


class ClockProg:
    """Symbols at ``0xffffffff82000000 + 0x1000 * i`` holding ``values`` (bytes), and the clock types."""

    def __init__(self, values, types=(CLOCKSOURCE, TIMEKEEPER, TK_DATA)):
        names = list(values)
        addresses = [0xFFFFFFFF82000000 + 0x1000 * i for i in range(len(names))]
        self.symbols = SymbolTable("test symbols", names, addresses, [None] * len(names), ["D"] * len(names))
        self.memory = {address: data for address, data in zip(addresses, values.values())}
        self.types = {f"struct {t.name}": t for t in types}
        self.types["seqcount_raw_spinlock_t"] = SEQCOUNT
        self.vmcoreinfo = SimpleNamespace(crash_time=None)

    def read(self, address, size):
        for start, data in self.memory.items():
            if start <= address and address + size <= start + len(data):
                return data[address - start:address - start + size]
        raise FaultError("nothing there", address)

    def type(self, name):
        try:
            return self.types[name]
        except KeyError:
            raise LookupError(name) from None


def jiffies_clocksource(tick_nsec, shift=8):
    data = bytearray(200)
    struct.pack_into("<II", data, 24, (tick_nsec << shift) & 0xFFFFFFFF, shift)
    return bytes(data)


@pytest.mark.parametrize("hz", [100, 250, 300, 1000])
def test_hz_comes_from_the_jiffies_clocksource_without_tick_nsec(hz):
    """7.2's image has no tick_nsec; clocksource_jiffies.mult is TICK_NSEC << JIFFIES_SHIFT."""
    tick_nsec = (1_000_000_000 + hz // 2) // hz
    assert system.kernel_hz(ClockProg({"clocksource_jiffies": jiffies_clocksource(tick_nsec)})) == hz


def test_tick_nsec_is_taken_first_where_the_image_has_it():
    prog = ClockProg({"tick_nsec": struct.pack("<Q", 4_000_000),
                      "clocksource_jiffies": jiffies_clocksource(1_000_000)})
    assert system.kernel_hz(prog) == 250


@pytest.mark.parametrize("values", [
    {"clocksource_jiffies": jiffies_clocksource(3_999_999)},   # no HZ gives this TICK_NSEC
    {"clocksource_jiffies": jiffies_clocksource(0)},
    {"clocksource_jiffies": jiffies_clocksource(15, shift=40)},         # a shift beyond a u32
    {"clocksource_jiffies": jiffies_clocksource(100)},          # 10 MHz: no CONFIG_HZ
    {},
], ids=["not-a-tick", "zero", "shift", "too-fast", "no-symbol"])
def test_a_tick_no_kernel_has_gives_no_hz(values):
    assert system.kernel_hz(ClockProg(values)) is None


def test_crash_time_reads_the_core_timekeeper_of_timekeeper_data():
    """timekeeper_data[TIMEKEEPER_CORE] is a struct tk_data; the timekeeper sits after its seqcount."""
    data = bytearray(640 * 2)
    struct.pack_into("<Q", data, 8 + 56, 1796139119)
    prog = ClockProg({"timekeeper_data": bytes(data)})
    assert system.timekeeper_address(prog) == 0xFFFFFFFF82000000 + 8
    assert system.crash_time(prog) == 1796139119


def test_crash_time_reads_tk_core_before_timekeeper_data():
    data = bytearray(320)
    struct.pack_into("<Q", data, 8 + 56, 1764600000)
    prog = ClockProg({"tk_core": bytes(data)})
    assert system.timekeeper_address(prog) == 0xFFFFFFFF82000000 + 8
    assert system.crash_time(prog) == 1764600000


def test_crash_time_prefers_vmcoreinfo_crashtime():
    prog = ClockProg({})
    prog.vmcoreinfo = SimpleNamespace(crash_time=1796139119)
    assert system.crash_time(prog) == 1796139119


def sys_info(**changes):
    info = {"kernel": "/boot/vmlinux", "tainted_mask": 0, "symbols": "vmlinux symtab", "types": "dwarf",
            "dumpfile": "vmcore", "partial_dump": False, "cpus": 2, "offline_cpus": 0, "date": 0, "jiffies": 0,
            "hz": 250, "kernel_hz": 250, "uptime_seconds": 14, "kernel_uptime_seconds": 14,
            "load_average": [0, 0, 0], "tasks": 55, "nodename": "(none)", "release": "5.10.0-32-cloud-amd64",
            "version": "#1 SMP Debian", "machine": "x86_64", "mhz": 2600, "memory_bytes": 1 << 30,
            "panic": None, "panic_error": None, "unreadable": {}}
    info.update(changes)
    return sysinfo.render(sysinfo.report(info)).splitlines()[0]


@pytest.mark.parametrize("changes,line", [
    ({}, "      KERNEL: /boot/vmlinux"),
    ({"tainted_mask": 1 << 13}, "      KERNEL: /boot/vmlinux  [TAINTED]"),
    ({"tainted_mask": None}, "      KERNEL: /boot/vmlinux"),
    ({"tainted_mask": 1, "kernel": None, "symbols": "kallsyms (dump)", "types": "btf (dump)"},
     "      KERNEL: (no vmlinux: symbols from kallsyms (dump), types from btf (dump))  [TAINTED]"),
], ids=["clean", "unsigned-module", "unreadable", "no-vmlinux"])
def test_a_tainted_kernel_is_marked_on_the_kernel_line_as_crash_marks_it(changes, line):
    """crash 9 on Debian 5.10 (taint E, an unsigned module): ``KERNEL: .../vmlinux  [TAINTED]``."""
    assert sys_info(**changes) == line
