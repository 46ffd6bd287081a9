"""drgn's ``drgn.helpers.linux.llist``: lock-free singly linked lists (``struct llist_head``,
2.6.36+), from the bounded walks of :mod:`pycore.object`.
"""
from ...object import (Object, TypeArg, container_of, llist_empty, llist_for_each, llist_for_each_entry,
                       llist_is_singular)


def llist_first_entry(head: Object, type: TypeArg, member: str) -> Object:
    """The first ``type *`` on the (non-empty) lock-free list at ``head``, linked through ``member``."""
    return container_of(head.first, type, member)


def llist_first_entry_or_null(head: Object, type: TypeArg, member: str) -> Object:
    """The first ``type *`` on the lock-free list at ``head``, or NULL when it is empty."""
    entry = llist_first_entry(head, type, member)
    return entry if not llist_empty(head) else Object(head.prog_, entry.type_, 0)


def llist_next_entry(pos: Object, member: str) -> Object:
    """The ``type *`` after ``pos`` on its lock-free list, linked through ``member``."""
    return container_of(pos.member_(member).next, pos.type_.resolved().type, member)  # type: ignore[arg-type]


__all__ = ["llist_empty", "llist_first_entry", "llist_first_entry_or_null", "llist_for_each", "llist_for_each_entry",
           "llist_is_singular", "llist_next_entry"]
