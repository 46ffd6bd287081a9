"""crash's search without a dump: the page walk (what follows a page that is not mapped, or not in
the dump), values found with and without a mask at their alignment, strings found within a page
and across two pages that follow each other, and the lines crash prints for them (-x context,
-t task headers)."""
import argparse

import pytest

from pycore.cli import search as search_command
from pycore.kernel import search

PAGE = 4096


def _pages(contents):
    """A read_page over {page address: bytes}: None where there is no page."""
    return lambda address: contents.get(address)


def _chunks(contents, start, end, next_page=lambda address: address + PAGE):
    stats = search.ScanStats()
    return list(search._chunks(start, end, PAGE, _pages(contents), next_page, stats)), stats


def test_a_search_starts_at_a_long_and_ends_inside_the_last_page():
    chunks, stats = _chunks({0x1000: bytes(PAGE), 0x2000: bytes(PAGE)}, 0x1ffd, 0x2010)
    assert [(c.address, c.offset, c.length) for c in chunks] == [(0x1ff8, 0xff8, 8), (0x2000, 0, 0x10)]
    assert (stats.read, stats.skipped) == (2, 0)


def test_a_page_not_mapped_is_followed_by_the_range_rule_and_one_not_in_the_dump_by_the_next_page():
    asked = []

    def next_page(address):
        asked.append(address)
        return 0x5000
    contents = {0x1000: bytes(PAGE), 0x2000: b"", 0x5000: bytes(PAGE)}
    chunks, stats = _chunks(contents, 0x1000, 0x6000, next_page)
    # 0x2000 translates but is not in the dump: 0x3000 is tried next; 0x3000 does not translate:
    # the rule (next vmalloc area, next valid frame, ...) says where to go on.
    assert asked == [0x3000]
    assert [c.address for c in chunks] == [0x1000, 0x5000]
    assert stats.skipped == 2


def test_the_search_ends_when_the_rule_finds_no_further_page():
    chunks, _ = _chunks({0x1000: bytes(PAGE)}, 0x1000, 0x9000, lambda address: None)
    assert [c.address for c in chunks] == [0x1000]


def _one_chunk(data, address=0x1000):
    page = data + bytes(PAGE - len(data))
    return [search.Chunk(address, page, 0, PAGE)]


def test_longs_are_found_at_their_alignment_only():
    data = bytes(3) + (0x1122334455667788).to_bytes(8, "little") + bytes(5) + (0x1122334455667788).to_bytes(8, "little")
    hits = list(search.find_values(iter(_one_chunk(data)), [0x1122334455667788], 8))
    assert [(h.address, h.value, h.index) for h in hits] == [(0x1010, 0x1122334455667788, 0)]


def test_a_mask_ignores_bits_and_the_memory_value_is_reported():
    data = (0xbabe1174).to_bytes(4, "little") + (0xbabe3dc8).to_bytes(4, "little") + (0x1234babe).to_bytes(4, "little")
    hits = list(search.find_values(iter(_one_chunk(data)), [0xbabe0000], 4, mask=0xffff))
    assert [(h.address, h.value) for h in hits] == [(0x1000, 0xbabe1174), (0x1004, 0xbabe3dc8)]


def test_several_values_at_one_address_come_in_the_order_given():
    data = (0x694c).to_bytes(2, "little")
    hits = list(search.find_values(iter(_one_chunk(data)), [0x694c, 0x094c], 2, mask=0xf000))
    assert [(h.address, h.index) for h in hits] == [(0x1000, 0), (0x1000, 1)]


def test_a_string_shows_56_characters_up_to_the_end_of_its_page():
    page = bytearray(PAGE)
    text = b"Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org)"
    page[0x100:0x100 + len(text)] = text
    page[PAGE - 10:] = b"Linux vers"
    hits = list(search.find_strings(iter([search.Chunk(0x1000, bytes(page), 0, PAGE)]), [b"Linux"]))
    assert [(h.address, h.text) for h in hits] == [(0x1100, text[:56]), (0x1000 + PAGE - 10, b"Linux vers")]


def test_a_string_across_two_pages_is_found_when_the_pages_follow_each_other():
    first, second = bytearray(PAGE), bytearray(PAGE)
    first[PAGE - 3:] = b"Lin"
    second[:12] = b"ux version 6"
    chunks = [search.Chunk(0x1000, bytes(first), 0, PAGE), search.Chunk(0x2000, bytes(second), 0, PAGE)]
    hits = list(search.find_strings(iter(chunks), [b"Linux"]))
    assert [(h.address, h.text[:13]) for h in hits] == [(0x1ffd, b"Linux version")]
    assert len(hits[0].text) == search.CHARS_CONTEXT
    apart = [chunks[0], search.Chunk(0x5000, bytes(second), 0, PAGE)]
    assert list(search.find_strings(iter(apart), [b"Linux"])) == []


def _render(data, **options):
    return search_command.render(data, argparse.Namespace(**options))


def test_a_hit_shows_its_symbol_or_expression_and_a_number_nothing_but_crashs_space():
    data = {"mode": "ulong", "groups": [{"task": None, "hits": [
        {"address": 0xffffffffa941b3c0, "value": 0xffffffffa941aa40, "label": "(init_task)"},
        {"address": 0xffffffffa941b3c8, "value": 0xffffffffa941aa40, "label": ""}]}]}
    assert _render(data) == ("ffffffffa941b3c0: ffffffffa941aa40 (init_task)\n"
                             "ffffffffa941b3c8: ffffffffa941aa40 \n")


def test_context_lines_are_rds_around_the_hit_and_a_blank_line():
    data = {"mode": "uint", "groups": [{"task": None, "hits": [
        {"address": 0xffffffffa8b1ffe0, "value": 0x756e694c, "label": "",
         "before": [[0xffffffffa8b1ffd8, 0], [0xffffffffa8b1ffdc, 0]],
         "after": [[0xffffffffa8b1ffe4, 0x65762078], [0xffffffffa8b1ffe8, 0x6f697372]]}]}]}
    assert _render(data).split("\n") == [
        "ffffffffa8b1ffd8:  00000000 00000000                     ........",
        "ffffffffa8b1ffe0:  756e694c ",
        "ffffffffa8b1ffe4:  65762078 6f697372                     x versio",
        "", ""]


def test_task_stacks_are_headed_by_their_task_and_parted_by_a_blank_line():
    task = {"pid": 0, "task": 0xffffffffa941aa40, "cpu": 0, "comm": "swapper/0"}
    hit = {"address": 0xffffffffa9403de0, "value": 0xffffffffa941aa40, "label": "(init_task)"}
    data = {"mode": "ulong", "groups": [{"task": task, "hits": [hit]}, {"task": dict(task, pid=25), "hits": [hit]}]}
    lines = _render(data).split("\n")
    assert lines[0] == 'PID: 0        TASK: ffffffffa941aa40  CPU: 0    COMMAND: "swapper/0"'
    assert lines[2:4] == ["", 'PID: 25       TASK: ffffffffa941aa40  CPU: 0    COMMAND: "swapper/0"']


def test_a_string_hit_shows_dots_for_what_is_not_printable():
    data = {"mode": "chars", "groups": [{"task": None, "hits": [{"address": 0x1256396, "text": "pycore\x00x\x7f"}]}]}
    assert _render(data) == "1256396: pycore.x.\n"


@pytest.mark.parametrize("argv,message", [
    (["-t", "-s", "1000", "1"], "-t option cannot be used with other memory-selection options"),
    (["-c", "-x", "2", "Linux"], "-x option is not allowed with -c"),
    (["-x", "513", "1"], "context value 513 is too large: maximum is 512"),
    (["-s", "1000", "-e", "2000", "-l", "8", "1"], "-e and -l cannot be used together"),
])
def test_crashs_refusals_of_option_combinations(argv, message):
    from pycore.cli.command import make_parser
    from pycore.errors import PycoreError

    args = make_parser(search_command.COMMAND).parse_args(argv)
    with pytest.raises(PycoreError, match=message):
        search_command._check(args)


def _kmem_v_cases():
    from corpus import cases
    return [pytest.param(case, id=case.name) for case in cases() if case.reference("kmem -v") is not None]


@pytest.mark.real
@pytest.mark.parametrize("case", _kmem_v_cases())
def test_the_busy_vmalloc_areas_with_a_vm_struct_are_crashs_kmem_v(case):
    """vmalloc.for_each_vmap_area, the walk search -V's range and next-area rule stand on: the
    areas with a ``vm_struct`` are crash's ``kmem -v`` lines (vmap_area, vm_struct, range, size),
    on the single tree (5.10, 6.1) and on 6.9+'s per-node trees (6.12, 7.2)."""
    import pycore
    from pycore.kernel import vmalloc

    rows = [row for row in (line.split() for line in case.reference("kmem -v").splitlines())
            if len(row) == 6 and row[3] == "-"]
    expected = sorted((int(r[2], 16), int(r[4], 16), int(r[0], 16), int(r[1], 16), int(r[5])) for r in rows)
    with pycore.open(case.path(case.reference_dump)) as prog:
        areas = sorted((a.start, a.end, a.address, a.vm, a.end - a.start)
                       for a in vmalloc.for_each_vmap_area(prog) if a.vm)
        spans = search.vmap_areas(prog)
    assert expected and areas == expected
    assert spans == [(start, end) for start, end, *_ in expected]


def test_a_masked_value_in_the_last_long_of_a_page_is_found():
    """The lookahead that finds a masked value needs its bytes before the searched part ends: the
    last long of a page is searched as every other one (crash's search -m on 6.12's module pages)."""
    page = bytes(PAGE - 8) + (0xffffffffc0215370).to_bytes(8, "little")
    hits = list(search.find_values(iter([search.Chunk(0x1000, page, 0, PAGE)]), [0xffffffffc02175c8], 8,
                                   mask=0xffff))
    assert [(h.address, h.value) for h in hits] == [(0x1000 + PAGE - 8, 0xffffffffc0215370)]
