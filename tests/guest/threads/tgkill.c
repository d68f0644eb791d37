/* SIGUSR1 sent to a chosen thread (pthread_kill, and the raw tgkill system
 * call with the thread's tid): the handler records which thread it ran on, by
 * a thread-local index. Then a process-directed SIGUSR2 that every thread but
 * one blocks must be handled by that one. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4

static __thread int my_index = -1; /* -1: main */
static pid_t tids[THREADS];
static pthread_barrier_t start, finish;
static sem_t handled;
static volatile int handled_by;
static volatile int handled_sig;

static void handler(int sig)
{
    handled_by = my_index;
    handled_sig = sig;
    sem_post(&handled);
}

static void *work(void *arg)
{
    my_index = (int)(long)arg;
    tids[my_index] = gettid();
    if (my_index != 3) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&finish);
    return NULL;
}

static const char *name(int index)
{
    static char buf[4][24];
    static int n;
    char *b = buf[n++ % 4];
    if (index < 0)
        return "main";
    snprintf(b, 24, "thread %d", index);
    return b;
}

static void wait_handled(void)
{
    while (sem_wait(&handled) != 0)
        ;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sem_init(&handled, 0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    pthread_barrier_init(&start, NULL, THREADS + 1);
    pthread_barrier_init(&finish, NULL, THREADS + 1);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, work, (void *)i);
    pthread_barrier_wait(&start);
    /* Main blocks SIGUSR2 too, so only thread 3 can take it. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);

    static const int order[] = {2, 0, 3, 1, -1, 1};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        int target = order[k];
        pthread_kill(target < 0 ? pthread_self() : t[target], SIGUSR1);
        wait_handled();
        printf("pthread_kill(%s, SIGUSR1): handled by %s\n", name(target), name(handled_by));
    }
    for (int target = THREADS - 1; target >= 0; target--) {
        syscall(SYS_tgkill, getpid(), tids[target], SIGUSR1);
        wait_handled();
        printf("tgkill(tid of %s, SIGUSR1): handled by %s\n", name(target), name(handled_by));
    }
    kill(getpid(), SIGUSR2);
    wait_handled();
    printf("kill(getpid(), SIGUSR2): handled by %s (%s)\n", name(handled_by),
           handled_sig == SIGUSR2 ? "SIGUSR2" : "WRONG SIGNAL");
    pthread_barrier_wait(&finish);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("tgkill ok\n");
    return 0;
}
