"""drgn's ``drgn.helpers.linux.vmstat``: the machine-wide memory counters (``vm_zone_stat`` and
``vm_node_stat``, 4.8+), from :mod:`pycore.kernel.vmstat`, by enum item as drgn takes them
(``global_zone_page_state(prog, prog["NR_FREE_PAGES"])``) or by name."""
from typing import TYPE_CHECKING, Dict, List, Union

from ...kernel import vmstat as _vmstat
from ...object import Object

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def _item(counters: Dict[str, int], names: List[str], item: Union[Object, int, str]) -> int:
    name = item if isinstance(item, str) else names[int(item)]
    return max(counters[name], 0)


def global_zone_page_state(prog: "Program", item: Union[Object, int, str]) -> int:
    """A zone counter summed over the machine (``enum zone_stat_item``), floored at 0."""
    return _item(_vmstat.global_zone_stat(prog), _vmstat.zone_stat_items(prog), item)


def global_node_page_state(prog: "Program", item: Union[Object, int, str]) -> int:
    """A node counter summed over the machine (``enum node_stat_item``), floored at 0."""
    return _item(_vmstat.global_node_stat(prog), _vmstat.node_stat_items(prog), item)


def nr_free_pages(prog: "Program") -> int:
    """Free pages in the buddy allocator (NR_FREE_PAGES)."""
    return global_zone_page_state(prog, "NR_FREE_PAGES")


__all__ = ["global_node_page_state", "global_zone_page_state", "nr_free_pages"]
