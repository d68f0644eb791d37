/* A shared host directory (a volume) mounted at argv[1] (default /mnt): writes 1000 small files
 * (vol/f0000..f0999, each "file N\n") and a 50 MiB file (vol/big: byte i is (i * 7 + i / 4096) & 0xff),
 * fsyncs, lists the directory, checks that ".." at the volume's root and a symlink pointing outside
 * do not reach host files outside it, and prints "ok". With argv[2] = "ro" it checks instead that
 * every kind of write fails with EROFS and reads still work. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL line %d: ", __LINE__);                                                    \
            printf(__VA_ARGS__);                                                                   \
            printf(" (%s)\n", strerrorname_np(errno) ? strerrorname_np(errno) : "0");              \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void read_only(const char *mnt)
{
    char p[512];
    snprintf(p, sizeof p, "%s/new", mnt);
    CHECK(open(p, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS, "create");
    snprintf(p, sizeof p, "%s/existing", mnt);
    CHECK(open(p, O_WRONLY) < 0 && errno == EROFS, "open for writing");
    CHECK(open(p, O_RDONLY | O_TRUNC) < 0 && errno == EROFS, "O_TRUNC");
    CHECK(truncate(p, 0) < 0 && errno == EROFS, "truncate");
    CHECK(chmod(p, 0600) < 0 && errno == EROFS, "chmod");
    CHECK(unlink(p) < 0 && errno == EROFS, "unlink");
    snprintf(p, sizeof p, "%s/dir", mnt);
    CHECK(mkdir(p, 0755) < 0 && errno == EROFS, "mkdir");
    char q[512];
    snprintf(q, sizeof q, "%s/existing", mnt);
    snprintf(p, sizeof p, "%s/renamed", mnt);
    CHECK(rename(q, p) < 0 && errno == EROFS, "rename");
    CHECK(symlink("x", p) < 0 && errno == EROFS, "symlink");
    CHECK(access(q, W_OK) < 0 && errno == EROFS, "access W_OK");
    int fd = open(q, O_RDONLY);
    CHECK(fd >= 0, "open for reading");
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    CHECK(n > 0, "read");
    printf("existing: %.*s", (int)(n > 0 ? n : 0), buf);
    close(fd);
}

int main(int argc, char **argv)
{
    const char *mnt = argc > 1 ? argv[1] : "/mnt";
    if (argc > 2 && strcmp(argv[2], "ro") == 0) {
        read_only(mnt);
        printf("%s\n", failures ? "FAILED" : "ok");
        return failures != 0;
    }
    char p[512];
    snprintf(p, sizeof p, "%s/vol", mnt);
    CHECK(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s", p);
    for (int i = 0; i < 1000; i++) {
        snprintf(p, sizeof p, "%s/vol/f%04d", mnt, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0, "create %s", p);
        char line[32];
        int n = snprintf(line, sizeof line, "file %d\n", i);
        CHECK(write(fd, line, n) == n, "write %s", p);
        close(fd);
    }
    snprintf(p, sizeof p, "%s/vol/big", mnt);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "create big");
    static unsigned char chunk[1 << 20];
    for (long c = 0; c < 50; c++) {
        for (long j = 0; j < (long)sizeof chunk; j++) {
            long i = c * (long)sizeof chunk + j;
            chunk[j] = (unsigned char)((i * 7 + i / 4096) & 0xff);
        }
        CHECK(write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk, "write big chunk %ld", c);
    }
    CHECK(fsync(fd) == 0, "fsync");
    close(fd);
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size == 50l << 20, "size of big");

    /* read back a part */
    fd = open(p, O_RDONLY);
    unsigned char b[16];
    CHECK(pread(fd, b, 16, 12345678) == 16, "pread big");
    for (int j = 0; j < 16; j++) {
        long i = 12345678 + j;
        CHECK(b[j] == (unsigned char)((i * 7 + i / 4096) & 0xff), "byte %ld", i);
    }
    close(fd);

    /* the directory */
    snprintf(p, sizeof p, "%s/vol", mnt);
    DIR *d = opendir(p);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        count++;
    closedir(d);
    printf("entries: %d\n", count);

    /* confinement: ".." at the root of the volume is the guest's parent, not the host's */
    snprintf(p, sizeof p, "%s/../%s", mnt, mnt + 1);
    CHECK(stat(p, &st) == 0, "%s", p);
    snprintf(p, sizeof p, "%s/../../../../etc/hostname", mnt);
    char buf[64] = {0};
    fd = open(p, O_RDONLY);
    CHECK(fd >= 0, "guest /etc/hostname through ..");
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("hostname through ..: %s", buf);
    /* a symlink made on the host that points outside resolves in the guest's tree */
    snprintf(p, sizeof p, "%s/escape/hostname", mnt);
    fd = open(p, O_RDONLY);
    memset(buf, 0, sizeof buf);
    if (fd >= 0) {
        read(fd, buf, sizeof buf - 1);
        close(fd);
        printf("through the escape link: %s", buf);
    } else {
        printf("through the escape link: %s\n", strerrorname_np(errno));
    }
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
