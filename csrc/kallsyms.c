/* kallsyms name expansion: the hot loop of decoding a dump's symbol table without a
 * vmlinux (pycore/symbols/kallsyms.py holds the pure-Python twin). */
#include <string.h>

#include "pc_kallsyms.h"

size_t pc_kallsyms_expand(const uint8_t *data, size_t len, size_t *offset, size_t count,
                          const uint8_t *tokens, const uint32_t *token_start,
                          uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint32_t longest = 0;
    for (int i = 0; i < 256; i++) {
        uint32_t size = token_start[i + 1] - token_start[i];
        if (size > longest)
            longest = size;
    }
    size_t pos = *offset, written = *out_len, done = 0;
    while (done < count && pos < len) {
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
        if ((size_t)length * longest + 1 > out_cap - written)
            break;
        const uint8_t *code = data + pos + header;
        for (size_t i = 0; i < length; i++) {
            uint32_t start = token_start[code[i]], size = token_start[code[i] + 1] - start;
            memcpy(out + written, tokens + start, size);
            written += size;
        }
        out[written++] = 0;
        pos += header + length;
        done++;
    }
    *offset = pos;
    *out_len = written;
    return done;
}
