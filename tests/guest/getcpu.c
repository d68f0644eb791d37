/* Calls getcpu (309), which nutshell does not implement, twice: Linux answers 0, nutshell
 * ENOSYS (or ends the program under --strict). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 2; i++) {
        unsigned cpu = 99, node = 99;
        printf("calling getcpu\n");
        fflush(stdout);
        long r = syscall(SYS_getcpu, &cpu, &node, NULL);
        if (r == 0)
            printf("getcpu: cpu %u node %u\n", cpu, node);
        else
            printf("getcpu: %s\n", strerror(errno));
    }
    return 0;
}
