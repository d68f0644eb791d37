/* pthread_join return values: returned from the start routine, passed to
 * pthread_exit from a nested call, joined in reverse order, joined after the
 * thread is long gone, a cancelled thread (PTHREAD_CANCELED), and a detached
 * thread that cannot be joined (EINVAL). */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sem_t detached_done;

static void *square(void *arg)
{
    long i = (long)arg;
    return (void *)(i * i);
}

static void nested_exit(long v)
{
    pthread_exit((void *)(v + 1000));
}

static void *exits(void *arg)
{
    nested_exit((long)arg);
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        sleep(100);
    return NULL;
}

static void *detached(void *arg)
{
    (void)arg;
    sem_post(&detached_done);
    return NULL;
}

int main(void)
{
    pthread_t t[10];
    for (long i = 0; i < 10; i++)
        pthread_create(&t[i], NULL, i % 2 ? exits : square, (void *)i);
    for (int i = 9; i >= 0; i--) {
        void *ret;
        int e = pthread_join(t[i], &ret);
        printf("thread %d: join %s, returned %ld\n", i, e ? strerrorname_np(e) : "ok", (long)ret);
    }
    pthread_t late;
    pthread_create(&late, NULL, square, (void *)12);
    usleep(50 * 1000);
    void *ret;
    pthread_join(late, &ret);
    printf("joined 50 ms after it ended: %ld\n", (long)ret);

    pthread_t s;
    pthread_create(&s, NULL, sleeper, NULL);
    usleep(10 * 1000);
    pthread_cancel(s);
    pthread_join(s, &ret);
    printf("cancelled thread returned PTHREAD_CANCELED: %s\n", ret == PTHREAD_CANCELED ? "yes" : "no");

    sem_init(&detached_done, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    pthread_create(&d, &attr, detached, NULL);
    while (sem_wait(&detached_done) != 0)
        ;
    printf("detached thread ran\n");
    return 0;
}
