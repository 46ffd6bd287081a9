"""VMCOREINFO: the key=value note the kernel leaves for dump tools (Linux 2.6.24+).

Keys are kept as the kernel spells them (``SYMBOL(init_task)``,
``OFFSET(list_head.next)``, ``NUMBER(phys_base)``); typed accessors decode the
numbers the way makedumpfile and crash do: SYMBOL, SIZE, OFFSET, LENGTH and
NUMBER(phys_base)-like addresses as hex or decimal per the kernel's printk format.
"""
from collections.abc import Mapping
import re
from typing import Dict, Iterator, Optional

from ..errors import FormatError

_KEYED = re.compile(r"^(SYMBOL|SIZE|OFFSET|LENGTH|NUMBER|CONFIG)\((.+)\)$")

# The kernel prints these with %lx (hex, no prefix); all other numbers are %d/%ld/%lu.
_HEX_KINDS = {"SYMBOL"}
_HEX_KEYS = {"KERNELOFFSET", "PHYS_BASE"}


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
        except ValueError:
            raise FormatError(f"VMCOREINFO value {value!r} is not a number", field=key) from None

    def symbol(self, name: str) -> Optional[int]:
        """Address of ``SYMBOL(name)``, or None if the kernel did not export it."""
        return self._number(f"SYMBOL({name})", True)

    def size(self, name: str) -> Optional[int]:
        return self._number(f"SIZE({name})", False)

    def offset(self, name: str) -> Optional[int]:
        """``OFFSET(struct.member)``: the member's byte offset."""
        return self._number(f"OFFSET({name})", False)

    def length(self, name: str) -> Optional[int]:
        return self._number(f"LENGTH({name})", False)

    def number(self, name: str) -> Optional[int]:
        """``NUMBER(name)``.  ``phys_base`` is decimal since the kernel prints it with %ld."""
        return self._number(f"NUMBER({name})", False)

    @property
    def osrelease(self) -> Optional[str]:
        return self._values.get("OSRELEASE")

    @property
    def page_size(self) -> Optional[int]:
        return self._number("PAGESIZE", False)

    @property
    def kernel_offset(self) -> Optional[int]:
        """The KASLR slide of the kernel text (``KERNELOFFSET``, hex), or None."""
        return self._number("KERNELOFFSET", True)

    @property
    def crash_time(self) -> Optional[int]:
        """``CRASHTIME``: seconds since the epoch when the kernel crashed."""
        return self._number("CRASHTIME", False)

    @property
    def build_id(self) -> Optional[str]:
        return self._values.get("BUILD-ID")

    def typed(self) -> Dict[str, object]:
        """All entries with numbers decoded, grouped the way the kernel groups them."""
        result: Dict[str, object] = {}
        for key, value in self._values.items():
            match = _KEYED.match(key)
            if match:
                kind, name = match.groups()
                group = result.setdefault(kind, {})
                if kind == "CONFIG":
                    group[name] = value
                else:
                    group[name] = self._number(key, kind in _HEX_KINDS)  # type: ignore[index]
            elif key in _HEX_KEYS:
                result[key] = self._number(key, True)
            elif key in ("PAGESIZE", "CRASHTIME"):
                result[key] = self._number(key, False)
            else:
                result[key] = value
        return result
