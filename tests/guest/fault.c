/* Dies of a CPU exception chosen by argv[1]:
 *   segv  NULL dereference inside crash_here  (SIGSEGV, status 139)
 *   ill   ud2                                 (SIGILL,  status 132)
 *   fpe   integer division by zero            (SIGFPE,  status 136) */
#include <stdio.h>
#include <string.h>

__attribute__((noinline, noipa)) void crash_here(volatile int *p)
{
    *p = 42;
}

__attribute__((noinline, noipa)) static void illegal(void)
{
    __asm__ volatile("ud2");
}

/* noipa: with a known numerator GCC rewrites 1 / b without a division. */
__attribute__((noinline, noipa)) static int divide(int a, int b)
{
    return a / b;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fault segv|ill|fpe\n");
        return 2;
    }
    if (strcmp(argv[1], "segv") == 0) {
        volatile int *volatile p = NULL;
        crash_here(p);
    } else if (strcmp(argv[1], "ill") == 0) {
        illegal();
    } else if (strcmp(argv[1], "fpe") == 0) {
        volatile int one = 1, zero = 0;
        volatile int r = divide(one, zero);
        (void)r;
    } else {
        fprintf(stderr, "fault: unknown fault %s\n", argv[1]);
        return 2;
    }
    printf("fault: still alive after %s\n", argv[1]);
    return 1;
}
