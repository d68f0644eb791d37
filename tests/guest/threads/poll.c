/* Timeouts measured with CLOCK_MONOTONIC: poll with no descriptors, poll on an
 * empty pipe, ppoll, select and pselect; only whether the wait lasted at least
 * the timeout is printed. Then poll sees data written by another thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static struct timespec t0;

static void start(void)
{
    clock_gettime(CLOCK_MONOTONIC, &t0);
}

static void finish(const char *what, int r, int ms)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited_ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: returned %d, waited >= %d ms: %s\n", what, r, ms,
               waited_ns >= ms * 1000000L ? "yes" : "no");
}

static int pipefd[2];

static void *writer(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    write(pipefd[1], "!", 1);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    start();
    finish("poll(no fds, 200 ms)", poll(NULL, 0, 200), 200);
    struct timespec ts = {0, 150 * 1000 * 1000};
    start();
    finish("ppoll(no fds, 150 ms)", ppoll(NULL, 0, &ts, NULL), 150);
    struct timeval tv = {0, 120 * 1000};
    start();
    finish("select(no fds, 120 ms)", select(0, NULL, NULL, NULL, &tv), 120);
    ts.tv_nsec = 80 * 1000 * 1000;
    start();
    finish("pselect(no fds, 80 ms)", pselect(0, NULL, NULL, NULL, &ts, NULL), 80);

    if (pipe(pipefd) != 0) {
        printf("pipe: %s\n", strerrorname_np(errno));
        return 1;
    }
    struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
    start();
    finish("poll(empty pipe, 100 ms)", poll(&pfd, 1, 100), 100);
    printf("revents 0x%x\n", pfd.revents);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(pipefd[0], &rd);
    tv = (struct timeval){0, 100 * 1000};
    start();
    finish("select(empty pipe, 100 ms)", select(pipefd[0] + 1, &rd, NULL, NULL, &tv), 100);
    printf("still set: %d\n", FD_ISSET(pipefd[0], &rd));

    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    start();
    int r = poll(&pfd, 1, 10000);
    printf("poll(pipe, 10 s) woken by a writer: returned %d, POLLIN %s\n", r,
           pfd.revents & POLLIN ? "yes" : "no");
    pthread_join(t, NULL);
    pfd.events = POLLOUT;
    pfd.fd = pipefd[1];
    r = poll(&pfd, 1, 0);
    printf("poll(write end, 0): %d, POLLOUT %s\n", r, pfd.revents & POLLOUT ? "yes" : "no");
    close(pipefd[1]);
    pfd = (struct pollfd){.fd = pipefd[0], .events = POLLIN};
    char c;
    read(pipefd[0], &c, 1);
    r = poll(&pfd, 1, 0);
    printf("poll(read end, writer closed): %d, POLLHUP %s\n", r, pfd.revents & POLLHUP ? "yes" : "no");
    pfd.fd = 999;
    r = poll(&pfd, 1, 0);
    printf("poll(bad fd): %d, POLLNVAL %s\n", r, pfd.revents & POLLNVAL ? "yes" : "no");
    printf("poll ok\n");
    return 0;
}
