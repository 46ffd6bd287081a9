"""Per-CPU addresses (``__per_cpu_offset``, every SMP kernel) and per-CPU counters
(lib/percpu_counter.c, every kernel): ``struct percpu_counter``'s ``count`` plus each CPU's not
yet folded-in ``s32`` delta in ``counters``.
"""
from typing import TYPE_CHECKING, Iterable, Optional

from ..errors import FaultError
from ..object import Object
from .cpumask import for_each_online_cpu

if TYPE_CHECKING:
    from ..program import Program

_MASK64 = (1 << 64) - 1


def per_cpu_address(prog: "Program", address: int, cpu: int) -> int:
    """The address of ``cpu``'s copy of the per-CPU symbol or ``__percpu`` pointer ``address``:
    plus ``__per_cpu_offset[cpu]``, wrapped to 64 bits.  x86_64 kernels up to 6.12 at least link
    per-CPU symbols as offsets from 0; 7.x's are not zero-based (kernel addresses), so the sum
    passes 2**64."""
    return (address + prog.per_cpu_offset(cpu)) & _MASK64


def percpu_counter_sum(counter: Object, cpus: Optional[Iterable[int]] = None,
                       skip_unreadable: bool = False) -> int:
    """The value of ``counter`` (``struct percpu_counter`` or pointer to one): ``count`` plus
    the delta of each CPU in ``cpus`` (default: the online CPUs, as the kernel's
    percpu_counter_sum).  With ``skip_unreadable``, a CPU whose delta the dump lacks counts 0
    instead of raising FaultError."""
    prog = counter.prog_
    total = int(counter.count)
    counters = int(counter.counters)
    for cpu in for_each_online_cpu(prog) if cpus is None else cpus:
        try:
            raw = prog.read(per_cpu_address(prog, counters, cpu), 4)
        except FaultError:
            if skip_unreadable:
                continue
            raise
        total += int.from_bytes(raw, "little", signed=True)
    return total


def percpu_counter_sum_positive(counter: Object, cpus: Optional[Iterable[int]] = None) -> int:
    """:func:`percpu_counter_sum`, or 0 when that is negative (a counter read mid-update)."""
    return max(percpu_counter_sum(counter, cpus), 0)


__all__ = ["per_cpu_address", "percpu_counter_sum", "percpu_counter_sum_positive"]
