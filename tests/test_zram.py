"""The kernel's page compressors as zram and zswap use them (against the real libraries), x86_64
swap entries in PTEs, and the errors of pages the dump does not hold; the swap case's zram
devices (6.12-swap-l4) for what only a real dump shows."""
import os
import random
import zlib

import lz4.block
import pytest
import zstandard

from pycore.dump.codecs import KERNEL_COMPRESSORS, CodecUnavailableError, decompress_kernel_page
from pycore.errors import FaultError, FormatError
from pycore.kernel import swap, zram
from pycore.kernel.swap import SwapEntry, pte_to_swp_entry

PAGE = 4096


def page(seed: int) -> bytes:
    """A page that compresses somewhat: words of a small alphabet, a zero run, a text."""
    rng = random.Random(seed)
    words = b"".join(rng.choice([b"\0" * 8, b"PYCORE!!", rng.randbytes(8)]) for _ in range(PAGE // 16))
    return (words + bytes(1024) + b"swapped out " * 170)[:PAGE]


def compress(compressor: str, data: bytes) -> bytes:
    """What the kernel's compressor writes: a raw LZ4 block (LZ4 and LZ4HC), one zstd frame, raw
    deflate without a zlib header."""
    if compressor == "lz4":
        return lz4.block.compress(data, store_size=False)
    if compressor == "lz4hc":
        return lz4.block.compress(data, mode="high_compression", store_size=False)
    if compressor == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    if compressor == "deflate":
        stream = zlib.compressobj(6, zlib.DEFLATED, -15)
        return stream.compress(data) + stream.flush()
    raise AssertionError(compressor)


LIBRARY_COMPRESSORS = ["lz4", "lz4hc", "zstd", "deflate"]


@pytest.mark.parametrize("compressor", LIBRARY_COMPRESSORS)
def test_each_kernel_compressor_decodes_its_pages(compressor):
    for seed in range(4):
        data = page(seed)
        assert decompress_kernel_page(compressor, compress(compressor, data), PAGE) == data


@pytest.mark.parametrize("compressor", LIBRARY_COMPRESSORS)
def test_a_truncated_page_is_a_format_error(compressor):
    compressed = compress(compressor, page(7))
    with pytest.raises(FormatError, match="compressed page|page data"):
        decompress_kernel_page(compressor, compressed[:len(compressed) // 2], PAGE)


@pytest.mark.parametrize("compressor", LIBRARY_COMPRESSORS)
def test_a_page_of_another_size_is_a_format_error(compressor):
    with pytest.raises(FormatError):
        decompress_kernel_page(compressor, compress(compressor, page(3)[:2048]), PAGE)


def test_lzo_and_lzo_rle_without_zero_runs_decode_as_lzo1x():
    # A literal run of 16 bytes (first byte 17 + 16) and the end-of-stream instruction.
    literals = bytes(range(16))
    stream = bytes([17 + 16]) + literals + b"\x11\x00\x00"
    assert decompress_kernel_page("lzo", stream, 16) == literals
    # lzo-rle opens with 17 and its bitstream version.
    assert decompress_kernel_page("lzo-rle", b"\x11\x01" + stream, 16) == literals


def test_lzo_rle_zero_runs_decode_by_the_streams_version():
    # "abcd", then an M4 instruction with distance 0xbfff: from bitstream version 1 a run of 8 zeros
    # (tests/test_codecs.py has the format's cases); version 0 has no zero runs, so the same bytes
    # are a match reaching before the page, an error, never misread.
    body = bytes([17 + 4]) + b"abcd" + b"\x1c\xfc\xff\x00" + b"\x11\x00\x00"
    assert decompress_kernel_page("lzo-rle", b"\x11\x01" + body, 12) == b"abcd" + bytes(8)
    with pytest.raises(FormatError):
        decompress_kernel_page("lzo-rle", b"\x11\x00" + body, 12)


def test_a_compressor_pycore_does_not_decode_is_named():
    with pytest.raises(CodecUnavailableError, match="842"):
        decompress_kernel_page("842", b"\0" * 16, PAGE)
    assert "842" not in KERNEL_COMPRESSORS


def pte(entry_type: int, offset: int) -> int:
    """The non-present PTE the kernel writes for a swap entry (__swp_entry, 4.18+): the offset
    inverted, shifted up to bit 14 and down by the five type bits, the type in the top five."""
    return ((~offset << 14) & ((1 << 64) - 1)) >> 5 | entry_type << 59


@pytest.mark.parametrize("entry_type,offset", [(0, 1), (3, 23611), (31, (1 << 45) - 1), (1, 0x123456789)])
def test_swap_entries_decode_from_their_ptes(entry_type, offset):
    entry = pte_to_swp_entry(pte(entry_type, offset))
    assert entry == SwapEntry(entry_type, offset)
    assert entry.value == entry_type << 58 | offset


def test_empty_present_and_prot_none_ptes_hold_no_swap_entry():
    assert pte_to_swp_entry(0) is None
    assert pte_to_swp_entry(0x8000000012345067) is None  # present
    assert pte_to_swp_entry(0x8000000012345100) is None  # PROT_NONE: _PAGE_PROTNONE without _PAGE_PRESENT


def test_the_swap_case_pte_crash_names():
    """crash 9's vm -p on 6.12-swap-l4 shows 0x4a9000 of pycore-swapper as /dev/zram3 offset
    23611; its PTE was 0x1fffffffff47880a."""
    assert pte_to_swp_entry(0x1FFFFFFFFF47880A) == SwapEntry(3, 23611)


def test_a_swapped_out_error_names_device_and_offset():
    error = swap.SwappedOutError("swapped out to /dev/sda2 at offset 7: not in the dump", 0x7000, "/dev/sda2", 7)
    assert (error.device, error.offset, error.address) == ("/dev/sda2", 7, 0x7000)
    assert str(error) == "swapped out to /dev/sda2 at offset 7: not in the dump: virtual address 0x7000"
    assert isinstance(error, FaultError)


def _swap_case():
    from swapper_pages import dump_files, scenario_cases
    dumps = dump_files(scenario_cases("swap"))
    return dumps[0] if dumps else None


@pytest.mark.real
@pytest.mark.skipif(_swap_case() is None, reason="no swap case in the corpus")
def test_zram_slots_agree_with_the_guest_s_mm_stat():
    """Each zram device of 6.12-swap-l4 as the guest listed it: the compressor in brackets in
    comp_algorithm, and from mm_stat the pages stored (orig_data_size / 4096), the same-word pages
    and the huge ones; a sample of the compressed and huge slots decodes to whole pages."""
    import pycore

    case, name = _swap_case()
    listing = case.guest_view("zram")
    assert listing is not None
    shown = {}
    for line in listing.splitlines():
        words = line.split()
        algorithms = [word for word in words[1:] if not word.isdigit()]
        numbers = [int(word) for word in words[1 + len(algorithms):]]
        selected = next(word.strip("[]") for word in algorithms if word.startswith("["))
        # disksize, then mm_stat: orig_data_size compr_data_size mem_used_total mem_limit
        # mem_used_max same_pages pages_compacted huge_pages huge_pages_since
        shown["/dev/" + words[0]] = (selected, numbers[1] // PAGE, numbers[6], numbers[8])
    with pycore.open(case.path(name)) as prog:
        for si in swap.for_each_swap_info(prog):
            device = zram.disk_to_zram(si.bdev.bd_disk)
            slots = [zram.zram_slot(device, index) for index in range(int(si.max))]
            used = [slot for slot in slots if slot.kind != "empty"]
            compressors = {slot.compressor for slot in used}
            assert (compressors.pop(), len(used), sum(slot.kind == "same" for slot in used),
                    sum(slot.kind == "huge" for slot in used)) == shown[swap.swap_device_name(si)]
            stored = [slot for slot in used if slot.kind in ("compressed", "huge")]
            for slot in stored[::max(1, len(stored) // 40)]:
                assert len(zram.zram_read_page(device, slot.index)) == PAGE


@pytest.mark.real
def test_without_the_zram_module_its_types_are_missing_debug_info_naming_it():
    """The committed sample (6.1, sysrq) has no zram loaded: asking for zram's types says so."""
    import pycore
    from corpus import SAMPLE
    from pycore.errors import MissingDebugInfoError

    with pycore.open(os.path.join(SAMPLE, "vmcore")) as prog:
        with pytest.raises(MissingDebugInfoError, match="module zram: it is not loaded"):
            zram.zram_types(prog)
