"""``pycore sys DUMP``: the system at the time of the crash, as crash's ``sys`` shows it."""
import argparse
from typing import Any, Dict, Optional

from ..kernel.system import FIXED_1, system_info
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import ctime_utc, load_text, memory_size_text, panic_text, uptime_text


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    """The report, and one error line naming the lines a dump cut short could not fill."""
    info = report(system_info(prog))
    unreadable = info["unreadable"]
    if not unreadable:
        return Collected(info, [])
    first = next(iter(unreadable.values()))
    names = ", ".join(_LINES.get(key, key) for key in unreadable)
    return Collected(info, [], f"{names} unreadable: {first}")


# The line of each value system_info may find unreadable.
_LINES = {"jiffies": "UPTIME", "utsname": "NODENAME, RELEASE, VERSION, MACHINE", "memory_bytes": "MEMORY",
          "tainted_mask": "KERNEL [TAINTED]", "date": "DATE", "load_average": "LOAD AVERAGE", "tasks": "TASKS",
          "mhz": "MACHINE (Mhz)"}
UNREADABLE = "(unreadable)"


def report(info: Dict[str, Any]) -> Dict[str, Any]:
    """:func:`pycore.kernel.system.system_info` with crash's texts beside the values they show
    (``date_text``, ``uptime``, ``load_average_text``, ``memory``); load averages as numbers.
    A value the dump lacks is None, and so is its text."""
    date, loads, memory = info["date"], info["load_average"], info["memory_bytes"]
    uptime = info["kernel_uptime_seconds"] if info["kernel_uptime_seconds"] is not None else info["uptime_seconds"]
    texts = {
        "date_text": ctime_utc(date) if date is not None else None,
        # The kernel's own HZ where the dump tells it: crash guesses HZ, and its guess (1000) is wrong on
        # Debian's 6.12 and 7.2 (250), minutes off a machine that ran seconds.
        "uptime": uptime_text(uptime) if uptime is not None else None,
        "load_average": [value / FIXED_1 for value in loads] if loads is not None else None,
        "load_average_text": ", ".join(load_text(value) for value in loads) if loads is not None else None,
        "memory": memory_size_text(memory) if memory is not None else None,
    }
    order = ("kernel", "tainted_mask", "symbols", "types", "dumpfile", "partial_dump", "cpus", "offline_cpus",
             "date", "date_text", "jiffies", "hz", "kernel_hz", "uptime_seconds", "uptime", "kernel_uptime_seconds",
             "load_average", "load_average_text", "tasks", "nodename", "release", "version", "machine", "mhz",
             "memory_bytes", "memory", "panic", "panic_error", "unreadable")
    return {key: texts[key] if key in texts else info[key] for key in order}


def kernel_text(info: Dict[str, Any]) -> str:
    """crash prints the vmlinux path; without one, say where symbols and types came from."""
    if info["kernel"]:
        return info["kernel"]
    return f"(no vmlinux: symbols from {info['symbols']}, types from {info['types']})"


def render(info: Dict[str, Any], args: Optional[argparse.Namespace] = None) -> str:
    """crash's ``sys`` lines from :func:`report`."""
    cpus = f"{info['cpus']}" + (f" [OFFLINE: {info['offline_cpus']}]" if info["offline_cpus"] else "")
    mhz = f"({info['mhz']} Mhz)" if info["mhz"] else "(unknown Mhz)"
    unreadable = info.get("unreadable") or {}
    value = {key: UNREADABLE if info[key] is None else info[key]
             for key in ("uptime", "load_average_text", "tasks", "nodename", "release", "version", "machine", "memory")}
    lines = [
        f"      KERNEL: {kernel_text(info)}" + ("  [TAINTED]" if info["tainted_mask"] else ""),
        f"    DUMPFILE: {info['dumpfile']}" + ("  [PARTIAL DUMP]" if info["partial_dump"] else ""),
        f"        CPUS: {cpus}",
        f"        DATE: {info['date_text'] or (UNREADABLE if 'date' in unreadable else '(unknown)')}",
        f"      UPTIME: {value['uptime']}",
        f"LOAD AVERAGE: {value['load_average_text']}",
        f"       TASKS: {value['tasks']}",
        f"    NODENAME: {value['nodename']}",
        f"     RELEASE: {value['release']}",
        f"     VERSION: {value['version']}",
        f"     MACHINE: {value['machine']}  {mhz}",
        f"      MEMORY: {value['memory']}",
        f"       PANIC: {panic_text(info['panic'])}",
    ]
    return "\n".join(lines)


COMMAND = DumpCommand("sys", add_arguments=lambda parser: None, collect=collect, render=render, values_only=True)
