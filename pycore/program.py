"""The scripting surface: a Program is one dump plus whatever debug information is known."""
import datetime
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union

from . import debuginfo
from .arch import X86_64
from .dump import Dump, open_dump
from .errors import FaultError, MissingDebugInfoError, PycoreError
from .progress import Progress
from .object import Object
from .types.model import Type

T = TypeVar("T")


class HelperCache:
    """What the kernel helpers work out once per dump, under the keys declared here.

    ``vmstat.zone_items`` / ``vmstat.node_items``: the names of ``enum zone_stat_item`` and
    ``enum node_stat_item``; ``vmstat.nodes``: the online node ids; ``vmstat.zone_layout``: the
    offsets in ``struct zone``; ``vmstat.node_spans``: each node's pfn range (kernel/vmstat.py).
    ``slab.layout``: the SLUB offsets (kernel/slab.py).  ``module.symbols``: the symbol lookup
    over the kernel image and every module (kernel/module.py).
    """

    KEYS = frozenset({"vmstat.zone_items", "vmstat.node_items", "vmstat.nodes", "vmstat.zone_layout",
                      "vmstat.node_spans", "slab.layout", "module.symbols"})

    def __init__(self) -> None:
        self._values: Dict[str, Any] = {}

    def get(self, key: str, build: Callable[[], T]) -> T:
        """The value under ``key``, built by ``build()`` the first time it is asked for."""
        if key not in self.KEYS:
            raise KeyError(f"{key!r} is not a declared helper cache key")
        if key not in self._values:
            self._values[key] = build()
        return self._values[key]

    def __contains__(self, key: str) -> bool:
        return key in self._values


class Program:
    """A crashed kernel as read from its dump (drgn's ``Program`` is the model).

    ``cache`` (:class:`HelperCache`) keeps what the kernel helpers work out once per dump.
    """

    def __init__(self, dump: Dump, vmlinux: Optional[str] = None, system_map: Optional[str] = None,
                 native: Optional[bool] = None, progress: Optional[Progress] = None):
        self.dump = dump
        # ``read_physical(address, size, zero_excluded=False)`` and ``read_physical_into(address,
        # buffer, zero_excluded=False)`` are the container's own methods (see pycore.dump.Dump):
        # one Python call less on the hottest path.
        self.read_physical = dump.read_physical
        self.read_physical_into = dump.read_physical_into
        self.vmlinux = vmlinux
        self.system_map = system_map
        self.cache = HelperCache()
        #: Hears of long work done later for this program (the DWARF scan of ``vmlinux``); see pycore.progress.
        self.progress = progress
        self._arch: Optional[X86_64] = None
        self._native = native
        self._symbols = None
        self._symbols_error: Optional[PycoreError] = None
        self._types = None
        if vmlinux:
            debuginfo.check_vmlinux(dump.vmcoreinfo, vmlinux)

    @property
    def arch(self) -> X86_64:
        """Address translation for this dump, set up on first use."""
        if self._arch is None:
            self._arch = X86_64(self.dump, native=self._native)
        return self._arch

    def read(self, address: int, size: int, physical: bool = False) -> bytes:
        """``size`` bytes at kernel virtual ``address`` (physical with ``physical=True``).

        Unmapped or filtered-out memory raises :class:`pycore.FaultError` carrying the address.
        """
        if physical:
            return self.dump.read_physical(address, size)
        return self.arch.read(address, size)

    @property
    def symbols(self):
        """The symbol table (see :mod:`pycore.debuginfo` for where it comes from).

        A failure is kept and raised again: finding no kallsyms means scanning the kernel image
        (up to a second on a damaged one), which every later question would otherwise repeat."""
        if self._symbols is None:
            if self._symbols_error is not None:
                raise self._symbols_error
            try:
                self._symbols = debuginfo.load_symbols(self.vmcoreinfo, self.vmlinux, self.system_map,
                                                       self.arch.read)
            except PycoreError as error:
                self._symbols_error = error
                raise
        return self._symbols

    @symbols.setter
    def symbols(self, table) -> None:
        self._symbols = table
        self._symbols_error = None

    @property
    def types(self):
        """The type index: DWARF, vmlinux BTF or the dump's own BTF."""
        if self._types is None:
            try:
                symbols = self.symbols
            except PycoreError:
                symbols = None  # load_types then says the dump's BTF cannot be located
            self._types = debuginfo.load_types(self.vmcoreinfo, self.vmlinux, symbols, self.arch.read,
                                               native=self._native, progress=self.progress)
        return self._types

    @types.setter
    def types(self, index) -> None:
        self._types = index

    def locate_direct_map(self) -> None:
        """Tell the address translation where the direct map starts, so that its addresses are
        translated by arithmetic instead of a page-table walk.  CONFIG_RANDOMIZE_MEMORY (4.8+)
        moves it; the kernel keeps the base in ``page_offset_base`` and the next region's in
        ``vmalloc_base``.  :func:`open` calls this; without symbols nothing changes."""
        base = self._unsigned_long("page_offset_base")
        if base:
            self.arch.set_direct_map(base, self._unsigned_long("vmalloc_base"))

    def _unsigned_long(self, name: str) -> Optional[int]:
        try:
            return int.from_bytes(self.read(self.symbols.by_name(name).address, 8), "little")
        except (LookupError, PycoreError):
            return None

    def type(self, name: "Union[str, Type]") -> "Type":
        """A type by C spelling (``"struct task_struct"``, ``"char [16]"``, ``"u64 *"``)."""
        if not isinstance(name, str):
            return name
        return self.types.find(name)

    def symbol(self, what: "Union[int, str]"):
        """By address: ``(Symbol, offset)`` or None; by name: the Symbol (LookupError if unknown)."""
        if isinstance(what, str):
            return self.symbols.by_name(what)
        return self.symbols.lookup(what)

    def object(self, name: str) -> "Object":
        """The global variable ``name`` as a typed Object."""
        from .types.known_globals import global_type

        symbol = self.symbols.by_name(name)
        var_type = global_type(self.types, name)
        if var_type is None:
            raise MissingDebugInfoError(f"the type of {name!r} is not known: {self.types.source} has no variable"
                                        " types for it (give the vmlinux for DWARF)")
        return Object(self, var_type, address=symbol.address)

    __getitem__ = object

    def per_cpu_offset(self, cpu: int) -> int:
        """``__per_cpu_offset[cpu]``: add it to a per-CPU address for that CPU's copy."""
        base = self.symbols.by_name("__per_cpu_offset").address
        return int.from_bytes(self.read(base + 8 * cpu, 8), "little")

    def read_available(self, address: int, size: int) -> "Tuple[bytes, List[Tuple[int, int]]]":
        """Like :meth:`read`, but pages that cannot be read (filtered out, missing from a
        truncated dump, unmapped) come back as zeros, listed as ``(start, end)`` offsets
        into the result, for readers that would rather lose a part than everything."""
        try:
            return self.read(address, size), []
        except FaultError:
            pass
        parts, holes = [], []
        offset = 0
        while offset < size:
            take = min(size - offset, 4096 - (address + offset) % 4096)
            try:
                parts.append(self.read(address + offset, take))
            except FaultError:
                parts.append(bytes(take))
                if holes and holes[-1][1] == offset:
                    holes[-1] = (holes[-1][0], offset + take)
                else:
                    holes.append((offset, offset + take))
            offset += take
        return b"".join(parts), holes

    def translate(self, address: int) -> int:
        """The physical address behind kernel virtual ``address``."""
        return self.arch.translate(address)

    @property
    def vmcoreinfo(self):
        return self.dump.vmcoreinfo

    def info(self) -> Dict[str, Any]:
        """What ``pycore info`` shows: the container, the kernel, the memory and the crash."""
        dump, vmcoreinfo = self.dump, self.dump.vmcoreinfo
        details = dump.describe()
        crash_time = vmcoreinfo.crash_time if vmcoreinfo else None
        release = vmcoreinfo.osrelease if vmcoreinfo else None
        if release is None:
            release = details.get("utsname", {}).get("release")
        ranges: List[Dict[str, int]] = [{"start": start, "end": end} for start, end in dump.ranges()]
        pages = dump.page_counts()
        return {
            "path": dump.file.path,
            "format": dump.format,
            "flattened": dump.flattened,
            "codec": details.pop("codec", None),
            "architecture": dump.machine,
            "kernel_release": release,
            "page_size": dump.page_size,
            "physical_ranges": ranges,
            "pages": pages,
            "cpus": details.get("nr_cpus") or len(dump.cpus),
            "crash_time": crash_time,
            "crash_time_utc": (datetime.datetime.fromtimestamp(crash_time, datetime.timezone.utc).isoformat()
                               if crash_time is not None else None),
            "phys_base": dump.phys_base,
            "kernel_offset": vmcoreinfo.kernel_offset if vmcoreinfo else None,
            "incomplete": dump.incomplete or bool(pages.get("missing")),
            "native": getattr(dump, "native", False),
            "debuginfo": {"symbols": self._source_of("symbols"), "types": self._source_of("types")},
            "details": details,
        }

    def _source_of(self, what: str) -> str:
        """Which source answered for ``symbols`` or ``types`` (for ``pycore info``)."""
        try:
            return getattr(self, what).source
        except PycoreError as error:
            return f"unavailable: {error}"

    def close(self) -> None:
        if self._arch is not None:
            self._arch.close()
        self.dump.close()

    def __enter__(self) -> "Program":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(path: str, vmlinux: Optional[str] = None, system_map: Optional[str] = None,
         native: Optional[bool] = None, progress: Optional[Progress] = None) -> Program:
    """Open a vmcore of any supported format (detected by content) as a :class:`Program`,
    with its direct map located when symbols are at hand (:meth:`Program.locate_direct_map`).

    ``progress`` (see :mod:`pycore.progress`) hears of the long steps: indexing a flattened
    stream now, scanning the vmlinux's DWARF when types are first needed."""
    prog = Program(open_dump(path, native=native, progress=progress), vmlinux=vmlinux, system_map=system_map,
                   native=native, progress=progress)
    try:
        prog.locate_direct_map()
    except BaseException:
        prog.close()
        raise
    return prog
