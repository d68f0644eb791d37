/* Host TSC frequency in kHz, measured against CLOCK_MONOTONIC_RAW over 200 ms.
 * Under TCG the guest's TSC ticks at the host's rate; the Linux reference kernel is told this
 * rate with tsc_early_khz= because it cannot calibrate the TSC on microvm (no HPET, no ACPI PM
 * timer, and PIT calibration fails under TCG's jitter, after which boot hangs). */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    double khz[3];
    for (int round = 0; round < 3; round++) {
        double t0 = now();
        unsigned long long c0 = __rdtsc();
        double t1;
        do
            t1 = now();
        while (t1 - t0 < 0.2);
        unsigned long long c1 = __rdtsc();
        khz[round] = (double)(c1 - c0) / (t1 - t0) / 1000.0;
    }
    /* median of three */
    double a = khz[0], b = khz[1], c = khz[2];
    double m = a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
    printf("%.0f\n", m);
    return 0;
}
