/* The stack: "grow" recurses 4 MiB deep (below RLIMIT_STACK, so the stack
 * grows on demand); "recurse" recurses without end and must die of SIGSEGV on
 * the guard; "below" touches an address below the largest stack RLIMIT_STACK
 * allows (the top of the stack is found from AT_EXECFN, the string placed
 * highest on it) and must die of SIGSEGV. RLIMIT_STACK is set to 8 MiB first. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>

#define MiB (1ul << 20)

/* Each level uses a 16 KiB frame that the compiler cannot drop. */
__attribute__((noinline, noipa)) static uint64_t dive(uint64_t depth, uint64_t limit)
{
    volatile unsigned char frame[16384];
    frame[0] = (unsigned char)depth;
    frame[sizeof frame - 1] = (unsigned char)(depth >> 8);
    if (limit && depth >= limit)
        return frame[0] + frame[sizeof frame - 1];
    return dive(depth + 1, limit) + frame[0];
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: stackguard grow|recurse|below\n");
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 8 * MiB) {
        rl.rlim_cur = 8 * MiB;
        if (setrlimit(RLIMIT_STACK, &rl) != 0)
            perror("setrlimit");
    }
    if (strcmp(argv[1], "grow") == 0) {
        uint64_t levels = 4 * MiB / 16384;
        volatile uint64_t r = dive(0, levels);
        (void)r;
        printf("recursed %lu levels of 16 KiB: the stack grew\n", (unsigned long)levels);
        return 0;
    }
    if (strcmp(argv[1], "recurse") == 0) {
        printf("recursing without end\n");
        volatile uint64_t r = dive(0, 0);
        printf("FAIL still alive: %lu\n", (unsigned long)r);
        return 1;
    }
    if (strcmp(argv[1], "below") == 0) {
        uintptr_t top = (getauxval(AT_EXECFN) + 4095) & ~(uintptr_t)4095;
        volatile char *below = (volatile char *)(top - rl.rlim_cur - 64 * 1024);
        printf("touching 64 KiB below the stack limit\n");
        *below = 1;
        printf("FAIL still alive\n");
        return 1;
    }
    fprintf(stderr, "stackguard: unknown mode %s\n", argv[1]);
    return 2;
}
