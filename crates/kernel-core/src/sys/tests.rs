//! Syscalls through `dispatch`, the real entry, on the fakes: return values (`-errno` on failure) and the
//! bytes left in the program's memory, as Linux x86_64 produces them. Doubtful cases were checked against a
//! Linux 6.18 host with small C programs.

use linux_raw_sys::general::*;
use linux_raw_sys::ioctl::{TCGETS, TIOCGWINSZ};

use crate::errno::Errno;
use crate::process::RLIM_INFINITY;
use crate::testing::{
    neg, random_bytes, Harness, BRK_START, MMAP_BASE, RNG_SEED, SCRATCH, SCRATCH_LEN,
};
use crate::vfs::Fs;

const AT_FDCWD: u64 = -100i64 as u64;
/// Where the tests put their inputs and let the kernel put its outputs.
const IN: u64 = SCRATCH;
const OUT: u64 = SCRATCH + 0x4000;
const UNMAPPED: u64 = 0x2000_0000;

fn h() -> Harness {
    Harness::new()
}

/// A harness with `/etc/motd` (0644, "hello, nutshell\n") and `/etc/empty` in the tmpfs.
fn with_files() -> Harness {
    let mut fs = Fs::new();
    fs.insert(b"/etc/motd", 0o100644, b"hello, nutshell\n")
        .expect("insert");
    fs.insert(b"/etc/empty", 0o100600, b"").expect("insert");
    Harness::with_fs(fs)
}

/// Put a NUL-terminated string at `addr`.
fn cstr(t: &mut Harness, addr: u64, s: &str) -> u64 {
    t.poke(addr, s.as_bytes());
    t.poke(addr + s.len() as u64, &[0]);
    addr
}

fn open(t: &mut Harness, path: &str, flags: u32) -> i64 {
    let p = cstr(t, IN + 0x800, path);
    t.call(__NR_openat, &[AT_FDCWD, p, u64::from(flags)])
}

/// A u64 field of a struct in a byte buffer.
fn field64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn field32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

// ---- console I/O ----

#[test]
fn write_reaches_stdout_and_stderr() {
    let mut t = h();
    t.poke(IN, b"to out");
    t.poke(IN + 100, b"to err");
    assert_eq!(t.call(__NR_write, &[1, IN, 6]), 6);
    assert_eq!(t.call(__NR_write, &[2, IN + 100, 6]), 6);
    assert_eq!(t.call(__NR_write, &[1, IN, 2]), 2);
    assert_eq!(t.plat.stdout, b"to outto");
    assert_eq!(t.plat.stderr, b"to err");
    assert_eq!(t.call(__NR_write, &[1, IN, 0]), 0);
    assert_eq!(
        t.call(__NR_write, &[1, 0, 0]),
        0,
        "count 0: the pointer is not looked at (as Linux)"
    );
    assert_eq!(t.plat.stdout, b"to outto");
}

#[test]
fn write_of_more_than_a_page_and_more_than_one_chunk() {
    let mut t = h();
    let data: Vec<u8> = (0..SCRATCH_LEN as u32).map(|i| (i % 251) as u8).collect();
    t.poke(SCRATCH, &data);
    assert_eq!(
        t.call(__NR_write, &[2, SCRATCH, SCRATCH_LEN]),
        SCRATCH_LEN as i64
    );
    assert_eq!(t.plat.stderr, data);
}

#[test]
fn writev_gathers_in_order() {
    let mut t = h();
    t.poke(IN, b"ab");
    t.poke(IN + 16, b"cde");
    let iov = [IN, 2, IN + 8, 0, IN + 16, 3];
    let bytes: Vec<u8> = iov.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.poke(IN + 0x100, &bytes);
    assert_eq!(t.call(__NR_writev, &[1, IN + 0x100, 3]), 5);
    assert_eq!(t.plat.stdout, b"abcde");
    assert_eq!(t.call(__NR_writev, &[2, IN + 0x100, 1]), 2);
    assert_eq!(t.plat.stderr, b"ab");
    assert_eq!(t.call(__NR_writev, &[1, IN + 0x100, 0]), 0);
    assert_eq!(
        t.call(__NR_writev, &[1, IN + 0x100, 1025]),
        neg(Errno::EINVAL),
        "more than IOV_MAX"
    );
    assert_eq!(
        t.call(__NR_writev, &[1, IN + 0x100, u64::MAX]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_writev, &[1, UNMAPPED, 1]),
        neg(Errno::EFAULT),
        "iovec array unreadable"
    );
    assert_eq!(t.call(__NR_writev, &[9, IN + 0x100, 3]), neg(Errno::EBADF));
    // A bad buffer in the first iovec: EFAULT; in a later one: the count so far.
    let bad: Vec<u8> = [IN, 2, UNMAPPED, 4]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    t.poke(IN + 0x200, &bad);
    assert_eq!(t.call(__NR_writev, &[1, IN + 0x200, 2]), 2);
    assert_eq!(t.call(__NR_writev, &[1, IN + 0x210, 1]), neg(Errno::EFAULT));
    assert_eq!(t.plat.stdout, b"abcdeab");
}

#[test]
fn read_from_stdin_until_end_of_file() {
    let mut t = h();
    t.plat.stdin.push_back(b"line 1\n".to_vec());
    t.plat.stdin.push_back(b"tail".to_vec());
    t.poke(OUT, &[0xaa; 16]);
    assert_eq!(t.call(__NR_read, &[0, OUT, 0]), 0, "count 0 reads nothing");
    assert_eq!(t.plat.reads, 0);
    assert_eq!(t.call(__NR_read, &[0, OUT, 3]), 3);
    assert_eq!(t.peek(OUT, 4), b"lin\xaa");
    assert_eq!(t.call(__NR_read, &[0, OUT, 100]), 4, "the rest of the line");
    assert_eq!(t.peek(OUT, 5), b"e 1\n\xaa");
    assert_eq!(t.call(__NR_read, &[0, OUT, 100]), 4);
    assert_eq!(t.peek(OUT, 4), b"tail");
    assert_eq!(t.call(__NR_read, &[0, OUT, 100]), 0, "end of file");
    assert_eq!(t.call(__NR_read, &[0, OUT, 100]), 0, "and again");
    assert_eq!(t.peek(OUT, 5), b"tail\xaa");
}

#[test]
fn readv_scatters() {
    let mut t = h();
    t.plat.stdin.push_back(b"abcdefgh".to_vec());
    let iov: Vec<u8> = [OUT, 3, OUT + 100, 10]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    t.poke(IN, &iov);
    assert_eq!(t.call(__NR_readv, &[0, IN, 2]), 8);
    assert_eq!(t.peek(OUT, 3), b"abc");
    assert_eq!(t.peek(OUT + 100, 5), b"defgh");
}

#[test]
fn bad_descriptors_are_ebadf() {
    let mut t = h();
    t.poke(IN, b"x");
    for fd in [3, 99, 1 << 40, u64::MAX] {
        assert_eq!(
            t.call(__NR_write, &[fd, IN, 1]),
            neg(Errno::EBADF),
            "write {fd}"
        );
        assert_eq!(
            t.call(__NR_read, &[fd, OUT, 1]),
            neg(Errno::EBADF),
            "read {fd}"
        );
        assert_eq!(t.call(__NR_close, &[fd]), neg(Errno::EBADF), "close {fd}");
        assert_eq!(
            t.call(__NR_fstat, &[fd, OUT]),
            neg(Errno::EBADF),
            "fstat {fd}"
        );
        assert_eq!(
            t.call(__NR_lseek, &[fd, 0, 0]),
            neg(Errno::EBADF),
            "lseek {fd}"
        );
        assert_eq!(
            t.call(__NR_ioctl, &[fd, u64::from(TCGETS), OUT]),
            neg(Errno::EBADF),
            "ioctl {fd}"
        );
    }
    assert_eq!(t.call(__NR_close, &[1]), 0);
    assert_eq!(t.call(__NR_write, &[1, IN, 1]), neg(Errno::EBADF), "closed");
    assert_eq!(t.call(__NR_read, &[0, OUT, 0]), 0);
    assert!(t.plat.stdout.is_empty());
}

#[test]
fn bad_pointers_are_efault() {
    let mut t = h();
    t.plat.stdin.push_back(b"input".to_vec());
    assert_eq!(t.call(__NR_write, &[1, UNMAPPED, 5]), neg(Errno::EFAULT));
    assert_eq!(t.call(__NR_write, &[1, 0, 5]), neg(Errno::EFAULT));
    assert_eq!(
        t.call(__NR_write, &[1, u64::MAX - 2, 5]),
        neg(Errno::EFAULT),
        "wrapping range"
    );
    assert!(t.plat.stdout.is_empty());
    assert_eq!(t.call(__NR_read, &[0, UNMAPPED, 5]), neg(Errno::EFAULT));
    assert_eq!(
        t.call(__NR_clock_gettime, &[u64::from(CLOCK_MONOTONIC), UNMAPPED]),
        neg(Errno::EFAULT)
    );
    assert_eq!(
        t.call(__NR_clock_gettime, &[u64::from(CLOCK_MONOTONIC), 0]),
        neg(Errno::EFAULT)
    );
    assert_eq!(t.call(__NR_uname, &[0]), neg(Errno::EFAULT));
    assert_eq!(
        t.call(__NR_getrandom, &[UNMAPPED, 16, 0]),
        neg(Errno::EFAULT)
    );
    assert_eq!(t.call(__NR_openat, &[AT_FDCWD, 0, 0]), neg(Errno::EFAULT));
    assert_eq!(
        t.call(__NR_openat, &[AT_FDCWD, UNMAPPED, 0]),
        neg(Errno::EFAULT)
    );
    assert_eq!(t.call(__NR_fstat, &[1, UNMAPPED]), neg(Errno::EFAULT));
    assert_eq!(t.call(__NR_nanosleep, &[UNMAPPED, 0]), neg(Errno::EFAULT));
    // Read-only memory is a bad destination.
    let ro = t.call(
        __NR_mmap,
        &[
            0,
            4096,
            u64::from(PROT_READ),
            u64::from(MAP_PRIVATE | MAP_ANONYMOUS),
            u64::MAX,
            0,
        ],
    );
    assert!(ro > 0);
    assert_eq!(t.call(__NR_uname, &[ro as u64]), neg(Errno::EFAULT));
    assert_eq!(
        t.call(__NR_write, &[1, ro as u64, 3]),
        3,
        "but a good source"
    );
    assert_eq!(t.plat.stdout, [0, 0, 0]);
}

// ---- files of the tmpfs ----

#[test]
fn openat_of_a_missing_file_is_enoent() {
    let mut t = with_files();
    assert_eq!(open(&mut t, "/etc/nope", O_RDONLY), neg(Errno::ENOENT));
    assert_eq!(open(&mut t, "/nope/motd", O_RDONLY), neg(Errno::ENOENT));
    assert_eq!(open(&mut t, "", O_RDONLY), neg(Errno::ENOENT));
    assert_eq!(open(&mut t, "/etc/motd/x", O_RDONLY), neg(Errno::ENOTDIR));
    assert_eq!(
        open(&mut t, "/etc/motd", O_RDONLY | O_DIRECTORY),
        neg(Errno::ENOTDIR)
    );
    assert_eq!(open(&mut t, "/etc", O_WRONLY), neg(Errno::EISDIR));
    assert_eq!(
        open(&mut t, "/etc/motd", O_RDONLY | O_CREAT | O_EXCL),
        neg(Errno::EEXIST)
    );
    assert_eq!(
        t.p.fds.iter().filter(|f| f.is_some()).count(),
        3,
        "no descriptor leaked"
    );
}

#[test]
fn open_read_lseek_pread() {
    let mut t = with_files();
    let fd = open(&mut t, "/etc/motd", O_RDONLY);
    assert_eq!(fd, 3, "the lowest free descriptor");
    let fd = fd as u64;
    assert_eq!(t.call(__NR_read, &[fd, OUT, 5]), 5);
    assert_eq!(t.peek(OUT, 5), b"hello");
    assert_eq!(t.call(__NR_read, &[fd, OUT, 2]), 2);
    assert_eq!(t.peek(OUT, 2), b", ");
    assert_eq!(t.call(__NR_lseek, &[fd, 0, u64::from(SEEK_CUR)]), 7);
    assert_eq!(
        t.call(__NR_lseek, &[fd, -9i64 as u64, u64::from(SEEK_END)]),
        7
    );
    assert_eq!(t.call(__NR_read, &[fd, OUT, 100]), 9);
    assert_eq!(t.peek(OUT, 9), b"nutshell\n");
    assert_eq!(t.call(__NR_read, &[fd, OUT, 100]), 0, "end of file");
    assert_eq!(
        t.call(__NR_lseek, &[fd, 100, u64::from(SEEK_SET)]),
        100,
        "past the end is allowed"
    );
    assert_eq!(t.call(__NR_read, &[fd, OUT, 100]), 0);
    assert_eq!(
        t.call(__NR_lseek, &[fd, -1i64 as u64, u64::from(SEEK_SET)]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_lseek, &[fd, 0, 7]),
        neg(Errno::EINVAL),
        "bad whence"
    );
    assert_eq!(t.call(__NR_lseek, &[fd, 2, u64::from(SEEK_SET)]), 2);
    // pread64 reads at an offset and leaves the position alone.
    assert_eq!(t.call(__NR_pread64, &[fd, OUT, 4, 7]), 4);
    assert_eq!(t.peek(OUT, 4), b"nuts");
    assert_eq!(t.call(__NR_pread64, &[fd, OUT, 4, 1000]), 0);
    assert_eq!(
        t.call(__NR_pread64, &[fd, OUT, 4, -1i64 as u64]),
        neg(Errno::EINVAL)
    );
    assert_eq!(t.call(__NR_read, &[fd, OUT, 3]), 3);
    assert_eq!(t.peek(OUT, 3), b"llo", "position 2 was kept");
    // Read-only file: no writing.
    t.poke(IN, b"x");
    assert_eq!(t.call(__NR_write, &[fd, IN, 1]), neg(Errno::EBADF));
    assert_eq!(t.call(__NR_read, &[fd, UNMAPPED, 3]), neg(Errno::EFAULT));
    // The console cannot seek.
    assert_eq!(
        t.call(__NR_lseek, &[0, 0, u64::from(SEEK_CUR)]),
        neg(Errno::ESPIPE)
    );
    assert_eq!(t.call(__NR_pread64, &[0, OUT, 1, 0]), neg(Errno::ESPIPE));
    // Closing frees the slot for the next open.
    assert_eq!(t.call(__NR_close, &[fd]), 0);
    assert_eq!(t.call(__NR_read, &[fd, OUT, 1]), neg(Errno::EBADF));
    assert_eq!(open(&mut t, "/etc/empty", O_RDONLY), 3);
    assert_eq!(t.call(__NR_read, &[3, OUT, 10]), 0);
}

/// The 144-byte struct stat of x86_64, checked field by field.
fn check_motd_stat(st: &[u8]) {
    assert_ne!(field64(st, 8), 0, "st_ino");
    assert_eq!(field64(st, 16), 1, "st_nlink");
    assert_eq!(field32(st, 24), 0o100644, "st_mode");
    assert_eq!(field32(st, 28), 0, "st_uid");
    assert_eq!(field32(st, 32), 0, "st_gid");
    assert_eq!(field32(st, 36), 0, "__pad0");
    assert_eq!(field64(st, 40), 0, "st_rdev");
    assert_eq!(field64(st, 48), 16, "st_size");
    assert_eq!(field64(st, 56), 4096, "st_blksize");
    assert_eq!(
        field64(st, 64),
        8,
        "st_blocks (512-byte units, whole pages as tmpfs)"
    );
    assert_eq!(st[120..144], [0; 24], "__unused");
}

#[test]
fn fstat_and_newfstatat_fill_struct_stat() {
    let mut t = with_files();
    let fd = open(&mut t, "/etc/motd", O_RDONLY) as u64;
    t.poke(OUT, &[0xaa; 160]);
    assert_eq!(t.call(__NR_fstat, &[fd, OUT]), 0);
    let st = t.peek(OUT, 160);
    check_motd_stat(&st);
    assert_eq!(st[144..], [0xaa; 16], "nothing written past the struct");
    let ino = field64(&st, 8);

    // newfstatat(fd, "", AT_EMPTY_PATH) is fstat.
    let empty = cstr(&mut t, IN, "");
    t.poke(OUT, &[0xaa; 144]);
    assert_eq!(
        t.call(__NR_newfstatat, &[fd, empty, OUT, u64::from(AT_EMPTY_PATH)]),
        0
    );
    assert_eq!(t.peek(OUT, 144), st[..144]);
    assert_eq!(
        t.call(__NR_newfstatat, &[fd, empty, OUT, 0]),
        neg(Errno::ENOENT),
        "empty path without the flag"
    );
    assert_eq!(
        t.call(__NR_newfstatat, &[99, empty, OUT, u64::from(AT_EMPTY_PATH)]),
        neg(Errno::EBADF)
    );

    // By path, from the cwd and relative to it.
    let path = cstr(&mut t, IN, "/etc/motd");
    t.poke(OUT, &[0xaa; 144]);
    assert_eq!(t.call(__NR_newfstatat, &[AT_FDCWD, path, OUT, 0]), 0);
    let st2 = t.peek(OUT, 144);
    check_motd_stat(&st2);
    assert_eq!(field64(&st2, 8), ino, "same inode");
    let rel = cstr(&mut t, IN, "etc/motd");
    assert_eq!(t.call(__NR_newfstatat, &[AT_FDCWD, rel, OUT, 0]), 0);
    assert_eq!(t.peek(OUT, 144), st2);
    assert_eq!(t.call(__NR_stat, &[path, OUT]), 0);
    assert_eq!(t.peek(OUT, 144), st2);
    let dir = cstr(&mut t, IN, "/etc");
    assert_eq!(t.call(__NR_newfstatat, &[AT_FDCWD, dir, OUT, 0]), 0);
    assert_eq!(t.peek_u32(OUT + 24), 0o040755, "a directory");
    assert_eq!(t.peek_u64(OUT + 16), 2, "st_nlink of a directory");
    assert_eq!(
        t.call(
            __NR_newfstatat,
            &[AT_FDCWD, empty, OUT, u64::from(AT_EMPTY_PATH)]
        ),
        0
    );
    assert_eq!(t.peek_u32(OUT + 24), 0o040755, "the cwd, /");
    let missing = cstr(&mut t, IN + 0x100, "/etc/none");
    assert_eq!(
        t.call(__NR_newfstatat, &[AT_FDCWD, missing, OUT, 0]),
        neg(Errno::ENOENT)
    );
    assert_eq!(
        t.call(__NR_newfstatat, &[AT_FDCWD, path, OUT, 0x8000_0000]),
        neg(Errno::EINVAL),
        "bad flags"
    );
    assert_eq!(
        t.call(__NR_newfstatat, &[AT_FDCWD, path, UNMAPPED, 0]),
        neg(Errno::EFAULT)
    );
}

#[test]
fn fstat_of_the_console() {
    let mut t = h();
    t.plat.tty = [true, true, false];
    assert_eq!(t.call(__NR_fstat, &[1, OUT]), 0);
    assert_eq!(
        t.peek_u32(OUT + 24),
        0o020620,
        "a character device: /dev/pts/N"
    );
    assert_eq!(t.peek_u64(OUT + 40), 136 << 8, "st_rdev = makedev(136, 0)");
    assert_eq!(t.call(__NR_fstat, &[2, OUT]), 0);
    assert_eq!(
        t.peek_u32(OUT + 24) & 0o170000,
        0o010000,
        "not a terminal: a pipe"
    );
}

// ---- terminals ----

#[test]
fn ioctl_tcgets_on_a_tty_and_not() {
    let mut t = with_files();
    t.plat.tty = [true, true, false];
    t.poke(OUT, &[0xaa; 40]);
    assert_eq!(t.call(__NR_ioctl, &[1, u64::from(TCGETS), OUT]), 0);
    let tio = t.peek(OUT, 40);
    assert_ne!(field32(&tio, 12) & ICANON, 0, "c_lflag: canonical");
    assert_ne!(field32(&tio, 12) & ECHO, 0, "c_lflag: echo");
    assert_eq!(field32(&tio, 8) & CSIZE, CS8, "c_cflag: 8 bits");
    assert_eq!(tio[16], 0, "c_line");
    assert_eq!(tio[17 + VINTR as usize], 3, "^C");
    assert_eq!(tio[17 + VEOF as usize], 4, "^D");
    assert_eq!(tio[17 + VMIN as usize], 1);
    assert_eq!(tio[36..], [0xaa; 4], "struct termios is 36 bytes");
    assert_eq!(t.call(__NR_ioctl, &[0, u64::from(TCGETS), OUT]), 0);
    assert_eq!(
        t.call(__NR_ioctl, &[2, u64::from(TCGETS), OUT]),
        neg(Errno::ENOTTY),
        "not a terminal"
    );
    let fd = open(&mut t, "/etc/motd", O_RDONLY) as u64;
    assert_eq!(
        t.call(__NR_ioctl, &[fd, u64::from(TCGETS), OUT]),
        neg(Errno::ENOTTY),
        "a file"
    );
    assert_eq!(
        t.call(__NR_ioctl, &[1, u64::from(TCGETS), UNMAPPED]),
        neg(Errno::EFAULT)
    );
}

#[test]
fn ioctl_tiocgwinsz() {
    let mut t = h();
    t.plat.tty[1] = true;
    t.poke(OUT, &[0xaa; 10]);
    assert_eq!(t.call(__NR_ioctl, &[1, u64::from(TIOCGWINSZ), OUT]), 0);
    let ws = t.peek(OUT, 10);
    assert_eq!(u16::from_le_bytes([ws[0], ws[1]]), 24, "ws_row");
    assert_eq!(u16::from_le_bytes([ws[2], ws[3]]), 80, "ws_col");
    assert_eq!(ws[4..8], [0; 4], "no pixel sizes");
    assert_eq!(ws[8..], [0xaa; 2], "struct winsize is 8 bytes");
    assert_eq!(
        t.call(__NR_ioctl, &[2, u64::from(TIOCGWINSZ), OUT]),
        neg(Errno::ENOTTY)
    );
}

// ---- time ----

fn timespec_at(t: &mut Harness, addr: u64) -> (u64, u64) {
    (t.peek_u64(addr), t.peek_u64(addr + 8))
}

fn put_timespec(t: &mut Harness, addr: u64, sec: i64, nsec: i64) {
    t.poke(addr, &sec.to_le_bytes());
    t.poke(addr + 8, &nsec.to_le_bytes());
}

#[test]
fn clock_gettime_monotonic_and_realtime() {
    let mut t = h();
    t.plat.mono_ns = 12_345_678_901;
    t.plat.epoch_ns = 1_700_000_000_000_000_000;
    assert_eq!(
        t.call(__NR_clock_gettime, &[u64::from(CLOCK_MONOTONIC), OUT]),
        0
    );
    assert_eq!(timespec_at(&mut t, OUT), (12, 345_678_901));
    assert_eq!(
        t.call(__NR_clock_gettime, &[u64::from(CLOCK_REALTIME), OUT]),
        0
    );
    assert_eq!(timespec_at(&mut t, OUT), (1_700_000_012, 345_678_901));
    t.plat.mono_ns += 999_999_999;
    assert_eq!(
        t.call(__NR_clock_gettime, &[u64::from(CLOCK_BOOTTIME), OUT]),
        0
    );
    assert_eq!(timespec_at(&mut t, OUT), (13, 345_678_900));
    assert_eq!(t.call(__NR_clock_gettime, &[99, OUT]), neg(Errno::EINVAL));
    assert_eq!(t.call(__NR_gettimeofday, &[OUT, 0]), 0);
    assert_eq!(
        timespec_at(&mut t, OUT),
        (1_700_000_013, 345_678),
        "struct timeval in microseconds"
    );
}

#[test]
fn nanosleep_advances_the_clock() {
    let mut t = h();
    let start = t.plat.mono_ns;
    put_timespec(&mut t, IN, 1, 500_000_000);
    assert_eq!(t.call(__NR_nanosleep, &[IN, 0]), 0);
    assert_eq!(t.plat.mono_ns, start + 1_500_000_000);
    assert_eq!(t.plat.sleeps, [start + 1_500_000_000]);
    put_timespec(&mut t, IN, 0, 1_000_000_000);
    assert_eq!(
        t.call(__NR_nanosleep, &[IN, 0]),
        neg(Errno::EINVAL),
        "tv_nsec out of range"
    );
    put_timespec(&mut t, IN, -1, 0);
    assert_eq!(
        t.call(__NR_nanosleep, &[IN, 0]),
        neg(Errno::EINVAL),
        "negative tv_sec"
    );
    assert_eq!(t.plat.sleeps.len(), 1, "no sleep on error");
    // clock_nanosleep to an absolute time on CLOCK_MONOTONIC.
    let target = t.plat.mono_ns + 2_000_000_000;
    put_timespec(
        &mut t,
        IN,
        (target / 1_000_000_000) as i64,
        (target % 1_000_000_000) as i64,
    );
    assert_eq!(
        t.call(
            __NR_clock_nanosleep,
            &[u64::from(CLOCK_MONOTONIC), u64::from(TIMER_ABSTIME), IN, 0]
        ),
        0
    );
    assert_eq!(t.plat.mono_ns, target);
}

// ---- identity, randomness, limits ----

#[test]
fn getrandom_fills_the_buffer() {
    let mut t = h();
    t.poke(OUT, &[0; 80]);
    assert_eq!(t.call(__NR_getrandom, &[OUT, 64, 0]), 64);
    let mut want = [0u8; 64];
    let mut rng = RNG_SEED;
    random_bytes(&mut rng, &mut want);
    assert_eq!(t.peek(OUT, 64), want);
    assert_eq!(t.peek(OUT + 64, 16), [0; 16], "not past the length");
    assert_eq!(t.call(__NR_getrandom, &[OUT, 0, 0]), 0);
    assert_eq!(
        t.call(__NR_getrandom, &[OUT, 8, u64::from(GRND_NONBLOCK)]),
        8
    );
    assert_eq!(
        t.call(__NR_getrandom, &[OUT, 8, 0x80]),
        neg(Errno::EINVAL),
        "unknown flag"
    );
}

#[test]
fn uname_fields() {
    let mut t = h();
    t.poke(OUT, &[0xaa; 65 * 6 + 8]);
    assert_eq!(t.call(__NR_uname, &[OUT]), 0);
    let u = t.peek(OUT, 65 * 6 + 8);
    let field = |i: usize| {
        let f = &u[i * 65..(i + 1) * 65];
        let n = f.iter().position(|b| *b == 0).expect("NUL-terminated");
        assert!(f[n..].iter().all(|b| *b == 0), "field {i} is zero-padded");
        String::from_utf8(f[..n].to_vec()).expect("utf-8")
    };
    assert_eq!(field(0), "Linux", "sysname");
    assert!(!field(1).is_empty(), "nodename");
    assert!(
        field(2).starts_with("6."),
        "release: glibc wants a version number, got {}",
        field(2)
    );
    assert!(!field(3).is_empty(), "version");
    assert_eq!(field(4), "x86_64", "machine");
    assert_eq!(u[65 * 6..], [0xaa; 8], "struct utsname is 390 bytes");
}

#[test]
fn prlimit64_get_and_set() {
    let mut t = h();
    let stack = u64::from(RLIMIT_STACK);
    let nofile = u64::from(RLIMIT_NOFILE);
    assert_eq!(t.call(__NR_prlimit64, &[0, stack, 0, OUT]), 0);
    assert_eq!(
        (t.peek_u64(OUT), t.peek_u64(OUT + 8)),
        (8 << 20, RLIM_INFINITY)
    );
    t.poke(IN, &100u64.to_le_bytes());
    t.poke(IN + 8, &200u64.to_le_bytes());
    assert_eq!(t.call(__NR_prlimit64, &[0, nofile, IN, OUT]), 0);
    assert_eq!(
        (t.peek_u64(OUT), t.peek_u64(OUT + 8)),
        (1024, 4096),
        "the old limit"
    );
    assert_eq!(t.call(__NR_prlimit64, &[1, nofile, 0, OUT]), 0, "own pid");
    assert_eq!((t.peek_u64(OUT), t.peek_u64(OUT + 8)), (100, 200));
    assert_eq!(t.call(__NR_getrlimit, &[nofile, OUT]), 0);
    assert_eq!((t.peek_u64(OUT), t.peek_u64(OUT + 8)), (100, 200));
    // cur > max: EINVAL, nothing changes.
    t.poke(IN, &300u64.to_le_bytes());
    assert_eq!(
        t.call(__NR_prlimit64, &[0, nofile, IN, 0]),
        neg(Errno::EINVAL)
    );
    assert_eq!(t.call(__NR_prlimit64, &[0, nofile, 0, OUT]), 0);
    assert_eq!((t.peek_u64(OUT), t.peek_u64(OUT + 8)), (100, 200));
    assert_eq!(
        t.call(__NR_prlimit64, &[0, 99, 0, OUT]),
        neg(Errno::EINVAL),
        "no such resource"
    );
    assert_eq!(
        t.call(__NR_prlimit64, &[4242, nofile, 0, OUT]),
        neg(Errno::ESRCH),
        "no such process"
    );
    assert_eq!(
        t.call(__NR_prlimit64, &[0, nofile, UNMAPPED, 0]),
        neg(Errno::EFAULT)
    );
    // The new NOFILE limit is enforced.
    t.poke(IN, &4u64.to_le_bytes());
    t.poke(IN + 8, &4u64.to_le_bytes());
    assert_eq!(t.call(__NR_prlimit64, &[0, nofile, IN, 0]), 0);
    assert_eq!(t.call(__NR_dup, &[1]), 3);
    assert_eq!(t.call(__NR_dup, &[1]), neg(Errno::EMFILE));
}

#[test]
fn getrlimit_and_setrlimit_with_null_are_efault() {
    // Checked on Linux 6.18: both are EFAULT.
    let mut t = h();
    assert_eq!(
        t.call(__NR_getrlimit, &[u64::from(RLIMIT_NOFILE), 0]),
        neg(Errno::EFAULT)
    );
    assert_eq!(
        t.call(__NR_setrlimit, &[u64::from(RLIMIT_NOFILE), 0]),
        neg(Errno::EFAULT)
    );
}

#[test]
fn fcntl_dupfd_above_the_limit_is_einval() {
    let mut t = h();
    assert_eq!(
        t.call(__NR_fcntl, &[1, u64::from(F_DUPFD), 1024]),
        neg(Errno::EINVAL)
    );
    assert_eq!(t.call(__NR_fcntl, &[1, u64::from(F_DUPFD), 1023]), 1023);
}

#[test]
fn rseq_unregister_without_registration_is_einval() {
    let mut t = h();
    assert_eq!(t.call(__NR_rseq, &[0, 32, 1, 0]), neg(Errno::EINVAL));
}

// ---- signals ----

#[test]
fn rt_sigaction_round_trip() {
    let mut t = h();
    let (usr1, kill, stop) = (u64::from(SIGUSR1), u64::from(SIGKILL), u64::from(SIGSTOP));
    let flags = u64::from(SA_SIGINFO | SA_RESTORER);
    let mask = (1u64 << (SIGINT - 1)) | (1 << (kill - 1)) | (1 << (stop - 1));
    for (i, v) in [0x40_1000, flags, 0x40_2000, mask].into_iter().enumerate() {
        t.poke(IN + 8 * i as u64, &u64::to_le_bytes(v));
    }
    t.poke(OUT, &[0xaa; 32]);
    assert_eq!(t.call(__NR_rt_sigaction, &[usr1, IN, OUT, 8]), 0);
    assert_eq!(t.peek(OUT, 32), [0; 32], "the old action: SIG_DFL");
    assert_eq!(t.call(__NR_rt_sigaction, &[usr1, 0, OUT, 8]), 0);
    assert_eq!(t.peek_u64(OUT), 0x40_1000, "sa_handler");
    assert_eq!(t.peek_u64(OUT + 8), flags, "sa_flags");
    assert_eq!(t.peek_u64(OUT + 16), 0x40_2000, "sa_restorer");
    assert_eq!(
        t.peek_u64(OUT + 24),
        1 << (SIGINT - 1),
        "sa_mask without SIGKILL and SIGSTOP"
    );
    // Replacing returns the previous one.
    t.poke(IN, &1u64.to_le_bytes()); // SIG_IGN
    assert_eq!(t.call(__NR_rt_sigaction, &[usr1, IN, OUT, 8]), 0);
    assert_eq!(t.peek_u64(OUT), 0x40_1000);
    assert_eq!(t.call(__NR_rt_sigaction, &[usr1, 0, OUT, 8]), 0);
    assert_eq!(t.peek_u64(OUT), 1);
    // SIGKILL and SIGSTOP cannot be caught, but can be asked about.
    assert_eq!(
        t.call(__NR_rt_sigaction, &[kill, IN, 0, 8]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_rt_sigaction, &[stop, IN, 0, 8]),
        neg(Errno::EINVAL)
    );
    assert_eq!(t.call(__NR_rt_sigaction, &[kill, 0, OUT, 8]), 0);
    assert_eq!(t.peek_u64(OUT), 0);
    assert_eq!(
        t.call(__NR_rt_sigaction, &[0, 0, OUT, 8]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_rt_sigaction, &[65, 0, OUT, 8]),
        neg(Errno::EINVAL)
    );
    assert_eq!(
        t.call(__NR_rt_sigaction, &[usr1, 0, OUT, 4]),
        neg(Errno::EINVAL),
        "sigsetsize"
    );
    assert_eq!(
        t.call(__NR_rt_sigaction, &[usr1, UNMAPPED, 0, 8]),
        neg(Errno::EFAULT)
    );
}

#[test]
fn rt_sigprocmask_block_unblock_setmask() {
    let mut t = h();
    let bit = |s: u32| 1u64 << (s - 1);
    let set = |t: &mut Harness, v: u64| t.poke(IN, &v.to_le_bytes());
    set(&mut t, bit(SIGINT) | bit(SIGKILL) | bit(SIGSTOP));
    t.poke(OUT, &[0xaa; 8]);
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[u64::from(SIG_BLOCK), IN, OUT, 8]),
        0
    );
    assert_eq!(t.peek_u64(OUT), 0, "old mask");
    set(&mut t, bit(SIGUSR1));
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[u64::from(SIG_BLOCK), IN, OUT, 8]),
        0
    );
    assert_eq!(
        t.peek_u64(OUT),
        bit(SIGINT),
        "SIGKILL and SIGSTOP cannot be blocked"
    );
    set(&mut t, bit(SIGINT) | bit(SIGTERM));
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[u64::from(SIG_UNBLOCK), IN, OUT, 8]),
        0,
        "SIGTERM was not blocked"
    );
    assert_eq!(t.peek_u64(OUT), bit(SIGINT) | bit(SIGUSR1));
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[u64::from(SIG_SETMASK), 0, OUT, 8]),
        0,
        "query only"
    );
    assert_eq!(t.peek_u64(OUT), bit(SIGUSR1));
    set(&mut t, 0);
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[u64::from(SIG_SETMASK), IN, 0, 8]),
        0
    );
    assert_eq!(t.p.sigmask, 0);
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[7, IN, 0, 8]),
        neg(Errno::EINVAL),
        "bad how"
    );
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[7, 0, OUT, 8]),
        0,
        "bad how without a set (Linux 6.18)"
    );
    assert_eq!(
        t.call(__NR_rt_sigprocmask, &[u64::from(SIG_BLOCK), IN, 0, 4]),
        neg(Errno::EINVAL),
        "sigsetsize"
    );
}

// ---- process ----

#[test]
fn arch_prctl_set_fs() {
    let mut t = h();
    assert_eq!(t.call(__NR_arch_prctl, &[0x1002, 0x7fff_f7d8_a740]), 0);
    assert_eq!(t.plat.fs_bases, [0x7fff_f7d8_a740]);
    assert_eq!(t.call(__NR_arch_prctl, &[0x1003, OUT]), 0, "ARCH_GET_FS");
    assert_eq!(t.peek_u64(OUT), 0x7fff_f7d8_a740);
    assert_eq!(
        t.call(__NR_arch_prctl, &[0x1002, 0x8000_0000_0000]),
        neg(Errno::EPERM),
        "not canonical"
    );
    assert_eq!(t.call(__NR_arch_prctl, &[0x9999, 0]), neg(Errno::EINVAL));
    assert_eq!(t.plat.fs_bases.len(), 1);
}

#[test]
fn set_tid_address_returns_the_tid() {
    let mut t = h();
    assert_eq!(t.call(__NR_set_tid_address, &[OUT]), 1);
    assert_eq!(t.p.clear_child_tid, OUT);
    assert_eq!(t.call(__NR_gettid, &[]), 1);
    assert_eq!(t.call(__NR_getpid, &[]), 1);
}

#[test]
fn memory_syscalls_through_dispatch() {
    let mut t = h();
    assert_eq!(t.call(__NR_brk, &[0]) as u64, BRK_START);
    assert_eq!(
        t.call(__NR_brk, &[BRK_START + 5000]) as u64,
        BRK_START + 5000
    );
    t.poke(IN, b"heap");
    assert_eq!(t.call(__NR_write, &[1, IN, 4]), 4);
    assert_eq!(
        t.call(__NR_brk, &[BRK_START - 4096]) as u64,
        BRK_START + 5000,
        "refused: the old break"
    );
    t.plat.stdin.push_back(b"into the heap".to_vec());
    assert_eq!(
        t.call(__NR_read, &[0, BRK_START + 4090, 100]),
        13,
        "across the heap's page boundary"
    );
    assert_eq!(t.peek(BRK_START + 4090, 13), b"into the heap");

    let (rw, anon) = (
        u64::from(PROT_READ | PROT_WRITE),
        u64::from(MAP_PRIVATE | MAP_ANONYMOUS),
    );
    let a = t.call(__NR_mmap, &[0, 3 * 4096, rw, anon, u64::MAX, 0]);
    assert_eq!(a as u64, MMAP_BASE - 3 * 4096);
    let a = a as u64;
    t.plat.stdin.push_back(b"mapped".to_vec());
    assert_eq!(t.call(__NR_read, &[0, a + 4096, 10]), 6);
    assert_eq!(t.call(__NR_write, &[1, a + 4096, 6]), 6);
    assert_eq!(t.plat.stdout, b"heapmapped");
    assert_eq!(t.call(__NR_mprotect, &[a, 4096, u64::from(PROT_READ)]), 0);
    t.plat.stdin.push_back(b"x".to_vec());
    assert_eq!(
        t.call(__NR_read, &[0, a, 1]),
        neg(Errno::EFAULT),
        "read-only now"
    );
    assert_eq!(t.call(__NR_munmap, &[a + 4096, 4096]), 0);
    assert_eq!(
        t.call(__NR_write, &[1, a + 4096, 6]),
        neg(Errno::EFAULT),
        "unmapped"
    );
    assert_eq!(t.call(__NR_munmap, &[a + 1, 4096]), neg(Errno::EINVAL));
    assert_eq!(
        t.call(__NR_mmap, &[0, 0, rw, anon, u64::MAX, 0]),
        neg(Errno::EINVAL)
    );
    let f = u64::from(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    assert_eq!(
        t.call(__NR_mmap, &[a, 4096, rw, f, u64::MAX, 0]),
        neg(Errno::EEXIST)
    );
    let b = t.call(
        __NR_mremap,
        &[a + 2 * 4096, 4096, 8 * 4096, u64::from(MREMAP_MAYMOVE)],
    );
    assert_eq!(b as u64, a + 2 * 4096, "grown in place: nothing above it");
    t.poke(b as u64 + 7 * 4096, b"x");
    assert!(t.pt.is_present(b as u64 + 7 * 4096));
    assert_eq!(
        t.call(
            __NR_madvise,
            &[b as u64, 8 * 4096, u64::from(MADV_DONTNEED)]
        ),
        0
    );
    assert!(!t.pt.is_present(b as u64 + 7 * 4096), "dropped");
    assert_eq!(t.peek(b as u64 + 7 * 4096, 1), [0]);
}

#[test]
fn out_of_memory_through_dispatch() {
    let mut t = h();
    t.pt.set_free_frames(1);
    let (rw, populate) = (
        u64::from(PROT_READ | PROT_WRITE),
        u64::from(MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE),
    );
    assert_eq!(
        t.call(__NR_mmap, &[0, 2 * 4096, rw, populate, u64::MAX, 0]),
        neg(Errno::ENOMEM)
    );
    assert_eq!(t.pt.free_frames(), 1, "nothing kept");
    assert_eq!(
        t.call(__NR_mmap, &[0, 4096, rw, populate, u64::MAX, 0]) as u64,
        MMAP_BASE - 4096,
        "this one fits"
    );
    t.plat.stdin.push_back(b"no room".to_vec());
    assert_eq!(
        t.call(__NR_read, &[0, OUT, 7]),
        neg(Errno::EFAULT),
        "no frame for the buffer"
    );
}

#[test]
fn unknown_syscalls_are_enosys_and_logged_once() {
    let mut t = h();
    assert_eq!(t.call(__NR_getcpu, &[OUT, 0, 0]), neg(Errno::ENOSYS));
    assert_eq!(t.call(__NR_getcpu, &[OUT, 0, 0]), neg(Errno::ENOSYS));
    assert_eq!(t.call(335, &[]), neg(Errno::ENOSYS));
    assert_eq!(t.call(100_000, &[]), neg(Errno::ENOSYS));
    assert_eq!(
        t.plat.logs.len(),
        3,
        "one line per syscall, not per call: {:?}",
        t.plat.logs
    );
    assert_eq!(
        t.plat.logs[0],
        "nutshell: syscall getcpu (309) is not implemented"
    );
    assert!(
        t.plat.logs[1].starts_with("nutshell: syscall "),
        "{}",
        t.plat.logs[1]
    );
    assert!(
        t.plat.logs[1].ends_with(" (335) is not implemented"),
        "{}",
        t.plat.logs[1]
    );
    assert!(
        t.plat.logs[2].ends_with(" (100000) is not implemented"),
        "{}",
        t.plat.logs[2]
    );
    assert_eq!(t.p.missing.get(&309), Some(&2));
    assert!(
        t.plat.stdout.is_empty() && t.plat.stderr.is_empty(),
        "the log is not the program's output"
    );
}

#[test]
fn exit_group_sets_the_exit_code() {
    let mut t = h();
    assert_eq!(t.p.exit_code, None);
    t.call(__NR_exit_group, &[3]);
    assert_eq!(t.p.exit_code, Some(3));
    let mut t = h();
    t.call(__NR_exit_group, &[0x1_2c]);
    assert_eq!(
        t.p.exit_code,
        Some(0x2c),
        "the status is truncated to 8 bits"
    );
    let mut t = h();
    t.call(__NR_exit, &[-1i64 as u64]);
    assert_eq!(t.p.exit_code, Some(255));
}
