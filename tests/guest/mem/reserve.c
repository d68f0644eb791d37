/* Reserves 64 GiB of address space with PROT_NONE, commits pieces of it with
 * mprotect (at the start, at odd offsets, in the middle and at the very end),
 * writes and verifies them, and probes the pages around each piece: they must
 * still fault. Then more 64 GiB reservations, which must cost nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define KiB (1ul << 10)
#define MiB (1ul << 20)
#define GiB (1ul << 30)
#define PAGE 4096ul

static sigjmp_buf probe_env;
static void *volatile fault_addr;
static int failures;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = si->si_addr;
    siglongjmp(probe_env, 1);
}

/* 1 if the byte at p reads, 0 if reading it raises SIGSEGV at p. */
static int readable(volatile char *p)
{
    fault_addr = NULL;
    if (sigsetjmp(probe_env, 1)) {
        if (fault_addr != (void *)p) {
            printf("FAIL fault address %p for a read of %p\n", fault_addr, (void *)p);
            failures++;
        }
        return 0;
    }
    (void)*p;
    return 1;
}

static const char *yes_no(int b)
{
    return b ? "yes" : "no";
}

static uint64_t word(size_t piece, size_t i)
{
    uint64_t x = (piece + 1) * 0x9e3779b97f4a7c15ull ^ i;
    x ^= x >> 29;
    return x * 0xbf58476d1ce4e5b9ull;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);

    const size_t size = 64 * GiB;
    char *base = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        printf("mmap(64 GiB, PROT_NONE): %s\n", strerrorname_np(errno));
        return 1;
    }
    printf("reserved 64 GiB PROT_NONE\n");
    printf("reserved start readable: %s\n", yes_no(readable(base)));
    printf("reserved middle readable: %s\n", yes_no(readable(base + 17 * GiB + 5 * PAGE)));
    printf("reserved end readable: %s\n", yes_no(readable(base + size - 1)));

    static const struct {
        size_t offset, length;
    } pieces[] = {
        {0, 1 * MiB},
        {1 * GiB + 3 * PAGE, 64 * KiB},
        {32 * GiB, 4 * MiB},
        {40 * GiB + 7 * PAGE, PAGE},
        {64 * GiB - 2 * MiB, 2 * MiB},
    };
    const size_t count = sizeof pieces / sizeof pieces[0];
    for (size_t k = 0; k < count; k++) {
        char *p = base + pieces[k].offset;
        size_t len = pieces[k].length;
        if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0) {
            printf("piece %zu: mprotect: %s\n", k, strerrorname_np(errno));
            return 1;
        }
        uint64_t *w = (uint64_t *)p;
        for (size_t i = 0; i < len / 8; i++)
            w[i] = word(k, i);
    }
    for (size_t k = 0; k < count; k++) {
        char *p = base + pieces[k].offset;
        size_t len = pieces[k].length;
        const uint64_t *w = (const uint64_t *)p;
        size_t bad = 0;
        for (size_t i = 0; i < len / 8; i++)
            bad += w[i] != word(k, i);
        printf("piece %zu (%zu KiB): pattern %s, page before readable: %s, page after readable: %s\n",
               k, len / KiB, bad ? "CORRUPT" : "ok",
               k == 0 ? "n/a" : yes_no(readable(p - 1)),
               k == count - 1 ? "n/a" : yes_no(readable(p + len)));
    }

    /* A committed piece goes back to PROT_NONE and returns: contents kept. */
    char *mid = base + pieces[2].offset;
    mprotect(mid, pieces[2].length, PROT_NONE);
    printf("piece 2 after PROT_NONE readable: %s\n", yes_no(readable(mid + MiB)));
    mprotect(mid, pieces[2].length, PROT_READ);
    size_t bad = 0;
    for (size_t i = 0; i < pieces[2].length / 8; i++)
        bad += ((const uint64_t *)mid)[i] != word(2, i);
    printf("piece 2 back as PROT_READ: pattern %s\n", bad ? "CORRUPT" : "ok");

    if (munmap(base, size) != 0) {
        printf("munmap(64 GiB): %s\n", strerrorname_np(errno));
        return 1;
    }
    printf("after munmap, piece 2 readable: %s\n", yes_no(readable(mid)));

    /* Four more 64 GiB reservations at once, each with one committed page. */
    char *more[4];
    for (int i = 0; i < 4; i++) {
        more[i] = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (more[i] == MAP_FAILED) {
            printf("reservation %d: %s\n", i, strerrorname_np(errno));
            return 1;
        }
        char *page = more[i] + (size_t)(i + 1) * 10 * GiB;
        mprotect(page, PAGE, PROT_READ | PROT_WRITE);
        page[0] = (char)('a' + i);
    }
    int ok = 1;
    for (int i = 0; i < 4; i++)
        ok &= more[i][(size_t)(i + 1) * 10 * GiB] == (char)('a' + i);
    printf("4 more 64 GiB reservations: %s\n", ok ? "ok" : "CORRUPT");
    for (int i = 0; i < 4; i++)
        munmap(more[i], size);
    printf(failures ? "reserve FAILED\n" : "reserve ok\n");
    return failures != 0;
}
