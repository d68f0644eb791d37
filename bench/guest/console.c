/* Console throughput: write N bytes (default 64 MiB) to stdout in 64 KiB writes.
 * The payload has no newline (a Linux tty would turn it into CR LF) and is framed by
 * marker lines so the host can count exactly the bytes between them.
 * Usage: console [BYTES] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long long total = argc > 1 ? atoll(argv[1]) : 64LL << 20;
    static char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)('A' + i % 26);
    const char *begin = "@@CONSOLE-BEGIN@@\n", *end = "\n@@CONSOLE-END@@\n";
    if (write_all(begin, strlen(begin)) < 0)
        goto fail;
    for (long long left = total; left > 0;) {
        size_t n = left > (long long)sizeof buf ? sizeof buf : (size_t)left;
        if (write_all(buf, n) < 0)
            goto fail;
        left -= (long long)n;
    }
    if (write_all(end, strlen(end)) < 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "error: write: %s\n", strerror(errno));
    return 1;
}
