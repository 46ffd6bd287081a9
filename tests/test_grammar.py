"""The kernel report grammar (pycore/analysis/grammar.py) on the line forms 2.6.18 to 7.x print: openers,
task lines with taint and release, the faulting location, call-trace frames, report bodies, oom lines."""
import pytest

from pycore.analysis.grammar import (OPENERS, TaskLine, TraceEntry, body_line_kind, continues_module_list,
                                     is_oops_followup, is_report_prelude, lock_site, oom_line, opener, panic_reason,
                                     parse_frame, parse_link, parse_rip, parse_task_line, parse_trace_entry,
                                     warning_location)


@pytest.mark.parametrize("line, kind", [
    ("Kernel panic - not syncing: Fatal exception in interrupt", "panic"),
    ("watchdog: BUG: soft lockup - CPU#2 stuck for 23s! [qemu-dm:3141]", "soft_lockup"),
    ("BUG: soft lockup detected on CPU#1!", "soft_lockup"),
    ("NMI watchdog: Watchdog detected hard LOCKUP on cpu 3", "hard_lockup"),
    ("INFO: task jbd2/dm-0-8:512 blocked for more than 120 seconds.", "hung_task"),
    ("INFO: rcu_sched self-detected stall on CPU", "rcu_stall"),
    ("BUG: unable to handle kernel NULL pointer dereference at 0000000000000008", "oops"),
    ("BUG: kernel NULL pointer dereference, address: 0000000000000008", "oops"),
    ("kernel BUG at fs/ext4/inode.c:2707!", "oops"),
    ("general protection fault: 0000 [#1] SMP", "oops"),
    ("Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP", "oops"),
    ("divide error: 0000 [#1] SMP", "oops"),
    ("Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP", "oops"),
    ("Unable to handle kernel paging request at virtual address dead000000000108", "oops"),
    ("WARNING: CPU: 5 PID: 0 at net/sched/sch_generic.c:468 dev_watchdog+0x258/0x260", "warning"),
    ("WARNING: at fs/xfs/xfs_aops.c:1244 xfs_vm_releasepage+0xcb/0x100 [xfs]()", "warning"),
    ("BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 31s!", "bug"),
    ("mysqld invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0", "oom"),
])
def test_each_report_is_opened_by_its_first_line(line, kind):
    found = opener(line)
    assert found is not None and found[0] == kind


@pytest.mark.parametrize("line", ["traps: a.out[4242] general protection fault ip:401136 sp:7ffd error:0",
                                  "ata1: SATA link up 6.0 Gbps", "Kernel Offset: 0x2c000000 from 0xffffffff81000000"])
def test_ordinary_lines_open_no_report(line):
    assert opener(line) is None


def test_openers_are_tried_most_specific_first():
    assert opener("BUG: soft lockup - CPU#0 stuck for 22s! [a:1]")[0] == "soft_lockup"
    assert opener("BUG: KASAN: use-after-free in foo+0x1/0x2")[0] == "oops"
    assert opener("BUG: KASAN: use-after-free in foo+0x1/0x2", ("bug",))[0] == "bug"
    assert OPENERS["warning"].search("WARNING: CPU: 1 PID: 2 at kernel/foo.c:3 bar+0x4/0x5")["at"] == "kernel/foo.c:3"


def test_panic_reason_and_oops_followups():
    assert panic_reason("  Kernel panic - not syncing: sysrq triggered crash ") == "sysrq triggered crash"
    assert panic_reason("---[ end Kernel panic - not syncing: x ]---") is None
    assert all(is_oops_followup(line) for line in ("#PF: supervisor read access in kernel mode", "PGD 0 P4D 0",
                                                   "Oops: 0000 [#1] SMP", "IP: [<ffffffff81350f46>] f+0x1/0x2"))
    assert not is_oops_followup("Modules linked in: foo")


@pytest.mark.parametrize("line, task", [
    ("CPU: 3 PID: 4711 Comm: kworker/3:1 Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2",
     TaskLine(4711, "kworker/3:1", 3, "G           OE", "6.1.0-56-cloud-amd64")),
    ("CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 6.12.117+deb13-cloud-amd64 #1",
     TaskLine(1, "init", 0, "", "6.12.117+deb13-cloud-amd64")),
    ("CPU: 2 PID: 30127 Comm: qemu-kvm Kdump: loaded Tainted: G             L ------------   3.10.0-862.el7.x86_64 #1",
     TaskLine(30127, "qemu-kvm", 2, "G             L ------------", "3.10.0-862.el7.x86_64")),
    ("CPU: 1 PID: 99 Comm: Web Content Tainted: G        W  5.4.0 #1",
     TaskLine(99, "Web Content", 1, "G        W", "5.4.0")),
    ("Pid: 2843, comm: java Not tainted 2.6.32-431.el6.x86_64 #1",
     TaskLine(2843, "java", None, "", "2.6.32-431.el6.x86_64")),
    ("Pid: 3029, comm: modprobe Tainted: P (2.6.26.8 #1)", TaskLine(3029, "modprobe", None, "P", "2.6.26.8")),
    ("Pid: 12027, comm: apache2 Not tainted #1", TaskLine(12027, "apache2")),
    ("Process bash (pid: 2932, threadinfo ffff88021da84000, task ffff88021d450ab0)", TaskLine(2932, "bash")),
])
def test_task_lines_of_every_era(line, task):
    assert parse_task_line(line) == task


def test_lines_without_a_task_have_none():
    assert parse_task_line("WARNING: CPU: 1 PID: 1234 at kernel/foo.c:3 bar+0x4/0x5") is None
    assert parse_task_line("Hardware name: QEMU Standard PC") is None


@pytest.mark.parametrize("line, location, module", [
    ("RIP: 0010:foo_handler+0x2a/0x90 [foo]", "foo_handler+0x2a/0x90", "foo"),
    ("RIP: 0010:[<ffffffff8e113f2e>]  [<ffffffff8e113f2e>] smp_call_function_many+0x20e/0x270",
     "smp_call_function_many+0x20e/0x270", None),
    ("IP: [<ffffffff81350f46>] sysrq_handle_crash+0x16/0x20", "sysrq_handle_crash+0x16/0x20", None),
    ("EIP: 0060:[<c04e1d7e>] ext3_get_inode_loc+0x1e/0x30 EFLAGS: 00010246", "ext3_get_inode_loc+0x1e/0x30", None),
    ("pc : __handle_sysrq.cold+0x44/0x11c", "__handle_sysrq.cold+0x44/0x11c", None),
    ("PC is at do_exit+0x12/0x340", "do_exit+0x12/0x340", None),
])
def test_the_faulting_location_in_each_architecture_and_era(line, location, module):
    rip = parse_rip(line)
    assert (rip.location, rip.module) == (location, module)


def test_a_user_space_rip_names_no_kernel_function():
    assert parse_rip("RIP: 0033:0x7f3c4f8e1b8d") is None


@pytest.mark.parametrize("line, function, reliable", [
    ("  xenvif_tx_action+0x4f/0x2e0 [xen_netback]", "xenvif_tx_action", True),
    ("  ? __die+0x20/0x70", "__die", False),
    (" [<ffffffff8109a1b2>] do_exit+0x12/0x340", "do_exit", True),
    (" [<ffffffff810f5f54>] ? oom_kill_process+0xd4/0x2f0", "oom_kill_process", False),
    (" ? [<ffffffff810f5f54>] oom_kill_process+0xd4/0x2f0", "oom_kill_process", False),
])
def test_frames_old_and_new_reliable_or_guessed(line, function, reliable):
    frame = parse_frame(line)
    assert (frame.function, frame.reliable) == (function, reliable)


def test_frame_keeps_offset_size_and_module():
    frame = parse_frame("  xenvif_tx_action+0x4f/0x2e0 [xen_netback]")
    assert (frame.offset, frame.size, frame.module) == (0x4f, 0x2e0, "xen_netback")
    assert frame.text == "xenvif_tx_action+0x4f/0x2e0 [xen_netback]"


@pytest.mark.parametrize("line, kind", [
    ("Call Trace:", "call_trace"), (" <IRQ>", "stack_marker"), ("Code: 48 8b 43 08 <48> 8b 40 08", "code"),
    ("RAX: 0000000000000000 RBX: ffff9d4b8a2e0000", "registers"), ("---[ end trace 0000000000000000 ]---", "trace_end"),
    ("Hardware name: Xen HVM domU, BIOS 4.11 01/01/2020", "context"), ("  ? __die+0x20/0x70", "frame"),
    ("CPU: 3 PID: 1 Comm: init Not tainted 6.1.0 #1", "task"),
])
def test_report_body_lines_by_kind(line, kind):
    assert body_line_kind(line) == kind


@pytest.mark.parametrize("line, kind", [
    ("Mem-Info:", "mem_info"),
    ("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,task=mysqld,pid=1876,uid=27",
     "oom_kill"),
    ("Out of memory: Killed process 1876 (mysqld) total-vm:4718592kB, anon-rss:3613640kB", "select"),
    ("Out of memory: Kill process 13218 (apache2) score 106 or sacrifice child", "select"),
    ("Memory cgroup out of memory: Killed process 4411 (python3) total-vm:1234kB", "select"),
    ("Killed process 13218 (apache2) total-vm:1193444kB, anon-rss:418352kB, file-rss:152kB", "killed"),
    ("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name", "task_header"),
    ("[   1876]    27  1876  1179648   903410  7372800   120000             0 mysqld", "task_row"),
    ("Node 0 Normal free:44676kB min:44704kB low:55880kB high:67056kB", "zone"),
    ("Node 0 Normal: 23*4kB (UME) 1*8kB (U) = 44676kB", "buddy"),
    ("Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB", "hugepages"),
    ("1048446 pages RAM", "pages"), ("Free swap  = 0kB", "swap"),
    ("memory: usage 524288kB, limit 524288kB, failcnt 1234", "memcg_usage"),
    ("oom_reaper: reaped process 1876 (mysqld), now anon-rss:0kB", "reaper"),
])
def test_oom_report_lines_by_kind(line, kind):
    found = oom_line(line)
    assert found is not None and found[0] == kind


@pytest.mark.parametrize("line, kind, fields", [
    ("BUG: KASAN: slab-use-after-free in __list_add_valid_or_report+0x16a/0x1a0", "kasan",
     {"bug": "slab-use-after-free", "function": "__list_add_valid_or_report"}),
    ("BUG: KASan: use after free in tfw_http_msg_free+0x2c9/0x340 [tempesta_fw] at addr ffff880d59947040", "kasan",
     {"bug": "use after free", "function": "tfw_http_msg_free"}),
    ("BUG: KASAN: double-free or invalid-free in kfree+0x1/0x2", "kasan", {"bug": "double-free or invalid-free"}),
    ("BUG: KMSAN: kernel-infoleak in instrument_copy_to_user include/linux/instrumented.h:114 [inline]", "kmsan",
     {"bug": "kernel-infoleak", "function": "instrument_copy_to_user"}),
    ("BUG: KCSAN: data-race in __execlists_submission_tasklet [i915] / __execlists_submission_tasklet [i915]",
     "kcsan", {"first": "__execlists_submission_tasklet", "second": "__execlists_submission_tasklet"}),
    ("BUG: KFENCE: use-after-free read in spa_read_history_add+0xe8/0x200 [zfs]", "kfence",
     {"bug": "use-after-free read", "function": "spa_read_history_add"}),
    ("UBSAN: array-index-out-of-bounds in drivers/net/wireless/foo.c:12:3", "ubsan",
     {"bug": "array-index-out-of-bounds"}),
    ("UBSAN: Undefined behaviour in fs/ext4/super.c:3957:25", "ubsan", {"bug": "Undefined behaviour"}),
    ("WARNING: possible circular locking dependency detected", "lockdep", {}),
    ("[ INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected ]", "lockdep", {}),
    ("WARNING: suspicious RCU usage", "lockdep", {"what": "suspicious RCU usage"}),
    ("unreferenced object 0xffff8881192f9a40 (size 64):", "kmemleak", {}),
    ("refcount_t: underflow; use-after-free.", "refcount", {"what": "underflow; use-after-free"}),
    ("BUG: sleeping function called from invalid context at kernel/locking/mutex.c:281", "sleeping",
     {"at": "kernel/locking/mutex.c:281"}),
    ("BUG: scheduling while atomic: irq/151-hisi_sa/503/0x00000004", "atomic_schedule", {}),
    ("list_add corruption. prev->next should be next (ffff8880), but was 0000000000000000.", "list_corruption",
     {"op": "list_add"}),
    ("BUG: stack guard page was hit at 000000005b13312d (stack is 00000000a1a685f7..00000000fe4e891f)",
     "stack_overflow", {}),
])
def test_the_debugging_reports_are_opened_by_their_first_line(line, kind, fields):
    match = OPENERS[kind].search(line)
    assert match is not None
    assert {key: match[key] for key in fields} == fields


def test_the_debugging_openers_leave_opener_its_2_6_to_6_x_answers():
    assert opener("BUG: KASAN: use-after-free in foo+0x1/0x2")[0] == "oops"
    assert opener("BUG: KASAN: use-after-free in foo+0x1/0x2", ("kasan",))[0] == "kasan"


def test_a_warning_line_names_its_location_in_both_forms():
    old = OPENERS["warning"].search("WARNING: CPU: 1 PID: 5830 at fs/inode.c:336 drop_nlink+0xc4/0x110")
    new = OPENERS["warning"].search("WARNING: lib/refcount.c:28 at refcount_warn_saturate+0xf4/0x144, "
                                    "CPU#5: kworker/u32:3/75")
    assert warning_location(old) == ("fs/inode.c:336", "drop_nlink")
    assert warning_location(new) == ("lib/refcount.c:28", "refcount_warn_saturate")


@pytest.mark.parametrize("line, entry", [
    (" dump_stack+0x107/0x163 lib/dump_stack.c:120", TraceEntry("dump_stack")),
    (" __dump_stack lib/dump_stack.c:79 [inline]", TraceEntry("__dump_stack", inline=True)),
    ("    [<ffffffff815fa6f3>] kmemleak_alloc_recursive include/linux/kmemleak.h:42 [inline]",
     TraceEntry("kmemleak_alloc_recursive", inline=True)),
    ("  nwl_unmask_leg_irq (drivers/pci/controller/pcie-xilinx-nwl.c:389 (discriminator 1))",
     TraceEntry("nwl_unmask_leg_irq")),
    ("  refcount_warn_saturate+0xf4/0x144 (P)", TraceEntry("refcount_warn_saturate")),
    ("  drm_sched_fence_release_scheduled+0xe0/0xe4 [gpu_sched]", TraceEntry("drm_sched_fence_release_scheduled",
                                                                               "gpu_sched")),
    (" ? __pfx_udf_rmdir+0x10/0x10", TraceEntry("__pfx_udf_rmdir", reliable=False)),
    ("[<c00213a4>] (dump_backtrace+0x0/0x10c) from [<c0021544>] (show_stack+0x18/0x1c)",
     TraceEntry("dump_backtrace")),
    ("kmemleak:     [<ffffffa542e14c94>] sg_kmalloc+0x1c/0x68", TraceEntry("sg_kmalloc")),
])
def test_stack_entries_of_every_printer(line, entry):
    assert parse_trace_entry(line) == entry


@pytest.mark.parametrize("line", ["Read of size 8 at addr ffff888012acfc20 by task syz-executor311/9489",
                                  "CPU: 0 UID: 0 PID: 9489 Comm: syz-executor311 Not tainted 6.15.0-rc1 #1",
                                  "hex dump (first 32 bytes):", "Call Trace:"])
def test_lines_that_are_no_stack_entry(line):
    assert parse_trace_entry(line) is None


def test_lockdep_lock_lines_name_where_the_lock_was_taken():
    assert lock_site("000000000199d5d7 (&bdev->bd_mutex){+.+.}, at: blkdev_reread_part+0x1e/0x40") == \
        "blkdev_reread_part"
    assert lock_site(" (&(&r->consumer_lock)->rlock){+.+...}, at: [<ffffffff82df4347>] tun_device_event+0x897/0xc70") \
        == "tun_device_event"
    assert lock_site("ffff8880 (&xa->xa_lock#9){+.?.}-{2:2}, at: spin_lock include/linux/spinlock.h:354 [inline]") \
        is None


def test_report_preludes():
    assert all(is_report_prelude(line) for line in ("------------[ cut here ]------------", "=" * 66,
                                                    "BUG: memory leak"))
    assert not is_report_prelude("BUG: memory leak in foo")


def test_arm64_fault_descriptions_are_report_lines_and_lr_names_the_caller():
    assert all(body_line_kind(line) == "fault" for line in (
        "Mem abort info:", "  ESR = 0x0000000096000004", "  EC = 0x25: DABT (current EL), IL = 32 bits",
        "Data abort info:", "  ISV = 0, ISS = 0x00000004, ISS2 = 0x00000000",
        "user pgtable: 4k pages, 48-bit VAs, pgdp=000000010af63000",
        "[0000000000000000] pgd=0000000000000000, p4d=0000000000000000"))
    assert parse_link("lr : rproc_start+0x88/0x1e0").function == "rproc_start"
    assert parse_link("LR is at do_exit+0x1c/0x340").function == "do_exit"
    assert parse_link("pc : rproc_start+0x88/0x1e0") is None


def test_a_module_list_split_by_syslog_continues_on_the_next_line():
    first = "Modules linked in: cpufreq_stats fuse ip_set nfnetlink bridge stp llc intel_rapl vfat crct10d"
    assert continues_module_list(first, " soundcore tpm_tis tpm acpi_pad xfs libcrc32c i915 nvidia(PO) dr")
    assert not continues_module_list(first, "CPU: 0 PID: 0 Comm: swapper/0 Tainted: G        W       4.5.5")
    assert not continues_module_list("Call Trace:", " soundcore tpm_tis tpm")
