"""kmem's numbers on the real-kernel corpus (and the committed sample): the JSON and the helpers
behind ``kmem -i/-z/-s`` agree with each other (their text against crash 9: test_real_commands)."""
import json

import pytest

import pycore
from pycore.kernel import meminfo, slab, vmstat

from corpus import cli_output, dump_ids, real_dumps
from crash_reference import with_known_gaps

pytestmark = pytest.mark.real
PARAMS = real_dumps()
JSON_PARAMS = PARAMS[:1] + [p for p in PARAMS if p[1]["dump_level"] == 31][:1]


@pytest.mark.parametrize("case,dump", JSON_PARAMS, ids=dump_ids(JSON_PARAMS))
def test_kmem_json_carries_the_same_numbers(case, dump):
    info = json.loads(cli_output("kmem", case.path(dump["name"]), "-i", "--json"))
    assert info["used"] == info["total_mem"] - info["free"]
    caches = json.loads(cli_output("kmem", case.path(dump["name"]), "-s", "--json"))["caches"]
    assert all(c["allocated"] <= c["total"] for c in caches)
    assert {"kmem_cache", "kmem_cache_node"} <= {c["name"] for c in caches}


@pytest.mark.parametrize("case,dump", with_known_gaps("test_helpers_agree_with_each_other", PARAMS, dump_ids(PARAMS)))
def test_helpers_agree_with_each_other(case, dump, native_path):
    with pycore.open(case.path(dump["name"]), native=native_path) as prog:
        zones = vmstat.zones(prog)
        info = meminfo.kmem_info(prog)
        assert info["free"] == sum(z.free_pages for z in zones)
        # vm_zone_stat is the sum of the zones' counters once per-CPU deltas are folded: close, not equal.
        assert abs(vmstat.global_zone_stat(prog)["NR_FREE_PAGES"] - info["free"]) < 1024
        for zone in zones:
            if zone.populated:
                assert zone.watermark_min <= zone.watermark_low <= zone.watermark_high
                assert 0 < zone.present_pages <= zone.spanned_pages
        caches = slab.slab_caches(prog)
        assert all(not c.errors for c in caches)
        assert sum(c.slabs << c.order for c in caches) > 0
