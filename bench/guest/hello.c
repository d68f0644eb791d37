/* glibc static-PIE hello: the start-up and memory benchmark program. */
#include <stdio.h>

int main(void)
{
    printf("hello from nutshell-bench\n");
    return 0;
}
