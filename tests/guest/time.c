/* Clocks: MONOTONIC and REALTIME advance across nanosleep(50 ms) by at least
 * 50 ms and less than 5 s, REALTIME is after 2020, gettimeofday() and time()
 * agree with REALTIME within a second. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static long long ns(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000ll + t->tv_nsec;
}

int main(void)
{
    int failed = 0;
    struct timespec m0, m1, r0, r1;
    if (clock_gettime(CLOCK_MONOTONIC, &m0) || clock_gettime(CLOCK_REALTIME, &r0)) {
        printf("FAIL clock_gettime\n");
        return 1;
    }
    struct timespec nap = {0, 50 * 1000 * 1000};
    if (nanosleep(&nap, NULL)) {
        printf("FAIL nanosleep\n");
        return 1;
    }
    if (clock_gettime(CLOCK_MONOTONIC, &m1) || clock_gettime(CLOCK_REALTIME, &r1)) {
        printf("FAIL clock_gettime\n");
        return 1;
    }
    long long dm = ns(&m1) - ns(&m0), dr = ns(&r1) - ns(&r0);
    if (dm < 50000000ll || dm >= 5000000000ll) {
        printf("FAIL monotonic advanced %lld ns across a 50 ms sleep\n", dm);
        failed = 1;
    }
    /* REALTIME may be stepped, but not during such a short test. */
    if (dr < 50000000ll || dr >= 5000000000ll) {
        printf("FAIL realtime advanced %lld ns across a 50 ms sleep\n", dr);
        failed = 1;
    }
    if (r1.tv_sec < 1577836800) { /* 2020-01-01T00:00:00Z */
        printf("FAIL realtime %lld is before 2020\n", (long long)r1.tv_sec);
        failed = 1;
    }
    if (m1.tv_nsec < 0 || m1.tv_nsec >= 1000000000 || r1.tv_nsec < 0 || r1.tv_nsec >= 1000000000) {
        printf("FAIL tv_nsec out of range\n");
        failed = 1;
    }
    struct timeval tv;
    if (gettimeofday(&tv, NULL)) {
        printf("FAIL gettimeofday\n");
        return 1;
    }
    long long dtv = (long long)tv.tv_sec * 1000000000ll + tv.tv_usec * 1000ll - ns(&r1);
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000 || dtv < -1000000000ll || dtv > 1000000000ll) {
        printf("FAIL gettimeofday is %lld ns away from CLOCK_REALTIME\n", dtv);
        failed = 1;
    }
    time_t t = time(NULL);
    if (t < r1.tv_sec - 1 || t > r1.tv_sec + 1) {
        printf("FAIL time() = %lld, CLOCK_REALTIME = %lld\n", (long long)t, (long long)r1.tv_sec);
        failed = 1;
    }
    if (failed)
        return 1;
    printf("time ok\n");
    return 0;
}
