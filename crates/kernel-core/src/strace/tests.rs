//! Expected lines are Linux strace 6.1's output for the same calls (without its column padding).

use super::*;
use crate::errno::Errno;
use alloc::format;
use alloc::vec::Vec;
use linux_raw_sys::general::*;
use linux_raw_sys::ioctl::*;

/// Program memory: three zeroed pages at `BASE`; everything else faults.
struct Mem {
    data: Vec<u8>,
    next: usize,
}

const BASE: u64 = 0x10000;
const SIZE: usize = 3 * 4096;
/// An address that is not mapped.
const BAD: u64 = 0x8;

impl UserMemory for Mem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let off = addr.checked_sub(BASE).ok_or(Errno::EFAULT)? as usize;
        let src = self.data.get(off..off + buf.len()).ok_or(Errno::EFAULT)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, _: u64, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EFAULT)
    }
}

impl Mem {
    fn new() -> Mem {
        Mem {
            data: alloc::vec![0; SIZE],
            next: 0,
        }
    }

    /// Place bytes (8-aligned) and return their address.
    fn put(&mut self, b: &[u8]) -> u64 {
        let off = self.next;
        self.data[off..off + b.len()].copy_from_slice(b);
        self.next = (off + b.len() + 8) & !7;
        BASE + off as u64
    }

    /// A NUL-terminated string.
    fn s(&mut self, s: &str) -> u64 {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.put(&b)
    }

    fn u64s(&mut self, v: &[u64]) -> u64 {
        self.put(&v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>())
    }

    fn u32s(&mut self, v: &[u32]) -> u64 {
        self.put(&v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>())
    }

    /// Place bytes so that they end exactly at the end of the mapped memory.
    fn at_end(&mut self, b: &[u8]) -> u64 {
        let off = SIZE - b.len();
        self.data[off..].copy_from_slice(b);
        BASE + off as u64
    }
}

fn line(m: &Mem, nr: u32, args: &[u64], ret: i64) -> String {
    let mut a = [0; 6];
    a[..args.len()].copy_from_slice(args);
    let mut out = String::new();
    format_syscall(&mut out, u64::from(nr), a, ret, m);
    out
}

#[track_caller]
fn t(m: &Mem, nr: u32, args: &[u64], ret: i64, want: &str) {
    assert_eq!(line(m, nr, args, ret), want);
}

const fn err(e: u32) -> i64 {
    -(e as i64)
}

use linux_raw_sys::errno::{
    EBADF, EEXIST, EFAULT, EINTR, EINVAL, ENOENT, ENOSYS, ENOTTY, ERANGE, ESRCH,
};

const NEG1: u64 = u64::MAX;

#[test]
fn names_and_numbers() {
    assert_eq!(syscall_name(0), Some("read"));
    assert_eq!(syscall_name(231), Some("exit_group"));
    assert_eq!(syscall_name(156), Some("_sysctl"));
    assert_eq!(syscall_name(462), Some("mseal"));
    assert_eq!(syscall_name(400), None);
    assert_eq!(syscall_name(1 << 40), None);
    assert_eq!(syscall_number("openat"), Some(257));
    assert_eq!(syscall_number("clone3"), Some(435));
    assert_eq!(syscall_number("nope"), None);
    let known: Vec<u64> = (0..1000).filter(|&n| syscall_name(n).is_some()).collect();
    assert_eq!(known.len(), 382);
    for n in known {
        assert_eq!(syscall_number(syscall_name(n).unwrap_or_default()), Some(n));
    }
    assert_eq!(table::syscall_argc(u64::from(__NR_mmap)), 6);
    assert_eq!(table::syscall_argc(u64::from(__NR_getpid)), 0);
    assert_eq!(table::syscall_argc(9999), 6);
}

#[test]
fn errnos() {
    assert_eq!(errno_name(ENOENT), Some(("ENOENT", "No such file or directory")));
    assert_eq!(errno_name(11), Some(("EAGAIN", "Resource temporarily unavailable")));
    assert_eq!(errno_name(95), Some(("EOPNOTSUPP", "Operation not supported")));
    assert_eq!(errno_name(133), Some(("EHWPOISON", "Memory page has hardware error")));
    assert_eq!(errno_name(0), None);
    assert_eq!(errno_name(41), None);
    let m = Mem::new();
    t(&m, __NR_close, &[3], -600, "close(3) = -1 600 (Unknown error 600)");
    t(&m, __NR_close, &[3], -512, "close(3) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
    t(&m, __NR_close, &[3], -4096, "close(3) = -4096");
    t(&m, __NR_close, &[NEG1], err(EBADF), "close(-1) = -1 EBADF (Bad file descriptor)");
}

#[test]
fn raw_and_unknown_syscalls() {
    let m = Mem::new();
    t(&m, 0x1f4, &[1, 2, 3, 4, 5, 6], err(ENOSYS), "syscall_0x1f4(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)");
    t(&m, __NR_getpid, &[7, 7], 5756, "getpid() = 5756");
    t(&m, __NR_sched_yield, &[], 0, "sched_yield() = 0");
    t(&m, __NR_ptrace, &[0, 5, 0x10, 0], 0, "ptrace(0, 0x5, 0x10, 0) = 0");
    let mut out = String::new();
    format_noreturn(&mut out, u64::from(__NR_exit_group), [0; 6], &m);
    assert_eq!(out, "exit_group(0) = ?");
    out.clear();
    format_noreturn(&mut out, u64::from(__NR_rt_sigreturn), [0; 6], &m);
    assert_eq!(out, "rt_sigreturn() = ?");
}

#[test]
fn strings() {
    let mut m = Mem::new();
    let hello = m.s("hello\n");
    t(&m, __NR_write, &[1, hello, 6], 6, r#"write(1, "hello\n", 6) = 6"#);
    t(&m, __NR_write, &[1, hello, 0], 0, r#"write(1, "", 0) = 0"#);
    let esc = m.put(b"\t\"q\\\x01\x012\xffx\r\x0b\x0c\x07\x08\0");
    t(&m, __NR_write, &[1, esc, 15], 15, r#"write(1, "\t\"q\\\1\0012\377x\r\v\f\7\10\0", 15) = 15"#);
    let long = m.s("0123456789abcdef0123456789abcdefX");
    t(&m, __NR_write, &[1, long, 33], 33, r#"write(1, "0123456789abcdef0123456789abcdef"..., 33) = 33"#);
    t(&m, __NR_write, &[1, long, 32], 32, r#"write(1, "0123456789abcdef0123456789abcdef", 32) = 32"#);
    // The byte after the 32 printed does not make the last escape long.
    let oct = m.s("0123456789abcdef0123456789abcde\x012");
    t(&m, __NR_write, &[1, oct, 32], 32, r#"write(1, "0123456789abcdef0123456789abcde\1", 32) = 32"#);
    t(&m, __NR_write, &[1, oct, 33], 33, r#"write(1, "0123456789abcdef0123456789abcde\1"..., 33) = 33"#);
    let del = m.put(b"\x7f\x80 \x1b[0m\0");
    t(&m, __NR_write, &[1, del, 8], 8, r#"write(1, "\177\200 \33[0m\0", 8) = 8"#);
    t(&m, __NR_write, &[1, BAD, 5], 5, "write(1, 0x8, 5) = 5");
    t(&m, __NR_write, &[1, 0, 5], 5, "write(1, NULL, 5) = 5");
    // A buffer running into unmapped memory is unreadable as a whole.
    let end = m.at_end(b"abc");
    t(&m, __NR_write, &[1, end, 3], 3, r#"write(1, "abc", 3) = 3"#);
    t(&m, __NR_write, &[1, end, 4], 4, &format!("write(1, {end:#x}, 4) = 4"));
    // Paths are not cut at 32 bytes; other strings are.
    let a99 = "a".repeat(99);
    let path = m.s(&a99);
    t(&m, __NR_open, &[path, 0], err(ENOENT), &format!(r#"open("{a99}", O_RDONLY) = -1 ENOENT (No such file or directory)"#));
    t(&m, __NR_memfd_create, &[path, 1], 3, &format!(r#"memfd_create("{}"..., MFD_CLOEXEC) = 3"#, &a99[..32]));
    let exact = m.s(&a99[..32]);
    t(&m, __NR_memfd_create, &[exact, 0], 3, &format!(r#"memfd_create("{}", 0) = 3"#, &a99[..32]));
}

#[test]
fn long_and_unterminated_paths() {
    let mut m = Mem::new();
    let a5000 = "a".repeat(5000);
    let path = m.s(&a5000);
    t(&m, __NR_chdir, &[path], 0, &format!(r#"chdir("{}"...) = 0"#, &a5000[..4095]));
    // A path that ends where memory ends: its NUL is readable, the next page is not.
    let end = m.at_end(b"/end\0");
    t(&m, __NR_chdir, &[end], 0, r#"chdir("/end") = 0"#);
    let unterminated = m.at_end(b"/end");
    t(&m, __NR_chdir, &[unterminated], err(EFAULT), &format!("chdir({unterminated:#x}) = -1 EFAULT (Bad address)"));
    t(&m, __NR_chdir, &[BAD], err(EFAULT), "chdir(0x8) = -1 EFAULT (Bad address)");
    t(&m, __NR_chdir, &[0], err(EFAULT), "chdir(NULL) = -1 EFAULT (Bad address)");
}

#[test]
fn read_write_family() {
    let mut m = Mem::new();
    let buf = m.put(b"vm\n");
    t(&m, __NR_read, &[3, buf, 3], 3, r#"read(3, "vm\n", 3) = 3"#);
    t(&m, __NR_read, &[3, buf, 4096], 3, r#"read(3, "vm\n", 4096) = 3"#);
    t(&m, __NR_read, &[99, buf, 3], err(EBADF), &format!("read(99, {buf:#x}, 3) = -1 EBADF (Bad file descriptor)"));
    t(&m, __NR_read, &[3, BAD, 0], 0, r#"read(3, "", 0) = 0"#);
    t(&m, __NR_pread64, &[3, buf + 1, 2, 1], 2, r#"pread64(3, "m\n", 2, 1) = 2"#);
    let off = m.u64s(&[4096]);
    t(&m, __NR_sendfile, &[6, 7, off, 1024], 1024, "sendfile(6, 7, [4096], 1024) = 1024");
    t(&m, __NR_sendfile, &[6, 7, 0, 1024], 1024, "sendfile(6, 7, NULL, 1024) = 1024");
    let ab = m.put(b"ab");
    t(&m, __NR_pwrite64, &[99, ab, 2, 7], err(EBADF), r#"pwrite64(99, "ab", 2, 7) = -1 EBADF (Bad file descriptor)"#);
    let iov = m.u64s(&[buf, 2, buf + 2, 5]);
    t(&m, __NR_readv, &[3, iov, 2], 3, r#"readv(3, [{iov_base="vm", iov_len=2}, {iov_base="\n", iov_len=5}], 2) = 3"#);
    let want = format!("readv(99, [{{iov_base={buf:#x}, iov_len=2}}, {{iov_base={:#x}, iov_len=5}}], 2) = -1 EBADF (Bad file descriptor)", buf + 2);
    t(&m, __NR_readv, &[99, iov, 2], err(EBADF), &want);
    let (hi, nl) = (m.put(b"hi"), m.put(b"\n"));
    let wv = m.u64s(&[hi, 2, nl, 1]);
    t(&m, __NR_writev, &[1, wv, 2], 3, r#"writev(1, [{iov_base="hi", iov_len=2}, {iov_base="\n", iov_len=1}], 2) = 3"#);
    t(&m, __NR_writev, &[1, BAD, 2], err(EFAULT), "writev(1, 0x8, 2) = -1 EFAULT (Bad address)");
    let many = m.u64s(&[hi, 2].repeat(33));
    let one = r#"{iov_base="hi", iov_len=2}"#;
    let want = format!("writev(1, [{}, ...], 33) = 66", [one; 32].join(", "));
    t(&m, __NR_writev, &[1, many, 33], 66, &want);
    t(&m, __NR_lseek, &[3, 0, 0], 0, "lseek(3, 0, SEEK_SET) = 0");
    t(&m, __NR_lseek, &[3, -5i64 as u64, 2], err(EINVAL), "lseek(3, -5, SEEK_END) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_lseek, &[3, 0, 7], err(EINVAL), "lseek(3, 0, 0x7 /* SEEK_??? */) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_close, &[3], 0, "close(3) = 0");
    t(&m, __NR_dup, &[1], 4, "dup(1) = 4");
    t(&m, __NR_dup2, &[1, 10], 10, "dup2(1, 10) = 10");
    t(&m, __NR_dup3, &[1, 11, u64::from(O_CLOEXEC)], 11, "dup3(1, 11, O_CLOEXEC) = 11");
    t(&m, __NR_dup3, &[1, 12, 0], 12, "dup3(1, 12, 0) = 12");
}

#[test]
fn open_and_paths() {
    let mut m = Mem::new();
    let newfile = m.s("/tmp/st/newfile");
    let flags = u64::from(O_WRONLY | O_CREAT | O_TRUNC);
    t(&m, __NR_openat, &[AT_FDCWD as u64, newfile, flags, 0o644], 3, r#"openat(AT_FDCWD, "/tmp/st/newfile", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3"#);
    let x = m.s("/x");
    let flags = u64::from(O_RDWR | O_APPEND | O_NONBLOCK | O_CLOEXEC | 0x4000_0000);
    t(&m, __NR_open, &[x, flags, 0], err(ENOENT), r#"open("/x", O_RDWR|O_APPEND|O_NONBLOCK|O_CLOEXEC|0x40000000) = -1 ENOENT (No such file or directory)"#);
    t(&m, __NR_openat, &[AT_FDCWD as u64, x, 0], err(ENOENT), r#"openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory)"#);
    let rel = m.s("rel");
    t(&m, __NR_openat, &[5, rel, u64::from(O_WRONLY | O_TMPFILE), 0o600], err(EBADF), r#"openat(5, "rel", O_WRONLY|O_TMPFILE, 0600) = -1 EBADF (Bad file descriptor)"#);
    let all = O_DIRECTORY
        | O_NOFOLLOW
        | O_SYNC
        | O_PATH
        | O_NOCTTY
        | O_EXCL
        | O_DSYNC
        | O_DIRECT
        | O_NOATIME
        | FASYNC;
    t(&m, __NR_open, &[x, u64::from(all)], err(ENOENT), r#"open("/x", O_RDONLY|O_EXCL|O_NOCTTY|O_SYNC|O_DIRECT|O_NOFOLLOW|O_NOATIME|O_PATH|O_DIRECTORY|FASYNC) = -1 ENOENT (No such file or directory)"#);
    t(&m, __NR_open, &[x, 3], err(EINVAL), r#"open("/x", O_ACCMODE) = -1 EINVAL (Invalid argument)"#);
    let etc = m.s("/etc");
    t(&m, __NR_access, &[etc, 7], 0, r#"access("/etc", R_OK|W_OK|X_OK) = 0"#);
    t(&m, __NR_access, &[etc, 0], 0, r#"access("/etc", F_OK) = 0"#);
    t(&m, __NR_access, &[etc, 0x10], err(EINVAL), r#"access("/etc", 0x10 /* ?_OK */) = -1 EINVAL (Invalid argument)"#);
    t(&m, __NR_faccessat, &[AT_FDCWD as u64, etc, 1], 0, r#"faccessat(AT_FDCWD, "/etc", X_OK) = 0"#);
    let fl = u64::from(AT_EACCESS | AT_SYMLINK_NOFOLLOW);
    t(&m, __NR_faccessat2, &[AT_FDCWD as u64, etc, 1, fl], 0, r#"faccessat2(AT_FDCWD, "/etc", X_OK, AT_SYMLINK_NOFOLLOW|AT_EACCESS) = 0"#);
    let exe = m.s("/proc/self/exe");
    let buf = m.put(b"/tmp/st/t2 and garbage");
    t(&m, __NR_readlink, &[exe, buf, 4096], 10, r#"readlink("/proc/self/exe", "/tmp/st/t2", 4096) = 10"#);
    t(&m, __NR_readlink, &[etc, buf, 4096], err(EINVAL), &format!(r#"readlink("/etc", {buf:#x}, 4096) = -1 EINVAL (Invalid argument)"#));
    t(&m, __NR_readlinkat, &[AT_FDCWD as u64, exe, buf, 5], 5, r#"readlinkat(AT_FDCWD, "/proc/self/exe", "/tmp/", 5) = 5"#);
    let cwd = m.s("/tmp/st");
    t(&m, __NR_getcwd, &[cwd, 4096], 8, r#"getcwd("/tmp/st", 4096) = 8"#);
    t(&m, __NR_getcwd, &[cwd, 2], err(ERANGE), &format!("getcwd({cwd:#x}, 2) = -1 ERANGE (Numerical result out of range)"));
    t(&m, __NR_chdir, &[cwd], 0, r#"chdir("/tmp/st") = 0"#);
    let (dd, ee) = (m.s("dd"), m.s("ee"));
    t(&m, __NR_mkdir, &[dd, 0o755], 0, r#"mkdir("dd", 0755) = 0"#);
    t(&m, __NR_mkdir, &[dd, 0], err(EEXIST), r#"mkdir("dd", 000) = -1 EEXIST (File exists)"#);
    t(&m, __NR_mkdirat, &[AT_FDCWD as u64, dd, 0o4777], err(EEXIST), r#"mkdirat(AT_FDCWD, "dd", 04777) = -1 EEXIST (File exists)"#);
    t(&m, __NR_rename, &[dd, ee], 0, r#"rename("dd", "ee") = 0"#);
    t(&m, __NR_renameat, &[AT_FDCWD as u64, ee, 3, dd], 0, r#"renameat(AT_FDCWD, "ee", 3, "dd") = 0"#);
    let args = [AT_FDCWD as u64, dd, AT_FDCWD as u64, ee, 1 | 4 | 8];
    t(&m, __NR_renameat2, &args, err(EINVAL), r#"renameat2(AT_FDCWD, "dd", AT_FDCWD, "ee", RENAME_NOREPLACE|RENAME_WHITEOUT|0x8) = -1 EINVAL (Invalid argument)"#);
    t(&m, __NR_unlinkat, &[AT_FDCWD as u64, ee, u64::from(AT_REMOVEDIR)], 0, r#"unlinkat(AT_FDCWD, "ee", AT_REMOVEDIR) = 0"#);
    t(&m, __NR_unlinkat, &[AT_FDCWD as u64, ee, 0], err(ENOENT), r#"unlinkat(AT_FDCWD, "ee", 0) = -1 ENOENT (No such file or directory)"#);
    t(&m, __NR_unlink, &[ee], 0, r#"unlink("ee") = 0"#);
    t(&m, __NR_rmdir, &[ee], err(ENOENT), r#"rmdir("ee") = -1 ENOENT (No such file or directory)"#);
    let dents = m.u64s(&[1, 24, 0x0400_0000_0018, 2, 48, 0x0800_0000_0018]);
    t(&m, __NR_getdents64, &[3, dents, 4096], 48, &format!("getdents64(3, {dents:#x} /* 2 entries */, 4096) = 48"));
    t(&m, __NR_getdents64, &[3, dents, 4096], 0, &format!("getdents64(3, {dents:#x} /* 0 entries */, 4096) = 0"));
    t(&m, __NR_getdents64, &[9, dents, 4096], err(EBADF), &format!("getdents64(9, {dents:#x}, 4096) = -1 EBADF (Bad file descriptor)"));
}

/// A struct stat with mode, rdev and size.
fn stat(m: &mut Mem, mode: u32, rdev: u64, size: u64) -> u64 {
    let mut b = [0u8; 144];
    b[24..28].copy_from_slice(&mode.to_le_bytes());
    b[40..48].copy_from_slice(&rdev.to_le_bytes());
    b[48..56].copy_from_slice(&size.to_le_bytes());
    m.put(&b)
}

#[test]
fn stats() {
    let mut m = Mem::new();
    let empty = m.s("");
    let tty = stat(&mut m, S_IFCHR | 0o620, 136 << 8, 0);
    let want = r#"newfstatat(1, "", {st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0), ...}, AT_EMPTY_PATH) = 0"#;
    t(&m, __NR_newfstatat, &[1, empty, tty, u64::from(AT_EMPTY_PATH)], 0, want);
    let null = stat(&mut m, S_IFCHR | 0o666, 0x103, 0);
    t(&m, __NR_fstat, &[0, null], 0, "fstat(0, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0");
    let big = stat(&mut m, S_IFBLK | 0o660, (259 << 8) | 0x1234_5000_0000_0012, 0);
    t(&m, __NR_fstat, &[0, big], 0, "fstat(0, {st_mode=S_IFBLK|0660, st_rdev=makedev(0x12345103, 0x12), ...}) = 0");
    let etc = m.s("/etc");
    let dir = stat(&mut m, S_IFDIR | 0o755, 0, 4096);
    t(&m, __NR_stat, &[etc, dir], 0, r#"stat("/etc", {st_mode=S_IFDIR|0755, st_size=4096, ...}) = 0"#);
    let suid = stat(&mut m, S_IFREG | S_ISUID | S_ISVTX | 0o755, 0, 3);
    t(&m, __NR_lstat, &[etc, suid], 0, r#"lstat("/etc", {st_mode=S_IFREG|S_ISUID|S_ISVTX|0755, st_size=3, ...}) = 0"#);
    t(&m, __NR_stat, &[etc, dir], err(ENOENT), &format!(r#"stat("/etc", {dir:#x}) = -1 ENOENT (No such file or directory)"#));
    t(&m, __NR_fstat, &[1, BAD], err(EFAULT), "fstat(1, 0x8) = -1 EFAULT (Bad address)");
    let want = format!(r#"newfstatat(AT_FDCWD, "/etc", {dir:#x}, 0x10000000 /* AT_??? */) = -1 EINVAL (Invalid argument)"#);
    t(&m, __NR_newfstatat, &[AT_FDCWD as u64, etc, dir, 0x1000_0000], err(EINVAL), &want);
    let mut sx = [0u8; 256];
    sx[0..4].copy_from_slice(&0x1fffu32.to_le_bytes());
    sx[28..30].copy_from_slice(&(S_IFDIR as u16 | 0o755).to_le_bytes());
    sx[40..48].copy_from_slice(&4096u64.to_le_bytes());
    let sx = m.put(&sx);
    let want = r#"statx(AT_FDCWD, "/etc", AT_STATX_SYNC_AS_STAT, STATX_ALL, {stx_mask=STATX_ALL|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFDIR|0755, stx_size=4096, ...}) = 0"#;
    t(&m, __NR_statx, &[AT_FDCWD as u64, etc, 0, u64::from(STATX_ALL), sx], 0, want);
    let want = format!(r#"statx(AT_FDCWD, "/etc", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, {sx:#x}) = -1 ENOENT (No such file or directory)"#);
    let args = [
        AT_FDCWD as u64,
        etc,
        u64::from(AT_SYMLINK_NOFOLLOW),
        u64::from(STATX_BASIC_STATS),
        sx,
    ];
    t(&m, __NR_statx, &args, err(ENOENT), &want);
}

#[test]
fn memory() {
    let m = Mem::new();
    let (rw, anon) = (u64::from(PROT_READ | PROT_WRITE), u64::from(MAP_PRIVATE | MAP_ANONYMOUS));
    t(&m, __NR_mmap, &[0, 8192, rw, anon, NEG1, 0], 0x7f3a12c40000, "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3a12c40000");
    let args = [
        0x7f33e8579000,
        1400832,
        5,
        u64::from(MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE),
        3,
        0x26000,
    ];
    t(&m, __NR_mmap, &args, 0x7f33e8579000, "mmap(0x7f33e8579000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) = 0x7f33e8579000");
    let fl = MAP_SHARED
        | MAP_FIXED
        | MAP_ANONYMOUS
        | MAP_NORESERVE
        | MAP_POPULATE
        | MAP_STACK
        | MAP_GROWSDOWN;
    t(&m, __NR_mmap, &[0x7000, 4096, 0x80, u64::from(fl), NEG1, 0], err(EINVAL), "mmap(0x7000, 4096, 0x80 /* PROT_??? */, MAP_SHARED|MAP_FIXED|MAP_ANONYMOUS|MAP_NORESERVE|MAP_POPULATE|MAP_GROWSDOWN|MAP_STACK, -1, 0) = -1 EINVAL (Invalid argument)");
    let fl =
        u64::from(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_HUGETLB | (21 << 26));
    t(&m, __NR_mmap, &[0, 4096, 1, fl, NEG1, 0], -12, "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_FIXED_NOREPLACE|21<<MAP_HUGE_SHIFT, -1, 0) = -1 ENOMEM (Cannot allocate memory)");
    t(&m, __NR_mmap, &[0, 4096, 1, u64::from(MAP_SHARED_VALIDATE | MAP_SYNC), NEG1, 0], err(EBADF), "mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_SYNC, -1, 0) = -1 EBADF (Bad file descriptor)");
    t(&m, __NR_mmap, &[0, 4096, 1, u64::from(MAP_ANONYMOUS), NEG1, 0], err(EINVAL), "mmap(NULL, 4096, PROT_READ, MAP_FILE|MAP_ANONYMOUS, -1, 0) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_mmap, &[0, 4096, 1, u64::from(7 | MAP_ANONYMOUS), NEG1, 0], err(EINVAL), "mmap(NULL, 4096, PROT_READ, 0x7 /* MAP_??? */|MAP_ANONYMOUS, -1, 0) = -1 EINVAL (Invalid argument)");
    let prot =
        u64::from(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP);
    let fl = u64::from(MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT | MAP_LOCKED | MAP_NONBLOCK | MAP_EXECUTABLE | 0x4000_0000);
    t(&m, __NR_mmap, &[0, 4096, prot, fl | 0x200_0000, NEG1, 0], 0x406cd000, "mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT|MAP_NONBLOCK|MAP_EXECUTABLE|MAP_LOCKED|0x2000000|16<<MAP_HUGE_SHIFT, -1, 0) = 0x406cd000");
    t(&m, __NR_mprotect, &[0x7fdf46554000, 4096, 0], 0, "mprotect(0x7fdf46554000, 4096, PROT_NONE) = 0");
    t(&m, __NR_mprotect, &[0x7fdf46554000, 4096, 0x105], err(EINVAL), "mprotect(0x7fdf46554000, 4096, PROT_READ|PROT_EXEC|0x100) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_munmap, &[0x7fdf46554000, 16384], 0, "munmap(0x7fdf46554000, 16384) = 0");
    t(&m, __NR_madvise, &[0x7fdf46554000, 4096, u64::from(MADV_DONTNEED)], 0, "madvise(0x7fdf46554000, 4096, MADV_DONTNEED) = 0");
    t(&m, __NR_madvise, &[0, 0, 999], err(EINVAL), "madvise(NULL, 0, 0x3e7 /* MADV_??? */) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_madvise, &[0, 0, 0], 0, "madvise(NULL, 0, MADV_NORMAL) = 0");
    t(&m, __NR_mremap, &[0x7fdf46554000, 8192, 16384, 1], 0x7fdf46550000, "mremap(0x7fdf46554000, 8192, 16384, MREMAP_MAYMOVE) = 0x7fdf46550000");
    t(&m, __NR_mremap, &[NEG1, 16384, 4096, 3, 0xffff], err(EINVAL), "mremap(0xffffffffffffffff, 16384, 4096, MREMAP_MAYMOVE|MREMAP_FIXED, 0xffff) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_mremap, &[0, 0, 0, 0, 9], err(EINVAL), "mremap(NULL, 0, 0, 0) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_brk, &[0], 0x56034a51b000, "brk(NULL) = 0x56034a51b000");
    t(&m, __NR_brk, &[0x1000], 0x56034a51b000, "brk(0x1000) = 0x56034a51b000");
}

#[test]
fn fcntl_and_pipes() {
    let mut m = Mem::new();
    t(&m, __NR_fcntl, &[1, u64::from(F_GETFD)], 0, "fcntl(1, F_GETFD) = 0");
    t(&m, __NR_fcntl, &[11, u64::from(F_GETFD)], 1, "fcntl(11, F_GETFD) = 0x1 (flags FD_CLOEXEC)");
    t(&m, __NR_fcntl, &[11, u64::from(F_SETFD), 1], 0, "fcntl(11, F_SETFD, FD_CLOEXEC) = 0");
    t(&m, __NR_fcntl, &[11, u64::from(F_SETFD), 0], 0, "fcntl(11, F_SETFD, 0) = 0");
    t(&m, __NR_fcntl, &[1, u64::from(F_GETFL)], 0x8001, "fcntl(1, F_GETFL) = 0x8001 (flags O_WRONLY|O_LARGEFILE)");
    t(&m, __NR_fcntl, &[3, u64::from(F_GETFL)], 0x18000, "fcntl(3, F_GETFL) = 0x18000 (flags O_RDONLY|O_LARGEFILE|O_DIRECTORY)");
    t(&m, __NR_fcntl, &[3, u64::from(F_GETFL)], 0, "fcntl(3, F_GETFL) = 0 (flags O_RDONLY)");
    t(&m, __NR_fcntl, &[3, u64::from(F_GETFL)], err(EBADF), "fcntl(3, F_GETFL) = -1 EBADF (Bad file descriptor)");
    t(&m, __NR_fcntl, &[11, u64::from(F_SETFL), u64::from(O_NONBLOCK | O_APPEND)], 0, "fcntl(11, F_SETFL, O_RDONLY|O_APPEND|O_NONBLOCK) = 0");
    t(&m, __NR_fcntl, &[1, u64::from(F_DUPFD), 20], 20, "fcntl(1, F_DUPFD, 20) = 20");
    t(&m, __NR_fcntl, &[1, u64::from(F_DUPFD_CLOEXEC), 30], 30, "fcntl(1, F_DUPFD_CLOEXEC, 30) = 30");
    t(&m, __NR_fcntl, &[1, 9999, 30], err(EINVAL), "fcntl(1, 0x270f /* F_??? */, 0x1e) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_fcntl, &[1, u64::from(F_GETLK), 0x7ffd68cf3460], err(EINVAL), "fcntl(1, F_GETLK, 0x7ffd68cf3460) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_fcntl, &[3, u64::from(F_SETLKW), 0], err(EFAULT), "fcntl(3, F_SETLKW, NULL) = -1 EFAULT (Bad address)");
    t(&m, __NR_fcntl, &[1, u64::from(F_GETOWN)], 0, "fcntl(1, F_GETOWN) = 0");
    t(&m, __NR_fcntl, &[3, u64::from(F_ADD_SEALS), 1], err(EINVAL), "fcntl(3, F_ADD_SEALS, F_SEAL_SEAL) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_fcntl, &[3, u64::from(F_NOTIFY), 1], 0, "fcntl(3, F_NOTIFY, DN_ACCESS) = 0");
    let fds = m.u32s(&[5, 6]);
    t(&m, __NR_pipe, &[fds], 0, "pipe([5, 6]) = 0");
    t(&m, __NR_pipe2, &[fds, u64::from(O_CLOEXEC | O_NONBLOCK)], 0, "pipe2([5, 6], O_NONBLOCK|O_CLOEXEC) = 0");
    t(&m, __NR_pipe2, &[BAD, 0], err(EFAULT), "pipe2(0x8, 0) = -1 EFAULT (Bad address)");
    t(&m, __NR_pipe2, &[0, u64::from(O_DIRECT)], err(EFAULT), "pipe2(NULL, O_DIRECT) = -1 EFAULT (Bad address)");
    t(&m, __NR_eventfd2, &[0, u64::from(EFD_CLOEXEC | EFD_NONBLOCK)], 15, "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 15");
    t(&m, __NR_eventfd2, &[5, 0], 16, "eventfd2(5, 0) = 16");
    t(&m, __NR_eventfd, &[5], 17, "eventfd(5) = 17");
}

#[test]
fn process_info() {
    let mut m = Mem::new();
    let rnd = m.put(&[0x43, 0x62, 0xc1, 0x80, 0xd9, 0x60, 0x0b, 0x9e]);
    t(&m, __NR_getrandom, &[rnd, 8, u64::from(GRND_NONBLOCK)], 8, r#"getrandom("\x43\x62\xc1\x80\xd9\x60\x0b\x9e", 8, GRND_NONBLOCK) = 8"#);
    t(&m, __NR_getrandom, &[rnd, 8, 0x16], err(EINVAL), &format!( "getrandom({rnd:#x}, 8, GRND_RANDOM|GRND_INSECURE|0x10) = -1 EINVAL (Invalid argument)" ));
    t(&m, __NR_getrandom, &[BAD, 0, 0], 0, r#"getrandom("", 0, 0) = 0"#);
    let zeros = m.put(&[0; 40]);
    let want = format!(r#"getrandom("{}"..., 40, 0) = 40"#, r"\x00".repeat(32));
    t(&m, __NR_getrandom, &[zeros, 40, 0], 40, &want);
    let mut uts = [0u8; 390];
    uts[..5].copy_from_slice(b"Linux");
    uts[65..73].copy_from_slice(b"nutshell");
    let uts = m.put(&uts);
    t(&m, __NR_uname, &[uts], 0, r#"uname({sysname="Linux", nodename="nutshell", ...}) = 0"#);
    t(&m, __NR_uname, &[BAD], err(EFAULT), "uname(0x8) = -1 EFAULT (Bad address)");
    t(&m, __NR_arch_prctl, &[u64::from(ARCH_SET_FS), 0x7f33e8550740], 0, "arch_prctl(ARCH_SET_FS, 0x7f33e8550740) = 0");
    let fs = m.u64s(&[0x7f26dad1f740]);
    t(&m, __NR_arch_prctl, &[0x1003, fs], 0, "arch_prctl(ARCH_GET_FS, [0x7f26dad1f740]) = 0");
    t(&m, __NR_arch_prctl, &[0x1001, 0x1234], 0, "arch_prctl(ARCH_SET_GS, 0x1234) = 0");
    t(&m, __NR_arch_prctl, &[0x9999, 0x1234], err(EINVAL), "arch_prctl(0x9999 /* ARCH_??? */, 0x1234) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_arch_prctl, &[0x1011, 0], 1, "arch_prctl(ARCH_GET_CPUID) = 1");
    t(&m, __NR_set_tid_address, &[0x7ffd68cf31f4], 5756, "set_tid_address(0x7ffd68cf31f4) = 5756");
    t(&m, __NR_set_robust_list, &[0x7ffd68cf31f4, 24], 0, "set_robust_list(0x7ffd68cf31f4, 24) = 0");
    t(&m, __NR_rseq, &[0x7f33e8551060, 0x20, 0, 0x53053053], 0, "rseq(0x7f33e8551060, 0x20, 0, 0x53053053) = 0");
    for (nr, name) in [
        (__NR_getpid, "getpid"),
        (__NR_gettid, "gettid"),
        (__NR_getppid, "getppid"),
        (__NR_getuid, "getuid"),
    ] {
        t(&m, nr, &[], 0, &format!("{name}() = 0"));
    }
    let ids = m.u32s(&[0, 1000, 2]);
    t(&m, __NR_getresuid, &[ids, ids + 4, ids + 8], 0, "getresuid([0], [1000], [2]) = 0");
    let cpus = m.put(&[0b11, 0, 0, 0x80]);
    t(&m, __NR_sched_getaffinity, &[0, 128, cpus], 4, "sched_getaffinity(0, 128, [0 1 31]) = 4");
    t(&m, __NR_sched_getaffinity, &[0, 128, cpus], 1, "sched_getaffinity(0, 128, [0 1]) = 1");
    t(&m, __NR_umask, &[0o22], 0o22, "umask(022) = 022");
    t(&m, __NR_umask, &[0o777], 0, "umask(0777) = 000");
    let lim = m.u64s(&[8192 * 1024, u64::MAX, 20000, 20000, 1000, 2048, 1024, 0]);
    t(&m, __NR_getrlimit, &[u64::from(RLIMIT_STACK), lim], 0, "getrlimit(RLIMIT_STACK, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0");
    t(&m, __NR_setrlimit, &[u64::from(RLIMIT_STACK), lim], 0, "setrlimit(RLIMIT_STACK, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0");
    t(&m, __NR_prlimit64, &[0, u64::from(RLIMIT_STACK), 0, lim], 0, "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0");
    t(&m, __NR_prlimit64, &[0, u64::from(RLIMIT_NOFILE), lim + 32, lim + 16], 0, "prlimit64(0, RLIMIT_NOFILE, {rlim_cur=1000, rlim_max=2*1024}, {rlim_cur=20000, rlim_max=20000}) = 0");
    t(&m, __NR_prlimit64, &[0, u64::from(RLIMIT_NOFILE), lim + 48, 0], 0, "prlimit64(0, RLIMIT_NOFILE, {rlim_cur=1024, rlim_max=0}, NULL) = 0");
    t(&m, __NR_prlimit64, &[0, 99, 0, lim], err(EINVAL), &format!( "prlimit64(0, 0x63 /* RLIMIT_??? */, NULL, {lim:#x}) = -1 EINVAL (Invalid argument)" ));
}

#[test]
fn time() {
    let mut m = Mem::new();
    let ts = m.u64s(&[442, 394122463]);
    t(&m, __NR_clock_gettime, &[u64::from(CLOCK_MONOTONIC), ts], 0, "clock_gettime(CLOCK_MONOTONIC, {tv_sec=442, tv_nsec=394122463}) = 0");
    t(&m, __NR_clock_gettime, &[99, ts], err(EINVAL), &format!("clock_gettime(0x63 /* CLOCK_??? */, {ts:#x}) = -1 EINVAL (Invalid argument)"));
    t(&m, __NR_clock_getres, &[u64::from(CLOCK_MONOTONIC_RAW), 0], 0, "clock_getres(CLOCK_MONOTONIC_RAW, NULL) = 0");
    let short = m.u64s(&[0, 1000]);
    t(&m, __NR_clock_nanosleep, &[0, 0, short, 0], 0, "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000}, NULL) = 0");
    let want = format!("clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {{tv_sec=0, tv_nsec=1000}}, {ts:#x}) = 0");
    t(&m, __NR_clock_nanosleep, &[1, 1, short, ts], 0, &want);
    t(&m, __NR_nanosleep, &[short, 0], 0, "nanosleep({tv_sec=0, tv_nsec=1000}, NULL) = 0");
    let want = "nanosleep({tv_sec=0, tv_nsec=1000}, {tv_sec=442, tv_nsec=394122463}) = -1 EINTR (Interrupted system call)";
    t(&m, __NR_nanosleep, &[short, ts], err(EINTR), want);
    let tv = m.u64s(&[1795617548, 923741]);
    t(&m, __NR_gettimeofday, &[tv, 0], 0, "gettimeofday({tv_sec=1795617548, tv_usec=923741}, NULL) = 0");
    let tz = m.u32s(&[(-60i32) as u32, 0]);
    t(&m, __NR_gettimeofday, &[tv, tz], 0, "gettimeofday({tv_sec=1795617548, tv_usec=923741}, {tz_minuteswest=-60, tz_dsttime=0}) = 0");
    t(&m, __NR_time, &[0], 1795617548, "time(NULL) = 1795617548 (2026-11-25T14:39:08+0000)");
    let tt = m.u64s(&[1795617548]);
    t(&m, __NR_time, &[tt], 1795617548, "time([1795617548 /* 2026-11-25T14:39:08+0000 */]) = 1795617548 (2026-11-25T14:39:08+0000)");
    t(&m, __NR_time, &[BAD], err(EFAULT), "time(0x8) = -1 EFAULT (Bad address)");
    t(&m, __NR_time, &[0], 951782400, "time(NULL) = 951782400 (2000-02-29T00:00:00+0000)");
    t(&m, __NR_time, &[0], -1, "time(NULL) = -1 EPERM (Operation not permitted)");
    t(&m, __NR_time, &[0], -86401, "time(NULL) = -86401 (1969-12-30T23:59:59+0000)");
}

#[test]
fn ioctls() {
    let mut m = Mem::new();
    let p = 0x7ffd68cf3460;
    t(&m, __NR_ioctl, &[1, u64::from(TCGETS), p], err(ENOTTY), "ioctl(1, TCGETS, 0x7ffd68cf3460) = -1 ENOTTY (Inappropriate ioctl for device)");
    t(&m, __NR_ioctl, &[1, u64::from(TIOCGWINSZ), p], err(ENOTTY), "ioctl(1, TIOCGWINSZ, 0x7ffd68cf3460) = -1 ENOTTY (Inappropriate ioctl for device)");
    t(&m, __NR_ioctl, &[1, u64::from(FIONREAD), p], err(ENOTTY), "ioctl(1, FIONREAD, 0x7ffd68cf3460) = -1 ENOTTY (Inappropriate ioctl for device)");
    let sane = m.u32s(&[0x500, 5, 0xbf, 0x8a3b, 0, 0, 0, 0, 0]);
    let want = "ioctl(0, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0";
    t(&m, __NR_ioctl, &[0, u64::from(TCGETS), sane], 0, want);
    let raw = m.u32s(&[0, 4, 0xbf, 0x8a30, 0, 0, 0, 0, 0]);
    let want = "ioctl(0, SNDCTL_TMR_STOP or TCSETSW, {c_iflag=, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0";
    t(&m, __NR_ioctl, &[0, u64::from(TCSETSW), raw], 0, want);
    let junk = m.u32s(&[
        0x7808ba22, 0x47106c2f, 0x4471dde3, 0x995ceb8c, 0, 0, 0, 0, 0,
    ]);
    let want = "ioctl(1, SNDCTL_TMR_START or TCSETS, {c_iflag=BRKINT|ISTRIP|IUCLC|IXANY|IXOFF|IMAXBEL|0x78088000, c_oflag=NL0|CR2|TAB1|BS1|VT1|FF0|OPOST|OLCUC|ONLCR|OCRNL|ONLRET|0x47100000, c_cflag=B230400|B50<<IBSHIFT|CS7|CSTOPB|CREAD|PARENB|HUPCL|CLOCAL|CMSPAR|0x470c000, c_lflag=XCASE|ECHO|NOFLSH|IEXTEN|ECHOCTL|ECHOKE|PENDIN|TOSTOP|0x995c2000, ...}) = -1 ENOTTY (Inappropriate ioctl for device)";
    t(&m, __NR_ioctl, &[1, u64::from(TCSETS), junk], err(ENOTTY), want);
    let ws = m.put(&[24, 0, 80, 0, 0, 0, 0, 0]);
    t(&m, __NR_ioctl, &[0, u64::from(TIOCGWINSZ), ws], 0, "ioctl(0, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0");
    let ws2 = m.put(&[0x22, 0xba, 0x08, 0x78, 0x2f, 0x6c, 0x10, 0x47]);
    t(&m, __NR_ioctl, &[1, u64::from(TIOCSWINSZ), ws2], err(ENOTTY), "ioctl(1, TIOCSWINSZ, {ws_row=47650, ws_col=30728, ws_xpixel=27695, ws_ypixel=18192}) = -1 ENOTTY (Inappropriate ioctl for device)");
    let one = m.u32s(&[1, 5]);
    t(&m, __NR_ioctl, &[1, u64::from(FIONBIO), one], 0, "ioctl(1, FIONBIO, [1]) = 0");
    t(&m, __NR_ioctl, &[3, u64::from(FIONREAD), one + 4], 0, "ioctl(3, FIONREAD, [5]) = 0");
    t(&m, __NR_ioctl, &[1, u64::from(FIOCLEX)], 0, "ioctl(1, FIOCLEX) = 0");
    t(&m, __NR_ioctl, &[1, u64::from(FIONCLEX), 7], 0, "ioctl(1, FIONCLEX) = 0");
    t(&m, __NR_ioctl, &[1, 0x12345678, p], err(ENOTTY), "ioctl(1, _IOC(_IOC_NONE, 0x56, 0x78, 0x1234), 0x7ffd68cf3460) = -1 ENOTTY (Inappropriate ioctl for device)");
    t(&m, __NR_ioctl, &[1, 0x5401ff, p], err(ENOTTY), "ioctl(1, _IOC(_IOC_NONE, 0x1, 0xff, 0x54), 0x7ffd68cf3460) = -1 ENOTTY (Inappropriate ioctl for device)");
    t(&m, __NR_ioctl, &[1, 0xc0105500, 0], err(ENOTTY), "ioctl(1, _IOC(_IOC_READ|_IOC_WRITE, 0x55, 0, 0x10), 0) = -1 ENOTTY (Inappropriate ioctl for device)");
}

/// struct sigaction: handler, flags, restorer, mask.
fn sigaction(m: &mut Mem, handler: u64, flags: u32, mask: u64) -> u64 {
    m.u64s(&[handler, u64::from(flags), 0x1234, mask])
}

#[test]
fn signals() {
    let mut m = Mem::new();
    let int_term = 1 << 1 | 1 << 14;
    let act = sigaction(&mut m, 0x55fd2a2a7169, SA_RESTORER | SA_RESTART | SA_NODEFER, int_term);
    let shown = "{sa_handler=0x55fd2a2a7169, sa_mask=[INT TERM], sa_flags=SA_RESTORER|SA_RESTART|SA_NODEFER, sa_restorer=0x1234}";
    t(&m, __NR_rt_sigaction, &[2, act, 0, 8], 0, &format!("rt_sigaction(SIGINT, {shown}, NULL, 8) = 0"));
    t(&m, __NR_rt_sigaction, &[2, 0, act, 8], 0, &format!("rt_sigaction(SIGINT, NULL, {shown}, 8) = 0"));
    let ign = sigaction(&mut m, 1, SA_RESTORER, 0);
    let dfl = sigaction(&mut m, 0, 0, 0);
    let want = "rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x1234}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0";
    t(&m, __NR_rt_sigaction, &[13, ign, dfl, 8], 0, want);
    let fl = SA_RESTORER
        | SA_SIGINFO
        | SA_ONSTACK
        | SA_NODEFER
        | SA_RESETHAND
        | SA_NOCLDSTOP
        | SA_NOCLDWAIT
        | 0x100;
    let all = sigaction(&mut m, 0, fl, !0);
    let want = "rt_sigaction(SIGUSR1, {sa_handler=SIG_DFL, sa_mask=~[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_NODEFER|SA_RESETHAND|SA_SIGINFO|SA_NOCLDSTOP|SA_NOCLDWAIT|0x100, sa_restorer=0x1234}, NULL, 8) = 0";
    t(&m, __NR_rt_sigaction, &[10, all, 0, 8], 0, want);
    let rt = sigaction(&mut m, 0, 0, 1 << 31 | 1 << 32 | 1 << 33 | 1 << 34 | 1 << 62 | 1 << 63);
    let want = format!("rt_sigaction(SIGRT_2, {{sa_handler=SIG_DFL, sa_mask=[RTMIN RT_1 RT_2 RT_3 RT_31 RT_32], sa_flags=0}}, {dfl:#x}, 8) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_rt_sigaction, &[34, rt, dfl, 8], err(EINVAL), &want);
    t(&m, __NR_rt_sigaction, &[64, 0, 0, 8], 0, "rt_sigaction(SIGRT_32, NULL, NULL, 8) = 0");
    t(&m, __NR_rt_sigaction, &[32, 0, 0, 8], 0, "rt_sigaction(SIGRTMIN, NULL, NULL, 8) = 0");
    t(&m, __NR_rt_sigaction, &[65, 0, 0, 8], err(EINVAL), "rt_sigaction(65, NULL, NULL, 8) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_rt_sigaction, &[2, BAD, 0, 8], err(EFAULT), "rt_sigaction(SIGINT, 0x8, NULL, 8) = -1 EFAULT (Bad address)");
    let sets = m.u64s(&[
        int_term,
        0,
        !0,
        !(1 << 8),
        0xffff_ffff,
        0x1_ffff_ffff,
        0x3ff_ffff_ffff,
    ]);
    let (set, empty, full, nokill) = (sets, sets + 8, sets + 16, sets + 24);
    t(&m, __NR_rt_sigprocmask, &[0, set, empty, 8], 0, "rt_sigprocmask(SIG_BLOCK, [INT TERM], [], 8) = 0");
    t(&m, __NR_rt_sigprocmask, &[1, set, 0, 8], 0, "rt_sigprocmask(SIG_UNBLOCK, [INT TERM], NULL, 8) = 0");
    t(&m, __NR_rt_sigprocmask, &[2, 0, empty, 8], 0, "rt_sigprocmask(SIG_SETMASK, NULL, [], 8) = 0");
    t(&m, __NR_rt_sigprocmask, &[7, set, 0, 8], err(EINVAL), "rt_sigprocmask(0x7 /* SIG_??? */, [INT TERM], NULL, 8) = -1 EINVAL (Invalid argument)");
    t(&m, __NR_rt_sigprocmask, &[0, set, 0, 4], err(EINVAL), &format!("rt_sigprocmask(SIG_BLOCK, {set:#x}, NULL, 4) = -1 EINVAL (Invalid argument)"));
    t(&m, __NR_rt_sigprocmask, &[0, full, empty, 8], 0, "rt_sigprocmask(SIG_BLOCK, ~[], [], 8) = 0");
    t(&m, __NR_rt_sigprocmask, &[0, nokill, 0, 8], 0, "rt_sigprocmask(SIG_BLOCK, ~[KILL], NULL, 8) = 0");
    let names = "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS RTMIN";
    t(&m, __NR_rt_sigprocmask, &[0, sets + 32, 0, 8], 0, &format!("rt_sigprocmask(SIG_BLOCK, [{names}], NULL, 8) = 0"));
    t(&m, __NR_rt_sigprocmask, &[0, sets + 40, 0, 8], 0, &format!("rt_sigprocmask(SIG_BLOCK, [{names} RT_1], NULL, 8) = 0"));
    // 42 of 64 bits set: printed inverted.
    t(&m, __NR_rt_sigprocmask, &[0, sets + 48, 0, 8], 0, "rt_sigprocmask(SIG_BLOCK, ~[RT_11 RT_12 RT_13 RT_14 RT_15 RT_16 RT_17 RT_18 RT_19 RT_20 RT_21 RT_22 RT_23 RT_24 RT_25 RT_26 RT_27 RT_28 RT_29 RT_30 RT_31 RT_32], NULL, 8) = 0");
    let ss = m.u64s(&[0x55fd353172a0, 0, 8192, 0x55fd353172a0, 2, 8192]);
    t(&m, __NR_sigaltstack, &[ss, 0], 0, "sigaltstack({ss_sp=0x55fd353172a0, ss_flags=0, ss_size=8192}, NULL) = 0");
    let want = "sigaltstack({ss_sp=0x55fd353172a0, ss_flags=SS_DISABLE, ss_size=8192}, {ss_sp=0x55fd353172a0, ss_flags=0, ss_size=8192}) = 0";
    t(&m, __NR_sigaltstack, &[ss + 24, ss], 0, want);
    t(&m, __NR_kill, &[6113, 0], 0, "kill(6113, 0) = 0");
    t(&m, __NR_kill, &[0, 17], 0, "kill(0, SIGCHLD) = 0");
    t(&m, __NR_kill, &[999999, 99], err(ESRCH), "kill(999999, 99) = -1 ESRCH (No such process)");
    t(&m, __NR_tgkill, &[6113, 6113, 28], 0, "tgkill(6113, 6113, SIGWINCH) = 0");
    t(&m, __NR_tkill, &[6113, 23], 0, "tkill(6113, SIGURG) = 0");
}

#[test]
fn futexes() {
    let m = Mem::new();
    let f = 0x7ffc45aa270c;
    t(&m, __NR_futex, &[f, u64::from(FUTEX_WAKE_PRIVATE), 1], 0, "futex(0x7ffc45aa270c, FUTEX_WAKE_PRIVATE, 1) = 0");
    t(&m, __NR_futex, &[f, 1, 2147483647, 9, 9, 9], 0, "futex(0x7ffc45aa270c, FUTEX_WAKE, 2147483647) = 0");
    t(&m, __NR_futex, &[f, u64::from(FUTEX_WAIT_PRIVATE), 1, 0], -11, "futex(0x7ffc45aa270c, FUTEX_WAIT_PRIVATE, 1, NULL) = -1 EAGAIN (Resource temporarily unavailable)");
    let mut m = m;
    let to = m.u64s(&[0, 1000]);
    t(&m, __NR_futex, &[f, 0, 0, to], -110, "futex(0x7ffc45aa270c, FUTEX_WAIT, 0, {tv_sec=0, tv_nsec=1000}) = -1 ETIMEDOUT (Connection timed out)");
    let op = u64::from(FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME);
    t(&m, __NR_futex, &[f, op, 0, to, 0, 0xffff_ffff], -110, "futex(0x7ffc45aa270c, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000}, FUTEX_BITSET_MATCH_ANY) = -1 ETIMEDOUT (Connection timed out)");
    t(&m, __NR_futex, &[f, u64::from(FUTEX_WAKE_BITSET), 1, 0, 0, 4], 0, "futex(0x7ffc45aa270c, FUTEX_WAKE_BITSET, 1, 0x4) = 0");
    t(&m, __NR_futex, &[f, u64::from(FUTEX_REQUEUE_PRIVATE), 1, 2, f], 0, "futex(0x7ffc45aa270c, FUTEX_REQUEUE_PRIVATE, 1, 2, 0x7ffc45aa270c) = 0");
    t(&m, __NR_futex, &[f, u64::from(FUTEX_CMP_REQUEUE_PRIVATE), 1, 2, f, 0], 0, "futex(0x7ffc45aa270c, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, 0x7ffc45aa270c, 0) = 0");
    let wake_op = u64::from(FUTEX_OP_SET << 28 | FUTEX_OP_CMP_GT << 24 | 1);
    t(&m, __NR_futex, &[f, u64::from(FUTEX_WAKE_OP_PRIVATE), 1, 1, f, wake_op], 0, "futex(0x7ffc45aa270c, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x7ffc45aa270c, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 0");
    t(&m, __NR_futex, &[f, u64::from(FUTEX_LOCK_PI_PRIVATE), 0, 0], 0, "futex(0x7ffc45aa270c, FUTEX_LOCK_PI_PRIVATE, NULL) = 0");
    t(&m, __NR_futex, &[f, u64::from(FUTEX_UNLOCK_PI)], 0, "futex(0x7ffc45aa270c, FUTEX_UNLOCK_PI) = 0");
    t(&m, __NR_futex, &[f, 99, 1, 2, 3, 4], err(ENOSYS), "futex(0x7ffc45aa270c, 0x63 /* FUTEX_??? */, 1, 0x2, 0x3, 0x4) = -1 ENOSYS (Function not implemented)");
}

#[test]
fn processes() {
    let mut m = Mem::new();
    t(&m, __NR_clone, &[17, 0, 0, 0, 0], 6114, "clone(child_stack=NULL, flags=SIGCHLD) = 6114");
    let fl = u64::from(CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | 17);
    t(&m, __NR_clone, &[fl, 0, 0, 0x7ffc45aa270c, 0], 6115, "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7ffc45aa270c) = 6115");
    t(&m, __NR_clone, &[0, 0, 0, 0, 0x5000], 17414, "clone(child_stack=NULL, flags=0) = 17414");
    let tid = m.u32s(&[6116]);
    let fl = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID;
    let args = [u64::from(fl) | 1 << 40, 0x1000, tid, 0x7ffc45aa270c, 0x5000];
    let want = "clone(child_stack=0x1000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID|0x10000000000, parent_tid=[6116], tls=0x5000, child_tidptr=0x7ffc45aa270c) = 6116";
    t(&m, __NR_clone, &args, 6116, want);
    let ca =
        |m: &mut Mem, flags: u64, child_tid: u64, sig: u64, stack: u64, tls: u64, cgroup: u64| {
            m.u64s(&[
                flags,
                0x1234,
                child_tid,
                0x5678,
                sig,
                stack,
                stack * 2,
                tls,
                0,
                0,
                cgroup,
            ])
        };
    let a = ca(&mut m, u64::from(CLONE_VM | CLONE_VFORK | CLONE_THREAD), 0, 17, 0x1000, 0, 0);
    t(&m, __NR_clone3, &[a, 88], err(EINVAL), "clone3({flags=CLONE_VM|CLONE_VFORK|CLONE_THREAD, exit_signal=SIGCHLD, stack=0x1000, stack_size=0x2000}, 88) = -1 EINVAL (Invalid argument)");
    let fl = u64::from(CLONE_VM | CLONE_SETTLS | CLONE_CHILD_SETTID) | 0x4_0000_0000;
    let a = ca(&mut m, fl, 0x7ffed879fc5c, 0, 0x1000, 0x77, 0);
    t(&m, __NR_clone3, &[a, 88], err(EINVAL), "clone3({flags=CLONE_VM|CLONE_SETTLS|CLONE_CHILD_SETTID|0x400000000, child_tid=0x7ffed879fc5c, exit_signal=0, stack=0x1000, stack_size=0x2000, tls=0x77}, 88) = -1 EINVAL (Invalid argument)");
    let a = ca(&mut m, 0, 0, 0, 0, 0, 5);
    t(&m, __NR_clone3, &[a, 88], 17409, "clone3({flags=0, exit_signal=0, stack=NULL, stack_size=0, cgroup=5}, 88) = 17409");
    t(&m, __NR_clone3, &[a, 64], 17412, "clone3({flags=0, exit_signal=0, stack=NULL, stack_size=0}, 64) = 17412");
    t(&m, __NR_clone3, &[a, 32], err(EINVAL), &format!("clone3({a:#x}, 32) = -1 EINVAL (Invalid argument)"));
    t(&m, __NR_clone3, &[BAD, 88], err(EFAULT), "clone3(0x8, 88) = -1 EFAULT (Bad address)");
    let st = m.u32s(&[3 << 8, 9, 0x8b, 0x137f, 0xffff]);
    t(&m, __NR_wait4, &[6114, st, 0, 0], 6114, "wait4(6114, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 6114");
    t(&m, __NR_wait4, &[NEG1, st + 4, 0, 0], 6115, "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = 6115");
    t(&m, __NR_wait4, &[NEG1, st + 8, 0, 0], 6116, "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}], 0, NULL) = 6116");
    t(&m, __NR_wait4, &[NEG1, st + 12, 2, 0], 6117, "wait4(-1, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WSTOPPED, NULL) = 6117");
    t(&m, __NR_wait4, &[NEG1, st + 16, 8, 0], 6118, "wait4(-1, [{WIFCONTINUED(s)}], WCONTINUED, NULL) = 6118");
    let fl = u64::from(WNOHANG | __WALL);
    t(&m, __NR_wait4, &[NEG1, st, fl, 0], 0, &format!("wait4(-1, {st:#x}, WNOHANG|__WALL, NULL) = 0"));
    t(&m, __NR_wait4, &[NEG1, st, 0, 0], -10, &format!("wait4(-1, {st:#x}, 0, NULL) = -1 ECHILD (No child processes)"));
    let ru = m.u64s(&[0, 1234, 1, 0]);
    t(&m, __NR_wait4, &[NEG1, 0, 0, ru], 7, "wait4(-1, NULL, 0, {ru_utime={tv_sec=0, tv_usec=1234}, ru_stime={tv_sec=1, tv_usec=0}, ...}) = 7");
    let (path, a1, a2) = (m.s("/nonexist/x"), m.s("a b"), m.s("\n"));
    let argv = m.u64s(&[path, a1, a2, 0]);
    let envp = m.u64s(&[a1, 0]);
    let want = format!(r#"execve("/nonexist/x", ["/nonexist/x", "a b", "\n"], {envp:#x} /* 1 var */) = -1 ENOENT (No such file or directory)"#);
    t(&m, __NR_execve, &[path, argv, envp], err(ENOENT), &want);
    t(&m, __NR_execve, &[path, 0, 0], err(ENOENT), r#"execve("/nonexist/x", NULL, NULL) = -1 ENOENT (No such file or directory)"#);
    t(&m, __NR_execve, &[path, BAD, BAD], err(ENOENT), r#"execve("/nonexist/x", 0x8, 0x8) = -1 ENOENT (No such file or directory)"#);
    let x = m.s("x");
    let mut v = [x; 40];
    v[39] = 0;
    let many = m.u64s(&v);
    let want = format!(r#"execve("/nonexist/x", [{}, ...], {many:#x} /* 39 vars */) = -1 ENOENT (No such file or directory)"#, [r#""x""#; 32].join(", "));
    t(&m, __NR_execve, &[path, many, many], err(ENOENT), &want);
    let bad_elem = m.u64s(&[x, BAD, 0]);
    let want = format!(r#"execve("/nonexist/x", ["x", 0x8], {bad_elem:#x} /* 2 vars */) = -1 ENOENT (No such file or directory)"#);
    t(&m, __NR_execve, &[path, bad_elem, bad_elem], err(ENOENT), &want);
    t(&m, __NR_exit, &[3], 0, "exit(3) = 0");
}

#[test]
fn sockets() {
    let mut m = Mem::new();
    let (inet, inet6, unix, netlink) = (2, 10, 1, 16);
    t(&m, __NR_socket, &[inet, 1 | u64::from(O_CLOEXEC), 6], 3, "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3");
    t(&m, __NR_socket, &[inet, 2, 0], 4, "socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 4");
    t(&m, __NR_socket, &[unix, 1 | u64::from(O_NONBLOCK), 0], 5, "socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK, 0) = 5");
    t(&m, __NR_socket, &[inet6, 3, 58], 6, "socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) = 6");
    t(&m, __NR_socket, &[netlink, 3, 0], 7, "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) = 7");
    t(&m, __NR_socket, &[99, 1, 99], err(EINVAL), "socket(0x63 /* AF_??? */, SOCK_STREAM, 99) = -1 EINVAL (Invalid argument)");
    let sin = m.put(&[2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let want = r#"connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)"#;
    t(&m, __NR_connect, &[3, sin, 16], -111, want);
    let mut sun = [0u8; 110];
    sun[0] = 1;
    sun[2..22].copy_from_slice(b"/var/run/nscd/socket");
    let sun = m.put(&sun);
    t(&m, __NR_connect, &[8, sun, 110], err(ENOENT), r#"connect(8, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)"#);
    t(&m, __NR_connect, &[8, sun, 7], -111, r#"connect(8, {sa_family=AF_UNIX, sun_path="/var/"}, 7) = -1 ECONNREFUSED (Connection refused)"#);
    let abs = m.put(b"\x01\x00\x00abc");
    t(&m, __NR_bind, &[8, abs, 6], 0, r#"bind(8, {sa_family=AF_UNIX, sun_path=@"abc"}, 6) = 0"#);
    let mut s6 = [0u8; 28];
    s6[0] = 10;
    s6[2..4].copy_from_slice(&443u16.to_be_bytes());
    s6[23] = 1;
    let s6 = m.put(&s6);
    let want = r#"bind(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 EADDRINUSE (Address already in use)"#;
    t(&m, __NR_bind, &[9, s6, 28], -98, want);
    for (addr, text) in [
        ([0u16; 8], "::"),
        ([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], "fe80::"),
        ([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], "::ffff:1.2.3.4"),
        ([0, 0, 0, 0, 0, 0, 0x0102, 0x0304], "::1.2.3.4"),
        ([1, 2, 3, 4, 5, 6, 7, 8], "1:2:3:4:5:6:7:8"),
        ([1, 0, 3, 4, 5, 6, 7, 8], "1:0:3:4:5:6:7:8"),
    ] {
        let mut b = [0u8; 28];
        b[0] = 10;
        for (i, w) in addr.iter().enumerate() {
            b[8 + 2 * i..10 + 2 * i].copy_from_slice(&w.to_be_bytes());
        }
        let a = m.put(&b);
        let want = format!(r#"bind(9, {{sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "{text}", &sin6_addr), sin6_scope_id=0}}, 28) = 0"#);
        t(&m, __NR_bind, &[9, a, 28], 0, &want);
    }
    let len = m.u32s(&[16, 4]);
    t(&m, __NR_getsockname, &[3, sin, len], 0, r#"getsockname(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, [16]) = 0"#);
    t(&m, __NR_accept4, &[3, sin, len, u64::from(O_NONBLOCK)], -11, &format!("accept4(3, {sin:#x}, [16], SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)"));
    t(&m, __NR_accept, &[99, 0, 0], err(EBADF), "accept(99, NULL, NULL) = -1 EBADF (Bad file descriptor)");
    t(&m, __NR_listen, &[3, 128], 0, "listen(3, 128) = 0");
    let one = m.u32s(&[1]);
    t(&m, __NR_setsockopt, &[3, 1, 2, one, 4], 0, "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0");
    t(&m, __NR_setsockopt, &[3, 6, 1, one, 4], 0, "setsockopt(3, SOL_TCP, TCP_NODELAY, [1], 4) = 0");
    t(&m, __NR_setsockopt, &[3, 6, 99, one, 8], 0, &format!("setsockopt(3, SOL_TCP, 99, {one:#x}, 8) = 0"));
    t(&m, __NR_getsockopt, &[3, 1, 4, len + 4, len + 4], 0, "getsockopt(3, SOL_SOCKET, SO_ERROR, [4], [4]) = 0");
    t(&m, __NR_shutdown, &[3, 2], 0, "shutdown(3, SHUT_RDWR) = 0");
    let sv = m.u32s(&[11, 12]);
    t(&m, __NR_socketpair, &[unix, 1, 0, sv], 0, "socketpair(AF_UNIX, SOCK_STREAM, 0, [11, 12]) = 0");
    let hi = m.put(b"hi");
    t(&m, __NR_sendto, &[11, hi, 2, 0x4000, 0, 0], 2, r#"sendto(11, "hi", 2, MSG_NOSIGNAL, NULL, 0) = 2"#);
    t(&m, __NR_recvfrom, &[12, hi, 64, 0x40, 0, 0], 2, r#"recvfrom(12, "hi", 64, MSG_DONTWAIT, NULL, NULL) = 2"#);
    let want = format!("recvfrom(12, {hi:#x}, 64, MSG_PEEK|MSG_DONTWAIT|0x100000, {sin:#x}, [4]) = -1 EAGAIN (Resource temporarily unavailable)");
    t(&m, __NR_recvfrom, &[12, hi, 64, 0x10_0042, sin, len + 4], -11, &want);
}

#[test]
fn polling() {
    let mut m = Mem::new();
    let pfd = m.put(&[12, 0, 0, 0, 3, 0, 0, 0, 11, 0, 0, 0, 4, 0, 4, 0]);
    t(&m, __NR_poll, &[pfd, 2, 0], 1, "poll([{fd=12, events=POLLIN|POLLPRI}, {fd=11, events=POLLOUT}], 2, 0) = 1 ([{fd=11, revents=POLLOUT}])");
    t(&m, __NR_poll, &[pfd, 1, 0], 0, "poll([{fd=12, events=POLLIN|POLLPRI}], 1, 0) = 0 (Timeout)");
    t(&m, __NR_poll, &[0, 0, 1], 0, "poll(NULL, 0, 1) = 0 (Timeout)");
    t(&m, __NR_poll, &[pfd, 1, NEG1], err(EINTR), "poll([{fd=12, events=POLLIN|POLLPRI}], 1, -1) = -1 EINTR (Interrupted system call)");
    t(&m, __NR_epoll_create1, &[u64::from(EPOLL_CLOEXEC)], 13, "epoll_create1(EPOLL_CLOEXEC) = 13");
    t(&m, __NR_epoll_create, &[5], 14, "epoll_create(5) = 14");
    let ev = m.put(&[
        0x01, 0, 0, 0x80, 5, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0,
    ]);
    t(&m, __NR_epoll_ctl, &[13, 1, 11, ev], 0, "epoll_ctl(13, EPOLL_CTL_ADD, 11, {events=EPOLLIN|EPOLLET, data={u32=5, u64=4294967301}}) = 0");
    t(&m, __NR_epoll_ctl, &[13, 2, 11, 0], 0, "epoll_ctl(13, EPOLL_CTL_DEL, 11, NULL) = 0");
    let out = ev + 12;
    t(&m, __NR_epoll_wait, &[13, out, 4, 0], 1, "epoll_wait(13, [{events=EPOLLOUT, data={u32=5, u64=4294967301}}], 4, 0) = 1");
    t(&m, __NR_epoll_wait, &[13, out, 4, 0], 0, "epoll_wait(13, [], 4, 0) = 0");
    let want =
        "epoll_pwait(13, [{events=EPOLLOUT, data={u32=5, u64=4294967301}}], 4, 0, NULL, 8) = 1";
    t(&m, __NR_epoll_pwait, &[13, out, 4, 0, 0, 8], 1, want);
}

#[test]
fn timers_and_ppoll() {
    let mut m = Mem::new();
    let itv = m.u64s(&[0, 0, 1, 500]);
    t(&m, __NR_getitimer, &[0, itv], 0, "getitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=1, tv_usec=500}}) = 0");
    t(&m, __NR_setitimer, &[2, itv, 0], 0, "setitimer(ITIMER_PROF, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=1, tv_usec=500}}, NULL) = 0");
    let pfd = m.put(&[0, 0, 0, 0, 1, 0, 1, 0]);
    let (ts, set) = (m.u64s(&[0, 0]), m.u64s(&[2]));
    t(&m, __NR_ppoll, &[pfd, 1, ts, set, 8], 1, "ppoll([{fd=0, events=POLLIN}], 1, {tv_sec=0, tv_nsec=0}, [INT], 8) = 1 ([{fd=0, revents=POLLIN}], left {tv_sec=0, tv_nsec=0})");
    t(&m, __NR_ppoll, &[pfd, 1, 0, 0, 8], 1, "ppoll([{fd=0, events=POLLIN}], 1, NULL, NULL, 8) = 1 ([{fd=0, revents=POLLIN}])");
    t(&m, __NR_ppoll, &[pfd, 1, ts, 0, 8], 0, "ppoll([{fd=0, events=POLLIN}], 1, {tv_sec=0, tv_nsec=0}, NULL, 8) = 0 (Timeout)");
    t(&m, __NR_sched_setaffinity, &[0, 8, set], 0, "sched_setaffinity(0, 8, [1]) = 0");
    t(&m, __NR_rt_sigpending, &[set, 8], 0, "rt_sigpending([INT], 8) = 0");
    let ru = m.u64s(&[0, 806, 0, 0]);
    t(&m, __NR_getrusage, &[0, ru], 0, "getrusage(RUSAGE_SELF, {ru_utime={tv_sec=0, tv_usec=806}, ru_stime={tv_sec=0, tv_usec=0}, ...}) = 0");
    t(&m, __NR_getrusage, &[NEG1, ru], 0, "getrusage(RUSAGE_CHILDREN, {ru_utime={tv_sec=0, tv_usec=806}, ru_stime={tv_sec=0, tv_usec=0}, ...}) = 0");
    t(&m, __NR_flock, &[3, 6], 0, "flock(3, LOCK_EX|LOCK_NB) = 0");
    t(&m, __NR_fallocate, &[3, 0, 0, 4096], 0, "fallocate(3, 0, 0, 4096) = 0");
    t(&m, __NR_fallocate, &[3, 3, 0, 4096], 0, "fallocate(3, FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE, 0, 4096) = 0");
    t(&m, __NR_msync, &[0x7f0f1251c000, 4096, 6], 0, "msync(0x7f0f1251c000, 4096, MS_SYNC|MS_INVALIDATE) = 0");
    t(&m, __NR_mlockall, &[3], 0, "mlockall(MCL_CURRENT|MCL_FUTURE) = 0");
    t(&m, __NR_munlockall, &[], 0, "munlockall() = 0");
    t(&m, __NR_fchown, &[3, NEG1, NEG1], 0, "fchown(3, -1, -1) = 0");
    let (zz, ln) = (m.s("/tmp/st/zz"), m.s("/tmp/st/ln3"));
    t(&m, __NR_linkat, &[AT_FDCWD as u64, zz, AT_FDCWD as u64, ln, u64::from(AT_SYMLINK_FOLLOW)], 0, r#"linkat(AT_FDCWD, "/tmp/st/zz", AT_FDCWD, "/tmp/st/ln3", AT_SYMLINK_FOLLOW) = 0"#);
    t(&m, __NR_symlinkat, &[zz, AT_FDCWD as u64, ln], 0, r#"symlinkat("/tmp/st/zz", AT_FDCWD, "/tmp/st/ln3") = 0"#);
    t(&m, __NR_truncate, &[zz, 100], 0, r#"truncate("/tmp/st/zz", 100) = 0"#);
    t(&m, __NR_getpriority, &[0, 0], 20, "getpriority(PRIO_PROCESS, 0) = 20");
    t(&m, __NR_sendmsg, &[NEG1, 0, 0x4000], err(EBADF), "sendmsg(-1, NULL, MSG_NOSIGNAL) = -1 EBADF (Bad file descriptor)");
    t(&m, __NR_epoll_pwait2, &[NEG1, 0, 1, 0, 0, 8], err(EBADF), "epoll_pwait2(-1, NULL, 1, NULL, NULL, 8) = -1 EBADF (Bad file descriptor)");
}
