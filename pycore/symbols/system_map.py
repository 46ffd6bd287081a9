"""System.map: the ``nm -n vmlinux`` listing the kernel build leaves beside the image.

Lines are ``<hex address> <type letter> <name>``; every kernel version uses the
same format.  Gzip-compressed maps (``System.map.gz``) are read as well.
"""
import gzip
from typing import List

from ..errors import FormatError
from .table import SymbolTable, kernel_image_bounds

SOURCE = "System.map"


def _read_text(path: str) -> str:
    with open(path, "rb") as stream:
        data = stream.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise FormatError(f"{path}: damaged gzip stream: {error}", offset=0, field="gzip") from None
    return data.decode("utf-8", "replace")


def load_system_map(path: str, kaslr_offset: int = 0) -> SymbolTable:
    """The symbols of a System.map (plain or gzip), kernel addresses moved by ``kaslr_offset``.

    Absolute symbols ('A') and per-CPU offsets below ``_text`` are not moved, as
    KASLR does not move them.  A malformed line raises FormatError naming its
    line number; sizes are unknown (None), kinds are the nm type letters.
    """
    names: List[str] = []
    addresses: List[int] = []
    kinds: List[str] = []
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            if len(fields) != 3 or len(fields[1]) != 1:
                raise ValueError
            address = int(fields[0], 16)
            if address >> 64:  # nm prints 64-bit addresses: longer is damage, not an address
                raise ValueError
        except ValueError:
            raise FormatError(f"{path} line {number}: expected '<hex address> <type> <name>', "
                              f"found {line[:120]!r}", field=f"line {number}") from None
        addresses.append(address)
        kinds.append(fields[1])
        names.append(fields[2])
    if not names:
        raise FormatError(f"{path} holds no symbols", offset=0)

    start, _ = kernel_image_bounds(names, addresses)
    if kaslr_offset:
        threshold = start
        if threshold is None:
            text = [address for address, kind in zip(addresses, kinds) if kind in "Tt"]
            threshold = min(text) if text else 0
        mask = (1 << 64) - 1
        addresses = [(address + kaslr_offset) & mask if address >= threshold and kind not in "Aa" else address
                     for address, kind in zip(addresses, kinds)]
    start, end = kernel_image_bounds(names, addresses)
    return SymbolTable(SOURCE, names, addresses, None, kinds, start=start, end=end)
