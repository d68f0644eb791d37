//! Threads and the scheduler: one CPU, round robin, a 10 ms time slice enforced by the LAPIC timer
//! when more than one thread can run. A thread that waits in a syscall (see `Errno::RESTART`) is
//! parked with its deadline and the process's event count; it runs again when the deadline passed or
//! the count changed (a futex wake, a thread exit...). When nothing can run, the CPU halts.

use alloc::boxed::Box;
use alloc::vec::Vec;

use kernel_core::process::ThreadState;
use kernel_core::sys::thread::CloneRequest;
use spin::Mutex;

use crate::arch;
use crate::arch::trap::{KernelStack, TrapFrame};

/// Time slice when several threads are runnable.
const SLICE_NS: u64 = 10_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Running,
    Ready,
    Waiting { deadline: Option<u64>, events: u64 },
    Dead,
}

struct Thread {
    tid: u32,
    /// None for the boot thread, which runs on the static syscall stack. Owned here so that it is
    /// freed with the thread.
    _stack: Option<Box<KernelStack>>,
    stack_top: u64,
    fpu_area: u64,
    /// Kernel stack pointer while switched out.
    saved_rsp: u64,
    /// The per-thread part of the process while this thread is not running.
    view: ThreadState,
    status: Status,
    /// CPU time used before the current run.
    cpu_ns: u64,
}

struct Sched {
    // Boxed: `schedule` keeps a pointer to a thread's `saved_rsp` across the switch, so threads must not
    // move when the vector grows.
    #[allow(clippy::vec_box)]
    threads: Vec<Box<Thread>>,
    current: usize,
}

/// When the running thread last started running (monotonic ns), for its CPU time.
static RUN_START: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// CPU time of the running thread.
pub fn thread_cpu_ns(now: u64) -> u64 {
    let s = SCHED.lock();
    let base = s.threads.get(s.current).map_or(0, |t| t.cpu_ns);
    base + now.saturating_sub(RUN_START.load(core::sync::atomic::Ordering::Relaxed))
}

static SCHED: Mutex<Sched> = Mutex::new(Sched {
    threads: Vec::new(),
    current: 0,
});

/// Register the boot thread (the program's first thread, tid 1).
pub fn init() {
    let (top, fpu) = arch::trap::current();
    let mut s = SCHED.lock();
    s.threads.push(Box::new(Thread {
        tid: 1,
        _stack: None,
        stack_top: top,
        fpu_area: fpu,
        saved_rsp: 0,
        view: ThreadState::default(),
        status: Status::Running,
        cpu_ns: 0,
    }));
    s.current = 0;
}

/// Create the thread a clone asked for: it starts in ring 3 where the parent's syscall returns, with
/// rax = 0, on `req.stack` when given, with a copy of the parent's FPU state.
pub fn spawn(req: CloneRequest, parent: &TrapFrame) {
    let mut frame = *parent;
    frame.rax = 0;
    if req.stack != 0 {
        frame.rsp = req.stack;
    }
    let (_, parent_fpu) = arch::trap::current();
    let fpu_area = crate::platform::clone_fpu_area(parent_fpu);
    let mut stack = KernelStack::new_boxed();
    let saved_rsp = arch::trap::prepare_stack(&mut stack, &frame);
    let stack_top = stack.0.as_ptr() as u64 + arch::trap::KERNEL_STACK_SIZE as u64;
    let mut s = SCHED.lock();
    s.threads.push(Box::new(Thread {
        tid: req.state.tid,
        _stack: Some(stack),
        stack_top,
        fpu_area,
        saved_rsp,
        view: req.state,
        status: Status::Ready,
        cpu_ns: 0,
    }));
    drop(s);
    arch::apic::arm_ns(SLICE_NS, crate::platform::tsc_per_us());
}

/// Whether thread `t` may run now, given the process's event count.
fn runnable(t: &Thread, now: u64, events: u64) -> bool {
    match t.status {
        Status::Ready | Status::Running => true,
        Status::Waiting {
            deadline,
            events: seen,
        } => seen != events || deadline.is_some_and(|d| now >= d),
        Status::Dead => false,
    }
}

/// The event count waiting threads compare: the process's events plus console input arrivals.
pub fn events() -> u64 {
    crate::PROCESS
        .lock()
        .as_ref()
        .map_or(0, |p| p.threads.events)
        + crate::console::INPUT_EVENTS.load(core::sync::atomic::Ordering::Relaxed)
        + crate::net::events()
}

/// Park the running thread until its deadline or the next event, running others meanwhile.
pub fn block(deadline: Option<u64>, events: u64) {
    {
        let mut s = SCHED.lock();
        let c = s.current;
        s.threads[c].status = Status::Waiting { deadline, events };
    }
    schedule();
}

/// Give the CPU to another runnable thread, if any (the time slice ended).
pub fn preempt() {
    {
        let mut s = SCHED.lock();
        let c = s.current;
        if s.threads.len() < 2 {
            return;
        }
        s.threads[c].status = Status::Ready;
    }
    schedule();
}

/// End the running thread for good.
pub fn exit_current() -> ! {
    {
        let mut s = SCHED.lock();
        let c = s.current;
        s.threads[c].status = Status::Dead;
    }
    schedule();
    crate::fail(
        crate::STATUS_KERNEL,
        "nutshell: a dead thread was scheduled",
    )
}

/// Pick the next thread to run and switch to it; idles while nothing can run. Returns when the calling
/// thread is chosen again.
fn schedule() {
    {
        // Charge the time the current thread ran.
        let now = crate::platform::monotonic_ns();
        let mut s = SCHED.lock();
        let c = s.current;
        let start = RUN_START.swap(now, core::sync::atomic::Ordering::Relaxed);
        if let Some(t) = s.threads.get_mut(c) {
            t.cpu_ns += now.saturating_sub(start);
        }
    }
    loop {
        crate::net::poll();
        let next_timer = fire_timers();
        let now = crate::platform::monotonic_ns();
        let events = events();
        let mut s = SCHED.lock();
        let n = s.threads.len();
        let cur = s.current;
        let next = (1..=n)
            .map(|i| (cur + i) % n)
            .find(|i| runnable(&s.threads[*i], now, events));
        let Some(next) = next else {
            // Nothing can run: halt until the nearest deadline (at most 1 ms, to poll the console).
            let nearest = s
                .threads
                .iter()
                .filter_map(|t| match t.status {
                    Status::Waiting {
                        deadline: Some(d), ..
                    } => Some(d),
                    _ => None,
                })
                .chain(next_timer)
                .min();
            drop(s);
            let step = nearest.map_or(1_000_000, |d| d.saturating_sub(now).min(1_000_000));
            crate::platform::idle_for(step.max(1));
            RUN_START.store(
                crate::platform::monotonic_ns(),
                core::sync::atomic::Ordering::Relaxed,
            );
            continue;
        };
        let several = s
            .threads
            .iter()
            .filter(|t| t.status != Status::Dead)
            .count()
            > 1;
        if next == cur {
            s.threads[cur].status = Status::Running;
            reap(&mut s);
            drop(s);
            if several {
                arch::apic::arm_ns(SLICE_NS, crate::platform::tsc_per_us());
            }
            return;
        }
        // Switch the process's per-thread view, the trap stack, the FPU area and the TLS base.
        {
            let mut guard = crate::PROCESS.lock();
            if let Some(p) = guard.as_mut() {
                p.swap_thread(&mut s.threads[cur].view);
                p.swap_thread(&mut s.threads[next].view);
                arch::cpu::wrmsr(arch::cpu::MSR_FS_BASE, p.fs_base);
            }
        }
        s.threads[next].status = Status::Running;
        if s.threads[cur].status == Status::Running {
            s.threads[cur].status = Status::Ready;
        }
        // The AVX (and up) state lives in the registers while a thread runs: switch it too.
        arch::trap::save_extended();
        arch::trap::set_current(s.threads[next].stack_top, s.threads[next].fpu_area);
        arch::trap::restore_extended();
        s.current = next;
        let save: *mut u64 = &mut s.threads[cur].saved_rsp;
        let load = s.threads[next].saved_rsp;
        drop(s);
        if several {
            arch::apic::arm_ns(SLICE_NS, crate::platform::tsc_per_us());
        }
        // SAFETY: `save` points into a boxed Thread that is only freed by `reap` once dead and not
        // current; `load` was saved by a switch or made by `prepare_stack` for a live thread.
        unsafe { arch::trap::switch(save, load) };
        // Back on this thread.
        return;
    }
}

/// Free the stacks of dead threads other than the running one.
fn reap(s: &mut Sched) {
    let cur_tid = s.threads[s.current].tid;
    s.threads
        .retain(|t| t.status != Status::Dead || t.tid == cur_tid);
    if let Some(i) = s.threads.iter().position(|t| t.tid == cur_tid) {
        s.current = i;
    }
}

/// Arm the timer so that the CPU is interrupted at monotonic time `deadline` (for a signal timer), or
/// earlier for the time slice when several threads run.
pub fn arm_timer_at(deadline: u64) {
    let now = crate::platform::monotonic_ns();
    let several = SCHED
        .lock()
        .threads
        .iter()
        .filter(|t| t.status != Status::Dead)
        .count()
        > 1;
    let mut ns = deadline.saturating_sub(now).max(1000);
    if several {
        ns = ns.min(SLICE_NS);
    }
    arch::apic::arm_ns(ns, crate::platform::tsc_per_us());
}

/// Fire the process's expired timers and queue the user's signals (from the idle loop); returns the
/// next timer expiry.
fn fire_timers() -> Option<u64> {
    let mut guard = crate::PROCESS.lock();
    let p = guard.as_mut()?;
    let mut plat = crate::platform::KernelPlatform;
    let mut cx = kernel_core::sys::Ctx { p, plat: &mut plat };
    crate::user_signals(&mut cx);
    kernel_core::sys::signal::fire_timers(&mut cx, crate::platform::monotonic_ns());
    cx.p.signals.next_timer()
}
