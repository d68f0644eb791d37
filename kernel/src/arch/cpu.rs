//! Port I/O, model-specific registers, control registers and the few instructions the kernel needs.

use core::arch::asm;

/// Write a byte to an I/O port.
pub fn outb(port: u16, value: u8) {
    // SAFETY: port I/O has no memory effects; the ports used (COM1, CMOS, PIT, debug-exit) are ours.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    }
}

/// Write a 32-bit value to an I/O port.
pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    }
}

/// Write a 16-bit value to an I/O port.
pub fn outw(port: u16, value: u16) {
    // SAFETY: as for `outb`.
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
    }
}

/// Read a byte from an I/O port.
pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: as for `outb`.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags))
    }
    v
}

/// Write a model-specific register.
pub fn wrmsr(msr: u32, value: u64) {
    // SAFETY: callers write architectural MSRs (EFER, STAR, LSTAR, FMASK, FS/GS base) with valid values.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack, preserves_flags))
    }
}

pub const MSR_STAR: u32 = 0xC000_0081;
pub const MSR_LSTAR: u32 = 0xC000_0082;
pub const MSR_FMASK: u32 = 0xC000_0084;
pub const MSR_FS_BASE: u32 = 0xC000_0100;
pub const MSR_GS_BASE: u32 = 0xC000_0101;
pub const MSR_KERNEL_GS_BASE: u32 = 0xC000_0102;

/// Read the time-stamp counter.
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads a counter.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// A hardware random 64-bit value from RDSEED or RDRAND, if the CPU has them and they deliver.
pub fn hw_random(use_rdseed: bool, use_rdrand: bool) -> Option<u64> {
    for _ in 0..32 {
        let (v, ok): (u64, u8);
        if use_rdseed {
            // SAFETY: rdseed is present (checked by the caller through CPUID); it only writes registers.
            unsafe {
                asm!("rdseed {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
            }
        } else if use_rdrand {
            // SAFETY: as above for rdrand.
            unsafe {
                asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
            }
        } else {
            return None;
        }
        if ok != 0 {
            return Some(v);
        }
        core::hint::spin_loop();
    }
    None
}

/// Read CR2, the address of the last page fault.
pub fn cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

/// Read CR3.
pub fn cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

/// Load CR3 with a new top-level page table.
///
/// # Safety
/// `pml4` must be the physical address of a valid PML4 that maps the running kernel at the same addresses.
pub unsafe fn set_cr3(pml4: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack, preserves_flags)) }
}

/// Invalidate the TLB entry of one page.
pub fn invlpg(va: u64) {
    // SAFETY: invlpg only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags)) }
}

/// Stop the CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: interrupts are off; hlt just stops the CPU.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}

/// Call `f` with the stack pointer at the (16-byte aligned) end of `stack`, and return on the caller's
/// stack. For work that needs more stack than the boot stack has.
pub fn call_on_stack(stack: &mut [u8], f: extern "C" fn()) {
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !0xf;
    // SAFETY: `top` is the aligned end of a live, exclusively borrowed buffer that outlives the call;
    // r12 (callee-saved, so `f` keeps it) holds the caller's stack pointer across the call, and it is
    // restored before anything else runs. Interrupts are off in the kernel (outside `hlt`), so nothing
    // else runs on the borrowed stack.
    unsafe {
        core::arch::asm!(
            "mov r12, rsp",
            "mov rsp, {top}",
            "call {f}",
            "mov rsp, r12",
            top = in(reg) top,
            f = in(reg) f,
            out("r12") _,
            clobber_abi("C"),
        );
    }
}
