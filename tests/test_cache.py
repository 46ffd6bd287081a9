"""The debug-info cache: a second open reads what the first decoded, and damage only costs time."""
import array
import mmap
import os
import pickle
import sys
import time

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


def _entry(directory, name, size=1, age=0.0):
    """A cache file of ``size`` bytes last used ``age`` seconds ago."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(b"x" * size)
    used = time.time() - age
    os.utime(path, (used, used))
    return path


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYCORE_NO_CACHE", raising=False)
    monkeypatch.delenv("PYCORE_CACHE_MAX_MIB", raising=False)
    return tmp_path


def test_writing_an_entry_removes_its_kind_and_key_built_by_other_code_only(cache_dir):
    debug = cache_dir / "debuginfo"
    stale = _entry(debug, "kallsyms-abc-1b600000-0123456789abcdef.pickle")
    longer_key = _entry(debug, "kallsyms-abc-1b600000-ff-0123456789abcdef.pickle")
    other_offset = _entry(debug, "kallsyms-abc-23000000-0123456789abcdef.pickle")
    other_kind = _entry(debug, "btf-abc-1b600000-0123456789abcdef.pickle")
    assert cache.cached("kallsyms", "abc-1b600000", lambda: [1], [cache]) == [1]
    names = sorted(p.name for p in debug.iterdir())
    assert not stale.exists() and longer_key.exists() and other_offset.exists() and other_kind.exists()
    assert len(names) == 4 and any(n.startswith("kallsyms-abc-1b600000-") and n != stale.name for n in names)


def test_the_cap_removes_least_recently_used_entries_of_debuginfo_and_dwarf(cache_dir, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "0.5")  # 512 KiB
    oldest = _entry(cache_dir / "dwarf", "aa.idx", 200 << 10, age=300)
    older = _entry(cache_dir / "debuginfo", "btf-x-0123456789abcdef.pickle", 200 << 10, age=200)
    recent = _entry(cache_dir / "debuginfo", "btf-y-0123456789abcdef.pickle", 200 << 10, age=100)
    abandoned = _entry(cache_dir / "debuginfo", "tmpabc.tmp", 10, age=2 * 3600)
    being_written = _entry(cache_dir / "dwarf", "bb.idx.123.tmp", 10)
    cache.cached("btf", "z", lambda: pickle.PickleBuffer(bytes(150 << 10)), [cache])  # 3 x 200 + 150 KiB
    assert not oldest.exists() and not older.exists() and recent.exists()
    assert not abandoned.exists() and being_written.exists()
    assert len(list((cache_dir / "debuginfo").glob("btf-z-*.pickle"))) == 1


def test_no_cap_when_the_variable_is_zero_and_the_default_when_it_is_not_a_number(monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "0")
    assert cache.max_bytes() is None
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "lots")
    assert cache.max_bytes() == 2048 << 20


def test_reading_an_entry_makes_it_the_most_recently_used(cache_dir, monkeypatch):
    cache.cached("thing", "read", lambda: [1], [cache])
    (read,) = (cache_dir / "debuginfo").iterdir()
    os.utime(read, (time.time() - 500, time.time() - 500))
    other = _entry(cache_dir / "debuginfo", "thing-other-0123456789abcdef.pickle", read.stat().st_size, age=400)
    assert cache.cached("thing", "read", lambda: pytest.fail("rebuilt"), [cache]) == [1]
    assert time.time() - read.stat().st_mtime < 60
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", str(2.5 * read.stat().st_size / (1 << 20)))
    cache.cached("thing", "new", lambda: [2], [cache])
    assert read.exists() and not other.exists()


def test_a_dwarf_index_read_is_marked_used_and_its_write_prunes(cache_dir, monkeypatch):
    from pycore.types import dwarf
    path = os.path.join(dwarf.cache_dir(), "cafe.idx")
    stale = _entry(cache_dir / "debuginfo", "btf-x-0123456789abcdef.pickle", 1 << 20, age=100)
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "0.5")
    dwarf._save_cache(path, 100, {("struct", "task_struct"): 11}, {"init_task": 22}, [0])
    assert not stale.exists()
    os.utime(path, (time.time() - 500, time.time() - 500))
    types, variables, offsets = dwarf._load_cache(path, 100)
    assert types[("struct", "task_struct")] == 11 and variables["init_task"] == 22 and list(offsets) == [0]
    assert time.time() - os.stat(path).st_mtime < 60


def test_a_mapping_of_a_pruned_entry_still_reads_its_bytes(cache_dir, monkeypatch):
    """Pruning unlinks, never truncates: Linux keeps an unlinked file's pages for whoever holds it
    open or mapped, so a reader that mapped an entry before another process pruned it reads on."""
    blob = bytes(range(256)) * 1024
    cache.cached("thing", "mapped", lambda: pickle.PickleBuffer(blob), [cache])
    mapped = cache.cached("thing", "mapped", lambda: pytest.fail("rebuilt"), [cache])
    assert isinstance(mapped, mmap.mmap)
    (entry,) = (cache_dir / "debuginfo").iterdir()
    os.utime(entry, (time.time() - 500, time.time() - 500))
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "0.001")
    cache.cached("thing", "other", lambda: [1], [cache])
    assert not entry.exists()
    assert mapped[:] == blob


def test_a_cache_it_may_not_write_leaves_reads_and_builds_working(cache_dir, monkeypatch):
    """As on a read-only or another user's cache: marking used and removing fail, the answers do not."""
    cache.cached("thing", "k", lambda: [1], [cache])
    stale = _entry(cache_dir / "debuginfo", "thing-k2-0123456789abcdef.pickle", 10, age=500)
    before = sorted(p.name for p in (cache_dir / "debuginfo").iterdir())
    os.utime(cache_dir / "debuginfo" / before[0], (1, 1))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "unlink", refuse)
    monkeypatch.setattr(os, "utime", refuse)
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "0.000001")
    assert cache.cached("thing", "k", lambda: pytest.fail("rebuilt"), [cache]) == [1]
    assert cache.cached("thing", "k2", lambda: [2], [cache]) == [2]
    assert stale.exists() and set(before) <= {p.name for p in (cache_dir / "debuginfo").iterdir()}


def test_pruning_tolerates_entries_removed_by_another_process(cache_dir, monkeypatch):
    gone = _entry(cache_dir / "debuginfo", "thing-a-0123456789abcdef.pickle", 10, age=500)
    real_scandir = os.scandir

    def scandir_then_race(path):
        listing = list(real_scandir(path))
        if os.path.exists(gone):
            os.unlink(gone)  # another pycore pruned it after this one listed the directory
        return iter(listing)

    monkeypatch.setattr(os, "scandir", scandir_then_race)
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "0.000001")
    assert cache.cached("thing", "b", lambda: [2], [cache]) == [2]
    assert [p.name for p in (cache_dir / "debuginfo").iterdir()] == [f"thing-b-{cache._code_digest([cache])}.pickle"]


def test_pruning_never_touches_what_is_not_pycores_cache(cache_dir, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE_MAX_MIB", "0.000001")
    kept = [_entry(cache_dir / name, "data.pickle", 100, age=10 ** 6)
            for name in ("corpus", "venv", "downloads", "apt-sid", "sanitizer")]
    kept += [_entry(cache_dir, "crash_history", 100, age=10 ** 6),
             _entry(cache_dir / "debuginfo", "notes.txt", 100, age=10 ** 6),
             _entry(cache_dir / "corpus" / "debuginfo", "old.pickle", 100, age=10 ** 6)]
    (cache_dir / "debuginfo" / "subdir.pickle").mkdir()
    cache.cached("thing", "k", lambda: [1], [cache])
    assert all(path.exists() for path in kept) and (cache_dir / "debuginfo" / "subdir.pickle").is_dir()
