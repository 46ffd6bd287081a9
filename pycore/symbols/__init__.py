"""Kernel symbols from the best source available, behind one interface (``SymbolTable``).

Sources: the kernel's own kallsyms tables read from the dump, the vmlinux ELF
``.symtab``, and System.map.  Every loader returns addresses as the crashed
kernel saw them (KASLR applied).  The loaders are imported on first use: a dump
read alone never needs the ELF readers, nor a vmlinux the kallsyms decoder.
"""
from importlib import import_module
from typing import Any

from .table import Symbol, SymbolNotFoundError, SymbolTable

# name: the module under pycore/symbols/ that holds it
_LOADERS = {"elf_build_id": "elfsyms", "elf_linux_banner": "elfsyms", "load_elf_symbols": "elfsyms",
            "vmlinux_reader": "elfsyms", "load_kallsyms": "kallsyms", "load_system_map": "system_map"}

__all__ = ["Symbol", "SymbolNotFoundError", "SymbolTable", *_LOADERS]


def __getattr__(name: str) -> Any:
    """The loaders, imported on first use (see the module docstring)."""
    if name in _LOADERS:
        return getattr(import_module(f"{__name__}.{_LOADERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
