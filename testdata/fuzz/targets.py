"""One fuzz target per parser, each driving it through its public entry point as a command would.

A target takes a seed (for its context), the mutated bytes and the path to take (C or pure
Python, where the parser has both), and returns how much it parsed (pages, records,
symbols, types), so a test can tell a seed that parses from one refused at the door.

The property every target must keep: it returns, or raises a :class:`pycore.PycoreError`
subclass; never another exception, never a hang (:func:`bounded` interrupts one), never
unbounded memory (:func:`bounded` limits the address space).
"""
import contextlib
import os
import re
import resource
import signal
import struct
import tempfile
import traceback
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Optional, Tuple

import pycore
from pycore.errors import PycoreError

from .make_seeds import ORC_IP_BASE, ORC_STACK, ORC_TEXT, Seed, printk_elf

PAGE = 4096
# Enough to reach every structure of the small seed dumps without reading whole files.
MAX_RANGES = 8
PAGES_PER_RANGE = 12
MAX_TYPES = 1500
MAX_UNWIND_STEPS = 64
# Far above what any target needs on the seeds (the slowest takes well under a second);
# only a loop that never ends gets here.
TIME_LIMIT = 30.0
# Address space a target may add to the process: a file-sized allocation is fine, one sized
# by a damaged 64-bit field is not.
MEMORY_LIMIT = 1 << 30


class TargetTimeout(Exception):
    """A target ran past TIME_LIMIT: a hang."""


@contextlib.contextmanager
def _temporary_file(data: bytes) -> Iterator[str]:
    descriptor, path = tempfile.mkstemp(prefix="pycore-fuzz-")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        yield path
    finally:
        os.unlink(path)


def _swallow(call: Callable[[], object]) -> int:
    """Run one step of a target; a typed error ends only that step, so later steps still run.
    1 when the step succeeded."""
    try:
        call()
    except PycoreError:
        return 0
    return 1


# -- dump containers -----------------------------------------------------------------------
def _exercise_program(prog: "pycore.Program") -> int:
    """What ``pycore info`` and a first script do: describe the dump, read its pages and notes."""
    dump = prog.dump
    done = _swallow(prog.info)
    if dump.vmcoreinfo is not None:
        _swallow(dump.vmcoreinfo.typed)
    ranges = []
    _swallow(lambda: ranges.extend(dump.ranges()[:MAX_RANGES]))
    buffer = bytearray(2 * PAGE)
    for start, end in ranges:
        for address in range(start, min(end, start + PAGES_PER_RANGE * PAGE), PAGE):
            done += _swallow(lambda: dump.read_physical(address, PAGE))
            done += _swallow(lambda: dump.read_physical(address + PAGE // 2, PAGE, zero_excluded=True))
        done += _swallow(lambda: dump.read_physical_into(start, buffer, zero_excluded=True))
    done += _swallow(lambda: prog.read(0xFFFF888000000000 + 0x1000, 64))
    done += _swallow(lambda: prog.read_available(0xFFFFFFFF81000000, 2 * PAGE))
    return done


def dump_container(seed: Seed, data: bytes, native: bool) -> int:
    """ELF, kdump (header, bitmaps, descriptors, page data) and flattened files via pycore.open."""
    with _temporary_file(data) as path:
        with pycore.open(path, native=native) as prog:
            return _exercise_program(prog)


# -- VMCOREINFO and notes -------------------------------------------------------------------
_KEYED = re.compile(r"^(SYMBOL|SIZE|OFFSET|LENGTH|NUMBER)\((.+)\)$")


def vmcoreinfo(seed: Seed, data: bytes, native: bool) -> int:
    from pycore.dump.vmcoreinfo import VmcoreInfo
    info = VmcoreInfo.from_bytes(data)
    done = 0
    for key in info:
        match = _KEYED.match(key)
        if match:
            accessor = getattr(info, match.group(1).lower())
            done += _swallow(lambda: accessor(match.group(2)))
    for name in ("page_size", "kernel_offset", "crash_time", "osrelease", "build_id"):
        done += _swallow(lambda: getattr(info, name))
    return done + _swallow(info.typed)


def notes(seed: Seed, data: bytes, native: bool) -> int:
    from pycore.dump.notes import cpu_states, parse_notes, vmcoreinfo_note
    found = parse_notes(data, base_offset=0x1000)
    vmcoreinfo_note(found)
    return len(found) + len(cpu_states(found))


# -- symbols ---------------------------------------------------------------------------------
def kallsyms(seed: Seed, data: bytes, native: bool) -> int:
    from kallsyms_writer import KallsymsImage
    from pycore.symbols import load_kallsyms
    image = KallsymsImage(seed.context["base"], data, seed.context["locations"])
    table = load_kallsyms(image.read, image.vmcoreinfo())
    for symbol in list(table)[:64]:
        table.format(symbol.address + 1)
        table.by_name(symbol.name)
    return len(table)


def vmlinux(seed: Seed, data: bytes, native: bool) -> int:
    """A vmlinux's symtab, build id, banner, .BTF, and kallsyms read through its sections."""
    from pycore.symbols import elf_build_id, elf_linux_banner, load_elf_symbols, load_kallsyms, vmlinux_reader
    from pycore.types import load_vmlinux_btf
    with _temporary_file(data) as path:
        done = _swallow(lambda: load_elf_symbols(path, kaslr_offset=0x1E000000))
        done += _swallow(lambda: elf_build_id(path))
        done += _swallow(lambda: elf_linux_banner(path))
        done += _swallow(lambda: load_vmlinux_btf(path))
        link_time = []
        done += _swallow(lambda: link_time.append(load_elf_symbols(path)))
        if link_time:
            locate = lambda name: link_time[0].by_name(name).address  # noqa: E731
            done += _swallow(lambda: load_kallsyms(vmlinux_reader(path), None, locate=locate))
    return done


def system_map(seed: Seed, data: bytes, native: bool) -> int:
    from pycore.symbols import load_system_map
    with _temporary_file(data) as path:
        table = load_system_map(path, kaslr_offset=0x1E000000)
    for symbol in list(table)[:64]:
        table.lookup(symbol.address)
    return len(table)


# -- types -------------------------------------------------------------------------------------
def _exercise_type(index, t) -> None:
    """Spell, size and walk a type, and decode a zero-filled value of it, as helpers do."""
    from pycore.object import Object
    from pycore.types import TypeKind
    t.type_name()
    size = t.size
    resolved = t.resolved()
    for member in resolved.members or ():
        member.type.type_name()
        if member.name is not None:
            _swallow(lambda: resolved.member(member.name))
    if size is not None and 0 < size <= PAGE:
        value = Object(None, t, bytes(size))  # type: ignore[arg-type]
        _swallow(value.value_)
        if resolved.kind is TypeKind.ARRAY:
            _swallow(lambda: [element.value_() for element in value])


def btf(seed: Seed, data: bytes, native: bool) -> int:
    from pycore.types import parse_btf
    index = parse_btf(data, "fuzz")
    done = 0
    for type_id in range(min(len(index), MAX_TYPES)):
        done += _swallow(lambda: _exercise_type(index, index.type_by_id(type_id)))
    for namespace, name in index.names()[:MAX_TYPES]:
        _swallow(lambda: index.find(f"{namespace} {name}" if namespace else name))
    for name in index.variable_names():
        _swallow(lambda: index.variable_type(name))
    _swallow(lambda: index.function_type("do_task"))
    return done


def dwarf(seed: Seed, data: bytes, native: bool) -> int:
    """The name scan (C or Python twin), the name index and the DIE reader behind find()."""
    from pycore.types.dwarf import DwarfIndex, Sections, scan_names
    from pycore.types.dwarf_scan import build_name_index
    views = []
    position = 0
    for length in seed.context["lengths"]:
        views.append(memoryview(data[position:position + length]))
        position += length
    sections = Sections(*views, path="<fuzz>")
    types, variables = build_name_index(sections, scan_names(sections, native=native))
    index = DwarfIndex(sections, types, variables, "dwarf (fuzz)")
    done = 0
    for namespace, name in list(types)[:MAX_TYPES]:
        done += _swallow(lambda: _exercise_type(index, index.find(f"{namespace} {name}" if namespace else name)))
    for name in list(variables)[:MAX_TYPES]:
        done += _swallow(lambda: index.variable_type(name))
    return done


# -- ORC -----------------------------------------------------------------------------------------
def orc(seed: Seed, data: bytes, native: bool) -> int:
    """Register numbering probe, table lookups and a bounded unwind over a stack of return addresses."""
    from pycore.arch import orc as orc_module
    count, version = seed.context["count"], seed.context["version"]
    ips, entries = data[:4 * count], data[4 * count:10 * count]
    stack = data[10 * count:]
    table = orc_module.OrcTable(ORC_IP_BASE, ips, entries, version, "fuzz")
    orc_module.entries_of(entries, version, table.registers)

    def read_u64(address: int) -> Optional[int]:
        offset = address - ORC_STACK
        if not 0 <= offset <= len(stack) - 8:
            return None  # memory the dump lacks
        return struct.unpack_from("<Q", stack, offset)[0]

    found = 0
    for ip in range(ORC_TEXT - 0x40, ORC_TEXT + 0x40 * (count + 1), 0x1F0):
        found += table.find(ip) is not None
    regs: Optional[orc_module.Registers] = orc_module.Registers(ORC_TEXT + 0x40 * 3 + 1, ORC_STACK, ORC_STACK + 64)
    for _ in range(MAX_UNWIND_STEPS):
        if regs is None or regs.ip is None or regs.sp is None:
            break
        entry = table.find(regs.ip)
        if entry is None:
            break
        orc_module.crash_framesize(entry)
        regs, _pt_regs = orc_module.unwind_step(entry, regs, read_u64, {"r10": ORC_STACK + 8})
        found += 1
    return found


# -- printk -----------------------------------------------------------------------------------------
def _read_log(path: str, native: bool) -> int:
    from pycore.kernel.printk import get_printk_records
    with pycore.open(path, native=native) as prog:
        records = get_printk_records(prog)
        for record in records:
            record.to_dict()
        return len(records) + records.lost


def printk_memory(seed: Seed, data: bytes, native: bool) -> int:
    """Damaged log structures in memory: ring descriptors, infos, data blocks, printk_log records."""
    with _temporary_file(data) as path:
        return _read_log(path, native)


def printk_vmcoreinfo(seed: Seed, data: bytes, native: bool) -> int:
    """The log's layout as VMCOREINFO describes it (sizes, offsets, symbols), damaged."""
    with _temporary_file(printk_elf(seed.context["kind"], data)) as path:
        return _read_log(path, native)


def log_buf(seed: Seed, data: bytes, native: bool) -> int:
    """The character buffer of kernels before 3.5, wrapped or not."""
    from pycore.kernel.printk import parse_log_buf
    return len(parse_log_buf(data, wrapped=False)) + len(parse_log_buf(data, wrapped=True))


# -- text logs ---------------------------------------------------------------------------------------
def textlog(seed: Seed, data: bytes, native: bool) -> int:
    """A pasted or syslog text log through the record parser, trouble and the oom report parser."""
    from pycore.analysis.logtext import parse_log
    from pycore.analysis.oom import autopsy, parse_oom_reports
    from pycore.analysis.trouble import find_trouble
    records = list(parse_log(data.decode("utf-8", "replace").splitlines(), year=2024))
    for record in records:
        record.when
    find_trouble(records).to_dict()
    for report in parse_oom_reports(records):
        report.gfp
        autopsy(report).to_dict()
    return len(records)


@dataclass(frozen=True)
class Target:
    run: Callable[[Seed, bytes, bool], int]
    native: bool          # the parser has a C twin: run on both paths
    examples: int         # hypothesis examples per path in the bounded CI run


TARGETS: Dict[str, Target] = {
    "elf": Target(dump_container, True, 200),
    "kdump": Target(dump_container, True, 300),
    "flattened": Target(dump_container, True, 200),
    "vmcoreinfo": Target(vmcoreinfo, False, 400),
    "notes": Target(notes, False, 400),
    "kallsyms": Target(kallsyms, False, 400),
    "vmlinux": Target(vmlinux, False, 200),
    "system_map": Target(system_map, False, 200),
    "btf": Target(btf, False, 400),
    "dwarf": Target(dwarf, True, 400),
    "orc": Target(orc, False, 300),
    "printk_memory": Target(printk_memory, True, 200),
    "printk_vmcoreinfo": Target(printk_vmcoreinfo, True, 200),
    "log_buf": Target(log_buf, False, 200),
    "textlog": Target(textlog, False, 300),
}


# -- the property ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KnownFinding:
    """An untyped exception in a module another engineer owns, kept as an xfail regression
    test in tests/test_fuzz_findings.py until it is fixed there."""

    exception: type
    module: str           # the pycore file the exception is raised in (its innermost pycore frame)
    test: str             # the regression test that pins it


KNOWN_FINDINGS: Tuple[KnownFinding, ...] = ()


def known_finding(error: BaseException) -> Optional[KnownFinding]:
    """The entry of KNOWN_FINDINGS ``error`` matches, if any."""
    frames = [frame.filename for frame in traceback.extract_tb(error.__traceback__)
              if f"{os.sep}pycore{os.sep}" in frame.filename]
    if not frames:
        return None
    innermost = frames[-1].replace(os.sep, "/")
    for finding in KNOWN_FINDINGS:
        if isinstance(error, finding.exception) and innermost.endswith(finding.module):
            return finding
    return None


def _address_space() -> Optional[int]:
    try:
        with open("/proc/self/statm") as stream:
            return int(stream.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def bounded(seconds: float = TIME_LIMIT, memory: int = MEMORY_LIMIT) -> Iterator[None]:
    """Interrupt the body with TargetTimeout after ``seconds``, and let it map at most
    ``memory`` more bytes (an allocation past that is a MemoryError)."""
    def expire(signum, frame):
        raise TargetTimeout(f"target still running after {seconds} s")

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_limit = resource.getrlimit(resource.RLIMIT_AS)
    current = _address_space()
    if current is not None:
        soft = current + memory
        if previous_limit[1] != resource.RLIM_INFINITY:
            soft = min(soft, previous_limit[1])
        resource.setrlimit(resource.RLIMIT_AS, (soft, previous_limit[1]))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        resource.setrlimit(resource.RLIMIT_AS, previous_limit)


def check(name: str, seed: Seed, data: bytes, native: bool) -> Optional[KnownFinding]:
    """Run target ``name`` on ``data`` within the bounds; re-raise anything but a PycoreError
    or a known finding (returned, so a campaign can count them)."""
    try:
        with bounded():
            TARGETS[name].run(seed, data, native)
    except PycoreError:
        return None
    except Exception as error:  # noqa: BLE001 - the property under test
        finding = known_finding(error)
        if finding is None:
            raise
        return finding
    return None
