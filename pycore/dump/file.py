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

from ..errors import FormatError, IncompleteDumpError


class DumpFile:
    """A memory-mapped file, read at logical offsets through sorted, non-overlapping segments.

    ``segments`` is a list of ``(logical_offset, stream_offset, length)``; bytes of
    the logical file no segment covers were never written and read as an error.
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
        if not self.flattened:
            if offset + size > self.stream_size:
                raise IncompleteDumpError(
                    f"{field} at file offset {offset:#x} ends at {offset + size:#x},"
                    f" past the end of the file at {self.stream_size:#x}", offset=offset, field=field)
            return self.map[offset:offset + size]
        parts = []
        position, end = offset, offset + size
        index = bisect.bisect_right(self._starts, position) - 1
        while position < end:
            if index < 0 or index >= len(self.segments):
                raise self._hole(position, field)
            start, stream, length = self.segments[index]
            if not start <= position < start + length:
                raise self._hole(position, field)
            take = min(end, start + length) - position
            at = stream + position - start
            parts.append(self.map[at:at + take])
            position += take
            index += 1
        return b"".join(parts)

    def _hole(self, position: int, field: str) -> IncompleteDumpError:
        return IncompleteDumpError(
            f"{field}: logical file offset {position:#x} was never written to the flattened stream",
            offset=position, field=field)
