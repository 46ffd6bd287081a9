/* The one status enum and fault record every pycore C function reports through.
 *
 * C returns a status and fills a struct pc_fault; pycore/native.py turns the pair
 * (and what the caller knows: codec, dump level, file size) into the typed Python
 * exception, the same way for the C and the pure-Python twin of each reader.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_STATUS_H
#define PYCORE_PC_STATUS_H

#include <stdint.h>

/* cdef-begin */
enum pc_status {
    PC_OK = 0,
    /* page codecs */
    PC_ERR_CORRUPT = -1,            /* malformed, truncated or trailing compressed data */
    PC_ERR_SIZE = -2,               /* well formed, but decodes to another size than a page */
    PC_ERR_NOMEM = -3,
    PC_ERR_CODEC = -4,              /* a codec number no format defines */
    PC_ERR_CODEC_UNAVAILABLE = -5,  /* a real codec this build was compiled without */
    /* physical memory of a dump */
    PC_ERR_NOT_PRESENT = -10,       /* no such page in the machine's memory map */
    PC_ERR_EXCLUDED = -11,          /* page filtered out by makedumpfile's dump level */
    PC_ERR_INCOMPLETE = -12,        /* page should be there but the file ends first */
    PC_ERR_BAD_DESC = -13,          /* page_desc fields are impossible */
    /* x86_64 address translation */
    PC_ERR_NOT_MAPPED = -20,        /* a page-table entry on the way is not present */
    PC_ERR_NONCANONICAL = -21,      /* not a canonical address for this paging depth */
    /* DWARF name index */
    PC_ERR_TRUNCATED = -30,         /* a unit, DIE or attribute runs past its section */
    PC_ERR_FORM = -31,              /* an attribute form this reader does not know */
    PC_ERR_ABBREV = -32,            /* an abbreviation code or table that makes no sense */
    PC_ERR_VERSION = -33,           /* a unit version other than 2 to 5 */
    /* BTF index */
    PC_ERR_BTF_RECORD = -40,        /* a type record cut short (detail 0) or the section
                                       ending inside one (detail 1) */
    PC_ERR_BTF_KIND = -41,          /* type `detail` has unknown kind `address` */
    PC_ERR_BTF_NAME = -42           /* type `detail` has name_off `address` outside the strings */
};

/* Where a failure happened; fields a status does not use are 0. */
struct pc_fault {
    uint64_t address;      /* the address the caller asked for: physical for dump reads,
                              virtual for translations */
    uint64_t physical;     /* translations: the physical address whose read failed
                              (a page-table entry, or the data page) */
    uint64_t file_offset;  /* the (logical) file or section offset involved */
    int32_t detail;        /* kdump: page_desc field (0 offset, 1 size, 2 flags) or codec;
                              ELF: the PT_LOAD index; DWARF: the section
                              (0 .debug_info, 1 .debug_abbrev); BTF: the type id */
    int32_t level;         /* translations: the page-table level whose entry failed */
};
/* cdef-end */

#endif /* PYCORE_PC_STATUS_H */
