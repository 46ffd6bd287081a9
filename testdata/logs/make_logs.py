"""Write the text-log fixtures for the trouble and oom tests.

Two sources: excerpts copied verbatim from the user documents in
../shared/seeds (a hosting provider's console guide, a forum OOM thread,
kdump slides), and logs written here by hand in the formats real kernels
print, one per kernel era or failure kind. Run: python3 testdata/logs/make_logs.py
"""
import argparse
import sys
from pathlib import Path
from typing import Callable, List

HERE = Path(__file__).resolve().parent
DEFAULT_SEEDS = HERE.parents[2] / "shared" / "seeds"


def between(text: str, first: str, last: str) -> str:
    """The lines from the one starting with ``first`` to the next starting with ``last``, inclusive."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(last))
    return "\n".join(lines[start:end + 1]) + "\n"


def fenced_log(text: str, first: str, last: str) -> str:
    """Lines of the fenced (```) blocks from the line starting with ``first`` to the line that is
    exactly ``last``, without the fences and the blank lines between slides."""
    lines, inside, taking, out = text.splitlines(), False, False, []
    for line in lines:
        if line.strip().startswith("```"):
            inside = not inside
            continue
        if inside and line.startswith(first):
            taking = True
        if taking and inside and line.strip():
            out.append(line.rstrip())
            if line.strip() == last:
                break
    return "\n".join(out) + "\n"


def seed_logs(seeds: Path) -> dict:
    guide = (seeds / "console-trouble-guide.txt").read_text()
    forum = (seeds / "oom-autopsy-thread.txt").read_text()
    slides = (seeds / "kdump-vmcore-analysis-slides.txt").read_text()
    forum_lines = [line for line in forum.splitlines() if line.startswith("Jan 6 07:32:35 [hostname] kernel:")]
    return {
        "seed-forum-oom-2.6.32.log": "\n".join(forum_lines) + "\n",
        "seed-guide-oom.log": between(guide, "[4430031.262899]", "[4430031.531461]"),
        "seed-guide-disk.log": between(guide, "[20.610934]", "[37.841026]"),
        "seed-guide-softlockup.log": between(guide, "BUG: soft lockup detected", " ...blah"),
        "seed-guide-panic.log": between(guide, "[7402303.093024]", "[7402303.093024]"),
        "seed-guide-noise.log": between(guide, "TCP: Treason uncloaked", "TCP: Treason uncloaked")
        + between(guide, "IPT INPUT packet died", "IPT INPUT packet died"),
        "seed-slides-oops-2.6.32.log": fenced_log(slides, "BUG: unable to handle", "CR2: 0000000000000000"),
    }


def prefixed(prefix: Callable[[int], str], body: str) -> str:
    """Put a per-line prefix (syslog header, timestamp) in front of every line of ``body``."""
    return "".join(prefix(i) + line + "\n" for i, line in enumerate(body.strip("\n").splitlines()))


# --- 2.6.32 (RHEL 6), /var/log/messages, with a task table -------------------------------------
RHEL6_OOM = """\
java invoked oom-killer: gfp_mask=0x280da, order=0, oom_adj=0, oom_score_adj=0
java cpuset=/ mems_allowed=0
Pid: 2843, comm: java Not tainted 2.6.32-431.el6.x86_64 #1
Call Trace:
 [<ffffffff810d0211>] ? cpuset_print_task_mems_allowed+0x91/0xb0
 [<ffffffff811225c0>] ? dump_header+0x90/0x1b0
 [<ffffffff8122798c>] ? security_real_capable_noaudit+0x3c/0x70
 [<ffffffff81122a42>] ? oom_kill_process+0x82/0x2a0
 [<ffffffff81122981>] ? select_bad_process+0xe1/0x120
 [<ffffffff81122e80>] ? out_of_memory+0x220/0x3c0
 [<ffffffff8112f79f>] ? __alloc_pages_nodemask+0x89f/0x8d0
 [<ffffffff8116769a>] ? alloc_pages_vma+0x9a/0x150
 [<ffffffff81149f3d>] ? handle_pte_fault+0x73d/0xb00
 [<ffffffff8114a59a>] ? handle_mm_fault+0x22a/0x300
 [<ffffffff8104a8d8>] ? __do_page_fault+0x138/0x480
 [<ffffffff8152d45e>] ? do_page_fault+0x3e/0xa0
 [<ffffffff8152a815>] ? page_fault+0x25/0x30
Mem-Info:
Node 0 DMA per-cpu:
CPU    0: hi:    0, btch:   1 usd:   0
CPU    1: hi:    0, btch:   1 usd:   0
Node 0 DMA32 per-cpu:
CPU    0: hi:  186, btch:  31 usd:  30
CPU    1: hi:  186, btch:  31 usd:   0
Node 0 Normal per-cpu:
CPU    0: hi:  186, btch:  31 usd:  41
CPU    1: hi:  186, btch:  31 usd:  12
active_anon:853615 inactive_anon:93041 isolated_anon:0
 active_file:318 inactive_file:402 isolated_file:0
 unevictable:0 dirty:3 writeback:0 unstable:0
 free:21421 slab_reclaimable:5124 slab_unreclaimable:12877
 mapped:498 shmem:1024 pagetables:8371 bounce:0
Node 0 DMA free:15692kB min:60kB low:72kB high:88kB active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:15296kB mlocked:0kB dirty:0kB writeback:0kB mapped:0kB shmem:0kB slab_reclaimable:0kB slab_unreclaimable:0kB kernel_stack:0kB pagetables:0kB unstable:0kB bounce:0kB writeback_tmp:0kB pages_scanned:0 all_unreclaimable? yes
lowmem_reserve[]: 0 3000 4010 4010
Node 0 DMA32 free:60112kB min:11468kB low:14332kB high:17200kB active_anon:2402348kB inactive_anon:262000kB active_file:800kB inactive_file:1000kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:3072000kB mlocked:0kB dirty:8kB writeback:0kB mapped:1288kB shmem:2880kB slab_reclaimable:14124kB slab_unreclaimable:35140kB kernel_stack:336kB pagetables:23264kB unstable:0kB bounce:0kB writeback_tmp:0kB pages_scanned:3264 all_unreclaimable? yes
lowmem_reserve[]: 0 0 1010 1010
Node 0 Normal free:9880kB min:10856kB low:13568kB high:16284kB active_anon:1012112kB inactive_anon:110164kB active_file:472kB inactive_file:608kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:1034240kB mlocked:0kB dirty:4kB writeback:0kB mapped:704kB shmem:1216kB slab_reclaimable:6372kB slab_unreclaimable:16368kB kernel_stack:1712kB pagetables:10220kB unstable:0kB bounce:0kB writeback_tmp:0kB pages_scanned:1841 all_unreclaimable? yes
lowmem_reserve[]: 0 0 0 0
Node 0 DMA: 3*4kB 2*8kB 1*16kB 1*32kB 2*64kB 1*128kB 0*256kB 0*512kB 1*1024kB 1*2048kB 3*4096kB = 15692kB
Node 0 DMA32: 1562*4kB 681*8kB 388*16kB 211*32kB 96*64kB 31*128kB 9*256kB 3*512kB 1*1024kB 0*2048kB 5*4096kB = 60112kB
Node 0 Normal: 1736*4kB 239*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB 0*2048kB 0*4096kB = 9880kB
1744 total pagecache pages
0 pages in swap cache
Swap cache stats: add 524311, delete 524311, find 10232/12004
Free swap  = 0kB
Total swap = 2097144kB
1048560 pages RAM
34611 pages reserved
2417 pages shared
1004311 pages non-shared
[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name
[  512]     0   512     2731      102   1     -17         -1000 udevd
[ 1208]     0  1208    62271      614   0       0             0 rsyslogd
[ 1380]     0  1380    16652      197   1     -17         -1000 sshd
[ 1502]    27  1502   298510    12044   0       0             0 mysqld
[ 2711]    48  2711    51960     6010   1       0             0 httpd
[ 2712]    48  2712    51960     5985   0       0             0 httpd
[ 2843]   500  2843   866383   920001   1       0             0 java
Out of memory: Kill process 2843 (java) score 912 or sacrifice child
Killed process 2843, UID 500, (java) total-vm:3465532kB, anon-rss:3679200kB, file-rss:804kB
"""


def rhel6_oom() -> str:
    body = prefixed(lambda i: "Mar 14 03:12:07 db1 kernel: ", RHEL6_OOM)
    return ("Mar 14 03:11:58 db1 crond[3321]: (root) CMD (/usr/lib64/sa/sa1 1 1)\n" + body
            + "Mar 14 03:12:09 db1 abrt-hook-ccpp: Process 2843 (java) of user 500 killed by SIGKILL\n")


# --- 3.10 (RHEL 7), journalctl short format, hugepage pool, no swap -----------------------------
RHEL7_OOM = """\
node invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0
node cpuset=/ mems_allowed=0
CPU: 1 PID: 7731 Comm: node Kdump: loaded Not tainted 3.10.0-1160.el7.x86_64 #1
Hardware name: VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform, BIOS 6.00 12/12/2018
Call Trace:
 [<ffffffffa5581340>] dump_stack+0x19/0x1b
 [<ffffffffa557bfc8>] dump_header+0x90/0x229
 [<ffffffffa4fc254d>] oom_kill_process+0x2cd/0x490
 [<ffffffffa4fc2c3a>] out_of_memory+0x31a/0x500
 [<ffffffffa4fc9854>] __alloc_pages_nodemask+0xad4/0xbe0
 [<ffffffffa50193b8>] alloc_pages_current+0x98/0x110
 [<ffffffffa4fbe007>] __page_cache_alloc+0x97/0xb0
 [<ffffffffa4fc0fa0>] filemap_fault+0x270/0x420
 [<ffffffffc03b91be>] __xfs_filemap_fault+0x7e/0x1d0 [xfs]
 [<ffffffffc03b93bc>] xfs_filemap_fault+0x2c/0x30 [xfs]
 [<ffffffffa4fedf1a>] __do_fault.isra.61+0x8a/0x100
 [<ffffffffa4fee4cc>] do_read_fault.isra.63+0x4c/0x1b0
 [<ffffffffa4ff2ed0>] handle_mm_fault+0xa20/0xfb0
 [<ffffffffa558e653>] __do_page_fault+0x213/0x500
 [<ffffffffa558e975>] do_page_fault+0x35/0x90
 [<ffffffffa558a778>] page_fault+0x28/0x30
Mem-Info:
active_anon:1560411 inactive_anon:100262 isolated_anon:0
 active_file:0 inactive_file:1217 isolated_file:0
 unevictable:0 dirty:0 writeback:0 unstable:0
 slab_reclaimable:9644 slab_unreclaimable:18020
 mapped:1022 shmem:17280 pagetables:11906 bounce:0
 free:33230 free_pcp:118 free_cma:0
Node 0 DMA free:15908kB min:132kB low:164kB high:196kB active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:15992kB managed:15908kB mlocked:0kB dirty:0kB writeback:0kB mapped:0kB shmem:0kB slab_reclaimable:0kB slab_unreclaimable:0kB kernel_stack:0kB pagetables:0kB unstable:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB writeback_tmp:0kB pages_scanned:0 all_unreclaimable? yes
lowmem_reserve[]: 0 2829 7807 7807
Node 0 DMA32 free:76768kB min:24308kB low:30384kB high:36460kB active_anon:1901220kB inactive_anon:121068kB active_file:0kB inactive_file:1680kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:3129280kB managed:2897768kB mlocked:0kB dirty:0kB writeback:0kB mapped:1440kB shmem:27468kB slab_reclaimable:14928kB slab_unreclaimable:27440kB kernel_stack:2256kB pagetables:17904kB unstable:0kB bounce:0kB free_pcp:248kB local_pcp:120kB free_cma:0kB writeback_tmp:0kB pages_scanned:2484 all_unreclaimable? yes
lowmem_reserve[]: 0 0 4978 4978
Node 0 Normal free:40244kB min:42772kB low:53464kB high:64156kB active_anon:4340424kB inactive_anon:279980kB active_file:0kB inactive_file:3188kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:5242880kB managed:5098136kB mlocked:0kB dirty:0kB writeback:0kB mapped:2648kB shmem:41652kB slab_reclaimable:23648kB slab_unreclaimable:44640kB kernel_stack:4688kB pagetables:29720kB unstable:0kB bounce:0kB free_pcp:224kB local_pcp:0kB free_cma:0kB writeback_tmp:0kB pages_scanned:6203 all_unreclaimable? yes
lowmem_reserve[]: 0 0 0 0
Node 0 DMA: 1*4kB (U) 0*8kB 0*16kB 1*32kB (U) 2*64kB (U) 1*128kB (U) 1*256kB (U) 0*512kB 1*1024kB (U) 1*2048kB (M) 3*4096kB (M) = 15908kB
Node 0 DMA32: 782*4kB (UEM) 183*8kB (UEM) 107*16kB (UEM) 62*32kB (UEM) 30*64kB (UEM) 14*128kB (UM) 9*256kB (UM) 4*512kB (M) 3*1024kB (M) 2*2048kB (M) 13*4096kB (M) = 76768kB
Node 0 Normal: 5595*4kB (UEM) 1187*8kB (UEM) 211*16kB (UEM) 48*32kB (UEM) 12*64kB (UM) 3*128kB (U) 1*256kB (U) 0*512kB 0*1024kB 1*2048kB (M) 0*4096kB = 40244kB
Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB
Node 0 hugepages_total=512 hugepages_free=512 hugepages_surp=0 hugepages_size=2048kB
18497 total pagecache pages
0 pages in swap cache
Swap cache stats: add 0, delete 0, find 0/0
Free swap  = 0kB
Total swap = 0kB
2097018 pages RAM
0 pages HighMem/MovableOnly
82168 pages reserved
[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name
[  457]     0   457    13863      145      27        0         -1000 auditd
[  612]     0   612    59432     2410      52        0             0 rsyslogd
[  890]     0   890    28216      257      57        0         -1000 sshd
[ 1190]    27  1190   412302    98011     331        0             0 mysqld
[ 7731]  1001  7731  2030864  1512034    3802        0             0 node
[ 7802]  1001  7802   271003    20145     140        0             0 node
Out of memory: Kill process 7731 (node) score 912 or sacrifice child
Killed process 7731 (node), UID 1001, total-vm:8123456kB, anon-rss:6044000kB, file-rss:4136kB, shmem-rss:0kB
"""


def rhel7_oom() -> str:
    return (prefixed(lambda i: "Feb 02 14:05:51 app2 kernel: ", RHEL7_OOM)
            + "Feb 02 14:05:52 app2 systemd[1]: app.service: main process exited, code=killed, status=9/KILL\n")


# --- 4.4 (Ubuntu 16.04), dmesg, gfp_mask printed as bare hex ------------------------------------
def ubuntu_4_4_oom() -> str:
    head = """\
apache2 invoked oom-killer: gfp_mask=0x24201ca, order=0, oom_score_adj=0
apache2 cpuset=/ mems_allowed=0
CPU: 0 PID: 23120 Comm: apache2 Not tainted 4.4.0-21-generic #37-Ubuntu
Hardware name: Xen HVM domU, BIOS 4.2.amazon 05/12/2016
 0000000000000286 00000000e4a2c6a4 ffff88003c1d7a18 ffffffff813eab23
 ffff88003c1d7bf8 ffff88003d3bd280 ffff88003c1d7a88 ffffffff8120ad5e
Call Trace:
 [<ffffffff813eab23>] dump_stack+0x63/0x90
 [<ffffffff8120ad5e>] dump_header+0x5a/0x1c5
 [<ffffffff81192722>] oom_kill_process+0x202/0x3c0
 [<ffffffff81192b49>] out_of_memory+0x219/0x460
 [<ffffffff81198b38>] __alloc_pages_slowpath.constprop.88+0x938/0xad0
 [<ffffffff81198f56>] __alloc_pages_nodemask+0x286/0x2a0
 [<ffffffff811e41cd>] alloc_pages_current+0x8d/0x110
 [<ffffffff81188f5b>] __page_cache_alloc+0xab/0xc0
 [<ffffffff8118b6e0>] filemap_fault+0x160/0x440
 [<ffffffff812a2bd6>] ext4_filemap_fault+0x36/0x50
 [<ffffffff811b6d41>] __do_fault+0x81/0x170
 [<ffffffff811c3a85>] handle_mm_fault+0x1055/0x1a80
 [<ffffffff8106b547>] __do_page_fault+0x197/0x400
 [<ffffffff8106b7d2>] do_page_fault+0x22/0x30
 [<ffffffff818289b8>] page_fault+0x28/0x30
Mem-Info:
active_anon:224337 inactive_anon:6184 isolated_anon:0
 active_file:92 inactive_file:115 isolated_file:0
 unevictable:0 dirty:0 writeback:0 unstable:0
 slab_reclaimable:3521 slab_unreclaimable:4211
 mapped:1185 shmem:6460 pagetables:5270 bounce:0
 free:12229 free_pcp:62 free_cma:0
Node 0 DMA free:4508kB min:356kB low:444kB high:532kB active_anon:9628kB inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:15992kB managed:15908kB mlocked:0kB dirty:0kB writeback:0kB mapped:4kB shmem:128kB slab_reclaimable:32kB slab_unreclaimable:216kB kernel_stack:32kB pagetables:0kB unstable:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB writeback_tmp:0kB pages_scanned:0 all_unreclaimable? yes
lowmem_reserve[]: 0 944 944 944
Node 0 DMA32 free:44408kB min:21624kB low:27028kB high:32432kB active_anon:887720kB inactive_anon:24736kB active_file:368kB inactive_file:460kB unevictable:0kB isolated(anon):0kB isolated(file):0kB present:1032192kB managed:985244kB mlocked:0kB dirty:0kB writeback:0kB mapped:4736kB shmem:25712kB slab_reclaimable:14052kB slab_unreclaimable:16628kB kernel_stack:2656kB pagetables:21080kB unstable:0kB bounce:0kB free_pcp:248kB local_pcp:124kB free_cma:0kB writeback_tmp:0kB pages_scanned:5924 all_unreclaimable? yes
lowmem_reserve[]: 0 0 0 0
Node 0 DMA: 1*4kB (U) 1*8kB (U) 1*16kB (U) 0*32kB 2*64kB (U) 0*128kB 1*256kB (U) 0*512kB 0*1024kB 0*2048kB 1*4096kB (M) = 4508kB
Node 0 DMA32: 1476*4kB (UME) 805*8kB (UME) 412*16kB (UME) 160*32kB (UME) 62*64kB (UME) 20*128kB (UM) 6*256kB (UM) 2*512kB (M) 1*1024kB (M) 1*2048kB (M) 2*4096kB (M) = 44408kB
Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB
6667 total pagecache pages
0 pages in swap cache
Swap cache stats: add 0, delete 0, find 0/0
Free swap  = 0kB
Total swap = 0kB
262045 pages RAM
0 pages HighMem/MovableOnly
4637 pages reserved
0 pages cma reserved
0 pages hwpoisoned
[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name
[  402]     0   402     7165      410      18       3        0             0 systemd-journal
[  987]     0   987     7063      191      19       3        0         -1000 sshd
[ 1123]   112  1123   312004    61233     180       4        0             0 mysqld
"""
    workers = ""
    for n in range(19):
        pid = 23061 + n * 3
        rss = 7759 if pid == 23088 else 7759 + (n * 7) % 40      # 23088 is the victim below
        workers += f"[{pid:5d}]    33 {pid:5d}    97801     {rss:4d}      71       3        0             0 apache2\n"
    tail = """\
Out of memory: Kill process 23088 (apache2) score 31 or sacrifice child
Killed process 23088 (apache2) total-vm:391204kB, anon-rss:28932kB, file-rss:2104kB
"""
    stamps = iter(range(10**9))
    return prefixed(lambda i: f"[ 9341.{514023 + next(stamps) * 3:06d}] ", head + workers + tail)


# --- 5.4 (Ubuntu 20.04), journalctl -o short-iso, two reports ----------------------------------
def ubuntu_5_4_report(trigger: str, trigger_pid: int, victim_pid: int) -> str:
    return f"""\
{trigger} invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0
CPU: 1 PID: {trigger_pid} Comm: {trigger} Not tainted 5.4.0-150-generic #167-Ubuntu
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.13.0-1ubuntu1.1 04/01/2014
Call Trace:
 dump_stack+0x6d/0x8b
 dump_header+0x4f/0x1eb
 oom_kill_process.cold+0xb/0x10
 out_of_memory+0x1cf/0x500
 __alloc_pages_slowpath+0xdde/0xeb0
 __alloc_pages_nodemask+0x2d0/0x320
 alloc_pages_current+0x87/0xe0
 __page_cache_alloc+0x72/0x90
 pagecache_get_page+0xbf/0x300
 filemap_fault+0x6b2/0xa50
 ext4_filemap_fault+0x32/0x50
 __do_fault+0x3c/0x170
 do_fault+0x24b/0x640
 __handle_mm_fault+0x4c5/0x7a0
 handle_mm_fault+0xca/0x200
 do_user_addr_fault+0x1f9/0x450
 __do_page_fault+0x58/0x90
 do_page_fault+0x2c/0xe0
 page_fault+0x34/0x40
RIP: 0033:0x7f3c4f8e1b8d
Code: Bad RIP value.
RSP: 002b:00007f3c2effc5e0 EFLAGS: 00010246
RAX: 0000000000000000 RBX: 00007f3c2effc720 RCX: 00007f3c4f8e1b8d
Mem-Info:
active_anon:938843 inactive_anon:18712 isolated_anon:0
 active_file:130 inactive_file:101 isolated_file:0
 unevictable:0 dirty:0 writeback:0 unstable:0
 slab_reclaimable:8830 slab_unreclaimable:11916
 mapped:431 shmem:1187 pagetables:3781 bounce:0
 free:21101 free_pcp:209 free_cma:0
Node 0 active_anon:3755372kB inactive_anon:74848kB active_file:520kB inactive_file:404kB unevictable:0kB isolated(anon):0kB isolated(file):0kB mapped:1724kB dirty:0kB writeback:0kB shmem:4748kB shmem_thp: 0kB shmem_pmdmapped: 0kB anon_thp: 0kB writeback_tmp:0kB unstable:0kB all_unreclaimable? yes
Node 0 DMA free:15908kB min:268kB low:332kB high:396kB active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB writepending:0kB present:15992kB managed:15908kB mlocked:0kB kernel_stack:0kB pagetables:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB
lowmem_reserve[]: 0 2951 3887 3887
Node 0 DMA32 free:57120kB min:14620kB low:18272kB high:21924kB active_anon:2895312kB inactive_anon:58888kB active_file:404kB inactive_file:312kB unevictable:0kB writepending:0kB present:3129212kB managed:3043508kB mlocked:0kB kernel_stack:1456kB pagetables:11624kB bounce:0kB free_pcp:520kB local_pcp:272kB free_cma:0kB
lowmem_reserve[]: 0 0 936 936
Node 0 Normal free:11376kB min:11664kB low:14580kB high:17496kB active_anon:860060kB inactive_anon:15960kB active_file:116kB inactive_file:92kB unevictable:0kB writepending:0kB present:1048576kB managed:958784kB mlocked:0kB kernel_stack:2272kB pagetables:3500kB bounce:0kB free_pcp:316kB local_pcp:168kB free_cma:0kB
lowmem_reserve[]: 0 0 0 0
Node 0 DMA: 1*4kB (U) 0*8kB 0*16kB 1*32kB (U) 2*64kB (U) 1*128kB (U) 1*256kB (U) 0*512kB 1*1024kB (U) 1*2048kB (M) 3*4096kB (M) = 15908kB
Node 0 DMA32: 676*4kB (UME) 402*8kB (UME) 260*16kB (UME) 170*32kB (UME) 90*64kB (UME) 40*128kB (UME) 20*256kB (UM) 10*512kB (UM) 4*1024kB (M) 2*2048kB (M) 3*4096kB (M) = 57120kB
Node 0 Normal: 1994*4kB (UME) 241*8kB (UME) 60*16kB (UME) 8*32kB (UM) 4*64kB (U) 0*128kB 0*256kB 0*512kB 0*1024kB 0*2048kB 0*4096kB = 11376kB
Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB
Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB
1418 total pagecache pages
0 pages in swap cache
Swap cache stats: add 262143, delete 262143, find 3011/8123
Free swap  = 0kB
Total swap = 1048572kB
1048446 pages RAM
0 pages HighMem/MovableOnly
29279 pages reserved
0 pages cma reserved
0 pages hwpoisoned
Tasks state (memory values in pages):
[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
[    361]     0   361    35279      702   299008        0          -250 systemd-journal
[    623]   104   623    56087      433    90112        0             0 rsyslogd
[    801]     0   801     3046      254    61440        0         -1000 sshd
[{victim_pid:7d}]   111 {victim_pid:5d}  1371262   903410  7614464    25391             0 mysqld
[   2202]    33  2202    54731     3210   225280        0             0 php-fpm7.4
oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/mysql.service,task=mysqld,pid={victim_pid},uid=111
Out of memory: Killed process {victim_pid} (mysqld) total-vm:5485048kB, anon-rss:3613640kB, file-rss:0kB, shmem-rss:0kB, UID:111 pgtables:7436kB oom_score_adj:0
oom_reaper: reaped process {victim_pid} (mysqld), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
"""


def ubuntu_5_4_oom() -> str:
    first = prefixed(lambda i: "2021-03-04T10:11:12+0000 web1 kernel: ", ubuntu_5_4_report("mysqld", 1876, 1876))
    second = prefixed(lambda i: "2021-03-04T10:52:40+0000 web1 kernel: ",
                      ubuntu_5_4_report("php-fpm7.4", 2202, 3410))
    return (first
            + "2021-03-04T10:11:13+0000 web1 systemd[1]: mysql.service: Main process exited, code=killed, status=9/KILL\n"
            + "2021-03-04T10:11:18+0000 web1 systemd[1]: mysql.service: Scheduled restart job, restart counter is at 1.\n"
            + second)


# --- 6.8 (Ubuntu 24.04), dmesg with indented continuation lines, rss_anon/rss_file columns -------
UBUNTU_6_8_OOM = """\
[ 8812.417305] python3 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
[ 8812.417314] CPU: 2 PID: 4411 Comm: python3 Not tainted 6.8.0-45-generic #45-Ubuntu
[ 8812.417317] Hardware name: Dell Inc. PowerEdge R640/0W23H8, BIOS 2.19.1 06/04/2023
[ 8812.417319] Call Trace:
[ 8812.417321]  <TASK>
[ 8812.417325]  dump_stack_lvl+0x76/0xa0
[ 8812.417331]  dump_stack+0x10/0x20
[ 8812.417334]  dump_header+0x47/0x1f0
[ 8812.417339]  oom_kill_process+0x118/0x280
[ 8812.417342]  out_of_memory+0x103/0x350
[ 8812.417345]  __alloc_pages_slowpath.constprop.0+0x9b1/0xe60
[ 8812.417350]  __alloc_pages+0x31f/0x350
[ 8812.417354]  alloc_pages_mpol+0x91/0x210
[ 8812.417357]  vma_alloc_folio+0x64/0xe0
[ 8812.417360]  do_anonymous_page+0x21e/0x8a0
[ 8812.417364]  __handle_mm_fault+0xb6c/0xc30
[ 8812.417367]  handle_mm_fault+0x18d/0x380
[ 8812.417370]  do_user_addr_fault+0x169/0x670
[ 8812.417374]  exc_page_fault+0x83/0x1b0
[ 8812.417378]  asm_exc_page_fault+0x27/0x30
[ 8812.417381] RIP: 0033:0x7f1e5a12c8e6
[ 8812.417383] Code: Unable to access opcode bytes at 0x7f1e5a12c8bc.
[ 8812.417385] RSP: 002b:00007ffd1c9b5e80 EFLAGS: 00010206
[ 8812.417387] RAX: 00007f1a3e7ff010 RBX: 0000000040001000 RCX: 00007f1a3e7ff010
[ 8812.417395]  </TASK>
[ 8812.417397] Mem-Info:
[ 8812.417401] active_anon:3892011 inactive_anon:8134127 isolated_anon:0
                active_file:151 inactive_file:33 isolated_file:0
                unevictable:8 dirty:0 writeback:0
                slab_reclaimable:28410 slab_unreclaimable:61024
                mapped:3012 shmem:4420 pagetables:26313
                sec_pagetables:0 bounce:0
                kernel_misc_reclaimable:0
                free:83342 free_pcp:1290 free_cma:0
[ 8812.417410] Node 0 active_anon:15568044kB inactive_anon:32536508kB active_file:604kB inactive_file:132kB unevictable:32kB isolated(anon):0kB isolated(file):0kB mapped:12048kB dirty:0kB writeback:0kB shmem:17680kB shmem_thp:0kB shmem_pmdmapped:0kB anon_thp:2048kB writeback_tmp:0kB kernel_stack:12976kB pagetables:105252kB sec_pagetables:0kB all_unreclaimable? yes
[ 8812.417416] Node 0 DMA free:11264kB boost:0kB min:32kB low:44kB high:56kB reserved_highatomic:0KB active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB writepending:0kB present:15996kB managed:15360kB mlocked:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB
[ 8812.417421] lowmem_reserve[]: 0 1804 47948 47948 47948
[ 8812.417426] Node 0 DMA32 free:250112kB boost:0kB min:1908kB low:2384kB high:2860kB reserved_highatomic:0KB active_anon:1589180kB inactive_anon:11076kB active_file:0kB inactive_file:0kB unevictable:0kB writepending:0kB present:1963452kB managed:1847528kB mlocked:0kB bounce:0kB free_pcp:1044kB local_pcp:0kB free_cma:0kB
[ 8812.417431] lowmem_reserve[]: 0 0 46143 46143 46143
[ 8812.417436] Node 0 Normal free:71992kB boost:0kB min:72160kB low:90200kB high:108240kB reserved_highatomic:2048KB active_anon:13978864kB inactive_anon:32525432kB active_file:604kB inactive_file:132kB unevictable:32kB writepending:0kB present:48234496kB managed:47251104kB mlocked:32kB bounce:0kB free_pcp:4116kB local_pcp:12kB free_cma:0kB
[ 8812.417441] lowmem_reserve[]: 0 0 0 0 0
[ 8812.417444] Node 0 DMA: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB (U) 1*2048kB (M) 2*4096kB (M) = 11264kB
[ 8812.417457] Node 0 DMA32: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 1*256kB (M) 0*512kB 0*1024kB 0*2048kB 61*4096kB (M) = 250112kB
[ 8812.417470] Node 0 Normal: 9210*4kB (UME) 2610*8kB (UME) 540*16kB (UME) 112*32kB (UME) 20*64kB (UM) 4*128kB (U) 1*256kB (U) 0*512kB 0*1024kB 0*2048kB 0*4096kB = 71992kB
[ 8812.417483] Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB
[ 8812.417485] Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB
[ 8812.417487] 4687 total pagecache pages
[ 8812.417488] 0 pages in swap cache
[ 8812.417489] Free swap  = 0kB
[ 8812.417490] Total swap = 0kB
[ 8812.417491] 12582782 pages RAM
[ 8812.417492] 0 pages HighMem/MovableOnly
[ 8812.417493] 212345 pages reserved
[ 8812.417494] 0 pages hwpoisoned
[ 8812.417495] Tasks state (memory values in pages):
[ 8812.417496] [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
[ 8812.417510] [    612]     0   612    12470      896      224      672         0   110592        0          -250 systemd-journal
[ 8812.417514] [   1033]     0  1033     4030      512      160      352         0    69632        0         -1000 sshd
[ 8812.417517] [   3920]  1000  3920  2340122  2101345  2101003      342         0 17522688        0             0 python3
[ 8812.417520] [   4411]  1000  4411 10301241  9912003  9911710      293         0 83021824        0             0 python3
[ 8812.417624] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice/user-1000.slice/session-4.scope,task=python3,pid=4411,uid=1000
[ 8812.417690] Out of memory: Killed process 4411 (python3) total-vm:41204964kB, anon-rss:39646840kB, file-rss:1172kB, shmem-rss:0kB, UID:1000 pgtables:81076kB oom_score_adj:0
"""

# --- 6.1 (Debian 12), cgroup v2 memory.max hit ------------------------------------------------
MEMCG_6_1_OOM = """\
[ 1532.118020] stress-ng invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=1000
[ 1532.118027] CPU: 0 PID: 2201 Comm: stress-ng Not tainted 6.1.0-18-amd64 #1  Debian 6.1.76-1
[ 1532.118031] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
[ 1532.118033] Call Trace:
[ 1532.118035]  <TASK>
[ 1532.118038]  dump_stack_lvl+0x44/0x5c
[ 1532.118045]  dump_header+0x4a/0x211
[ 1532.118050]  oom_kill_process.cold+0xb/0x10
[ 1532.118053]  out_of_memory+0x1fd/0x4c0
[ 1532.118058]  mem_cgroup_out_of_memory+0x134/0x150
[ 1532.118062]  try_charge_memcg+0x696/0x780
[ 1532.118066]  obj_cgroup_charge+0x7e/0x180
[ 1532.118069]  kmem_cache_alloc+0x9a/0x2e0
[ 1532.118072]  __anon_vma_prepare+0x2f/0x170
[ 1532.118076]  do_anonymous_page+0x116/0x5f0
[ 1532.118080]  </TASK>
[ 1532.118082] memory: usage 524288kB, limit 524288kB, failcnt 1893
[ 1532.118085] swap: usage 0kB, limit 0kB, failcnt 0
[ 1532.118087] Memory cgroup stats for /system.slice/stress.service:
[ 1532.118103] anon 532910080
[ 1532.118104] file 0
[ 1532.118105] kernel 3948544
[ 1532.118106] pgfault 134095
[ 1532.118108] Tasks state (memory values in pages):
[ 1532.118109] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
[ 1532.118112] [   2199]     0  2199    10412     1133    69632        0         -1000 stress-ng
[ 1532.118115] [   2201]     0  2201   141485   130201  1093632        0          1000 stress-ng
[ 1532.118118] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/stress.service,task_memcg=/system.slice/stress.service,task=stress-ng,pid=2201,uid=0
[ 1532.118170] Memory cgroup out of memory: Killed process 2201 (stress-ng) total-vm:565940kB, anon-rss:520788kB, file-rss:16kB, shmem-rss:0kB, UID:0 pgtables:1068kB oom_score_adj:1000
"""

# --- storage: ATA media errors, I/O errors, md degraded, ext4 read-only (4.15, dmesg) ------------
DISK_ERRORS = """\
[    2.118822] ata1: SATA link up 6.0 Gbps (SStatus 133 SControl 300)
[    2.119410] ata1.00: ATA-9: WDC WD10EZEX-08WN4A0, 01.01A01, max UDMA/133
[    2.140022] sd 0:0:0:0: [sda] 1953525168 512-byte logical blocks: (1.00 TB/932 GiB)
[    2.140101] sd 0:0:0:0: [sda] Write Protect is off
[    2.161950] md/raid1:md0: active with 2 out of 2 mirrors
[ 1023.551246] ata1.00: exception Emask 0x0 SAct 0x20000 SErr 0x0 action 0x0
[ 1023.551289] ata1.00: irq_stat 0x40000008
[ 1023.551321] ata1.00: failed command: READ FPDMA QUEUED
[ 1023.551360] ata1.00: cmd 60/08:88:d0:cf:74/00:00:74:00:00/40 tag 17 ncq dma 4096 in
[ 1023.551360]          res 41/40:00:d0:cf:74/00:00:74:00:00/40 Emask 0x409 (media error) <F>
[ 1023.551455] ata1.00: status: { DRDY ERR }
[ 1023.551483] ata1.00: error: { UNC }
[ 1023.553712] ata1.00: configured for UDMA/133
[ 1023.553742] sd 0:0:0:0: [sda] tag#17 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_SENSE
[ 1023.553748] sd 0:0:0:0: [sda] tag#17 Sense Key : Medium Error [current]
[ 1023.553752] sd 0:0:0:0: [sda] tag#17 Add. Sense: Unrecovered read error - auto reallocate failed
[ 1023.553757] sd 0:0:0:0: [sda] tag#17 CDB: Read(10) 28 00 74 74 cf d0 00 00 08 00
[ 1023.553761] print_req_error: I/O error, dev sda, sector 1953812432
[ 1023.553822] ata1: EH complete
[ 1031.902210] ata1.00: exception Emask 0x0 SAct 0x400 SErr 0x0 action 0x0
[ 1031.902251] ata1.00: irq_stat 0x40000008
[ 1031.902282] ata1.00: failed command: READ FPDMA QUEUED
[ 1031.902320] ata1.00: cmd 60/08:50:d8:cf:74/00:00:74:00:00/40 tag 10 ncq dma 4096 in
[ 1031.902320]          res 41/40:00:d8:cf:74/00:00:74:00:00/40 Emask 0x409 (media error) <F>
[ 1031.902411] ata1.00: status: { DRDY ERR }
[ 1031.902439] ata1.00: error: { UNC }
[ 1031.904650] ata1.00: configured for UDMA/133
[ 1031.904680] sd 0:0:0:0: [sda] tag#10 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_SENSE
[ 1031.904686] sd 0:0:0:0: [sda] tag#10 Sense Key : Medium Error [current]
[ 1031.904690] sd 0:0:0:0: [sda] tag#10 Add. Sense: Unrecovered read error - auto reallocate failed
[ 1031.904695] sd 0:0:0:0: [sda] tag#10 CDB: Read(10) 28 00 74 74 cf d8 00 00 08 00
[ 1031.904699] print_req_error: I/O error, dev sda, sector 1953812440
[ 1031.904731] Buffer I/O error on dev sda1, logical block 244226299, async page read
[ 1031.904760] ata1: EH complete
[ 1032.007713] md/raid1:md0: Disk failure on sda1, disabling device.
               md/raid1:md0: Operation continuing on 1 devices.
[ 1032.114011] RAID1 conf printout:
[ 1032.114014]  --- wd:1 rd:2
[ 1032.114017]  disk 0, wo:1, o:0, dev:sda1
[ 1032.114019]  disk 1, wo:0, o:1, dev:sdb1
[ 2210.100201] blk_update_request: I/O error, dev sdc, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0
[ 2210.100240] Buffer I/O error on dev sdc1, logical block 0, lost sync page write
[ 2210.100288] EXT4-fs error (device sdc1): ext4_journal_check_start:83: Detected aborted journal
[ 2210.100301] EXT4-fs (sdc1): Remounting filesystem read-only
"""

# --- XFS corruption with hex dump and trace (5.14, RHEL 9), plus a periodic ext4 error reminder --
FS_ERRORS = """\
[   11.201120] XFS (dm-2): Mounting V5 Filesystem
[   11.290031] XFS (dm-2): Ending clean mount
[   11.300412] EXT4-fs (sdb1): mounted filesystem with ordered data mode. Opts: errors=remount-ro
[58231.104422] XFS (dm-2): Metadata corruption detected at xfs_dinode_verify+0xa3/0x590 [xfs], inode 0x2051b2d dinode
[58231.104535] XFS (dm-2): Unmount and run xfs_repair
[58231.104562] XFS (dm-2): First 128 bytes of corrupted metadata buffer:
[58231.104590] 00000000: 49 4e 81 a4 03 02 00 00 00 00 03 e8 00 00 03 e8  IN..............
[58231.104611] 00000010: 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00  ................
[58231.104750] XFS (dm-2): Internal error xfs_trans_cancel at line 1060 of file fs/xfs/xfs_trans.c.  Caller xfs_create+0x4d4/0x6a0 [xfs]
[58231.104890] CPU: 3 PID: 18201 Comm: tar Not tainted 5.14.0-362.8.1.el9_3.x86_64 #1
[58231.104900] Call Trace:
[58231.104902]  <TASK>
[58231.104905]  dump_stack_lvl+0x34/0x48
[58231.104912]  xfs_trans_cancel+0xc5/0x140 [xfs]
[58231.104985]  xfs_create+0x4d4/0x6a0 [xfs]
[58231.105040]  </TASK>
[58231.105050] XFS (dm-2): xfs_do_force_shutdown(0x8) called from line 1061 of file fs/xfs/xfs_trans.c. Return address = ffffffffc0736f16
[58231.105120] XFS (dm-2): Corruption of in-memory data detected.  Shutting down filesystem
[58231.105150] XFS (dm-2): Please unmount the filesystem and rectify the problem(s)
[86400.552018] EXT4-fs (sdb1): error count since last fsck: 4
[86400.552030] EXT4-fs (sdb1): initial error at time 1700000000: ext4_lookup:1701: inode 524302
[86400.552041] EXT4-fs (sdb1): last error at time 1700100000: ext4_lookup:1701: inode 524302
"""

# --- soft lockups and hung tasks (3.10, RHEL 7 /var/log/messages, other daemons interleaved) ----
LOCKUPS_3_10 = """\
Jun 11 02:14:51 kvm3 kernel: NMI watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [qemu-kvm:30127]
Jun 11 02:14:51 kvm3 kernel: Modules linked in: vhost_net vhost macvtap macvlan tun xt_CHECKSUM ipt_MASQUERADE kvm_intel kvm irqbypass
Jun 11 02:14:51 kvm3 kernel: CPU: 2 PID: 30127 Comm: qemu-kvm Kdump: loaded Not tainted 3.10.0-862.el7.x86_64 #1
Jun 11 02:14:51 kvm3 kernel: Hardware name: HP ProLiant DL380 Gen9/ProLiant DL380 Gen9, BIOS P89 10/21/2019
Jun 11 02:14:51 kvm3 kernel: task: ffff8c2a5f0b1fa0 ti: ffff8c2a3e5d0000 task.ti: ffff8c2a3e5d0000
Jun 11 02:14:51 kvm3 kernel: RIP: 0010:[<ffffffff8e113f2e>]  [<ffffffff8e113f2e>] smp_call_function_many+0x20e/0x270
Jun 11 02:14:51 kvm3 kernel: RSP: 0018:ffff8c2a3e5d3c30  EFLAGS: 00000202
Jun 11 02:14:51 kvm3 kernel: RAX: 0000000000000003 RBX: 0000000000000286 RCX: ffff8c2b7fc1d9c8
Jun 11 02:14:51 kvm3 kernel: Call Trace:
Jun 11 02:14:51 kvm3 kernel: [<ffffffff8e07a8f8>] native_flush_tlb_others+0xb8/0xc0
Jun 11 02:14:51 kvm3 kernel: [<ffffffff8e07a9bb>] flush_tlb_mm_range+0x5b/0x150
Jun 11 02:14:51 kvm3 kernel: [<ffffffff8e1e3c2e>] change_protection_range+0x8ae/0x980
Jun 11 02:14:51 kvm3 kernel: Code: 89 c7 e8 44 3a 60 00 3b 05 72 1a e0 00 89 c2 0f 8d 8b fe ff ff 48 98 49 8b 0f 48 03 0c c5 a0 f8 b1 8e f6 41 20 01 74 cb 0f 1f 00 <f3> 90 f6 41 20 01 75 f8 eb be 0f b6 4d ac 4c 89 ea 4c 89 f6 44 89
Jun 11 02:14:55 kvm3 systemd-logind: New session 41 of user root.
Jun 11 02:15:19 kvm3 kernel: NMI watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [qemu-kvm:30127]
Jun 11 02:15:19 kvm3 kernel: Modules linked in: vhost_net vhost macvtap macvlan tun xt_CHECKSUM ipt_MASQUERADE kvm_intel kvm irqbypass
Jun 11 02:15:19 kvm3 kernel: CPU: 2 PID: 30127 Comm: qemu-kvm Kdump: loaded Tainted: G             L ------------   3.10.0-862.el7.x86_64 #1
Jun 11 02:15:19 kvm3 kernel: Call Trace:
Jun 11 02:15:19 kvm3 kernel: [<ffffffff8e07a8f8>] native_flush_tlb_others+0xb8/0xc0
Jun 11 02:15:19 kvm3 kernel: [<ffffffff8e07a9bb>] flush_tlb_mm_range+0x5b/0x150
Jun 11 02:18:03 kvm3 kernel: INFO: task jbd2/dm-0-8:512 blocked for more than 120 seconds.
Jun 11 02:18:03 kvm3 kernel: "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
Jun 11 02:18:03 kvm3 kernel: jbd2/dm-0-8     D ffff8c2b7fc16cc0     0   512      2 0x00000000
Jun 11 02:18:03 kvm3 kernel: Call Trace:
Jun 11 02:18:03 kvm3 kernel: [<ffffffff8e714e39>] schedule+0x29/0x70
Jun 11 02:18:03 kvm3 kernel: [<ffffffff8e712aa1>] schedule_timeout+0x221/0x2d0
Jun 11 02:18:03 kvm3 kernel: [<ffffffff8e71458d>] io_schedule_timeout+0xad/0x130
Jun 11 02:18:03 kvm3 kernel: [<ffffffff8e7147f1>] bit_wait_io+0x11/0x50
Jun 11 02:18:03 kvm3 kernel: [<ffffffffc03a13ad>] jbd2_journal_commit_transaction+0x4ad/0x1bb0 [jbd2]
Jun 11 02:18:03 kvm3 kernel: [<ffffffff8e0c2e61>] kthread+0xd1/0xe0
Jun 11 02:18:04 kvm3 systemd: Started Session 42 of user root.
Jun 11 02:20:03 kvm3 kernel: INFO: task jbd2/dm-0-8:512 blocked for more than 120 seconds.
Jun 11 02:20:03 kvm3 kernel: "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
Jun 11 02:20:03 kvm3 kernel: jbd2/dm-0-8     D ffff8c2b7fc16cc0     0   512      2 0x00000000
Jun 11 02:20:03 kvm3 kernel: Call Trace:
Jun 11 02:20:03 kvm3 kernel: [<ffffffff8e714e39>] schedule+0x29/0x70
Jun 11 02:20:03 kvm3 kernel: INFO: task mysqld:2201 blocked for more than 120 seconds.
Jun 11 02:20:03 kvm3 kernel: "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
Jun 11 02:20:03 kvm3 kernel: mysqld          D ffff8c2b7fc56cc0     0  2201      1 0x00000080
Jun 11 02:20:03 kvm3 kernel: Call Trace:
Jun 11 02:20:03 kvm3 kernel: [<ffffffff8e714e39>] schedule+0x29/0x70
Jun 11 02:20:03 kvm3 kernel: [<ffffffffc039f085>] wait_transaction_locked+0x85/0xd0 [jbd2]
"""

# --- RCU stall, hard lockup, soft lockup and the panic that follows (5.15, dmesg) ---------------
LOCKUPS_5_15 = """\
[    0.101023] rcu: Hierarchical RCU implementation.
[    0.101024] rcu: 	RCU restricting CPUs from NR_CPUS=8192 to nr_cpu_ids=16.
[    0.412331] NMI watchdog: Enabled. Permanently consumes one hw-PMU counter.
[183204.224771] rcu: INFO: rcu_sched self-detected stall on CPU
[183204.224780] rcu: 	6-....: (14997 ticks this GP) idle=a5e/1/0x4000000000000000 softirq=4271563/4271563 fqs=6812
[183204.224791] 	(t=15000 jiffies g=9814097 q=41062)
[183204.224793] NMI backtrace for cpu 6
[183204.224797] CPU: 6 PID: 2214 Comm: kworker/6:1 Tainted: G           OE     5.15.0-76-generic #83-Ubuntu
[183204.224801] Hardware name: Supermicro SYS-1029P-WTR/X11DDW-L, BIOS 3.4 09/14/2020
[183204.224803] Workqueue: events netstamp_clear
[183204.224810] Call Trace:
[183204.224812]  <IRQ>
[183204.224815]  dump_stack_lvl+0x4a/0x63
[183204.224822]  nmi_cpu_backtrace.cold+0x4c/0x88
[183204.224827]  rcu_dump_cpu_stacks+0xe1/0x11d
[183204.224834]  rcu_sched_clock_irq.cold+0x6f/0x2a2
[183204.224840]  update_process_times+0x8c/0xc0
[183204.224845]  </IRQ>
[183204.224846]  <TASK>
[183204.224848]  smp_call_function_many_cond+0x11d/0x350
[183204.224862]  </TASK>
[183228.001214] watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:0:31337]
[183228.001230] Modules linked in: nvme_fabrics mlx5_ib(OE) mlx5_core(OE) xfs
[183228.001290] CPU: 3 PID: 31337 Comm: kworker/3:0 Tainted: G           OE     5.15.0-76-generic #83-Ubuntu
[183228.001301] RIP: 0010:smp_call_function_many_cond+0x11d/0x350
[183228.001320] Call Trace:
[183228.001322]  <TASK>
[183228.001330]  on_each_cpu_cond_mask+0x1d/0x30
[183228.001340]  </TASK>
[183290.441002] NMI watchdog: Watchdog detected hard LOCKUP on cpu 11
[183290.441010] Modules linked in: nvme_fabrics mlx5_ib(OE) mlx5_core(OE) xfs
[183290.441090] CPU: 11 PID: 0 Comm: swapper/11 Tainted: G           OEL    5.15.0-76-generic #83-Ubuntu
[183290.441101] RIP: 0010:native_queued_spin_lock_slowpath+0x63/0x1f0
[183290.441112] Call Trace:
[183290.441113]  <IRQ>
[183290.441115]  _raw_spin_lock+0x1f/0x30
[183290.441120]  </IRQ>
[183290.441122] Kernel panic - not syncing: Hard LOCKUP
[183290.441290] Kernel Offset: 0x1a000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
"""

# --- machine checks and EDAC (4.18, RHEL 8 /var/log/messages) -----------------------------------
MCE_4_18 = """\
Sep 20 04:00:01 hv7 kernel: mce: CPU supports 22 MCE banks
Sep 20 04:00:01 hv7 kernel: EDAC MC: Ver: 3.0.0
Sep 20 04:00:01 hv7 kernel: EDAC MC0: Giving out device to module skx_edac controller Skylake Socket#0 IMC#0: DEV 0000:3a:0a.0 (INTERRUPT)
Sep 20 04:00:01 hv7 kernel: RAS: Correctable Errors collector initialized.
Sep 20 11:42:10 hv7 kernel: mce: [Hardware Error]: Machine check events logged
Sep 20 11:42:10 hv7 kernel: mce: [Hardware Error]: CPU 0: Machine Check: 0 Bank 7: 8c00004000010090
Sep 20 11:42:10 hv7 kernel: mce: [Hardware Error]: TSC 0 ADDR 3c5a1e2c0 MISC 140400086
Sep 20 11:42:10 hv7 kernel: mce: [Hardware Error]: PROCESSOR 0:50654 TIME 1600602130 SOCKET 0 APIC 0 microcode 2006906
Sep 20 11:42:10 hv7 kernel: EDAC MC0: 1 CE memory read error on CPU_SrcID#0_MC#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x3c5a1e offset:0x2c0 grain:32 syndrome:0x0 - err_code:0x0000:0x0090 socket:0 imc:0 rank:0 bg:0 ba:0 row:0x1e2c col:0x58)
Sep 20 13:05:44 hv7 kernel: EDAC MC0: 1 CE memory read error on CPU_SrcID#0_MC#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x3c5a2f offset:0x100 grain:32 syndrome:0x0 - err_code:0x0000:0x0090 socket:0 imc:0 rank:0 bg:1 ba:2 row:0x1e2d col:0x20)
Sep 20 17:31:02 hv7 kernel: EDAC MC0: 1 CE memory read error on CPU_SrcID#0_MC#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x3c5b00 offset:0x40 grain:32 syndrome:0x0 - err_code:0x0000:0x0090 socket:0 imc:0 rank:0 bg:0 ba:3 row:0x1e30 col:0x8)
Sep 20 17:31:05 hv7 rasdaemon[1022]: rasdaemon: mc_event store: 0x55f3e2a1c0
Sep 21 02:13:37 hv7 kernel: mce: [Hardware Error]: CPU 2: Machine Check Exception: 5 Bank 4: b200000000070f0f
Sep 21 02:13:37 hv7 kernel: mce: [Hardware Error]: RIP !INEXACT! 10:<ffffffff8100b3d1> {default_idle+0x31/0x60}
Sep 21 02:13:37 hv7 kernel: mce: [Hardware Error]: TSC 2f0ab1c8f1e5 
Sep 21 02:13:37 hv7 kernel: mce: [Hardware Error]: PROCESSOR 0:50654 TIME 1600654417 SOCKET 0 APIC 4 microcode 2006906
Sep 21 02:13:37 hv7 kernel: mce: [Hardware Error]: Run the above through 'mcelog --ascii'
Sep 21 02:13:37 hv7 kernel: mce: [Hardware Error]: Machine check: Processor context corrupt
Sep 21 02:13:37 hv7 kernel: Kernel panic - not syncing: Fatal machine check
"""

# --- a WARNING with its trace, new style (5.4) and old style (2.6.32) ---------------------------
WARNINGS = """\
[ 3217.771021] ------------[ cut here ]------------
[ 3217.771026] NETDEV WATCHDOG: eno1 (igb): transmit queue 2 timed out
[ 3217.771060] WARNING: CPU: 5 PID: 0 at net/sched/sch_generic.c:467 dev_watchdog+0x258/0x260
[ 3217.771061] Modules linked in: igb dca i2c_algo_bit ptp pps_core
[ 3217.771160] CPU: 5 PID: 0 Comm: swapper/5 Not tainted 5.4.0-150-generic #167-Ubuntu
[ 3217.771161] Hardware name: Supermicro SYS-5019S-M/X11SSH-F, BIOS 2.4 03/13/2020
[ 3217.771168] RIP: 0010:dev_watchdog+0x258/0x260
[ 3217.771171] Code: 85 c0 75 e5 eb 9b 4c 89 ff c6 05 b1 e6 f0 00 01 e8 4d 0e fa ff 44 89 e9 4c 89 fe 48 c7 c7 a8 67 b8 8f 48 89 c2 e8 2f 4c 7e ff <0f> 0b eb 80 66 66 66 66 90
[ 3217.771173] RSP: 0018:ffffa8fd0c4e4e58 EFLAGS: 00010286
[ 3217.771175] RAX: 0000000000000000 RBX: ffff8d6e7a5c0000 RCX: 000000000000083f
[ 3217.771181] Call Trace:
[ 3217.771184]  <IRQ>
[ 3217.771196]  ? pfifo_fast_enqueue+0x150/0x150
[ 3217.771200]  call_timer_fn+0x32/0x130
[ 3217.771203]  __run_timers.part.0+0x180/0x280
[ 3217.771225]  </IRQ>
[ 3217.771240] ---[ end trace 6a5c2ea0b5fa8f43 ]---
[ 3217.771300] igb 0000:3b:00.0 eno1: Reset adapter
[ 3300.110028] ------------[ cut here ]------------
[ 3300.110031] WARNING: at fs/ext4/inode.c:3532 ext4_da_writepages+0x4e5/0x5a0 [ext4]() (Not tainted)
[ 3300.110035] Hardware name: ProLiant DL360 G7
[ 3300.110036] Modules linked in: ext4 jbd2 mbcache
[ 3300.110080] Pid: 4411, comm: flush-8:0 Not tainted 2.6.32-358.el6.x86_64 #1
[ 3300.110082] Call Trace:
[ 3300.110090]  [<ffffffff8106e3e7>] ? warn_slowpath_common+0x87/0xc0
[ 3300.110094]  [<ffffffff8106e43a>] ? warn_slowpath_null+0x1a/0x20
[ 3300.110110]  [<ffffffffa00a11e5>] ? ext4_da_writepages+0x4e5/0x5a0 [ext4]
[ 3300.110118] ---[ end trace a7919e7f17c0a725 ]---
"""

# --- an oops (NULL dereference in a module) and the panic it causes (5.15) -----------------------
OOPS_PANIC = """\
[ 7731.220411] BUG: kernel NULL pointer dereference, address: 0000000000000008
[ 7731.220450] #PF: supervisor read access in kernel mode
[ 7731.220470] #PF: error_code(0x0000) - not-present page
[ 7731.220490] PGD 0 P4D 0
[ 7731.220502] Oops: 0000 [#1] SMP PTI
[ 7731.220520] CPU: 3 PID: 1234 Comm: kworker/3:2 Tainted: G           OE     5.15.0-91-generic #101-Ubuntu
[ 7731.220560] Hardware name: Dell Inc. PowerEdge R650/0Y2G81, BIOS 1.8.2 09/29/2022
[ 7731.220580] Workqueue: events foo_work_fn [foo]
[ 7731.220610] RIP: 0010:foo_handler+0x2a/0x90 [foo]
[ 7731.220640] Code: 0f 1f 44 00 00 55 48 89 e5 41 54 53 48 89 fb 48 8b 47 10 <48> 8b 50 08 48 85 d2 74 3a
[ 7731.220670] RSP: 0018:ffffb3a1c2f3fe38 EFLAGS: 00010246
[ 7731.220690] RAX: 0000000000000000 RBX: ffff9a1e4c5d2000 RCX: 0000000000000000
[ 7731.220800] Call Trace:
[ 7731.220805]  <TASK>
[ 7731.220812]  process_one_work+0x228/0x3d0
[ 7731.220820]  worker_thread+0x53/0x420
[ 7731.220828]  kthread+0x127/0x150
[ 7731.220836]  ret_from_fork+0x1f/0x30
[ 7731.220844]  </TASK>
[ 7731.220850] Modules linked in: foo(OE) xt_conntrack nf_nat nf_conntrack
[ 7731.220890] CR2: 0000000000000008
[ 7731.220900] ---[ end trace 3c1e6f7b95d21e4a ]---
[ 7731.221100] Kernel panic - not syncing: Fatal exception
[ 7731.221400] Kernel Offset: 0x2c000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)
[ 7731.221500] ---[ end Kernel panic - not syncing: Fatal exception ]---
"""

# --- noise only: firewall log lines, TCP window complaints, other daemons' scary words ----------
NOISE_ONLY = """\
Oct  3 09:14:01 edge1 kernel: [812231.118820] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:fe:54:00:12:34:56:08:00 SRC=45.155.205.233 DST=203.0.113.10 LEN=40 TOS=0x00 PREC=0x00 TTL=244 ID=54321 PROTO=TCP SPT=47845 DPT=3389 WINDOW=1024 RES=0x00 SYN URGP=0
Oct  3 09:14:07 edge1 kernel: [812237.401112] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:fe:54:00:12:34:56:08:00 SRC=89.248.165.52 DST=203.0.113.10 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=61188 PROTO=TCP SPT=52611 DPT=8443 WINDOW=1024 RES=0x00 SYN URGP=0
Oct  3 09:15:22 edge1 sshd[20331]: error: kex_exchange_identification: Connection closed by remote host
Oct  3 09:15:40 edge1 kernel: [812330.998231] TCP: Treason uncloaked! Peer 198.51.100.7:443/51234 shrinks window 3311214520:3311216980. Repaired.
Oct  3 09:16:02 edge1 CRON[20410]: (root) CMD (test -x /usr/sbin/kernel-panic-check && /usr/sbin/kernel-panic-check)
Oct  3 09:16:30 edge1 kernel: [812380.121212] IN=eth0 OUT= MAC=52:54:00:12:34:56:fe:54:00:12:34:56:08:00 SRC=192.0.2.44 DST=203.0.113.10 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=0 DF PROTO=TCP SPT=40022 DPT=23 WINDOW=29200 RES=0x00 SYN URGP=0
Oct  3 09:17:12 edge1 kernel: [812422.764530] TCP: Treason uncloaked! Peer 198.51.100.7:443/51240 shrinks window 3311298112:3311300572. Repaired.
Oct  3 09:18:00 edge1 kernel: [812470.000101] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:fe:54:00:12:34:56:08:00 SRC=45.155.205.233 DST=203.0.113.10 LEN=40 TOS=0x00 PREC=0x00 TTL=244 ID=11002 PROTO=TCP SPT=47845 DPT=5900 WINDOW=1024 RES=0x00 SYN URGP=0
Oct  3 09:18:09 edge1 systemd[1]: Started Daily apt download activities.
"""

# --- an ordinary boot, full of words that look alarming but are not (dmesg -T) ------------------
BOOT_CLEAN = """\
[Tue Jan  6 07:30:01 2015] Linux version 5.10.0-28-amd64 (debian-kernel@lists.debian.org) (gcc-10 (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2) #1 SMP Debian 5.10.209-2 (2024-01-31)
[Tue Jan  6 07:30:01 2015] Command line: BOOT_IMAGE=/vmlinuz-5.10.0-28-amd64 root=/dev/md0 ro quiet panic=10 crashkernel=256M
[Tue Jan  6 07:30:01 2015] Memory: 16265764K/16651212K available (12296K kernel code, 2544K rwdata, 4060K rodata, 2396K init, 1716K bss, 385448K reserved, 0K cma-reserved)
[Tue Jan  6 07:30:01 2015] rcu: Hierarchical RCU implementation.
[Tue Jan  6 07:30:01 2015] rcu: 	RCU restricting CPUs from NR_CPUS=8192 to nr_cpu_ids=8.
[Tue Jan  6 07:30:01 2015] [Firmware Bug]: TSC_DEADLINE disabled due to Errata; please update microcode to version: 0x3a (or later)
[Tue Jan  6 07:30:01 2015] mce: CPU0: Thermal monitoring enabled (TM1)
[Tue Jan  6 07:30:01 2015] mce: CPU supports 10 MCE banks
[Tue Jan  6 07:30:01 2015] NMI watchdog: Enabled. Permanently consumes one hw-PMU counter.
[Tue Jan  6 07:30:02 2015] ERST: Error Record Serialization Table (ERST) support is initialized.
[Tue Jan  6 07:30:02 2015] GHES: APEI firmware first mode is enabled by APEI bit and WHEA _OSC.
[Tue Jan  6 07:30:02 2015] EDAC MC: Ver: 3.0.0
[Tue Jan  6 07:30:02 2015] EDAC MC0: Giving out device to module sb_edac controller Haswell SrcID#0_Ha#0: DEV 0000:7f:12.0 (INTERRUPT)
[Tue Jan  6 07:30:02 2015] RAS: Correctable Errors collector initialized.
[Tue Jan  6 07:30:02 2015] ata1: SATA max UDMA/133 abar m2048@0x91d00000 port 0x91d00100 irq 33
[Tue Jan  6 07:30:02 2015] ata1: SATA link up 6.0 Gbps (SStatus 133 SControl 300)
[Tue Jan  6 07:30:02 2015] ata1.00: ATA-10: Samsung SSD 860 EVO 500GB, RVT04B6Q, max UDMA/133
[Tue Jan  6 07:30:02 2015] ata2: SATA link down (SStatus 0 SControl 300)
[Tue Jan  6 07:30:02 2015] sd 0:0:0:0: [sda] 976773168 512-byte logical blocks: (500 GB/466 GiB)
[Tue Jan  6 07:30:02 2015] sd 0:0:0:0: [sda] Write Protect is off
[Tue Jan  6 07:30:02 2015] sd 0:0:0:0: [sda] Attached SCSI disk
[Tue Jan  6 07:30:03 2015] md/raid1:md0: active with 2 out of 2 mirrors
[Tue Jan  6 07:30:03 2015] md0: detected capacity change from 0 to 499972440064
[Tue Jan  6 07:30:03 2015] EXT4-fs (md0): mounted filesystem with ordered data mode. Opts: (null)
[Tue Jan  6 07:30:04 2015] EXT4-fs (md0): re-mounted. Opts: errors=remount-ro
[Tue Jan  6 07:30:04 2015] XFS (sdb1): Mounting V5 Filesystem
[Tue Jan  6 07:30:04 2015] XFS (sdb1): Ending clean mount
[Tue Jan  6 07:30:04 2015] Adding 2097148k swap on /dev/sda2.  Priority:-2 extents:1 across:2097148k SSFS
[Tue Jan  6 07:30:05 2015] audit: type=1400 audit(1420529405.123:2): apparmor="STATUS" operation="profile_load" profile="unconfined" name="/usr/sbin/ntpd" pid=611 comm="apparmor_parser"
[Tue Jan  6 07:30:06 2015] IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready
"""

# --- a serial console capture: CRLF, colour escapes, a prompt the kernel writes into ------------
SERIAL_CONSOLE = (
    "[  OK  ] Started OpenSSH server daemon.\r\n"
    "\x1b[0;32m  OK  \x1b[0m] Reached target Multi-User System.\r\n"
    "\r\n"
    "Debian GNU/Linux 12 db2 ttyS0\r\n"
    "\r\n"
    "db2 login: [ 1443.210934] INFO: task kworker/u16:2:8812 blocked for more than 122 seconds.\r\n"
    "[ 1443.211002]       Not tainted 6.1.0-18-amd64 #1 Debian 6.1.76-1\r\n"
    "[ 1443.211020] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\r\n"
    "[ 1443.211031] task:kworker/u16:2   state:D stack:0     pid:8812  ppid:2      flags:0x00004000\r\n"
    "[ 1443.211045] Workqueue: writeback wb_workfn (flush-8:0)\r\n"
    "[ 1443.211052] Call Trace:\r\n"
    "[ 1443.211055]  <TASK>\r\n"
    "[ 1443.211060]  __schedule+0x351/0xa20\r\n"
    "[ 1443.211072]  schedule+0x5d/0xe0\r\n"
    "[ 1443.211080]  io_schedule+0x42/0x70\r\n"
    "[ 1443.211101]  </TASK>\r\n"
    "[ 1443.211120] Kernel panic - not syncing: hung_task: blocked tasks\r\n"
    "[ 1443.211200] CPU: 3 PID: 58 Comm: khungtaskd Not tainted 6.1.0-18-amd64 #1 Debian 6.1.76-1\r\n"
    "[ 1443.211231] Call Trace:\r\n"
    "[ 1443.211233]  <TASK>\r\n"
    "[ 1443.211240]  dump_stack_lvl+0x44/0x5c\r\n"
    "[ 1443.211246]  panic+0x118/0x2f4\r\n"
    "[ 1443.211252]  watchdog.cold+0x118/0x118\r\n"
    "[ 1443.211260]  </TASK>\r\n"
    "[ 1443.211301] Kernel Offset: 0x2c000000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)\r\n"
    "[ 1443.211399] ---[ end Kernel panic - not syncing: hung_task: blocked tasks ]---\r\n"
)


def written_logs() -> dict:
    return {
        "oom-rhel6-2.6.32.log": rhel6_oom(),
        "oom-rhel7-3.10.log": rhel7_oom(),
        "oom-ubuntu-4.4.log": ubuntu_4_4_oom(),
        "oom-ubuntu-5.4-two-reports.log": ubuntu_5_4_oom(),
        "oom-ubuntu-6.8.log": UBUNTU_6_8_OOM,
        "oom-memcg-6.1.log": MEMCG_6_1_OOM,
        "disk-errors-4.15.log": DISK_ERRORS,
        "fs-errors-5.14.log": FS_ERRORS,
        "lockups-hung-3.10.log": LOCKUPS_3_10,
        "lockups-rcu-5.15.log": LOCKUPS_5_15,
        "mce-4.18.log": MCE_4_18,
        "warnings.log": WARNINGS,
        "oops-panic-5.15.log": OOPS_PANIC,
        "noise-only.log": NOISE_ONLY,
        "boot-clean.log": BOOT_CLEAN,
        "serial-console.log": SERIAL_CONSOLE,
    }


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help="directory of the seed documents")
    args = parser.parse_args(argv)
    logs = written_logs()
    if args.seeds.is_dir():
        logs.update(seed_logs(args.seeds))
    else:
        print(f"{args.seeds} not found: seed excerpts left as they are", file=sys.stderr)
    for name, text in sorted(logs.items()):
        (HERE / name).write_bytes(text.encode())
        print(f"wrote {name} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
