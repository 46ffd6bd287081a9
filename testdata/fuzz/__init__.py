"""Fuzzing pycore's parsers: seed inputs built from the synthetic fixtures (make_seeds), the
mutations applied to them (mutations), and one target per parser (targets).

tests/test_fuzz.py runs every target for a bounded number of hypothesis examples on both
paths; atheris_main.py runs one target for as long as you like, coverage-guided.
"""
