"""Every command gives the same answer with no vmlinux (kallsyms + BTF from the dump) as with it (DWARF)."""
import os

import pytest

from corpus import cases, cli_output

pytestmark = pytest.mark.real
CASES = [c for c in cases() if os.path.exists(c.vmlinux)]
if not CASES:
    pytest.skip("no real dumps with their vmlinux: run testdata/corpus/build.sh", allow_module_level=True)
COMMANDS = [["log"], ["sys"], ["ps"], ["bt", "-a"], ["kmem", "-i"], ["kmem", "-z"], ["kmem", "-s"], ["mod"],
            ["runq"], ["oom"], ["trouble"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_same_answer_with_and_without_the_vmlinux(case, command, capsys):
    dump = case.path(case.manifest["reference_dump"])
    without = cli_output(capsys, command[0], dump, *command[1:]).splitlines()
    with_vmlinux = cli_output(capsys, command[0], dump, *command[1:], "--vmlinux", case.vmlinux).splitlines()
    if command == ["sys"]:  # the KERNEL line names the source by design
        without, with_vmlinux = without[1:], with_vmlinux[1:]
    assert with_vmlinux == without
