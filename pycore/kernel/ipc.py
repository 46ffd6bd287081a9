"""System V IPC (ipc/): the shared memory segments, semaphore arrays and message queues of an IPC
namespace, each kind in its ``ipc_ids`` idr (``ids[0]`` semaphores, ``[1]`` queues, ``[2]`` shared
memory); kernels 4.11 to 7.2 (the idr an XArray).
"""
from typing import TYPE_CHECKING, Iterator, Optional, Union

from ..object import Object, container_of
from .idr import idr_for_each
from .sched import init_task

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# Indices of ipc_namespace.ids[] (ipc/util.h IPC_SEM_IDS, IPC_MSG_IDS, IPC_SHM_IDS).
IPC_SEM_IDS = 0
IPC_MSG_IDS = 1
IPC_SHM_IDS = 2
# kern_ipc_perm.mode bits of a shared memory segment (include/linux/shm.h).
SHM_DEST = 0o1000
SHM_LOCKED = 0o2000


def init_ipc_ns(prog: "Program") -> Object:
    """``init_task.nsproxy->ipc_ns``: the initial IPC namespace (``struct ipc_namespace *``)."""
    return init_task(prog).nsproxy.ipc_ns.read_()


def _for_each(prog_or_ns: "Union[Program, Object]", kind: int, type_name: str, member: str) -> Iterator[Object]:
    ns = prog_or_ns if isinstance(prog_or_ns, Object) else init_ipc_ns(prog_or_ns)
    ids = ns.ids[kind]
    if not int(ids.in_use):
        return
    for _, entry in idr_for_each(ids.ipcs_idr.address_of_()):
        yield container_of(entry, type_name, member)


def for_each_sysv_shm(prog_or_ns: "Union[Program, Object]") -> Iterator[Object]:
    """Each ``struct shmid_kernel *`` of an IPC namespace (the initial one for a Program), by id."""
    return _for_each(prog_or_ns, IPC_SHM_IDS, "struct shmid_kernel", "shm_perm")


def for_each_sysv_sem_array(prog_or_ns: "Union[Program, Object]") -> Iterator[Object]:
    """Each ``struct sem_array *`` of an IPC namespace (the initial one for a Program), by id."""
    return _for_each(prog_or_ns, IPC_SEM_IDS, "struct sem_array", "sem_perm")


def for_each_sysv_msg_queue(prog_or_ns: "Union[Program, Object]") -> Iterator[Object]:
    """Each ``struct msg_queue *`` of an IPC namespace (the initial one for a Program), by id."""
    return _for_each(prog_or_ns, IPC_MSG_IDS, "struct msg_queue", "q_perm")


def ipc_perm(entry: Object) -> Optional[Object]:
    """The ``struct kern_ipc_perm`` of a shmid_kernel, sem_array or msg_queue pointer."""
    for member in ("shm_perm", "sem_perm", "q_perm"):
        if entry.type_.resolved().type.resolved().has_member(member):
            return entry.member_(member)
    return None


__all__ = ["init_ipc_ns", "for_each_sysv_shm", "for_each_sysv_sem_array", "for_each_sysv_msg_queue",
           "ipc_perm", "SHM_DEST", "SHM_LOCKED", "IPC_SEM_IDS", "IPC_MSG_IDS", "IPC_SHM_IDS"]
