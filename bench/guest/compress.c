/* CPU + memory: deflate (zlib, level 6) a generated text-like buffer of MIB MiB, then inflate it
 * and check the round trip. Usage: compress [MIB]  (default 50)
 * Prints "RESULT compress_ms=... decompress_ms=... total_ms=... in=... out=..." */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Words from a fixed vocabulary picked by a xorshift generator: compresses about 3:1. */
static void generate(unsigned char *p, size_t n)
{
    static const char *words[] = {"nutshell", "kernel", "syscall", "page", "memory", "qemu",
                                  "linux", "program", "the", "a", "of", "benchmark", "file",
                                  "console", "guest", "host", "timer", "interrupt", "and", "to"};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t i = 0;
    while (i < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = words[x % 20];
        size_t len = strlen(w);
        for (size_t k = 0; k < len && i < n; k++)
            p[i++] = (unsigned char)w[k];
        if (i < n)
            p[i++] = (x >> 32) % 11 == 0 ? '\n' : ' ';
        if ((x >> 40) % 7 == 0 && i < n) /* some digits: less regular data */
            p[i++] = (unsigned char)('0' + (x >> 48) % 10);
    }
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 50;
    size_t n = (size_t)mib << 20;
    unsigned char *in = malloc(n), *back = malloc(n);
    uLongf cap = compressBound(n);
    unsigned char *out = malloc(cap);
    if (!in || !back || !out) {
        printf("error: malloc: out of memory\n");
        return 1;
    }
    double t0 = now_ms();
    generate(in, n);
    double t1 = now_ms();
    uLongf outlen = cap;
    int rc = compress2(out, &outlen, in, n, 6);
    double t2 = now_ms();
    if (rc != Z_OK) {
        printf("error: compress2: %d\n", rc);
        return 1;
    }
    uLongf backlen = n;
    rc = uncompress(back, &backlen, out, outlen);
    double t3 = now_ms();
    if (rc != Z_OK || backlen != n || memcmp(in, back, n) != 0) {
        printf("error: uncompress: round trip failed (%d)\n", rc);
        return 1;
    }
    printf("RESULT compress_ms=%.1f decompress_ms=%.1f generate_ms=%.1f total_ms=%.1f in=%zu out=%lu\n",
           t2 - t1, t3 - t2, t1 - t0, t3 - t0, n, (unsigned long)outlen);
    return 0;
}
