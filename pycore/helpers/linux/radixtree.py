"""drgn's ``drgn.helpers.linux.radixtree``: the radix tree, the XArray from 4.20
(:mod:`pycore.kernel.xarray`); the radix tree of older kernels is refused by name."""
from ...kernel.xarray import radix_tree_for_each, radix_tree_lookup

__all__ = ["radix_tree_for_each", "radix_tree_lookup"]
