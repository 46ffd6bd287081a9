/* A name index of a vmlinux's .debug_info: one pass over the units that records, for
 * every top-level struct, union, enum, typedef, base type and variable DIE, its name
 * and offset.  DWARF 2 to 5, 32- and 64-bit units.  Children are skipped with
 * DW_AT_sibling when the producer gave one, else by decoding attribute sizes.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_DWARFINDEX_H
#define PYCORE_PC_DWARFINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
enum {
    DWI_CLASS_STRUCT = 1, DWI_CLASS_UNION = 2, DWI_CLASS_ENUM = 3,
    DWI_CLASS_TYPEDEF = 4, DWI_CLASS_BASE = 5, DWI_CLASS_VARIABLE = 6
};
enum {
    DWI_FLAG_DECLARATION = 1,  /* DW_AT_declaration: prefer any definition over this */
    DWI_NAME_INLINE = 2,       /* name is a DW_FORM_string at .debug_info offset `name` */
    DWI_NAME_LINE_STR = 4      /* name is at .debug_line_str offset `name`; else .debug_str */
};

struct dwi_entry {
    uint64_t die_offset;
    uint64_t name;
    uint8_t tag_class;
    uint8_t flags;
};

struct dwi_index;

int dwi_scan(const uint8_t *info, size_t info_len, const uint8_t *abbrev, size_t abbrev_len,
             const uint8_t *str_offsets, size_t str_offsets_len, size_t start, size_t end,
             int dedup, struct dwi_index **out, struct pc_fault *fault);
size_t dwi_count(const struct dwi_index *index);
const struct dwi_entry *dwi_entries(const struct dwi_index *index);
void dwi_free(struct dwi_index *index);
/* cdef-end */

/*
 * dwi_scan: indexes the units that start in [start, end) of .debug_info (end may be
 *   info_len).  With dedup, entries are sorted by (class, name kind, name, declaration,
 *   die_offset) and only the first of each (class, name kind, name) is kept, so a
 *   definition wins over declarations and the lowest offset over later copies; without
 *   it, entries come in .debug_info order.  A variable DIE that has no name but a
 *   DW_AT_specification pointing at an earlier declaration in its unit is recorded
 *   under the declaration's name, as a definition.  Errors are PC_ERR_TRUNCATED,
 *   _FORM, _ABBREV, _VERSION or _NOMEM; fault->file_offset is where reading stopped
 *   in the section fault->detail names (0 .debug_info, 1 .debug_abbrev).
 */

#endif /* PYCORE_PC_DWARFINDEX_H */
