"""drgn's ``drgn.helpers.linux.fs``: paths, mounts and open files, from :mod:`pycore.kernel.fs`
(mounts on a list before 6.8 and a red-black tree from 6.8; the fdtable bitmap)."""
from ...kernel.fs import (d_path, decode_file_type, dentry_path, fget, for_each_file, for_each_mount, mount_dst,
                          mount_fstype, mount_src, super_block_for_each_mount)

__all__ = ["d_path", "decode_file_type", "dentry_path", "fget", "for_each_file", "for_each_mount", "mount_dst",
           "mount_fstype", "mount_src", "super_block_for_each_mount"]
