/* x86_64 address translation (see pc_x86_64.h). */
#include "pc_x86_64.h"

#include <stdlib.h>
#include <string.h>

#define PTE_PRESENT 0x1ULL
#define PTE_PSE 0x80ULL
#define PTE_ADDR_MASK 0x000ffffffffff000ULL
#define TLB_SIZE 1024

struct pc_x86_64 {
    struct pc_x86_64_params p;
    uint64_t tlb_root[TLB_SIZE];
    uint64_t tlb_vpage[TLB_SIZE];   /* vaddr >> 12, +1 so that 0 means empty */
    uint64_t tlb_ppage[TLB_SIZE];
};

int pc_physmem_read(const struct pc_physmem *mem, uint64_t paddr, uint8_t *dst, size_t size,
                    int zero_excluded, struct pc_fault *fault)
{
    /* Through the cache, so that a page the Python side read (or the walk read before) is not
     * decoded again: page tables and the data they map are the pages read most often. */
    if (mem->kdump && mem->cache)
        return pc_pagecache_kdump_read(mem->cache, mem->kdump, paddr, dst, size, zero_excluded, fault);
    if (mem->kdump)
        return pc_kdump_read(mem->kdump, paddr, dst, size, zero_excluded, fault);
    memset(fault, 0, sizeof *fault);
    while (size) {
        size_t lo = 0, hi = mem->nsegs;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (mem->seg_start[mid] <= paddr)
                lo = mid;
            else
                hi = mid;
        }
        fault->address = paddr;
        /* Differences, not end addresses: a segment may end exactly at 2^64. */
        if (mem->nsegs == 0 || paddr < mem->seg_start[lo] || paddr - mem->seg_start[lo] >= mem->seg_memsz[lo])
            return PC_ERR_NOT_PRESENT;
        uint64_t in_seg = paddr - mem->seg_start[lo];
        uint64_t avail = mem->seg_memsz[lo] - in_seg;
        size_t take = avail < size ? (size_t)avail : size;
        if (in_seg >= mem->seg_filesz[lo]) {
            if (!zero_excluded)
                return PC_ERR_EXCLUDED;
            memset(dst, 0, take);
        } else {
            uint64_t in_file = mem->seg_filesz[lo] - in_seg;
            if (in_file < take)
                take = (size_t)in_file;
            /* p_offset comes from the file: compare by subtraction so no sum can wrap. */
            uint64_t start = mem->seg_offset[lo];
            if (start > mem->map_size || in_seg > mem->map_size - start ||
                take > mem->map_size - start - in_seg) {
                fault->file_offset = start + in_seg;
                fault->detail = (int32_t)mem->seg_index[lo];
                return PC_ERR_INCOMPLETE;
            }
            memcpy(dst, mem->map + start + in_seg, take);
        }
        dst += take;
        paddr += take;
        size -= take;
    }
    return PC_OK;
}

struct pc_x86_64 *pc_x86_64_new(const struct pc_x86_64_params *params)
{
    if (params->levels != 4 && params->levels != 5)
        return NULL;
    struct pc_x86_64 *x = calloc(1, sizeof *x);
    if (x)
        x->p = *params;
    return x;
}

void pc_x86_64_free(struct pc_x86_64 *x)
{
    free(x);
}

static int canonical(uint64_t vaddr, int levels)
{
    int bits = levels == 5 ? 57 : 48;
    uint64_t top = vaddr >> (bits - 1);
    return top == 0 || top == (UINT64_MAX >> (bits - 1));
}

static int walk(struct pc_x86_64 *x, uint64_t root, uint64_t vaddr, uint64_t *paddr,
                uint64_t *page_size, struct pc_fault *fault)
{
    uint64_t table = root & PTE_ADDR_MASK;
    for (int level = x->p.levels; level >= 1; level--) {
        int shift = 12 + 9 * (level - 1);
        uint64_t index = (vaddr >> shift) & 0x1ff;
        uint64_t entry_at = table + index * 8;
        uint8_t raw[8];
        int ret = pc_physmem_read(&x->p.mem, entry_at, raw, 8, 0, fault);
        fault->address = vaddr;
        fault->physical = entry_at;
        fault->level = level;
        if (ret != PC_OK)
            return ret;
        uint64_t entry = 0;
        for (int i = 7; i >= 0; i--)
            entry = (entry << 8) | raw[i];
        if (!(entry & PTE_PRESENT))
            return PC_ERR_NOT_MAPPED;
        if (level == 1 || ((level == 2 || level == 3) && (entry & PTE_PSE))) {
            uint64_t size = 1ULL << shift;
            uint64_t mask = PTE_ADDR_MASK & ~(size - 1);
            *paddr = (entry & mask) | (vaddr & (size - 1));
            *page_size = size;
            return PC_OK;
        }
        table = entry & PTE_ADDR_MASK;
    }
    return PC_ERR_NOT_MAPPED;
}

int pc_x86_64_translate(struct pc_x86_64 *x, uint64_t root, uint64_t vaddr, uint64_t *paddr,
                        uint64_t *page_size, struct pc_fault *fault)
{
    const struct pc_x86_64_params *p = &x->p;
    memset(fault, 0, sizeof *fault);
    fault->address = vaddr;
    if (vaddr - p->kernel_map_start < p->kernel_map_size) {
        *paddr = vaddr - p->kernel_map_start + p->phys_base;
        *page_size = 4096;
        return PC_OK;
    }
    if (p->direct_map_start && vaddr - p->direct_map_start < p->direct_map_size) {
        *paddr = vaddr - p->direct_map_start;
        *page_size = 4096;
        return PC_OK;
    }
    if (!canonical(vaddr, p->levels))
        return PC_ERR_NONCANONICAL;
    uint64_t vpage = vaddr >> 12;
    size_t slot = (size_t)((vpage ^ (root >> 12)) & (TLB_SIZE - 1));
    if (x->tlb_vpage[slot] == vpage + 1 && x->tlb_root[slot] == root) {
        *paddr = x->tlb_ppage[slot] | (vaddr & 0xfff);
        *page_size = 4096;
        return PC_OK;
    }
    int ret = walk(x, root, vaddr, paddr, page_size, fault);
    if (ret == PC_OK) {
        memset(fault, 0, sizeof *fault);
        x->tlb_root[slot] = root;
        x->tlb_vpage[slot] = vpage + 1;
        x->tlb_ppage[slot] = *paddr & ~0xfffULL;
    }
    return ret;
}

int pc_x86_64_translate_many(struct pc_x86_64 *x, uint64_t root, const uint64_t *vaddrs, size_t n,
                             uint64_t *paddrs, int32_t *status)
{
    struct pc_fault fault;
    uint64_t page_size;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        status[i] = pc_x86_64_translate(x, root, vaddrs[i], &paddrs[i], &page_size, &fault);
        if (status[i] != PC_OK) {
            paddrs[i] = 0;
            failures++;
        }
    }
    return failures;
}

int pc_x86_64_read(struct pc_x86_64 *x, uint64_t root, uint64_t vaddr, uint8_t *dst, size_t size,
                   int zero_excluded, struct pc_fault *fault)
{
    while (size) {
        uint64_t paddr, page_size;
        int ret = pc_x86_64_translate(x, root, vaddr, &paddr, &page_size, fault);
        if (ret != PC_OK)
            return ret;
        uint64_t left = page_size - (paddr & (page_size - 1));
        /* Shortcut translations are per 4 KiB page so contiguity is never assumed. */
        size_t take = left < size ? (size_t)left : size;
        ret = pc_physmem_read(&x->p.mem, paddr, dst, take, zero_excluded, fault);
        if (ret != PC_OK) {
            fault->physical = fault->address;
            fault->address = vaddr;
            return ret;
        }
        vaddr += take;
        dst += take;
        size -= take;
    }
    return PC_OK;
}
