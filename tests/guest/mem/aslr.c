/* Prints where main, a heap block, an mmap block and a stack variable are:
 * with randomization, each differs from one run to the next. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(void)
{
    int local = 0;
    void *heap = malloc(64);
    void *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("main %p\n", (void *)main);
    printf("heap %p\n", heap);
    printf("mmap %p\n", map);
    printf("stack %p\n", (void *)&local);
    return local;
}
