/* A program for the gdb tests (built with -g -O0): main → compute → checkpoint. */
#include <stdio.h>

__attribute__((noinline)) void checkpoint(int step)
{
    volatile int seen = step;
    (void)seen;
}

__attribute__((noinline)) int compute(int n)
{
    int total = 0;
    for (int i = 1; i <= n; i++)
        total += i;
    checkpoint(total);
    return total * 2;
}

int main(int argc, char **argv)
{
    (void)argv;
    int result = compute(argc + 9);
    printf("result %d\n", result);
    return 0;
}
