"""drgn's ``drgn.helpers.linux.cpumask``: CPU masks, from :mod:`pycore.kernel.cpumask`."""
from ...kernel.cpumask import (cpu_online_mask, cpu_possible_mask, cpu_present_mask, cpumask_to_cpulist,
                               cpumask_weight, for_each_cpu, for_each_online_cpu, for_each_possible_cpu,
                               for_each_present_cpu, num_online_cpus, num_possible_cpus, num_present_cpus)

__all__ = ["cpu_online_mask", "cpu_possible_mask", "cpu_present_mask", "cpumask_to_cpulist", "cpumask_weight",
           "for_each_cpu", "for_each_online_cpu", "for_each_possible_cpu", "for_each_present_cpu",
           "num_online_cpus", "num_possible_cpus", "num_present_cpus"]
