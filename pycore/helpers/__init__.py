"""drgn-compatible helpers: ``pycore.helpers.linux.<module>`` has drgn's module and function names
and signatures, so a drgn script runs on a dump after its ``drgn.helpers`` imports are renamed.

Each module adapts pycore's one copy of the kernel knowledge (``pycore.kernel``) to drgn's calling
conventions; nothing here reads the kernel on its own.
"""
