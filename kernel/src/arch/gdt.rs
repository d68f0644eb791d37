//! The GDT (kernel and user segments, laid out for syscall/sysret) and the TSS (ring-0 stack and IST stacks).

use core::arch::asm;
use core::mem::size_of;

/// Selectors. sysret loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, so user data precedes user code.
pub const KERNEL_CS: u16 = 0x08;
pub const KERNEL_DS: u16 = 0x10;
pub const USER_DS: u16 = 0x20 | 3;
pub const USER_CS: u16 = 0x28 | 3;
const TSS_SEL: u16 = 0x30;

/// The 64-bit task state segment.
#[repr(C, packed(4))]
pub struct Tss {
    _r0: u32,
    pub rsp: [u64; 3],
    _r1: u64,
    pub ist: [u64; 7],
    _r2: u64,
    _r3: u16,
    iomap_base: u16,
}

const STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

/// IST 1: spare; IST 2: double fault; IST 3: NMI and machine check; the ring-0 stack for traps from
/// ring 3 is the syscall stack (set by `set_kernel_stack`).
static mut IST_STACKS: [Stack; 3] = [const { Stack([0; STACK_SIZE]) }; 3];

static mut TSS: Tss = Tss {
    _r0: 0,
    rsp: [0; 3],
    _r1: 0,
    ist: [0; 7],
    _r2: 0,
    _r3: 0,
    iomap_base: size_of::<Tss>() as u16,
};

static mut GDT: [u64; 8] = [
    0,
    0x00af_9a00_0000_ffff, // kernel code 64
    0x00cf_9200_0000_ffff, // kernel data
    0x00cf_fa00_0000_ffff, // user code 32 (unused, keeps the sysret layout)
    0x00cf_f200_0000_ffff, // user data
    0x00af_fa00_0000_ffff, // user code 64
    0,                     // TSS low
    0,                     // TSS high
];

#[repr(C, packed)]
struct Pointer {
    limit: u16,
    base: u64,
}

/// Load the GDT and the TSS and reload the segment registers.
pub fn init() {
    // SAFETY: runs once at boot on the only CPU before anything else uses these statics.
    unsafe {
        let tss = &raw mut TSS;
        let stacks = &raw mut IST_STACKS;
        for (i, stack) in (*stacks).iter_mut().enumerate() {
            (*tss).ist[i] = stack.0.as_mut_ptr() as u64 + STACK_SIZE as u64;
        }
        let base = tss as u64;
        let limit = (size_of::<Tss>() - 1) as u64;
        let gdt = &raw mut GDT;
        (*gdt)[6] = (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (0x89 << 40)
            | (((base >> 24) & 0xff) << 56);
        (*gdt)[7] = base >> 32;
        let ptr = Pointer {
            limit: (size_of::<[u64; 8]>() - 1) as u16,
            base: gdt as u64,
        };
        asm!(
            "lgdt [{ptr}]",
            "push {cs}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {ds:x}",
            "mov es, {ds:x}",
            "mov ss, {ds:x}",
            "ltr {tss:x}",
            ptr = in(reg) &ptr,
            cs = in(reg) u64::from(KERNEL_CS),
            tmp = out(reg) _,
            ds = in(reg) u64::from(KERNEL_DS),
            tss = in(reg) u64::from(TSS_SEL),
        );
    }
}

/// Set the stack the CPU switches to when a trap or interrupt arrives from ring 3.
pub fn set_kernel_stack(top: u64) {
    // SAFETY: single CPU; the TSS field is only read by the CPU on a privilege change.
    unsafe {
        let tss = &raw mut TSS;
        core::ptr::write_unaligned(&raw mut (*tss).rsp[0], top);
    }
}
