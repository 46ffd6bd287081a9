"""Dump containers: each turns a file into physical memory, notes and VMCOREINFO.

:func:`open_dump` recognises the format by content, never by file name.
"""
from typing import Optional

from ..errors import FormatError
from ..progress import Progress
from .base import Dump
from .elf import ElfDump, is_elf
from .file import DumpFile, closed_error
from .flattened import index_flattened, is_flattened
from .kdump import KdumpDump, is_kdump

__all__ = ["Dump", "ElfDump", "KdumpDump", "closed_error", "open_dump"]


def open_dump(path: str, native: Optional[bool] = None, progress: Optional[Progress] = None) -> Dump:
    """Open an ELF vmcore, a kdump-compressed dump, or either as a flattened stream
    (whose indexing reports to ``progress``, see :mod:`pycore.progress`)."""
    file = DumpFile(path)
    try:
        head = file.read(0, min(file.size, 64), "file header")
        flattened_index = None
        if is_flattened(head):
            flattened_index = index_flattened(file.map, file.stream_size, progress)
            file.set_segments(flattened_index.segments)
            head = file.read(0, min(file.size, 64), "file header")
        if is_kdump(head):
            dump: Dump = KdumpDump(file, native=native)
        elif is_elf(head):
            dump = ElfDump(file, native=native)
        else:
            raise FormatError(f"not a vmcore: the file starts with {head[:16]!r}; expected an ELF core,"
                              " a kdump-compressed dump (KDUMP) or a flattened makedumpfile stream",
                              offset=0, field="signature")
        dump.flattened = flattened_index is not None
        if flattened_index is not None and not flattened_index.complete:
            dump.incomplete = True
        return dump
    except BaseException:
        file.close()
        raise
