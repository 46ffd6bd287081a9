"""Spinlocks a CPU spins on and who probably holds them: the queued spinlock word
(kernel/locking/qspinlock.c, x86_64 4.2+: locked byte, pending byte, tail of the MCS queue, laid out
for CONFIG_NR_CPUS < 16384 as every distribution kernel builds), the lock a CPU interrupted in
queued_spin_lock_slowpath waits for (its first argument, still in %rdi), and the holder inferred
from the other CPUs' stacks and code, since a spinlock records no owner.  Kernels 5.10 to 7.2.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from ..arch.x86_64_disasm import disassemble
from ..errors import MissingDebugInfoError, PycoreError
from .stack import ExceptionFrame, StackFrame, StackTrace
from .unwind import KERNEL_SPACE

__all__ = ["SLOWPATH_FUNCTIONS", "LOCK_FUNCTIONS", "UNLOCK_FUNCTIONS", "QSpinlock", "SpinWait", "SpinHolder",
           "qspinlock_state", "spin_wait", "probable_holder"]

# The slow path a CPU spins in when the lock is taken: native (4.2+), the paravirt twin a KVM guest
# patches in, and the x86 alias both are called through.
SLOWPATH_FUNCTIONS = frozenset(("native_queued_spin_lock_slowpath", "__pv_queued_spin_lock_slowpath",
                                "queued_spin_lock_slowpath"))
# What a caller calls to take and to drop a spinlock (kernel/locking/spinlock.c; the _raw_ entry
# points, 2.6.33+, and raw_spin_lock's debug twin).
LOCK_FUNCTIONS = frozenset(("_raw_spin_lock", "_raw_spin_lock_irq", "_raw_spin_lock_irqsave", "_raw_spin_lock_bh",
                            "_raw_spin_lock_nested", "_raw_spin_lock_irqsave_nested", "_raw_spin_lock_nest_lock",
                            "do_raw_spin_lock"))
UNLOCK_FUNCTIONS = frozenset(("_raw_spin_unlock", "_raw_spin_unlock_irq", "_raw_spin_unlock_irqrestore",
                              "_raw_spin_unlock_bh", "do_raw_spin_unlock"))
# include/asm-generic/qspinlock_types.h with _Q_PENDING_BITS 8 (NR_CPUS < 16K).
_Q_LOCKED_MASK = 0xFF
_Q_PENDING_SHIFT, _Q_PENDING_MASK = 8, 0xFF
_Q_TAIL_IDX_SHIFT, _Q_TAIL_IDX_MASK = 16, 0x3
_Q_TAIL_CPU_SHIFT = 18
# include/linux/spinlock_types_raw.h: a CONFIG_DEBUG_SPINLOCK lock's magic.
SPINLOCK_MAGIC = 0xDEAD4EAD
# How far into a function the code before a call is read for the lock it took.
_CODE_LIMIT = 1 << 14


@dataclass
class QSpinlock:
    """A queued spinlock's word at ``address``: ``locked`` (the locked byte: 1, or 3 where a
    paravirt waiter sleeps), ``pending`` (a second CPU spins on the locked byte) and the last CPU
    queued behind them (``tail_cpu``, None when none is).  A guest of a hypervisor without
    paravirt spinlocks spins test-and-set on the whole word (virt_spin_lock, 4.11+): its waiters
    set neither pending nor tail."""

    address: int
    value: int
    locked: int
    pending: bool
    tail_cpu: Optional[int]

    @property
    def held(self) -> bool:
        return bool(self.locked)


@dataclass
class SpinWait:
    """A CPU spinning for a spinlock: ``function`` the slow-path function its interrupted
    registers were in, ``lock`` the lock's address (their %rdi) and its word (``state``, None
    when the address is no readable lock: ``problem`` says why)."""

    cpu: int
    task: int
    function: str
    lock: Optional[int]
    state: Optional[QSpinlock]
    problem: Optional[str] = None


@dataclass
class SpinHolder:
    """The holder of a spinlock: the CPU and task, and ``evidence``: ``owner`` (the lock's own
    CONFIG_DEBUG_SPINLOCK owner field: certain) or, inferred, ``code`` (a
    function on its stack called ``LOCK_FUNCTION(lock)`` before the call it has not returned from,
    and no unlock in between: ``where`` names it, function+offset of the call), ``stack`` (its
    registers or stack words hold the lock's address) or ``only`` (the one other CPU busy in the
    kernel that does not spin for it)."""

    cpu: int
    task: int
    evidence: str
    where: Optional[str] = None


def _base(name: Optional[str]) -> str:
    return (name or "").split(".", 1)[0]


def qspinlock_state(prog, address: int) -> QSpinlock:
    """The word of the queued spinlock at ``address`` (FaultError where it cannot be read)."""
    value = int.from_bytes(prog.read(address, 4), "little")
    tail = value >> _Q_TAIL_CPU_SHIFT
    return QSpinlock(address, value, value & _Q_LOCKED_MASK, bool((value >> _Q_PENDING_SHIFT) & _Q_PENDING_MASK),
                     tail - 1 if tail else None)


def _interrupted_registers(trace: StackTrace) -> List[ExceptionFrame]:
    """The kernel registers on a running task's trace, innermost first: the CPU note's (where a
    CPU stopped by the crash NMI was) and those an interrupt or exception saved."""
    return [item for item in trace.items if isinstance(item, ExceptionFrame) and item.where == "kernel"]


def spin_wait(prog, cpu: int, trace: StackTrace) -> Optional[SpinWait]:
    """The spinlock the task of ``trace`` (running on ``cpu``) spins for, when registers on its
    trace were interrupted in queued_spin_lock_slowpath, else None.  The slow path keeps its
    ``lock`` argument in %rdi while it spins (it calls nothing but the paravirt hooks); the
    address is taken when its word reads as a held lock."""
    for regs in _interrupted_registers(trace):
        if _base(regs.symbol) not in SLOWPATH_FUNCTIONS:
            continue
        lock = regs.regs.get("rdi")
        wait = SpinWait(cpu, trace.task, _base(regs.symbol), None, None)
        if lock is None or lock < KERNEL_SPACE:
            wait.problem = "its %rdi is no kernel address"
            return wait
        try:
            state = qspinlock_state(prog, lock)
        except PycoreError as error:
            wait.problem = f"its %rdi {lock:#x} cannot be read: {error}"
            return wait
        if not state.held:
            wait.problem = f"its %rdi {lock:#x} is no held spinlock (word {state.value:#x})"
            return wait
        wait.lock, wait.state = lock, state
        return wait
    return None


def _rdi_value(instruction) -> Optional[int]:
    """The address an instruction puts in %rdi: ``mov $imm,%rdi`` or ``lea X(%rip),%rdi``."""
    if len(instruction.operands) != 2 or instruction.operands[1] != "%rdi":
        return None
    if instruction.name == "mov" and instruction.operands[0].startswith("$"):
        return int(instruction.operands[0][1:], 16) & ((1 << 64) - 1)
    if instruction.name == "lea" and instruction.rip_relative:
        return instruction.target
    return None


def _code_took(prog, unwinder, frame: StackFrame, lock: int) -> Optional[str]:
    """``FUNCTION+OFFSET`` of the call in ``frame``'s function (code before its return address)
    that took ``lock`` with no unlock of it after, else None."""
    if frame.symbol is None or frame.offset <= 0 or frame.offset > _CODE_LIMIT:
        return None
    start = frame.pc - frame.offset
    code = prog.read(start, frame.offset)
    rdi, taken = None, None
    for instruction in disassemble(code, start):
        if instruction.name == "call" and instruction.target is not None:
            called = _base(unwinder.name_of(instruction.target))
            # The call the frame is in (ending at its return address) has not returned: a lock
            # it takes is not held yet.
            if rdi == lock and called in LOCK_FUNCTIONS and instruction.address + instruction.size < frame.pc:
                taken = f"{frame.symbol}+{instruction.address - start:#x}"
            elif rdi == lock and called in UNLOCK_FUNCTIONS:
                taken = None
            rdi = None
            continue
        value = _rdi_value(instruction)
        if value is not None:
            rdi = value
        elif instruction.operands and instruction.operands[-1] in ("%rdi", "%edi"):
            rdi = None
    return taken


def _holds_address(trace: StackTrace, lock: int) -> bool:
    for item in trace.items:
        if isinstance(item, ExceptionFrame) and lock in item.regs.values():
            return True
        if isinstance(item, StackFrame) and any(value == lock for _, value in item.data):
            return True
    return False


def _debug_owner(prog, lock: int) -> Optional[int]:
    """The task CONFIG_DEBUG_SPINLOCK recorded as the holder of the raw_spinlock at ``lock``
    (``owner``, set by do_raw_spin_lock; SPINLOCK_OWNER_INIT, -1, while free), when the kernel
    keeps one and the lock's ``magic`` says it is a spinlock; else None."""
    try:
        raw = prog.type("struct raw_spinlock")
        if not raw.has_member("owner"):
            return None
        magic = int.from_bytes(prog.read(lock + raw.offsetof("magic"), 4), "little")
        owner = int.from_bytes(prog.read(lock + raw.offsetof("owner"), 8), "little")
    except (LookupError, PycoreError):
        return None
    return owner if magic == SPINLOCK_MAGIC and owner not in (0, (1 << 64) - 1) else None


def probable_holder(prog, unwinder, lock: int, running: Sequence[Tuple[int, StackTrace, bool]],
                    spinning: Sequence[int]) -> Optional[SpinHolder]:
    """Who holds the spinlock at ``lock``: the running task CONFIG_DEBUG_SPINLOCK's owner field
    names (:class:`SpinHolder` ``owner``, no inference); else, probably, among ``running``
    (``(cpu, trace, idle)`` of each CPU's task at the dump) less the CPUs ``spinning`` for it, the
    first whose code took it (``code``), else whose registers or stack hold its address
    (``stack``), else the one CPU left that is not idle (``only``); None when that is not one CPU.
    Code is read only where the capstone package is installed."""
    recorded = _debug_owner(prog, lock)
    if recorded is not None:
        cpu = next((cpu for cpu, trace, _ in running if trace.task == recorded), None)
        if cpu is not None:
            return SpinHolder(cpu, recorded, "owner")
    candidates = [(cpu, trace) for cpu, trace, idle in running if cpu not in spinning and not idle]
    for cpu, trace in candidates:
        for frame in trace.frames:
            try:
                where = _code_took(prog, unwinder, frame, lock)
            except MissingDebugInfoError:
                break
            except PycoreError:
                continue
            if where is not None:
                return SpinHolder(cpu, trace.task, "code", where)
    for cpu, trace in candidates:
        if _holds_address(trace, lock):
            return SpinHolder(cpu, trace.task, "stack")
    if len(candidates) == 1:
        return SpinHolder(candidates[0][0], candidates[0][1].task, "only")
    return None
