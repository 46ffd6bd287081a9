"""``pycore net DUMP``: the network devices of the initial namespace (init_task's, ``-n PID`` for
another task's) with their IPv4 and IPv6 addresses, as crash 9's ``net`` lists them; ``net -s [PID|TASK]``:
the sockets a task holds open (the current context's without a task); ``-S`` with each one's ``struct socket``
and ``struct inet_sock``; ``-R REF`` only the descriptor, socket or sock REF names (crash's foreach net -R)."""
import argparse
import socket
from dataclasses import asdict
from typing import Any, Dict, List, Optional

from ..errors import FaultError, PycoreError
from ..kernel import net, sched
from ..kernel.fs import task_max_fds
from ..object import Object
from ..program import Program
from .command import Collected, DumpCommand, make_parser
from .crashfmt import center, task_header
from .files import selected_tasks, tasks_with_pid

# crash's net.c get_sock_info(): the names of the address families and socket types it knows.
_FAMILIES = {0: "UNSPEC", 1: "UNIX", 2: "INET", 3: "AX25", 4: "IPX", 5: "APPLETALK", 6: "NETROM", 7: "BRIDGE",
             8: "ATMPVC", 9: "X25", 10: "INET6", 11: "ROSE", 12: "DECnet", 13: "NETBEUI", 14: "SECURITY/KEY",
             16: "NETLINK/ROUTE", 17: "PACKET", 18: "ASH", 19: "ECONET", 20: "ATMSVC", 22: "SNA", 23: "IRDA",
             24: "PPPOX"}
_TYPES = {1: "STREAM", 2: "DGRAM ", 3: "RAW", 4: "RDM", 5: "SEQPACKET", 10: "PACKET"}
_SOCKET_HEADER = "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT"


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
    if args.sockets is not None and args.structures is not None:
        raise PycoreError("net takes -s or -S, not both")
    if args.reference is not None and args.sockets is None and args.structures is None:
        raise PycoreError("net -R REF needs -s or -S")
    if args.sockets is not None or args.structures is not None:
        return _collect_sockets(prog, args)
    if args.tasks:
        raise PycoreError("net PID|TASK needs -s or -S")
    rows = []
    try:
        for dev in net.for_each_netdev(namespace_task(prog, args.namespace_pid).nsproxy.net_ns.read_()):
            rows.append({"net_device": int(dev), "name": net.netdev_name(dev).decode("utf-8", "replace"),
                         "ipv4": [socket.inet_ntop(socket.AF_INET, raw) for raw in net.netdev_ipv4_addresses(dev)],
                         "ipv6": [socket.inet_ntop(socket.AF_INET6, raw) for raw in net.netdev_ipv6_addresses(dev)]})
    except FaultError as error:
        return Collected({"devices": rows}, [], f"the devices after these are unreadable: {error}")
    return Collected({"devices": rows}, [])


def _collect_sockets(prog: Program, args: argparse.Namespace) -> Collected:
    """net -s/-S: each named task (the context's without one) with its open sockets, those -R
    names only; with -S each socket's structures as crash's dump_struct prints them."""
    structures = args.structures is not None
    # crash takes the tasks after -R REF too (net -s -R 3 134 135).
    args.task = (args.structures if structures else args.sockets) + args.tasks
    tasks, warnings = selected_tasks(prog, args)
    shown: List[Dict[str, Any]] = []
    for task, _, _ in tasks:
        entry = {"pid": int(task.pid), "task": int(task), "cpu": sched.task_cpu(task), "comm": sched.task_comm(task),
                 "sockets": []}
        shown.append(entry)
        try:
            max_fds = task_max_fds(task) if args.reference is not None else None
            sockets = [found for found in net.task_sockets(task) if _referenced(found, args.reference, max_fds)]
        except FaultError as error:
            return Collected({"tasks": shown, "structures": structures, "reference": args.reference}, warnings,
                             f"PID {entry['pid']}: the open files are unreadable: {error}")
        entry["sockets"] = [dict(asdict(found), structs=_structures(prog, found) if structures else None)
                            for found in sockets]
    return Collected({"tasks": shown, "structures": structures, "reference": args.reference}, warnings)


def _referenced(found: net.OpenSocket, reference: Optional[str], max_fds: Optional[int] = None) -> bool:
    """Whether -R's REF names this socket, as crash's dump_sockets_workhorse and sym_socket_dump
    read it against the task's descriptor table: a decimal number up to its ``max_fds`` (any, when
    that is not known) is a descriptor; any other number hexadecimal, the socket's or the sock's
    address or a descriptor."""
    if reference is None:
        return True
    if reference.isdigit() and (max_fds is None or int(reference) <= max_fds):
        return int(reference) == found.fd
    try:
        value = int(reference, 16)
    except ValueError:
        raise PycoreError(f"net -R: not a descriptor or an address: {reference}") from None
    return value in (found.socket, found.sock, found.fd)


def _structures(prog: Program, found: net.OpenSocket) -> List[Dict[str, Any]]:
    """What crash's dump_struct prints for a socket: its ``struct socket`` and, where the socket has
    a sock, the sock as ``struct inet_sock`` (crash does so whatever the family), as struct's data."""
    from . import dump_command

    command = dump_command("struct")
    wanted = [("socket", found.socket)] + ([("inet_sock", found.sock)] if found.sock else [])
    dumps = []
    for name, address in wanted:
        parsed = make_parser(command).parse_args([name, f"{address:x}"])
        result = command.collect(prog, parsed)
        dumps.append({"arguments": [name, f"{address:x}"],
                      "data": result.data if isinstance(result, Collected) else result})
    return dumps


def socket_line(found: Dict[str, Any]) -> str:
    """crash's sym_socket_dump() row (64-bit): descriptor, socket, sock, then get_sock_info()'s
    FAMILY:TYPE and, for AF_INET and AF_INET6, ``ADDRESS-PORT`` local and remote (an IPv6
    address as its eight 16-bit groups in hexadecimal, none elided: ``0:0:0:0:0:ffff:7f00:1``)."""
    family = _FAMILIES.get(found["family"], str(found["family"]))
    kind = _TYPES.get(found["type"], str(found["type"]))
    info = f"{family}:{kind} "
    if found["family"] == net.AF_INET:
        info += (f" {socket.inet_ntoa(found['source'])}-{found['source_port']} "
                 f"{socket.inet_ntoa(found['destination'])}-{found['destination_port']}")
    elif found["family"] == net.AF_INET6:
        info += (f"{_ipv6_groups(found['source'])}-{found['source_port']} "
                 f"{_ipv6_groups(found['destination'])}-{found['destination_port']}")
    return f"{found['fd']:2d} {found['socket']:16x} {found['sock']:16x} {info}"


def _ipv6_groups(address: bytes) -> str:
    return ":".join(f"{int.from_bytes(address[at:at + 2], 'big'):x}" for at in range(0, 16, 2))


def render_sockets(data: Dict[str, Any]) -> str:
    """crash's dump_sockets(): each task's header, its sockets under one table header (-S: each
    under its own FD/SOCKET/SOCK lines, then its structures), or ``No open sockets.``; an empty
    line between tasks.  With -R (crash's reference flags, kept across the tasks of one command):
    one task header, before the first task holding what REF names; each holder's sockets; and an
    empty line after every task from that first one on, holder or not."""
    if data.get("reference") is not None:
        lines: List[str] = []
        for entry in data["tasks"]:
            if entry["sockets"] and not lines:
                lines.append(task_header(entry["pid"], entry["task"], entry["cpu"], entry["comm"]))
            lines += _socket_lines(entry["sockets"], data.get("structures"))
            if lines:
                lines.append("")
        return "\n".join(lines) + "\n" if lines else ""
    blocks = []
    for entry in data["tasks"]:
        lines = [task_header(entry["pid"], entry["task"], entry["cpu"], entry["comm"])]
        lines += _socket_lines(entry["sockets"], data.get("structures")) or ["No open sockets."]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _socket_lines(sockets: List[Dict[str, Any]], structures: bool) -> List[str]:
    """One task's sockets: under one table header, or with -S each under its FD/SOCKET/SOCK lines
    and followed by its structures."""
    if not sockets:
        return []
    if not structures:
        return [_SOCKET_HEADER] + [socket_line(found) for found in sockets]
    lines: List[str] = []
    for number, found in enumerate(sockets):
        lines += ([""] if number else []) + [f"FD  {center('SOCKET', 16)}  {center('SOCK', 16)}",
                                             f"{found['fd']:2d}  {found['socket']:16x}  {found['sock']:16x}", ""]
        lines += [_struct_text(dump) for dump in found["structs"]]
    return lines


def _struct_text(dump: Dict[str, Any]) -> str:
    from . import dump_command

    command = dump_command("struct")
    return command.render(dump["data"], make_parser(command).parse_args(dump["arguments"])).rstrip("\n")


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    if "tasks" in data:
        return render_sockets(data)
    lines = [center("NET_DEVICE", 16) + "  NAME       IP ADDRESS(ES)"]
    for row in data["devices"]:
        addresses = ", ".join(row["ipv4"] + row["ipv6"])
        lines.append(f"{row['net_device']:16x}  {row['name']:<10} {addresses}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", dest="namespace_pid", type=int, default=0, metavar="PID",
                        help="the network namespace of this task (default: the initial one)")
    parser.add_argument("-s", dest="sockets", metavar="PID|TASK", nargs="*",
                        help="the open sockets of these tasks (default: the current context, the panic task)")
    parser.add_argument("-S", dest="structures", metavar="PID|TASK", nargs="*",
                        help="as -s, with each socket's struct socket and struct inet_sock")
    parser.add_argument("-R", dest="reference", metavar="REF",
                        help="with -s or -S: only the descriptor (decimal), socket or sock address (hex) REF")
    parser.add_argument("tasks", metavar="PID|TASK", nargs="*", help="with -s or -S: more tasks, after -R REF")


COMMAND = DumpCommand("net", add_arguments=add_arguments, collect=collect, render=render,
                      description="Network devices and their addresses, as crash's net prints them.")
