"""Users (kernel/user.c): the ``struct user_struct`` of each UID with processes, on the hash table
``uidhash_table`` (UIDHASH_BITS 7, 3 with CONFIG_BASE_SMALL; every kernel since 2.6)."""
from typing import TYPE_CHECKING, Iterator, Union

from ..object import Object, hlist_for_each_entry
from ..types.model import TypeKind

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# include/linux/sched/user.h: UIDHASH_BITS (CONFIG_BASE_SMALL ? 3 : 7).
UIDHASH_SIZE = 1 << 7


def kuid_val(uid: Union[Object, int]) -> int:
    """The number inside a ``kuid_t`` (``uid.val``), or ``uid`` itself when it is an integer."""
    if isinstance(uid, Object) and uid.type_.resolved().kind is not TypeKind.INT:
        uid = uid.val
    return int(uid)


def _buckets(prog: "Program") -> Object:
    """``uidhash_table`` as ``struct hlist_head [N]``: N from the symbol's size when the symbol
    table knows it, else UIDHASH_SIZE."""
    symbol = prog.symbols.by_name("uidhash_table")
    length = (symbol.size or 0) // 8 or UIDHASH_SIZE
    return Object(prog, f"struct hlist_head [{length}]", address=symbol.address)


def for_each_user(prog: "Program") -> Iterator[Object]:
    """Each ``struct user_struct *`` in ``uidhash_table``, bucket by bucket."""
    for bucket in _buckets(prog):
        yield from hlist_for_each_entry("struct user_struct", bucket.address_of_(), "uidhash_node")


def find_user(prog: "Program", uid: Union[Object, int]) -> Object:
    """The ``struct user_struct *`` of ``uid`` (a ``kuid_t`` or a number); NULL when no process
    of that user exists.  The bucket is the kernel's ``__uidhashfn``."""
    table = _buckets(prog)
    size = len(table)
    number = kuid_val(uid)
    bucket = table[((number >> (size.bit_length() - 1)) + number) & (size - 1)]
    for user in hlist_for_each_entry("struct user_struct", bucket.address_of_(), "uidhash_node"):
        if int(user.uid.val) == number:
            return user
    return Object(prog, "struct user_struct *", 0)


__all__ = ["kuid_val", "for_each_user", "find_user"]
