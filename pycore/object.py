"""Typed values in a crashed kernel's memory (drgn's ``Object`` is the model).

An Object is a type plus either an address (a reference: read when needed) or a
value (already read).  Members, array elements and pointer targets are new
Objects; ``value_()`` turns one into Python ints, floats, lists and dicts.
"""
import struct
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Union

from .errors import FaultError, FormatError, MissingMemberError, ObjectTypeError, PycoreError
from .types.model import MAX_NESTING, MAX_TYPE_SIZE, Type, TypeKind, pointer_type

if TYPE_CHECKING:  # pragma: no cover
    from .program import Program

TypeArg = Union[str, Type]
_MASK64 = (1 << 64) - 1
_STRING_CHUNK = 256
_STRING_LIMIT = 1 << 20


class Object:
    """A value of a C type in the dump: ``prog["init_task"].comm.string_()``."""

    __slots__ = ("prog_", "type_", "address_", "_value", "bit_offset_", "bit_field_size_")

    def __init__(self, prog: "Program", type: TypeArg, value: Any = None, *, address: Optional[int] = None,
                 bit_offset: int = 0, bit_field_size: int = 0):
        if isinstance(type, str):
            type = prog.type(type)
        if (value is None) == (address is None):
            raise ValueError("an Object has either a value or an address")
        self.prog_ = prog
        self.type_ = type
        self.address_ = None if address is None else address & _MASK64
        self._value = value
        self.bit_offset_ = bit_offset
        self.bit_field_size_ = bit_field_size

    # -- reading ------------------------------------------------------------------
    def _raw(self) -> bytes:
        """The object's bytes: read from memory for a reference, kept for a compound value."""
        size = self.type_.size
        if size is None:
            raise ObjectTypeError(f"cannot read an object of incomplete type {self.type_.type_name()}")
        if size > MAX_TYPE_SIZE:
            raise FormatError(f"{self.type_.type_name()} claims {size} bytes, more than any kernel object "
                              f"({MAX_TYPE_SIZE})", field="size")
        if self.address_ is None:
            if isinstance(self._value, bytes):
                return self._value
            return _encode(self.type_.resolved(), self._value)
        if self.bit_field_size_:
            nbytes = (self.bit_offset_ + self.bit_field_size_ + 7) // 8
            return self.prog_.read(self.address_, nbytes)
        return self.prog_.read(self.address_, size)

    def value_(self) -> Any:
        """The value as Python data: int, bool, float, list (arrays) or dict (structs, unions)."""
        return self._value_at_depth(0)

    def _value_at_depth(self, depth: int) -> Any:
        if self.address_ is None and not isinstance(self._value, bytes):
            return self._value
        t = self.type_.resolved()
        if self.bit_field_size_:
            raw = int.from_bytes(self._raw(), "little") >> self.bit_offset_
            value = raw & ((1 << self.bit_field_size_) - 1)
            if t.is_signed and value >> (self.bit_field_size_ - 1):
                value -= 1 << self.bit_field_size_
            return bool(value) if t.kind is TypeKind.BOOL else value
        return _decode(t, self._raw(), self, depth)

    def read_(self) -> "Object":
        """The same object with its value read now (a snapshot)."""
        if self.address_ is None:
            return self
        t = self.type_.resolved()
        if t.kind in (TypeKind.STRUCT, TypeKind.UNION, TypeKind.ARRAY):
            return Object(self.prog_, self.type_, self._raw())
        return Object(self.prog_, self.type_, self.value_())

    # -- navigation -----------------------------------------------------------------
    def member_(self, name: str) -> "Object":
        """Member ``name``; on a pointer to a struct or union this is ``->name``.

        A type without that member (another kernel version's layout, damaged debug
        info) or without members at all raises MissingMemberError naming both.
        """
        t = self.type_.resolved()
        base = self
        if t.kind is TypeKind.POINTER:
            base = self.dereference_()
            t = base.type_.resolved()
        if t.kind not in (TypeKind.STRUCT, TypeKind.UNION):
            raise MissingMemberError(self.type_.type_name(), name, "is not a structure or union")
        member = t.member(name)
        if base.address_ is None:
            raw = base._raw()
            start = member.bit_offset // 8
            if member.bit_field_size:
                nbytes = (member.bit_offset % 8 + member.bit_field_size + 7) // 8
                bits = int.from_bytes(raw[start:start + nbytes], "little") >> (member.bit_offset % 8)
                value = bits & ((1 << member.bit_field_size) - 1)
                mt = member.type.resolved()
                if mt.is_signed and value >> (member.bit_field_size - 1):
                    value -= 1 << member.bit_field_size
                return Object(self.prog_, member.type, value)
            size = member.type.size
            if size is None:
                raise ObjectTypeError(f"member {name!r} of {t.type_name()} has incomplete type "
                                      f"{member.type.type_name()}")
            return Object(self.prog_, member.type, raw[start:start + size]).read_()
        return Object(self.prog_, member.type, address=base.address_ + member.bit_offset // 8,
                      bit_offset=member.bit_offset % 8 if member.bit_field_size else 0,
                      bit_field_size=member.bit_field_size)

    def __getattr__(self, name: str) -> "Object":
        """``obj.name`` is ``obj.member_(name)``; MissingMemberError is an AttributeError, so
        ``getattr(obj, name, default)`` and ``hasattr`` work on kernels without the member."""
        # Kernel members may start with "__" (task_struct.__state) but never are dunders.
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self.member_(name)

    def __getitem__(self, index: int) -> "Object":
        """Array element, or ``pointer[index]``.

        Like C (and drgn), an array in memory is not bounds-checked: flexible and
        ``[0]`` arrays are indexed past their declared length.
        """
        t = self.type_.resolved()
        if t.kind not in (TypeKind.POINTER, TypeKind.ARRAY):
            raise ObjectTypeError(f"{self.type_.type_name()} is not an array or pointer")
        element = t.type
        size = element.size  # type: ignore[union-attr]
        if size is None:
            raise ObjectTypeError(f"cannot index {self.type_.type_name()}: element size unknown")
        index = int(index)
        if t.kind is TypeKind.POINTER:
            return Object(self.prog_, element, address=self.value_() + index * size)  # type: ignore[arg-type]
        if t.length is not None and not 0 <= index < t.length and self.address_ is None:
            raise IndexError(f"index {index} out of range for {self.type_.type_name()}")
        if self.address_ is None:
            raw = self._raw()
            return Object(self.prog_, element, raw[index * size:(index + 1) * size]).read_()  # type: ignore[arg-type]
        return Object(self.prog_, element, address=self.address_ + index * size)  # type: ignore[arg-type]

    def _array_length(self) -> int:
        """The declared length of an array object; other types, and arrays whose length is
        unknown (flexible array members, ``extern`` arrays), have none."""
        t = self.type_.resolved()
        if t.kind is not TypeKind.ARRAY:
            raise ObjectTypeError(f"{self.type_.type_name()} is not an array: it has no length")
        if t.length is None:
            raise ObjectTypeError(f"{self.type_.type_name()} has no declared length")
        if t.length > MAX_TYPE_SIZE:
            raise FormatError(f"{self.type_.type_name()} claims {t.length} elements, more than any kernel "
                              f"array ({MAX_TYPE_SIZE})", field="length")
        return t.length

    def __len__(self) -> int:
        """The number of elements of an array (drgn's ``len(obj)``)."""
        return self._array_length()

    def __iter__(self) -> Iterator["Object"]:
        """Each element of an array, first to last, as drgn iterates one.

        Pointers and arrays of unknown length raise ObjectTypeError (a TypeError): without a
        length, Python's fallback of indexing until IndexError would never end.
        """
        return map(self.__getitem__, range(self._array_length()))

    def dereference_(self) -> "Object":
        """``*pointer``."""
        t = self.type_.resolved()
        if t.kind is not TypeKind.POINTER:
            raise ObjectTypeError(f"cannot dereference {self.type_.type_name()}")
        return Object(self.prog_, t.type, address=self.value_())  # type: ignore[arg-type]

    def address_of_(self) -> "Object":
        """``&object`` as a pointer Object."""
        if self.address_ is None or self.bit_field_size_:
            raise ValueError("cannot take the address of a value or a bit field")
        return Object(self.prog_, pointer_type(self.type_), self.address_)

    def string_(self, limit: int = _STRING_LIMIT) -> bytes:
        """A C string: the bytes of a char array up to its NUL, or those a char pointer points at."""
        t = self.type_.resolved()
        if t.kind is TypeKind.ARRAY:
            raw = self._raw()
            end = raw.find(b"\0")
            return raw if end < 0 else raw[:end]
        if t.kind is not TypeKind.POINTER:
            raise ObjectTypeError(f"{self.type_.type_name()} is not a string")
        address = self.value_()
        out = bytearray()
        while len(out) < limit:
            chunk_size = min(_STRING_CHUNK - (address % _STRING_CHUNK), limit - len(out))
            chunk = self.prog_.read(address, chunk_size)
            end = chunk.find(b"\0")
            if end >= 0:
                out += chunk[:end]
                return bytes(out)
            out += chunk
            address += chunk_size
        return bytes(out)

    # -- conversions ------------------------------------------------------------------
    def __int__(self) -> int:
        value = self.value_()
        if isinstance(value, (int, bool)):
            return int(value)
        if isinstance(value, float):
            return int(value)
        raise ObjectTypeError(f"cannot convert {self.type_.type_name()} to int")

    __index__ = __int__

    def __bool__(self) -> bool:
        t = self.type_.resolved()
        if t.kind in (TypeKind.STRUCT, TypeKind.UNION):
            raise ObjectTypeError(f"cannot convert {self.type_.type_name()} to bool")
        if t.kind is TypeKind.ARRAY:
            return True
        return bool(self.value_())

    def __float__(self) -> float:
        return float(self.value_())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Object):
            other = other.value_()
        return self.value_() == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = self.type_.type_name()
        if self.address_ is not None:
            bits = f", bit_offset={self.bit_offset_}, bit_field_size={self.bit_field_size_}" \
                if self.bit_field_size_ else ""
            return f"Object(prog, {name!r}, address={self.address_:#x}{bits})"
        value = self.value_()
        shown = hex(value) if isinstance(value, int) and not isinstance(value, bool) and \
            self.type_.resolved().kind is TypeKind.POINTER else repr(value)
        return f"Object(prog, {name!r}, value={shown})"

    def __str__(self) -> str:
        kind = self.type_.resolved().kind
        if kind in (TypeKind.STRUCT, TypeKind.UNION) and self.address_ is not None:
            return f"*({self.type_.type_name()} *){self.address_:#x}"
        try:
            value = self.value_()
        except PycoreError as error:
            return f"<{self.type_.type_name()}: {error}>"
        if self.type_.resolved().kind is TypeKind.POINTER:
            return f"({self.type_.type_name()}){value:#x}"
        return f"({self.type_.type_name()}){value!r}"


def _decode(t: Type, raw: bytes, obj: Object, depth: int) -> Any:
    """``raw`` as Python data; ``depth`` counts the arrays and structs around it, so a type
    that contains itself (damaged debug info) ends in FormatError, not RecursionError."""
    if depth > MAX_NESTING:
        raise FormatError(f"{t.type_name()} is nested more than {MAX_NESTING} levels deep in "
                          f"{obj.type_.type_name()}: a type that contains itself", field="member")
    kind = t.kind
    if kind in (TypeKind.INT, TypeKind.ENUM):
        return int.from_bytes(raw, "little", signed=t.is_signed)
    if kind is TypeKind.BOOL:
        return any(raw)
    if kind is TypeKind.POINTER:
        return int.from_bytes(raw, "little")
    if kind is TypeKind.FLOAT:
        return struct.unpack({4: "<f", 8: "<d"}[len(raw)], raw)[0] if len(raw) in (4, 8) else float("nan")
    if kind is TypeKind.ARRAY:
        element = t.type.resolved()  # type: ignore[union-attr]
        size = element.size
        return [_decode(element, raw[i * size:(i + 1) * size], obj, depth + 1) for i in range(t.length or 0)]
    if kind in (TypeKind.STRUCT, TypeKind.UNION):
        value: Dict[str, Any] = {}
        snapshot = Object(obj.prog_, t, raw)
        for name, member in t._member_map().items():
            if member.type.size is None:  # a flexible array member: nothing inside the struct
                value[name] = []
                continue
            value[name] = snapshot.member_(name)._value_at_depth(depth + 1)
        return value
    raise ObjectTypeError(f"cannot read a value of type {t.type_name()}")


def _encode(t: Type, value: Any) -> bytes:
    size = t.size or 0
    if t.kind is TypeKind.FLOAT:
        if size not in (4, 8):
            raise ObjectTypeError(f"cannot encode a {size}-byte {t.type_name()}")
        return struct.pack({4: "<f", 8: "<d"}[size], value)
    return (int(value) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


# -- constructors drgn users know --------------------------------------------------
def cast(type: TypeArg, obj: Object) -> Object:
    """``(type)obj`` for scalars and pointers."""
    prog = obj.prog_
    target = prog.type(type) if isinstance(type, str) else type
    resolved = target.resolved()
    value = obj.value_()
    if resolved.kind in (TypeKind.INT, TypeKind.ENUM, TypeKind.POINTER, TypeKind.BOOL):
        size = resolved.size or 8
        value = int(value) & ((1 << (8 * size)) - 1)
        if resolved.is_signed and value >> (8 * size - 1):
            value -= 1 << (8 * size)
        if resolved.kind is TypeKind.BOOL:
            value = bool(value)
    elif resolved.kind is TypeKind.FLOAT:
        value = float(value)
    else:
        raise ObjectTypeError(f"cannot cast to {target.type_name()}")
    return Object(prog, target, value)


def reinterpret(type: TypeArg, obj: Object) -> Object:
    """The memory of ``obj`` seen as another type."""
    if obj.address_ is None:
        raise ValueError("reinterpret needs an object in memory")
    return Object(obj.prog_, type, address=obj.address_)


def container_of(ptr: Object, type: TypeArg, member: str) -> Object:
    """The ``type *`` that holds the member ``ptr`` points at (the kernel's container_of)."""
    prog = ptr.prog_
    outer = prog.type(type) if isinstance(type, str) else type
    address = int(ptr) - outer.offsetof(member)
    return Object(prog, pointer_type(outer), address & _MASK64)


def NULL(prog: "Program", type: TypeArg) -> Object:
    return Object(prog, type, 0)


class ListCorruptError(PycoreError):
    """A kernel list does not lead back to its head."""


def list_for_each(head: Object, limit: int = 1 << 24) -> Iterator[Object]:
    """Each ``struct list_head *`` on the list at ``head`` (a list_head or pointer to one).

    A ring that never comes back to ``head`` (corruption) raises ListCorruptError
    once the cycle is seen (Brent's method), instead of looping forever.
    """
    if head.type_.resolved().kind is TypeKind.POINTER:
        head = head.dereference_()
    first = head.address_
    node = head.next
    seen = 0
    mark, power = None, 1
    while True:
        address = int(node)
        if address == first:
            return
        if address == 0:
            raise ListCorruptError(f"list at {_hex(first)} has a NULL next pointer after {seen} entries")
        if address == mark:
            raise ListCorruptError(f"list at {_hex(first)} loops at {address:#x} without coming back to its head")
        seen += 1
        if seen == power:
            mark, power = address, power * 2
        if seen > limit:
            raise ListCorruptError(f"list at {_hex(first)} has more than {limit} entries")
        yield node
        node = node.next


def _hex(address: Optional[int]) -> str:
    return "<value>" if address is None else f"{address:#x}"


def list_for_each_entry(type: TypeArg, head: Object, member: str) -> Iterator[Object]:
    """Each ``type *`` on the list at ``head``, linked through ``member``."""
    for node in list_for_each(head):
        yield container_of(node, type, member)


def list_empty(head: Object) -> bool:
    if head.type_.resolved().kind is TypeKind.POINTER:
        head = head.dereference_()
    return int(head.next) == head.address_


def hlist_for_each_entry(type: TypeArg, head: Object, member: str, limit: int = 1 << 24) -> Iterator[Object]:
    """Each ``type *`` on the hlist at ``head`` (``struct hlist_head``)."""
    if head.type_.resolved().kind is TypeKind.POINTER:
        head = head.dereference_()
    node = head.first
    seen = 0
    while int(node):
        seen += 1
        if seen > limit:
            raise ListCorruptError(f"hlist at {head.address_:#x} has more than {limit} entries: it loops")
        yield container_of(node, type, member)
        node = node.next


def per_cpu_ptr(ptr: Object, cpu: int) -> Object:
    """The given CPU's copy of a per-CPU pointer (``__per_cpu_offset[cpu]`` added)."""
    prog = ptr.prog_
    offset = prog.per_cpu_offset(cpu)
    return Object(prog, ptr.type_, (int(ptr) + offset) & _MASK64)


def per_cpu(var: Object, cpu: int) -> Object:
    """The given CPU's copy of the per-CPU variable ``var``."""
    return per_cpu_ptr(var.address_of_(), cpu).dereference_()


__all__ = ["Object", "cast", "reinterpret", "container_of", "NULL", "list_for_each", "list_for_each_entry",
           "list_empty", "hlist_for_each_entry", "per_cpu", "per_cpu_ptr", "ListCorruptError", "FaultError",
           "MissingMemberError", "ObjectTypeError"]
