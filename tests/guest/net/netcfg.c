/* The network configuration seen from a program: `netcfg IP PORT` (IPv4 or IPv6 address).
 * Connects to a server of the test on the host (the echo protocol of client.c), prints the reply, the
 * local address the kernel chose, and the content of /etc/resolv.conf. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: netcfg IP PORT\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    int family;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, argv[1], &a4->sin_addr) == 1) {
        family = a4->sin_family = AF_INET;
        a4->sin_port = htons(atoi(argv[2]));
        slen = sizeof *a4;
    } else if (inet_pton(AF_INET6, argv[1], &a6->sin6_addr) == 1) {
        family = a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(atoi(argv[2]));
        slen = sizeof *a6;
    } else {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, slen) != 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    const char *msg = "echo netcfg\n";
    if (write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
        printf("write: %s\n", strerror(errno));
        return 1;
    }
    char buf[64] = {0};
    size_t got = 0;
    while (got < strlen(msg)) {
        ssize_t r = read(fd, buf + got, strlen(msg) - got);
        if (r <= 0) {
            printf("read failed\n");
            return 1;
        }
        got += r;
    }
    printf("reply: %s", buf);
    struct sockaddr_storage me;
    socklen_t len = sizeof me;
    getsockname(fd, (struct sockaddr *)&me, &len);
    char ip[INET6_ADDRSTRLEN] = "?";
    if (me.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&me)->sin6_addr, ip, sizeof ip);
    printf("local address: %s\n", ip);
    close(fd);
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f) {
        printf("resolv.conf: %s\n", strerror(errno));
        return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, f))
        printf("resolv.conf: %s", line);
    fclose(f);
    return 0;
}
