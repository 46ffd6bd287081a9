/* kallsyms name expansion and addresses: the hot loops of decoding a dump's symbol table without a
 * vmlinux (pycore/symbols/kallsyms.py holds the pure-Python twins); and the search for the tables
 * where VMCOREINFO does not name them (pycore/symbols/kallsyms_scan.py holds those twins). */
#include <string.h>

#include "pc_kallsyms.h"

int pc_kallsyms_expand(const uint8_t *data, size_t len, size_t *offset, size_t count,
                       const uint8_t *tokens, size_t tokens_len, const uint32_t *token_start,
                       uint8_t *kinds, uint64_t *ends,
                       uint8_t *names, size_t names_cap, size_t *names_len, size_t *done)
{
    uint32_t longest = 0;
    for (int i = 0; i < 256; i++) {
        if (token_start[i + 1] < token_start[i] || token_start[i + 1] > tokens_len)
            return PC_ERR_SIZE;
        uint32_t size = token_start[i + 1] - token_start[i];
        if (size > longest)
            longest = size;
    }
    size_t pos = *offset, written = *names_len, expanded = 0;
    if (written > names_cap)
        return PC_ERR_SIZE;
    while (expanded < count && pos < len) {
        size_t length = data[pos], header = 1;
        if (length & 0x80) {
            /* Since 6.1 ("big" symbols, mostly Rust): ULEB128 in two bytes, low 7 bits first. */
            if (pos + 1 >= len)
                break;
            length = (length & 0x7f) | ((size_t)data[pos + 1] << 7);
            header = 2;
        }
        if (length > len - pos - header)
            break;
        if ((size_t)length * longest + 1 > names_cap - written)
            break;
        const uint8_t *code = data + pos + header;
        uint8_t kind = 0;
        int first = 1;
        for (size_t i = 0; i < length; i++) {
            uint32_t start = token_start[code[i]], size = token_start[code[i] + 1] - start;
            const uint8_t *token = tokens + start;
            if (first && size) {
                /* The type letter is the first byte of the expansion, whichever token holds it. */
                kind = *token++;
                size--;
                first = 0;
            }
            memcpy(names + written, token, size);
            written += size;
        }
        kinds[expanded] = kind;
        ends[expanded] = written;
        names[written++] = 0;
        pos += header + length;
        expanded++;
    }
    *offset = pos;
    *names_len = written;
    *done = expanded;
    return PC_OK;
}

static int64_t s32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

int pc_kallsyms_addresses(const uint8_t *table, size_t len, size_t count, int32_t layout, uint64_t base,
                          uint64_t *addresses, size_t *unsorted)
{
    size_t width = layout == PC_KALLSYMS_ABSOLUTE ? 8 : 4;
    if (layout < PC_KALLSYMS_ABSOLUTE || layout > PC_KALLSYMS_PLACE_RELATIVE || count > len / width)
        return PC_ERR_SIZE;
    int negative = 0;
    if (layout == PC_KALLSYMS_RELATIVE)
        for (size_t i = 0; i < count && !negative; i++)
            negative = s32(table + 4 * i) < 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = table + width * i;
        uint64_t address;
        if (layout == PC_KALLSYMS_ABSOLUTE) {
            address = 0;
            for (int byte = 7; byte >= 0; byte--)
                address = address << 8 | p[byte];
        } else {
            int64_t offset = s32(p);
            if (layout == PC_KALLSYMS_PLACE_RELATIVE)
                address = base + 4 * i + (uint64_t)offset;
            else if (negative)
                address = offset >= 0 ? (uint64_t)offset : base - 1 - (uint64_t)offset;
            else
                address = base + (uint64_t)offset;
        }
        addresses[i] = address;
    }
    *unsorted = count;
    for (size_t i = 1; i < count; i++) {
        if (addresses[i] < addresses[i - 1]) {
            *unsorted = i;
            break;
        }
    }
    return PC_OK;
}

/* The search for the tables of a kernel whose VMCOREINFO does not name them (before 6.0):
 * pycore/symbols/kallsyms_scan.py holds the Python twins and the proofs that follow a match. */

static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The first offset at or after `from` that lies on a 4-byte boundary of the kernel's memory. */
static size_t aligned(size_t from, size_t skew)
{
    return from + (4 - (from + skew) % 4) % 4;
}

int pc_kallsyms_find_token_index(const uint8_t *data, size_t len, size_t from, size_t skew, uint32_t max_step,
                                 size_t *position, size_t *patterns, int32_t *found)
{
    *found = 0;
    *patterns = 0;
    if (len < 8 || from > len - 8)
        return PC_OK;
    for (size_t p = aligned(from, skew); p <= len - 8; p += 4) {
        const uint8_t *q = data + p;
        /* 0, then token 0's length + 1, then two more small offsets; the first word alone rules
         * out nearly every offset. */
        if ((u32(q) & 0xff00ffffu) != 0 || !q[2] || q[5] > 1 || q[7] > 2)
            continue;
        ++*patterns;
        int increasing = 1;
        if (len - p >= 512) {
            for (int i = 1; i < 256 && increasing; i++) {
                uint32_t previous = q[2 * i - 2] | (uint32_t)q[2 * i - 1] << 8;
                uint32_t offset = q[2 * i] | (uint32_t)q[2 * i + 1] << 8;
                increasing = offset > previous && offset - previous <= max_step;
            }
        }
        if (increasing) {
            *position = p;
            *found = 1;
            return PC_OK;
        }
    }
    return PC_OK;
}

int pc_kallsyms_find_markers(const uint8_t *data, size_t len, size_t from, size_t skew, size_t max_words,
                             size_t *position, size_t *words, int32_t *found)
{
    *found = 0;
    if (len < 8 || from > len - 8)
        return PC_OK;
    for (size_t p = aligned(from, skew); p <= len - 8; p += 4) {
        if (u32(data + p))
            continue;
        size_t limit = len - p < 4 * max_words ? len : p + 4 * max_words;
        size_t n = 1;
        uint32_t previous = 0;
        for (size_t q = p + 4; q + 4 <= limit; q += 4) {
            uint32_t value = u32(data + q);
            if (value < previous || value - previous < 2 * 256 || value - previous >= 1u << 20)
                break;
            previous = value;
            n++;
        }
        /* The markers end at the token table (the end of data), or behind 6.1's
         * kallsyms_seqs_of_names: 3 bytes a symbol (768 a marker) and its padding before it. */
        if (n >= 2 && len - (p + 4 * n) < 768 * n + 16) {
            *position = p;
            *words = n;
            *found = 1;
            return PC_OK;
        }
    }
    return PC_OK;
}

int pc_kallsyms_walk_names(const uint8_t *data, size_t len, size_t count, const uint32_t *markers,
                           size_t markers_count, int32_t *matches)
{
    *matches = 0;
    if (count > 256 * markers_count)
        return PC_ERR_SIZE;
    size_t offset = 0;
    for (size_t number = 0; number < count; number++) {
        if (number % 256 == 0 && offset != markers[number / 256])
            return PC_OK;
        if (offset >= len)
            return PC_OK;
        size_t length = data[offset];
        if (length & 0x80) {
            if (offset + 1 >= len)
                return PC_OK;
            length = (length & 0x7f) | ((size_t)data[offset + 1] << 7);
            offset += 2;
        } else {
            offset += 1;
        }
        if (length == 0)
            return PC_OK;
        offset += length;
    }
    if (offset > len || len - offset >= 8)
        return PC_OK;
    for (size_t i = offset; i < len; i++)
        if (data[i])
            return PC_OK;
    *matches = 1;
    return PC_OK;
}
