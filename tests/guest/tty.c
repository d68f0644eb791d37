/* Reports what the program sees of its terminal: isatty of fds 0-2, TERM, and the window
 * size of the first terminal among them. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
    const char *term = getenv("TERM");
    printf("isatty %d %d %d\n", isatty(0), isatty(1), isatty(2));
    printf("TERM=%s\n", term ? term : "(unset)");
    for (int fd = 0; fd < 3; fd++) {
        struct winsize ws;
        if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
            printf("winsize %dx%d\n", ws.ws_row, ws.ws_col);
            break;
        }
    }
    return 0;
}
