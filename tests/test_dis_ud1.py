"""ud1 (0F B9) as gdb, and so crash's dis, decodes it: with its ModRM operands, where capstone 5 stops
after the opcode.  6.12 and 7.2 hold thousands of ``ud1 %esp,%ecx`` (0F B9 CC, after each static
call trampoline's jmp) and 7.2's WARN a ``ud1 (%edx),%rdi`` (67 48 0F B9 3A, __WARN_trap and inlined
in native_write_cr4); crash's answers about a sample of them are kept here with the command asked.
"""
import os

import pytest

from corpus import at_kaslr_offset, cases, pycore_output
from pycore.arch.x86_64_disasm import disassemble


@pytest.mark.parametrize("code,expected", [
    ("0fb9cc", [("ud1", ("%esp", "%ecx"), 3)]),
    ("67480fb93ac3", [("ud1", ("(%edx)", "%rdi"), 5), ("ret", (), 1)]),
    ("0fb9442408c3", [("ud1", ("0x8(%rsp)", "%eax"), 5), ("ret", (), 1)]),
    ("0f0b0fb9cc90", [("ud2", (), 2), ("ud1", ("%esp", "%ecx"), 3), ("nop", (), 1)]),
])
def test_ud1_takes_its_modrm_operands(code, expected):
    decoded = [(i.mnemonic, i.operands, i.size) for i in disassemble(bytes.fromhex(code), 0x1000)]
    assert decoded == expected


def test_ud1_whose_operands_run_past_the_bytes_is_the_opcode_alone():
    """Bytes cut short after the opcode (a read that met a hole) leave capstone's 2-byte ud1."""
    assert [(i.mnemonic, i.size) for i in disassemble(bytes.fromhex("0fb944"), 0)] == [("ud1", 2)]


def test_a_count_after_a_ud1_counts_whole_instructions():
    decoded = list(disassemble(bytes.fromhex("0fb9cc0fb9ccc3"), 0x2000, 2))
    assert [(i.address, i.size) for i in decoded] == [(0x2000, 3), (0x2003, 3)]


# crash 9.0.2's answers (with the vmlinux) on the case's reference dump: dis ADDRESS 2 of ud1s a
# capstone sweep of the kernel text found (every 1000th of 3855 on 6.12, 4031 on 7.2), and 7.2's WARN trap;
# addresses as the vmlinux links them, moved by each run's KASLR offset (corpus.at_kaslr_offset).
ANSWERS = {
    "6.12-oom-l5": {
        "dis 0xffffffff81ccc685 2": [
            "0xffffffff81ccc685 <__static_call_text_start+5>:\tud1    %esp,%ecx",
            "0xffffffff81ccc688 <__SCT__tp_func_initcall_start>:\tjmp    0xffffffff81002080 <__traceiter_initcall_start>"],
        "dis 0xffffffff81cce5c5 2": [
            "0xffffffff81cce5c5 <__SCT__lsm_static_call_sb_kern_mount_6+5>:\tud1    %esp,%ecx",
            "0xffffffff81cce5c8 <__SCT__lsm_static_call_sb_kern_mount_7>:\tret"],
        "dis 0xffffffff81cd0505 2": [
            "0xffffffff81cd0505 <__SCT__lsm_static_call_cred_transfer_5+5>:\tud1    %esp,%ecx",
            "0xffffffff81cd0508 <__SCT__lsm_static_call_cred_transfer_6>:\tret"],
        "dis 0xffffffff81cd2445 2": [
            "0xffffffff81cd2445 <__SCT__lsm_static_call_secmark_refcount_inc_4+5>:\tud1    %esp,%ecx",
            "0xffffffff81cd2448 <__SCT__lsm_static_call_secmark_refcount_inc_5>:\tret"],
    },
    "7.2-sysrq-l4": {
        "dis 0xffffffff82237a10 2": [
            "0xffffffff82237a10 <__WARN_trap>:\tud1    (%edx),%rdi",
            "0xffffffff82237a15 <__WARN_trap+5>:\tret"],
        "dis 0xffffffff82256a7d 2": [
            "0xffffffff82256a7d <__SCT__lsm_static_call_sb_free_security_9+5>:\tud1    %esp,%ecx",
            "0xffffffff82256a80 <__SCT__lsm_static_call_sb_free_security_10>:\tret"],
        "dis 0xffffffff822589bd 2": [
            "0xffffffff822589bd <__SCT__lsm_static_call_file_post_open_8+5>:\tud1    %esp,%ecx",
            "0xffffffff822589c0 <__SCT__lsm_static_call_file_post_open_9>:\tret"],
        "dis 0xffffffff8225a8fd 2": [
            "0xffffffff8225a8fd <__SCT__lsm_static_call_socket_getpeersec_dgram_7+5>:\tud1    %esp,%ecx",
            "0xffffffff8225a900 <__SCT__lsm_static_call_socket_getpeersec_dgram_8>:\tret"],
        "dis 0xffffffff8225c83d 2": [
            "0xffffffff8225c83d <__SCT__tp_func_fib6_table_lookup+5>:\tud1    %esp,%ecx",
            "0xffffffff8225c840 <__SCT__tp_func_devlink_hwmsg>:\tjmp    0xffffffff82190870 <__traceiter_devlink_hwmsg>"],
    },
}


def answers():
    by_name = {case.name: case for case in cases()}
    params = []
    for name, commands in ANSWERS.items():
        case = by_name.get(name)
        if case is None or not os.path.exists(case.path(case.reference_dump)):
            continue
        for command, lines in commands.items():
            for mode in ("dump only", "vmlinux"):
                params.append(pytest.param(case, command, lines, mode, id=f"{name}/{command}/{mode}"))
    return params


@pytest.mark.real
@pytest.mark.parametrize("case,command,lines,mode", answers())
def test_ud1_in_kernel_text_is_crash_answer(case, command, lines, mode):
    command, lines = at_kaslr_offset(case, command), at_kaslr_offset(case, "\n".join(lines)).split("\n")
    argv = ["dis", case.path(case.reference_dump)] + command.split()[1:]
    if mode == "vmlinux":
        if not os.path.exists(case.vmlinux):
            pytest.skip(f"{case.name} has no vmlinux here")
        argv += ["--vmlinux", case.vmlinux]
    result = pycore_output(*argv)
    assert (result.status, result.err, result.out) == (0, "", "\n".join(lines) + "\n")
