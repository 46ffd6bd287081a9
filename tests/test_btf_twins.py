"""The BTF index in C (csrc/btf.c) and in Python give the same ids for every name and fail the
same way on damaged blobs."""
import os
import random

import pytest

from pycore.errors import FormatError
from pycore.types.btf import load_vmlinux_btf, parse_btf

from conftest import NATIVE_SKIP
from corpus import cases

import btf_writer

pytestmark = NATIVE_SKIP


def _answers(index):
    """Every lookup an index offers, by name: types, variables and functions."""
    names = index.names()
    types = {key: index.type_id(f"{key[0]} {key[1]}" if key[0] else key[1]) for key in names}
    variables = {name: index.variable_type(name) for name in index.variable_names()}
    return types, {name: (t.name, t.size) for name, t in variables.items()}


def _parse(data, native):
    try:
        index = parse_btf(data, "twin", native=native)
        return "ok", _answers(index), [index.function_type(n) is not None for n in ("panic", "schedule", "nosuch")]
    except FormatError as error:
        return "error", str(error), error.offset, error.field


def test_every_name_has_the_same_id_in_both_twins():
    data, ids = btf_writer.kernel_like()
    c, python = parse_btf(data, native=True), parse_btf(data, native=False)
    assert _answers(c) == _answers(python)
    assert c.type_id("struct task") == python.type_id("struct task") == ids["struct task"]
    assert len(c.names()) > 10


def test_damaged_blobs_fail_or_parse_alike():
    data, _ids = btf_writer.kernel_like()
    rng = random.Random(7)
    outcomes = set()
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(24, len(damaged))
            damaged[at] = rng.randrange(256)
        c, python = _parse(bytes(damaged), True), _parse(bytes(damaged), False)
        assert c == python
        outcomes.add(c[0])
    assert outcomes == {"ok", "error"}


@pytest.mark.parametrize("case", [c for c in cases() if os.path.exists(c.vmlinux)], ids=lambda c: c.name)
def test_a_kernels_btf_has_the_same_index_in_both_twins(case):
    c, python = load_vmlinux_btf(case.vmlinux, native=True), load_vmlinux_btf(case.vmlinux, native=False)
    if python is None:
        pytest.skip(f"{case.vmlinux} has no .BTF")
    c_types, c_vars = _answers(c)
    python_types, python_vars = _answers(python)
    assert c_types == python_types and c_vars == python_vars
    assert len(c_types) > 5000
