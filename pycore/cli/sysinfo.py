"""``pycore sys DUMP``: the system at the time of the crash, as crash's ``sys`` shows it."""
import argparse
from typing import Any, Dict

from ..kernel.system import format_panic, system_info
from .common import add_dump_arguments, open_from_args
from .output import emit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sys", help="system data: CPUs, date, uptime, load, release, memory, panic")
    add_dump_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as prog:
        return emit(args, system_info(prog), render)


def kernel_text(info: Dict[str, Any]) -> str:
    """crash prints the vmlinux path; without one, say where symbols and types came from."""
    if info["kernel"]:
        return info["kernel"]
    return f"(no vmlinux: symbols from {info['symbols']}, types from {info['types']})"


def render(info: Dict[str, Any]) -> str:
    cpus = f"{info['cpus']}" + (f" [OFFLINE: {info['offline_cpus']}]" if info["offline_cpus"] else "")
    mhz = f"({info['mhz']} Mhz)" if info["mhz"] else "(unknown Mhz)"
    lines = [
        f"      KERNEL: {kernel_text(info)}",
        f"    DUMPFILE: {info['dumpfile']}" + ("  [PARTIAL DUMP]" if info["partial_dump"] else ""),
        f"        CPUS: {cpus}",
        f"        DATE: {info['date_text'] or '(unknown)'}",
        f"      UPTIME: {info['uptime']}",
        f"LOAD AVERAGE: {info['load_average_text']}",
        f"       TASKS: {info['tasks']}",
        f"    NODENAME: {info['nodename']}",
        f"     RELEASE: {info['release']}",
        f"     VERSION: {info['version']}",
        f"     MACHINE: {info['machine']}  {mhz}",
        f"      MEMORY: {info['memory']}",
        f"       PANIC: {format_panic(info['panic'])}",
    ]
    return "\n".join(lines)
