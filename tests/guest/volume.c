/* Works in a directory shared with the host (nutshell run --volume HOST:DIR).
 *   volume write DIR     prints DIR/from-host.txt, then writes DIR/hello.txt, DIR/sub/data.bin
 *                        (1 MiB, byte i = i * 7 % 251) and DIR/many/f000..f099, each fsynced
 *   volume readonly DIR  prints DIR/from-host.txt, then tries to create DIR/x (EROFS expected) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[4096];

static const char *at(const char *dir, const char *name)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void fail(const char *what)
{
    printf("FAIL %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
    int fd = open(at(dir, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fail("open");
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            fail("write");
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0)
        fail("fsync");
    if (close(fd) != 0)
        fail("close");
}

static void show_host_file(const char *dir)
{
    char buf[256];
    int fd = open(at(dir, "from-host.txt"), O_RDONLY);
    if (fd < 0)
        fail("open");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0)
        fail("read");
    buf[n] = 0;
    close(fd);
    printf("host says: %s", buf);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: volume write|readonly DIR\n");
        return 2;
    }
    const char *dir = argv[2];
    show_host_file(dir);
    if (strcmp(argv[1], "readonly") == 0) {
        int fd = open(at(dir, "x"), O_WRONLY | O_CREAT, 0644);
        printf("create: %s\n", fd < 0 ? strerror(errno) : "succeeded");
        return 0;
    }
    static const char hello[] = "hello from the guest\n";
    put(dir, "hello.txt", hello, sizeof hello - 1);
    if (mkdir(at(dir, "sub"), 0755) != 0 || mkdir(at(dir, "many"), 0755) != 0)
        fail("mkdir");
    size_t size = 1 << 20;
    unsigned char *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (unsigned char)(i * 7 % 251);
    put(dir, "sub/data.bin", data, size);
    for (int i = 0; i < 100; i++) {
        char name[32], body[32];
        snprintf(name, sizeof name, "many/f%03d", i);
        int len = snprintf(body, sizeof body, "file %d\n", i);
        put(dir, name, body, (size_t)len);
    }
    printf("volume ok\n");
    return 0;
}
