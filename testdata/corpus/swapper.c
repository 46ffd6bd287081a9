/* pycore-swapper: anonymous memory with known contents for the corpus's swap
 * scenario (issue 16). It maps MIB MiB (argv[1], default 64), fills every
 * 8-byte word with its own virtual address ^ PATTERN_MAGIC (so each page is
 * distinct and a misplaced page shows), except every SAME_EVERY-th page,
 * whose words are all SAME_MAGIC ^ page index (zram stores those as
 * ZRAM_SAME, no zsmalloc object) and every ZERO_EVERY-th page, left zero.
 * A marker string opens the region for `search`. It prints its pid and the
 * region to the console, then sleeps until the crash; memory pressure pushes
 * the pages out to swap. Built static with the host's gcc (guest.py). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PATTERN_MAGIC 0x5059434f52450000ull /* "PYCORE\0\0" */
#define SAME_MAGIC 0x53414d4550414745ull    /* "SAMEPAGE" */
#define SAME_EVERY 64
#define ZERO_EVERY 97
#define MARKER "PYCORE-SWAPPER-MARK"

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
    size_t size = mib << 20, page = 4096;
    uint64_t *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        perror("pycore-swapper: mmap");
        return 1;
    }
    for (size_t index = 0; index < size / page; index++) {
        uint64_t *words = region + index * (page / 8);
        if (index % ZERO_EVERY == ZERO_EVERY - 1)
            continue;
        for (size_t word = 0; word < page / 8; word++)
            words[word] = index % SAME_EVERY == SAME_EVERY - 1 ? SAME_MAGIC ^ index
                                                                : (uint64_t)(uintptr_t)&words[word] ^ PATTERN_MAGIC;
    }
    snprintf((char *)region, 64, "%s", MARKER);
    printf("PYCORE: swapper pid %d region %#lx size %#zx pattern %#llx same %#llx every %d zero every %d\n",
           (int)getpid(), (unsigned long)(uintptr_t)region, size, PATTERN_MAGIC, SAME_MAGIC, SAME_EVERY,
           ZERO_EVERY);
    fflush(stdout);
    for (;;)
        pause();
}
