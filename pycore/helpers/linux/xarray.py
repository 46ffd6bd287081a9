"""drgn's ``drgn.helpers.linux.xarray``: XArrays (4.20+), from :mod:`pycore.kernel.xarray`."""
from ...kernel.xarray import XarrayCorruptError, xa_for_each, xa_is_value, xa_is_zero, xa_load, xa_to_value

__all__ = ["xa_for_each", "xa_is_value", "xa_is_zero", "xa_load", "xa_to_value", "XarrayCorruptError"]
