/* Symbol tables in column form (pycore/symbols/table.py SymbolTable.from_columns): the vmlinux's
 * ELF .symtab filtered and sorted the way pycore/symbols/elfsyms.py's Python twin does it, and the
 * index columns every table answers lookups from (the name order and the address runs).
 * Names are one buffer, each followed by a NUL, `ends[i]` the offset of name i's NUL.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_SYMTAB_H
#define PYCORE_PC_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
struct pc_symtab_input {
    const uint8_t *symtab;     /* the .symtab section's bytes (a partial last entry is ignored) */
    size_t symtab_len;
    const uint8_t *strtab;     /* its string table (sh_link) */
    size_t strtab_len;
    int32_t elfclass;          /* 32 or 64 */
    int32_t big_endian;
    uint64_t kernel_start;     /* lowest allocated section address: where KASLR starts moving */
    uint64_t kaslr_offset;     /* added modulo 2**elfclass */
};

int pc_symtab_measure(const struct pc_symtab_input *in, size_t *count, size_t *names_len,
                      struct pc_fault *fault);
int pc_symtab_columns(const struct pc_symtab_input *in, size_t count, size_t names_len,
                      uint8_t *names, uint64_t *ends, uint64_t *addresses, int64_t *sizes,
                      uint8_t *kinds, uint32_t *kinds_present, struct pc_fault *fault);
int pc_symtab_name_order(const uint8_t *names, size_t names_len, const uint64_t *ends, size_t count,
                         uint32_t *order);
int pc_symtab_runs(const uint64_t *addresses, const int64_t *sizes, size_t count, uint64_t start,
                   uint64_t end, uint64_t *keys, uint32_t *firsts, uint64_t *limits, size_t *runs);
/* cdef-end */

/* The kinds a .symtab symbol is given, in their (alphabetical) order: a kind's code in `kinds`
 * is its rank among the kinds present, bit k of *kinds_present says whether kind k is. */
enum { PC_SYMTAB_FUNCTION, PC_SYMTAB_NOTYPE, PC_SYMTAB_OBJECT, PC_SYMTAB_TLS, PC_SYMTAB_KINDS };

/*
 * pc_symtab_measure: how many .symtab entries a table keeps (function, object, common, TLS,
 *   ifunc and untyped symbols with a section and a non-empty name) and the bytes their names
 *   take with one NUL each.  A name is read from st_name to its NUL, or to the end of the string
 *   table when it has none; an st_name at or past the end is an empty name.  Fails with
 *   PC_ERR_CORRUPT when a kept entry of a 64-bit table has an st_size of 2**63 or more
 *   (fault.file_offset: the entry's offset in .symtab, fault.address: st_size, detail 0), for an
 *   elfclass other than 32 or 64 (detail 1), and with PC_ERR_NOMEM past 2**32 - 1 symbols.
 * pc_symtab_columns: the kept entries in lookup order (address, sized before unsized, global
 *   before weak before local before other bindings, functions and objects before TLS before
 *   untyped, name bytes, size, kind), each address moved by kaslr_offset when it is not absolute
 *   and lies at or above kernel_start.  `count` and `names_len` are what pc_symtab_measure gave,
 *   the sizes of the output arrays (count entries each) and of `names`; a mismatch is
 *   PC_ERR_SIZE.  sizes[i] is -1 for an entry whose st_size is 0.  Names are compared as bytes,
 *   which is the Python twin's order for ASCII names only: the caller sends a string table with
 *   other bytes to the Python twin.  PC_ERR_NOMEM when the sort's scratch cannot be allocated.
 * pc_symtab_name_order: every index 0..count-1 into `order`, sorted by name bytes (shorter
 *   first on a common prefix), equal names in index order.  PC_ERR_SIZE when the ends are not
 *   increasing or run past names_len; PC_ERR_NOMEM when the scratch cannot be allocated.
 * pc_symtab_runs: for addresses sorted ascending, one entry per distinct address in
 *   [start, end): the address (keys), the index of its first symbol (firsts) and the first
 *   address past what that symbol covers (limits): address + size when sizes is not NULL and
 *   that symbol's size is positive (at most end), else the next key, else end.  The output
 *   arrays hold count entries; *runs says how many were written.
 */

#endif /* PYCORE_PC_SYMTAB_H */
