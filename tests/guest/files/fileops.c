/* File operations: create, write, read back, seek, truncate, rename, link, symlink, unlink, mkdir,
 * sorted directory listings, deterministic stat fields, O_APPEND, pipes between fds, file-backed
 * MAP_PRIVATE and MAP_SHARED. Runs in a scratch directory (argv[1], default /tmp/fileops) and prints
 * one line per check; the output must be identical natively and in nutshell. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf(" (errno %s)\n", strerrorname_np(errno) ? strerrorname_np(errno) : "0");        \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void put(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "create %s", path);
    CHECK(write(fd, data, strlen(data)) == (ssize_t)strlen(data), "write %s", path);
    close(fd);
}

static const char *get(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return "(missing)";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print a directory's entries sorted, with d_type, as "ls: name/type ...". */
static void list(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL, "opendir %s", dir);
    if (!d)
        return;
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        char *s;
        if (asprintf(&s, "%s/%d", e->d_name, e->d_type) < 0)
            exit(2);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("ls %s:", dir);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void show_stat(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        printf("stat %s: %s\n", path, strerrorname_np(errno));
        return;
    }
    /* A directory's size depends on the filesystem (tmpfs, ext4...): not shown; the owner is whoever
     * runs the test (root in nutshell). */
    const char *owner = st.st_uid == getuid() && st.st_gid == getgid() ? "me" : "other";
    if (S_ISDIR(st.st_mode))
        printf("stat %s: mode %o nlink %lu owner %s\n", path, st.st_mode, (unsigned long)st.st_nlink, owner);
    else
        printf("stat %s: mode %o nlink %lu size %lld owner %s\n", path, st.st_mode, (unsigned long)st.st_nlink,
               (long long)st.st_size, owner);
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "/tmp/fileops";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s", base);
    mkdir(base, 0755);
    CHECK(chdir(base) == 0, "chdir %s", base);
    umask(022);

    /* create, write, read back */
    put("a.txt", "hello, files\n");
    printf("read a.txt: %s", get("a.txt"));
    show_stat("a.txt");

    /* seek and positional I/O */
    int fd = open("a.txt", O_RDWR);
    CHECK(lseek(fd, 7, SEEK_SET) == 7, "lseek set");
    CHECK(write(fd, "FILES", 5) == 5, "overwrite");
    CHECK(lseek(fd, 0, SEEK_END) == 13, "lseek end");
    CHECK(lseek(fd, 10, SEEK_END) == 23, "lseek past end");
    CHECK(write(fd, "!", 1) == 1, "write past end");
    char buf[64];
    CHECK(pread(fd, buf, 64, 0) == 24, "pread whole");
    printf("hole bytes: %d %d %d\n", buf[13], buf[20], buf[23]);
    CHECK(pwrite(fd, "h", 1, 0) == 1, "pwrite");
    CHECK(lseek(fd, 0, SEEK_CUR) == 24, "pwrite keeps the position");
    /* truncate */
    CHECK(ftruncate(fd, 5) == 0, "ftruncate");
    CHECK(lseek(fd, 0, SEEK_END) == 5, "size after ftruncate");
    close(fd);
    printf("after truncate: [%s]\n", get("a.txt"));
    CHECK(truncate("a.txt", 8) == 0, "truncate up");
    show_stat("a.txt");

    /* O_APPEND */
    put("log", "one\n");
    fd = open("log", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    CHECK(write(fd, "two\n", 4) == 4, "append");
    close(fd);
    printf("appended: %s", get("log"));

    /* rename, link, symlink, unlink */
    CHECK(rename("log", "log2") == 0, "rename");
    CHECK(link("log2", "hard") == 0, "link");
    show_stat("hard");
    CHECK(symlink("log2", "soft") == 0, "symlink");
    ssize_t n = readlink("soft", buf, sizeof buf);
    printf("readlink soft: %.*s\n", (int)n, buf);
    show_stat("soft");
    printf("through symlink: %s", get("soft"));
    CHECK(unlink("log2") == 0, "unlink");
    show_stat("hard");
    printf("dangling: %s\n", get("soft"));
    CHECK(renameat2(AT_FDCWD, "hard", AT_FDCWD, "a.txt", RENAME_NOREPLACE) == -1 && errno == EEXIST,
          "renameat2 noreplace");
    CHECK(renameat2(AT_FDCWD, "hard", AT_FDCWD, "a.txt", RENAME_EXCHANGE) == 0, "renameat2 exchange");
    printf("exchanged: a.txt=%s", get("a.txt"));

    /* directories */
    CHECK(mkdir("d", 0750) == 0, "mkdir");
    CHECK(mkdir("d/sub", 0700) == 0, "mkdir sub");
    put("d/f1", "1");
    put("d/f2", "22");
    CHECK(symlink("f1", "d/l1") == 0, "symlink in d");
    list("d");
    show_stat("d");
    show_stat("d/sub");
    CHECK(rename("d/sub", "d/sub2") == 0, "rename dir");
    CHECK(rmdir("d/sub2") == 0, "rmdir");
    list("d");

    /* pipes between descriptors */
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    CHECK(write(p[1], "through the pipe", 16) == 16, "pipe write");
    n = read(p[0], buf, sizeof buf);
    printf("pipe: %.*s\n", (int)n, buf);
    int d2 = dup2(p[1], 10);
    CHECK(d2 == 10, "dup2");
    write(10, "x", 1);
    close(p[1]);
    close(10);
    n = read(p[0], buf, sizeof buf);
    printf("pipe after dup: %zd %.*s\n", n, (int)n, buf);
    CHECK(read(p[0], buf, sizeof buf) == 0, "end of file once writers are gone");
    close(p[0]);
    CHECK(pipe(p) == 0, "pipe 2");
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE, "EPIPE");
    close(p[1]);

    /* file-backed mmap */
    put("m", "0123456789");
    fd = open("m", O_RDWR);
    char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(priv != MAP_FAILED, "mmap private");
    printf("private: %.10s tail %d\n", priv, priv[100]);
    priv[0] = 'P';
    printf("file after private write: %s\n", get("m"));
    char *shr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(shr != MAP_FAILED, "mmap shared");
    shr[1] = 'S';
    printf("file after shared write: %s\n", get("m"));
    pwrite(fd, "W", 1, 2);
    printf("mapping after pwrite: %.10s\n", shr);
    CHECK(msync(shr, 4096, MS_SYNC) == 0, "msync");
    munmap(shr, 4096);
    munmap(priv, 4096);
    close(fd);
    printf("file at the end: %s\n", get("m"));

    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
