"""A pure-Python LZO1X decoder, for pages of kdump-compressed dumps written with LZO and pages
the kernel compressed with lzo and lzo-rle (zram, zswap).

Decodes what liblzo's lzo1x_1_compress emits (bitstream version 0) and, when asked, the zero
runs of the kernel's lzo-rle (bitstream version 1, 5.1+), which liblzo does not know.  The
instruction encoding follows the Linux kernel's Documentation/staging/lzo.rst.  Hostile input is
expected: output never grows past ``size``, every literal run and back-reference is checked
against the buffers, and every loop consumes input, so decoding always terminates.
"""
from ..errors import FormatError

_FIELD = "page data"
# The three-byte end-of-stream instruction: a 16..48 kB copy whose distance is 0.
_MIN_STREAM = 3
# lzo-rle's zero run (lzo.rst, version 1): a 16..48 kB copy instruction with H set and every
# distance bit set (distance 0xbfff), then a fourth byte X; the run is (X << 3 | L) + 4 zeros.
_ZERO_RUN_MIN = 4


def _corrupt(message: str) -> FormatError:
    return FormatError(f"LZO1X: {message}", field=_FIELD)


def _extended_length(src: bytes, ip: int, base: int) -> "tuple[int, int]":
    """Read a length continued in extra bytes: each zero byte adds 255, then a non-zero byte ends it."""
    end = len(src)
    start = ip
    while ip < end and src[ip] == 0:
        ip += 1
    if ip >= end:
        raise _corrupt("stream ends inside a length")
    return base + 255 * (ip - start) + src[ip], ip + 1


def _literals(src: bytes, ip: int, out: bytearray, count: int, size: int) -> int:
    """Copy the ``count`` literals an instruction's low bits ask for; returns the new input position."""
    if len(out) + count > size:
        raise _size_overrun(size)
    if ip + count > len(src):
        raise _corrupt("literals run past the end of the block")
    out += src[ip:ip + count]
    return ip + count


def decompress(data: "bytes | bytearray | memoryview", size: int, zero_runs: bool = False) -> bytes:
    """Decode one LZO1X block that must expand to exactly ``size`` bytes; with ``zero_runs``, an
    lzo-rle block of bitstream version 1 (its two header bytes already taken off), whose
    distance-0xbfff instructions are runs of zeros.

    Raises :class:`FormatError` if the block is malformed, truncated, has bytes after
    its end marker, refers back before the start of the output, or expands to any
    size other than ``size``.
    """
    src = bytes(data)
    end = len(src)
    if end < _MIN_STREAM:
        raise _corrupt(f"block of {end} bytes is shorter than the end-of-stream marker")
    out = bytearray()
    ip = 0
    # state: literals copied by the previous instruction (0-3), or 4 after a literal run.
    state = 0
    if src[0] > 17:
        # The first byte may start with a literal run, since there is no dictionary yet.
        count = src[0] - 17
        ip = 1
        if count > size:
            raise _size_overrun(size)
        if ip + count > end:
            raise _corrupt("literal run runs past the end of the block")
        out += src[ip:ip + count]
        ip += count
        state = count if count < 4 else 4

    while True:
        if ip >= end:
            raise _corrupt("block ends without an end-of-stream marker")
        inst = src[ip]
        ip += 1
        trailing = 0
        if inst < 16:
            if state == 0:
                count = inst
                if count == 0:
                    count, ip = _extended_length(src, ip, 15)
                count += 3
                if len(out) + count > size:
                    raise _size_overrun(size)
                if ip + count > end:
                    raise _corrupt("literal run runs past the end of the block")
                out += src[ip:ip + count]
                ip += count
                state = 4
                continue
            if ip >= end:
                raise _corrupt("stream ends inside a match")
            if state == 4:
                length = 3
                distance = (src[ip] << 2) + ((inst >> 2) & 3) + 2049
            else:
                length = 2
                distance = (src[ip] << 2) + ((inst >> 2) & 3) + 1
            ip += 1
            trailing = inst & 3
        elif inst < 32:
            length = inst & 7
            if length == 0:
                length, ip = _extended_length(src, ip, 7)
            elif zero_runs and inst & 8 and ip + 2 <= end and src[ip] & 0xFC == 0xFC and src[ip + 1] == 0xFF:
                if ip + 3 > end:
                    raise _corrupt("stream ends inside a zero run")
                run = (src[ip + 2] << 3 | length) + _ZERO_RUN_MIN
                if len(out) + run > size:
                    raise _size_overrun(size)
                out += bytes(run)
                state = src[ip] & 3
                ip = _literals(src, ip + 3, out, state, size)
                continue
            length += 2
            if ip + 2 > end:
                raise _corrupt("stream ends inside a match distance")
            operand = src[ip] | (src[ip + 1] << 8)
            ip += 2
            distance = ((inst & 8) << 11) + (operand >> 2)
            if distance == 0:
                break
            distance += 16384
            trailing = operand & 3
        elif inst < 64:
            length = inst & 31
            if length == 0:
                length, ip = _extended_length(src, ip, 31)
            length += 2
            if ip + 2 > end:
                raise _corrupt("stream ends inside a match distance")
            operand = src[ip] | (src[ip + 1] << 8)
            ip += 2
            distance = (operand >> 2) + 1
            trailing = operand & 3
        else:
            if ip >= end:
                raise _corrupt("stream ends inside a match distance")
            length = (3 + ((inst >> 5) & 1)) if inst < 128 else (5 + ((inst >> 5) & 3))
            distance = (src[ip] << 3) + ((inst >> 2) & 7) + 1
            ip += 1
            trailing = inst & 3

        position = len(out)
        if distance > position:
            raise _corrupt(f"match distance {distance} reaches before the start of the page "
                           f"(output position {position})")
        if position + length > size:
            raise _size_overrun(size)
        start = position - distance
        if distance >= length:
            out += out[start:start + length]
        else:
            # Overlapping copy: the match repeats the last `distance` bytes.
            pattern = out[start:position]
            out += (pattern * (length // distance + 1))[:length]

        ip = _literals(src, ip, out, trailing, size)
        state = trailing

    if ip != end:
        raise _corrupt(f"{end - ip} bytes follow the end-of-stream marker")
    if len(out) != size:
        raise FormatError(f"LZO1X block decodes to {len(out)} bytes, expected {size}", field=_FIELD)
    return bytes(out)


def _size_overrun(size: int) -> FormatError:
    return FormatError(f"LZO1X block decodes to more than the expected {size} bytes", field=_FIELD)
