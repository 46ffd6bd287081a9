"""The type layer: the model, BTF (synthetic, this host's, a vmlinux's .BTF) and DWARF, one interface."""
import glob
import os
import shutil
import subprocess
import struct
import sys

import pytest

from pycore import native
from pycore.errors import FormatError, MissingDebugInfoError
from pycore.types import (Qualifiers, TypeKind, TypeNotFoundError, array_type, function_type, global_type,
                          int_type, load_btf_file, load_vmlinux_btf, parse_btf, pointer_type, struct_type,
                          typedef_type, void_type)
from pycore.types import dwarf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "testdata"))
import btf_writer  # noqa: E402

HOST_BTF = "/sys/kernel/btf/vmlinux"
KERNELS = os.path.join(os.environ.get("PYCORE_CACHE") or os.path.expanduser("~/.cache/pycore"),
                       "downloads", "kernels")
VMLINUXES = sorted(glob.glob(os.path.join(KERNELS, "*", "vmlinux")))
NATIVE_SKIP = pytest.mark.skipif(not native.AVAILABLE, reason="pycore._native is not built or PYCORE_PURE is set")
REAL = [pytest.mark.real, pytest.mark.skipif(not VMLINUXES, reason=f"no corpus vmlinux under {KERNELS}")]
COMPARED_STRUCTS = ["struct task_struct", "struct printk_ringbuffer", "struct prb_desc", "struct list_head",
                    "struct page", "struct mm_struct"]


@pytest.fixture(scope="module")
def synthetic():
    data, ids = btf_writer.kernel_like()
    return parse_btf(data, "btf (synthetic)"), data, ids


# -- the model --------------------------------------------------------------
def test_type_names_are_spelled_as_c_declarations():
    char = int_type("char", 1, True)
    ulong = int_type("long unsigned int", 8, False)
    assert ulong.type_name() == "unsigned long"
    assert array_type(char, 16).type_name() == "char [16]"
    assert pointer_type(struct_type("task_struct", 8, [])).type_name() == "struct task_struct *"
    assert array_type(pointer_type(struct_type("pglist_data", 8, [])), None).type_name() == "struct pglist_data *[]"
    assert pointer_type(array_type(char, 4)).type_name() == "char (*)[4]"
    assert pointer_type(function_type(void_type(), [(None, ulong)])).type_name() == "void (*)(unsigned long)"
    assert pointer_type(char.qualified(Qualifiers.CONST)).type_name() == "const char *"
    assert pointer_type(char, qualifiers=Qualifiers.CONST).type_name() == "char * const"
    assert array_type(array_type(char, 16), 2).type_name() == "char [2][16]"
    assert struct_type(None, 4, []).type_name() == "struct <anonymous>"


def test_resolved_strips_typedefs_and_qualifiers():
    base = int_type("unsigned int", 4, False)
    chain = typedef_type("u32", typedef_type("__u32", base.qualified(Qualifiers.VOLATILE)))
    assert chain.resolved() == base
    assert chain.size == 4
    assert chain.qualified(Qualifiers.CONST).unqualified().qualifiers == Qualifiers.NONE


def test_member_path_walks_members_and_array_elements(synthetic):
    index, _, _ = synthetic
    task = index.find("struct task")
    assert task.member_path("comm[3]").bit_offset == 256 + 3 * 8
    assert task.offsetof("tasks.prev") == 16
    assert task.member_path("lo").type.type_name() == "u32"
    with pytest.raises(LookupError):
        task.member_path("tasks.nope")
    with pytest.raises(ValueError):
        task.member_path("comm[")


# -- synthetic BTF ----------------------------------------------------------
def test_btf_bitfields_with_kind_flag(synthetic):
    task = synthetic[0].find("struct task")
    assert [(m.name, m.bit_offset, m.bit_field_size) for m in task.members[1:4]] == [
        ("on_cpu", 32, 1), ("in_iowait", 33, 1), ("prio_bits", 34, 5)]


def test_btf_old_style_bitfield_comes_from_int_encoding(synthetic):
    old = synthetic[0].find("struct old_bits")
    mode = old.member("mode")
    assert (mode.bit_offset, mode.bit_field_size) == (2, 3)
    assert old.member("all").bit_field_size == 0


def test_btf_anonymous_union_members_are_found_with_accumulated_offsets(synthetic):
    task = synthetic[0].find("struct task")
    assert task.member("whole").bit_offset == 192
    assert task.member("lo").bit_offset == 192
    assert task.member("hi").bit_offset == 224
    assert [m.name for m in task.members].count(None) == 1
    assert not task.has_member("missing")


def test_btf_enums_keep_sign_and_64_bit_values(synthetic):
    index = synthetic[0]
    state = index.find("enum task_state")
    assert state.is_signed and dict(state.enumerators)["TASK_NEG"] == -1
    assert dict(index.find("enum big").enumerators)["BIG_HIGH"] == 1 << 40


def test_btf_typedef_chain_resolves_to_the_struct(synthetic):
    task_t = synthetic[0].find("task_t")
    assert task_t.kind is TypeKind.TYPEDEF and task_t.type.name == "task_inner_t"
    assert task_t.resolved().type_name() == "struct task" and task_t.size == 64


def test_btf_flexible_array_has_no_length(synthetic):
    data = synthetic[0].find("struct task").member("data").type
    assert data.kind is TypeKind.ARRAY and data.length is None and data.size is None


def test_btf_self_reference_and_qualifiers(synthetic):
    index = synthetic[0]
    head = index.find("struct list_head")
    assert head.member("next").type.type is head
    assert index.find("struct task").member("flags").type.qualifiers == Qualifiers.VOLATILE
    callback = index.find("struct task").member("callback").type
    assert callback.type_name() == "int (*)(struct list_head *, const char *, ...)"
    assert callback.type.is_variadic


def test_btf_definition_wins_over_forward_declaration(synthetic):
    index = synthetic[0]
    assert index.find("struct mm").is_complete()
    opaque = index.find("struct opaque")
    assert not opaque.is_complete() and opaque.size is None


def test_btf_per_cpu_variable_and_function(synthetic):
    index = synthetic[0]
    assert index.variable_type("runqueues").type_name() == "struct task"
    assert index.variable_type("jiffies") is None
    assert index.function_type("do_task").type_name() == "int (struct list_head *, const char *, ...)"


def test_find_parses_c_spellings(synthetic):
    index = synthetic[0]
    assert index.find("unsigned long").size == 8
    assert index.find("long unsigned int").type_name() == "unsigned long"
    assert index.find("struct task *").type_name() == "struct task *"
    assert index.find("char [16]").size == 16
    assert index.find("const char *").type.qualifiers == Qualifiers.CONST
    assert index.find("struct list_head *[]").type_name() == "struct list_head *[]"
    assert index.find("void *").type.kind is TypeKind.VOID


def test_missing_type_names_the_source(synthetic):
    with pytest.raises(TypeNotFoundError, match=r"btf \(synthetic\)") as info:
        synthetic[0].find("struct no_such_thing")
    assert isinstance(info.value, MissingDebugInfoError)


def test_global_type_asks_the_index_then_the_table(synthetic):
    index = synthetic[0]
    assert global_type(index, "runqueues").type_name() == "struct task"
    assert global_type(index, "jiffies").type_name() == "volatile unsigned long"
    assert global_type(index, "init_task") is None  # struct task_struct is not in this BTF
    assert global_type(index, "not_a_known_global") is None


def test_btf_big_endian_blob_parses_the_same():
    w = btf_writer.BtfWriter()
    w.add_int("int", 4, signed=True)
    little = w.build()
    words = [int.from_bytes(little[i:i + 4], "little") for i in range(24, len(little) - len(w.strings), 4)]
    big = (bytes.fromhex("eb9f") + little[2:4] + b"".join(
        int.from_bytes(little[i:i + 4], "little").to_bytes(4, "big") for i in range(4, 24, 4))
        + b"".join(x.to_bytes(4, "big") for x in words) + bytes(w.strings))
    found = parse_btf(big, "be").find("int")
    assert (found.kind, found.size, found.is_signed, found.type_name()) == (TypeKind.INT, 4, True, "int")


# -- malformed BTF ----------------------------------------------------------
def test_truncated_btf_raises_format_error_at_every_length(synthetic):
    _, data, _ = synthetic
    header_len, type_off, type_len, str_off, str_len = struct.unpack_from("<5I", data, 4)
    types_end = header_len + type_off + type_len
    assert header_len + str_off + str_len == len(data) and types_end < len(data)  # types, then strings
    for length in range(len(data)):
        # The header says where both sections end, so the parser refuses the cut before any type is read.
        with pytest.raises(FormatError) as error:
            parse_btf(data[:length], "cut")
        if length < header_len:
            expected = ("btf_header", 0)
        elif length < types_end:
            expected = ("type_off", 8)
        else:
            expected = ("str_off", 16)
        assert (error.value.field, error.value.offset) == expected, f"cut at {length}"


def test_btf_type_section_cut_short_fails_inside_a_record_and_parses_between_records(synthetic):
    _, data, _ = synthetic
    header_len, type_off, type_len, str_off, str_len = struct.unpack_from("<5I", data, 4)
    types = data[header_len + type_off:header_len + type_off + type_len]
    strings = data[header_len + str_off:header_len + str_off + str_len]
    whole = len(parse_btf(data, "whole"))
    sizes = []
    for cut in range(0, type_len, 4):  # a header that agrees with the cut: only the records can be wrong
        blob = data[:4] + struct.pack("<5I", header_len, 0, cut, cut, str_len) + types[:cut] + strings
        try:
            index = parse_btf(blob, "cut")
        except FormatError as error:
            assert error.field == "btf_type" and header_len <= error.offset <= header_len + cut, f"cut at {cut}"
            continue
        sizes.append(len(index))
        for name in index.names():
            try:
                found = index.find(" ".join(name).strip())
                if found.kind in (TypeKind.STRUCT, TypeKind.UNION):
                    [member.type for member in found.members or ()]  # None: a forward declaration
            except FormatError as error:  # a type that refers to one past the cut
                assert "out of range" in str(error), f"cut at {cut}: {error}"
    # Cut between records, the section parses with one type fewer each time.
    assert sizes == list(range(1, whole))


@pytest.mark.parametrize("patch, field", [
    ((0, b"\x00\x00"), "magic"),
    ((2, b"\x02"), "version"),
    ((4, b"\x04\x00\x00\x00"), "hdr_len"),
    ((12, b"\xff\xff\x00\x00"), "type_off"),
    ((20, b"\xff\xff\xff\x00"), "str_off"),
])
def test_corrupt_btf_header_names_the_field(synthetic, patch, field):
    _, data, _ = synthetic
    at, value = patch
    with pytest.raises(FormatError) as info:
        parse_btf(data[:at] + value + data[at + len(value):], "corrupt")
    assert info.value.field == field


def test_unknown_kind_and_dangling_references_are_format_errors():
    w = btf_writer.BtfWriter()
    w.types.append(b"\0\0\0\0" + (25 << 24).to_bytes(4, "little") + b"\0\0\0\0")
    with pytest.raises(FormatError, match="unknown kind"):
        parse_btf(w.build(), "bad kind")
    w = btf_writer.BtfWriter()
    w.add_typedef("dangling", 99)
    w.add_struct("holder", 8, [("x", 77, 0, 0)])
    index = parse_btf(w.build(), "dangling")
    with pytest.raises(FormatError):
        index.find("dangling")
    with pytest.raises(FormatError):
        index.find("struct holder").members
    w = btf_writer.BtfWriter()
    w.add_typedef("loop", 1)
    with pytest.raises(FormatError, match="itself"):
        parse_btf(w.build(), "loop").find("loop")
    w = btf_writer.BtfWriter()
    w.types.append((10 ** 6).to_bytes(4, "little") + (8 << 24).to_bytes(4, "little") + b"\0\0\0\0")
    with pytest.raises(FormatError, match="name_off"):
        parse_btf(w.build(), "bad name")


# -- this host's BTF ----------------------------------------------------------
@pytest.mark.skipif(not os.path.exists(HOST_BTF), reason=f"{HOST_BTF} is missing (kernel without BTF)")
def test_host_btf_describes_task_struct():
    # bench/bench_types.py measures the parse time; a wall-clock bound here fails on a busy machine.
    index = load_btf_file(HOST_BTF)
    assert len(index) > 10000
    task = index.find("struct task_struct")
    assert task.member("comm").type.type_name() == "char [16]"
    assert task.member("pid").type.resolved().size == 4
    assert index.find("struct list_head").size == 16
    assert index.variable_type("runqueues").type_name() == "struct rq"
    assert global_type(index, "init_task").type_name() == "struct task_struct"


# -- DWARF from a compiled fixture (runs wherever gcc does) ------------------
FIXTURE_C = r"""
struct list_head { struct list_head *next, *prev; };
typedef unsigned int u32;
typedef u32 my_u32;
enum colour { RED = 1, BLUE = 1000 };
enum sign { NEG = -5, POS = 5 };
struct opaque;
struct thing {
    int state;
    unsigned int on_cpu : 1, in_iowait : 1, prio : 5;
    struct list_head tasks;
    union { unsigned long whole; struct { my_u32 lo, hi; }; };
    char comm[16];
    int (*callback)(struct thing *, const char *, ...);
    volatile unsigned long flags;
    struct opaque *handle;
    enum colour colour;
    long grid[2][3];
    _Bool ok;
    double ratio;
    unsigned long data[];
};
extern struct thing init_thing;
struct thing init_thing;
struct thing *things[4];
static const char banner[] = "fixture";
enum sign sign_of(void) { return (enum sign)banner[0]; }
int main(void) { return init_thing.state + (int)sizeof(things) + RED; }
"""


def _compile_fixture(tmp_path, dwarf_version):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "fixture.c"
    src.write_text(FIXTURE_C)
    out = tmp_path / f"fixture-dwarf{dwarf_version}"
    subprocess.run([gcc, f"-gdwarf-{dwarf_version}", "-O0", "-fno-eliminate-unused-debug-types", "-o", str(out),
                    str(src)], check=True)
    return str(out)


@pytest.fixture(params=[4, 5], ids=["dwarf4", "dwarf5"])
def fixture_elf(request, tmp_path, monkeypatch):
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path / "cache"))
    return _compile_fixture(tmp_path, request.param)


@pytest.mark.parametrize("native_path", [pytest.param(True, marks=NATIVE_SKIP, id="C"),
                                         pytest.param(False, id="python")])
def test_dwarf_fixture_types(fixture_elf, native_path):
    index = dwarf.load_dwarf(fixture_elf, native=native_path)
    thing = index.find("struct thing")
    assert [(m.name, m.bit_offset, m.bit_field_size) for m in thing.members[1:4]] == [
        ("on_cpu", 32, 1), ("in_iowait", 33, 1), ("prio", 34, 5)]
    assert thing.member("lo").bit_offset == thing.member("whole").bit_offset
    assert thing.member("hi").bit_offset == thing.member("whole").bit_offset + 32
    assert thing.member("comm").type.type_name() == "char [16]"
    assert thing.member("grid").type.type_name() == "long [2][3]"
    assert thing.member("data").type.length is None
    assert thing.member("callback").type.type_name() == "int (*)(struct thing *, const char *, ...)"
    assert thing.member("flags").type.qualifiers == Qualifiers.VOLATILE
    assert not thing.member("handle").type.type.is_complete()
    assert thing.member("ok").type.kind is TypeKind.BOOL
    assert thing.member("ratio").type.kind is TypeKind.FLOAT
    assert thing.member("tasks").type.member("next").type.type is thing.member("tasks").type
    assert dict(index.find("enum colour").enumerators) == {"RED": 1, "BLUE": 1000}
    assert dict(index.find("enum sign").enumerators)["NEG"] == -5
    assert index.find("my_u32").resolved().type_name() == "unsigned int"
    assert index.variable_type("init_thing").type_name() == "struct thing"
    assert index.variable_type("things").type_name() == "struct thing *[4]"
    assert index.variable_type("banner").type_name() == "const char [8]"
    assert index.find("unsigned long").size == 8
    with pytest.raises(TypeNotFoundError, match="dwarf"):
        index.find("struct nowhere")


@NATIVE_SKIP
def test_dwarf_scanners_agree_on_fixture(fixture_elf):
    sections = dwarf.open_sections(fixture_elf)
    for dedup in (False, True):
        assert dwarf.scan_names(sections, dedup=dedup, native=True) == \
            dwarf.scan_names(sections, dedup=dedup, native=False)


def test_dwarf_cache_is_reused_and_rebuilt_when_damaged(fixture_elf):
    first = dwarf.load_dwarf(fixture_elf)
    sections = dwarf.open_sections(fixture_elf)
    cache = os.path.join(dwarf.cache_dir(), dwarf._cache_key(sections) + ".idx")
    assert os.path.exists(cache)
    again = dwarf.load_dwarf(fixture_elf)
    assert again.names() == first.names() and again.variable_names() == first.variable_names()
    with open(cache, "wb") as f:
        f.write(b"garbage")
    assert dwarf.load_dwarf(fixture_elf).find("struct thing").size == first.find("struct thing").size


def test_dwarf_truncated_info_raises_format_error(fixture_elf):
    sections = dwarf.open_sections(fixture_elf)
    info = bytes(sections.info)
    paths = [False] + ([True] if native.AVAILABLE else [])
    for cut in range(0, len(info), max(1, len(info) // 97)):
        damaged = dwarf.Sections(memoryview(info[:cut] + b"\xff" * 3), sections.abbrev, sections.str,
                                 sections.line_str, sections.str_offsets)
        for native_path in paths:
            with pytest.raises(FormatError):
                dwarf.scan_names(damaged, native=native_path)


def _unit_with_str_offsets_base(base: int, index: int) -> dwarf.Sections:
    """A DWARF 5 unit whose struct is named by DW_FORM_strx1 ``index`` from DW_AT_str_offsets_base ``base``."""
    abbrev = bytes([1, 0x11, 1, 0x72, 0x07, 0, 0,      # 1: compile_unit, children: str_offsets_base data8
                    2, 0x13, 0, 0x03, 0x25, 0, 0,      # 2: structure_type: name strx1
                    0])
    dies = bytes([1]) + base.to_bytes(8, "little") + bytes([2, index, 0])
    body = (5).to_bytes(2, "little") + bytes([1, 8]) + (0).to_bytes(4, "little") + dies
    info = len(body).to_bytes(4, "little") + body
    str_offsets = (0).to_bytes(4, "little") * 4
    return dwarf.Sections(memoryview(info), memoryview(abbrev), memoryview(b"thing\0"),
                          str_offsets=memoryview(str_offsets))


@pytest.mark.parametrize("native_path", [pytest.param(True, marks=NATIVE_SKIP, id="C"),
                                         pytest.param(False, id="python")])
def test_strx_past_the_string_offsets_is_a_format_error_even_when_the_sum_wraps(native_path):
    assert dwarf.scan_names(_unit_with_str_offsets_base(0, 3), native=native_path) == [(21, 0, 1, 0)]
    # base + index * 4 wraps to 2**64 - 2: an unchecked read lands two bytes before the section.
    for base, index in (((1 << 64) - 6, 1), ((1 << 64) - 1, 0), (16, 0), (4, 3)):
        with pytest.raises(FormatError) as error:
            dwarf.scan_names(_unit_with_str_offsets_base(base, index), native=native_path)
        # C names the attribute in .debug_info (after the 12-byte unit header, DIE 1 and DIE 2's
        # code); Python the DWARF form and the entry it would have read, as its DIE reader does.
        if native_path:
            assert (error.value.field, error.value.offset) == (".debug_info", 22)
            assert "runs past its section" in str(error.value)
        else:
            assert (error.value.field, error.value.offset) == ("DW_FORM_strx", (base + index * 4) % (1 << 64))
            assert f"string index {index} outside .debug_str_offsets" in str(error.value)


def test_dwarf_missing_sections_is_missing_debug_info(tmp_path):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "plain.c"
    src.write_text("int main(void) { return 0; }\n")
    subprocess.run([gcc, "-g0", "-o", str(tmp_path / "plain"), str(src)], check=True)
    with pytest.raises(MissingDebugInfoError, match="debug_info"):
        dwarf.load_dwarf(str(tmp_path / "plain"))
    with pytest.raises(FormatError):
        dwarf.load_dwarf(str(src))


# -- real kernels ------------------------------------------------------------
@pytest.fixture(scope="module", params=VMLINUXES or [None], ids=lambda p: os.path.basename(os.path.dirname(p or "none")))
def vmlinux(request):
    if request.param is None:
        pytest.skip(f"no corpus vmlinux under {KERNELS}")
    return request.param


@pytest.mark.real
def test_vmlinux_btf_and_dwarf_agree(vmlinux):
    btf = load_vmlinux_btf(vmlinux)
    dw = dwarf.load_dwarf(vmlinux)
    assert btf.source == "btf (vmlinux .BTF)" and dw.source.startswith("dwarf")
    for name in COMPARED_STRUCTS:
        a, b = btf.find(name), dw.find(name)
        assert a.size == b.size, name
        assert [(m.name, m.bit_offset, m.bit_field_size) for m in a.members] == \
               [(m.name, m.bit_offset, m.bit_field_size) for m in b.members], name
    for member in ("pid", "comm", "tasks", "mm", "__state" if btf.find("struct task_struct").has_member("__state")
                   else "state"):
        assert btf.find("struct task_struct").member(member).bit_offset == \
               dw.find("struct task_struct").member(member).bit_offset


@pytest.mark.real
def test_vmlinux_dwarf_variables_and_known_globals(vmlinux):
    dw = dwarf.load_dwarf(vmlinux)
    assert dw.variable_type("init_task").type_name() == "struct task_struct"
    assert dw.variable_type("jiffies").resolved().size == 8
    assert global_type(dw, "init_mm").type_name() == "struct mm_struct"
    btf = load_vmlinux_btf(vmlinux)
    assert global_type(btf, "init_task").type_name() == "struct task_struct"
    assert global_type(btf, "prb").type_name() == "struct printk_ringbuffer *"
    assert global_type(btf, "vm_zone_stat").type_name() == "atomic_long_t []"
    assert global_type(btf, "node_data").type_name() == "struct pglist_data *[]"
    assert global_type(btf, "runqueues").type_name() == "struct rq"


@pytest.mark.real
@NATIVE_SKIP
def test_vmlinux_dwarf_scanners_agree_on_first_units(vmlinux):
    sections = dwarf.open_sections(vmlinux)
    end = 3 << 20  # units starting in the first 3 MiB: a few hundred, seconds in Python
    assert dwarf.scan_names(sections, 0, end, native=True) == dwarf.scan_names(sections, 0, end, native=False)


@pytest.mark.real
def test_vmlinux_dwarf_reopen_reads_the_index_from_the_cache(vmlinux, tmp_path, monkeypatch):
    # How fast first use and reopening are is measured in bench/bench_types.py, not asserted here.
    monkeypatch.setenv("PYCORE_CACHE", str(tmp_path))
    first = dwarf.load_dwarf(vmlinux).find("struct task_struct")

    def no_scan(*args, **kwargs):
        raise AssertionError("the name index was scanned again instead of read from the cache")

    monkeypatch.setattr(dwarf, "scan_names", no_scan)
    again = dwarf.load_dwarf(vmlinux).find("struct task_struct")
    assert [(m.name, m.bit_offset) for m in again.members] == [(m.name, m.bit_offset) for m in first.members]


def test_open_type_index_prefers_dwarf_then_btf(fixture_elf, synthetic):
    from pycore.types import open_type_index
    assert open_type_index(fixture_elf).source.startswith("dwarf")
    _, data, _ = synthetic
    assert open_type_index(None, data).source == "btf (dump)"
    with pytest.raises(MissingDebugInfoError, match="no BTF blob"):
        open_type_index(None, None)
