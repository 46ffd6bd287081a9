"""drgn-compatible helpers: ``pycore.helpers.linux.<module>`` has drgn's module and function names
and signatures, so a drgn script runs on a dump after its ``drgn`` imports are renamed.

Each module adapts pycore's one copy of the kernel knowledge (``pycore.kernel``) to drgn's calling
conventions; the few facts only drgn's names need (``dev_t``'s split, /proc's state names) live
in the module that offers them.  ``ValidationError`` is here as in ``drgn.helpers``: the base of
every error a corrupt kernel structure raises.
"""
from ..errors import ValidationError

__all__ = ["ValidationError"]
