"""drgn's ``drgn.helpers.linux.nodemask``: the online NUMA nodes, from :mod:`pycore.kernel.vmstat`."""
from typing import TYPE_CHECKING, Iterator

from ...kernel.vmstat import online_nodes

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def for_each_online_node(prog: "Program") -> Iterator[int]:
    """Each online node id (``node_states[N_ONLINE]``), lowest first; node 0 alone without NUMA."""
    return iter(online_nodes(prog))


__all__ = ["for_each_online_node"]
