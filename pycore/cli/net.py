"""``pycore net DUMP``: the network devices of the initial namespace (init_task's, ``-n PID`` for
another task's) with their IPv4 and IPv6 addresses, as crash 9's ``net`` lists them."""
import argparse
import socket
from typing import Any, Dict

from ..errors import FaultError, PycoreError
from ..kernel import net, sched
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand
from .files import center, tasks_with_pid


def namespace_task(prog: Program, pid: int) -> Object:
    """The task whose namespaces ``net``/``ipcs -n PID`` show: init_task for 0 (crash's default,
    pid_to_task(0)), else the first task with that PID."""
    if pid == 0:
        return sched.init_task(prog)
    tasks = tasks_with_pid(prog, pid)
    if not tasks:
        raise PycoreError(f"no task with PID {pid}")
    return tasks[0]


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    rows = []
    try:
        for dev in net.for_each_netdev(namespace_task(prog, args.namespace_pid).nsproxy.net_ns.read_()):
            rows.append({"net_device": int(dev), "name": net.netdev_name(dev).decode("utf-8", "replace"),
                         "ipv4": [socket.inet_ntop(socket.AF_INET, raw) for raw in net.netdev_ipv4_addresses(dev)],
                         "ipv6": [socket.inet_ntop(socket.AF_INET6, raw) for raw in net.netdev_ipv6_addresses(dev)]})
    except FaultError as error:
        return Collected({"devices": rows}, [], f"the devices after these are unreadable: {error}")
    return Collected({"devices": rows}, [])


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines = [center("NET_DEVICE", 16) + "  NAME       IP ADDRESS(ES)"]
    for row in data["devices"]:
        addresses = ", ".join(row["ipv4"] + row["ipv6"])
        lines.append(f"{row['net_device']:16x}  {row['name']:<10} {addresses}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", dest="namespace_pid", type=int, default=0, metavar="PID",
                        help="the network namespace of this task (default: the initial one)")


COMMAND = DumpCommand("net", add_arguments=add_arguments, collect=collect, render=render,
                      description="Network devices and their addresses, as crash's net prints them.")
