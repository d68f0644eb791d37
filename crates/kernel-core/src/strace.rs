//! strace-style formatting of syscalls: `openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory)`.
//!
//! Lines read like Linux strace 6 with its defaults (`-s 32`, abbreviated structs), without the padding
//! before ` = `. Arguments are decoded after the call, from the program's memory as the call left it.
//! Syscalls without a decoder here print their arguments in hex, as many as the syscall takes.

mod decode;
mod print;
mod structs;
mod table;
#[cfg(test)]
#[rustfmt::skip]
mod tests;
mod xlat;

use crate::uaccess::UserMemory;
use alloc::string::String;
use decode::{R, S};
use print::P;
pub use table::{errno_name, syscall_name, syscall_number};
use xlat::FD_FLAGS;

/// Format one complete strace line (no newline) for a syscall that returned `ret` (raw rax value:
/// -4095..-1 is an error). `mem` is the program's memory after the call.
pub fn format_syscall(out: &mut String, nr: u64, args: [u64; 6], ret: i64, mem: &dyn UserMemory) {
    P {
        out,
        mem,
        args,
        ret: Some(ret),
    }
    .line(nr);
}

/// Format the line of a call that does not return (exit, exit_group, rt_sigreturn): `exit_group(0) = ?`.
pub fn format_noreturn(out: &mut String, nr: u64, args: [u64; 6], mem: &dyn UserMemory) {
    P {
        out,
        mem,
        args,
        ret: None,
    }
    .line(nr);
}

impl P<'_> {
    fn line(&mut self, nr: u64) {
        let r = self.call(nr, syscall_name(nr));
        self.ret_value(r);
    }

    /// ` = 3`, ` = -1 ENOENT (No such file or directory)`, ` = ?`.
    fn ret_value(&mut self, r: R) {
        let Some(ret) = self.ret else {
            return self.s(" = ?");
        };
        if (-4095..0).contains(&ret) {
            let e = (-ret) as u32;
            return match errno_name(e) {
                Some((name, msg)) if e >= 512 => self.f(format_args!(" = ? {name} ({msg})")),
                Some((name, msg)) => self.f(format_args!(" = -1 {name} ({msg})")),
                None => self.f(format_args!(" = -1 {e} (Unknown error {e})")),
            };
        }
        self.s(" = ");
        let v = ret as u64;
        match r {
            R::Dec => self.f(format_args!("{ret}")),
            R::Hex => self.hex(v),
            R::Oct => self.oct(v),
            R::FdFlags if v == 0 => self.s("0"),
            R::FdFlags | R::FlFlags => {
                self.hex(v);
                self.s(" (flags ");
                if r == R::FdFlags {
                    self.flags(v, &FD_FLAGS);
                } else {
                    self.open_flags(v);
                }
                self.s(")");
            }
            R::Time => {
                self.f(format_args!("{ret} ("));
                self.date(ret);
                self.s(")");
            }
            R::Poll | R::Ppoll if v == 0 => self.s("0 (Timeout)"),
            R::Poll | R::Ppoll => {
                self.f(format_args!("{ret}"));
                let mark = self.out.len();
                let [fds, nfds, left, ..] = self.args;
                self.s(" (");
                if self.pollfds(fds, u64::from(nfds as u32), true).is_none() {
                    return self.out.truncate(mark);
                }
                if r == R::Ppoll && left != 0 {
                    self.s(", left ");
                    if self.st(S::Ts, left).is_none() {
                        return self.out.truncate(mark);
                    }
                }
                self.s(")");
            }
        }
    }
}
