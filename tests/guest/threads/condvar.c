/* Producer/consumer over a 4-slot ring with two condition variables: one
 * producer and one consumer (order kept), then 3 producers and 3 consumers
 * (sums and counts), then a timed wait that times out. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SLOTS 4
#define ITEMS 10000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static long ring[SLOTS];
static int head, count;

static void put(long v)
{
    pthread_mutex_lock(&lock);
    while (count == SLOTS)
        pthread_cond_wait(&not_full, &lock);
    ring[(head + count) % SLOTS] = v;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
}

static long get(void)
{
    pthread_mutex_lock(&lock);
    while (count == 0)
        pthread_cond_wait(&not_empty, &lock);
    long v = ring[head];
    head = (head + 1) % SLOTS;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    return v;
}

struct job {
    long first, n; /* producer: values first..first+n-1; consumer: n items, -1 ends */
    long sum, got, out_of_order;
};

static void *producer(void *arg)
{
    struct job *j = arg;
    for (long i = 0; i < j->n; i++)
        put(j->first + i);
    return NULL;
}

static void *consumer(void *arg)
{
    struct job *j = arg;
    long last = 0;
    for (;;) {
        long v = get();
        if (v < 0)
            break;
        j->out_of_order += v < last;
        last = v;
        j->sum += v;
        j->got++;
    }
    return NULL;
}

int main(void)
{
    pthread_t p, c;
    struct job pj = {1, ITEMS, 0, 0, 0}, cj = {0};
    pthread_create(&c, NULL, consumer, &cj);
    pthread_create(&p, NULL, producer, &pj);
    pthread_join(p, NULL);
    put(-1);
    pthread_join(c, NULL);
    printf("1 producer, 1 consumer: %ld items, sum %ld, out of order %ld\n", cj.got, cj.sum,
           cj.out_of_order);

    pthread_t ps[3], cs[3];
    struct job pjs[3], cjs[3];
    memset(cjs, 0, sizeof cjs);
    for (int i = 0; i < 3; i++) {
        pjs[i] = (struct job){1 + i * ITEMS, ITEMS, 0, 0, 0};
        pthread_create(&cs[i], NULL, consumer, &cjs[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&ps[i], NULL, producer, &pjs[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(ps[i], NULL);
    for (int i = 0; i < 3; i++)
        put(-1);
    long sum = 0, got = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(cs[i], NULL);
        sum += cjs[i].sum;
        got += cjs[i].got;
    }
    printf("3 producers, 3 consumers: %ld items, sum %ld\n", got, sum);

    struct timespec deadline, after;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 50 * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&lock);
    int e = pthread_cond_timedwait(&not_empty, &lock, &deadline);
    pthread_mutex_unlock(&lock);
    clock_gettime(CLOCK_REALTIME, &after);
    int late = after.tv_sec > deadline.tv_sec ||
               (after.tv_sec == deadline.tv_sec && after.tv_nsec >= deadline.tv_nsec);
    printf("timed wait: %s, not before the deadline: %s\n", e ? strerrorname_np(e) : "woken",
           late ? "yes" : "no");
    return 0;
}
