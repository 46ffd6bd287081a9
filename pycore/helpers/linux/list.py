"""drgn's ``drgn.helpers.linux.list``: doubly linked lists and hlists (every kernel), from the
bounded walks of :mod:`pycore.object`; a list that loops raises ListCorruptError (a
ValidationError, as drgn raises) naming it.
"""
from typing import Iterator

from ...errors import ValidationError
from ...object import (ListCorruptError, Object, TypeArg, container_of, hlist_for_each_entry, list_empty,
                       list_for_each, list_for_each_entry, list_for_each_entry_reverse, list_for_each_reverse,
                       validate_list, validate_list_for_each, validate_list_for_each_entry)
from ...types.model import TypeKind


def _head(head: Object) -> Object:
    """The ``struct list_head`` (or ``hlist_head``) itself for a head or a pointer to one."""
    return head.dereference_() if head.type_.resolved().kind is TypeKind.POINTER else head


def list_is_singular(head: Object) -> bool:
    """Whether the list at ``head`` has exactly one entry."""
    head = _head(head)
    following = int(head.next)
    return following != head.address_ and following == int(head.prev)


def list_count_nodes(head: Object) -> int:
    """How many entries the list at ``head`` has."""
    return sum(1 for _ in list_for_each(head))


def validate_list_count_nodes(head: Object) -> int:
    """How many entries the list at ``head`` has, checked as :func:`validate_list` checks it."""
    return sum(1 for _ in validate_list_for_each(head))


def list_first_entry(head: Object, type: TypeArg, member: str) -> Object:
    """The first ``type *`` on the (non-empty) list at ``head``, linked through ``member``."""
    return container_of(_head(head).next, type, member)


def list_first_entry_or_null(head: Object, type: TypeArg, member: str) -> Object:
    """The first ``type *`` on the list at ``head``, or NULL when it is empty."""
    if list_empty(head):
        return Object(head.prog_, container_of(_head(head).next, type, member).type_, 0)
    return list_first_entry(head, type, member)


def list_last_entry(head: Object, type: TypeArg, member: str) -> Object:
    """The last ``type *`` on the (non-empty) list at ``head``, linked through ``member``."""
    return container_of(_head(head).prev, type, member)


def list_next_entry(pos: Object, member: str) -> Object:
    """The entry after ``pos`` (a ``type *``) on the list it is linked on through ``member``."""
    return container_of(pos.member_(member).next, pos.type_.resolved().type, member)  # type: ignore[arg-type]


def list_prev_entry(pos: Object, member: str) -> Object:
    """The entry before ``pos`` (a ``type *``) on the list it is linked on through ``member``."""
    return container_of(pos.member_(member).prev, pos.type_.resolved().type, member)  # type: ignore[arg-type]


def hlist_empty(head: Object) -> bool:
    """Whether the hlist at ``head`` (``struct hlist_head``) has no entries."""
    return not int(_head(head).first)


def hlist_for_each(head: Object) -> Iterator[Object]:
    """Each ``struct hlist_node *`` on the hlist at ``head``: the nodes themselves are the entries
    of type hlist_node linked through their first member, ``next`` (offset 0)."""
    return hlist_for_each_entry("struct hlist_node", head, "next")


__all__ = ["list_empty", "list_is_singular", "list_count_nodes", "list_first_entry", "list_first_entry_or_null",
           "list_last_entry", "list_next_entry", "list_prev_entry", "list_for_each", "list_for_each_entry",
           "list_for_each_reverse", "list_for_each_entry_reverse", "validate_list", "validate_list_count_nodes",
           "validate_list_for_each", "validate_list_for_each_entry", "hlist_empty", "hlist_for_each",
           "hlist_for_each_entry", "ListCorruptError", "ValidationError"]
