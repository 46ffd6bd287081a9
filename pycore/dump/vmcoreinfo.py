"""VMCOREINFO: the key=value note the kernel leaves for dump tools (Linux 2.6.24+).

Keys are kept as the kernel spells them (``SYMBOL(init_task)``,
``OFFSET(list_head.next)``, ``NUMBER(phys_base)``); typed accessors decode the
numbers the way makedumpfile and crash do: SYMBOL, SIZE, OFFSET, LENGTH and
NUMBER(phys_base)-like addresses as hex or decimal per the kernel's printk format.
Every accessor checks its value's range, so a damaged or hostile note raises
FormatError naming the key and value instead of steering a reader off a cliff.
"""
from collections.abc import Mapping
import re
from typing import Dict, Iterator, Optional

from ..errors import FormatError

_KEYED = re.compile(r"^(SYMBOL|SIZE|OFFSET|LENGTH|NUMBER|CONFIG)\((.+)\)$")

# The kernel prints these with %lx (hex, no prefix); all other numbers are %d/%ld/%lu.
_HEX_KINDS = {"SYMBOL"}
_HEX_KEYS = {"KERNELOFFSET", "PHYS_BASE"}

# The largest struct the kernel describes here, pglist_data, is ~170 KiB; 16 MiB is far above
# any SIZE and OFFSET, and small enough that reading a few objects of that size is harmless.
MAX_STRUCT_SIZE = 1 << 24
# LENGTH(mem_section) is the longest: 2**25 sections without SPARSEMEM_EXTREME and 5-level paging.
MAX_LENGTH = 1 << 26
_U64 = 1 << 64
# Linux has used 4 KiB to 256 KiB pages (hexagon); a PAGESIZE outside 1 KiB..1 MiB is damage.
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 1 << 10, 1 << 20
# The last second datetime can show (9999-12-31T23:59:59Z): a CRASHTIME past it is damage.
MAX_CRASH_TIME = 253402300799


class VmcoreInfo(Mapping):
    """The parsed VMCOREINFO text: a read-only mapping of key to string, plus typed accessors."""

    def __init__(self, text: str):
        self.text = text
        self._values: Dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key:
                self._values[key.strip()] = value.strip()

    @classmethod
    def from_bytes(cls, data: bytes) -> "VmcoreInfo":
        return cls(data.rstrip(b"\0").decode("utf-8", "replace"))

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"VmcoreInfo({len(self)} keys, OSRELEASE={self.get('OSRELEASE')!r})"

    def _number(self, key: str, hexadecimal: bool) -> Optional[int]:
        value = self._values.get(key)
        if value is None:
            return None
        try:
            return int(value, 16 if hexadecimal else 0 if value.startswith(("0x", "0X")) else 10)
        except ValueError:  # not a number, or more digits than int() converts
            raise FormatError(f"VMCOREINFO value {value[:40]!r} is not a number", field=key) from None

    def _checked(self, key: str, hexadecimal: bool, low: int, high: int, what: str) -> Optional[int]:
        """The number at ``key``, or None; FormatError unless ``low <= value < high``."""
        value = self._number(key, hexadecimal)
        if value is not None and not low <= value < high:
            shown = str(value) if value.bit_length() <= 128 else f"a {value.bit_length()}-bit number"
            raise FormatError(f"VMCOREINFO {key}={shown} is not {what}", field=key)
        return value

    def symbol(self, name: str) -> Optional[int]:
        """Address of ``SYMBOL(name)``, or None if the kernel did not export it."""
        return self._checked(f"SYMBOL({name})", True, 0, _U64, "a 64-bit address")

    def size(self, name: str) -> Optional[int]:
        """``SIZE(name)``: the size of a struct or typedef in bytes, 1 to 16 MiB."""
        return self._checked(f"SIZE({name})", False, 1, MAX_STRUCT_SIZE + 1,
                             f"a struct size (1..{MAX_STRUCT_SIZE})")

    def offset(self, name: str) -> Optional[int]:
        """``OFFSET(struct.member)``: the member's byte offset, inside ``SIZE(struct)`` when
        the kernel exports that too (a member at or past the end is a damaged note)."""
        limit = MAX_STRUCT_SIZE
        struct_name, dot, _member = name.partition(".")
        if dot:
            limit = self.size(struct_name) or limit
        return self._checked(f"OFFSET({name})", False, 0, limit,
                             f"an offset inside the struct (0..{limit - 1})")

    def length(self, name: str) -> Optional[int]:
        """``LENGTH(name)``: an array's number of elements (0 to 2**26)."""
        return self._checked(f"LENGTH({name})", False, 0, MAX_LENGTH + 1, f"an array length (0..{MAX_LENGTH})")

    def number(self, name: str) -> Optional[int]:
        """``NUMBER(name)``, any 64-bit value, signed or not (``NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)``
        is negative).  ``phys_base`` is decimal since the kernel prints it with %ld."""
        return self._checked(f"NUMBER({name})", False, -(1 << 63), _U64, "a 64-bit number")

    @property
    def osrelease(self) -> Optional[str]:
        return self._values.get("OSRELEASE")

    @property
    def page_size(self) -> Optional[int]:
        """``PAGESIZE``, a power of two from 1 KiB to 1 MiB."""
        value = self._checked("PAGESIZE", False, MIN_PAGE_SIZE, MAX_PAGE_SIZE + 1,
                              f"a page size ({MIN_PAGE_SIZE}..{MAX_PAGE_SIZE})")
        if value is not None and value & (value - 1):
            raise FormatError(f"VMCOREINFO PAGESIZE={value} is not a power of two", field="PAGESIZE")
        return value

    @property
    def kernel_offset(self) -> Optional[int]:
        """The KASLR slide of the kernel text (``KERNELOFFSET``, hex), or None."""
        return self._checked("KERNELOFFSET", True, 0, _U64, "a 64-bit offset")

    @property
    def crash_time(self) -> Optional[int]:
        """``CRASHTIME``: seconds since the epoch when the kernel crashed (up to year 9999)."""
        return self._checked("CRASHTIME", False, 0, MAX_CRASH_TIME + 1, "a time since the epoch")

    @property
    def build_id(self) -> Optional[str]:
        return self._values.get("BUILD-ID")

    def typed(self) -> Dict[str, object]:
        """All entries with numbers decoded, grouped the way the kernel groups them
        (``{"SIZE": {"page": 64}, "OSRELEASE": "6.1.0", ...}``)."""
        result: Dict[str, object] = {}
        groups: Dict[str, Dict[str, object]] = {}
        for key, value in self._values.items():
            match = _KEYED.match(key)
            if match:
                kind, name = match.groups()
                groups.setdefault(kind, {})[name] = value if kind == "CONFIG" else self._number(key, kind in _HEX_KINDS)
            elif key in _HEX_KEYS:
                result[key] = self._number(key, True)
            elif key in ("PAGESIZE", "CRASHTIME"):
                result[key] = self._number(key, False)
            else:
                result[key] = value
        for kind, group in groups.items():
            if kind in result:  # no kernel writes "SIZE=..." beside "SIZE(x)=..."
                raise FormatError(f"VMCOREINFO has both a {kind}= line and {kind}(...) entries", field=kind)
            result[kind] = group
        return result
