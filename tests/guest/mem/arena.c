/* The Go runtime's pattern: reserve a 1 GiB arena PROT_NONE, commit 100 MiB of
 * it in 1 MiB pieces with mprotect, write a pattern, give every other piece
 * back with MADV_DONTNEED, then verify zeros and pattern, reuse the freed
 * pieces, and check that the uncommitted rest of the arena still faults. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MiB (1ul << 20)
#define GiB (1ul << 30)
#define PIECES 100

static sigjmp_buf probe_env;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(probe_env, 1);
}

static const char *readable(volatile char *p)
{
    if (sigsetjmp(probe_env, 1))
        return "no";
    (void)*p;
    return "yes";
}

static uint64_t pattern(size_t word)
{
    uint64_t x = word * 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 31);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGSEGV, on_segv);
    char *arena = mmap(NULL, GiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena == MAP_FAILED) {
        printf("reserve 1 GiB: %s\n", strerrorname_np(errno));
        return 1;
    }
    printf("reserved 1 GiB\n");
    for (size_t i = 0; i < PIECES; i++) {
        if (mprotect(arena + i * MiB, MiB, PROT_READ | PROT_WRITE) != 0) {
            printf("commit piece %zu: %s\n", i, strerrorname_np(errno));
            return 1;
        }
    }
    printf("committed %d MiB in 1 MiB pieces\n", PIECES);
    uint64_t *w = (uint64_t *)arena;
    const size_t words = PIECES * MiB / 8, per_piece = MiB / 8;
    for (size_t i = 0; i < words; i++)
        w[i] = pattern(i);
    int freed = 0, failed = 0;
    for (size_t i = 0; i < PIECES; i += 2) {
        if (madvise(arena + i * MiB, MiB, MADV_DONTNEED) != 0) {
            printf("MADV_DONTNEED piece %zu: %s\n", i, strerrorname_np(errno));
            failed = 1;
        }
        freed++;
    }
    printf("MADV_DONTNEED on %d pieces\n", freed);
    size_t zero_ok = 0, pattern_ok = 0;
    for (size_t piece = 0; piece < PIECES; piece++) {
        int ok = 1;
        for (size_t i = piece * per_piece; i < (piece + 1) * per_piece; i++)
            ok &= w[i] == (piece % 2 ? pattern(i) : 0);
        if (piece % 2)
            pattern_ok += ok;
        else
            zero_ok += ok;
    }
    printf("pieces reading zero: %zu of %d\n", zero_ok, PIECES / 2);
    printf("pieces keeping the pattern: %zu of %d\n", pattern_ok, PIECES / 2);
    for (size_t piece = 0; piece < PIECES; piece += 2)
        for (size_t i = piece * per_piece; i < (piece + 1) * per_piece; i++)
            w[i] = ~pattern(i);
    size_t reuse_ok = 0;
    for (size_t piece = 0; piece < PIECES; piece++) {
        int ok = 1;
        for (size_t i = piece * per_piece; i < (piece + 1) * per_piece; i++)
            ok &= w[i] == (piece % 2 ? pattern(i) : ~pattern(i));
        reuse_ok += ok;
    }
    printf("pieces right after reuse: %zu of %d\n", reuse_ok, PIECES);
    printf("first uncommitted byte readable: %s\n", readable(arena + PIECES * MiB));
    printf("last arena byte readable: %s\n", readable(arena + GiB - 1));
    munmap(arena, GiB);
    printf(failed ? "arena FAILED\n" : "arena ok\n");
    return failed;
}
