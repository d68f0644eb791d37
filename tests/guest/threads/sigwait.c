/* sigwait in a dedicated thread: SIGUSR1/SIGUSR2 are blocked in every thread,
 * a waiter thread takes them with sigwait as main sends them (to the process
 * with kill, and to the waiter with pthread_kill), one at a time. Then
 * real-time signals queued with sigqueue are taken in order with their
 * values (sigtimedwait), and sigtimedwait times out with EAGAIN. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sem_t taken;
static sigset_t set;
static pthread_t waiter_thread;

static void *waiter(void *arg)
{
    (void)arg;
    for (;;) {
        int sig;
        int e = sigwait(&set, &sig);
        if (e) {
            printf("sigwait: %s\n", strerrorname_np(e));
            return NULL;
        }
        printf("waiter got %s\n", sig == SIGUSR1 ? "SIGUSR1" : sig == SIGUSR2 ? "SIGUSR2" : "SIGTERM");
        sem_post(&taken);
        if (sig == SIGTERM)
            return (void *)1;
    }
}

static void send(const char *how, int sig)
{
    if (how[0] == 'k')
        kill(getpid(), sig);
    else
        pthread_kill(waiter_thread, sig);
    while (sem_wait(&taken) != 0)
        ;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sem_init(&taken, 0, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_create(&waiter_thread, NULL, waiter, NULL);
    for (int i = 0; i < 3; i++) {
        send("kill", SIGUSR1);
        send("kill", SIGUSR2);
        send("pthread_kill", SIGUSR1);
    }
    send("kill", SIGTERM);
    void *ret;
    pthread_join(waiter_thread, &ret);
    printf("waiter finished: %ld\n", (long)ret);

    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 1);
    sigaddset(&rt, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    for (int i = 1; i <= 3; i++) {
        sigqueue(getpid(), SIGRTMIN + 2, (union sigval){.sival_int = 20 + i});
        sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 10 + i});
    }
    sigset_t pending;
    sigpending(&pending);
    printf("pending: SIGRTMIN+1 %d, SIGRTMIN+2 %d\n", sigismember(&pending, SIGRTMIN + 1),
           sigismember(&pending, SIGRTMIN + 2));
    /* All six are queued: none may be missing (a 2 s limit instead of a hang). */
    for (int i = 0; i < 6; i++) {
        siginfo_t si;
        struct timespec limit = {2, 0};
        int sig = sigtimedwait(&rt, &si, &limit);
        if (sig < 0)
            printf("sigtimedwait: -1 %s\n", strerrorname_np(errno));
        else
            printf("sigtimedwait: SIGRTMIN+%d value %d code %s\n", sig - SIGRTMIN,
                   si.si_value.sival_int, si.si_code == SI_QUEUE ? "SI_QUEUE" : "other");
    }
    struct timespec timeout = {0, 50 * 1000 * 1000}, a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int r = sigtimedwait(&rt, NULL, &timeout);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double waited = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("sigtimedwait(50 ms): %d %s, waited >= 50 ms: %s\n", r, strerrorname_np(errno),
           waited >= 0.05 ? "yes" : "no");
    return 0;
}
