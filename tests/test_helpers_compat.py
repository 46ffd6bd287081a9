"""A drgn script runs under pycore by renaming its imports: the same script, run by drgn 0.3.0 and
by pycore (with the vmlinux, and with BTF and kallsyms only) on every corpus dump, gives the same
answers: tasks by PID, states, CPUs, cgroups, the pid idr, modules, CPUs, the log, mounts, VMAs,
red-black trees, page and slab facts.  Skips without drgn or the vmlinux."""
import pytest

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases

SCRIPT = '''
from {package} import FaultError
from {package}.helpers.linux import *
from {package}.helpers.linux.pid import find_task, for_each_task
from {package}.helpers.linux.sched import task_state_to_char, task_cpu, get_task_state
from {package}.helpers.linux.cgroup import cgroup_path
from {package}.helpers.linux.idr import idr_for_each, idr_find
from {package}.helpers.linux.list import list_for_each_entry, list_count_nodes, list_first_entry, list_empty
from {package}.helpers.linux.cpumask import for_each_online_cpu, for_each_possible_cpu, cpumask_to_cpulist
from {package}.helpers.linux.cpumask import cpu_online_mask
from {package}.helpers.linux.percpu import per_cpu
from {package}.helpers.linux.rbtree import rbtree_inorder_for_each_entry, rb_first
from {package}.helpers.linux.xarray import xa_load
from {package}.helpers.linux.radixtree import radix_tree_lookup
from {package}.helpers.linux.printk import get_dmesg, get_printk_records
from {package}.helpers.linux.mm import for_each_vma, page_to_pfn, virt_to_page, PageSlab, PageLRU, pfn_to_page
from {package}.helpers.linux.fs import for_each_mount, mount_dst, mount_fstype, d_path, for_each_file
from {package}.helpers.linux.pid import for_each_task_in_group
from {package}.helpers.linux.mapletree import mt_for_each
from {package}.helpers.linux.kernfs import kernfs_path
from {package}.helpers.linux.user import for_each_user, find_user
from {package}.helpers.linux.boot import kaslr_offset, pgtable_l5_enabled
from {package}.helpers.linux.panic import panic_task, panic_message, tainted
from {package}.helpers.linux.nodemask import for_each_online_node
from {package}.helpers.linux.vmstat import nr_free_pages, global_node_page_state
from {package}.helpers.linux.net import for_each_netdev, netdev_name, netdev_ipv4_addrs, netdev_ipv6_addrs
from {package}.helpers.linux.net import netdev_get_by_name
from {package}.helpers.linux.module import find_module, address_to_module, module_address_regions
from {package}.helpers.linux.kthread import task_is_kthread
from {package}.helpers.linux.sched import loadavg, task_rq, task_thread_info, task_on_cpu, cpu_rq
from {package}.helpers.linux.sched import task_since_last_arrival_ns, rq_for_each_fair_task, rq_for_each_rt_task
from {package}.helpers.linux.bitops import for_each_set_bit
from {package}.helpers.linux.sched import sched_entity_is_task, sched_entity_to_task
from {package}.helpers.linux.block import for_each_disk, disk_name
from {package}.helpers.linux.device import MAJOR, MINOR, MKDEV, dev_name
from {package}.helpers.linux.swap import for_each_swap_info
from {package}.helpers.linux.ipc import for_each_sysv_shm, for_each_sysv_sem_array, for_each_sysv_msg_queue
from {package}.helpers.linux.mm import cmdline, follow_phys, follow_page, access_process_vm, totalram_pages
from {package}.helpers.linux.mm import vmalloc_to_page, in_direct_map

out = []
out.append(("boot", kaslr_offset(prog), pgtable_l5_enabled(prog), panic_task(prog).value_(), panic_message(prog),
            tainted(prog), list(for_each_online_node(prog)), nr_free_pages(prog), loadavg(prog),
            list(for_each_set_bit(cpu_online_mask(prog).bits, 64)),
            global_node_page_state(prog, prog["NR_FILE_PAGES"])))
for disk in for_each_disk(prog):
    devt = MKDEV(disk.major.value_(), disk.first_minor.value_())
    device = disk.part0.bd_device.address_of_() if hasattr(disk.part0, "bd_device") else None  # 5.11+
    out.append(("disk", disk.value_(), disk_name(disk), MAJOR(devt), MINOR(devt), device and dev_name(device)))
out.append(("swap", [si.value_() for si in for_each_swap_info(prog)]))
out.append(("ipc", [x.value_() for x in for_each_sysv_shm(prog)], [x.value_() for x in for_each_sysv_sem_array(prog)],
            [x.value_() for x in for_each_sysv_msg_queue(prog)]))
for user in for_each_user(prog):
    out.append(("user", user.uid.val.value_(), find_user(prog, user.uid).value_()))
for dev in for_each_netdev(prog):
    out.append(("netdev", netdev_name(dev), netdev_ipv4_addrs(dev), netdev_ipv6_addrs(dev),
                netdev_get_by_name(prog, netdev_name(dev)).value_()))
for task in for_each_task(prog):
    pid = task.pid.value_()
    assert find_task(prog, pid).value_() == task.value_()
    out.append(("task", pid, task.comm.string_(), task_state_to_char(task), get_task_state(task), task_cpu(task),
                cgroup_path(task.cgroups.dfl_cgrp), task_is_kthread(task), task_rq(task).value_(),
                task_thread_info(task).value_(), task_on_cpu(task), task_since_last_arrival_ns(task)))
pids = prog["init_pid_ns"].idr.address_of_()
for nr, entry in idr_for_each(pids):
    out.append(("pid", nr, entry.value_(), idr_find(pids, nr).value_()))
    out.append(("radix", radix_tree_lookup(prog["init_pid_ns"].idr.idr_rt.address_of_(), nr - 1).value_()))
modules = prog["modules"].address_of_()
out.append(("modules", list_count_nodes(modules), list_empty(modules)))
for module in list_for_each_entry("struct module", modules, "list"):
    regions = [region for region in module_address_regions(module) if region[1]]
    out.append(("module", module.name.string_(), find_module(prog, module.name.string_()).value_(), regions,
                address_to_module(prog, regions[0][0] + 1).value_()))
if not list_empty(modules):
    out.append(("first module", list_first_entry(modules, "struct module", "list").name.string_()))
out.append(("cpus", list(for_each_online_cpu(prog)), list(for_each_possible_cpu(prog)),
            cpumask_to_cpulist(cpu_online_mask(prog))))
for cpu in for_each_online_cpu(prog):
    rq = per_cpu(prog["runqueues"], cpu)
    out.append(("rq", cpu, rq.curr.pid.value_(), rq.nr_running.value_(),
                [t.value_() for t in rq_for_each_fair_task(cpu_rq(prog, cpu))],
                [t.value_() for t in rq_for_each_rt_task(cpu_rq(prog, cpu))]))
    for se in rbtree_inorder_for_each_entry("struct sched_entity", rq.cfs.tasks_timeline.rb_root.address_of_(),
                                            "run_node"):
        out.append(("cfs", cpu, se.value_(), sched_entity_is_task(se), sched_entity_to_task(se).value_()))
dmesg = get_dmesg(prog)
out.append(("dmesg", len(dmesg), dmesg[-300:], len(get_printk_records(prog))))
for mnt in for_each_mount(prog):
    out.append(("mount", mount_dst(mnt), mount_fstype(mnt), d_path(mnt.mnt.address_of_(), mnt.mnt.mnt_root)))
init = find_task(prog, 1)
for vma in for_each_vma(init.mm):
    out.append(("vma", vma.vm_start.value_(), vma.vm_end.value_(), vma.vm_flags.value_()))
    try:  # a page the process never touched is not mapped: both raise FaultError
        out.append(("follow", follow_phys(init.mm, vma.vm_start).value_(), follow_page(init.mm, vma.vm_start).value_(),
                    access_process_vm(init, vma.vm_start, 32)))
    except FaultError:
        out.append(("follow", None))
for task in for_each_task(prog):
    try:  # a dump that left user pages out (the large guest's -d 31): both raise FaultError
        out.append(("cmdline", cmdline(task)))
    except FaultError:
        out.append(("cmdline", None))
linux_banner = prog.symbol("linux_banner").address
out.append(("memory", totalram_pages(prog), vmalloc_to_page(prog, linux_banner).value_(),
            in_direct_map(prog, linux_banner), in_direct_map(prog, init.value_())))
for fd, file in for_each_file(init):
    out.append(("fd", fd, d_path(file.f_path.address_of_())))
for task in for_each_task(prog):
    threads = [t.pid.value_() for t in for_each_task_in_group(task, include_self=True)]
    out.append(("group", task.pid.value_(), threads))
if hasattr(init.mm, "mm_mt"):  # 6.1+: the VMAs in a maple tree
    for first, last, entry in mt_for_each(init.mm.mm_mt.address_of_()):
        out.append(("maple", first, last, entry.value_()))
out.append(("kernfs", kernfs_path(init.cgroups.dfl_cgrp.kn)))
page = virt_to_page(prog, init.value_())
out.append(("page", page.value_(), page_to_pfn(page).value_(), PageSlab(page), PageLRU(page),
            pfn_to_page(prog, page_to_pfn(page)).value_()))
'''


def run(package: str, prog) -> list:
    """The script with its imports naming ``package``, run on ``prog``: what it collected."""
    scope = {"prog": prog}
    exec(compile(SCRIPT.format(package=package), f"<drgn script for {package}>", "exec"), scope)
    return scope["out"]


CASES = vmlinux_cases()


@pytest.mark.real
@pytest.mark.parametrize("with_vmlinux", [True, False], ids=["vmlinux", "btf"])
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_a_drgn_script_gives_drgns_answers_after_renaming_its_imports(case, with_vmlinux):
    theirs = run("drgn", drgn_program(case))
    ours = run("pycore", pycore_program(case, with_vmlinux))
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        assert mine == reference
    kinds = {entry[0] for entry in ours}
    assert {"task", "pid", "cpus", "dmesg", "mount", "vma", "page", "fd", "group", "boot", "user", "netdev", "swap",
            "ipc"} <= kinds


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_slab_helpers_answer_as_drgns(case):
    """find_slab_cache, slab_object_info and the allocated objects of task_struct and kmalloc-64.
    Where CPUs are offline (the QEMU case's CPU 0) drgn counts the objects on those CPUs'
    lockless freelists as allocated (it reads only online CPUs' kmem_cache_cpu); pycore, like
    crash, reads every possible CPU's, so those objects are free.  7.x's sheaves: objects in a CPU's
    sheaves or a node's barn are free, as drgn counts them."""
    from drgn.helpers.linux import slab as drgn_slab

    from pycore.helpers.linux import cpumask, pid, slab
    from pycore.kernel import slab as kernel_slab

    prog, reference = pycore_program(case, False), drgn_program(case)
    assert [int(c) for c in slab.for_each_slab_cache(prog)] == \
        [c.value_() for c in drgn_slab.for_each_slab_cache(reference)]
    assert slab.find_slab_cache(prog, "no such cache") is None
    offline = set(cpumask.for_each_possible_cpu(prog)) - set(cpumask.for_each_online_cpu(prog))
    for name in ("task_struct", "kmalloc-64"):
        cache = slab.find_slab_cache(prog, name)
        assert int(cache) == drgn_slab.find_slab_cache(reference, name).value_()
        theirs = {o.value_() for o in drgn_slab.slab_cache_for_each_allocated_object(
            drgn_slab.find_slab_cache(reference, name), "void")}
        ours = {int(o) for o in slab.slab_cache_for_each_allocated_object(cache, "void")}
        assert ours <= theirs
        if ours != theirs:  # only where CPUs are offline (per-CPU slabs: 5.10 to 6.x)
            cpu_free = {o.address for c in kernel_slab.cache_slabs(prog, int(cache)).cpus
                        if c.cpu in offline and c.slab for o in c.slab.objects if o.free}
            assert offline and theirs - ours <= cpu_free
        for address in sorted(ours)[:8]:
            info = slab.slab_object_info(prog, address + 8)
            other = drgn_slab.slab_object_info(reference, address + 8)
            assert (int(info.slab_cache), int(info.slab), info.address, info.allocated) == \
                (other.slab_cache.value_(), other.slab.value_(), other.address, other.allocated)
    info = slab.slab_object_info(prog, int(pid.find_task(prog, 1)))
    assert info.slab_cache.name.string_() == b"task_struct" and info.allocated
    assert slab.slab_object_info(prog, prog.symbols.by_name("init_task").address) is None


# A script written for ``drgn -c vmcore script.py``: no imports, drgn's names are there.
RUN_SCRIPT = '''
import sys
print(sys.argv[1:])
print(prog["nr_threads"].value_(), prog["max_threads"].value_(), prog["avenrun"].value_())
for task in for_each_task(prog):
    print(task.pid.value_(), task_state_to_char(task), task.comm.string_().decode(), task_cpu(task))
print(sizeof(prog["init_task"]), find_task(prog, 1).comm.string_(), cast("long", prog["jiffies"]).value_())
for cpu in for_each_online_cpu(prog):
    print(cpu, cpu_curr(prog, cpu).pid.value_())
'''


def drgn_cli_names(prog) -> dict:
    """What ``drgn -c vmcore`` gives a script: prog, drgn's names and every Linux helper."""
    scope = {"prog": prog}
    exec("from drgn import *\nfrom drgn.helpers.common import *\nfrom drgn.helpers.linux import *", scope)
    return scope


@pytest.mark.real
@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_pycore_run_prints_what_drgn_prints_for_a_drgn_script(case, tmp_path, capsys):
    """``pycore run DUMP script.py`` (dump only) against the script run as drgn's CLI runs it, with
    the vmlinux: the same namespace without imports, the same output line by line."""
    import contextlib
    import io
    import sys

    from pycore.cli import main

    script = tmp_path / "tasks.py"
    script.write_text(RUN_SCRIPT)
    theirs = io.StringIO()
    saved_argv, sys.argv = sys.argv, [str(script), "-v", "x"]
    try:
        with contextlib.redirect_stdout(theirs):
            names = dict(drgn_cli_names(drgn_program(case)), __name__="__main__")
            exec(compile(RUN_SCRIPT, str(script), "exec"), names)
    finally:
        sys.argv = saved_argv
    capsys.readouterr()
    assert main(["run", case.path(case.reference_dump), str(script), "-v", "x"]) == 0
    ours = capsys.readouterr()
    assert ours.err == ""
    assert ours.out.splitlines() == theirs.getvalue().splitlines()
    assert len(ours.out.splitlines()) > 20
