"""drgn's ``drgn.helpers.linux.bitops``: bitmaps, from :mod:`pycore.kernel.bitops`."""
from ...kernel.bitops import for_each_clear_bit, for_each_set_bit, test_bit

__all__ = ["for_each_clear_bit", "for_each_set_bit", "test_bit"]
