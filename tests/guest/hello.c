/* hello in C: built twice, with glibc (gcc -static-pie) and with musl (a real
 * musl static-PIE). The flavour comes from the C library actually linked in, so
 * a build with the wrong libc cannot pass. */
#include <stdio.h>

#if defined(__GLIBC__)
#define FLAVOUR "glibc"
#else
#define FLAVOUR "musl"
#endif

int main(void)
{
    printf("hello from %s\n", FLAVOUR);
    return 0;
}
