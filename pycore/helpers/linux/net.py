"""drgn's ``drgn.helpers.linux.net``: network namespaces and devices, from :mod:`pycore.kernel.net`;
as in drgn, a namespace argument may be the Program (the initial namespace) or a ``struct net *``."""
import ipaddress
from typing import TYPE_CHECKING, Iterator, List, Union

from ...kernel import net as _net
from ...kernel.net import for_each_net, netdev_name
from ...object import Object

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def _namespace(prog_or_net: "Union[Program, Object]") -> Object:
    return prog_or_net if isinstance(prog_or_net, Object) else _net.init_net(prog_or_net)


def for_each_netdev(prog_or_net: "Union[Program, Object]") -> Iterator[Object]:
    """Each ``struct net_device *`` of the namespace, in registration order."""
    return _net.for_each_netdev(_namespace(prog_or_net))


def netdev_get_by_name(prog_or_net: "Union[Program, Object]", name: Union[str, bytes]) -> Object:
    """The ``struct net_device *`` called ``name`` in the namespace; NULL if none."""
    wanted = name.encode() if isinstance(name, str) else name
    net = _namespace(prog_or_net)
    for dev in _net.for_each_netdev(net):
        if netdev_name(dev) == wanted:
            return dev
    return Object(net.prog_, "struct net_device *", 0)


def netdev_get_by_index(prog_or_net: "Union[Program, Object]", ifindex: int) -> Object:
    """The ``struct net_device *`` with interface index ``ifindex``; NULL if none."""
    net = _namespace(prog_or_net)
    for dev in _net.for_each_netdev(net):
        if int(dev.ifindex) == int(ifindex):
            return dev
    return Object(net.prog_, "struct net_device *", 0)


def netdev_ipv4_addrs(dev: Object) -> List[ipaddress.IPv4Address]:
    """The IPv4 addresses of ``dev``."""
    return [ipaddress.IPv4Address(raw) for raw in _net.netdev_ipv4_addresses(dev)]


def netdev_ipv6_addrs(dev: Object) -> List[ipaddress.IPv6Address]:
    """The IPv6 addresses of ``dev``."""
    return [ipaddress.IPv6Address(raw) for raw in _net.netdev_ipv6_addresses(dev)]


__all__ = ["for_each_net", "for_each_netdev", "netdev_get_by_index", "netdev_get_by_name", "netdev_ipv4_addrs",
           "netdev_ipv6_addrs", "netdev_name"]
