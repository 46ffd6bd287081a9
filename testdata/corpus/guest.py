"""The corpus guest: a busybox initramfs (init.sh, scenarios/) and a QEMU/TCG run that
crashes it and captures the dump, either in the guest with kdump (kexec -p,
/proc/vmcore, makedumpfile) or from the host with QEMU's dump-guest-memory."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import fetch
from fetch import CACHE, BuildError, Tools, log, run

HERE = Path(__file__).resolve().parent
BUSYBOX = Path("/bin/busybox")

# Shell scripts whose file names become the comms `ps` shows.
SCRIPTS = {
    "pycore-spin": "while :; do :; done\n",
    "pycore-sleeper": "while :; do sleep 1000; done\n",
    "pycore-reader": 'read line < "$1"\n',
    # One read() of most of memory from /dev/zero faults every page in.
    "pycore-hog": "kb=$(awk '/MemTotal/ {print int($2 * 0.7)}' /proc/meminfo)\n"
                  "dd if=/dev/zero of=/dev/null bs=${kb}k count=1\n",
    # The hung scenario's writers: fd 3 is init's open file on the frozen filesystem.
    "frozenwriter": "echo frozen >&3\n",
    "poswriter": "echo behind >&3\n",
    # Every task in D state: "PID pid comm", then its /proc/PID/stack.
    "pycore-blocked": 'for dir in /proc/[0-9]*; do\n'
                      '    { read -r stat < "$dir/stat"; } 2>/dev/null || continue\n'
                      '    case "$stat" in *") D "*) ;; *) continue ;; esac\n'
                      '    echo "PID ${dir#/proc/} $(cat "$dir/comm")"\n'
                      '    cat "$dir/stack"\n'
                      'done\n',
    # The swap scenario's zram devices: algorithm, disksize and mm_stat of each.
    "pycore-zram-stat": 'for dir in /sys/block/zram*; do\n'
                        '    echo "${dir##*/} $(cat $dir/comp_algorithm) $(cat $dir/disksize) $(cat $dir/mm_stat)"\n'
                        'done\n',
    # The io scenario's socket holders (scenarios/io.sh writes "ROLE PID" lines to
    # /tmp/pycore-net.pids): "ROLE PID COMM", then each open fd and what it points to.
    "pycore-net-tasks": 'while read -r role pid; do\n'
                        '    echo "$role $pid $(cat /proc/$pid/comm)"\n'
                        '    for fd in /proc/$pid/fd/*; do echo "  ${fd##*/} $(readlink $fd)"; done\n'
                        'done < /tmp/pycore-net.pids\n',
}
# Static helpers built with the host's gcc into every initramfs (the guest has no libc): name -> source.
HELPERS = {"pycore-swapper": "swapper.c", "pycore-unix": "unixsockets.c"}


# What init.sh prints of the crashing guest's own view just before the crash
# (name: the command it ran); build.py saves each under reference/guest/NAME.txt.
GUEST_VIEW = {
    "date": "date +%s",
    "uptime": "cat /proc/uptime",
    "meminfo": "cat /proc/meminfo",
    "modules": "cat /proc/modules",
    "slabinfo": "cat /proc/slabinfo",
    "ps": "ps",
}
# Listings only some scenarios print, after GUEST_VIEW's (scenario: {name: command}).
SCENARIO_VIEW = {
    "hung": {"mounts": "cat /proc/mounts", "blocked": "pycore-blocked"},
    "swap": {"swaps": "cat /proc/swaps", "zram": "pycore-zram-stat"},
    "zswap": {"swaps": "cat /proc/swaps", "zram": "pycore-zram-stat"},  # scenarios/zswap.sh sources swap.sh
    "locks": {"blocked": "pycore-blocked"},
    "rcu": {"blocked": "pycore-blocked"},
    "io": {"blocked": "pycore-blocked", "inflight": "cat /sys/block/nullb0/inflight",
           "diskstats": "grep nullb0 /proc/diskstats", "tcp": "cat /proc/net/tcp",
           "tcp6": "cat /proc/net/tcp6", "unix": "cat /proc/net/unix",
           "net_tasks": "pycore-net-tasks"},
}


def guest_view(console: str, scenario: str = "") -> dict:
    """{name: (command, output)} of the GUEST_VIEW listings (and the scenario's
    SCENARIO_VIEW ones) in the console log.

    The serial console ends lines with CR LF; the output is given with LF only.
    """
    found = {}
    for m in re.finditer(r"^PYCORE: begin (\w+): (.*?)\r?\n(.*?)^PYCORE: end \1\r?$", console, re.M | re.S):
        found[m.group(1)] = (m.group(2).strip(), m.group(3).replace("\r\n", "\n"))
    expected = {**GUEST_VIEW, **SCENARIO_VIEW.get(scenario, {})}
    missing = [name for name in expected if name not in found]
    if missing:
        raise BuildError(f"the guest printed no {', '.join(missing)} (PYCORE: begin/end lines)")
    wrong = [name for name in expected if found[name][0] != expected[name]]
    if wrong:
        raise BuildError(f"the guest ran other commands than GUEST_VIEW for {', '.join(wrong)}")
    # With the console loglevel at 1 the one kernel message that can land in a
    # listing is the panic's: the listing was cut short.
    cut = [name for name in expected if re.search(r"^\[ *\d+\.\d+\] ", found[name][1], re.M)]
    if cut:
        raise BuildError(f"kernel messages inside the guest's {', '.join(cut)}: the crash cut the listing short")
    return {name: found[name] for name in expected}


def cpio_gz(tree: Path, out: Path) -> None:
    files = subprocess.run(["find", "."], cwd=tree, stdout=subprocess.PIPE, check=True).stdout
    with open(out, "wb") as f:
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=tree,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-6", "-n"], stdin=cpio.stdout, stdout=f)
        cpio.stdout.close()
        cpio.communicate(files)
        if cpio.wait() != 0 or gz.wait() != 0:
            raise BuildError(f"cpio/gzip of {tree} failed")


# Modules only some scenarios load (scenario directory: modules): the swap scenario's zram and what
# it depends on (zsmalloc, the lz4 libraries), the io scenario's null_blk (and configfs). Each list,
# with its dependencies, is in /modules/DIRECTORY of every initramfs of a kernel that builds them as
# modules, loaded by that scenario's own file only (other cases' `mod` listings stay as they were).
SCENARIO_MODULES = {"swap": ["zram"], "io": ["null_blk"]}


def scenario_modules(kernel: dict, name: str) -> list:
    """SCENARIO_MODULES[name] and their dependencies from the kernel's packages, in load order,
    decompressed; cached in the kernel's download directory."""
    directory = kernel["dir"] / f"{name}-modules"
    order = directory / "order"
    if order.exists():
        return [directory / name for name in order.read_text().split()]
    tmp = kernel["dir"] / f"{name}-modules-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    pin = fetch.resolve_kernel(kernel["key"])
    for package in pin["contents"]:
        run(["dpkg-deb", "-x", fetch.deb_path(fetch.DOWNLOADS / "debs", package, pin["version"]), tmp])
    moddir = next(p for p in (tmp / "usr/lib/modules" / kernel["release"], tmp / "lib/modules" / kernel["release"])
                  if p.exists())
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    names = []
    for src in fetch.modules_in_order(moddir, SCENARIO_MODULES[name]):
        name = re.sub(r"\.ko\.\w+$", ".ko", src.name)
        (directory / name).write_bytes(fetch.module_data(src))
        names.append(name)
    shutil.rmtree(tmp)
    order.write_text("\n".join(names) + "\n")
    return [directory / name for name in names]


def build_initramfs(kernel: dict, tools: Tools) -> Path:
    """The guest initramfs of one kernel; cached in the downloads cache beside the kernel."""
    out = kernel["dir"] / "initrd.img"
    stamp_text = (HERE / "init.sh").read_text() + json.dumps(SCRIPTS)
    stamp_text += "".join(p.name + p.read_text() for p in sorted((HERE / "scenarios").glob("*.sh")))
    stamp_text += str(sorted(os.listdir(tools.root / "usr/lib/x86_64-linux-gnu")))
    stamp_text += "".join((HERE / source).read_text() for source in HELPERS.values())
    stamp_text += json.dumps(SCENARIO_MODULES)
    stamp = kernel["dir"] / "initrd.stamp"
    if out.exists() and stamp.exists() and stamp.read_text() == stamp_text:
        return out
    log(f"building initramfs for {kernel['release']}")
    if b"statically linked" not in run(["file", "-L", BUSYBOX]).stdout:
        raise BuildError(f"{BUSYBOX} is not static: install busybox-static")
    tree = kernel["dir"] / "initrd-tree"
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu", "lib64", "proc", "sys",
              "dev", "tmp", "boot", "modules"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(BUSYBOX, tree / "bin/busybox")
    for applet in run([BUSYBOX, "--list"]).stdout.decode().split():
        if applet != "busybox" and not (tree / "bin" / applet).exists():
            (tree / "bin" / applet).symlink_to("busybox")
    for name, body in SCRIPTS.items():
        (tree / "bin" / name).write_text("#!/bin/sh\n" + body)
        (tree / "bin" / name).chmod(0o755)
    for name, source in HELPERS.items():
        run(["gcc", "-static", "-O2", "-o", tree / "bin" / name, HERE / source])
    for name in SCENARIO_MODULES:
        (tree / "modules" / name).mkdir()
        modules = scenario_modules(kernel, name)
        for module in modules:
            shutil.copy(module, tree / "modules" / name / module.name)
        (tree / "modules" / name / "order").write_text("".join(f"{module.name}\n" for module in modules))
    shutil.copy(HERE / "init.sh", tree / "init")
    shutil.copytree(HERE / "scenarios", tree / "scenarios")
    (tree / "init").chmod(0o755)
    # makedumpfile and kexec from sid, with sid's libc and ld.so.
    shutil.copy(tools.makedumpfile_bin, tree / "usr/sbin/makedumpfile")
    shutil.copy(tools.kexec_bin, tree / "sbin/kexec")
    libraries = set(tools.needed_libraries(tools.makedumpfile_bin)) | set(tools.needed_libraries(tools.kexec_bin))
    for lib in libraries:
        shutil.copy(lib.resolve(), tree / "usr/lib/x86_64-linux-gnu" / lib.name)
    shutil.copy(tools.ld_so.resolve(), tree / "lib64/ld-linux-x86-64.so.2")
    for module in kernel["modules"].iterdir():
        shutil.copy(module, tree / "modules" / module.name)
    os.mknod(tree / "dev/console", 0o600 | 0o020000, os.makedev(5, 1))
    capture = kernel["dir"] / "capture.img"
    cpio_gz(tree, capture)
    # The crashing kernel's initramfs is the capture one plus what kexec -p loads.
    boot = kernel["dir"] / "boot-tree"
    shutil.rmtree(boot, ignore_errors=True)
    (boot / "boot").mkdir(parents=True)
    shutil.copy(kernel["vmlinuz"], boot / "boot/vmlinuz")
    shutil.copy(capture, boot / "boot/capture.img")
    cpio_gz(boot, kernel["dir"] / "boot.img")
    with open(out, "wb") as f:
        for part in (capture, kernel["dir"] / "boot.img"):
            f.write(part.read_bytes())
    shutil.rmtree(tree)
    shutil.rmtree(boot)
    stamp.write_text(stamp_text)
    return out


def with_test_module(initrd: Path, module: Path) -> Path:
    """initrd with one more cpio archive appended holding module as
    /test-modules/NAME.ko (the kernel unpacks concatenated archives in
    turn), for the scenarios that load one of the corpus's own modules.
    Only the crashing kernel's initramfs carries it: the capture kernel's
    initramfs inside it stays as it is."""
    out = initrd.with_name(f"initrd-{module.stem}.img")
    tree = initrd.with_name(f"{module.stem}-tree")
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "test-modules").mkdir(parents=True)
    shutil.copy(module, tree / "test-modules" / module.name)
    extra = initrd.with_name(f"{module.stem}.cpio.gz")
    cpio_gz(tree, extra)
    shutil.rmtree(tree)
    with open(out, "wb") as f:
        for part in (initrd, extra):
            f.write(part.read_bytes())
    extra.unlink()
    return out


class QMP:
    """Just enough of the QEMU Machine Protocol for dump-guest-memory."""

    def __init__(self, path: Path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rb")
        self._read()
        self.execute("qmp_capabilities")

    def _read(self) -> dict:
        line = self.file.readline()
        if not line:
            raise BuildError("QMP connection closed")
        return json.loads(line)

    def execute(self, command: str, **arguments) -> dict:
        self.sock.sendall(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        while True:
            reply = self._read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise BuildError(f"QMP {command} failed: {reply['error']}")


def numa_arguments(memory_mib: int, cpus: int, nodes: int) -> list:
    """QEMU's arguments for nodes NUMA nodes, each an equal share of the memory (its own RAM
    backend: QEMU 5.1 and later take no -numa node,mem= on current machine types) and of the
    CPUs, in order: node 0 has the first CPUs and the lowest memory. None for one node, so the
    other cases' command lines stay as they were."""
    if nodes == 1:
        return []
    if memory_mib % nodes or cpus % nodes:
        raise BuildError(f"{memory_mib} MiB and {cpus} CPUs do not split evenly over {nodes} NUMA nodes")
    per_node = cpus // nodes
    args = []
    for node in range(nodes):
        args += ["-object", f"memory-backend-ram,id=m{node},size={memory_mib // nodes}M",
                 "-numa", f"node,nodeid={node},cpus={node * per_node}-{(node + 1) * per_node - 1},memdev=m{node}"]
    return args


def run_guest(case: dict, kernel: dict, initrd: Path, work: Path, attempts: int = 3) -> dict:
    """run_guest_once, booted again when KASLR left no room for the crashkernel= region."""
    for attempt in range(1, attempts + 1):
        try:
            return run_guest_once(case, kernel, initrd, work)
        except BuildError as error:
            text = (work / "console.log").read_text(errors="replace") if (work / "console.log").exists() else ""
            if attempt == attempts or "cannot allocate crashkernel" not in text:
                raise
            log(f"crashkernel={case.get('crashkernel')} not reserved this boot ({error}); booting again")


def run_guest_once(case: dict, kernel: dict, initrd: Path, work: Path) -> dict:
    """Boot the guest of case, let it crash, capture; return what the guest reported.

    kdump cases return the sizes (and sha256) the capture kernel printed for the
    dumps it wrote to disk-a.img (full ELF) and disk-b.img (kdump zstd); qemu
    cases write qemu.elf and qemu.kdump-zlib through QMP.
    """
    work.mkdir(parents=True, exist_ok=True)
    console = work / "console.log"
    qmp_path = work / "qmp.sock"
    for p in (console, qmp_path):
        if p.exists():
            p.unlink()
    memory = case["memory_mib"]
    disks = []
    if case["capture"] == "kdump":
        for name in ("disk-a.img", "disk-b.img"):
            disk = work / name
            if disk.exists():
                disk.unlink()
            with open(disk, "wb") as f:
                f.truncate((memory + 64) * 1024 * 1024)
            disks += ["-drive", f"file={disk},if=virtio,format=raw,cache=unsafe"]
    if case.get("fs_disk_mib"):
        # The scenario's own filesystem (hung: /dev/vdc, frozen), after the dump disks.
        disk = work / "disk-c.img"
        if disk.exists():
            disk.unlink()
        with open(disk, "wb") as f:
            f.truncate(case["fs_disk_mib"] * 1024 * 1024)
        disks += ["-drive", f"file={disk},if=virtio,format=raw,cache=unsafe"]
    cmdline = (f"console=ttyS0 panic={1 if case['capture'] == 'kdump' else 0} "
               f"pycore.scenario={case['scenario']} pycore.capture={case['capture']} "
               f"pycore.full={'yes' if case.get('full', True) else 'no'}")
    if case["capture"] == "kdump":
        cmdline += f" crashkernel={case['crashkernel']}"
    if "dump_level" in case:
        cmdline += f" pycore.dumplevel={case['dump_level']}"
    cpu = "max" if case["paging_levels"] == 5 else "max,-la57"
    cpus = case.get("cpus", 2)
    args = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", cpu, "-smp", str(cpus),
            "-m", str(memory), *numa_arguments(memory, cpus, case.get("numa_nodes", 1)),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", kernel["vmlinuz"], "-initrd", initrd, "-append", cmdline,
            "-serial", f"file:{console}", "-device", "vmcoreinfo",
            "-qmp", f"unix:{qmp_path},server=on,wait=off", *disks]
    case["qemu_command"] = " ".join(map(str, args))
    case["kernel_cmdline"] = cmdline
    case["qemu_cpu"] = cpu
    log(f"booting guest: {kernel['release']}, {memory} MiB, -cpu {cpu}, {case['scenario']}, {case['capture']}")
    start = time.time()
    qemu = subprocess.Popen([str(a) for a in args], stdout=open(work / "qemu.log", "wb"), stderr=subprocess.STDOUT)
    timeout = case.get("timeout", 1500)
    result = {}
    try:
        if case["capture"] == "qemu":
            while not (console.exists() and "end Kernel panic" in console.read_text(errors="replace")):
                if qemu.poll() is not None or time.time() - start > timeout:
                    raise BuildError(f"guest did not panic; see {console}")
                time.sleep(1)
            time.sleep(3)
            qmp = QMP(qmp_path)
            for fmt, name in (("elf", "qemu.elf"), ("kdump-zlib", "qemu.kdump-zlib")):
                log(f"QMP dump-guest-memory format={fmt}")
                qmp.execute("dump-guest-memory", paging=False, protocol=f"file:{work / name}", format=fmt)
            qmp.execute("quit")
        qemu.wait(timeout=max(1, timeout - (time.time() - start)))
    except subprocess.TimeoutExpired:
        qemu.kill()
        qemu.wait()
        raise BuildError(f"guest timed out after {timeout} s; see {console}")
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
    text = console.read_text(errors="replace")
    log(f"guest finished in {time.time() - start:.0f} s")
    for line in text.splitlines():
        if "PYCORE:" in line and "failed" in line:
            raise BuildError(f"guest reported: {line.strip()} (see {console})")
    if case["capture"] == "kdump":
        if "PYCORE: capture done" not in text:
            raise BuildError(f"capture kernel did not finish; see {console}")
        for m in re.finditer(r"PYCORE: dump (vd[ab]) (\S+) (\d+)(?: ([0-9a-f]{64}))?", text):
            result[m.group(1)] = {"kind": m.group(2), "size": int(m.group(3)), "sha256": m.group(4)}
    return result
