/* kallsyms name expansion: the hot loop of decoding a dump's symbol table without a
 * vmlinux (pycore/symbols/kallsyms.py holds the pure-Python twin). */
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
