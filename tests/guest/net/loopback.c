/* Sockets inside one machine: AF_UNIX (socketpair, a stream server on a path and an abstract name
 * with a client thread, datagrams), TCP echo over 127.0.0.1 and ::1 with a client thread, UDP echo,
 * epoll readiness, and Linux's errno values. The output is the same natively and in nutshell. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK(x)                                                                 \
    do {                                                                         \
        if (!(x)) {                                                              \
            printf("FAIL line %d: %s (errno %s)\n", __LINE__, #x, strerror(errno)); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static const char *err(int r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static void read_exact(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        CHECK(r > 0);
        got += r;
    }
}

/* ---- AF_UNIX ---- */

static struct sockaddr_un unix_addr(const char *path, socklen_t *len) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (path[0] == '@') {
        strcpy(a.sun_path + 1, path + 1);
        *len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path + 1);
    } else {
        strcpy(a.sun_path, path);
        *len = sizeof a;
    }
    return a;
}

static void *unix_client(void *arg) {
    const char *path = arg;
    socklen_t len;
    struct sockaddr_un a = unix_addr(path, &len);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(fd, (struct sockaddr *)&a, len) == 0);
    for (int i = 0; i < 3; i++) {
        char msg[32], back[32];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        CHECK(write(fd, msg, n) == n);
        read_exact(fd, back, n);
        CHECK(memcmp(msg, back, n) == 0);
    }
    close(fd);
    return NULL;
}

static void unix_server(const char *path) {
    socklen_t len;
    struct sockaddr_un a = unix_addr(path, &len);
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(bind(srv, (struct sockaddr *)&a, len) == 0);
    int again = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("unix %s: bind again %s\n", path[0] == '@' ? "abstract" : "path", err(bind(again, (struct sockaddr *)&a, len)));
    printf("unix: connect before listen %s\n", err(connect(again, (struct sockaddr *)&a, len)));
    close(again);
    CHECK(listen(srv, 4) == 0);
    pthread_t t;
    pthread_create(&t, NULL, unix_client, (void *)path);
    int c = accept(srv, NULL, NULL);
    CHECK(c >= 0);
    char buf[64];
    ssize_t n;
    size_t total = 0;
    while ((n = read(c, buf, sizeof buf)) > 0) {
        CHECK(write(c, buf, n) == n);
        total += n;
    }
    printf("unix %s: echoed %zu bytes, then EOF\n", path[0] == '@' ? "abstract" : "path", total);
    pthread_join(t, NULL);
    close(c);
    close(srv);
    if (path[0] != '@') {
        struct stat st;
        CHECK(stat(path, &st) == 0);
        printf("unix: the path is a socket: %d\n", S_ISSOCK(st.st_mode));
        unlink(path);
    }
}

static void unix_pairs(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "ping", 4) == 4);
    int avail = 0;
    ioctl(sv[1], FIONREAD, &avail);
    char buf[16] = {0};
    CHECK(read(sv[1], buf, sizeof buf) == 4);
    printf("socketpair stream: %s (FIONREAD %d)\n", buf, avail);
    close(sv[0]);
    struct pollfd p = {sv[1], POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    printf("socketpair: after the peer closed: POLLIN %d POLLHUP %d POLLRDHUP %d, read %zd\n",
           !!(p.revents & POLLIN), !!(p.revents & POLLHUP), !!(p.revents & POLLRDHUP), read(sv[1], buf, 1));
    signal(SIGPIPE, SIG_IGN);
    printf("socketpair: write to a closed peer: %s\n", err(write(sv[1], "x", 1)));
    close(sv[1]);

    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(send(sv[0], "abc", 3, 0) == 3);
    CHECK(send(sv[0], "defgh", 5, 0) == 5);
    printf("socketpair dgram: recv %zd", recv(sv[1], buf, 2, 0));
    printf(", then %zd with MSG_TRUNC\n", recv(sv[1], buf, 2, MSG_TRUNC));
    printf("socketpair dgram: empty, MSG_DONTWAIT: %s\n", err(recv(sv[1], buf, 2, MSG_DONTWAIT)));
    close(sv[0]);
    close(sv[1]);

    int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0);
    socklen_t la, lb;
    struct sockaddr_un aa = unix_addr("@nutshell-dgram-a", &la), ab = unix_addr("@nutshell-dgram-b", &lb);
    CHECK(bind(a, (struct sockaddr *)&aa, la) == 0);
    CHECK(bind(b, (struct sockaddr *)&ab, lb) == 0);
    CHECK(sendto(a, "hi", 2, 0, (struct sockaddr *)&ab, lb) == 2);
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("unix dgram: %zd bytes from %s\n", n, fl == la && memcmp(&from, &aa, la) == 0 ? "a" : "?");
    printf("unix dgram: send without address: %s\n", err(send(a, "x", 1, 0)));
    close(a);
    close(b);
}

/* ---- TCP ---- */

struct target {
    int family;
    int port;
};

static socklen_t inet_addr_of(int family, int port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sizeof *a;
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    return sizeof *a;
}

static int port_of(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void *tcp_client(void *arg) {
    struct target *t = arg;
    struct sockaddr_storage ss;
    socklen_t len = inet_addr_of(t->family, t->port, &ss);
    for (int k = 0; k < 5; k++) {
        int fd = socket(t->family, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        CHECK(connect(fd, (struct sockaddr *)&ss, len) == 0);
        size_t n = 100000 + k;
        char *data = malloc(n), *back = malloc(n);
        for (size_t i = 0; i < n; i++)
            data[i] = (char)(i * 31 + k);
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(fd, data + done, n - done);
            CHECK(w > 0);
            done += w;
            /* Read what came back so far so that neither side fills up. */
        }
        shutdown(fd, SHUT_WR);
        read_exact(fd, back, n);
        CHECK(memcmp(data, back, n) == 0);
        char extra;
        CHECK(read(fd, &extra, 1) == 0);
        free(data);
        free(back);
        close(fd);
    }
    return NULL;
}

static void tcp_echo(int family) {
    const char *name = family == AF_INET ? "127.0.0.1" : "::1";
    int srv = socket(family, SOCK_STREAM, 0);
    int one = 1;
    CHECK(setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    struct sockaddr_storage ss;
    socklen_t len = inet_addr_of(family, 0, &ss);
    CHECK(bind(srv, (struct sockaddr *)&ss, len) == 0);
    CHECK(listen(srv, 16) == 0);
    struct target t = {family, port_of(srv)};
    pthread_t th;
    pthread_create(&th, NULL, tcp_client, &t);
    /* The server: epoll over the listener and the connections, edge-triggered, non-blocking. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = srv};
    epoll_ctl(ep, EPOLL_CTL_ADD, srv, &ev);
    int served = 0;
    size_t bytes = 0;
    char *buf = malloc(1 << 16);
    while (served < 5) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, 10000);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == srv) {
                int c = accept4(srv, NULL, NULL, SOCK_NONBLOCK);
                CHECK(c >= 0);
                struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                continue;
            }
            for (;;) {
                ssize_t r = read(fd, buf, 1 << 16);
                if (r > 0) {
                    ssize_t off = 0;
                    while (off < r) {
                        ssize_t w = write(fd, buf + off, r - off);
                        if (w < 0 && errno == EAGAIN) {
                            struct pollfd p = {fd, POLLOUT, 0};
                            poll(&p, 1, 10000);
                            continue;
                        }
                        CHECK(w > 0);
                        off += w;
                    }
                    bytes += r;
                    continue;
                }
                if (r == 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                    served++;
                }
                else
                    CHECK(errno == EAGAIN);
                break;
            }
        }
    }
    pthread_join(th, NULL);
    /* EPOLLRDHUP, checked where it is certain: a connection whose peer shut down its writing side
     * before the wait (in the echo loop above, the EOF may be read before any event reports it). */
    int cl = socket(family, SOCK_STREAM, 0);
    len = inet_addr_of(family, port_of(srv), &ss);
    CHECK(connect(cl, (struct sockaddr *)&ss, len) == 0);
    int sc = accept4(srv, NULL, NULL, SOCK_NONBLOCK);
    CHECK(sc >= 0);
    CHECK(shutdown(cl, SHUT_WR) == 0);
    struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = sc}, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, sc, &ce);
    int rdhup = 0;
    for (int tries = 0; tries < 100 && !rdhup; tries++) {
        if (epoll_wait(ep, &got, 1, 100) == 1 && got.data.fd == sc)
            rdhup = !!(got.events & EPOLLRDHUP);
    }
    close(sc);
    close(cl);
    printf("tcp %s: 5 connections, %zu bytes echoed, EPOLLRDHUP after the peer's shutdown %d\n", name, bytes, rdhup);

    /* Errors: a port in use, a closed port, accept on a non-blocking listener. */
    int other = socket(family, SOCK_STREAM, 0);
    len = inet_addr_of(family, t.port, &ss);
    printf("tcp %s: bind a listening port: %s\n", name, err(bind(other, (struct sockaddr *)&ss, len)));
    close(other);
    fcntl(srv, F_SETFL, O_NONBLOCK);
    printf("tcp %s: accept with nothing waiting: %s\n", name, err(accept(srv, NULL, NULL)));
    close(srv);
    close(ep);
    int c = socket(family, SOCK_STREAM, 0);
    printf("tcp %s: connect to the closed port: %s\n", name, err(connect(c, (struct sockaddr *)&ss, len)));
    close(c);
    free(buf);
}

static void tcp_details(void) {
    int srv = socket(AF_INET6, SOCK_STREAM, 0);
    int v6only = -1;
    socklen_t ol = sizeof v6only;
    getsockopt(srv, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol);
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
    CHECK(bind(srv, (struct sockaddr *)&any, sizeof any) == 0);
    CHECK(listen(srv, 1) == 0);
    int port = port_of(srv);
    struct sockaddr_storage ss;
    socklen_t len = inet_addr_of(AF_INET, port, &ss);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&ss, len) == 0);
    struct sockaddr_in6 peer;
    socklen_t pl = sizeof peer;
    int s = accept(srv, (struct sockaddr *)&peer, &pl);
    CHECK(s >= 0);
    char text[64];
    inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof text);
    printf("dual stack: v6only %d, an IPv4 client is %s (len %u)\n", v6only, text, pl);
    int type = 0, domain = 0, rcv = 0;
    ol = sizeof type;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &ol);
    getsockopt(s, SOL_SOCKET, SO_DOMAIN, &domain, &ol);
    int small = 4096;
    setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    getsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcv, &ol);
    printf("options: SO_TYPE %d SO_DOMAIN %d SO_RCVBUF after 4096: %d\n", type, domain, rcv);
    printf("options: unknown: %s\n", err(setsockopt(c, SOL_SOCKET, 4242, &small, sizeof small)));
    /* Close with unread data: the peer sees a reset. */
    CHECK(write(c, "unread", 6) == 6);
    usleep(10000);
    close(s);
    usleep(10000);
    char b[8];
    struct pollfd p = {c, POLLIN, 0};
    poll(&p, 1, 1000);
    printf("reset: POLLERR %d, read %s\n", !!(p.revents & POLLERR), err(read(c, b, sizeof b)));
    close(c);
    close(srv);
}

/* ---- UDP ---- */

static void udp_echo(void) {
    int srv = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_storage ss;
    socklen_t len = inet_addr_of(AF_INET, 0, &ss);
    CHECK(bind(srv, (struct sockaddr *)&ss, len) == 0);
    int port = port_of(srv);
    int cl = socket(AF_INET, SOCK_DGRAM, 0);
    len = inet_addr_of(AF_INET, port, &ss);
    for (int i = 0; i < 3; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "datagram %d", i);
        CHECK(sendto(cl, msg, n, 0, (struct sockaddr *)&ss, len) == n);
    }
    int echoed = 0;
    for (int i = 0; i < 3; i++) {
        char buf[64];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        CHECK(n > 0);
        CHECK(sendto(srv, buf, n, 0, (struct sockaddr *)&from, fl) == n);
        echoed++;
    }
    char buf[64];
    ssize_t n = recv(cl, buf, sizeof buf, 0);
    buf[n] = 0;
    printf("udp: %d echoed, first back: %s\n", echoed, buf);
    /* A connected socket and a closed port. */
    int lone = socket(AF_INET, SOCK_DGRAM, 0);
    bind(lone, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}, sizeof(struct sockaddr_in));
    int closed_port = port_of(lone);
    close(lone);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    len = inet_addr_of(AF_INET, closed_port, &ss);
    CHECK(connect(u, (struct sockaddr *)&ss, len) == 0);
    CHECK(send(u, "x", 1, 0) == 1);
    usleep(10000);
    printf("udp: after sending to a closed port: %s\n", err(recv(u, buf, sizeof buf, MSG_DONTWAIT)));
    close(u);
    close(cl);
    close(srv);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    unix_pairs();
    unix_server("/tmp/nutshell-test.sock");
    unix_server("@nutshell-test-abstract");
    tcp_echo(AF_INET);
    tcp_echo(AF_INET6);
    tcp_details();
    udp_echo();
    printf("done\n");
    return 0;
}
