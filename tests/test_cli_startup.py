"""A command line imports what it runs and no more (issue 18: start-up), and ``--timings`` says where
its time went.  Each check runs pycore in a fresh interpreter: what an earlier test imported must not
hide an eager import."""
import json
import os
import re
import subprocess
import sys

import pytest

from corpus import SAMPLE
from pycore import native

SAMPLE_DUMP = os.path.join(SAMPLE, "vmcore")
needs_sample = pytest.mark.skipif(not os.path.exists(SAMPLE_DUMP), reason="testdata/sample/vmcore is missing")

# What no command reading one dump imports: the analysis layer and the commands that use it, the
# HTML report's jinja2, rich (drawn only on a terminal; these runs have none), dask, the installed
# metadata (only --version and info read it) and the prompt's modules.
NEVER_FOR_A_DUMP_COMMAND = ("pycore.analysis", "pycore.cli.triage", "pycore.cli.triage_html", "pycore.cli.trouble",
                            "pycore.cli.oom", "pycore.cli.shell", "pycore.cli.crash", "jinja2", "rich", "dask",
                            "importlib.metadata", "email", "zipfile", "IPython", "readline", "capstone", "drgn")
OTHER_COMMANDS = ("ps", "log", "sysinfo", "bt", "kmem", "mod", "runq", "rd", "info")


def loaded_modules(argv, env=None, run=None):
    """The modules loaded once ``pycore ARGV`` ran in a fresh interpreter, with its exit status;
    ``run``: the statement that runs it instead of ``main(ARGV)`` (setting ``status``)."""
    code = ("import json, sys\n"
            "from pycore.cli import main\n"
            "try:\n"
            f"    {run or f'status = main({list(argv)!r})'}\n"
            "except SystemExit as done:\n"
            "    status = done.code\n"
            "sys.stdout.flush()\n"
            "sys.stderr.write('\\n' + json.dumps({'status': status, 'modules': sorted(sys.modules)}))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    report = json.loads(result.stderr.rsplit("\n", 1)[1])
    return report["status"], set(report["modules"])


def offending(modules, names):
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in names))


@needs_sample
@pytest.mark.parametrize("command,module", [("ps", "ps"), ("log", "log"), ("sys", "sysinfo")])
def test_a_dump_command_imports_only_its_own_module(command, module):
    status, modules = loaded_modules([command, SAMPLE_DUMP])
    assert status == 0
    assert f"pycore.cli.{module}" in modules
    others = [f"pycore.cli.{name}" for name in OTHER_COMMANDS if name != module]
    assert offending(modules, NEVER_FOR_A_DUMP_COMMAND + tuple(others)) == []


@needs_sample
@pytest.mark.parametrize("command", ["ps", "log", "sys"])
def test_a_dump_command_without_vmlinux_does_not_load_pyelftools(command):
    status, modules = loaded_modules([command, SAMPLE_DUMP])
    assert status == 0
    assert offending(modules, ("elftools", "pdb")) == []


def _real_case():
    from corpus import cases
    found = [case for case in cases() if os.path.exists(case.vmlinux)]
    if not found:
        pytest.skip("no corpus case with its vmlinux is built")
    return found[0]


@pytest.mark.parametrize("command", ["ps", "bt"])
def test_a_dump_command_with_vmlinux_and_a_warm_cache_does_not_load_pyelftools(command, tmp_path):
    """The build-id check and the DWARF sections are found from ELF headers read with struct, the
    symbol table and the DWARF name index come from the cache: pyelftools (~0.1 s) is not imported."""
    case = _real_case()
    argv = [command, case.path(case.reference_dump), "--vmlinux", case.vmlinux]
    env = {"PYCORE_CACHE": str(tmp_path)}
    assert loaded_modules(argv, env)[0] == 0  # fills the cache
    status, modules = loaded_modules(argv, env)
    assert status == 0
    assert offending(modules, ("elftools",)) == []


DWARF_READERS = ("pycore.types.dwarf", "pycore.types.dwarf_scan", "pycore.types.dwarf_format")


@pytest.mark.parametrize("command", ["ps", "log", "sys", "bt -a", "kmem -i"])
def test_a_command_reading_values_only_with_vmlinux_reads_no_dwarf(command):
    """Marked ``values_only``, a command given --vmlinux takes its types from BTF (and its symbols
    from the vmlinux, as crash): every type it looks up is in BTF, so the DWARF reader is never
    imported (the same command's text with the DWARF is compared with crash's in
    test_real_commands.py)."""
    case = _real_case()
    words = command.split()
    argv = [*words, case.path(case.reference_dump), "--vmlinux", case.vmlinux]
    run = ("import dataclasses; from pycore.cli import build_parser, dump_command; "
           "from pycore.cli.command import standalone_handler; "
           f"status = standalone_handler(dataclasses.replace(dump_command({words[0]!r}), values_only=True))"
           f"(build_parser({words[0]!r}).parse_args({argv!r}))")
    status, modules = loaded_modules(argv, run=run)
    assert status == 0
    assert offending(modules, DWARF_READERS) == []


@pytest.mark.parametrize("command", [["struct", "list_head"], ["p", "jiffies"], ["whatis", "init_task"]])
def test_a_command_printing_types_with_vmlinux_reads_dwarf(command):
    """What prints types or a variable as its debug info declares it reads the vmlinux's DWARF: its
    output is crash's with the vmlinux."""
    case = _real_case()
    status, modules = loaded_modules([command[0], case.path(case.reference_dump), *command[1:], "--vmlinux",
                                      case.vmlinux])
    assert status == 0
    assert "pycore.types.dwarf" in modules


# What a command on a warm cache does not import (issue 18): hashing (OpenSSL), the pure path's codec
# libraries, what only writing a cache entry, --json or a terminal needs, and what pathlib brings.
NEVER_ON_A_WARM_RUN = ("hashlib", "_hashlib", "zstandard", "snappy", "cramjam", "lzo", "lz4", "platform",
                       "tempfile", "random", "json", "textwrap", "pathlib", "ipaddress", "urllib", "email")
CODEC_LIBRARIES = ("zstandard", "snappy", "cramjam", "lzo", "lz4", "platform")


def interpreter_modules():
    """What the bare interpreter imports before any pycore code (site, and an editable install's
    finder, which imports pathlib and ipaddress itself)."""
    result = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
                            capture_output=True, text=True, timeout=300, check=True)
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("command", ["ps", "log", "bt -a"])
def test_a_command_on_an_elf_dump_and_a_warm_cache_imports_no_hash_codec_or_writer(command, tmp_path):
    """An ELF dump's pages need no codec; a warm cache is read, not hashed or written.  On both
    paths: the codec libraries are imported when a compressed page first needs one."""
    from corpus import cases
    dumps = [case.path(case.reference_dump) for case in cases() if case.reference_dump.endswith(".elf")]
    if not dumps:
        pytest.skip("no corpus case with an ELF dump is built")
    argv = [*command.split(), dumps[0]]
    env = {"PYCORE_CACHE": str(tmp_path)}
    assert loaded_modules(argv, env)[0] == 0  # fills the cache
    status, modules = loaded_modules(argv, env)
    assert status == 0
    assert offending(modules - interpreter_modules(), NEVER_ON_A_WARM_RUN) == []


@needs_sample
@pytest.mark.skipif(not native.AVAILABLE, reason="the C extension is not built or PYCORE_PURE is set")
def test_a_kdump_read_in_c_imports_no_codec_library():
    status, modules = loaded_modules(["ps", SAMPLE_DUMP])
    assert status == 0
    assert offending(modules, CODEC_LIBRARIES) == []


def test_the_pure_path_imports_a_codec_library_when_a_page_first_needs_it():
    zstandard = pytest.importorskip("zstandard")
    page = zstandard.ZstdCompressor().compress(bytes(4096))
    probe = ("import sys\nfrom pycore.dump import codecs\n"
             "before = 'zstandard' in sys.modules\n"
             f"out = codecs.Decompressor(native=False).decompress(codecs.CODEC_ZSTD, bytes.fromhex({page.hex()!r}), "
             "4096)\n"
             "print(before, 'zstandard' in sys.modules, 'snappy' in sys.modules, out == bytes(4096))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.stdout.split() == ["False", "True", "False", "True"], result.stderr


@needs_sample
def test_pycore_as_the_process_freezes_what_its_command_keeps_out_of_the_collector():
    probe = ("import gc, sys\nfrom pycore.cli import main\n"
             f"sys.argv = ['pycore', 'sys', {SAMPLE_DUMP!r}]\nstatus = main()\nsys.stdout.flush()\n"
             "sys.stderr.write(repr((status, gc.isenabled(), gc.get_freeze_count() > 1000)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.stderr == "(0, True, True)"


@needs_sample
def test_a_command_run_with_its_argv_in_a_callers_process_leaves_its_collector_alone(capsys):
    """A test or a program embedding pycore keeps its garbage collectable: nothing is frozen."""
    import gc

    from pycore.cli import main

    frozen = gc.get_freeze_count()
    assert main(["sys", SAMPLE_DUMP]) == 0
    assert "KERNEL:" in capsys.readouterr().out
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def pycore(argv):
    return subprocess.run([sys.executable, "-m", "pycore", *argv], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("argv", [["-h", "ps"], ["--he", "ps"], ["--timings", "--help", "ps"], ["--help"]])
def test_help_before_a_command_lists_every_command(argv):
    """A command line naming its command builds that command's parser alone, unless pycore's own
    options before it may print the list (an abbreviated --help too)."""
    from pycore.cli import COMMANDS

    result = pycore(argv)
    assert result.returncode == 0
    assert re.findall(r"^    (\S+)", result.stdout, re.M) == list(COMMANDS)


@pytest.mark.parametrize("argv", [["bogus", "any-vmcore"], ["--timings", "bogus"]])
def test_an_unknown_command_is_an_error_naming_every_command(argv):
    from pycore.cli import COMMANDS

    result = pycore(argv)
    assert result.returncode == 2
    assert "invalid choice: 'bogus'" in result.stderr
    assert all(f"'{name}'" in result.stderr for name in COMMANDS)


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_import_no_command(argv):
    status, modules = loaded_modules(argv)
    assert status == 0
    commands = [m for m in modules if m.startswith("pycore.cli.") and m not in
                ("pycore.cli.command", "pycore.cli.common", "pycore.cli.output")]
    assert commands == []
    assert offending(modules, ("pycore.kernel", "pycore.analysis", "rich", "jinja2")) == []


def test_only_version_reads_the_installed_metadata():
    assert "importlib.metadata" not in loaded_modules(["--help"])[1]
    assert "importlib.metadata" in loaded_modules(["--version"])[1]


def timed(argv, env=None):
    result = subprocess.run([sys.executable, "-m", "pycore"] + argv, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    lines = result.stderr.splitlines()
    assert "pycore timings:" in lines, result.stderr
    phases = {}
    for line in lines[lines.index("pycore timings:") + 1:]:
        name, seconds, unit = line.split()
        assert unit == "s"
        phases[name] = float(seconds)
    return result, phases


@needs_sample
@pytest.mark.parametrize("argv,env", [(["--timings", "sys", SAMPLE_DUMP], None),
                                      (["sys", SAMPLE_DUMP], {"PYCORE_TIMINGS": "1"})])
def test_timings_name_every_phase_and_add_up_to_the_total(argv, env):
    result, phases = timed(argv, env)
    assert result.returncode == 0 and "KERNEL:" in result.stdout
    assert list(phases) == ["import", "open", "symbols", "types", "work", "render", "other", "total"]
    assert all(seconds >= 0 for seconds in phases.values())
    parts = [seconds for name, seconds in phases.items() if name != "total"]
    # Each value is rounded to the millisecond: the sum may differ from the total by half of one per part.
    assert sum(parts) == pytest.approx(phases["total"], abs=0.0005 * len(parts))
    assert sum(parts) - phases["other"] <= phases["total"] + 0.0005 * len(parts)
    assert phases["symbols"] > 0 and phases["types"] > 0  # the sample's kallsyms and BTF were decoded


@needs_sample
def test_no_timings_without_the_flag_or_the_variable():
    result = subprocess.run([sys.executable, "-m", "pycore", "sys", SAMPLE_DUMP], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYCORE_TIMINGS": "0"})
    assert result.returncode == 0 and result.stderr == ""


def test_timings_after_the_command_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "pycore", "sys", "any-vmcore", "--timings"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2 and "unrecognized arguments: --timings" in result.stderr


def test_ctrl_c_in_a_dump_command_under_json_is_a_json_error(monkeypatch, capsys):
    from pycore.cli import common, main

    def interrupted(args, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(common, "open_from_args", interrupted)
    assert main(["info", "any-vmcore", "--json"]) == 130
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err) == {"error": "interrupted", "command": "info"}
