/* One LRU of decoded pages in front of a kdump reader, shared by every read of a dump.
 *
 * csrc/kdump.c decodes a page each time a whole page is asked for and keeps only a
 * small direct-mapped cache for smaller reads; scripts and bulk reads come back to the
 * same pages (a struct page census, task lists), so decoded pages are kept here, the
 * least recently used given up first.  Slots' memory is taken as they are first used.
 * The pure-Python twin is pycore.cache.PageCache; both count hits and misses alike.
 */
#ifndef PYCORE_PC_PAGECACHE_H
#define PYCORE_PC_PAGECACHE_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
struct pc_pagecache;
struct pc_kdump;

struct pc_pagecache_stats {
    uint64_t hits;       /* pages served without decoding */
    uint64_t misses;     /* pages decoded (and kept, unless they failed or were zero-filled) */
    uint32_t pages;      /* pages held now */
    uint32_t capacity;
};

/* NULL when out of memory or for a page_size of 0 or over 1 MiB, or a capacity of 0. */
struct pc_pagecache *pc_pagecache_new(uint32_t page_size, uint32_t capacity);
void pc_pagecache_free(struct pc_pagecache *cache);
/* pc_kdump_read's contract (same statuses, same fault), every page through the cache. */
int pc_pagecache_kdump_read(struct pc_pagecache *cache, struct pc_kdump *kdump, uint64_t address,
                            uint8_t *dst, size_t size, int zero_excluded, struct pc_fault *fault);
void pc_pagecache_stats(const struct pc_pagecache *cache, struct pc_pagecache_stats *stats);
/* cdef-end */

#endif /* PYCORE_PC_PAGECACHE_H */
