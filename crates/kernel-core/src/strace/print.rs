//! The printer: numbers, quoted strings, flag sets and reads of the program's memory, as strace prints them.

use super::xlat::{Xlat, SIGNALS};
use crate::uaccess::UserMemory;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::{self, Write};

/// strace's default `-s 32`: longest string or array printed.
pub(super) const MAX_STRLEN: usize = 32;
/// Longest path printed (PATH_MAX - 1).
pub(super) const PATH_MAX: usize = 4095;
const PAGE: u64 = 4096;

/// One syscall being printed.
pub(super) struct P<'a> {
    pub out: &'a mut String,
    pub mem: &'a dyn UserMemory,
    pub args: [u64; 6],
    /// The raw return value; `None` when the call does not return.
    pub ret: Option<i64>,
}

/// Little-endian field of a struct read from the program (0 past the end: sizes are checked by the reader).
pub(super) fn le(b: &[u8], off: usize, size: usize) -> u64 {
    b.iter()
        .skip(off)
        .take(size)
        .rev()
        .fold(0, |acc, &x| acc << 8 | u64::from(x))
}

/// Signed field: sign-extended from `size` bytes.
pub(super) fn les(b: &[u8], off: usize, size: usize) -> i64 {
    let shift = 64 - 8 * size.clamp(1, 8) as u32;
    ((le(b, off, size) << shift) as i64) >> shift
}

impl P<'_> {
    /// Did the call return successfully (not -4095..-1)?
    pub fn ok(&self) -> bool {
        matches!(self.ret, Some(r) if !(-4095..0).contains(&r))
    }

    /// The return value as an unsigned number (0 if the call did not return).
    pub fn rval(&self) -> u64 {
        self.ret.unwrap_or(0) as u64
    }

    pub fn s(&mut self, s: &str) {
        self.out.push_str(s);
    }

    pub fn f(&mut self, args: fmt::Arguments) {
        // Writing to a String cannot fail.
        let _ = self.out.write_fmt(args);
    }

    /// `%#x`: `0` or `0x...`.
    pub fn hex(&mut self, v: u64) {
        if v == 0 {
            self.s("0");
        } else {
            self.f(format_args!("{v:#x}"));
        }
    }

    /// A pointer: `NULL` or `0x...`.
    pub fn ptr(&mut self, v: u64) {
        if v == 0 {
            self.s("NULL");
        } else {
            self.hex(v);
        }
    }

    /// `%#03o`: `000`, `0644`, `04755`.
    pub fn oct(&mut self, v: u64) {
        if v < 8 {
            self.f(format_args!("00{v:o}"));
        } else {
            self.f(format_args!("0{v:o}"));
        }
    }

    /// `len` bytes at `addr`, or `None` if any of them is unreadable.
    pub fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0; len];
        if len > 0 {
            self.mem.read(addr, &mut buf).ok()?;
        }
        Some(buf)
    }

    /// A NUL-terminated string of at most `limit` bytes (without the NUL), read page by page so that a
    /// string ending just before an unmapped page reads.
    pub fn read_cstr(&self, addr: u64, limit: usize) -> Option<Vec<u8>> {
        let mut v = Vec::new();
        let mut a = addr;
        while v.len() < limit {
            let start = v.len();
            let chunk = ((PAGE - a % PAGE) as usize).min(limit - start);
            v.resize(start + chunk, 0);
            self.mem.read(a, &mut v[start..]).ok()?;
            if let Some(n) = v[start..].iter().position(|&c| c == 0) {
                v.truncate(start + n);
                return Some(v);
            }
            a = a.checked_add(chunk as u64)?;
        }
        Some(v)
    }

    /// Quote bytes C-style like strace's `string_quote` (octal escapes, or all `\xNN` when `hex`).
    pub fn quote(&mut self, b: &[u8], hex: bool) {
        self.out.push('"');
        for (i, &c) in b.iter().enumerate() {
            let esc = match c {
                _ if hex => {
                    self.f(format_args!("\\x{c:02x}"));
                    continue;
                }
                b'"' | b'\\' => c,
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                0x0b => b'v',
                0x0c => b'f',
                b' '..=b'~' => {
                    self.out.push(char::from(c));
                    continue;
                }
                _ => {
                    // Minimal octal digits, unless the next byte is an octal digit.
                    let long = matches!(b.get(i + 1), Some(b'0'..=b'7'));
                    self.out.push('\\');
                    if long || c >= 0o100 {
                        self.out.push(char::from(b'0' + (c >> 6)));
                    }
                    if long || c >= 0o10 {
                        self.out.push(char::from(b'0' + ((c >> 3) & 7)));
                    }
                    self.out.push(char::from(b'0' + (c & 7)));
                    continue;
                }
            };
            self.out.push('\\');
            self.out.push(char::from(esc));
        }
        self.out.push('"');
    }

    /// A NUL-terminated string of at most `max` bytes, `...` after it when longer; `NULL`, or the address
    /// when unreadable.
    pub fn cstr(&mut self, addr: u64, max: usize) {
        if addr == 0 {
            return self.s("NULL");
        }
        match self.read_cstr(addr, max + 1) {
            None => self.ptr(addr),
            Some(b) => {
                self.quote(&b[..b.len().min(max)], false);
                if b.len() > max {
                    self.s("...");
                }
            }
        }
    }

    /// A buffer of `len` bytes, the first 32 of them printed.
    pub fn buf(&mut self, addr: u64, len: u64, hex: bool) {
        if addr == 0 {
            return self.s("NULL");
        }
        // strace fetches one byte more than it prints.
        let fetch = len.min(MAX_STRLEN as u64 + 1) as usize;
        match self.read(addr, fetch) {
            None => self.ptr(addr),
            Some(b) => {
                self.quote(&b[..fetch.min(MAX_STRLEN)], hex);
                if len > MAX_STRLEN as u64 {
                    self.s("...");
                }
            }
        }
    }

    /// The names of the bits of `v` in `x`, then the unknown rest in hex; each after `|` if `sep`.
    /// Returns whether anything was printed.
    pub fn bits(&mut self, v: u64, x: &Xlat, mut sep: bool) -> bool {
        let mut rest = v;
        for &(bit, name) in x.v {
            if bit != 0 && rest & bit == bit {
                if sep {
                    self.s("|");
                }
                self.s(name);
                rest &= !bit;
                sep = true;
            }
        }
        if rest != 0 {
            if sep {
                self.s("|");
            }
            self.hex(rest);
            sep = true;
        }
        sep
    }

    /// A flag set: `A|B|0x40`, the zero-valued name or `0` for 0, `0x40 /* X_??? */` when nothing is known.
    pub fn flags(&mut self, v: u64, x: &Xlat) {
        if v == 0 {
            self.s(x.find(0).unwrap_or("0"));
        } else if x.v.iter().any(|&(bit, _)| bit != 0 && v & bit == bit) {
            self.bits(v, x, false);
        } else {
            self.hex(v);
            self.f(format_args!(" /* {} */", x.unk));
        }
    }

    /// One value of `x`, or `0x63 /* X_??? */` (no comment for tables without an unknown name).
    pub fn xval(&mut self, v: u64, x: &Xlat) {
        match x.find(v) {
            Some(name) => self.s(name),
            None => {
                self.hex(v);
                if !x.unk.is_empty() {
                    self.f(format_args!(" /* {} */", x.unk));
                }
            }
        }
    }

    /// A signal number: `SIGINT`, `SIGRTMIN`, `SIGRT_2`, or the number.
    pub fn sig(&mut self, n: i64) {
        match n {
            32 => self.s("SIGRTMIN"),
            33..=64 => self.f(format_args!("SIGRT_{}", n - 32)),
            _ => match SIGNALS.find(n as u64) {
                Some(name) => self.s(name),
                None => self.f(format_args!("{n}")),
            },
        }
    }

    /// A signal set: `[INT TERM]`, or `~[KILL]` when 2/3 or more of the 64 bits are set.
    pub fn sigset(&mut self, mask: u64) {
        let (m, inverted) = if mask.count_ones() >= 64 * 2 / 3 {
            (!mask, true)
        } else {
            (mask, false)
        };
        self.s(if inverted { "~[" } else { "[" });
        let mut sep = "";
        for n in 1..=64u64 {
            if m >> (n - 1) & 1 != 0 {
                self.s(sep);
                sep = " ";
                match n {
                    32 => self.s("RTMIN"),
                    33.. => self.f(format_args!("RT_{}", n - 32)),
                    _ => match SIGNALS.find(n) {
                        Some(name) => self.s(name.strip_prefix("SIG").unwrap_or(name)),
                        None => self.f(format_args!("{n}")),
                    },
                }
            }
        }
        self.s("]");
    }

    /// A mode with its file type: `S_IFREG|0644`, `S_IFDIR|S_ISVTX|0777`.
    pub fn mode(&mut self, m: u64) {
        let fmt = m & u64::from(linux_raw_sys::general::S_IFMT);
        match super::xlat::FILE_TYPES.find(fmt) {
            Some(t) => {
                self.s(t);
                self.s("|");
            }
            None if fmt != 0 => return self.oct(m),
            None => {}
        }
        if self.bits(m & 0o7000, &super::xlat::MODE_BITS, false) {
            self.s("|");
        }
        self.oct(m & 0o777);
    }
}
