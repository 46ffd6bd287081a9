"""Hypothesis strategies that mutate a seed the way damaged and hostile files differ from good ones.

Binary seeds get bit flips, fields overwritten with boundary values (0, -1, 2**31, 2**63,
all ones) at widths 1-8 in either byte order, zeroed or copied spans and truncation,
mostly inside the seed's structure ranges.  Text seeds (VMCOREINFO, logs, System.map) get
numbers replaced by boundary tokens (negative, 300 and 5000 digits, hex past 64 bits),
lines dropped, repeated, swapped or cut, and raw byte damage.
"""
import re
from typing import List

from hypothesis import strategies as st

from .make_seeds import Seed

BOUNDARY_INTS = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                 0xFFFFFFFF, 1 << 32, 0x7FFFFFFFFFFFFFFF, 1 << 63, (1 << 64) - 1)
BOUNDARY_TOKENS = ("0", "1", "-1", "-88", "4095", "4096", "2147483647", "2147483648", "4294967296",
                   "9223372036854775808", "18446744073709551616", "9" * 300, "9" * 5000, "0x" + "f" * 20,
                   "ffffffffffffffff", "1" + "0" * 17, "", "-", "zz", "1e9", " ")
_NUMBER = re.compile(rb"-?(?:0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*")
MAX_OPERATIONS = 6


def _position(seed: Seed) -> st.SearchStrategy[int]:
    """A byte position, nine times in ten inside one of the seed's structure ranges."""
    size = max(len(seed.data), 1)
    hot = [(start, min(end, size)) for start, end in seed.hot if start < min(end, size)]
    anywhere = st.integers(0, size - 1)
    if not hot:
        return anywhere
    inside = st.sampled_from(hot).flatmap(lambda span: st.integers(span[0], span[1] - 1))
    return st.one_of(inside, inside, inside, inside, inside, inside, inside, inside, inside, anywhere)


def _binary_operation(seed: Seed) -> st.SearchStrategy[tuple]:
    position = _position(seed)
    return st.one_of(
        st.tuples(st.just("flip"), position, st.integers(0, 7)),
        st.tuples(st.just("set"), position, st.sampled_from((1, 2, 4, 8)),
                  st.one_of(st.sampled_from(BOUNDARY_INTS), st.integers(0, (1 << 64) - 1)),
                  st.sampled_from(("little", "little", "big"))),
        st.tuples(st.just("zero"), position, st.integers(1, 64)),
        st.tuples(st.just("copy"), position, position, st.integers(1, 64)),
        st.tuples(st.just("truncate"), position),
    )


def apply_binary(data: bytes, operations: List[tuple]) -> bytes:
    out = bytearray(data)
    for operation in operations:
        kind, position = operation[0], operation[1]
        if kind == "truncate":
            del out[position:]
            continue
        if position >= len(out):
            continue
        if kind == "flip":
            out[position] ^= 1 << operation[2]
        elif kind == "set":
            _, _, width, value, order = operation
            field = (value & ((1 << (8 * width)) - 1)).to_bytes(width, order)
            out[position:position + width] = field[:len(out) - position]
        elif kind == "zero":
            end = min(position + operation[2], len(out))
            out[position:end] = bytes(end - position)
        else:  # copy a span over another: a header where a descriptor should be, and so on
            _, _, target, length = operation
            chunk = bytes(out[position:position + length])
            if target < len(out):
                out[target:target + len(chunk)] = chunk[:len(out) - target]
    return bytes(out)


def _text_operation(lines: int, size: int) -> st.SearchStrategy[tuple]:
    line = st.integers(0, max(lines - 1, 0))
    return st.one_of(
        st.tuples(st.just("number"), line, st.integers(0, 7), st.sampled_from(BOUNDARY_TOKENS)),
        st.tuples(st.just("number"), line, st.integers(0, 7), st.sampled_from(BOUNDARY_TOKENS)),
        st.tuples(st.just("value"), line, st.sampled_from(BOUNDARY_TOKENS)),
        st.tuples(st.just("drop"), line),
        st.tuples(st.just("repeat"), line, st.integers(1, 50)),
        st.tuples(st.just("swap"), line, line),
        st.tuples(st.just("cut"), line, st.integers(0, 120)),
        st.tuples(st.just("byte"), st.integers(0, max(size - 1, 0)), st.integers(0, 255)),
    )


def apply_text(data: bytes, operations: List[tuple]) -> bytes:
    lines = data.split(b"\n")
    for operation in operations:
        kind = operation[0]
        if kind == "byte":
            joined = bytearray(b"\n".join(lines))
            if operation[1] < len(joined):
                joined[operation[1]] = operation[2]
            lines = bytes(joined).split(b"\n")
            continue
        index = operation[1] % len(lines)
        text = lines[index]
        if kind == "number":
            numbers = list(_NUMBER.finditer(text))
            if numbers:
                match = numbers[operation[2] % len(numbers)]
                lines[index] = text[:match.start()] + operation[3].encode() + text[match.end():]
        elif kind == "value":
            key, sep, _ = text.partition(b"=")
            lines[index] = key + sep + operation[2].encode() if sep else operation[2].encode() + text
        elif kind == "drop":
            del lines[index]
            if not lines:
                lines = [b""]
        elif kind == "repeat":
            lines[index:index] = [text] * operation[2]
        elif kind == "swap":
            other = operation[2] % len(lines)
            lines[index], lines[other] = lines[other], lines[index]
        else:  # cut
            lines[index] = text[:operation[2]]
    return b"\n".join(lines)


def operations(seed: Seed) -> st.SearchStrategy[List[tuple]]:
    """One to six mutations of the seed's kind (text or binary), as data: a failing example
    reads as the seed's name and a short list, not as megabytes of file."""
    if seed.text:
        count = seed.data.count(b"\n") + 1
        return st.lists(_text_operation(count, len(seed.data)), min_size=1, max_size=MAX_OPERATIONS)
    return st.lists(_binary_operation(seed), min_size=1, max_size=MAX_OPERATIONS)


def apply(seed: Seed, mutations: List[tuple]) -> bytes:
    """``seed.data`` with ``mutations`` (from :func:`operations`) applied."""
    return apply_text(seed.data, mutations) if seed.text else apply_binary(seed.data, mutations)


def seeded_operations(seeds) -> st.SearchStrategy[tuple]:
    """(seed name, mutations) for one of ``seeds``: names and operations, so that a failing
    example prints in a few lines."""
    by_name = {seed.name: seed for seed in seeds}
    return st.sampled_from(sorted(by_name)).flatmap(lambda name: st.tuples(st.just(name), operations(by_name[name])))
