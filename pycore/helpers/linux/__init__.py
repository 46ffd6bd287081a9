"""Every drgn-named Linux helper at once (``from pycore.helpers.linux import *``), as
``drgn.helpers.linux`` offers them; the submodules hold them by subsystem.
"""
import importlib
import pkgutil
from typing import List

__all__: List[str] = []
for _module in pkgutil.iter_modules(__path__, prefix=__name__ + "."):
    _submodule = importlib.import_module(_module.name)
    for _name in getattr(_submodule, "__all__", ()):
        if _name not in globals():
            __all__.append(_name)
            globals()[_name] = getattr(_submodule, _name)
