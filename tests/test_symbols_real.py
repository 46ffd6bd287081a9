"""kallsyms, .symtab and System.map of the real Debian kernels the corpus builder downloads.

The kallsyms tables sit in the vmlinux's own .rodata, so they are decoded through
the ELF sections at link-time addresses and compared with the other two sources.
"""
import glob
import os

import pytest

from pycore.symbols import (elf_build_id, elf_linux_banner, load_elf_symbols, load_kallsyms, load_system_map,
                            vmlinux_reader)

KERNELS = os.path.expanduser(os.environ.get("PYCORE_KERNELS", "~/.cache/pycore/downloads/kernels"))
RELEASES = sorted(os.path.basename(os.path.dirname(path)) for path in glob.glob(os.path.join(KERNELS, "*/vmlinux"))
                  if os.path.exists(os.path.join(os.path.dirname(path), "System.map")))

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(not RELEASES, reason=f"no vmlinux + System.map under {KERNELS} (run the corpus build)"),
]


@pytest.fixture(scope="module", params=RELEASES or ["none"])
def kernel(request):
    directory = os.path.join(KERNELS, request.param)
    vmlinux = os.path.join(directory, "vmlinux")
    system_map = load_system_map(os.path.join(directory, "System.map"))
    kallsyms = load_kallsyms(vmlinux_reader(vmlinux), None, locate=lambda name: system_map.by_name(name).address)
    return request.param, vmlinux, system_map, kallsyms


def test_every_kallsyms_symbol_is_in_system_map_at_the_same_address(kernel):
    _release, _vmlinux, system_map, kallsyms = kernel
    listed = {(symbol.name, symbol.address): symbol.kind for symbol in system_map}
    assert len(kallsyms) > 80000
    for symbol in kallsyms:
        kind = listed.get((symbol.name, symbol.address))
        if kind is None and symbol.name.startswith(".L"):
            # 5.10's scripts/kallsyms keeps the compiler's local labels (.LC4, ...), which
            # scripts/mksysmap leaves out of System.map; 6.1's kallsyms has none.
            continue
        assert kind is not None, symbol
        # scripts/kallsyms marks per-CPU symbols absolute ('A') under KALLSYMS_ABSOLUTE_PERCPU.
        assert kind == symbol.kind or symbol.kind == "A", (symbol, kind)


def test_system_map_symbols_missing_from_kallsyms_are_the_ones_it_excludes(kernel):
    _release, _vmlinux, system_map, kallsyms = kernel
    decoded = {(symbol.name, symbol.address) for symbol in kallsyms}
    missing = [symbol for symbol in system_map if (symbol.name, symbol.address) not in decoded]
    # The kallsyms tables themselves and absolute 'A' values (init_per_cpu__*, text_size).
    assert all(symbol.name.startswith("kallsyms_") or symbol.kind == "A" for symbol in missing), missing[:10]


def test_elf_symtab_agrees_with_kallsyms_on_functions(kernel):
    _release, vmlinux, _system_map, kallsyms = kernel
    elf = load_elf_symbols(vmlinux)
    for name in ("schedule", "panic", "do_exit", "__schedule", "init_task", "linux_banner"):
        assert elf.by_name(name).address == kallsyms.by_name(name).address
    schedule = elf.by_name("schedule")
    assert schedule.kind == "function" and schedule.size
    assert elf.format(schedule.address + 0x2D) == kallsyms.format(schedule.address + 0x2D) == "schedule+0x2d"
    assert kallsyms.lookup(kallsyms.end) is None


def test_build_id_and_banner_name_the_release(kernel):
    release, vmlinux, _system_map, _kallsyms = kernel
    build_id = elf_build_id(vmlinux)
    assert build_id and len(build_id) == 40
    assert elf_linux_banner(vmlinux).startswith(f"Linux version {release} ")
