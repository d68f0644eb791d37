/* A TCP client of a server on the host: `client IP PORT CLOSED_PORT`.
 * Blocking connect, a request and its echo, a 1 MiB upload whose checksum the server returns, a
 * non-blocking connect finished with poll and SO_ERROR, and ECONNREFUSED from a closed port. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr_of(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", ip);
        exit(2);
    }
    return a;
}

static int read_full(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return -1;
        got += r;
    }
    return 0;
}

static int write_full(int fd, const char *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w <= 0)
            return -1;
        done += w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: client IP PORT CLOSED_PORT\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sockaddr_in srv = addr_of(argv[1], atoi(argv[2]));

    /* 1. Blocking connect, one line echoed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&srv, sizeof srv) != 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_in me, peer;
    socklen_t len = sizeof me;
    getsockname(fd, (struct sockaddr *)&me, &len);
    len = sizeof peer;
    getpeername(fd, (struct sockaddr *)&peer, &len);
    printf("connected: peer port %s, local port nonzero %d\n",
           ntohs(peer.sin_port) == atoi(argv[2]) ? "ok" : "wrong", ntohs(me.sin_port) != 0);
    const char *msg = "echo hello\n";
    write_full(fd, msg, strlen(msg));
    char buf[64] = {0};
    if (read_full(fd, buf, strlen(msg)) != 0) {
        printf("read failed\n");
        return 1;
    }
    printf("reply: %s", buf);

    /* 2. 1 MiB upload, the server answers with its FNV-1a hash. */
    size_t n = 1 << 20;
    char *data = malloc(n);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        data[i] = (char)(i * 7 + (i >> 11));
        h = (h ^ (unsigned char)data[i]) * 0x100000001b3ull;
    }
    char head[64];
    snprintf(head, sizeof head, "sum %zu\n", n);
    write_full(fd, head, strlen(head));
    write_full(fd, data, n);
    char hex[17] = {0};
    if (read_full(fd, hex, 16) != 0) {
        printf("sum reply failed\n");
        return 1;
    }
    printf("upload hash %s\n", strtoull(hex, NULL, 16) == h ? "matches" : "differs");
    /* 3. Download of 1 MiB, counted until EOF after shutdown. */
    write_full(fd, "get 1048576\n", 12);
    shutdown(fd, SHUT_WR);
    size_t total = 0;
    uint64_t h2 = 0xcbf29ce484222325ull;
    for (;;) {
        ssize_t r = read(fd, data, n);
        if (r < 0) {
            printf("download read: %s\n", strerror(errno));
            return 1;
        }
        if (r == 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            h2 = (h2 ^ (unsigned char)data[i]) * 0x100000001b3ull;
        total += r;
    }
    printf("download %zu bytes\n", total);
    close(fd);

    /* 4. Non-blocking connect: EINPROGRESS, then writable with SO_ERROR 0. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(fd, (struct sockaddr *)&srv, sizeof srv);
    printf("nonblocking connect: %s\n", r == 0 ? "at once" : strerror(errno));
    struct pollfd p = {fd, POLLOUT, 0};
    r = poll(&p, 1, 10000);
    int err = -1;
    len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("poll %d revents POLLOUT %d SO_ERROR %d\n", r, !!(p.revents & POLLOUT), err);
    write_full(fd, "quit\n", 5);
    close(fd);

    /* 5. A closed port: ECONNREFUSED, blocking and not. */
    struct sockaddr_in closed = addr_of(argv[1], atoi(argv[3]));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    r = connect(fd, (struct sockaddr *)&closed, sizeof closed);
    printf("closed port: %d %s\n", r, strerror(errno));
    close(fd);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(fd, (struct sockaddr *)&closed, sizeof closed);
    if (r != 0 && errno == EINPROGRESS) {
        p.fd = fd;
        p.events = POLLOUT;
        poll(&p, 1, 10000);
        len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        printf("closed port, non-blocking: SO_ERROR %s\n", strerror(err));
    } else {
        printf("closed port, non-blocking: %s\n", strerror(errno));
    }
    close(fd);
    return 0;
}
