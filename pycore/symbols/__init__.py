"""Kernel symbols from the best source available, behind one interface (``SymbolTable``).

Sources: the kernel's own kallsyms tables read from the dump, the vmlinux ELF
``.symtab``, and System.map.  Every loader returns addresses as the crashed
kernel saw them (KASLR applied).
"""
from .elfsyms import elf_build_id, elf_linux_banner, load_elf_symbols, vmlinux_reader
from .kallsyms import load_kallsyms
from .system_map import load_system_map
from .table import Symbol, SymbolNotFoundError, SymbolTable

__all__ = [
    "Symbol",
    "SymbolNotFoundError",
    "SymbolTable",
    "elf_build_id",
    "elf_linux_banner",
    "load_elf_symbols",
    "load_kallsyms",
    "load_system_map",
    "vmlinux_reader",
]
