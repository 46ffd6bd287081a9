"""Loaded kernel modules: ``struct module`` from the ``modules`` list, their memory
layout, their kallsyms symbols and their ORC tables, and their types from the split BTF the
kernel keeps for each (``btf_modules``, 5.11+).

Layouts: ``core_layout``/``init_layout`` (up to 6.3) and ``mem[MOD_MEM_NUM_TYPES]``
(6.4+, ``mem[MOD_TEXT]`` is the text), chosen by the members ``struct module`` has.  Symbols
come from ``mod->kallsyms`` (``symtab``/``strtab``/``num_symtab``, and ``typetab`` since 5.2
for the type letter).  What is read is checked (names, states, where the memory lies), and a
list that cannot be read to its end gives the modules before the break, with a warning.
"""
import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ..errors import FaultError, MissingDebugInfoError, PycoreError
from ..object import ListCorruptError, Object, list_for_each_entry
from ..symbols.table import Symbol, SymbolTable
from ..types.btf import parse_btf

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program
    from ..types.model import TypeIndex

MODULE_NAME_LEN = 56
# x86_64's module mapping: MODULES_VADDR is 0xffffffffa0000000, or 0xffffffffc0000000 with
# CONFIG_RANDOMIZE_BASE (a 1 GiB kernel image); MODULES_END is 0xffffffffff000000.
MODULES_START = 0xFFFFFFFFA0000000
MODULES_END = 0xFFFFFFFFFF000000
# Module names are KBUILD_MODNAME with '-' made '_' (scripts/Makefile.lib); modprobe keeps them so.
_MODULE_NAME = re.compile(r"[A-Za-z0-9_]+")
_ELF64_SYM = struct.Struct("<IBBHQQ")  # st_name, st_info, st_other, st_shndx, st_value, st_size
_STB_GLOBAL = 1
_STT_FUNC = 2

# struct btf_header (include/uapi/linux/btf.h): magic, version, flags, hdr_len, type_off, type_len,
# str_off, str_len.
_BTF_HEADER = struct.Struct("<HBBIIIII")
_BTF_MAGIC = 0xEB9F
# A module's BTF is split BTF on top of vmlinux's (5.11+, CONFIG_DEBUG_INFO_BTF_MODULES): its
# type ids continue vmlinux's and its string offsets start past vmlinux's strings.
_MAX_MODULE_BTF = 16 << 20


@dataclass
class Module:
    """One loaded module as crash's ``mod`` lists it."""

    address: int           # the struct module
    name: str
    text_base: int         # core_layout.base / mem[MOD_TEXT].base
    text_size: int
    size: int              # core_layout.size / sum of mem[*].size
    ranges: List[Tuple[int, int]] = field(default_factory=list)  # (start, end) of every region
    object: Optional[Object] = field(default=None, repr=False)
    state: Optional[str] = None  # enum module_state's name (MODULE_STATE_LIVE, ...)
    problems: List[str] = field(default_factory=list)  # what in the struct module is not plausible

    def contains(self, address: int) -> bool:
        return any(start <= address < end for start, end in self.ranges)

    def in_text(self, address: int) -> bool:
        return self.text_base <= address < self.text_base + self.text_size


@dataclass
class ModuleList:
    """The modules read from the ``modules`` list, and what keeps the list from being whole or right:
    a break in the list, and each module's :attr:`Module.problems`."""

    modules: List[Module]
    warnings: List[str]


def read_modules(prog) -> ModuleList:
    """Every module on the ``modules`` list, sorted by ``struct module`` address (crash's order),
    each checked: a name the kernel could have given, a known ``module_state``, memory inside the
    module mapping with the text inside it.  A list that breaks (an unreadable or looping entry)
    gives the modules before the break and a warning saying where it broke."""
    head = prog["modules"]
    states = _module_states(prog)
    modules: List[Module] = []
    warnings: List[str] = []
    try:
        for mod in list_for_each_entry("struct module", head.address_of_(), "list"):
            module = _module(mod)
            module.state, module.problems = _check(module, int(mod.state), states)
            modules.append(module)
    except (FaultError, ListCorruptError) as error:
        warnings.append(f"the modules list breaks after {len(modules)} modules ({error}): the rest are not listed")
    modules.sort(key=lambda m: m.address)
    warnings.extend(f"module at {m.address:x}: {problem}" for m in modules for problem in m.problems)
    return ModuleList(modules, warnings)


def for_each_module(prog) -> List[Module]:
    """:func:`read_modules`' modules (its warnings are left to the callers that show them)."""
    return read_modules(prog).modules


def _module_states(prog) -> Dict[int, str]:
    """``enum module_state``'s values by number; empty when the types do not have it."""
    try:
        return {value: name for name, value in prog.type("enum module_state").enumerators or ()}
    except LookupError:
        return {}


def _check(module: Module, state: int, states: Dict[int, str]) -> Tuple[Optional[str], List[str]]:
    """(the state's name, the problems) of a module as read."""
    problems = []
    if not _MODULE_NAME.fullmatch(module.name):
        problems.append(f"name {module.name!r} is not a module name")
    if states and state not in states:
        problems.append(f"state {state} is not an enum module_state")
    if not module.size:
        problems.append("size 0")
    outside = [(start, end) for start, end in module.ranges if not MODULES_START <= start < end <= MODULES_END]
    if outside:
        problems.append(f"memory {outside[0][0]:x}-{outside[0][1]:x} is outside the module mapping")
    if module.text_size > module.size or not any(start <= module.text_base and module.text_base + module.text_size
                                                 <= end for start, end in module.ranges):
        problems.append(f"text {module.text_base:x}+{module.text_size:#x} is not inside the module's memory")
    return states.get(state), problems


def _module(mod: Object) -> Module:
    name = mod.name.string_(MODULE_NAME_LEN).decode("utf-8", "replace")
    module_type = mod.type_.resolved().type if mod.type_.resolved().type is not None else mod.type_
    if module_type.has_member("mem"):
        mem = mod.mem
        regions = []
        count = mem.type_.resolved().length or 0
        for index in range(count):
            base, size = int(mem[index].base), int(mem[index].size)
            if size:
                regions.append((base, base + size))
        text = mem[0]  # MOD_TEXT
        text_base, text_size = int(text.base), int(text.size)
        total = sum(end - start for start, end in regions)
    else:
        core, init = mod.core_layout, mod.init_layout
        text_base, text_size = int(core.base), int(core.text_size)
        total = int(core.size)
        regions = [(text_base, text_base + total)]
        if int(init.size):
            regions.append((int(init.base), int(init.base) + int(init.size)))
    return Module(int(mod), name, text_base, text_size, total, regions, mod)


def module_symbols(prog, module: Module) -> SymbolTable:
    """The module's kallsyms (``mod->kallsyms``) as a SymbolTable bounded by its regions."""
    kallsyms = module.object.kallsyms
    count = int(kallsyms.num_symtab)
    symtab, strtab = int(kallsyms.symtab), int(kallsyms.strtab)
    raw = prog.read(symtab, count * _ELF64_SYM.size) if count else b""
    has_typetab = kallsyms.type_.resolved().type is not None and \
        kallsyms.type_.resolved().type.resolved().has_member("typetab")
    types = prog.read(int(kallsyms.typetab), count) if has_typetab and count else None
    names, addresses, kinds = [], [], []
    string_cache: Dict[int, str] = {}
    strings = _StringReader(prog, strtab)
    for index in range(count):
        st_name, st_info, _other, shndx, value, _size = _ELF64_SYM.unpack_from(raw, index * _ELF64_SYM.size)
        if not value or not st_name:
            continue
        name = string_cache.get(st_name)
        if name is None:
            name = string_cache[st_name] = strings.get(st_name)
        if not name:
            continue
        if types is not None:
            kind = chr(types[index])
        else:
            kind = "t" if (st_info & 0xF) == _STT_FUNC else "d"
        if st_info >> 4 == _STB_GLOBAL:
            # The typetab letter is the module loader's elf_type(), lower case; a global symbol
            # is upper case as crash (store_module_kallsyms) and nm show it.
            kind = kind.upper()
        names.append(name)
        addresses.append(value)
        kinds.append(kind)
    starts = [start for start, _ in module.ranges] or [module.text_base]
    ends = [end for _, end in module.ranges] or [module.text_base + module.size]
    return SymbolTable(f"kallsyms of module {module.name}", names, addresses, None, kinds,
                       start=min(starts), end=max(ends))


class _StringReader:
    """NUL-terminated strings from a module's strtab, read a page at a time."""

    def __init__(self, prog, base: int):
        self.prog = prog
        self.base = base
        self.pages: Dict[int, bytes] = {}

    def _page(self, address: int) -> bytes:
        page = address & ~0xFFF
        data = self.pages.get(page)
        if data is None:
            try:
                data = self.prog.read(page, 0x1000)
            except FaultError:
                data = b""
            self.pages[page] = data
        return data

    def get(self, offset: int) -> str:
        address = self.base + offset
        out = b""
        while len(out) < 512:
            data = self._page(address)
            if not data:
                break
            start = address & 0xFFF
            end = data.find(b"\0", start)
            if end >= 0:
                out += data[start:end]
                break
            out += data[start:]
            address = (address & ~0xFFF) + 0x1000
        return out.decode("utf-8", "replace")


class ModuleSymbols:
    """Address lookups over the kernel image and every module: ``lookup(address)`` gives
    ``(Symbol, offset, module name or None)``."""

    def __init__(self, prog):
        self.prog = prog
        self._modules: Optional[List[Module]] = None
        self._tables: Dict[int, SymbolTable] = {}

    @property
    def modules(self) -> List[Module]:
        if self._modules is None:
            try:
                self._modules = for_each_module(self.prog)
            except (PycoreError, LookupError, AttributeError):
                self._modules = []
        return self._modules

    def module_of(self, address: int) -> Optional[Module]:
        if not (0xFFFFFFFFC0000000 <= address < 0xFFFFFFFFFF000000):
            return None
        for module in self.modules:
            if module.contains(address):
                return module
        return None

    def table(self, module: Module) -> SymbolTable:
        table = self._tables.get(module.address)
        if table is None:
            table = self._tables[module.address] = module_symbols(self.prog, module)
        return table

    def lookup(self, address: int) -> Optional[Tuple[Symbol, int, Optional[str]]]:
        hit = self.prog.symbols.lookup(address)
        if hit is not None:
            return hit[0], hit[1], None
        module = self.module_of(address)
        if module is None:
            return None
        hit = self.table(module).lookup(address)
        if hit is None:
            return None
        return hit[0], hit[1], module.name


def symbol_lookup(prog, address: int) -> Optional[Tuple[Symbol, int, Optional[str]]]:
    """``(Symbol, offset, module)`` for an address in the kernel image or a module."""
    return module_symbol_index(prog).lookup(address)


def module_symbol_index(prog) -> ModuleSymbols:
    """The program's one :class:`ModuleSymbols`, built on first use (its module list and tables are kept)."""
    return prog.cache.get("module.symbols", lambda: ModuleSymbols(prog))


def has_mem_layout(prog) -> bool:
    """Whether ``struct module`` describes its memory in ``mem[MOD_MEM_NUM_TYPES]`` (6.4+)
    rather than ``core_layout``/``init_layout``; crash titles the text column after it."""
    return prog.type("struct module").has_member("mem")


def module_to_dict(module: Module) -> dict:
    return {"address": module.address, "name": module.name, "text_base": module.text_base,
            "text_size": module.text_size, "size": module.size,
            "ranges": [{"start": s, "end": e} for s, e in module.ranges], "state": module.state,
            "problems": module.problems}


def _btf_sections(data: bytes, what: str) -> Tuple[bytes, bytes]:
    """The type and string sections of a BTF blob."""
    if len(data) < _BTF_HEADER.size:
        raise MissingDebugInfoError(f"{what}: {len(data)} bytes, too short for a BTF header")
    magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = _BTF_HEADER.unpack_from(data)
    if magic != _BTF_MAGIC or version != 1:
        raise MissingDebugInfoError(f"{what}: not BTF (magic {magic:#06x}, version {version})")
    types = data[hdr_len + type_off:hdr_len + type_off + type_len]
    strings = data[hdr_len + str_off:hdr_len + str_off + str_len]
    if len(types) != type_len or len(strings) != str_len:
        raise MissingDebugInfoError(f"{what}: its sections run past its {len(data)} bytes")
    return types, strings


def _module_btf_data(prog: "Program", name: str) -> bytes:
    """The split BTF the kernel parsed for module ``name`` (``btf_modules``, kernel/bpf/btf.c)."""
    try:
        head = prog.symbols.by_name("btf_modules").address
    except LookupError:
        raise MissingDebugInfoError(f"the types of module {name}: the kernel keeps no module BTF "
                                    "(no btf_modules: CONFIG_DEBUG_INFO_BTF_MODULES is off)") from None
    for entry in list_for_each_entry("struct btf_module", Object(prog, "struct list_head", address=head)
                                     .address_of_(), "list"):
        if entry.module.name.string_().decode(errors="replace") == name:
            btf = entry.btf
            size = int(btf.data_size)
            if not 0 < size <= _MAX_MODULE_BTF:
                raise MissingDebugInfoError(f"module {name}'s BTF claims {size} bytes")
            return prog.read(int(btf.data), size)
    raise MissingDebugInfoError(f"the types of module {name}: it is not loaded (or has no BTF)")


def _vmlinux_btf_data(prog: "Program") -> bytes:
    start = prog.symbols.by_name("__start_BTF").address
    stop = prog.symbols.by_name("__stop_BTF").address
    return prog.read(start, stop - start)


def module_types(prog: "Program", name: str) -> "TypeIndex":
    """The types of loaded module ``name`` from its BTF in the dump (5.11+), as one index with
    vmlinux's: the split BTF's sections follow vmlinux's, which is what split BTF's ids and string
    offsets mean.  Kept in ``prog.cache`` under ``("module.btf", name)``."""
    key = ("module.btf", name)
    index = prog.cache.get(key)
    if index is None:
        base_types, base_strings = _btf_sections(_vmlinux_btf_data(prog), "the kernel's BTF")
        types, strings = _btf_sections(_module_btf_data(prog, name), f"module {name}'s BTF")
        header = _BTF_HEADER.pack(_BTF_MAGIC, 1, 0, _BTF_HEADER.size, 0, len(base_types) + len(types),
                                  len(base_types) + len(types), len(base_strings) + len(strings))
        index = parse_btf(header + base_types + types + base_strings + strings, source=f"btf (module {name})")
        prog.cache[key] = index
    return index
