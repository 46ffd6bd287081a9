"""Instruction lengths and crash's %rsp count (x86_64_get_framesize's disassembly path), on code
bytes of the Debian 5.10 kernel where objdump gives the lengths and crash the frame sizes."""
import pytest

from pycore.arch.x86_64_decode import decode, stack_effect_before

# __crash_kexec of 5.10.0-32-cloud-amd64 up to its call to machine_kexec: objtool skipped it
# (no ORC), crash counts push %rbp and sub $0xb0,%rsp: 184.
CRASH_KEXEC = bytes.fromhex(
    "e80b18f2ff55ba010000004881ecb000000065488b04252800000048898424a800000031c0f00fb115a391db0185c075"
    "4348833d7791db0100742f4889fe4885ff74554889e5b9150000004889eff348a5e8aafdffff4889efe8e26cf1ff488b"
    "3d4b91db01e8e622f2ff")
CRASH_KEXEC_START = 0xFFFFFFFF8113A3C0
# panic's prologue on the same kernel: a frame-pointer function with varargs.
PANIC = bytes.fromhex("e838137eff554889e54156415541544989fc534883ec504889742428488954243048894c24384c894424404c"
                      "894c2448")
PANIC_START = 0xFFFFFFFF8187A893


def lengths(code: bytes):
    result, at = [], 0
    while at < len(code):
        insn = decode(code, at)
        result.append(insn.length)
        at += insn.length
    return result


def test_lengths_follow_objdump_on_a_kernel_function():
    # objdump -d: call, push, mov $1,%edx, sub $0xb0,%rsp, mov %gs:0x28,%rax, mov %rax,0xa8(%rsp),
    # xor, lock cmpxchg, test, jne, cmpq $0,rip(..), je, mov, test, je, mov, mov $0x15,%ecx, mov,
    # rep movsq, call, mov, call, mov rip(..),%rdi, call.
    assert lengths(CRASH_KEXEC) == [5, 1, 5, 7, 9, 8, 2, 8, 2, 2, 8, 2, 3, 3, 2, 3, 5, 3, 3, 5, 3, 5, 7, 5]


@pytest.mark.parametrize("code,expected", [
    ("66666666 90", 5),            # ftrace's 5-byte nop on 5.10
    ("0f1f440000", 5),             # nopl 0x0(%rax,%rax,1)
    ("f30f1efa", 4),               # endbr64
    ("48b8 0102030405060708", 10),  # movabs $imm64,%rax
    ("66b8 0100", 4),              # mov $1,%ax
    ("f6c101", 3),                 # test $1,%cl: F6 /0 takes an immediate
    ("f7d8", 2),                   # neg %eax: F7 /3 does not
    ("c4e27d18c0", 5),             # VEX vbroadcastss %xmm0,%ymm0
    ("c5f877", 3),                 # vzeroupper: VEX 0F 77 has no ModRM
    ("0f8400010000", 6),           # je rel32
    ("a1 0011223344556677", 9),    # mov moffs64,%eax
    ("62f17c4828c1", 6),           # EVEX vmovaps %zmm1,%zmm0
    ("0f3a0fc108", 5),             # palignr $8: 0F 3A map takes an immediate
])
def test_lengths_of_prefixed_vex_and_immediate_forms(code, expected):
    assert decode(bytes.fromhex(code.replace(" ", ""))).length == expected


def test_frame_size_is_the_pushes_and_subtractions_before_the_return_address():
    assert stack_effect_before(CRASH_KEXEC, CRASH_KEXEC_START, CRASH_KEXEC_START + len(CRASH_KEXEC)) == 184
    # rbp, r14, r13, r12, rbx pushed and 0x50 subtracted: crash's 120 for panic on 5.10.
    assert stack_effect_before(PANIC, PANIC_START, PANIC_START + len(PANIC)) == 120


def test_the_instruction_at_the_return_address_counts_only_for_an_exception_frame():
    # push %rbp at +5: before it nothing was pushed.
    assert stack_effect_before(PANIC, PANIC_START, PANIC_START + 5) == 0
    assert stack_effect_before(PANIC, PANIC_START, PANIC_START + 5, include_target=True) == 8


@pytest.mark.parametrize("code,expected", [
    ("55 5d", 0),                  # push, pop
    ("5d 55", 8),                  # a pop with nothing pushed is not counted
    ("4883ec20 4883c408", 24),     # sub $0x20,%rsp; add $0x8,%rsp
    ("4883c408", 0),               # add while nothing is on the frame
    ("83ec20", 0),                 # sub $0x20,%esp: not %rsp
    ("4883ec80", -128),            # sub $-0x80,%rsp (imm8 sign-extended, as gdb prints it)
    ("55 f3480fb8c0", 0),          # popcnt is counted as a pop, as crash matches "pop"
    ("55 c9", 8),                  # leave and ret are spelled leave/ret by gdb 16: not counted
    ("9c ff7508", 16),             # pushf; push 0x8(%rbp)
])
def test_stack_effects_follow_crash_rules_on_gdb_mnemonics(code, expected):
    data = bytes.fromhex(code.replace(" ", ""))
    assert stack_effect_before(data, 0x1000, 0x1000 + len(data)) == expected
