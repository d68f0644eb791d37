/* Prints how long it ran by its own clocks (monotonic, and the vDSO-free syscall path) and the wall
 * clock, so the test can compare them with the host's: a guest clock that runs fast or slow shows. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void) {
    struct timespec a, b, r, s0, s1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s0);
    volatile double x = 0;
    for (long i = 0; i < 5000000; i++)
        x += (double)i;
    struct timespec d = {0, 300000000};
    nanosleep(&d, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s1);
    clock_gettime(CLOCK_REALTIME, &r);
    printf("monotonic %.6f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    printf("syscall %.6f\n", (s1.tv_sec - s0.tv_sec) + (s1.tv_nsec - s0.tv_nsec) / 1e9);
    printf("realtime %ld\n", (long)r.tv_sec);
    return 0;
}
