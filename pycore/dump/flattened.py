"""makedumpfile's flattened stream (``makedumpfile -F``, and QEMU's kdump output).

The stream is a 4 KiB ``makedumpfile_header`` and then records of a 16-byte
``makedumpfile_data_header`` (big-endian ``offset``, ``buf_size``) followed by
``buf_size`` bytes to be written at ``offset``; ``offset == -1`` ends it.  We
index the records once and read the dump in place, never rearranging it.
"""
import bisect
import struct
from typing import List, Optional, Tuple

from ..errors import FormatError
from ..progress import Progress

MAKEDUMPFILE_SIGNATURE = b"makedumpfile"
MAX_SIZE_MDF_HEADER = 4096
TYPE_FLAT_HEADER = 1
VERSION_FLAT_HEADER = 1
END_FLAG_FLAT_HEADER = -1
_DATA_HEADER = struct.Struct(">qq")
_PROGRESS_STAGE = "indexing flattened stream"
_PROGRESS_STEP = 64 << 20


def is_flattened(head: bytes) -> bool:
    return head[:16].rstrip(b"\0") == MAKEDUMPFILE_SIGNATURE


class FlattenedIndex:
    """The segments of a flattened stream, and whether its end marker was found."""

    def __init__(self, segments: List[Tuple[int, int, int]], complete: bool, stream_end: int):
        self.segments = segments
        self.complete = complete
        self.stream_end = stream_end


def index_flattened(data, stream_size: int, progress: Optional[Progress] = None) -> FlattenedIndex:
    """Index the records of a flattened stream held in ``data`` (bytes or mmap).

    Later records win where two write the same logical bytes, as they would if
    the stream were rearranged into a file.  ``progress`` is called as
    ``progress("indexing flattened stream", position, stream_size)`` every 64 MiB
    and once at the end: a gigabyte stream takes seconds to index.
    """
    if stream_size < MAX_SIZE_MDF_HEADER:
        raise FormatError(f"flattened stream is {stream_size} bytes, shorter than its {MAX_SIZE_MDF_HEADER}-byte header",
                          offset=0, field="makedumpfile_header")
    kind, version = struct.unpack_from(">qq", data, 16)
    if kind != TYPE_FLAT_HEADER or version != VERSION_FLAT_HEADER:
        raise FormatError(f"flattened header type {kind} version {version}, expected 1 and 1",
                          offset=16, field="makedumpfile_header.type")
    records: List[Tuple[int, int, int]] = []
    position = MAX_SIZE_MDF_HEADER
    complete = False
    unpack = _DATA_HEADER.unpack_from
    next_report = _PROGRESS_STEP
    while position + 16 <= stream_size:
        if progress is not None and position >= next_report:
            progress(_PROGRESS_STAGE, position, stream_size)
            next_report = position + _PROGRESS_STEP
        offset, size = unpack(data, position)
        if offset == END_FLAG_FLAT_HEADER and size == END_FLAG_FLAT_HEADER:
            complete = True
            position += 16
            break
        if offset < 0 or size < 0 or size > stream_size:
            raise FormatError(f"flattened record with offset {offset} and buf_size {size}",
                              offset=position, field="makedumpfile_data_header")
        if position + 16 + size > stream_size:
            # The stream was cut short inside this record: keep what arrived.
            size = stream_size - position - 16
        if size:
            records.append((offset, position + 16, size))
        position += 16 + size
    if progress is not None:
        progress(_PROGRESS_STAGE, stream_size, stream_size)
    return FlattenedIndex(_resolve_overlaps(records), complete, position)


def _resolve_overlaps(records: List[Tuple[int, int, int]]) -> List[Tuple[int, int, int]]:
    ordered = sorted(records)
    if all(a[0] + a[2] <= b[0] for a, b in zip(ordered, ordered[1:])):
        return ordered
    # Rare: a region was written twice.  Walk the records from the last one back,
    # keeping only the bytes that no later record already covers.
    starts: List[int] = []
    kept: List[Tuple[int, int, int]] = []
    for logical, stream, size in reversed(records):
        cursor, end = logical, logical + size
        index = max(bisect.bisect_right(starts, cursor) - 1, 0)
        fragments = []
        while cursor < end:
            while index < len(kept) and kept[index][0] + kept[index][2] <= cursor:
                index += 1
            if index < len(kept) and kept[index][0] <= cursor:
                cursor = kept[index][0] + kept[index][2]
                continue
            limit = min(end, kept[index][0]) if index < len(kept) else end
            fragments.append((cursor, stream + cursor - logical, limit - cursor))
            cursor = limit
        for fragment in fragments:
            position = bisect.bisect_left(starts, fragment[0])
            starts.insert(position, fragment[0])
            kept.insert(position, fragment)
    return kept
