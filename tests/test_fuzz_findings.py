"""Every untyped exception the fuzz targets (tests/test_fuzz.py) or issue 10 found, kept as a
regression test on the smallest input that showed it.

Findings in modules other owners are refactoring stay here as ``xfail(strict=True)`` tests
naming the file to fix: when the fix lands the test passes, strict xfail turns that into a
failure, and the marker (and the matching entry in ``fuzz.targets.KNOWN_FINDINGS``) goes.
"""
import struct

import pytest

from pycore.dump.vmcoreinfo import VmcoreInfo
from pycore.errors import FormatError
from pycore.object import Object
from pycore.types.btf import parse_btf

from btf_writer import BtfWriter


# -- VMCOREINFO: issue 10 findings 2-4 at their source --------------------------------
@pytest.mark.parametrize("line,key", [
    ("SIZE(printk_info)=-88", "SIZE(printk_info)"),            # finding 2: a negative read size
    ("SIZE(prb_desc)=0", "SIZE(prb_desc)"),                    # finding 4: struct.error on 0 bytes
    ("OFFSET(prb_desc.state_var)=" + "9" * 300, "OFFSET(prb_desc.state_var)"),  # finding 3: OverflowError
    ("SIZE(page)=" + "9" * 5000, "SIZE(page)"),                # more digits than int() converts
    ("LENGTH(printk_info_device)=-1", "LENGTH(printk_info_device)"),
    ("SYMBOL(prb)=1" + "0" * 16, "SYMBOL(prb)"),               # an address past 64 bits
    ("NUMBER(phys_base)=" + str(1 << 64), "NUMBER(phys_base)"),
])
def test_vmcoreinfo_value_out_of_range_is_a_format_error_naming_the_key(line, key):
    info = VmcoreInfo("SIZE(prb_desc)=24\n" + line + "\n")
    kind, name = key[:-1].split("(", 1)
    with pytest.raises(FormatError) as error:
        getattr(info, kind.lower())(name)
    assert error.value.field == key
    assert len(str(error.value)) < 200  # a 5000-digit value is not echoed back


def test_vmcoreinfo_offset_must_lie_inside_its_struct():
    info = VmcoreInfo("SIZE(prb_desc)=24\nOFFSET(prb_desc.state_var)=0\nOFFSET(prb_desc.text_blk_lpos)=24\n"
                      "OFFSET(atomic_long_t.counter)=0\n")
    assert info.offset("prb_desc.state_var") == 0
    assert info.offset("atomic_long_t.counter") == 0  # no SIZE(atomic_long_t): only the general bound
    with pytest.raises(FormatError) as error:
        info.offset("prb_desc.text_blk_lpos")
    assert error.value.field == "OFFSET(prb_desc.text_blk_lpos)" and "0..23" in str(error.value)


@pytest.mark.parametrize("text,accessor", [
    ("PAGESIZE=0", "page_size"), ("PAGESIZE=4097", "page_size"), ("PAGESIZE=-4096", "page_size"),
    ("CRASHTIME=" + "9" * 30, "crash_time"), ("CRASHTIME=-1", "crash_time"),
    ("KERNELOFFSET=" + "f" * 17, "kernel_offset"),
])
def test_vmcoreinfo_page_size_crash_time_and_kaslr_offset_are_range_checked(text, accessor):
    with pytest.raises(FormatError) as error:
        getattr(VmcoreInfo(text), accessor)
    assert error.value.field == text.split("=")[0]


def test_negative_number_entries_stay_valid():
    # NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE) is negative in real kernels (4.x).
    assert VmcoreInfo("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n").number("PAGE_BUDDY_MAPCOUNT_VALUE") == -129


# -- BTF -----------------------------------------------------------------------------
def btf_with(build) -> bytes:
    writer = BtfWriter()
    build(writer)
    return writer.build()


def all_types(index):
    return [index.type_by_id(type_id) for type_id in range(len(index))]


@pytest.mark.parametrize("build,field", [
    (lambda w: w.add_int("int", 3, signed=True), "size"),
    (lambda w: w.add_int("int", 32, bits=64), "size"),
    (lambda w: w.add_int("int", 4, bits=200), "int encoding"),
    (lambda w: w.add_float("double", 0), "size"),
    (lambda w: w.add_enum("e", 5, [("A", 1)]), "size"),
    (lambda w: w.add_struct("huge", 0xFFFFFFFF, []), "size"),
    (lambda w: w.add_array(w.add_int("long", 8), 0xFFFFFFFF), "btf_array.nelems"),
])
def test_btf_record_with_impossible_size_is_a_format_error(build, field):
    index = parse_btf(btf_with(build))
    with pytest.raises(FormatError) as error:
        all_types(index)
    assert error.value.field == field and error.value.offset is not None


def test_btf_member_outside_its_struct_is_a_format_error():
    def build(w):
        long_t = w.add_int("long", 8, signed=True)
        w.add_struct("mm_struct", 16, [("total_vm", long_t, 0, 0), ("rss_stat", long_t, 8 * 4096, 0)])
    index = parse_btf(btf_with(build))
    mm = index.find("struct mm_struct")
    with pytest.raises(FormatError) as error:
        mm.member("total_vm")
    assert error.value.field == "btf_member.offset"


def test_btf_modifier_chain_deeper_than_any_kernel_is_a_format_error_not_recursion_error():
    def build(w):
        target = w.add_int("int", 4, signed=True)
        for _ in range(2000):
            target = w.add_const(target)
    index = parse_btf(btf_with(build))
    with pytest.raises(FormatError) as error:
        index.type_by_id(len(index) - 1)
    assert "nested" in str(error.value)


def test_btf_struct_that_contains_itself_is_a_format_error_not_recursion_error():
    """A damaged member type id pointing back at its own struct, by value: anonymous
    (member lookup) and named (reading the value)."""
    def build(w):
        int_t = w.add_int("int", 4, signed=True)
        w.types.append(struct.pack("<III", w.string("loop"), (4 << 24) | 2, 8)
                       + struct.pack("<IIIIII", w.string("x"), int_t, 0, 0, int_t + 1, 0))
        w.types.append(struct.pack("<III", w.string("named"), (4 << 24) | 1, 8)
                       + struct.pack("<III", w.string("self"), int_t + 2, 0))
    index = parse_btf(btf_with(build))
    with pytest.raises(FormatError):
        index.find("struct loop").member("x")
    with pytest.raises(FormatError) as error:
        Object(None, index.find("struct named"), bytes(8)).value_()  # type: ignore[arg-type]
    assert "contains itself" in str(error.value)



def test_vmcoreinfo_symbol_of_thousands_of_hex_digits_is_a_format_error():
    """Found by the vmcoreinfo target: the message for a huge value tried str() on it, which
    Python refuses past 4300 digits (ValueError)."""
    with pytest.raises(FormatError) as error:
        VmcoreInfo("SYMBOL(prb)=" + "f" * 5000).symbol("prb")
    assert "20000-bit" in str(error.value)


# -- a vmlinux (pyelftools underneath) -------------------------------------------------
@pytest.fixture(scope="module")
def vmlinux_image():
    from kallsyms_writer import build_vmlinux
    from fuzz.make_seeds import elf_sections
    image = build_vmlinux().elf
    return image, elf_sections(image)


def elf_damaged(tmp_path, image, offset, fmt, value):
    data = bytearray(image)
    if offset is not None:
        struct.pack_into(fmt, data, offset, value)
    path = tmp_path / "vmlinux"
    path.write_bytes(bytes(data))
    return str(path)


SYMBOL_READERS = ["load_elf_symbols", "elf_build_id", "elf_linux_banner", "vmlinux_reader", "load_vmlinux_btf"]


def call_reader(name, path):
    from pycore import symbols
    from pycore.types import load_vmlinux_btf
    return (load_vmlinux_btf if name == "load_vmlinux_btf" else getattr(symbols, name))(path)


@pytest.mark.parametrize("reader", SYMBOL_READERS)
@pytest.mark.parametrize("damage", ["empty", "e_shentsize", "e_shstrndx", "e_shoff"])
def test_damaged_vmlinux_headers_are_format_errors(tmp_path, vmlinux_image, reader, damage):
    """Found by the vmlinux target: pyelftools raised ELFError, construct's FieldError,
    ValueError and OSError (seeks past 2**63) straight through every reader."""
    image, _ = vmlinux_image
    if damage == "empty":
        path = elf_damaged(tmp_path, b"", None, None, None)
    else:
        offset, fmt, value = {"e_shentsize": (58, "<H", 0), "e_shstrndx": (62, "<H", 0xFFF0),
                              "e_shoff": (40, "<Q", 1 << 63)}[damage]
        path = elf_damaged(tmp_path, image, offset, fmt, value)
    with pytest.raises(FormatError):
        call_reader(reader, path)


def test_note_claiming_two_gigabytes_is_refused_before_reading(tmp_path, vmlinux_image):
    """Found by the vmlinux target: pyelftools allocated a note's n_descsz (2 GiB) before
    reading it: a MemoryError under the fuzz memory bound, gigabytes of RSS outside it."""
    from pycore.symbols import elf_build_id
    image, sections = vmlinux_image
    notes_at = sections[".notes"][0]
    with pytest.raises(FormatError) as error:
        elf_build_id(elf_damaged(tmp_path, image, notes_at + 4, "<I", 0x7FFFFFFF))
    assert error.value.field == "Elf64_Nhdr"


def test_section_past_the_end_of_the_file_is_refused_before_reading(tmp_path, vmlinux_image):
    from pycore.symbols import load_elf_symbols, vmlinux_reader
    image, _ = vmlinux_image
    shoff, = struct.unpack_from("<Q", image, 40)
    shnum, = struct.unpack_from("<H", image, 60)
    symtab = next(i for i in range(shnum) if struct.unpack_from("<I", image, shoff + 64 * i + 4)[0] == 2)
    path = elf_damaged(tmp_path, image, shoff + 64 * symtab + 32, "<Q", 24 << 36)  # sh_size, whole entries
    with pytest.raises(FormatError) as error:
        load_elf_symbols(path)
    assert error.value.field == "sh_size"
    rodata = 2  # .rodata, an allocated section the reader maps
    path = elf_damaged(tmp_path, image, shoff + 64 * rodata + 24, "<Q", 1 << 40)  # sh_offset
    with pytest.raises(FormatError) as error:
        vmlinux_reader(path)
    assert error.value.field == "sh_offset"


# -- symbols -----------------------------------------------------------------------------
def test_system_map_address_past_64_bits_is_a_format_error_naming_the_line(tmp_path):
    from pycore.symbols import load_system_map
    path = tmp_path / "System.map"
    path.write_text("ffffffff81000000 T _text\n" + "f" * 40 + " T broken\n")
    with pytest.raises(FormatError) as error:
        load_system_map(str(path))
    assert error.value.field == "line 2"


def test_kallsyms_relative_base_near_the_top_wraps_as_the_kernel_computes_it():
    """A damaged kallsyms_relative_base of 2**64 - 1: the kernel's unsigned long sum wraps,
    so the table is not sorted and is refused, instead of symbols past 64 bits."""
    from kallsyms_writer import build_kallsyms, sample_symbols
    from pycore.symbols import load_kallsyms
    image = build_kallsyms(sample_symbols(functions=20, absolute_percpu=False), layout="relative")
    data = bytearray(image.data)
    struct.pack_into("<Q", data, image.locations["kallsyms_relative_base"] - image.base, (1 << 64) - 1)
    image.data = bytes(data)
    with pytest.raises(FormatError) as error:
        load_kallsyms(image.read, image.vmcoreinfo())
    assert error.value.field == "kallsyms_offsets"


# -- issue 10 finding 1, fixed in pycore/dump/kdump.py: kept here as the fuzz seeds cover it
@pytest.mark.parametrize("options", [{"signature": b"DISKDUMP"}, {"header_version": 0}], ids=["DISKDUMP", "v0"])
def test_kdump_without_a_sub_header_and_no_cpus_describes_itself(tmp_path, options, native_path):
    import pycore
    from fuzz.make_seeds import small_machine
    from synthetic import build_kdump
    image = bytearray(build_kdump(small_machine(), "zlib", **options)[0])
    struct.pack_into("<i", image, 460, 0)  # disk_dump_header.nr_cpus
    path = tmp_path / "vmcore"
    path.write_bytes(bytes(image))
    with pycore.open(str(path), native=native_path) as prog:
        info = prog.info()
    assert info["cpus"] == 0 and info["format"] == "kdump"


def test_vmcoreinfo_plain_key_named_like_a_group_is_a_format_error():
    """Found by the kdump target (atheris): a ``SIZE=`` line beside ``SIZE(page)=`` made
    typed() assign into a string (TypeError)."""
    info = VmcoreInfo("SIZE=5\nSIZE(page)=64\nOSRELEASE=6.1\n")
    with pytest.raises(FormatError) as error:
        info.typed()
    assert error.value.field == "SIZE"
    assert VmcoreInfo("SIZE(page)=64\nOSRELEASE=6.1\n").typed() == {"OSRELEASE": "6.1", "SIZE": {"page": 64}}


# -- findings in the kernel helpers -------------------------------------------------------
def test_legacy_log_buf_timestamp_of_thousands_of_digits_is_kept_as_text():
    from pycore.kernel.printk import parse_log_buf
    records = parse_log_buf(b"<6>[" + b"9" * 5000 + b".000001] hello\n<6>[    1.000002] world\n")
    assert len(records) == 2 and records[0].text.endswith("hello") and records[1].text == "world"
