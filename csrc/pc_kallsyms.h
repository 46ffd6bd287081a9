/* Expansion of the kernel's compressed kallsyms names (kallsyms_expand_symbol): each
 * kallsyms_names entry is a length (one byte, or two as ULEB128 since 6.1) followed by
 * that many token codes, each standing for a kallsyms_token_table string.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_KALLSYMS_H
#define PYCORE_PC_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
size_t pc_kallsyms_expand(const uint8_t *data, size_t len, size_t *offset, size_t count,
                          const uint8_t *tokens, const uint32_t *token_start,
                          uint8_t *out, size_t out_cap, size_t *out_len);
/* cdef-end */

/*
 * pc_kallsyms_expand: expands at most `count` entries of `data`, starting at *offset,
 *   appending each name followed by a NUL to out (token strings hold no NUL).  Token i is
 *   tokens[token_start[i] .. token_start[i + 1]).  Stops before an entry that does not
 *   lie wholly in data (the caller reads more, or reports the table cut short) and before
 *   one whose expansion might not fit in out (the caller grows out).  Returns how many
 *   entries it expanded; *offset and *out_len advance past them.
 */

#endif /* PYCORE_PC_KALLSYMS_H */
