"""kmem -i and -z never show a zone the kernel could not have kept without saying so: the checks of
vmstat.zone_problems on numbers from the 6.1 oom dump's Normal zone, then each broken alone."""
import pytest

from pycore.kernel import vmstat

NORMAL = dict(node=0, node_id=0, index=2, name="Normal", address=0xFFFF88803FFD5D00, start_pfn=0x100000,
              spanned_pages=262144, present_pages=262144, managed_pages=250232, watermark_min=3969,
              watermark_low=4961, watermark_high=5953, watermark_boost=0,
              vm_stat={"NR_FREE_PAGES": 4116, "NR_ZONE_ACTIVE_ANON": 180121, "NR_MLOCK": 0})


def zone(**changes):
    fields = dict(NORMAL, **changes)
    return vmstat.ZoneInfo(**fields)


def test_a_zone_as_the_kernel_keeps_it_has_no_problems():
    assert vmstat.zone_problems(zone(), cpus=2) == []


@pytest.mark.parametrize("changes,problem", [
    ({"present_pages": 262145}, "262145 present pages of 262144 spanned"),
    ({"managed_pages": 262145}, "262145 managed pages of 262144 present"),
    ({"watermark_high": 250233}, "high watermark 250233 above its 250232 managed pages"),
    ({"vm_stat": {"NR_FREE_PAGES": 262144 + 251}}, "NR_FREE_PAGES 262395 beyond the zone's 262144 pages"),
    ({"vm_stat": {"NR_ZONE_ACTIVE_ANON": -251}}, "NR_ZONE_ACTIVE_ANON -251 beyond the zone's 262144 pages"),
], ids=["present", "managed", "watermark", "counter-above", "counter-below"])
def test_counters_beyond_the_zone_are_problems(changes, problem):
    assert vmstat.zone_problems(zone(**changes), cpus=2) == [problem]


def test_per_cpu_drift_is_no_problem():
    """Each CPU may hold up to 125 pages of a counter's changes (stat_threshold) unfolded."""
    assert vmstat.zone_problems(zone(vm_stat={"NR_FREE_PAGES": -250, "NR_MLOCK": 262144 + 250}), cpus=2) == []
