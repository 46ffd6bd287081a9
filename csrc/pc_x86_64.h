/* x86_64 virtual-to-physical translation over a dump's physical memory.
 *
 * 4- and 5-level paging, 2 MiB and 1 GiB pages, the kernel-image and direct-map
 * shortcuts, a small TLB, and virtual reads that cross pages.  Physical memory is
 * either a kdump reader (pc_kdump.h), read through the dump's page cache (pc_pagecache.h)
 * when it has one, or an ELF core's PT_LOAD segments in its mapping.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_X86_64_H
#define PYCORE_PC_X86_64_H

#include <stddef.h>
#include <stdint.h>

#include "pc_kdump.h"
#include "pc_pagecache.h"
#include "pc_status.h"

/* cdef-begin */
struct pc_physmem {
    struct pc_kdump *kdump;       /* kdump-compressed dump, or NULL for an ELF core */
    struct pc_pagecache *cache;   /* kdump: the dump's decoded pages (pc_pagecache.h), or NULL */
    const uint8_t *map;           /* ELF: the mapped file */
    uint64_t map_size;
    const uint64_t *seg_start;    /* ELF: PT_LOAD p_paddr, sorted, not overlapping */
    const uint64_t *seg_memsz;    /* p_memsz: the machine's memory the segment describes */
    const uint64_t *seg_filesz;   /* p_filesz: the part of it in the file; the rest was left out */
    const uint64_t *seg_offset;   /* p_offset */
    const uint32_t *seg_index;    /* the PT_LOAD's index in the program header table */
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
                        uint64_t *page_size, struct pc_fault *fault);
int pc_x86_64_translate_many(struct pc_x86_64 *x, uint64_t root, const uint64_t *vaddrs, size_t n,
                             uint64_t *paddrs, int32_t *status);
int pc_x86_64_read(struct pc_x86_64 *x, uint64_t root, uint64_t vaddr, uint8_t *dst, size_t size,
                   int zero_excluded, struct pc_fault *fault);
int pc_physmem_read(const struct pc_physmem *mem, uint64_t paddr, uint8_t *dst, size_t size,
                    int zero_excluded, struct pc_fault *fault);
/* cdef-end */

/*
 * pc_physmem_read: fault->address is the first physical byte of the part that failed.
 *   ELF: PC_ERR_NOT_PRESENT outside every segment, PC_ERR_EXCLUDED past p_filesz (unless
 *   zero_excluded), PC_ERR_INCOMPLETE when the file ends first (fault->detail: the
 *   PT_LOAD index, fault->file_offset: where the part starts).
 * pc_x86_64_translate: PC_ERR_NOT_MAPPED with fault->level and fault->physical naming
 *   the entry that is not present; a page-table read that fails returns the physical
 *   read's status with fault->level set and fault->physical the entry's address.
 * pc_x86_64_read: fault->address is the virtual address of the part that failed and,
 *   for a failed data read (fault->level 0), fault->physical its physical address.
 * pc_x86_64_translate_many: status[i] is pc_x86_64_translate's status for vaddrs[i]
 *   (paddrs[i] is 0 where it is not PC_OK); returns how many failed.
 */

#endif /* PYCORE_PC_X86_64_H */
