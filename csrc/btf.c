/* The BTF name index (pc_btf.h): the one pass over a blob's type records that the
 * pure-Python twin in pycore/types/btf.py does with dicts. */
#include <stdlib.h>
#include <string.h>

#include "pc_btf.h"

enum { KIND_INT = 1, KIND_STRUCT = 4, KIND_UNION = 5, KIND_ENUM = 6, KIND_FWD = 7, KIND_TYPEDEF = 8,
       KIND_FUNC = 12, KIND_VAR = 14, KIND_FLOAT = 16, KIND_ENUM64 = 19, KIND_MAX = 19 };

/* Extra 32-bit words after the 12-byte btf_type, per kind: fixed, and per vlen item. */
static const uint8_t FIXED[KIND_MAX + 1] = {0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0};
static const uint8_t PER_ITEM[KIND_MAX + 1] = {0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3};

struct slot {
    uint32_t name_off;   /* 0: empty (named types never have name_off 0) */
    uint32_t length;
    uint32_t type_id;
    uint32_t ns;
};

struct pc_btf_index {
    uint32_t *starts;
    size_t count;
    uint32_t *base;
    size_t base_count;
    struct slot *slots;
    size_t mask;
    const uint8_t *strings;
};

static uint64_t hash(int ns, const uint8_t *name, size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)ns;
    for (size_t i = 0; i < len; i++)
        h = (h ^ name[i]) * 1099511628211ULL;
    return h;
}

static int namespace_of(uint32_t info)
{
    switch ((info >> 24) & 0x1f) {
    case KIND_STRUCT: return BTF_NS_STRUCT;
    case KIND_UNION: return BTF_NS_UNION;
    case KIND_ENUM: case KIND_ENUM64: return BTF_NS_ENUM;
    case KIND_TYPEDEF: return BTF_NS_TYPEDEF;
    case KIND_FWD: return (info & 0x80000000u) ? BTF_NS_FWD_UNION : BTF_NS_FWD_STRUCT;
    case KIND_VAR: return BTF_NS_VAR;
    case KIND_FUNC: return BTF_NS_FUNC;
    default: return -1;
    }
}

void pc_btf_free(struct pc_btf_index *index)
{
    if (!index)
        return;
    free(index->starts);
    free(index->base);
    free(index->slots);
    free(index);
}

int pc_btf_index(const uint32_t *words, size_t nwords, const uint8_t *strings, size_t strings_len,
                 uint64_t type_start, uint64_t str_start, struct pc_btf_index **out, struct pc_fault *fault)
{
    memset(fault, 0, sizeof *fault);
    *out = NULL;
    struct pc_btf_index *index = calloc(1, sizeof *index);
    /* A record takes at least 3 words: nwords / 3 + 1 ids at most, void included. */
    size_t capacity = nwords / 3 + 1;
    if (!index || !(index->starts = malloc(capacity * sizeof *index->starts))) {
        pc_btf_free(index);
        return PC_ERR_NOMEM;
    }
    index->strings = strings;
    index->starts[0] = 0;
    size_t count = 1, named = 0, base = 0, i = 0;
    while (i < nwords) {
        if (i + 3 > nwords) {
            fault->file_offset = type_start + 4 * i;
            fault->detail = 0;
            pc_btf_free(index);
            return PC_ERR_BTF_RECORD;
        }
        uint32_t info = words[i + 1], kind = (info >> 24) & 0x1f;
        if (kind == 0 || kind > KIND_MAX) {
            fault->file_offset = type_start + 4 * i + 4;
            fault->detail = (int32_t)count;
            fault->address = kind;
            pc_btf_free(index);
            return PC_ERR_BTF_KIND;
        }
        index->starts[count++] = (uint32_t)i;
        if (words[i]) {
            if (kind == KIND_INT || kind == KIND_FLOAT)
                base++;
            else if (namespace_of(info) >= 0)
                named++;
        }
        i += 3 + FIXED[kind] + (size_t)PER_ITEM[kind] * (info & 0xffff);
    }
    if (i != nwords) {
        fault->file_offset = type_start + 4 * nwords;
        fault->detail = 1;
        pc_btf_free(index);
        return PC_ERR_BTF_RECORD;
    }
    index->count = count;
    size_t slots = 16;
    while (slots < 2 * named)
        slots <<= 1;
    index->mask = slots - 1;
    index->slots = calloc(slots, sizeof *index->slots);
    index->base = malloc((base ? base : 1) * sizeof *index->base);
    if (!index->slots || !index->base) {
        pc_btf_free(index);
        return PC_ERR_NOMEM;
    }
    for (size_t id = 1; id < count; id++) {
        const uint32_t *record = words + index->starts[id];
        uint32_t name_off = record[0], info = record[1], kind = (info >> 24) & 0x1f;
        int ns = namespace_of(info);
        if (!name_off || (ns < 0 && kind != KIND_INT && kind != KIND_FLOAT))
            continue;
        const uint8_t *end = name_off < strings_len
            ? memchr(strings + name_off, 0, strings_len - name_off) : NULL;
        if (!end) {
            fault->file_offset = str_start + name_off;
            fault->detail = (int32_t)id;
            fault->address = name_off;
            pc_btf_free(index);
            return PC_ERR_BTF_NAME;
        }
        if (ns < 0) {
            index->base[index->base_count++] = (uint32_t)id;
            continue;
        }
        size_t length = (size_t)(end - (strings + name_off));
        size_t at = hash(ns, strings + name_off, length) & index->mask;
        for (;; at = (at + 1) & index->mask) {
            struct slot *slot = &index->slots[at];
            if (!slot->name_off) {
                slot->name_off = name_off;
                slot->length = (uint32_t)length;
                slot->type_id = (uint32_t)id;
                slot->ns = (uint32_t)ns;
                break;
            }
            if (slot->ns == (uint32_t)ns && slot->length == length &&
                !memcmp(strings + slot->name_off, strings + name_off, length))
                break;  /* a lower id has the name already */
        }
    }
    *out = index;
    return PC_OK;
}

size_t pc_btf_count(const struct pc_btf_index *index)
{
    return index->count;
}

const uint32_t *pc_btf_starts(const struct pc_btf_index *index)
{
    return index->starts;
}

size_t pc_btf_base_ids(const struct pc_btf_index *index, const uint32_t **ids)
{
    *ids = index->base;
    return index->base_count;
}

int64_t pc_btf_lookup(const struct pc_btf_index *index, int ns, const uint8_t *name, size_t len)
{
    for (size_t at = hash(ns, name, len) & index->mask;; at = (at + 1) & index->mask) {
        const struct slot *slot = &index->slots[at];
        if (!slot->name_off)
            return -1;
        if (slot->ns == (uint32_t)ns && slot->length == len && !memcmp(index->strings + slot->name_off, name, len))
            return slot->type_id;
    }
}
