"""Sleeping locks and wait queues (kernel/locking/, kernel/sched/wait.c, completion.c): who holds a
mutex or rw_semaphore where the kernel records it, whether a percpu_rw_semaphore is write-blocked,
and the tasks queued on each, on kernels 5.10 to 7.2 (owner flag bits as 4.10+ and 5.3+ lay them out;
wait lists headed by the lock until 7.x, by its ``first_waiter`` since).
"""
from dataclasses import dataclass
from typing import List, Optional

from ..object import Object, list_for_each
from ..types.model import TypeKind

__all__ = ["MUTEX_FLAGS", "RWSEM_OWNER_FLAGS_MASK", "RWSEM_READER_OWNED", "RWSEM_WRITER_LOCKED",
           "RWSEM_READER_SHIFT", "Waiter", "RwsemState", "mutex_owner", "mutex_waiters", "rwsem_state",
           "rwsem_waiters", "semaphore_waiters", "semaphore_last_holder", "percpu_rwsem_blocked",
           "percpu_rwsem_writer", "percpu_rwsem_waiters", "wq_flag_custom", "completion_waiters",
           "wait_queue_waiters"]

# mutex.owner's low bits (4.10+, kernel/locking/mutex.c): WAITERS, HANDOFF, PICKUP; the rest is the task.
MUTEX_FLAGS = 0x07
# rw_semaphore.owner's low bits (5.3+; 4.20-5.2 had READER_OWNED and ANONYMOUSLY_OWNED in the same
# two bits): the owner was a reader (the pointer is then only the last reader, a hint), and
# NONSPINNABLE.
RWSEM_READER_OWNED = 1 << 0
RWSEM_OWNER_FLAGS_MASK = 0x03
# rw_semaphore.count (5.3+): bit 0 a writer holds it, bits 8 and up count the readers.
RWSEM_WRITER_LOCKED = 1 << 0
RWSEM_FLAG_WAITERS = 1 << 1
RWSEM_READER_SHIFT = 8
# rwsem_waiter.type (enum rwsem_waiter_type).
RWSEM_WAITING_FOR_WRITE = 0
# wait_queue_entry.flags: an exclusive waiter; CUSTOM marks percpu_rw_semaphore's readers (5.8+,
# where every waiter is exclusive).  CUSTOM moved from 0x08 to 0x04 when 6.4 removed the wait
# queue bookmarks (WQ_FLAG_BOOKMARK, 0x04, and __wake_up_locked_key_bookmark with it).
WQ_FLAG_EXCLUSIVE = 0x01
WQ_FLAG_CUSTOM = 0x04
WQ_FLAG_CUSTOM_WITH_BOOKMARKS = 0x08

_MASK64 = (1 << 64) - 1


@dataclass
class Waiter:
    """A task queued on a lock or wait queue: its ``task_struct`` address, whether it waits to
    write (rwsem, percpu_rwsem: an exclusive waiter) and, for a wait queue, the name of the wake
    function its entry carries (what the waiter sleeps for: ``percpu_rwsem_wake_function``,
    ``wake_page_function``, ``autoremove_wake_function``...)."""

    task: int
    write: bool = False
    wake_function: Optional[str] = None
    flags: int = 0


@dataclass
class RwsemState:
    """What ``rw_semaphore.count`` and ``owner`` say: a writer holds it (``owner`` is then that
    task), or ``readers`` hold it (``owner`` then names the last reader to take it, a hint the
    kernel keeps for debugging, not the set of readers), and whether tasks wait."""

    writer_locked: bool
    readers: int
    owner: int
    reader_owned: bool
    has_waiters: bool


def _has_member(obj: Object, name: str) -> bool:
    """Whether the struct ``obj`` is, or points to, has member ``name``."""
    t = obj.type_.resolved()
    if t.kind is TypeKind.POINTER:
        t = t.type.resolved()
    return t.has_member(name)


def _atomic(value: Object) -> int:
    """The integer inside an ``atomic_t``/``atomic_long_t`` (or a plain integer member)."""
    return int(value.counter) if _has_member(value, "counter") else int(value)


def _waiter_tasks(head: Object, waiter_type: str, member: str = "list") -> List[Object]:
    """The waiter structs (``waiter_type``, linked by ``member``) on the list at ``head``."""
    prog = head.prog_
    offset = prog.type(waiter_type).offsetof(member)
    pointer = prog.type(f"{waiter_type} *")
    return [Object(prog, pointer, int(node) - offset).dereference_() for node in list_for_each(head)]


def _lock_waiters(lock: Object, waiter_type: str) -> List[Object]:
    """The waiter structs queued on a mutex, rw_semaphore or semaphore, first first: up to 7.x on
    the lock's ``wait_list``; since then the waiters form a ring of their own ``list`` members and
    the lock points at the first (``first_waiter``)."""
    if not _has_member(lock, "first_waiter"):
        return _waiter_tasks(lock.wait_list.address_of_(), waiter_type)
    first = lock.first_waiter
    if not int(first):
        return []
    return [first.dereference_()] + _waiter_tasks(first.list.address_of_(), waiter_type)


def mutex_owner(mutex: Object) -> int:
    """The address of the task holding ``mutex`` (a ``struct mutex``), 0 when it is free: the
    owner word less its flag bits (4.10+ keeps the owner in ``atomic_long_t owner``; before, a
    ``struct task_struct *owner`` set only with CONFIG_MUTEX_SPIN_ON_OWNER or debugging)."""
    return (_atomic(mutex.owner) & ~MUTEX_FLAGS) & _MASK64


def mutex_waiters(mutex: Object) -> List[Waiter]:
    """The tasks waiting for ``mutex``, first to be woken first (its ``struct mutex_waiter``s,
    :func:`_lock_waiters`)."""
    return [Waiter(int(w.task)) for w in _lock_waiters(mutex, "struct mutex_waiter")]


def rwsem_state(sem: Object) -> RwsemState:
    """``sem`` (a ``struct rw_semaphore``) decoded from its count and owner words (5.3+ layout:
    the writer bit and the reader count share ``count``; ``owner`` carries READER_OWNED)."""
    count = _atomic(sem.count) & _MASK64
    owner = _atomic(sem.owner) & _MASK64
    return RwsemState(writer_locked=bool(count & RWSEM_WRITER_LOCKED), readers=count >> RWSEM_READER_SHIFT,
                      owner=owner & ~RWSEM_OWNER_FLAGS_MASK & _MASK64,
                      reader_owned=bool(owner & RWSEM_READER_OWNED), has_waiters=bool(count & RWSEM_FLAG_WAITERS))


def rwsem_waiters(sem: Object) -> List[Waiter]:
    """The tasks waiting for ``sem`` (its ``struct rwsem_waiter``s, :func:`_lock_waiters`), each
    with whether it waits to write."""
    return [Waiter(int(w.task), write=int(w.type) == RWSEM_WAITING_FOR_WRITE)
            for w in _lock_waiters(sem, "struct rwsem_waiter")]


def percpu_rwsem_blocked(sem: Object) -> bool:
    """Whether a writer holds or is taking ``sem`` (a ``struct percpu_rw_semaphore``): ``block``
    (5.8+) is set from percpu_down_write until percpu_up_write, and new readers then sleep."""
    return bool(_atomic(sem.block))


def percpu_rwsem_writer(sem: Object) -> int:
    """The task in percpu_down_write waiting for the readers to drain (``writer.task``, an rcuwait),
    0 when none waits: once they drained the writer holds the lock and no field names it."""
    return int(sem.writer.task)


def wait_queue_waiters(head: Object) -> List[Waiter]:
    """The entries of a ``wait_queue_head`` (``head``): each entry's task (``private``, which is
    what default_wake_function and its users store there), whether it is exclusive, and its wake
    function's name (None when the dump has no symbol for it); ``flags`` as the entry has them."""
    prog = head.prog_
    found = []
    for entry in _waiter_tasks(head.head.address_of_(), "struct wait_queue_entry", "entry"):
        function = prog.symbols.lookup(int(entry.func)) if int(entry.func) else None
        flags = int(entry.flags)
        found.append(Waiter(int(entry.private), write=bool(flags & WQ_FLAG_EXCLUSIVE),
                            wake_function=function[0].name if function else None, flags=flags))
    return found


def wq_flag_custom(prog) -> int:
    """WQ_FLAG_CUSTOM of the dump's kernel: 0x08 while it has wait queue bookmarks (before 6.4),
    0x04 after."""
    try:
        prog.symbols.by_name("__wake_up_locked_key_bookmark")
    except LookupError:
        return WQ_FLAG_CUSTOM
    return WQ_FLAG_CUSTOM_WITH_BOOKMARKS


def percpu_rwsem_waiters(sem: Object) -> List[Waiter]:
    """The tasks queued on ``sem`` (its ``waiters`` wait queue, 5.8+) behind a writer: readers
    (WQ_FLAG_CUSTOM, :func:`wq_flag_custom`) and writers."""
    custom = wq_flag_custom(sem.prog_)
    return [Waiter(w.task, write=not w.flags & custom, wake_function=w.wake_function, flags=w.flags)
            for w in wait_queue_waiters(sem.waiters)]


def semaphore_waiters(sem: Object) -> List[Waiter]:
    """The tasks in down() on ``sem`` (its ``struct semaphore_waiter``s, :func:`_lock_waiters`)."""
    return [Waiter(int(w.task)) for w in _lock_waiters(sem, "struct semaphore_waiter")]


def semaphore_last_holder(sem: Object) -> int:
    """The task that last took ``sem`` (``last_holder``, CONFIG_DETECT_HUNG_TASK_BLOCKER, 6.16+;
    cleared when it is released), 0 when the kernel keeps none: a semaphore has no owner field."""
    return int(sem.last_holder) if _has_member(sem, "last_holder") else 0


def completion_waiters(done: Object) -> List[Waiter]:
    """The tasks in wait_for_completion() on ``done`` (a ``struct completion``: a simple wait
    queue of ``struct swait_queue`` since 5.7; a ``wait_queue_head`` before)."""
    wait = done.wait
    if _has_member(wait, "task_list"):
        return [Waiter(int(w.task)) for w in _waiter_tasks(wait.task_list.address_of_(), "struct swait_queue",
                                                           "task_list")]
    return wait_queue_waiters(wait)
