"""drgn's ``drgn.helpers.linux.list_nulls``: hash lists that end in a nulls marker (``struct
hlist_nulls_head``, 2.6.29+), from the bounded walks of :mod:`pycore.object`.
"""
from ...object import hlist_nulls_empty, hlist_nulls_for_each_entry, is_a_nulls

__all__ = ["hlist_nulls_empty", "hlist_nulls_for_each_entry", "is_a_nulls"]
