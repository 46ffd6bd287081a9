"""Where the real-kernel corpus (testdata/corpus/build.sh) and the committed sample live, and the
preamble every real-dump test shares: the (case, dump) pairs, and pycore run as its command line."""
import contextlib
import functools
import glob
import io
import json
import os
import re
from typing import Dict, List, NamedTuple, Optional, Pattern, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("PYCORE_CACHE", os.path.expanduser("~/.cache/pycore"))
SAMPLE = os.path.join(ROOT, "testdata", "sample")
NO_DUMPS = "no real dumps: run testdata/corpus/build.sh (the sample in testdata/sample is missing too)"


class Case:
    """One crash: its manifest, directory, and reference outputs recorded with crash 9."""

    def __init__(self, directory: str):
        self.directory = directory
        with open(os.path.join(directory, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.name = self.manifest["case"]

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    @property
    def vmlinux(self) -> str:
        """The vmlinux path; the committed sample names it relative to the download cache."""
        path = self.manifest["vmlinux"]
        return path if os.path.isabs(path) else os.path.join(CACHE, path)

    @property
    def reference_dump(self) -> str:
        """The dump crash recorded the case's references on (the full ELF, or the sample's kdump)."""
        return self.manifest["reference_dump"]

    def dump_level(self, name: Optional[str] = None) -> int:
        """makedumpfile's dump level of one dump file (the reference dump by default): bit 8 set, user
        pages were left out."""
        name = name or self.reference_dump
        return next(d for d in self.manifest["dumps"] if d["name"] == name)["dump_level"]

    def dumps(self) -> List[Dict]:
        return [d for d in self.manifest["dumps"] if os.path.exists(self.path(d["name"]))]

    def reference(self, command: str, dump: Optional[str] = None) -> Optional[str]:
        for ref in self.manifest.get("references", []):
            if ref["command"] == command and (dump is None or ref.get("dump") == dump):
                path = self.path(ref["file"])
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        return f.read()
        return None

    def references(self, prefix: str) -> List[Dict]:
        return [r for r in self.manifest.get("references", []) if r["command"].startswith(prefix)
                and os.path.exists(self.path(r["file"]))]

    def guest_view(self, name: str) -> Optional[str]:
        """What the crashing guest itself printed just before the crash (``date``, ``uptime``,
        ``meminfo``, ``modules``, ``slabinfo``, ``ps``: testdata/corpus/guest.py GUEST_VIEW), or
        None for a case built before the corpus recorded it."""
        for entry in self.manifest.get("guest_view", []):
            if entry["name"] == name and os.path.exists(self.path(entry["file"])):
                with open(self.path(entry["file"]), errors="replace") as f:
                    return f.read()
        return None

    def crash_wrong(self, command: str) -> Optional[Dict]:
        """The manifest's word that crash's recording of ``command`` is wrong on this kernel
        (``why``, and the ``guest_view`` that holds instead), or None where crash is right."""
        return next((entry for entry in self.manifest.get("crash_wrong", []) if entry["command"] == command), None)

    def __repr__(self) -> str:
        return self.name


# The cases the pure-Python run (PYCORE_PURE=1) reads: one per kernel and the hung-task case of
# 6.12.  The pure run proves that the package answers the same without its extension; what the
# extension changes is how pages are read and walked, which the twin tests (test_dump_formats,
# test_codecs, test_x86_64, test_native_seam) compare on every dump.  Every case in the pure run
# too: PYCORE_ALL_CASES=1.
PURE_CASES = {"5.10-sysrq-l4", "6.1-sysrq-l4", "6.12-oom-l5", "6.12-hung-l4", "7.2-sysrq-l4"}


def cases() -> List[Case]:
    """The committed sample and every corpus case built under the cache (the pure-Python run: the
    sample and PURE_CASES, unless PYCORE_ALL_CASES=1)."""
    found = []
    if os.path.exists(os.path.join(SAMPLE, "manifest.json")):
        found.append(Case(SAMPLE))
    subset = os.environ.get("PYCORE_PURE") == "1" and os.environ.get("PYCORE_ALL_CASES") != "1"
    for manifest in sorted(glob.glob(os.path.join(CACHE, "corpus", "*", "manifest.json"))):
        if not subset or os.path.basename(os.path.dirname(manifest)) in PURE_CASES:
            found.append(Case(os.path.dirname(manifest)))
    return found


def dump_params() -> List[Tuple[Case, Dict]]:
    """(case, dump entry) pairs for parametrize, with readable ids."""
    return [(case, dump) for case in cases() for dump in case.dumps()]


def real_dumps() -> List[Tuple[Case, Dict]]:
    """(case, dump entry) of every real dump; skips the calling test module, at import, when there is none."""
    params = dump_params()
    if not params:
        pytest.skip(NO_DUMPS, allow_module_level=True)
    return params


def dump_ids(params) -> List[str]:
    return [f"{case.name}/{dump['name']}" for case, dump in params]


class Output(NamedTuple):
    """What one ``pycore`` command line did: exit status, standard output, standard error."""
    status: int
    out: str
    err: str


@functools.lru_cache(maxsize=512)
def pycore_output(*argv: str) -> Output:
    """Run ``pycore ARGV`` in this process and capture what it printed.

    Memoized: the real-dump tests ask for the same command on the same dump from several
    comparisons, and a dump's output does not change within a test session.
    """
    from pycore.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return Output(status, out.getvalue(), err.getvalue())


def cli_output(*argv: str) -> str:
    """What ``pycore ARGV`` prints, asserting it succeeded and printed no error."""
    result = pycore_output(*argv)
    assert (result.status, result.err) == (0, ""), argv
    return result.out


def named_pids(line: "Pattern[str]", err: str) -> List[int]:
    """The PIDs a partial answer's one error line names (ps, bt: "N tasks could not be read ... (PIDs
    a, b): fault"), asserting ``err`` is that line (``line``'s groups: the count, then the PIDs) and
    that the count is the number of PIDs."""
    match = line.fullmatch(err.rstrip("\n"))
    assert match, err
    pids = [int(pid) for pid in match.group(2).split(", ")]
    assert int(match.group(1)) == len(pids)
    return pids


_KERNEL_TEXT_ADDRESS = re.compile(r"(?<![0-9a-f])ffffffff8[0-9a-f]{7}(?![0-9a-f])")


def at_kaslr_offset(case: Case, text: str) -> str:
    """``text`` with each kernel-image address written as the vmlinux links it (ffffffff8...) moved
    by the KASLR offset of the case's reference dump: answers kept in a test hold for every corpus
    build, each of which boots at another offset."""
    import pycore

    with pycore.open(case.path(case.reference_dump)) as prog:
        offset = prog.vmcoreinfo.kernel_offset or 0
    return _KERNEL_TEXT_ADDRESS.sub(lambda link: f"{int(link.group(), 16) + offset:016x}", text)

