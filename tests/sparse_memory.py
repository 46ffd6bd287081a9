"""Sparse little-endian kernel memory for helpers tested without a dump: a byte never put faults as a
page the dump left out would."""
from pycore.errors import FaultError


class Memory:
    """Bytes by address; :meth:`read` of one never put (or forgotten) raises FaultError."""

    def __init__(self):
        self.bytes = {}

    def put(self, address: int, value: int, size: int = 8) -> None:
        for i, b in enumerate((value & (2 ** (8 * size) - 1)).to_bytes(size, "little")):
            self.bytes[address + i] = b

    def forget(self, address: int, size: int) -> None:
        for i in range(size):
            self.bytes.pop(address + i, None)

    def read(self, address: int, size: int) -> bytes:
        try:
            return bytes(self.bytes[address + i] for i in range(size))
        except KeyError:
            raise FaultError("not in the synthetic dump", address) from None
