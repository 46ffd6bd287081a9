"""Types of well-known kernel globals, for debug info that does not describe variables.

BTF describes only per-CPU variables, so pycore's helpers look the rest up here.
Each global lists the spellings it has had, newest first; the first one the type
index can resolve wins (``totalram_pages`` became atomic_long_t in 5.0, printk's
``log_buf`` family disappeared in 5.10 when ``prb`` arrived).
"""
from typing import Dict, Optional, Tuple

from .model import Type, TypeIndex, TypeNotFoundError

KNOWN_GLOBALS: Dict[str, Tuple[str, ...]] = {
    # tasks, scheduler, CPUs
    "init_task": ("struct task_struct",),
    "runqueues": ("struct rq",),                        # per-CPU
    "current_task": ("struct task_struct *",),          # per-CPU, x86 before 6.2
    "pcpu_hot": ("struct pcpu_hot",),                   # per-CPU, x86 6.2+
    "cpu_number": ("int",),                             # per-CPU
    "__per_cpu_offset": ("unsigned long []",),          # NR_CPUS entries
    "nr_cpu_ids": ("unsigned int", "int"),              # int before 4.19
    "__cpu_online_mask": ("struct cpumask",),
    "__cpu_possible_mask": ("struct cpumask",),
    "__cpu_present_mask": ("struct cpumask",),
    "__cpu_active_mask": ("struct cpumask",),
    "cpu_online_mask": ("const struct cpumask *",),     # a variable only before 4.5; a macro since
    "cpu_possible_mask": ("const struct cpumask *",),
    "init_pid_ns": ("struct pid_namespace",),
    "init_nsproxy": ("struct nsproxy",),
    "init_uts_ns": ("struct uts_namespace",),
    # crash and panic state
    "panic_cpu": ("atomic_t",),
    "crashing_cpu": ("int",),
    "crash_notes": ("note_buf_t *", "u32 *"),           # __percpu pointer
    "oops_in_progress": ("int",),
    "panic_on_oops": ("int",),
    "sysctl_panic_on_oom": ("int",),
    "sysctl_oom_kill_allocating_task": ("int",),
    "tainted_mask": ("unsigned long",),
    "system_state": ("enum system_states",),
    "saved_command_line": ("char *",),
    "linux_banner": ("const char []",),
    "vmcoreinfo_data": ("unsigned char *",),
    # RCU (Tree RCU: kernel/rcu/tree.c; a kernel built with TINY_RCU has no rcu_state)
    "rcu_state": ("struct rcu_state",),
    # time
    "jiffies": ("volatile unsigned long",),
    "jiffies_64": ("u64", "unsigned long long"),
    # printk: the lockless ring buffer (5.10+) and the old log_buf (before 5.10)
    "prb": ("struct printk_ringbuffer *",),
    "printk_rb_static": ("struct printk_ringbuffer",),
    "printk_rb_dynamic": ("struct printk_ringbuffer",),
    "log_buf": ("char *",),
    "log_buf_len": ("u32", "int"),
    "log_first_idx": ("u32",),
    "log_next_idx": ("u32",),
    "log_first_seq": ("u64",),
    "log_next_seq": ("u64",),
    "clear_seq": ("struct latched_seq", "u64"),           # latched since 5.13
    "clear_idx": ("u32",),
    # memory
    "init_mm": ("struct mm_struct",),
    "root_mem_cgroup": ("struct mem_cgroup *",),
    "node_data": ("struct pglist_data *[]",),           # MAX_NUMNODES entries
    "contig_page_data": ("struct pglist_data",),        # !CONFIG_NUMA
    "node_states": ("nodemask_t []",),
    "mem_section": ("struct mem_section **", "struct mem_section *[]"),  # SPARSEMEM_EXTREME or not
    "mem_map": ("struct page *",),                      # FLATMEM
    "vm_zone_stat": ("atomic_long_t []",),
    "vm_node_stat": ("atomic_long_t []",),
    "vm_numa_event": ("atomic_long_t []",),             # 5.14+
    "vm_numa_stat": ("atomic_long_t []",),              # 4.14 to 5.13
    "totalram_pages": ("atomic_long_t", "unsigned long"),
    "_totalram_pages": ("atomic_long_t",),
    "totalreserve_pages": ("unsigned long",),
    "nr_swap_pages": ("atomic_long_t",),
    "total_swap_pages": ("long",),
    "vm_committed_as": ("struct percpu_counter",),
    "max_pfn": ("unsigned long",),
    "high_memory": ("void *",),
    "page_offset_base": ("unsigned long",),
    "vmalloc_base": ("unsigned long",),
    "vmemmap_base": ("unsigned long",),
    "phys_base": ("unsigned long",),
    "vmap_area_list": ("struct list_head",),
    "vmap_area_root": ("struct rb_root",),
    "slab_caches": ("struct list_head",),
    # modules and file systems
    "modules": ("struct list_head",),
    "super_blocks": ("struct list_head",),
}


def global_type(index: TypeIndex, name: str) -> Optional[Type]:
    """Type of the global ``name``: what the debug info says, else the table above, else None.

    ``index.variable_type`` answers first (DWARF knows every variable, BTF the
    per-CPU ones); the table's spellings are resolved through ``index.find``.
    """
    found = index.variable_type(name)
    if found is not None:
        return found
    for spelling in KNOWN_GLOBALS.get(name, ()):
        try:
            return index.find(spelling)
        except TypeNotFoundError:
            continue
    return None
