/* /init of the Linux reference initramfs: runs the benchmark program given on the
 * kernel command line (after "--", or /prog by default), waits for it, prints a
 * marker line with its exit status, and powers the VM off.
 *
 * The kernel passes command-line words it does not understand to init as argv,
 * so "-append 'console=ttyS0 quiet -- /hello a b'" gives argv = {"/init", "/hello", "a", "b"}
 * (everything after "--" is handed to init). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void say(const char *s)
{
    ssize_t n = (ssize_t)strlen(s);
    while (n > 0) {
        ssize_t w = write(1, s, (size_t)n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= w;
    }
}

int main(int argc, char **argv)
{
    char *def[] = {"/prog", NULL};
    char **args = argc > 1 ? argv + 1 : def;
    char buf[128];
    int status = 0, code;

    /* The console is /dev/console from the initramfs; make sure fds 0-2 exist. */
    if (fcntl(1, F_GETFD) < 0) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
    }
    mkdir("/tmp", 01777);
    pid_t pid = fork();
    if (pid == 0) {
        execv(args[0], args);
        snprintf(buf, sizeof buf, "init: exec %s: %s\n", args[0], strerror(errno));
        say(buf);
        _exit(127);
    }
    if (pid < 0) {
        code = 125;
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    snprintf(buf, sizeof buf, "\n@@BENCH-EXIT %d@@\n", code);
    say(buf);
    /* write() on a tty returns once the bytes are in the kernel's buffer: wait until the UART
     * has sent them all, or powering off would cut the end of the program's output. */
    tcdrain(1);
    sync();
    reboot(RB_POWER_OFF);
    /* If power-off is not supported, reboot: QEMU's -no-reboot turns it into an exit. */
    reboot(RB_AUTOBOOT);
    for (;;)
        pause();
}
