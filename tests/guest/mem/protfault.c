/* Protection faults, each fatal (SIGSEGV, status 139) unless noted:
 *   rowrite   write to a page made read-only with mprotect
 *   rodata    write to a string literal (.rodata)
 *   exec      call into an anonymous read+write page holding `ret`
 *   execdata  call into a writable global array holding `ret`
 *   jit       not a fault: code written, flipped to read+exec, called, patched
 *             through read+write, flipped back, called again (prints 42, 43) */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn)(void);

/* mov eax, imm32; ret */
static const unsigned char code[] = {0xb8, 42, 0, 0, 0, 0xc3};
static unsigned char data_code[64] = {0xc3};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: protfault rowrite|rodata|exec|execdata|jit\n");
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "rowrite") == 0) {
        volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        mprotect((void *)p, 4096, PROT_READ);
        printf("read back %d, now writing\n", p[0]);
        p[1] = 2;
    } else if (strcmp(mode, "rodata") == 0) {
        volatile char *volatile literal = (volatile char *)"a string literal";
        printf("writing to a string literal\n");
        literal[0] = 'A';
    } else if (strcmp(mode, "exec") == 0) {
        unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memcpy(p, code, sizeof code);
        printf("calling a read+write page\n");
        fn volatile f = (fn)(void *)p;
        f();
    } else if (strcmp(mode, "execdata") == 0) {
        printf("calling a global array\n");
        fn volatile f = (fn)(void *)data_code;
        f();
    } else if (strcmp(mode, "jit") == 0) {
        unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memcpy(p, code, sizeof code);
        if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0) {
            perror("mprotect");
            return 1;
        }
        fn volatile f = (fn)(void *)p;
        printf("jit call: %d\n", f());
        mprotect(p, 4096, PROT_READ | PROT_WRITE);
        p[1] = 43;
        mprotect(p, 4096, PROT_READ | PROT_EXEC);
        printf("jit call after patching: %d\n", f());
        return 0;
    } else {
        fprintf(stderr, "protfault: unknown mode %s\n", mode);
        return 2;
    }
    printf("FAIL still alive after %s\n", mode);
    return 1;
}
