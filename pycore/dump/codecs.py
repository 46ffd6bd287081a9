"""Page codecs of makedumpfile's kdump-compressed format (DUMP_DH_COMPRESSED_ZLIB/LZO/SNAPPY/ZSTD).

Each page is stored as one self-contained block that must decode to exactly one page.
:class:`Decompressor` runs on the C extension when it is built, else on pure Python
(zlib from the stdlib, zstandard, python-snappy, python-lzo or our own LZO1X decoder).
"""
import zlib
from typing import Optional

from .. import native as _native
from ..errors import FormatError, PycoreError
from . import lzo1x

try:
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None
try:
    import snappy
except ImportError:  # pragma: no cover
    snappy = None
try:
    import lzo
except ImportError:  # pragma: no cover
    lzo = None

CODEC_NONE, CODEC_ZLIB, CODEC_LZO, CODEC_SNAPPY, CODEC_ZSTD = 0, 1, 2, 3, 4
CODEC_NAMES = {
    CODEC_NONE: "none",
    CODEC_ZLIB: "zlib",
    CODEC_LZO: "lzo",
    CODEC_SNAPPY: "snappy",
    CODEC_ZSTD: "zstd",
}

_FIELD = "page data"
# Return codes of csrc/codecs.h.
_PC_OK, _PC_ERR_CORRUPT, _PC_ERR_SIZE, _PC_ERR_NOMEM, _PC_ERR_CODEC = 0, -1, -2, -3, -4
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class CodecUnavailableError(PycoreError):
    """The dump uses a codec whose Python module is not installed (and C is not in use)."""


def _codec_name(codec: int) -> str:
    return CODEC_NAMES.get(codec, f"codec {codec}")


def _unknown_codec(codec: int) -> FormatError:
    return FormatError(f"unknown page compression {codec}; expected one of "
                       f"{', '.join(f'{n} ({c})' for c, n in CODEC_NAMES.items())}", field=_FIELD)


def _corrupt(codec: int, detail: str = "") -> FormatError:
    message = f"{_codec_name(codec)} page data is corrupt"
    return FormatError(f"{message}: {detail}" if detail else message, field=_FIELD)


def _wrong_size(codec: int, size: int, found: Optional[int] = None) -> FormatError:
    found_text = "another size" if found is None else f"{found} bytes"
    if codec == CODEC_NONE:
        return FormatError(f"uncompressed page is {found_text}, expected {size}", field=_FIELD)
    return FormatError(f"{_codec_name(codec)} page decompresses to {found_text}, expected {size}",
                       field=_FIELD)


def _native_error(ret: int, codec: int, data, size: int) -> Exception:
    """The exception for a pc_decompress return code (csrc/codecs.h)."""
    if ret == _PC_ERR_SIZE:
        return _wrong_size(codec, size, len(data) if codec == CODEC_NONE else None)
    if ret == _PC_ERR_CODEC:
        return _unknown_codec(codec)
    if ret == _PC_ERR_NOMEM:
        return MemoryError(f"{_codec_name(codec)}: out of memory decompressing a page")
    return _corrupt(codec)


def _zstd_frame_length(data: bytes) -> int:
    """Length of the zstd frame at the start of ``data``, walking its block headers.

    Mirrors ZSTD_findFrameCompressedSize, so trailing bytes and concatenated frames
    are rejected on the pure path exactly as on the C path.
    """
    if data[:4] != _ZSTD_MAGIC:
        raise _corrupt(CODEC_ZSTD, "no zstd frame magic")
    try:
        position = zstandard.frame_header_size(data)
    except zstandard.ZstdError as error:
        raise _corrupt(CODEC_ZSTD, str(error)) from None
    while True:
        if position + 3 > len(data):
            raise _corrupt(CODEC_ZSTD, "frame ends inside a block header")
        header = int.from_bytes(data[position:position + 3], "little")
        position += 3
        block_type = (header >> 1) & 3
        if block_type == 3:
            raise _corrupt(CODEC_ZSTD, "reserved block type")
        position += 1 if block_type == 1 else header >> 3  # an RLE block stores one byte
        if header & 1:
            break
    if data[4] & 0x04:  # Content_Checksum_flag of the frame header descriptor
        position += 4
    if position > len(data):
        raise _corrupt(CODEC_ZSTD, "frame is truncated")
    return position


def _snappy_length(data: bytes) -> int:
    """The decoded length a raw snappy block declares in its leading varint."""
    value = 0
    for index in range(min(5, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value
    raise _corrupt(CODEC_SNAPPY, "bad length header")


class Decompressor:
    """Reusable per-reader codec contexts, C or pure Python.

    ``native=None`` picks C when the extension is built.  An instance reuses its
    contexts and output buffer from call to call, so give each reader (or thread)
    its own.
    """

    native: bool

    def __init__(self, native: Optional[bool] = None):
        self.native = _native.use_native(native)
        self._codecs = None
        self._zstd = None
        if self.native:
            ffi, lib = _native.ffi, _native.lib
            codecs = lib.pc_codecs_new()
            if codecs == ffi.NULL:
                raise MemoryError("pc_codecs_new: could not allocate codec contexts")
            self._codecs = ffi.gc(codecs, lib.pc_codecs_free)
            # Per-call overhead is most of the gap to the C floor on small pages, so the
            # C path is bound once here and shadows the dispatching method.
            self.decompress = self._native_decompressor()

    def decompress(self, codec: int, data: "bytes | bytearray | memoryview", size: int) -> bytes:
        """Decompress one page stored with ``codec`` into exactly ``size`` bytes.

        Raises :class:`FormatError` (field "page data", no offset: the caller knows it)
        if the data is corrupt, decodes to another size, or ``codec`` is unknown, and
        :class:`CodecUnavailableError` if the pure path lacks the codec's module.
        """
        if codec == CODEC_NONE:
            if len(data) != size:
                raise _wrong_size(codec, size, len(data))
            return bytes(data)
        if codec == CODEC_ZLIB:
            return self._decompress_zlib(data, size)
        if codec == CODEC_LZO:
            return self._decompress_lzo(data, size)
        if codec == CODEC_SNAPPY:
            return self._decompress_snappy(data, size)
        if codec == CODEC_ZSTD:
            return self._decompress_zstd(data, size)
        raise _unknown_codec(codec)

    def _native_decompressor(self):
        ffi, lib = _native.ffi, _native.lib
        pc_decompress, from_buffer, buffer = lib.pc_decompress, ffi.from_buffer, ffi.buffer
        codecs = self._codecs
        out = ffi.new("uint8_t[]", 4096)
        out_size = 4096

        def decompress(codec: int, data: "bytes | bytearray | memoryview", size: int) -> bytes:
            nonlocal out, out_size
            if size > out_size:
                out, out_size = ffi.new("uint8_t[]", size), size
            ret = pc_decompress(codecs, codec, from_buffer(data), len(data), out, size)
            if ret == _PC_OK:
                return buffer(out, size)[:]
            raise _native_error(ret, codec, data, size)

        decompress.__doc__ = Decompressor.decompress.__doc__
        return decompress

    @staticmethod
    def _decompress_zlib(data, size: int) -> bytes:
        stream = zlib.decompressobj()
        try:
            # One byte past the page is enough to tell "too long" from "exactly right".
            out = stream.decompress(data, size + 1)
        except zlib.error as error:
            raise _corrupt(CODEC_ZLIB, str(error)) from None
        if len(out) > size:
            raise _wrong_size(CODEC_ZLIB, size)
        if not stream.eof:
            raise _corrupt(CODEC_ZLIB, "stream is truncated")
        if stream.unused_data:
            raise _corrupt(CODEC_ZLIB, f"{len(stream.unused_data)} bytes follow the stream")
        if len(out) != size:
            raise _wrong_size(CODEC_ZLIB, size, len(out))
        return out

    @staticmethod
    def _decompress_lzo(data, size: int) -> bytes:
        if lzo is None:
            return lzo1x.decompress(data, size)
        try:
            out = lzo.decompress(bytes(data), False, size)
        except lzo.error as error:
            # python-lzo reports liblzo's code; -5 is LZO_E_OUTPUT_OVERRUN.
            if str(error).endswith(" -5"):
                raise _wrong_size(CODEC_LZO, size) from None
            raise _corrupt(CODEC_LZO, str(error)) from None
        if len(out) != size:
            raise _wrong_size(CODEC_LZO, size, len(out))
        return out

    @staticmethod
    def _decompress_snappy(data, size: int) -> bytes:
        if snappy is None:
            raise CodecUnavailableError(
                "this dump has snappy-compressed pages: pip install python-snappy "
                "(or build pycore's C extension)")
        data = bytes(data)
        # Check the declared length first so a hostile header cannot make us allocate.
        declared = _snappy_length(data)
        if declared != size:
            raise _wrong_size(CODEC_SNAPPY, size, declared)
        try:
            out = snappy.uncompress(data)
        except Exception as error:  # python-snappy's error types differ across versions
            raise _corrupt(CODEC_SNAPPY, str(error) or type(error).__name__) from None
        if len(out) != size:
            raise _wrong_size(CODEC_SNAPPY, size, len(out))
        return bytes(out)

    def _decompress_zstd(self, data, size: int) -> bytes:
        if zstandard is None:
            raise CodecUnavailableError(
                "this dump has zstd-compressed pages: pip install zstandard "
                "(or build pycore's C extension)")
        data = bytes(data)
        if _zstd_frame_length(data) != len(data):
            raise _corrupt(CODEC_ZSTD, "bytes follow the frame")
        try:
            declared = zstandard.frame_content_size(data)
        except zstandard.ZstdError as error:
            raise _corrupt(CODEC_ZSTD, str(error)) from None
        if declared != -1 and declared != size:
            raise _wrong_size(CODEC_ZSTD, size, declared)
        if self._zstd is None:
            self._zstd = zstandard.ZstdDecompressor()
        try:
            # A frame without a content size needs a bound; one byte over detects "too long".
            out = self._zstd.decompress(data, max_output_size=size + 1)
        except zstandard.ZstdError as error:
            # The frame's blocks were all present (walked above), so an unfinished frame
            # means the output bound was hit: the page is too long, not damaged.
            if "did not decompress full frame" in str(error):
                raise _wrong_size(CODEC_ZSTD, size) from None
            raise _corrupt(CODEC_ZSTD, str(error)) from None
        if len(out) != size:
            raise _wrong_size(CODEC_ZSTD, size, len(out))
        return out
