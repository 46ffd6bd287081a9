"""The debug-info cache: a second open reads what the first decoded, and damage only costs time."""
import os

import pytest

import pycore
from pycore import cache

from corpus import SAMPLE

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
