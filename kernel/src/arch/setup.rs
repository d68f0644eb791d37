//! CPU feature setup: SSE/AVX state (XSAVE), SMEP/SMAP, and what the program is told about the CPU.

use core::arch::asm;
use raw_cpuid::CpuId;

static XCR0: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The XSAVE components enabled (0 when the CPU has only FXSAVE).
pub fn xcr0() -> u64 {
    XCR0.load(core::sync::atomic::Ordering::Relaxed)
}

/// What boot found out about the CPU.
pub struct CpuInfo {
    pub use_xsave: bool,
    /// Size of the FPU save area (XSAVE with everything XCR0 enables, or 512 for FXSAVE).
    pub fpu_size: usize,
    pub rdrand: bool,
    pub rdseed: bool,
    /// CPUID.1:EDX, what Linux reports as AT_HWCAP.
    pub hwcap: u64,
}

/// Enable XSAVE with every state component the CPU supports, SMEP and SMAP.
pub fn init() -> CpuInfo {
    let cpuid = CpuId::new();
    let f = cpuid.get_feature_info();
    let ext = cpuid.get_extended_feature_info();
    let has_xsave = f.as_ref().is_some_and(|f| f.has_xsave());
    let smep = ext.as_ref().is_some_and(|e| e.has_smep());
    let smap = ext.as_ref().is_some_and(|e| e.has_smap());
    let mut cr4: u64;
    // SAFETY: reading CR4 has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) cr4, options(nomem, nostack)) };
    if has_xsave {
        cr4 |= 1 << 18;
    }
    if smep {
        cr4 |= 1 << 20;
    }
    if smap {
        cr4 |= 1 << 21;
    }
    // SAFETY: only bits for features CPUID reports are set; the kernel never touches user pages
    // directly (it copies through the physical map), so SMAP and SMEP cannot fault it.
    unsafe { asm!("mov cr4, {}", in(reg) cr4, options(nomem, nostack)) };
    let mut fpu_size = 512;
    if has_xsave {
        let leaf = core::arch::x86_64::__cpuid_count(0xd, 0);
        let mask = (u64::from(leaf.edx) << 32) | u64::from(leaf.eax);
        // x87, SSE, AVX, and the AVX-512 states when present (never MPX, bits 3-4, which are deprecated).
        let xcr0 = mask & 0xe7;
        // SAFETY: CR4.OSXSAVE is set and xcr0 only holds supported components with x87 and SSE.
        unsafe {
            asm!("xsetbv", in("ecx") 0, in("eax") xcr0 as u32, in("edx") (xcr0 >> 32) as u32, options(nomem, nostack))
        };
        // EBX now gives the size for the enabled components.
        let leaf = core::arch::x86_64::__cpuid_count(0xd, 0);
        fpu_size = leaf.ebx as usize;
    }
    if has_xsave {
        let (lo, hi): (u32, u32);
        // SAFETY: XSAVE is enabled (CR4.OSXSAVE); xgetbv only reads XCR0.
        unsafe {
            asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack))
        };
        XCR0.store(
            (u64::from(hi) << 32) | u64::from(lo),
            core::sync::atomic::Ordering::Relaxed,
        );
    }
    CpuInfo {
        use_xsave: has_xsave,
        fpu_size,
        rdrand: f.as_ref().is_some_and(|f| f.has_rdrand()),
        rdseed: ext.as_ref().is_some_and(|e| e.has_rdseed()),
        hwcap: u64::from(core::arch::x86_64::__cpuid(1).edx),
    }
}

/// Mask the legacy 8259 interrupt controllers: nutshell polls its devices for now.
pub fn mask_pic() {
    super::cpu::outb(0x21, 0xff);
    super::cpu::outb(0xa1, 0xff);
}

/// Power the machine off through ACPI (microvm's GED sleep register, then PIIX4's PM1a control),
/// for when QEMU runs without isa-debug-exit.
pub fn acpi_poweroff() {
    // microvm: GED_MMIO_BASE_REGS (0xfea00200) sleep control: SLP_EN | SLP_TYP(S5) << 2.
    let ged = super::mem::phys_to_virt(0xfea0_0200);
    // SAFETY: on microvm this is the GED register page (mapped by the physical map); on other machines
    // the address is unassigned and QEMU ignores the write.
    unsafe { core::ptr::write_volatile(ged, 0x34) };
    // PIIX4 (pc, PM base 0x600 as SeaBIOS programs it): SLP_EN with SLP_TYP 0.
    super::cpu::outw(0x604, 0x2000);
}
