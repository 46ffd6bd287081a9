/* Name index of .debug_info top-level DIEs; see pc_dwarfindex.h. */
#include "pc_dwarfindex.h"

#include <stdlib.h>
#include <string.h>

#define DW_TAG_enumeration_type 0x04
#define DW_TAG_structure_type 0x13
#define DW_TAG_typedef 0x16
#define DW_TAG_union_type 0x17
#define DW_TAG_base_type 0x24
#define DW_TAG_variable 0x34

#define DW_AT_sibling 0x01
#define DW_AT_name 0x03
#define DW_AT_declaration 0x3c
#define DW_AT_specification 0x47
#define DW_AT_str_offsets_base 0x72

struct dwi_index {
    struct dwi_entry *entries;
    size_t count, capacity;
};

struct attr_spec {
    uint32_t name;
    uint32_t form;
    int64_t implicit_const;
};

struct abbrev {
    uint32_t tag;
    uint8_t has_children;
    uint8_t tag_class;
    uint32_t first_attr, nattrs;
    int64_t fixed_size;          /* bytes of all attributes, or -1 when some size varies */
};

struct abbrev_table {
    struct abbrev *by_code;      /* indexed by code; tag 0 = unused */
    size_t ncodes;
    struct attr_spec *attrs;
    size_t nattrs, attrs_cap;
};

struct unit {
    const uint8_t *info;
    size_t info_len;
    size_t end;                  /* end of this unit in .debug_info */
    int offset_size, addr_size, version;
    uint64_t str_offsets_base;
    const uint8_t *str_offsets;
    size_t str_offsets_len;
};

/* Variable declarations seen at the top level of the current unit (for DW_AT_specification). */
struct decl {
    uint64_t die_offset, name;
    uint8_t flags;
};

/* One LEB128 number at *pos; sign-extended when is_signed (DW_FORM_sdata, SLEB operands). */
static int read_leb(const uint8_t *p, size_t len, size_t *pos, uint64_t *value, int is_signed)
{
    uint64_t result = 0;
    unsigned shift = 0;
    while (*pos < len) {
        uint8_t byte = p[(*pos)++];
        if (shift < 64)
            result |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
        if (!(byte & 0x80)) {
            if (is_signed && shift < 64 && (byte & 0x40))
                result |= ~(uint64_t)0 << shift;
            *value = result;
            return 0;
        }
    }
    return PC_ERR_TRUNCATED;
}

static int read_uleb(const uint8_t *p, size_t len, size_t *pos, uint64_t *value)
{
    return read_leb(p, len, pos, value, 0);
}

static int read_sleb(const uint8_t *p, size_t len, size_t *pos, int64_t *value)
{
    uint64_t result = 0;
    int status = read_leb(p, len, pos, &result, 1);
    *value = (int64_t)result;
    return status;
}

static uint64_t read_le(const uint8_t *p, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint8_t tag_class_of(uint32_t tag)
{
    switch (tag) {
    case DW_TAG_structure_type: return DWI_CLASS_STRUCT;
    case DW_TAG_union_type: return DWI_CLASS_UNION;
    case DW_TAG_enumeration_type: return DWI_CLASS_ENUM;
    case DW_TAG_typedef: return DWI_CLASS_TYPEDEF;
    case DW_TAG_base_type: return DWI_CLASS_BASE;
    case DW_TAG_variable: return DWI_CLASS_VARIABLE;
    default: return 0;
    }
}

/* Size of a form whose size does not depend on the data, or -1. */
static int64_t fixed_form_size(uint32_t form, int offset_size, int addr_size, int version)
{
    switch (form) {
    case 0x01: return addr_size;                                  /* addr */
    case 0x05: case 0x12: case 0x26: case 0x2a: return 2;         /* data2 ref2 strx2 addrx2 */
    case 0x06: case 0x13: case 0x1c: case 0x28: case 0x2c: return 4; /* data4 ref4 ref_sup4 strx4 addrx4 */
    case 0x07: case 0x14: case 0x20: case 0x24: return 8;         /* data8 ref8 ref_sig8 ref_sup8 */
    case 0x0b: case 0x0c: case 0x11: case 0x25: case 0x29: return 1; /* data1 flag ref1 strx1 addrx1 */
    case 0x27: case 0x2b: return 3;                               /* strx3 addrx3 */
    case 0x0e: case 0x17: case 0x1d: case 0x1f: case 0x1f20: case 0x1f21: return offset_size;
    case 0x10: return version <= 2 ? addr_size : offset_size;     /* ref_addr */
    case 0x19: case 0x21: return 0;                               /* flag_present implicit_const */
    case 0x1e: return 16;                                         /* data16 */
    default: return -1;
    }
}

static void free_table(struct abbrev_table *t)
{
    free(t->by_code);
    free(t->attrs);
    memset(t, 0, sizeof(*t));
}

static int parse_abbrevs(const uint8_t *abbrev, size_t abbrev_len, uint64_t offset, const struct unit *u,
                         struct abbrev_table *t, uint64_t *error_offset)
{
    size_t pos = (size_t)offset;
    if (offset >= abbrev_len) {
        *error_offset = offset;
        return PC_ERR_ABBREV;
    }
    for (;;) {
        uint64_t code, tag;
        *error_offset = pos;
        if (read_uleb(abbrev, abbrev_len, &pos, &code))
            return PC_ERR_ABBREV;
        if (code == 0)
            return PC_OK;
        if (code > (1u << 20))
            return PC_ERR_ABBREV;
        if (read_uleb(abbrev, abbrev_len, &pos, &tag) || pos >= abbrev_len)
            return PC_ERR_ABBREV;
        if (code >= t->ncodes) {
            size_t n = t->ncodes ? t->ncodes : 64;
            while (n <= code)
                n *= 2;
            struct abbrev *grown = realloc(t->by_code, n * sizeof(*grown));
            if (!grown)
                return PC_ERR_NOMEM;
            memset(grown + t->ncodes, 0, (n - t->ncodes) * sizeof(*grown));
            t->by_code = grown;
            t->ncodes = n;
        }
        struct abbrev *a = &t->by_code[code];
        if (a->tag)
            return PC_ERR_ABBREV;  /* duplicate code */
        a->tag = tag ? (uint32_t)tag : 0xffffffffu;
        a->tag_class = tag_class_of((uint32_t)tag);
        a->has_children = abbrev[pos++] != 0;
        a->first_attr = (uint32_t)t->nattrs;
        a->nattrs = 0;
        a->fixed_size = 0;
        for (;;) {
            uint64_t name, form;
            int64_t implicit_const = 0;
            if (read_uleb(abbrev, abbrev_len, &pos, &name) || read_uleb(abbrev, abbrev_len, &pos, &form))
                return PC_ERR_ABBREV;
            if (name == 0 && form == 0)
                break;
            if (form == 0x21 && read_sleb(abbrev, abbrev_len, &pos, &implicit_const))
                return PC_ERR_ABBREV;
            if (t->nattrs == t->attrs_cap) {
                size_t n = t->attrs_cap ? 2 * t->attrs_cap : 256;
                struct attr_spec *grown = realloc(t->attrs, n * sizeof(*grown));
                if (!grown)
                    return PC_ERR_NOMEM;
                t->attrs = grown;
                t->attrs_cap = n;
            }
            t->attrs[t->nattrs].name = (uint32_t)name;
            t->attrs[t->nattrs].form = (uint32_t)form;
            t->attrs[t->nattrs].implicit_const = implicit_const;
            t->nattrs++;
            a->nattrs++;
            int64_t size = fixed_form_size((uint32_t)form, u->offset_size, u->addr_size, u->version);
            if (size < 0 || a->fixed_size < 0)
                a->fixed_size = -1;
            else
                a->fixed_size += size;
        }
    }
}

/* Reads one attribute value at *pos; fills *value for constants, offsets and references
 * (references made absolute), *inline_at for DW_FORM_string. */
static int read_form(const struct unit *u, size_t unit_offset, uint32_t form, int64_t implicit_const,
                     size_t *pos, uint64_t *value, size_t *inline_at)
{
    const uint8_t *p = u->info;
    size_t end = u->end;
    int64_t size;
    uint64_t len;
    for (;;) {
        size = fixed_form_size(form, u->offset_size, u->addr_size, u->version);
        if (size >= 0) {
            if (*pos > end || (size_t)size > end - *pos)
                return PC_ERR_TRUNCATED;
            if (form == 0x21)
                *value = (uint64_t)implicit_const;
            else if (size <= 8)
                *value = read_le(p + *pos, (int)size);
            if (form >= 0x11 && form <= 0x14)
                *value += unit_offset;
            *pos += (size_t)size;
            return PC_OK;
        }
        switch (form) {
        case 0x08: { /* string */
            if (*pos > end)
                return PC_ERR_TRUNCATED;
            const uint8_t *nul = memchr(p + *pos, 0, end - *pos);
            if (!nul)
                return PC_ERR_TRUNCATED;
            *inline_at = *pos;
            *pos = (size_t)(nul - p) + 1;
            return PC_OK;
        }
        case 0x0d: { int64_t s; if (read_sleb(p, end, pos, &s)) return PC_ERR_TRUNCATED; *value = (uint64_t)s; return PC_OK; }
        case 0x0f: case 0x1a: case 0x1b: case 0x22: case 0x23: case 0x1f01: case 0x1f02:
            return read_uleb(p, end, pos, value) ? PC_ERR_TRUNCATED : PC_OK;
        case 0x15:
            if (read_uleb(p, end, pos, value))
                return PC_ERR_TRUNCATED;
            *value += unit_offset;
            return PC_OK;
        case 0x03: case 0x04: case 0x0a: case 0x09: case 0x18:
            if (*pos > end)
                return PC_ERR_TRUNCATED;
            if (form == 0x03) { if (end - *pos < 2) return PC_ERR_TRUNCATED; len = read_le(p + *pos, 2); *pos += 2; }
            else if (form == 0x04) { if (end - *pos < 4) return PC_ERR_TRUNCATED; len = read_le(p + *pos, 4); *pos += 4; }
            else if (form == 0x0a) { if (end - *pos < 1) return PC_ERR_TRUNCATED; len = p[(*pos)++]; }
            else if (read_uleb(p, end, pos, &len)) return PC_ERR_TRUNCATED;
            if (len > end - *pos)
                return PC_ERR_TRUNCATED;
            *pos += (size_t)len;
            return PC_OK;
        case 0x16: { /* indirect */
            uint64_t f;
            if (read_uleb(p, end, pos, &f))
                return PC_ERR_TRUNCATED;
            if (f == 0x16 || f == 0x21 || f > 0xffff)
                return PC_ERR_FORM;
            form = (uint32_t)f;
            continue;
        }
        default:
            return PC_ERR_FORM;
        }
    }
}

static int push(struct dwi_index *index, uint64_t die_offset, uint64_t name, uint8_t tag_class, uint8_t flags)
{
    if (index->count == index->capacity) {
        size_t n = index->capacity ? 2 * index->capacity : 4096;
        struct dwi_entry *grown = realloc(index->entries, n * sizeof(*grown));
        if (!grown)
            return PC_ERR_NOMEM;
        index->entries = grown;
        index->capacity = n;
    }
    struct dwi_entry *e = &index->entries[index->count++];
    e->die_offset = die_offset;
    e->name = name;
    e->tag_class = tag_class;
    e->flags = flags;
    return PC_OK;
}

/* The name a strx form refers to, as a .debug_str offset.  DW_AT_str_offsets_base and
 * the index both come from the file: compare by subtraction and division so that a huge
 * base or index cannot wrap `base + index * offset_size` back into the section. */
static int resolve_strx(const struct unit *u, uint64_t index, uint64_t *name)
{
    uint64_t size = (uint64_t)u->offset_size;
    if (!u->str_offsets || u->str_offsets_base > u->str_offsets_len)
        return PC_ERR_TRUNCATED;
    uint64_t room = u->str_offsets_len - u->str_offsets_base;
    if (index >= room / size)
        return PC_ERR_TRUNCATED;
    *name = read_le(u->str_offsets + u->str_offsets_base + index * size, u->offset_size);
    return PC_OK;
}

static int scan_unit(struct unit *u, size_t unit_offset, size_t pos, const struct abbrev_table *t,
                     struct dwi_index *index, struct decl **decls, size_t *decls_cap, uint64_t *error_offset)
{
    const uint8_t *p = u->info;
    int depth = 0;
    size_t ndecls = 0;
    int rc;
    while (pos < u->end) {
        size_t die_offset = pos;
        uint64_t code;
        *error_offset = pos;
        if (read_uleb(p, u->end, &pos, &code))
            return PC_ERR_TRUNCATED;
        if (code == 0) {
            if (--depth <= 0)
                return PC_OK;
            continue;
        }
        if (code >= t->ncodes || !t->by_code[code].tag)
            return PC_ERR_ABBREV;
        const struct abbrev *a = &t->by_code[code];
        int wanted = (depth == 1 && a->tag_class) || depth == 0;
        if (!wanted && a->fixed_size >= 0 && !(a->has_children && depth == 1)) {
            if ((size_t)a->fixed_size > u->end - pos)
                return PC_ERR_TRUNCATED;
            pos += (size_t)a->fixed_size;
            if (a->has_children)
                depth++;
            continue;
        }
        uint64_t sibling = 0, name = 0, spec = 0;
        int have_sibling = 0, have_name = 0, have_spec = 0;
        uint8_t flags = 0;
        for (uint32_t i = 0; i < a->nattrs; i++) {
            const struct attr_spec *s = &t->attrs[a->first_attr + i];
            uint64_t value = 0;
            size_t inline_at = (size_t)-1;
            *error_offset = pos;
            rc = read_form(u, unit_offset, s->form, s->implicit_const, &pos, &value, &inline_at);
            if (rc)
                return rc;
            if (s->name == DW_AT_sibling && s->form != 0x10) {
                sibling = value;
                have_sibling = 1;
            } else if (!wanted) {
                continue;
            } else if (s->name == DW_AT_name) {
                have_name = 1;
                if (inline_at != (size_t)-1) {
                    name = inline_at;
                    flags |= DWI_NAME_INLINE;
                } else if (s->form == 0x1f) {
                    name = value;
                    flags |= DWI_NAME_LINE_STR;
                } else if (s->form == 0x0e) {
                    name = value;
                } else if (s->form == 0x1a || (s->form >= 0x25 && s->form <= 0x28)) {
                    if ((rc = resolve_strx(u, value, &name)))
                        return rc;
                } else {
                    have_name = 0;  /* a supplementary-file string: not indexable here */
                }
            } else if (s->name == DW_AT_declaration) {
                if (s->form == 0x19 || value)
                    flags |= DWI_FLAG_DECLARATION;
            } else if (s->name == DW_AT_specification && s->form != 0x10 && s->form != 0x1c && s->form != 0x24) {
                spec = value;
                have_spec = 1;
            } else if (s->name == DW_AT_str_offsets_base && depth == 0) {
                u->str_offsets_base = value;
            }
        }
        if (depth == 1 && a->tag_class) {
            if (have_name) {
                if ((rc = push(index, die_offset, name, a->tag_class, flags)))
                    return rc;
                if (a->tag_class == DWI_CLASS_VARIABLE && (flags & DWI_FLAG_DECLARATION)) {
                    if (ndecls == *decls_cap) {
                        size_t n = *decls_cap ? 2 * *decls_cap : 256;
                        struct decl *grown = realloc(*decls, n * sizeof(*grown));
                        if (!grown)
                            return PC_ERR_NOMEM;
                        *decls = grown;
                        *decls_cap = n;
                    }
                    (*decls)[ndecls].die_offset = die_offset;
                    (*decls)[ndecls].name = name;
                    (*decls)[ndecls].flags = flags & (DWI_NAME_INLINE | DWI_NAME_LINE_STR);
                    ndecls++;
                }
            } else if (have_spec && a->tag_class == DWI_CLASS_VARIABLE) {
                size_t lo = 0, hi = ndecls;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if ((*decls)[mid].die_offset < spec)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                if (lo < ndecls && (*decls)[lo].die_offset == spec) {
                    rc = push(index, die_offset, (*decls)[lo].name, DWI_CLASS_VARIABLE,
                              (uint8_t)((*decls)[lo].flags | (flags & DWI_FLAG_DECLARATION)));
                    if (rc)
                        return rc;
                }
            }
        }
        if (a->has_children) {
            if (depth >= 1 && have_sibling && sibling > die_offset && sibling <= u->end) {
                pos = (size_t)sibling;   /* skip the whole subtree */
            } else {
                depth++;
            }
        } else if (depth == 0) {
            return PC_OK;  /* a unit DIE without children */
        }
    }
    return depth > 0 ? PC_ERR_TRUNCATED : PC_OK;
}

static int compare_entries(const void *pa, const void *pb)
{
    const struct dwi_entry *a = pa, *b = pb;
    if (a->tag_class != b->tag_class)
        return a->tag_class < b->tag_class ? -1 : 1;
    int ka = a->flags & (DWI_NAME_INLINE | DWI_NAME_LINE_STR), kb = b->flags & (DWI_NAME_INLINE | DWI_NAME_LINE_STR);
    if (ka != kb)
        return ka < kb ? -1 : 1;
    if (a->name != b->name)
        return a->name < b->name ? -1 : 1;
    int da = a->flags & DWI_FLAG_DECLARATION, db = b->flags & DWI_FLAG_DECLARATION;
    if (da != db)
        return da < db ? -1 : 1;
    if (a->die_offset != b->die_offset)
        return a->die_offset < b->die_offset ? -1 : 1;
    return 0;
}

static void dedup(struct dwi_index *index)
{
    if (index->count < 2)
        return;
    qsort(index->entries, index->count, sizeof(struct dwi_entry), compare_entries);
    size_t kept = 1;
    for (size_t i = 1; i < index->count; i++) {
        const struct dwi_entry *prev = &index->entries[kept - 1], *e = &index->entries[i];
        if (e->tag_class == prev->tag_class && e->name == prev->name
            && (e->flags & (DWI_NAME_INLINE | DWI_NAME_LINE_STR)) == (prev->flags & (DWI_NAME_INLINE | DWI_NAME_LINE_STR))
            && !(e->flags & DWI_NAME_INLINE))
            continue;
        index->entries[kept++] = *e;
    }
    index->count = kept;
}

int dwi_scan(const uint8_t *info, size_t info_len, const uint8_t *abbrev, size_t abbrev_len,
             const uint8_t *str_offsets, size_t str_offsets_len, size_t start, size_t end,
             int dedup_entries, struct dwi_index **out, struct pc_fault *fault)
{
    uint64_t *error_offset = &fault->file_offset;
    struct dwi_index *index = calloc(1, sizeof(*index));
    struct abbrev_table table = {0};
    uint64_t table_offset = UINT64_MAX;
    int table_shape = -1;     /* offset size, address size and version the table's sizes assume */
    struct decl *decls = NULL;
    size_t decls_cap = 0;
    int rc = PC_OK;
    size_t pos = start;
    *out = NULL;
    memset(fault, 0, sizeof *fault);
    if (!index)
        return PC_ERR_NOMEM;
    if (end > info_len)
        end = info_len;
    while (pos < end) {
        struct unit u = {0};
        size_t unit_offset = pos;
        uint64_t length, abbrev_offset;
        u.info = info;
        u.str_offsets = str_offsets;
        u.str_offsets_len = str_offsets_len;
        *error_offset = pos;
        if (info_len - pos < 4) { rc = PC_ERR_TRUNCATED; break; }
        length = read_le(info + pos, 4);
        pos += 4;
        u.offset_size = 4;
        if (length == 0xffffffffu) {
            if (info_len - pos < 8) { rc = PC_ERR_TRUNCATED; break; }
            length = read_le(info + pos, 8);
            pos += 8;
            u.offset_size = 8;
        } else if (length >= 0xfffffff0u) {
            rc = PC_ERR_TRUNCATED;
            break;
        }
        if (length > info_len - pos || length < 2) { rc = PC_ERR_TRUNCATED; break; }
        u.end = pos + (size_t)length;
        u.version = (int)read_le(info + pos, 2);
        pos += 2;
        if (u.version < 2 || u.version > 5) { rc = PC_ERR_VERSION; break; }
        if (u.version >= 5) {
            if (u.end - pos < 2 + (size_t)u.offset_size) { rc = PC_ERR_TRUNCATED; break; }
            int unit_type = info[pos];
            u.addr_size = info[pos + 1];
            pos += 2;
            abbrev_offset = read_le(info + pos, u.offset_size);
            pos += (size_t)u.offset_size;
            if (unit_type == 4 || unit_type == 5)        /* skeleton, split_compile: dwo_id */
                pos += 8;
            else if (unit_type == 2 || unit_type == 6)   /* type units: signature, type_offset */
                pos += 8 + (size_t)u.offset_size;
        } else {
            if (u.end - pos < (size_t)u.offset_size + 1) { rc = PC_ERR_TRUNCATED; break; }
            abbrev_offset = read_le(info + pos, u.offset_size);
            pos += (size_t)u.offset_size;
            u.addr_size = info[pos++];
        }
        if (pos > u.end) { rc = PC_ERR_TRUNCATED; break; }
        int shape = (u.offset_size << 16) | (u.addr_size << 8) | u.version;
        if (abbrev_offset != table_offset || shape != table_shape) {
            free_table(&table);
            table_offset = UINT64_MAX;
            rc = parse_abbrevs(abbrev, abbrev_len, abbrev_offset, &u, &table, error_offset);
            if (rc) {
                fault->detail = 1;   /* the offset is in .debug_abbrev */
                break;
            }
            table_offset = abbrev_offset;
            table_shape = shape;
        }
        rc = scan_unit(&u, unit_offset, pos, &table, index, &decls, &decls_cap, error_offset);
        if (rc)
            break;
        pos = u.end;
    }
    free_table(&table);
    free(decls);
    if (rc) {
        dwi_free(index);
        return rc;
    }
    if (dedup_entries)
        dedup(index);
    *out = index;
    return PC_OK;
}

size_t dwi_count(const struct dwi_index *index) { return index->count; }
const struct dwi_entry *dwi_entries(const struct dwi_index *index) { return index->entries; }

void dwi_free(struct dwi_index *index)
{
    if (index) {
        free(index->entries);
        free(index);
    }
}
