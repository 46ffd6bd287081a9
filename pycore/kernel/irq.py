"""Interrupt descriptors (kernel/irq/irqdesc.c): each ``struct irq_desc`` with its actions, chip and
per-CPU counts, as crash 9's ``irq -s`` reads them.

Sparse IRQs (CONFIG_SPARSE_IRQ, every x86_64 distribution kernel) live in the ``irq_desc_tree``
radix tree (4.x-6.4, an XArray from 4.20) or the ``sparse_irqs`` maple tree (6.5+); the per-CPU
count is ``desc->kstat_irqs`` (an ``unsigned int``, 2.6.38+; the first member ``cnt`` of
``struct irqstat`` from 6.10).
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple

from ..errors import FaultError, MissingDebugInfoError
from ..object import Object
from .maple_tree import mt_for_each
from .percpu import per_cpu_address
from .sched import nr_cpus
from .variables import read_kernel_variable, symbol_address
from .xarray import radix_tree_for_each

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program


@dataclass
class Interrupt:
    """One IRQ with at least one action: its per-CPU counts, its chip's name and the descriptor's
    flow name (``desc->name``, "edge", "fasteoi"; None when unset), and its actions' names in order."""

    irq: int
    desc: int
    counts: List[int]
    chip: Optional[str]
    flow: Optional[str]
    actions: List[str]


def _string(prog: "Program", address: int, limit: int = 256) -> Optional[str]:
    """The C string at ``address``, None when the pointer is NULL or unreadable."""
    if not address:
        return None
    try:
        # Up to the end of the page: the next one may not be mapped.
        data = prog.read(address, min(limit, 4096 - address % 4096))
    except FaultError:
        return None
    return data.split(b"\0", 1)[0].decode("latin-1")


def irq_descs(prog: "Program") -> Iterator[Tuple[int, int]]:
    """(irq, address of its ``struct irq_desc``) for every allocated descriptor, by irq number."""
    address = symbol_address(prog, "sparse_irqs")
    if address is not None:
        tree = Object(prog, prog.type("struct maple_tree"), address=address)
        for first, _last, entry in mt_for_each(tree):
            yield first, entry
        return
    address = symbol_address(prog, "irq_desc_tree")
    if address is None:
        raise MissingDebugInfoError("sparse_irqs or irq_desc_tree: where the kernel keeps its IRQ "
                                    "descriptors (CONFIG_SPARSE_IRQ)")
    # radix_tree_root is a #define of struct xarray from 4.20: BTF knows only the xarray.
    try:
        root_type = prog.type("struct radix_tree_root")
    except LookupError:
        root_type = prog.type("struct xarray")
    root = Object(prog, root_type, address=address)
    for index, entry in radix_tree_for_each(root):
        yield index, int(entry)


def interrupts(prog: "Program") -> List[Interrupt]:
    """Every IRQ that has an action, as ``irq -s`` lists them: those below ``nr_irqs`` where the
    image has the variable (7.x keeps it static)."""
    limit = read_kernel_variable(prog, "nr_irqs", 4)
    desc_type = prog.type("struct irq_desc")
    action_type = prog.type("struct irqaction")
    cpus = range(nr_cpus(prog))
    found = []
    for irq, address in irq_descs(prog):
        if limit is not None and irq >= limit:
            break
        desc = Object(prog, desc_type, address=address)
        action = desc.action
        if not int(action):
            continue
        counts_base = int(desc.kstat_irqs)
        counts = [int.from_bytes(prog.read(per_cpu_address(prog, counts_base, cpu), 4), "little")
                  for cpu in cpus]
        chip = int(desc.irq_data.chip)
        names = []
        seen = set()
        while int(action) and int(action) not in seen:
            seen.add(int(action))
            name = _string(prog, int(action.name))
            if name is not None:
                names.append(name)
            action = Object(prog, action_type, address=int(action)).next
        found.append(Interrupt(irq, address, counts,
                               _string(prog, int(Object(prog, prog.type("struct irq_chip"), address=chip).name))
                               if chip else None,
                               _string(prog, int(desc.name)), names))
    return found
