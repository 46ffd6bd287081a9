"""The debug-info cache: a second open reads what the first decoded, and damage only costs time."""
import array
import mmap
import os
import pickle
import sys

import pytest

import pycore
from pycore import cache, debuginfo
from pycore.dump import open_dump
from pycore.errors import MissingDebugInfoError
from pycore.program import HelperCache, Program

from corpus import SAMPLE
from pycore.types.btf import BtfIndex

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata"))
import btf_writer  # noqa: E402

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")


def test_cached_value_is_built_once_then_read(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    calls = []
    build = lambda: calls.append(1) or {"answer": 42}  # noqa: E731
    assert cache.cached("thing", "key-1", build, [cache]) == {"answer": 42}
    assert cache.cached("thing", "key-1", build, [cache]) == {"answer": 42}
    assert calls == [1]
    assert cache.cached("thing", "key-2", build, [cache]) == {"answer": 42}
    assert calls == [1, 1]


def test_damaged_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    cache.cached("thing", "k", lambda: [1, 2, 3], [cache])
    (entry,) = (tmp_path / "debuginfo").iterdir()
    entry.write_bytes(b"not a pickle")
    assert cache.cached("thing", "k", lambda: [4], [cache]) == [4]


def test_large_buffers_are_mapped_from_the_entry_and_arrays_read_back_equal(tmp_path, monkeypatch):
    """A PickleBuffer of 64 KiB or more comes back as a read-only mapping of the entry (its pages
    read when touched, never copied into fresh memory), arrays as arrays of the same type and values."""
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    blob = bytes(range(256)) * 1024
    value = {"blob": pickle.PickleBuffer(blob), "addresses": array.array("Q", range(0, 1 << 40, 1 << 20)),
             "small": array.array("i", [-1, 2]), "names": "\0".join(["init_task", "panic"])}
    cache.cached("thing", "k", lambda: value, [cache])
    again = cache.cached("thing", "k", lambda: pytest.fail("rebuilt"), [cache])
    assert isinstance(again["blob"], mmap.mmap) and again["blob"][:] == blob
    assert again["addresses"] == value["addresses"] and again["addresses"].typecode == "Q"
    assert again["small"] == value["small"] and again["names"] == value["names"]


def test_an_entry_cut_short_is_rebuilt_not_mapped_past_its_end(tmp_path, monkeypatch):
    """Mapping a buffer the file no longer holds would fault (SIGBUS) on first read: it is refused
    and the entry rebuilt."""
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    cache.cached("thing", "k", lambda: array.array("Q", range(100000)), [cache])
    (entry,) = (tmp_path / "debuginfo").iterdir()
    with open(entry, "r+b") as f:
        f.truncate(os.path.getsize(entry) // 2)
    assert cache.cached("thing", "k", lambda: [4], [cache]) == [4]


def test_a_btf_index_read_back_from_a_mapped_blob_answers_as_the_fresh_one(tmp_path, monkeypatch, native_path):
    """The BTF blob goes out of band (here whatever its size) and is indexed again in place."""
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "_OUT_OF_BAND_MIN", 0)
    blob, _ids = btf_writer.kernel_like()
    fresh = cache.cached("btf", "k", lambda: BtfIndex(blob, "btf (test)", native_path), [cache])
    again = cache.cached("btf", "k", lambda: pytest.fail("rebuilt"), [cache])
    assert sorted(again.names()) == sorted(fresh.names()) != []
    for namespace, name in fresh.names():
        spelled = f"{namespace} {name}".strip()
        assert str(again.find(spelled)) == str(fresh.find(spelled))
        assert again.find(spelled).size == fresh.find(spelled).size


def test_no_key_or_disabled_cache_always_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    calls = []
    cache.cached("thing", None, lambda: calls.append(1), [cache])
    monkeypatch.setenv("PYCORE_NO_CACHE", "1")
    cache.cached("thing", "k", lambda: calls.append(1), [cache])
    cache.cached("thing", "k", lambda: calls.append(1), [cache])
    assert calls == [1, 1, 1]
    assert not (tmp_path / "debuginfo").exists()


@pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")
def test_symbols_and_types_from_the_cache_equal_freshly_decoded_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    answers = []
    for _ in range(3):  # build, read, read
        with pycore.open(SAMPLE_DUMP) as prog:
            task = prog.type("struct task_struct")
            answers.append((len(prog.symbols), prog.symbol("init_task").address, task.size,
                            task.offsetof("tasks"), prog["init_task"].comm.string_()))
    assert answers[0] == answers[1] == answers[2]
    assert len(list((tmp_path / "debuginfo").iterdir())) == 2


def test_helper_cache_builds_a_declared_key_once_and_refuses_an_undeclared_one():
    helpers = HelperCache()
    calls = []
    build = lambda: calls.append(1) or ["NR_FREE_PAGES"]  # noqa: E731
    assert helpers.get("vmstat.zone_items", build) == ["NR_FREE_PAGES"]
    assert helpers.get("vmstat.zone_items", build) == ["NR_FREE_PAGES"]
    assert calls == [1] and "vmstat.zone_items" in helpers and "slab.layout" not in helpers
    with pytest.raises(KeyError, match="not a declared helper cache key"):
        helpers.get("my_private_stash", build)


@pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")
def test_symbols_load_without_touching_address_translation_and_open_locates_the_direct_map(native_path):
    with Program(open_dump(SAMPLE_DUMP, native=native_path), native=native_path) as prog:
        assert prog.symbols.by_name("page_offset_base")
        assert prog.arch.direct_map_start is None  # loading symbols changed nothing else
        prog.locate_direct_map()
        base = prog.arch.direct_map_start
        assert base is not None and base == int.from_bytes(prog.read(prog.symbol("page_offset_base").address, 8),
                                                           "little")
    with pycore.open(SAMPLE_DUMP, native=native_path) as prog:
        assert prog.arch.direct_map_start == base
        assert prog.read_physical(0x100000, 16) == prog.dump.read_physical(0x100000, 16)


@pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")
def test_debuginfo_builds_tables_from_inputs_alone(native_path):
    with pycore.open(SAMPLE_DUMP, native=native_path) as prog:
        symbols = debuginfo.load_symbols(prog.vmcoreinfo, None, None, prog.arch.read)
        types = debuginfo.load_types(prog.vmcoreinfo, None, symbols, prog.arch.read)
        assert symbols.by_name("init_task").address == prog.symbol("init_task").address
        assert types.find("struct task_struct").size == prog.type("struct task_struct").size
        with pytest.raises(MissingDebugInfoError, match="no symbols to locate __start_BTF"):
            debuginfo.load_types(prog.vmcoreinfo, None, None, prog.arch.read)



def test_vmlinux_symbols_are_cached_per_file_and_kaslr_offset(tmp_path, monkeypatch):
    from corpus import cases
    with_vmlinux = [case for case in cases() if os.path.exists(case.vmlinux)]
    if not with_vmlinux:
        pytest.skip("no corpus case with a vmlinux")
    vmlinux = with_vmlinux[0].vmlinux
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    fresh = debuginfo.load_symbols(None, vmlinux, None, None)
    again = debuginfo.load_symbols(None, vmlinux, None, None)
    assert len(list((tmp_path / "debuginfo").iterdir())) == 1
    assert len(again) == len(fresh) > 10000
    assert again.by_name("panic").address == fresh.by_name("panic").address
