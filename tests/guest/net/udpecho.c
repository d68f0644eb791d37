/* UDP echo for the published-port test: `udpecho PORT N` answers N datagrams with their bytes
 * upper-cased, to the address each came from, then prints how many it answered. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: udpecho PORT N\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("bind");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    int n = atoi(argv[2]), answered = 0;
    char buf[2048];
    while (answered < n) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (r < 0) {
            perror("recvfrom");
            return 1;
        }
        for (ssize_t i = 0; i < r; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        if (sendto(s, buf, (size_t)r, 0, (struct sockaddr *)&from, fl) != r) {
            perror("sendto");
            return 1;
        }
        answered++;
    }
    printf("answered %d\n", answered);
    return 0;
}
