//! The state of the running program: address space, open files, signal dispositions, limits.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

use crate::errno::Errno;
use crate::mm::AddressSpace;
use crate::vfs::{File, Fs, Path};

/// An open file description (shared by dup'ed descriptors).
pub struct OpenFile {
    /// What it is: a file of a filesystem, the console, a pipe, a device (see [`crate::vfs::File`]).
    pub file: Arc<dyn File>,
    pub pos: u64,
    /// O_* status flags (access mode, O_APPEND, O_NONBLOCK, O_PATH).
    pub flags: u32,
    /// Absolute path it was opened with, for /proc/self/fd.
    pub path: String,
}

/// A shared open file description.
pub type FileRef = Arc<Mutex<OpenFile>>;

/// One slot of the descriptor table.
#[derive(Clone)]
pub struct Fd {
    pub file: FileRef,
    pub cloexec: bool,
}

/// A signal disposition as rt_sigaction records it.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// A resource limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

/// A syscall waiting to be run again (see `Errno::RESTART`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wait {
    /// Monotonic time at which the handler wants to run again at the latest (None: only on events).
    pub deadline: Option<u64>,
}

/// RLIM_INFINITY.
pub const RLIM_INFINITY: u64 = u64::MAX;
/// Number of RLIMIT_* resources.
pub const RLIMIT_NLIMITS: usize = 16;

/// The running program.
pub struct Process {
    pub mm: AddressSpace,
    pub fds: Vec<Option<Fd>>,
    pub fs: Fs,
    /// The working directory.
    pub cwd: Path,
    /// Path of the executable, for /proc/self/exe.
    pub exe: String,
    /// argv, envp and auxv as exec laid them out, for /proc/self.
    pub exec_info: crate::vfs::proc::ExecInfo,
    /// The name prctl(PR_SET_NAME) and /proc/self/comm use (at most 15 bytes).
    pub comm: String,
    pub pid: u32,
    /// The running thread's id (the fields from here to `wait` describe the running thread; the kernel
    /// swaps them with [`ThreadState`] when it switches threads).
    pub tid: u32,
    pub umask: u32,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub rseq: u64,
    pub sigactions: [SigAction; 64],
    pub sigmask: u64,
    pub altstack: (u64, u32, u64),
    pub rlimits: [Rlimit; RLIMIT_NLIMITS],
    pub fs_base: u64,
    /// Set when the program has exited: the wait status low byte (exit code).
    pub exit_code: Option<u8>,
    /// Set when the program was ended by a signal (default action): the signal number.
    pub exit_signal: Option<u8>,
    /// Print an strace line per syscall.
    pub strace: bool,
    /// Unimplemented syscalls seen: number → count.
    pub missing: BTreeMap<u64, u64>,
    /// End the program at the first unimplemented syscall (status 125).
    pub strict: bool,
    /// Per-syscall statistics for the strace -c style summary, when enabled.
    pub stats: Option<BTreeMap<u64, crate::sys::SyscallStats>>,
    /// A fatal condition found by a handler: status and message; the kernel reports it and stops.
    pub fatal: Option<(u8, String)>,
    /// Set by a handler that returns `Errno::RESTART`: how long the syscall may wait at most.
    pub wait: Option<Wait>,
    /// Threads: ids, futex queues, and what clone/exit ask the kernel to do.
    pub threads: crate::sys::thread::Threads,
    /// Pending signals, timers, and a pending rt_sigreturn.
    pub signals: crate::sys::signal::Signals,
    /// The running thread's stack pointer when it made the current syscall (set by the kernel).
    pub user_rsp: u64,
}

impl Process {
    /// A process with stdin, stdout and stderr on the console.
    pub fn new(mm: AddressSpace, fs: Fs, exe: String) -> Process {
        let console = |fd: u32, flags: u32| {
            Some(Fd {
                file: Arc::new(Mutex::new(OpenFile {
                    file: crate::vfs::file::ConsoleFile::new(fd),
                    pos: 0,
                    flags,
                    path: String::from("/dev/console"),
                })),
                cloexec: false,
            })
        };
        let mut rlimits = [Rlimit {
            cur: RLIM_INFINITY,
            max: RLIM_INFINITY,
        }; RLIMIT_NLIMITS];
        rlimits[linux_raw_sys::general::RLIMIT_STACK as usize] = Rlimit {
            cur: 8 << 20,
            max: RLIM_INFINITY,
        };
        rlimits[linux_raw_sys::general::RLIMIT_NOFILE as usize] = Rlimit {
            cur: 1024,
            max: 4096,
        };
        rlimits[linux_raw_sys::general::RLIMIT_CORE as usize] = Rlimit {
            cur: 0,
            max: RLIM_INFINITY,
        };
        let cwd = fs.root.clone();
        let comm = exe
            .rsplit('/')
            .next()
            .unwrap_or("")
            .chars()
            .take(15)
            .collect();
        Process {
            mm,
            fds: alloc::vec![console(0, 0), console(1, 1), console(2, 1)],
            fs,
            cwd,
            exe,
            exec_info: Default::default(),
            comm,
            pid: 1,
            tid: 1,
            umask: 0o022,
            clear_child_tid: 0,
            robust_list: (0, 0),
            rseq: 0,
            sigactions: [SigAction::default(); 64],
            sigmask: 0,
            altstack: (0, 2, 0),
            rlimits,
            fs_base: 0,
            exit_code: None,
            exit_signal: None,
            strace: false,
            missing: BTreeMap::new(),
            strict: false,
            stats: None,
            fatal: None,
            wait: None,
            threads: Default::default(),
            signals: Default::default(),
            user_rsp: 0,
        }
    }

    /// The open file behind descriptor `fd`.
    pub fn file(&self, fd: u64) -> Result<FileRef, Errno> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds
            .get(i)
            .and_then(|f| f.as_ref())
            .map(|f| f.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Install `file` at the lowest free descriptor >= `min`.
    pub fn install_fd(&mut self, file: FileRef, cloexec: bool, min: usize) -> Result<u64, Errno> {
        let limit = self.rlimits[linux_raw_sys::general::RLIMIT_NOFILE as usize].cur as usize;
        let slot = (min..limit)
            .find(|i| self.fds.get(*i).is_none_or(|f| f.is_none()))
            .ok_or(Errno::EMFILE)?;
        if self.fds.len() <= slot {
            self.fds.resize(slot + 1, None);
        }
        self.fds[slot] = Some(Fd { file, cloexec });
        Ok(slot as u64)
    }
}

/// The per-thread part of [`Process`]: what the kernel keeps for each thread that is not running.
#[derive(Clone, Debug, Default)]
pub struct ThreadState {
    pub tid: u32,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub rseq: u64,
    pub sigmask: u64,
    pub altstack: (u64, u32, u64),
    pub fs_base: u64,
    pub wait: Option<Wait>,
}

impl Process {
    /// Exchange the running thread's fields with `t` (switch the process's view to another thread).
    pub fn swap_thread(&mut self, t: &mut ThreadState) {
        core::mem::swap(&mut self.tid, &mut t.tid);
        core::mem::swap(&mut self.clear_child_tid, &mut t.clear_child_tid);
        core::mem::swap(&mut self.robust_list, &mut t.robust_list);
        core::mem::swap(&mut self.rseq, &mut t.rseq);
        core::mem::swap(&mut self.sigmask, &mut t.sigmask);
        core::mem::swap(&mut self.altstack, &mut t.altstack);
        core::mem::swap(&mut self.fs_base, &mut t.fs_base);
        core::mem::swap(&mut self.wait, &mut t.wait);
    }
}
