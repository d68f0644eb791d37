/* File-system workload in the guest's in-memory file system:
 *   1. create and write NFILES small files of SMALL bytes in DIR/small, read them all back
 *      (checking the contents), delete them;
 *   2. write one BIG_MIB MiB file in 1 MiB writes, read it back (checking), delete it.
 * Usage: fsbench [NFILES [SMALL [BIG_MIB [DIR]]]]  (defaults 10000 1024 100 /tmp)
 * Prints "RESULT small_ms=... total_ms=..." after part 1 and "RESULT big_ms=... total_ms=..." after
 * part 2 (total_ms: guest time since the start), or "error: <what>: <strerror>". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *path)
{
    printf("error: %s %s: %s\n", what, path, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void fill(char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)((seed * 131u + i * 7u) & 0xff);
}

static void write_all(int fd, const char *p, size_t n, const char *path)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("write", path);
        }
        if (w == 0) {
            errno = EIO;
            die("write", path);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void read_all(int fd, char *p, size_t n, const char *path)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("read", path);
        }
        if (r == 0) {
            errno = EIO;
            die("read (short file)", path);
        }
        p += r;
        n -= (size_t)r;
    }
}

int main(int argc, char **argv)
{
    int nfiles = argc > 1 ? atoi(argv[1]) : 10000;
    size_t small = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    long big_mib = argc > 3 ? atol(argv[3]) : 100;
    const char *dir = argc > 4 ? argv[4] : "/tmp";
    char path[512], sdir[400];
    char *buf = malloc(small), *chk = malloc(small);
    const size_t chunk = 1 << 20;
    char *big = malloc(chunk), *bigchk = malloc(chunk);
    if (!buf || !chk || !big || !bigchk) {
        printf("error: malloc: out of memory\n");
        return 1;
    }

    if (mkdir(dir, 01777) < 0 && errno != EEXIST)
        die("mkdir", dir);
    snprintf(sdir, sizeof sdir, "%s/fsbench-small", dir);
    double t0 = now_ms();
    if (mkdir(sdir, 0755) < 0)
        die("mkdir", sdir);
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/f%05d", sdir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            die("create", path);
        fill(buf, small, (unsigned)i);
        write_all(fd, buf, small, path);
        if (close(fd) < 0)
            die("close", path);
    }
    double t1 = now_ms();
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/f%05d", sdir, i);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            die("open", path);
        read_all(fd, chk, small, path);
        close(fd);
        fill(buf, small, (unsigned)i);
        if (memcmp(buf, chk, small) != 0) {
            printf("error: %s: contents differ\n", path);
            return 1;
        }
    }
    double t2 = now_ms();
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/f%05d", sdir, i);
        if (unlink(path) < 0)
            die("unlink", path);
    }
    if (rmdir(sdir) < 0)
        die("rmdir", sdir);
    double t3 = now_ms();
    /* A first result line now, so the small-files figures survive a failure of the big file. */
    printf("RESULT small_ms=%.1f total_ms=%.1f small_create_ms=%.1f small_read_ms=%.1f "
           "small_delete_ms=%.1f files=%d small_bytes=%zu\n",
           t3 - t0, t3 - t0, t1 - t0, t2 - t1, t3 - t2, nfiles, small);
    fflush(stdout);

    snprintf(path, sizeof path, "%s/fsbench-big", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("create", path);
    for (long m = 0; m < big_mib; m++) {
        fill(big, chunk, (unsigned)m);
        write_all(fd, big, chunk, path);
    }
    if (close(fd) < 0)
        die("close", path);
    double t4 = now_ms();
    fd = open(path, O_RDONLY);
    if (fd < 0)
        die("open", path);
    for (long m = 0; m < big_mib; m++) {
        read_all(fd, bigchk, chunk, path);
        fill(big, chunk, (unsigned)m);
        if (memcmp(big, bigchk, chunk) != 0) {
            printf("error: %s: contents differ at MiB %ld\n", path, m);
            return 1;
        }
    }
    close(fd);
    if (unlink(path) < 0)
        die("unlink", path);
    double t5 = now_ms();
    printf("RESULT big_ms=%.1f total_ms=%.1f big_write_ms=%.1f big_read_ms=%.1f big_mib=%ld\n",
           t5 - t3, t5 - t0, t4 - t3, t5 - t4, big_mib);
    return 0;
}
