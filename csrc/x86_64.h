/* x86_64 virtual-to-physical translation over a dump's physical memory.
 *
 * 4- and 5-level paging, 2 MiB and 1 GiB pages, the kernel-image and direct-map
 * shortcuts, a small TLB, and virtual reads that cross pages.  Physical memory is
 * either a kdump reader (kdump.h) or an ELF core's file-backed PT_LOAD ranges.
 */
#ifndef PYCORE_X86_64_H
#define PYCORE_X86_64_H

#include <stddef.h>
#include <stdint.h>

#include "kdump.h"

/* cdef-begin */
enum {
    PC_ERR_NOT_MAPPED = -20,    /* a page-table entry on the way is not present */
    PC_ERR_NONCANONICAL = -21   /* not a canonical address for this paging depth */
};

struct pc_physmem {
    struct pc_kdump *kdump;       /* kdump-compressed dump, or NULL for an ELF core */
    const uint8_t *map;           /* ELF: the mapped file */
    uint64_t map_size;
    const uint64_t *seg_start;    /* ELF: physical ranges backed by the file, sorted */
    const uint64_t *seg_end;
    const uint64_t *seg_offset;   /* file offset of seg_start */
    size_t nsegs;
};

struct pc_x86_64_params {
    struct pc_physmem mem;
    int levels;                   /* 4 or 5 */
    uint64_t kernel_map_start;    /* __START_KERNEL_map */
    uint64_t kernel_map_size;
    uint64_t phys_base;
    uint64_t direct_map_start;    /* page_offset_base, or 0 when unknown */
    uint64_t direct_map_size;
};

struct pc_x86_64;

struct pc_x86_64 *pc_x86_64_new(const struct pc_x86_64_params *params);
void pc_x86_64_free(struct pc_x86_64 *x);
int pc_x86_64_translate(struct pc_x86_64 *x, uint64_t root, uint64_t vaddr, uint64_t *paddr,
                        uint64_t *page_size, struct pc_kdump_fault *fault);
int pc_x86_64_translate_many(struct pc_x86_64 *x, uint64_t root, const uint64_t *vaddrs, size_t n,
                             uint64_t *paddrs, int32_t *status);
int pc_x86_64_read(struct pc_x86_64 *x, uint64_t root, uint64_t vaddr, uint8_t *dst, size_t size,
                   int zero_excluded, struct pc_kdump_fault *fault);
int pc_physmem_read(const struct pc_physmem *mem, uint64_t paddr, uint8_t *dst, size_t size,
                    int zero_excluded, struct pc_kdump_fault *fault);
/* cdef-end */

#endif /* PYCORE_X86_64_H */
