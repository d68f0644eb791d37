//! strace-style formatting of syscalls. (Placeholder API until the full decoder lands.)

use alloc::string::String;
use core::fmt::Write;

use crate::uaccess::UserMemory;

/// Name of an x86_64 syscall number.
pub fn syscall_name(nr: u64) -> Option<&'static str> {
    let _ = nr;
    None
}

/// One strace line for a syscall that returned `ret`.
pub fn format_syscall(out: &mut String, nr: u64, args: [u64; 6], ret: i64, mem: &dyn UserMemory) {
    let _ = mem;
    let _ = write!(out, "syscall_{nr:#x}({:#x}, {:#x}, {:#x}) = {ret}", args[0], args[1], args[2]);
}

/// One strace line for a syscall that does not return.
pub fn format_noreturn(out: &mut String, nr: u64, args: [u64; 6], mem: &dyn UserMemory) {
    let _ = mem;
    let _ = write!(out, "syscall_{nr:#x}({}) = ?", args[0]);
}
