"""drgn's ``drgn.helpers.linux.user``: users with processes, from :mod:`pycore.kernel.user`."""
from ...kernel.user import find_user, for_each_user, kuid_val

__all__ = ["find_user", "for_each_user", "kuid_val"]
