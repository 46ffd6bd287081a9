"""drgn's ``drgn.helpers.linux.ipc``: System V IPC objects of an IPC namespace (the initial one for a
Program), from :mod:`pycore.kernel.ipc`."""
from ...kernel.ipc import for_each_sysv_msg_queue, for_each_sysv_sem_array, for_each_sysv_shm

__all__ = ["for_each_sysv_msg_queue", "for_each_sysv_sem_array", "for_each_sysv_shm"]
