"""The type model every debug-info source (BTF, DWARF) produces, drgn's ``Type`` being the model.

Types are immutable once built.  Struct and union members may be produced lazily
(a callable given at construction), which is how self-referencing kernel types
(``struct list_head { struct list_head *next, *prev; }``) are built on demand.
"""
import enum
import re
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from ..errors import FormatError, MissingDebugInfoError, MissingMemberError, ObjectTypeError

try:  # Python >= 3.8
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment,misc]


# No kernel type or variable comes near this (the largest, __log_buf, is 32 MiB at
# LOG_BUF_SHIFT=25): a larger size or array length is damaged debug info, and reading
# an object that size would exhaust memory.
MAX_TYPE_SIZE = 1 << 30
# Kernel types nest a handful of levels deep (a struct in a union in a struct; const
# volatile typedef pointer); deeper nesting is a loop in damaged debug info, which would
# otherwise end in RecursionError.
MAX_NESTING = 100


class TypeKind(enum.Enum):
    VOID = "void"
    INT = "int"
    BOOL = "bool"
    FLOAT = "float"
    POINTER = "pointer"
    ARRAY = "array"
    STRUCT = "struct"
    UNION = "union"
    ENUM = "enum"
    TYPEDEF = "typedef"
    FUNCTION = "function"


class Qualifiers(enum.IntFlag):
    NONE = 0
    CONST = 1
    VOLATILE = 2
    RESTRICT = 4


class TypeNotFoundError(MissingDebugInfoError, LookupError):
    """A type name is not in the debug information that was searched."""


class Enumerator(NamedTuple):
    name: str
    value: int


class Parameter(NamedTuple):
    name: Optional[str]
    type: "Type"


class Member:
    """One member of a struct or union; ``name`` is None for an anonymous struct/union member."""

    __slots__ = ("name", "_type", "bit_offset", "bit_field_size")

    def __init__(self, name: Optional[str], type: "Union[Type, Callable[[], Type]]",
                 bit_offset: int = 0, bit_field_size: int = 0):
        self.name = name
        self._type = type
        self.bit_offset = bit_offset
        self.bit_field_size = bit_field_size

    @property
    def type(self) -> "Type":
        t = self._type
        if not isinstance(t, Type):
            t = self._type = t()
        return t

    @property
    def offset(self) -> int:
        """Byte offset of the member (rounded down for a bit field)."""
        return self.bit_offset // 8

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Member) and self.name == other.name and self.bit_offset == other.bit_offset
                and self.bit_field_size == other.bit_field_size and self.type == other.type)

    def __hash__(self) -> int:
        return hash((self.name, self.bit_offset, self.bit_field_size))

    def __repr__(self) -> str:
        bits = f", bit_field_size={self.bit_field_size}" if self.bit_field_size else ""
        return f"Member({self.name!r}, {self.type.type_name()!r}, bit_offset={self.bit_offset}{bits})"


class MemberAccess(NamedTuple):
    """How an object of a type reaches one member (:meth:`Type.member_access`)."""

    type: "Type"
    #: Bytes from the start of the struct or union to the member (to the byte holding a bit field).
    offset: int
    #: Bits into that byte where a bit field starts; 0 for other members.
    bit_offset: int
    bit_field_size: int
    #: The object is a pointer to the struct or union: the member is ``->name``.
    through_pointer: bool


class ElementAccess(NamedTuple):
    """How an array or pointer object reaches its elements (:meth:`Type.element_access`)."""

    type: "Type"
    size: int
    #: The object is a pointer: element ``i`` is at its value plus ``i * size``.
    through_pointer: bool
    #: The declared length of an array; None for a pointer or an array of unknown length.
    length: Optional[int]


MembersArg = Union[Sequence[Member], Callable[[], Sequence[Member]], None]


class Type:
    """One C type.  Build with the ``*_type`` functions below, not with the constructor."""

    __slots__ = ("kind", "name", "_size", "is_signed", "_type", "length", "_members",
                 "enumerators", "parameters", "is_variadic", "qualifiers", "_member_cache",
                 "_resolved", "_access", "_element", "_pointer", "_paths", "int_layout", "object_class")

    def __init__(self, kind: TypeKind, name: Optional[str] = None, size: Optional[int] = None,
                 is_signed: bool = False, type: "Optional[Type]" = None, length: Optional[int] = None,
                 members: MembersArg = None, enumerators: Optional[Sequence[Enumerator]] = None,
                 parameters: Optional[Sequence[Parameter]] = None, is_variadic: bool = False,
                 qualifiers: Qualifiers = Qualifiers.NONE):
        self.kind = kind
        self.name = name
        self._size = size
        self.is_signed = is_signed
        self._type = type
        self.length = length
        self._members = members if members is None or callable(members) else tuple(members)
        self.enumerators = None if enumerators is None else tuple(enumerators)
        self.parameters = None if parameters is None else tuple(parameters)
        self.is_variadic = is_variadic
        self.qualifiers = Qualifiers(qualifiers)
        self._member_cache: "Optional[Dict[str, Member]]" = None
        # Lazily filled answers of resolved(), member_access(), pointer_type() and member_path():
        # types are immutable, and the object layer asks the same questions for every object.
        self._resolved: "Optional[Type]" = None
        self._access: "Optional[Dict[str, MemberAccess]]" = None
        self._element: "Optional[ElementAccess]" = None
        self._pointer: "Optional[Type]" = None
        self._paths: "Optional[Dict[str, Member]]" = None
        #: ``(size, is_signed)`` when a value of this type (typedefs and qualifiers aside) is one
        #: little-endian integer: ints, enums and pointers; else None.  Known at construction
        #: (a typedef's target is built first), so reading a value costs no lookups.
        self.int_layout: Optional[Tuple[int, bool]] = None
        #: The reference class pycore.object made for this type's objects in the program that used
        #: the type last (its ``_value_class`` is the value class); pycore.object sets it.
        self.object_class: Optional[type] = None
        if kind in (TypeKind.INT, TypeKind.ENUM, TypeKind.POINTER):
            if size is not None and 0 < size <= 16:
                self.int_layout = (size, is_signed)
        elif kind is TypeKind.TYPEDEF and type is not None:
            self.int_layout = type.int_layout

    def __getstate__(self) -> tuple:
        # Pickled (pycore.cache) without what the object layer worked out: its classes are made at
        # run time and cannot be pickled, and the rest is rebuilt on demand.
        state = {slot: getattr(self, slot) for slot in Type.__slots__ if hasattr(self, slot)}
        state.update(_resolved=None, _access=None, _element=None, _pointer=None, _paths=None, object_class=None)
        return None, state

    # -- basic properties -------------------------------------------------
    @property
    def size(self) -> Optional[int]:
        """Size in bytes; None for void, functions, incomplete types and flexible arrays."""
        kind = self.kind
        if kind is TypeKind.TYPEDEF:
            return self._type.size  # type: ignore[union-attr]
        if kind is TypeKind.ARRAY:
            if self.length is None:
                return None
            element = self._type.size  # type: ignore[union-attr]
            return None if element is None else element * self.length
        return self._size

    @property
    def type(self) -> "Optional[Type]":
        """Pointer target, array element, typedef target, function return or enum's compatible type."""
        return self._type

    @property
    def members(self) -> Optional[Tuple[Member, ...]]:
        m = self._members
        if callable(m):
            m = self._members = tuple(m())
        return m  # type: ignore[return-value]

    @property
    def tag(self) -> Optional[str]:
        return self.name if self.kind in (TypeKind.STRUCT, TypeKind.UNION, TypeKind.ENUM) else None

    def is_complete(self) -> bool:
        kind = self.kind
        if kind in (TypeKind.STRUCT, TypeKind.UNION):
            return self._members is not None
        if kind is TypeKind.ENUM:
            return self.enumerators is not None
        if kind is TypeKind.ARRAY:
            return self.length is not None and self._type.is_complete()  # type: ignore[union-attr]
        if kind is TypeKind.TYPEDEF:
            return self._type.is_complete()  # type: ignore[union-attr]
        return kind not in (TypeKind.VOID, TypeKind.FUNCTION)

    def qualified(self, qualifiers: Qualifiers) -> "Type":
        """This type with ``qualifiers`` added (a shallow copy sharing members)."""
        if not qualifiers or (self.qualifiers | qualifiers) == self.qualifiers:
            return self
        return self._replace_qualifiers(self.qualifiers | qualifiers)

    def unqualified(self) -> "Type":
        return self if not self.qualifiers else self._replace_qualifiers(Qualifiers.NONE)

    def _replace_qualifiers(self, qualifiers: Qualifiers) -> "Type":
        copy = Type.__new__(Type)
        for slot in Type.__slots__:
            setattr(copy, slot, getattr(self, slot))
        copy.qualifiers = qualifiers
        # A pointer to (and member access through) the copy differ from the original's.
        copy._access = copy._element = copy._pointer = None
        return copy

    def resolved(self) -> "Type":
        """The type with typedefs and qualifiers stripped."""
        t = self._resolved
        if t is None:
            t = self
            while t.kind is TypeKind.TYPEDEF:
                t = t._type  # type: ignore[assignment]
            t = self._resolved = t.unqualified()
        return t

    # -- members ----------------------------------------------------------
    def _member_map(self) -> "Dict[str, Member]":
        cache = self._member_cache
        if cache is None:
            cache = {}
            self._collect_members(0, cache)
            self._member_cache = cache
        return cache

    def _collect_members(self, base: int, out: "Dict[str, Member]", depth: int = 0) -> None:
        if depth > MAX_NESTING:
            raise FormatError(f"{self.type_name()} has anonymous members nested more than {MAX_NESTING} deep: "
                              "a type that contains itself", field="member")
        for m in self.members or ():
            if m.name is None:
                inner = m.type.resolved()
                if inner.kind in (TypeKind.STRUCT, TypeKind.UNION):
                    inner._collect_members(base + m.bit_offset, out, depth + 1)
            elif m.name not in out:
                out[m.name] = m if not base else Member(m.name, m._type, base + m.bit_offset, m.bit_field_size)

    def member(self, name: str) -> Member:
        """The member called ``name``, looking inside anonymous struct/union members too.

        The returned ``bit_offset`` is from the start of this type.  Raises
        :class:`~pycore.errors.MissingMemberError` (a LookupError) naming the type and
        the member when there is no such member, or this is not a complete struct or union.
        """
        t = self.resolved()
        if t.kind not in (TypeKind.STRUCT, TypeKind.UNION):
            raise MissingMemberError(self.type_name(), name, "is not a structure or union")
        if t._members is None:
            raise MissingMemberError(self.type_name(), name, "is incomplete")
        try:
            return t._member_map()[name]
        except KeyError:
            raise MissingMemberError(self.type_name(), name) from None

    def member_names(self) -> Tuple[str, ...]:
        """The names :meth:`member` finds (those of anonymous struct and union members included),
        in declaration order; empty for other types and incomplete structs and unions."""
        t = self.resolved()
        if t.kind not in (TypeKind.STRUCT, TypeKind.UNION) or t._members is None:
            return ()
        return tuple(t._member_map())

    def member_access(self, name: str) -> MemberAccess:
        """How an object of this type reaches member ``name`` (``.name``, or ``->name`` when
        this is a pointer to a struct or union), worked out once per type and member: the
        object layer asks it for every member read.  Raises MissingMemberError like :meth:`member`."""
        cache = self._access
        if cache is None:
            cache = self._access = {}
        else:
            found = cache.get(name)
            if found is not None:
                return found
        t = self.resolved()
        through_pointer = t.kind is TypeKind.POINTER
        if through_pointer:
            t = t._type.resolved()  # type: ignore[union-attr]
        if t.kind not in (TypeKind.STRUCT, TypeKind.UNION):
            raise MissingMemberError(self.type_name(), name, "is not a structure or union")
        member = t.member(name)
        size = member.bit_field_size
        found = cache[name] = MemberAccess(member.type, member.bit_offset // 8, member.bit_offset % 8 if size else 0,
                                           size, through_pointer)
        return found

    def element_access(self) -> ElementAccess:
        """How an array or pointer object of this type reaches element ``i`` (``obj[i]``), worked out
        once per type.  ObjectTypeError for other types and elements of unknown size."""
        found = self._element
        if found is None:
            t = self.resolved()
            if t.kind not in (TypeKind.POINTER, TypeKind.ARRAY):
                raise ObjectTypeError(f"{self.type_name()} is not an array or pointer")
            element: Type = t._type  # type: ignore[assignment]
            size = element.size
            if size is None:
                raise ObjectTypeError(f"cannot index {self.type_name()}: element size unknown")
            through_pointer = t.kind is TypeKind.POINTER
            found = self._element = ElementAccess(element, size, through_pointer,
                                                  None if through_pointer else t.length)
        return found

    def has_member(self, name: str) -> bool:
        """Whether :meth:`member` finds ``name``, without raising (helpers ask it of every task, to
        choose between kernel versions' layouts)."""
        t = self.resolved()
        if t.kind not in (TypeKind.STRUCT, TypeKind.UNION) or t._members is None:
            return False
        return name in t._member_map()

    _PATH_TOKEN = re.compile(r"\s*(?:(\.|->)?\s*([A-Za-z_]\w*)|\[\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*\])")

    def member_path(self, path: str) -> Member:
        """Offset and type of a designator such as ``"a.b.c"`` or ``"a[3].b"`` (offsetof).

        Returns a :class:`Member` named ``path`` whose ``bit_offset`` is from the
        start of this type.  Raises :class:`~pycore.errors.MissingMemberError` (a
        LookupError) for an unknown member or :class:`ValueError` for a malformed path.
        """
        paths = self._paths
        if paths is None:
            paths = self._paths = {}
        found = paths.get(path)
        if found is None:
            found = paths[path] = self._member_path(path)
        return found

    def _member_path(self, path: str) -> Member:
        t: Type = self
        bit_offset = 0
        bit_field_size = 0
        pos = 0
        first = True
        path = path.strip()
        while pos < len(path):
            match = self._PATH_TOKEN.match(path, pos)
            if not match or (match.group(1) == "->"):
                raise ValueError(f"bad member designator {path!r} at {pos}")
            sep, name, index = match.groups()
            if name is not None:
                if not first and sep is None:
                    raise ValueError(f"bad member designator {path!r} at {pos}")
                m = t.member(name)
                bit_offset += m.bit_offset
                bit_field_size = m.bit_field_size
                t = m.type
            else:
                array = t.resolved()
                if array.kind is not TypeKind.ARRAY:
                    raise MissingMemberError(t.type_name(), f"[{index}]", "is not an array")
                element = array.type
                if element.size is None:  # type: ignore[union-attr]
                    raise MissingMemberError(t.type_name(), f"[{index}]", "has elements of no size")
                bit_offset += int(index, 0) * element.size * 8  # type: ignore[union-attr]
                bit_field_size = 0
                t = element  # type: ignore[assignment]
            pos = match.end()
            first = False
        if first:
            raise ValueError("empty member designator")
        return Member(path, t, bit_offset, bit_field_size)

    def offsetof(self, path: str) -> int:
        """Byte offset of ``path`` (see :meth:`member_path`)."""
        return self.member_path(path).bit_offset // 8

    # -- spelling ---------------------------------------------------------
    def type_name(self) -> str:
        """The C spelling of the type, as drgn writes it: ``struct task_struct *``, ``char [16]``."""
        return _declaration(self, "")

    def __str__(self) -> str:
        return self.type_name()

    def __repr__(self) -> str:
        size = self.size
        extra = f", size={size}" if size is not None else ""
        if self.kind is TypeKind.ARRAY:
            extra += f", length={self.length}"
        return f"Type({self.kind.name}, {self.type_name()!r}{extra})"

    # -- comparison -------------------------------------------------------
    def _key(self) -> tuple:
        return (self.kind, self.name, self._size, self.is_signed, self.length, self.qualifiers,
                self.is_variadic)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Type) or self._key() != other._key():
            return False
        kind = self.kind
        if kind in (TypeKind.STRUCT, TypeKind.UNION, TypeKind.ENUM):
            # Named tagged types of one program are the same type when name and size agree;
            # anonymous ones compare their layout one level deep.
            if self.name is not None:
                return self.is_complete() == other.is_complete()
            if kind is TypeKind.ENUM:
                return self.enumerators == other.enumerators
            a, b = self.members or (), other.members or ()
            return len(a) == len(b) and all(
                x.name == y.name and x.bit_offset == y.bit_offset and x.bit_field_size == y.bit_field_size
                and x.type.type_name() == y.type.type_name() for x, y in zip(a, b))
        if kind is TypeKind.FUNCTION:
            return self._type == other._type and len(self.parameters or ()) == len(other.parameters or ()) and all(
                p.type == q.type for p, q in zip(self.parameters or (), other.parameters or ()))
        return self._type == other._type

    def __hash__(self) -> int:
        return hash((self.kind, self.name, self._size, self.length))


_QUALIFIER_WORDS = ((Qualifiers.CONST, "const"), (Qualifiers.VOLATILE, "volatile"),
                    (Qualifiers.RESTRICT, "restrict"))


def _qualifier_text(q: Qualifiers) -> str:
    return " ".join(word for flag, word in _QUALIFIER_WORDS if q & flag)


def _declaration(t: Type, declarator: str) -> str:
    kind = t.kind
    if kind is TypeKind.POINTER:
        quals = _qualifier_text(t.qualifiers)
        inner = "*" + (" " + quals if quals else "")
        if declarator:
            inner += (" " if quals else "") + declarator
        if t._type.kind in (TypeKind.ARRAY, TypeKind.FUNCTION):  # type: ignore[union-attr]
            inner = "(" + inner + ")"
        return _declaration(t._type, inner)  # type: ignore[arg-type]
    if kind is TypeKind.ARRAY:
        length = "" if t.length is None else str(t.length)
        return _declaration(t._type, f"{declarator}[{length}]")  # type: ignore[arg-type]
    if kind is TypeKind.FUNCTION:
        params = [p.type.type_name() for p in t.parameters or ()]
        if t.is_variadic:
            params.append("...")
        return _declaration(t._type, f"{declarator}({', '.join(params) or 'void'})")  # type: ignore[arg-type]
    if kind in (TypeKind.STRUCT, TypeKind.UNION, TypeKind.ENUM):
        base = f"{kind.value} {t.name if t.name is not None else '<anonymous>'}"
    else:
        base = t.name or "void"
    quals = _qualifier_text(t.qualifiers)
    if quals:
        base = quals + " " + base
    return base + " " + declarator if declarator else base


# -- constructors ---------------------------------------------------------
def void_type(qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    return Type(TypeKind.VOID, "void", qualifiers=qualifiers)


def int_type(name: str, size: int, is_signed: bool, qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    return Type(TypeKind.INT, canonical_base_name(name), size, is_signed, qualifiers=qualifiers)


def bool_type(name: str, size: int, qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    return Type(TypeKind.BOOL, name, size, qualifiers=qualifiers)


def float_type(name: str, size: int, qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    return Type(TypeKind.FLOAT, canonical_base_name(name), size, True, qualifiers=qualifiers)


def pointer_type(target: Type, size: int = 8, qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    """``target *``; the plain 8-byte pointer to a type is built once and shared (``&obj``,
    ``container_of`` and every list walk ask for it again and again)."""
    if size == 8 and not qualifiers:
        found = target._pointer
        if found is None:
            found = target._pointer = Type(TypeKind.POINTER, None, size, type=target)
        return found
    return Type(TypeKind.POINTER, None, size, type=target, qualifiers=qualifiers)


def array_type(element: Type, length: Optional[int], qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    return Type(TypeKind.ARRAY, None, None, type=element, length=length, qualifiers=qualifiers)


def struct_type(name: Optional[str], size: Optional[int], members: MembersArg,
                qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    """A struct; ``members`` None makes it incomplete (a forward declaration)."""
    return Type(TypeKind.STRUCT, name, size, members=members, qualifiers=qualifiers)


def union_type(name: Optional[str], size: Optional[int], members: MembersArg,
               qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    return Type(TypeKind.UNION, name, size, members=members, qualifiers=qualifiers)


def enum_type(name: Optional[str], size: Optional[int], is_signed: bool,
              enumerators: Optional[Sequence[Tuple[str, int]]],
              qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    """An enum; ``enumerators`` None makes it incomplete."""
    values = None if enumerators is None else [Enumerator(n, v) for n, v in enumerators]
    return Type(TypeKind.ENUM, name, size, is_signed, enumerators=values, qualifiers=qualifiers)


def typedef_type(name: str, target: Type, qualifiers: Qualifiers = Qualifiers.NONE) -> Type:
    return Type(TypeKind.TYPEDEF, name, type=target, qualifiers=qualifiers)


def function_type(return_type: Type, parameters: Sequence[Tuple[Optional[str], Type]],
                  is_variadic: bool = False) -> Type:
    return Type(TypeKind.FUNCTION, None, None, type=return_type,
                parameters=[Parameter(n, t) for n, t in parameters], is_variadic=is_variadic)


# -- base type names ------------------------------------------------------
# DWARF and BTF spell "unsigned long" as GCC does ("long unsigned int"); drgn and
# people write the short form.  Both map to one canonical spelling.
_CANONICAL_WORDS: Dict[Tuple[str, ...], str] = {}
for _canonical, _spellings in {
    "char": ["char"], "signed char": ["signed char"], "unsigned char": ["unsigned char"],
    "short": ["short", "short int", "signed short", "signed short int", "short signed int"],
    "unsigned short": ["unsigned short", "short unsigned int", "unsigned short int", "short unsigned"],
    "int": ["int", "signed", "signed int"],
    "unsigned int": ["unsigned", "unsigned int"],
    "long": ["long", "long int", "signed long", "long signed int", "signed long int"],
    "unsigned long": ["unsigned long", "long unsigned int", "unsigned long int", "long unsigned"],
    "long long": ["long long", "long long int", "signed long long", "long long signed int",
                  "signed long long int"],
    "unsigned long long": ["unsigned long long", "long long unsigned int", "unsigned long long int",
                           "long long unsigned"],
    "_Bool": ["_Bool"], "float": ["float"], "double": ["double"],
    "long double": ["long double"],
}.items():
    for _spelling in _spellings:
        _CANONICAL_WORDS[tuple(sorted(_spelling.split()))] = _canonical


def canonical_base_name(name: str) -> str:
    """``long unsigned int`` → ``unsigned long``; other names are returned unchanged."""
    return _CANONICAL_WORDS.get(tuple(sorted(name.split())), name)


# -- the index every source implements ------------------------------------
class TypeIndex(Protocol):
    """What the object layer asks of a debug-info source."""

    source: str

    def find(self, name: str) -> Type:
        """``struct X``, ``union X``, ``enum X``, a typedef or base type name, or a C type
        spelling (``struct task_struct *``, ``char [16]``).  Raises TypeNotFoundError."""
        ...

    def variable_type(self, name: str) -> Optional[Type]:
        ...


_SPELLING = re.compile(r"\s*(?:(\*)|\[\s*((?:0x[0-9a-fA-F]+|\d+)?)\s*\]|(const|volatile|restrict)\b)")
_TAG = re.compile(r"^(struct|union|enum)\s+([A-Za-z_]\w*)$")
_Spelling = Tuple[Optional[str], str, Qualifiers, Tuple[Optional[Qualifiers], ...], Tuple[Optional[int], ...]]
# Parsed C spellings: the same few ("struct task_struct", "struct list_head *") are asked for again
# and again, and a spelling means the same in every index.  Bounded against generated names.
_SPELLINGS: Dict[str, _Spelling] = {}
_SPELLINGS_KEPT = 4096


class TypeIndexBase:
    """Shared ``find`` front end: parses a C spelling and looks up the named part.

    Subclasses implement ``_lookup(namespace, name) -> Optional[Type]`` where
    namespace is ``"struct"``, ``"union"``, ``"enum"`` or ``""`` (typedefs and
    base types), and set ``source``.
    """

    source = "unknown"
    pointer_size = 8

    def _lookup(self, namespace: str, name: str) -> Optional[Type]:  # pragma: no cover
        raise NotImplementedError

    def variable_type(self, name: str) -> Optional[Type]:
        return None

    def find(self, name: str) -> Type:
        spelling = _SPELLINGS.get(name)
        if spelling is None:
            spelling = self._parse(name)
            if len(_SPELLINGS) >= _SPELLINGS_KEPT:
                _SPELLINGS.clear()
            _SPELLINGS[name] = spelling
        namespace, ident, qualifiers, declarator, dims = spelling
        t = void_type() if namespace is None else self._lookup(namespace, ident)
        if t is None:
            raise TypeNotFoundError(f"type {name!r} not found in {self.source}")
        t = t.qualified(qualifiers)
        for step in declarator:
            t = pointer_type(t, self.pointer_size) if step is None else t.qualified(step)
        for length in reversed(dims):
            t = array_type(t, length)
        return t

    def _parse(self, name: str) -> "_Spelling":
        """Split "const struct foo *const [4]" into the named type (namespace and name), its
        qualifiers, the pointer declarator (None for each ``*``, else a qualifier of the pointer
        before) and array lengths."""
        text = " ".join(name.split())
        cut = len(text)
        for i, ch in enumerate(text):
            if ch in "*[(":
                cut = i
                break
        words = text[:cut].split()
        rest = text[cut:]
        qualifiers = Qualifiers.NONE
        base_words = []
        for w in words:
            if w in ("const", "volatile", "restrict"):
                qualifiers |= Qualifiers[w.upper()]
            else:
                base_words.append(w)
        if not base_words:
            raise TypeNotFoundError(f"no type name in {name!r} (searched {self.source})")
        pos = 0
        declarator: List[Optional[Qualifiers]] = []
        dims: List[Optional[int]] = []
        while pos < len(rest):
            m = _SPELLING.match(rest, pos)
            if not m or m.end() == pos:
                raise TypeNotFoundError(f"cannot parse type spelling {name!r} at {rest[pos:]!r} "
                                        f"(searched {self.source})")
            star, dim, qual = m.groups()
            if star:
                if dims:
                    raise TypeNotFoundError(f"cannot parse type spelling {name!r} (searched {self.source})")
                declarator.append(None)
            elif qual:
                declarator.append(Qualifiers[qual.upper()])
            else:
                dims.append(int(dim, 0) if dim else None)
            pos = m.end()
        namespace, ident = _named(" ".join(base_words))
        return namespace, ident, qualifiers, tuple(declarator), tuple(dims)


def _named(base_name: str) -> Tuple[Optional[str], str]:
    """The namespace (None for void) and name that an index looks a base type up by."""
    tag = _TAG.match(base_name)
    if tag:
        return tag.group(1), tag.group(2)
    if base_name == "void":
        return None, base_name
    return "", canonical_base_name(base_name)
