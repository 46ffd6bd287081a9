"""The DWARF name index cache file (pycore/types/dwarf.py, format 2): the names of the index it
was written from, read in place, and a damaged or foreign file refused or answered within bounds."""
import struct

import pytest

from pycore.types import dwarf


TYPES = {("struct", "task_struct"): 0x40, ("", "pid_t"): 0x10, ("union", "thread_union"): 0x90,
         ("enum", "zone_type"): 0x20, ("", "unsigned int"): 0x08, ("struct", "caf\u00e9"): 0x70}
VARIABLES = {"init_task": 0x100, "jiffies": 0x30}


def write(tmp_path, info_size=4096, offsets=(0, 0x50)):
    path = str(tmp_path / "index.idx")
    dwarf._save_cache(path, info_size, TYPES, VARIABLES, list(offsets))
    return path


def test_cache_file_answers_every_name_and_lists_them_in_die_order(tmp_path):
    types, variables, offsets = dwarf._load_cache(write(tmp_path), 4096)
    assert {key: types.get(key) for key in TYPES} == TYPES
    assert {name: variables[name] for name in VARIABLES} == VARIABLES
    assert list(types) == sorted(TYPES, key=TYPES.__getitem__)
    assert list(variables) == ["jiffies", "init_task"]
    assert types.get(("struct", "jiffies")) is None and variables.get("task_struct") is None
    assert types.get(("typedef", "pid_t")) is None and types.get("pid_t") is None
    with pytest.raises(KeyError):
        variables["nowhere"]
    assert list(offsets) == [0, 0x50]


def test_cache_file_of_another_debug_info_size_or_format_is_refused(tmp_path):
    path = write(tmp_path)
    assert dwarf._load_cache(path, 4097) is None
    with open(path, "r+b") as f:
        f.seek(12)
        f.write(struct.pack("<I", 1))
    assert dwarf._load_cache(path, 4096) is None


@pytest.mark.parametrize("cut", [0, 10, 100, -1])
def test_truncated_cache_file_is_refused(tmp_path, cut):
    path = write(tmp_path)
    with open(path, "r+b") as f:
        f.truncate(cut if cut >= 0 else len(f.read()) + cut)
    assert dwarf._load_cache(path, 4096) is None


def test_cache_file_without_an_empty_slot_ends_the_probe(tmp_path):
    """A damaged table whose every slot is taken: a missing name is not found, and the probe stops."""
    path = write(tmp_path)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        header = dwarf._HEADER.unpack_from(data)
        slots, slot_count = header[6], header[3]
        for slot in range(slot_count):
            at = slots + dwarf._SLOT.size * slot
            if not dwarf._SLOT.unpack_from(data, at)[0]:
                dwarf._SLOT.pack_into(data, at, 1, 3, 0)
        f.seek(0)
        f.write(data)
    types, variables, _ = dwarf._load_cache(path, 4096)
    assert types.get(("struct", "nowhere")) is None
    assert variables.get("init_task") == 0x100
