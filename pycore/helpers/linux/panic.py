"""drgn's ``drgn.helpers.linux.panic``: the task that panicked (:mod:`pycore.kernel.sched`), the
panic message and the taint letters (:mod:`pycore.kernel.system`, :mod:`pycore.kernel.taint`).
"""
from typing import TYPE_CHECKING, Optional

from ...kernel import sched, system
from ...kernel.taint import tainted
from ...object import Object

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def panic_task(prog: "Program") -> Object:
    """The ``struct task_struct *`` that was running on the CPU that panicked; NULL when no CPU
    panicked."""
    task = sched.panic_task(prog)
    return task if task is not None else Object(prog, "struct task_struct *", 0)


def panic_message(prog: "Program") -> Optional[bytes]:
    """The kernel log line that says why the machine went down, or None.  pycore's one rule for
    it is crash's sys PANIC line (the first line of the first matching group: a fault, a 2.6-era
    "SysRq : Crash", an Oops or BUG, then "Kernel panic"); drgn ranks "Kernel panic -" first, so
    the two can differ when a log holds an Oops and then the panic it caused."""
    message = system.panic_message(prog)
    return None if message is None else message.encode()


__all__ = ["panic_message", "panic_task", "tainted"]
