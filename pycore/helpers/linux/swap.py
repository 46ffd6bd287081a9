"""drgn's ``drgn.helpers.linux.swap``: swap areas, from :mod:`pycore.kernel.swap` (4.14 to 7.2)."""
from ...kernel.swap import for_each_swap_info, swap_file_path, swap_is_file, swap_usage_in_pages

__all__ = ["for_each_swap_info", "swap_file_path", "swap_is_file", "swap_usage_in_pages"]
