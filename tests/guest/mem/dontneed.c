/* MADV_DONTNEED: private anonymous pages read back as zeros afterwards (and
 * can be written again), pages outside the range keep their contents; a
 * shared anonymous mapping keeps its contents (its pages live on). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ul
#define PAGES 64

/* One letter per page: its byte value, '0' for zero, '?' for a mix. */
static void show(const char *title, const unsigned char *p)
{
    char line[PAGES + 1];
    for (size_t i = 0; i < PAGES; i++) {
        const unsigned char *page = p + i * PAGE;
        char c = page[0] ? (char)page[0] : '0';
        for (size_t j = 1; j < PAGE; j++)
            if (page[j] != page[0])
                c = '?';
        line[i] = c;
    }
    line[PAGES] = 0;
    printf("%-30s %s\n", title, line);
}

static void fill(unsigned char *p, size_t first, size_t count, char base)
{
    for (size_t i = first; i < first + count; i++)
        memset(p + i * PAGE, base + (int)(i % 26), PAGE);
}

static void advise(const char *what, void *p, size_t len, int advice)
{
    if (madvise(p, len, advice) == 0)
        printf("madvise(%s) = 0\n", what);
    else
        printf("madvise(%s) = -1 %s\n", what, strerrorname_np(errno));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned char *p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("mmap: %s\n", strerrorname_np(errno));
        return 1;
    }
    show("fresh", p);
    fill(p, 0, PAGES, 'a');
    show("filled", p);
    advise("pages 8-23, DONTNEED", p + 8 * PAGE, 16 * PAGE, MADV_DONTNEED);
    show("after DONTNEED 8-23", p);
    fill(p, 10, 2, 'A');
    show("rewritten 10-11", p);
    advise("page 40, DONTNEED", p + 40 * PAGE, PAGE, MADV_DONTNEED);
    advise("pages 60-63, DONTNEED", p + 60 * PAGE, 4 * PAGE, MADV_DONTNEED);
    show("after DONTNEED 40 and 60-63", p);

    /* Across two areas of different protections. */
    mprotect(p + 30 * PAGE, 4 * PAGE, PROT_READ);
    advise("pages 28-35 (two protections), DONTNEED", p + 28 * PAGE, 8 * PAGE, MADV_DONTNEED);
    show("after DONTNEED 28-35", p);

    advise("unaligned", p + 1, PAGE, MADV_DONTNEED);
    advise("length 0", p, 0, MADV_DONTNEED);
    advise("WILLNEED", p, PAGE, MADV_WILLNEED);
    advise("NORMAL", p, PAGE, MADV_NORMAL);
    show("after harmless advice", p);
    munmap(p, PAGES * PAGE);

    unsigned char *s = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) {
        printf("mmap(MAP_SHARED): %s\n", strerrorname_np(errno));
        return 1;
    }
    fill(s, 0, PAGES, 'a');
    advise("shared pages 0-31, DONTNEED", s, 32 * PAGE, MADV_DONTNEED);
    show("shared after DONTNEED", s);
    munmap(s, PAGES * PAGE);
    printf("dontneed ok\n");
    return 0;
}
