/* 8 threads each add 1 to a mutex-protected counter PER_THREAD times
 * (argv[1], default 1,000,000): the total must be exact. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long counter;
static unsigned long per_thread = 1000000;

static void *work(void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        per_thread = strtoul(argv[1], NULL, 10);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        int e = pthread_create(&t[i], NULL, work, NULL);
        if (e) {
            printf("pthread_create: error %d\n", e);
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("%d threads x %lu increments: counter %lu\n", THREADS, per_thread, counter);
    return counter != THREADS * per_thread;
}
