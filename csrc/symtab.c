/* Symbol tables in column form (pc_symtab.h): the .symtab filter and sort that
 * pycore/symbols/elfsyms.py's Python twin does with tuples, and the name order and address
 * runs that pycore/symbols/table.py's twins build with sorted() and bisect. */
#include <stdlib.h>
#include <string.h>

#include "pc_symtab.h"

enum { STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_COMMON = 5, STT_TLS = 6, STT_GNU_IFUNC = 10 };
enum { STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2 };
enum { SHN_UNDEF = 0, SHN_ABS = 0xfff1 };

/* One kept .symtab entry, with what its place in the sort depends on. */
struct row {
    uint64_t value;
    uint64_t size;
    uint64_t prefix;      /* the name's first 8 bytes, big-endian, zero-padded: most compares end here */
    uint32_t name_offset;
    size_t name_len;
    uint8_t binding_rank;
    uint8_t type_rank;
    uint8_t kind;
};

static uint64_t load(const uint8_t *p, int size, int big_endian)
{
    uint64_t value = 0;
    if (big_endian) {
        for (int i = 0; i < size; i++)
            value = value << 8 | p[i];
    } else {
        for (int i = size - 1; i >= 0; i--)
            value = value << 8 | p[i];
    }
    return value;
}

static uint64_t prefix_of(const uint8_t *name, size_t len)
{
    uint64_t prefix = 0;
    for (size_t i = 0; i < 8; i++)
        prefix = prefix << 8 | (i < len ? name[i] : 0);
    return prefix;
}

/* Elf32_Sym and Elf64_Sym: the entry size, then each field's offset and width. */
struct layout {
    size_t entry, name, value, value_size, size, info, shndx;
};
static const struct layout ELF32 = {16, 0, 4, 4, 8, 12, 14};
static const struct layout ELF64 = {24, 0, 8, 8, 16, 4, 6};

static int kind_of(unsigned type)
{
    switch (type) {
    case STT_FUNC: case STT_GNU_IFUNC: return PC_SYMTAB_FUNCTION;
    case STT_OBJECT: case STT_COMMON: return PC_SYMTAB_OBJECT;
    case STT_TLS: return PC_SYMTAB_TLS;
    case STT_NOTYPE: return PC_SYMTAB_NOTYPE;
    default: return -1;
    }
}

/* Entry `index` as a row: 0 when it is left out, 1 when kept, a status when it is impossible. */
static int read_row(const struct pc_symtab_input *in, const struct layout *layout, size_t index,
                    struct row *row, struct pc_fault *fault)
{
    const uint8_t *entry = in->symtab + index * layout->entry;
    int big = in->big_endian;
    uint32_t name_offset = (uint32_t)load(entry + layout->name, 4, big);
    unsigned info = entry[layout->info];
    unsigned shndx = (unsigned)load(entry + layout->shndx, 2, big);
    int kind = kind_of(info & 0xf);
    if (kind < 0 || shndx == SHN_UNDEF || !name_offset || name_offset >= in->strtab_len)
        return 0;
    const uint8_t *name = in->strtab + name_offset;
    size_t room = in->strtab_len - name_offset;
    const uint8_t *nul = memchr(name, 0, room);
    size_t name_len = nul ? (size_t)(nul - name) : room;
    if (!name_len)
        return 0;
    uint64_t size = load(entry + layout->size, (int)layout->value_size, big);
    if (size >> 63) {
        /* The table keeps sizes as int64 (-1: none); no kernel object comes near 2**63. */
        fault->file_offset = index * layout->entry;
        fault->address = size;
        fault->detail = 0;
        return PC_ERR_CORRUPT;
    }
    uint64_t value = load(entry + layout->value, (int)layout->value_size, big);
    if (in->kaslr_offset && shndx != SHN_ABS && value >= in->kernel_start) {
        value += in->kaslr_offset;
        if (in->elfclass == 32)
            value &= 0xffffffffu;
    }
    unsigned binding = info >> 4;
    row->value = value;
    row->size = size;
    row->prefix = prefix_of(name, name_len);
    row->name_offset = name_offset;
    row->name_len = name_len;
    row->binding_rank = binding == STB_GLOBAL ? 0 : binding == STB_WEAK ? 1 : binding == STB_LOCAL ? 2 : 3;
    row->type_rank = kind == PC_SYMTAB_TLS ? 1 : kind == PC_SYMTAB_NOTYPE ? 2 : 0;
    row->kind = (uint8_t)kind;
    return 1;
}

static int layout_of(const struct pc_symtab_input *in, const struct layout **layout, struct pc_fault *fault)
{
    if (in->elfclass != 32 && in->elfclass != 64) {
        fault->detail = 1;
        return PC_ERR_CORRUPT;
    }
    *layout = in->elfclass == 64 ? &ELF64 : &ELF32;
    return PC_OK;
}

int pc_symtab_measure(const struct pc_symtab_input *in, size_t *count, size_t *names_len,
                      struct pc_fault *fault)
{
    const struct layout *layout;
    int status = layout_of(in, &layout, fault);
    if (status != PC_OK)
        return status;
    size_t entries = in->symtab_len / layout->entry, kept = 0, bytes = 0;
    for (size_t i = 0; i < entries; i++) {
        struct row row;
        status = read_row(in, layout, i, &row, fault);
        if (status < 0)
            return status;
        if (status) {
            kept++;
            bytes += row.name_len + 1;
        }
    }
    if (kept > UINT32_MAX)
        return PC_ERR_NOMEM;
    *count = kept;
    *names_len = bytes;
    return PC_OK;
}

/* What the sorts order: a primary key that decides most comparisons from contiguous memory,
 * and the item's index, whose full comparison `tie` makes when the primary keys are equal. */
struct sort_key {
    uint64_t primary;
    uint64_t secondary;
    uint32_t index;
};

typedef int (*tie_fn)(const void *context, uint32_t a, uint32_t b);

static int before(const struct sort_key *a, const struct sort_key *b, tie_fn tie, const void *context)
{
    if (a->primary != b->primary)
        return a->primary < b->primary;
    if (a->secondary != b->secondary)
        return a->secondary < b->secondary;
    return tie(context, a->index, b->index) < 0;
}

/* A bottom-up merge sort of `items` (stable: equal items keep their order), `scratch` as large. */
static void merge_sort(struct sort_key *items, struct sort_key *scratch, size_t count, tie_fn tie,
                       const void *context)
{
    struct sort_key *from = items, *to = scratch;
    for (size_t width = 1; width < count; width *= 2) {
        for (size_t low = 0; low < count; low += 2 * width) {
            size_t middle = low + width < count ? low + width : count;
            size_t high = middle + width < count ? middle + width : count;
            size_t left = low, right = middle, out = low;
            while (left < middle && right < high)
                to[out++] = before(&from[right], &from[left], tie, context) ? from[right++] : from[left++];
            while (left < middle)
                to[out++] = from[left++];
            while (right < high)
                to[out++] = from[right++];
        }
        struct sort_key *swap = from;
        from = to;
        to = swap;
    }
    if (from != items)
        memcpy(items, from, count * sizeof *items);
}

static int compare_bytes(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    int order = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (order)
        return order;
    return a_len < b_len ? -1 : a_len > b_len;
}

#define ORDER(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

struct row_context {
    const struct row *rows;
    const uint8_t *strtab;
};

static int compare_rows(const void *context, uint32_t a, uint32_t b)
{
    const struct row_context *c = context;
    const struct row *x = &c->rows[a], *y = &c->rows[b];
    ORDER(x->value, y->value);
    ORDER(x->size == 0, y->size == 0);
    ORDER(x->binding_rank, y->binding_rank);
    ORDER(x->type_rank, y->type_rank);
    ORDER(x->prefix, y->prefix);
    int order = compare_bytes(c->strtab + x->name_offset, x->name_len, c->strtab + y->name_offset, y->name_len);
    if (order)
        return order;
    ORDER(x->size, y->size);
    ORDER(x->kind, y->kind);
    return 0;
}

int pc_symtab_columns(const struct pc_symtab_input *in, size_t count, size_t names_len,
                      uint8_t *names, uint64_t *ends, uint64_t *addresses, int64_t *sizes,
                      uint8_t *kinds, uint32_t *kinds_present, struct pc_fault *fault)
{
    const struct layout *layout;
    int status = layout_of(in, &layout, fault);
    if (status != PC_OK)
        return status;
    if (count > UINT32_MAX)
        return PC_ERR_SIZE;
    struct row *rows = malloc((count ? count : 1) * sizeof *rows);
    struct sort_key *order = malloc((count ? count : 1) * sizeof *order);
    struct sort_key *scratch = malloc((count ? count : 1) * sizeof *scratch);
    if (!rows || !order || !scratch) {
        status = PC_ERR_NOMEM;
        goto done;
    }
    size_t entries = in->symtab_len / layout->entry, kept = 0;
    unsigned present = 0;
    for (size_t i = 0; i < entries; i++) {
        struct row row;
        status = read_row(in, layout, i, &row, fault);
        if (status < 0)
            goto done;
        if (!status)
            continue;
        if (kept == count) {
            status = PC_ERR_SIZE;
            goto done;
        }
        order[kept].primary = row.value;
        order[kept].secondary = 0;
        order[kept].index = (uint32_t)kept;
        rows[kept++] = row;
        present |= 1u << row.kind;
    }
    status = PC_OK;
    if (kept != count) {
        status = PC_ERR_SIZE;
        goto done;
    }
    struct row_context context = {rows, in->strtab};
    merge_sort(order, scratch, count, compare_rows, &context);

    uint8_t code[PC_SYMTAB_KINDS];
    for (unsigned kind = 0, rank = 0; kind < PC_SYMTAB_KINDS; kind++)
        code[kind] = (uint8_t)(present >> kind & 1 ? rank++ : 0);
    size_t written = 0;
    for (size_t i = 0; i < count; i++) {
        const struct row *row = &rows[order[i].index];
        if (row->name_len + 1 > names_len - written) {
            status = PC_ERR_SIZE;
            goto done;
        }
        memcpy(names + written, in->strtab + row->name_offset, row->name_len);
        written += row->name_len;
        ends[i] = written;
        names[written++] = 0;
        addresses[i] = row->value;
        sizes[i] = row->size ? (int64_t)row->size : -1;
        kinds[i] = code[row->kind];
    }
    if (written != names_len)
        status = PC_ERR_SIZE;
    *kinds_present = present;
done:
    free(rows);
    free(order);
    free(scratch);
    return status;
}

struct name_context {
    const uint8_t *names;
    const uint64_t *ends;
};

static size_t name_start(const uint64_t *ends, uint32_t index)
{
    return index ? ends[index - 1] + 1 : 0;
}

static int compare_names(const void *context, uint32_t a, uint32_t b)
{
    const struct name_context *c = context;
    size_t a_start = name_start(c->ends, a), b_start = name_start(c->ends, b);
    return compare_bytes(c->names + a_start, c->ends[a] - a_start, c->names + b_start, c->ends[b] - b_start);
}

int pc_symtab_name_order(const uint8_t *names, size_t names_len, const uint64_t *ends, size_t count,
                         uint32_t *order)
{
    if (count > UINT32_MAX)
        return PC_ERR_SIZE;
    for (size_t i = 0; i < count; i++) {
        size_t start = i ? ends[i - 1] + 1 : 0;
        if (ends[i] < start || ends[i] > names_len)
            return PC_ERR_SIZE;
    }
    struct sort_key *keys = malloc((count ? count : 1) * sizeof *keys);
    struct sort_key *scratch = malloc((count ? count : 1) * sizeof *scratch);
    int status = PC_OK;
    if (!keys || !scratch) {
        status = PC_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        size_t start = i ? ends[i - 1] + 1 : 0;
        size_t length = ends[i] - start;
        keys[i].primary = prefix_of(names + start, length);
        keys[i].secondary = length > 8 ? prefix_of(names + start + 8, length - 8) : 0;
        keys[i].index = (uint32_t)i;
    }
    struct name_context context = {names, ends};
    merge_sort(keys, scratch, count, compare_names, &context);
    for (size_t i = 0; i < count; i++)
        order[i] = keys[i].index;
done:
    free(keys);
    free(scratch);
    return status;
}

int pc_symtab_runs(const uint64_t *addresses, const int64_t *sizes, size_t count, uint64_t start,
                   uint64_t end, uint64_t *keys, uint32_t *firsts, uint64_t *limits, size_t *runs)
{
    size_t written = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t address = addresses[i];
        if ((i && address == addresses[i - 1]) || address < start)
            continue;
        if (address >= end)
            break;
        keys[written] = address;
        firsts[written] = (uint32_t)i;
        written++;
    }
    for (size_t run = 0; run < written; run++) {
        uint64_t key = keys[run], limit = run + 1 < written ? keys[run + 1] : end;
        int64_t size = sizes ? sizes[firsts[run]] : 0;
        if (size > 0)
            limit = (uint64_t)size < end - key ? key + (uint64_t)size : end;
        limits[run] = limit;
    }
    *runs = written;
    return PC_OK;
}
