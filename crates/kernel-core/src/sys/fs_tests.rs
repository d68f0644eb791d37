//! The file syscalls through `dispatch` on the fakes: success paths, the errno of each failure as
//! Linux gives it (checked against Linux 6.x with tests/guest/files/errnos.c), pipes and their waits,
//! getdents64 records, /proc and /dev, and file mappings kept coherent with read and write.

use linux_raw_sys::general::*;

use crate::errno::Errno;
use crate::testing::{neg, Harness, SCRATCH};
use crate::vfs::{proc::SystemInfo, Fs};

const AT_FDCWD: u64 = -100i64 as u64;
const IN: u64 = SCRATCH;
const IN2: u64 = SCRATCH + 0x1000;
const OUT: u64 = SCRATCH + 0x4000;
const UNMAPPED: u64 = 0x2000_0000;

/// A process over a root with /etc/motd, /dev, /proc, /sys and /tmp.
fn t() -> Harness {
    let mut fs = Fs::new();
    fs.insert(b"/etc/motd", 0o100644, b"hello, nutshell\n")
        .expect("insert");
    fs.insert(b"/bin/test", 0o100755, b"\x7fELF")
        .expect("insert");
    fs.mount_standard(SystemInfo::default()).expect("mounts");
    Harness::with_fs(fs)
}

fn cstr(t: &mut Harness, addr: u64, s: &str) -> u64 {
    t.poke(addr, s.as_bytes());
    t.poke(addr + s.len() as u64, &[0]);
    addr
}

fn open(t: &mut Harness, path: &str, flags: u32, mode: u32) -> i64 {
    let p = cstr(t, IN, path);
    t.call(
        __NR_openat,
        &[AT_FDCWD, p, u64::from(flags), u64::from(mode)],
    )
}

/// A syscall taking one path.
fn p1(t: &mut Harness, nr: u32, path: &str, rest: &[u64]) -> i64 {
    let p = cstr(t, IN, path);
    let mut args = vec![p];
    args.extend_from_slice(rest);
    t.call(nr, &args)
}

/// A syscall taking two paths.
fn p2(t: &mut Harness, nr: u32, a: &str, b: &str) -> i64 {
    let pa = cstr(t, IN, a);
    let pb = cstr(t, IN2, b);
    t.call(nr, &[pa, pb])
}

fn write_str(t: &mut Harness, fd: i64, s: &str) -> i64 {
    t.poke(IN2, s.as_bytes());
    t.call(__NR_write, &[fd as u64, IN2, s.len() as u64])
}

fn read_all(t: &mut Harness, fd: i64) -> Vec<u8> {
    let n = t.call(__NR_read, &[fd as u64, OUT, 0x3000]);
    assert!(n >= 0, "read: {n}");
    t.peek(OUT, n as usize)
}

fn content(t: &mut Harness, path: &str) -> Vec<u8> {
    let fd = open(t, path, O_RDONLY, 0);
    assert!(fd >= 0, "open {path}: {fd}");
    let d = read_all(t, fd);
    t.call(__NR_close, &[fd as u64]);
    d
}

/// struct stat of a path: (mode, nlink, size).
fn stat(t: &mut Harness, path: &str) -> Result<(u32, u64, u64), i64> {
    let p = cstr(t, IN, path);
    let r = t.call(
        __NR_newfstatat,
        &[AT_FDCWD, p, OUT, u64::from(AT_SYMLINK_NOFOLLOW)],
    );
    if r < 0 {
        return Err(r);
    }
    Ok((
        t.peek_u32(OUT + 24),
        t.peek_u64(OUT + 16),
        t.peek_u64(OUT + 48),
    ))
}

#[test]
fn create_write_read_seek_append_truncate() {
    let mut t = t();
    t.call(__NR_umask, &[0o027]);
    let fd = open(&mut t, "/tmp/f", O_RDWR | O_CREAT | O_EXCL, 0o666);
    assert_eq!(fd, 3);
    assert_eq!(
        stat(&mut t, "/tmp/f"),
        Ok((0o100640, 1, 0)),
        "umask applies"
    );
    assert_eq!(write_str(&mut t, fd, "hello world"), 11);
    assert_eq!(t.call(__NR_lseek, &[fd as u64, 6, u64::from(SEEK_SET)]), 6);
    assert_eq!(read_all(&mut t, fd), b"world");
    assert_eq!(t.call(__NR_lseek, &[fd as u64, 4, u64::from(SEEK_END)]), 15);
    assert_eq!(write_str(&mut t, fd, "!"), 1);
    assert_eq!(content(&mut t, "/tmp/f"), b"hello world\0\0\0\0!");
    assert_eq!(t.call(__NR_ftruncate, &[fd as u64, 5]), 0);
    assert_eq!(content(&mut t, "/tmp/f"), b"hello");
    assert_eq!(t.call(__NR_lseek, &[fd as u64, 0, u64::from(SEEK_DATA)]), 0);
    assert_eq!(t.call(__NR_lseek, &[fd as u64, 0, u64::from(SEEK_HOLE)]), 5);
    assert_eq!(
        t.call(__NR_lseek, &[fd as u64, 5, u64::from(SEEK_DATA)]),
        neg(Errno::ENXIO)
    );
    t.call(__NR_close, &[fd as u64]);
    // O_APPEND writes at the end whatever the position; O_TRUNC empties.
    let fd = open(&mut t, "/tmp/f", O_WRONLY | O_APPEND, 0);
    assert_eq!(write_str(&mut t, fd, " more"), 5);
    t.poke(IN2, b"P");
    assert_eq!(t.call(__NR_pwrite64, &[fd as u64, IN2, 1, 0]), 1);
    assert_eq!(content(&mut t, "/tmp/f"), b"hello moreP");
    let fd2 = open(&mut t, "/tmp/f", O_WRONLY | O_TRUNC, 0);
    assert!(fd2 > fd);
    assert_eq!(stat(&mut t, "/tmp/f"), Ok((0o100640, 1, 0)));
    // creat and a write through readv/writev and preadv/pwritev.
    let fd = p1(&mut t, __NR_creat, "/tmp/g", &[0o600]);
    assert!(fd > 0);
    t.poke(IN2, b"abcdef");
    let iov: Vec<u8> = [IN2, 2, IN2 + 2, 4]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    t.poke(IN2 + 0x100, &iov);
    assert_eq!(t.call(__NR_pwritev, &[fd as u64, IN2 + 0x100, 2, 10, 0]), 6);
    assert_eq!(stat(&mut t, "/tmp/g").map(|s| s.2), Ok(16));
    assert_eq!(
        t.call(__NR_read, &[fd as u64, OUT, 1]),
        neg(Errno::EBADF),
        "write-only"
    );
}

#[test]
fn open_errors() {
    let mut t = t();
    p1(&mut t, __NR_mkdir, "/tmp/d", &[0o755]);
    p2(&mut t, __NR_symlink, "loop2", "/tmp/loop1");
    p2(&mut t, __NR_symlink, "loop1", "/tmp/loop2");
    p2(&mut t, __NR_symlink, "nowhere", "/tmp/dangling");
    let cases: &[(&str, u32, Errno)] = &[
        ("/tmp/missing", O_RDONLY, Errno::ENOENT),
        ("/etc/motd/x", O_RDONLY, Errno::ENOTDIR),
        ("/etc/motd", O_RDONLY | O_DIRECTORY, Errno::ENOTDIR),
        ("/etc/motd/", O_RDONLY, Errno::ENOTDIR),
        ("/tmp/d", O_WRONLY, Errno::EISDIR),
        ("/tmp/d", O_RDWR | O_CREAT, Errno::EISDIR),
        ("/tmp/d", O_RDONLY | O_TRUNC, Errno::EISDIR),
        ("/etc/motd", O_CREAT | O_EXCL | O_WRONLY, Errno::EEXIST),
        ("/tmp/loop1", O_RDONLY, Errno::ELOOP),
        ("/tmp/dangling", O_RDONLY, Errno::ENOENT),
        ("/tmp/dangling", O_RDONLY | O_NOFOLLOW, Errno::ELOOP),
        ("/tmp/dangling", O_WRONLY | O_CREAT | O_EXCL, Errno::EEXIST),
        ("/tmp/newdir/", O_WRONLY | O_CREAT, Errno::EISDIR),
        ("/tmp/.", O_WRONLY | O_CREAT, Errno::EISDIR),
        ("", O_RDONLY, Errno::ENOENT),
        ("/tmp", O_WRONLY | O_TMPFILE & !O_DIRECTORY, Errno::EINVAL),
        ("/tmp", O_RDONLY | O_TMPFILE, Errno::EINVAL),
    ];
    for (path, flags, e) in cases {
        assert_eq!(
            open(&mut t, path, *flags, 0o644),
            neg(*e),
            "open({path:?}, {flags:#o})"
        );
    }
    assert_eq!(
        open(&mut t, &"n".repeat(300), O_RDONLY, 0),
        neg(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        open(&mut t, &"/a".repeat(2100), O_RDONLY, 0),
        neg(Errno::ENAMETOOLONG)
    );
    assert_eq!(t.call(__NR_open, &[UNMAPPED, 0]), neg(Errno::EFAULT));
    // A dangling link with O_CREAT creates its target.
    assert!(open(&mut t, "/tmp/dangling", O_WRONLY | O_CREAT, 0o600) > 0);
    assert_eq!(stat(&mut t, "/tmp/nowhere"), Ok((0o100600, 1, 0)));
    // O_PATH opens a symbolic link itself, and gives no I/O.
    let fd = open(&mut t, "/tmp/loop1", O_PATH | O_NOFOLLOW, 0);
    assert!(fd > 0);
    assert_eq!(t.call(__NR_read, &[fd as u64, OUT, 1]), neg(Errno::EBADF));
    assert_eq!(t.call(__NR_fstat, &[fd as u64, OUT]), 0);
    assert_eq!(t.peek_u32(OUT + 24), 0o120777);
    // O_TMPFILE: a file without a name.
    let fd = open(&mut t, "/tmp", O_RDWR | O_TMPFILE, 0o600);
    assert!(fd > 0, "{fd}");
    assert_eq!(write_str(&mut t, fd, "anon"), 4);
    assert_eq!(t.call(__NR_fstat, &[fd as u64, OUT]), 0);
    assert_eq!(t.peek_u64(OUT + 16), 0, "nlink 0");
    // dirfd-relative, and dirfd errors.
    let dfd = open(&mut t, "/etc", O_RDONLY | O_DIRECTORY, 0);
    let p = cstr(&mut t, IN, "motd");
    assert!(t.call(__NR_openat, &[dfd as u64, p, 0]) > 0);
    assert_eq!(t.call(__NR_openat, &[99, p, 0]), neg(Errno::EBADF));
    assert_eq!(t.call(__NR_openat, &[1, p, 0]), neg(Errno::ENOTDIR));
    let abs = cstr(&mut t, IN, "/etc/motd");
    assert!(
        t.call(__NR_openat, &[99, abs, 0]) > 0,
        "dirfd is ignored for absolute paths"
    );
}

#[test]
fn openat2_checks_its_struct() {
    let mut t = t();
    let p = cstr(&mut t, IN, "/etc/motd");
    let how = |flags: u64, mode: u64, resolve: u64| -> Vec<u8> {
        [flags, mode, resolve]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    };
    t.poke(IN2, &how(0, 0, 0));
    assert!(t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 24]) > 0);
    assert_eq!(
        t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 16]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 8192]),
        neg(Errno::E2BIG)
    );
    t.poke(IN2, &how(0, 0o644, 0));
    assert_eq!(
        t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 24]),
        neg(Errno::EINVAL),
        "mode without O_CREAT"
    );
    t.poke(IN2, &how(1 << 40, 0, 0));
    assert_eq!(
        t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 24]),
        neg(Errno::EINVAL)
    );
    t.poke(IN2, &how(0, 0, 1 << 20));
    assert_eq!(
        t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 24]),
        neg(Errno::EINVAL)
    );
    t.poke(IN2, &how(0, 0, u64::from(RESOLVE_BENEATH)));
    assert_eq!(
        t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 24]),
        neg(Errno::EXDEV)
    );
    let mut long = how(0, 0, 0);
    long.extend_from_slice(&[0, 0, 0, 1]);
    t.poke(IN2, &long);
    assert_eq!(
        t.call(__NR_openat2, &[AT_FDCWD, p, IN2, 28]),
        neg(Errno::E2BIG)
    );
}

#[test]
fn names_mkdir_rmdir_unlink_rename_link_symlink() {
    let mut t = t();
    assert_eq!(p1(&mut t, __NR_mkdir, "/tmp/d", &[0o750]), 0);
    assert_eq!(stat(&mut t, "/tmp/d"), Ok((0o040750, 2, 40)));
    assert_eq!(
        p1(&mut t, __NR_mkdir, "/tmp/d", &[0o750]),
        neg(Errno::EEXIST)
    );
    assert_eq!(
        p1(&mut t, __NR_mkdir, "/tmp/d/", &[0o750]),
        neg(Errno::EEXIST)
    );
    assert_eq!(
        p1(&mut t, __NR_mkdir, "/tmp/.", &[0o750]),
        neg(Errno::EEXIST)
    );
    assert_eq!(
        p1(&mut t, __NR_mkdir, "/etc/motd/x", &[0o750]),
        neg(Errno::ENOTDIR)
    );
    assert_eq!(
        p1(&mut t, __NR_mkdir, "/tmp/x/y", &[0o750]),
        neg(Errno::ENOENT)
    );
    assert_eq!(
        p1(&mut t, __NR_mkdir, "/tmp/d/sub/", &[0o700]),
        0,
        "a trailing slash is fine"
    );
    assert_eq!(stat(&mut t, "/tmp/d").map(|s| s.1), Ok(3));
    let fd = open(&mut t, "/tmp/d/f", O_CREAT | O_WRONLY, 0o644);
    assert!(fd > 0);
    assert_eq!(p1(&mut t, __NR_rmdir, "/tmp/d", &[]), neg(Errno::ENOTEMPTY));
    assert_eq!(p1(&mut t, __NR_rmdir, "/tmp/d/f", &[]), neg(Errno::ENOTDIR));
    assert_eq!(p1(&mut t, __NR_rmdir, "/tmp/d/.", &[]), neg(Errno::EINVAL));
    assert_eq!(
        p1(&mut t, __NR_rmdir, "/tmp/d/..", &[]),
        neg(Errno::ENOTEMPTY)
    );
    assert_eq!(p1(&mut t, __NR_rmdir, "/", &[]), neg(Errno::EBUSY));
    assert_eq!(
        p1(&mut t, __NR_rmdir, "/dev", &[]),
        neg(Errno::EBUSY),
        "a mount point"
    );
    assert_eq!(p1(&mut t, __NR_unlink, "/tmp/d", &[]), neg(Errno::EISDIR));
    assert_eq!(
        p1(&mut t, __NR_unlink, "/tmp/d/f/", &[]),
        neg(Errno::ENOTDIR)
    );
    assert_eq!(
        p1(&mut t, __NR_unlink, "/tmp/d/nope", &[]),
        neg(Errno::ENOENT)
    );
    // link, symlink, readlink
    assert_eq!(p2(&mut t, __NR_link, "/tmp/d/f", "/tmp/d/g"), 0);
    assert_eq!(stat(&mut t, "/tmp/d/f").map(|s| s.1), Ok(2));
    assert_eq!(p2(&mut t, __NR_link, "/tmp/d", "/tmp/e"), neg(Errno::EPERM));
    assert_eq!(
        p2(&mut t, __NR_link, "/tmp/d/f", "/tmp/d/g"),
        neg(Errno::EEXIST)
    );
    assert_eq!(
        p2(&mut t, __NR_link, "/tmp/d/f", "/dev/f"),
        neg(Errno::EXDEV)
    );
    assert_eq!(
        p2(&mut t, __NR_link, "/tmp/d/f", "/tmp/d/h/"),
        neg(Errno::ENOENT)
    );
    assert_eq!(p2(&mut t, __NR_symlink, "f", "/tmp/d/s"), 0);
    assert_eq!(stat(&mut t, "/tmp/d/s"), Ok((0o120777, 1, 1)));
    assert_eq!(
        p2(&mut t, __NR_symlink, "", "/tmp/d/s2"),
        neg(Errno::ENOENT)
    );
    assert_eq!(
        p2(&mut t, __NR_symlink, "x", "/tmp/d/f"),
        neg(Errno::EEXIST)
    );
    let p = cstr(&mut t, IN, "/tmp/d/s");
    assert_eq!(t.call(__NR_readlink, &[p, OUT, 100]), 1);
    assert_eq!(t.peek(OUT, 1), b"f");
    assert_eq!(t.call(__NR_readlink, &[p, OUT, 0]), neg(Errno::EINVAL));
    let p = cstr(&mut t, IN, "/tmp/d/f");
    assert_eq!(t.call(__NR_readlink, &[p, OUT, 10]), neg(Errno::EINVAL));
    // rename
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d/g", "/tmp/d/s"),
        0,
        "over a link"
    );
    assert_eq!(stat(&mut t, "/tmp/d/s").map(|s| s.0), Ok(0o100644));
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d/sub", "/tmp/d/f"),
        neg(Errno::ENOTDIR)
    );
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d/f", "/tmp/d/sub"),
        neg(Errno::EISDIR)
    );
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d", "/tmp/d/sub/x"),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d/sub", "/tmp"),
        neg(Errno::ENOTEMPTY)
    );
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d/f", "/tmp/d/x/"),
        neg(Errno::ENOTDIR)
    );
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d/f", "/dev/x"),
        neg(Errno::EXDEV)
    );
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/d/.", "/tmp/x"),
        neg(Errno::EBUSY)
    );
    assert_eq!(
        p2(&mut t, __NR_rename, "/tmp/nope", "/tmp/x"),
        neg(Errno::ENOENT)
    );
    assert_eq!(p2(&mut t, __NR_rename, "/tmp/d/sub", "/tmp/sub2"), 0);
    assert_eq!(stat(&mut t, "/tmp/d").map(|s| s.1), Ok(2));
    assert_eq!(stat(&mut t, "/tmp/sub2/.").map(|s| s.0), Ok(0o040700));
    let (pa, pb) = (cstr(&mut t, IN, "/tmp/d/f"), cstr(&mut t, IN2, "/tmp/d/s"));
    let r2 = |t: &mut Harness, flags: u32| {
        t.call(
            __NR_renameat2,
            &[AT_FDCWD, pa, AT_FDCWD, pb, u64::from(flags)],
        )
    };
    assert_eq!(r2(&mut t, RENAME_NOREPLACE), neg(Errno::EEXIST));
    assert_eq!(
        r2(&mut t, RENAME_NOREPLACE | RENAME_EXCHANGE),
        neg(Errno::EINVAL)
    );
    assert_eq!(r2(&mut t, 1 << 10), neg(Errno::EINVAL));
    assert_eq!(r2(&mut t, RENAME_EXCHANGE), 0);
    // unlinkat
    let p = cstr(&mut t, IN, "/tmp/sub2");
    assert_eq!(t.call(__NR_unlinkat, &[AT_FDCWD, p, 0]), neg(Errno::EISDIR));
    assert_eq!(t.call(__NR_unlinkat, &[AT_FDCWD, p, 1]), neg(Errno::EINVAL));
    assert_eq!(
        t.call(__NR_unlinkat, &[AT_FDCWD, p, u64::from(AT_REMOVEDIR)]),
        0
    );
    assert_eq!(stat(&mut t, "/tmp/sub2"), Err(neg(Errno::ENOENT)));
}

#[test]
fn getdents64_records() {
    let mut t = t();
    p1(&mut t, __NR_mkdir, "/tmp/d", &[0o755]);
    for n in ["a", "bb", "ccc"] {
        let fd = open(&mut t, &format!("/tmp/d/{n}"), O_CREAT | O_WRONLY, 0o644);
        t.call(__NR_close, &[fd as u64]);
    }
    p1(&mut t, __NR_mkdir, "/tmp/d/sub", &[0o755]);
    let fd = open(&mut t, "/tmp/d", O_RDONLY | O_DIRECTORY, 0) as u64;
    assert_eq!(
        t.call(__NR_getdents64, &[fd, OUT, 10]),
        neg(Errno::EINVAL),
        "too small"
    );
    let n = t.call(__NR_getdents64, &[fd, OUT, 48]);
    assert_eq!(n, 48, "two records of 24 bytes");
    let mut all = t.peek(OUT, n as usize);
    loop {
        let n = t.call(__NR_getdents64, &[fd, OUT, 4096]);
        assert!(n >= 0);
        if n == 0 {
            break;
        }
        all.extend(t.peek(OUT, n as usize));
    }
    let mut names = Vec::new();
    let mut off = 0;
    while off < all.len() {
        let reclen = u16::from_le_bytes([all[off + 16], all[off + 17]]) as usize;
        assert_eq!(reclen % 8, 0, "records are 8-byte aligned");
        let name: Vec<u8> = all[off + 19..]
            .iter()
            .take_while(|b| **b != 0)
            .copied()
            .collect();
        names.push((String::from_utf8(name).expect("utf-8"), all[off + 18]));
        off += reclen;
    }
    names.sort();
    let want: Vec<(String, u8)> = [
        (".", 4),
        ("..", 4),
        ("a", 8),
        ("bb", 8),
        ("ccc", 8),
        ("sub", 4),
    ]
    .iter()
    .map(|(n, t)| (String::from(*n), *t))
    .collect();
    assert_eq!(names, want);
    // Rewinding starts over.
    assert_eq!(t.call(__NR_lseek, &[fd, 0, u64::from(SEEK_SET)]), 0);
    assert!(t.call(__NR_getdents64, &[fd, OUT, 4096]) > 0);
    let file = open(&mut t, "/etc/motd", O_RDONLY, 0) as u64;
    assert_eq!(
        t.call(__NR_getdents64, &[file, OUT, 4096]),
        neg(Errno::ENOTDIR)
    );
    assert_eq!(t.call(__NR_read, &[fd, OUT, 1]), neg(Errno::EISDIR));
    assert_eq!(t.call(__NR_getdents64, &[99, OUT, 4096]), neg(Errno::EBADF));
}

#[test]
fn pipes_wait_block_and_break() {
    let mut t = t();
    assert_eq!(t.call(__NR_pipe2, &[OUT, 12345]), neg(Errno::EINVAL));
    assert_eq!(t.call(__NR_pipe, &[UNMAPPED]), neg(Errno::EFAULT));
    assert_eq!(
        t.p.fds.iter().filter(|f| f.is_some()).count(),
        3,
        "no descriptor leaked"
    );
    assert_eq!(t.call(__NR_pipe, &[OUT]), 0);
    let (r, w) = (u64::from(t.peek_u32(OUT)), u64::from(t.peek_u32(OUT + 4)));
    assert_eq!((r, w), (3, 4));
    assert_eq!(write_str(&mut t, w as i64, "ping"), 4);
    assert_eq!(
        t.call(
            __NR_ioctl,
            &[r, u64::from(linux_raw_sys::ioctl::FIONREAD), OUT]
        ),
        0
    );
    assert_eq!(t.peek_u32(OUT), 4);
    assert_eq!(t.call(__NR_read, &[r, OUT, 2]), 2);
    assert_eq!(t.call(__NR_read, &[r, OUT, 100]), 2);
    // Empty with a writer: the read waits (no deadline).
    assert_eq!(t.call(__NR_read, &[r, OUT, 100]), neg(Errno::RESTART));
    assert!(t.p.wait.is_some_and(|w| w.deadline.is_none()));
    t.p.wait = None;
    assert_eq!(
        t.call(__NR_fcntl, &[r, u64::from(F_SETFL), u64::from(O_NONBLOCK)]),
        0
    );
    assert_eq!(t.call(__NR_read, &[r, OUT, 100]), neg(Errno::EAGAIN));
    assert_eq!(
        t.call(__NR_fcntl, &[r, u64::from(F_GETFL)]),
        i64::from(O_RDONLY | O_NONBLOCK | O_LARGEFILE)
    );
    assert_eq!(t.call(__NR_fcntl, &[w, u64::from(F_GETPIPE_SZ)]), 65536);
    assert_eq!(t.call(__NR_lseek, &[r, 0, 0]), neg(Errno::ESPIPE));
    assert_eq!(t.call(__NR_pread64, &[r, OUT, 1, 0]), neg(Errno::ESPIPE));
    // Full: a blocking write waits until all is written, a small one until it fits whole.
    let big: Vec<u8> = (0..40000u32).map(|i| (i % 251) as u8).collect();
    t.poke(SCRATCH + 0x5000, &big);
    assert_eq!(t.call(__NR_write, &[w, SCRATCH + 0x5000, 40000]), 40000);
    t.call(__NR_fcntl, &[r, u64::from(F_SETFL), 0]);
    assert_eq!(
        t.call(__NR_write, &[w, SCRATCH + 0x5000, 30000]),
        neg(Errno::RESTART)
    );
    // Another thread reads (the waiting thread keeps its wait state meanwhile).
    let waiting = t.p.wait.take();
    assert_eq!(
        t.call(__NR_read, &[r, OUT, 0x3000]),
        0x3000,
        "the reader makes room"
    );
    t.p.wait = waiting;
    assert_eq!(
        t.call(__NR_write, &[w, SCRATCH + 0x5000, 30000]),
        30000,
        "the same call, run again, finishes"
    );
    t.call(__NR_fcntl, &[w, u64::from(F_SETFL), u64::from(O_NONBLOCK)]);
    assert_eq!(
        t.call(__NR_write, &[w, SCRATCH + 0x5000, 30000]),
        7824,
        "O_NONBLOCK: what fits"
    );
    assert_eq!(
        t.call(__NR_write, &[w, SCRATCH + 0x5000, 10]),
        neg(Errno::EAGAIN)
    );
    t.call(__NR_fcntl, &[w, u64::from(F_SETFL), 0]);
    assert_eq!(
        t.call(__NR_write, &[w, SCRATCH + 0x5000, 10]),
        neg(Errno::RESTART)
    );
    t.p.wait = None;
    // Writers gone: what is left, then end of file.
    assert_eq!(t.call(__NR_close, &[w]), 0);
    assert_eq!(t.call(__NR_read, &[r, OUT, 0x3000]), 0x3000);
    assert_eq!(t.peek(OUT, 0x3000), big[0x3000..0x6000], "bytes in order");
    let mut left = 65536 - 0x3000;
    while left > 0 {
        let n = t.call(__NR_read, &[r, OUT, 0x3000]);
        assert!(n > 0);
        left -= n;
    }
    assert_eq!(t.call(__NR_read, &[r, OUT, 100]), 0);
    // Readers gone: EPIPE (and SIGPIPE).
    assert_eq!(t.call(__NR_pipe, &[OUT]), 0);
    let (r, w) = (u64::from(t.peek_u32(OUT)), u64::from(t.peek_u32(OUT + 4)));
    t.call(__NR_close, &[r]);
    assert_eq!(write_str(&mut t, w as i64, "x"), neg(Errno::EPIPE));
    assert_eq!(
        write_str(&mut t, w as i64, ""),
        0,
        "an empty write does not look at readers"
    );
}

#[test]
fn dup_fcntl_close_range() {
    let mut t = t();
    let fd = open(&mut t, "/etc/motd", O_RDONLY | O_CLOEXEC, 0) as u64;
    assert_eq!(t.call(__NR_fcntl, &[fd, u64::from(F_GETFD)]), 1);
    let d = t.call(__NR_dup, &[fd]) as u64;
    assert_eq!(
        t.call(__NR_fcntl, &[d, u64::from(F_GETFD)]),
        0,
        "dup clears FD_CLOEXEC"
    );
    assert_eq!(t.call(__NR_read, &[fd, OUT, 5]), 5);
    assert_eq!(
        t.call(__NR_lseek, &[d, 0, u64::from(SEEK_CUR)]),
        5,
        "one shared position"
    );
    assert_eq!(t.call(__NR_dup3, &[fd, 10, u64::from(O_CLOEXEC)]), 10);
    assert_eq!(t.call(__NR_fcntl, &[10, u64::from(F_GETFD)]), 1);
    assert_eq!(t.call(__NR_dup3, &[fd, fd, 0]), neg(Errno::EINVAL));
    assert_eq!(t.call(__NR_dup2, &[fd, fd]), fd as i64);
    assert_eq!(t.call(__NR_dup2, &[99, 5]), neg(Errno::EBADF));
    assert_eq!(t.call(__NR_fcntl, &[fd, u64::from(F_DUPFD), 20]), 20);
    assert_eq!(t.call(__NR_fcntl, &[fd, 12345]), neg(Errno::EINVAL));
    // Record locks: accepted, and F_GETLK says unlocked.
    let mut fl = [0u8; 32];
    fl[0..2].copy_from_slice(&(F_RDLCK as u16).to_le_bytes());
    t.poke(IN2, &fl);
    assert_eq!(t.call(__NR_fcntl, &[fd, u64::from(F_SETLK), IN2]), 0);
    assert_eq!(t.call(__NR_fcntl, &[fd, u64::from(F_GETLK), IN2]), 0);
    assert_eq!(
        u16::from_le_bytes(t.peek(IN2, 2).try_into().expect("2")),
        F_UNLCK as u16
    );
    fl[0..2].copy_from_slice(&(F_WRLCK as u16).to_le_bytes());
    t.poke(IN2, &fl);
    assert_eq!(
        t.call(__NR_fcntl, &[fd, u64::from(F_SETLK), IN2]),
        neg(Errno::EBADF),
        "read-only"
    );
    // close_range
    assert_eq!(t.call(__NR_close_range, &[5, 4, 0]), neg(Errno::EINVAL));
    assert_eq!(t.call(__NR_close_range, &[10, 30, 4]), 0);
    assert_eq!(
        t.call(__NR_fcntl, &[20, u64::from(F_GETFD)]),
        1,
        "CLOSE_RANGE_CLOEXEC"
    );
    assert_eq!(t.call(__NR_close_range, &[10, u64::from(u32::MAX), 0]), 0);
    assert_eq!(
        t.call(__NR_fcntl, &[20, u64::from(F_GETFD)]),
        neg(Errno::EBADF)
    );
    assert_eq!(
        t.call(__NR_fcntl, &[fd, u64::from(F_GETFD)]),
        1,
        "below the range"
    );
}

#[test]
fn stat_statx_chmod_chown_utimes() {
    let mut t = t();
    let fd = open(&mut t, "/tmp/f", O_CREAT | O_WRONLY, 0o644) as u64;
    write_str(&mut t, fd as i64, "12345");
    let p = cstr(&mut t, IN, "/tmp/f");
    assert_eq!(
        t.call(
            __NR_statx,
            &[AT_FDCWD, p, 0, u64::from(STATX_BASIC_STATS), OUT]
        ),
        0
    );
    let mask = t.peek_u32(OUT);
    assert_eq!(mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
    assert_eq!(
        u16::from_le_bytes(t.peek(OUT + 28, 2).try_into().expect("2")),
        0o100644
    );
    assert_eq!(t.peek_u64(OUT + 40), 5, "stx_size");
    assert_eq!(t.peek_u32(OUT + 16), 1, "stx_nlink");
    assert_eq!(
        t.call(__NR_statx, &[AT_FDCWD, p, 0x6000, 0, OUT]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_statx, &[AT_FDCWD, p, 0, 0x8000_0000, OUT]),
        neg(Errno::EINVAL)
    );
    let empty = cstr(&mut t, IN2, "");
    assert_eq!(
        t.call(__NR_statx, &[fd, empty, u64::from(AT_EMPTY_PATH), 0, OUT]),
        0
    );
    assert_eq!(t.peek_u64(OUT + 40), 5);
    // chmod, fchmod, chown
    assert_eq!(p1(&mut t, __NR_chmod, "/tmp/f", &[0o4751]), 0);
    assert_eq!(stat(&mut t, "/tmp/f").map(|s| s.0), Ok(0o104751));
    assert_eq!(t.call(__NR_fchmod, &[fd, 0o600]), 0);
    assert_eq!(stat(&mut t, "/tmp/f").map(|s| s.0), Ok(0o100600));
    assert_eq!(
        p1(&mut t, __NR_chmod, "/tmp/nope", &[0o600]),
        neg(Errno::ENOENT)
    );
    assert_eq!(
        p1(&mut t, __NR_chown, "/tmp/f", &[1000, u64::from(u32::MAX)]),
        0
    );
    let p = cstr(&mut t, IN, "/tmp/f");
    t.call(__NR_stat, &[p, OUT]);
    assert_eq!((t.peek_u32(OUT + 28), t.peek_u32(OUT + 32)), (1000, 0));
    // utimensat: explicit, UTIME_NOW, UTIME_OMIT, bad nanoseconds.
    let times: Vec<u8> = [1_000_000_000u64, 5, 2_000_000_000, u64::from(UTIME_OMIT)]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    t.poke(IN2, &times);
    assert_eq!(t.call(__NR_utimensat, &[AT_FDCWD, p, IN2, 0]), 0);
    t.call(__NR_stat, &[p, OUT]);
    assert_eq!(
        (t.peek_u64(OUT + 72), t.peek_u64(OUT + 80)),
        (1_000_000_000, 5),
        "atime"
    );
    assert_ne!(t.peek_u64(OUT + 88), 2_000_000_000, "mtime left alone");
    let bad: Vec<u8> = [0u64, 2_000_000_000, 0, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    t.poke(IN2, &bad);
    assert_eq!(
        t.call(__NR_utimensat, &[AT_FDCWD, p, IN2, 0]),
        neg(Errno::EINVAL)
    );
    assert_eq!(t.call(__NR_utimensat, &[fd, 0, 0, 0]), 0, "futimens");
    t.call(__NR_fstat, &[fd, OUT]);
    let now = t.plat.epoch_ns + t.plat.mono_ns;
    assert_eq!(t.peek_u64(OUT + 88), now / 1_000_000_000, "now");
    assert_eq!(
        t.call(__NR_utimensat, &[AT_FDCWD, 0, 0, 0]),
        neg(Errno::EFAULT)
    );
    // access
    assert_eq!(
        p1(&mut t, __NR_access, "/tmp/f", &[u64::from(X_OK)]),
        neg(Errno::EACCES)
    );
    assert_eq!(
        p1(&mut t, __NR_access, "/tmp/f", &[u64::from(R_OK | W_OK)]),
        0
    );
    assert_eq!(p1(&mut t, __NR_access, "/bin/test", &[u64::from(X_OK)]), 0);
    assert_eq!(p1(&mut t, __NR_access, "/tmp", &[u64::from(X_OK)]), 0);
    assert_eq!(p1(&mut t, __NR_access, "/tmp", &[8]), neg(Errno::EINVAL));
    // truncate by path
    assert_eq!(p1(&mut t, __NR_truncate, "/tmp/f", &[2]), 0);
    assert_eq!(stat(&mut t, "/tmp/f").map(|s| s.2), Ok(2));
    assert_eq!(p1(&mut t, __NR_truncate, "/tmp", &[2]), neg(Errno::EISDIR));
    assert_eq!(
        p1(&mut t, __NR_truncate, "/tmp/f", &[-1i64 as u64]),
        neg(Errno::EINVAL)
    );
    // statfs of tmpfs and proc
    assert_eq!(p1(&mut t, __NR_statfs, "/tmp", &[OUT]), 0);
    assert_eq!(t.peek_u64(OUT), u64::from(TMPFS_MAGIC));
    assert_eq!(t.peek_u64(OUT + 8), 4096);
    assert_eq!(p1(&mut t, __NR_statfs, "/proc/self", &[OUT]), 0);
    assert_eq!(t.peek_u64(OUT), u64::from(PROC_SUPER_MAGIC));
}

#[test]
fn cwd_chdir_fchdir_getcwd() {
    let mut t = t();
    assert_eq!(t.call(__NR_getcwd, &[OUT, 100]), 2);
    assert_eq!(t.peek(OUT, 2), b"/\0");
    p1(&mut t, __NR_mkdir, "/tmp/a", &[0o755]);
    p1(&mut t, __NR_mkdir, "/tmp/a/b", &[0o755]);
    assert_eq!(p1(&mut t, __NR_chdir, "/tmp/a/b", &[]), 0);
    assert_eq!(t.call(__NR_getcwd, &[OUT, 100]), 9);
    assert_eq!(t.peek(OUT, 9), b"/tmp/a/b\0");
    assert_eq!(t.call(__NR_getcwd, &[OUT, 5]), neg(Errno::ERANGE));
    assert_eq!(
        stat(&mut t, "../b/./.").map(|s| s.0),
        Ok(0o040755),
        "relative paths"
    );
    assert_eq!(
        p1(&mut t, __NR_chdir, "/etc/motd", &[]),
        neg(Errno::ENOTDIR)
    );
    let fd = open(&mut t, "/proc", O_RDONLY | O_DIRECTORY, 0) as u64;
    assert_eq!(t.call(__NR_fchdir, &[fd]), 0);
    assert_eq!(t.call(__NR_getcwd, &[OUT, 100]), 6);
    assert_eq!(content(&mut t, "self/comm"), b"test\n");
    let p = cstr(&mut t, IN, "/proc/self/cwd");
    assert_eq!(t.call(__NR_readlink, &[p, OUT, 100]), 5);
    assert_eq!(t.peek(OUT, 5), b"/proc");
    let file = open(&mut t, "/etc/motd", O_RDONLY, 0) as u64;
    assert_eq!(t.call(__NR_fchdir, &[file]), neg(Errno::ENOTDIR));
    // Renaming a parent of the cwd: getcwd follows.
    p1(&mut t, __NR_chdir, "/tmp/a/b", &[]);
    assert_eq!(p2(&mut t, __NR_rename, "/tmp/a", "/tmp/z"), 0);
    assert_eq!(t.call(__NR_getcwd, &[OUT, 100]), 9);
    assert_eq!(t.peek(OUT, 9), b"/tmp/z/b\0");
}

#[test]
fn proc_and_dev_files() {
    let mut t = t();
    let p = cstr(&mut t, IN, "/proc/self/exe");
    assert_eq!(t.call(__NR_readlink, &[p, OUT, 100]), 9);
    assert_eq!(t.peek(OUT, 9), b"/bin/test");
    assert_eq!(stat(&mut t, "/proc/self").map(|s| s.0), Ok(0o120777));
    assert_eq!(
        content(&mut t, "/proc/self/exe"),
        b"\x7fELF",
        "the exe link leads to the file"
    );
    let maps = String::from_utf8(content(&mut t, "/proc/self/maps")).expect("utf-8");
    assert!(maps.lines().any(|l| l.ends_with("[stack]")), "{maps}");
    assert!(
        maps.lines().all(|l| l.split_whitespace().count() >= 5),
        "{maps}"
    );
    let mounts = String::from_utf8(content(&mut t, "/proc/mounts")).expect("utf-8");
    assert!(mounts.contains("proc /proc proc rw"), "{mounts}");
    let mem = String::from_utf8(content(&mut t, "/proc/meminfo")).expect("utf-8");
    assert!(
        mem.starts_with("MemTotal:         262144 kB\nMemFree:          204800 kB\n"),
        "{mem}"
    );
    let up = String::from_utf8(content(&mut t, "/proc/uptime")).expect("utf-8");
    assert_eq!(up, "5.00 0.00\n");
    assert_eq!(
        content(&mut t, "/proc/sys/kernel/osrelease"),
        b"6.1.0-nutshell\n"
    );
    assert_eq!(content(&mut t, "/proc/sys/kernel/ostype"), b"Linux\n");
    assert_eq!(content(&mut t, "/proc/thread-self/comm"), b"test\n");
    assert_eq!(content(&mut t, "/proc/self/task/1/comm"), b"test\n");
    assert_eq!(stat(&mut t, "/proc/self/task/2"), Err(neg(Errno::ENOENT)));
    let status = String::from_utf8(content(&mut t, "/proc/self/status")).expect("utf-8");
    assert!(
        status.starts_with("Name:\ttest\nUmask:\t0022\nState:\tR (running)\n"),
        "{status}"
    );
    // fd links
    assert_eq!(t.call(__NR_pipe, &[OUT]), 0);
    let r = t.peek_u32(OUT);
    let p = cstr(&mut t, IN, &format!("/proc/self/fd/{r}"));
    let n = t.call(__NR_readlink, &[p, OUT, 100]);
    assert!(n > 0);
    assert!(t.peek(OUT, n as usize).starts_with(b"pipe:["));
    let fd = open(&mut t, "/etc/motd", O_RDONLY, 0);
    let p = cstr(&mut t, IN, &format!("/proc/self/fd/{fd}"));
    assert_eq!(t.call(__NR_readlink, &[p, OUT, 100]), 9);
    assert_eq!(t.peek(OUT, 9), b"/etc/motd");
    assert_eq!(
        content(&mut t, &format!("/dev/fd/{fd}")),
        b"hello, nutshell\n"
    );
    // /dev
    let null = open(&mut t, "/dev/null", O_RDWR, 0);
    assert_eq!(write_str(&mut t, null, "gone"), 4);
    assert_eq!(t.call(__NR_read, &[null as u64, OUT, 10]), 0);
    let zero = open(&mut t, "/dev/zero", O_RDONLY, 0);
    t.poke(OUT, &[1; 8]);
    assert_eq!(t.call(__NR_read, &[zero as u64, OUT, 8]), 8);
    assert_eq!(t.peek(OUT, 8), [0; 8]);
    let full = open(&mut t, "/dev/full", O_WRONLY, 0);
    assert_eq!(write_str(&mut t, full, "x"), neg(Errno::ENOSPC));
    let rnd = open(&mut t, "/dev/urandom", O_RDONLY, 0);
    assert_eq!(t.call(__NR_read, &[rnd as u64, OUT, 16]), 16);
    let a = t.peek(OUT, 16);
    t.call(__NR_read, &[rnd as u64, OUT, 16]);
    assert_ne!(a, t.peek(OUT, 16), "random bytes vary");
    assert_eq!(t.call(__NR_fstat, &[null as u64, OUT]), 0);
    assert_eq!(t.peek_u32(OUT + 24), 0o020666);
    assert_eq!(t.peek_u64(OUT + 40), 0x103, "st_rdev 1:3");
    let out = open(&mut t, "/dev/stdout", O_WRONLY, 0);
    assert_eq!(write_str(&mut t, out, "via /dev/stdout\n"), 16);
    assert_eq!(t.plat.stdout, b"via /dev/stdout\n");
    let tty = open(&mut t, "/dev/tty", O_RDWR, 0);
    assert_eq!(write_str(&mut t, tty, "tty\n"), 4);
    assert_eq!(t.plat.stdout, b"via /dev/stdout\ntty\n");
}

#[test]
fn sendfile_and_copy_file_range() {
    let mut t = t();
    let src = open(&mut t, "/etc/motd", O_RDONLY, 0) as u64;
    let dst = open(&mut t, "/tmp/copy", O_CREAT | O_RDWR, 0o644) as u64;
    t.poke(IN2, &7u64.to_le_bytes());
    assert_eq!(t.call(__NR_sendfile, &[dst, src, IN2, 100]), 9);
    assert_eq!(t.peek_u64(IN2), 16, "the offset moved, not the position");
    assert_eq!(t.call(__NR_lseek, &[src, 0, u64::from(SEEK_CUR)]), 0);
    assert_eq!(t.call(__NR_sendfile, &[1, src, 0, 5]), 5);
    assert_eq!(t.plat.stdout, b"hello");
    assert_eq!(content(&mut t, "/tmp/copy"), b"nutshell\n");
    assert_eq!(t.call(__NR_copy_file_range, &[src, 0, dst, 0, 100, 0]), 11);
    assert_eq!(content(&mut t, "/tmp/copy"), b"nutshell\n, nutshell\n");
    assert_eq!(
        t.call(__NR_copy_file_range, &[src, 0, dst, 0, 1, 1]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_copy_file_range, &[0, 0, dst, 0, 1, 0]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_sendfile, &[src, dst, 0, 1]),
        neg(Errno::EBADF),
        "read-only output"
    );
}

#[test]
fn file_mappings_private_and_shared() {
    let mut t = t();
    let fd = open(&mut t, "/tmp/m", O_CREAT | O_RDWR, 0o644) as u64;
    write_str(&mut t, fd as i64, "0123456789");
    let map = |t: &mut Harness, prot: u32, flags: u32, fd: u64| {
        t.call(
            __NR_mmap,
            &[0, 8192, u64::from(prot), u64::from(flags), fd, 0],
        )
    };
    let rw = PROT_READ | PROT_WRITE;
    let private = map(&mut t, rw, MAP_PRIVATE, fd) as u64;
    assert_eq!(
        t.peek(private, 11),
        b"0123456789\0",
        "file content, zero past the end"
    );
    t.poke(private, b"P");
    assert_eq!(
        content(&mut t, "/tmp/m"),
        b"0123456789",
        "private writes stay private"
    );
    let shared = map(&mut t, rw, MAP_SHARED, fd) as u64;
    t.poke(shared + 1, b"S");
    assert_eq!(
        content(&mut t, "/tmp/m"),
        b"0S23456789",
        "read sees the shared page"
    );
    assert_eq!(
        stat(&mut t, "/tmp/m").map(|s| s.2),
        Ok(10),
        "the size does not grow"
    );
    t.poke(IN2, b"W");
    assert_eq!(t.call(__NR_pwrite64, &[fd, IN2, 1, 2]), 1);
    assert_eq!(t.peek(shared, 4), b"0SW3", "the mapping sees the write");
    t.poke(shared + 3, b"M");
    assert_eq!(t.call(__NR_msync, &[shared, 8192, u64::from(MS_SYNC)]), 0);
    assert_eq!(
        t.call(__NR_msync, &[shared + 1, 8192, 0]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_msync, &[shared, 4096, u64::from(MS_SYNC | MS_ASYNC)]),
        neg(Errno::EINVAL)
    );
    t.poke(shared + 4, b"U");
    assert_eq!(t.call(__NR_munmap, &[shared, 8192]), 0);
    assert_eq!(
        content(&mut t, "/tmp/m"),
        b"0SWMU56789",
        "munmap writes back"
    );
    // Access rules.
    let ro = open(&mut t, "/tmp/m", O_RDONLY, 0) as u64;
    assert_eq!(map(&mut t, rw, MAP_SHARED, ro), neg(Errno::EACCES));
    assert!(
        map(&mut t, rw, MAP_PRIVATE, ro) > 0,
        "private copies may be written"
    );
    let wo = open(&mut t, "/tmp/m", O_WRONLY, 0) as u64;
    assert_eq!(map(&mut t, PROT_READ, MAP_PRIVATE, wo), neg(Errno::EACCES));
    let dir = open(&mut t, "/tmp", O_RDONLY, 0) as u64;
    assert_eq!(map(&mut t, PROT_READ, MAP_PRIVATE, dir), neg(Errno::ENODEV));
    assert_eq!(map(&mut t, PROT_READ, MAP_PRIVATE, 99), neg(Errno::EBADF));
    assert_eq!(
        t.call(
            __NR_mmap,
            &[0, 4096, u64::from(PROT_READ), u64::from(MAP_PRIVATE), fd, 1]
        ),
        neg(Errno::EINVAL)
    );
    let zero = open(&mut t, "/dev/zero", O_RDWR, 0) as u64;
    let z = map(&mut t, rw, MAP_PRIVATE, zero) as u64;
    assert_eq!(t.peek(z, 4), [0; 4]);
    // The offset: a mapping from the second page.
    let big = open(&mut t, "/tmp/big", O_CREAT | O_RDWR, 0o644) as u64;
    t.poke(SCRATCH + 0x8000, &[b'x'; 4096]);
    t.poke(SCRATCH + 0x9000, b"second page");
    assert_eq!(
        t.call(__NR_write, &[big, SCRATCH + 0x8000, 4096 + 11]),
        4107
    );
    let m = t.call(
        __NR_mmap,
        &[
            0,
            4096,
            u64::from(PROT_READ),
            u64::from(MAP_SHARED),
            big,
            4096,
        ],
    );
    assert_eq!(t.peek(m as u64, 11), b"second page");
    let maps = String::from_utf8(content(&mut t, "/proc/self/maps")).expect("utf-8");
    let line = maps
        .lines()
        .find(|l| l.ends_with("/tmp/big"))
        .expect("the mapping in maps");
    assert!(line.contains(" r--s 00001000 "), "{line}");
}

#[test]
fn old_getdents_puts_d_type_last() {
    let mut t = t();
    p1(&mut t, __NR_mkdir, "/tmp/d", &[0o755]);
    let fd = open(&mut t, "/tmp/d/abc", O_CREAT | O_WRONLY, 0o644);
    t.call(__NR_close, &[fd as u64]);
    let d = open(&mut t, "/tmp/d", O_RDONLY | O_DIRECTORY, 0) as u64;
    let n = t.call(__NR_getdents, &[d, OUT, 4096]);
    assert_eq!(n, 24 * 3, ". .. abc: 24 bytes each");
    let rec = t.peek(OUT + 48, 24);
    assert_eq!(u16::from_le_bytes([rec[16], rec[17]]), 24);
    assert_eq!(&rec[18..22], b"abc\0");
    assert_eq!(rec[23], 8, "d_type in the last byte");
}

#[test]
fn the_terminal_is_dev_pts_0() {
    let mut t = t();
    t.plat.tty = [true, true, true];
    assert_eq!(t.call(__NR_fstat, &[0, OUT]), 0);
    let console = t.peek(OUT, 144);
    let p = cstr(&mut t, IN, "/proc/self/fd/0");
    assert_eq!(t.call(__NR_readlink, &[p, OUT, 100]), 10);
    assert_eq!(t.peek(OUT, 10), b"/dev/pts/0");
    let p = cstr(&mut t, IN, "/dev/pts/0");
    assert_eq!(t.call(__NR_stat, &[p, OUT]), 0);
    let pts = t.peek(OUT, 144);
    assert_eq!(
        pts[..64],
        console[..64],
        "dev, ino, mode and rdev as ttyname compares them"
    );
    let fd = open(&mut t, "/dev/pts/0", O_RDWR, 0);
    assert_eq!(write_str(&mut t, fd, "on the terminal\n"), 16);
    assert_eq!(t.plat.stdout, b"on the terminal\n");
    assert_eq!(open(&mut t, "/dev/pts/ptmx", O_RDWR, 0), neg(Errno::ENODEV));
}

#[test]
fn fifos_connect_their_openers() {
    let mut t = t();
    assert_eq!(
        p1(
            &mut t,
            __NR_mknod,
            "/tmp/fifo",
            &[u64::from(S_IFIFO | 0o644), 0]
        ),
        0
    );
    assert_eq!(stat(&mut t, "/tmp/fifo"), Ok((0o010644, 1, 0)));
    assert_eq!(
        open(&mut t, "/tmp/fifo", O_WRONLY | O_NONBLOCK, 0),
        neg(Errno::ENXIO),
        "no reader yet"
    );
    let r = open(&mut t, "/tmp/fifo", O_RDONLY | O_NONBLOCK, 0) as u64;
    assert!(r > 0);
    assert_eq!(
        t.call(__NR_read, &[r, OUT, 10]),
        neg(Errno::EAGAIN),
        "no writer has come yet: not end of file"
    );
    let w = open(&mut t, "/tmp/fifo", O_WRONLY, 0);
    assert!(w > 0);
    assert_eq!(write_str(&mut t, w, "named"), 5);
    assert_eq!(t.call(__NR_read, &[r, OUT, 10]), 5);
    assert_eq!(t.peek(OUT, 5), b"named");
    assert_eq!(t.call(__NR_fcntl, &[r, u64::from(F_GETPIPE_SZ)]), 65536);
    assert_eq!(t.call(__NR_fstat, &[r, OUT]), 0);
    assert_eq!(t.peek_u32(OUT + 24), 0o010644, "fstat shows the node");
    t.call(__NR_close, &[w as u64]);
    assert_eq!(t.call(__NR_read, &[r, OUT, 10]), 0, "the writer left");
    let p = cstr(&mut t, IN, "/tmp/fifo");
    assert_eq!(t.call(__NR_lseek, &[r, 0, 0]), neg(Errno::ESPIPE));
    assert_eq!(t.call(__NR_truncate, &[p, 0]), neg(Errno::EINVAL));
}
