"""``mod`` never lists a module silently wrong: each ``struct module`` read is checked against what
the kernel could have made (its name, ``enum module_state``, the module mapping), and a ``modules``
list that breaks gives the modules before the break with a warning, in the text and in --json."""
import sys
import json
from types import SimpleNamespace

import pytest

from pycore.cli import mod as mod_cli
from pycore.errors import FaultError
from pycore.kernel import module
from pycore.types.model import enum_type

STATES = [("MODULE_STATE_LIVE", 0), ("MODULE_STATE_COMING", 1), ("MODULE_STATE_GOING", 2),
          ("MODULE_STATE_UNFORMED", 3)]
BASE = 0xFFFFFFFFC0400000


def loaded(name="virtio_blk", text_base=BASE, text_size=0x4000, size=0x9000, ranges=None):
    """A module as 7.2's guest had virtio_blk: text first, data after it."""
    return module.Module(0xFFFFFFFFC032F700, name, text_base, text_size, size,
                         ranges if ranges is not None else [(BASE, BASE + 0x4000), (BASE + 0x5000, BASE + 0xA000)])


def test_a_module_as_the_kernel_makes_it_has_no_problems():
    assert module._check(loaded(), 0, dict((v, n) for n, v in STATES)) == ("MODULE_STATE_LIVE", [])


@pytest.mark.parametrize("changes,state,problem", [
    ({"name": "virtio blk\x01"}, 0, "name 'virtio blk\\x01' is not a module name"),
    ({"name": ""}, 0, "name '' is not a module name"),
    ({}, 7, "state 7 is not an enum module_state"),
    ({"size": 0}, 0, "size 0"),
    ({"ranges": [(0xFFFF888000000000, 0xFFFF888000004000)], "text_base": 0xFFFF888000000000},
     0, "memory ffff888000000000-ffff888000004000 is outside the module mapping"),
    ({"text_base": BASE + 0x3000}, 0, f"text {BASE + 0x3000:x}+0x4000 is not inside the module's memory"),
    ({"text_size": 0x10000}, 0, f"text {BASE:x}+0x10000 is not inside the module's memory"),
], ids=["unprintable-name", "empty-name", "state", "size", "outside-mapping", "text-past-region", "text-beyond-size"])
def test_what_no_kernel_makes_is_a_problem(changes, state, problem):
    assert problem in module._check(loaded(**changes), state, dict((v, n) for n, v in STATES))[1]


class ModulesProg:
    """A program whose ``modules`` list yields ``entries`` (struct module stand-ins: a ``state`` and
    the Module that _module reads from it) and then, when ``breaks``, faults."""

    def __init__(self, modules, breaks=False):
        self.entries = [SimpleNamespace(state=0, module=m) for m in modules]
        self.breaks = breaks

    def __getitem__(self, name):
        assert name == "modules"
        return SimpleNamespace(address_of_=lambda: 0xFFFFFFFF83000000)

    def type(self, name):
        if name == "enum module_state":
            return enum_type("module_state", 4, False, STATES)
        assert name == "struct module"
        return SimpleNamespace(has_member=lambda member: member == "mem")

    def walk(self, _type, _head, _member):
        yield from self.entries
        if self.breaks:
            raise FaultError("unreadable (page excluded)", 0xFFFFFFFFC0500000)


@pytest.fixture
def modules_list(monkeypatch):
    """Builds a ModulesProg and makes module.read_modules walk it."""
    def build(modules, breaks=False):
        prog = ModulesProg(modules, breaks)
        monkeypatch.setattr(module, "list_for_each_entry", prog.walk)
        return prog
    monkeypatch.setattr(module, "_module", lambda entry: entry.module)
    return build


def test_a_list_that_breaks_gives_the_modules_before_the_break_and_says_so(modules_list):
    first, second = loaded(), loaded(name="qemu_fw_cfg")
    second.address = 0xFFFFFFFFC0337340
    found = module.read_modules(modules_list([second, first], breaks=True))
    assert [m.name for m in found.modules] == ["virtio_blk", "qemu_fw_cfg"]
    assert found.warnings == ["the modules list breaks after 2 modules (unreadable (page excluded): virtual "
                              "address 0xffffffffc0500000): the rest are not listed"]


def test_mod_prints_the_warnings_on_stderr_and_in_json(modules_list, monkeypatch, capsys):
    odd = loaded(name="bad name")
    prog = modules_list([odd])
    args = SimpleNamespace(json=True)
    assert mod_cli.COMMAND.run(prog, args, sys.stdout, sys.stderr) == 0
    out, err = capsys.readouterr()
    warning = f"module at {odd.address:x}: name 'bad name' is not a module name"
    assert err == f"mod: {warning}\n"
    data = json.loads(out)
    assert data["warnings"] == [warning]
    assert data["modules"][0]["problems"] == ["name 'bad name' is not a module name"]
    assert data["modules"][0]["state"] == "MODULE_STATE_LIVE"
