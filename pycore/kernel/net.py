"""Network namespaces, devices and sockets (net/core, net/socket.c): the namespaces on
``net_namespace_list``, each one's devices on ``dev_base_head``, their IPv4 (``in_device.ifa_list``)
and IPv6 (``inet6_dev.addr_list``) addresses, and the sockets a task holds open; kernels 4.14 to 7.2.
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, List, Optional

from ..object import ListCorruptError, Object, list_for_each_entry
from .fs import S_IFMT, S_IFSOCK, file_dentry, for_each_file
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


AF_INET = 2
AF_INET6 = 10


@dataclass
class OpenSocket:
    """One socket a task holds open: its descriptor, the ``struct socket`` (inside the inode's
    ``socket_alloc``), its ``struct sock`` (0 for one not yet connected to a protocol), the address
    family and socket type, and for AF_INET and AF_INET6 the local and remote addresses (4 or 16
    bytes, network order) and ports (host order)."""

    fd: int
    socket: int
    sock: int
    family: int = 0
    type: int = 0
    source: Optional[bytes] = None
    source_port: int = 0
    destination: Optional[bytes] = None
    destination_port: int = 0


def task_sockets(task: Object) -> List[OpenSocket]:
    """The open descriptors of ``task`` (``struct task_struct *``) whose inode is a socket
    (``S_ISSOCK``), by descriptor number.  The ``struct socket`` sits before its inode in
    ``struct socket_alloc`` (2.6+); the addresses and ports are ``sock_common``'s (``skc_rcv_saddr``,
    ``skc_daddr``, ``skc_dport``, 2.6.38+; IPv6's ``skc_v6_rcv_saddr`` and ``skc_v6_daddr``, 3.13+)
    and ``inet_sock.inet_sport``."""
    prog = task.prog_
    vfs_inode = prog.type("struct socket_alloc").offsetof("vfs_inode")
    found = []
    for fd, file in for_each_file(task):
        if not int(file):
            continue
        dentry = file_dentry(file)
        inode = dentry.d_inode.read_() if int(dentry) else None
        if inode is None or not int(inode) or int(inode.i_mode) & S_IFMT != S_IFSOCK:
            continue
        socket = Object(prog, prog.type("struct socket *"), int(inode) - vfs_inode)
        sock = socket.sk.read_()
        entry = OpenSocket(fd, int(socket), int(sock))
        if int(sock):
            common = sock.member_("__sk_common")
            entry.family = int(common.skc_family)
            entry.type = int(sock.sk_type)
            if entry.family in (AF_INET, AF_INET6):
                inet = Object(prog, prog.type("struct inet_sock *"), int(sock))
                if entry.family == AF_INET:
                    entry.source = prog.read(common.skc_rcv_saddr.address_, 4)
                    entry.destination = prog.read(common.skc_daddr.address_, 4)
                else:
                    entry.source = prog.read(common.skc_v6_rcv_saddr.address_, 16)
                    entry.destination = prog.read(common.skc_v6_daddr.address_, 16)
                entry.source_port = int.from_bytes(prog.read(inet.inet_sport.address_, 2), "big")
                entry.destination_port = int.from_bytes(prog.read(common.skc_dport.address_, 2), "big")
        found.append(entry)
    return found


__all__ = ["init_net", "for_each_net", "for_each_netdev", "netdev_name", "netdev_ipv4_addresses",
           "netdev_ipv6_addresses", "OpenSocket", "task_sockets"]
