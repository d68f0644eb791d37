/* SIGALRM from alarm() (and what alarm returns), from setitimer(ITIMER_REAL),
 * and from a POSIX timer (timer_create with SIGEV_SIGNAL, periodic, with its
 * sigev_value and SI_TIMER in the siginfo), each waited for with sigsuspend. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, last_code, last_value;

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    alarms++;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *code_name(int code)
{
    switch (code) {
    case SI_KERNEL:
        return "SI_KERNEL";
    case SI_TIMER:
        return "SI_TIMER";
    case SI_USER:
        return "SI_USER";
    default:
        return "other";
    }
}

/* Waits (SIGALRM blocked outside) until `count` alarms have arrived. */
static void wait_for(int count, sigset_t *unblocked)
{
    while (alarms < count)
        sigsuspend(unblocked);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);

    printf("alarm(5) returned %u\n", alarm(5));
    printf("alarm(0) returned %u\n", alarm(0));
    double start = now();
    alarm(1);
    wait_for(1, &old);
    double t = now() - start;
    printf("SIGALRM from alarm(1): after >= 1 s: %s, si_code %s\n", t >= 1.0 ? "yes" : "no",
           code_name(last_code));

    struct itimerval it = {{0, 0}, {0, 200 * 1000}};
    start = now();
    setitimer(ITIMER_REAL, &it, NULL);
    wait_for(2, &old);
    t = now() - start;
    printf("SIGALRM from setitimer(200 ms): after >= 200 ms: %s, si_code %s\n",
           t >= 0.2 ? "yes" : "no", code_name(last_code));

    timer_t timer;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGALRM;
    sev.sigev_value.sival_int = 4242;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        perror("timer_create");
        return 1;
    }
    struct itimerspec its = {{0, 50 * 1000 * 1000}, {0, 100 * 1000 * 1000}};
    start = now();
    timer_settime(timer, 0, &its, NULL);
    wait_for(3, &old);
    t = now() - start;
    printf("first timer expiry: after >= 100 ms: %s, si_code %s, sival_int %d\n",
           t >= 0.1 ? "yes" : "no", code_name(last_code), (int)last_value);
    wait_for(7, &old);
    t = now() - start;
    struct itimerspec left;
    timer_gettime(timer, &left);
    timer_delete(timer);
    printf("4 more periodic expiries: after >= 300 ms: %s, interval %ld ms\n",
           t >= 0.3 ? "yes" : "no", left.it_interval.tv_nsec / 1000000);

    /* Unblocked, a SIGALRM interrupts pause(). */
    sigprocmask(SIG_SETMASK, &old, NULL);
    alarm(1);
    pause();
    printf("pause() interrupted by SIGALRM, %d alarms in all\n", (int)alarms);
    return 0;
}
