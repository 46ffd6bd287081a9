"""A long, coverage-guided campaign on one fuzz target, with atheris (libFuzzer for Python).

    pip install atheris            # not a pycore dependency; wheels exist for CPython 3.11
    python testdata/fuzz/make_seeds.py /tmp/seeds
    python testdata/fuzz/atheris_main.py kdump --seed kdump-zstd --pure /tmp/seeds/kdump -max_total_time=3600

The target, its seeds and the property are those of tests/test_fuzz.py (testdata/fuzz/
targets.py): anything but a PycoreError, a known finding, a hang or a runaway allocation
is a crash, and libFuzzer saves the input that caused it.  ``--seed`` names the seed whose
context (table addresses, section lengths) the target uses; arguments after the options
go to libFuzzer (corpus directories, -max_total_time, -jobs).
"""
import argparse
import os
import sys

import atheris

TESTDATA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTDATA not in sys.path:
    sys.path.insert(0, TESTDATA)

from fuzz.make_seeds import all_seeds  # noqa: E402
from fuzz.targets import TARGETS, check  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--seed", help="the seed whose context the target uses (default: its first)")
    parser.add_argument("--pure", action="store_true", help="the pure-Python path (default: C where it exists)")
    options, libfuzzer_arguments = parser.parse_known_args()
    seeds = {seed.name: seed for seed in all_seeds()[options.target]}
    seed = seeds[options.seed] if options.seed else next(iter(seeds.values()))
    native = TARGETS[options.target].native and not options.pure

    def test_one_input(data: bytes) -> None:
        check(options.target, seed, data, native)

    # Once per process, before the first input: what the first call imports lazily is
    # loaded by now, and pycore's editable install hides it from instrument_imports().
    check(options.target, seed, seed.data, native)
    atheris.instrument_all()
    if not any(argument.startswith("-max_len=") for argument in libfuzzer_arguments):
        # libFuzzer caps inputs at 1 MiB by default, which would cut a 4 MiB printk dump
        # before its log buffer; room to grow beyond the seed suits the text targets.
        libfuzzer_arguments.append(f"-max_len={2 * len(seed.data)}")
    atheris.Setup([sys.argv[0]] + libfuzzer_arguments, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
