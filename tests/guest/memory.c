/* Heap stress: one 100 MiB block written and verified, 100k small blocks
 * allocated, verified and freed in a scrambled order, calloc zeroing, and a
 * realloc chain growing to 64 MiB that must keep its contents. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                              \
    do {                                                                       \
        printf("FAIL " __VA_ARGS__);                                           \
        printf("\n");                                                          \
        return 1;                                                              \
    } while (0)

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static int big_block(void)
{
    const size_t size = 100u << 20;
    uint64_t *p = malloc(size);
    if (!p)
        FAIL("malloc(100 MiB) returned NULL");
    size_t n = size / sizeof *p;
    for (size_t i = 0; i < n; i++)
        p[i] = mix(i);
    for (size_t i = 0; i < n; i++)
        if (p[i] != mix(i))
            FAIL("100 MiB block: word %zu reads %#llx", i, (unsigned long long)p[i]);
    free(p);
    return 0;
}

#define SMALL 100000

static int small_blocks(void)
{
    static unsigned char *blocks[SMALL];
    static size_t sizes[SMALL];
    for (size_t i = 0; i < SMALL; i++) {
        sizes[i] = 1 + mix(i) % 300;
        blocks[i] = malloc(sizes[i]);
        if (!blocks[i])
            FAIL("small malloc %zu of %zu bytes returned NULL", i, sizes[i]);
        memset(blocks[i], (int)(i & 0xff), sizes[i]);
    }
    for (size_t i = 0; i < SMALL; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            if (blocks[i][j] != (unsigned char)(i & 0xff))
                FAIL("small block %zu byte %zu is %u", i, j, blocks[i][j]);
    /* Free in a scrambled order (stride coprime with SMALL), then reuse. */
    for (size_t k = 0, i = 0; k < SMALL; k++, i = (i + 7919) % SMALL) {
        free(blocks[i]);
        blocks[i] = NULL;
    }
    for (size_t i = 0; i < SMALL; i++)
        if (blocks[i])
            FAIL("small block %zu was not freed", i);
    for (size_t i = 0; i < 1000; i++) {
        unsigned char *z = calloc(1, 1000 + i);
        if (!z)
            FAIL("calloc returned NULL");
        for (size_t j = 0; j < 1000 + i; j++)
            if (z[j])
                FAIL("calloc block %zu byte %zu is not zero", i, j);
        memset(z, 0xAB, 1000 + i);
        free(z);
    }
    return 0;
}

static int realloc_growth(void)
{
    size_t size = 16;
    unsigned char *p = malloc(size);
    if (!p)
        FAIL("malloc(16) returned NULL");
    for (size_t j = 0; j < size; j++)
        p[j] = (unsigned char)mix(j);
    while (size < (64u << 20)) {
        size_t bigger = size * 2;
        unsigned char *q = realloc(p, bigger);
        if (!q)
            FAIL("realloc to %zu bytes returned NULL", bigger);
        p = q;
        for (size_t j = 0; j < size; j++)
            if (p[j] != (unsigned char)mix(j))
                FAIL("realloc to %zu bytes lost byte %zu", bigger, j);
        for (size_t j = size; j < bigger; j++)
            p[j] = (unsigned char)mix(j);
        size = bigger;
    }
    /* Shrink back: contents of the kept part must survive. */
    unsigned char *q = realloc(p, 4096);
    if (!q)
        FAIL("realloc shrink returned NULL");
    for (size_t j = 0; j < 4096; j++)
        if (q[j] != (unsigned char)mix(j))
            FAIL("realloc shrink lost byte %zu", j);
    free(q);
    return 0;
}

int main(void)
{
    if (big_block() || small_blocks() || realloc_growth())
        return 1;
    printf("memory ok\n");
    return 0;
}
