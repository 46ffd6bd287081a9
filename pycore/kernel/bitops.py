"""Bitmaps (include/linux/bitmap.h): arrays of ``unsigned long`` read as one bit string, bit 0
the low bit of the first word (x86_64, little-endian; every kernel)."""
from typing import Iterator

from ..errors import ObjectTypeError
from ..object import Object
from ..types.model import TypeKind


def bitmap_value(bitmap: Object, size: int) -> int:
    """The first ``size`` bits of ``bitmap`` (an ``unsigned long`` array, or a pointer to its first
    word) as one integer, read with one read of the words they take."""
    words = (int(size) + 63) // 64
    kind = bitmap.type_.resolved().kind
    if kind is TypeKind.POINTER:
        address = int(bitmap)
    elif kind is TypeKind.ARRAY and bitmap.address_ is not None:
        address = bitmap.address_
    elif kind is TypeKind.ARRAY:  # a snapshot: its words are already read
        return sum(word << (64 * i) for i, word in enumerate(bitmap.value_()[:words])) & ((1 << size) - 1)
    else:
        raise ObjectTypeError(f"{bitmap.type_.type_name()} is not a bitmap (an unsigned long array or pointer)")
    if not words:
        return 0
    return int.from_bytes(bitmap.prog_.read(address, words * 8), "little") & ((1 << size) - 1)


def for_each_set_bit(bitmap: Object, size: int) -> Iterator[int]:
    """Each bit number below ``size`` set in ``bitmap``, lowest first."""
    value = bitmap_value(bitmap, size)
    return (bit for bit in range(int(size)) if value >> bit & 1)


def for_each_clear_bit(bitmap: Object, size: int) -> Iterator[int]:
    """Each bit number below ``size`` clear in ``bitmap``, lowest first."""
    value = bitmap_value(bitmap, size)
    return (bit for bit in range(int(size)) if not value >> bit & 1)


def test_bit(nr: int, bitmap: Object) -> bool:
    """Whether bit ``nr`` of ``bitmap`` is set."""
    return bool(bitmap_value(bitmap, int(nr) + 1) >> int(nr) & 1)


__all__ = ["bitmap_value", "for_each_set_bit", "for_each_clear_bit", "test_bit"]
