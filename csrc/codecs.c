/* Page decompression for makedumpfile's kdump-compressed format (DUMP_DH_COMPRESSED_*).
 *
 * Every length is checked against the buffer it indexes; the only state is the
 * per-reader struct pc_codecs, so independent readers never share anything.
 */
#include "pc_codecs.h"

#include <stdlib.h>
#include <string.h>

#ifdef PYCORE_HAVE_LZO
#include <lzo/lzo1x.h>
#endif
#ifdef PYCORE_HAVE_SNAPPY
#include <snappy-c.h>
#endif
#ifdef PYCORE_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef PYCORE_HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif

struct pc_codecs {
#ifdef PYCORE_HAVE_ZLIB
    z_stream zlib;
    int zlib_ready;
#endif
#ifdef PYCORE_HAVE_ZSTD
    ZSTD_DCtx *zstd;
#endif
#if !defined(PYCORE_HAVE_ZLIB) && !defined(PYCORE_HAVE_ZSTD)
    int unused;   /* ISO C has no empty struct: no codec here keeps a context */
#endif
};

int pc_codec_available(int codec)
{
    switch (codec) {
    case PC_CODEC_NONE:
        return 1;
#ifdef PYCORE_HAVE_ZLIB
    case PC_CODEC_ZLIB:
        return 1;
#endif
#ifdef PYCORE_HAVE_LZO
    case PC_CODEC_LZO:
        return 1;
#endif
#ifdef PYCORE_HAVE_SNAPPY
    case PC_CODEC_SNAPPY:
        return 1;
#endif
#ifdef PYCORE_HAVE_ZSTD
    case PC_CODEC_ZSTD:
        return 1;
#endif
    default:
        return 0;
    }
}

struct pc_codecs *pc_codecs_new(void)
{
    struct pc_codecs *codecs;

#ifdef PYCORE_HAVE_LZO
    /* lzo_init() only verifies the library's build-time assumptions. */
    if (lzo_init() != LZO_E_OK)
        return NULL;
#endif
    codecs = calloc(1, sizeof(*codecs));
    if (codecs == NULL)
        return NULL;
#ifdef PYCORE_HAVE_ZLIB
    if (inflateInit(&codecs->zlib) != Z_OK) {
        free(codecs);
        return NULL;
    }
    codecs->zlib_ready = 1;
#endif
#ifdef PYCORE_HAVE_ZSTD
    codecs->zstd = ZSTD_createDCtx();
    if (codecs->zstd == NULL) {
        pc_codecs_free(codecs);
        return NULL;
    }
#endif
    return codecs;
}

void pc_codecs_free(struct pc_codecs *codecs)
{
    if (codecs == NULL)
        return;
#ifdef PYCORE_HAVE_ZLIB
    if (codecs->zlib_ready)
        inflateEnd(&codecs->zlib);
#endif
#ifdef PYCORE_HAVE_ZSTD
    ZSTD_freeDCtx(codecs->zstd);
#endif
    free(codecs);
}

#ifdef PYCORE_HAVE_ZLIB
static int decompress_zlib(struct pc_codecs *codecs, const uint8_t *src, size_t srclen,
                           uint8_t *dst, size_t dstlen)
{
    z_stream *zs = &codecs->zlib;
    uint8_t probe;
    int ret;

    /* z_stream counts in uInt; a page never comes near that. */
    if (srclen > UINT32_MAX || dstlen > UINT32_MAX)
        return PC_ERR_SIZE;
    if (inflateReset(zs) != Z_OK)
        return PC_ERR_NOMEM;
    zs->next_in = (Bytef *)src;
    zs->avail_in = (uInt)srclen;
    zs->next_out = dst;
    zs->avail_out = (uInt)dstlen;
    ret = inflate(zs, Z_FINISH);
    if (ret == Z_BUF_ERROR && zs->avail_out == 0) {
        /* dst is full: either the stream has more to give (wrong size) or it was cut
           short exactly at a page boundary (corrupt).  One more byte tells which. */
        zs->next_out = &probe;
        zs->avail_out = 1;
        ret = inflate(zs, Z_FINISH);
        if (zs->avail_out == 0)
            return PC_ERR_SIZE;
    }
    if (ret == Z_MEM_ERROR)
        return PC_ERR_NOMEM;
    if (ret != Z_STREAM_END || zs->avail_in != 0)
        return PC_ERR_CORRUPT;
    return zs->total_out == dstlen ? PC_OK : PC_ERR_SIZE;
}
#endif

#ifdef PYCORE_HAVE_LZO
static int decompress_lzo(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen)
{
    lzo_uint outlen = dstlen;
    int ret;

    ret = lzo1x_decompress_safe(src, srclen, dst, &outlen, NULL);
    if (ret == LZO_E_OUTPUT_OVERRUN)
        return PC_ERR_SIZE;
    if (ret != LZO_E_OK)
        return PC_ERR_CORRUPT;
    return outlen == dstlen ? PC_OK : PC_ERR_SIZE;
}
#endif

#ifdef PYCORE_HAVE_SNAPPY
static int decompress_snappy(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen)
{
    size_t outlen;

    /* The block starts with its decoded length: reject a wrong size before decoding. */
    if (snappy_uncompressed_length((const char *)src, srclen, &outlen) != SNAPPY_OK)
        return PC_ERR_CORRUPT;
    if (outlen != dstlen)
        return PC_ERR_SIZE;
    if (snappy_uncompress((const char *)src, srclen, (char *)dst, &outlen) != SNAPPY_OK)
        return PC_ERR_CORRUPT;
    return outlen == dstlen ? PC_OK : PC_ERR_SIZE;
}
#endif

#ifdef PYCORE_HAVE_ZSTD
static int decompress_zstd(struct pc_codecs *codecs, const uint8_t *src, size_t srclen,
                           uint8_t *dst, size_t dstlen)
{
    unsigned long long content_size;
    size_t ret;

    /* Exactly one frame: ZSTD_decompressDCtx alone would accept concatenated frames. */
    ret = ZSTD_findFrameCompressedSize(src, srclen);
    if (ZSTD_isError(ret) || ret != srclen)
        return PC_ERR_CORRUPT;
    content_size = ZSTD_getFrameContentSize(src, srclen);
    if (content_size == ZSTD_CONTENTSIZE_ERROR)
        return PC_ERR_CORRUPT;
    if (content_size != ZSTD_CONTENTSIZE_UNKNOWN && content_size != dstlen)
        return PC_ERR_SIZE;
    ret = ZSTD_decompressDCtx(codecs->zstd, dst, dstlen, src, srclen);
    if (ZSTD_isError(ret)) {
        if (ZSTD_getErrorCode(ret) == ZSTD_error_dstSize_tooSmall)
            return PC_ERR_SIZE;
        if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation)
            return PC_ERR_NOMEM;
        return PC_ERR_CORRUPT;
    }
    return ret == dstlen ? PC_OK : PC_ERR_SIZE;
}
#endif

int pc_decompress(struct pc_codecs *codecs, int codec, const uint8_t *src, size_t srclen,
                  uint8_t *dst, size_t dstlen)
{
    if (codecs == NULL)
        return PC_ERR_NOMEM;
    switch (codec) {
    case PC_CODEC_NONE:
        if (srclen != dstlen)
            return PC_ERR_SIZE;
        memcpy(dst, src, dstlen);
        return PC_OK;
#ifdef PYCORE_HAVE_ZLIB
    case PC_CODEC_ZLIB:
        return decompress_zlib(codecs, src, srclen, dst, dstlen);
#endif
#ifdef PYCORE_HAVE_LZO
    case PC_CODEC_LZO:
        return decompress_lzo(src, srclen, dst, dstlen);
#endif
#ifdef PYCORE_HAVE_SNAPPY
    case PC_CODEC_SNAPPY:
        return decompress_snappy(src, srclen, dst, dstlen);
#endif
#ifdef PYCORE_HAVE_ZSTD
    case PC_CODEC_ZSTD:
        return decompress_zstd(codecs, src, srclen, dst, dstlen);
#endif
    default:
        /* The codecs this build left out are still real codecs: Python decodes them. */
        if (codec >= PC_CODEC_ZLIB && codec <= PC_CODEC_ZSTD)
            return PC_ERR_CODEC_UNAVAILABLE;
        return PC_ERR_CODEC;
    }
}

int pc_decompress_many(struct pc_codecs *codecs, int codec, const uint8_t *src, size_t srclen,
                       const uint64_t *offsets, const uint32_t *sizes, size_t n,
                       uint8_t *dst, size_t page_size)
{
    size_t i;
    int ret;

    for (i = 0; i < n; i++) {
        if (offsets[i] > srclen || sizes[i] > srclen - offsets[i])
            return PC_ERR_CORRUPT;
        ret = pc_decompress(codecs, codec, src + offsets[i], sizes[i], dst + i * page_size,
                            page_size);
        if (ret != PC_OK)
            return ret;
    }
    return PC_OK;
}
