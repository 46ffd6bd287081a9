"""The bytes of a dump file, memory-mapped, seen through a list of segments.

A plain file is one segment.  makedumpfile's flattened stream (see
``flattened.py``) is many: each maps a range of the logical file (the one
makedumpfile would have written with ``-F`` left out) to a place in the stream.
Containers read the logical file and never care which kind they have.
"""
import bisect
import mmap
import os
from typing import List, Optional, Tuple

from ..errors import FormatError, IncompleteDumpError, PycoreError


def closed_error() -> PycoreError:
    """The error of a read from a dump after it was closed: its mapping, and the C reader's and
    walker's pointers into it, are gone."""
    return PycoreError("the dump is closed: open it again to read it")


class DumpFile:
    """A memory-mapped file, read at logical offsets through sorted, non-overlapping segments.

    ``segments`` is a list of ``(logical_offset, stream_offset, length)``; bytes of
    the logical file no segment covers were never written and read as zeros, as
    they would in the file ``makedumpfile -R`` rebuilds.
    """

    def __init__(self, path: str, segments: Optional[List[Tuple[int, int, int]]] = None):
        self.path = path
        self._file = open(path, "rb")
        self.stream_size = os.fstat(self._file.fileno()).st_size
        if self.stream_size == 0:
            self._file.close()
            raise FormatError("the dump file is empty", offset=0)
        self.fileno = self._file.fileno()
        self.map = mmap.mmap(self.fileno, 0, access=mmap.ACCESS_READ)
        self.set_segments(segments)

    def set_segments(self, segments: Optional[List[Tuple[int, int, int]]]) -> None:
        """Use ``segments`` as the logical view (None: the file itself)."""
        self.flattened = segments is not None
        if segments is None:
            segments = [(0, 0, self.stream_size)]
        self.segments = segments
        self._starts = [s[0] for s in segments]
        self.size = segments[-1][0] + segments[-1][2] if segments else 0

    def close(self) -> None:
        if not self.map.closed:
            self.map.close()
        self._file.close()

    def read(self, offset: int, size: int, field: str = "data") -> bytes:
        """Read ``size`` bytes of the logical file at ``offset``; past the end is an error."""
        if offset < 0 or size < 0:
            raise FormatError(f"negative offset or size for {field}", offset=offset, field=field)
        if self.map.closed:
            raise closed_error()
        if not self.flattened:
            if offset + size > self.stream_size:
                raise IncompleteDumpError(
                    f"{field} at file offset {offset:#x} ends at {offset + size:#x},"
                    f" past the end of the file at {self.stream_size:#x}", offset=offset, field=field)
            return self.map[offset:offset + size]
        if offset + size > self.size:
            raise IncompleteDumpError(
                f"{field} at logical offset {offset:#x} ends at {offset + size:#x}, past the"
                f" {self.size:#x} bytes the flattened stream wrote", offset=offset, field=field)
        parts = []
        position, end = offset, offset + size
        index = max(bisect.bisect_right(self._starts, position) - 1, 0)
        segments = self.segments
        while position < end:
            while index < len(segments) and segments[index][0] + segments[index][2] <= position:
                index += 1
            if index >= len(segments) or segments[index][0] >= end:
                parts.append(bytes(end - position))
                break
            start, stream, length = segments[index]
            if start > position:
                # Never written: a hole in the file makedumpfile -R would have rebuilt.
                parts.append(bytes(start - position))
                position = start
            take = min(end, start + length) - position
            at = stream + position - start
            parts.append(self.map[at:at + take])
            position += take
        return b"".join(parts)
