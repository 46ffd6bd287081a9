"""OOM reports from 2.6.2x to 6.x: parsed fields, gfp decoding, and RAM accounting.

Expected numbers are written as the arithmetic on the values printed in each
log (pages x 4 kB), not taken from the code's output.
"""
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pycore.analysis.gfp import decode_gfp_mask
from pycore.analysis.logtext import parse_log, read_log
from pycore.analysis.oom import OomReport, autopsy, parse_oom_reports

LOGS = Path(__file__).resolve().parent.parent / "testdata" / "logs"


def reports(name: str):
    return parse_oom_reports(read_log(LOGS / name, year=2021))


def only(name: str) -> OomReport:
    (report,) = reports(name)
    return report


def kb(result, name):
    part = result.part(name)
    assert part is not None, f"no {name} in the accounting"
    return part.kb


def assert_adds_up(result):
    """The parts and the unaccounted rest equal pages RAM x page size exactly."""
    assert result.total_kb == result.report.pages_ram * result.report.page_size // 1024
    assert sum(part.kb for part in result.parts) + result.unaccounted_kb == result.total_kb


# --- the forum thread's report (2.6.32-22-server, no task table, truncated zone lines) ---------

def test_forum_trigger_victim_and_kernel():
    report = only("seed-forum-oom-2.6.32.log")
    assert (report.trigger, report.trigger_pid) == ("mysqld", 13433)
    assert (report.victim.pid, report.victim.name) == (13218, "apache2")
    assert report.kernel_version == "2.6.32-22-server"
    assert report.order == 0
    assert report.tasks == []


def test_forum_gfp_mask_decoded_from_hex_with_the_2_6_32_table():
    gfp = only("seed-forum-oom-2.6.32.log").gfp
    # 0x201da = HARDWALL 0x20000 | COLD 0x100 | FS 0x80 | IO 0x40 | WAIT 0x10 | MOVABLE 0x08 | HIGHMEM 0x02
    assert gfp.names == ["GFP_HIGHUSER_MOVABLE", "__GFP_COLD"]
    assert gfp.unknown_bits == 0 and gfp.source == "table 2.6.31-4.3"


def test_forum_memory_accounting_adds_up_to_pages_ram():
    result = autopsy(only("seed-forum-oom-2.6.32.log"))
    assert result.total_kb == 507232 * 4
    assert_adds_up(result)
    # anon LRU less the shmem pages that sit on it
    assert kb(result, "anon") == (285005 + 95530 + 6 - 30585) * 4
    assert kb(result, "shmem") == 30585 * 4
    assert kb(result, "file") == (133 + 176 + 21) * 4
    assert kb(result, "free") == 3338 * 4
    assert kb(result, "slab_reclaimable") == 3139 * 4
    assert kb(result, "slab_unreclaimable") == 7278 * 4
    assert kb(result, "pagetables") == 21454 * 4
    assert kb(result, "reserved") == 9901 * 4
    counted = 285005 + 95530 + 6 + 133 + 176 + 21 + 3338 + 3139 + 7278 + 21454 + 9901
    assert result.unaccounted_kb == (507232 - counted) * 4
    # the zone lines are cut off before kernel_stack: it is unknown, not zero
    assert result.part("kernel_stack") is None


def test_forum_answer_is_processes_and_full_swap():
    result = autopsy(only("seed-forum-oom-2.6.32.log"))
    assert result.swap_used_kb == 4184924 - 0
    assert "Processes used it" in result.verdict
    assert "Swap was full" in result.verdict
    assert "No task table" in result.verdict


def test_forum_zone_watermarks():
    zones = {zone.name: zone for zone in only("seed-forum-oom-2.6.32.log").zones}
    assert (zones["DMA32"].free_kb, zones["DMA32"].min_kb) == (5568, 5612)
    assert zones["DMA32"].watermark_state == "below min"
    assert zones["DMA"].watermark_state == "above high"


# --- the hosting guide's excerpt (2.6.2x, "oomkilladj", elided middle) -------------------------

def test_guide_report_selected_and_killed_differ():
    report = only("seed-guide-oom.log")
    assert (report.selected.pid, report.selected.name) == (10857, "apache2")
    assert (report.victim.pid, report.victim.name) == (11499, "apache2")
    assert report.pages_ram == 258032 and report.pages_reserved == 4944


def test_guide_gfp_mask_uses_the_pre_2_6_31_movable_bit():
    gfp = only("seed-guide-oom.log").gfp
    # 0x1201d2: __GFP_MOVABLE was 0x100000 before 2.6.31
    assert gfp.names == ["GFP_HIGHUSER_MOVABLE", "__GFP_COLD"]
    assert gfp.source == "table 2.6.23-2.6.30"


def test_guide_report_without_mem_info_is_not_accounted():
    result = autopsy(only("seed-guide-oom.log"))
    assert result.parts == [] and result.unaccounted_kb is None
    assert "cannot be accounted" in result.verdict


# --- 2.6.32 RHEL 6 with a task table ----------------------------------------------------------

def test_rhel6_task_table_and_victim():
    report = only("oom-rhel6-2.6.32.log")
    assert report.task_columns == ["uid", "tgid", "total_vm", "rss", "cpu", "oom_adj", "oom_score_adj", "name"]
    assert len(report.tasks) == 7
    sshd = next(task for task in report.tasks if task.name == "sshd")
    assert sshd.columns["oom_score_adj"] == -1000 and sshd.columns["oom_adj"] == -17
    victim = report.victim
    assert (victim.pid, victim.name, victim.uid) == (2843, "java", 500)
    assert victim.total_vm_kb == 3465532 and victim.anon_rss_kb == 3679200 and victim.file_rss_kb == 804


def test_rhel6_biggest_consumers_from_rss_pages():
    result = autopsy(only("oom-rhel6-2.6.32.log"))
    assert [(task.name, task.rss_pages) for task in result.top_tasks[:2]] == [("java", 920001), ("mysqld", 12044)]
    assert result.task_rss_kb == (102 + 614 + 197 + 12044 + 6010 + 5985 + 920001) * 4


def test_rhel6_accounting():
    result = autopsy(only("oom-rhel6-2.6.32.log"))
    assert_adds_up(result)
    assert kb(result, "kernel_stack") == 0 + 336 + 1712
    assert kb(result, "anon") == (853615 + 93041 - 1024) * 4
    counted_pages = 853615 + 93041 + 318 + 402 + 21421 + 5124 + 12877 + 8371 + 34611
    assert result.unaccounted_kb == (1048560 - counted_pages) * 4 - (336 + 1712)
    assert result.gfp.names == ["GFP_HIGHUSER_MOVABLE", "__GFP_ZERO"]


# --- 3.10 RHEL 7: hugepage pool, no swap --------------------------------------------------------

def test_rhel7_hugepage_pool_is_its_own_part():
    result = autopsy(only("oom-rhel7-3.10.log"))
    assert kb(result, "hugepages") == 512 * 2048
    assert_adds_up(result)
    assert result.report.total_swap_kb == 0
    assert "no swap" in result.verdict


def test_rhel7_victim_uid_and_nr_ptes_layout():
    report = only("oom-rhel7-3.10.log")
    assert report.kernel_version == "3.10.0-1160.el7.x86_64"
    assert (report.victim.pid, report.victim.uid, report.victim.anon_rss_kb) == (7731, 1001, 6044000)
    assert "nr_ptes" in report.task_columns
    assert report.zones[2].name == "Normal" and report.zones[2].watermark_state == "below min"


# --- 4.4: bare hex gfp_mask after the __GFP_WAIT split ----------------------------------------

def test_ubuntu_4_4_gfp_mask_uses_the_4_4_table():
    gfp = only("oom-ubuntu-4.4.log").gfp
    # 0x24201ca = KSWAPD_RECLAIM 0x2000000 | DIRECT_RECLAIM 0x400000 | HARDWALL | COLD | FS | IO | MOVABLE | HIGHMEM
    assert gfp.names == ["GFP_HIGHUSER_MOVABLE", "__GFP_COLD"] and gfp.source == "table 4.4"


def test_ubuntu_4_4_trigger_is_not_the_victim():
    report = only("oom-ubuntu-4.4.log")
    assert report.trigger_pid == 23120
    assert (report.victim.pid, report.victim.name) == (23088, "apache2")
    assert len(report.tasks) == 22 and "nr_pmds" in report.task_columns
    result = autopsy(report)
    assert result.top_tasks[0].name == "mysqld" and result.top_tasks[0].rss_pages == 61233
    assert_adds_up(result)


# --- 5.4: two reports in one journal ----------------------------------------------------------

def test_ubuntu_5_4_every_report_is_found():
    first, second = reports("oom-ubuntu-5.4-two-reports.log")
    assert (first.trigger, first.victim.pid) == ("mysqld", 1876)
    assert (second.trigger, second.trigger_pid, second.victim.pid) == ("php-fpm7.4", 2202, 3410)
    assert first.first.wallclock == datetime(2021, 3, 4, 10, 11, 12, tzinfo=timezone.utc)
    assert second.first.wallclock == datetime(2021, 3, 4, 10, 52, 40, tzinfo=timezone.utc)


def test_ubuntu_5_4_oom_kill_line_and_combined_victim_line():
    report = reports("oom-ubuntu-5.4-two-reports.log")[0]
    assert report.constraint == "CONSTRAINT_NONE"
    assert report.oom_kill["task_memcg"] == "/system.slice/mysql.service"
    assert report.selected is None
    assert report.victim.anon_rss_kb == 903410 * 4 and report.victim.total_vm_kb == 1371262 * 4
    assert report.records[-1].text.startswith("oom_reaper: reaped process 1876")
    assert report.tasks[3].columns["pgtables_bytes"] == 7436 * 1024


def test_ubuntu_5_4_accounting_with_free_pcp_and_zone_kernel_stacks():
    result = autopsy(reports("oom-ubuntu-5.4-two-reports.log")[0])
    assert_adds_up(result)
    assert kb(result, "free") == (21101 + 209) * 4
    assert kb(result, "kernel_stack") == 0 + 1456 + 2272
    assert result.swap_used_kb == 1048572


# --- 6.8: indented continuation lines, node kernel_stack, rss_anon columns --------------------

def test_ubuntu_6_8_counters_from_indented_continuation_lines():
    report = only("oom-ubuntu-6.8.log")
    assert report.counters["free"] == 83342 and report.counters["pagetables"] == 26313
    assert report.counters["sec_pagetables"] == 0 and report.counters["kernel_misc_reclaimable"] == 0
    assert report.node_kb["kernel_stack"] == 12976


def test_ubuntu_6_8_task_table_with_rss_breakdown():
    report = only("oom-ubuntu-6.8.log")
    victim_row = next(task for task in report.tasks if task.pid == 4411)
    assert victim_row.columns["rss_anon"] * 4 == report.victim.anon_rss_kb == 39646840
    assert victim_row.columns["rss_file"] * 4 == report.victim.file_rss_kb == 1172
    result = autopsy(report)
    assert (result.top_tasks[0].pid, result.top_tasks[1].pid) == (4411, 3920)


def test_ubuntu_6_8_accounting():
    result = autopsy(only("oom-ubuntu-6.8.log"))
    assert_adds_up(result)
    counted_pages = (3892011 + 8134127 + 151 + 33 + 8 + 83342 + 1290 + 28410 + 61024 + 26313 + 212345)
    assert result.unaccounted_kb == (12582782 - counted_pages) * 4 - 12976
    assert kb(result, "unevictable") == 8 * 4


# --- 6.1 memory cgroup OOM ----------------------------------------------------------------------

def test_memcg_oom_names_the_cgroup_and_its_limit():
    report = only("oom-memcg-6.1.log")
    assert report.constraint == "CONSTRAINT_MEMCG"
    assert report.memcg == "/system.slice/stress.service"
    assert (report.memcg_usage_kb, report.memcg_limit_kb) == (524288, 524288)
    assert report.gfp.names == ["GFP_KERNEL"] and report.gfp.source == "printed"
    result = autopsy(report)
    assert result.total_kb is None
    assert "cgroup /system.slice/stress.service hit its limit of 512.0 MiB" in result.verdict


# --- the autopsy works on a report built without any log text (the dump side) ---------------

def test_autopsy_of_a_hand_built_report_with_64k_pages():
    report = OomReport(trigger="db", page_size=65536, pages_ram=1000, pages_reserved=10,
                       counters={"active_anon": 500, "inactive_anon": 100, "shmem": 50, "active_file": 40,
                                 "inactive_file": 20, "free": 100, "slab_reclaimable": 30,
                                 "slab_unreclaimable": 20, "pagetables": 5})
    result = autopsy(report)
    assert result.total_kb == 1000 * 64
    assert kb(result, "anon") == (600 - 50) * 64
    assert result.unaccounted_kb == (1000 - (600 + 60 + 100 + 50 + 5 + 10)) * 64
    assert_adds_up(result)


def test_page_size_comes_from_the_buddy_list():
    lines = ["a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=3, oom_score_adj=0",
             "Mem-Info:", "active_anon:10 inactive_anon:0 free:4",
             "Node 0 DMA free:256kB min:64kB low:128kB high:192kB present:64000kB",
             "Node 0 DMA: 2*64kB 1*128kB 0*256kB = 256kB",
             "1000 pages RAM", "Killed process 9 (a)"]
    (report,) = parse_oom_reports(parse_log(lines))
    assert report.page_size == 65536
    assert report.zones[0].largest_free_order == 1
    assert autopsy(report).total_kb == 1000 * 64
    assert "order 3" in autopsy(report).verdict


# --- gfp decoding on its own ------------------------------------------------------------------

@pytest.mark.parametrize("mask, version, names", [
    (0xd0, "3.10.0", ["GFP_KERNEL"]),
    (0x20, "2.6.32", ["GFP_ATOMIC"]),
    (0x50, "2.6.32", ["GFP_NOFS"]),
    (0x24000c0, "4.4.0-21-generic", ["GFP_KERNEL"]),
    (0x26000c0, "4.4.0", ["GFP_KERNEL", "__GFP_NOTRACK"]),
    (0x2080020, "4.4.0", ["GFP_ATOMIC"]),
])
def test_gfp_tables(mask, version, names):
    assert decode_gfp_mask(mask, kernel_version=version).names == names


def test_gfp_printed_names_win_and_unknown_bits_are_reported():
    assert decode_gfp_mask(0x400dc0, printed="GFP_KERNEL_ACCOUNT|__GFP_ZERO").names == \
        ["GFP_KERNEL_ACCOUNT", "__GFP_ZERO"]
    odd = decode_gfp_mask(0x800000d0, kernel_version="3.10.0")
    assert odd.names == ["GFP_KERNEL"] and odd.unknown_bits == 0x80000000
    newer = decode_gfp_mask(0xcc0, kernel_version="5.10.0")
    assert newer.names == [] and newer.source == "unknown"


def test_rhel5_victim_line_with_uid_before_the_name():
    lines = ["Jan 5 10:00:00 old kernel: httpd invoked oom-killer: gfp_mask=0x201d2, order=0, oomkilladj=0",
             "Jan 5 10:00:00 old kernel: Out of memory: Killed process 4242, UID 48, (httpd)."]
    (report,) = parse_oom_reports(parse_log(lines, year=2009))
    assert (report.victim.pid, report.victim.uid, report.victim.name) == (4242, 48, "httpd")
    assert report.selected is None
