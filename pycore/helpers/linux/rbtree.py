"""drgn's ``drgn.helpers.linux.rbtree``: red-black trees, from :mod:`pycore.kernel.rbtree`
(every kernel; 7.x's ``rb_root_linked`` is walked through its ``rb_root``)."""
from typing import Callable, Iterator

from ...kernel.rbtree import (RB_EMPTY_NODE, RB_EMPTY_ROOT, RbtreeCorruptError, rb_find, rb_first, rb_last,
                              rb_next, rb_parent, rb_prev, rbtree_inorder_for_each, rbtree_inorder_for_each_entry,
                              validate_rbtree)
from ...errors import ValidationError
from ...object import Object, TypeArg


def validate_rbtree_inorder_for_each_entry(type: TypeArg, root: Object, member: str,
                                           cmp: Callable[[Object, Object], int],
                                           allow_equal: bool) -> Iterator[Object]:
    """Each ``type *`` of the tree at ``root`` in order, once the whole tree is checked by
    :func:`validate_rbtree` (RbtreeCorruptError, drgn's ValidationError, names the broken rule)."""
    validate_rbtree(type, root, member, cmp, allow_equal)
    return rbtree_inorder_for_each_entry(type, root, member)


__all__ = ["RB_EMPTY_NODE", "RB_EMPTY_ROOT", "rb_find", "rb_first", "rb_last", "rb_next", "rb_parent", "rb_prev",
           "rbtree_inorder_for_each", "rbtree_inorder_for_each_entry", "validate_rbtree",
           "validate_rbtree_inorder_for_each_entry", "RbtreeCorruptError", "ValidationError"]
