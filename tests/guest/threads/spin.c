/* Preemption: a thread spins forever without a system call while main sleeps
 * 100 ms; main must wake up (the spinner cannot starve it) and exit, which
 * ends the spinner too. Then two spinners and main yielding in a loop. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long spins[2];

static void *spin(void *arg)
{
    volatile unsigned long *n = &spins[(long)arg];
    for (;;)
        (*n)++;
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, spin, (void *)0);
    /* Let the spinner start before sleeping. */
    while (spins[0] == 0)
        sched_yield();
    double start = now();
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    double slept = now() - start;
    printf("main woke up after the 100 ms sleep: %s\n", slept >= 0.1 ? "yes" : "no");
    pthread_create(&t, NULL, spin, (void *)1);
    unsigned long before = spins[1];
    while (spins[1] == before)
        ;
    printf("second spinner runs too\n");
    unsigned long a = spins[0];
    start = now();
    while (now() - start < 0.1)
        ;
    printf("first spinner still runs while main spins: %s\n", spins[0] != a ? "yes" : "no");
    exit(0);
}
