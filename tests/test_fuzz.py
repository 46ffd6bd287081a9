"""Bounded fuzzing of every parser, on the C and the pure-Python path where it has both.

Each target (testdata/fuzz/targets.py) gets a fixed number of hypothesis examples: a seed
built by testdata/fuzz/make_seeds.py, mutated by testdata/fuzz/mutations.py.  The property:
the parser returns or raises a PycoreError; anything else, a hang or a runaway allocation
fails the test with the shrunk input.  ``PYCORE_FUZZ_SCALE=N`` runs N times the examples
(derandomized, so a CI failure reproduces); testdata/fuzz/atheris_main.py runs longer,
coverage-guided campaigns.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz.make_seeds import all_seeds
from fuzz.mutations import apply, seeded_operations
from fuzz.targets import TARGETS, check

from conftest import NATIVE_SKIP

SCALE = int(os.environ.get("PYCORE_FUZZ_SCALE", "1"))
SEEDS = all_seeds()


def cases():
    """(target, native) pairs: both paths for a parser with a C twin, pure Python otherwise."""
    for name, target in TARGETS.items():
        if name not in SEEDS:
            continue  # no seed here (DWARF needs gcc)
        paths = [pytest.param(True, marks=NATIVE_SKIP, id="C"), pytest.param(False, id="python")] \
            if target.native else [pytest.param(False, id="python")]
        for path in paths:
            yield pytest.param(name, *path.values, marks=path.marks, id=f"{name}-{path.id}")


@pytest.mark.parametrize("name,native", list(cases()))
def test_fuzz_target_raises_only_typed_errors(name, native):
    """Mutated seeds give a result or a PycoreError (or a known finding of another module,
    pinned by its strict-xfail test in test_fuzz_findings.py), within time and memory bounds."""
    runs = []
    seeds = {seed.name: seed for seed in SEEDS[name]}

    @settings(max_examples=TARGETS[name].examples * SCALE, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(seeded_operations(SEEDS[name]))
    def run(case):
        seed_name, mutations = case
        seed = seeds[seed_name]
        check(name, seed, apply(seed, mutations), native)
        runs.append(seed_name)

    run()
    assert len(runs) >= TARGETS[name].examples * SCALE // 2  # hypothesis did not stop early
    # Every seed was reached: a mutation strategy stuck on one seed would leave parsers unfuzzed.
    assert set(runs) == set(seeds)


@pytest.mark.parametrize("name,native", list(cases()))
def test_every_seed_parses_cleanly(name, native):
    """An unmutated seed parses with no error at all: a target that refuses its own seeds
    would fuzz nothing but the first check."""
    for seed in SEEDS[name]:
        assert TARGETS[name].run(seed, seed.data, native) > 0, seed.name
