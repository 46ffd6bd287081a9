"""Page codecs of makedumpfile's kdump-compressed format (DUMP_DH_COMPRESSED_ZLIB/LZO/SNAPPY/ZSTD),
and the kernel's own compressors of swapped-out pages (zram, zswap: :func:`decompress_kernel_page`).

Each page is stored as one self-contained block that must decode to exactly one page.
:class:`Decompressor` runs on the C extension when it is built, else on pure Python
(zlib from the stdlib, zstandard, python-snappy, python-lzo or our own LZO1X decoder).
"""
import importlib
import zlib
from types import ModuleType
from typing import Any, Optional

from .. import native as _native
from ..errors import FormatError
from ..native import CODEC_NAMES, Codec, CodecUnavailableError, Context, Fault, Status
from . import lzo1x

# The codec libraries of the pure path, each imported when a page first needs it and then kept as
# this module's attribute (None when it is not installed): an ELF dump, or a kdump read in C, needs
# none of them, and importing all four cost ~6 ms of every command's start-up (zstandard alone
# imports platform).  Tests set an attribute to None to play a missing library.
_LIBRARIES = {"zstandard": "zstandard", "snappy": "snappy", "lzo": "lzo", "lz4_block": "lz4.block"}


def __getattr__(name: str) -> Any:
    if name not in _LIBRARIES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module: Optional[ModuleType] = importlib.import_module(_LIBRARIES[name])
    except ImportError:  # depends on the environment
        module = None
    globals()[name] = module
    return module


def _library(name: str) -> Optional[ModuleType]:
    """The codec library kept as attribute ``name`` (imported now if it was not yet), or None."""
    return globals()[name] if name in globals() else __getattr__(name)

CODEC_NONE, CODEC_ZLIB, CODEC_LZO, CODEC_SNAPPY, CODEC_ZSTD = (Codec.NONE, Codec.ZLIB, Codec.LZO, Codec.SNAPPY,
                                                               Codec.ZSTD)
__all__ = ["CODEC_NAMES", "CODEC_NONE", "CODEC_ZLIB", "CODEC_LZO", "CODEC_SNAPPY", "CODEC_ZSTD",
           "CodecUnavailableError", "Decompressor", "KERNEL_COMPRESSORS", "decompress_kernel_page"]

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _error(status: Status, codec: int, size: int = 0, found: Optional[int] = None, reason: str = "") -> Exception:
    """The exception for a lone page, worded by the one builder both twins share."""
    return _native.error(status, Fault(detail=codec), Context(page_size=size, found_size=found, reason=reason))


def _corrupt(codec: int, reason: str = "") -> Exception:
    return _error(Status.CORRUPT, codec, reason=reason)


def _wrong_size(codec: int, size: int, found: Optional[int] = None) -> Exception:
    return _error(Status.SIZE, codec, size, found)


def _zstd_frame_length(data: bytes) -> int:
    """Length of the zstd frame at the start of ``data``, walking its block headers.

    Mirrors ZSTD_findFrameCompressedSize, so trailing bytes and concatenated frames
    are rejected on the pure path exactly as on the C path.
    """
    if data[:4] != _ZSTD_MAGIC:
        raise _corrupt(CODEC_ZSTD, "no zstd frame magic")
    zstandard = _library("zstandard")
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


def _zlib_runs_past(data: bytes, size: int) -> bool:
    """Whether the deflate data of zlib stream ``data`` yields more than ``size`` bytes before any damage.

    csrc/codecs.c probes one byte past a full page and calls the page too long when that byte comes,
    even if the adler32 or a later block is damaged too; Python's zlib raises on that damage and loses
    the byte, so the probe is made on the raw deflate data (no checksum; kdump pages use no preset
    dictionary), which stops at the extra byte before decoding further."""
    try:
        return len(zlib.decompressobj(-15).decompress(bytes(data[2:]), size + 1)) > size
    except zlib.error:
        return False


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
    """Reusable per-reader codec contexts, C or pure Python, chosen once.

    ``native=None`` picks C when the extension is built; a codec the extension was
    built without is decoded by the Python twin.  An instance reuses its contexts
    from call to call, so give each reader (or thread) its own.
    ``decompress(codec, data, size)`` is the chosen twin's method, bound here
    because per-call overhead is most of the gap to the C floor on small pages.
    """

    native: bool

    def __init__(self, native: Optional[bool] = None):
        self.native = _native.use_native(native)
        self._twin = _NativeCodecs() if self.native else _PureCodecs()
        self.decompress = self._twin.decompress


class _NativeCodecs:
    """Page decompression through csrc/codecs.c (pc_decompress)."""

    def __init__(self) -> None:
        ffi, lib = _native.ffi, _native.lib
        codecs = lib.pc_codecs_new()
        if codecs == ffi.NULL:
            raise MemoryError("pc_codecs_new: could not allocate codec contexts")
        self._codecs = ffi.gc(codecs, lib.pc_codecs_free)
        self._decompress, self._from_buffer, self._buffer = lib.pc_decompress, ffi.from_buffer, ffi.buffer
        self._new = ffi.new
        self._out = ffi.new("uint8_t[]", 4096)
        self._out_size = 4096
        self._python = _PureCodecs()
        self._python_codecs = frozenset(Codec) - _native.NATIVE_CODECS

    def decompress(self, codec: int, data: "bytes | bytearray | memoryview", size: int) -> bytes:
        """Decompress one page stored with ``codec`` into exactly ``size`` bytes (see _PureCodecs)."""
        if codec in self._python_codecs:
            return self._python.decompress(codec, data, size)
        if size > self._out_size:
            self._out, self._out_size = self._new("uint8_t[]", size), size
        out = self._out
        status = self._decompress(self._codecs, codec, self._from_buffer(data), len(data), out, size)
        if status == 0:
            return self._buffer(out, size)[:]
        raise _error(status, codec, size, len(data) if codec == CODEC_NONE else None)


class _PureCodecs:
    """Page decompression in pure Python: zlib from the stdlib, zstandard, python-snappy,
    python-lzo or our own LZO1X decoder; every check mirrors csrc/codecs.c."""

    def __init__(self) -> None:
        self._zstd = None

    def decompress(self, codec: int, data: "bytes | bytearray | memoryview", size: int) -> bytes:
        """Decompress one page stored with ``codec`` into exactly ``size`` bytes.

        Raises :class:`FormatError` (field "page data", no offset: the caller knows it)
        if the data is corrupt, decodes to another size, or ``codec`` is unknown, and
        :class:`CodecUnavailableError` if the codec's Python module is not installed.
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
        raise _error(Status.CODEC, codec)

    @staticmethod
    def _decompress_zlib(data, size: int) -> bytes:
        stream = zlib.decompressobj()
        try:
            out = stream.decompress(data, size)
        except zlib.error as error:
            raise _corrupt(CODEC_ZLIB, str(error)) from None
        if len(out) == size and not stream.eof and _zlib_runs_past(data, size):
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
        lzo = _library("lzo")
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
        snappy = _library("snappy")
        if snappy is None:
            raise _error(Status.CODEC_UNAVAILABLE, CODEC_SNAPPY,
                         reason="pip install python-snappy (or build pycore's C extension with libsnappy)")
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
        zstandard = _library("zstandard")
        if zstandard is None:
            raise _error(Status.CODEC_UNAVAILABLE, CODEC_ZSTD,
                         reason="pip install zstandard (or build pycore's C extension with libzstd)")
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
            # The page's own size as the bound, as C gives ZSTD_decompressDCtx: a block that would
            # overrun it is a size error before it is decoded, whatever damage lies beyond.
            out = self._zstd.decompress(data, max_output_size=size)
        except zstandard.ZstdError as error:
            # The frame's blocks were all present (walked above), so an unfinished frame
            # means the output bound was hit: the page is too long, not damaged.
            # zstandard's wording of ZSTD_error_dstSize_tooSmall, which C reports as a size error too.
            if "did not decompress full frame" in str(error) or "Destination buffer is too small" in str(error):
                raise _wrong_size(CODEC_ZSTD, size) from None
            raise _corrupt(CODEC_ZSTD, str(error)) from None
        if len(out) != size:
            raise _wrong_size(CODEC_ZSTD, size, len(out))
        return out


# -- the kernel's compressors (crypto API and zram backend names) ------------------------------
_KERNEL_FIELD = "compressed page"
# The kernel's lzo-rle (5.1+) opens its stream with 17 and the bitstream version; version 1 may
# hold zero runs (an M4 instruction with distance 0xbfff), which liblzo does not know (lzo1x.py does).
_LZO_RLE_MARKER = 17


def _kernel_corrupt(compressor: str, reason: str) -> FormatError:
    return FormatError(f"{compressor}: {reason}", field=_KERNEL_FIELD)


def _kernel_unavailable(compressor: str, reason: str) -> CodecUnavailableError:
    return CodecUnavailableError(f"pages compressed by the kernel with {compressor}: {reason}")


def _kernel_size(compressor: str, out: bytes, size: int) -> bytes:
    if len(out) != size:
        raise _kernel_corrupt(compressor, f"decodes to {len(out)} bytes, expected {size}")
    return out


def _kernel_lz4(data: bytes, size: int, compressor: str) -> bytes:
    """LZ4 block format (LZ4_compress_default, and LZ4HC, which writes the same format)."""
    lz4_block = _library("lz4_block")
    if lz4_block is None:
        raise _kernel_unavailable(compressor, "pip install lz4")
    try:
        out = lz4_block.decompress(data, uncompressed_size=size)
    except lz4_block.LZ4BlockError as error:
        raise _kernel_corrupt(compressor, str(error)) from None
    return _kernel_size(compressor, out, size)


def _kernel_zstd(data: bytes, size: int, compressor: str) -> bytes:
    """One zstd frame (zstd_compress_cctx): the same check as a kdump page's."""
    return _PureCodecs()._decompress_zstd(data, size)


def _kernel_deflate(data: bytes, size: int, compressor: str) -> bytes:
    """Raw deflate, no zlib header: the kernel's deflate compressor calls zlib_deflateInit2 with
    negative window bits (crypto/deflate.c, zram's backend_deflate.c)."""
    stream = zlib.decompressobj(-15)
    try:
        out = stream.decompress(data, size)
    except zlib.error as error:
        raise _kernel_corrupt(compressor, str(error)) from None
    if not stream.eof:
        raise _kernel_corrupt(compressor, "stream is truncated or decodes past one page")
    return _kernel_size(compressor, out, size)


def _kernel_lzo(data: bytes, size: int, compressor: str) -> bytes:
    """LZO1X.  lzo-rle (5.1+) starts with a header (17, bitstream version); from version 1 its
    distance-0xbfff instructions are runs of zeros, which only lzo1x.py decodes (zero_runs)."""
    if not (compressor == "lzo-rle" and len(data) >= 5 and data[0] == _LZO_RLE_MARKER):
        return _PureCodecs._decompress_lzo(data, size)
    return lzo1x.decompress(data[2:], size, zero_runs=data[1] >= 1)


# The names zram's comp_algorithm and zswap's compressor parameter take, and their decoders.
KERNEL_COMPRESSORS = {
    "lz4": _kernel_lz4,
    "lz4hc": _kernel_lz4,
    "zstd": _kernel_zstd,
    "deflate": _kernel_deflate,
    "lzo": _kernel_lzo,
    "lzo-rle": _kernel_lzo,
}


def decompress_kernel_page(compressor: str, data: "bytes | bytearray | memoryview", size: int) -> bytes:
    """Decompress one page the kernel compressed with ``compressor`` (a zram ``comp_algorithm`` or
    zswap ``compressor`` name: lz4, lz4hc, zstd, deflate, lzo, lzo-rle) into exactly ``size`` bytes.

    Raises FormatError (field "compressed page") when the data is corrupt or decodes to another
    size, and CodecUnavailableError for a compressor pycore cannot decode (842, lzo-rle's zero
    runs) or whose Python module is missing.
    """
    decode = KERNEL_COMPRESSORS.get(compressor)
    if decode is None:
        raise _kernel_unavailable(compressor, f"pycore decodes {', '.join(KERNEL_COMPRESSORS)}")
    return decode(bytes(data), size, compressor)
