"""drgn's ``drgn.helpers.linux.kthread``: kernel threads (PF_KTHREAD, 2.6.27+)."""
from ...kernel.sched import PF_KTHREAD
from ...object import Object


def task_is_kthread(task: Object) -> bool:
    """Whether ``task`` is a kernel thread by its PF_KTHREAD flag (crash's ps also brackets a user
    task whose ``mm`` is gone; this is the kernel's own test)."""
    return bool(int(task.flags) & PF_KTHREAD)


__all__ = ["task_is_kthread"]
