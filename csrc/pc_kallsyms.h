/* Expansion of the kernel's compressed kallsyms names (kallsyms_expand_symbol): each
 * kallsyms_names entry is a length (one byte, or two as ULEB128 since 6.1) followed by
 * that many token codes, each standing for a kallsyms_token_table string.  The output is
 * in the column form of pycore/symbols/table.py (pc_symtab.h): type letters apart, names
 * each followed by a NUL.  Also the addresses (kallsyms_sym_address) and the search for the
 * tables in memory that kernels before 6.0 need.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_KALLSYMS_H
#define PYCORE_PC_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
int pc_kallsyms_expand(const uint8_t *data, size_t len, size_t *offset, size_t count,
                       const uint8_t *tokens, size_t tokens_len, const uint32_t *token_start,
                       uint8_t *kinds, uint64_t *ends,
                       uint8_t *names, size_t names_cap, size_t *names_len, size_t *done);
int pc_kallsyms_addresses(const uint8_t *table, size_t len, size_t count, int32_t layout, uint64_t base,
                          uint64_t *addresses, size_t *unsorted);
int pc_kallsyms_find_token_index(const uint8_t *data, size_t len, size_t from, size_t skew, uint32_t max_step,
                                 size_t *position, size_t *patterns, int32_t *found);
int pc_kallsyms_find_markers(const uint8_t *data, size_t len, size_t from, size_t skew, size_t max_words,
                             size_t *position, size_t *words, int32_t *found);
int pc_kallsyms_walk_names(const uint8_t *data, size_t len, size_t count, const uint32_t *markers,
                           size_t markers_count, int32_t *matches);
/* cdef-end */

/* How a table gives the addresses (kallsyms_sym_address): pc_kallsyms_addresses's `layout`. */
enum {
    PC_KALLSYMS_ABSOLUTE = 0,        /* kallsyms_addresses: one little-endian u64 each */
    PC_KALLSYMS_RELATIVE = 1,        /* kallsyms_offsets (s32) from kallsyms_relative_base (`base`) */
    PC_KALLSYMS_PLACE_RELATIVE = 2   /* kallsyms_offsets, each relative to its own place (`base`: the table) */
};

/*
 * pc_kallsyms_expand: expands at most `count` entries of `data`, starting at *offset.  Entry k
 *   puts its first byte, the type letter, in kinds[k] (0 for an entry that expands to nothing)
 *   and the rest followed by a NUL in names at *names_len (token strings hold no NUL); ends[k]
 *   is the offset of that NUL in names.  Token i is tokens[token_start[i] ..
 *   token_start[i + 1]).  Stops before an entry that does not lie wholly in data (the caller
 *   reads more, or reports the table cut short) and before one whose expansion might not fit in
 *   the names_cap bytes of names (the caller grows it).  *done says how many entries it
 *   expanded; *offset and *names_len advance past them.  PC_ERR_SIZE when token_start is not
 *   increasing within tokens_len.
 * pc_kallsyms_addresses: the `count` addresses of `table` (len bytes, checked to hold them) laid
 *   out as `layout` says, computed in unsigned 64-bit arithmetic as the kernel does.  Relative
 *   offsets with any negative entry are KALLSYMS_ABSOLUTE_PERCPU's: a non-negative entry is an
 *   absolute value, a negative one counts down from base - 1.  *unsorted is the first index whose
 *   address is below the one before it, or count.  PC_ERR_SIZE when table is too short or the
 *   layout unknown.
 *
 * The search for the tables in kernel memory (kernels before 6.0, whose VMCOREINFO does not name
 * them).  `data` is a stretch of that memory; `skew` is its address modulo 4, so that only offsets p
 * with (p + skew) % 4 == 0 are tried; each call finds the next candidate at or after `from` and
 * sets *found (0: none), the caller proving it and calling again from *position + 1.
 * pc_kallsyms_find_token_index: the next kallsyms_token_index: u16 0, token 0's length + 1
 *   (1-255), a third byte 0, two more offsets below 512 and 768 (the bytes the Python twin's
 *   pattern names); then, when the 512 bytes lie in data, 256 offsets each above the one before by
 *   at most max_step.  An index that runs past data is a candidate for the caller to check in the
 *   memory after it.  *patterns counts the offsets whose first 8 bytes matched, the candidate's
 *   included.
 * pc_kallsyms_find_markers: the next kallsyms_markers: a u32 0, then at least one more u32 each
 *   512 to 1 MiB above the one before (256 entries of at least 2 bytes), at most max_words in
 *   all, *words of them, that ends at the end of data (where the token table follows) or before
 *   it by at most 768 bytes a word and 15 (6.1's kallsyms_seqs_of_names, 3 bytes a symbol, and its
 *   padding).
 * pc_kallsyms_walk_names: *matches 1 when `count` kallsyms_names entries walked from data's start
 *   by their lengths (one byte, or two as ULEB128 since 6.1; none empty) put entry 256k at
 *   markers[k] and end within data at most 7 bytes before its end, the rest zeros (the padding
 *   before kallsyms_markers).  PC_ERR_SIZE when the markers cannot cover count entries.
 */

#endif /* PYCORE_PC_KALLSYMS_H */
