"""drgn's ``drgn.helpers.linux.mapletree``: maple trees (6.1+), from :mod:`pycore.kernel.maple_tree`,
their entries as ``void *`` Objects as drgn gives them."""
from typing import Iterator, Tuple

from ...kernel import maple_tree as _maple_tree
from ...object import Object


def mt_for_each(mt: Object, advanced: bool = False) -> Iterator[Tuple[int, int, Object]]:
    """(first, last, ``void *`` entry) of each range of the maple tree ``mt``, in index order."""
    void_pointer = mt.prog_.type("void *")
    for first, last, entry in _maple_tree.mt_for_each(mt, advanced):
        yield first, last, Object(mt.prog_, void_pointer, entry)


def mtree_load(mt: Object, index: int, advanced: bool = False) -> Object:
    """The ``void *`` entry whose range holds ``index``; NULL if none.  ``advanced`` (drgn's
    reserved entries) is accepted for drgn's signature: reserved entries read as NULL here."""
    return Object(mt.prog_, "void *", _maple_tree.mtree_load(mt, int(index)))


__all__ = ["mt_for_each", "mtree_load"]
