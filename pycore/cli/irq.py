"""``pycore irq DUMP -s``: crash 9's ``irq -s``, each IRQ in use with its count on every CPU, its
chip and flow, and the names of its actions (:func:`pycore.kernel.irq.interrupts`)."""
import argparse
from dataclasses import asdict
from typing import Any, Dict

from ..kernel import irq, sched
from ..program import Program
from .command import DumpCommand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", dest="stats", action="store_true", required=True,
                        help="the interrupts of every CPU, as /proc/interrupts shows them")


def collect(prog: Program, args: argparse.Namespace) -> Dict[str, Any]:
    return {"cpus": sched.nr_cpus(prog), "interrupts": [asdict(entry) for entry in irq.interrupts(prog)]}


def render(data: Dict[str, Any], args: argparse.Namespace) -> str:
    """crash's generic_show_interrupts(): counts in ten columns, the chip right-aligned in eight and
    ``-flow`` left-aligned in eight after it."""
    lines = ["     " + "".join("%10s " % f"CPU{cpu}" for cpu in range(data["cpus"]))]
    for entry in data["interrupts"]:
        chip = "" if entry["chip"] is None else "%8s" % entry["chip"]
        flow = "" if entry["flow"] is None or entry["chip"] is None else "-%-8s" % entry["flow"]
        lines.append("%3d: " % entry["irq"] + "".join("%10d " % count for count in entry["counts"]) + chip + flow
                     + " " + ",".join(entry["actions"]))
    return "\n".join(lines)


COMMAND = DumpCommand("irq", add_arguments=add_arguments, collect=collect, render=render,
                      description="interrupts per CPU, as crash 9's irq -s prints them")
