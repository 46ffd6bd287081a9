/* Page reads from makedumpfile's kdump-compressed format, plain or flattened.
 *
 * Python parses the headers and hands over where everything lies; this file does
 * the per-page work: bitmap rank, page_desc, zero-page short cut, decompression,
 * and a small direct-mapped cache for reads smaller than a page.
 */
#ifndef PYCORE_PC_KDUMP_H
#define PYCORE_PC_KDUMP_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */

struct pc_kdump_params {
    const uint8_t *stream;        /* the mapped file */
    uint64_t stream_size;
    const uint64_t *seg_logical;  /* flattened segments, sorted; nsegs == 0: the file itself */
    const uint64_t *seg_stream;
    const uint64_t *seg_length;
    size_t nsegs;
    const uint8_t *bitmap1;       /* pages that exist (copied by pc_kdump_new) */
    const uint8_t *bitmap2;       /* pages that were dumped */
    uint64_t bitmap_bytes;        /* length of each bitmap */
    uint64_t max_mapnr;
    uint64_t desc_offset;         /* logical offset of the page_desc table */
    uint64_t data_offset;         /* first logical offset page data may use */
    uint64_t zero_offset;         /* shared zero page's data offset, or UINT64_MAX */
    uint32_t page_size;
    uint32_t cache_pages;         /* power of two, or 0 for no cache */
};

struct pc_kdump;

struct pc_kdump *pc_kdump_new(const struct pc_kdump_params *params);
void pc_kdump_free(struct pc_kdump *kdump);
int pc_kdump_read(struct pc_kdump *kdump, uint64_t address, uint8_t *dst, size_t size,
                  int zero_excluded, struct pc_fault *fault);
int pc_kdump_count_zero(struct pc_kdump *kdump, uint64_t *zero, uint64_t *missing);
/* cdef-end */

/*
 * pc_kdump_new: NULL when out of memory or when params are inconsistent (page_size 0,
 *   max_mapnr beyond the bitmaps, cache_pages not a power of two).
 * pc_kdump_read: PC_OK, or a status of pc_status.h with fault->address the first byte
 *   that could not be read, fault->file_offset the page_desc or page data involved and
 *   fault->detail the page_desc field (0 offset, 1 size, 2 flags) or the codec.
 */

#endif /* PYCORE_PC_KDUMP_H */
