"""drgn's ``drgn.helpers.linux.kernfs``: sysfs and cgroup nodes, from :mod:`pycore.kernel.kernfs`."""
from ...kernel.kernfs import kernfs_children, kernfs_name, kernfs_parent, kernfs_path, kernfs_root, kernfs_walk

__all__ = ["kernfs_children", "kernfs_name", "kernfs_parent", "kernfs_path", "kernfs_root", "kernfs_walk"]
