"""drgn's ``drgn.helpers.linux.block``: disks, from :mod:`pycore.kernel.block` (block_class's
devices; ``block_device`` from 5.11, ``hd_struct`` before)."""
from ...kernel.block import for_each_disk
from ...object import Object


def disk_name(disk: Object) -> bytes:
    """The name of a ``struct gendisk *`` (``vda``)."""
    return disk.disk_name.string_()


__all__ = ["disk_name", "for_each_disk"]
