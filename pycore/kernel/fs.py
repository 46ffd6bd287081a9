"""Files, paths and mounts (fs/): a task's open files through its fdtable, the path of a dentry in
the mount tree (``d_path``), the mounts of a mount namespace and of a superblock, on kernels 4.14
to 7.2 (namespace mounts on a list before 6.8, in the ``mnt_namespace.mounts`` red-black tree from
6.8; a superblock's on a list before 6.18, a chain after), and the character device registrations
(``chrdevs``, fs/char_dev.c) with the cdev serving each.
"""
import os
from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple, Union

from ..errors import PycoreError, ValidationError
from ..object import Object, container_of, list_for_each_entry
from ..types.model import TypeKind
from .rbtree import rbtree_inorder_for_each_entry
from .sched import init_task

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program

# A path is never deeper than PATH_MAX (4096) bytes, so never more than 2048 components; a walk
# that goes on is a loop in damaged dentries or mounts.
MAX_PATH_COMPONENTS = 2048

# S_IFMT and the file types of include/uapi/linux/stat.h (the same on every kernel).
S_IFMT = 0o170000
S_IFSOCK = 0o140000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFBLK = 0o060000
S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFIFO = 0o010000
_FILE_TYPES = {S_IFSOCK: "SOCK", S_IFLNK: "LNK", S_IFREG: "REG", S_IFBLK: "BLK", S_IFDIR: "DIR",
               S_IFCHR: "CHR", S_IFIFO: "FIFO"}


class PathLoopError(ValidationError):
    """A dentry's parents or a mount's parents never reach a root: damaged memory, not a path."""


def decode_file_type(mode: int) -> str:
    """``REG``, ``DIR``, ``CHR``, ``BLK``, ``FIFO``, ``LNK`` or ``SOCK`` for an ``i_mode``; the
    octal type bits for anything else (drgn's decode_file_type)."""
    kind = int(mode) & S_IFMT
    return _FILE_TYPES.get(kind, f"{kind:06o}")


def _real_mount(vfsmnt: Object) -> Object:
    """The ``struct mount *`` around a ``struct vfsmount *`` (3.3+ splits the two)."""
    return container_of(vfsmnt, "struct mount", "mnt")


def _pointer(obj: Object) -> Object:
    return obj if obj.type_.resolved().kind is TypeKind.POINTER else obj.address_of_()


# mount.mnt.mnt_flags: a kernel-internal mount (debugfs, sockfs, ...), mounted at "/" of nothing.
MNT_INTERNAL = 0x4000


def super_block_for_each_mount(sb: Object) -> Iterator[Object]:
    """Each ``struct mount *`` of a ``struct super_block *``: the ``s_mounts`` list through
    ``mnt_instance``, or from 6.18 the chain ``s_mounts``/``mnt_next_for_sb``."""
    s_mounts = sb.s_mounts
    if s_mounts.type_.resolved().kind is TypeKind.POINTER:
        mount = s_mounts.read_()
        for _ in range(1 << 24):
            if not int(mount):
                return
            yield mount
            mount = mount.mnt_next_for_sb.read_()
        raise PathLoopError(f"the mounts of super_block {int(sb):#x} loop")
    yield from list_for_each_entry("struct mount", s_mounts.address_of_(), "mnt_instance")


def _some_mount(dentry: Object) -> Object:
    """A ``struct vfsmount *`` of the dentry's superblock for d_path(dentry): the first mount that
    is not kernel-internal, else the first internal one (drgn's choice)."""
    internal = None
    for mount in super_block_for_each_mount(dentry.d_sb.read_()):
        if not int(mount.mnt.mnt_flags) & MNT_INTERNAL:
            return mount.mnt.address_of_()
        internal = internal or mount.mnt.address_of_()
    if internal is None:
        raise PycoreError(f"dentry {int(dentry):#x} has no mount to make a path from")
    return internal


def d_path(path_or_vfsmnt: Object, dentry: Optional[Object] = None) -> bytes:
    """The path of a ``struct path`` (or pointer to one), of ``dentry`` under ``vfsmnt``
    (``struct vfsmount *``), or of a lone ``struct dentry *`` through some mount of its superblock,
    from the root of the mount tree as the kernel's prepend_path walks it: up the dentries to the
    mount's root, then across to where the mount is mounted in its parent, until a mount that is
    its own parent.  Dentries whose name is made up on demand (``d_dname``: sockets, pipes,
    anonymous inodes) give ``[fstype]``, as drgn's d_path does.

    A walk longer than any real path raises :class:`PathLoopError`."""
    if dentry is None:
        target = _pointer(path_or_vfsmnt)
        if target.type_.resolved().type.resolved().has_member("d_parent"):
            dentry = target.read_()
            vfsmnt = _some_mount(dentry)
        else:
            vfsmnt, dentry = target.mnt.read_(), target.dentry.read_()
    else:
        vfsmnt = _pointer(path_or_vfsmnt)
    dentry = _pointer(dentry).read_()
    d_op = dentry.d_op.read_()
    if int(d_op) and int(d_op.d_dname):
        return b"[" + dentry.d_sb.s_type.name.string_() + b"]"
    mnt = _real_mount(vfsmnt)
    components: List[bytes] = []
    for _ in range(2 * MAX_PATH_COMPONENTS):
        if int(dentry) == int(mnt.mnt.mnt_root):
            parent_mount = mnt.mnt_parent.read_()
            if int(parent_mount) == int(mnt):
                break
            dentry = mnt.mnt_mountpoint.read_()
            mnt = parent_mount
            continue
        parent = dentry.d_parent.read_()
        if int(parent) == int(dentry):
            break
        components.append(dentry.d_name.name.string_())
        dentry = parent
    else:
        raise PathLoopError(f"the path of dentry {int(dentry):#x} does not reach a root within "
                            f"{MAX_PATH_COMPONENTS} components")
    return b"/" + b"/".join(reversed(components))


def dentry_path(dentry: Object) -> bytes:
    """The path of ``dentry`` (``struct dentry *``) from the root of its own filesystem."""
    components: List[bytes] = []
    dentry = _pointer(dentry).read_()
    for _ in range(MAX_PATH_COMPONENTS):
        parent = dentry.d_parent.read_()
        if int(parent) == int(dentry):
            return b"/".join(reversed(components))
        components.append(dentry.d_name.name.string_())
        dentry = parent
    raise PathLoopError(f"dentry {int(dentry):#x} has more than {MAX_PATH_COMPONENTS} ancestors")


# -- mounts ----------------------------------------------------------------------------------
def init_mnt_ns(prog: "Program") -> Object:
    """``init_task.nsproxy->mnt_ns``: the initial mount namespace (``struct mnt_namespace *``)."""
    return init_task(prog).nsproxy.mnt_ns.read_()


def for_each_mount(prog_or_ns: "Union[Program, Object]", src: Optional[Union[str, bytes]] = None,
                   dst: Optional[Union[str, bytes]] = None,
                   fstype: Optional[Union[str, bytes]] = None) -> Iterator[Object]:
    """Each ``struct mount *`` of a mount namespace (``struct mnt_namespace *``; the initial one for
    a Program), in mount order, optionally only those with that source device name, mount point or
    filesystem type (drgn's for_each_mount).

    6.8+ keeps a namespace's mounts in the red-black tree ``mounts`` (ordered by their unique id);
    older kernels on the list ``list``.  The cursors /proc/mounts readers leave on the list
    (5.8 to 6.7) have no superblock and are skipped."""
    ns = init_mnt_ns(prog_or_ns) if not isinstance(prog_or_ns, Object) else prog_or_ns
    mounts: Iterator[Object]
    if ns.type_.resolved().type.resolved().has_member("list"):
        mounts = list_for_each_entry("struct mount", ns.list.address_of_(), "mnt_list")
    else:
        mounts = rbtree_inorder_for_each_entry("struct mount", ns.mounts.address_of_(), "mnt_node")
    wanted = [(os.fsencode(value) if value is not None else None) for value in (src, dst, fstype)]
    for mnt in mounts:
        if not int(mnt.mnt.mnt_sb):
            continue
        if wanted[0] is not None and mount_src(mnt) != wanted[0]:
            continue
        if wanted[1] is not None and mount_dst(mnt) != wanted[1]:
            continue
        if wanted[2] is not None and mount_fstype(mnt) != wanted[2]:
            continue
        yield mnt


def mount_src(mnt: Object) -> bytes:
    """The device name a mount (``struct mount *``) was made from (``mnt_devname``)."""
    return mnt.mnt_devname.string_()


def mount_dst(mnt: Object) -> bytes:
    """Where a mount (``struct mount *``) is mounted: the path of its root."""
    return d_path(mnt.mnt.address_of_(), mnt.mnt.mnt_root)


def mount_fstype(mnt: Object) -> bytes:
    """The filesystem type of a mount (``struct mount *``), with its subtype as ``type.subtype``
    (FUSE)."""
    sb = mnt.mnt.mnt_sb.read_()
    name = sb.s_type.name.string_()
    subtype = sb.s_subtype.read_()
    if int(subtype):
        text = subtype.string_()
        if text:
            name += b"." + text
    return name


def for_each_super_block(prog: "Program") -> Iterator[Object]:
    """Each ``struct super_block *`` on the kernel's ``super_blocks`` list."""
    head = prog["super_blocks"]
    yield from list_for_each_entry("struct super_block", head.address_of_(), "s_list")


def mount_of(prog: "Program", sb: Object) -> Optional[Object]:
    """The first mount (``struct mount *``) of superblock ``sb`` in the initial namespace."""
    for mnt in for_each_mount(prog):
        if int(mnt.mnt.mnt_sb) == int(sb):
            return mnt
    return None


def super_block_type(sb: Object) -> bytes:
    """The name of the filesystem type of a ``struct super_block *`` (``s_type->name``)."""
    return sb.s_type.name.string_()


# -- open files --------------------------------------------------------------------------------
def _open_fds(fdt: Object) -> Tuple[int, int]:
    """(bitmap of open descriptors as one int, max_fds) of a ``struct fdtable *``."""
    prog = fdt.prog_
    max_fds = int(fdt.max_fds)
    if max_fds < 0 or max_fds > 1 << 30:
        raise PycoreError(f"fdtable {int(fdt):#x} claims max_fds {max_fds}: not a descriptor table")
    nbytes = (max_fds + 63) // 64 * 8
    bits = int.from_bytes(prog.read(int(fdt.open_fds), nbytes), "little") if nbytes else 0
    return bits, max_fds


def for_each_file(task: Object) -> Iterator[Tuple[int, Object]]:
    """Each open descriptor of ``task`` (``struct task_struct *``) and its ``struct file *``, by
    descriptor number, from ``files->fdt`` (2.6.14+): the descriptors set in ``open_fds``.  A task
    without a ``files_struct`` (an exited task, a kernel thread after exit_files) has none."""
    files = task.files.read_()
    if not int(files):
        return
    fdt = files.fdt.read_()
    bits, max_fds = _open_fds(fdt)
    table = int(fdt.fd)
    file_pointer = fdt.fd.type_.resolved().type
    prog = task.prog_
    fd = 0
    while bits and fd < max_fds:
        if bits & 1:
            address = int.from_bytes(prog.read(table + 8 * fd, 8), "little")
            yield fd, Object(prog, file_pointer, address)
        bits >>= 1
        fd += 1


def task_max_fds(task: Object) -> int:
    """How many descriptors ``task``'s table holds (``files->fdt->max_fds``); 0 without a
    ``files_struct``."""
    files = task.files.read_()
    return _open_fds(files.fdt.read_())[1] if int(files) else 0


def fget(task: Object, fd: int) -> Object:
    """The ``struct file *`` behind descriptor ``fd`` of ``task``; NULL if it is not open."""
    fdt = task.files.fdt.read_()
    if not 0 <= fd < int(fdt.max_fds):
        return Object(task.prog_, fdt.fd.type_.resolved().type, 0)
    return fdt.fd[fd].read_()


def file_dentry(file: Object) -> Object:
    """The ``struct dentry *`` of an open file (``f_path.dentry``, 2.6.20+)."""
    return file.f_path.dentry.read_()


def task_root_pwd(task: Object) -> Optional[Tuple[Object, Object]]:
    """A task's root and working directory, the ``struct path`` objects ``task->fs->root`` and
    ``->pwd`` (2.6.26+); None for a task without an ``fs_struct`` (one that is exiting)."""
    fs_struct = task.fs.read_()
    if not int(fs_struct):
        return None
    return fs_struct.root, fs_struct.pwd


def path_inode(path: Object) -> Object:
    """The ``struct inode *`` a ``struct path`` names (``dentry->d_inode``); NULL for a path without
    a dentry or a negative dentry."""
    dentry = path.dentry.read_()
    if not int(dentry):
        return Object(path.prog_, "struct inode *", 0)
    return dentry.d_inode.read_()


def dentry_is_pseudo(dentry: Object) -> bool:
    """Whether ``dentry`` names itself on demand (``d_op->d_dname``: sockets, pipes, anonymous
    inodes), so that its path is not a walk through the tree."""
    d_op = dentry.d_op.read_()
    return bool(int(d_op) and int(d_op.d_dname))


# -- character devices (fs/char_dev.c) ------------------------------------------------------------
# CHRDEV_MAJOR_HASH_SIZE: chrdevs[] and cdev_map's probes[] are indexed by major % 255.
CHRDEV_MAJOR_HASH_SIZE = 255
# dev_t's minor bits (include/linux/kdev_t.h).
MINORBITS = 20
# A registration chain holds one entry per minor range; longer chains loop.
MAX_CHAIN = 1 << 16


def _chain(first: Object, what: str) -> Iterator[Object]:
    """A ``next``-linked chain of structs from ``first`` (a pointer); ValidationError where it comes
    back to a node or runs past MAX_CHAIN."""
    node, seen = first, set()
    while int(node):
        if int(node) in seen or len(seen) >= MAX_CHAIN:
            raise ValidationError(f"{what} chain at {int(first):#x} loops at {int(node):#x}")
        seen.add(int(node))
        yield node
        node = node.next.read_()


def _pointer_array(prog: "Program", symbol: str, pointee: str, length: int) -> List[Object]:
    """The ``length`` pointers of a global array of ``pointee *`` (read by address: BTF alone
    types no variable)."""
    base = prog.symbols.by_name(symbol).address
    pointer = prog.type(f"{pointee} *")
    raw = prog.read(base, 8 * length)
    return [Object(prog, pointer, int.from_bytes(raw[8 * i:8 * i + 8], "little")) for i in range(length)]


def for_each_chrdev(prog: "Program") -> Iterator[Tuple[int, Object]]:
    """Each character device registration (``struct char_device_struct *``) with its ``chrdevs``
    index (major % 255), in the order crash's dev lists them: by index, then along each chain
    (ordered by major and base minor as register_chrdev_region keeps them)."""
    for index, head in enumerate(_pointer_array(prog, "chrdevs", "struct char_device_struct",
                                                CHRDEV_MAJOR_HASH_SIZE)):
        for entry in _chain(head, "chrdevs"):
            yield index, entry


def chrdev_cdev(entry: Object) -> Object:
    """The ``struct cdev *`` serving a character device registration: the one register_chrdev made
    (``cdev``), else the cdev that cdev_add mapped at its first device number (``cdev_map``'s probe
    with that major and base minor, crash's search_cdev_map_probes); NULL when neither exists."""
    prog = entry.prog_
    cdev = entry.cdev.read_()
    if int(cdev):
        return cdev
    major, minor = int(entry.major), int(entry.baseminor)
    cdev_map = Object(prog, prog.type("struct kobj_map *"), address=prog.symbols.by_name("cdev_map").address).read_()
    for probe in _chain(cdev_map.probes[major % CHRDEV_MAJOR_HASH_SIZE].read_(), "cdev_map probe"):
        dev = int(probe.dev)
        if dev >> MINORBITS == major and dev & ((1 << MINORBITS) - 1) == minor:
            return Object(prog, prog.type("struct cdev *"), int(probe.data))
    return Object(prog, prog.type("struct cdev *"), 0)


__all__ = ["d_path", "dentry_path", "for_each_super_block", "mount_of", "super_block_for_each_mount",
           "decode_file_type", "for_each_mount", "mount_src", "mount_dst",
           "mount_fstype", "super_block_type", "init_mnt_ns", "for_each_file", "fget", "file_dentry",
           "task_root_pwd", "path_inode", "dentry_is_pseudo", "PathLoopError", "for_each_chrdev", "chrdev_cdev"]
