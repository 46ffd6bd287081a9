"""Per-CPU addresses (``__per_cpu_offset``, every SMP kernel) and per-CPU counters
(lib/percpu_counter.c, every kernel): ``struct percpu_counter``'s ``count`` plus each CPU's not
yet folded-in ``s32`` delta in ``counters``.
"""
from typing import TYPE_CHECKING, Iterable, List, Optional, Sequence

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
    return percpu_counter_sums([counter], cpus, skip_unreadable)[0]


def percpu_counter_sums(counters: Sequence[Object], cpus: Optional[Iterable[int]] = None,
                        skip_unreadable: bool = False) -> List[int]:
    """:func:`percpu_counter_sum` of each of ``counters`` (one or more, of one program) over the
    same CPUs.  Where their deltas lie within one page of a CPU's area, one read of that page
    gives them all: an mm's ``rss_stat[]`` (6.2+) is one allocation from 6.5
    (percpu_counter_init_many), and separate allocations of one size usually share a chunk's page."""
    prog = counters[0].prog_
    totals = [int(counter.count) for counter in counters]
    deltas = [int(counter.counters) for counter in counters]
    low = min(deltas)
    span = max(deltas) + 4 - low
    for cpu in for_each_online_cpu(prog) if cpus is None else cpus:
        start = per_cpu_address(prog, low, cpu)
        if (start & 4095) + span <= 4096:
            try:
                area = prog.read(start, span)
            except FaultError:
                pass  # the page is not whole in the dump: read each delta alone, as below
            else:
                for index, delta in enumerate(deltas):
                    totals[index] += int.from_bytes(area[delta - low:delta - low + 4], "little", signed=True)
                continue
        for index, delta in enumerate(deltas):
            try:
                raw = prog.read(per_cpu_address(prog, delta, cpu), 4)
            except FaultError:
                if skip_unreadable:
                    continue
                raise
            totals[index] += int.from_bytes(raw, "little", signed=True)
    return totals


def percpu_counter_sum_positive(counter: Object, cpus: Optional[Iterable[int]] = None) -> int:
    """:func:`percpu_counter_sum`, or 0 when that is negative (a counter read mid-update)."""
    return max(percpu_counter_sum(counter, cpus), 0)


__all__ = ["per_cpu_address", "percpu_counter_sum", "percpu_counter_sums", "percpu_counter_sum_positive"]
