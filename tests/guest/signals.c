/* Waits for a signal sent to `nutshell run` (the tests send it after "ready").
 *   signals handler  SIGINT and SIGUSR1 handlers; after SIGINT: "main: done" and status 42
 *   signals default  no handler: the default action ends it (SIGTERM: status 143)
 *   signals ignore   SIGINT ignored: only nutshell's second-Ctrl-C rule stops it */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_int, got_usr1;

static void on_signal(int sig)
{
    /* write(2) is async-signal-safe; printf is not. */
    if (sig == SIGINT) {
        static const char msg[] = "handler: caught SIGINT\n";
        got_int = 1;
        (void)!write(1, msg, sizeof msg - 1);
    } else if (sig == SIGUSR1) {
        static const char msg[] = "handler: caught SIGUSR1\n";
        got_usr1 = 1;
        (void)!write(1, msg, sizeof msg - 1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: signals handler|default|ignore\n");
        return 2;
    }
    if (strcmp(argv[1], "handler") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGUSR1, &sa, NULL);
    } else if (strcmp(argv[1], "ignore") == 0) {
        signal(SIGINT, SIG_IGN);
    }
    printf("ready\n");
    fflush(stdout);
    while (!got_int)
        pause();
    printf("main: done (SIGUSR1 %s)\n", got_usr1 ? "seen" : "not seen");
    return 42;
}
