//! Structs and arrays in the program's memory, printed in strace's abbreviated style.

use super::decode::S;
use super::print::{le, les, MAX_STRLEN, P};
use super::xlat::*;
use core::mem::{offset_of, size_of};
use linux_raw_sys::general::{self as g, clone_args, stat, statx};

const IOV: usize = 16;
const POLLFD: usize = 8;
const EPOLL_EVENT: usize = 12;

impl P<'_> {
    /// Print `s` at `addr` (not NULL). `None` if some of it is unreadable: the caller then prints the address.
    pub fn st(&mut self, s: S, addr: u64) -> Option<()> {
        let args = self.args;
        let arg = |i: u8| args[usize::from(i)];
        match s {
            S::Stat => self.stat(addr),
            S::Statx => self.statx(addr),
            S::Ts => self.fields(addr, &["tv_sec", "tv_nsec"], 8, P::signed),
            S::Tv => self.fields(addr, &["tv_sec", "tv_usec"], 8, P::signed),
            S::Itv => {
                self.read(addr, 32)?;
                self.s("{it_interval=");
                self.st(S::Tv, addr)?;
                self.s(", it_value=");
                self.st(S::Tv, addr + 16)?;
                self.s("}");
                Some(())
            }
            S::Tz => self.fields(addr, &["tz_minuteswest", "tz_dsttime"], 4, P::int),
            S::Rlim => self.fields(addr, &["rlim_cur", "rlim_max"], 8, P::rlim),
            S::Winsize => self.fields(
                addr,
                &["ws_row", "ws_col", "ws_xpixel", "ws_ypixel"],
                2,
                P::unsigned,
            ),
            S::Uts => self.uts(addr),
            S::Sigact => self.sigaction(addr),
            S::Sigset(i) if arg(i) != 8 => None,
            S::Sigset(_) => {
                let b = self.read(addr, 8)?;
                self.sigset(le(&b, 0, 8));
                Some(())
            }
            S::Stack => self.stack(addr),
            S::Int => self.array(addr, 1, 4, P::int),
            S::UInt => self.array(addr, 1, 4, P::unsigned),
            S::Ulong => self.array(addr, 1, 8, |p, v| p.hex(v)),
            S::Loff => self.array(addr, 1, 8, P::unsigned),
            S::IntPair => self.array(addr, 2, 4, P::int),
            S::TimeT => {
                let t = les(&self.read(addr, 8)?, 0, 8);
                self.f(format_args!("[{t} /* "));
                self.date(t);
                self.s(" */]");
                Some(())
            }
            S::Iov(i) => self.iov(addr, arg(i), Some(u64::MAX)),
            S::IovR(i) => self.iov(addr, arg(i), self.ok().then(|| self.rval())),
            S::Pollfds(i) => self.pollfds(addr, arg(i), false),
            S::EpollEv => self.epoll_events(addr, 1, false),
            S::EpollEvs => self.epoll_events(addr, self.rval(), true),
            S::Sa(i) => self.sockaddr(addr, arg(i)),
            S::SaP(i) => {
                let len = le(&self.read(arg(i), 4)?, 0, 4);
                self.sockaddr(addr, len)
            }
            S::Opt(i) if arg(i) == 4 => self.array(addr, 1, 4, P::int),
            S::OptP(i) if self.read(arg(i), 4).is_some_and(|b| le(&b, 0, 4) == 4) => {
                self.array(addr, 1, 4, P::int)
            }
            S::Opt(_) | S::OptP(_) => None,
            S::Argv => self.argv(addr),
            S::Envp => self.envp(addr),
            S::Cpus(i) => self.cpus(addr, arg(i)),
            S::CpusR => self.cpus(addr, self.rval()),
            S::Wstatus => self.wstatus(addr),
            S::Rusage => self.rusage(addr),
            S::Dents => self.dents(addr),
            S::Termios => self.termios(addr),
            S::CloneArgs(i) => self.clone3(addr, arg(i)),
        }
    }

    fn signed(&mut self, v: u64) {
        self.f(format_args!("{}", v as i64));
    }

    fn int(&mut self, v: u64) {
        self.f(format_args!("{}", v as i32));
    }

    fn unsigned(&mut self, v: u64) {
        self.f(format_args!("{v}"));
    }

    /// An rlimit value: `RLIM64_INFINITY`, `8192*1024`, `1000`.
    fn rlim(&mut self, v: u64) {
        match v {
            u64::MAX => self.s("RLIM64_INFINITY"),
            _ if v > 1024 && v.is_multiple_of(1024) => self.f(format_args!("{}*1024", v / 1024)),
            _ => self.unsigned(v),
        }
    }

    /// `N` consecutive little-endian values of `size` bytes.
    fn values<const N: usize>(&self, addr: u64, size: usize) -> Option<[u64; N]> {
        let b = self.read(addr, N * size)?;
        Some(core::array::from_fn(|i| le(&b, i * size, size)))
    }

    /// `{a=1, b=2}` of consecutive fields of `size` bytes.
    fn fields(
        &mut self,
        addr: u64,
        names: &[&str],
        size: usize,
        show: fn(&mut Self, u64),
    ) -> Option<()> {
        let b = self.read(addr, names.len() * size)?;
        for (i, name) in names.iter().enumerate() {
            self.s(if i == 0 { "{" } else { ", " });
            self.f(format_args!("{name}="));
            show(self, le(&b, i * size, size));
        }
        self.s("}");
        Some(())
    }

    /// `[1, 2]` of `n` values of `size` bytes.
    fn array(&mut self, addr: u64, n: usize, size: usize, show: fn(&mut Self, u64)) -> Option<()> {
        let b = self.read(addr, n * size)?;
        for i in 0..n {
            self.s(if i == 0 { "[" } else { ", " });
            show(self, le(&b, i * size, size));
        }
        self.s("]");
        Some(())
    }

    fn stat(&mut self, addr: u64) -> Option<()> {
        let b = self.read(addr, size_of::<stat>())?;
        let mode = le(&b, offset_of!(stat, st_mode), 4);
        self.s("{st_mode=");
        self.mode(mode);
        let fmt = mode as u32 & g::S_IFMT;
        if fmt == g::S_IFCHR || fmt == g::S_IFBLK {
            self.s(", st_rdev=");
            self.dev(le(&b, offset_of!(stat, st_rdev), 8));
        } else {
            self.f(format_args!(
                ", st_size={}",
                les(&b, offset_of!(stat, st_size), 8)
            ));
        }
        self.s(", ...}");
        Some(())
    }

    /// glibc's major()/minor() of a dev_t.
    fn dev(&mut self, d: u64) {
        let major = (d >> 8 & 0xfff) | (d >> 32 & 0xffff_f000);
        let minor = (d & 0xff) | (d >> 12 & 0xffff_ff00);
        self.s("makedev(");
        self.hex(major);
        self.s(", ");
        self.hex(minor);
        self.s(")");
    }

    fn statx(&mut self, addr: u64) -> Option<()> {
        let b = self.read(addr, size_of::<statx>())?;
        self.s("{stx_mask=");
        self.flags(le(&b, offset_of!(statx, stx_mask), 4), &STATX_MASK);
        self.s(", stx_attributes=");
        self.flags(le(&b, offset_of!(statx, stx_attributes), 8), &STATX_ATTR);
        self.s(", stx_mode=");
        self.mode(le(&b, offset_of!(statx, stx_mode), 2));
        self.f(format_args!(
            ", stx_size={}, ...}}",
            le(&b, offset_of!(statx, stx_size), 8)
        ));
        Some(())
    }

    fn uts(&mut self, addr: u64) -> Option<()> {
        const FIELD: usize = 65;
        let b = self.read(addr, 2 * FIELD)?;
        for (i, (name, field)) in ["sysname", "nodename"]
            .iter()
            .zip(b.chunks(FIELD))
            .enumerate()
        {
            self.s(if i == 0 { "{" } else { ", " });
            self.f(format_args!("{name}="));
            let len = field.iter().position(|&c| c == 0).unwrap_or(FIELD);
            self.quote(&field[..len], false);
        }
        self.s(", ...}");
        Some(())
    }

    fn sigaction(&mut self, addr: u64) -> Option<()> {
        let [handler, flags, restorer, mask] = self.values::<4>(addr, 8)?;
        self.s("{sa_handler=");
        match SIG_HANDLERS.find(handler) {
            Some(name) => self.s(name),
            None => self.ptr(handler),
        }
        self.s(", sa_mask=");
        self.sigset(mask);
        self.s(", sa_flags=");
        self.flags(flags, &SA);
        if flags & u64::from(g::SA_RESTORER) != 0 {
            self.s(", sa_restorer=");
            self.ptr(restorer);
        }
        self.s("}");
        Some(())
    }

    fn stack(&mut self, addr: u64) -> Option<()> {
        let [sp, flags, size] = self.values::<3>(addr, 8)?;
        self.s("{ss_sp=");
        self.ptr(sp);
        self.s(", ss_flags=");
        self.flags(flags & 0xffff_ffff, &SS);
        self.f(format_args!(", ss_size={size}}}"));
        Some(())
    }

    /// `[{iov_base="hi", iov_len=2}]`; the data printed is limited to `data` bytes in all, or not read
    /// (addresses) when `None`.
    fn iov(&mut self, addr: u64, count: u64, mut data: Option<u64>) -> Option<()> {
        let n = count.min(MAX_STRLEN as u64) as usize;
        let b = self.read(addr, n * IOV)?;
        self.s("[");
        for (i, iov) in b.chunks(IOV).enumerate() {
            let (base, len) = (le(iov, 0, 8), le(iov, 8, 8));
            self.s(if i == 0 { "{iov_base=" } else { ", {iov_base=" });
            match data.as_mut() {
                Some(rest) => {
                    let shown = len.min(*rest);
                    *rest -= shown;
                    self.buf(base, shown, false);
                }
                None => self.ptr(base),
            }
            self.f(format_args!(", iov_len={len}}}"));
        }
        self.s(if count > n as u64 { ", ...]" } else { "]" });
        Some(())
    }

    /// pollfd array: `[{fd=0, events=POLLIN}]`, or with `revents` the returned events of the ready ones.
    pub fn pollfds(&mut self, addr: u64, count: u64, revents: bool) -> Option<()> {
        let n = count.min(MAX_STRLEN as u64) as usize;
        let b = self.read(addr, n * POLLFD)?;
        let name = if revents { "revents" } else { "events" };
        let mut sep = "";
        self.s("[");
        for pfd in b.chunks(POLLFD) {
            let ev = le(pfd, if revents { 6 } else { 4 }, 2);
            if !revents || ev != 0 {
                self.f(format_args!("{sep}{{fd={}, {name}=", les(pfd, 0, 4)));
                self.flags(ev, &POLL);
                self.s("}");
                sep = ", ";
            }
        }
        self.s(if count > n as u64 && !revents {
            ", ...]"
        } else {
            "]"
        });
        Some(())
    }

    fn epoll_events(&mut self, addr: u64, count: u64, array: bool) -> Option<()> {
        let n = count.min(MAX_STRLEN as u64) as usize;
        let b = self.read(addr, n * EPOLL_EVENT)?;
        self.s(if array { "[" } else { "" });
        for (i, ev) in b.chunks(EPOLL_EVENT).enumerate() {
            self.s(if i == 0 { "{events=" } else { ", {events=" });
            self.flags(le(ev, 0, 4), &EPOLL_EVENTS);
            self.f(format_args!(
                ", data={{u32={}, u64={}}}}}",
                le(ev, 4, 4),
                le(ev, 4, 8)
            ));
        }
        if array {
            self.s(if count > n as u64 { ", ...]" } else { "]" });
        }
        Some(())
    }

    fn sockaddr(&mut self, addr: u64, len: u64) -> Option<()> {
        let len = len.min(128) as usize;
        if len < 2 {
            return None;
        }
        let b = self.read(addr, len)?;
        let family = le(&b, 0, 2);
        self.s("{sa_family=");
        self.xval(family, &AF);
        let be = |off: usize, size: usize| {
            b.get(off..off + size)
                .map(|s| s.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)))
        };
        match family as u32 {
            AF_UNIX => {
                let path = &b[2..];
                if let Some((&0, name)) = path.split_first().filter(|_| path.len() > 1) {
                    self.s(", sun_path=@");
                    self.quote(name, false);
                } else if !path.is_empty() {
                    self.s(", sun_path=");
                    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                    self.quote(&path[..end], false);
                }
            }
            AF_INET if len >= 8 => {
                let a = &b[4..8];
                self.f(format_args!(", sin_port=htons({})", be(2, 2)?));
                self.f(format_args!(
                    ", sin_addr=inet_addr(\"{}.{}.{}.{}\")",
                    a[0], a[1], a[2], a[3]
                ));
            }
            AF_INET6 if len >= 24 => {
                self.f(format_args!(
                    ", sin6_port=htons({}), sin6_flowinfo=htonl({})",
                    be(2, 2)?,
                    be(4, 4)?
                ));
                self.s(", inet_pton(AF_INET6, \"");
                self.ipv6(&b[8..24]);
                self.s("\", &sin6_addr)");
                if len >= 28 {
                    self.f(format_args!(", sin6_scope_id={}", le(&b, 24, 4)));
                }
            }
            _ => {
                self.s(", sa_data=");
                self.quote(&b[2..], false);
            }
        }
        self.s("}");
        Some(())
    }

    /// inet_ntop(AF_INET6): the first longest run of two or more zero groups becomes `::`; IPv4-mapped
    /// and -compatible addresses end in a dotted quad.
    fn ipv6(&mut self, a: &[u8]) {
        let w: [u16; 8] =
            core::array::from_fn(|i| u16::from(a[2 * i]) << 8 | u16::from(a[2 * i + 1]));
        let (mut best, mut start) = ((9, 0), None);
        for i in 0..=8 {
            match (w.get(i), start) {
                (Some(0), None) => start = Some(i),
                (Some(0), Some(_)) => {}
                (_, Some(s)) => {
                    if i - s > best.1 && i - s >= 2 {
                        best = (s, i - s);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        let (zb, zl) = best;
        for (i, word) in w.iter().enumerate() {
            if (zb..zb + zl).contains(&i) {
                self.s(if i == zb { ":" } else { "" });
                continue;
            }
            self.s(if i == 0 { "" } else { ":" });
            if i == 6 && zb == 0 && (zl == 6 || (zl == 5 && w[5] == 0xffff)) {
                return self.f(format_args!("{}.{}.{}.{}", a[12], a[13], a[14], a[15]));
            }
            self.f(format_args!("{word:x}"));
        }
        if zb + zl == 8 {
            self.s(":");
        }
    }

    fn argv(&mut self, addr: u64) -> Option<()> {
        self.s("[");
        for i in 0..=MAX_STRLEN as u64 {
            let Some(b) = addr.checked_add(8 * i).and_then(|a| self.read(a, 8)) else {
                if i == 0 {
                    return None;
                }
                self.s(", ...");
                break;
            };
            let p = le(&b, 0, 8);
            if p == 0 {
                break;
            }
            self.s(if i == 0 { "" } else { ", " });
            if i == MAX_STRLEN as u64 {
                self.s("...");
                break;
            }
            self.cstr(p, MAX_STRLEN);
        }
        self.s("]");
        Some(())
    }

    fn envp(&mut self, addr: u64) -> Option<()> {
        let mut n = 0u64;
        while n < 0x10000 {
            match self.read(addr.checked_add(8 * n)?, 8) {
                Some(b) if le(&b, 0, 8) != 0 => n += 1,
                None if n == 0 => return None,
                _ => break,
            }
        }
        self.ptr(addr);
        self.f(format_args!(
            " /* {n} var{} */",
            if n == 1 { "" } else { "s" }
        ));
        Some(())
    }

    fn cpus(&mut self, addr: u64, bytes: u64) -> Option<()> {
        let b = self.read(addr, bytes.min(1024) as usize)?;
        let mut sep = "";
        self.s("[");
        for cpu in (0..b.len() * 8).filter(|&c| b[c / 8] >> (c % 8) & 1 != 0) {
            self.f(format_args!("{sep}{cpu}"));
            sep = " ";
        }
        self.s("]");
        Some(())
    }

    fn wstatus(&mut self, addr: u64) -> Option<()> {
        if self.rval() == 0 {
            return None;
        }
        let s = le(&self.read(addr, 4)?, 0, 4);
        let (low, high) = (s & 0x7f, s >> 8 & 0xff);
        if low == 0 {
            self.f(format_args!(
                "[{{WIFEXITED(s) && WEXITSTATUS(s) == {high}}}]"
            ));
        } else if s & 0xffff == 0xffff {
            self.s("[{WIFCONTINUED(s)}]");
        } else if low == 0x7f {
            self.s("[{WIFSTOPPED(s) && WSTOPSIG(s) == ");
            self.sig(high as i64);
            self.s("}]");
        } else {
            self.s("[{WIFSIGNALED(s) && WTERMSIG(s) == ");
            self.sig(low as i64);
            self.s(if s & 0x80 != 0 {
                " && WCOREDUMP(s)}]"
            } else {
                "}]"
            });
        }
        Some(())
    }

    fn rusage(&mut self, addr: u64) -> Option<()> {
        let [us, uus, ss, sus] = self.values::<4>(addr, 8)?;
        let (us, uus, ss, sus) = (us as i64, uus as i64, ss as i64, sus as i64);
        self.f(format_args!("{{ru_utime={{tv_sec={us}, tv_usec={uus}}}, ru_stime={{tv_sec={ss}, tv_usec={sus}}}, ...}}"));
        Some(())
    }

    /// getdents: `0x... /* 7 entries */`.
    fn dents(&mut self, addr: u64) -> Option<()> {
        let b = self.read(addr, self.rval().min(1 << 20) as usize)?;
        let (mut off, mut n) = (0, 0);
        while off + 18 <= b.len() {
            let reclen = le(&b, off + 16, 2) as usize;
            if reclen == 0 {
                break;
            }
            off += reclen;
            n += 1;
        }
        self.ptr(addr);
        self.f(format_args!(" /* {n} entries */"));
        Some(())
    }

    fn termios(&mut self, addr: u64) -> Option<()> {
        let [i, o, c, l] = self.values::<4>(addr, 4)?;
        self.s("{c_iflag=");
        self.bits(i, &TERMIOS_IFLAG, false);
        self.s(", c_oflag=");
        let delays = [
            (g::NLDLY, &NLDLYS),
            (g::CRDLY, &CRDLYS),
            (g::TABDLY, &TABDLYS),
            (g::BSDLY, &BSDLYS),
        ];
        let delays = delays
            .into_iter()
            .chain([(g::VTDLY, &VTDLYS), (g::FFDLY, &FFDLYS)]);
        let mut rest = o;
        for (k, (mask, names)) in delays.enumerate() {
            self.s(if k == 0 { "" } else { "|" });
            self.xval(o & u64::from(mask), names);
            rest &= !u64::from(mask);
        }
        self.bits(rest, &TERMIOS_OFLAG, true);
        self.s(", c_cflag=");
        self.xval(c & u64::from(g::CBAUD), &BAUD);
        let ibaud = (c & u64::from(g::CIBAUD)) >> g::IBSHIFT;
        if ibaud != 0 {
            self.s("|");
            self.xval(ibaud, &BAUD);
            self.s("<<IBSHIFT");
        }
        self.s("|");
        self.xval(c & u64::from(g::CSIZE), &CSIZES);
        self.bits(
            c & !u64::from(g::CBAUD | g::CIBAUD | g::CSIZE),
            &TERMIOS_CFLAG,
            true,
        );
        self.s(", c_lflag=");
        self.bits(l, &TERMIOS_LFLAG, false);
        self.s(", ...}");
        Some(())
    }

    fn clone3(&mut self, addr: u64, size: u64) -> Option<()> {
        if size < u64::from(g::CLONE_ARGS_SIZE_VER0) {
            return None;
        }
        let n = size.min(size_of::<clone_args>() as u64) as usize;
        let b = self.read(addr, n)?;
        let field = |off: usize| (off + 8 <= n).then(|| le(&b, off, 8));
        let get = |off: usize| field(off).unwrap_or(0);
        let flags = get(offset_of!(clone_args, flags));
        let has = |bits: u64| flags & bits != 0;
        self.s("{flags=");
        self.flags(flags, &CLONE);
        let ptrs = [
            (
                "pidfd",
                offset_of!(clone_args, pidfd),
                u64::from(g::CLONE_PIDFD),
            ),
            (
                "child_tid",
                offset_of!(clone_args, child_tid),
                u64::from(g::CLONE_CHILD_SETTID | g::CLONE_CHILD_CLEARTID),
            ),
            (
                "parent_tid",
                offset_of!(clone_args, parent_tid),
                u64::from(g::CLONE_PARENT_SETTID),
            ),
        ];
        for (name, off, bits) in ptrs {
            if has(bits) {
                self.f(format_args!(", {name}="));
                self.ptr(get(off));
            }
        }
        self.s(", exit_signal=");
        self.sig(get(offset_of!(clone_args, exit_signal)) as i64);
        self.s(", stack=");
        self.ptr(get(offset_of!(clone_args, stack)));
        self.s(", stack_size=");
        self.hex(get(offset_of!(clone_args, stack_size)));
        if has(u64::from(g::CLONE_SETTLS)) {
            self.s(", tls=");
            self.hex(get(offset_of!(clone_args, tls)));
        }
        let set_tid_size = field(offset_of!(clone_args, set_tid_size));
        let set_tid = get(offset_of!(clone_args, set_tid));
        if let Some(count) = set_tid_size.filter(|&c| c != 0 || set_tid != 0) {
            self.s(", set_tid=");
            self.ptr(set_tid);
            self.f(format_args!(", set_tid_size={count}"));
        }
        if let Some(cg) =
            field(offset_of!(clone_args, cgroup)).filter(|&c| c != 0 || has(g::CLONE_INTO_CGROUP))
        {
            self.f(format_args!(", cgroup={cg}"));
        }
        self.s("}");
        Some(())
    }

    /// `YYYY-MM-DDTHH:MM:SS+0000` of a UNIX time (UTC).
    pub fn date(&mut self, t: i64) {
        let (days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
        self.f(format_args!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+0000"
        ));
    }
}
