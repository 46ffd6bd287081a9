"""A task's signal state (kernel/signal.c): the thread group's dispositions in ``sighand->action[]``,
its pending and blocked sets and the queued ``struct sigqueue``s, as crash 9's ``sig`` reads them.

x86_64 kernels 2.6.x-7.2: 64 signals in one ``unsigned long`` (``sigset_t.sig[0]``), ``sighand_struct``
(2.6.x+), ``signal_struct.shared_pending`` and TIF_SIGPENDING in ``thread_info.flags``.
"""
from dataclasses import dataclass
from typing import List, Tuple

from ..object import Object, list_for_each_entry
from .sched import thread_info_address

_NSIG = 64
# arch/x86/include/asm/thread_info.h: "signal pending" in thread_info.flags (every x86_64 kernel).
TIF_SIGPENDING = 2
# include/uapi/asm-generic/signal-defs.h and arch/x86/include/uapi/asm/signal.h, in the order crash
# names them.
SA_FLAGS = (("SA_NOCLDSTOP", 0x00000001), ("SA_RESTORER", 0x04000000), ("SA_NOCLDWAIT", 0x00000002),
            ("SA_SIGINFO", 0x00000004), ("SA_ONSTACK", 0x08000000), ("SA_RESTART", 0x10000000),
            ("SA_NODEFER", 0x40000000), ("SA_RESETHAND", 0x80000000))


@dataclass
class SigAction:
    """``sighand->action[signal - 1]``: where it is, its handler (0 SIG_DFL, 1 SIG_IGN, -1 SIG_ERR as
    unsigned), the signals blocked while it runs, and its SA_ flags."""

    signal: int
    address: int
    handler: int
    mask: int
    flags: int


@dataclass
class SignalState:
    """What ``sig`` shows of one task: the thread group's ``signal_struct`` and dispositions, and the
    task's own pending set and queue beside the group's shared ones (each queue as (signal number,
    address of its ``siginfo``))."""

    signal_struct: int
    nr_threads: int
    actions: List[SigAction]
    sigpending: bool
    blocked: int
    pending: int
    pending_queue: List[Tuple[int, int]]
    shared_pending: int
    shared_queue: List[Tuple[int, int]]


def sa_flag_names(flags: int) -> List[str]:
    """The SA_ names set in ``flags``, in crash's order."""
    return [name for name, bit in SA_FLAGS if flags & bit]


def _sigset(value: Object) -> int:
    """A ``sigset_t`` as one 64-bit number (x86_64: one word)."""
    return int(value.sig[0])


def _queue(pending: Object) -> List[Tuple[int, int]]:
    """The ``struct sigqueue``s on ``pending.list``: (si_signo, address of the entry's ``info``)."""
    prog = pending.prog_
    sigqueue = prog.type("struct sigqueue")
    info = sigqueue.offsetof("info")
    return [(int(entry.info.si_signo), int(entry) + info)
            for entry in list_for_each_entry(sigqueue, pending.list.address_of_(), "list")]


def signal_state(task: Object) -> SignalState:
    """The signal state of ``task`` (``struct task_struct *``)."""
    prog = task.prog_
    signal = task.signal
    sighand = task.sighand
    action_type = prog.type("struct k_sigaction")
    base = int(sighand) + prog.type("struct sighand_struct").offsetof("action")
    actions = []
    for number in range(1, _NSIG + 1):
        action = sighand.action[number - 1].sa
        actions.append(SigAction(number, base + (number - 1) * action_type.size,
                                 int(action.sa_handler) & ((1 << 64) - 1), _sigset(action.sa_mask),
                                 int(action.sa_flags)))
    info = Object(prog, prog.type("struct thread_info *"), thread_info_address(task))
    return SignalState(int(signal), int(signal.nr_threads), actions, bool(int(info.flags) & 1 << TIF_SIGPENDING),
                       _sigset(task.blocked), _sigset(task.pending.signal), _queue(task.pending),
                       _sigset(signal.shared_pending.signal), _queue(signal.shared_pending))


def rlimits(task: Object) -> List[Tuple[int, int]]:
    """``task->signal->rlim[]``: (current, maximum) of each resource limit, RLIMIT_CPU first
    (RLIM_INFINITY is all ones); the thread group's limits since 2.6.10."""
    return [(int(limit.rlim_cur), int(limit.rlim_max)) for limit in task.signal.rlim]
