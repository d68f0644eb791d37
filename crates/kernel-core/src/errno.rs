//! Linux errno values as a typed error.

use linux_raw_sys::errno as e;

/// A Linux errno value (positive). Syscalls return `-errno` in exactly one place: [`Errno::to_ret`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub u32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno(e::$name);)*
        }
    };
}

errnos!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    ERANGE,
    ENAMETOOLONG,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    EOVERFLOW,
    ETIMEDOUT,
    EOPNOTSUPP,
    ENOTSOCK,
    EDEADLK,
    ENODATA,
    ECONNREFUSED,
    EAFNOSUPPORT,
    EADDRINUSE,
);

impl Errno {
    /// Internal (Linux's ERESTARTSYS): the syscall must wait. The handler has set `Process::wait`; the
    /// kernel parks the thread and runs the same syscall again when something changed or the deadline
    /// passed. Never returned to the program.
    pub const RESTART: Errno = Errno(512);

    /// The value a syscall returns in rax for this error.
    pub fn to_ret(self) -> u64 {
        (-(self.0 as i64)) as u64
    }
}

/// What a syscall handler returns: the value for rax, or an errno.
pub type SysResult = Result<u64, Errno>;
