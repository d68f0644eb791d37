//! `nutshell`: run unmodified Linux x86_64 programs as unikernels.
//!
//! The CLI checks the program, packs it into a cpio initrd, boots the embedded kernel (built by
//! `build.rs` from `kernel/`) in QEMU and relays the program's standard streams and exit status
//! over the framed console protocol of docs/PROTOCOL.md.
//!
//! Modules: [`cli`] (arguments), [`program`] (finding and checking PROGRAM), [`cpio`] (the
//! initrd writer and reader), [`rootfs`] (`--rootfs`: packing a directory or a tar file,
//! finding PROGRAM in it), [`cmdline`] (the kernel command line and its quoting), [`qemu`]
//! (the QEMU command line), [`gdb`] (`--gdb`'s script), [`console`] (the console protocol),
//! [`run`] (putting it together). The binary (`src/main.rs`) is a thin shell over
//! [`run::run`] and [`run::debug`].

pub mod cli;
pub mod cmdline;
pub mod console;
pub mod cpio;
pub mod deps;
pub mod gdb;
pub mod program;
pub mod publish;
pub mod qemu;
pub mod rootfs;
pub mod run;

/// The kernel image (an ELF with a PVH entry point), built and copied to OUT_DIR by build.rs.
pub static KERNEL_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/nutshell-kernel"));
