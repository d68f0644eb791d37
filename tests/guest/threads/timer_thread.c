/* glibc's SIGEV_THREAD timers: each expiry runs a function in a helper thread
 * (glibc implements it with a thread waiting in sigwaitinfo and
 * SIGEV_THREAD_ID). Also timer_create for CLOCK_REALTIME with a one-shot
 * absolute expiry. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sem_t fired;
static volatile int calls;
static volatile pid_t callback_tid;

static void callback(union sigval v)
{
    calls += v.sival_int;
    callback_tid = gettid();
    sem_post(&fired);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sem_init(&fired, 0, 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = callback;
    sev.sigev_value.sival_int = 1;
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        perror("timer_create");
        return 1;
    }
    struct itimerspec its = {{0, 30 * 1000 * 1000}, {0, 30 * 1000 * 1000}};
    timer_settime(timer, 0, &its, NULL);
    for (int i = 0; i < 5; i++)
        while (sem_wait(&fired) != 0)
            ;
    timer_delete(timer);
    printf("SIGEV_THREAD timer: callback ran at least 5 times: %s, in another thread: %s\n",
           calls >= 5 ? "yes" : "no", callback_tid != gettid() ? "yes" : "no");

    sev.sigev_value.sival_int = 100;
    timer_create(CLOCK_REALTIME, &sev, &timer);
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_nsec += 100 * 1000 * 1000;
    if (at.tv_nsec >= 1000000000) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000;
    }
    struct itimerspec abs = {{0, 0}, at};
    int before = calls;
    timer_settime(timer, TIMER_ABSTIME, &abs, NULL);
    while (sem_wait(&fired) != 0)
        ;
    struct timespec done;
    clock_gettime(CLOCK_REALTIME, &done);
    int late = done.tv_sec > at.tv_sec || (done.tv_sec == at.tv_sec && done.tv_nsec >= at.tv_nsec);
    printf("absolute REALTIME one-shot: value %d, not before the deadline: %s\n", calls - before,
           late ? "yes" : "no");
    timer_delete(timer);
    return 0;
}
