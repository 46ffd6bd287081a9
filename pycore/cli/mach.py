"""``pycore mach DUMP [-m] [-c] [-x|-d]``: crash 9's x86_64 ``mach``: the machine's memory, CPUs,
speed, HZ, kernel address bases and stacks; ``-m`` the e820 memory map, ``-c`` each CPU's
``struct cpuinfo_x86`` in gdb's print format (``-x``/``-d`` its radix)."""
import argparse
from dataclasses import asdict
from typing import Any, Dict, List, Optional

from ..errors import FaultError, PycoreError
from ..kernel import machine, sched
from ..program import Program
from .command import Collected, DumpCommand
from .crashfmt import memory_size_text
from .gdbfmt import format_value, symbolizer, value_tree

# crash's names of the e820 types it knows (x86_64.c e820type[] and the two it adds).
E820_TYPES = {0: "(invalid type)", 1: "E820_RAM", 2: "E820_RESERVED", 3: "E820_ACPI", 4: "E820_NVS",
              5: "E820_UNUSABLE", 12: "E820_PRAM", 128: "E820_RESERVED_KERN"}
MEMMAP_HEADER = "      PHYSICAL ADDRESS RANGE         TYPE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", dest="memmap", action="store_true", help="the e820 physical memory map")
    parser.add_argument("-c", dest="cpu_data", action="store_true", help="each CPU's struct cpuinfo_x86")
    parser.add_argument("-x", dest="hex", action="store_true", help="-c's numbers in hexadecimal")
    parser.add_argument("-d", dest="decimal", action="store_true", help="-c's numbers in decimal")
    parser.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)  # crash takes no argument and ignores any


def collect(prog: Program, args: argparse.Namespace) -> Collected:
    if args.hex and args.decimal:
        raise PycoreError("-d and -x are mutually exclusive")
    data: Dict[str, Any] = {}
    warnings: List[str] = []
    try:
        if args.memmap:
            data["memmap"] = [asdict(entry) for entry in machine.e820_table(prog)]
        if args.cpu_data:
            data["cpu_data"] = cpu_data(prog)
            failed = next((cpu for cpu in data["cpu_data"] if cpu["value"]["kind"] == "error"), None)
            if failed is not None:  # crash's dump_struct stops at memory it cannot read
                where = failed["value"].get("address")
                return Collected(data, warnings, failed["value"]["message"] if where is None else
                                 f"invalid kernel virtual address: {where:#x}")
        if not args.memmap and not args.cpu_data:
            data["machine"] = info = machine.machine_info(prog)
            warnings += [f"CPU {cpu}: the dump lacks its IRQ stack pointer" for cpu, base in
                         enumerate(info["irq_stacks"]) if base is None]
            data["exception_stacks"] = [asdict(stack) for stack in machine.exception_stacks(prog, info["cpus"])]
    except FaultError as error:
        return Collected(data, warnings, str(error))
    return Collected(data, warnings)


def cpu_data(prog: Program) -> List[Dict[str, Any]]:
    """Each CPU's ``struct cpuinfo_x86`` as gdb's value tree (``cpu`` None: crash's BOOT CPU)."""
    symbolize = symbolizer(prog)
    return [{"cpu": cpu, "address": int(obj.address_), "value": value_tree(obj, symbolize)}
            for cpu, obj in machine.cpu_info_objects(prog, sched.nr_cpus(prog))]


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    lines: List[str] = []
    if "memmap" in data:
        lines += memmap_lines(data["memmap"])
    if "cpu_data" in data:
        radix = 16 if args.hex else 10
        for index, cpu in enumerate(data["cpu_data"]):
            if cpu["value"]["kind"] == "error":
                break
            head = "BOOT CPU:" if cpu["cpu"] is None else f"CPU {cpu['cpu']}:"
            lines += ([""] if index else []) + [head]
            lines += ("struct cpuinfo_x86 " + format_value(cpu["value"], radix=radix)).split("\n")
    if "machine" in data:
        lines += machine_lines(data["machine"], data.get("exception_stacks"))
    return "\n".join(lines)


def memmap_lines(entries: List[Dict[str, int]]) -> List[str]:
    """crash's ``mach -m``: each e820 range and its type's name (``type N`` for one it does not know,
    N as C's ``%d`` of the unsigned type)."""
    lines = [MEMMAP_HEADER]
    for entry in entries:
        end = (entry["addr"] + entry["size"]) & ((1 << 64) - 1)
        kind = entry["type"]
        name = E820_TYPES.get(kind, f"type {kind - (1 << 32) if kind >= 1 << 31 else kind}")
        lines.append(f"{entry['addr']:016x} - {end:016x}  {name}")
    return lines


def machine_lines(info: Dict[str, Any], stacks: Optional[List[Dict[str, Any]]]) -> List[str]:
    """crash's ``mach`` lines (x86_64_display_machine_stats): labels right-aligned to 22 columns."""
    cpus = f"{info['cpus']}" + (f" [OFFLINE: {info['offline_cpus']}]" if info["offline_cpus"] else "")
    lines = [f"          MACHINE TYPE: {info['machine']}",
             f"           MEMORY SIZE: {memory_size_text(info['memory_bytes'])}",
             f"                  CPUS: {cpus}"]
    if info["hypervisor"] is not None and info["hypervisor"] != "bare hardware":
        lines.append(f"            HYPERVISOR: {info['hypervisor']}")
    lines += [f"       PROCESSOR SPEED: " + (f"{info['mhz']} Mhz" if info["mhz"] else "(unknown)"),
              f"                    HZ: {info['hz']}",
              f"             PAGE SIZE: {info['page_size']}",
              f"   KERNEL VIRTUAL BASE: {info['kernel_virtual_base']:x}",
              f"   KERNEL VMALLOC BASE: {info['vmalloc_base']:x}"]
    if info["vmemmap_base"] is not None:
        lines.append(f"   KERNEL VMEMMAP BASE: {info['vmemmap_base']:x}")
    lines += [f"      KERNEL START MAP: {info['start_kernel_map']:x}",
              f"   KERNEL MODULES BASE: {info['modules_base']:x}",
              f"     KERNEL STACK SIZE: {info['kernel_stack_size']}",
              f"        IRQ STACK SIZE: {info['irq_stack_size']}",
              "            IRQ STACKS:"]
    # crash prints 0 for a CPU whose IRQ stack pointer it could not read; a warning says which.
    lines += [f"{f'CPU {cpu}':>22}: {base or 0:016x}" for cpu, base in enumerate(info["irq_stacks"])]
    for stack in stacks or []:
        lines += [f"{stack['name']:>11} STACK SIZE: {stack['size']}", f"{stack['name'] + ' STACKS:':>23}"]
        lines += [f"{f'CPU {cpu}':>22}: {base:016x}" + ("" if available else " [unavailable]")
                  for cpu, (base, available) in enumerate(zip(stack["bases"], stack["available"]))]
    return lines


COMMAND = DumpCommand("mach", add_arguments=add_arguments, collect=collect, render=render,
                      description="The machine: memory, CPUs, kernel address bases and stacks, the e820 map (-m), "
                                  "each CPU's cpuinfo_x86 (-c), as crash's mach prints them.")
