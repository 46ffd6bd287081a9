"""drgn's ``drgn.helpers.linux.idr``: ID allocators (4.11+), from :mod:`pycore.kernel.idr`."""
from ...kernel.idr import idr_find, idr_for_each, idr_for_each_entry

__all__ = ["idr_find", "idr_for_each", "idr_for_each_entry"]
