/* A TCP server reached from the host through QEMU's hostfwd: `server PORT CONNECTIONS`.
 * Listens on 0.0.0.0:PORT; each connection sends lines: "up TEXT" is answered with TEXT in capitals,
 * "big N" with N bytes (i * 7 mod 256) and the end of the connection. Exits after CONNECTIONS. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_full(int fd, const char *b, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            return -1;
        b += w;
        n -= w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(srv, (struct sockaddr *)&a, sizeof a) != 0 || listen(srv, 16) != 0) {
        printf("bind/listen: %s\n", strerror(errno));
        return 1;
    }
    printf("listening\n");
    int n = atoi(argv[2]);
    size_t lines = 0, sent = 0;
    for (int k = 0; k < n; k++) {
        int c = accept(srv, NULL, NULL);
        if (c < 0) {
            printf("accept: %s\n", strerror(errno));
            return 1;
        }
        char line[256];
        size_t len = 0;
        for (;;) {
            char ch;
            ssize_t r = read(c, &ch, 1);
            if (r <= 0)
                break;
            if (ch != '\n') {
                if (len < sizeof line - 1)
                    line[len++] = ch;
                continue;
            }
            line[len] = 0;
            len = 0;
            lines++;
            if (strncmp(line, "up ", 3) == 0) {
                for (char *p = line + 3; *p; p++)
                    *p = toupper((unsigned char)*p);
                strcat(line, "\n");
                write_full(c, line + 3, strlen(line + 3));
            } else if (strncmp(line, "big ", 4) == 0) {
                size_t want = strtoul(line + 4, NULL, 10);
                char *buf = malloc(want);
                for (size_t i = 0; i < want; i++)
                    buf[i] = (char)(i * 7);
                if (write_full(c, buf, want) == 0)
                    sent += want;
                free(buf);
                break;
            }
        }
        close(c);
    }
    printf("served %d connections, %zu lines, %zu bulk bytes\n", n, lines, sent);
    return 0;
}
