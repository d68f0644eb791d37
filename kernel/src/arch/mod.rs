//! The architecture layer: the only part of nutshell with `unsafe` code. Boot, CPU setup, descriptor
//! tables, page tables, the syscall and exception entries, and the devices the kernel drives by port I/O.

pub mod apic;
mod boot;
pub mod cpu;
pub mod gdt;
pub mod mem;
pub mod pci;
pub mod pvh;
pub mod serial;
pub mod setup;
pub mod time;
pub mod trap;
// Wired up by the filesystem work (volumes); unused until then.
#[allow(dead_code)]
pub mod virtio;
pub mod virtio_console;
pub mod virtio_net;
