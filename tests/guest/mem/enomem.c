/* Allocates until memory runs out, then exits cleanly. The test runs it in
 * nutshell with `--mem 64M` and natively under RLIMIT_AS, so the amount
 * obtained differs: only "got ENOMEM" is printed, and that at least 16 MiB
 * were obtained before it. After freeing everything, 8 MiB must be available
 * again.
 *   mmap    1 MiB mappings with MAP_POPULATE, every page written
 *   malloc  1 MiB blocks, memset
 *   brk     sbrk(1 MiB) steps, every page written */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1ul << 20)
#define MAX_CHUNKS 65536

static void *chunks[MAX_CHUNKS];

static void touch(char *p, size_t len, size_t n)
{
    for (size_t i = 0; i < len; i += 4096)
        p[i] = (char)(n + i / 4096);
}

static int verify(char *p, size_t len, size_t n)
{
    for (size_t i = 0; i < len; i += 4096)
        if (p[i] != (char)(n + i / 4096))
            return 0;
    return 1;
}

static void report(const char *mode, size_t n, int err, int intact)
{
    if (err == ENOMEM)
        printf("%s: got ENOMEM\n", mode);
    else
        printf("%s: stopped with %s\n", mode, err ? strerrorname_np(err) : "no error");
    printf("%s: at least 16 MiB before it: %s\n", mode, n >= 16 ? "yes" : "no");
    printf("%s: contents intact: %s\n", mode, intact ? "yes" : "no");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: enomem mmap|malloc|brk\n");
        return 2;
    }
    const char *mode = argv[1];
    size_t n = 0;
    int err = 0, intact = 1;
    if (strcmp(mode, "mmap") == 0) {
        for (; n < MAX_CHUNKS; n++) {
            char *p = mmap(NULL, MiB, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
            if (p == MAP_FAILED) {
                err = errno;
                break;
            }
            touch(p, MiB, n);
            chunks[n] = p;
        }
        for (size_t i = 0; i < n; i++) {
            intact &= verify(chunks[i], MiB, i);
            munmap(chunks[i], MiB);
        }
        report(mode, n, err, intact);
        char *p = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) {
            printf("%s: 8 MiB after freeing: %s\n", mode, strerrorname_np(errno));
            return 1;
        }
        touch(p, 8 * MiB, 7);
        printf("%s: 8 MiB after freeing: ok\n", mode);
    } else if (strcmp(mode, "malloc") == 0) {
        for (; n < MAX_CHUNKS; n++) {
            char *p = malloc(MiB);
            if (!p) {
                err = errno;
                break;
            }
            memset(p, (int)n, MiB);
            chunks[n] = p;
        }
        for (size_t i = 0; i < n; i++) {
            const char *p = chunks[i];
            intact &= p[0] == (char)i && p[MiB - 1] == (char)i;
            free(chunks[i]);
        }
        report(mode, n, err, intact);
        char *p = malloc(8 * MiB);
        if (!p) {
            printf("%s: 8 MiB after freeing: %s\n", mode, strerrorname_np(errno));
            return 1;
        }
        memset(p, 7, 8 * MiB);
        printf("%s: 8 MiB after freeing: ok\n", mode);
    } else if (strcmp(mode, "brk") == 0) {
        char *start = sbrk(0);
        for (; n < MAX_CHUNKS; n++) {
            char *p = sbrk(MiB);
            if (p == (void *)-1) {
                err = errno;
                break;
            }
            touch(p, MiB, n);
        }
        for (size_t i = 0; i < n; i++)
            intact &= verify(start + i * MiB, MiB, i);
        report(mode, n, err, intact);
        if (brk(start) != 0) {
            printf("%s: brk back to the start: %s\n", mode, strerrorname_np(errno));
            return 1;
        }
        char *p = sbrk(8 * MiB);
        if (p == (void *)-1) {
            printf("%s: 8 MiB after freeing: %s\n", mode, strerrorname_np(errno));
            return 1;
        }
        touch(p, 8 * MiB, 7);
        printf("%s: 8 MiB after freeing: ok\n", mode);
    } else {
        fprintf(stderr, "enomem: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
