"""The one native seam: C's status enum mirrored once in Python, one error builder, twins that
fail alike, a C fault raised (never re-run in Python), arch/ blind to the dump classes, and the
page codecs optional one by one at build time."""
import ast
import glob
import os
import shutil
import subprocess
import sys

import pytest

import pycore
from pycore import native
from pycore.arch import x86_64
from pycore.errors import FaultError, FormatError, PycoreError
from pycore.native import Codec, Status

from conftest import NATIVE_SKIP, synthetic, write

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = synthetic.PAGE_SIZE


@NATIVE_SKIP
def test_status_enum_is_the_c_enum_value_for_value():
    in_c = {name: getattr(native.lib, name) for name in dir(native.lib)
            if name == "PC_OK" or name.startswith("PC_ERR_")}
    in_python = {"PC_OK" if status is Status.OK else f"PC_ERR_{status.name}": int(status) for status in Status}
    assert in_python == in_c


@NATIVE_SKIP
def test_codec_numbers_are_the_c_enum():
    in_c = {name[len("PC_CODEC_"):]: getattr(native.lib, name) for name in dir(native.lib)
            if name.startswith("PC_CODEC_")}
    assert in_c == {codec.name: int(codec) for codec in Codec}


@pytest.mark.parametrize("status", [status for status in Status if status is not Status.OK])
def test_every_status_has_its_typed_exception(status):
    for context in (native.Context(), native.Context(container="kdump", page_size=PAGE, file_size=1 << 20),
                    native.Context(container="elf", levels=4)):
        error = native.error(status, native.Fault(address=0x1000, physical=0x2000, level=1), context)
        assert isinstance(error, (PycoreError, MemoryError)) and error.status == status
    assert isinstance(native.error(-99), RuntimeError)


def test_describe_says_which_path_decodes_each_codec():
    info = native.describe()
    assert info["available"] is native.AVAILABLE
    assert set(info["codecs"]) == {"zlib", "lzo", "snappy", "zstd"}
    for codec in Codec:
        if codec != Codec.NONE:
            built = native.AVAILABLE and native.lib.pc_codec_available(codec)
            assert info["codecs"][codec.name.lower()] == ("C" if built else "Python")
    assert (info["why_not"] is None) == native.AVAILABLE


def test_arch_never_touches_a_dump_class_or_its_private_fields():
    for path in glob.glob(os.path.join(ROOT, "pycore", "arch", "*.py")):
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in ("dump.elf", "dump.kdump", "dump.flattened", "dump.file"), path
                assert not {alias.name for alias in node.names} & {"ElfDump", "KdumpDump"}, path
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = ast.unparse(node.value)
                assert "dump" not in owner and "file" not in owner, f"{path}: {owner}.{node.attr}"


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    machine = synthetic.make_machine(seed=4)
    tables = synthetic.add_page_tables(machine, levels=4)
    directory = tmp_path_factory.mktemp("seam")
    image, layout = synthetic.build_kdump(machine, "zlib")
    late = max(pfn for pfn, (offset, size) in layout.data_of.items() if size < PAGE)
    paths = {"kdump": write(directory, "kdump.vmcore", image), "elf": write(directory, "elf.vmcore",
                                                                            synthetic.build_elf(machine)),
             "cut": write(directory, "cut.vmcore", image[:layout.data_of[late][0]])}
    page_offset = tables.mappings[0][0]
    addresses = [tables.hole + 0x10, 0x0000900000000000, page_offset + late * PAGE + 24,
                 page_offset + (machine.max_pfn + 16) * PAGE]
    addresses += [page_offset + pfn * PAGE + 16 for pfn in sorted(machine.excluded)[:3]]
    return machine, tables, paths, addresses


def _outcome(path, native_path, address, root=None):
    with pycore.open(path, native=native_path) as prog:
        assert prog.arch.native is native_path
        try:
            return ("read", prog.arch.read(address, 64, root=root))
        except PycoreError as error:
            return (type(error).__name__, str(error), getattr(error, "address", None),
                    getattr(error, "physical", None), getattr(error, "offset", None))


@NATIVE_SKIP
@pytest.mark.parametrize("container", ["kdump", "elf", "cut"])
def test_c_and_python_walks_fail_alike(paged, container):
    machine, tables, paths, addresses = paged
    outcomes = [(_outcome(paths[container], True, address), _outcome(paths[container], False, address))
                for address in addresses]
    for c_outcome, python_outcome in outcomes:
        assert c_outcome == python_outcome
    kinds = {outcome[0] for outcome, _ in outcomes}
    assert "FaultError" in kinds and len(kinds) >= 3, kinds  # not mapped, excluded, and read or cut off


@NATIVE_SKIP
@pytest.mark.parametrize("container", ["kdump", "elf"])
def test_a_c_fault_is_raised_and_never_rerun_in_python(paged, container, monkeypatch):
    machine, tables, paths, addresses = paged

    def python_walk(*args, **kwargs):
        raise AssertionError("the Python walk ran behind the C walk")

    for method in ("translate", "translate_many", "read", "_translate"):
        monkeypatch.setattr(x86_64._PureWalker, method, python_walk)
    with pycore.open(paths[container], native=True) as prog:
        assert prog.arch.native
        with pytest.raises(FaultError, match="not mapped") as error:
            prog.arch.read(tables.hole + 0x10, 8)
        assert error.value.address == tables.hole + 0x10
        assert prog.arch.translate_many([tables.hole, tables.mappings[0][0]]) == [None, tables.mappings[0][1]]


def test_a_read_past_the_top_of_the_address_space_is_a_fault_on_both_paths(paged, native_path):
    machine, tables, paths, _ = paged
    with pycore.open(paths["kdump"], native=native_path) as prog:
        with pytest.raises(FaultError, match="top of the address space") as error:
            prog.arch.read((1 << 64) - 8, 16)
        assert error.value.address == (1 << 64) - 8


@NATIVE_SKIP
def test_a_flattened_elf_core_walks_in_python(machine, tmp_path):
    path = write(tmp_path, "flat.vmcore", synthetic.flatten(synthetic.build_elf(machine)))
    with pycore.open(path, native=True) as prog:
        assert prog.dump.native_memory() is None
        assert prog.arch.native is False


@NATIVE_SKIP
def test_translate_many_raises_what_translate_raises_on_a_corrupt_page_table(paged, tmp_path):
    machine, tables, paths, _ = paged
    image, layout = synthetic.build_kdump(machine, "zlib")
    table_pfn = tables.kernel_root // PAGE
    offset, size = layout.data_of[table_pfn]
    damaged = bytearray(image)
    damaged[offset:offset + size] = b"\xff" * size
    results = []
    for native_path in (True, False):
        with pycore.open(write(tmp_path, "bad.vmcore", bytes(damaged)), native=native_path) as prog:
            # The walk reads the root table first: its page no longer decodes.
            with pytest.raises(FormatError) as one:
                prog.arch.translate(tables.hole)
            assert (one.value.offset, one.value.field) == (offset, "page data")
            with pytest.raises(FormatError) as many:
                prog.arch.translate_many([tables.hole])
            results.append((str(one.value), str(many.value)))
    assert results[0] == results[1]


@NATIVE_SKIP
def test_a_codec_left_out_of_the_build_is_decoded_in_python(tmp_path, machine):
    """PYCORE_WITHOUT_CODECS=lzo builds what a host without liblzo2-dev builds: the rest stays in C."""
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("no C compiler")
    build = tmp_path / "build"
    environment = dict(os.environ, PYCORE_WITHOUT_CODECS="lzo")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "pycore", "_native_build.py"), "--build-dir",
                             str(build)], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "WITHOUT these page codecs" in result.stderr and "- lzo:" in result.stderr
    package = tmp_path / "site" / "pycore"
    shutil.copytree(os.path.join(ROOT, "pycore"), package, ignore=shutil.ignore_patterns("_native*.so", "__pycache__"))
    for built in glob.glob(str(build / "pycore" / "_native*.so")):
        shutil.copy(built, package)
    images = {codec: synthetic.build_kdump(machine, codec, status=flag)
              for codec, flag in (("lzo", 0x2), ("zlib", 0x1))}
    dumps = {codec: write(tmp_path, f"{codec}.vmcore", image) for codec, (image, _) in images.items()}
    pfn = next(pfn for pfn, (_, size) in sorted(images["lzo"][1].data_of.items()) if size < PAGE)
    script = f"""
import pycore, pycore.native as n
from pycore.dump.codecs import Decompressor, CODEC_LZO
from pycore.native import CodecUnavailableError
assert n.describe()["codecs"]["lzo"] == "Python", n.describe()
assert n.lib.pc_codec_available(1) and not n.lib.pc_codec_available(2)
page = {machine.pages[pfn]!r}
with pycore.open({dumps['lzo']!r}) as prog:
    assert not prog.dump.native and not prog.arch.native
    assert prog.read_physical({pfn * PAGE}, {PAGE}) == page
with pycore.open({dumps['zlib']!r}) as prog:
    assert prog.dump.native and prog.arch.native
    assert prog.read_physical({pfn * PAGE}, {PAGE}) == page
with pycore.open({dumps['lzo']!r}, native=True) as prog:
    try:
        prog.read_physical({pfn * PAGE}, {PAGE})
    except CodecUnavailableError as error:
        assert "lzo" in str(error)
    else:
        raise AssertionError("an lzo page read in C without lzo")
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path / "site", capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize("container", ["kdump", "elf"])
def test_a_read_after_the_dump_closed_is_an_error_not_freed_memory(paged, native_path, container):
    """Dump.close frees the C reader and page cache (kdump) or unmaps the file (ELF) that the C walk
    holds pointers into: the walk lets go first, and every read afterwards, virtual or physical, on
    either path, raises the typed error (before this a virtual read used the freed cache: SIGSEGV,
    or garbage under the sanitizer)."""
    machine, tables, paths, _ = paged
    address = tables.mappings[0][0] + 16
    prog = pycore.open(paths[container], native=native_path)
    arch = prog.arch
    assert arch.native is native_path
    before = arch.read(address, 64)
    physical = arch.translate(address)
    prog.dump.close()
    for read in (lambda: arch.read(address, 64), lambda: arch.translate(address),
                 lambda: arch.translate_many([address]), lambda: prog.dump.read_physical(physical, 64),
                 lambda: prog.dump.read_physical_into(physical, bytearray(64))):
        with pytest.raises(PycoreError, match="the dump is closed"):
            read()
    prog.dump.close()  # twice is harmless
    prog.close()
    with pycore.open(paths[container], native=native_path) as again:
        assert again.arch.read(address, 64) == before
