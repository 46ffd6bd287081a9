"""Typed values in a crashed kernel's memory (drgn 0.3's ``Object`` is the model).

An Object is a type plus either an address (a reference: read when needed) or a
value (already read).  Members, array elements and pointer targets are new
Objects; ``value_()`` turns one into Python ints, floats, lists and dicts.  C's
operators work as drgn's do (integer promotion, the usual arithmetic conversions,
pointer arithmetic) and ``format_()`` writes an object as drgn writes it.
Nothing here depends on a kernel version: the types say what the memory holds.
"""
import array
import math
import struct
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import native as _native
from .errors import FaultError, FormatError, MissingMemberError, ObjectTypeError, PycoreError, ValidationError
from .native import virtual_error
from .types.model import (MAX_NESTING, MAX_TYPE_SIZE, Member, MemberAccess, Type, TypeKind, TypeNotFoundError,
                          float_type, int_type, pointer_type, typedef_type)

if TYPE_CHECKING:  # pragma: no cover
    from .program import Program

TypeArg = Union[str, Type]
_MASK64 = (1 << 64) - 1
_STRING_CHUNK = 256
_STRING_LIMIT = 1 << 20
_INTEGER_KINDS = (TypeKind.INT, TypeKind.ENUM, TypeKind.POINTER)
_COMPOUND_KINDS = (TypeKind.STRUCT, TypeKind.UNION, TypeKind.ARRAY)


class _ObjectClass(type):
    """The metaclass of :class:`Object`, whose ``__call__`` is drgn's constructor."""

    def __call__(cls, prog: "Program", type: TypeArg, value: Any = None, *, address: Optional[int] = None,
                 bit_offset: int = 0, bit_field_size: int = 0) -> Any:
        """The constructor (see :class:`Object`).  The object is of the class made for its type
        and program (see :func:`_reference_class`); a bit field's (and an object of a named
        subclass of Object's, such as GuessedObject) has each of the six attributes in its own slot."""
        if isinstance(type, str):
            type = prog.type(type)
        if (value is None) == (address is None):
            raise ValueError("an Object has either a value or an address")
        if value is not None and not isinstance(value, bytes):
            value = _convert(type.resolved(), value)
        if cls is Object and not bit_offset and not bit_field_size:
            return _value_object(prog, type, value) if address is None else _reference(prog, type, address)
        obj = _new(cls)
        obj.prog_ = prog
        obj.type_ = type
        obj.address_ = None if address is None else address & _MASK64
        obj._value = value
        obj.bit_offset_ = bit_offset
        obj.bit_field_size_ = bit_field_size
        return obj


class _TypeClass(_ObjectClass):
    """The metaclass of the classes :func:`_reference_class` makes: calling one is CPython's own
    type call (``cls()`` is a bare instance whose ``type_`` and ``address_`` or ``_value`` the hot
    paths fill), measured at about half the cost of ``object.__new__(cls)`` on CPython 3.11."""

    __call__ = type.__call__


class Object(metaclass=_ObjectClass):
    """A value of a C type in the dump: ``prog["init_task"].comm.string_()``.

    ``Object(prog, type, value)`` is a value, ``Object(prog, type, address=...)`` a reference (read
    when needed); ``bit_offset`` and ``bit_field_size`` make a bit field.  A scalar value is
    converted to the type as C converts it (``Object(prog, "unsigned int", -1)`` holds 4294967295);
    a struct, union or array value is its bytes, or a dict (members) or list (elements) as
    ``value_()`` returns them.  Objects are immutable, as drgn's are."""

    __slots__ = ("prog_", "type_", "address_", "_value", "bit_offset_", "bit_field_size_")

    #: "reference" or "value" for the classes :func:`_reference_class` makes (their objects learn
    #: their members' properties as they are first read); None here.
    _variant: Optional[str] = None

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
        address = self.address_
        if address is None:
            value = self._value
            if not isinstance(value, bytes):
                return value
            return _decode(self.type_.resolved(), value, self, 0)
        layout = self.type_.int_layout
        if layout is not None and not self.bit_field_size_:
            # The hot path of every helper: one read, one conversion.
            return int.from_bytes(self.prog_.read(address, layout[0]), "little", signed=layout[1])
        return self._value_at_depth(0)

    def _value_at_depth(self, depth: int) -> Any:
        if self.address_ is None and not isinstance(self._value, bytes):
            return self._value
        t = self.type_.resolved()
        if self.bit_field_size_:
            return _bit_field(t, int.from_bytes(self._raw(), "little"), self.bit_offset_, self.bit_field_size_)
        return _decode(t, self._raw(), self, depth)

    def read_(self) -> "Object":
        """The same object with its value read now (a snapshot): one read however many members are
        used afterwards."""
        if self.address_ is None:
            return self
        t = self.type_.resolved()
        if t.kind in _COMPOUND_KINDS:
            return Object(self.prog_, self.type_, self._raw())
        return _value_object(self.prog_, self.type_, self.value_())

    # -- navigation -----------------------------------------------------------------
    def member_(self, name: str) -> "Object":
        """Member ``name``; on a pointer to a struct or union this is ``->name``.

        A type without that member (another kernel version's layout, damaged debug
        info) or without members at all raises MissingMemberError naming both.
        """
        return _member_reader(name)(self)

    def __getattr__(self, name: str) -> "Object":
        """``obj.name`` is ``obj.member_(name)``; MissingMemberError is an AttributeError, so
        ``getattr(obj, name, default)`` and ``hasattr`` work on kernels without the member.
        Methods (``format_``, ``value_``, ...) win over members of the same name, as in drgn.

        Python calls this only for a name the object's class lacks.  The class made for the
        object's type (:func:`_reference_class`) then learns the member: a property that knows
        where it is (:func:`_member_getter`), so each later ``obj.name`` of that class is one
        property call, and the class costs nothing for the members nobody reads.

        Its cost: with a ``__getattr__`` anywhere in the class's MRO, CPython 3.11 specializes no
        attribute read or method lookup on the object, found on the class or not (its specializer
        wants the generic ``tp_getattro``): a slot read costs ~30 ns, not ~14, and ``obj.value_()``
        makes a bound method.  Without it the struct page walk measured 27% faster, but a missing
        member would be a bare AttributeError, not MissingMemberError."""
        # Kernel members may start with "__" (task_struct.__state) but never are dunders; copy and
        # pickle ask for those of an object not yet set up.
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        cls = self.__class__
        if cls._variant is None:
            return self.member_(name)
        getter = _member_getter(cls, self.type_, name)
        setattr(cls, name, property(getter))
        return getter(self)

    def __dir__(self) -> List[str]:
        """The methods, and the members of a struct or union (or of the one a pointer points at)."""
        names = set(super().__dir__())
        t = self.type_.resolved()
        if t.kind is TypeKind.POINTER:
            t = t.type.resolved()  # type: ignore[union-attr]
        if t.kind in (TypeKind.STRUCT, TypeKind.UNION) and t.is_complete():
            names.update(t._member_map())
        return sorted(names)

    def __getitem__(self, index: int) -> "Object":
        """Array element, or ``pointer[index]``.

        Like C (and drgn), an array in memory is not bounds-checked: flexible and
        ``[0]`` arrays are indexed past their declared length.
        """
        element, size, through_pointer, length = self.type_.element_access()
        index = index.__index__()
        address = self.address_
        if through_pointer:
            address = self._value
            if type(address) is not int:  # a reference (its _value is None): read the pointer
                address = self.value_()
        elif address is None:
            if length is not None and not 0 <= index < length:
                raise IndexError(f"index {index} out of range for {self.type_.type_name()}")
            raw = self._raw()
            return _value_object(self.prog_, element, raw[index * size:(index + 1) * size]).read_()
        return _reference(self.prog_, element, address + index * size)

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
        return _reference(self.prog_, t.type, self.value_())  # type: ignore[arg-type]

    def address_of_(self) -> "Object":
        """``&object`` as a pointer Object."""
        if self.address_ is None or self.bit_field_size_:
            raise ValueError("cannot take the address of a value or a bit field")
        return _value_object(self.prog_, pointer_type(self.type_), self.address_)

    def string_(self, limit: int = _STRING_LIMIT) -> bytes:
        """A C string: the bytes of a char array up to its NUL, or those a char pointer points at."""
        t = self.type_.resolved()
        if t.kind is TypeKind.ARRAY:
            address, size = self.address_, t.size
            if address is not None and size is not None and size <= MAX_TYPE_SIZE and not self.bit_field_size_:
                raw = self.prog_.read(address, size)  # _raw()'s common case: task.comm in every walk
            else:
                raw = self._raw()
            end = raw.find(b"\0")
            return raw if end < 0 else raw[:end]
        if t.kind is not TypeKind.POINTER:
            raise ObjectTypeError(f"{self.type_.type_name()} is not a string")
        return _read_string(self.prog_, self.value_(), limit)

    def format_(self, *, columns: Optional[int] = None, integer_base: Optional[int] = None,
                dereference: Optional[bool] = None, symbolize: Optional[bool] = None, string: Optional[bool] = None,
                char: Optional[bool] = None, type_name: Optional[bool] = None,
                member_type_names: Optional[bool] = None, element_type_names: Optional[bool] = None,
                members_same_line: Optional[bool] = None, elements_same_line: Optional[bool] = None,
                member_names: Optional[bool] = None, element_indices: Optional[bool] = None,
                implicit_members: Optional[bool] = None, implicit_elements: Optional[bool] = None) -> str:
        """The object in C syntax, as drgn 0.3's ``format_`` writes it; every option is drgn's, with
        drgn's default when None.  ``str(obj)`` is ``obj.format_()``.

        Pointers are symbolized from pycore's symbol table (kallsyms or the vmlinux), so an address
        between two symbols may name a different symbol than drgn's ELF symbol sizes would."""
        given = {"columns": columns, "integer_base": integer_base, "dereference": dereference,
                 "symbolize": symbolize, "string": string, "char": char, "type_name": type_name,
                 "member_type_names": member_type_names, "element_type_names": element_type_names,
                 "members_same_line": members_same_line, "elements_same_line": elements_same_line,
                 "member_names": member_names, "element_indices": element_indices,
                 "implicit_members": implicit_members, "implicit_elements": implicit_elements}
        options = dict(_FORMAT_DEFAULTS)
        options.update((key, value) for key, value in given.items() if value is not None)
        if options["integer_base"] not in (8, 10, 16):
            raise ValueError("integer_base must be 8, 10 or 16")
        return _Formatter(self.prog_, options).top(self)

    def __str__(self) -> str:
        return self.format_()

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

    # -- conversions ------------------------------------------------------------------
    def __int__(self) -> int:
        value = self.value_()
        if isinstance(value, (int, float)):
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
        value = self.value_()
        if isinstance(value, (int, float)):
            return float(value)
        raise ObjectTypeError(f"cannot convert {self.type_.type_name()} to float")

    def __round__(self, ndigits: Optional[int] = None) -> Any:
        return round(_number(self), ndigits)

    def __trunc__(self) -> int:
        return math.trunc(_number(self))

    def __floor__(self) -> int:
        return math.floor(_number(self))

    def __ceil__(self) -> int:
        return math.ceil(_number(self))

    # -- C operators (drgn's semantics) -------------------------------------------------
    def __add__(self, other: Any) -> "Object":
        return _binary("+", self, other)

    def __radd__(self, other: Any) -> "Object":
        return _binary("+", other, self)

    def __sub__(self, other: Any) -> "Object":
        return _binary("-", self, other)

    def __rsub__(self, other: Any) -> "Object":
        return _binary("-", other, self)

    def __mul__(self, other: Any) -> "Object":
        return _binary("*", self, other)

    def __rmul__(self, other: Any) -> "Object":
        return _binary("*", other, self)

    def __truediv__(self, other: Any) -> "Object":
        return _binary("/", self, other)

    def __rtruediv__(self, other: Any) -> "Object":
        return _binary("/", other, self)

    def __mod__(self, other: Any) -> "Object":
        return _binary("%", self, other)

    def __rmod__(self, other: Any) -> "Object":
        return _binary("%", other, self)

    def __lshift__(self, other: Any) -> "Object":
        return _binary("<<", self, other)

    def __rlshift__(self, other: Any) -> "Object":
        return _binary("<<", other, self)

    def __rshift__(self, other: Any) -> "Object":
        return _binary(">>", self, other)

    def __rrshift__(self, other: Any) -> "Object":
        return _binary(">>", other, self)

    def __and__(self, other: Any) -> "Object":
        return _binary("&", self, other)

    def __rand__(self, other: Any) -> "Object":
        return _binary("&", other, self)

    def __or__(self, other: Any) -> "Object":
        return _binary("|", self, other)

    def __ror__(self, other: Any) -> "Object":
        return _binary("|", other, self)

    def __xor__(self, other: Any) -> "Object":
        return _binary("^", self, other)

    def __rxor__(self, other: Any) -> "Object":
        return _binary("^", other, self)

    def __neg__(self) -> "Object":
        return _unary("-", self)

    def __pos__(self) -> "Object":
        return _unary("+", self)

    def __invert__(self) -> "Object":
        return _unary("~", self)

    def __eq__(self, other: object) -> bool:
        """C's ``==`` for numbers and pointers (``(unsigned int)-1 == -1`` holds); a pointer also
        equals the int of its address (pycore has always allowed it; drgn raises TypeError); other
        objects compare their values (``value_()``)."""
        result = _compare("==", self, other)
        if result is NotImplemented:
            return self.value_() == (other.value_() if isinstance(other, Object) else other)
        return result

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __lt__(self, other: Any) -> bool:
        return _ordered("<", self, other)

    def __le__(self, other: Any) -> bool:
        return _ordered("<=", self, other)

    def __gt__(self, other: Any) -> bool:
        return _ordered(">", self, other)

    def __ge__(self, other: Any) -> bool:
        return _ordered(">=", self, other)

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> "Object":
        """The object itself: objects are immutable (and the classes of most keep their program
        and their constant attributes out of the slots a copy would fill)."""
        return self

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Object":
        """The object itself, as :meth:`__copy__`: a copy of the program behind it is no copy."""
        return self


_new = object.__new__

# Integer layout (size, signed) -> its little-endian struct format (x86_64 is little-endian).
_STRUCT_FORMATS = {(1, False): "<B", (1, True): "<b", (2, False): "<H", (2, True): "<h",
                   (4, False): "<I", (4, True): "<i", (8, False): "<Q", (8, True): "<q"}
_REFERENCE, _VALUE = "reference", "value"


def _reference_class(t: Type, prog: "Program") -> type:
    """The class of the references of type ``t`` in ``prog``; its ``_value_class`` is that of the
    values.  Made once per type and program (kept in ``t.object_class``: a type another program
    used last gets new ones) and cheap to make: two subclasses of Object whose class attributes
    hold what all their objects share (``prog_``, the bit-field attributes at 0, and ``_value`` or
    ``address_`` at None), so that making an object fills two slots (``type_``, then ``address_``
    or ``_value``), not six.  A reference of an integer type reads ``value_()`` with a precompiled
    ``struct`` format, straight from :attr:`Program.pages` (the class keeps the dict and
    ``prog.read``); one of an array type its ``string_()`` likewise; an array or pointer type's
    ``obj[i]`` knows the element's type and size.  Members are learned when first read (see
    :meth:`Object.__getattr__`).  ``task.pid.value_()`` then costs one property and one method
    call, ``pages[i]`` one call.

    Measured on CPython 3.11 (the struct page walk of bench/bench_objects.py): six slot stores per
    object cost ~5% more than two; the reads of an object's attributes, which a 3.11
    ``__getattr__`` leaves unspecialized (~17 ns more each, see :meth:`Object.__getattr__`), are
    why ``prog_`` and the page cache are the class's, not copied from object to object."""
    cls = t.object_class
    if cls is None or cls.prog_ is not prog:
        cls = t.object_class = _make_classes(t, prog)
    return cls


def _make_classes(t: Type, prog: "Program") -> type:
    """The reference class of ``t`` in ``prog``, holding the value class (see :func:`_reference_class`)."""
    r = t.resolved()
    pages = getattr(prog, "pages", None)  # a program-like reader may have read() and no page cache
    read = getattr(prog, "read", None)  # values made without a program (prog None) read nothing
    reference: Dict[str, Any] = {}
    value: Dict[str, Any] = {}
    if r.kind in (TypeKind.POINTER, TypeKind.ARRAY) and r.type.size is not None:  # type: ignore[union-attr]
        element, size, through_pointer, _ = t.element_access()
        if through_pointer:
            reference["__getitem__"] = _element_getter(prog, element, size, _POINTER_IN_MEMORY)
            value["__getitem__"] = _element_getter(prog, element, size, _POINTER_VALUE)
        else:
            reference["__getitem__"] = _element_getter(prog, element, size, _ARRAY_IN_MEMORY)
    if read is not None and r.kind is TypeKind.ARRAY and r.size is not None and r.size <= MAX_TYPE_SIZE:
        reference["string_"] = _array_string_reader(r.size, pages, read)
    if read is not None and t.int_layout in _STRUCT_FORMATS:
        reference["value_"] = _integer_value_reader(t.int_layout, pages, read)  # type: ignore[arg-type]
    value_class = _TypeClass("Object", (Object,), {
        "__slots__": (), "__module__": __name__, "__qualname__": "Object", "_variant": _VALUE, "prog_": prog,
        "address_": None, "bit_offset_": 0, "bit_field_size_": 0, **value})
    return _TypeClass("Object", (Object,), {
        "__slots__": (), "__module__": __name__, "__qualname__": "Object", "_variant": _REFERENCE, "prog_": prog,
        "_value": None, "bit_offset_": 0, "bit_field_size_": 0, "_value_class": value_class, **reference})


def _array_string_reader(size: int, pages: Optional[Dict[int, bytes]],
                         read: Callable[[int, int], bytes]) -> Callable[..., bytes]:
    """``string_`` for the references of an array type of ``size`` bytes (``task.comm`` in every
    task walk): read at once, straight from ``pages`` (:attr:`Program.pages`) when the array
    lies within one cached page, else by ``read`` (:meth:`Program.read`: same bytes, same faults)."""
    last = 4096 - size if size > 0 and pages is not None else -1  # the highest page offset the array fits at

    def string_(self: Object, limit: int = _STRING_LIMIT) -> bytes:
        address = self.address_
        offset = address & 4095
        page = pages.get(address - offset) if offset <= last else None  # type: ignore[union-attr]
        raw = page[offset:offset + size] if page else read(address, size)
        end = raw.find(b"\0")
        return raw if end < 0 else raw[:end]

    string_.__doc__ = Object.string_.__doc__
    return string_


def _unpacker(layout: Tuple[int, bool]) -> Callable[[bytes], Tuple[int]]:
    """The ``unpack`` of the integer ``layout``: a precompiled ``struct.Struct``'s (no keyword
    arguments to parse, as ``int.from_bytes`` has), else an equivalent for 16-byte and odd sizes."""
    code = _STRUCT_FORMATS.get(layout)
    if code is not None:
        return struct.Struct(code).unpack
    signed = layout[1]
    return lambda raw: (int.from_bytes(raw, "little", signed=signed),)


def _integer_value_reader(layout: Tuple[int, bool], pages: Optional[Dict[int, bytes]],
                          read: Callable[[int, int], bytes]) -> Callable[[Object], int]:
    """``value_`` for the references of an integer ``layout`` with a ``struct`` format: unpacked
    straight from ``pages`` (:attr:`Program.pages`) when the value lies within one cached page
    (a page missing, unreadable (b"") or too short for the value: ``struct.error``), else from
    ``read`` (:meth:`Program.read`, which caches the page, or raises the precise fault)."""
    size = layout[0]
    compiled = struct.Struct(_STRUCT_FORMATS[layout])
    unpack, unpack_from, error = compiled.unpack, compiled.unpack_from, struct.error

    if pages is None:
        def value_(self: Object) -> int:
            return unpack(read(self.address_, size))[0]
    else:
        def value_(self: Object) -> int:
            address = self.address_
            offset = address & 4095
            try:
                return unpack_from(pages[address - offset], offset)[0]  # type: ignore[index]
            except (KeyError, error):
                pass
            return unpack(read(address, size))[0]

    value_.__doc__ = Object.value_.__doc__
    return value_


# How an element getter finds the start of the array: a pointer read from memory (a reference),
# a pointer held as a value, or an array in memory.
_POINTER_IN_MEMORY, _POINTER_VALUE, _ARRAY_IN_MEMORY = range(3)


def _element_getter(prog: "Program", element: Type, size: int, where: int) -> Callable[[Object, Any], Object]:
    """``obj[index]`` for the class of an array or pointer type whose elements are ``element``,
    ``size`` bytes each: :meth:`Object.__getitem__` with the element's type, size and class known
    beforehand (the class on the first call: a type that points at itself makes no endless chain).
    A pointer held as a value has a function of its own: ``pages[i]`` is the whole of some walks."""
    element_class: Optional[type] = None

    def element_at(address: int) -> Object:
        nonlocal element_class
        element_class = _reference_class(element, prog)
        obj = element_class()
        obj.type_ = element
        obj.address_ = address & _MASK64
        return obj

    if where == _POINTER_VALUE:
        def getitem(self: Object, index: Any) -> Object:
            if type(index) is not int:
                index = index.__index__()
            address = self._value
            if type(address) is not int:  # a value held as its bytes (read from a snapshot)
                address = self.value_()
            if element_class is None:
                return element_at(address + index * size)
            obj = element_class()
            obj.type_ = element
            obj.address_ = (address + index * size) & _MASK64
            return obj
    else:
        def getitem(self: Object, index: Any) -> Object:
            address = (self.value_() if where == _POINTER_IN_MEMORY else self.address_) + index.__index__() * size
            if element_class is None:
                return element_at(address)
            obj = element_class()
            obj.type_ = element
            obj.address_ = address & _MASK64
            return obj

    getitem.__doc__ = Object.__getitem__.__doc__
    return getitem


def _member_getter(cls: type, t: Type, name: str) -> Callable[[Object], Object]:
    """The getter of the ``name`` property that ``cls``, the class of objects of type ``t``,
    learns (:meth:`Object.__getattr__`): :meth:`Object.member_` with the member's type, place and
    class known beforehand, for a struct or union in memory and a pointer to one; the general
    reader for the rest (bit fields, snapshots).  MissingMemberError when ``t`` has no such member."""
    member_type, offset, _, bit_field_size, through_pointer = t.member_access(name)
    if bit_field_size or not (through_pointer or cls._variant == _REFERENCE):
        return _member_reader(name)
    member_class = _reference_class(member_type, cls.prog_)
    if not through_pointer:
        def member(self: Object) -> Object:
            obj = member_class()
            obj.type_ = member_type
            obj.address_ = (self.address_ + offset) & _MASK64
            return obj
    elif cls._variant == _REFERENCE:
        def member(self: Object) -> Object:
            obj = member_class()
            obj.type_ = member_type
            obj.address_ = (self.value_() + offset) & _MASK64
            return obj
    else:
        def member(self: Object) -> Object:
            address = self._value
            if type(address) is not int:  # a value held as its bytes (read from a snapshot)
                address = self.value_()
            obj = member_class()
            obj.type_ = member_type
            obj.address_ = (address + offset) & _MASK64
            return obj

    member.__name__ = name
    return member


def _member_reader(name: str) -> Callable[[Object], Object]:
    """The function that reads member ``name`` of an object of any type (:meth:`Object.member_`,
    and the property of a bit field or a snapshot's member), made once per name."""
    reader = _MEMBER_READERS.get(name)
    if reader is not None:
        return reader

    def reader(self: Object) -> Object:
        member_type, offset, bit_offset, bit_field_size, through_pointer = self.type_.member_access(name)
        address = self.address_
        if through_pointer:
            value = self._value
            address = value if address is None and type(value) is int else self.value_()
        elif address is None:
            return _member_of_bytes(self.prog_, self._raw(), name, member_type, offset, bit_offset, bit_field_size)
        if bit_field_size:
            return Object(self.prog_, member_type, address=address + offset, bit_offset=bit_offset,
                          bit_field_size=bit_field_size)
        return _reference(self.prog_, member_type, address + offset)

    reader.__name__ = name
    _MEMBER_READERS[name] = reader
    return reader


# Member name -> its reader; kernel types have a few tens of thousands of member names at most.
_MEMBER_READERS: Dict[str, Callable[[Object], Object]] = {}


def _reference(prog: "Program", type: Type, address: int) -> Object:
    """``Object(prog, type, address=address)`` without the constructor's checks (hot paths)."""
    obj = _reference_class(type, prog)()
    obj.type_ = type
    obj.address_ = address & _MASK64
    return obj


def _value_object(prog: "Program", type: Type, value: Any) -> Object:
    """``Object(prog, type, value)`` for a value already in the type's range, or its bytes."""
    obj = _reference_class(type, prog)._value_class()
    obj.type_ = type
    obj._value = value
    return obj


def _bit_field(t: Type, raw: int, bit_offset: int, bit_field_size: int) -> Any:
    """The bit field ``bit_field_size`` bits wide at ``bit_offset`` of the little-endian ``raw``."""
    value = (raw >> bit_offset) & ((1 << bit_field_size) - 1)
    if t.is_signed and value >> (bit_field_size - 1):
        value -= 1 << bit_field_size
    return bool(value) if t.kind is TypeKind.BOOL else value


def _member_of_bytes(prog: "Program", raw: bytes, name: str, member_type: Type, offset: int, bit_offset: int,
                     bit_field_size: int) -> Object:
    """The member at ``offset`` of a struct or union value held as bytes (a snapshot)."""
    if bit_field_size:
        nbytes = (bit_offset + bit_field_size + 7) // 8
        bits = int.from_bytes(raw[offset:offset + nbytes], "little")
        return _value_object(prog, member_type, _bit_field(member_type.resolved(), bits, bit_offset, bit_field_size))
    size = member_type.size
    if size is None:
        raise ObjectTypeError(f"member {name!r} has incomplete type {member_type.type_name()}")
    return _value_object(prog, member_type, raw[offset:offset + size]).read_()


def _read_string(prog: "Program", address: int, limit: int) -> bytes:
    """The NUL-terminated string at ``address``, at most ``limit`` bytes, read a chunk at a time."""
    out = bytearray()
    while len(out) < limit:
        chunk_size = min(_STRING_CHUNK - (address % _STRING_CHUNK), limit - len(out))
        chunk = prog.read(address, chunk_size)
        end = chunk.find(b"\0")
        if end >= 0:
            out += chunk[:end]
            return bytes(out)
        out += chunk
        address += chunk_size
    return bytes(out)


def _number(obj: Object) -> Union[int, float]:
    value = obj.value_()
    if isinstance(value, (int, float)):
        return value
    raise ObjectTypeError(f"{obj.type_.type_name()} is not a number")


def _convert(t: Type, value: Any) -> Any:
    """A Python value converted to type ``t`` as C converts it (wrapped integers, floats)."""
    kind = t.kind
    if kind in _INTEGER_KINDS:
        size = t.size or 8
        return _wrap(int(value), size, t.is_signed)
    if kind is TypeKind.BOOL:
        return bool(value)
    if kind is TypeKind.FLOAT:
        return _float(float(value), t.size)
    if kind in _COMPOUND_KINDS:
        return _encode(t, value)
    return value


def _wrap(value: int, size: int, signed: bool) -> int:
    bits = 8 * size
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _float(value: float, size: Optional[int]) -> float:
    """A double rounded to a 4-byte float when the type is one."""
    return struct.unpack("<f", struct.pack("<f", value))[0] if size == 4 and math.isfinite(value) else value


# -- C arithmetic: integer promotion and the usual arithmetic conversions ----------------
# C's integer conversion ranks (C11 6.3.1.1) of the base types; a typedef ranks as what it names.
_RANKS = {"_Bool": 0, "char": 1, "signed char": 1, "unsigned char": 1, "short": 2, "unsigned short": 2,
          "int": 3, "unsigned int": 3, "long": 4, "unsigned long": 4, "long long": 5, "unsigned long long": 5}
_RANK_BY_SIZE = {1: 1, 2: 2, 4: 3, 8: 4, 16: 6}
_UNSIGNED = {"int": "unsigned int", "long": "unsigned long", "long long": "unsigned long long"}
# Base types for results when the debug info lacks them (a BTF without "long long", say).
_FALLBACK_TYPES = {"int": int_type("int", 4, True), "unsigned int": int_type("unsigned int", 4, False),
                   "long": int_type("long", 8, True), "unsigned long": int_type("unsigned long", 8, False),
                   "long long": int_type("long long", 8, True),
                   "unsigned long long": int_type("unsigned long long", 8, False),
                   "double": float_type("double", 8)}
_FALLBACK_TYPES["ptrdiff_t"] = typedef_type("ptrdiff_t", _FALLBACK_TYPES["long"])


def _base_type(prog: "Program", name: str) -> Type:
    try:
        return prog.type(name)
    except TypeNotFoundError:
        return _FALLBACK_TYPES[name]


def _rank(t: Type) -> int:
    return _RANKS.get(t.name or "", _RANK_BY_SIZE.get(t.size or 0, 4))  # type: ignore[arg-type]


class _Operand:
    """One operand of a C operator after integer promotion (arrays decayed to pointers)."""

    __slots__ = ("type", "resolved", "value")

    def __init__(self, type: Type, value: Any):
        self.type = type
        self.resolved = type.resolved()
        self.value = value

    @property
    def is_pointer(self) -> bool:
        return self.resolved.kind is TypeKind.POINTER

    @property
    def is_float(self) -> bool:
        return self.resolved.kind is TypeKind.FLOAT


def _operand(prog: "Program", x: Any) -> Optional[_Operand]:
    """``x`` as a promoted C operand; None for what C cannot compute with (structs, unions, void)."""
    if isinstance(x, Object):
        t = x.type_.resolved()
        kind = t.kind
        if kind is TypeKind.ARRAY or kind is TypeKind.FUNCTION:
            if x.address_ is None:
                return None
            return _Operand(pointer_type(t.type if kind is TypeKind.ARRAY else x.type_), x.address_)  # type: ignore
        if kind is TypeKind.POINTER:
            return _Operand(x.type_.unqualified(), x.value_())
        if kind is TypeKind.FLOAT:
            return _Operand(x.type_.unqualified(), x.value_())
        if kind in (TypeKind.INT, TypeKind.BOOL, TypeKind.ENUM):
            value = int(x.value_())
            if x.bit_field_size_:
                # C promotes a bit field narrower than int to int (C11 6.3.1.1p2).
                if x.bit_field_size_ < 32 or (x.bit_field_size_ == 32 and t.is_signed):
                    return _Operand(_base_type(prog, "int"), value)
                if x.bit_field_size_ == 32:
                    return _Operand(_base_type(prog, "unsigned int"), value)
            return _Operand(_promoted(prog, x.type_), value)
        return None
    if isinstance(x, (bool, int)):
        # A Python int is a C integer constant: int, long or unsigned long long, the first that holds it.
        x = int(x)
        for name, low, high in (("int", -(1 << 31), 1 << 31), ("long", -(1 << 63), 1 << 63),
                                ("unsigned long long", 0, 1 << 64)):
            if low <= x < high:
                return _Operand(_base_type(prog, name), x)
        raise OverflowError(f"{x} does not fit in any C integer type")
    if isinstance(x, float):
        return _Operand(_base_type(prog, "double"), x)
    return None


def _promoted(prog: "Program", t: Type) -> Type:
    """C's integer promotion of ``t``: types ranked below int (bool, char, short, enums based on
    them) become int; others lose their qualifiers and keep their name (``pid_t`` stays)."""
    r = t.resolved()
    if r.kind is TypeKind.ENUM:
        t = r.type if r.type is not None else _base_type(prog, "int" if r.is_signed else "unsigned int")
        r = t.resolved()
    if r.kind is TypeKind.BOOL or _rank(r) < _RANKS["int"]:
        return _base_type(prog, "int")
    return t.unqualified()


def _common(prog: "Program", a: _Operand, b: _Operand) -> Type:
    """The usual arithmetic conversions (C11 6.3.1.8): the type both promoted operands become.
    Where C cannot tell them apart, the right operand's type is kept, as drgn does."""
    ta, tb = a.resolved, b.resolved
    if ta.kind is TypeKind.FLOAT or tb.kind is TypeKind.FLOAT:
        if ta.kind is TypeKind.FLOAT and tb.kind is TypeKind.FLOAT:
            return a.type if (ta.size or 0) > (tb.size or 0) else b.type
        return a.type if ta.kind is TypeKind.FLOAT else b.type
    ra, rb = _rank(ta), _rank(tb)
    if ta.is_signed == tb.is_signed:
        return a.type if ra > rb else b.type
    unsigned, signed = (a, b) if not ta.is_signed else (b, a)
    if _rank(unsigned.resolved) >= _rank(signed.resolved):
        return unsigned.type
    if (signed.resolved.size or 0) > (unsigned.resolved.size or 0):
        return signed.type
    name = signed.resolved.name or ""
    return _base_type(prog, _UNSIGNED.get(name, "unsigned long"))


def _result(prog: "Program", t: Type, value: Union[int, float]) -> Object:
    r = t.resolved()
    if r.kind is TypeKind.FLOAT:
        return _value_object(prog, t, _float(float(value), r.size))
    return _value_object(prog, t, _wrap(int(value), r.size or 8, r.is_signed))


def _invalid(op: str, left: Any, right: Any, what: str = "binary") -> ObjectTypeError:
    return ObjectTypeError(f"invalid operands to {what} {op} ({_type_name(left)!r} and {_type_name(right)!r})")


def _type_name(x: Any) -> str:
    return x.type_.type_name() if isinstance(x, Object) else type(x).__name__


def _pointee_size(t: Type) -> int:
    """What ``pointer + 1`` adds: the target's size (GNU C's 1 for void and functions)."""
    target = t.type.resolved()  # type: ignore[union-attr]
    if target.kind in (TypeKind.VOID, TypeKind.FUNCTION):
        return 1
    size = target.size
    if size is None:
        raise ObjectTypeError(f"arithmetic on a pointer to incomplete type {target.type_name()}")
    return size


def _c_divide(a: int, b: int) -> int:
    """C's integer division: the quotient truncated toward zero."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _binary(op: str, left: Any, right: Any) -> Object:
    """``left op right`` in C, for + - * / % << >> & | ^; at least one side is an Object."""
    prog = left.prog_ if isinstance(left, Object) else right.prog_
    a, b = _operand(prog, left), _operand(prog, right)
    if a is None or b is None:
        raise _invalid(op, left, right)
    if a.is_pointer or b.is_pointer:
        return _pointer_arithmetic(prog, op, a, b, left, right)
    if op in ("<<", ">>"):
        if a.is_float or b.is_float:
            raise _invalid(op, left, right)
        if b.value < 0:
            raise ValueError("negative shift count")
        value = a.value << b.value if op == "<<" else a.value >> b.value
        return _result(prog, a.type, value)
    t = _common(prog, a, b)
    floating = t.resolved().kind is TypeKind.FLOAT
    x, y = _result(prog, t, a.value).value_(), _result(prog, t, b.value).value_()
    if op == "+":
        value = x + y
    elif op == "-":
        value = x - y
    elif op == "*":
        value = x * y
    elif op == "/":
        if not y:
            raise ZeroDivisionError("division by zero")
        value = x / y if floating else _c_divide(x, y)
    elif floating:
        raise _invalid(op, left, right)
    elif op == "%":
        if not y:
            raise ZeroDivisionError("division by zero")
        value = x - y * _c_divide(x, y)
    elif op == "&":
        value = x & y
    elif op == "|":
        value = x | y
    else:
        value = x ^ y
    return _result(prog, t, value)


def _pointer_arithmetic(prog: "Program", op: str, a: _Operand, b: _Operand, left: Any, right: Any) -> Object:
    """``pointer ± integer`` (scaled by the target's size) and ``pointer - pointer`` (a ptrdiff_t
    count of elements); nothing else is defined on pointers."""
    if op == "-" and a.is_pointer and b.is_pointer:
        if a.resolved.type.unqualified() != b.resolved.type.unqualified():  # type: ignore[union-attr]
            raise _invalid(op, left, right)
        return _result(prog, _base_type(prog, "ptrdiff_t"), _c_divide(a.value - b.value, _pointee_size(a.resolved)))
    integral = (TypeKind.INT, TypeKind.BOOL, TypeKind.ENUM)
    if op == "+" and b.is_pointer and a.resolved.kind in integral:
        a, b = b, a
    if op not in ("+", "-") or not a.is_pointer or b.resolved.kind not in integral:
        raise _invalid(op, left, right)
    step = b.value * _pointee_size(a.resolved)
    return _result(prog, a.type, a.value + step if op == "+" else a.value - step)


def _unary(op: str, obj: Object) -> Object:
    a = _operand(obj.prog_, obj)
    if a is None or a.is_pointer or (op == "~" and a.is_float):
        raise ObjectTypeError(f"invalid operand to unary {op} ({obj.type_.type_name()!r})")
    value = a.value if op == "+" else -a.value if op == "-" else ~a.value
    return _result(obj.prog_, a.type, value)


_COMPARISONS: Dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda x, y: x == y, "<": lambda x, y: x < y, "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


def _compare(op: str, left: Object, right: Any) -> Any:
    """``left op right`` in C for numbers and pointers; NotImplemented for other operands."""
    prog = left.prog_
    a, b = _operand(prog, left), _operand(prog, right)
    if a is None or b is None:
        return NotImplemented
    if a.is_pointer or b.is_pointer:
        if not (a.is_pointer and b.is_pointer) and op != "==":
            return NotImplemented
        return _COMPARISONS[op](a.value, b.value)
    t = _common(prog, a, b)
    return _COMPARISONS[op](_result(prog, t, a.value).value_(), _result(prog, t, b.value).value_())


def _ordered(op: str, left: Object, right: Any) -> bool:
    result = _compare(op, left, right)
    if result is NotImplemented:
        raise _invalid(op, left, right, "comparison")
    return result


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
        # Each member straight from the bytes, no Object per member (value_() of a task_struct).
        value: Dict[str, Any] = {}
        for name, member in t._member_map().items():
            size = member.type.size
            if size is None:  # a flexible array member: not part of the value, as drgn leaves it out
                continue
            member_type, offset, bit_offset, bit_field_size, _ = t.member_access(name)
            if bit_field_size:
                bits = int.from_bytes(raw[offset:offset + (bit_offset + bit_field_size + 7) // 8], "little")
                value[name] = _bit_field(member_type.resolved(), bits, bit_offset, bit_field_size)
            else:
                value[name] = _decode(member_type.resolved(), raw[offset:offset + size], obj, depth + 1)
        return value
    raise ObjectTypeError(f"cannot read a value of type {t.type_name()}")


def _encode(t: Type, value: Any) -> bytes:
    """The bytes of a value of type ``t``: a number, or a dict of members / list of elements
    (missing ones are zero, as in a C initializer)."""
    size = t.size or 0
    kind = t.kind
    if kind is TypeKind.FLOAT:
        if size not in (4, 8):
            raise ObjectTypeError(f"cannot encode a {size}-byte {t.type_name()}")
        return struct.pack({4: "<f", 8: "<d"}[size], value)
    if kind is TypeKind.ARRAY:
        element = t.type.resolved()  # type: ignore[union-attr]
        data = b"".join(_encode(element, item) for item in value)
        if len(data) > size:
            raise ObjectTypeError(f"{len(value)} elements do not fit in {t.type_name()}")
        return data + bytes(size - len(data))
    if kind in (TypeKind.STRUCT, TypeKind.UNION):
        data = bytearray(size)
        for name, item in value.items():
            member = t.member(name)
            mt = member.type.resolved()
            if member.bit_field_size:
                start = member.bit_offset // 8
                nbytes = (member.bit_offset % 8 + member.bit_field_size + 7) // 8
                word = int.from_bytes(data[start:start + nbytes], "little")
                mask = ((1 << member.bit_field_size) - 1) << (member.bit_offset % 8)
                word = (word & ~mask) | ((int(item) << (member.bit_offset % 8)) & mask)
                data[start:start + nbytes] = word.to_bytes(nbytes, "little")
            else:
                raw = _encode(mt, item)
                data[member.offset:member.offset + len(raw)] = raw
        return bytes(data)
    return (int(value) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


# -- format_: drgn's C formatter ---------------------------------------------------------
_FORMAT_DEFAULTS: Dict[str, Any] = {
    "columns": None, "integer_base": 10, "dereference": True, "symbolize": True, "string": True, "char": False,
    "type_name": True, "member_type_names": True, "element_type_names": False, "members_same_line": False,
    "elements_same_line": True, "member_names": True, "element_indices": False, "implicit_members": True,
    "implicit_elements": False}
_TAB = 8  # a tab's width when a line is measured against ``columns``, as drgn measures it
_ESCAPES = {0: "\\0", 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 0x5C: "\\\\"}
_CHAR_NAMES = ("char", "signed char", "unsigned char")


def _escape(data: bytes, quote: str) -> str:
    """C escapes for a string (``quote`` '"') or character (``quote`` "'") literal."""
    out = []
    for byte in data:
        if byte in _ESCAPES:
            out.append(_ESCAPES[byte])
        elif chr(byte) == quote:
            out.append("\\" + quote)
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def _is_char(t: Type) -> bool:
    """Whether drgn formats ``t`` as a character: char, signed or unsigned char, qualified or
    not, but not through a typedef (a ``u8`` is a number, a ``u8 [4]`` no string)."""
    return t.kind is TypeKind.INT and t.name in _CHAR_NAMES


class _Formatter:
    """One ``format_`` call: its options and the program whose symbols name pointers."""

    def __init__(self, prog: "Program", options: Dict[str, Any]):
        self.prog = prog
        self.options = options
        self.columns = options["columns"] if options["columns"] is not None else float("inf")

    def top(self, obj: Object) -> str:
        options = self.options
        name = f"({obj.type_.type_name()})" if options["type_name"] else ""
        t = obj.type_.resolved()
        if t.kind is TypeKind.POINTER and options["dereference"]:
            target = t.type.resolved()  # type: ignore[union-attr]
            address = obj.value_()
            if (address and target.kind not in (TypeKind.VOID, TypeKind.FUNCTION) and target.size
                    and not (options["string"] and _is_char(t.type))):  # type: ignore[arg-type]
                try:
                    inner = self.value(obj.dereference_().read_(), 0, len(name) + 1)
                except PycoreError:
                    pass
                else:
                    pointer = self.pointer(address)
                    if pointer != f"{address:#x}":
                        pointer = f"({pointer})"
                    return f"*{name}{pointer} = {inner}"
        return name + self.value(obj, 0, len(name))

    def value(self, obj: Object, indent: int, column: int) -> str:
        """The value of ``obj`` (without its type name), starting at ``column`` of a line indented
        ``indent`` tabs; compound values read once, as a snapshot.  ``indent`` counts the structs and
        arrays around the value, so a type that contains itself (damaged debug info) ends in
        FormatError, not RecursionError."""
        if indent > MAX_NESTING:
            raise FormatError(f"{obj.type_.type_name()} is nested more than {MAX_NESTING} levels deep: "
                              "a type that contains itself", field="member")
        t = obj.type_.resolved()
        kind = t.kind
        options = self.options
        if kind in (TypeKind.STRUCT, TypeKind.UNION):
            return self.members(obj.read_(), t, indent, column)
        if kind is TypeKind.ARRAY:
            return self.elements(obj, t, indent, column)
        if kind is TypeKind.FUNCTION:
            if obj.address_ is None:
                raise ObjectTypeError(f"cannot format a function value of type {obj.type_.type_name()}")
            return self.pointer(obj.address_)
        value = obj.value_()
        if kind is TypeKind.POINTER:
            text = self.pointer(value)
            if value and options["string"] and _is_char(t.type):  # type: ignore[arg-type]
                try:
                    text += ' = "' + _escape(_read_string(self.prog, value, _STRING_LIMIT), '"') + '"'
                except PycoreError:
                    pass
            return text
        if kind is TypeKind.FLOAT:
            return repr(value)
        if kind is TypeKind.ENUM:
            for enumerator in t.enumerators or ():
                if enumerator.value == value:
                    return enumerator.name
        if options["char"] and _is_char(obj.type_):
            return "'" + _escape(bytes([value & 0xFF]), "'") + "'"
        return self.integer(int(value))

    def integer(self, value: int) -> str:
        base = self.options["integer_base"]
        if base == 10:
            return str(value)
        sign = "-" if value < 0 else ""
        if base == 16:
            return f"{sign}{abs(value):#x}"
        return f"{sign}0{abs(value):o}" if value else "0"

    def pointer(self, address: int) -> str:
        """``0x...``, or ``symbol+0xoff = 0x...`` when the address is inside a symbol."""
        if self.options["symbolize"]:
            try:
                found = self.prog.symbols.lookup(address)
            except PycoreError:
                found = None
            if found is not None:
                symbol, offset = found
                return f"{symbol.name}+{offset:#x} = {address:#x}"
        return f"{address:#x}"

    def members(self, obj: Object, t: Type, indent: int, column: int, base: int = 0, depth: int = 0) -> str:
        """``{ .a = ..., ... }``.  Anonymous struct and union members are written in place
        when members are named (``.b`` designates a member of one), else as nested braces."""
        if depth > MAX_NESTING:
            raise FormatError(f"{t.type_name()} has anonymous members nested more than {MAX_NESTING} deep",
                              field="member")
        options = self.options
        raw = obj._raw()
        parts = []
        for member in _members_in_place(t, options["member_names"]):
            member_type = member.type
            inner = member_type.resolved()
            if member.name is None:  # anonymous, member names off: its own braces
                if not options["implicit_members"] and not any(raw[member.offset:member.offset + (inner.size or 0)]):
                    continue
                part = self.members(_value_object(self.prog, member_type, raw[member.offset:member.offset
                                                  + (inner.size or 0)]), inner, indent + 1,
                                    (indent + 1) * _TAB, 0, depth + 1)
                parts.append(part)
                continue
            prefix = (f".{member.name} = " if options["member_names"] else "") + \
                (f"({member_type.type_name()})" if options["member_type_names"] else "")
            if member_type.size is None:  # a flexible array member: no bytes inside the struct
                if options["implicit_members"]:
                    parts.append(prefix + "{}")
                continue
            value = _member_of_bytes(self.prog, raw, member.name, member_type, member.offset,
                                     member.bit_offset % 8 if member.bit_field_size else 0, member.bit_field_size)
            if not options["implicit_members"] and _is_zero(value):
                continue
            parts.append(prefix + self.value(value, indent + 1, (indent + 1) * _TAB + len(prefix)))
        return self.braced(parts, indent, column, options["members_same_line"])

    def elements(self, obj: Object, t: Type, indent: int, column: int) -> str:
        """``{ 1, 2, 3 }`` or, for a char array, a string.  Zero elements at the end are implicit
        (left out unless implicit_elements); with element_indices every zero element is."""
        options = self.options
        element = t.type  # type: ignore[union-attr]
        if not t.length:
            return "{}"
        raw = obj._raw()
        if options["string"] and _is_char(element):  # type: ignore[arg-type]
            end = raw.find(b"\0")
            return '"' + _escape(raw if end < 0 else raw[:end], '"') + '"'
        size = element.size or 0  # type: ignore[union-attr]
        count = obj._array_length()
        implicit = options["implicit_elements"]
        if not implicit:
            while count and not any(raw[(count - 1) * size:count * size]):
                count -= 1
        type_name = f"({element.type_name()})" if options["element_type_names"] else ""  # type: ignore
        parts = []
        for index in range(count):
            data = raw[index * size:(index + 1) * size]
            if options["element_indices"] and not implicit and not any(data):
                continue
            prefix = (f"[{index}] = " if options["element_indices"] else "") + type_name
            value = _value_object(self.prog, element, data)  # type: ignore[arg-type]
            parts.append(prefix + self.value(value, indent + 1, (indent + 1) * _TAB + len(prefix)))
        return self.braced(parts, indent, column, options["elements_same_line"])

    def braced(self, parts: List[str], indent: int, column: int, same_line: bool) -> str:
        """``{ a, b }`` on one line when allowed and it fits ``columns``; else a line per part,
        each followed by a comma, except that (when allowed) one-line parts share lines up to
        ``columns``, tabs counted as 8 columns."""
        if not parts:
            return "{}"
        if same_line and not any("\n" in part for part in parts):
            line = "{ " + ", ".join(parts) + " }"
            if column + len(line) + (1 if indent else 0) <= self.columns:
                return line
        inner = "\t" * (indent + 1)
        start = (indent + 1) * _TAB
        lines = []
        current = ""
        for part in parts:
            if not same_line or "\n" in part:
                if current:
                    lines.append(inner + current)
                    current = ""
                lines.append(inner + part + ",")
                continue
            candidate = f"{current} {part}," if current else f"{part},"
            if current and start + len(candidate) > self.columns:
                lines.append(inner + current)
                candidate = f"{part},"
            current = candidate
        if current:
            lines.append(inner + current)
        return "{\n" + "\n".join(lines) + "\n" + "\t" * indent + "}"


def _members_in_place(t: Type, flatten: bool, base: int = 0, depth: int = 0) -> Iterator[Member]:
    """The members of a struct or union in order, each with its bit offset from the start of
    ``t``; with ``flatten`` those of anonymous structs and unions take their place."""
    if depth > MAX_NESTING:
        raise FormatError(f"{t.type_name()} has anonymous members nested more than {MAX_NESTING} deep",
                          field="member")
    for member in t.members or ():
        inner = member.type.resolved()
        if member.name is None and flatten and inner.kind in (TypeKind.STRUCT, TypeKind.UNION):
            yield from _members_in_place(inner, flatten, base + member.bit_offset, depth + 1)
        elif member.name is not None or inner.kind in (TypeKind.STRUCT, TypeKind.UNION):
            yield Member(member.name, member.type, base + member.bit_offset, member.bit_field_size) if base \
                else member


def _is_zero(obj: Object) -> bool:
    """Whether a value read from a snapshot is all zero bits (C's implicit initializer)."""
    value = obj._value
    if isinstance(value, bytes):
        return not any(value)
    return not value


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
    return _value_object(prog, pointer_type(outer), address & _MASK64)


def NULL(prog: "Program", type: TypeArg) -> Object:
    """A null pointer (or zero) of ``type``."""
    return Object(prog, type, 0)


def sizeof(type_or_obj: Union[Type, Object]) -> int:
    """drgn's ``sizeof``: the size in bytes of a Type or of an Object's type; ObjectTypeError (a
    TypeError) for void, functions and incomplete types."""
    t = type_or_obj.type_ if isinstance(type_or_obj, Object) else type_or_obj
    size = t.size
    if size is None:
        raise ObjectTypeError(f"cannot get size of {t.type_name()}: it is incomplete, void or a function")
    return size


def offsetof(type: Type, member: str) -> int:
    """drgn's ``offsetof``: the byte offset of ``member`` (``"a.b[3].c"`` too) in ``type``."""
    return type.offsetof(member)


# -- bulk typed reads ----------------------------------------------------------------------
_PAGE = 4096
_RAISE: Any = object()  # read_members' default: a fault raises
# A bulk read takes at most this many bytes of the dump per physical read (and of memory at once).
_BULK_RUN = 4 << 20


def read_members(prog: "Program", type: TypeArg, member: str, where: Union[int, Iterable[int]],
                 count: Optional[int] = None, *, default: Any = _RAISE,
                 as_array: bool = False) -> "Union[List[Any], array.array]":
    """``member`` (a name, or a path of names ``"a.b"``) of many ``type`` objects in one call, as
    ``value_()`` gives it: of ``count`` consecutive objects from address ``where`` (an array: every
    ``struct page`` of the vmemmap), or of one object at each address of the iterable ``where``.

    Consecutive objects are read a physically contiguous run at a time (one translation call for
    all their pages, reads through the dump's decoded-page cache) and integer members are taken
    out by a strided view, not an Object per element: all ``struct page`` flags of a 1 GiB machine
    in a few milliseconds.  A value that cannot be read (unmapped, filtered out of the dump) raises
    FaultError, or is ``default`` when one is given.

    With ``as_array`` an integer member of 1, 2, 4 or 8 bytes comes as an :class:`array.array` of
    its C type instead of a list: no Python int is made per value, which is most of the time a list
    of a million values costs (count bits with ``memoryview(values).cast("B")``)."""
    outer = prog.type(type) if isinstance(type, str) else type
    if outer.resolved().kind is TypeKind.POINTER:
        outer = outer.resolved().type  # type: ignore[assignment]
    stride = outer.size
    if not stride:
        raise ObjectTypeError(f"cannot read members of {outer.type_name()}: its size is not known")
    member_type, offset, bit_offset, bit_field_size = _member_path(outer, member)
    width = (bit_offset + bit_field_size + 7) // 8 if bit_field_size else member_type.size
    if width is None:
        raise ObjectTypeError(f"member {member!r} has incomplete type {member_type.type_name()}")
    code = None
    if as_array:
        code = _VIEW_FORMATS.get(member_type.int_layout) if not bit_field_size else None  # type: ignore[arg-type]
        if code is None:
            raise ObjectTypeError(f"member {member!r} of {outer.type_name()} is not an integer of 1, 2, 4 or 8 "
                                  "bytes: it has no array type")
    extract = _extractor(prog, member_type, width, bit_offset, bit_field_size, code)
    if isinstance(where, int):
        if count is None or count < 0:
            raise ValueError("read_members from a start address needs a count of objects, 0 or more")
        return _consecutive_members(prog, where & _MASK64, count, stride, offset, width, extract, default, code)
    if count is not None:
        raise ValueError("read_members takes a count only with a start address")
    values: Any = array.array(code) if code else []
    for address in where:
        try:
            raw = prog.read((address + offset) & _MASK64, width)
        except FaultError:
            if default is _RAISE:
                raise
            values.append(default)
            continue
        values.extend(extract(raw, 0, width, 1))
    return values


def _member_path(outer: Type, path: str) -> Tuple[Type, int, int, int]:
    """(type, byte offset, bit offset, bit field size) of the member ``path`` (``"a.b"``) of ``outer``."""
    t, offset, bit_offset, bit_field_size = outer, 0, 0, 0
    for name in path.split("."):
        if bit_field_size:
            raise MissingMemberError(t.type_name(), name, "is a bit field")
        access = t.member_access(name)
        if access.through_pointer:
            raise ObjectTypeError(f"{path!r} of {outer.type_name()} goes through a pointer: read_members "
                                  "reads members inside the object")
        t, bit_offset, bit_field_size = access.type, access.bit_offset, access.bit_field_size
        offset += access.offset
    return t, offset, bit_offset, bit_field_size


# Little-endian memoryview formats of the integer sizes a strided view reads, unsigned and signed.
_VIEW_FORMATS = {(1, False): "B", (2, False): "H", (4, False): "I", (8, False): "Q",
                 (1, True): "b", (2, True): "h", (4, True): "i", (8, True): "q"}


def _gather_python(data: Any, first: int, stride: int, width: int, count: int) -> bytes:
    """The ``width`` bytes at ``first``, ``first + stride``, ... (``count`` of them) of ``data``, end
    to end: the twin of csrc/gather.c's pc_gather, refusing the same bounds with ValueError."""
    _check_gather(len(data), first, stride, width, count)
    if not count:
        return b""
    raw = bytes(data)
    out = bytearray(count * width)
    # Byte k of every item in two strided loops that run in C (a bytes slice, a bytearray slice
    # assignment), ``width`` times: fifty times faster than a slice per item.
    end = first + (count - 1) * stride + 1
    for k in range(width):
        out[k::width] = raw[first + k:end + k:stride]
    return bytes(out)


def _gather_native(data: Any, first: int, stride: int, width: int, count: int) -> bytes:
    """:func:`_gather_python` in C (pc_gather): at memory speed."""
    out = bytearray(count * width)
    ffi = _native.ffi
    if _native.lib.pc_gather(ffi.from_buffer(data), len(data), first, stride, width, count, ffi.from_buffer(out),
                             len(out)):
        _check_gather(len(data), first, stride, width, count)  # raises the ValueError that says why
    return out  # type: ignore[return-value]


def _check_gather(size: int, first: int, stride: int, width: int, count: int) -> None:
    if width <= 0 or stride < width or first < 0 or count < 0:
        raise ValueError(f"gather of {count} items of {width} bytes every {stride}: impossible sizes")
    if count and first + (count - 1) * stride + width > size:
        raise ValueError(f"gather of {count} items of {width} bytes every {stride} from {first} runs past "
                         f"the {size} bytes read")


_gather = _gather_native if _native.AVAILABLE else _gather_python


def _extractor(prog: "Program", t: Type, width: int, bit_offset: int, bit_field_size: int,
               code: Optional[str]) -> Callable[[Any, int, int, int], Any]:
    """The function ``extract(data, at, step, count)`` that reads the member (``width`` bytes of
    type ``t``) at ``at``, ``at + step``, ... of ``data``, ``count`` times: gathered in C for an
    integer, as an array of typecode ``code`` when one is given."""
    r = t.resolved()
    layout = t.int_layout
    view = None
    if layout is not None and not bit_field_size and sys.byteorder == "little":
        view = _VIEW_FORMATS.get(layout)

    def extract(data: Any, at: int, step: int, count: int) -> Any:
        if view is not None:
            packed = _gather(data, at, step, width, count)
            return array.array(code, packed) if code else memoryview(packed).cast(view).tolist()
        starts = range(at, at + count * step, step)
        if code is not None:
            return array.array(code, [int.from_bytes(data[i:i + width], "little", signed=code.islower())
                                      for i in starts])
        if bit_field_size:
            return [_bit_field(r, int.from_bytes(data[i:i + width], "little"), bit_offset, bit_field_size)
                    for i in starts]
        if layout is not None:
            return [int.from_bytes(data[i:i + width], "little", signed=layout[1]) for i in starts]
        return [_value_object(prog, t, bytes(data[i:i + width])).value_() for i in starts]

    return extract


def _consecutive_members(prog: "Program", start: int, count: int, stride: int, offset: int, width: int,
                         extract: Callable[[Any, int, int, int], Any], default: Any, code: Optional[str]) -> Any:
    """The member of ``count`` objects from ``start``, read in runs of whole objects (at most
    _BULK_RUN bytes, into one buffer: fresh memory would cost a page fault a page); a run's pages
    that do not translate or read are holes."""
    values: Any = array.array(code) if code else []
    per_run = max(1, _BULK_RUN // stride)
    buffer = memoryview(bytearray(min(per_run, count) * stride))
    for first in range(0, count, per_run):
        n = min(per_run, count - first)
        data = buffer[:n * stride]
        holes = _read_span(prog, start + first * stride, data, default is _RAISE)
        found = extract(data, offset, stride, n)
        if holes:
            for index in range(n):
                low, high = index * stride + offset, index * stride + offset + width
                if any(low < hole_end and hole_start < high for hole_start, hole_end in holes):
                    found[index] = default
        values.extend(found)
    return values


def _read_span(prog: "Program", address: int, view: memoryview, strict: bool) -> List[Tuple[int, int]]:
    """Fill ``view`` from kernel virtual memory at ``address``; the ``(start, end)`` offsets of the
    pages that could not be read (zeros in ``view``): all pages translated in one call, then each
    physically contiguous run read in one.  ``strict``: the first such page raises its FaultError."""
    size = len(view)
    pages = list(range(address & ~(_PAGE - 1), address + size, _PAGE))
    physical = prog.arch.translate_many(pages)
    holes: List[Tuple[int, int]] = []

    def hole(page: int) -> None:
        low, high = max(page, address) - address, min(page + _PAGE, address + size) - address
        view[low:high] = bytes(high - low)
        holes.append((low, high))

    def read(first: int, end: int) -> bool:
        """Read pages [first, end) of ``pages``, physically contiguous; False when that faults."""
        low = max(pages[first], address) - address
        high = min(pages[end - 1] + _PAGE, address + size) - address
        try:
            prog.read_physical_into(physical[first] + address + low - pages[first], view[low:high])
        except FaultError as error:
            if strict and end - first == 1:
                raise virtual_error(error, address + low) from None
            return False
        return True

    index = 0
    while index < len(pages):
        start = physical[index]
        end = index + 1
        if start is None:
            if strict:
                prog.translate(pages[index])  # raises the fault, worded by the walk
                raise FaultError("translates one at a time but not in bulk", pages[index])
            hole(pages[index])
            index = end
            continue
        while end < len(pages) and physical[end] == start + (end - index) * _PAGE:
            end += 1
        if not read(index, end):
            for page in range(index, end):  # one by one, to find the pages that fault
                if not read(page, page + 1):
                    hole(pages[page])
        index = end
    return holes


class ListCorruptError(ValidationError):
    """A kernel list does not lead back to its head."""


def list_for_each(head: Object, limit: int = 1 << 24) -> Iterator[Object]:
    """Each ``struct list_head *`` on the list at ``head`` (a list_head or pointer to one).

    A ring that never comes back to ``head`` (corruption) raises ListCorruptError
    once the cycle is seen (Brent's method), instead of looping forever.
    """
    prog, node_type, addresses = _list_walk(head, limit)
    for address in addresses:
        yield _value_object(prog, node_type, address)


def _list_walk(head: Object, limit: int, direction: str = "next") -> Tuple["Program", Type, Iterator[int]]:
    """The program, the ``struct list_head *`` type and the address of each node of the list at
    ``head``, following ``next`` (or ``prev``, backwards): each step reads the pointer straight
    from memory, no Objects in between."""
    if head.type_.resolved().kind is TypeKind.POINTER:
        head = head.dereference_()
    node = head.member_(direction)
    return head.prog_, node.type_, _list_addresses(head, int(node), node.type_.member_access(direction), limit)


def _list_addresses(head: Object, address: int, step: MemberAccess, limit: int) -> Iterator[int]:
    """Each node address of the ring at ``head`` from ``address`` until it comes back to ``head``;
    a NULL pointer, a cycle that misses the head or more than ``limit`` nodes raise ListCorruptError."""
    first = head.address_
    return _chain_addresses(head.prog_, f"list at {_hex(first)}", address, step, limit, ring_head=first)


def _hex(address: Optional[int]) -> str:
    return "<value>" if address is None else f"{address:#x}"


def list_for_each_reverse(head: Object, limit: int = 1 << 24) -> Iterator[Object]:
    """Each ``struct list_head *`` on the list at ``head``, last first (through ``prev``); bounded
    as :func:`list_for_each`."""
    prog, node_type, addresses = _list_walk(head, limit, "prev")
    for address in addresses:
        yield _value_object(prog, node_type, address)


def _entries(type: TypeArg, head: Object, member: str, addresses: Iterator[int]) -> Iterator[Object]:
    """The ``type *`` around each node address of a list linked through ``member``."""
    prog = head.prog_
    outer = prog.type(type)
    offset = outer.offsetof(member)
    entry_type = pointer_type(outer)
    entry_class = _reference_class(entry_type, prog)._value_class
    for address in addresses:
        # _value_object inlined: one Python call less per entry of every list walk.
        entry = entry_class()
        entry.type_ = entry_type
        entry._value = (address - offset) & _MASK64
        yield entry


def list_for_each_entry(type: TypeArg, head: Object, member: str) -> Iterator[Object]:
    """Each ``type *`` on the list at ``head``, linked through ``member``."""
    return _entries(type, head, member, _list_walk(head, 1 << 24)[2])


def list_for_each_entry_reverse(type: TypeArg, head: Object, member: str) -> Iterator[Object]:
    """Each ``type *`` on the list at ``head``, linked through ``member``, last first."""
    return _entries(type, head, member, _list_walk(head, 1 << 24, "prev")[2])


def _validated_walk(head: Object, limit: int = 1 << 24) -> Tuple["Program", Type, Iterator[int]]:
    """:func:`_list_walk` with each node checked before it is given: its ``prev`` names the node
    before it, and the last node's ``next`` comes back to a head whose ``prev`` names that node."""
    prog, node_type, addresses = _list_walk(head, limit)
    first = int(head) if head.type_.resolved().kind is TypeKind.POINTER else head.address_
    return prog, node_type, _checked_addresses(prog, node_type.member_access("prev"), first, addresses)


def _checked_addresses(prog: "Program", step: MemberAccess, first: Optional[int],
                       addresses: Iterator[int]) -> Iterator[int]:
    size, signed = step.type.int_layout or (8, False)

    def prev_of(address: int) -> int:
        return int.from_bytes(prog.read(address + step.offset, size), "little", signed=signed)

    previous = first
    for address in addresses:
        if prev_of(address) != previous:
            raise ListCorruptError(f"list at {_hex(first)}: the prev of {address:#x} is {prev_of(address):#x}, "
                                   f"not {_hex(previous)}")
        yield address
        previous = address
    if first is not None and prev_of(first) != previous:
        raise ListCorruptError(f"list at {_hex(first)}: the head's prev is {prev_of(first):#x}, not the last "
                               f"entry {_hex(previous)}")


def validate_list(head: Object) -> None:
    """Check that the list at ``head`` is one ring: every ``next`` leads to a node whose ``prev``
    leads back, and the walk returns to ``head`` without a cycle.  Raises ListCorruptError (a
    ValidationError) naming the node where it breaks."""
    for _ in _validated_walk(head)[2]:
        pass


def validate_list_for_each(head: Object) -> Iterator[Object]:
    """Each ``struct list_head *`` on the list at ``head``, checked as :func:`validate_list` checks
    them while walking."""
    prog, node_type, addresses = _validated_walk(head)
    for address in addresses:
        yield _value_object(prog, node_type, address)


def validate_list_for_each_entry(type: TypeArg, head: Object, member: str) -> Iterator[Object]:
    """Each ``type *`` on the list at ``head``, linked through ``member``, checked as
    :func:`validate_list` checks them while walking."""
    return _entries(type, head, member, _validated_walk(head)[2])


def list_empty(head: Object) -> bool:
    """Whether the list at ``head`` (``struct list_head`` or a pointer to one) has no entries: its
    ``next`` points back at itself."""
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


def _chain_addresses(prog: "Program", what: str, address: int, step: MemberAccess, limit: int,
                     is_end: Optional[Callable[[int], bool]] = None,
                     ring_head: Optional[int] = None) -> Iterator[int]:
    """Each node address of a singly linked chain from ``address`` until ``is_end``, or for a ring
    until it comes back to ``ring_head`` (a NULL on the way raises), reading ``step`` (the next
    pointer) from memory: a cycle (Brent's method) or more than ``limit`` nodes raise
    ListCorruptError naming ``what``.  A ring is checked inline: no Python call per node."""
    layout = step.type.int_layout or (8, False)
    size, unpack, offset = layout[0], _unpacker(layout), step.offset
    read = prog.read
    seen = 0
    mark, power = None, 1
    while True:
        if is_end is None:
            if address == ring_head:
                return
            if not address:
                raise ListCorruptError(f"{what} has a NULL pointer where its ring should go on")
        elif is_end(address):
            return
        if address == mark:
            raise ListCorruptError(f"{what} loops at {address:#x}")
        seen += 1
        if seen == power:
            mark, power = address, power * 2
        if seen > limit:
            raise ListCorruptError(f"{what} has more than {limit} entries")
        yield address
        address = unpack(read(address + offset, size))[0]


def _is_null(address: int) -> bool:
    return address == 0


def _pointer_or_struct(obj: Object) -> Object:
    return obj.dereference_() if obj.type_.resolved().kind is TypeKind.POINTER else obj


def llist_empty(head: Object) -> bool:
    """Whether the lock-free list at ``head`` (``struct llist_head`` or a pointer to one, 2.6.36+)
    has no entries."""
    return not int(_pointer_or_struct(head).first)


def llist_is_singular(head: Object) -> bool:
    """Whether the lock-free list at ``head`` has exactly one entry."""
    first = _pointer_or_struct(head).first
    return bool(int(first)) and not int(first.next)


def llist_for_each(node: Object, limit: int = 1 << 24) -> Iterator[Object]:
    """Each ``struct llist_node *`` from ``node`` (usually ``head->first``) to the NULL that ends
    a lock-free list; a cycle raises ListCorruptError."""
    prog, node_type = node.prog_, node.type_
    what = f"llist from {int(node):#x}"
    for address in _chain_addresses(prog, what, int(node), node_type.member_access("next"), limit, _is_null):
        yield _value_object(prog, node_type, address)


def llist_for_each_entry(type: TypeArg, node: Object, member: str) -> Iterator[Object]:
    """Each ``type *`` from the one whose ``member`` is ``node`` (a ``struct llist_node *``) to the
    end of its lock-free list."""
    what = f"llist from {int(node):#x}"
    addresses = _chain_addresses(node.prog_, what, int(node), node.type_.member_access("next"), 1 << 24, _is_null)
    return _entries(type, node, member, addresses)


def is_a_nulls(address: int) -> bool:
    """Whether a ``struct hlist_nulls_node *`` value is the marker that ends a nulls list (bit 0
    set; the rest, shifted right by one, is the list's nulls value)."""
    return bool(address & 1)


def hlist_nulls_empty(head: Object) -> bool:
    """Whether the nulls hash list at ``head`` (``struct hlist_nulls_head`` or a pointer to one,
    2.6.29+) has no entries: ``first`` is already the end marker."""
    return is_a_nulls(int(_pointer_or_struct(head).first))


def hlist_nulls_for_each_entry(type: TypeArg, head: Object, member: str, limit: int = 1 << 24) -> Iterator[Object]:
    """Each ``type *`` on the nulls hash list at ``head``, linked through ``member`` (a ``struct
    hlist_nulls_node``), up to the end marker; a cycle raises ListCorruptError."""
    head = _pointer_or_struct(head)
    first = head.first
    what = f"hlist_nulls at {_hex(head.address_)}"
    addresses = _chain_addresses(head.prog_, what, int(first), first.type_.member_access("next"), limit, is_a_nulls)
    return _entries(type, head, member, addresses)


def per_cpu_ptr(ptr: Object, cpu: int) -> Object:
    """The given CPU's copy of a per-CPU pointer (``__per_cpu_offset[cpu]`` added)."""
    prog = ptr.prog_
    offset = prog.per_cpu_offset(cpu)
    return Object(prog, ptr.type_, (int(ptr) + offset) & _MASK64)


def per_cpu(var: Object, cpu: int) -> Object:
    """The given CPU's copy of the per-CPU variable ``var``."""
    return per_cpu_ptr(var.address_of_(), cpu).dereference_()


__all__ = ["Object", "cast", "reinterpret", "container_of", "NULL", "sizeof", "offsetof", "read_members", "list_for_each",
           "list_for_each_entry", "list_for_each_reverse", "list_for_each_entry_reverse", "validate_list",
           "validate_list_for_each", "validate_list_for_each_entry", "llist_empty", "llist_is_singular",
           "llist_for_each", "llist_for_each_entry", "is_a_nulls", "hlist_nulls_empty", "hlist_nulls_for_each_entry",
           "list_empty", "hlist_for_each_entry", "per_cpu", "per_cpu_ptr", "ListCorruptError",
           "FaultError", "MissingMemberError", "ObjectTypeError"]
