/* mremap: growth in place, growth blocked without MREMAP_MAYMOVE (ENOMEM), a
 * move that keeps the contents and unmaps the old place, shrinking,
 * MREMAP_FIXED, and a realloc-like growth from 1 MiB to 64 MiB. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ul
#define MiB (1ul << 20)

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

static const char *readable(volatile char *p)
{
    fault_addr = NULL;
    if (sigsetjmp(probe_env, 1)) {
        if (fault_addr != (void *)p) {
            printf("FAIL fault address %p for a read of %p\n", fault_addr, (void *)p);
            failures++;
        }
        return "no";
    }
    (void)*p;
    return "yes";
}

/* Page i of a block holds bytes 'a' + i. */
static void fill(char *p, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        memset(p + i * PAGE, 'a' + (int)i, PAGE);
}

static const char *check(const char *p, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        for (size_t j = 0; j < PAGE; j++)
            if (p[i * PAGE + j] != 'a' + (int)i)
                return "CORRUPT";
    return "kept";
}

static const char *zero(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return "NOT ZERO";
    return "zero";
}

static char *anon(void *at, size_t len, int flags)
{
    return mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
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

    /* 1. Growth in place: 4 pages with free pages after them (a reservation,
     * unmapped again, tells where there is room). */
    char *outer = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(outer, 64 * PAGE);
    char *p = anon(outer + 16 * PAGE, 4 * PAGE, MAP_FIXED_NOREPLACE);
    if (p != outer + 16 * PAGE) {
        printf("mmap: %s\n", strerrorname_np(errno));
        return 1;
    }
    fill(p, 4);
    char *q = mremap(p, 4 * PAGE, 8 * PAGE, 0);
    if (q == MAP_FAILED) {
        printf("grow in place: %s\n", strerrorname_np(errno));
        return 1;
    }
    printf("grow in place: %s address, contents %s, new pages %s\n", q == p ? "same" : "OTHER",
           check(q, 4), zero(q + 4 * PAGE, 4 * PAGE));
    fill(q, 8);
    printf("grown pages writable: %s\n", check(q, 8));

    /* 2. Blocked growth: a mapping right after the block. */
    char *blocker = anon(p + 8 * PAGE, PAGE, MAP_FIXED_NOREPLACE);
    if (blocker != p + 8 * PAGE) {
        printf("blocker: %s\n", strerrorname_np(errno));
        return 1;
    }
    blocker[0] = 'B';
    q = mremap(p, 8 * PAGE, 16 * PAGE, 0);
    printf("grow without MREMAP_MAYMOVE when blocked: %s\n",
           q == MAP_FAILED ? strerrorname_np(errno) : "succeeded");

    /* 3. A move. */
    char *r = mremap(p, 8 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
    if (r == MAP_FAILED) {
        printf("grow with MREMAP_MAYMOVE: %s\n", strerrorname_np(errno));
        return 1;
    }
    printf("grow with MREMAP_MAYMOVE: %s, contents %s, new pages %s\n",
           r == p ? "SAME ADDRESS" : "moved", check(r, 8), zero(r + 8 * PAGE, 8 * PAGE));
    printf("old place readable: %s, blocker intact: %s\n", readable(p),
           blocker[0] == 'B' ? "yes" : "no");
    fill(r, 16);

    /* 4. Shrinking. */
    q = mremap(r, 16 * PAGE, 2 * PAGE, 0);
    printf("shrink to 2 pages: %s address, contents %s, page 2 readable: %s, page 15 readable: %s\n",
           q == r ? "same" : "OTHER", check(q, 2), readable(r + 2 * PAGE), readable(r + 15 * PAGE));

    /* 5. MREMAP_FIXED to a chosen place (which is replaced). */
    char *target = anon(NULL, 4 * PAGE, 0);
    memset(target, 'T', 4 * PAGE);
    q = mremap(r, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target + PAGE);
    printf("MREMAP_FIXED: %s, contents %s, old place readable: %s, around: %c %c\n",
           q == target + PAGE ? "at target" : "ELSEWHERE", check(target + PAGE, 2), readable(r),
           target[0], target[3 * PAGE]);

    /* 6. Errors. */
    q = mremap(target + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    printf("unaligned old address: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "succeeded");
    q = mremap(r, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    printf("unmapped old address: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "succeeded");
    q = mremap(target, PAGE, 0, MREMAP_MAYMOVE);
    printf("new size 0: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "succeeded");

    /* 7. realloc-like growth, 1 MiB to 64 MiB. */
    uint64_t *big = (uint64_t *)anon(NULL, MiB, 0);
    for (size_t i = 0; i < MiB / 8; i++)
        big[i] = i * 2654435761u;
    for (size_t size = 2 * MiB; size <= 64 * MiB; size *= 2) {
        big = mremap(big, size / 2, size, MREMAP_MAYMOVE);
        if (big == MAP_FAILED) {
            printf("grow to %zu MiB: %s\n", size / MiB, strerrorname_np(errno));
            return 1;
        }
        big[size / 8 - 1] = size;
    }
    size_t bad = 0;
    for (size_t i = 0; i < MiB / 8; i++)
        bad += big[i] != i * 2654435761u;
    for (size_t size = 2 * MiB; size <= 64 * MiB; size *= 2)
        bad += big[size / 8 - 1] != size;
    printf("1 MiB grown to 64 MiB: contents %s\n", bad ? "CORRUPT" : "kept");
    munmap(big, 64 * MiB);

    printf(failures ? "mremap FAILED\n" : "mremap ok\n");
    return failures != 0;
}
