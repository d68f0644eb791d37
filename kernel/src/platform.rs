//! The kernel's side of `kernel_core::platform::Platform`: console, clocks, randomness.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::arch;
use crate::console::{self, Channel};

static TSC_PER_US: AtomicU64 = AtomicU64::new(1000);
static TSC_BOOT: AtomicU64 = AtomicU64::new(0);
static BOOT_UNIX_NS: AtomicU64 = AtomicU64::new(0);
static RDRAND: AtomicBool = AtomicBool::new(false);
static RDSEED: AtomicBool = AtomicBool::new(false);
static RNG_STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
/// Which of the program's fds 0-2 are terminals on the user's side (bit n for fd n).
static FPU_SIZE: AtomicU64 = AtomicU64::new(576);
static TTY_MASK: AtomicU64 = AtomicU64::new(0b111);

/// Calibrate the TSC, read the wall clock, and note the CPU's random-number instructions.
pub fn init_time_and_random(cpu: &arch::setup::CpuInfo) {
    TSC_BOOT.store(arch::cpu::rdtsc(), Ordering::Relaxed);
    match arch::time::calibrate_tsc() {
        Some(t) => {
            TSC_PER_US.store(t, Ordering::Relaxed);
        }
        None => crate::log_at(
            crate::LOG_WARN,
            "nutshell: no PIT to calibrate the TSC: assuming 1 GHz",
        ),
    }
    // ns = (ticks * MULT) >> SHIFT, the factors the vDSO gets too.
    MULT.store(
        (1000u64 << SHIFT) / TSC_PER_US.load(Ordering::Relaxed).max(1),
        Ordering::Relaxed,
    );
    BOOT_UNIX_NS.store(
        arch::time::rtc_unix_seconds() * 1_000_000_000,
        Ordering::Relaxed,
    );
    RDRAND.store(cpu.rdrand, Ordering::Relaxed);
    RDSEED.store(cpu.rdseed, Ordering::Relaxed);
    RNG_STATE.store(arch::cpu::rdtsc() | 1, Ordering::Relaxed);
}

/// The calibrated TSC rate.
pub fn tsc_per_us() -> u64 {
    TSC_PER_US.load(Ordering::Relaxed)
}

/// Record which fds are terminals (kernel option `tty=`).
pub fn set_tty_mask(mask: u64) {
    TTY_MASK.store(mask, Ordering::Relaxed);
}

/// ns = (ticks * MULT) >> SHIFT: the same formula the vDSO uses, so both clocks agree exactly.
const SHIFT: u32 = 32;
static MULT: AtomicU64 = AtomicU64::new(1 << SHIFT);

/// The factors of the clock, for the vDSO's data page: (TSC at boot, mult, shift, realtime at boot).
pub fn clock_factors() -> (u64, u64, u64, u64) {
    (
        TSC_BOOT.load(Ordering::Relaxed),
        MULT.load(Ordering::Relaxed),
        u64::from(SHIFT),
        BOOT_UNIX_NS.load(Ordering::Relaxed),
    )
}

/// Nanoseconds since boot.
pub fn monotonic_ns() -> u64 {
    let ticks = arch::cpu::rdtsc().wrapping_sub(TSC_BOOT.load(Ordering::Relaxed));
    ((u128::from(ticks) * u128::from(MULT.load(Ordering::Relaxed))) >> SHIFT) as u64
}

/// The TSC value at monotonic time `ns` (rounded up, so that a wait until it never ends early).
fn tsc_at(ns: u64) -> u64 {
    let mult = u128::from(MULT.load(Ordering::Relaxed).max(1));
    let ticks = (u128::from(ns) << SHIFT).div_ceil(mult);
    TSC_BOOT.load(Ordering::Relaxed).wrapping_add(ticks as u64)
}

/// Idle until the monotonic clock reaches `deadline` (halting between timer interrupts).
pub fn sleep_until(deadline: u64) {
    let t = tsc_at(deadline);
    while monotonic_ns() < deadline {
        arch::apic::wait_until_tsc(t);
    }
}

/// What the CPU is doing, for CPU time accounting.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CpuState {
    User = 0,
    Kernel = 1,
    Idle = 2,
}

/// Nanoseconds spent in each `CpuState`, the current state and when it began.
static STATE_NS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
static STATE: AtomicU64 = AtomicU64::new(CpuState::Kernel as u64);
static STATE_SINCE: AtomicU64 = AtomicU64::new(0);

/// Enter `state`: the time since the last change is charged to the previous state.
pub fn account(state: CpuState) {
    let now = monotonic_ns();
    let since = STATE_SINCE.swap(now, Ordering::Relaxed);
    let prev = STATE.swap(state as u64, Ordering::Relaxed) as usize;
    STATE_NS[prev.min(2)].fetch_add(now.saturating_sub(since), Ordering::Relaxed);
}

fn state_ns(s: CpuState) -> u64 {
    let mut v = STATE_NS[s as usize].load(Ordering::Relaxed);
    if STATE.load(Ordering::Relaxed) == s as u64 {
        v += monotonic_ns().saturating_sub(STATE_SINCE.load(Ordering::Relaxed));
    }
    v
}

/// Idle for about `ns` nanoseconds or until an interrupt.
pub fn idle_for(ns: u64) {
    let t0 = monotonic_ns();
    account(CpuState::Idle);
    arch::apic::wait_until_tsc(tsc_at(t0 + ns));
    account(CpuState::Kernel);
}

/// A random u64: RDSEED, else RDRAND, else a xorshift over the TSC (not cryptographic; logged once).
pub fn random_u64() -> u64 {
    if let Some(v) = arch::cpu::hw_random(
        RDSEED.load(Ordering::Relaxed),
        RDRAND.load(Ordering::Relaxed),
    ) {
        return v;
    }
    let mut x = RNG_STATE.load(Ordering::Relaxed) ^ arch::cpu::rdtsc().rotate_left(17);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    RNG_STATE.store(x, Ordering::Relaxed);
    x
}

/// A zeroed, 64-byte aligned FPU area with the x87 control word and MXCSR at their reset values, so the
/// first restore gives the program the state Linux starts it with.
pub fn new_fpu_area(size: usize) -> u64 {
    FPU_SIZE.store(size.max(576) as u64, Ordering::Relaxed);
    let area = alloc::vec![0u8; size.max(576) + 64];
    let leaked = area.leak();
    let base = leaked.as_ptr() as u64;
    let off = (base.next_multiple_of(64) - base) as usize;
    let a = &mut leaked[off..];
    a[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    a[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    a[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
    base + off as u64
}

/// A new FPU area holding a copy of the one at `from` (a cloned thread starts with its parent's state).
pub fn clone_fpu_area(from: u64) -> u64 {
    let size = FPU_SIZE.load(Ordering::Relaxed) as usize;
    let to = new_fpu_area(size);
    // The areas are kernel heap memory of `size` bytes each; copied through the arch layer.
    arch::trap::copy_fpu_area(from, to, size);
    to
}

/// Size of every thread's FPU area.
pub fn fpu_size() -> usize {
    FPU_SIZE.load(Ordering::Relaxed) as usize
}

/// The machine services the syscall handlers use.
pub struct KernelPlatform;

impl kernel_core::platform::Platform for KernelPlatform {
    fn console_write(&mut self, fd: u32, data: &[u8]) {
        console::write(
            if fd == 2 {
                Channel::Stderr
            } else {
                Channel::Stdout
            },
            data,
        );
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        console::read(buf)
    }

    fn console_input_ready(&mut self) -> bool {
        console::input_ready()
    }

    fn is_tty(&self, fd: u32) -> bool {
        fd < 3 && TTY_MASK.load(Ordering::Relaxed) & (1 << fd) != 0
    }

    fn monotonic_ns(&self) -> u64 {
        monotonic_ns()
    }

    fn realtime_ns(&self) -> u64 {
        BOOT_UNIX_NS.load(Ordering::Relaxed) + monotonic_ns()
    }

    fn sleep_until(&mut self, deadline: u64) {
        sleep_until(deadline);
    }

    fn fill_random(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = random_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn log(&mut self, line: &str) {
        crate::log_at(crate::LOG_WARN, line);
    }

    fn trace(&mut self, line: &str) {
        console::write(Channel::Trace, line.as_bytes());
    }

    fn set_fs_base(&mut self, base: u64) {
        arch::cpu::wrmsr(arch::cpu::MSR_FS_BASE, base);
    }

    fn memory(&self) -> (u64, u64) {
        arch::mem::memory_stats()
    }

    fn cpu_times(&self) -> kernel_core::platform::CpuTimes {
        kernel_core::platform::CpuTimes {
            user: state_ns(CpuState::User),
            system: state_ns(CpuState::Kernel),
            thread: crate::sched::thread_cpu_ns(monotonic_ns()),
        }
    }
}
