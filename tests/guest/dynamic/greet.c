/* A small shared library for the tests of missing and $ORIGIN-relative libraries. */
#include <stdio.h>

int greet(const char *who) { return printf("hello, %s, from libgreet\n", who); }
