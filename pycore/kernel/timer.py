"""The timer wheel (kernel/time/timer.c, 4.8+): each CPU's ``struct timer_base``s in the per-CPU
``timer_bases[]`` and the ``struct timer_list``s hashed on their ``vectors[]`` hlists, as crash 9's
``timer`` walks them; and the high-resolution timers of each CPU's ``hrtimer_bases`` (``timer -r``).

4.8-6.8 have two bases per CPU with CONFIG_NO_HZ_COMMON (BASE_STD, BASE_DEF); 6.9+ three (BASE_LOCAL,
BASE_GLOBAL, BASE_DEF).  crash shows the first two, naming them BASE_STD and BASE_DEF whatever the kernel.
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

from ..object import Object, hlist_for_each_entry
from .percpu import per_cpu_address
from .rbtree import rbtree_inorder_addresses
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
        per_cpu = per_cpu_address(prog, first, cpu)
        for index in range(bases):
            address = per_cpu + index * base_type.size
            base = Object(prog, base_type, address=address)
            timers = [Timer(int(timer), int(timer.expires), int(timer.function))
                      for vector in base.vectors
                      for timer in hlist_for_each_entry(timer_type, vector.address_of_(), "entry")]
            found.append(TimerBase(cpu, index, address, timers))
    return found


@dataclass
class Hrtimer:
    """One queued ``struct hrtimer``: its soft and hard expiry (ns on its clock) and callback."""

    address: int
    softexpires: int
    expires: int
    function: int


@dataclass
class HrtimerClockBase:
    """One ``struct hrtimer_clock_base`` of a CPU: its clock's ``get_time`` function (None from 7.x,
    which reads the clock by ``clockid``), its name in ``enum hrtimer_base_type``, its ``offset``
    from CLOCK_MONOTONIC (ns) and its timers, earliest first."""

    index: int
    address: int
    get_time: Optional[int]
    name: Optional[str]
    offset: int
    timers: List[Hrtimer]


@dataclass
class HrtimerCpuBase:
    """A CPU's ``struct hrtimer_cpu_base`` (per-CPU ``hrtimer_bases``) and its clock bases."""

    cpu: int
    address: int
    clocks: List[HrtimerClockBase]


def hrtimer_bases(prog: "Program") -> List[HrtimerCpuBase]:
    """Every CPU's high-resolution timers (kernel/time/hrtimer.c, 4.x-7.2): each clock base's
    ``active`` timerqueue (an ``rb_root_cached`` since 4.17) walked in order."""
    cpu_base_type = prog.type("struct hrtimer_cpu_base")
    clock_type = prog.type("struct hrtimer_clock_base")
    timer_type = prog.type("struct hrtimer")
    node_offset = timer_type.offsetof("node") + prog.type("struct timerqueue_node").offsetof("node")
    clocks_member = cpu_base_type.member("clock_base")
    count = (clocks_member.type.resolved().length or 0)
    first = prog.symbols.by_name("hrtimer_bases").address
    try:
        names = {value: name for name, value in prog.type("enum hrtimer_base_type").resolved().enumerators}
    except LookupError:
        names = {}
    found = []
    for cpu in range(nr_cpus(prog)):
        address = per_cpu_address(prog, first, cpu)
        clocks = []
        for index in range(count):
            base = Object(prog, clock_type, address=address + clocks_member.offset + index * clock_type.size)
            timers = []
            for node in rbtree_inorder_addresses(base.active.rb_root.address_of_()):
                timer = Object(prog, timer_type, address=node - node_offset)
                timers.append(Hrtimer(node - node_offset, int(timer._softexpires), int(timer.node.expires),
                                      int(timer.function)))
            get_time = int(base.get_time) if clock_type.has_member("get_time") else None
            clocks.append(HrtimerClockBase(index, base.address_, get_time, names.get(index), int(base.offset),
                                           timers))
        found.append(HrtimerCpuBase(cpu, address, clocks))
    return found
