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
