"""Address translation per architecture; x86_64 is the one pycore reads today."""
from .x86_64 import X86_64

__all__ = ["X86_64"]
