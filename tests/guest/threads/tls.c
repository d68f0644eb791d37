/* Thread-local variables: an initialized __thread int starts with its initial
 * value in every thread, each thread's copy is its own (distinct addresses,
 * values kept across yields while others write theirs), errno is per thread,
 * and pthread_key destructors run at thread exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 6

static __thread int tls_value = 7;
static __thread char tls_name[16];
static __thread long tls_big[512];
static pthread_key_t key;
static pthread_barrier_t barrier;
static int destructor_calls;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int concurrent;

struct result {
    int initial, final, errno_seen, big_ok;
    void *addr;
};
static struct result results[THREADS + 1];

static void destructor(void *p)
{
    pthread_mutex_lock(&lock);
    destructor_calls += *(int *)p;
    pthread_mutex_unlock(&lock);
    free(p);
}

static void *work(void *arg)
{
    int i = (int)(long)arg;
    struct result *r = &results[i];
    r->initial = tls_value;
    r->addr = &tls_value;
    tls_value = 1000 * (i + 1);
    snprintf(tls_name, sizeof tls_name, "thread %d", i);
    for (int k = 0; k < 512; k++)
        tls_big[k] = i * 512 + k;
    errno = 100 + i;
    int *mine = malloc(sizeof *mine);
    *mine = 1 << i;
    pthread_setspecific(key, mine);
    pthread_barrier_wait(&barrier);
    for (int round = 0; round < 1000; round++) {
        tls_value++;
        sched_yield();
    }
    pthread_barrier_wait(&barrier);
    r->final = tls_value;
    r->errno_seen = errno;
    r->big_ok = 1;
    for (int k = 0; k < 512; k++)
        r->big_ok &= tls_big[k] == i * 512 + k;
    if (*(int *)pthread_getspecific(key) != 1 << i)
        r->big_ok = 0;
    if (!concurrent)
        printf("%s: done\n", tls_name);
    return NULL;
}

int main(void)
{
    pthread_key_create(&key, destructor);
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t t[THREADS];
    errno = 0;
    tls_value = 5;
    /* One at a time for the "done" lines to come in order. */
    pthread_barrier_destroy(&barrier);
    pthread_barrier_init(&barrier, NULL, 1);
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, work, (void *)(long)i);
        pthread_join(t[i], NULL);
    }
    /* All at once. */
    concurrent = 1;
    pthread_barrier_destroy(&barrier);
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, work, (void *)(long)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int distinct = 1;
    for (int i = 0; i < THREADS; i++) {
        struct result *r = &results[i];
        printf("thread %d: initial %d, final %d, errno %d, arrays and key %s\n", i, r->initial,
               r->final, r->errno_seen, r->big_ok ? "ok" : "WRONG");
        for (int j = 0; j < i; j++)
            distinct &= results[j].addr != r->addr;
        distinct &= r->addr != (void *)&tls_value;
    }
    printf("main: tls_value %d, errno %d, addresses distinct: %s\n", tls_value, errno,
           distinct ? "yes" : "no");
    printf("destructor calls: %d\n", destructor_calls);
    return 0;
}
