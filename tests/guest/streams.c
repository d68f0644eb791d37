/* Writes one line to stdout and one to stderr, with write(2) so that neither is
 * buffered: the test checks that they arrive on separate host streams. */
#include <unistd.h>

int main(void)
{
    static const char out[] = "to stdout\n";
    static const char err[] = "to stderr\n";
    if (write(1, out, sizeof out - 1) != sizeof out - 1)
        return 1;
    if (write(2, err, sizeof err - 1) != sizeof err - 1)
        return 1;
    return 0;
}
