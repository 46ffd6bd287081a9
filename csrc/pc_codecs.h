/* Page codecs of makedumpfile's kdump-compressed format: zlib, LZO1X, snappy, zstd.
 *
 * One page is one self-contained compressed block (a zlib stream, an LZO1X-1 block,
 * a raw snappy block or a single zstd frame) that must decode to exactly one page.
 * Each codec is compiled in only when its library was found at build time
 * (PYCORE_HAVE_ZLIB, _LZO, _SNAPPY, _ZSTD); the others report
 * PC_ERR_CODEC_UNAVAILABLE and Python decodes them instead.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_CODECS_H
#define PYCORE_PC_CODECS_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
enum { PC_CODEC_NONE = 0, PC_CODEC_ZLIB = 1, PC_CODEC_LZO = 2, PC_CODEC_SNAPPY = 3, PC_CODEC_ZSTD = 4 };

struct pc_codecs;

int pc_codec_available(int codec);
struct pc_codecs *pc_codecs_new(void);
void pc_codecs_free(struct pc_codecs *codecs);
int pc_decompress(struct pc_codecs *codecs, int codec, const uint8_t *src, size_t srclen,
                  uint8_t *dst, size_t dstlen);
int pc_decompress_many(struct pc_codecs *codecs, int codec, const uint8_t *src, size_t srclen,
                       const uint64_t *offsets, const uint32_t *sizes, size_t n,
                       uint8_t *dst, size_t page_size);
/* cdef-end */

/*
 * pc_codec_available: 1 when this build decodes `codec` (PC_CODEC_NONE always), else 0.
 * pc_codecs_new: per-reader contexts (zlib stream, zstd DCtx) reused for every page;
 *   NULL when out of memory.  One context must not be used by two threads at once.
 * pc_decompress: PC_OK when exactly dstlen bytes were produced.  PC_ERR_SIZE when the
 *   block is well formed but decodes to another size (or would overflow dst),
 *   PC_ERR_CORRUPT for malformed, truncated or trailing input, PC_ERR_CODEC for an
 *   unknown codec number, PC_ERR_CODEC_UNAVAILABLE for a codec compiled out,
 *   PC_ERR_NOMEM if a context could not be (re)initialised.
 * pc_decompress_many: page i is src[offsets[i] : offsets[i] + sizes[i]] and goes to
 *   dst + i * page_size (dst holds n * page_size bytes); stops at the first error.
 */

#endif /* PYCORE_PC_CODECS_H */
