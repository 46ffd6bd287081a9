"""CPU masks (include/linux/cpumask.h): ``struct cpumask`` bitmaps, the kernel's online, possible
and present masks (``__cpu_*_mask`` variables since 4.5; pointers ``cpu_*_mask`` before) and
the cpulist text the kernel prints them as.
"""
from typing import TYPE_CHECKING, Iterator, List

from ..object import Object
from ..types.model import TypeKind
from .bitops import for_each_set_bit

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program


def nr_cpu_ids(prog: "Program") -> int:
    """``nr_cpu_ids``: one more than the highest possible CPU; 1 on a kernel without the symbol
    (a uniprocessor build)."""
    try:
        address = prog.symbols.by_name("nr_cpu_ids").address
    except LookupError:
        return 1
    return int.from_bytes(prog.read(address, 4), "little")


def _mask_pointer(prog: "Program", name: str) -> Object:
    """``&__cpu_<name>_mask`` (4.5+), else the ``cpu_<name>_mask`` pointer variable (before)."""
    for symbol, is_pointer in ((f"__cpu_{name}_mask", False), (f"cpu_{name}_mask", True)):
        if symbol in prog.symbols:
            address = prog.symbols.by_name(symbol).address
            if is_pointer:
                return Object(prog, "struct cpumask *", address=address).read_()
            return Object(prog, "struct cpumask *", address)
    raise LookupError(f"neither __cpu_{name}_mask nor cpu_{name}_mask is in {prog.symbols.source}")


def cpu_online_mask(prog: "Program") -> Object:
    """``struct cpumask *`` of the CPUs online when the dump was taken (a panic without kdump,
    smp_send_stop, takes the others offline)."""
    return _mask_pointer(prog, "online")


def cpu_possible_mask(prog: "Program") -> Object:
    """``struct cpumask *`` of the CPUs this boot could ever bring up."""
    return _mask_pointer(prog, "possible")


def cpu_present_mask(prog: "Program") -> Object:
    """``struct cpumask *`` of the CPUs present in the machine."""
    return _mask_pointer(prog, "present")


def cpumask_bits(mask: Object) -> List[int]:
    """The CPUs set in ``mask`` (``struct cpumask`` or pointer to one), below ``nr_cpu_ids``."""
    if mask.type_.resolved().kind is TypeKind.POINTER:
        mask = mask.dereference_()
    return list(for_each_set_bit(mask.bits, nr_cpu_ids(mask.prog_)))


def for_each_cpu(mask: Object) -> Iterator[int]:
    """Each CPU set in ``mask`` (``struct cpumask`` or pointer to one), lowest first."""
    return iter(cpumask_bits(mask))


def for_each_online_cpu(prog: "Program") -> Iterator[int]:
    """Each online CPU, lowest first."""
    return for_each_cpu(cpu_online_mask(prog))


def for_each_possible_cpu(prog: "Program") -> Iterator[int]:
    """Each possible CPU, lowest first."""
    return for_each_cpu(cpu_possible_mask(prog))


def for_each_present_cpu(prog: "Program") -> Iterator[int]:
    """Each present CPU, lowest first."""
    return for_each_cpu(cpu_present_mask(prog))


def cpumask_weight(mask: Object) -> int:
    """How many CPUs ``mask`` holds."""
    return len(cpumask_bits(mask))


def num_online_cpus(prog: "Program") -> int:
    """How many CPUs are online."""
    return cpumask_weight(cpu_online_mask(prog))


def num_possible_cpus(prog: "Program") -> int:
    """How many CPUs this boot could bring up."""
    return cpumask_weight(cpu_possible_mask(prog))


def num_present_cpus(prog: "Program") -> int:
    """How many CPUs are present."""
    return cpumask_weight(cpu_present_mask(prog))


def cpumask_to_cpulist(mask: Object) -> str:
    """``mask`` in the kernel's cpulist format (``0-3,8``), as /sys/devices/system/cpu/online."""
    parts: List[str] = []
    start = end = -2
    for cpu in for_each_cpu(mask):
        if cpu == end + 1:
            end = cpu
            continue
        if start >= 0:
            parts.append(str(start) if start == end else f"{start}-{end}")
        start = end = cpu
    if start >= 0:
        parts.append(str(start) if start == end else f"{start}-{end}")
    return ",".join(parts)


__all__ = ["nr_cpu_ids", "cpu_online_mask", "cpu_possible_mask", "cpu_present_mask", "cpumask_bits", "for_each_cpu",
           "for_each_online_cpu", "for_each_possible_cpu", "for_each_present_cpu", "cpumask_weight",
           "num_online_cpus", "num_possible_cpus", "num_present_cpus", "cpumask_to_cpulist"]
