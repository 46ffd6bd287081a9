"""drgn's ``drgn.helpers.linux.percpu``: per-CPU variables (:mod:`pycore.object`) and per-CPU
counters (:mod:`pycore.kernel.percpu`, summed over the online CPUs as drgn and the kernel do)."""
from ...kernel.percpu import percpu_counter_sum, percpu_counter_sum_positive
from ...object import per_cpu, per_cpu_ptr

__all__ = ["per_cpu", "per_cpu_ptr", "percpu_counter_sum", "percpu_counter_sum_positive"]
