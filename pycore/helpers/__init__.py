"""drgn-compatible helpers: ``pycore.helpers.linux.<module>`` has drgn's module and function names
and signatures, so a drgn script runs on a dump after its ``drgn`` imports are renamed.

Each module adapts pycore's one copy of the kernel knowledge (``pycore.kernel``) to drgn's calling
conventions; the few facts only drgn's names need (the one-letter task states, ``dev_t``'s split)
live in the module that offers them.
"""
from ..errors import ValidationError

__all__ = ["ValidationError"]
