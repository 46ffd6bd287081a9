/* Page reads from makedumpfile's kdump-compressed format (see pc_kdump.h). */
#include "pc_kdump.h"
#include "pc_codecs.h"

#include <stdlib.h>
#include <string.h>

#define DUMP_DH_COMPRESSED_ZLIB 0x1
#define DUMP_DH_COMPRESSED_LZO 0x2
#define DUMP_DH_COMPRESSED_SNAPPY 0x4
#define DUMP_DH_COMPRESSED_ZSTD 0x20
#define DUMP_DH_COMPRESSED (DUMP_DH_COMPRESSED_ZLIB | DUMP_DH_COMPRESSED_LZO | \
                            DUMP_DH_COMPRESSED_SNAPPY | DUMP_DH_COMPRESSED_ZSTD)
#define PAGE_DESC_SIZE 24
#define RANK_BLOCK_BITS 512

struct pc_kdump {
    struct pc_kdump_params p;     /* bitmap pointers replaced by our own copies */
    uint8_t *bitmap1;
    uint8_t *bitmap2;
    uint64_t *rank;               /* bitmap2 bits set before each 512-bit block */
    uint64_t dumpable;
    struct pc_codecs *codecs;
    uint8_t *scratch;             /* page_size bytes: data split across flattened records */
    uint8_t *cache;               /* cache_pages * page_size */
    uint64_t *cache_tags;         /* pfn + 1 of the cached page, 0 when empty */
};

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int test_bit(const uint8_t *bitmap, uint64_t pfn)
{
    return (bitmap[pfn >> 3] >> (pfn & 7)) & 1;
}

/* Contiguous view of [offset, offset + length) of the logical file: a pointer into
 * the mapping when one segment holds it, else assembled into scratch (length must
 * fit), with bytes no flattened record wrote read as zeros.  NULL when some byte
 * lies past the end of the logical file. */
static const uint8_t *logical_view(const struct pc_kdump *k, uint64_t offset, uint64_t length,
                                   uint8_t *scratch, uint64_t scratch_size)
{
    const struct pc_kdump_params *p = &k->p;
    if (p->nsegs == 0) {
        if (length > p->stream_size || offset > p->stream_size - length)
            return NULL;
        return p->stream + offset;
    }
    /* Python built the segments from int64 record fields: these sums cannot wrap. */
    uint64_t logical_size = p->seg_logical[p->nsegs - 1] + p->seg_length[p->nsegs - 1];
    if (length > logical_size || offset > logical_size - length)
        return NULL;

    size_t lo = 0, hi = p->nsegs;
    while (hi - lo > 1) {         /* last segment starting at or before offset */
        size_t mid = lo + (hi - lo) / 2;
        if (p->seg_logical[mid] <= offset)
            lo = mid;
        else
            hi = mid;
    }
    if (p->seg_logical[lo] <= offset && length <= p->seg_length[lo] &&
        offset - p->seg_logical[lo] <= p->seg_length[lo] - length)
        return p->stream + p->seg_stream[lo] + (offset - p->seg_logical[lo]);
    if (length > scratch_size)
        return NULL;

    uint64_t done = 0;
    size_t i = lo;
    while (done < length) {
        uint64_t at = offset + done;
        while (i < p->nsegs && p->seg_logical[i] + p->seg_length[i] <= at)
            i++;
        uint64_t take;
        if (i >= p->nsegs || p->seg_logical[i] > at) {
            uint64_t next = i < p->nsegs ? p->seg_logical[i] : offset + length;
            take = (next < offset + length ? next : offset + length) - at;
            memset(scratch + done, 0, take);
        } else {
            uint64_t avail = p->seg_logical[i] + p->seg_length[i] - at;
            take = length - done < avail ? length - done : avail;
            memcpy(scratch + done, p->stream + p->seg_stream[i] + (at - p->seg_logical[i]), take);
        }
        done += take;
    }
    return scratch;
}

struct pc_kdump *pc_kdump_new(const struct pc_kdump_params *params)
{
    /* max_mapnr bits must fit in bitmap_bytes, without multiplying a hostile size. */
    if (params->page_size == 0 ||
        (params->max_mapnr >> 3) + ((params->max_mapnr & 7) != 0) > params->bitmap_bytes)
        return NULL;
    if (params->cache_pages & (params->cache_pages - 1))
        return NULL;
    struct pc_kdump *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->p = *params;
    uint64_t nblocks = (params->max_mapnr + RANK_BLOCK_BITS - 1) / RANK_BLOCK_BITS;
    k->bitmap1 = malloc(params->bitmap_bytes ? params->bitmap_bytes : 1);
    k->bitmap2 = malloc(params->bitmap_bytes ? params->bitmap_bytes : 1);
    k->rank = malloc((nblocks + 1) * sizeof *k->rank);
    k->scratch = malloc(params->page_size);
    k->codecs = pc_codecs_new();
    if (params->cache_pages) {
        k->cache = malloc((size_t)params->cache_pages * params->page_size);
        k->cache_tags = calloc(params->cache_pages, sizeof *k->cache_tags);
    }
    if (!k->bitmap1 || !k->bitmap2 || !k->rank || !k->scratch || !k->codecs ||
        (params->cache_pages && (!k->cache || !k->cache_tags))) {
        pc_kdump_free(k);
        return NULL;
    }
    memcpy(k->bitmap1, params->bitmap1, params->bitmap_bytes);
    memcpy(k->bitmap2, params->bitmap2, params->bitmap_bytes);
    k->p.bitmap1 = k->bitmap1;
    k->p.bitmap2 = k->bitmap2;

    uint64_t total = 0;
    for (uint64_t b = 0; b < nblocks; b++) {
        k->rank[b] = total;
        uint64_t first = b * RANK_BLOCK_BITS;
        uint64_t last = first + RANK_BLOCK_BITS < params->max_mapnr ? first + RANK_BLOCK_BITS
                                                                     : params->max_mapnr;
        uint64_t pfn = first;
        for (; pfn + 64 <= last; pfn += 64)
            total += (uint64_t)__builtin_popcountll(load_le64(k->bitmap2 + (pfn >> 3)));
        for (; pfn < last; pfn++)
            total += (uint64_t)test_bit(k->bitmap2, pfn);
    }
    k->rank[nblocks] = total;
    k->dumpable = total;
    return k;
}

void pc_kdump_free(struct pc_kdump *k)
{
    if (!k)
        return;
    free(k->bitmap1);
    free(k->bitmap2);
    free(k->rank);
    free(k->scratch);
    free(k->cache);
    free(k->cache_tags);
    if (k->codecs)
        pc_codecs_free(k->codecs);
    free(k);
}

static uint64_t rank_of(const struct pc_kdump *k, uint64_t pfn)
{
    uint64_t first = pfn / RANK_BLOCK_BITS * RANK_BLOCK_BITS;
    uint64_t r = k->rank[pfn / RANK_BLOCK_BITS];
    uint64_t i = first;
    for (; i + 64 <= pfn; i += 64)
        r += (uint64_t)__builtin_popcountll(load_le64(k->bitmap2 + (i >> 3)));
    for (; i < pfn; i++)
        r += (uint64_t)test_bit(k->bitmap2, i);
    return r;
}

static int codec_of(uint32_t flags)
{
    switch (flags & DUMP_DH_COMPRESSED) {
    case 0: return PC_CODEC_NONE;
    case DUMP_DH_COMPRESSED_ZLIB: return PC_CODEC_ZLIB;
    case DUMP_DH_COMPRESSED_LZO: return PC_CODEC_LZO;
    case DUMP_DH_COMPRESSED_SNAPPY: return PC_CODEC_SNAPPY;
    case DUMP_DH_COMPRESSED_ZSTD: return PC_CODEC_ZSTD;
    default: return -1;
    }
}

/* One whole page into dst (page_size bytes). */
static int read_page(struct pc_kdump *k, uint64_t pfn, uint8_t *dst, int zero_excluded,
                     struct pc_fault *fault)
{
    const struct pc_kdump_params *p = &k->p;
    uint8_t desc_bytes[PAGE_DESC_SIZE];

    fault->address = pfn * p->page_size;
    if (pfn >= p->max_mapnr)
        return PC_ERR_NOT_PRESENT;
    if (!test_bit(k->bitmap2, pfn)) {
        if (!test_bit(k->bitmap1, pfn))
            return PC_ERR_NOT_PRESENT;
        if (!zero_excluded)
            return PC_ERR_EXCLUDED;
        memset(dst, 0, p->page_size);
        return PC_OK;
    }
    uint64_t desc_at = p->desc_offset + rank_of(k, pfn) * PAGE_DESC_SIZE;
    fault->file_offset = desc_at;
    const uint8_t *desc = logical_view(k, desc_at, PAGE_DESC_SIZE, desc_bytes, sizeof desc_bytes);
    if (!desc)
        return PC_ERR_INCOMPLETE;
    uint64_t offset = load_le64(desc);
    uint32_t size = load_le32(desc + 8);
    uint32_t flags = load_le32(desc + 12);
    int codec = codec_of(flags);

    if (offset == 0 && size == 0) {   /* descriptor never filled in: the dump stopped */
        fault->detail = 0;
        return PC_ERR_INCOMPLETE;
    }
    if (codec == PC_CODEC_NONE && offset == p->zero_offset && size == p->page_size) {
        memset(dst, 0, p->page_size);
        return PC_OK;
    }
    if (codec < 0) {
        fault->detail = 2;            /* flags */
        return PC_ERR_BAD_DESC;
    }
    if (offset < p->data_offset || (int64_t)offset < 0) {
        fault->detail = 0;            /* offset */
        return PC_ERR_BAD_DESC;
    }
    if (size == 0 || size > p->page_size || (codec == PC_CODEC_NONE && size != p->page_size)) {
        fault->detail = 1;            /* size */
        return PC_ERR_BAD_DESC;
    }
    fault->file_offset = offset;
    const uint8_t *src = logical_view(k, offset, size, k->scratch, p->page_size);
    if (!src)
        return PC_ERR_INCOMPLETE;
    if (codec == PC_CODEC_NONE) {
        memcpy(dst, src, p->page_size);
        return PC_OK;
    }
    fault->detail = codec;
    return pc_decompress(k->codecs, codec, src, size, dst, p->page_size);
}

int pc_kdump_read(struct pc_kdump *k, uint64_t address, uint8_t *dst, size_t size,
                  int zero_excluded, struct pc_fault *fault)
{
    const uint64_t page_size = k->p.page_size;
    memset(fault, 0, sizeof *fault);
    while (size) {
        uint64_t pfn = address / page_size;
        uint64_t in_page = address % page_size;
        size_t n = page_size - in_page < size ? (size_t)(page_size - in_page) : size;
        int ret;
        if (n == page_size || !k->p.cache_pages) {
            if (n == page_size) {
                ret = read_page(k, pfn, dst, zero_excluded, fault);
            } else {
                ret = read_page(k, pfn, k->scratch, zero_excluded, fault);
                if (ret == PC_OK)
                    memcpy(dst, k->scratch + in_page, n);
            }
        } else {
            /* The slot's own buffer receives the page, so a failed read must drop the tag. */
            uint64_t slot = pfn & (k->p.cache_pages - 1);
            uint8_t *cached = k->cache + slot * page_size;
            ret = PC_OK;
            if (k->cache_tags[slot] != pfn + 1) {
                k->cache_tags[slot] = 0;
                ret = read_page(k, pfn, cached, zero_excluded, fault);
                /* Zero-filled excluded pages depend on the caller's flag: never cache them. */
                if (ret == PC_OK && (test_bit(k->bitmap2, pfn)))
                    k->cache_tags[slot] = pfn + 1;
            }
            if (ret == PC_OK)
                memcpy(dst, cached + in_page, n);
        }
        if (ret != PC_OK) {
            fault->address = address;
            return ret;
        }
        address += n;
        dst += n;
        size -= n;
    }
    return PC_OK;
}

int pc_kdump_count_zero(struct pc_kdump *k, uint64_t *zero, uint64_t *missing)
{
    uint8_t desc_bytes[PAGE_DESC_SIZE];
    const uint64_t logical_size = k->p.nsegs ? k->p.seg_logical[k->p.nsegs - 1] + k->p.seg_length[k->p.nsegs - 1]
                                             : k->p.stream_size;
    *zero = 0;
    *missing = 0;
    for (uint64_t i = 0; i < k->dumpable; i++) {
        const uint8_t *desc = logical_view(k, k->p.desc_offset + i * PAGE_DESC_SIZE, PAGE_DESC_SIZE,
                                           desc_bytes, sizeof desc_bytes);
        if (!desc) {
            *missing += k->dumpable - i;
            break;
        }
        uint64_t offset = load_le64(desc);
        uint32_t size = load_le32(desc + 8);
        uint32_t flags = load_le32(desc + 12);
        if (offset == 0 && size == 0)
            (*missing)++;
        else if (offset == k->p.zero_offset && size == k->p.page_size && !(flags & DUMP_DH_COMPRESSED))
            (*zero)++;
        else if (size > logical_size || offset > logical_size - size)
            (*missing)++;   /* the file was cut short before this page's data */
    }
    return PC_OK;
}
