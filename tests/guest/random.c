/* getrandom(2) twice: two different 32-byte buffers, neither all zero. Prints a
 * hex sample of each and of AT_RANDOM so that the test can compare two runs. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void hex(const char *label, const unsigned char *p, size_t n)
{
    printf("%s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

static int fill(unsigned char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r <= 0) {
            perror("random: getrandom");
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

int main(void)
{
    unsigned char a[32], b[32];
    const unsigned char *at_random = (const unsigned char *)getauxval(AT_RANDOM);

    if (fill(a, sizeof a) || fill(b, sizeof b))
        return 1;
    hex("sample1", a, sizeof a);
    hex("sample2", b, sizeof b);
    if (at_random)
        hex("at_random", at_random, 16);
    if (all_zero(a, sizeof a) || all_zero(b, sizeof b)) {
        printf("FAIL getrandom returned all zero bytes\n");
        return 1;
    }
    if (memcmp(a, b, sizeof a) == 0) {
        printf("FAIL getrandom returned the same bytes twice\n");
        return 1;
    }
    printf("random ok\n");
    return 0;
}
