"""Kernel taint (kernel/panic.c): ``tainted_mask`` as the letters the kernel prints after
"Tainted:", from the kernel's own ``taint_flags[]`` table (4.10+; each entry starts with its
``c_true`` and ``c_false`` letters)."""
from typing import TYPE_CHECKING

from .variables import kernel_variable

if TYPE_CHECKING:  # pragma: no cover
    from ..program import Program


def tainted(prog: "Program") -> str:
    """One letter per taint flag (``G`` or ``P``, then ``O``, ``E``, ...; a space where a flag is
    clear, as the kernel's print_tainted() writes them), or "" for an untainted kernel."""
    mask = kernel_variable(prog, "tainted_mask")
    if not mask:
        return ""
    table = prog.type("struct taint_flag")
    step, true_at, false_at = table.size, table.offsetof("c_true"), table.offsetof("c_false")
    symbol = prog.symbols.by_name("taint_flags")
    # TAINT_FLAGS_COUNT entries (18 in 5.10, 20 in 7.x): the symbol's size when the symbol table
    # knows it; kallsyms does not, so the table then ends at the first entry that is not a flag's
    # (every flag's c_true is a capital letter and its c_false a space, or G for P).
    count = (symbol.size or 0) // step or 64
    raw = prog.read(symbol.address, count * step)
    letters = []
    for bit in range(count):
        entry = raw[bit * step:(bit + 1) * step]
        if not (0x41 <= entry[true_at] <= 0x5A and entry[false_at] in b" G"):
            break
        letters.append(chr(entry[true_at] if mask >> bit & 1 else entry[false_at]))
    return "".join(letters)


__all__ = ["tainted"]
