"""pycore against the crashing guest's own view: what it printed to its console just before the crash
(/proc/modules, /proc/slabinfo, /proc/meminfo, busybox ps, date, /proc/uptime; testdata/corpus/init.sh).
The second oracle beside crash 9, and the only one where crash is wrong (the manifest's crash_wrong:
7.2's ``kmem -s``, ``mod`` and DATE).  Known gaps of pycore: crash_reference.KNOWN_GAPS."""
import json
import os
import re

import pytest

from corpus import cases, pycore_output
from crash_reference import known_gap

pytestmark = pytest.mark.real
CASES = [case for case in cases() if case.guest_view("date") is not None]
if not CASES:
    pytest.skip("no corpus case records the guest's own view: run testdata/corpus/build.sh",
                allow_module_level=True)


def params(test: str) -> list:
    """(case, mode) of every case that has the guest's view, in both modes where the vmlinux is
    downloaded; a known gap is a strict xfail."""
    found = []
    for case in CASES:
        for mode in ("dump only", "vmlinux"):
            if mode == "vmlinux" and not os.path.exists(case.vmlinux):
                continue
            found.append(pytest.param(case, mode, id=f"{case.name}-{mode.replace(' ', '-')}",
                                      marks=known_gap(case.name, test, mode)))
    return found


def pycore_json(case, mode: str, *words: str):
    """``pycore WORDS[0] REFERENCE_DUMP WORDS[1:] --json``, asserting it succeeded."""
    options = ("--vmlinux", case.vmlinux) if mode == "vmlinux" else ()
    result = pycore_output(words[0], case.path(case.reference_dump), *words[1:], "--json", *options)
    assert (result.status, result.err) == (0, "")
    return json.loads(result.out)


@pytest.mark.parametrize("case,mode", params("test_modules_are_the_guest_proc_modules"))
def test_modules_are_the_guest_proc_modules(case, mode):
    """Every module of /proc/modules, with its size and base address (the text's, since 6.4 mem[MOD_TEXT])."""
    guest = {}
    for line in case.guest_view("modules").splitlines():
        name, size, _, _, _, address = line.split()[:6]
        guest[name] = (int(size), int(address, 16))
    ours = {m["name"]: (m["size"], m["text_base"]) for m in pycore_json(case, mode, "mod")["modules"]}
    assert ours == guest


@pytest.mark.parametrize("case,mode", params("test_slab_caches_are_the_guest_slabinfo"))
def test_slab_caches_are_the_guest_slabinfo(case, mode):
    """The caches of /proc/slabinfo, each with its object size, objects per slab and pages per slab.
    The object counts are left out: the listing ran a moment before the crash."""
    guest = {}
    for line in case.guest_view("slabinfo").splitlines()[2:]:
        name, _, _, size, per_slab, pages = line.split()[:6]
        guest[name] = (int(size), int(per_slab), int(pages))
    ours = {c["name"]: (c["size"], c["objects_per_slab"], 1 << c["order"])
            for c in pycore_json(case, mode, "kmem", "-s")["caches"]}
    assert ours == guest


@pytest.mark.parametrize("case,mode", params("test_total_memory_is_the_guest_memtotal"))
def test_total_memory_is_the_guest_memtotal(case, mode):
    """kmem -i's TOTAL MEM is /proc/meminfo's MemTotal (both totalram_pages)."""
    memtotal_kb = int(re.search(r"^MemTotal:\s+(\d+) kB$", case.guest_view("meminfo"), re.M).group(1))
    info = pycore_json(case, mode, "kmem", "-i")
    assert info["total_mem"] * info["page_size"] // 1024 == memtotal_kb


@pytest.mark.parametrize("case,mode", params("test_tasks_are_the_guest_ps"))
def test_tasks_are_the_guest_ps(case, mode):
    """Every process busybox ps listed is in pycore's ps, kernel threads under their comm, save the
    ps itself (gone by the crash).  /proc shows a workqueue worker's comm followed by "-" or "+" and
    the workqueue it serves (wq_worker_comm); the task's comm is the part before."""
    guest = {}
    for line in case.guest_view("ps").splitlines()[1:]:
        pid, _, command = line.split(None, 2)
        guest[int(pid)] = command
    ps_itself = max(pid for pid, command in guest.items() if command.startswith("{ps}") or command == "ps")
    del guest[ps_itself]
    ours = {t["pid"]: t["comm"] for t in pycore_json(case, mode, "ps")["tasks"]}
    assert set(guest) <= set(ours)
    threads = {pid: command[1:-1] for pid, command in guest.items() if command.startswith("[")}
    assert threads
    renamed = {pid: (shown, ours[pid]) for pid, shown in threads.items()
               if not re.fullmatch(re.escape(ours[pid]) + r"([-+].*)?", shown)}
    assert renamed == {}


@pytest.mark.parametrize("case,mode", params("test_crash_time_and_uptime_follow_the_guest_clock"))
def test_crash_time_and_uptime_follow_the_guest_clock(case, mode):
    """sys's date is within a minute after the guest's ``date +%s``, the kernel's uptime within a
    minute after its /proc/uptime: the listings and sysrq-c are all that ran in between."""
    info = pycore_json(case, mode, "sys")
    assert 0 <= info["date"] - int(case.guest_view("date")) < 60
    assert 0 <= info["kernel_uptime_seconds"] - int(float(case.guest_view("uptime").split()[0])) < 60
