"""The timer wheel (kernel/time/timer.c, 4.8+): each CPU's ``struct timer_base``s in the per-CPU
``timer_bases[]`` and the ``struct timer_list``s hashed on their ``vectors[]`` hlists, as crash 9's
``timer`` walks them.

4.8-6.8 have two bases per CPU with CONFIG_NO_HZ_COMMON (BASE_STD, BASE_DEF); 6.9+ three (BASE_LOCAL,
BASE_GLOBAL, BASE_DEF).  crash shows the first two, naming them BASE_STD and BASE_DEF whatever the kernel.
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, List

from ..object import Object, hlist_for_each_entry
from .sched import nr_cpus
from .variables import kernel_variable, symbol_address

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program


@dataclass
class Timer:
    """One pending ``struct timer_list``: where it is, when it expires (jiffies), its callback."""

    address: int
    expires: int
    function: int


@dataclass
class TimerBase:
    """One ``struct timer_base`` of a CPU (``index`` into that CPU's ``timer_bases[]``) and its
    timers in vector order, each vector's list in list order."""

    cpu: int
    index: int
    address: int
    timers: List[Timer]


def jiffies(prog: "Program") -> int:
    """``jiffies``: the tick count at the crash."""
    return kernel_variable(prog, "jiffies")


def crash_base_count(prog: "Program") -> int:
    """How many bases of each CPU crash 9 lists: two when the kernel migrates timers
    (``sysctl_timer_migration``, CONFIG_NO_HZ_COMMON), else one."""
    return 2 if symbol_address(prog, "sysctl_timer_migration") is not None else 1


def timer_bases(prog: "Program", bases: int) -> List[TimerBase]:
    """The first ``bases`` timer bases of every CPU (crash's count: :func:`crash_base_count`) with
    their pending timers."""
    base_type = prog.type("struct timer_base")
    timer_type = prog.type("struct timer_list")
    first = prog.symbols.by_name("timer_bases").address
    found = []
    for cpu in range(nr_cpus(prog)):
        per_cpu = (first + prog.per_cpu_offset(cpu)) & ((1 << 64) - 1)
        for index in range(bases):
            address = per_cpu + index * base_type.size
            base = Object(prog, base_type, address=address)
            timers = [Timer(int(timer), int(timer.expires), int(timer.function))
                      for vector in base.vectors
                      for timer in hlist_for_each_entry(timer_type, vector.address_of_(), "entry")]
            found.append(TimerBase(cpu, index, address, timers))
    return found
