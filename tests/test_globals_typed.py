"""Every kallsyms data symbol is a global without a vmlinux (issue 14): on each corpus dump, dump only,
a sample of data symbols against drgn 0.3.0 with the vmlinux.  Where BTF or pycore's table types a
global, its type name and value are drgn's; elsewhere the Object says its type is a guess."""
import pytest

from pycore.object import Object
from pycore.program import GuessedObject
from pycore.types import KNOWN_GLOBALS
from pycore.types.btf_globals import (DEBUG_INFO, GUESSED, INTEGER_GLOBALS, KNOWN, is_data_symbol,
                                      known_global_type)

from drgn_oracle import case_ids, drgn_program, pycore_program, vmlinux_cases

SAMPLE_SIZE = 50
# Always in the sample: the globals issue 14 names, per-CPU variables (BTF VARs from 6.1 on, the
# table's on 5.10) and table entries of every shape.
NAMED = ("nr_threads", "max_threads", "total_forks", "avenrun", "init_task", "jiffies", "runqueues",
         "cpu_number", "irq_stat", "nr_cpu_ids", "panic_cpu", "tainted_mask")
# Values compared whole up to this size; bigger structs by type, address and size.
VALUE_LIMIT = 512


def test_the_two_tables_share_no_global():
    """One copy of each fact: a global is typed by KNOWN_GLOBALS or by INTEGER_GLOBALS, not both."""
    assert not set(KNOWN_GLOBALS) & set(INTEGER_GLOBALS)


def _sample(prog):
    """NAMED and every n-th data symbol in name order, SAMPLE_SIZE in all."""
    data = sorted({symbol.name for symbol in prog.symbols if symbol.kind in "dDbBrR"})
    step = max(1, len(data) // (SAMPLE_SIZE - len(NAMED)))
    return [name for name in NAMED if name in prog.symbols] + data[::step][:SAMPLE_SIZE - len(NAMED)]


def _drgn_global(baseline, name, address):
    """drgn's object for ``name`` when it is the same symbol (kallsyms repeats static names; drgn may
    pick another file's) and drgn knows a variable for it; None otherwise."""
    try:
        theirs = baseline[name]
    except LookupError:  # a label or compiler-made symbol (__func__.5) DWARF names no variable for
        return None
    return theirs if theirs.address_ == address else None


def _drgn_size(obj):
    """drgn's sizeof of an Object, 0 for an incomplete type (an array of unknown length)."""
    import drgn

    try:
        return drgn.sizeof(obj)
    except TypeError:
        return 0


@pytest.mark.real
@pytest.mark.parametrize("case", vmlinux_cases(), ids=case_ids)
def test_data_symbols_are_typed_as_drgn_types_them_or_marked_as_guessed(case):
    prog = pycore_program(case, False)
    baseline = drgn_program(case)
    counts = {DEBUG_INFO: 0, KNOWN: 0, GUESSED: 0}
    for name in _sample(prog):
        ours = prog[name]
        theirs = _drgn_global(baseline, name, ours.address_)
        known = known_global_type(prog.types, name)
        if known is None:
            counts[GUESSED] += 1
            assert isinstance(ours, GuessedObject) and repr(ours).endswith("# type guessed from symbol size"), name
            assert ours.type_.type_name().startswith("unsigned char ["), name
            if theirs is not None and ours.type_.size:
                # Up to the next symbol: never less than the variable, padding maybe more.
                assert ours.type_.size >= _drgn_size(theirs), name
            if theirs is not None and ours.type_.size and ours.address_ >= 1 << 63:
                # The guess reads the very bytes drgn's variable starts with (a per-CPU offset, 5.10's
                # irq_stat, is no address: only its CPUs' copies are).
                size = min(ours.type_.size, _drgn_size(theirs), VALUE_LIMIT)
                assert prog.read(ours.address_, size) == baseline.read(theirs.address_, size), name
            continue
        counts[known.origin] += 1
        assert not isinstance(ours, GuessedObject) and type(ours).__mro__[-2] is Object, name
        assert theirs is not None, f"{name}: drgn has no variable at {ours.address_:#x}"
        assert ours.type_.type_name() == theirs.type_.type_name(), name
        size = ours.type_.size
        if size is not None and size <= VALUE_LIMIT and ours.address_ >= 1 << 63:
            assert ours.value_() == theirs.value_(), name
    # Every case shows the table at work; BTF's VARs from 6.1 on (5.10's BTF has none); guesses everywhere.
    assert counts[KNOWN] and counts[GUESSED], counts
    assert counts[DEBUG_INFO] or case.name.startswith("5.10"), counts


@pytest.mark.parametrize("kind,address,data", [
    ("d", 0x500, True), ("B", 0x500, True), ("A", 0x31980, True), ("object", 0x500, True),
    ("T", 0x150, False), ("t", 0x450, False), ("T", 0x500, True),  # 7.x: cache-aligned data marked 'T'
    ("function", 0x500, False), ("notype", 0x500, False), ("U", 0x500, False)])
def test_data_is_a_data_kind_or_a_text_letter_outside_the_text(kind, address, data):
    text = [(0x100, 0x200), (0x400, 0x480)]  # _stext.._etext, _sinittext.._einittext
    assert is_data_symbol(kind, address, text) is data
