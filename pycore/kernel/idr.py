"""ID allocators (lib/idr.c): ``struct idr``, an XArray of entries (4.11+; ``idr_base`` added in
4.16, an offset of every ID).  The layered idr of kernels before 4.11 is not read.
"""
from typing import Iterator, Tuple

from ..object import Object, TypeArg, cast
from ..types.model import TypeKind, pointer_type
from .xarray import radix_tree_for_each, radix_tree_lookup


def _idr(idr: Object) -> Object:
    """The ``struct idr`` itself for an idr or a pointer to one."""
    return idr.dereference_() if idr.type_.resolved().kind is TypeKind.POINTER else idr


def _base(idr: Object) -> int:
    """``idr_base`` (4.16+: the first ID, e.g. 1 for idr_init_base(idr, 1)); 0 before."""
    return int(idr.idr_base) if idr.type_.resolved().has_member("idr_base") else 0


def idr_find(idr: Object, id: int) -> Object:
    """The ``void *`` stored under ``id`` in ``idr`` (``struct idr`` or pointer to one); NULL
    when there is none."""
    idr = _idr(idr)
    index = int(id) - _base(idr)
    if index < 0:
        return Object(idr.prog_, idr.prog_.type("void *"), 0)
    return radix_tree_lookup(idr.idr_rt, index)


def idr_for_each(idr: Object) -> Iterator[Tuple[int, Object]]:
    """(ID, ``void *``) of each entry of ``idr``, lowest ID first; a damaged tree raises
    XarrayCorruptError (see :func:`pycore.kernel.xarray.xa_entries`)."""
    idr = _idr(idr)
    base = _base(idr)
    for index, entry in radix_tree_for_each(idr.idr_rt):
        yield index + base, entry


def idr_for_each_entry(idr: Object, type: TypeArg) -> Iterator[Tuple[int, Object]]:
    """(ID, ``type *``) of each entry of ``idr``, lowest ID first."""
    prog = idr.prog_
    target = pointer_type(prog.type(type))
    for index, entry in idr_for_each(idr):
        yield index, cast(target, entry)


__all__ = ["idr_find", "idr_for_each", "idr_for_each_entry"]
