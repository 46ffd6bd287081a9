"""drgn's ``drgn.helpers.linux.cgroup``: control groups, from :mod:`pycore.kernel.cgroup`."""
from ...kernel.cgroup import (cgroup_get_from_path, cgroup_name, cgroup_parent, cgroup_path, css_for_each_child,
                              css_for_each_descendant_pre, css_next_child, css_next_descendant_pre)

__all__ = ["cgroup_get_from_path", "cgroup_name", "cgroup_parent", "cgroup_path", "css_for_each_child",
           "css_for_each_descendant_pre", "css_next_child", "css_next_descendant_pre"]
