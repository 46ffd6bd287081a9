"""Decode an allocation's gfp_mask as the OOM report prints it.

Kernels 4.5+ print the names themselves (``gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE)``);
older ones print only hex, whose bits moved between kernel versions, so the
tables below cover the three eras that print bare hex: 2.6.23-2.6.30 (__GFP_MOVABLE
was 0x100000), 2.6.31-4.3 (__GFP_MOVABLE became a zone bit, 0x08) and 4.4
(__GFP_WAIT split into __GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM). Values are
from include/linux/gfp.h of those releases.
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

__all__ = ["GfpDecoding", "decode_gfp_mask", "parse_gfp_field", "kernel_version_tuple", "GFP_ERAS"]

_COMMON_LOW = {
    "__GFP_DMA": 0x01, "__GFP_HIGHMEM": 0x02, "__GFP_DMA32": 0x04,
    "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80, "__GFP_COLD": 0x100,
    "__GFP_NOWARN": 0x200, "__GFP_REPEAT": 0x400, "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000, "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000,
    "__GFP_NOMEMALLOC": 0x10000, "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000,
}

_BITS_2_6_23 = dict(_COMMON_LOW, __GFP_WAIT=0x10, __GFP_RECLAIMABLE=0x80000, __GFP_MOVABLE=0x100000)

_BITS_2_6_31 = dict(_COMMON_LOW, __GFP_MOVABLE=0x08, __GFP_WAIT=0x10, __GFP_MEMALLOC=0x2000,
                    __GFP_RECLAIMABLE=0x80000, __GFP_KMEMCG=0x100000, __GFP_NOTRACK=0x200000,
                    __GFP_NO_KSWAPD=0x400000, __GFP_OTHER_NODE=0x800000, __GFP_WRITE=0x1000000)

_BITS_4_4 = dict(_COMMON_LOW, __GFP_MOVABLE=0x08, __GFP_RECLAIMABLE=0x10, __GFP_MEMALLOC=0x2000,
                 __GFP_ATOMIC=0x80000, __GFP_ACCOUNT=0x100000, __GFP_NOTRACK=0x200000,
                 __GFP_DIRECT_RECLAIM=0x400000, __GFP_OTHER_NODE=0x800000, __GFP_WRITE=0x1000000,
                 __GFP_KSWAPD_RECLAIM=0x2000000)


def _composites(bits: Dict[str, int], reclaim: int) -> List[Tuple[str, int]]:
    """The GFP_* combinations, most specific first, as the kernel's flag printer orders them."""
    io, fs = bits["__GFP_IO"], bits["__GFP_FS"]
    user = reclaim | io | fs | bits["__GFP_HARDWALL"]
    highuser_movable = user | bits["__GFP_HIGHMEM"] | bits["__GFP_MOVABLE"]
    table = [
        ("GFP_HIGHUSER_MOVABLE", highuser_movable),
        ("GFP_HIGHUSER", user | bits["__GFP_HIGHMEM"]),
        ("GFP_USER", user),
        ("GFP_TEMPORARY", reclaim | io | fs | bits["__GFP_RECLAIMABLE"]),
        ("GFP_KERNEL", reclaim | io | fs),
        ("GFP_NOFS", reclaim | io),
    ]
    if "__GFP_ATOMIC" in bits:
        kswapd = bits["__GFP_KSWAPD_RECLAIM"]
        table.append(("GFP_ATOMIC", bits["__GFP_HIGH"] | bits["__GFP_ATOMIC"] | kswapd))
        table.append(("GFP_NOIO", reclaim))
        table.append(("GFP_NOWAIT", kswapd))
    else:
        table.append(("GFP_NOIO", reclaim))
        table.append(("GFP_ATOMIC", bits["__GFP_HIGH"]))
    return table


#: era name -> (composite names, single-bit names)
GFP_ERAS: Dict[str, Tuple[List[Tuple[str, int]], Dict[str, int]]] = {
    "2.6.23-2.6.30": (_composites(_BITS_2_6_23, 0x10), _BITS_2_6_23),
    "2.6.31-4.3": (_composites(_BITS_2_6_31, 0x10), _BITS_2_6_31),
    "4.4": (_composites(_BITS_4_4, 0x400000 | 0x2000000), _BITS_4_4),
}


@dataclass
class GfpDecoding:
    """A gfp_mask with its flag names; ``source`` says where the names came from."""

    mask: int
    names: List[str]
    source: str          # "printed", "table 2.6.31-4.3" ..., or "unknown"
    unknown_bits: int = 0

    def __str__(self) -> str:
        names = "|".join(self.names) if self.names else "?"
        extra = f" (+unknown bits {self.unknown_bits:#x})" if self.unknown_bits else ""
        return f"{self.mask:#x} = {names}{extra} [{self.source}]"


def kernel_version_tuple(version: Optional[str]) -> Optional[Tuple[int, ...]]:
    """``"2.6.32-22-server"`` -> ``(2, 6, 32)``; None when it does not start with a version."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _era_for(mask: int, version: Optional[str], hints: str) -> Optional[str]:
    """Pick the bit table: from the kernel version when known, else from the report's own style."""
    numbers = kernel_version_tuple(version)
    if numbers is not None:
        if numbers < (2, 6, 23):
            return None
        if numbers < (2, 6, 31):
            return "2.6.23-2.6.30"
        if numbers < (4, 4):
            return "2.6.31-4.3"
        if numbers < (4, 5):
            return "4.4"
        return None
    if "oomkilladj=" in hints:       # the header said "oomkilladj" until 2.6.30
        return "2.6.23-2.6.30"
    # 4.4 replaced __GFP_WAIT (0x10) by the two reclaim bits 0x400000|0x2000000.
    if mask & 0x2000000 or (mask & 0x400000 and not mask & 0x10):
        return "4.4"
    return "2.6.31-4.3"


def decode_gfp_mask(mask: int, printed: Optional[str] = None, kernel_version: Optional[str] = None,
                    hints: str = "") -> GfpDecoding:
    """Name the flags of ``mask``: the printed names if the kernel gave them, else a table lookup.

    ``hints`` is the oom-killer header line, used to guess the era when the
    kernel version is not in the log.
    """
    if printed:
        return GfpDecoding(mask, [name for name in printed.split("|") if name], "printed")
    era = _era_for(mask, kernel_version, hints)
    if era is None:
        return GfpDecoding(mask, [], "unknown", mask)
    composites, single = GFP_ERAS[era]
    rest = mask
    names = []
    for name, value in composites + sorted(single.items(), key=lambda item: item[1]):
        if value and rest & value == value:
            names.append(name)
            rest &= ~value
    return GfpDecoding(mask, names, f"table {era}", rest)


_GFP_FIELD = re.compile(r"gfp_mask=(0x[0-9a-fA-F]+)(?:\(([^)]*)\))?")


def parse_gfp_field(text: str) -> Optional[Tuple[int, Optional[str]]]:
    """Find ``gfp_mask=0x...(NAMES)`` in a line; returns (mask, names or None)."""
    match = _GFP_FIELD.search(text)
    if not match:
        return None
    return int(match.group(1), 16), match.group(2)
