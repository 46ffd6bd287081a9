"""drgn's Program methods on pycore.Program: symbol/symbols and Symbol, variable/object/constant/
function, threads, the cache; on synthetic memory, then on the corpus against drgn 0.3.0 and crash."""
import os
import re

import pytest

import pycore
from pycore import Symbol, SymbolBinding, SymbolKind
from pycore.errors import MissingDebugInfoError, PycoreError
from pycore.program import GuessedObject
from pycore.symbols.table import SymbolTable

from test_object import make_types, memory, prog  # noqa: F401  (fixtures: the synthetic dump and its program)


def test_symbol_by_address_and_name_is_drgns_symbol_and_still_unpacks(prog, memory):  # noqa: F811
    _, head, _, task = memory
    found = prog.symbol(task + 8)
    assert isinstance(found, Symbol)
    assert (found.name, found.address, found.size, found.binding, found.kind) == \
        ("the_task", task, 48, SymbolBinding.GLOBAL, SymbolKind.OBJECT)
    symbol, offset = prog.symbol(task + 8)  # pycore 0.1's (symbol, offset)
    assert symbol == found and offset == 8 and found[1] == 8
    assert prog.symbol("the_list") == Symbol("the_list", head, 16, SymbolBinding.GLOBAL, SymbolKind.OBJECT)
    assert repr(prog.symbol("the_list")) == (f"Symbol(name='the_list', address={head:#x}, size=0x10, "
                                             "binding=<SymbolBinding.GLOBAL: 2>, kind=<SymbolKind.OBJECT: 1>)")
    with pytest.raises(LookupError):
        prog.symbol(task + 4096)
    with pytest.raises(LookupError):
        prog.symbol("no_such_symbol")


def test_symbols_is_the_table_and_called_is_drgns_symbols(prog, memory):  # noqa: F811
    _, head, _, task = memory
    assert prog.symbols.by_name("the_task").address == task and len(prog.symbols) == 2
    assert "the_list" in prog.symbols and prog.symbols.source == "test symbols"
    assert [s.name for s in prog.symbols()] == ["the_list", "the_task"]
    assert [s.name for s in prog.symbols("the_task")] == ["the_task"]
    assert [(s.name, s.offset) for s in prog.symbols(head + 3)] == [("the_list", 3)]
    assert prog.symbols(task + 4096) == [] and prog.symbols("nothing") == []


def test_symbol_kinds_and_bindings_from_type_letters(prog):  # noqa: F811
    prog.symbols = SymbolTable("letters", ["f", "l", "w", "o"], [0x1000, 0x2000, 0x3000, 0x4000], None,
                               ["T", "t", "W", "object"])
    seen = [(s.kind, s.binding) for s in prog.symbols()]
    assert seen == [(SymbolKind.FUNC, SymbolBinding.GLOBAL), (SymbolKind.FUNC, SymbolBinding.LOCAL),
                    (SymbolKind.FUNC, SymbolBinding.WEAK), (SymbolKind.OBJECT, SymbolBinding.UNKNOWN)]
    assert prog.symbol("f").size == 0  # kallsyms records no sizes


def test_text_symbol_without_a_type_says_where_it_is_and_how_to_read_it(prog):  # noqa: F811
    """A symbol in the kernel's text (between _stext and _etext) with no prototype is no variable:
    the error names its address and how to say its type."""
    prog.symbols = SymbolTable("test symbols", ["_stext", "mystery", "_etext"],
                               [0xFFFF888000392000, 0xFFFF888000392010, 0xFFFF888000393000], None, ["T", "t", "T"])
    for ask in (prog.variable, prog.object, prog.__getitem__):
        with pytest.raises(MissingDebugInfoError) as error:
            ask("mystery")
        assert "0xffff888000392010" in str(error.value)
        assert 'prog.variable("mystery", type="int")' in str(error.value)
    assert prog.variable("mystery", type="int").value_() == 4242  # the_task.pid's bytes
    assert prog.object("mystery", type="int").address_ == 0xFFFF888000392010


def test_data_symbol_without_a_known_type_is_its_bytes_marked_as_a_guess(prog):  # noqa: F811
    """kallsyms records no sizes: the guess runs to the next symbol, and says it is one."""
    prog.symbols = SymbolTable("test symbols", ["mystery", "next_one"], [0xFFFF888000392010, 0xFFFF888000392014],
                               None, ["d", "d"])
    for ask in (prog.variable, prog.object, prog.__getitem__):
        guessed = ask("mystery")
        assert isinstance(guessed, GuessedObject) and guessed.type_origin_ == "guessed from symbol size"
        assert guessed.type_.type_name() == "unsigned char [4]"
        assert repr(guessed) == ("Object(prog, 'unsigned char [4]', address=0xffff888000392010)"
                                 "  # type guessed from symbol size")
        assert bytes(guessed.value_()) == (4242).to_bytes(4, "little")
    assert prog["next_one"].type_.type_name() == "unsigned char []"  # the last symbol: no size at all
    for ask in (prog.variable, prog.object):  # crash's commands print no mark: they take no guess
        with pytest.raises(MissingDebugInfoError, match=r"the type of 'mystery' \(at 0xffff888000392010\) is not"):
            ask("mystery", guess=False)


def test_variable_and_object_find_typed_globals(prog, memory):  # noqa: F811
    _, head, _, task = memory
    assert prog.variable("the_task").address_ == task and prog["the_list"].address_ == head
    assert prog.object("the_task", None, "kernel/fork.c").type_.type_name() == "struct task"


def test_constant_is_the_enumerator_with_its_enum_type(prog):  # noqa: F811
    prog.types.variables["names"] = None
    prog.types.names = lambda: [("enum", "state"), ("struct", "task")]
    dead = prog.constant("DEAD")
    assert dead.value_() == 16 and dead.type_.type_name() == "enum state" and str(dead) == "(enum state)DEAD"
    assert prog["SLEEPING"].value_() == 1  # not a symbol: an enumerator
    with pytest.raises(LookupError):
        prog.constant("NO_SUCH_ENUMERATOR")


def test_function_needs_a_prototype(prog, memory):  # noqa: F811
    _, _, _, task = memory
    with pytest.raises(MissingDebugInfoError) as error:
        prog.function("the_task")
    assert "prototype" in str(error.value)


def test_cache_is_a_dict_for_scripts_beside_the_helpers_keys(prog):  # noqa: F811
    prog.cache["my.script"] = 3
    assert prog.cache["my.script"] == 3 and prog.cache.get("my.script") == 3 and prog.cache.get("other") is None
    assert prog.cache.get("slab.layout", lambda: "built") == "built"
    assert prog.cache.get("slab.layout", lambda: "again") == "built"  # a helper key is built once


# -- on the corpus ------------------------------------------------------------------------
def _crash_pids():
    """(case, the dump crash recorded on, the PIDs crash's ps lists) for each corpus case."""
    from corpus import cases
    found = []
    for case in cases():
        listing = case.reference("ps")
        if listing is None or not os.path.exists(case.path(case.reference_dump)):
            continue
        pids = [int(re.match(r"\s*>?\s*(\d+)\s", line).group(1)) for line in listing.splitlines()[1:] if line.strip()]
        found.append((case, case.path(case.reference_dump), pids))
    if not found:
        pytest.skip("no corpus dump with crash's ps recording (run testdata/corpus/build.sh)")
    return found


@pytest.mark.real
def test_nr_threads_without_a_vmlinux_is_an_int_as_crash_counts_tasks():
    """Issue 14: kallsyms knows nr_threads, the dump's BTF has no VAR for it, pycore knows it is an
    int; it is the number of tasks with a PID crash's ps lists (the kernel counts every task but
    the idle ones, PID 0, in nr_threads)."""
    for case, path, pids in _crash_pids():
        with pycore.open(path) as prog:
            expected = sum(1 for pid in pids if pid)
            nr_threads = prog["nr_threads"]
            assert (nr_threads.type_.type_name(), nr_threads.value_()) == ("int", expected), case.name
            assert not isinstance(nr_threads, GuessedObject)
            assert prog.variable("nr_threads", type="int").value_() == expected


@pytest.mark.real
def test_threads_are_the_tasks_with_a_pid_that_crash_lists():
    for case, path, pids in _crash_pids():
        with pycore.open(path) as prog:
            threads = list(prog.threads())
            assert sorted(thread.tid for thread in threads) == sorted(pid for pid in pids if pid), case.name
            assert all(thread.name == thread.object.comm.string_().decode() for thread in threads)
            assert prog.thread(1).object.pid.value_() == 1
            with pytest.raises(LookupError):
                prog.thread(0)


@pytest.mark.real
def test_program_answers_as_drgn_does():
    """symbol, constant, function and threads against drgn 0.3.0 with the vmlinux, dump only."""
    drgn = pytest.importorskip("drgn")
    from corpus import cases
    compared = 0
    for case in cases():
        # The dump crash recorded on: the -d 31 ones lack some task_structs (7.2).
        path = case.path(case.reference_dump)
        if not os.path.exists(path) or not os.path.exists(case.vmlinux):
            continue
        baseline = drgn.Program()
        try:
            baseline.set_core_dump(path)
            baseline.load_debug_info([case.vmlinux])
        except Exception:  # drgn 0.3.0 cannot open the QEMU-written dump
            continue
        with pycore.open(path) as prog:
            theirs, ours = baseline.symbol("init_task"), prog.symbol("init_task")
            # kallsyms has no sizes (drgn's come from the vmlinux's ELF symtab), and its type letter
            # for init_task is the section's ('T' on some kernels), not the ELF symbol type.
            assert (ours.name, ours.address, ours.binding.value) == \
                (theirs.name, theirs.address, theirs.binding.value)
            assert prog.symbol("do_exit").kind.value == baseline.symbol("do_exit").kind.value
            assert prog.symbol(ours.address + 8).name == baseline.symbol(ours.address + 8).name
            assert repr(prog.constant("PIDTYPE_TGID")) == repr(baseline.constant("PIDTYPE_TGID"))
            assert prog.function("do_exit").address_ == baseline.symbol("do_exit").address
            assert prog.function("do_exit").type_.type_name() == "void (long)"
            assert sorted(t.tid for t in prog.threads()) == sorted(t.tid for t in baseline.threads())
            assert prog.crashed_thread().tid == baseline.crashed_thread().tid
            # pycore's own StackTrace (not drgn's type): the panicking task's frames pass through panic.
            assert "panic" in [frame.symbol for frame in prog.crashed_thread().stack_trace().frames]
            compared += 1
    if not compared:
        pytest.skip("no corpus dump that drgn 0.3.0 opens")


def test_read_members_is_a_program_method_and_a_top_level_name():
    sample = pycore.open(os.path.join(os.path.dirname(__file__), "..", "testdata", "sample", "vmcore"))
    from pycore.helpers.linux.pid import for_each_task

    tasks = list(for_each_task(sample))
    addresses = [task.value_() for task in tasks]
    pids = sample.read_members("struct task_struct", "pid", addresses)
    assert pids == [task.pid.value_() for task in tasks] == pycore.read_members(sample, "struct task_struct", "pid",
                                                                                addresses)
    assert len(pids) > 10 and pids[0] == 1


def test_close_empties_the_page_cache_and_reads_then_say_the_dump_is_closed(memory, native_path):  # noqa: F811
    """Before pycore 0.3 ``prog.read`` and Object reads still answered from cached pages after
    ``close``; now they raise the dump's own closed error."""
    path, head, _, task = memory
    program = pycore.open(path, native=native_path)
    program.types = make_types()
    program.symbols = SymbolTable("test symbols", ["the_list", "the_task"], [head, task], [16, 48], ["D", "D"])
    the_task = program["the_task"]
    assert (the_task.pid.value_(), the_task.comm.string_()) == (4242, b"kworker/0:1")
    assert program.read(task + 16, 4) == (4242).to_bytes(4, "little") and program.pages
    program.close()
    assert not program.pages
    for read in (lambda: program.read(task + 16, 4), the_task.pid.value_, the_task.comm.string_):
        with pytest.raises(PycoreError, match="the dump is closed"):
            read()


def test_a_program_whose_objects_were_made_is_freed_by_the_collector_and_reads_fail_once_closed(memory):  # noqa: F811
    """The classes of a program's objects keep the program (they read through its page cache):
    closed and dropped, it goes at the next cycle collection, classes and all; an object kept past
    close() raises the dump-closed error on a read."""
    import gc
    import weakref

    path, _, _, _ = memory
    program = pycore.open(path)
    program.types = make_types()
    program.symbols = SymbolTable("test symbols", ["the_task"], [memory[3]], [48], ["D"])
    task = program["the_task"]
    assert task.pid.value_() == 4242 and task.comm.string_() == b"kworker/0:1"
    freed, kept = weakref.ref(program), task.pid
    program.close()
    with pytest.raises(PycoreError, match="closed"):
        kept.value_()
    del program, task, kept
    gc.collect()
    assert freed() is None
