/* Reads stdin to end of file with read(2), in chunk sizes that cycle from tiny
 * to large, and prints `bytes N fnv1a HHHHHHHHHHHHHHHH` (64-bit FNV-1a). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static unsigned char buf[1 << 20];

int main(void)
{
    static const size_t chunks[] = {1, 7, 4096, 3, 65536, 100, 1 << 20, 512};
    uint64_t hash = 0xcbf29ce484222325ull;
    unsigned long long total = 0;
    size_t turn = 0;

    for (;;) {
        size_t want = chunks[turn++ % (sizeof chunks / sizeof chunks[0])];
        ssize_t n = read(0, buf, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("cat: read");
            return 1;
        }
        if (n == 0)
            break;
        if ((size_t)n > want) {
            fprintf(stderr, "cat: read returned %zd > %zu\n", n, want);
            return 1;
        }
        for (ssize_t i = 0; i < n; i++) {
            hash ^= buf[i];
            hash *= 0x100000001b3ull;
        }
        total += (unsigned long long)n;
    }
    printf("bytes %llu fnv1a %016llx\n", total, (unsigned long long)hash);
    return 0;
}
