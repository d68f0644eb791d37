/* Built with `gcc -static -no-pie`: an ET_EXEC at fixed addresses. main's
 * address is then the same natively and in nutshell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char bss[1 << 20];
static int data = 42;

int main(int argc, char **argv)
{
    printf("main %p\n", (void *)main);
    printf("data %p = %d\n", (void *)&data, data);
    bss[sizeof bss - 1] = 1;
    printf("bss zero: %s\n", bss[0] == 0 && bss[sizeof bss / 2] == 0 ? "yes" : "no");
    char *heap = malloc(1 << 20);
    memset(heap, 'x', 1 << 20);
    printf("heap ok: %s\n", heap[12345] == 'x' ? "yes" : "no");
    for (int i = 1; i < argc; i++)
        printf("argv[%d] %s\n", i, argv[i]);
    printf("static non-PIE ok\n");
    free(heap);
    return 0;
}
