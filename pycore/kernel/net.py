"""Network namespaces and devices (net/core): the namespaces on ``net_namespace_list``, each one's
devices on ``dev_base_head``, and their IPv4 (``in_device.ifa_list``) and IPv6
(``inet6_dev.addr_list``) addresses; kernels 4.14 to 7.2.
"""
from typing import TYPE_CHECKING, Iterator, List

from ..object import ListCorruptError, Object, list_for_each_entry
from .sched import init_task

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# An interface holds a handful of addresses; a chain longer than this loops.
MAX_ADDRESSES = 1 << 16


def init_net(prog: "Program") -> Object:
    """``init_task.nsproxy->net_ns``: the initial network namespace (``struct net *``), which is
    ``&init_net``."""
    return init_task(prog).nsproxy.net_ns.read_()


def for_each_net(prog: "Program") -> Iterator[Object]:
    """Each network namespace (``struct net *``) on ``net_namespace_list``, the initial one first."""
    head = Object(prog, prog.type("struct list_head"), address=prog.symbols.by_name("net_namespace_list").address)
    yield from list_for_each_entry("struct net", head.address_of_(), "list")


def for_each_netdev(net: Object) -> Iterator[Object]:
    """Each ``struct net_device *`` of the namespace ``net`` (``struct net *``), in the order they
    were registered (``dev_base_head`` through ``dev_list``)."""
    yield from list_for_each_entry("struct net_device", net.dev_base_head.address_of_(), "dev_list")


def netdev_name(dev: Object) -> bytes:
    """The interface name of a ``struct net_device *`` (``lo``, ``eth0``)."""
    return dev.name.string_()


def netdev_ipv4_addresses(dev: Object) -> List[bytes]:
    """The IPv4 addresses of ``dev``, four bytes each in network order, as ``ip addr`` lists them
    (``ip_ptr->ifa_list`` through ``ifa_next``); none for a device without an ``in_device``."""
    in_device = dev.ip_ptr.read_()
    if not int(in_device):
        return []
    addresses = []
    ifa = in_device.ifa_list.read_()
    while int(ifa):
        if len(addresses) >= MAX_ADDRESSES:
            raise ListCorruptError(f"the IPv4 addresses of net_device {int(dev):#x} loop")
        addresses.append(dev.prog_.read(ifa.ifa_address.address_, 4))
        ifa = ifa.ifa_next.read_()
    return addresses


def netdev_ipv6_addresses(dev: Object) -> List[bytes]:
    """The IPv6 addresses of ``dev``, sixteen bytes each (``ip6_ptr->addr_list`` through
    ``if_list``, 2.6.35+); none without IPv6 on the device."""
    inet6 = dev.ip6_ptr.read_()
    if not int(inet6):
        return []
    return [dev.prog_.read(ifaddr.addr.address_, 16)
            for ifaddr in list_for_each_entry("struct inet6_ifaddr", inet6.addr_list.address_of_(), "if_list")]


__all__ = ["init_net", "for_each_net", "for_each_netdev", "netdev_name", "netdev_ipv4_addresses",
           "netdev_ipv6_addresses"]
