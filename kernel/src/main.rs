//! The nutshell kernel: boots under QEMU through PVH, loads one Linux x86_64 program and serves its syscalls.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod rt;

#[no_mangle]
extern "C" fn kernel_entry(start_info: u32) -> ! {
    arch::serial::init();
    arch::serial::write(b"nutshell: hello from the kernel\n");
    let _ = start_info;
    arch::cpu::outl(0xf4, 0);
    arch::cpu::halt_forever()
}

fn kernel_panic(_info: &core::panic::PanicInfo) -> ! {
    arch::serial::write(b"nutshell: kernel panic\n");
    arch::cpu::outl(0xf4, 125);
    arch::cpu::halt_forever()
}

struct NoAlloc;
unsafe impl core::alloc::GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _l: core::alloc::Layout) -> *mut u8 { core::ptr::null_mut() }
    unsafe fn dealloc(&self, _p: *mut u8, _l: core::alloc::Layout) {}
}
#[global_allocator]
static A: NoAlloc = NoAlloc;
