"""Where the real-kernel corpus (testdata/corpus/build.sh) and the committed sample live."""
import glob
import json
import os
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("PYCORE_CACHE", os.path.expanduser("~/.cache/pycore"))
SAMPLE = os.path.join(ROOT, "testdata", "sample")


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

    def __repr__(self) -> str:
        return self.name


def cases() -> List[Case]:
    found = []
    if os.path.exists(os.path.join(SAMPLE, "manifest.json")):
        found.append(Case(SAMPLE))
    for manifest in sorted(glob.glob(os.path.join(CACHE, "corpus", "*", "manifest.json"))):
        found.append(Case(os.path.dirname(manifest)))
    return found


def dump_params():
    """(case, dump entry) pairs for parametrize, with readable ids."""
    return [(case, dump) for case in cases() for dump in case.dumps()]


def dump_ids(params):
    return [f"{case.name}/{dump['name']}" for case, dump in params]


def cli_output(capsys, *argv) -> str:
    """What ``pycore ARGV`` prints, asserting it succeeded."""
    from pycore.cli import main

    assert main(list(argv)) == 0
    return capsys.readouterr().out


def reference_lines(case: Case, command: str, dump: Dict) -> List[str]:
    """crash's output for ``command`` on ``dump``, else on the case's reference dump; skips when absent."""
    import pytest

    text = case.reference(command, dump["name"]) or case.reference(command, case.manifest["reference_dump"])
    if text is None:
        pytest.skip(f"crash recorded no {command} for {case.name}")
    return text.rstrip("\n").splitlines()
