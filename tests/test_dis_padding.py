"""The end of a function whose size kallsyms does not give (dis without a vmlinux): the NOPs and
INT3s after it that align the next one are padding, its own INT3s are not (crash, with the
vmlinux's sizes, is the reference: tests/test_crash_data_commands.py compares whole functions)."""
import pytest

from pycore.arch.x86_64_disasm import disassemble, trim_padding


def kept(code: str):
    return [i.name for i in trim_padding(list(disassemble(bytes.fromhex(code), 0x1000)))]


@pytest.mark.parametrize("code,names", [
    # ret patched from jmp __x86_return_thunk: ret and four INT3s are the function's 5 bytes.
    ("31c0c3" + "cc" * 9, ["xor", "ret"] + ["int3"] * 4),
    # a tail jmp: its one straight-line-speculation INT3.
    ("e900000000" + "cc" * 10, ["jmp", "int3"]),
    # fewer INT3s than the function may own: all of them.
    ("c3cc", ["ret", "int3"]),
    # after anything else the INT3s stay (a call that does not return).
    ("e800000000" + "cc" * 6, ["call"] + ["int3"] * 6),
    # NOP padding goes whatever precedes it.
    ("c3cccccccc" + "0f1f4000" + "90", ["ret"] + ["int3"] * 4),
])
def test_padding_after_a_function_without_size(code, names):
    assert kept(code) == names
