/* Strided gathers (see pc_gather.h). */
#include "pc_gather.h"

#include <string.h>

int pc_gather(const uint8_t *src, size_t src_size, size_t first, size_t stride, size_t width, size_t count,
              uint8_t *dst, size_t dst_size)
{
    if (width == 0 || stride < width)
        return PC_ERR_SIZE;
    if (count) {
        /* The last item ends at first + (count - 1) * stride + width: checked without overflow. */
        if (first > src_size || width > src_size - first || (count - 1) > (src_size - first - width) / stride)
            return PC_ERR_SIZE;
        if (count > dst_size / width)
            return PC_ERR_SIZE;
    }
    const uint8_t *from = src + first;
    /* The sizes of kernel integers, as fixed-size copies the compiler turns into one load each. */
    switch (width) {
    case 8:
        for (size_t i = 0; i < count; i++, from += stride)
            memcpy(dst + 8 * i, from, 8);
        break;
    case 4:
        for (size_t i = 0; i < count; i++, from += stride)
            memcpy(dst + 4 * i, from, 4);
        break;
    default:
        for (size_t i = 0; i < count; i++, from += stride)
            memcpy(dst + width * i, from, width);
    }
    return PC_OK;
}
