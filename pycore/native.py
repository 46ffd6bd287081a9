"""The seam between pycore's C extension (pycore._native) and its pure-Python twins.

Every reader that has a C twin (page codecs, the kdump reader, the x86_64 walk, the
DWARF name scan) is a pair of classes with the same methods, one chosen once by
:func:`use_native`; the symbol-table builders (pycore/symbols/) are pairs of functions
with the same signature.  ``PYCORE_PURE=1`` forces pure Python.  C reports failures as a
status of csrc/pc_status.h plus a ``struct pc_fault``; :func:`error` is the one place
that turns them (and what the caller knows, a :class:`Context`) into the typed
exception.  The pure-Python twins of the codecs, the kdump reader and the walk raise
through it too, check for check; the Python DWARF scan shares its decoder with the
DIE reader and raises FormatError naming the DWARF field where it stopped.
"""
import dataclasses
import enum
import importlib
import os
from typing import Any, Callable, Dict, NamedTuple, Optional

from .errors import FaultError, FormatError, IncompleteDumpError, PageExcludedError, PycoreError

_WHY_NOT = ""
_LIBRARY: Optional[str] = None
try:
    if os.environ.get("PYCORE_PURE", "") not in ("", "0"):
        raise ImportError("PYCORE_PURE is set")
    _module = importlib.import_module("._native", __package__)
    ffi, lib, _LIBRARY = _module.ffi, _module.lib, _module.__file__
except ImportError as _error:
    ffi = None
    lib = None
    _WHY_NOT = str(_error)
    try:
        # Left by setup.py when the install could not build the extension (pip hides why).
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native_not_built.txt")) as _reason:
            _WHY_NOT = _reason.read().strip()
    except OSError:
        pass

AVAILABLE: bool = lib is not None


class Status(enum.IntEnum):
    """enum pc_status of csrc/pc_status.h (a test checks every value against the built extension)."""
    OK = 0
    CORRUPT = -1
    SIZE = -2
    NOMEM = -3
    CODEC = -4
    CODEC_UNAVAILABLE = -5
    NOT_PRESENT = -10
    EXCLUDED = -11
    INCOMPLETE = -12
    BAD_DESC = -13
    NOT_MAPPED = -20
    NONCANONICAL = -21
    TRUNCATED = -30
    FORM = -31
    ABBREV = -32
    VERSION = -33
    BTF_RECORD = -40
    BTF_KIND = -41
    BTF_NAME = -42


class Codec(enum.IntEnum):
    """The PC_CODEC_* numbers of csrc/pc_codecs.h."""
    NONE = 0
    ZLIB = 1
    LZO = 2
    SNAPPY = 3
    ZSTD = 4


CODEC_NAMES: Dict[int, str] = {codec: codec.name.lower() for codec in Codec}
# The codecs this build of the extension decodes (PC_CODEC_NONE always, when it is built).
NATIVE_CODECS = frozenset(codec for codec in Codec if AVAILABLE and lib.pc_codec_available(codec))


class CodecUnavailableError(PycoreError):
    """A dump uses a codec that neither the chosen path nor an installed module can decode."""


class Fault(NamedTuple):
    """struct pc_fault: where a failure happened; the fields a status does not use are 0."""
    address: int = 0
    physical: int = 0
    file_offset: int = 0
    detail: int = 0
    level: int = 0

    @classmethod
    def from_c(cls, fault: Any) -> "Fault":
        """Copy a ``struct pc_fault *`` out of C memory."""
        return cls(int(fault.address), int(fault.physical), int(fault.file_offset), int(fault.detail),
                   int(fault.level))


@dataclasses.dataclass(frozen=True)
class Context:
    """What the caller knows that a status and a fault do not say; it words the exception.

    ``container`` is "codec" (a lone page), "kdump", "elf", "dwarf" or "symtab" (a symbol
    table's columns, csrc/symtab.c and csrc/kallsyms.c; ``reason`` names the file or table).
    For a failed translation ``levels`` is the paging depth and the fault's address is virtual.
    """
    container: str = "codec"
    page_size: int = 0
    found_size: Optional[int] = None
    reason: str = ""
    file_size: int = 0
    dump_level: Optional[int] = None
    levels: int = 0


_DESC_FIELDS = {0: "page_desc.offset", 1: "page_desc.size", 2: "page_desc.flags"}
_DWARF_WORDS = {
    Status.TRUNCATED: "a unit, DIE or attribute runs past its section",
    Status.FORM: "an attribute form this reader does not know",
    Status.ABBREV: "an abbreviation code or table that makes no sense",
    Status.VERSION: "a unit version other than 2 to 5",
}
# The statuses that become a FaultError: the address is not readable, the dump is sane.
FAULT_STATUSES = frozenset({Status.NOT_PRESENT, Status.EXCLUDED, Status.INCOMPLETE, Status.NOT_MAPPED,
                            Status.NONCANONICAL})
_CODEC_STATUSES = (Status.CORRUPT, Status.SIZE, Status.CODEC, Status.CODEC_UNAVAILABLE)
_PHYSICAL_STATUSES = (Status.NOT_PRESENT, Status.EXCLUDED, Status.INCOMPLETE, Status.BAD_DESC) + _CODEC_STATUSES


def use_native(native: Optional[bool]) -> bool:
    """Resolve a caller's ``native`` choice; asking for C when it was not built is an error."""
    if native is None:
        return AVAILABLE
    if native and not AVAILABLE:
        raise RuntimeError(f"pycore._native is not available ({_WHY_NOT})")
    return native


def describe() -> Dict[str, Any]:
    """Which path runs, for ``pycore --version`` and ``pycore info``.

    ``available``: the C extension is loaded; ``why_not``: the import error or
    PYCORE_PURE when it is not; ``library``: the extension's file; ``codecs``: each
    page codec's path ("C" or "Python").
    """
    return {
        "available": AVAILABLE,
        "why_not": _WHY_NOT or None,
        "library": _LIBRARY,
        "codecs": {CODEC_NAMES[codec]: "C" if codec in NATIVE_CODECS else "Python"
                   for codec in Codec if codec != Codec.NONE},
    }


def codec_name(codec: int) -> str:
    """``zlib``, ``lzo``, ... or ``codec N`` for a number no format defines."""
    return CODEC_NAMES.get(codec, f"codec {codec}")


def error(status: int, fault: Fault = Fault(), context: Context = Context()) -> Exception:
    """The exception for a failed C call (or a pure-Python twin's check that mirrors it).

    Physical-memory and codec statuses name the physical address and file offset; with
    ``context.levels`` set, the fault belongs to a translation and the exception names
    the virtual address (see :func:`page_table_error` and :func:`virtual_error`).
    The exception's ``status`` attribute keeps the status, so a twin that wraps a lower
    layer's error (a page inside a dump) can word it exactly as C does.
    """
    exception = _exception(status, fault, context)
    exception.status = status  # type: ignore[attr-defined]
    return exception


def _exception(status: int, fault: Fault, context: Context) -> Exception:
    if context.levels and status in _PHYSICAL_STATUSES:
        inner = error(status, fault._replace(address=fault.physical), dataclasses.replace(context, levels=0))
        if fault.level:
            return page_table_error(inner, fault.level, fault.physical, fault.address)
        return virtual_error(inner, fault.address)
    build = _symtab if context.container == "symtab" else _BUILDERS.get(status)
    if build is None:
        return RuntimeError(f"pycore._native returned status {status}, which pycore.native does not know")
    return build(status, fault, context)


def _not_mapped(status: int, fault: Fault, context: Context) -> Exception:
    return FaultError(f"not mapped (level-{fault.level} page-table entry at physical {fault.physical:#x}"
                      " not present)", fault.address)


def _noncanonical(status: int, fault: Fault, context: Context) -> Exception:
    return FaultError(f"non-canonical address for {context.levels}-level paging", fault.address)


def _not_present(status: int, fault: Fault, context: Context) -> Exception:
    message = ("no such address in the dump's PT_LOAD segments" if context.container == "elf"
               else "no such page in the dumped machine's memory")
    return FaultError(message, fault.address, physical=True)


def _excluded(status: int, fault: Fault, context: Context) -> Exception:
    if context.container == "elf":
        message = "address beyond p_filesz of its PT_LOAD: left out of the dump"
    else:
        level = f" (dump level {context.dump_level})" if context.dump_level is not None else ""
        message = f"page excluded from the dump by makedumpfile's filter{level}"
    return PageExcludedError(message, fault.address, physical=True)


def _incomplete(status: int, fault: Fault, context: Context) -> Exception:
    if context.container == "kdump" and fault.file_offset < context.file_size:
        # A page descriptor inside the file but all zeros: makedumpfile, or the flattened stream that
        # carried its output, stopped before writing it (the descriptors follow the data they describe).
        return IncompleteDumpError(f"the dump is incomplete: the page descriptor at file offset "
                                   f"{fault.file_offset:#x} was never written (the dump stopped before this page)",
                                   fault.address, offset=fault.file_offset, field="page_desc")
    field = f"PT_LOAD {fault.detail} data" if context.container == "elf" else "page data"
    return IncompleteDumpError(f"the dump is incomplete: data at file offset {fault.file_offset:#x} is missing"
                               f" (the file holds {context.file_size:#x} bytes)", fault.address,
                               offset=fault.file_offset, field=field)


def _bad_desc(status: int, fault: Fault, context: Context) -> Exception:
    return FormatError(f"impossible page descriptor for physical address {fault.address:#x}",
                       offset=fault.file_offset, field=_DESC_FIELDS.get(fault.detail, "page_desc"))


def _dwarf(status: int, fault: Fault, context: Context) -> Exception:
    section = ".debug_abbrev" if fault.detail == 1 else ".debug_info"
    return FormatError(f"DWARF index scan failed: {_DWARF_WORDS[Status(status)]}", fault.file_offset, section)


def _btf(status: int, fault: Fault, context: Context) -> Exception:
    if status == Status.BTF_KIND:
        return FormatError(f"BTF type {fault.detail} has unknown kind {fault.address}", fault.file_offset, "info.kind")
    if status == Status.BTF_NAME:
        return FormatError(f"BTF type {fault.detail} name_off {fault.address:#x} outside the string section",
                           fault.file_offset, "name_off")
    message = "BTF type section ends inside a type record" if fault.detail else "BTF type record truncated"
    return FormatError(message, fault.file_offset, "btf_type")


def _symtab(status: int, fault: Fault, context: Context) -> Exception:
    if status == Status.NOMEM:
        return _no_memory(status, fault, context)
    if status == Status.CORRUPT and fault.detail == 0:
        return FormatError(f"{context.reason}: a .symtab entry has st_size {fault.address:#x}, beyond any kernel "
                           "object", fault.file_offset, "st_size")
    if status == Status.CORRUPT:
        return FormatError(f"{context.reason}: not a 32- or 64-bit ELF symbol table", field="EI_CLASS")
    return RuntimeError(f"pycore._native: {context.reason}: the symbol columns disagree with their lengths "
                        f"(status {status})")


def _no_memory(status: int, fault: Fault, context: Context) -> Exception:
    return MemoryError(f"pycore._native ran out of memory ({context.container})")


def _codec_error(status: int, fault: Fault, context: Context) -> Exception:
    name = codec_name(fault.detail)
    lone = context.container == "codec"
    where = "" if lone else f"physical address {fault.address:#x}: "
    offset = None if lone else fault.file_offset
    if status == Status.CODEC:
        known = ", ".join(f"{n} ({c})" for c, n in CODEC_NAMES.items())
        return FormatError(f"{where}unknown page compression {fault.detail}; expected one of {known}",
                           offset=offset, field="page data")
    if status == Status.CODEC_UNAVAILABLE:
        reason = context.reason or ("this build of pycore's C extension has no " + name +
                                    " (install its -dev package and rebuild, or open the dump with native=False)")
        return CodecUnavailableError(f"{where}this dump has {name}-compressed pages: {reason}")
    if status == Status.SIZE:
        found = "another size" if context.found_size is None else f"{context.found_size} bytes"
        if fault.detail == Codec.NONE:
            message = f"uncompressed page is {found}, expected {context.page_size}"
        else:
            message = f"{name} page decompresses to {found}, expected {context.page_size}"
        return FormatError(where + message, offset=offset, field="page data")
    detail = f": {context.reason}" if context.reason else ""
    return FormatError(f"{where}{name} page data is corrupt{detail}", offset=offset, field="page data")


# One builder per status: what each failure is called and which exception a caller can act on.
_BUILDERS: Dict[int, Callable[[int, Fault, Context], Exception]] = {
    Status.CORRUPT: _codec_error, Status.SIZE: _codec_error, Status.CODEC: _codec_error,
    Status.CODEC_UNAVAILABLE: _codec_error, Status.NOMEM: _no_memory,
    Status.NOT_PRESENT: _not_present, Status.EXCLUDED: _excluded, Status.INCOMPLETE: _incomplete,
    Status.BAD_DESC: _bad_desc, Status.NOT_MAPPED: _not_mapped, Status.NONCANONICAL: _noncanonical,
    Status.TRUNCATED: _dwarf, Status.FORM: _dwarf, Status.ABBREV: _dwarf, Status.VERSION: _dwarf,
    Status.BTF_RECORD: _btf, Status.BTF_KIND: _btf, Status.BTF_NAME: _btf,
}


def page_table_error(inner: Exception, level: int, entry: int, address: int) -> Exception:
    """A page-table entry could not be read: a FaultError naming the virtual ``address``.

    Errors other than faults (a corrupt page-table page) stay what they are.
    """
    if not isinstance(inner, FaultError):
        return inner
    return FaultError(f"level-{level} page-table entry at physical {entry:#x} unreadable ({inner})", address)


def virtual_error(inner: Exception, address: int) -> Exception:
    """The same kind of fault as ``inner`` (a physical read), naming the virtual ``address``."""
    if not isinstance(inner, FaultError):
        return inner
    message = f"unreadable ({inner})"
    if isinstance(inner, IncompleteDumpError):
        return IncompleteDumpError(message, address, physical=False, offset=inner.offset, field=inner.field)
    return type(inner)(message, address, physical=False)
