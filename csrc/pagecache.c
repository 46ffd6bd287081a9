/* An LRU of decoded kdump pages (see pc_pagecache.h). */
#include "pc_pagecache.h"
#include "pc_kdump.h"

#include <stdlib.h>
#include <string.h>

#define NO_SLOT UINT32_MAX
#define MAX_PAGE_SIZE (1u << 20)

struct slot {
    uint64_t pfn;
    uint32_t older, newer;        /* the LRU list: NO_SLOT at its ends */
    uint32_t chain;               /* next slot in the same hash bucket */
    uint8_t *data;                /* page_size bytes, allocated on first use */
};

struct pc_pagecache {
    uint32_t page_size;
    uint32_t capacity;
    uint32_t used;                /* slots [0, used) hold pages */
    uint32_t newest, oldest;
    uint32_t mask;                /* buckets - 1, a power of two at least capacity */
    uint32_t *buckets;            /* first slot of each bucket, NO_SLOT when empty */
    struct slot *slots;
    uint8_t *scratch;             /* a page being decoded: a failed read leaves the cache as it was */
    uint64_t hits, misses;
};

struct pc_pagecache *pc_pagecache_new(uint32_t page_size, uint32_t capacity)
{
    if (page_size == 0 || page_size > MAX_PAGE_SIZE || capacity == 0 || capacity > (1u << 30))
        return NULL;
    struct pc_pagecache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    uint32_t buckets = 1;
    while (buckets < capacity)
        buckets <<= 1;
    c->page_size = page_size;
    c->capacity = capacity;
    c->mask = buckets - 1;
    c->newest = c->oldest = NO_SLOT;
    c->buckets = malloc((size_t)buckets * sizeof *c->buckets);
    c->slots = calloc(capacity, sizeof *c->slots);
    c->scratch = malloc(page_size);
    if (!c->buckets || !c->slots || !c->scratch) {
        pc_pagecache_free(c);
        return NULL;
    }
    memset(c->buckets, 0xff, (size_t)buckets * sizeof *c->buckets);
    return c;
}

void pc_pagecache_free(struct pc_pagecache *c)
{
    if (!c)
        return;
    if (c->slots)
        for (uint32_t i = 0; i < c->used; i++)
            free(c->slots[i].data);
    free(c->slots);
    free(c->buckets);
    free(c->scratch);
    free(c);
}

static uint32_t bucket_of(const struct pc_pagecache *c, uint64_t pfn)
{
    /* Fibonacci hashing: consecutive pfns (the common pattern) spread over the buckets. */
    return (uint32_t)((pfn * 0x9E3779B97F4A7C15ull) >> 32) & c->mask;
}

static void unlink_lru(struct pc_pagecache *c, uint32_t i)
{
    struct slot *s = &c->slots[i];
    if (s->older != NO_SLOT)
        c->slots[s->older].newer = s->newer;
    else
        c->oldest = s->newer;
    if (s->newer != NO_SLOT)
        c->slots[s->newer].older = s->older;
    else
        c->newest = s->older;
}

static void push_newest(struct pc_pagecache *c, uint32_t i)
{
    struct slot *s = &c->slots[i];
    s->older = c->newest;
    s->newer = NO_SLOT;
    if (c->newest != NO_SLOT)
        c->slots[c->newest].newer = i;
    else
        c->oldest = i;
    c->newest = i;
}

static void unlink_bucket(struct pc_pagecache *c, uint32_t i)
{
    uint32_t *link = &c->buckets[bucket_of(c, c->slots[i].pfn)];
    while (*link != i)
        link = &c->slots[*link].chain;
    *link = c->slots[i].chain;
}

static const uint8_t *lookup(struct pc_pagecache *c, uint64_t pfn)
{
    for (uint32_t i = c->buckets[bucket_of(c, pfn)]; i != NO_SLOT; i = c->slots[i].chain) {
        if (c->slots[i].pfn == pfn) {
            if (c->newest != i) {
                unlink_lru(c, i);
                push_newest(c, i);
            }
            return c->slots[i].data;
        }
    }
    return NULL;
}

/* Keep the decoded page in scratch as pfn's: a fresh slot while there are some, else the
 * least recently used one.  Out of memory for a fresh slot only means the page is not kept. */
static const uint8_t *keep(struct pc_pagecache *c, uint64_t pfn)
{
    uint32_t i;
    if (c->used < c->capacity) {
        uint8_t *data = malloc(c->page_size);
        if (!data)
            return c->scratch;
        i = c->used++;
        c->slots[i].data = data;
    } else {
        i = c->oldest;
        unlink_lru(c, i);
        unlink_bucket(c, i);
    }
    struct slot *s = &c->slots[i];
    memcpy(s->data, c->scratch, c->page_size);
    s->pfn = pfn;
    uint32_t *bucket = &c->buckets[bucket_of(c, pfn)];
    s->chain = *bucket;
    *bucket = i;
    push_newest(c, i);
    return s->data;
}

int pc_pagecache_kdump_read(struct pc_pagecache *c, struct pc_kdump *k, uint64_t address,
                            uint8_t *dst, size_t size, int zero_excluded, struct pc_fault *fault)
{
    const uint64_t page_size = c->page_size;
    memset(fault, 0, sizeof *fault);
    while (size) {
        uint64_t pfn = address / page_size;
        uint64_t in_page = address % page_size;
        size_t n = page_size - in_page < size ? (size_t)(page_size - in_page) : size;
        const uint8_t *page = lookup(c, pfn);
        if (page) {
            c->hits++;
        } else {
            c->misses++;
            /* Read as if nothing were zero-filled: only pages the dump holds are kept. */
            int ret = pc_kdump_read(k, pfn * page_size, c->scratch, page_size, 0, fault);
            if (ret == PC_ERR_EXCLUDED && zero_excluded) {
                memset(fault, 0, sizeof *fault);
                memset(dst, 0, n);
                page = NULL;
            } else if (ret != PC_OK) {
                fault->address = address;
                return ret;
            } else {
                page = keep(c, pfn);
            }
        }
        if (page)
            memcpy(dst, page + in_page, n);
        address += n;
        dst += n;
        size -= n;
    }
    return PC_OK;
}

void pc_pagecache_stats(const struct pc_pagecache *c, struct pc_pagecache_stats *stats)
{
    stats->hits = c->hits;
    stats->misses = c->misses;
    stats->pages = c->used;
    stats->capacity = c->capacity;
}
