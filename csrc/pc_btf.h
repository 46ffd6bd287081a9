/* A name index of a BTF blob's types, built in one pass: where each type record starts
 * and, per namespace, the first type of each name (struct, union, enum, typedef, the
 * forward declarations, VAR, FUNC), in a hash table looked up by name.  INT and FLOAT
 * ids are listed apart: their names are matched in canonical spelling by Python.
 * The region between the cdef markers is what cffi parses: plain declarations only.
 */
#ifndef PYCORE_PC_BTF_H
#define PYCORE_PC_BTF_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
enum {
    BTF_NS_STRUCT = 0, BTF_NS_UNION = 1, BTF_NS_ENUM = 2, BTF_NS_TYPEDEF = 3,
    BTF_NS_FWD_STRUCT = 4, BTF_NS_FWD_UNION = 5, BTF_NS_VAR = 6, BTF_NS_FUNC = 7
};

struct pc_btf_index;

int pc_btf_index(const uint32_t *words, size_t nwords, const uint8_t *strings, size_t strings_len,
                 uint64_t type_start, uint64_t str_start, struct pc_btf_index **out, struct pc_fault *fault);
size_t pc_btf_count(const struct pc_btf_index *index);
const uint32_t *pc_btf_starts(const struct pc_btf_index *index);
size_t pc_btf_base_ids(const struct pc_btf_index *index, const uint32_t **ids);
int64_t pc_btf_lookup(const struct pc_btf_index *index, int ns, const uint8_t *name, size_t len);
void pc_btf_free(struct pc_btf_index *index);
/* cdef-end */

/*
 * pc_btf_index: scans the type section `words` (host order) of a blob whose type and
 *   string sections start at byte offsets type_start and str_start.  Type id 0 is void;
 *   pc_btf_starts()[id] is the word index of type id's record (id >= 1).  Errors, in the
 *   order the pure-Python twin finds them: PC_ERR_BTF_RECORD and PC_ERR_BTF_KIND while
 *   walking the records, then PC_ERR_BTF_NAME for the first named type (by id) whose
 *   name_off is outside the strings or has no NUL after it; fault->file_offset is the
 *   blob offset of the field.  PC_ERR_NOMEM when out of memory.
 * pc_btf_lookup: the lowest type id of that name in namespace ns, or -1.
 */

#endif /* PYCORE_PC_BTF_H */
