/* The errno of typical failures of file syscalls, one line each ("name: ERRNO" or "name: ok");
 * the output must be identical natively and in nutshell. Runs in a scratch directory (argv[1],
 * default /tmp/errnos). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: ok\n", what);
}

#define T(expr) report(#expr, (long)(expr))

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "/tmp/errnos";
    mkdir(base, 0755);
    if (chdir(base) != 0)
        return 2;
    int fd = open("file", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "data", 4);
    close(fd);
    mkdir("dir", 0755);
    mkdir("full", 0755);
    close(open("full/x", O_CREAT | O_WRONLY, 0644));
    symlink("loop1", "loop2");
    symlink("loop2", "loop1");
    symlink("nowhere", "dangling");
    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = 0;
    static char longpath[5000];
    memset(longpath, 'a', 4999);
    char buf[16];

    T(open("missing", O_RDONLY));
    T(open("missing/x", O_RDONLY));
    T(open("file/x", O_RDONLY));
    T(open("file", O_RDONLY | O_DIRECTORY));
    T(open("dir", O_WRONLY));
    T(open("dir", O_RDWR | O_CREAT, 0644));
    T(open("file", O_CREAT | O_EXCL | O_WRONLY, 0644));
    T(open("loop1", O_RDONLY));
    T(open("dangling", O_RDONLY));
    T(open("dangling", O_RDONLY | O_NOFOLLOW));
    T(open("file", O_RDONLY | O_NOFOLLOW));
    T(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644));
    T(open(longname, O_RDONLY));
    T(open(longpath, O_RDONLY));
    T(open("newdir/", O_CREAT | O_WRONLY, 0644));
    T(open("file/", O_RDONLY));
    T(mkdir("dir", 0755));
    T(mkdir("file/sub", 0755));
    T(mkdir(".", 0755));
    T(rmdir("full"));
    T(rmdir("file"));
    T(rmdir("."));
    T(rmdir("missing"));
    T(unlink("dir"));
    T(unlink("missing"));
    T(unlink("file/"));
    T(rename("dir", "file"));
    T(rename("file", "dir"));
    T(rename("dir", "dir/inside"));
    T(rename("missing", "x"));
    T(rename("dir", "full"));
    T(link("dir", "dirlink"));
    T(link("file", "dir"));
    T(symlink("x", "file"));
    T(symlink("", "emptylink"));
    T(readlink("file", buf, sizeof buf));
    T(readlink("file", buf, 0));
    T(read(99, buf, 1));
    T(write(99, buf, 1));
    T(close(99));
    T(lseek(99, 0, SEEK_SET));
    T(dup2(99, 3));
    fd = open("file", O_RDONLY);
    T(write(fd, "x", 1));
    T(lseek(fd, -1, SEEK_SET));
    T(lseek(fd, 0, 42));
    T(ftruncate(fd, 0));
    T(ftruncate(fd, -1));
    T(fallocate(fd, 0, 0, 10));
    T(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
    T(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1) == MAP_FAILED ? -1 : 0);
    T(getdents64(fd, buf, sizeof buf));
    close(fd);
    fd = open("dir", O_RDONLY);
    T(read(fd, buf, 1));
    T(getdents64(fd, buf, 1));
    T(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0);
    close(fd);
    int p[2];
    pipe(p);
    T(lseek(p[0], 0, SEEK_CUR));
    T(pread(p[0], buf, 1, 0));
    T(fcntl(p[0], F_SETFL, O_NONBLOCK));
    T(read(p[0], buf, 1));
    T(truncate("dir", 0));
    T(truncate("missing", 0));
    T(truncate("file", -1));
    T(access("file", X_OK));
    T(access("file", 8));
    T(access("dir", X_OK));
    T(chdir("file"));
    T(fchdir(99));
    T(getcwd(buf, 2) ? 0 : -1);
    T(dup3(1, 1, 0));
    T(dup3(1, 5, 12345));
    T(pipe2(p, 12345));
    T(fcntl(1, 12345));
    T(utimensat(AT_FDCWD, "file", (struct timespec[2]){{0, 2000000000}, {0, 0}}, 0));
    T(utimensat(AT_FDCWD, "missing", (struct timespec[2]){{0, UTIME_OMIT}, {0, UTIME_OMIT}}, 0));
    T(openat(99, "file", O_RDONLY));
    T(openat(1, "file", O_RDONLY));
    T(openat(99, "/etc/passwd", O_RDONLY));
    T(unlinkat(AT_FDCWD, "dir", 0));
    T(unlinkat(AT_FDCWD, "dir", 12345));
    T(renameat2(AT_FDCWD, "file", AT_FDCWD, "new", RENAME_EXCHANGE));
    T(renameat2(AT_FDCWD, "file", AT_FDCWD, "new", RENAME_EXCHANGE | RENAME_NOREPLACE));
    T(linkat(AT_FDCWD, "file", AT_FDCWD, "l2", 12345));
    T(fstatat(AT_FDCWD, "", &(struct stat){0}, 0));
    T(fstatat(AT_FDCWD, "file", &(struct stat){0}, 12345));
    T(syscall(SYS_close_range, 5, 4, 0));
    T(copy_file_range(0, NULL, 1, NULL, 1, 1));
    return 0;
}
