//! The local APIC, used for one thing so far: a timer that wakes the CPU from `hlt`, so a sleeping or
//! waiting program leaves the host CPU idle. TSC-deadline mode when the CPU has it, else one-shot mode
//! calibrated against the TSC (QEMU's TCG has no TSC-deadline).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::cpu::{rdtsc, wrmsr};
use super::mem::phys_to_virt;

const APIC_BASE: u64 = 0xfee0_0000;
const REG_EOI: u64 = 0xb0;
const REG_SVR: u64 = 0xf0;
const REG_LVT_TIMER: u64 = 0x320;
const REG_TIMER_INIT: u64 = 0x380;
const REG_TIMER_CUR: u64 = 0x390;
const REG_TIMER_DIV: u64 = 0x3e0;
const MSR_TSC_DEADLINE: u32 = 0x6e0;
/// The vector the timer raises.
pub const TIMER_VECTOR: u8 = 0xec;

static READY: AtomicBool = AtomicBool::new(false);
static DEADLINE_MODE: AtomicBool = AtomicBool::new(false);
/// APIC timer ticks per 1024 TSC ticks (one-shot mode).
static APIC_PER_1K_TSC: AtomicU64 = AtomicU64::new(0);

fn read(reg: u64) -> u32 {
    // SAFETY: as for `write`.
    unsafe { core::ptr::read_volatile(phys_to_virt(APIC_BASE + reg) as *const u32) }
}

fn write(reg: u64, v: u32) {
    // SAFETY: the local APIC's registers sit at APIC_BASE in the physical map; 32-bit aligned writes.
    unsafe { core::ptr::write_volatile(phys_to_virt(APIC_BASE + reg) as *mut u32, v) }
}

/// Enable the local APIC and its timer. `tsc_per_us` is the calibrated TSC rate.
pub fn init(tsc_per_us: u64) {
    let f = core::arch::x86_64::__cpuid(1);
    if f.edx & (1 << 9) == 0 {
        return;
    }
    write(REG_SVR, 0x1ff);
    if f.ecx & (1 << 24) != 0 {
        write(REG_LVT_TIMER, u32::from(TIMER_VECTOR) | (2 << 17));
        DEADLINE_MODE.store(true, Ordering::Relaxed);
    } else {
        // One-shot, masked while calibrating: count down from the maximum for 1 ms of TSC time.
        write(REG_TIMER_DIV, 0xb);
        write(REG_LVT_TIMER, u32::from(TIMER_VECTOR) | (1 << 16));
        write(REG_TIMER_INIT, u32::MAX);
        let t0 = rdtsc();
        let span = tsc_per_us * 1000;
        while rdtsc() - t0 < span {
            core::hint::spin_loop();
        }
        let counted = u64::from(u32::MAX - read(REG_TIMER_CUR));
        let t1 = rdtsc() - t0;
        write(REG_TIMER_INIT, 0);
        if counted == 0 {
            return;
        }
        APIC_PER_1K_TSC.store((counted * 1024 / t1).max(1), Ordering::Relaxed);
        write(REG_LVT_TIMER, u32::from(TIMER_VECTOR));
    }
    READY.store(true, Ordering::Relaxed);
}

/// Acknowledge an interrupt.
pub fn eoi() {
    if READY.load(Ordering::Relaxed) {
        write(REG_EOI, 0);
    }
}

/// Halt until the TSC reaches `deadline` or any interrupt arrives; spins when there is no timer.
pub fn wait_until_tsc(deadline: u64) {
    if !READY.load(Ordering::Relaxed) {
        core::hint::spin_loop();
        return;
    }
    if rdtsc() >= deadline {
        return;
    }
    let deadline_mode = DEADLINE_MODE.load(Ordering::Relaxed);
    if deadline_mode {
        wrmsr(MSR_TSC_DEADLINE, deadline);
    } else {
        let ticks = (deadline - rdtsc()) * APIC_PER_1K_TSC.load(Ordering::Relaxed) / 1024;
        write(REG_TIMER_INIT, ticks.clamp(1, u64::from(u32::MAX)) as u32);
    }
    // SAFETY: `sti; hlt` lets the timer (or another interrupt) wake us; the interrupt shadow of sti makes
    // the pair atomic, and interrupts are disabled again right after. The interrupt frame is pushed on
    // this stack, so the 128-byte red zone below rsp is stepped over first.
    unsafe {
        core::arch::asm!(
            "sub rsp, 128",
            "sti",
            "hlt",
            "cli",
            "add rsp, 128",
            options(nomem)
        )
    };
    if deadline_mode {
        wrmsr(MSR_TSC_DEADLINE, 0);
    } else {
        write(REG_TIMER_INIT, 0);
    }
}

/// Arm the timer to interrupt after about `ns` nanoseconds (the scheduler's time slice).
pub fn arm_ns(ns: u64, tsc_per_us: u64) {
    if !READY.load(Ordering::Relaxed) {
        return;
    }
    let deadline = rdtsc() + ns * tsc_per_us / 1000;
    if DEADLINE_MODE.load(Ordering::Relaxed) {
        wrmsr(MSR_TSC_DEADLINE, deadline);
    } else {
        let ticks = (ns * tsc_per_us / 1000) * APIC_PER_1K_TSC.load(Ordering::Relaxed) / 1024;
        write(REG_TIMER_INIT, ticks.clamp(1, u64::from(u32::MAX)) as u32);
    }
}

const IOAPIC_BASE: u64 = 0xfec0_0000;
/// The vector COM1's receive interrupt raises.
pub const SERIAL_VECTOR: u8 = 0x24;

fn ioapic_write(reg: u32, v: u32) {
    // SAFETY: the I/O APIC's index/data registers at IOAPIC_BASE (physical map); 32-bit accesses.
    unsafe {
        core::ptr::write_volatile(phys_to_virt(IOAPIC_BASE) as *mut u32, reg);
        core::ptr::write_volatile(phys_to_virt(IOAPIC_BASE + 0x10) as *mut u32, v);
    }
}

/// How an I/O APIC input is routed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Edge,
    Level,
    /// Masked: the input raises nothing.
    Masked,
}

/// Route I/O APIC input `gsi` to this CPU (APIC id 0) as `vector`, active high. Inputs beyond the
/// I/O APIC's 24 are ignored.
pub fn route_irq(gsi: u32, vector: u8, trigger: Trigger) {
    if gsi >= 24 {
        return;
    }
    let entry = 0x10 + 2 * gsi;
    let mode = match trigger {
        Trigger::Edge => 0,
        Trigger::Level => 1 << 15,
        Trigger::Masked => 1 << 16,
    };
    ioapic_write(entry + 1, 0); // destination: APIC id 0
    ioapic_write(entry, u32::from(vector) | mode);
}

/// Route ISA IRQ 4 (COM1) through the I/O APIC to this CPU as `SERIAL_VECTOR` (edge, active high).
pub fn route_serial_irq() {
    if !READY.load(Ordering::Relaxed) {
        return;
    }
    route_irq(4, SERIAL_VECTOR, Trigger::Edge);
}
