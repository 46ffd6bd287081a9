"""kmem -s's object and slab counts against the crashing guest's own /proc/slabinfo, and the checks
behind the warnings of mod, ps and kmem quiet on every real dump.  The guest's view is the oracle
where crash 9 is wrong (7.2's kmem -s and mod) and a second one where it is right (5.10).  The guest
printed its views a moment before the crash (testdata/corpus/init.sh): slabinfo, then ``ps``, then
sysrq-c.

/proc/slabinfo's active_objs is total_objects less the free objects on the nodes' partial lists:
it counts as active the free objects kept per CPU (per-CPU slabs before 7.0, sheaves since 6.18),
which kmem -s counts free, as crash does.  kmem -s gives them as ``cached``, so that
``allocated + cached`` is slabinfo's active_objs.
"""
import json
import os

import pytest

from corpus import cases, pycore_output

pytestmark = pytest.mark.real
# Only where the crash follows the listings at once (sysrq-c): an OOM case runs its memory hogs
# after them, forking, faulting and reclaiming until the panic, so its slabs are not the listed ones.
CASES = [case for case in cases()
         if case.guest_view("slabinfo") is not None and case.manifest["scenario"] == "sysrq"]
if not CASES:
    pytest.skip("no corpus case records the guest's /proc/slabinfo: run testdata/corpus/build.sh",
                allow_module_level=True)

# Between slabinfo and the crash the guest ran busybox ps, which opens /proc/PID, its stat and its
# cmdline for each process: new /proc inodes with their dentries and LSM blobs, and files (filp,
# freed after an RCU grace period, so still allocated at the crash).  Those caches may only grow,
# by at most four objects per process listed, rounded up to a new slab on each CPU: slabs are added
# whole, and the free objects of a CPU's new slab count as active in slabinfo.
# And iommu_iova: the IOVAs of the virtio disks' DMA mappings, which I/O between the listing and
# the crash (a 7.2 guest's rebuild showed one new slab of them) may grow the same way.
GROWN_BY_PS = {"proc_inode_cache", "dentry", "lsm_inode_cache", "filp", "iommu_iova"}
PER_PROCESS = 4


def modes():
    return [pytest.param(case, mode, id=f"{case.name}-{mode.replace(' ', '-')}")
            for case in CASES for mode in ("dump only", "vmlinux")
            if mode == "dump only" or os.path.exists(case.vmlinux)]


def pycore_json(case, mode, *words):
    options = ("--vmlinux", case.vmlinux) if mode == "vmlinux" else ()
    result = pycore_output(words[0], case.path(case.reference_dump), *words[1:], "--json", *options)
    assert (result.status, result.err) == (0, "")
    return json.loads(result.out)


def slabinfo(case):
    """{name: (active_objs, num_objs, objsize, objperslab, pagesperslab, num_slabs)} of /proc/slabinfo 2.1."""
    lines = case.guest_view("slabinfo").splitlines()
    assert lines[0] == "slabinfo - version: 2.1"
    found = {}
    for line in lines[2:]:
        fields = line.split()
        found[fields[0]] = tuple(int(fields[i]) for i in (1, 2, 3, 4, 5, 14))
    return found


@pytest.mark.parametrize("case,mode", modes())
def test_slab_counts_are_the_guest_slabinfo(case, mode):
    """Every cache's total, slabs and active objects equal the guest's, save the caches ps grew."""
    guest = slabinfo(case)
    processes = len(case.guest_view("ps").splitlines()) - 1
    listing = pycore_json(case, mode, "kmem", "-s")
    assert listing["warnings"] == []
    ours = {c["name"]: c for c in listing["caches"]}
    assert set(ours) == set(guest)
    differ = {}
    for name, (active, total, size, per_slab, pages, slabs) in guest.items():
        cache = ours[name]
        assert (cache["size"], cache["objects_per_slab"], 1 << cache["order"]) == (size, per_slab, pages), name
        assert cache["errors"] == [] and cache["allocated"] + cache["free"] == cache["total"], name
        counted = (cache["total"], cache["slabs"], cache["allocated"] + cache["cached"])
        if counted != (total, slabs, active):
            differ[name] = (counted[0] - total, counted[2] - active)
    assert set(differ) <= GROWN_BY_PS, differ
    cpus = case.manifest["guest_cpus"]
    for name, pair in differ.items():
        bound = PER_PROCESS * processes + cpus * ours[name]["objects_per_slab"]
        assert all(0 <= grown <= bound for grown in pair), (name, pair, bound)


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_mod_finds_nothing_wrong_in_a_real_module_list(case):
    """The checks behind mod's warnings are quiet on what the kernels really hold."""
    listing = pycore_json(case, "dump only", "mod")
    assert listing["warnings"] == []
    assert listing["modules"] and all(m["problems"] == [] and m["state"] == "MODULE_STATE_LIVE"
                                      for m in listing["modules"])


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_ps_and_kmem_find_nothing_wrong_in_real_tasks_and_zones(case):
    tasks = pycore_json(case, "dump only", "ps")
    assert tasks["warnings"] == [] and all(t["problems"] == [] for t in tasks["tasks"])
    assert pycore_json(case, "dump only", "kmem", "-i")["warnings"] == []
    zones = pycore_json(case, "dump only", "kmem", "-z")
    assert zones and all(zone["problems"] == [] for zone in zones)
