//! Entries into the kernel: the `syscall` instruction, exceptions and interrupts. Every entry builds one
//! [`TrapFrame`] on the kernel stack, saves the program's FPU/SSE/AVX state when it comes from ring 3, and
//! calls [`crate::trap_handler`]. The return path restores the state and goes back with `sysretq` (after a
//! syscall) or `iretq`.

use core::arch::{asm, global_asm};
use core::mem::size_of;

use super::cpu::{wrmsr, MSR_FMASK, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_LSTAR, MSR_STAR};
use super::gdt::{KERNEL_CS, USER_CS, USER_DS};

/// The vector number recorded for a `syscall` entry; returns through sysretq.
pub const VECTOR_SYSCALL: u64 = 0x100;
/// Marks a frame that must return through iretq (all registers restored exactly).
pub const VECTOR_IRET: u64 = 0x101;

/// The program's registers at the moment it entered the kernel.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// Whether the trap came from the program (ring 3).
    pub fn is_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

/// Per-CPU data reached through GS in the entry code. Offsets are used by the assembly below.
#[repr(C)]
pub struct PerCpu {
    /// 0: top of the kernel stack for syscalls.
    kernel_rsp: u64,
    /// 8: the program's rsp while the syscall entry switches stacks.
    user_rsp: u64,
    /// 16: the program's FPU state area (XSAVE layout, 64-byte aligned).
    fpu_area: u64,
    /// 24: 1 when XSAVE is used, 0 for FXSAVE.
    use_xsave: u64,
}

static mut PERCPU: PerCpu = PerCpu {
    kernel_rsp: 0,
    user_rsp: 0,
    fpu_area: 0,
    use_xsave: 0,
};

const SYSCALL_STACK_SIZE: usize = 64 * 1024;
#[repr(C, align(16))]
struct Stack([u8; SYSCALL_STACK_SIZE]);
static mut SYSCALL_STACK: Stack = Stack([0; SYSCALL_STACK_SIZE]);

#[repr(C, packed)]
struct IdtPointer {
    limit: u16,
    base: u64,
}

#[derive(Clone, Copy)]
#[repr(C)]
struct IdtEntry {
    off_lo: u16,
    sel: u16,
    ist: u8,
    attr: u8,
    off_mid: u16,
    off_hi: u32,
    _zero: u32,
}

static mut IDT: [IdtEntry; 256] = [IdtEntry {
    off_lo: 0,
    sel: 0,
    ist: 0,
    attr: 0,
    off_mid: 0,
    off_hi: 0,
    _zero: 0,
}; 256];

extern "C" {
    static trap_stubs: [u64; 256];
    fn switch_context(save: *mut u64, load: u64);
    fn thread_start();
    fn syscall_entry();
    fn enter_user_frame(frame: *const TrapFrame) -> !;
}

/// Set up the IDT, the syscall MSRs and the per-CPU block. `fpu_area` is the program's FPU save area.
pub fn init(fpu_area: u64, use_xsave: bool) {
    // SAFETY: runs once at boot with interrupts off; the statics are not used concurrently.
    unsafe {
        let idt = &raw mut IDT;
        for (v, &addr) in trap_stubs.iter().enumerate() {
            // Traps from ring 3 land on the thread's kernel stack (TSS.RSP0). In ring 0 the kernel only
            // takes interrupts inside `apic::wait_until_tsc`, which keeps its red zone clear; exceptions
            // there are fatal. Double fault, NMI and machine check get stacks of their own.
            let ist = match v {
                8 => 2,
                2 | 18 => 3,
                _ => 0,
            };
            (*idt)[v] = IdtEntry {
                off_lo: addr as u16,
                sel: KERNEL_CS,
                ist,
                attr: 0x8e,
                off_mid: (addr >> 16) as u16,
                off_hi: (addr >> 32) as u32,
                _zero: 0,
            };
        }
        let ptr = IdtPointer {
            limit: (size_of::<[IdtEntry; 256]>() - 1) as u16,
            base: idt as u64,
        };
        asm!("lidt [{}]", in(reg) &ptr, options(nostack));

        let pc = &raw mut PERCPU;
        (*pc).kernel_rsp = (&raw mut SYSCALL_STACK) as u64 + SYSCALL_STACK_SIZE as u64;
        (*pc).fpu_area = fpu_area;
        (*pc).use_xsave = u64::from(use_xsave);
        super::gdt::set_kernel_stack((*pc).kernel_rsp);
        wrmsr(MSR_GS_BASE, pc as u64);
        wrmsr(MSR_KERNEL_GS_BASE, 0);
    }
    // sysret: CS = 0x18 + 16 = 0x28, SS = 0x18 + 8 = 0x20 (RPL 3 added by the CPU).
    wrmsr(MSR_STAR, (0x18u64 << 48) | (u64::from(KERNEL_CS) << 32));
    wrmsr(MSR_LSTAR, syscall_entry as *const () as u64);
    // Clear IF, TF, DF, AC, NT on entry.
    wrmsr(MSR_FMASK, 0x4_4700);
}

/// Make `kernel_stack_top` the stack for traps of the running thread (syscall entry and TSS.RSP0) and
/// `fpu_area` the place its FPU state is saved.
pub fn set_current(kernel_stack_top: u64, fpu_area: u64) {
    // SAFETY: single CPU with interrupts off in the kernel: nothing reads PERCPU concurrently.
    unsafe {
        let pc = &raw mut PERCPU;
        (*pc).kernel_rsp = kernel_stack_top;
        (*pc).fpu_area = fpu_area;
    }
    super::gdt::set_kernel_stack(kernel_stack_top);
}

/// The boot thread's kernel stack top and FPU area.
pub fn current() -> (u64, u64) {
    // SAFETY: as for `set_current`.
    unsafe {
        let pc = &raw const PERCPU;
        ((*pc).kernel_rsp, (*pc).fpu_area)
    }
}

/// Copy an FPU save area (both are kernel allocations of at least `size` bytes, see platform).
pub fn copy_fpu_area(from: u64, to: u64, size: usize) {
    // SAFETY: both areas were allocated by `platform::new_fpu_area` with at least `size` bytes.
    unsafe { core::ptr::copy_nonoverlapping(from as *const u8, to as *mut u8, size) }
}

/// The running thread's FPU save area as bytes (what the entry code saved when it entered the kernel).
pub fn fpu_state(size: usize) -> &'static mut [u8] {
    let (_, area) = current();
    // SAFETY: the area was allocated by `platform::new_fpu_area` with at least `size` bytes and belongs to
    // the running thread; the entry code only touches it on kernel entry and exit, not while this slice
    // is in use (interrupts are off in the kernel).
    unsafe { core::slice::from_raw_parts_mut(area as *mut u8, size) }
}

/// Up to 16 return addresses of the kernel's own call chain, following the frame pointers (the kernel
/// is built with them). Stops at the first frame outside the kernel image's text.
pub fn backtrace() -> [u64; 16] {
    let mut out = [0u64; 16];
    let mut rbp: u64;
    // SAFETY: reading rbp has no side effects.
    unsafe { asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    extern "C" {
        static __kernel_text_start: u8;
        static __kernel_end: u8;
    }
    let lo = (&raw const __kernel_text_start) as u64;
    let hi = (&raw const __kernel_end) as u64;
    for slot in out.iter_mut() {
        // Frames live on kernel stacks (the kernel image's .bss or the heap in the physical map).
        if rbp < super::mem::PHYS_OFFSET || !rbp.is_multiple_of(8) {
            break;
        }
        // SAFETY: rbp points into a kernel stack (checked to be a kernel address, aligned); each frame
        // holds the caller's rbp and the return address.
        let (next, ret) = unsafe {
            (
                core::ptr::read(rbp as *const u64),
                core::ptr::read((rbp + 8) as *const u64),
            )
        };
        if !(lo..hi).contains(&ret) {
            break;
        }
        *slot = ret;
        if next <= rbp {
            break;
        }
        rbp = next;
    }
    out
}

/// Save the state components beyond x87/SSE (AVX and up) of the running thread into its FPU area, so
/// that the area holds its complete state (before a thread switch or a signal frame).
pub fn save_extended() {
    let mask = super::setup::xcr0() & !3;
    if mask == 0 {
        return;
    }
    let (_, area) = current();
    // SAFETY: XSAVE is enabled (xcr0 != 0); the area is the running thread's 64-byte aligned XSAVE area of
    // the size CPUID reported; only the components in `mask` are written.
    unsafe {
        asm!("xsave64 [{}]", in(reg) area, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack));
    }
}

/// Load the components beyond x87/SSE from the running thread's FPU area into the registers.
pub fn restore_extended() {
    let mask = super::setup::xcr0() & !3;
    if mask == 0 {
        return;
    }
    let (_, area) = current();
    // SAFETY: as for `save_extended`; the area's XSAVE header is valid (zeroed at allocation, then only
    // written by xsave or sanitized by rt_sigreturn).
    unsafe {
        asm!("xrstor64 [{}]", in(reg) area, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack));
    }
}

/// Size of a thread's kernel stack.
pub const KERNEL_STACK_SIZE: usize = 64 * 1024;

/// A kernel stack for a new thread, 16-byte aligned.
#[repr(C, align(16))]
pub struct KernelStack(pub [u8; KERNEL_STACK_SIZE]);

impl KernelStack {
    /// A zeroed stack on the heap (never built on the current stack, which is no bigger).
    pub fn new_boxed() -> alloc::boxed::Box<KernelStack> {
        let layout = core::alloc::Layout::new::<KernelStack>();
        // SAFETY: the layout has a non-zero size; all-zero bytes are a valid KernelStack; the pointer
        // comes from the global allocator with this layout, as Box requires.
        unsafe {
            let p = alloc::alloc::alloc_zeroed(layout) as *mut KernelStack;
            if p.is_null() {
                alloc::alloc::handle_alloc_error(layout);
            }
            alloc::boxed::Box::from_raw(p)
        }
    }
}

/// Prepare a new thread's kernel stack so that switching to it returns to ring 3 through `frame`.
/// Returns the stack pointer to switch to.
pub fn prepare_stack(stack: &mut KernelStack, frame: &TrapFrame) -> u64 {
    let top = stack.0.as_mut_ptr() as u64 + KERNEL_STACK_SIZE as u64;
    let frame_at = top - size_of::<TrapFrame>() as u64;
    // Below the frame: what `switch_context` pops (six callee-saved registers) and its return address.
    let switch_at = frame_at - 7 * 8;
    // SAFETY: both writes are inside `stack`, which the caller owns; addresses are 8-byte aligned.
    unsafe {
        core::ptr::write(frame_at as *mut TrapFrame, *frame);
        for i in 0..6 {
            core::ptr::write((switch_at + i * 8) as *mut u64, 0);
        }
        core::ptr::write(
            (switch_at + 6 * 8) as *mut u64,
            thread_start as *const () as u64,
        );
    }
    switch_at
}

/// Save the running thread's callee-saved registers and stack pointer in `*save`, and continue the
/// thread whose stack pointer is `load` (a value saved by an earlier switch or made by `prepare_stack`).
///
/// # Safety
/// `load` must be a stack pointer produced as described, on a stack that stays allocated; `save` must be
/// valid for a write. The caller has already made the next thread current (`set_current`).
pub unsafe fn switch(save: *mut u64, load: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { switch_context(save, load) }
}

/// Start the program: ring 3 at `rip` with stack `rsp`, every general register zero.
pub fn enter_user(rip: u64, rsp: u64) -> ! {
    let frame = TrapFrame {
        rip,
        rsp,
        cs: u64::from(USER_CS),
        ss: u64::from(USER_DS),
        rflags: 0x202,
        vector: VECTOR_IRET,
        ..TrapFrame::default()
    };
    // SAFETY: the frame describes a valid ring-3 context; the assembly copies it to the kernel stack and
    // returns through the common exit path.
    unsafe { enter_user_frame(&frame) }
}

global_asm!(
    r#"
.set PC_KRSP, 0
.set PC_URSP, 8
.set PC_FPU, 16
.set PC_XSAVE, 24
.set F_VECTOR, 15*8
.set F_RIP, 17*8
.set F_CS, 18*8
.set F_RFLAGS, 19*8
.set F_RSP, 20*8
.set FRAME_SIZE, 22*8

.macro PUSH_REGS
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
.endm

.macro POP_REGS
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
.endm

/* Save the program's x87/SSE state (rax, rdx, rdi are already saved in the frame). The kernel never
   executes VEX instructions, so the upper AVX state stays in the registers; it is saved only when the
   thread is switched out or a signal frame needs it (save_extended). */
.macro SAVE_FPU
    mov rdi, gs:[PC_FPU]
    cmp qword ptr gs:[PC_XSAVE], 0
    je 91f
    mov eax, 3
    xor edx, edx
    xsave64 [rdi]
    jmp 92f
91:
    fxsave64 [rdi]
92:
.endm

.macro RESTORE_FPU
    mov rdi, gs:[PC_FPU]
    cmp qword ptr gs:[PC_XSAVE], 0
    je 93f
    mov eax, 3
    xor edx, edx
    xrstor64 [rdi]
    jmp 94f
93:
    fxrstor64 [rdi]
94:
.endm

.text
.global syscall_entry
syscall_entry:
    swapgs
    mov gs:[PC_URSP], rsp
    mov rsp, gs:[PC_KRSP]
    push 0x23
    push qword ptr gs:[PC_URSP]
    push r11
    push 0x2b
    push rcx
    push 0
    push 0x100
    PUSH_REGS
    SAVE_FPU
    mov rdi, rsp
    xor ebp, ebp
    call trap_handler
    jmp trap_return

trap_common:
    /* stack: vector, error, rip, cs, rflags, rsp, ss */
    test qword ptr [rsp + 24], 3
    jz 1f
    swapgs
    PUSH_REGS
    SAVE_FPU
    jmp 2f
1:
    PUSH_REGS
2:
    mov rdi, rsp
    mov rbx, rsp
    and rsp, -16
    call trap_handler
    mov rsp, rbx
    jmp trap_return

.global trap_return
trap_return:
    test qword ptr [rsp + F_CS], 3
    jz 3f
    RESTORE_FPU
    POP_REGS
    cmp qword ptr [rsp], 0x100
    jne 4f
    mov rcx, [rsp + 16]
    mov r11, [rsp + 32]
    mov rsp, [rsp + 40]
    swapgs
    sysretq
4:
    add rsp, 16
    swapgs
    iretq
3:
    POP_REGS
    add rsp, 16
    iretq

/* switch_context(save: *mut u64, load: u64) */
.global switch_context
switch_context:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

/* A new thread's first instructions: its trap frame is right above. */
.global thread_start
thread_start:
    jmp trap_return

/* enter_user_frame(frame): copy the frame to the top of the syscall stack and return through it. */
.global enter_user_frame
enter_user_frame:
    mov rsp, gs:[PC_KRSP]
    sub rsp, FRAME_SIZE
    mov rsi, rdi
    mov rdi, rsp
    mov ecx, 22
    rep movsq
    jmp trap_return

.macro STUB n, err
trap_stub_\n:
.if \err == 0
    push 0
.endif
    push \n
    jmp trap_common
.endm

.altmacro
.set i, 0
.rept 256
.if (i == 8) || ((i >= 10) && (i <= 14)) || (i == 17) || (i == 21) || (i == 29) || (i == 30)
    STUB %i, 1
.else
    STUB %i, 0
.endif
.set i, i + 1
.endr

.macro STUB_ADDR n
    .quad trap_stub_\n
.endm

.section .rodata
.balign 8
.global trap_stubs
trap_stubs:
.set i, 0
.rept 256
    STUB_ADDR %i
.set i, i + 1
.endr
.noaltmacro
.text
"#
);
