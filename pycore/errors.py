"""The exceptions pycore raises: one root, a few subclasses a caller can act on."""
from typing import Optional


class PycoreError(Exception):
    """Root of every error pycore raises on purpose."""


class FormatError(PycoreError):
    """The file is not what it claims to be; names the offset and field."""

    def __init__(self, message: str, offset: Optional[int] = None, field: Optional[str] = None):
        self.offset = offset
        self.field = field
        where = []
        if field is not None:
            where.append(f"field {field}")
        if offset is not None:
            where.append(f"at file offset {offset:#x}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class FaultError(PycoreError):
    """An address could not be read; carries the address (None when only a file offset is known)."""

    def __init__(self, message: str, address: Optional[int] = None, physical: bool = False):
        self.address = address
        self.physical = physical
        if address is not None:
            kind = "physical" if physical else "virtual"
            message = f"{message}: {kind} address {address:#x}"
        super().__init__(message)


class PageExcludedError(FaultError):
    """The page exists in the machine but the dump filter left it out."""


class IncompleteDumpError(FaultError):
    """The data should be in the dump, but the dump was cut short before it; names the file offset."""

    def __init__(self, message: str, address: Optional[int] = None, physical: bool = True,
                 offset: Optional[int] = None, field: Optional[str] = None):
        self.offset = offset
        self.field = field
        super().__init__(message, address, physical)


class MissingDebugInfoError(PycoreError):
    """Symbols or types that were needed are not available; says what and where."""


class MissingMemberError(MissingDebugInfoError, AttributeError, LookupError):
    """A struct or union lacks a member a caller asked for; names the type and the member.

    With debug info for another kernel version, or a damaged BTF record, the layout is
    not what a helper expected.  It is also an AttributeError and a LookupError, so
    ``getattr(obj, name, default)``, ``hasattr`` and ``except LookupError`` version
    branches keep working, while a command that did not expect it reports one line.
    """

    def __init__(self, type_name: str, member: str, problem: Optional[str] = None):
        self.type_name = type_name
        self.member = member
        self.name = member  # what AttributeError reports as the missing attribute
        if problem is None:
            message = f"{type_name} has no member {member!r}"
        else:
            message = f"{type_name} {problem} (looking for member {member!r})"
        super().__init__(message)


class ValidationError(PycoreError):
    """A kernel data structure in the dump is not what the kernel builds: a list that does not
    lead back to its head, a tree that loops, an entry of the wrong kind.  The memory is readable
    but damaged (or the types describe another kernel).  drgn scripts catch this name
    (``drgn.helpers.ValidationError``); each structure's walker raises its own subclass."""


class ObjectTypeError(PycoreError, TypeError):
    """An operation does not apply to an object's type: indexing an int, dereferencing a
    struct, iterating a pointer.  A TypeError as well, as Python and drgn raise for these."""
