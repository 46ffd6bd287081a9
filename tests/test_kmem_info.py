"""kmem -i arithmetic and layout without a dump: crash's pages_to_size(), truncating percentages,
and the sections that appear only when the kernel has hugetlbfs, swap and overcommit accounting."""
from pycore.cli.crashfmt import pages_to_size, percent
from pycore.cli.kmem import render_info, render_zones
from pycore.kernel import vmstat
from pycore.types.model import enum_type

CRASH_6_1_OOM = """\
                 PAGES        TOTAL      PERCENTAGE
    TOTAL MEM   183300       716 MB         ----
         FREE     9366      36.6 MB    5% of TOTAL MEM
         USED   173934     679.4 MB   94% of TOTAL MEM
      BUFFERS        0            0    0% of TOTAL MEM
       CACHED     1935       7.6 MB    1% of TOTAL MEM
         SLAB     4142      16.2 MB    2% of TOTAL MEM

   TOTAL HUGE        0            0         ----
    HUGE FREE        0            0    0% of TOTAL HUGE

   TOTAL SWAP        0            0         ----
    SWAP USED        0            0    0% of TOTAL SWAP
    SWAP FREE        0            0    0% of TOTAL SWAP

 COMMIT LIMIT    91650       358 MB         ----
    COMMITTED   259479    1013.6 MB  283% of TOTAL LIMIT"""


def info(**changes):
    base = {"page_size": 4096, "total_mem": 183300, "free": 9366, "used": 173934, "buffers": 0, "cached": 1935,
            "slab": 4142, "hugetlb": {"total": 0, "free": 0}, "swap": {"total": 0, "used": 0, "free": 0},
            "commit": {"limit": 91650, "committed": 259479}}
    base.update(changes)
    return base


def test_sizes_drop_a_trailing_point_zero_and_switch_units_like_crash():
    assert pages_to_size(0, 4096) == "0"
    assert pages_to_size(183300, 4096) == "716 MB"     # 716.02 MB
    assert pages_to_size(9366, 4096) == "36.6 MB"
    assert pages_to_size(259479, 4096) == "1013.6 MB"  # still under 1 GB
    assert pages_to_size(100, 4096) == "400 KB"
    assert pages_to_size(262144, 4096) == "1 GB"
    assert pages_to_size(300000, 4096) == "1.1 GB"


def test_percentages_truncate_as_c_integer_division():
    assert percent(173934, 183300) == 94  # 94.9
    assert percent(259479, 91650) == 283
    assert percent(1, 3) == 33
    assert percent(5, 0) == 0


def test_the_table_matches_crash_on_the_6_1_oom_numbers():
    assert render_info(info()) == CRASH_6_1_OOM


def test_no_hugetlbfs_means_no_huge_lines_and_swap_in_use_shows_its_share():
    text = render_info(info(hugetlb=None, swap={"total": 1000, "used": 250, "free": 750}))
    assert "HUGE" not in text
    assert "    SWAP USED      250      1000 KB   25% of TOTAL SWAP" in text.splitlines()
    assert "    SWAP FREE      750       2.9 MB   75% of TOTAL SWAP" in text.splitlines()


def test_a_zero_commit_limit_shows_dashes_instead_of_a_percentage():
    lines = render_info(info(commit={"limit": 0, "committed": 7})).splitlines()
    assert lines[-1] == "    COMMITTED        7        28 KB         ----"


class EnumProg:
    def __init__(self, enumerators):
        self.enum = enum_type("zone_stat_item", 4, False, enumerators)

    def type(self, name):
        return self.enum


def test_stat_names_take_the_last_alias_and_stop_at_the_count():
    prog = EnumProg([("NR_FREE_PAGES", 0), ("NR_ZONE_LRU_BASE", 1), ("NR_ZONE_INACTIVE_ANON", 1),
                     ("NR_ZONE_ACTIVE_ANON", 2), ("NR_VM_ZONE_STAT_ITEMS", 3)])
    assert vmstat.stat_item_names(prog, "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS") == \
        ["NR_FREE_PAGES", "NR_ZONE_INACTIVE_ANON", "NR_ZONE_ACTIVE_ANON"]


def test_zone_lines_right_align_names_and_show_present_only_when_short_of_size():
    zone = {"node": 0, "index": 1, "address": 0xFFFF8F32CEE37600, "name": "DMA32", "populated": True,
            "spanned_pages": 61402, "present_pages": 61402, "watermark_min": 265, "watermark_low": 331,
            "watermark_high": 397, "vm_stat": {"NR_FREE_PAGES": 19030, "NR_ZONE_INACTIVE_ANON": -2}}
    empty = dict(zone, index=2, name="Normal", populated=False, address=0xFFFF8F32CEE37C00)
    assert render_zones([zone, dict(zone, index=0, present_pages=3998), empty]).splitlines() == [
        'NODE: 0  ZONE: 1  ADDR: ffff8f32cee37600  NAME: "DMA32"',
        "  SIZE: 61402  MIN/LOW/HIGH: 265/331/397",
        "  VM_STAT:",
        "        NR_FREE_PAGES: 19030",
        "NR_ZONE_INACTIVE_ANON: -2",
        "", "",
        'NODE: 0  ZONE: 0  ADDR: ffff8f32cee37600  NAME: "DMA32"',
        "  SIZE: 61402  PRESENT: 3998  MIN/LOW/HIGH: 265/331/397",
        "  VM_STAT:",
        "        NR_FREE_PAGES: 19030",
        "NR_ZONE_INACTIVE_ANON: -2",
        "", "",
        'NODE: 0  ZONE: 2  ADDR: ffff8f32cee37c00  NAME: "Normal"',
        "  [unpopulated]",
    ]
