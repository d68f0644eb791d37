//! What the syscall handlers need from the machine; the kernel implements it, tests use a fake.

/// Services of the machine under the handlers.
pub trait Platform {
    /// Write program output: `fd` 1 is stdout, 2 is stderr.
    fn console_write(&mut self, fd: u32, data: &[u8]);
    /// Read program input, blocking until at least one byte or end of file (0).
    fn console_read(&mut self, buf: &mut [u8]) -> usize;
    /// Whether input is waiting (or end of file reached), without blocking.
    fn console_input_ready(&mut self) -> bool;
    /// Whether the program's stdin (0), stdout (1) or stderr (2) is a terminal on the user's side.
    fn is_tty(&self, fd: u32) -> bool;
    /// Nanoseconds since boot; never goes back.
    fn monotonic_ns(&self) -> u64;
    /// Nanoseconds since the Unix epoch.
    fn realtime_ns(&self) -> u64;
    /// Wait until the monotonic clock reaches `deadline` (idle, not spinning where the machine allows).
    fn sleep_until(&mut self, deadline: u64);
    /// Fill `buf` with random bytes from the best source the CPU has.
    fn fill_random(&mut self, buf: &mut [u8]);
    /// One kernel log line (without newline), e.g. `nutshell: ...`.
    fn log(&mut self, line: &str);
    /// One strace line (without newline).
    fn trace(&mut self, line: &str);
    /// Set the program's FS base (TLS pointer).
    fn set_fs_base(&mut self, base: u64);
    /// Total and free physical memory in bytes.
    fn memory(&self) -> (u64, u64);
    /// CPU time used so far, in nanoseconds.
    fn cpu_times(&self) -> CpuTimes {
        let t = self.monotonic_ns();
        CpuTimes {
            user: t,
            system: 0,
            thread: t,
        }
    }
}

/// CPU time accounting: the process's time in ring 3 and in the kernel, and the running thread's total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub system: u64,
    pub thread: u64,
}
