"""x86_64 translation on synthetic page tables: 4 and 5 levels, 4 KiB / 2 MiB / 1 GiB pages, both paths."""
import pytest

import pycore
from pycore.errors import FaultError, IncompleteDumpError, PageExcludedError

from conftest import synthetic, write

PAGE = synthetic.PAGE_SIZE


@pytest.fixture(scope="module", params=[4, 5], ids=["4-level", "5-level"])
def paged(request, tmp_path_factory):
    machine = synthetic.make_machine(seed=request.param)
    tables = synthetic.add_page_tables(machine, levels=request.param)
    directory = tmp_path_factory.mktemp(f"paged{request.param}")
    paths = {}
    for name, data in {"kdump": synthetic.build_kdump(machine, "zstd")[0], "elf": synthetic.build_elf(machine),
                       "flat": synthetic.flatten(synthetic.build_kdump(machine, "lzo")[0])}.items():
        paths[name] = write(directory, f"{name}.vmcore", data)
    return machine, tables, paths


def _probes(machine, tables):
    """(virtual, physical) addresses to check: each mapping's ends and middle, and in the direct
    map a page the dump filter left out and one in the hole below 1 MiB."""
    for vaddr, paddr, size in tables.mappings:
        for delta in (0, 8, size // 2 + 24, size - 8):
            yield vaddr + delta, paddr + delta
    page_offset = tables.mappings[0][0]
    hole = next(pfn for pfn in range(machine.max_pfn) if pfn not in machine.pages)
    for pfn in (min(machine.excluded), hole):
        yield page_offset + pfn * PAGE + 16, pfn * PAGE + 16


@pytest.mark.parametrize("container", ["kdump", "elf", "flat"])
def test_every_mapping_translates_and_reads(paged, container, native_path):
    machine, tables, paths = paged
    with pycore.open(paths[container], native=native_path) as prog:
        assert prog.arch.levels == tables.levels
        assert prog.arch.kernel_root == tables.kernel_root
        for vaddr, paddr in _probes(machine, tables):
            assert prog.translate(vaddr) == paddr
            pfn = paddr // PAGE
            if pfn in machine.pages and pfn not in machine.excluded:
                assert prog.read(vaddr, 8) == machine.read(paddr, 8)
                continue
            # Mapped, but left out of the dump or past the machine's memory (the 1 GiB direct map page).
            kind = PageExcludedError if pfn in machine.excluded else FaultError
            with pytest.raises(kind) as error:
                prog.read(vaddr, 8)
            assert type(error.value) is kind and error.value.address == vaddr


def test_read_across_scattered_vmalloc_pages(paged, native_path):
    machine, tables, paths = paged
    vmalloc = [m for m in tables.mappings if m[2] == PAGE]
    expected = b"".join(machine.read(paddr, PAGE) for _, paddr, _ in vmalloc[:5])
    with pycore.open(paths["kdump"], native=native_path) as prog:
        assert prog.read(vmalloc[0][0] + 100, 4 * PAGE) == expected[100:100 + 4 * PAGE]


def test_kernel_image_addresses_need_no_walk(paged, native_path):
    machine, _, paths = paged
    with pycore.open(paths["elf"], native=native_path) as prog:
        # phys_base is 0 in the synthetic VMCOREINFO: __START_KERNEL_map + x is physical x.
        assert prog.translate(synthetic.START_KERNEL_MAP + 0x1234) == 0x1234
        assert prog.read(synthetic.START_KERNEL_MAP + 0x1000, 16) == machine.read(0x1000, 16)


def test_unmapped_address_raises_fault_error_with_the_address(paged, native_path):
    _, tables, paths = paged
    with pycore.open(paths["kdump"], native=native_path) as prog:
        with pytest.raises(FaultError) as error:
            prog.read(tables.hole + 0x10, 8)
        assert error.value.address == tables.hole + 0x10
        assert "not mapped" in str(error.value)


def test_non_canonical_address_is_a_fault(paged, native_path):
    _, tables, paths = paged
    bad = 0x0080000000000000 if tables.levels == 4 else 0x0100000000000000
    with pycore.open(paths["kdump"], native=native_path) as prog:
        with pytest.raises(FaultError) as error:
            prog.read(bad, 8)
        assert error.value.address == bad


def test_mapped_but_excluded_page_is_a_page_excluded_error(paged, native_path):
    machine, tables, paths = paged
    page_offset = tables.mappings[0][0]
    pfn = min(machine.excluded)
    with pycore.open(paths["kdump"], native=native_path) as prog:
        with pytest.raises(PageExcludedError) as error:
            prog.read(page_offset + pfn * PAGE + 16, 8)
        assert error.value.address == page_offset + pfn * PAGE + 16


def test_user_addresses_translate_through_a_given_root(paged, native_path):
    machine, tables, paths = paged
    with pycore.open(paths["kdump"], native=native_path) as prog:
        for vaddr, paddr, _ in tables.user_mappings:
            assert prog.arch.translate(vaddr + 5, root=tables.user_root) == paddr + 5
            assert prog.arch.read(vaddr, 32, root=tables.user_root) == machine.read(paddr, 32)
        with pytest.raises(FaultError):
            prog.arch.translate(tables.user_mappings[0][0])  # not mapped in the kernel's tables


def test_translate_many_matches_one_by_one(paged, native_path):
    _, tables, paths = paged
    addresses = [v + 64 for v, _, _ in tables.mappings] + [tables.hole]
    with pycore.open(paths["kdump"], native=native_path) as prog:
        many = prog.arch.translate_many(addresses)
        assert many[-1] is None
        assert many[:-1] == [prog.translate(a) for a in addresses[:-1]]


def test_direct_map_shortcut_gives_the_same_answer_as_the_walk(paged, native_path):
    machine, tables, paths = paged
    page_offset = tables.mappings[0][0]
    with pycore.open(paths["kdump"], native=native_path) as prog:
        walked = prog.read(page_offset + 0x1000, 64)
        prog.arch.set_direct_map(page_offset)
        assert prog.read(page_offset + 0x1000, 64) == walked == machine.read(0x1000, 64)


def test_truncated_dump_fault_names_the_virtual_address(tmp_path, native_path):
    machine = synthetic.make_machine(seed=8)
    tables = synthetic.add_page_tables(machine, levels=4)
    image, layout = synthetic.build_kdump(machine, "zlib")
    late = max(pfn for pfn, (offset, size) in layout.data_of.items() if size < PAGE)
    cut = layout.data_of[late][0]
    with pycore.open(write(tmp_path, "cut.vmcore", image[:cut]), native=native_path) as prog:
        address = tables.mappings[0][0] + late * PAGE + 24
        with pytest.raises(IncompleteDumpError) as error:
            prog.read(address, 8)
        assert error.value.address == address and not error.value.physical
        assert f"virtual address {address:#x}" in str(error.value)
        assert error.value.offset == cut
