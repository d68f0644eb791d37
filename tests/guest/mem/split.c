/* Splits one anonymous mapping with munmap and mprotect, then probes every
 * page for read and write access (a SIGSEGV handler with siglongjmp; the
 * fault address and si_code are checked) and prints what survived. Then
 * MAP_FIXED_NOREPLACE and MAP_FIXED over the pieces, an mprotect across a hole
 * (ENOMEM) and a munmap across several areas. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ul
#define PAGES 16

static sigjmp_buf probe_env;
static void *volatile fault_addr;
static volatile int fault_code;
static int failures;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(probe_env, 1);
}

static const char *code_name(int code)
{
    switch (code) {
    case SEGV_MAPERR:
        return "MAPERR";
    case SEGV_ACCERR:
        return "ACCERR";
    default:
        return "other";
    }
}

/* Probes one byte: "-" when it faults (with the si_code), its value as a
 * letter when it reads; then a write of the same value. */
static void probe(char *p, char out[32])
{
    volatile char *v = p;
    volatile char value = 0;
    volatile int stage = 0;
    fault_addr = NULL;
    if (sigsetjmp(probe_env, 1)) {
        if (fault_addr != (void *)p) {
            printf("FAIL fault address %p for an access to %p\n", fault_addr, (void *)p);
            failures++;
        }
        if (stage == 0)
            snprintf(out, 32, "-- (%s)", code_name(fault_code));
        else
            snprintf(out, 32, "r- %c (%s)", value ? value : '0', code_name(fault_code));
        return;
    }
    value = *v;
    stage = 1;
    *v = value;
    snprintf(out, 32, "rw %c", value ? value : '0');
}

static void show(const char *title, char *base)
{
    printf("%s:\n", title);
    for (int i = 0; i < PAGES; i++) {
        char line[32];
        probe(base + i * PAGE + 100, line);
        printf("  page %2d: %s\n", i, line);
    }
}

static void fill(char *p, size_t pages, char first)
{
    for (size_t i = 0; i < pages; i++)
        memset(p + i * PAGE, first + (int)i, PAGE);
}

static void result(const char *what, long r)
{
    if (r == -1)
        printf("%s = -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s = %ld\n", what, r);
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

    /* A reservation around the test area keeps other mappings out of it. */
    char *outer = mmap(NULL, (PAGES + 32) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *base = outer + 16 * PAGE;
    munmap(outer, (PAGES + 32) * PAGE);
    char *p = mmap(base, PAGES * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != base) {
        printf("mmap: %s\n", strerrorname_np(errno));
        return 1;
    }
    fill(base, PAGES, 'A');
    show("fresh", base);

    result("munmap(page 0)", munmap(base, PAGE));
    result("munmap(pages 3-4)", munmap(base + 3 * PAGE, 2 * PAGE));
    result("mprotect(pages 6-7, READ)", mprotect(base + 6 * PAGE, 2 * PAGE, PROT_READ));
    result("mprotect(page 9, NONE)", mprotect(base + 9 * PAGE, PAGE, PROT_NONE));
    result("mprotect(pages 11-13, READ)", mprotect(base + 11 * PAGE, 3 * PAGE, PROT_READ));
    result("mprotect(page 12, READ|WRITE)", mprotect(base + 12 * PAGE, PAGE, PROT_READ | PROT_WRITE));
    result("munmap(page 15)", munmap(base + 15 * PAGE, PAGE));
    show("after splitting", base);

    /* Holes and overlaps. */
    /* The range starts in the hole: Linux changes nothing (it would change the
     * areas before a hole in the middle, a detail not tested here). */
    result("mprotect(pages 3-5, READ) from a hole", mprotect(base + 3 * PAGE, 3 * PAGE, PROT_READ));
    result("munmap(pages 3-4) again", munmap(base + 3 * PAGE, 2 * PAGE));
    void *r = mmap(base + 5 * PAGE, PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (r == MAP_FAILED)
        printf("MAP_FIXED_NOREPLACE over page 5: %s\n", strerrorname_np(errno));
    else
        printf("MAP_FIXED_NOREPLACE over page 5: mapped at page %ld\n", ((char *)r - base) / (long)PAGE);
    r = mmap(base + 3 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (r == MAP_FAILED)
        printf("MAP_FIXED_NOREPLACE into the hole 3-4: %s\n", strerrorname_np(errno));
    else
        printf("MAP_FIXED_NOREPLACE into the hole 3-4: mapped at page %ld\n", ((char *)r - base) / (long)PAGE);
    r = mmap(base + 7 * PAGE, 3 * PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (r == MAP_FAILED)
        printf("MAP_FIXED over pages 7-9: %s\n", strerrorname_np(errno));
    else
        printf("MAP_FIXED over pages 7-9: mapped at page %ld\n", ((char *)r - base) / (long)PAGE);
    base[4 * PAGE + 100] = 'x';
    base[8 * PAGE + 100] = 'y';
    show("after MAP_FIXED", base);

    result("munmap(pages 5-13) across areas", munmap(base + 5 * PAGE, 9 * PAGE));
    result("mprotect(page 14, READ)", mprotect(base + 14 * PAGE, PAGE, PROT_READ));
    result("mprotect(unaligned)", mprotect(base + 14 * PAGE + 1, PAGE, PROT_READ));
    result("munmap(unaligned)", munmap(base + 14 * PAGE + 1, PAGE));
    result("munmap(length 0)", munmap(base + 14 * PAGE, 0));
    show("after munmap across areas", base);

    result("munmap(everything)", munmap(base, PAGES * PAGE));
    show("after munmap of everything", base);
    printf(failures ? "split FAILED\n" : "split ok\n");
    return failures != 0;
}
