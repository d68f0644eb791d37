/* epoll over a pipe and an eventfd: edge-triggered reports only new data,
 * level-triggered repeats, EPOLLONESHOT disarms until EPOLL_CTL_MOD, EPOLLOUT
 * on the write end, EPOLLHUP when the writer closes, a thread waking a
 * blocked epoll_wait through the eventfd, a timeout, and ctl errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int ep, pipefd[2], efd;

static int by_data(const void *a, const void *b)
{
    const struct epoll_event *x = a, *y = b;
    return (int)x->data.u64 - (int)y->data.u64;
}

static const char *tag(uint64_t data)
{
    return data == 1 ? "pipe" : data == 2 ? "eventfd" : data == 3 ? "pipe-write" : "?";
}

/* Prints the events of one epoll_wait, sorted by their data. */
static void wait_and_show(const char *what, int timeout)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, timeout);
    printf("%-40s ->", what);
    if (n < 0) {
        printf(" -1 %s\n", strerrorname_np(errno));
        return;
    }
    if (n == 0)
        printf(" nothing");
    qsort(ev, n, sizeof ev[0], by_data);
    for (int i = 0; i < n; i++) {
        printf(" %s:", tag(ev[i].data.u64));
        if (ev[i].events & EPOLLIN)
            printf(" IN");
        if (ev[i].events & EPOLLOUT)
            printf(" OUT");
        if (ev[i].events & EPOLLHUP)
            printf(" HUP");
        if (ev[i].events & EPOLLERR)
            printf(" ERR");
    }
    printf("\n");
}

static void ctl(const char *what, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    if (epoll_ctl(ep, op, fd, &ev) != 0)
        printf("%-40s -> -1 %s\n", what, strerrorname_np(errno));
}

static void *late_writer(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    eventfd_write(efd, 7);
    return NULL;
}

static void drain_pipe(void)
{
    char buf[64];
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0)
        printf("read(pipe) = -1 %s\n", strerrorname_np(errno));
    else
        printf("read(pipe) = %zd \"%.*s\"\n", n, (int)n, buf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || pipe2(pipefd, O_NONBLOCK) != 0 || (efd = eventfd(0, EFD_NONBLOCK)) < 0) {
        printf("setup: %s\n", strerrorname_np(errno));
        return 1;
    }
    ctl("add pipe (ET)", EPOLL_CTL_ADD, pipefd[0], EPOLLIN | EPOLLET, 1);
    ctl("add eventfd (ET)", EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLET, 2);
    wait_and_show("nothing ready", 0);

    write(pipefd[1], "abc", 3);
    wait_and_show("pipe written", 0);
    wait_and_show("again, no new data", 0);
    write(pipefd[1], "de", 2);
    wait_and_show("pipe written again", 0);
    drain_pipe();
    drain_pipe();

    eventfd_write(efd, 3);
    wait_and_show("eventfd written", 0);
    wait_and_show("again", 0);
    eventfd_t value;
    eventfd_read(efd, &value);
    printf("eventfd_read = %llu\n", (unsigned long long)value);
    printf("eventfd_read again: %s\n", eventfd_read(efd, &value) ? strerrorname_np(errno) : "value");

    write(pipefd[1], "xy", 2);
    eventfd_write(efd, 1);
    wait_and_show("both written", 0);

    ctl("mod pipe to level-triggered", EPOLL_CTL_MOD, pipefd[0], EPOLLIN, 1);
    wait_and_show("level-triggered, data unread", 0);
    wait_and_show("again", 0);
    drain_pipe();
    wait_and_show("after the read", 0);

    ctl("mod pipe to one-shot", EPOLL_CTL_MOD, pipefd[0], EPOLLIN | EPOLLONESHOT, 1);
    write(pipefd[1], "z", 1);
    wait_and_show("one-shot", 0);
    write(pipefd[1], "w", 1);
    wait_and_show("one-shot, disarmed", 0);
    ctl("rearm", EPOLL_CTL_MOD, pipefd[0], EPOLLIN | EPOLLONESHOT, 1);
    wait_and_show("rearmed", 0);
    drain_pipe();

    ctl("add pipe write end (ET)", EPOLL_CTL_ADD, pipefd[1], EPOLLOUT | EPOLLET, 3);
    wait_and_show("write end", 0);
    wait_and_show("write end again", 0);
    ctl("del pipe write end", EPOLL_CTL_DEL, pipefd[1], 0, 0);

    eventfd_read(efd, &value);
    pthread_t t;
    pthread_create(&t, NULL, late_writer, NULL);
    wait_and_show("blocking, woken by a thread", -1);
    pthread_join(t, NULL);
    eventfd_read(efd, &value);
    printf("eventfd_read = %llu\n", (unsigned long long)value);

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    wait_and_show("100 ms timeout", 100);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double waited = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("waited >= 100 ms: %s\n", waited >= 0.1 ? "yes" : "no");

    ctl("mod pipe back to level-triggered", EPOLL_CTL_MOD, pipefd[0], EPOLLIN, 1);
    close(pipefd[1]);
    wait_and_show("writer closed", 0);
    printf("read(pipe) after close = %zd\n", read(pipefd[0], &value, 1));

    ctl("del pipe", EPOLL_CTL_DEL, pipefd[0], 0, 0);
    ctl("add eventfd twice", EPOLL_CTL_ADD, efd, EPOLLIN, 2);
    ctl("del eventfd", EPOLL_CTL_DEL, efd, 0, 0);
    ctl("del eventfd twice", EPOLL_CTL_DEL, efd, 0, 0);
    ctl("mod unregistered", EPOLL_CTL_MOD, efd, EPOLLIN, 2);
    ctl("add a bad fd", EPOLL_CTL_ADD, 999, EPOLLIN, 9);
    ctl("add epoll to itself", EPOLL_CTL_ADD, ep, EPOLLIN, 9);
    eventfd_write(efd, 1);
    wait_and_show("everything deleted", 0);
    printf("epoll ok\n");
    return 0;
}
