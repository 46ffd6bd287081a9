"""Shared fixtures: the synthetic dump builder, and running a test on both the C and Python paths."""
import os
import sys

from typing import List

import pytest

from pycore import native

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "testdata")
sys.path.insert(0, TESTDATA)

import synthetic  # noqa: E402  (testdata/synthetic.py)

NATIVE_SKIP = pytest.mark.skipif(
    not native.AVAILABLE,
    reason="pycore._native is not built (python setup.py build_ext --inplace) or PYCORE_PURE is set")


@pytest.fixture(params=[pytest.param(True, marks=NATIVE_SKIP, id="C"), pytest.param(False, id="python")])
def native_path(request):
    """Run the test once on the C reader and once on the pure-Python reader."""
    return request.param


@pytest.fixture(scope="session")
def machine():
    return synthetic.make_machine()


@pytest.fixture(scope="session")
def dump_files(machine, tmp_path_factory):
    """Every container format of the same synthetic machine, written once per session."""
    directory = tmp_path_factory.mktemp("synthetic")
    images = {"elf-kdump": synthetic.build_elf(machine), "elf-qemu": synthetic.build_elf(machine, qemu_style=True)}
    for codec in synthetic.FLAG_OF_CODEC:
        images[f"kdump-{codec}"] = synthetic.build_kdump(machine, codec)[0]
    images["flat-kdump-zstd"] = synthetic.flatten(images["kdump-zstd"], seed=3)
    images["flat-kdump-lzo"] = synthetic.flatten(images["kdump-lzo"], seed=4, rewrite=False)
    images["flat-elf"] = synthetic.flatten(images["elf-kdump"], seed=5)
    paths = {}
    for name, data in images.items():
        path = directory / f"{name}.vmcore"
        path.write_bytes(data)
        paths[name] = str(path)
    return paths


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def is_subsequence(needles: List[str], haystack: List[str]) -> bool:
    """Whether ``needles`` appear in ``haystack`` in this order (others may stand between them)."""
    remaining = iter(haystack)
    return all(any(name == candidate for candidate in remaining) for name in needles)
