"""kmem -i, -z and -s on the real-kernel corpus (and the committed sample) against crash 9, line for line.

crash recorded the references on each case's reference dump (the full ELF, or the sample's
kdump); every other format of the same crash holds the same kernel memory pages kmem reads
(slabs, zones, counters: none of them filtered by -d 31), so every format is held to them.
"""
import pytest

import pycore
from pycore.cli import main
from pycore.kernel import meminfo, slab, vmstat

from corpus import dump_ids, dump_params

pytestmark = pytest.mark.real
PARAMS = dump_params()
if not PARAMS:
    pytest.skip("no real dumps: run testdata/corpus/build.sh (the sample in testdata/sample is missing too)",
                allow_module_level=True)


def _crash_lines(text):
    return text.rstrip("\n").splitlines()


@pytest.mark.parametrize("option", ["-i", "-z", "-s"])
@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
def test_kmem_matches_crash_line_for_line(case, dump, option, capsys):
    expected = case.reference(f"kmem {option}")
    if expected is None:
        pytest.skip(f"crash recorded no kmem {option} for {case.name}")
    assert main(["kmem", case.path(dump["name"]), option]) == 0
    captured = capsys.readouterr()
    assert _crash_lines(captured.out) == _crash_lines(expected)
    assert captured.err == ""  # no slab on these dumps is corrupt or missing


@pytest.mark.parametrize("case,dump", PARAMS[:1] + [p for p in PARAMS if p[1]["dump_level"] == 31][:1],
                         ids=dump_ids(PARAMS[:1] + [p for p in PARAMS if p[1]["dump_level"] == 31][:1]))
def test_kmem_json_carries_the_same_numbers(case, dump, capsys):
    import json

    main(["kmem", case.path(dump["name"]), "-i", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert info["used"] == info["total_mem"] - info["free"]
    main(["kmem", case.path(dump["name"]), "-s", "--json"])
    caches = json.loads(capsys.readouterr().out)
    assert all(c["allocated"] <= c["total"] for c in caches)
    assert {"kmem_cache", "kmem_cache_node"} <= {c["name"] for c in caches}


@pytest.mark.parametrize("case,dump", PARAMS, ids=dump_ids(PARAMS))
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
