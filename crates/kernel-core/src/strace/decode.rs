//! What each syscall's arguments are, and how to print an argument of each kind.

use super::print::{MAX_STRLEN, P, PATH_MAX};
use super::xlat::*;
use linux_raw_sys::general::{self as g, __NR_clone};
use linux_raw_sys::ioctl as io;

/// How an argument prints.
#[derive(Clone, Copy)]
pub(super) enum A {
    /// Not printed (an argument the operation ignores).
    Skip,
    /// `int`, `long` and unsigned long in decimal; unsigned int in decimal.
    D,
    L,
    U,
    U32,
    /// Hex (`0`, `0x10`), pointer (`NULL`, `0x10`).
    X,
    P,
    /// A directory fd: `AT_FDCWD` or the number.
    Dfd,
    /// A path (up to PATH_MAX) or a string (up to 32 bytes), NUL-terminated.
    Path,
    Str,
    /// A numeric mode: `0644`.
    Oct,
    /// Bytes the call reads, as many as argument N says.
    Buf(u8),
    /// Bytes the call wrote, as many as it returned (`RHex`: printed in hex, for getrandom).
    RBuf,
    RHex,
    /// A path the call wrote (getcwd).
    OutPath,
    /// A flag set, or one value, of an `int` argument.
    Fl(&'static Xlat),
    Ev(&'static Xlat),
    OpenFl,
    MmapFl,
    StatxFl,
    SockType,
    /// A socket option name; its level is argument 1.
    SockOpt,
    Ioctl,
    FutexOp,
    FutexWakeOp,
    Sig,
    /// A remaining-time timespec: written only when interrupted.
    Rem,
    /// A struct the call reads (always printed) or writes (printed when it succeeded).
    In(S),
    Out(S),
}

/// Structs and arrays in the program's memory. An argument number says where a length is.
#[derive(Clone, Copy)]
pub(super) enum S {
    Stat,
    Statx,
    Ts,
    Tv,
    /// itimerval: two timevals.
    Itv,
    Tz,
    Rlim,
    Uts,
    Sigact,
    /// A sigset whose size is argument N.
    Sigset(u8),
    Stack,
    Int,
    UInt,
    Ulong,
    /// A 64-bit file offset (`loff_t *`), in decimal.
    Loff,
    IntPair,
    TimeT,
    /// An iovec array with argument N elements; `IovR` for one the call filled (data up to its return).
    Iov(u8),
    IovR(u8),
    Pollfds(u8),
    EpollEv,
    /// As many epoll_events as the call returned.
    EpollEvs,
    /// A socket address of argument N bytes; `SaP`: of as many bytes as the int argument N points to.
    Sa(u8),
    SaP(u8),
    /// A socket option value of argument N bytes, or of as many as argument N points to.
    Opt(u8),
    OptP(u8),
    Argv,
    Envp,
    /// A CPU set of argument N bytes, or of as many as the call returned.
    Cpus(u8),
    CpusR,
    Wstatus,
    Rusage,
    Dents,
    Winsize,
    Termios,
    /// A clone_args of argument N bytes.
    CloneArgs(u8),
}

/// How the return value prints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum R {
    Dec,
    Hex,
    Oct,
    /// fcntl(F_GETFD), fcntl(F_GETFL): `0x1 (flags FD_CLOEXEC)`.
    FdFlags,
    FlFlags,
    /// time(): `1700000000 (2023-11-14T22:13:20+0000)`.
    Time,
    /// poll(): `1 ([{fd=0, revents=POLLIN}])`, `0 (Timeout)`; ppoll() adds `, left {tv_sec=0, tv_nsec=0}`.
    Poll,
    Ppoll,
}

use A::*;
use S::*;

/// The argument kinds of a syscall strace decodes, and how its return value prints.
#[allow(non_upper_case_globals)]
fn table(nr: u32) -> Option<(&'static [A], R)> {
    use g::*;
    let dec = |a: &'static [A]| Some((a, R::Dec));
    match nr {
        __NR_read => dec(&[D, RBuf, U]),
        __NR_write => dec(&[D, Buf(2), U]),
        __NR_pread64 => dec(&[D, RBuf, U, L]),
        __NR_pwrite64 => dec(&[D, Buf(2), U, L]),
        __NR_sendfile => dec(&[D, D, In(Loff), U]),
        __NR_readv => dec(&[D, In(IovR(2)), D]),
        __NR_writev => dec(&[D, In(Iov(2)), D]),
        __NR_preadv => dec(&[D, In(IovR(2)), D, L]),
        __NR_pwritev => dec(&[D, In(Iov(2)), D, L]),
        __NR_open => dec(&[Path, OpenFl, Oct]),
        __NR_openat => dec(&[Dfd, Path, OpenFl, Oct]),
        __NR_creat | __NR_mkdir | __NR_chmod => dec(&[Path, Oct]),
        __NR_close | __NR_dup | __NR_fsync | __NR_fdatasync | __NR_fchdir | __NR_exit
        | __NR_exit_group => dec(&[D]),
        __NR_syncfs | __NR_epoll_create | __NR_setuid | __NR_setgid | __NR_getpgid
        | __NR_getsid => dec(&[D]),
        __NR_stat | __NR_lstat => dec(&[Path, Out(Stat)]),
        __NR_fstat => dec(&[D, Out(Stat)]),
        __NR_newfstatat => dec(&[Dfd, Path, Out(Stat), Fl(&AT)]),
        __NR_statx => dec(&[Dfd, Path, StatxFl, Fl(&STATX_MASK), Out(Statx)]),
        __NR_lseek => dec(&[D, L, Ev(&SEEK)]),
        __NR_mmap => Some((&[P, U, Fl(&PROT), MmapFl, D, X], R::Hex)),
        __NR_mprotect => dec(&[P, U, Fl(&PROT)]),
        __NR_munmap | __NR_mlock | __NR_munlock => dec(&[P, U]),
        __NR_mremap => Some((&[P, U, U, Fl(&MREMAP), P], R::Hex)),
        __NR_madvise => dec(&[P, U, Ev(&MADV)]),
        __NR_msync => dec(&[P, U, Fl(&MSYNC)]),
        __NR_mincore => dec(&[P, U, P]),
        __NR_mlockall => dec(&[Fl(&MLOCKALL)]),
        __NR_brk => Some((&[P], R::Hex)),
        __NR_ioctl => dec(&[D, Ioctl, X]),
        __NR_access => dec(&[Path, Fl(&ACCESS)]),
        __NR_faccessat => dec(&[Dfd, Path, Fl(&ACCESS)]),
        __NR_faccessat2 => dec(&[Dfd, Path, Fl(&ACCESS), Fl(&FACCESSAT)]),
        __NR_readlink => dec(&[Path, RBuf, U]),
        __NR_readlinkat => dec(&[Dfd, Path, RBuf, U]),
        __NR_getdents | __NR_getdents64 => dec(&[D, Out(Dents), U]),
        __NR_getcwd => dec(&[OutPath, U]),
        __NR_chdir | __NR_rmdir | __NR_unlink | __NR_chroot | __NR_acct | __NR_swapoff => {
            dec(&[Path])
        }
        __NR_mkdirat | __NR_fchmodat => dec(&[Dfd, Path, Oct]),
        __NR_fchmod => dec(&[D, Oct]),
        __NR_unlinkat => dec(&[Dfd, Path, Fl(&AT)]),
        __NR_rename | __NR_link | __NR_symlink => dec(&[Path, Path]),
        __NR_renameat => dec(&[Dfd, Path, Dfd, Path]),
        __NR_renameat2 => dec(&[Dfd, Path, Dfd, Path, Fl(&RENAME)]),
        __NR_linkat => dec(&[Dfd, Path, Dfd, Path, Fl(&AT)]),
        __NR_symlinkat => dec(&[Path, Dfd, Path]),
        __NR_chown | __NR_lchown => dec(&[Path, D, D]),
        __NR_fchown => dec(&[D, D, D]),
        __NR_fchownat => dec(&[Dfd, Path, D, D, Fl(&AT)]),
        __NR_truncate => dec(&[Path, L]),
        __NR_ftruncate => dec(&[D, L]),
        __NR_umask => Some((&[Oct], R::Oct)),
        __NR_dup2
        | __NR_listen
        | __NR_setpgid
        | __NR_setreuid
        | __NR_setregid
        | __NR_inotify_rm_watch => dec(&[D, D]),
        __NR_dup3 => dec(&[D, D, Fl(&OPEN)]),
        __NR_fcntl => dec(&[D, Ev(&FCNTL), X]),
        __NR_flock => dec(&[D, Fl(&FLOCK)]),
        __NR_fallocate => dec(&[D, Fl(&FALLOC), L, L]),
        __NR_pipe => dec(&[Out(IntPair)]),
        __NR_pipe2 => dec(&[Out(IntPair), Fl(&OPEN)]),
        __NR_getrandom => dec(&[RHex, U, Fl(&GRND)]),
        __NR_memfd_create => dec(&[Str, Fl(&MFD)]),
        __NR_uname => dec(&[Out(Uts)]),
        __NR_arch_prctl => dec(&[Ev(&ARCH), X]),
        __NR_set_tid_address => dec(&[P]),
        __NR_set_robust_list => dec(&[P, U]),
        __NR_rseq => dec(&[P, X, U32, X]),
        __NR_prlimit64 => dec(&[D, Ev(&RLIMIT), In(Rlim), Out(Rlim)]),
        __NR_getrlimit => dec(&[Ev(&RLIMIT), Out(Rlim)]),
        __NR_setrlimit => dec(&[Ev(&RLIMIT), In(Rlim)]),
        __NR_getrusage => dec(&[Ev(&RUSAGE), Out(Rusage)]),
        __NR_clock_gettime | __NR_clock_getres => dec(&[Ev(&CLOCK), Out(Ts)]),
        __NR_clock_settime => dec(&[Ev(&CLOCK), In(Ts)]),
        __NR_clock_nanosleep => dec(&[Ev(&CLOCK), Fl(&TIMER), In(Ts), Rem]),
        __NR_nanosleep => dec(&[In(Ts), Rem]),
        __NR_gettimeofday => dec(&[Out(Tv), Out(Tz)]),
        __NR_settimeofday => dec(&[In(Tv), In(Tz)]),
        __NR_time => Some((&[Out(TimeT)], R::Time)),
        __NR_getitimer => dec(&[Ev(&ITIMER), Out(Itv)]),
        __NR_setitimer => dec(&[Ev(&ITIMER), In(Itv), Out(Itv)]),
        __NR_alarm => dec(&[U32]),
        __NR_getpriority => dec(&[Ev(&PRIO), D]),
        __NR_setpriority => dec(&[Ev(&PRIO), D, D]),
        __NR_setresuid | __NR_setresgid => dec(&[D, D, D]),
        __NR_getresuid | __NR_getresgid => dec(&[Out(UInt), Out(UInt), Out(UInt)]),
        __NR_sched_getaffinity => dec(&[D, U, Out(CpusR)]),
        __NR_sched_setaffinity => dec(&[D, U, In(Cpus(1))]),
        __NR_getcpu => dec(&[Out(UInt), Out(UInt), P]),
        __NR_rt_sigaction => dec(&[Sig, In(Sigact), Out(Sigact), U]),
        __NR_rt_sigprocmask => dec(&[Ev(&SIGPROCMASK), In(Sigset(3)), Out(Sigset(3)), U]),
        __NR_rt_sigpending => dec(&[Out(Sigset(1)), U]),
        __NR_rt_sigsuspend => dec(&[In(Sigset(1)), U]),
        __NR_rt_sigtimedwait => dec(&[In(Sigset(3)), P, In(Ts), U]),
        __NR_sigaltstack => dec(&[In(Stack), Out(Stack)]),
        __NR_kill | __NR_tkill => dec(&[D, Sig]),
        __NR_tgkill => dec(&[D, D, Sig]),
        __NR_futex => dec(&[P, FutexOp, U32, In(Ts), P, U32]),
        __NR_clone3 => dec(&[In(CloneArgs(1)), U]),
        __NR_unshare => dec(&[Fl(&CLONE)]),
        __NR_wait4 => dec(&[D, Out(Wstatus), Fl(&WAIT), Out(Rusage)]),
        __NR_execve => dec(&[Path, In(Argv), In(Envp)]),
        __NR_execveat => dec(&[Dfd, Path, In(Argv), In(Envp), Fl(&AT)]),
        __NR_socket => dec(&[Ev(&AF), SockType, D]),
        __NR_socketpair => dec(&[Ev(&AF), SockType, D, Out(IntPair)]),
        __NR_connect | __NR_bind => dec(&[D, In(Sa(2)), D]),
        __NR_accept | __NR_getsockname | __NR_getpeername => dec(&[D, Out(SaP(2)), In(Int)]),
        __NR_accept4 => dec(&[D, Out(SaP(2)), In(Int), Fl(&SOCK_FLAGS)]),
        __NR_sendto => dec(&[D, Buf(2), U, Fl(&MSG), In(Sa(5)), D]),
        __NR_recvfrom => dec(&[D, RBuf, U, Fl(&MSG), Out(SaP(5)), In(Int)]),
        __NR_sendmsg | __NR_recvmsg => dec(&[D, P, Fl(&MSG)]),
        __NR_shutdown => dec(&[D, Ev(&SHUT)]),
        __NR_setsockopt => dec(&[D, Ev(&SOL), SockOpt, In(Opt(4)), D]),
        __NR_getsockopt => dec(&[D, Ev(&SOL), SockOpt, Out(OptP(4)), In(Int)]),
        __NR_poll => Some((&[In(Pollfds(1)), U32, D], R::Poll)),
        __NR_ppoll => Some((&[In(Pollfds(1)), U32, In(Ts), In(Sigset(4)), U], R::Ppoll)),
        __NR_epoll_create1 => dec(&[Fl(&EPOLL_FLAGS)]),
        __NR_epoll_ctl => dec(&[D, Ev(&EPOLL_CTL), D, In(EpollEv)]),
        __NR_epoll_wait => dec(&[D, Out(EpollEvs), D, D]),
        __NR_epoll_pwait => dec(&[D, Out(EpollEvs), D, D, In(Sigset(5)), U]),
        __NR_epoll_pwait2 => dec(&[D, Out(EpollEvs), D, In(Ts), In(Sigset(5)), U]),
        __NR_eventfd => dec(&[U32]),
        __NR_eventfd2 => dec(&[U32, Fl(&EFD)]),
        _ => None,
    }
}

/// The argument kinds for this call (some depend on other arguments), how many print, and the return format.
pub(super) fn signature(nr: u32, a: &[u64; 6]) -> Option<([A; 6], usize, R)> {
    let (kinds, mut r) = table(nr)?;
    let mut k = [X; 6];
    let mut n = kinds.len().min(6);
    k[..n].copy_from_slice(&kinds[..n]);
    let lo = |i: usize| a[i] as u32;
    match nr {
        g::__NR_open | g::__NR_openat => {
            let flags = lo(n - 2);
            if flags & g::O_CREAT == 0 && flags & g::O_TMPFILE != g::O_TMPFILE {
                n -= 1;
            }
        }
        g::__NR_mremap if lo(3) & g::MREMAP_FIXED == 0 => n = 4,
        g::__NR_arch_prctl if lo(0) == ARCH_NOARG => n = 1,
        g::__NR_arch_prctl if ARCH_GET.contains(&lo(0)) => k[1] = Out(Ulong),
        g::__NR_fcntl => (k[2], n, r) = fcntl(lo(1)),
        g::__NR_ioctl => (k[2], n) = ioctl(lo(1)),
        g::__NR_futex => n = futex(lo(1), &mut k),
        g::__NR_socket | g::__NR_socketpair => {
            k[2] = match lo(0) {
                AF_INET | AF_INET6 => Ev(&IPPROTO),
                AF_NETLINK => Ev(&NETLINK),
                _ => D,
            }
        }
        _ => {}
    }
    Some((k, n, r))
}

fn fcntl(cmd: u32) -> (A, usize, R) {
    use g::*;
    match cmd {
        F_GETFD => (X, 2, R::FdFlags),
        F_GETFL => (X, 2, R::FlFlags),
        F_GETOWN | F_GETSIG | F_GETLEASE | F_GETPIPE_SZ | F_GET_SEALS => (X, 2, R::Dec),
        F_SETFD => (Fl(&FD_FLAGS), 3, R::Dec),
        F_SETFL => (OpenFl, 3, R::Dec),
        F_ADD_SEALS => (Fl(&SEALS), 3, R::Dec),
        F_NOTIFY => (Fl(&NOTIFY), 3, R::Dec),
        F_SETSIG => (Sig, 3, R::Dec),
        F_DUPFD | F_DUPFD_CLOEXEC | F_SETOWN | F_SETPIPE_SZ | F_SETLEASE => (D, 3, R::Dec),
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => (P, 3, R::Dec),
        _ => (X, 3, R::Dec),
    }
}

fn ioctl(req: u32) -> (A, usize) {
    use io::*;
    match req {
        TCGETS => (Out(Termios), 3),
        TCSETS | TCSETSW | TCSETSF => (In(Termios), 3),
        TIOCGWINSZ => (Out(Winsize), 3),
        TIOCSWINSZ => (In(Winsize), 3),
        FIONREAD | TIOCGPGRP | TIOCGSID | TIOCOUTQ | TIOCGPTN => (Out(Int), 3),
        FIONBIO | FIOASYNC | TIOCSPGRP | TIOCSPTLCK => (In(Int), 3),
        FIOCLEX | FIONCLEX => (X, 2),
        _ => (X, 3),
    }
}

/// Which futex arguments an operation uses (from the value on); returns how many print.
fn futex(op: u32, k: &mut [A; 6]) -> usize {
    use g::*;
    let rest: &[A] = match op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) {
        FUTEX_WAIT => &[U32, In(Ts)],
        FUTEX_WAKE | FUTEX_FD => &[U32],
        FUTEX_REQUEUE => &[U32, U32, P],
        FUTEX_CMP_REQUEUE | FUTEX_CMP_REQUEUE_PI => &[U32, U32, P, U32],
        FUTEX_WAKE_OP => &[U32, U32, P, FutexWakeOp],
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => &[Skip, In(Ts)],
        FUTEX_UNLOCK_PI | FUTEX_TRYLOCK_PI => &[],
        FUTEX_WAIT_BITSET => &[U32, In(Ts), Skip, Ev(&FUTEX_BITSET)],
        FUTEX_WAKE_BITSET => &[U32, Skip, Skip, Ev(&FUTEX_BITSET)],
        FUTEX_WAIT_REQUEUE_PI => &[U32, In(Ts), P],
        _ => &[U32, X, X, X],
    };
    for (slot, kind) in k.iter_mut().skip(2).zip(rest) {
        *slot = *kind;
    }
    2 + rest.len()
}

impl P<'_> {
    /// Print `name(args...)`; returns how the return value prints.
    pub fn call(&mut self, nr: u64, name: Option<&str>) -> R {
        let mut r = R::Dec;
        match name {
            Some(name) => self.s(name),
            None => self.f(format_args!("syscall_{nr:#x}")),
        }
        self.s("(");
        let a = self.args;
        if nr == u64::from(__NR_clone) {
            self.clone_args();
        } else if let Some((k, n, ret)) = u32::try_from(nr).ok().and_then(|nr| signature(nr, &a)) {
            r = ret;
            let mut sep = "";
            for (kind, &v) in k.iter().zip(&a).take(n) {
                if !matches!(kind, Skip) {
                    self.s(sep);
                    sep = ", ";
                    self.arg(*kind, v);
                }
            }
        } else {
            for (i, &v) in a.iter().take(super::table::syscall_argc(nr)).enumerate() {
                self.s(if i == 0 { "" } else { ", " });
                self.hex(v);
            }
        }
        self.s(")");
        r
    }

    /// One argument.
    pub fn arg(&mut self, kind: A, v: u64) {
        match kind {
            Skip => {}
            D => self.f(format_args!("{}", v as i32)),
            L => self.f(format_args!("{}", v as i64)),
            U => self.f(format_args!("{v}")),
            U32 => self.f(format_args!("{}", v as u32)),
            X => self.hex(v),
            P => self.ptr(v),
            Dfd if v as i32 == g::AT_FDCWD => self.s("AT_FDCWD"),
            Dfd => self.arg(D, v),
            Path => self.cstr(v, PATH_MAX),
            Str => self.cstr(v, MAX_STRLEN),
            Oct => self.oct(u64::from(v as u32)),
            Buf(i) => self.buf(v, self.args[usize::from(i)], false),
            RBuf | RHex if !self.ok() => self.ptr(v),
            RBuf => self.buf(v, self.rval(), false),
            RHex => self.buf(v, self.rval(), true),
            OutPath if !self.ok() => self.ptr(v),
            OutPath => self.cstr(v, PATH_MAX),
            Fl(x) => self.flags(u64::from(v as u32), x),
            Ev(x) => match x.find(v as i32 as i64 as u64) {
                Some(name) => self.s(name),
                None => self.xval(u64::from(v as u32), x),
            },
            OpenFl => self.open_flags(u64::from(v as u32)),
            MmapFl => self.mmap_flags(v),
            StatxFl => {
                let sync = u64::from(g::AT_STATX_SYNC_TYPE);
                self.xval(v & sync, &STATX_SYNC);
                self.bits(u64::from(v as u32) & !sync, &AT, true);
            }
            SockType => {
                self.xval(v & 0xf, &SOCK_TYPES);
                self.bits(u64::from(v as u32) & !0xf, &SOCK_FLAGS, true);
            }
            SockOpt => {
                let names: &[&str] = match self.args[1] as u32 {
                    SOL_SOCKET => &SO,
                    SOL_TCP => &TCP,
                    _ => &[],
                };
                match names.get(v as u32 as usize).filter(|_| v != 0) {
                    Some(name) => self.s(name),
                    None => self.arg(D, v),
                }
            }
            Ioctl => self.ioctl_request(v as u32),
            FutexOp => {
                let op = v as u32;
                match FUTEX.find(u64::from(
                    op & !(g::FUTEX_PRIVATE_FLAG | g::FUTEX_CLOCK_REALTIME),
                )) {
                    Some(name) => {
                        self.s(name);
                        if op & g::FUTEX_PRIVATE_FLAG != 0 {
                            self.s("_PRIVATE");
                        }
                        if op & g::FUTEX_CLOCK_REALTIME != 0 {
                            self.s("|FUTEX_CLOCK_REALTIME");
                        }
                    }
                    None => self.xval(u64::from(op), &FUTEX),
                }
            }
            FutexWakeOp => {
                let v = u64::from(v as u32);
                if v >> 28 & 8 != 0 {
                    self.s("FUTEX_OP_OPARG_SHIFT<<28|");
                }
                self.xval(v >> 28 & 7, &FUTEX_OPS);
                self.s("<<28|");
                self.hex(v >> 12 & 0xfff);
                self.s("<<12|");
                self.xval(v >> 24 & 0xf, &FUTEX_CMPS);
                self.s("<<24|");
                self.hex(v & 0xfff);
            }
            Sig => self.sig(i64::from(v as i32)),
            Rem if self.ret == Some(-i64::from(linux_raw_sys::errno::EINTR)) => self.arg(In(Ts), v),
            Rem => self.ptr(v),
            In(_) | Out(_) if v == 0 => self.s("NULL"),
            Out(_) if !self.ok() => self.ptr(v),
            In(s) | Out(s) => {
                let mark = self.out.len();
                if self.st(s, v).is_none() {
                    self.out.truncate(mark);
                    self.ptr(v);
                }
            }
        }
    }

    /// `O_RDWR|O_CREAT|0x40000000`: the access mode, then the other flags.
    pub fn open_flags(&mut self, v: u64) {
        self.xval(v & 3, &OPEN_ACCESS);
        self.bits(v & !3, &OPEN, true);
    }

    fn mmap_flags(&mut self, v: u64) {
        let ty = u64::from(g::MAP_TYPE);
        let huge_mask = u64::from(g::MAP_HUGE_MASK) << g::MAP_HUGE_SHIFT;
        self.xval(v & ty, &MAP_TYPES);
        self.bits(v & !ty & !huge_mask, &MAP, true);
        if v & huge_mask != 0 {
            self.f(format_args!(
                "|{}<<MAP_HUGE_SHIFT",
                (v & huge_mask) >> g::MAP_HUGE_SHIFT
            ));
        }
    }

    fn ioctl_request(&mut self, req: u32) {
        match req {
            io::TCSETS => self.s("SNDCTL_TMR_START or TCSETS"),
            io::TCSETSW => self.s("SNDCTL_TMR_STOP or TCSETSW"),
            io::TCSETSF => self.s("SNDCTL_TMR_CONTINUE or TCSETSF"),
            _ => match IOCTL.find(u64::from(req)) {
                Some(name) => self.s(name),
                None => {
                    let dir = [
                        "_IOC_NONE",
                        "_IOC_WRITE",
                        "_IOC_READ",
                        "_IOC_READ|_IOC_WRITE",
                    ];
                    self.f(format_args!("_IOC({}, ", dir[(req >> 30) as usize]));
                    for (i, part) in [req >> 8 & 0xff, req & 0xff, req >> 16 & 0x3fff]
                        .into_iter()
                        .enumerate()
                    {
                        self.s(if i == 0 { "" } else { ", " });
                        self.hex(u64::from(part));
                    }
                    self.s(")");
                }
            },
        }
    }

    /// clone(flags, stack, parent_tid, child_tid, tls), printed as strace names them.
    fn clone_args(&mut self) {
        let [flags, stack, parent_tid, child_tid, tls, _] = self.args;
        self.s("child_stack=");
        self.ptr(stack);
        self.s(", flags=");
        let (f, sig) = (flags & !0xff, flags & 0xff);
        if f != 0 || sig == 0 {
            self.flags(f, &CLONE);
        }
        if sig != 0 {
            self.s(if f != 0 { "|" } else { "" });
            self.sig(sig as i64);
        }
        let c = |bits: u32| flags & u64::from(bits) != 0;
        if c(g::CLONE_PARENT_SETTID) {
            self.s(", parent_tid=");
            self.arg(Out(Int), parent_tid);
        }
        if c(g::CLONE_SETTLS) {
            self.s(", tls=");
            self.ptr(tls);
        }
        if c(g::CLONE_CHILD_SETTID | g::CLONE_CHILD_CLEARTID) {
            self.s(", child_tidptr=");
            self.ptr(child_tid);
        }
    }
}
