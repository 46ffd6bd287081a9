"""Where a Program's types come from when a command reads values only: BTF first, the vmlinux's DWARF
loaded on the first lookup BTF misses (pycore.types.layered.LayeredIndex, Program(prefer_btf=True));
the command line's side (what `pycore ps --vmlinux` imports) is in test_cli_startup.py."""
import os
import sys

import pytest

from pycore.errors import MissingDebugInfoError
from pycore.types import TypeNotFoundError, int_type, parse_btf, struct_type
from pycore.types.btf_globals import DEBUG_INFO, deferred_global_type, known_global_type
from pycore.types.layered import LayeredIndex
from pycore.types.model import Member, TypeIndexBase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "testdata"))
import btf_writer  # noqa: E402


class NamedTypes(TypeIndexBase):
    """A second index of a few named types and variables, standing for a vmlinux's DWARF."""

    source = "dwarf (test)"

    def __init__(self, types, variables=None):
        self.types = types
        self.variables = variables or {}

    def _lookup(self, namespace, name):
        return self.types.get((namespace, name))

    def variable_type(self, name):
        return self.variables.get(name)


class Loader:
    """``then`` of a LayeredIndex that counts its calls (and fails when given an error)."""

    def __init__(self, index=None, error=None):
        self.index, self.error, self.calls = index, error, 0

    def __call__(self):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.index


@pytest.fixture
def btf():
    data, _ = btf_writer.kernel_like()
    return parse_btf(data, "btf (synthetic)")


ONLY_IN_DWARF = struct_type("only_in_dwarf", 4, [Member("x", int_type("int", 4, True), 0)])


def test_a_type_btf_has_is_answered_without_loading_the_dwarf(btf):
    loader = Loader(NamedTypes({}))
    index = LayeredIndex(btf, loader, "dwarf (test)")
    assert index.find("struct task *").type.size == 64
    assert index.find("u32").resolved().size == 4
    assert index.variable_type("runqueues").type_name() == "struct task"  # the synthetic per-CPU VAR
    assert (loader.calls, index.loaded) == (0, False)


def test_a_type_btf_lacks_loads_the_dwarf_once(btf):
    loader = Loader(NamedTypes({("struct", "only_in_dwarf"): ONLY_IN_DWARF}))
    index = LayeredIndex(btf, loader, "dwarf (test)")
    assert index.find("struct only_in_dwarf *").type is ONLY_IN_DWARF
    assert index.find("struct only_in_dwarf").member("x").offset == 0
    with pytest.raises(TypeNotFoundError, match="btf \\(synthetic\\); dwarf \\(test\\) for what it lacks"):
        index.find("struct in_neither")
    assert (loader.calls, index.loaded) == (1, True)


def test_a_vmlinux_without_dwarf_leaves_btf_answering_and_is_not_read_again(btf):
    loader = Loader(error=MissingDebugInfoError("no .debug_info in vmlinux"))
    index = LayeredIndex(btf, loader, "dwarf (test)")
    for _ in range(2):
        with pytest.raises(TypeNotFoundError):
            index.find("struct only_in_dwarf")
    assert index.then_variable_type("static_counter") is None
    assert index.find("struct task").size == 64
    assert loader.calls == 1


def test_a_global_no_table_types_comes_from_the_dwarf_after_btf_and_the_tables(btf):
    counter = int_type("long", 8, True)
    loader = Loader(NamedTypes({}, {"static_counter": counter, "nr_threads": int_type("short", 2, True)}))
    index = LayeredIndex(btf, loader, "dwarf (test)")
    # pycore's own tables type nr_threads from BTF: the DWARF is not read for it.
    known = known_global_type(index, "nr_threads")
    assert known is not None and known.type.type_name() == "int" and loader.calls == 0
    assert known_global_type(index, "static_counter") is None
    assert deferred_global_type(index, "static_counter") == (counter, DEBUG_INFO)
    assert loader.calls == 1
    assert deferred_global_type(btf, "static_counter") is None  # BTF alone: nothing read later


def _real_case():
    from corpus import cases

    found = [case for case in cases() if os.path.exists(case.vmlinux)]
    if not found:
        pytest.skip("no corpus case with its vmlinux is built")
    return found[0]


@pytest.mark.real
@pytest.mark.parametrize("command", ["ps", "log", "sys", "bt -a", "kmem -i"])
def test_a_command_reading_values_only_prints_with_btf_what_it_prints_with_dwarf(command, capsys):
    """The five commands issue 18 times are marked values_only, and given --vmlinux their text with
    types from BTF is byte for byte their text with the DWARF (the command unmarked)."""
    import dataclasses

    from pycore.cli import build_parser, dump_command, main
    from pycore.cli.command import standalone_handler

    case = _real_case()
    words = command.split()
    argv = [*words, case.path(case.reference_dump), "--vmlinux", case.vmlinux]
    assert dump_command(words[0]).reads_values_only(build_parser(words[0]).parse_args(argv))
    assert main(argv) == 0
    with_btf = capsys.readouterr()
    unmarked = dataclasses.replace(dump_command(words[0]), values_only=False)
    assert standalone_handler(unmarked)(build_parser(words[0]).parse_args(argv)) == 0
    with_dwarf = capsys.readouterr()
    assert (with_btf.out, with_btf.err) == (with_dwarf.out, with_dwarf.err)
