"""Finding symbols and types for a dump, from the best source at hand.

Symbols: the vmlinux ELF symbol table, else a System.map (both shifted by the
KASLR offset), else kallsyms decoded from the dump itself, its tables named by
VMCOREINFO (6.0+) or found by searching the kernel image (before 6.0).  Types:
DWARF from the vmlinux, else its ``.BTF`` section, else the BTF the kernel keeps
in memory between ``__start_BTF`` and ``__stop_BTF``; for a command that reads values
only, BTF first and the vmlinux's DWARF for what BTF lacks.  A vmlinux or System.map that does
not belong to the dump is refused.
"""
import importlib.util
import os
from itertools import islice
from typing import TYPE_CHECKING, Callable, Optional, Tuple

from .cache import cached
from .errors import FaultError, FormatError, MissingDebugInfoError, PycoreError
from .progress import Progress

if TYPE_CHECKING:  # pragma: no cover
    from .dump.vmcoreinfo import VmcoreInfo
    from .symbols.table import SymbolTable
    from .types.model import TypeIndex

_MAX_BTF = 64 << 20
# Symbols VMCOREINFO names on x86_64 (init_top_pgt since 4.13): a symbol table must agree.
_VMCOREINFO_SYMBOLS = ("init_uts_ns", "swapper_pg_dir", "_stext", "init_top_pgt")
# The tables that VMCOREINFO names since 6.0, and that the scan finds before.
_KALLSYMS_TABLES = ("kallsyms_num_syms", "kallsyms_names", "kallsyms_token_table", "kallsyms_token_index")
# Structures found in the image tried at most: the kernel's is the first in every image seen.
_MAX_SCANNED_CANDIDATES = 8

# read(address, size) -> bytes at a kernel virtual address (Program.arch.read).
Reader = Callable[[int, int], bytes]


class WrongDebugInfoError(MissingDebugInfoError):
    """The vmlinux or System.map given is for another kernel build than the dump's."""


def check_vmlinux(vmcoreinfo: "Optional[VmcoreInfo]", path: str) -> None:
    """Refuse a vmlinux whose build-id or release differs from the dump's."""
    from .symbols.elfsyms import elf_build_id, elf_linux_banner

    dump_id = vmcoreinfo.build_id if vmcoreinfo is not None else None
    file_id = elf_build_id(path)
    if dump_id and file_id:
        if dump_id.lower() != file_id.lower():
            raise WrongDebugInfoError(f"{path} has build-id {file_id}, the dump's kernel has {dump_id}")
        return  # one build: the banner cannot differ, and reading it costs a pass over .symtab
    release = vmcoreinfo.osrelease if vmcoreinfo is not None else None
    banner = elf_linux_banner(path)
    if release and banner and f"Linux version {release} " not in banner:
        raise WrongDebugInfoError(f"{path} is {banner.strip()!r}; the dump's kernel is {release}")


def load_symbols(vmcoreinfo: "Optional[VmcoreInfo]", vmlinux: Optional[str], system_map: Optional[str],
                 read: Reader) -> "SymbolTable":
    """The dump's symbol table: the vmlinux's ELF symbols, else the System.map (both moved by
    VMCOREINFO's KASLR offset), else kallsyms decoded through ``read`` from the dump, the tables
    found through VMCOREINFO (6.0+) or by searching the kernel image (before 6.0).  Decoded
    kallsyms are cached on disk by build-id and KASLR offset."""
    offset = (vmcoreinfo.kernel_offset or 0) if vmcoreinfo is not None else 0
    if vmlinux:
        from .symbols import elfsyms, table as symbol_table
        return cached("elfsyms", _file_key(vmlinux, offset),
                      lambda: elfsyms.load_elf_symbols(vmlinux, kaslr_offset=offset), [elfsyms, symbol_table])
    if system_map:
        from .symbols.system_map import load_system_map
        table = load_system_map(system_map, kaslr_offset=offset)
        _check_system_map(vmcoreinfo, system_map, table)
        return table
    if vmcoreinfo is None:
        raise MissingDebugInfoError("no symbols: the dump has no VMCOREINFO and no vmlinux or System.map was given")
    from .symbols import table

    def build() -> "SymbolTable":
        if all(vmcoreinfo.symbol(name) is not None for name in _KALLSYMS_TABLES):
            from .symbols.kallsyms import load_kallsyms

            return load_kallsyms(read, vmcoreinfo)
        return _load_scanned_kallsyms(vmcoreinfo, read)

    # The loaders by name: a warm run reads the table without importing them.
    return cached("kallsyms", _build_key(vmcoreinfo), build,
                  ["pycore.symbols.kallsyms", "pycore.symbols.kallsyms_scan", table])


def _load_scanned_kallsyms(vmcoreinfo: "VmcoreInfo", read: Reader) -> "SymbolTable":
    """kallsyms from tables found by searching the kernel image (VMCOREINFO names them only since
    6.0), accepted when the symbols VMCOREINFO does name decode to VMCOREINFO's addresses."""
    from .symbols.kallsyms import load_kallsyms
    from .symbols.kallsyms_scan import KallsymsScanner, kernel_image_start

    start = kernel_image_start(vmcoreinfo)
    if start is None:
        raise MissingDebugInfoError("no symbols: VMCOREINFO names no kallsyms tables (kernels before 6.0) and "
                                    "neither SYMBOL(_stext) nor KERNELOFFSET to search the kernel image from; "
                                    "give --vmlinux or --system-map")
    scanner = KallsymsScanner(read, start)
    rejected = []
    for candidate in islice(scanner.candidates(), _MAX_SCANNED_CANDIDATES):
        try:
            table = load_kallsyms(read, vmcoreinfo, locate=candidate.locate)
        except (FormatError, FaultError) as error:
            rejected.append(f"{candidate.layout}: {error}")
            continue
        agreed, disagreement = _agreement_with_vmcoreinfo(vmcoreinfo, table)
        if agreed and disagreement is None:
            return table
        rejected.append(f"{candidate.layout}: {disagreement or 'no symbol VMCOREINFO names to check them by'}")
    tried = f"; tables rejected: {'; '.join(rejected)}" if rejected else ""
    raise MissingDebugInfoError(f"no symbols: VMCOREINFO names no kallsyms tables (kernels before 6.0) and the "
                                f"search of the kernel image found none that decode ({scanner.describe()}{tried}); "
                                "give --vmlinux or --system-map")


def _file_key(path: str, kaslr_offset: int) -> Optional[str]:
    """What identifies a debuginfo file's decoded symbols: its identity and change time on disk (a
    vmlinux rebuilt in place gets a new entry) and the KASLR offset they were moved by."""
    try:
        status = os.stat(path)
    except OSError:
        return None  # the loader reports the missing file
    where = importlib.util.source_hash(os.path.realpath(path).encode()).hex()
    return f"{where}-{status.st_size}-{status.st_mtime_ns}-{kaslr_offset:x}"


def _build_key(vmcoreinfo: "Optional[VmcoreInfo]") -> Optional[str]:
    """What identifies a running kernel's decoded data: its build-id and KASLR offset."""
    if vmcoreinfo is None or not vmcoreinfo.build_id:
        return None
    return f"{vmcoreinfo.build_id}-{vmcoreinfo.kernel_offset or 0:x}"


def _agreement_with_vmcoreinfo(vmcoreinfo: "VmcoreInfo", table: "SymbolTable") -> Tuple[int, Optional[str]]:
    """How many of the symbols VMCOREINFO names ``table`` puts at VMCOREINFO's address, and the
    first one it puts elsewhere ("puts NAME at ..., the dump's VMCOREINFO at ..."), or None."""
    agreed = 0
    for name in _VMCOREINFO_SYMBOLS:
        expected = vmcoreinfo.symbol(name)
        if expected is None:
            continue
        try:
            found = table.by_name(name).address
        except LookupError:
            continue
        if found != expected:
            return agreed, f"puts {name} at {found:#x}, the dump's VMCOREINFO at {expected:#x}"
        agreed += 1
    return agreed, None


def _check_system_map(vmcoreinfo: "Optional[VmcoreInfo]", path: str, table: "SymbolTable") -> None:
    """A System.map of another build puts VMCOREINFO's symbols elsewhere: refuse it."""
    if vmcoreinfo is None:
        return
    _agreed, disagreement = _agreement_with_vmcoreinfo(vmcoreinfo, table)
    if disagreement is not None:
        raise WrongDebugInfoError(f"{path} {disagreement}: the System.map is for another kernel build")


def load_types(vmcoreinfo: "Optional[VmcoreInfo]", vmlinux: Optional[str], symbols: "Optional[SymbolTable]",
               read: Reader, native: Optional[bool] = None, progress: Optional[Progress] = None,
               prefer_btf: bool = False) -> "TypeIndex":
    """The type index: DWARF from ``vmlinux`` (scanned in C or Python as ``native`` says, reporting to
    ``progress``), else its ``.BTF``, else the BTF the kernel kept in memory, found through ``symbols``
    and read with ``read`` (None: no symbols to find it by).

    With ``prefer_btf`` (a command whose output depends only on values) and a vmlinux, BTF answers
    first, the vmlinux's ``.BTF`` else the dump's, and the DWARF is loaded only for a type BTF lacks
    (:class:`~pycore.types.layered.LayeredIndex`); a kernel without BTF gets the DWARF at once."""
    tried = []
    if vmlinux and prefer_btf:
        btf = _vmlinux_or_dump_btf(vmcoreinfo, vmlinux, symbols, read, native)
        if btf is not None:
            from .types.layered import LayeredIndex

            return LayeredIndex(btf, lambda: _load_dwarf(vmlinux, native, progress),
                                f"dwarf ({os.path.basename(vmlinux)})")
    if vmlinux:
        try:
            return _load_dwarf(vmlinux, native, progress)
        except MissingDebugInfoError as error:
            tried.append(str(error))
        from .types.btf import load_vmlinux_btf
        index = load_vmlinux_btf(vmlinux)
        if index is not None:
            return index
        tried.append(f"{vmlinux} .BTF")
    try:
        if symbols is None:
            raise MissingDebugInfoError("no symbols to locate __start_BTF/__stop_BTF by")
        return load_dump_btf(vmcoreinfo, symbols, read)
    except PycoreError as error:
        tried.append(f"BTF in the dump ({error})")
    raise MissingDebugInfoError("no type information: tried " + "; ".join(tried))


def _load_dwarf(vmlinux: str, native: Optional[bool], progress: Optional[Progress]) -> "TypeIndex":
    """The vmlinux's DWARF index; MissingDebugInfoError when it has none or DWARF support is missing."""
    try:
        from .types.dwarf import load_dwarf

        return load_dwarf(vmlinux, native=native, progress=progress)
    except ImportError:
        raise MissingDebugInfoError("DWARF support") from None


def _vmlinux_or_dump_btf(vmcoreinfo: "Optional[VmcoreInfo]", vmlinux: str, symbols: "Optional[SymbolTable]",
                         read: Reader, native: Optional[bool]) -> "Optional[TypeIndex]":
    """The vmlinux's ``.BTF`` (read from the file: no dump page is decoded), else the BTF the kernel
    kept in memory, else None (a kernel built without CONFIG_DEBUG_INFO_BTF)."""
    from .types.btf import load_vmlinux_btf

    try:
        index = load_vmlinux_btf(vmlinux, native)
    except FormatError:
        index = None
    if index is not None or symbols is None:
        return index
    try:
        return load_dump_btf(vmcoreinfo, symbols, read)
    except PycoreError:
        return None


def load_dump_btf(vmcoreinfo: "Optional[VmcoreInfo]", symbols: "SymbolTable", read: Reader) -> "TypeIndex":
    """The BTF the running kernel carried (CONFIG_DEBUG_INFO_BTF), read out of the dump between
    ``__start_BTF`` and ``__stop_BTF``."""
    from .types import btf, model

    key = vmcoreinfo.build_id if vmcoreinfo is not None else None
    return cached("btf", key, lambda: _read_dump_btf(symbols, read, btf.parse_btf), [btf, model])


def _read_dump_btf(symbols: "SymbolTable", read: Reader, parse_btf) -> "TypeIndex":
    start = symbols.by_name("__start_BTF").address
    stop = symbols.by_name("__stop_BTF").address
    if not 0 < stop - start <= _MAX_BTF:
        raise MissingDebugInfoError(f"__start_BTF {start:#x} / __stop_BTF {stop:#x} do not bound a BTF blob")
    try:
        data = read(start, stop - start)
    except FaultError as error:
        raise MissingDebugInfoError(f"the kernel's BTF is not readable in the dump: {error}") from None
    return parse_btf(data, source="btf (dump)")
