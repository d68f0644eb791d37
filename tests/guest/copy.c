/* Copies stdin to stdout verbatim with read(2) and write(2) (64 KiB at a time), so that a test can
 * compare the bytes that went through the console both ways. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static char buf[1 << 16];

int main(void)
{
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("copy: read");
            return 1;
        }
        if (n == 0)
            return 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t m = write(1, buf + done, (size_t)(n - done));
            if (m < 0) {
                if (errno == EINTR)
                    continue;
                perror("copy: write");
                return 1;
            }
            done += m;
        }
    }
}
