/* Syscall round trip: time N getppid calls (raw syscall, no libc caching).
 * Usage: getppid [N]   (default 1,000,000). Prints "RESULT getppid_ns=<ns per call> ..." */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long sum = 0;
    if (n <= 0)
        n = 1;
    for (int i = 0; i < 1000; i++) /* warm up */
        sum += syscall(SYS_getppid);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getppid);
    double t1 = now_ns();
    printf("RESULT getppid_ns=%.1f calls=%ld total_ms=%.1f ppid_sum=%ld\n", (t1 - t0) / (double)n, n,
           (t1 - t0) / 1e6, sum);
    return 0;
}
