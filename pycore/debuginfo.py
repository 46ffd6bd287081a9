"""Finding symbols and types for a dump, from the best source at hand.

Symbols: the vmlinux ELF symbol table, else a System.map (both shifted by the
KASLR offset), else kallsyms decoded from the dump itself.  Types: DWARF from
the vmlinux, else its ``.BTF`` section, else the BTF the kernel keeps in memory
between ``__start_BTF`` and ``__stop_BTF``.  A vmlinux or System.map that does
not belong to the dump is refused.
"""
from typing import TYPE_CHECKING, Optional

from .cache import cached
from .errors import FaultError, MissingDebugInfoError, PycoreError

if TYPE_CHECKING:  # pragma: no cover
    from .program import Program
    from .symbols.table import SymbolTable
    from .types.model import TypeIndex

_MAX_BTF = 64 << 20


class WrongDebugInfoError(MissingDebugInfoError):
    """The vmlinux or System.map given is for another kernel build than the dump's."""


def check_vmlinux(prog: "Program", path: str) -> None:
    """Refuse a vmlinux whose build-id or release differs from the dump's."""
    from .symbols.elfsyms import elf_build_id, elf_linux_banner

    vmcoreinfo = prog.vmcoreinfo
    dump_id = vmcoreinfo.build_id if vmcoreinfo is not None else None
    file_id = elf_build_id(path)
    if dump_id and file_id and dump_id.lower() != file_id.lower():
        raise WrongDebugInfoError(f"{path} has build-id {file_id}, the dump's kernel has {dump_id}")
    release = vmcoreinfo.osrelease if vmcoreinfo is not None else None
    banner = elf_linux_banner(path)
    if release and banner and f"Linux version {release} " not in banner:
        raise WrongDebugInfoError(f"{path} is {banner.strip()!r}; the dump's kernel is {release}")


def load_symbols(prog: "Program") -> "SymbolTable":
    vmcoreinfo = prog.vmcoreinfo
    offset = (vmcoreinfo.kernel_offset or 0) if vmcoreinfo is not None else 0
    if prog.vmlinux:
        from .symbols.elfsyms import load_elf_symbols
        return load_elf_symbols(prog.vmlinux, kaslr_offset=offset)
    if prog.system_map:
        from .symbols.system_map import load_system_map
        table = load_system_map(prog.system_map, kaslr_offset=offset)
        _check_system_map(prog, table)
        return table
    if vmcoreinfo is None:
        raise MissingDebugInfoError("no symbols: the dump has no VMCOREINFO and no vmlinux or System.map was given")
    from .symbols import kallsyms, table
    return cached("kallsyms", _build_key(prog), lambda: kallsyms.load_kallsyms(prog.arch.read, vmcoreinfo),
                  [kallsyms, table])


def _build_key(prog: "Program") -> Optional[str]:
    """What identifies a running kernel's decoded data: its build-id and KASLR offset."""
    vmcoreinfo = prog.vmcoreinfo
    if vmcoreinfo is None or not vmcoreinfo.build_id:
        return None
    return f"{vmcoreinfo.build_id}-{vmcoreinfo.kernel_offset or 0:x}"


def _check_system_map(prog: "Program", table: "SymbolTable") -> None:
    """A System.map of another build puts VMCOREINFO's symbols elsewhere: refuse it."""
    vmcoreinfo = prog.vmcoreinfo
    if vmcoreinfo is None:
        return
    for name in ("init_uts_ns", "swapper_pg_dir", "_stext", "init_top_pgt"):
        expected = vmcoreinfo.symbol(name)
        if expected is None:
            continue
        try:
            found = table.by_name(name).address
        except LookupError:
            continue
        if found != expected:
            raise WrongDebugInfoError(f"{prog.system_map} puts {name} at {found:#x}, the dump's VMCOREINFO at"
                                      f" {expected:#x}: the System.map is for another kernel build")


def load_types(prog: "Program") -> "TypeIndex":
    tried = []
    if prog.vmlinux:
        try:
            from .types.dwarf import load_dwarf
            return load_dwarf(prog.vmlinux)
        except ImportError:
            tried.append("DWARF support")
        except MissingDebugInfoError as error:
            tried.append(str(error))
        from .types.btf import load_vmlinux_btf
        index = load_vmlinux_btf(prog.vmlinux)
        if index is not None:
            return index
        tried.append(f"{prog.vmlinux} .BTF")
    try:
        return load_dump_btf(prog)
    except PycoreError as error:
        tried.append(f"BTF in the dump ({error})")
    raise MissingDebugInfoError("no type information: tried " + "; ".join(tried))


def load_dump_btf(prog: "Program") -> "TypeIndex":
    """The BTF the running kernel carried (CONFIG_DEBUG_INFO_BTF), read out of the dump."""
    from .types import btf, model

    key = prog.vmcoreinfo.build_id if prog.vmcoreinfo is not None else None
    return cached("btf", key, lambda: _read_dump_btf(prog, btf.parse_btf), [btf, model])


def _read_dump_btf(prog: "Program", parse_btf) -> "TypeIndex":
    start = prog.symbols.by_name("__start_BTF").address
    stop = prog.symbols.by_name("__stop_BTF").address
    if not 0 < stop - start <= _MAX_BTF:
        raise MissingDebugInfoError(f"__start_BTF {start:#x} / __stop_BTF {stop:#x} do not bound a BTF blob")
    try:
        data = prog.read(start, stop - start)
    except FaultError as error:
        raise MissingDebugInfoError(f"the kernel's BTF is not readable in the dump: {error}") from None
    return parse_btf(data, source="btf (dump)")


def describe_sources(prog: "Program") -> dict:
    """Which source answered for symbols and types (for ``pycore info``)."""
    result: dict = {}
    for what in ("symbols", "types"):
        try:
            result[what] = getattr(prog, what).source
        except PycoreError as error:
            result[what] = f"unavailable: {error}"
    return result


def symbol_address(prog: "Program", name: str) -> Optional[int]:
    """The address of symbol ``name``, or None when the symbol table has no such name."""
    try:
        return prog.symbols.by_name(name).address
    except LookupError:
        return None


def kernel_variable(prog: "Program", name: str, size: int = 8, signed: bool = False) -> int:
    """An integer kernel variable by symbol; MissingDebugInfoError or FaultError say why not."""
    address = prog.symbols.by_name(name).address
    return int.from_bytes(prog.read(address, size), "little", signed=signed)


def read_kernel_variable(prog: "Program", name: str, size: int = 8, signed: bool = False) -> Optional[int]:
    """An integer kernel variable by symbol, or None when the symbol or memory is missing."""
    try:
        return kernel_variable(prog, name, size, signed)
    except (LookupError, PycoreError):
        return None
