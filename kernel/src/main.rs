//! The nutshell kernel: boots under QEMU through PVH, loads one Linux x86_64 program from the initrd and
//! serves its syscalls. `arch` holds all the unsafe code; the Linux ABI lives in the `kernel-core` crate.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod console;
mod exec;
mod fs;
mod net;
mod platform;
mod rt;
mod sched;

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use arch::trap::{TrapFrame, VECTOR_SYSCALL};
use console::Channel;
use kernel_core::mm::{Access, FaultError};
use kernel_core::sys::signal;
use spin::Mutex;

/// Exit statuses of docs/PROTOCOL.md.
pub const STATUS_KERNEL: u8 = 125;
pub const STATUS_NOEXEC: u8 = 126;
pub const STATUS_NOTFOUND: u8 = 127;

/// The running program, once exec succeeded.
static PROCESS: Mutex<Option<kernel_core::process::Process>> = Mutex::new(None);

/// Kernel message levels (`log=` option): error, warn, info, debug, trace.
pub const LOG_ERROR: u8 = 0;
pub const LOG_WARN: u8 = 1;
pub const LOG_INFO: u8 = 2;
pub const LOG_DEBUG: u8 = 3;
static LOG_LEVEL: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(LOG_INFO);

/// Set the most verbose level shown, from its name. Unknown names are an error message.
pub fn set_log_level(name: &str) {
    let level = match name {
        "error" => LOG_ERROR,
        "warn" => LOG_WARN,
        "info" => LOG_INFO,
        "debug" => LOG_DEBUG,
        "trace" => LOG_DEBUG + 1,
        _ => {
            log(&format!(
                "nutshell: unknown log level '{name}' (error, warn, info, debug, trace)"
            ));
            return;
        }
    };
    LOG_LEVEL.store(level, core::sync::atomic::Ordering::Relaxed);
}

/// Log a kernel message line at `level`.
pub fn log_at(level: u8, msg: &str) {
    if level <= LOG_LEVEL.load(core::sync::atomic::Ordering::Relaxed) {
        console::write(Channel::Log, msg.as_bytes());
    }
}

/// Log an error: always shown.
pub fn log(msg: &str) {
    log_at(LOG_ERROR, msg);
}

/// Report the final status and stop the machine.
pub fn exit(status: u8) -> ! {
    let rec = format!("exit {status}");
    console::write(Channel::Exit, rec.as_bytes());
    arch::serial::flush();
    arch::cpu::outl(0xf4, u32::from(status));
    arch::setup::acpi_poweroff();
    log(
        "nutshell: the program has ended; QEMU has no isa-debug-exit device, stop it with Ctrl-A X",
    );
    arch::cpu::halt_forever()
}

/// Stop with a message and status 125 (nutshell's own failure).
pub fn fail(status: u8, msg: &str) -> ! {
    log(msg);
    exit(status)
}

#[no_mangle]
extern "C" fn kernel_entry(start_info: u32) -> ! {
    arch::serial::init();
    let cpu = arch::setup::init();
    arch::gdt::init();
    arch::setup::mask_pic();
    let early = match arch::pvh::early(u64::from(start_info)) {
        Ok(e) => e,
        Err(m) => fail(STATUS_KERNEL, m),
    };
    if let Err(m) =
        arch::mem::init_frames(&early.ram[..early.nram], &early.reserved[..early.nreserved])
    {
        fail(STATUS_KERNEL, m);
    }
    let boot = arch::pvh::read(u64::from(start_info), &early);
    let fpu_area = platform::new_fpu_area(cpu.fpu_size);
    arch::trap::init(fpu_area, cpu.use_xsave);
    arch::mem::drop_identity_map();
    platform::init_time_and_random(&cpu);
    arch::apic::init(platform::tsc_per_us());
    arch::apic::route_serial_irq();
    arch::serial::enable_rx_interrupt();
    console::start_virtio(&boot.cmdline);
    net::init(&boot.cmdline);
    exec::start(boot, &cpu)
}

/// Called by the entry code for every syscall, exception and interrupt.
#[no_mangle]
extern "C" fn trap_handler(frame: &mut TrapFrame) {
    let user = frame.is_user();
    if user {
        platform::account(platform::CpuState::Kernel);
    }
    handle_trap(frame);
    if user {
        platform::account(platform::CpuState::User);
    }
}

fn handle_trap(frame: &mut TrapFrame) {
    if frame.vector == VECTOR_SYSCALL {
        syscall(frame);
        return_to_user(frame);
    } else if frame.is_user() {
        user_exception(frame);
        return_to_user(frame);
    } else if frame.vector >= 32 {
        // The wake-up timer, the console, or a stray interrupt while the kernel idles.
        device_interrupt(frame.vector);
        arch::apic::eoi();
    } else {
        kernel_exception(frame);
    }
}

/// The devices' interrupts: COM1, virtio-serial, virtio-net. virtio-net's PCI line may be the
/// virtio-serial device's too (routed to `NET_VECTOR`, which is programmed last): its handler polls
/// the console as well, and an interrupt the console claims is not counted as foreign to the network.
fn device_interrupt(v: u64) {
    if v == u64::from(arch::apic::SERIAL_VECTOR)
        || v == u64::from(arch::virtio_console::CONSOLE_VECTOR)
    {
        console::on_interrupt();
    }
    if v == u64::from(arch::virtio_net::NET_VECTOR) {
        let console = console::on_interrupt();
        net::on_interrupt();
        if console {
            arch::virtio_net::not_foreign();
        }
    }
}

fn syscall(frame: &mut TrapFrame) {
    let guard = PROCESS.lock();
    if guard.is_none() {
        fail(
            STATUS_KERNEL,
            "nutshell: syscall before the program started",
        );
    }
    let mut plat = platform::KernelPlatform;
    let args = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let nr = frame.rax;
    let mut guard = guard;
    loop {
        let p = guard
            .as_mut()
            .expect("the process exists while it makes syscalls");
        p.user_rsp = frame.rsp;
        let mut cx = kernel_core::sys::Ctx { p, plat: &mut plat };
        frame.rax = kernel_core::sys::dispatch(&mut cx, nr, args);
        if let Some(req) = p.threads.spawn.take() {
            drop(guard);
            sched::spawn(req, frame);
            return;
        }
        if core::mem::take(&mut p.threads.yield_now) {
            drop(guard);
            sched::preempt();
            return;
        }
        if p.threads.exit_thread.take().is_some() {
            let mut cx = kernel_core::sys::Ctx { p, plat: &mut plat };
            kernel_core::sys::thread::thread_exit_cleanup(&mut cx);
            drop(guard);
            sched::exit_current();
        }
        let Some(wait) = p.wait else { break };
        if interrupt_wait(p, frame, nr) {
            break;
        }
        drop(guard);
        sched::block(wait.deadline, sched::events());
        guard = PROCESS.lock();
        let p = guard
            .as_mut()
            .expect("the process exists while it makes syscalls");
        if interrupt_wait(p, frame, nr) {
            break;
        }
    }
    let p = guard
        .as_mut()
        .expect("the process exists while it makes syscalls");
    if let Some(code) = p.exit_code {
        report_at_exit(p);
        drop(guard);
        exit(code);
    }
    if let Some((status, msg)) = p.fatal.take() {
        log(&msg);
        report_at_exit(p);
        drop(guard);
        exit(status);
    }
    if let Some(sig) = p.exit_signal {
        report_at_exit(p);
        drop(guard);
        let name = SIGNAL_NAMES
            .get(usize::from(sig))
            .copied()
            .unwrap_or("Real-time signal");
        kill(sig, &format!("killed by signal {sig} ({name})"));
    }
}

/// A signal arrived while syscall `nr` waited: end it with EINTR, or rewind it to run again after the
/// handler (SA_RESTART). Returns whether the wait is over.
fn interrupt_wait(p: &mut kernel_core::process::Process, frame: &mut TrapFrame, nr: u64) -> bool {
    let mut plat = platform::KernelPlatform;
    let cx = kernel_core::sys::Ctx { p, plat: &mut plat };
    if !signal::has_deliverable(&cx) {
        return false;
    }
    match signal::interrupted_result(&cx, nr) {
        Some(rax) => frame.rax = rax,
        None if signal::has_deliverable(&cx) => {
            // Restart: the syscall instruction runs again after the handler.
            frame.rip -= 2;
            frame.rax = nr;
        }
        None => return false,
    }
    p.wait = None;
    true
}

fn regs_of(f: &TrapFrame) -> signal::UserRegs {
    signal::UserRegs {
        r8: f.r8,
        r9: f.r9,
        r10: f.r10,
        r11: f.r11,
        r12: f.r12,
        r13: f.r13,
        r14: f.r14,
        r15: f.r15,
        rdi: f.rdi,
        rsi: f.rsi,
        rbp: f.rbp,
        rbx: f.rbx,
        rdx: f.rdx,
        rax: f.rax,
        rcx: f.rcx,
        rsp: f.rsp,
        rip: f.rip,
        rflags: f.rflags,
        trapno: if f.vector < 32 { f.vector } else { 0 },
        err: if f.vector < 32 { f.error } else { 0 },
        cr2: if f.vector == 14 { arch::cpu::cr2() } else { 0 },
    }
}

/// Load registers into the frame; the return then restores all of them exactly (iretq).
fn set_regs(f: &mut TrapFrame, r: &signal::UserRegs) {
    f.r8 = r.r8;
    f.r9 = r.r9;
    f.r10 = r.r10;
    f.r11 = r.r11;
    f.r12 = r.r12;
    f.r13 = r.r13;
    f.r14 = r.r14;
    f.r15 = r.r15;
    f.rdi = r.rdi;
    f.rsi = r.rsi;
    f.rbp = r.rbp;
    f.rbx = r.rbx;
    f.rdx = r.rdx;
    f.rax = r.rax;
    f.rcx = r.rcx;
    f.rsp = r.rsp;
    f.rip = r.rip;
    f.rflags = r.rflags;
    f.vector = arch::trap::VECTOR_IRET;
}

/// The running thread's complete FPU state, for a signal frame or rt_sigreturn.
fn fpu() -> signal::Fpu<'static> {
    arch::trap::save_extended();
    signal::Fpu {
        area: arch::trap::fpu_state(platform::fpu_size()),
        xcr0: arch::setup::xcr0(),
    }
}
/// Queue the signals the user sent through the console (Ctrl-C, kill of nutshell) to the process.
pub fn user_signals(cx: &mut kernel_core::sys::Ctx) {
    let mut set = console::take_signals();
    while set != 0 {
        let sig = set.trailing_zeros() as u8 + 1;
        set &= set - 1;
        let info = signal::SigInfo {
            signo: sig,
            code: signal::SI_KERNEL,
            ..Default::default()
        };
        signal::send(cx, 0, info);
    }
}

/// Before returning to ring 3: fire expired timers, finish an rt_sigreturn, deliver pending signals, and
/// arm the timer for the next timer expiry.
fn return_to_user(frame: &mut TrapFrame) {
    let mut guard = PROCESS.lock();
    let Some(p) = guard.as_mut() else { return };
    let mut plat = platform::KernelPlatform;
    let mut cx = kernel_core::sys::Ctx { p, plat: &mut plat };
    // The common case costs almost nothing: no timer armed, no signal pending, no rt_sigreturn.
    let timers = cx.p.signals.next_timer().is_some();
    if timers {
        signal::fire_timers(&mut cx, platform::monotonic_ns());
    }
    user_signals(&mut cx);
    if !cx.p.signals.sigreturn && !signal::has_deliverable(&cx) {
        if let Some(next) = cx.p.signals.next_timer() {
            drop(guard);
            sched::arm_timer_at(next);
        }
        return;
    }
    let mut outcome = signal::Outcome::None;
    if cx.p.signals.sigreturn {
        cx.p.signals.sigreturn = false;
        let mut regs = regs_of(frame);
        outcome = signal::sigreturn(&mut cx, &mut regs, &mut fpu());
        arch::trap::restore_extended();
        if outcome == signal::Outcome::Handler {
            set_regs(frame, &regs);
            // rt_sigreturn must not clobber rax (nor rcx/r11) with its own return value.
            outcome = signal::Outcome::None;
        }
    }
    if outcome == signal::Outcome::None {
        let mut regs = regs_of(frame);
        regs.trapno = 0;
        regs.err = 0;
        regs.cr2 = 0;
        outcome = signal::deliver(&mut cx, &mut regs, &mut fpu());
        if outcome == signal::Outcome::Handler {
            set_regs(frame, &regs);
        }
    }
    if let signal::Outcome::Terminate(sig) = outcome {
        report_at_exit(cx.p);
        drop(guard);
        let name = SIGNAL_NAMES
            .get(usize::from(sig))
            .copied()
            .unwrap_or("Real-time signal");
        kill(sig, &format!("killed by signal {sig} ({name})"));
    }
    if let Some(next) = cx.p.signals.next_timer() {
        drop(guard);
        sched::arm_timer_at(next);
    }
}

/// What is reported when the program ends: the syscall summary (if asked) and the missing syscalls.
fn report_at_exit(p: &kernel_core::process::Process) {
    if let Some(stats) = &p.stats {
        for line in kernel_core::sys::summary_table(stats) {
            log(&line);
        }
    }
    report_missing(p);
}

/// At exit: one line listing the syscalls that returned ENOSYS because nutshell lacks them.
fn report_missing(p: &kernel_core::process::Process) {
    if p.missing.is_empty() {
        return;
    }
    let mut line = String::from("nutshell: not implemented:");
    for (i, (nr, count)) in p.missing.iter().enumerate() {
        let name = kernel_core::strace::syscall_name(*nr).unwrap_or("unknown");
        let _ = write!(
            line,
            "{} {name}({nr}) x{count}",
            if i == 0 { "" } else { "," }
        );
    }
    log(&line);
}

/// Signal numbers and the names Linux's strsignal gives them.
const SIGILL: u8 = 4;
const SIGTRAP: u8 = 5;
const SIGBUS: u8 = 7;
const SIGFPE: u8 = 8;
const SIGKILL: u8 = 9;
const SIGSEGV: u8 = 11;

fn user_exception(frame: &mut TrapFrame) {
    let rip = frame.rip;
    // (signal, si_code, si_addr, the report's first line)
    let (sig, code, addr, what) = match frame.vector {
        14 => {
            let addr = arch::cpu::cr2();
            let access = if frame.error & 0x10 != 0 {
                Access::Exec
            } else if frame.error & 0x2 != 0 {
                Access::Write
            } else {
                Access::Read
            };
            let result = PROCESS
                .lock()
                .as_mut()
                .map(|p| p.mm.handle_fault(addr, access));
            match result {
                Some(Ok(())) => return,
                Some(Err(FaultError::OutOfMemory)) => {
                    log(&format!(
                        "nutshell: out of memory: {} guest, raise --mem (page fault at {addr:#x}, rip {rip:#x})",
                        arch::mem::ram_text(),
                    ));
                    exit(128 + SIGKILL);
                }
                Some(Err(FaultError::Segv { mapped })) => {
                    let code = if mapped {
                        signal::SEGV_ACCERR
                    } else {
                        signal::SEGV_MAPERR
                    };
                    (
                        SIGSEGV,
                        code,
                        addr,
                        format!("segmentation fault at {addr:#x} (rip {rip:#x})"),
                    )
                }
                None => (
                    SIGSEGV,
                    signal::SEGV_MAPERR,
                    addr,
                    format!("segmentation fault at {addr:#x} (rip {rip:#x})"),
                ),
            }
        }
        0 => (
            SIGFPE,
            1,
            rip,
            format!("floating point exception: divide error (rip {rip:#x})"),
        ),
        16 | 19 => (
            SIGFPE,
            0,
            rip,
            format!("floating point exception (rip {rip:#x})"),
        ),
        6 => (
            SIGILL,
            2,
            rip,
            format!("illegal instruction (rip {rip:#x})"),
        ),
        3 | 1 => (
            SIGTRAP,
            1,
            rip,
            format!("trace/breakpoint trap (rip {rip:#x})"),
        ),
        17 => (
            SIGBUS,
            1,
            0,
            format!("bus error: alignment check (rip {rip:#x})"),
        ),
        10..=13 => (
            SIGSEGV,
            signal::SI_KERNEL,
            0,
            format!("segmentation fault: general protection (rip {rip:#x})"),
        ),
        v if v >= 32 => {
            device_interrupt(v);
            arch::apic::eoi();
            if v == u64::from(arch::apic::TIMER_VECTOR) {
                // The time slice ended: let another thread run.
                sched::preempt();
            }
            return;
        }
        v => (
            SIGSEGV,
            signal::SI_KERNEL,
            0,
            format!("segmentation fault: exception {v} (rip {rip:#x})"),
        ),
    };
    // The program's handler for the signal, if it has one; else the process ends with a report.
    let outcome = {
        let mut guard = PROCESS.lock();
        match guard.as_mut() {
            Some(p) => {
                let mut plat = platform::KernelPlatform;
                let mut cx = kernel_core::sys::Ctx { p, plat: &mut plat };
                let info = signal::SigInfo {
                    signo: sig,
                    code,
                    addr,
                    ..Default::default()
                };
                let mut regs = regs_of(frame);
                let o = signal::fault(&mut cx, info, &mut regs, &mut fpu());
                if o == signal::Outcome::Handler {
                    set_regs(frame, &regs);
                }
                o
            }
            None => signal::Outcome::Terminate(sig),
        }
    };
    match outcome {
        signal::Outcome::Handler | signal::Outcome::None => {}
        signal::Outcome::Terminate(s) if s == sig => kill_fault(sig, &what, frame),
        signal::Outcome::Terminate(s) => kill_fault(
            s,
            &format!("{what}; the signal frame could not be written"),
            frame,
        ),
    }
}

/// End the program as if by signal `sig`: status 128 + sig, one line on stderr.
fn kill(sig: u8, what: &str) -> ! {
    let exe = PROCESS
        .lock()
        .as_ref()
        .map(|p| p.exe.clone())
        .unwrap_or_default();
    log(&format!("nutshell: {exe}: {what}"));
    exit(128 + sig)
}

/// strsignal(3) texts, indexed by signal number.
const SIGNAL_NAMES: [&str; 32] = [
    "",
    "Hangup",
    "Interrupt",
    "Quit",
    "Illegal instruction",
    "Trace/breakpoint trap",
    "Aborted",
    "Bus error",
    "Floating point exception",
    "Killed",
    "User defined signal 1",
    "Segmentation fault",
    "User defined signal 2",
    "Broken pipe",
    "Alarm clock",
    "Terminated",
    "Stack fault",
    "Child exited",
    "Continued",
    "Stopped (signal)",
    "Stopped",
    "Stopped (tty input)",
    "Stopped (tty output)",
    "Urgent I/O condition",
    "CPU time limit exceeded",
    "File size limit exceeded",
    "Virtual timer expired",
    "Profiling timer expired",
    "Window changed",
    "I/O possible",
    "Power failure",
    "Bad system call",
];

const EXCEPTION_NAMES: [&str; 22] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack-segment fault",
    "general protection fault",
    "page fault",
    "reserved",
    "x87 floating point",
    "alignment check",
    "machine check",
    "SIMD floating point",
    "virtualization",
    "control protection",
];

fn kernel_exception(frame: &TrapFrame) -> ! {
    let name = EXCEPTION_NAMES
        .get(frame.vector as usize)
        .copied()
        .unwrap_or("exception");
    fail(
        STATUS_KERNEL,
        &format!(
            "nutshell: kernel fault: {name} (vector {}) at rip {:#x}, error code {:#x}, fault address {:#x}, rsp {:#x}",
            frame.vector,
            frame.rip,
            frame.error,
            arch::cpu::cr2(),
            frame.rsp
        ),
    )
}

/// End the program for a fault: the one-line reason, then where it happened (symbolized), the
/// registers and a short stack trace, then status 128 + sig.
fn kill_fault(sig: u8, what: &str, frame: &TrapFrame) -> ! {
    let exe = PROCESS
        .lock()
        .as_ref()
        .map(|p| p.exe.clone())
        .unwrap_or_default();
    log(&format!("nutshell: {exe}: {what}"));
    if let Some(p) = PROCESS.lock().as_ref() {
        for line in exec::crash_report(p, frame) {
            log(&line);
        }
    }
    exit(128 + sig)
}

/// A fixed buffer for messages written when the heap cannot be used.
struct StackBuf {
    buf: [u8; 512],
    len: usize,
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The panic handler's report (without allocating: the heap may be why we are here).
fn kernel_panic(info: &core::panic::PanicInfo) -> ! {
    let mut msg = StackBuf {
        buf: [0; 512],
        len: 0,
    };
    if arch::mem::HEAP_EXHAUSTED.load(core::sync::atomic::Ordering::Relaxed) {
        let b = arch::mem::ram_bytes();
        if b.is_multiple_of(1 << 20) {
            let _ = write!(
                msg,
                "nutshell: out of memory: {} MiB guest, raise --mem",
                b >> 20
            );
        } else {
            let _ = write!(
                msg,
                "nutshell: out of memory: {} KiB guest, raise --mem",
                b >> 10
            );
        }
    } else {
        let _ = write!(msg, "nutshell: kernel panic: {}", info.message());
        if let Some(l) = info.location() {
            let _ = write!(msg, " at {}:{}", l.file(), l.line());
        }
    }
    let text = core::str::from_utf8(&msg.buf[..msg.len]).unwrap_or("nutshell: kernel panic");
    console::write(Channel::Log, text.as_bytes());
    if !arch::mem::HEAP_EXHAUSTED.load(core::sync::atomic::Ordering::Relaxed) {
        // The kernel's return addresses (the CLI names them from the kernel's symbols).
        for (i, addr) in arch::trap::backtrace()
            .iter()
            .enumerate()
            .take_while(|(_, a)| **a != 0)
        {
            let mut line = StackBuf {
                buf: [0; 512],
                len: 0,
            };
            let _ = write!(line, "nutshell: kernel backtrace: #{i} {addr:#x}");
            console::write(Channel::Log, &line.buf[..line.len]);
        }
    }
    // Memory running out under a program ends it like Linux's OOM killer would (SIGKILL).
    let oom = arch::mem::HEAP_EXHAUSTED.load(core::sync::atomic::Ordering::Relaxed);
    let running = PROCESS.try_lock().is_some_and(|p| p.is_some());
    let status: u8 = if oom && running {
        128 + SIGKILL
    } else {
        STATUS_KERNEL
    };
    console::write(
        Channel::Exit,
        if status == STATUS_KERNEL {
            b"exit 125"
        } else {
            b"exit 137"
        },
    );
    arch::serial::flush();
    arch::cpu::outl(0xf4, u32::from(status));
    arch::setup::acpi_poweroff();
    arch::cpu::halt_forever()
}
