/* nutshell's vDSO: clock_gettime, gettimeofday, time and getcpu without entering the kernel.
 * Time is the TSC scaled with the factors the kernel calibrated at boot (the same formula as the
 * kernel's own clock, so both agree to the nanosecond). Other clocks fall back to the syscall. */
#include "vdso.h"

typedef long time_t;
struct timespec { time_t tv_sec; long tv_nsec; };
struct timeval { time_t tv_sec; long tv_usec; };
struct timezone { int tz_minuteswest; int tz_dsttime; };

extern const struct vdso_data vvar_page __attribute__((visibility("hidden")));

static inline unsigned long rdtsc(void) {
    unsigned int lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long)hi << 32) | lo;
}

static inline long sys2(long nr, long a, long b) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

static inline long sys3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static inline unsigned long mono_ns(const volatile struct vdso_data *d) {
    unsigned long t = rdtsc() - d->tsc_boot;
    return (unsigned long)(((unsigned __int128)t * d->mult) >> d->shift);
}

int __vdso_clock_gettime(int clock, struct timespec *ts) {
    const volatile struct vdso_data *d = &vvar_page;
    unsigned long ns;
    if (d->magic != VDSO_MAGIC)
        return (int)sys2(228, clock, (long)ts);
    switch (clock) {
    case 0: case 5: case 11: /* REALTIME, REALTIME_COARSE, TAI */
        ns = d->realtime_boot_ns + mono_ns(d);
        break;
    case 1: case 4: case 6: case 7: /* MONOTONIC, _RAW, _COARSE, BOOTTIME */
        ns = mono_ns(d);
        break;
    default:
        return (int)sys2(228, clock, (long)ts);
    }
    ts->tv_sec = (time_t)(ns / 1000000000UL);
    ts->tv_nsec = (long)(ns % 1000000000UL);
    return 0;
}

int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz) {
    const volatile struct vdso_data *d = &vvar_page;
    if (d->magic != VDSO_MAGIC)
        return (int)sys2(96, (long)tv, (long)tz);
    if (tv) {
        unsigned long ns = d->realtime_boot_ns + mono_ns(d);
        tv->tv_sec = (time_t)(ns / 1000000000UL);
        tv->tv_usec = (long)(ns % 1000000000UL / 1000);
    }
    if (tz) {
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

time_t __vdso_time(time_t *t) {
    const volatile struct vdso_data *d = &vvar_page;
    time_t s;
    if (d->magic != VDSO_MAGIC)
        return sys2(201, (long)t, 0);
    s = (time_t)((d->realtime_boot_ns + mono_ns(d)) / 1000000000UL);
    if (t)
        *t = s;
    return s;
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused) {
    (void)unused;
    if (cpu)
        *cpu = 0;
    if (node)
        *node = 0;
    return 0;
}

int __vdso_clock_getres(int clock, struct timespec *res) {
    return (int)sys2(229, clock, (long)res);
}

/* The unprefixed names are weak aliases, as in Linux's vDSO. */
int clock_gettime(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval *, struct timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));
time_t time(time_t *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct timespec *) __attribute__((weak, alias("__vdso_clock_getres")));

/* Unused helper kept for symmetry with sys2 (silences -Wunused-function). */
long __vdso_sys3(long nr, long a, long b, long c) __attribute__((visibility("hidden")));
long __vdso_sys3(long nr, long a, long b, long c) { return sys3(nr, a, b, c); }
