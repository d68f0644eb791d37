//! The syscall table: Linux x86_64 numbers to handlers. Adding a syscall is one handler plus one line in
//! [`syscall_table!`]. Handlers take the raw argument registers and return [`SysResult`]; `-errno` is made
//! in exactly one place, [`dispatch`].

pub mod event;
mod fs;
mod fsattr;
mod fsmap;
mod fspath;
mod mem;
mod misc;
pub mod signal;
pub mod thread;
mod time;
mod xattr;

use alloc::format;
use alloc::string::String;

use crate::errno::{Errno, SysResult};
use crate::platform::Platform;
use crate::process::Process;

/// What a handler works on.
pub struct Ctx<'a> {
    pub p: &'a mut Process,
    pub plat: &'a mut dyn Platform,
}

/// The six argument registers (rdi, rsi, rdx, r10, r8, r9).
pub type Args = [u64; 6];

type Handler = fn(&mut Ctx, &Args) -> SysResult;

macro_rules! syscall_table {
    ($($nr:ident => $handler:path,)*) => {
        /// The handler of syscall `nr`, if nutshell implements it.
        fn handler(nr: u64) -> Option<Handler> {
            use linux_raw_sys::general::*;
            $(if nr == u64::from($nr) { return Some($handler); })*
            None
        }
    };
}

syscall_table! {
    __NR_read => fs::sys_read,
    __NR_write => fs::sys_write,
    __NR_readv => fs::sys_readv,
    __NR_writev => fs::sys_writev,
    __NR_pread64 => fs::sys_pread64,
    __NR_pwrite64 => fs::sys_pwrite64,
    __NR_open => fs::sys_open,
    __NR_openat => fs::sys_openat,
    __NR_close => fs::sys_close,
    __NR_lseek => fs::sys_lseek,
    __NR_fstat => fs::sys_fstat,
    __NR_stat => fs::sys_stat,
    __NR_lstat => fs::sys_lstat,
    __NR_newfstatat => fs::sys_newfstatat,
    __NR_ioctl => fs::sys_ioctl,
    __NR_fcntl => fs::sys_fcntl,
    __NR_dup => fs::sys_dup,
    __NR_dup2 => fs::sys_dup2,
    __NR_dup3 => fs::sys_dup3,
    __NR_access => fs::sys_access,
    __NR_faccessat => fs::sys_faccessat,
    __NR_faccessat2 => fsattr::sys_faccessat2,
    __NR_readlink => fs::sys_readlink,
    __NR_readlinkat => fs::sys_readlinkat,
    __NR_getcwd => fs::sys_getcwd,
    __NR_preadv => fs::sys_preadv,
    __NR_pwritev => fs::sys_pwritev,
    __NR_preadv2 => fs::sys_preadv2,
    __NR_pwritev2 => fs::sys_pwritev2,
    __NR_close_range => fs::sys_close_range,
    __NR_flock => fs::sys_flock,
    __NR_pipe => fs::sys_pipe,
    __NR_pipe2 => fs::sys_pipe2,
    __NR_getdents64 => fs::sys_getdents64,
    __NR_getdents => fs::sys_getdents,
    __NR_fsync => fs::sys_fsync,
    __NR_fdatasync => fs::sys_fdatasync,
    __NR_sync => fs::sys_sync,
    __NR_syncfs => fs::sys_syncfs,
    __NR_sync_file_range => fs::sys_sync_file_range,
    __NR_ftruncate => fs::sys_ftruncate,
    __NR_fallocate => fs::sys_fallocate,
    __NR_sendfile => fs::sys_sendfile,
    __NR_copy_file_range => fs::sys_copy_file_range,
    __NR_creat => fspath::sys_creat,
    __NR_openat2 => fspath::sys_openat2,
    __NR_mkdir => fspath::sys_mkdir,
    __NR_mkdirat => fspath::sys_mkdirat,
    __NR_mknod => fspath::sys_mknod,
    __NR_mknodat => fspath::sys_mknodat,
    __NR_rmdir => fspath::sys_rmdir,
    __NR_unlink => fspath::sys_unlink,
    __NR_unlinkat => fspath::sys_unlinkat,
    __NR_rename => fspath::sys_rename,
    __NR_renameat => fspath::sys_renameat,
    __NR_renameat2 => fspath::sys_renameat2,
    __NR_link => fspath::sys_link,
    __NR_linkat => fspath::sys_linkat,
    __NR_symlink => fspath::sys_symlink,
    __NR_symlinkat => fspath::sys_symlinkat,
    __NR_chdir => fspath::sys_chdir,
    __NR_fchdir => fspath::sys_fchdir,
    __NR_umask => fspath::sys_umask,
    __NR_statx => fsattr::sys_statx,
    __NR_chmod => fsattr::sys_chmod,
    __NR_fchmod => fsattr::sys_fchmod,
    __NR_fchmodat => fsattr::sys_fchmodat,
    __NR_fchmodat2 => fsattr::sys_fchmodat2,
    __NR_chown => fsattr::sys_chown,
    __NR_lchown => fsattr::sys_lchown,
    __NR_fchown => fsattr::sys_fchown,
    __NR_fchownat => fsattr::sys_fchownat,
    __NR_truncate => fsattr::sys_truncate,
    __NR_utimensat => fsattr::sys_utimensat,
    __NR_futimesat => fsattr::sys_futimesat,
    __NR_utimes => fsattr::sys_utimes,
    __NR_utime => fsattr::sys_utime,
    __NR_statfs => fsattr::sys_statfs,
    __NR_fstatfs => fsattr::sys_fstatfs,
    __NR_msync => fsmap::sys_msync,
    __NR_poll => event::sys_poll,
    __NR_brk => mem::sys_brk,
    __NR_mmap => mem::sys_mmap,
    __NR_munmap => mem::sys_munmap,
    __NR_mprotect => mem::sys_mprotect,
    __NR_mremap => mem::sys_mremap,
    __NR_madvise => mem::sys_madvise,
    __NR_clock_gettime => time::sys_clock_gettime,
    __NR_clock_getres => time::sys_clock_getres,
    __NR_gettimeofday => time::sys_gettimeofday,
    __NR_time => time::sys_time,
    __NR_nanosleep => time::sys_nanosleep,
    __NR_clock_nanosleep => time::sys_clock_nanosleep,
    __NR_getrusage => time::sys_getrusage,
    __NR_times => time::sys_times,
    __NR_sched_yield => thread::sys_sched_yield,
    __NR_arch_prctl => misc::sys_arch_prctl,
    __NR_set_tid_address => misc::sys_set_tid_address,
    __NR_set_robust_list => misc::sys_set_robust_list,
    __NR_rseq => misc::sys_rseq,
    __NR_prlimit64 => misc::sys_prlimit64,
    __NR_getrlimit => misc::sys_getrlimit,
    __NR_setrlimit => misc::sys_setrlimit,
    __NR_getrandom => misc::sys_getrandom,
    __NR_uname => misc::sys_uname,
    __NR_getpid => misc::sys_getpid,
    __NR_gettid => misc::sys_gettid,
    __NR_getppid => misc::sys_getppid,
    __NR_getuid => misc::sys_zero,
    __NR_geteuid => misc::sys_zero,
    __NR_getgid => misc::sys_zero,
    __NR_getegid => misc::sys_zero,
    __NR_sched_getaffinity => misc::sys_sched_getaffinity,
    __NR_rt_sigaction => signal::sys_rt_sigaction,
    __NR_rt_sigprocmask => signal::sys_rt_sigprocmask,
    __NR_sigaltstack => signal::sys_sigaltstack,
    __NR_ppoll => event::sys_ppoll,
    __NR_select => event::sys_select,
    __NR_pselect6 => event::sys_pselect6,
    __NR_epoll_create => event::sys_epoll_create,
    __NR_epoll_create1 => event::sys_epoll_create1,
    __NR_epoll_ctl => event::sys_epoll_ctl,
    __NR_epoll_wait => event::sys_epoll_wait,
    __NR_epoll_pwait => event::sys_epoll_pwait,
    __NR_epoll_pwait2 => event::sys_epoll_pwait2,
    __NR_eventfd => event::sys_eventfd,
    __NR_eventfd2 => event::sys_eventfd2,
    __NR_timerfd_create => event::sys_timerfd_create,
    __NR_timerfd_settime => event::sys_timerfd_settime,
    __NR_timerfd_gettime => event::sys_timerfd_gettime,
    __NR_signalfd => event::sys_signalfd,
    __NR_signalfd4 => event::sys_signalfd4,
    __NR_getxattr => xattr::sys_getxattr,
    __NR_lgetxattr => xattr::sys_lgetxattr,
    __NR_fgetxattr => xattr::sys_fgetxattr,
    __NR_listxattr => xattr::sys_listxattr,
    __NR_llistxattr => xattr::sys_llistxattr,
    __NR_flistxattr => xattr::sys_flistxattr,
    __NR_setxattr => xattr::sys_setxattr,
    __NR_lsetxattr => xattr::sys_lsetxattr,
    __NR_fsetxattr => xattr::sys_fsetxattr,
    __NR_removexattr => xattr::sys_removexattr,
    __NR_lremovexattr => xattr::sys_lremovexattr,
    __NR_fremovexattr => xattr::sys_fremovexattr,
    __NR_fadvise64 => xattr::sys_fadvise64,
    __NR_kill => signal::sys_kill,
    __NR_rt_sigreturn => signal::sys_rt_sigreturn,
    __NR_rt_sigpending => signal::sys_rt_sigpending,
    __NR_rt_sigsuspend => signal::sys_rt_sigsuspend,
    __NR_rt_sigtimedwait => signal::sys_rt_sigtimedwait,
    __NR_rt_sigqueueinfo => signal::sys_rt_sigqueueinfo,
    __NR_rt_tgsigqueueinfo => signal::sys_rt_tgsigqueueinfo,
    __NR_pause => signal::sys_pause,
    __NR_alarm => signal::sys_alarm,
    __NR_getitimer => signal::sys_getitimer,
    __NR_setitimer => signal::sys_setitimer,
    __NR_timer_create => signal::sys_timer_create,
    __NR_timer_settime => signal::sys_timer_settime,
    __NR_timer_gettime => signal::sys_timer_gettime,
    __NR_timer_getoverrun => signal::sys_timer_getoverrun,
    __NR_timer_delete => signal::sys_timer_delete,
    __NR_tkill => signal::sys_tkill,
    __NR_tgkill => signal::sys_tgkill,
    __NR_futex => thread::sys_futex,
    __NR_clone => thread::sys_clone,
    __NR_clone3 => thread::sys_clone3,
    __NR_get_robust_list => thread::sys_get_robust_list,
    __NR_prctl => misc::sys_prctl,
    __NR_sysinfo => misc::sys_sysinfo,
    __NR_exit => thread::sys_exit,
    __NR_exit_group => thread::sys_exit_group,
    __NR_socket => crate::net::sys::sys_socket,
    __NR_socketpair => crate::net::sys::sys_socketpair,
    __NR_bind => crate::net::sys::sys_bind,
    __NR_listen => crate::net::sys::sys_listen,
    __NR_accept => crate::net::sys::sys_accept,
    __NR_accept4 => crate::net::sys::sys_accept4,
    __NR_connect => crate::net::sys::sys_connect,
    __NR_getsockname => crate::net::sys::sys_getsockname,
    __NR_getpeername => crate::net::sys::sys_getpeername,
    __NR_sendto => crate::net::sys::sys_sendto,
    __NR_recvfrom => crate::net::sys::sys_recvfrom,
    __NR_sendmsg => crate::net::sys::sys_sendmsg,
    __NR_recvmsg => crate::net::sys::sys_recvmsg,
    __NR_sendmmsg => crate::net::sys::sys_sendmmsg,
    __NR_recvmmsg => crate::net::sys::sys_recvmmsg,
    __NR_shutdown => crate::net::sys::sys_shutdown,
    __NR_setsockopt => crate::net::sys::sys_setsockopt,
    __NR_getsockopt => crate::net::sys::sys_getsockopt,
}

/// Whether `nr` ends the program (strace prints `= ?` for it, before it runs).
fn is_exit(nr: u64) -> bool {
    nr == u64::from(linux_raw_sys::general::__NR_exit)
        || nr == u64::from(linux_raw_sys::general::__NR_exit_group)
}

/// Calls, errors and time spent in one syscall, for `--strace-summary`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SyscallStats {
    pub calls: u64,
    pub errors: u64,
    pub ns: u64,
}

// How waiting works: a handler that must wait returns `Errno::RESTART` with `Process::wait` set;
// `dispatch` then returns `Errno::RESTART.to_ret()`, the kernel waits (until an event or the deadline)
// and calls `dispatch` again with the same arguments. The handler finds its earlier `Process::wait`
// (e.g. the deadline it computed) when it runs again; `dispatch` clears it once the call completes.

/// Wait until `deadline` (monotonic ns): returns Ok once it has passed, else asks to be run again.
pub(crate) fn wait_until(cx: &mut Ctx, deadline: u64) -> Result<(), Errno> {
    if cx.plat.monotonic_ns() >= deadline {
        return Ok(());
    }
    cx.p.wait = Some(crate::process::Wait {
        deadline: Some(deadline),
    });
    Err(Errno::RESTART)
}

/// The deadline a waiting syscall computed on its first run, or `first()` on the first run.
pub(crate) fn saved_deadline(
    cx: &mut Ctx,
    first: impl FnOnce(&mut Ctx) -> Result<Option<u64>, Errno>,
) -> Result<Option<u64>, Errno> {
    match cx.p.wait {
        Some(w) => Ok(w.deadline),
        None => first(cx),
    }
}
pub fn dispatch(cx: &mut Ctx, nr: u64, args: Args) -> u64 {
    if cx.p.strace && is_exit(nr) {
        let mut line = String::new();
        crate::strace::format_noreturn(&mut line, nr, args, &cx.p.mm);
        cx.plat.trace(&line);
    }
    let start = cx.p.stats.as_ref().map(|_| cx.plat.monotonic_ns());
    let result = match handler(nr) {
        Some(h) => h(cx, &args),
        None => {
            let count = cx.p.missing.entry(nr).or_insert(0);
            *count += 1;
            let name = crate::strace::syscall_name(nr).unwrap_or("unknown");
            if cx.p.strict {
                cx.p.fatal = Some((
                    125,
                    format!(
                        "nutshell: syscall {name} ({nr}) is not implemented; stopping (--strict)"
                    ),
                ));
            } else if *count == 1 {
                cx.plat.log(&format!(
                    "nutshell: syscall {name} ({nr}) is not implemented"
                ));
            }
            Err(Errno::ENOSYS)
        }
    };
    if result == Err(Errno::RESTART) {
        // The handler waits: no trace line and no statistics until it completes.
        cx.p.wait.get_or_insert_with(Default::default);
        return Errno::RESTART.to_ret();
    }
    cx.p.wait = None;
    // Whatever this call changed (a pipe written, a file closed, a futex word...) may be what another
    // thread waits for: waiting threads run their syscall again and check.
    if cx.p.threads.live > 1 {
        cx.p.threads.events += 1;
    }
    let ret = match result {
        Ok(v) => v,
        Err(e) => e.to_ret(),
    };
    if let Some(start) = start {
        let elapsed = cx.plat.monotonic_ns().saturating_sub(start);
        if let Some(stats) = cx.p.stats.as_mut() {
            let s = stats.entry(nr).or_default();
            s.calls += 1;
            s.ns += elapsed;
            if result.is_err() {
                s.errors += 1;
            }
        }
    }
    if cx.p.strace && !is_exit(nr) {
        let mut line = String::new();
        crate::strace::format_syscall(&mut line, nr, args, ret as i64, &cx.p.mm);
        cx.plat.trace(&line);
    }
    ret
}

/// Write a plain-old-data value given as bytes to user memory.
pub(crate) fn put(cx: &mut Ctx, addr: u64, bytes: &[u8]) -> Result<(), Errno> {
    use crate::uaccess::UserMemory;
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    cx.p.mm.write(addr, bytes)
}

/// Read `N` bytes of user memory.
pub(crate) fn get<const N: usize>(cx: &mut Ctx, addr: u64) -> Result<[u8; N], Errno> {
    let mut b = [0u8; N];
    cx.p.mm.read_user(addr, &mut b)?;
    Ok(b)
}

/// Read a little-endian u64 of user memory.
pub(crate) fn get_u64(cx: &mut Ctx, addr: u64) -> Result<u64, Errno> {
    Ok(u64::from_le_bytes(get::<8>(cx, addr)?))
}

/// A struct timespec (16 bytes) as nanoseconds: EINVAL for a negative tv_sec or a tv_nsec outside
/// 0..1e9, as Linux's timespec64_valid; huge values saturate.
pub(crate) fn timespec_ns(b: &[u8]) -> Result<u64, Errno> {
    let sec = i64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
    let nsec = i64::from_le_bytes(b[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec as u64))
}

/// Read a struct timespec of user memory as nanoseconds (see [`timespec_ns`]).
pub(crate) fn read_timespec(cx: &mut Ctx, addr: u64) -> Result<u64, Errno> {
    timespec_ns(&get::<16>(cx, addr)?)
}

/// Serialise u64 fields little-endian, the layout of most Linux structs on x86_64.
pub(crate) fn le64(fields: &[u64]) -> alloc::vec::Vec<u8> {
    fields.iter().flat_map(|f| f.to_le_bytes()).collect()
}

#[cfg(test)]
mod fs_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod thread_tests;

/// The `strace -c` style table of `stats`, sorted by time (then calls), one string per line.
pub fn summary_table(
    stats: &alloc::collections::BTreeMap<u64, SyscallStats>,
) -> alloc::vec::Vec<String> {
    use core::fmt::Write;
    let mut rows: alloc::vec::Vec<(u64, SyscallStats)> =
        stats.iter().map(|(k, v)| (*k, *v)).collect();
    rows.sort_by(|a, b| {
        b.1.ns
            .cmp(&a.1.ns)
            .then(b.1.calls.cmp(&a.1.calls))
            .then(a.0.cmp(&b.0))
    });
    let total_ns: u64 = rows.iter().map(|r| r.1.ns).sum();
    let total_calls: u64 = rows.iter().map(|r| r.1.calls).sum();
    let total_errors: u64 = rows.iter().map(|r| r.1.errors).sum();
    let rule = "------ ----------- ----------- --------- --------- ----------------";
    let mut out = alloc::vec![
        String::from("% time     seconds  usecs/call     calls    errors syscall"),
        String::from(rule)
    ];
    let pct = |ns: u64| {
        if total_ns == 0 {
            0.0
        } else {
            ns as f64 * 100.0 / total_ns as f64
        }
    };
    for (nr, s) in &rows {
        let mut line = String::new();
        let name = crate::strace::syscall_name(*nr)
            .map(String::from)
            .unwrap_or_else(|| format!("syscall_{nr:#x}"));
        let errors = if s.errors > 0 {
            format!("{}", s.errors)
        } else {
            String::new()
        };
        let _ = write!(
            line,
            "{:6.2} {:11.6} {:11} {:9} {:>9} {}",
            pct(s.ns),
            s.ns as f64 / 1e9,
            s.ns / 1000 / s.calls.max(1),
            s.calls,
            errors,
            name
        );
        out.push(line);
    }
    out.push(String::from(rule));
    let errors = if total_errors > 0 {
        format!("{total_errors}")
    } else {
        String::new()
    };
    out.push(format!(
        "100.00 {:11.6} {:11} {:9} {:>9} total",
        total_ns as f64 / 1e9,
        total_ns / 1000 / total_calls.max(1),
        total_calls,
        errors
    ));
    out
}
