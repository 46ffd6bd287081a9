"""Downloads for the corpus: Debian cloud kernels (image + -dbg), crash 9 and
makedumpfile from Debian unstable, unpacked into private roots under the
cache. A private apt configuration is used so the host's apt setup is never
touched; the mirror is the one the host's own apt sources name."""

from __future__ import annotations

import contextlib
import glob
import lzma
import os
import re
import shutil
import stat
import subprocess
import tarfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("PYCORE_CACHE", str(Path.home() / ".cache" / "pycore")))
DOWNLOADS = CACHE / "downloads"
APT_ROOT = CACHE / "apt-sid"
TOOLS_ROOT = DOWNLOADS / "tools-root"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

# The kernels the corpus is built from. Pinned so that a rebuild gives the
# same kernels; when the archive drops a pinned version the build falls back
# to what the suite's linux-image-cloud-amd64 meta-package depends on.
# "package" names the kernel as apt does; "contents" lists the packages that
# hold its files when they are not in "package" itself: sid splits a kernel
# into linux-binary-* (vmlinuz) and linux-modules-*, and bullseye's signed
# image is taken as its -unsigned twin. The -dbg package is always
# linux-image-<release>-dbg. "flavour" names the meta-package of the fallback
# (linux-image-<flavour>; "cloud-amd64" when absent): the generic "amd64"
# flavour has what the cloud one leaves out (CONFIG_ZSWAP) and builds virtio
# as modules (GUEST_MODULES).
KERNELS = {
    "5.10": {"suite": "bullseye", "package": "linux-image-5.10.0-32-cloud-amd64-unsigned", "version": "5.10.223-1",
             "release": "5.10.0-32-cloud-amd64"},
    "6.1": {"suite": "bookworm", "package": "linux-image-6.1.0-56-cloud-amd64", "version": "6.1.192-2"},
    "6.12": {"suite": "trixie", "package": "linux-image-6.12.117+deb13-cloud-amd64", "version": "6.12.117-1"},
    "7.2": {"suite": "sid", "package": "linux-image-7.2.13+deb14-cloud-amd64", "version": "7.2.13-1",
            "contents": ["linux-binary-7.2.13+deb14-cloud-amd64", "linux-modules-7.2.13+deb14-cloud-amd64"]},
    "6.12-generic": {"suite": "trixie", "package": "linux-image-6.12.117+deb13-amd64", "version": "6.12.117-1",
                     "flavour": "amd64"},
}

# Where a kernel's files lie in its packages, older Debian layout first: up to
# 6.12 /boot/vmlinuz-<release> and /usr/lib/debug/boot/; sid's 7.x
# /usr/lib/modules/<release>/vmlinuz and /usr/lib/debug/lib/modules/<release>/.
IMAGE_FILES = {
    "vmlinuz": ("boot/vmlinuz-{release}", "usr/lib/modules/{release}/vmlinuz"),
    "config": ("boot/config-{release}", "usr/lib/modules/{release}/config"),
}
DEBUG_FILES = {
    "vmlinux": ("usr/lib/debug/boot/vmlinux-{release}", "usr/lib/debug/lib/modules/{release}/vmlinux"),
    # The image package's System.map is a placeholder; the real one is in -dbg.
    "System.map": ("usr/lib/debug/boot/System.map-{release}", "usr/lib/debug/lib/modules/{release}/System.map"),
}

# crash 9 and makedumpfile >= 1.7.6 with every library they load, from sid.
# Their libc is newer than bookworm's, so they run through the unpacked ld.so.
TOOL_PACKAGES = [
    "crash", "makedumpfile", "libc6", "libgcc-s1", "libgmp10", "liblzo2-2", "libmpfr6",
    "libncursesw6", "libsnappy1v5", "libstdc++6", "libtinfo6", "libzstd1", "zlib1g",
    "liblzma5", "libdw1t64", "libelf1t64", "libbz2-1.0",
    # kexec for the guest: bookworm's 2.0.26 cannot load a 6.12 capture kernel
    # (kexec_file_load "not available", kexec_load EINVAL); sid's links Xen libraries.
    "kexec-tools", "libxenmisc4.20", "libxencall1", "libxendevicemodel1", "libxenevtchn1",
    "libxenforeignmemory1", "libxengnttab1", "libxentoollog1", "libxentoolcore1",
]
TOOL_SUITE = "sid"
# The suites of the private sources list: every kernel's and the tools'.
SUITES = ("bullseye", "bookworm", "trixie", "sid")
TOOL_LIBRARY_DIRS = ["usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu"]

# Modules the cloud kernels may build as modules but the guest needs.
GUEST_MODULES = ["virtio_blk", "virtio_pci", "qemu_fw_cfg"]


class BuildError(Exception):
    """A build step failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[corpus {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; raise BuildError with its output if it fails."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.STDOUT)
    result = subprocess.run([str(a) for a in args], **kwargs)
    if result.returncode != 0:
        output = result.stdout.decode(errors="replace") if isinstance(result.stdout, bytes) else (result.stdout or "")
        raise BuildError(f"command failed ({result.returncode}): {' '.join(map(str, args))}\n{output[-3000:]}")
    return result


def host_mirrors() -> dict:
    """The Debian and Debian-security mirror URIs of the host's apt sources."""
    mirrors = {}
    texts = []
    for path in glob.glob("/etc/apt/sources.list.d/*.sources") + ["/etc/apt/sources.list"]:
        if os.path.exists(path):
            texts.append(Path(path).read_text(errors="replace"))
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites:
                for suite in suites.group(1).split():
                    mirrors.setdefault(suite, uris.group(1))
        for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            mirrors.setdefault(m.group(2), m.group(1))
    debian = os.environ.get("PYCORE_DEBIAN_MIRROR") or mirrors.get("bookworm")
    security = os.environ.get("PYCORE_SECURITY_MIRROR") or mirrors.get("bookworm-security")
    if not debian:
        raise BuildError("no Debian mirror found in /etc/apt sources for 'bookworm'; set PYCORE_DEBIAN_MIRROR")
    return {"debian": debian, "security": security}


def apt_options() -> list:
    etc = APT_ROOT / "etc"
    return [
        "-o", f"Dir::Etc={etc}", "-o", f"Dir::Etc::sourcelist={etc / 'sources.list'}",
        "-o", "Dir::Etc::sourceparts=-", "-o", f"Dir::Etc::preferencesparts={etc / 'preferences.d'}",
        "-o", f"Dir::State={APT_ROOT / 'state'}", "-o", f"Dir::State::status={APT_ROOT / 'state' / 'status'}",
        "-o", f"Dir::Cache={APT_ROOT / 'cache'}", "-o", "APT::Architecture=amd64",
        "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-q",
    ]


def apt_update(force: bool = False) -> None:
    """Write the private apt configuration and fetch its package lists."""
    lists = APT_ROOT / "state" / "lists"
    stamp = APT_ROOT / "updated"
    mirrors = host_mirrors()
    for d in (APT_ROOT / "etc" / "preferences.d", lists / "partial", APT_ROOT / "cache" / "archives" / "partial"):
        d.mkdir(parents=True, exist_ok=True)
    (APT_ROOT / "state" / "status").touch()
    lines = [f"deb [signed-by={KEYRING}] {mirrors['debian']} {suite} main" for suite in SUITES]
    if mirrors["security"]:
        lines.append(f"deb [signed-by={KEYRING}] {mirrors['security']} bookworm-security main")
    sources = "\n".join(lines) + "\n"
    if not force and stamp.exists() and stamp.read_text() == sources:
        return
    (APT_ROOT / "etc" / "sources.list").write_text(sources)
    log("apt-get update (private configuration)")
    run(["apt-get", *apt_options(), "update"])
    stamp.write_text(sources)


def deb_path(directory: Path, package: str, version: str | None) -> Path | None:
    """The cached .deb of package (any version if version is None)."""
    quoted = version.replace(":", "%3a") if version else "*"
    found = sorted(directory.glob(f"{glob.escape(package)}_{quoted}_*.deb"))
    return found[-1] if found else None


def apt_download(directory: Path, *specs: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    run(["apt-get", *apt_options(), "download", *specs], cwd=directory)


def apt_show_field(spec: str, field: str) -> str:
    out = run(["apt-cache", *apt_options(), "show", spec]).stdout.decode()
    m = re.search(rf"^{field}:\s*(.+)$", out, re.M)
    if not m:
        raise BuildError(f"apt-cache show {spec}: no {field} field")
    return m.group(1).strip()


def kernel_pin(entry: dict) -> dict:
    """A KERNELS entry with its release, the packages holding its files and its -dbg package filled in."""
    pin = dict(entry)
    pin.setdefault("release", pin["package"][len("linux-image-"):])
    pin.setdefault("contents", [pin["package"]])
    pin["dbg"] = f"linux-image-{pin['release']}-dbg"
    return pin


def download_kernel(pin: dict) -> None:
    """The .debs of pin that are not cached yet."""
    directory = DOWNLOADS / "debs"
    missing = [p for p in pin["contents"] + [pin["dbg"]] if not deb_path(directory, p, pin["version"])]
    if missing:
        log(f"downloading {' '.join(missing)} {pin['version']}")
        apt_download(directory, *(f"{package}={pin['version']}" for package in missing))


def resolve_kernel(key: str) -> dict:
    """The pinned kernel of KERNELS[key], or the suite's current one if the archive dropped it."""
    pin = kernel_pin(KERNELS[key])
    directory = DOWNLOADS / "debs"
    if all(deb_path(directory, p, pin["version"]) for p in pin["contents"] + [pin["dbg"]]):
        return pin
    apt_update()
    try:
        download_kernel(pin)
        return pin
    except BuildError as error:
        log(f"WARNING: pinned kernel {pin['package']} {pin['version']} not downloadable ({str(error).splitlines()[0]})")
    apt_update(force=True)
    flavour = pin.get("flavour", "cloud-amd64")
    depends = apt_show_field(f"linux-image-{flavour}/{pin['suite']}", "Depends")
    m = re.search(rf"(linux-image-[^\s,]+-{re.escape(flavour)}) \(= ([^)]+)\)", depends)
    if not m:
        raise BuildError(f"cannot find the current {flavour} kernel of {pin['suite']} in: {depends}")
    package, version = m.groups()
    # sid's linux-image-<release> only depends on the linux-binary- and linux-modules- packages that hold the files.
    parts = re.findall(r"(linux-(?:binary|modules)-[^\s,]+) \(=", apt_show_field(f"{package}={version}", "Depends"))
    pin = kernel_pin({"suite": pin["suite"], "package": package, "version": version, "flavour": flavour,
                      **({"contents": parts} if parts else {})})
    log(f"WARNING: falling back to {pin['package']} {pin['version']}; update KERNELS in fetch.py")
    download_kernel(pin)
    return pin


def module_data(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".zst"):
        return run(["zstd", "-dc", path]).stdout
    return data


def modules_in_order(modules_dir: Path, wanted: list) -> list:
    """Files of the wanted modules and their dependencies, in load order.

    The .deb ships no modules.dep (depmod writes it at install time), so the
    dependencies are read from each module's .modinfo "depends=" string.
    Wanted modules without a file are built in.
    """
    by_name = {}
    for path in (modules_dir / "kernel").rglob("*.ko*"):
        by_name[re.sub(r"\.ko(\.\w+)?$", "", path.name).replace("-", "_")] = path
    order = []

    def visit(name):
        path = by_name.get(name)
        if path is None or path in order:
            return
        m = re.search(rb"\x00depends=([^\x00]*)\x00", module_data(path))
        for dep in (m.group(1).decode().split(",") if m and m.group(1) else []):
            visit(dep.replace("-", "_"))
        order.append(path)

    for name in wanted:
        visit(name)
    return order


def package_file(tree: Path, layouts: tuple, release: str) -> Path | None:
    """The first of layouts (IMAGE_FILES paths) present in the unpacked tree."""
    for layout in layouts:
        path = tree / layout.format(release=release)
        if path.exists():
            return path
    return None


def extract_debug_files(dbg: Path, release: str, kdir: Path) -> None:
    """vmlinux and System.map (DEBUG_FILES) from the -dbg package into kdir, in one pass over its data."""
    wanted = {layout.format(release=release): name for name, layouts in DEBUG_FILES.items() for layout in layouts}
    found = set()
    tar_stream = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(dbg)], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=tar_stream.stdout, mode="r|") as tar:
        for member in tar:
            name = wanted.get(member.name.removeprefix("./"))
            if name and member.isfile():
                with tar.extractfile(member) as source, open(kdir / name, "wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
                found.add(name)
    if tar_stream.wait() != 0:
        raise BuildError(f"dpkg-deb --fsys-tarfile {dbg} failed")
    missing = sorted(set(DEBUG_FILES) - found)
    if missing:
        raise BuildError(f"{dbg.name} has no {', '.join(missing)} at any of: {', '.join(sorted(wanted))}")


def prepare_kernel(key: str) -> dict:
    """Download and unpack one kernel: vmlinuz, System.map, config (when packaged), guest modules, vmlinux."""
    pin = resolve_kernel(key)
    release = pin["release"]
    kdir = DOWNLOADS / "kernels" / release
    done = kdir / ".done"
    if not done.exists():
        log(f"unpacking kernel {release}")
        shutil.rmtree(kdir, ignore_errors=True)
        tmp = kdir / "tmp"
        tmp.mkdir(parents=True)
        for package in pin["contents"]:
            run(["dpkg-deb", "-x", deb_path(DOWNLOADS / "debs", package, pin["version"]), tmp])
        for name, layouts in IMAGE_FILES.items():
            path = package_file(tmp, layouts, release)
            if path is not None:
                shutil.copy(path, kdir / name)
            elif name == "vmlinuz":
                raise BuildError(f"no vmlinuz in {' '.join(pin['contents'])}")
        moddir = next(p for p in (tmp / "usr/lib/modules" / release, tmp / "lib/modules" / release) if p.exists())
        order = modules_in_order(moddir, GUEST_MODULES)
        (kdir / "modules").mkdir()
        names = []
        for src in order:
            name = re.sub(r"\.ko\.\w+$", ".ko", src.name)
            (kdir / "modules" / name).write_bytes(module_data(src))
            names.append(name)
        (kdir / "modules" / "order").write_text("\n".join(names) + "\n")
        shutil.rmtree(tmp)
        dbg = deb_path(DOWNLOADS / "debs", pin["dbg"], pin["version"])
        log(f"extracting vmlinux and System.map from {dbg.name}")
        extract_debug_files(dbg, release, kdir)
        done.write_text(f"{pin['package']} {pin['version']}\n")
    notes = run(["readelf", "-n", kdir / "vmlinux"]).stdout.decode()
    build_id = re.search(r"Build ID:\s*([0-9a-f]+)", notes)
    return {
        "key": key, "release": release, "package": pin["package"], "version": pin["version"],
        "suite": pin["suite"], "dbg_package": pin["dbg"], "dir": kdir, "vmlinux": kdir / "vmlinux",
        "vmlinuz": kdir / "vmlinuz", "system_map": kdir / "System.map", "modules": kdir / "modules",
        "build_id": build_id.group(1) if build_id else None,
    }


# The corpus's own test modules (testdata/corpus/modules/NAME.c, one Kbuild),
# built against each kernel's Debian linux-headers package with the compiler
# its CONFIG_CC_VERSION_TEXT names: "cc", run on the host, or with "chroot"
# in a root filesystem of that suite's packages. 7.2 is built with sid's
# gcc-16: bookworm's gcc-12 rejects its flags (-fmin-function-alignment=16),
# and sid's gcc and kbuild tools need sid's libc, which the bookworm host
# lacks, so they run in a sid chroot (prepare_build_root).
TEST_MODULE_SOURCE = Path(__file__).resolve().parent / "modules"
TEST_MODULE_COMPILERS = {
    "6.1": {"cc": "gcc-12"},
    "7.2": {"cc": "gcc-16", "chroot": "sid"},
}
# What kbuild runs in a build root besides the compiler and what the headers
# package depends on (linux-kbuild, binutils, pahole).
BUILD_ROOT_PACKAGES = ["make", "dash", "bash", "coreutils", "sed", "grep", "gawk", "findutils", "diffutils",
                       "libc6-dev"]
# Commands a maintainer script would link (update-alternatives, which
# `dpkg-deb -x` does not run): name in /usr/bin -> its target.
BUILD_ROOT_LINKS = {"awk": "gawk"}


def compiler_text(compiler: dict) -> str:
    """How compiler builds, for the log and the cache stamp ("gcc-12", "gcc-16 in a sid chroot")."""
    return compiler["cc"] + (f" in a {compiler['chroot']} chroot" if "chroot" in compiler else "")


def prepare_headers(kernel: dict) -> Path:
    """The kernel's linux-headers tree (with its -common and linux-kbuild
    packages, as its Depends name them) unpacked into a private root; returns
    the directory `make -C` takes."""
    release, version = kernel["release"], kernel["version"]
    root = DOWNLOADS / "headers" / release
    tree = root / "usr/src" / f"linux-headers-{release}"
    done = root / ".done"
    if done.exists():
        return tree
    package = f"linux-headers-{release}"
    apt_update()
    specs = [f"{package}={version}"]
    for name, exact in re.findall(r"(linux-(?:headers|kbuild)-[^\s,(]+)(?: \((=)?[^)]*\))?",
                                  apt_show_field(f"{package}={version}", "Depends")):
        specs.append(f"{name}={version}" if exact else name)
    directory = DOWNLOADS / "debs" / "headers" / release
    log(f"downloading {' '.join(specs)}")
    apt_download(directory, *specs)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for deb in directory.glob("*.deb"):
        run(["dpkg-deb", "-x", deb, root])
    # The arch tree's Makefile includes its -common tree by absolute path.
    makefile = tree / "Makefile"
    makefile.write_text(makefile.read_text().replace("/usr/src/", f"{root}/usr/src/"))
    done.touch()
    return tree


def package_closure(suite: str, specs: list) -> list:
    """NAME=VERSION of specs and of everything they depend on (Depends and
    Pre-Depends, no Recommends), as apt would install them with suite
    preferred on an empty system: `apt-get --simulate` against the private
    configuration, whose dpkg status is empty."""
    out = run(["apt-get", *apt_options(), "--simulate", "--target-release", suite,
               "-o", "APT::Install-Recommends=0", "install", *specs]).stdout.decode()
    found = re.findall(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) ", out, re.M)
    if not found:
        raise BuildError(f"apt-get --simulate install {' '.join(specs)} installs nothing:\n{out[-2000:]}")
    return [f"{name}={version}" for name, version in found]


def prepare_build_root(kernel: dict, compiler: dict) -> Path:
    """A root filesystem of compiler["chroot"]'s packages that builds kernel's
    modules: the compiler, BUILD_ROOT_PACKAGES and linux-headers-RELEASE with
    their dependency closure, unpacked with `dpkg-deb -x` (no maintainer
    scripts run) under downloads/build-root/RELEASE; the .debs are cached in
    downloads/debs/build-root. Returns the root."""
    release, version = kernel["release"], kernel["version"]
    root = DOWNLOADS / "build-root" / release
    done = root / ".done"
    if done.exists():
        return root
    apt_update()
    specs = package_closure(compiler["chroot"],
                            [compiler["cc"], *BUILD_ROOT_PACKAGES, f"linux-headers-{release}={version}"])
    directory = DOWNLOADS / "debs" / "build-root"
    missing = [spec for spec in specs if not deb_path(directory, *spec.split("=", 1))]
    if missing:
        log(f"downloading {len(missing)} packages from {compiler['chroot']} for the {release} build root")
        apt_download(directory, *missing)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    # sid's packages keep their files under /usr and base-files ships the
    # merged-/usr links (/lib64 holds the ELF interpreter); made first, so
    # that a package unpacked before base-files cannot make them directories.
    for name in ("bin", "sbin", "lib", "lib64"):
        (root / name).symlink_to(f"usr/{name}")
    for spec in specs:
        run(["dpkg-deb", "-x", deb_path(directory, *spec.split("=", 1)), root])
    for name, target in BUILD_ROOT_LINKS.items():
        link = root / "usr/bin" / name
        if not link.exists():
            link.symlink_to(target)
    # kbuild's compiler probes read and write /dev/null: a device node, not a file the chroot would create.
    (root / "dev").mkdir(exist_ok=True)
    os.mknod(root / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.chmod(root / "dev/null", 0o666)
    (root / "build").mkdir()
    done.write_text("\n".join(specs) + "\n")
    return root


@contextlib.contextmanager
def proc_mounted(root: Path):
    """/proc mounted in the build root while the block runs: 7.2's objtool
    reads /proc/self/maps (its stack limit) and /proc/self/exe."""
    proc = root / "proc"
    proc.mkdir(exist_ok=True)
    run(["mount", "-t", "proc", "proc", proc])
    try:
        yield
    finally:
        run(["umount", proc])


def build_test_module(kernel: dict, name: str) -> Path:
    """testdata/corpus/modules/NAME.ko built for kernel; cached under
    downloads/test-modules/RELEASE/ while its sources and compiler hold."""
    compiler = TEST_MODULE_COMPILERS.get(kernel["key"])
    if compiler is None:
        raise BuildError(f"no compiler for test modules of {kernel['release']} (TEST_MODULE_COMPILERS)")
    sources = sorted(p for p in TEST_MODULE_SOURCE.iterdir() if p.is_file())
    stamp_text = compiler_text(compiler) + "".join(p.name + p.read_text() for p in sources)
    out_dir = DOWNLOADS / "test-modules" / kernel["release"]
    ko, stamp = out_dir / f"{name}.ko", out_dir / f"{name}.stamp"
    if ko.exists() and stamp.exists() and stamp.read_text() == stamp_text:
        return ko
    if "chroot" in compiler:
        root = prepare_build_root(kernel, compiler)
        work = root / "build" / name
        # The host's environment (MAKEFLAGS, CC, locale) must not steer the chroot's make.
        make = ["chroot", root, "make", "-C", f"/usr/src/linux-headers-{kernel['release']}", f"M=/build/{name}"]
        environment = {"PATH": "/usr/sbin:/usr/bin", "HOME": "/", "LC_ALL": "C"}
    else:
        tree = prepare_headers(kernel)
        work = out_dir / "build"
        make = ["make", "-C", tree, f"M={work}"]
        environment = None
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for source in sources:
        shutil.copy(source, work / source.name)
    log(f"building {name}.ko for {kernel['release']} with {compiler_text(compiler)}")
    with proc_mounted(root) if "chroot" in compiler else contextlib.nullcontext():
        run([*make, f"CC={compiler['cc']}", "modules"], env=environment)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / f"{name}.ko", ko)
    shutil.rmtree(work)
    stamp.write_text(stamp_text)
    return ko


class Tools:
    """crash and makedumpfile from sid, run through their own ld.so."""

    def __init__(self, root: Path):
        self.root = root
        self.ld_so = root / "usr/lib64/ld-linux-x86-64.so.2"
        self.library_path = ":".join(str(root / d) for d in TOOL_LIBRARY_DIRS)
        self.crash_bin = root / "usr/bin/crash"
        self.makedumpfile_bin = root / "usr/bin/makedumpfile"
        self.kexec_bin = root / "usr/sbin/kexec"
        self.vmcore_dmesg_bin = root / "usr/sbin/vmcore-dmesg"

    def command(self, binary: Path) -> list:
        return [str(self.ld_so), "--library-path", self.library_path, str(binary)]

    def crash(self) -> list:
        return self.command(self.crash_bin)

    def makedumpfile(self) -> list:
        return self.command(self.makedumpfile_bin)

    def needed_libraries(self, binary: Path) -> list:
        """The shared libraries binary loads, resolved inside the tools root."""
        out = run([self.ld_so, "--library-path", self.library_path, "--list", binary]).stdout.decode()
        if "not found" in out:
            raise BuildError(f"{binary}: missing libraries:\n{out}")
        return [Path(m.group(1)) for m in re.finditer(r"=> (/\S+)", out) if "ld-linux" not in m.group(1)]

    def version(self, name: str) -> str:
        if name == "crash":
            out = run(self.crash() + ["--version"]).stdout.decode()
            return re.search(r"crash (\S+)", out).group(1)
        out = run(self.makedumpfile() + ["-v"]).stdout.decode()
        return re.search(r"version (\S+)", out).group(1)


def prepare_tools() -> Tools:
    """Download crash, makedumpfile and their libraries from sid and unpack them."""
    directory = DOWNLOADS / "debs" / "tools"
    done = TOOLS_ROOT / ".done"
    if not done.exists():
        missing = [p for p in TOOL_PACKAGES if not deb_path(directory, p, None)]
        if missing:
            apt_update()
            log(f"downloading from {TOOL_SUITE}: {' '.join(missing)}")
            apt_download(directory, *(f"{package}/{TOOL_SUITE}" for package in missing))
        shutil.rmtree(TOOLS_ROOT, ignore_errors=True)
        TOOLS_ROOT.mkdir(parents=True)
        for package in TOOL_PACKAGES:
            run(["dpkg-deb", "-x", deb_path(directory, package, None), TOOLS_ROOT])
        done.touch()
    tools = Tools(TOOLS_ROOT)
    tools.needed_libraries(tools.crash_bin)
    tools.needed_libraries(tools.makedumpfile_bin)
    return tools
