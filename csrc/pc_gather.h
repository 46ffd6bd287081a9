/* Strided gathers for bulk typed reads: one member out of each of many consecutive objects.
 *
 * pycore.object.read_members reads N objects of a struct into one buffer and wants the same
 * `width` bytes of each; Python's strided memoryview copy goes item by item through a
 * generic path (~30 ns an item), this loop at memory speed.  The pure-Python twin is
 * pycore.object._gather_python; both give the same bytes and refuse the same bounds.
 */
#ifndef PYCORE_PC_GATHER_H
#define PYCORE_PC_GATHER_H

#include <stddef.h>
#include <stdint.h>

#include "pc_status.h"

/* cdef-begin */
/* dst[i * width .. +width) = src[first + i * stride .. +width) for i < count.  PC_ERR_SIZE (and
 * nothing written) when a width of 0, a stride smaller than width, or either buffer is too short. */
int pc_gather(const uint8_t *src, size_t src_size, size_t first, size_t stride, size_t width, size_t count,
              uint8_t *dst, size_t dst_size);
/* cdef-end */

#endif /* PYCORE_PC_GATHER_H */
