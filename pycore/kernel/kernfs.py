"""kernfs nodes (fs/kernfs, 3.14+): the names and paths of sysfs and cgroup directories, walked up
``parent`` (``__parent`` from 6.15, RCU-protected) and down the ``dir.children`` red-black tree.
"""
from typing import Iterator, Union

from ..errors import ValidationError
from ..object import Object
from .rbtree import rbtree_inorder_for_each_entry

# enum kernfs_node_type (include/linux/kernfs.h, 3.14+): the low bits of kernfs_node.flags.
KERNFS_DIR = 0x1
KERNFS_FILE = 0x2
KERNFS_LINK = 0x4
KERNFS_TYPE_MASK = 0xF
# PATH_MAX (4096) holds at most 2048 one-letter components: a longer chain of parents loops.
MAX_DEPTH = 2048


class KernfsCorruptError(ValidationError):
    """A kernfs node's parents or symlinks never reach the root; names the node."""


def kernfs_parent(kn: Object) -> Object:
    """The parent ``struct kernfs_node *`` of ``kn``; NULL for a root."""
    if kn.type_.resolved().type.resolved().has_member("__parent"):  # type: ignore[union-attr]
        return kn.member_("__parent").read_()  # 6.15+
    return kn.parent.read_()


def kernfs_root(kn: Object) -> Object:
    """The ``struct kernfs_root *`` that ``kn`` (``struct kernfs_node *``) belongs to: only a
    directory knows it, so a file asks its parent."""
    parent = kernfs_parent(kn)
    if int(parent):
        kn = parent
    return kn.dir.root.read_()


def kernfs_name(kn: Object) -> bytes:
    """``kn``'s own name; ``/`` for a root and ``(null)`` for NULL, as the kernel prints them."""
    if not int(kn):
        return b"(null)"
    return kn.name.string_() if int(kernfs_parent(kn)) else b"/"


def kernfs_path(kn: Object) -> bytes:
    """``kn``'s path from its root (``/system.slice/cron.service``); ``/`` for the root itself."""
    if not int(kn):
        return b"(null)"
    root = int(kernfs_root(kn).kn)
    if int(kn) == root:
        return b"/"
    names = []
    node = kn
    while int(node) != root:
        if len(names) >= MAX_DEPTH or not int(node):
            raise KernfsCorruptError(f"kernfs node {int(kn):#x}: its parents do not lead to root {root:#x}")
        names.append(node.name.string_())
        node = kernfs_parent(node)
    names.append(node.name.string_())
    return b"/".join(reversed(names))


def kernfs_children(kn: Object) -> Iterator[Object]:
    """Each ``struct kernfs_node *`` in the directory ``kn``, in the kernel's (hash, name) order."""
    return rbtree_inorder_for_each_entry("struct kernfs_node", kn.dir.children.address_of_(), "rb")


def _follow(kn: Object) -> Object:
    for _ in range(MAX_DEPTH):
        if int(kn.flags) & KERNFS_TYPE_MASK != KERNFS_LINK:
            return kn
        kn = kn.symlink.target_kn.read_()
    raise KernfsCorruptError(f"kernfs symlink {int(kn):#x} leads to more than {MAX_DEPTH} symlinks")


def kernfs_walk(parent: Object, path: Union[str, bytes], follow_symlinks: bool = True) -> Object:
    """The ``struct kernfs_node *`` at ``path`` below ``parent``; NULL when a component is missing.
    Symlinks on the way are followed, the last one only with ``follow_symlinks``."""
    name_path = path.encode() if isinstance(path, str) else path
    node = parent
    for name in name_path.split(b"/"):
        if not name:
            continue
        node = _follow(node)
        if int(node.flags) & KERNFS_TYPE_MASK != KERNFS_DIR:
            return Object(parent.prog_, parent.type_, 0)
        node = next((child for child in kernfs_children(node) if child.name.string_() == name), None)
        if node is None:
            return Object(parent.prog_, parent.type_, 0)
    return _follow(node) if follow_symlinks else node


__all__ = ["kernfs_parent", "kernfs_root", "kernfs_name", "kernfs_path", "kernfs_children", "kernfs_walk",
           "KernfsCorruptError", "KERNFS_DIR", "KERNFS_FILE", "KERNFS_LINK"]
