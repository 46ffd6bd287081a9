"""A SymbolTable read back from pycore.cache's pickle answers as the table it was written from:
every lookup by name and address, sizes (None, 0 and real), kinds, duplicate names and order."""
import pickle

import pytest

from pycore.symbols import SymbolNotFoundError, SymbolTable

ROWS = [("_text", 0x1000, None, "T"), ("zeta", 0x1010, 0, "t"), ("alpha", 0x1010, 16, "T"),
        ("alpha", 0x1040, 8, "t"), ("per_cpu_thing", 0x20, None, "D"), ("_end", 0x2000, None, "B"),
        ("\u00e9t\u00e9", 0x1080, 4, "d")]


def table(kinds=None, sizes=True, start=None, end=None) -> SymbolTable:
    names, addresses, row_sizes, row_kinds = zip(*ROWS)
    return SymbolTable("test", names, addresses, row_sizes if sizes else None, kinds or row_kinds,
                       start=start, end=end)


def answers(t: SymbolTable) -> tuple:
    names = sorted({row[0] for row in ROWS}) + ["missing"]
    return (list(t), [t.lookup(a) for a in range(0, 0x2100, 4)], [name in t for name in names],
            [t.symbols_named(name) for name in names], [t.symbols_at(row[1]) for row in ROWS],
            [t.nearest(a) for a in (0x1000, 0x1044, 0x1fff)], t.search("a"), t.start, t.end, len(t), t.source)


@pytest.mark.parametrize("variant", [dict(), dict(sizes=False), dict(kinds=["function"] * len(ROWS)),
                                     dict(start=0x1000, end=0x1800)])
def test_pickled_table_answers_as_the_original(variant):
    original = table(**variant)
    copy = pickle.loads(pickle.dumps(original, protocol=pickle.HIGHEST_PROTOCOL))
    assert answers(copy) == answers(original)
    assert copy.by_name("alpha") == original.by_name("alpha") == copy.symbols_named("alpha")[0]
    assert copy.by_name("zeta").size == (0 if variant.get("sizes", True) else None)
    assert copy.by_name("_text").size is None
    with pytest.raises(SymbolNotFoundError):
        copy.by_name("missing")


def test_first_of_a_repeated_name_is_the_one_by_name_finds():
    t = table()
    assert t.by_name("alpha").address == 0x1010
    assert [symbol.address for symbol in t.symbols_named("alpha")] == [0x1010, 0x1040]


def test_empty_table_survives_the_pickle():
    copy = pickle.loads(pickle.dumps(SymbolTable("empty", [], [], None, [])))
    assert len(copy) == 0 and "x" not in copy and copy.lookup(0x1000) is None
