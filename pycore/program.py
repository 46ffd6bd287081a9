"""The scripting surface: a Program is one dump plus whatever debug information is known.

drgn 0.3's ``Program`` is the model: ``prog["name"]``, ``variable``, ``constant``, ``function``,
``symbol``/``symbols``, ``threads``/``thread``/``crashed_thread``, ``cache``; any kernel version.
"""
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Union

from . import debuginfo, timings
from .arch import X86_64
from .dump import Dump, open_dump
from .errors import FaultError, MissingDebugInfoError, PycoreError
from .progress import Progress
from .object import Object, read_members
from .symbol import Symbol
from .types.btf_globals import (GUESSED, TEXT_SECTIONS, GlobalType, deferred_global_type, guessed_global_type,
                                is_data_symbol, known_global_type)
from .types.model import Type, TypeKind

if TYPE_CHECKING:  # pragma: no cover
    from .dump.vmcoreinfo import VmcoreInfo
    from .symbols.table import SymbolTable
    from .types.model import TypeIndex

class HelperCache(dict):
    """What the kernel helpers work out once per dump, under the keys declared here; and, as
    drgn's ``prog.cache`` is, a dict where scripts keep what they like under their own keys.

    ``vmstat.zone_items`` / ``vmstat.node_items``: the names of ``enum zone_stat_item`` and
    ``enum node_stat_item``; ``vmstat.nodes``: the online node ids; ``vmstat.zone_layout``: the
    offsets in ``struct zone``; ``vmstat.node_spans``: each node's pfn range (kernel/vmstat.py).
    ``slab.layout``: the SLUB offsets (kernel/slab.py).  ``module.symbols``: the symbol lookup
    over the kernel image and every module (kernel/module.py).  ``program.enumerators``: every
    enumerator's enum and value (:meth:`Program.constant`).  ``program.text_sections``: where the
    kernel's text lies, so that the rest is data (:meth:`Program.variable`).  ``frame_locals.dwarf``:
    the vmlinux's scopes-and-locations index and call frame table (kernel/frame_locals.py).
    """

    KEYS = frozenset({"vmstat.zone_items", "vmstat.node_items", "vmstat.nodes", "vmstat.zone_layout",
                      "vmstat.node_spans", "slab.layout", "module.symbols", "program.enumerators",
                      "program.text_sections", "frame_locals.dwarf"})

    def get(self, key: Any, build: Any = None) -> Any:
        """For a declared helper key: the value under ``key``, built by ``build()`` the first time
        it is asked for.  A builder for any other key is a helper's typo: KeyError.  Without a
        builder this is ``dict.get`` (a script's ``prog.cache.get("mine", 0)``)."""
        if key in self.KEYS:
            if key not in self:
                self[key] = build()
            return self[key]
        if callable(build):
            raise KeyError(f"{key!r} is not a declared helper cache key (a script keeps its own with "
                           "prog.cache[key] = value)")
        return super().get(key, build)


class SymbolIndex:
    """``prog.symbols``: the symbol table (every :class:`~pycore.symbols.table.SymbolTable`
    method: ``by_name``, ``lookup``, ``search``, ...), and, called, drgn's ``Program.symbols``.

    pycore's helpers have always used ``prog.symbols`` as the table, and drgn scripts call
    ``prog.symbols(address_or_name)``; one object serves both."""

    def __init__(self, table: "SymbolTable"):
        self.table = table
        # The two lookups helpers make most, without a __getattr__ round trip.
        self.by_name = table.by_name
        self.lookup = table.lookup

    def __call__(self, address_or_name: "Union[None, int, str]" = None) -> List[Symbol]:
        """drgn's ``prog.symbols()``: every symbol called ``address_or_name`` (a str), those
        containing the address (an int: the one :meth:`Program.symbol` finds and any others
        starting where it starts), or every symbol (None)."""
        table = self.table
        if address_or_name is None:
            return [Symbol.from_table(symbol) for symbol in table]
        if isinstance(address_or_name, str):
            return [Symbol.from_table(symbol) for symbol in table.symbols_named(address_or_name)]
        address = address_or_name.__index__()
        found = table.lookup(address)
        if found is None:
            return []
        return [Symbol.from_table(symbol, address - symbol.address) for symbol in table.symbols_at(found[0].address)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.table)

    def __contains__(self, name: object) -> bool:
        return name in self.table

    def __repr__(self) -> str:
        return repr(self.table)


class GuessedObject(Object):
    """A global no debug info types (:meth:`Program.variable`): its bytes, ``unsigned char
    [size]`` with the size from the symbol table (the distance to the next symbol for kallsyms,
    so alignment padding may be counted).  ``type_origin_`` and the repr say the type is a guess."""

    __slots__ = ()

    #: Where the type came from (pycore.types.btf_globals.GUESSED).
    type_origin_ = GUESSED

    def __repr__(self) -> str:
        return f"{super().__repr__()}  # type {GUESSED}"


class Thread:
    """drgn's ``Thread`` for a kernel task: ``tid`` (the task's pid), ``name`` (its comm) and
    ``object`` (the ``struct task_struct *``)."""

    __slots__ = ("prog", "tid", "object")

    def __init__(self, prog: "Program", task: Object):
        self.prog = prog
        self.object = task
        self.tid: int = int(task.pid)

    @property
    def name(self) -> str:
        """The task's ``comm``, decoded (bytes that are not UTF-8 replaced)."""
        return self.object.comm.string_().decode(errors="replace")

    def stack_trace(self) -> Any:
        """The task's stack trace (a :class:`pycore.kernel.stack.StackTrace`, not drgn's type)."""
        from .kernel import stack  # the helpers sit above the scripting surface: imported on use

        return stack.stack_trace(self.prog, self.object)

    def __repr__(self) -> str:
        return f"Thread(tid={self.tid}, object={self.object!r})"


class Program:
    """A crashed kernel as read from its dump (drgn's ``Program`` is the model).

    ``cache`` (:class:`HelperCache`) keeps what the kernel helpers work out once per dump.
    """

    def __init__(self, dump: Dump, vmlinux: Optional[str] = None, system_map: Optional[str] = None,
                 native: Optional[bool] = None, progress: Optional[Progress] = None, prefer_btf: bool = False):
        """``prefer_btf``: with ``vmlinux``, take types from BTF and read its DWARF only for what BTF
        lacks (see :func:`pycore.debuginfo.load_types`): for work whose result depends on values
        alone, never on how DWARF declares a type."""
        self.dump = dump
        # ``read_physical(address, size, zero_excluded=False)`` and ``read_physical_into(address,
        # buffer, zero_excluded=False)`` are the container's own methods (see pycore.dump.Dump):
        # one Python call less on the hottest path.
        self.read_physical = dump.read_physical
        self.read_physical_into = dump.read_physical_into
        self.vmlinux = vmlinux
        self.system_map = system_map
        #: drgn's ``prog.cache``: a dict for scripts, where the helpers keep their declared keys too.
        self.cache = HelperCache()
        #: Hears of long work done later for this program (the DWARF scan of ``vmlinux``); see pycore.progress.
        self.progress = progress
        self._arch: Optional[X86_64] = None
        self._native = native
        self._prefer_btf = prefer_btf
        self._symbols = None
        self._symbols_error: Optional[PycoreError] = None
        self._types = None
        self._function_types: Any = None
        self._per_cpu_offsets: Dict[int, int] = {}
        #: Recently read 4 KiB pages of kernel virtual memory, keyed by page start: the page's
        #: bytes, or b"" for a page that cannot be read whole (:meth:`read` then runs the exact
        #: read, which raises its precise FaultError).  Reading the members of one struct one at a
        #: time (what every helper does) costs one translation and one copy per page, not per
        #: member; Object's scalar and char-array reads take their bytes straight from here.  The
        #: dump never changes, so nothing goes stale; :meth:`close` empties it.  Never replaced: the
        #: Object classes keep this dict.
        self.pages: Dict[int, bytes] = {}
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
        offset = address & 4095
        if 0 < size and offset + size <= 4096:
            start = address - offset
            page = self.pages.get(start)
            if page is None:
                page = self._read_page(start)
            if page:
                return page[offset:offset + size]
        return self.arch.read(address, size)

    def read_members(self, type: Any, member: str, where: Any, count: Optional[int] = None,
                     **options: Any) -> Any:
        """One member of many objects in one call: :func:`pycore.object.read_members`."""
        return read_members(self, type, member, where, count, **options)

    def _read_page(self, start: int) -> bytes:
        """The 4 KiB page at ``start`` for the page cache, or b"" (also cached) when the whole page
        cannot be read: the exact read then runs and raises its own precise FaultError, or
        succeeds for a part of a page that is readable (an ELF segment ending mid-page)."""
        pages = self.pages
        if len(pages) >= _CACHED_PAGES:
            del pages[next(iter(pages))]
        try:
            page = self.arch.read(start, 4096)
        except FaultError:
            page = b""
        pages[start] = page
        return page

    @property
    def symbols(self) -> SymbolIndex:
        """The symbol table (see :mod:`pycore.debuginfo` for where it comes from), which called is
        drgn's ``prog.symbols(address_or_name=None)`` (see :class:`SymbolIndex`).

        A failure is kept and raised again: finding no kallsyms means scanning the kernel image
        (up to a second on a damaged one), which every later question would otherwise repeat."""
        if self._symbols is None:
            if self._symbols_error is not None:
                raise self._symbols_error
            try:
                with timings.phase("symbols"):
                    table = debuginfo.load_symbols(self.vmcoreinfo, self.vmlinux, self.system_map, self.arch.read)
                self._symbols = SymbolIndex(table)
            except PycoreError as error:
                self._symbols_error = error
                raise
        return self._symbols

    @symbols.setter
    def symbols(self, table: "SymbolTable") -> None:
        self._symbols = SymbolIndex(table)
        self._symbols_error = None

    @property
    def types(self) -> "TypeIndex":
        """The type index: DWARF, vmlinux BTF or the dump's own BTF (with ``prefer_btf``, BTF and
        the DWARF behind it)."""
        if self._types is None:
            try:
                symbols: "Optional[SymbolTable]" = self.symbols.table
            except PycoreError:
                symbols = None  # load_types then says the dump's BTF cannot be located
            with timings.phase("types"):
                self._types = debuginfo.load_types(self.vmcoreinfo, self.vmlinux, symbols, self.arch.read,
                                                   native=self._native, progress=self.progress,
                                                   prefer_btf=self._prefer_btf)
        return self._types

    @types.setter
    def types(self, index: "TypeIndex") -> None:
        self._types = index

    def locate_direct_map(self) -> None:
        """Tell the address translation where the direct map starts, so that its addresses are
        translated by arithmetic instead of a page-table walk.  CONFIG_RANDOMIZE_MEMORY (4.8+)
        moves it; the kernel keeps the base in ``page_offset_base`` and the next region's in
        ``vmalloc_base``.  :func:`open` calls this; without symbols nothing changes."""
        base = self._unsigned_long("page_offset_base")
        if base:
            self.arch.set_direct_map(base, self._unsigned_long("vmalloc_base"))
            self.pages.clear()  # pages that faulted in the walk may translate now

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

    def symbol(self, address_or_name: "Union[int, str]") -> Symbol:
        """drgn's ``prog.symbol``: the symbol containing an address, or the one with a name.

        LookupError when none does (drgn's behaviour; before pycore 0.2 an address nobody
        contained gave None).  The Symbol also unpacks as the old ``(symbol, offset)`` tuple."""
        if isinstance(address_or_name, str):
            return Symbol.from_table(self.symbols.by_name(address_or_name))
        address = address_or_name.__index__()
        found = self.symbols.lookup(address)
        if found is None:
            raise LookupError(f"no symbol contains {address:#x} in {self.symbols.source}")
        return Symbol.from_table(*found)

    def variable(self, name: str, filename: Optional[str] = None, *,
                 type: "Union[str, Type, None]" = None, guess: bool = True) -> Object:
        """drgn's ``prog.variable``: the global variable ``name`` as a typed Object (a reference).

        Its type comes from the debug info (DWARF knows every variable; BTF, without a vmlinux,
        only the per-CPU ones), else from the types pycore keeps for the globals its helpers read
        (:mod:`pycore.types.btf_globals`), else, for a data symbol, it is guessed: the symbol's
        bytes as ``unsigned char [size]``, a :class:`GuessedObject` whose repr says so (say the
        type yourself: ``prog.variable("name", type="struct foo")``).  With ``guess=False`` (what
        crash's commands print has no room for the mark) a guess is a MissingDebugInfoError, as is
        a symbol in the kernel's text.  ``filename`` is accepted for drgn's signature and ignored:
        kernel globals are unique by name."""
        symbol = self.symbols.by_name(name)
        if type is not None:
            return Object(self, self.type(type), address=symbol.address)
        found = known_global_type(self.types, name) or deferred_global_type(self.types, name)
        if found is None and guess:
            found = self._guessed_global_type(symbol)
        if found is None:
            raise MissingDebugInfoError(
                f"the type of {name!r} (at {symbol.address:#x}) is not known: {self.types.source} has no variable "
                f"type for it; give the vmlinux for DWARF, or say the type: "
                f"prog.variable(\"{name}\", type=\"int\") or Object(prog, \"int\", address={symbol.address:#x})")
        if found.origin == GUESSED:
            return GuessedObject(self, found.type, address=symbol.address)
        return Object(self, found.type, address=symbol.address)

    def _guessed_global_type(self, symbol: Any) -> Optional[GlobalType]:
        """``unsigned char [size]`` for a data symbol no debug info types; None for text."""
        if not is_data_symbol(symbol.kind, symbol.address, self._text_sections()):
            return None
        size = symbol.size
        if not size:
            following = self.symbols.neighbour(symbol, 1)
            size = following.address - symbol.address if following is not None else None
        return guessed_global_type(size)

    def _text_sections(self) -> List[Tuple[int, int]]:
        def build() -> List[Tuple[int, int]]:
            table = self.symbols
            return [(table.by_name(start).address, table.by_name(end).address) for start, end in TEXT_SECTIONS
                    if start in table and end in table]

        return self.cache.get("program.text_sections", build)

    def object(self, name: str, flags: Any = None, filename: Optional[str] = None, *,
               type: "Union[str, Type, None]" = None, guess: bool = True) -> Object:
        """drgn's ``prog.object``: the variable or function the symbol ``name`` is, else the
        enumerator ``name`` (``flags`` is accepted for drgn's signature; every kind is searched).
        A symbol is a variable when the debug info or pycore knows a variable type for it (or
        ``type`` is given, as for :meth:`variable`), else a function when BTF has its prototype
        (kallsyms type letters do not tell: ``init_task`` is 'T' on some kernels), else a variable
        of guessed type when it is data and ``guess`` is true (see :meth:`variable`).
        ``prog[name]`` is ``prog.object(name)``."""
        if name not in self.symbols:
            return self.constant(name)
        if type is None and known_global_type(self.types, name) is None and self._function_type(name) is not None:
            return self.function(name, filename)
        return self.variable(name, filename, type=type, guess=guess)

    def __getitem__(self, name: str) -> Object:
        """``prog["init_task"]``: :meth:`object`."""
        return self.object(name)

    def constant(self, name: str, filename: Optional[str] = None) -> Object:
        """drgn's ``prog.constant``: the enumerator ``name`` as a value of its enum type
        (``prog.constant("PIDTYPE_TGID")``).  LookupError when no named enum of the debug info has
        it (enumerators of anonymous enums are not indexed); the first search walks every enum once."""
        index = self._enumerators()
        if name not in index:
            raise LookupError(f"could not find constant {name!r} in {self.types.source}")
        enum, value = index[name]
        return Object(self, enum, value)

    def _enumerators(self) -> Dict[str, Tuple[Type, int]]:
        def build() -> Dict[str, Tuple[Type, int]]:
            found: Dict[str, Tuple[Type, int]] = {}
            types = self.types
            for namespace, name in types.names():
                if namespace == "enum":
                    enum = types.find(f"enum {name}")
                    for enumerator in enum.enumerators or ():
                        found.setdefault(enumerator.name, (enum, enumerator.value))
            return found

        return self.cache.get("program.enumerators", build)

    def function(self, name: str, filename: Optional[str] = None) -> Object:
        """drgn's ``prog.function``: an Object of the function's type at its symbol's address.

        The prototype comes from BTF (the dump's, when the vmlinux's DWARF index has no
        functions); MissingDebugInfoError when no BTF describes the function."""
        symbol = self.symbols.by_name(name)
        function_type = self._function_type(name)
        if function_type is None:
            raise MissingDebugInfoError(f"the prototype of {name!r} (at {symbol.address:#x}) is not known: "
                                        f"no BTF FUNC record for it in {self.types.source}")
        return Object(self, function_type, address=symbol.address)

    def _function_type(self, name: str) -> Optional[Type]:
        index = self.types
        if not hasattr(index, "function_type"):
            if self._function_types is None:
                try:
                    self._function_types = debuginfo.load_dump_btf(self.vmcoreinfo, self.symbols.table,
                                                                   self.arch.read)
                except PycoreError:
                    self._function_types = False
            index = self._function_types
            if not index:
                return None
        found = index.function_type(name)
        if found is not None and found.resolved().kind is not TypeKind.FUNCTION:
            return None
        return found

    def threads(self) -> Iterator[Thread]:
        """drgn's ``prog.threads()``: every thread of every process, from ``init_task.tasks``
        (:func:`pycore.kernel.sched.for_each_task`; imported on use, as the helpers sit above
        this layer).  As in drgn, which lists the tasks with a pid, the idle tasks (pid 0) are not
        threads."""
        from .kernel import sched

        for task in sched.for_each_task(self):
            thread = Thread(self, task)
            if thread.tid:
                yield thread

    def thread(self, tid: int) -> Thread:
        """drgn's ``prog.thread(tid)``: the thread whose pid is ``tid``; LookupError if none."""
        tid = tid.__index__()
        for thread in self.threads():
            if thread.tid == tid:
                return thread
        raise LookupError(f"thread {tid} not found")

    def crashed_thread(self) -> Thread:
        """drgn's ``prog.crashed_thread()``: the task that was running on the CPU that panicked
        (:func:`pycore.kernel.sched.panic_task`); LookupError when no CPU panicked."""
        from .kernel import sched

        task = sched.panic_task(self)
        if task is None:
            raise LookupError("no CPU panicked: panic_cpu and crashing_cpu are unset")
        return Thread(self, task)

    def per_cpu_offset(self, cpu: int) -> int:
        """``__per_cpu_offset[cpu]``: add it to a per-CPU address for that CPU's copy.  Kept per CPU:
        helpers ask for it for every per-CPU counter of every task (``ps`` on thousands)."""
        cpu = cpu.__index__()
        offsets = self._per_cpu_offsets
        found = offsets.get(cpu)
        if found is None:
            base = self.symbols.by_name("__per_cpu_offset").address
            found = offsets[cpu] = int.from_bytes(self.read(base + 8 * cpu, 8), "little")
        return found

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
    def vmcoreinfo(self) -> "Optional[VmcoreInfo]":
        """The dump's VMCOREINFO note, None when the dump has none."""
        return self.dump.vmcoreinfo

    def info(self) -> Dict[str, Any]:
        """What ``pycore info`` shows: the container, the kernel, the memory and the crash."""
        import datetime  # only here: every other command would pay its import

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
        """Close the dump and the address translation's native handle; ``with pycore.open(...)`` does it.
        The page cache goes too: reads afterwards raise the dump-closed error, as the dump's own do.

        Close a program when done with it: the classes of its objects refer to it (they read through
        its page cache, see :func:`pycore.object._reference_class`), so a program whose objects were
        made is freed by Python's cycle collector, not as soon as nothing refers to it, and its
        dump's file, mappings and native caches would stay open until then."""
        self.pages.clear()
        if self._arch is not None:
            self._arch.close()
        self.dump.close()

    def __enter__(self) -> "Program":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_CACHED_PAGES = 256  # 1 MiB


def open(path: str, vmlinux: Optional[str] = None, system_map: Optional[str] = None,
         native: Optional[bool] = None, progress: Optional[Progress] = None, prefer_btf: bool = False) -> Program:
    """Open a vmcore of any supported format (detected by content) as a :class:`Program`,
    with its direct map located when symbols are at hand (:meth:`Program.locate_direct_map`).

    ``progress`` (see :mod:`pycore.progress`) hears of the long steps: indexing a flattened
    stream now, scanning the vmlinux's DWARF when types are first needed.  ``prefer_btf``: see
    :class:`Program`."""
    prog = Program(open_dump(path, native=native, progress=progress), vmlinux=vmlinux, system_map=system_map,
                   native=native, progress=progress, prefer_btf=prefer_btf)
    try:
        prog.locate_direct_map()
    except BaseException:
        prog.close()
        raise
    return prog
