"""Build the pycore corpus: real vmcores of Debian cloud kernels crashed in a
QEMU/TCG guest, in every format makedumpfile and QEMU write, each case with
a manifest.json and the reference outputs of crash 9. See README.md.

    build.py [--case NAME]... [--list] [--sample [DIR]] [--force]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import inspect
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fetch  # noqa: E402
import guest  # noqa: E402
import recompress  # noqa: E402
import reference  # noqa: E402
from fetch import CACHE, BuildError, log, run  # noqa: E402

BUILDER_VERSION = 2
# PYCORE_CORPUS builds a corpus elsewhere (beside the one the tests read, to swap in when done).
CORPUS = Path(os.environ.get("PYCORE_CORPUS", CACHE / "corpus"))

# What the io cases record beside crash's core commands: the blocked tasks' stacks, the disks'
# in-flight counts, the sockets of the nc and pycore-unix tasks, and the dd tasks' open files.
IO_COMMANDS = ["foreach bt", "ps -m", "dev -d", "net", "foreach nc net -s", "foreach nc net -S", "foreach nc files",
               "foreach pycore-unix net -s", "foreach pycore-unix files", "foreach dd files"]
# What the rcu cases record beside crash's core commands: the stalled and waiting tasks' stacks,
# the module's spinlock, and the grace period's state.
RCU_COMMANDS = ["foreach bt", "ps -m", "sym pycore_stall_lock", "rd -32 pycore_stall_lock",
                "p rcu_state.gp_seq", "p rcu_state.node[0].qsmask", "p rcu_state.node[0].gp_seq"]
CASES = {
    "6.1-sysrq-l4": dict(kernel="6.1", scenario="sysrq", paging_levels=4, memory_mib=1024,
                         crashkernel="256M", capture="kdump"),
    "6.12-oom-l5": dict(kernel="6.12", scenario="oom", paging_levels=5, memory_mib=1024,
                        crashkernel="256M", capture="kdump"),
    "6.1-oom-l5": dict(kernel="6.1", scenario="oom", paging_levels=5, memory_mib=1024,
                       crashkernel="256M", capture="kdump"),
    "6.12-sysrq-l4-qemu": dict(kernel="6.12", scenario="sysrq", paging_levels=4, memory_mib=1024,
                               capture="qemu"),
    # The oldest and the newest kernel: only the dumps the guest writes (full
    # ELF, flattened zstd and its reassembled kdump file), not the host's
    # conversions, to keep CI time down; the formats are covered above.
    "5.10-sysrq-l4": dict(kernel="5.10", scenario="sysrq", paging_levels=4, memory_mib=1024,
                          crashkernel="256M", capture="kdump", conversions=False),
    "7.2-sysrq-l4": dict(kernel="7.2", scenario="sysrq", paging_levels=4, memory_mib=1024,
                         crashkernel="256M", capture="kdump", conversions=False),
    # Hung-task panics (issue 15): writers blocked on a frozen ext2 on a third
    # disk of fs_disk_mib, khungtaskd panics (hung_task_panic=1, timeout 5 s).
    "6.12-hung-l4": dict(kernel="6.12", scenario="hung", paging_levels=4, memory_mib=1024,
                         crashkernel="256M", capture="kdump", conversions=False, fs_disk_mib=16),
    "6.1-hung-l4": dict(kernel="6.1", scenario="hung", paging_levels=4, memory_mib=1024,
                        crashkernel="256M", capture="kdump", conversions=False, fs_disk_mib=16),
    "7.2-hung-l4": dict(kernel="7.2", scenario="hung", paging_levels=4, memory_mib=1024,
                        crashkernel="256M", capture="kdump", conversions=False, fs_disk_mib=16),
    # Locks (issue 15): the test module pycore_locks (modules/) leaves an ABBA
    # mutex deadlock and an rwsem reader queued behind a sleeping writer, then
    # a kthread spinning with preemption disabled panics the soft lockup
    # watchdog. 7.2's module is built by sid's gcc-16 in a sid chroot
    # (fetch.TEST_MODULE_COMPILERS); that case records crash's core commands
    # and those the hang tests read.
    "6.1-locks-l4": dict(kernel="6.1", scenario="locks", paging_levels=4, memory_mib=1024,
                         crashkernel="256M", capture="kdump", conversions=False, test_module="pycore_locks"),
    "7.2-locks-l4": dict(kernel="7.2", scenario="locks", paging_levels=4, memory_mib=1024,
                         crashkernel="256M", capture="kdump", conversions=False, test_module="pycore_locks",
                         commands="core",
                         extra_commands=["foreach bt", "ps -m", "sym pycore_mutex_a pycore_mutex_b pycore_rwsem"]),
    # An RCU CPU stall (issue 15): the test module pycore_stall (modules/) holds a spinlock
    # on CPU 0 with preemption disabled while a kthread sleeps in synchronize_rcu and
    # another spins for the lock on CPU 1; panic_on_rcu_stall=1.
    "6.1-rcu-l4": dict(kernel="6.1", scenario="rcu", paging_levels=4, memory_mib=1024,
                       crashkernel="256M", capture="kdump", conversions=False, test_module="pycore_stall",
                       commands="core",
                       extra_commands=RCU_COMMANDS),
    # The same on 7.2 (its module built as 7.2-locks-l4's is); crash 9.0.2 reads 7.2 with
    # --no_modules, so pycore_stall's symbols are the guest's to decide (reference/guest/).
    "7.2-rcu-l4": dict(kernel="7.2", scenario="rcu", paging_levels=4, memory_mib=1024,
                       crashkernel="256M", capture="kdump", conversions=False, test_module="pycore_stall",
                       commands="core",
                       extra_commands=RCU_COMMANDS),
    # I/O that never completes and idle sockets (issues 15 and 13, scenarios/io.sh): null_blk's
    # nullb0 with requests in flight for 120 s, dd waiting on them (direct and for a page's
    # writeback, which khungtaskd panics on; two buffered readers on a folio's lock), a TCP
    # connection between two busybox nc over loopback and pycore-unix's unix sockets.
    "6.1-io-l4": dict(kernel="6.1", scenario="io", paging_levels=4, memory_mib=1024,
                      crashkernel="256M", capture="kdump", conversions=False, commands="core",
                      extra_commands=IO_COMMANDS),
    "7.2-io-l4": dict(kernel="7.2", scenario="io", paging_levels=4, memory_mib=1024,
                      crashkernel="256M", capture="kdump", conversions=False, commands="core",
                      extra_commands=IO_COMMANDS),
    # User memory swapped out (issue 16): zram swap devices of every compressor
    # and pycore-swapper's known bytes pushed out by memory pressure; the
    # guest's kdump file keeps user pages (dump_level 0).
    "6.12-swap-l4": dict(kernel="6.12", scenario="swap", paging_levels=4, memory_mib=768,
                         crashkernel="256M", capture="kdump", conversions=False, dump_level=0),
    # zswap (issue 16): the swap scenario on Debian's generic 6.12 (the cloud kernels have no
    # CONFIG_ZSWAP) with zswap's pool held small (scenarios/zswap.sh): the swapper's pages in
    # zswap (lzo) and in the zram devices behind it. crash's core commands, the swap areas and
    # the swap entries of init's and the swapper's pages (crash does not read zswap).
    "6.12-zswap-l4": dict(kernel="6.12-generic", scenario="zswap", paging_levels=4, memory_mib=768,
                          crashkernel="256M", capture="kdump", conversions=False, dump_level=0,
                          commands="core", extra_commands=["swap", "vm -p 1", "foreach pycore-swapper vm -p"]),
    # The same on 7.2, whose cloud kernel has zswap (the swap scenario would turn it on too) and
    # keeps its swap cache in a swap table per cluster (6.18+), not in swapper_spaces.
    "7.2-zswap-l4": dict(kernel="7.2", scenario="zswap", paging_levels=4, memory_mib=768,
                         crashkernel="256M", capture="kdump", conversions=False, dump_level=0,
                         commands="core", extra_commands=["swap", "vm -p 1", "foreach pycore-swapper vm -p"]),
    # The larger guest (issues 11 and 18): 4 GiB over two NUMA nodes, 4 CPUs, ~3200 tasks in a
    # spread of states (scenarios/large.sh): multi-node kmem -z/-f, runq over 4 CPUs, big task
    # lists, and how pycore's cost grows with the dump. The guest's kdump file only (no 4 GiB
    # ELF); crash's core commands and the ones a big task list or a second node changes. TCG
    # with 4 vCPUs on a shared 2-core host is slow: a long timeout.
    "6.12-large-l4": dict(kernel="6.12", scenario="large", paging_levels=4, memory_mib=4096, cpus=4,
                          numa_nodes=2, crashkernel="256M", capture="kdump", full=False, conversions=False,
                          commands="core", timeout=3600,
                          extra_commands=["foreach bt", "ps -S", "ps -k", "ps -G", "runq -t", "runq -g",
                                          "kmem -f", "kmem -V", "kmem -n", "foreach RU task -R pid"]),
}
# The committed sample (testdata/sample): small, kdump-compressed zstd -d 31.
# 6.1 rather than 6.12: a 256 MiB 6.12 guest gives a 24 MiB dump (its text
# compresses worse page by page), over the 20 MiB the repository allows.
SAMPLE = dict(kernel="6.1", scenario="sysrq", paging_levels=4, memory_mib=256, crashkernel="96M",
              capture="kdump", full=False)

# Host-side conversions of the in-guest full ELF: (file, makedumpfile options, format, codec, level).
CONVERSIONS = [
    ("vmcore-d31.elf", ["-E", "-d", "31"], "elf", "none", 31),
    ("vmcore.kdump-zlib", ["-c", "-d", "31"], "kdump", "zlib", 31),
    ("vmcore.kdump-lzo", ["-l", "-d", "31"], "kdump", "lzo", 31),
    ("vmcore.kdump-zstd", ["-z", "-d", "31"], "kdump", "zstd", 31),
    ("vmcore.kdump-none", ["-d", "31"], "kdump", "none", 31),
]
# No Debian makedumpfile has snappy ("snappy disabled" in -v): recompress.py
# writes what -p would, from the uncompressed kdump file.
SNAPPY_FILE = "vmcore.kdump-snappy"


def flattened_size(path: Path) -> int:
    """Length of the makedumpfile flattened stream at the start of path (a raw disk)."""
    with open(path, "rb") as f:
        head = f.read(4096)
        if not head.startswith(b"makedumpfile\0"):
            raise BuildError(f"{path}: no flattened-format signature")
        offset = 4096
        while True:
            f.seek(offset)
            record = f.read(16)
            if len(record) < 16:
                raise BuildError(f"{path}: flattened stream has no end marker")
            data_offset, size = struct.unpack(">qq", record)
            offset += 16
            if data_offset == -1 and size == -1:
                return offset
            if size < 0:
                raise BuildError(f"{path}: bad flattened record at {offset - 16}")
            offset += size


# Case options that choose what crash records, not what the guest does: in reference_recipe, not
# in the dumps' recipe, so that a new command does not crash the guest again.
RECORDING_OPTIONS = ("commands", "extra_commands")


def recipe(case: dict, kernel: dict) -> str:
    """The key of a case's dumps: what the guest runs and how it is captured."""
    text = json.dumps({k: v for k, v in case.items() if not k.startswith("_") and k not in RECORDING_OPTIONS},
                      sort_keys=True)
    text += kernel["package"] + kernel["version"] + str(BUILDER_VERSION)
    # init.sh and the case's own scenario: a new scenario leaves the other cases' dumps alone.
    text += (Path(__file__).parent / "init.sh").read_text()
    text += (Path(__file__).parent / "scenarios" / f"{case['scenario']}.sh").read_text()
    if case.get("test_module"):
        text += "".join(p.read_text() for p in sorted(fetch.TEST_MODULE_SOURCE.iterdir()) if p.is_file())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def move_prefix(src: Path, size: int, dst: Path) -> None:
    """dst becomes the first size bytes of the raw disk image src."""
    os.truncate(src, size)
    shutil.move(str(src), dst)


def dump_entry(path: Path, fmt: str, codec: str, level: int, captured: str) -> dict:
    return {"name": path.name, "format": fmt, "codec": codec, "dump_level": level,
            "size": path.stat().st_size, "sha256": reference.sha256(path), "captured_by": captured}


def build_case(name: str, case: dict, out: Path, tools: fetch.Tools, force: bool = False,
               recorder: concurrent.futures.Executor | None = None):
    """Build one case into out/ (dumps, System.map, reference/, manifest.json).

    Captures in the foreground; records crash's references in recorder when given (so that
    the next case's guest runs while crash reads this one: crash sessions are most of a
    build) and returns its future, else records at once and returns the manifest."""
    kernel = fetch.prepare_kernel(case["kernel"])
    manifest_path = out / "manifest.json"
    key = recipe(case, kernel)
    reference_key = reference_recipe(case, key)
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() and not force else {}
    captured_path = out / "capture.json"
    if not old and captured_path.exists() and not force:
        # A build stopped while crash recorded: the dumps are there, record again.
        old = json.loads(captured_path.read_text())
    if old.get("recipe") == key and old.get("reference_recipe") == reference_key:
        log(f"{name}: cached ({out})")
        return old
    started = time.time()
    case = dict(case)
    if old.get("recipe") == key:
        # Same dumps: only the references are out of date.
        log(f"{name}: recording references again in {out}")
        dumps = old["dumps"]
        primary = out / old["reference_dump"]
        case.update(qemu_cpu=old["qemu_cpu"], kernel_cmdline=old["kernel_cmdline"])
        capture_seconds = old.get("capture_seconds", 0)
        shutil.rmtree(out / "reference", ignore_errors=True)
    else:
        dumps, primary = capture(name, case, out, kernel, tools)
        capture_seconds = round(time.time() - started)
        captured_path.write_text(json.dumps({"recipe": key, "dumps": dumps, "reference_dump": primary.name,
                                             "qemu_cpu": case["qemu_cpu"], "kernel_cmdline": case["kernel_cmdline"],
                                             "capture_seconds": capture_seconds}, indent=2) + "\n")
    arguments = (name, case, out, kernel, tools, dumps, primary, key, reference_key, started, capture_seconds)
    if recorder is None:
        return record(*arguments)
    return recorder.submit(record, *arguments)


def reference_recipe(case: dict, key: str) -> str:
    """The key of a case's recordings: its dumps' key, reference.py, the code here that records
    and the case's own recording options -- not the other cases, so that adding a case to CASES
    records only that case."""
    text = key + (Path(__file__).parent / "reference.py").read_text()
    text += inspect.getsource(record) + inspect.getsource(record_guest_view)
    text += json.dumps({k: case[k] for k in RECORDING_OPTIONS if k in case}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def capture(name: str, case: dict, out: Path, kernel: dict, tools: fetch.Tools):
    """Crash the guest of case and write its dumps into out/; returns (dump entries, reference dump)."""
    log(f"{name}: building in {out}")
    initrd = guest.build_initramfs(kernel, tools)
    if case.get("test_module"):
        initrd = guest.with_test_module(initrd, fetch.build_test_module(kernel, case["test_module"]))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    work = out / ".work"
    dumps = []
    makedumpfile = tools.makedumpfile()
    mdlog = open(out / "makedumpfile.log", "w")

    def makedumpfile_run(args, **kwargs):
        mdlog.write(f"$ makedumpfile {' '.join(map(str, args))}\n")
        mdlog.flush()
        result = subprocess.run(makedumpfile + [str(a) for a in args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kwargs)
        mdlog.write(result.stderr.decode(errors="replace") + "\n")
        if result.returncode != 0:
            raise BuildError(f"makedumpfile {' '.join(map(str, args))} failed:\n{result.stderr.decode()[-2000:]}")
        return result

    reported = guest.run_guest(case, kernel, initrd, work)
    shutil.copy(work / "console.log", out / "console.log")
    if case["capture"] == "kdump":
        level = case.get("dump_level", 31)
        stream = work / "disk-b.img"
        # The sample keeps only the reassembled file.
        flat = (out if case.get("full", True) else work) / "vmcore.flat-zstd"
        move_prefix(stream, flattened_size(stream), flat)
        if case.get("full", True):
            dumps.append(dump_entry(flat, "flattened", "zstd", level,
                                    f"guest: makedumpfile -F -z -d {level} /proc/vmcore | dd"))
        guest_kdump = out / ("vmcore" if not case.get("full", True) else "vmcore-guest.kdump-zstd")
        with open(flat, "rb") as stdin:
            makedumpfile_run(["-R", guest_kdump], stdin=stdin)
        dumps.append(dump_entry(guest_kdump, "kdump", "zstd", level,
                                f"guest: makedumpfile -F -z -d {level}, reassembled with makedumpfile -R"))
        if case.get("full", True):
            full = out / "vmcore.elf"
            move_prefix(work / "disk-a.img", reported["vda"]["size"], full)
            dumps.insert(0, dump_entry(full, "elf", "none", 0, "guest: dd if=/proc/vmcore"))
        if case.get("full", True) and case.get("conversions", True):
            for file_name, options, fmt, codec, level in CONVERSIONS:
                log(f"makedumpfile {' '.join(options)} -> {file_name}")
                makedumpfile_run(options + [full, out / file_name])
                dumps.append(dump_entry(out / file_name, fmt, codec, level,
                                        f"host: makedumpfile {' '.join(options)} vmcore.elf"))
            log(f"recompress.py vmcore.kdump-none -> {SNAPPY_FILE}")
            recompress.recompress_snappy(out / "vmcore.kdump-none", out / SNAPPY_FILE)
            dumps.append(dump_entry(out / SNAPPY_FILE, "kdump", "snappy", 31,
                                    "host: vmcore.kdump-none with each page snappy-compressed by "
                                    "testdata/corpus/recompress.py (Debian's makedumpfile has no -p)"))
        primary = out / ("vmcore.elf" if case.get("full", True) else "vmcore")
    else:
        for file_name, fmt, codec in (("qemu.elf", "elf", "none"), ("qemu.kdump-zlib", "flattened", "zlib")):
            shutil.move(str(work / file_name), out / file_name)
            dumps.append(dump_entry(out / file_name, fmt, codec, 0,
                                    f"qemu: dump-guest-memory -f {file_name.split('.')[-1]}"
                                    + (" (a flattened stream; its header phys_base is wrong)" if fmt == "flattened" else "")))
        reassembled = out / "qemu-reassembled.kdump-zlib"
        with open(out / "qemu.kdump-zlib", "rb") as stdin:
            makedumpfile_run(["-R", reassembled], stdin=stdin)
        dumps.append(dump_entry(reassembled, "kdump", "zlib", 0,
                                "qemu: dump-guest-memory -f kdump-zlib, reassembled with makedumpfile -R"))
        primary = out / "qemu.elf"
    mdlog.close()
    shutil.rmtree(work, ignore_errors=True)
    return dumps, primary


def record(name: str, case: dict, out: Path, kernel: dict, tools: fetch.Tools, dumps: list, primary: Path,
           key: str, reference_key: str, started: float, capture_seconds: int) -> dict:
    """System.map, the references of crash 9 and the others, sha256 sums and manifest.json."""
    for stale in (out / "System.map", out / "System.map.gz"):
        if stale.exists():
            stale.unlink()
    system_map = out / "System.map"
    shutil.copy(kernel["system_map"], system_map)

    info = reference.vmcoreinfo(primary)
    ref_dir = out / "reference"
    ref_dir.mkdir()
    (ref_dir / "vmcoreinfo.txt").write_text(info + "\n")
    levels = 5 if "NUMBER(pgtable_l5_enabled)=1" in info else 4
    if levels != case["paging_levels"]:
        raise BuildError(f"{name}: the guest ran with {levels}-level paging, expected {case['paging_levels']}")
    crash_options = reference.CRASH_OPTIONS.get(case["kernel"], ())
    references, pairs = reference.record_full(tools, kernel["vmlinux"], primary, ref_dir, case["memory_mib"],
                                              crash_options, reference.case_commands(case))
    for dump in dumps:
        if dump["name"] != primary.name and dump["format"] != "flattened":
            cannot_open = reference.CRASH_CANNOT_OPEN.get((case["kernel"], dump["format"]))
            references += reference.record_format(tools, kernel["vmlinux"], out / dump["name"], ref_dir, pairs,
                                                  crash_options, cannot_open)
    for dump in dumps:
        if dump["format"] != "flattened" and (dump["name"] == primary.name or dump["format"] == "kdump"):
            references += reference.record_dmesg(tools, out / dump["name"], ref_dir, dump["format"] == "elf")
            if dump["format"] == "kdump":
                break
    view = record_guest_view(out, case["scenario"])
    sums = [f"{d['sha256']}  {d['name']}" for d in dumps]
    if name == "sample":
        # Committed to git: keep it small.
        run(["gzip", "-9", "-n", "-f", system_map])
        system_map = out / "System.map.gz"
        shutil.copy(ref_dir / "vmcoreinfo.txt", out / "vmcoreinfo.txt")
        shutil.copy(ref_dir / "makedumpfile_--dump-dmesg.vmcore.txt", out / "vmcore-dmesg.txt")
    sums.append(f"{reference.sha256(system_map)}  {system_map.name}")
    sums.append(f"{reference.sha256(kernel['vmlinux'])}  vmlinux")
    (ref_dir / "sha256sum.txt").write_text("\n".join(sums) + "\n")

    manifest = {
        "schema": 1,
        "case": name,
        "kernel_release": kernel["release"],
        "kernel_package": kernel["package"],
        "kernel_version": kernel["version"],
        "kernel_suite": kernel["suite"],
        # Relative to the cache root ($PYCORE_CACHE, default ~/.cache/pycore).
        "vmlinux": str(kernel["vmlinux"].relative_to(CACHE)),
        "vmlinux_build_id": kernel["build_id"],
        "debuginfo_package": kernel["dbg_package"],
        "system_map": system_map.name,
        "paging_levels": levels,
        "scenario": case["scenario"],
        "commands": case.get("commands", "full"),
        "guest_memory_mib": case["memory_mib"],
        "guest_cpus": case.get("cpus", 2),
        "crashkernel": case.get("crashkernel"),
        "capture": case["capture"],
        "qemu_cpu": case["qemu_cpu"],
        "kernel_cmdline": case["kernel_cmdline"],
        "dumps": dumps,
        "unavailable": [],
        "reference_dump": primary.name,
        "references": references,
        "crash_options": list(crash_options),
        "guest_view": view,
        "crash_wrong": reference.CRASH_WRONG.get(case["kernel"], []),
        "tools": {"crash": tools.version("crash"), "makedumpfile": tools.version("makedumpfile"),
                  "qemu": run(["qemu-system-x86_64", "--version"]).stdout.decode().splitlines()[0]},
        "capture_seconds": capture_seconds,
        "build_seconds": round(time.time() - started),
        "builder_version": BUILDER_VERSION,
        "recipe": key,
        "reference_recipe": reference_key,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(f"{name}: done in {manifest['build_seconds']} s, "
        + ", ".join(f"{d['name']} {d['size'] / 2**20:.1f} MiB" for d in dumps))
    return manifest


def record_guest_view(out: Path, scenario: str) -> list:
    """The guest's own listings from console.log into reference/guest/; returns the manifest's guest_view."""
    view_dir = out / "reference" / "guest"
    view_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    console = (out / "console.log").read_text(errors="replace")
    for name, (command, text) in guest.guest_view(console, scenario).items():
        (view_dir / f"{name}.txt").write_text(text)
        entries.append({"name": name, "command": command, "file": f"reference/guest/{name}.txt"})
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", help="build only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases")
    parser.add_argument("--sample", nargs="?", const=str(CACHE / "sample"), metavar="DIR",
                        help="build the sample into DIR (default ~/.cache/pycore/sample) instead of the corpus")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="start building no case that is not built yet once SECONDS have passed (the cases "
                             "built so far are finished; a later run builds the rest): a cold CI run stays short")
    args = parser.parse_args()
    if args.list:
        for name, case in CASES.items():
            print(name, json.dumps(case))
        return 0
    started = time.time()
    try:
        step = time.time()
        tools = fetch.prepare_tools()
        log(f"tools ready in {time.time() - step:.1f} s: crash {tools.version('crash')}, "
            f"makedumpfile {tools.version('makedumpfile')}")
        if args.sample:
            out = Path(args.sample)
            build_case("sample", SAMPLE, out, tools, force=args.force)
        else:
            names = args.case or list(CASES)
            for name in names:
                if name not in CASES:
                    raise BuildError(f"unknown case {name!r}; --list shows the cases")
            # Two cases' references recorded at once beside the next guest (2 cores: the
            # guest's TCG threads and two single-threaded crash sessions).
            deadline = started + args.time_budget if args.time_budget is not None else None
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as recorder:
                pending, left = [], []
                for name in names:
                    out = CORPUS / name
                    never_built = not (out / "manifest.json").exists() and not (out / "capture.json").exists()
                    if deadline is not None and time.time() > deadline and never_built and not args.force:
                        left.append(name)
                        continue
                    step = time.time()
                    result = build_case(name, CASES[name], out, tools, force=args.force,
                                        recorder=recorder)
                    if isinstance(result, concurrent.futures.Future):
                        pending.append(result)
                    log(f"{name}: captured in {time.time() - step:.1f} s")
                for future in pending:
                    future.result()
            if left:
                log(f"time budget of {args.time_budget:.0f} s spent: {', '.join(left)} left for a later run "
                    f"(their tests skip)")
            log(f"corpus in {CORPUS}")
    except BuildError as error:
        log(f"FAILED after {time.time() - started:.0f} s: {error}")
        return 1
    log(f"total {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
