/* Bad pointers passed to system calls must give EFAULT (never a crash, neither
 * of the program nor of the kernel). Raw syscall() is used where glibc would
 * touch the memory itself (clock_gettime goes through the vDSO on Linux,
 * sigaction copies the structure) or refuses NULL on its own.
 * Reads use stdin, which the test fills with more bytes than the failed reads
 * ask for; at the end, all of it must still be there (Linux copies nothing
 * and consumes nothing when a read fails with EFAULT). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%-44s = -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%-44s = %ld\n", what, r);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* NULL, an unmapped page, a PROT_NONE page, a read-only page, an address
     * in the kernel half and a non-canonical one. */
    char *volatile null = NULL;
    char *unmapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(unmapped, 4096);
    char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *volatile kernel = (char *)0xffffffff81000000ul;
    char *volatile noncanonical = (char *)0x0000800000000000ul;
    char *volatile last = (char *)0x00007ffffffff000ul; /* top user page, never mapped */
    struct {
        const char *name;
        char *p;
    } bad[] = {
        {"NULL", null}, {"unmapped", unmapped}, {"PROT_NONE", none},
        {"kernel", kernel}, {"non-canonical", noncanonical}, {"top user page", last},
    };
    const size_t n = sizeof bad / sizeof bad[0];
    char what[64];

    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "read(0, %s, 4)", bad[i].name);
        show(what, read(0, bad[i].p, 4));
    }
    show("read(0, read-only page, 4)", read(0, ro, 4));
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "write(1, %s, 4)", bad[i].name);
        show(what, write(1, bad[i].p, 4));
    }
    show("write(1, NULL, 0)", write(1, null, 0));
    struct iovec iov = {null, 4};
    show("writev(1, [NULL])", writev(1, &iov, 1));
    show("writev(1, NULL iovec array)", writev(1, (struct iovec *)null, 1));

    struct stat st;
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "stat(%s, &st)", bad[i].name);
        show(what, syscall(SYS_newfstatat, AT_FDCWD, bad[i].p, &st, 0));
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "stat(\"/\", %s)", bad[i].name);
        show(what, syscall(SYS_newfstatat, AT_FDCWD, "/", bad[i].p, 0));
    }
    show("stat(\"/\", read-only page)", syscall(SYS_newfstatat, AT_FDCWD, "/", ro, 0));
    show("fstat(1, NULL)", syscall(SYS_fstat, 1, null));

    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "clock_gettime(MONOTONIC, %s)", bad[i].name);
        show(what, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad[i].p));
    }
    show("clock_gettime(REALTIME, read-only page)", syscall(SYS_clock_gettime, CLOCK_REALTIME, ro));
    show("clock_getres(MONOTONIC, NULL)", syscall(SYS_clock_getres, CLOCK_MONOTONIC, null));
    show("gettimeofday(kernel, NULL)", syscall(SYS_gettimeofday, kernel, NULL));
    show("nanosleep(NULL, NULL)", syscall(SYS_nanosleep, null, NULL));
    show("uname(NULL)", syscall(SYS_uname, null));
    show("getrandom(PROT_NONE, 16)", syscall(SYS_getrandom, none, 16, 0));
    show("rt_sigaction(SIGUSR1, kernel, NULL)", syscall(SYS_rt_sigaction, SIGUSR1, kernel, NULL, 8));
    show("rt_sigprocmask(SIG_BLOCK, NULL, kernel)",
         syscall(SYS_rt_sigprocmask, SIG_BLOCK, null, kernel, 8));
    show("sched_getaffinity(0, 128, NULL)", syscall(SYS_sched_getaffinity, 0, 128, null));

    /* Still alive, and good pointers work. */
    struct timespec ts;
    show("clock_gettime(MONOTONIC, &ts)", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
    char left[256];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(0, left + got, sizeof left - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    printf("stdin left after the failed reads: %zu bytes [%.*s]\n", got, (int)got, left);
    printf("efault ok\n");
    return 0;
}
