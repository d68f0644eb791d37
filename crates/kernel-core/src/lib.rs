//! The Linux ABI of nutshell: errno values, the syscall table and its handlers, and the state of a process.
//!
//! Everything here is safe Rust over small traits that the kernel implements (user memory, console, clock),
//! so it runs under `cargo test` on the host with fakes.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cmdline;
pub mod cpio;
pub mod errno;
pub mod mm;
pub mod net;
pub mod platform;
pub mod process;
pub mod strace;
pub mod sys;
#[cfg(test)]
pub(crate) mod testing;
pub mod uaccess;
pub mod vfs;
