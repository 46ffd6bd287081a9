"""drgn's ``drgn.helpers.linux.boot``: how the kernel was laid out at boot (x86_64)."""
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ...program import Program


def kaslr_offset(prog: "Program") -> int:
    """How far KASLR moved the kernel image (VMCOREINFO's KERNELOFFSET); 0 without KASLR."""
    info = prog.vmcoreinfo
    return (info.kernel_offset if info else None) or 0


def pgtable_l5_enabled(prog: "Program") -> bool:
    """Whether the kernel runs with 5-level page tables (LA57)."""
    return prog.arch.levels == 5


__all__ = ["kaslr_offset", "pgtable_l5_enabled"]
