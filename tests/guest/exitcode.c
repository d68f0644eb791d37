/* Exits with the status given in argv[1] (0-255). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: exitcode STATUS\n");
        return 2;
    }
    exit(atoi(argv[1]));
}
