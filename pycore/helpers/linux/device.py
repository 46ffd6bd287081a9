"""drgn's ``drgn.helpers.linux.device``: device classes (:mod:`pycore.kernel.block`) and the
kernel's device numbers (``dev_t``: a 12-bit major above a 20-bit minor, include/linux/kdev_t.h)."""
from ...kernel.block import class_for_each_device, class_to_subsys
from ...object import Object

MINORBITS = 20
MINORMASK = (1 << MINORBITS) - 1


def MAJOR(dev: int) -> int:
    """The major number of a kernel ``dev_t``."""
    return int(dev) >> MINORBITS


def MINOR(dev: int) -> int:
    """The minor number of a kernel ``dev_t``."""
    return int(dev) & MINORMASK


def MKDEV(major: int, minor: int) -> int:
    """The kernel ``dev_t`` of a major and minor number."""
    return int(major) << MINORBITS | int(minor)


def dev_name(dev: Object) -> bytes:
    """The name of a ``struct device *``: its ``init_name`` while not registered, else its kobject's."""
    if int(dev.init_name):
        return dev.init_name.string_()
    return dev.kobj.name.string_()


__all__ = ["MAJOR", "MINOR", "MKDEV", "class_for_each_device", "class_to_subsys", "dev_name"]
