"""Corrupt, truncated and hostile dumps: always a pycore exception naming offset and field, never a crash."""
import random
import struct
import zlib

import pytest

import pycore
from pycore.errors import FaultError, FormatError, IncompleteDumpError, PageExcludedError, PycoreError

from conftest import NATIVE_SKIP, synthetic, write

PAGE = synthetic.PAGE_SIZE
# Offsets of disk_dump_header fields (64-bit layout).
BLOCK_SIZE, SUB_HDR_SIZE, BITMAP_BLOCKS, MAX_MAPNR, STATUS, NR_CPUS = 428, 432, 436, 440, 424, 460


def patched(data: bytes, offset: int, fmt: str, value) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.fixture(scope="module")
def kdump_image(machine):
    return synthetic.build_kdump(machine, "zlib")


def first_compressed_pfn(layout, machine):
    return next(pfn for pfn in sorted(layout.data_of)
                if layout.data_of[pfn][1] < PAGE)


@pytest.mark.parametrize("signature, version, nr_cpus", [(b"DISKDUMP", 6, 2), (b"KDUMP   ", 0, 2),
                                                         (b"KDUMP   ", 0, 0), (b"DISKDUMP", 0, 0)])
def test_dump_without_a_sub_header_has_no_cpus_and_no_notes(tmp_path, machine, native_path, signature, version,
                                                            nr_cpus):
    # Issue 10: these headers skipped the notes and left KdumpDump without .cpus at all.
    data, _ = synthetic.build_kdump(machine, "zlib", header_version=version, signature=signature)
    path = write(tmp_path, "old.vmcore", patched(data, NR_CPUS, "<i", nr_cpus))
    with pycore.open(path, native=native_path) as prog:
        assert prog.dump.cpus == [] and prog.dump.notes == []
        assert prog.dump.vmcoreinfo is None
        assert prog.info()["cpus"] == nr_cpus
        pfn = max(p for p in machine.pages if p not in machine.excluded)
        assert prog.read_physical(pfn * PAGE, PAGE) == machine.pages[pfn]


def test_empty_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError):
        pycore.open(write(tmp_path, "empty", b""))


def test_not_a_dump_says_what_it_found(tmp_path):
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "text", b"hello world, this is not a vmcore\n" * 10))
    assert "not a vmcore" in str(error.value) and error.value.field == "signature"


def test_vmlinux_given_as_dump_is_refused(tmp_path):
    header = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 2, 62, 1, 0, 64, 0, 0,
                         64, 56, 0, 0, 0, 0)
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "vmlinux", header))
    assert error.value.field == "e_type"


@pytest.mark.parametrize("offset,fmt,value,field", [
    (BLOCK_SIZE, "<i", 0, "disk_dump_header.block_size"),
    (BLOCK_SIZE, "<i", 3000, "disk_dump_header.block_size"),
    (BLOCK_SIZE, "<i", 1 << 30, "disk_dump_header.block_size"),
    (SUB_HDR_SIZE, "<i", 1 << 30, "disk_dump_header.sub_hdr_size"),
    (SUB_HDR_SIZE, "<i", -5, "disk_dump_header.sub_hdr_size"),
    (BITMAP_BLOCKS, "<I", 0xFFFFFFFF, "disk_dump_header.bitmap_blocks"),
    (NR_CPUS, "<i", -1, "disk_dump_header.nr_cpus"),
    (8, "<i", -3, "disk_dump_header.header_version"),
])
def test_absurd_header_fields_are_format_errors_naming_the_field(tmp_path, kdump_image, offset, fmt, value, field):
    image, _ = kdump_image
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "bad", patched(image, offset, fmt, value)))
    assert error.value.field == field
    assert error.value.offset is not None


def test_max_mapnr_larger_than_the_bitmap_is_a_format_error(tmp_path, kdump_image):
    image, _ = kdump_image
    # header_version 6 takes max_mapnr_64 from the sub-header (block 1, offset 96).
    bad = patched(image, PAGE + 96, "<Q", 1 << 40)
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "bad", bad))
    assert error.value.field == "disk_dump_header.max_mapnr"


def test_note_size_past_the_end_is_refused_before_reading(tmp_path, kdump_image):
    image, _ = kdump_image
    bad = patched(image, PAGE + 56, "<Q", 1 << 62)  # kdump_sub_header.size_note
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "bad", bad))
    assert error.value.field == "kdump_sub_header.offset_note"


def test_compressed_size_larger_than_a_page_is_a_format_error(tmp_path, kdump_image, machine, native_path):
    image, layout = kdump_image
    pfn = first_compressed_pfn(layout, machine)
    bad = patched(image, layout.desc_of[pfn] + 8, "<I", PAGE + 1)
    with pycore.open(write(tmp_path, "bad", bad), native=native_path) as prog:
        with pytest.raises(FormatError) as error:
            prog.read_physical(pfn * PAGE, 8)
        assert error.value.field == "page_desc.size"
        assert error.value.offset == layout.desc_of[pfn]
        # Other pages still read.
        other = next(p for p in layout.data_of if p != pfn and machine.pages[p] != bytes(PAGE))
        assert prog.read_physical(other * PAGE, PAGE) == machine.pages[other]


def test_page_desc_pointing_into_the_headers_is_a_format_error(tmp_path, kdump_image, machine, native_path):
    image, layout = kdump_image
    pfn = first_compressed_pfn(layout, machine)
    bad = patched(image, layout.desc_of[pfn], "<Q", 16)
    with pycore.open(write(tmp_path, "bad", bad), native=native_path) as prog:
        with pytest.raises(FormatError) as error:
            prog.read_physical(pfn * PAGE, 8)
        assert error.value.field == "page_desc.offset"


def test_page_desc_with_two_codecs_is_a_format_error(tmp_path, kdump_image, machine, native_path):
    image, layout = kdump_image
    pfn = first_compressed_pfn(layout, machine)
    bad = patched(image, layout.desc_of[pfn] + 12, "<I", 0x1 | 0x20)
    with pycore.open(write(tmp_path, "bad", bad), native=native_path) as prog:
        with pytest.raises(FormatError) as error:
            prog.read_physical(pfn * PAGE, 8)
        assert error.value.field == "page_desc.flags"


def test_page_data_past_the_end_is_an_incomplete_dump_error(tmp_path, kdump_image, machine, native_path):
    image, layout = kdump_image
    pfn = first_compressed_pfn(layout, machine)
    bad = patched(image, layout.desc_of[pfn], "<Q", len(image) + 10 * PAGE)
    with pycore.open(write(tmp_path, "bad", bad), native=native_path) as prog:
        with pytest.raises(IncompleteDumpError) as error:
            prog.read_physical(pfn * PAGE, 8)
        assert error.value.offset == len(image) + 10 * PAGE
        assert error.value.address == pfn * PAGE


def _scrambled_page(machine, codec):
    """A kdump whose first compressed page has every data byte XORed, and that page's pfn and data offset."""
    image, layout = synthetic.build_kdump(machine, codec)
    pfn = first_compressed_pfn(layout, machine)
    offset, size = layout.data_of[pfn]
    bad = bytearray(image)
    bad[offset:offset + size] = bytes((b ^ 0x5A) for b in bad[offset:offset + size])
    return bytes(bad), pfn, offset


# A zlib stream carries header check bits and the page's adler32; a zstd frame opens with a
# magic number the XOR destroys: neither codec can decode the scrambled page.
@pytest.mark.parametrize("codec", ["zlib", "zstd"])
def test_corrupt_checksummed_data_is_a_format_error_on_both_paths(tmp_path, machine, codec, native_path):
    bad, pfn, offset = _scrambled_page(machine, codec)
    with pycore.open(write(tmp_path, "bad", bad), native=native_path) as prog:
        with pytest.raises(FormatError) as error:
            prog.read_physical(pfn * PAGE, PAGE)
        assert error.value.offset == offset and error.value.field == "page data"
        assert f"{codec} page data is corrupt" in str(error.value)


# LZO and snappy have no checksum: some garbage decodes "successfully", so the twins must
# at least agree on what it decodes to, or on the error.
@NATIVE_SKIP
@pytest.mark.parametrize("codec", ["lzo", "snappy"])
def test_corrupt_unchecksummed_data_reads_alike_on_both_paths(tmp_path, machine, codec):
    bad, pfn, offset = _scrambled_page(machine, codec)
    path = write(tmp_path, "bad", bad)
    outcomes = _reads(path, True, [pfn]), _reads(path, False, [pfn])
    assert outcomes[0] == outcomes[1]
    page = outcomes[0][0]
    assert page != machine.pages[pfn]
    if not isinstance(page, bytes):
        assert page[0] == "FormatError" and page[3] == offset and page[4] == "page data"


def test_file_cut_short_reads_what_is_there_and_reports_the_rest(tmp_path, machine, native_path):
    image, layout = synthetic.build_kdump(machine, "zstd")
    cut = layout.data_offset + (len(image) - layout.data_offset) // 2
    with pycore.open(write(tmp_path, "cut", image[:cut]), native=native_path) as prog:
        info = prog.info()
        early = [p for p, (offset, size) in layout.data_of.items() if offset + size <= cut]
        late = [p for p, (offset, size) in layout.data_of.items() if offset >= cut]
        assert early and late
        for pfn in early:
            assert prog.read_physical(pfn * PAGE, PAGE) == machine.pages[pfn]
        with pytest.raises(IncompleteDumpError) as error:
            prog.read_physical(late[0] * PAGE, PAGE)
        assert error.value.address == late[0] * PAGE
        assert "incomplete" in str(error.value)
    assert info["pages"]["dumped"] == len(layout.desc_of)


def test_cut_inside_the_descriptor_table_is_incomplete(tmp_path, machine, native_path):
    image, layout = synthetic.build_kdump(machine, "zlib")
    cut = layout.desc_offset + 24 * 100 + 5
    with pycore.open(write(tmp_path, "cut", image[:cut]), native=native_path) as prog:
        assert prog.info()["incomplete"] is True
        # The page data follows the descriptor table, so none of it survived the cut.
        assert prog.dump.page_counts()["missing"] == len(layout.desc_of)
        late = sorted(layout.desc_of)[200]
        with pytest.raises(IncompleteDumpError):
            prog.read_physical(late * PAGE, 8)


def test_incomplete_flag_and_unwritten_descriptors(tmp_path, machine, native_path):
    image, layout = synthetic.build_kdump(machine, "zlib", status=0x8)
    bad = bytearray(image)
    victims = sorted(layout.desc_of)[-50:]
    for pfn in victims:
        bad[layout.desc_of[pfn]:layout.desc_of[pfn] + 24] = bytes(24)
    with pycore.open(write(tmp_path, "incomplete", bytes(bad)), native=native_path) as prog:
        assert prog.info()["incomplete"] is True
        assert prog.dump.page_counts()["missing"] == 50
        with pytest.raises(IncompleteDumpError) as error:
            prog.read_physical(victims[0] * PAGE, PAGE)
        # Inside the file: not "missing past its end" but a descriptor makedumpfile never wrote.
        assert (error.value.offset, error.value.field) == (layout.desc_of[victims[0]], "page_desc")
        assert f"the page descriptor at file offset {layout.desc_of[victims[0]]:#x} was never written" \
            in str(error.value)


# Where the cut falls -> the error and the field it names, and the file offset of that field.
_HEADER_CUTS = {
    10: (IncompleteDumpError, "disk_dump_header", 0),
    100: (IncompleteDumpError, "disk_dump_header", 0),
    463: (IncompleteDumpError, "disk_dump_header", 0),  # the header's last byte missing
    4096: (FormatError, "disk_dump_header.sub_hdr_size", SUB_HDR_SIZE),  # just the header block
    4200: (FormatError, "disk_dump_header.sub_hdr_size", SUB_HDR_SIZE),
    5000: (FormatError, "disk_dump_header.sub_hdr_size", SUB_HDR_SIZE),
    8192: (FormatError, "disk_dump_header.bitmap_blocks", BITMAP_BLOCKS),  # header and sub-header, no bitmap
    12288: (FormatError, "disk_dump_header.bitmap_blocks", BITMAP_BLOCKS),  # half the bitmaps
}


@pytest.mark.parametrize("cut", sorted(_HEADER_CUTS))
def test_truncated_in_the_headers_names_the_field_cut_off(tmp_path, kdump_image, native_path, cut):
    image, layout = kdump_image
    assert (layout.sub_hdr_size, layout.bitmap_blocks) == (1, 2)  # the cuts above are placed for this layout
    kind, field, offset = _HEADER_CUTS[cut]
    with pytest.raises(kind) as error:
        pycore.open(write(tmp_path, "cut", image[:cut]), native=native_path)
    assert type(error.value) is kind
    assert (error.value.field, error.value.offset) == (field, offset)


def test_elf_partly_overlapping_pt_loads_are_refused(tmp_path, machine):
    image = bytearray(synthetic.build_elf(machine))
    # Second PT_LOAD (phdr index 2) moved to start inside the first one, and longer.
    # Elf64_Phdr: p_paddr at +24, p_memsz at +40.
    first_paddr = struct.unpack_from("<Q", image, 64 + 56 + 24)[0]
    first_memsz = struct.unpack_from("<Q", image, 64 + 56 + 40)[0]
    struct.pack_into("<Q", image, 64 + 2 * 56 + 24, first_paddr + first_memsz // 2)
    struct.pack_into("<Q", image, 64 + 2 * 56 + 40, first_memsz * 4)
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "overlap", bytes(image)))
    assert "overlaps" in str(error.value) and error.value.field == "p_paddr"


def test_elf_truncated_reads_what_is_there(tmp_path, machine):
    image = synthetic.build_elf(machine)
    cut = len(image) - 20 * PAGE
    with pycore.open(write(tmp_path, "cut", image[:cut])) as prog:
        assert prog.info()["incomplete"] is True
        assert prog.read_physical(0x1000, PAGE) == machine.pages[1]
        last = max(p for p in machine.pages if p not in machine.excluded)
        with pytest.raises(IncompleteDumpError):
            prog.read_physical(last * PAGE, PAGE)


def test_elf_note_running_past_its_segment_is_a_format_error(tmp_path, machine):
    image = bytearray(synthetic.build_elf(machine))
    note_offset = struct.unpack_from("<Q", image, 64 + 8)[0]
    struct.pack_into("<I", image, note_offset + 4, 0x7FFFFFFF)  # descsz of the first note
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "note", bytes(image)))
    assert error.value.field == "Elf64_Nhdr" and error.value.offset == note_offset


def test_flattened_record_with_hostile_size_is_a_format_error(tmp_path, kdump_image):
    image, _ = kdump_image
    stream = bytearray(synthetic.flatten(image, rewrite=False))
    struct.pack_into(">q", stream, 4096 + 8, -7)
    with pytest.raises(FormatError) as error:
        pycore.open(write(tmp_path, "flat", bytes(stream)))
    assert error.value.offset == 4096


def test_flattened_stream_without_end_marker_is_incomplete(tmp_path, kdump_image, native_path):
    image, _ = kdump_image
    stream = synthetic.flatten(image, rewrite=False)[:-16]
    with pycore.open(write(tmp_path, "flat", stream), native=native_path) as prog:
        assert prog.info()["incomplete"] is True


def _mutations(image: bytes, layout, seed: int, count: int):
    """``count`` copies of ``image`` with 1-7 random bytes changed in one of its regions (headers,
    sub-header, descriptors, page data), each with the offsets whose value really changed."""
    rng = random.Random(seed)
    regions = [(0, 464), (PAGE, PAGE + 104), (layout.desc_offset, layout.data_offset),
               (layout.data_offset, len(image))]
    for _ in range(count):
        start, end = rng.choice(regions)
        out = bytearray(image)
        for _ in range(rng.randrange(1, 8)):
            out[rng.randrange(start, end)] = rng.randrange(256)
        yield bytes(out), sorted(offset for offset in range(start, end) if out[offset] != image[offset])


# Header fields that place or size what follows them (block_size, sub_hdr_size, bitmap_blocks;
# kdump_sub_header.max_mapnr_64): a change there may move or hide every page.  The other header
# fields may make the dump unopenable, but never change a page that does read.
_LAYOUT_FIELDS = [(BLOCK_SIZE, BITMAP_BLOCKS + 4), (PAGE + 96, PAGE + 104)]


def _pages_touched(changed, layout):
    """The pfns whose reads the bytes at ``changed`` may alter, or None when that may be any page."""
    if any(start <= offset < end for offset in changed for start, end in _LAYOUT_FIELDS):
        return None
    dumped = sorted(layout.desc_of)
    touched = set()
    for offset in changed:
        if layout.desc_offset <= offset < layout.data_offset:
            touched.add(dumped[(offset - layout.desc_offset) // 24])
        elif offset >= layout.data_offset:  # every zero page shares the first page of data
            touched.update(pfn for pfn, (start, size) in layout.data_of.items() if start <= offset < start + size)
    return touched


def _check_read(prog, pfn, machine, touched):
    """A read of ``pfn`` gives its page, or the error its damage explains (``touched`` as _pages_touched)."""
    try:
        data = prog.read_physical(pfn * PAGE, PAGE)
    except PycoreError as error:
        if touched is None:  # the layout moved: any page may be unreadable or gone
            assert isinstance(error, (FormatError, FaultError)), repr(error)
        elif pfn in machine.excluded:
            assert isinstance(error, PageExcludedError), repr(error)
        else:
            assert pfn in touched, f"pfn {pfn:#x} was not touched, yet: {error!r}"
            assert isinstance(error, (FormatError, IncompleteDumpError)), repr(error)
        return
    assert len(data) == PAGE
    if touched is not None and pfn not in touched:
        assert pfn not in machine.excluded, f"excluded pfn {pfn:#x} read"
        assert data == machine.pages[pfn], f"pfn {pfn:#x} was not touched, yet reads differently"


@pytest.mark.parametrize("codec", ["zlib", "lzo", "snappy", "zstd"])
def test_random_corruption_spoils_only_the_pages_it_touched(tmp_path, machine, codec, native_path):
    image, layout = synthetic.build_kdump(machine, codec)
    pfns = sorted(machine.pages)[::9]
    seed = zlib.crc32(codec.encode())
    for number, (mutated, changed) in enumerate(_mutations(image, layout, seed=seed, count=40)):
        path = write(tmp_path, f"m{number}", mutated)
        in_headers = bool(changed) and changed[0] < layout.desc_offset
        try:
            prog = pycore.open(path, native=native_path)
        except (FormatError, IncompleteDumpError):
            assert in_headers, f"mutation {number} only touched pages, yet the dump does not open"
            continue
        touched = _pages_touched(changed, layout)
        with prog:
            for pfn in sorted(set(pfns) | (touched or set())):
                _check_read(prog, pfn, machine, touched)
            info = prog.info()
            if touched is not None:
                assert info["physical_ranges"] == [{"start": start, "end": end} for start, end in machine.ranges]
                assert info["pages"]["present"] == len(machine.pages)
                assert info["pages"]["dumped"] == len(layout.desc_of)


def _outcome(call):
    try:
        return call()
    except PycoreError as error:
        return (type(error).__name__, str(error), getattr(error, "address", None), getattr(error, "offset", None),
                getattr(error, "field", None))


def _reads(path, native_path, pfns):
    """What opening ``path`` and reading every page of ``pfns`` gives: bytes or the error's particulars."""
    opened = _outcome(lambda: pycore.open(path, native=native_path))
    if not isinstance(opened, pycore.Program):
        return [opened]
    with opened as prog:
        info = _outcome(prog.info)
        if isinstance(info, dict):
            info.pop("native")
        return [_outcome(lambda: prog.read_physical(pfn * PAGE, PAGE)) for pfn in pfns] + [info]


# zstd is left out: damaged frames decode differently across libzstd versions (see test_codecs).
@NATIVE_SKIP
@pytest.mark.parametrize("codec", ["zlib", "lzo", "snappy"])
def test_random_corruption_reads_alike_on_both_paths(tmp_path, machine, codec):
    image, layout = synthetic.build_kdump(machine, codec)
    pfns = sorted(machine.pages)[::7]
    for number, (mutated, _) in enumerate(_mutations(image, layout, seed=zlib.crc32(codec.encode()), count=25)):
        path = write(tmp_path, f"m{number}", mutated)
        assert _reads(path, True, pfns) == _reads(path, False, pfns), f"mutation {number}"


def test_fault_error_carries_the_address(dump_files):
    with pycore.open(dump_files["kdump-zlib"]) as prog:
        with pytest.raises(FaultError) as error:
            prog.read_physical(0x123456789000, 8)
        assert error.value.address == 0x123456789000 and error.value.physical


def test_cut_in_the_page_data_counts_exactly_the_lost_pages(tmp_path, machine, native_path):
    image, layout = synthetic.build_kdump(machine, "zlib")
    cut = layout.data_offset + (len(image) - layout.data_offset) // 3
    lost = sum(1 for offset, size in layout.data_of.values() if offset + size > cut)
    with pycore.open(write(tmp_path, "cut.vmcore", image[:cut]), native=native_path) as prog:
        assert prog.dump.page_counts()["missing"] == lost > 0
        assert prog.info()["incomplete"] is True
