//! Waiting on many files: poll/ppoll/select/pselect6 and epoll, and the files made for waiting:
//! eventfd, timerfd and signalfd. All readiness comes from [`File::poll`]; a signalfd's comes from the
//! process's pending signals, a timerfd's from the clock, so waits on them carry a deadline.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use spin::Mutex;

use super::{get, get_u64, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::process::{FileRef, OpenFile, Wait};
use crate::vfs::{makedev, Env, File, Stat};
use linux_raw_sys::general as g;

fn anon_stat(ino: u64) -> Stat {
    // Linux's anonymous inodes: mode 0600 without a file type, on the anon_inodefs device.
    Stat {
        dev: makedev(0, 0xf),
        ino,
        mode: 0o600,
        nlink: 1,
        blksize: 4096,
        ..Stat::default()
    }
}

fn install(cx: &mut Ctx, file: Arc<dyn File>, flags: u32, name: &str) -> SysResult {
    let cloexec = flags & g::O_CLOEXEC != 0;
    let f = OpenFile {
        file,
        pos: 0,
        flags: g::O_RDWR | (flags & g::O_NONBLOCK),
        path: String::from(name),
    };
    cx.p.install_fd(Arc::new(Mutex::new(f)), cloexec, 0)
}

// ------------------------------------------------------------------------------------------------
// eventfd

/// eventfd(2): a 64-bit counter.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    /// Writes so far (edge-triggered epoll).
    writes: core::sync::atomic::AtomicU64,
}

impl File for EventFd {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(
        &self,
        _plat: &mut dyn crate::platform::Platform,
        _pos: u64,
        buf: &mut [u8],
    ) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock();
        if *c == 0 {
            return Err(Errno::EAGAIN);
        }
        let v = if self.semaphore { 1 } else { *c };
        *c -= v;
        buf[..8].copy_from_slice(&v.to_le_bytes());
        Ok(8)
    }
    fn write(
        &self,
        _plat: &mut dyn crate::platform::Platform,
        _pos: u64,
        data: &[u8],
    ) -> Result<usize, Errno> {
        let v = u64::from_le_bytes(
            data.get(..8)
                .ok_or(Errno::EINVAL)?
                .try_into()
                .map_err(|_| Errno::EINVAL)?,
        );
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock();
        if *c > u64::MAX - 1 - v {
            return Err(Errno::EAGAIN);
        }
        *c += v;
        self.writes
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Ok(8)
    }
    fn generation(&self) -> u64 {
        self.writes.load(core::sync::atomic::Ordering::Relaxed)
    }
    fn poll(&self, _plat: &mut dyn crate::platform::Platform) -> u32 {
        let c = *self.count.lock();
        let mut r = 0;
        if c > 0 {
            r |= g::POLLIN | g::POLLRDNORM;
        }
        if c < u64::MAX - 1 {
            r |= g::POLLOUT | g::POLLWRNORM;
        }
        r
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        Ok(anon_stat(0xe1))
    }
}

pub fn sys_eventfd2(cx: &mut Ctx, a: &Args) -> SysResult {
    const EFD_SEMAPHORE: u32 = 1;
    let flags = a[1] as u32;
    if flags & !(g::O_CLOEXEC | g::O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = Arc::new(EventFd {
        count: Mutex::new(u64::from(a[0] as u32)),
        semaphore: flags & EFD_SEMAPHORE != 0,
        writes: core::sync::atomic::AtomicU64::new(0),
    });
    install(cx, f, flags, "anon_inode:[eventfd]")
}

pub fn sys_eventfd(cx: &mut Ctx, a: &Args) -> SysResult {
    sys_eventfd2(cx, &[a[0], 0, 0, 0, 0, 0])
}

// ------------------------------------------------------------------------------------------------
// timerfd

struct TimerState {
    /// Next expiry, monotonic ns.
    next: Option<u64>,
    interval: u64,
    /// Expirations not read yet, counted when observed.
    ticks: u64,
    clock: u32,
}

/// timerfd_create(2): expirations readable as a counter.
pub struct TimerFd {
    state: Mutex<TimerState>,
}

impl TimerFd {
    /// Account expirations up to `now`.
    fn advance(&self, now: u64) -> u64 {
        let mut s = self.state.lock();
        if let Some(next) = s.next.filter(|n| *n <= now) {
            match (now - next).checked_div(s.interval) {
                Some(k) => {
                    s.ticks += k + 1;
                    s.next = Some(next + (k + 1) * s.interval);
                }
                None => {
                    s.ticks += 1;
                    s.next = None;
                }
            }
        }
        s.ticks
    }

    /// When the timer next expires (a waiter's deadline).
    pub fn deadline(&self) -> Option<u64> {
        self.state.lock().next
    }
}

impl File for TimerFd {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(
        &self,
        plat: &mut dyn crate::platform::Platform,
        _pos: u64,
        buf: &mut [u8],
    ) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let n = self.advance(plat.monotonic_ns());
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        self.state.lock().ticks = 0;
        buf[..8].copy_from_slice(&n.to_le_bytes());
        Ok(8)
    }
    fn poll(&self, plat: &mut dyn crate::platform::Platform) -> u32 {
        if self.advance(plat.monotonic_ns()) > 0 {
            g::POLLIN | g::POLLRDNORM
        } else {
            0
        }
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        Ok(anon_stat(0xe2))
    }
}

fn timerfd_of(cx: &Ctx, fd: u64) -> Result<Arc<dyn File>, Errno> {
    let f = cx.p.file(fd)?.lock().file.clone();
    if f.as_any().downcast_ref::<TimerFd>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

pub fn sys_timerfd_create(cx: &mut Ctx, a: &Args) -> SysResult {
    let clock = a[0] as u32;
    if !matches!(
        clock,
        g::CLOCK_REALTIME
            | g::CLOCK_MONOTONIC
            | g::CLOCK_BOOTTIME
            | g::CLOCK_REALTIME_ALARM
            | g::CLOCK_BOOTTIME_ALARM
    ) {
        return Err(Errno::EINVAL);
    }
    let flags = a[1] as u32;
    if flags & !(g::O_CLOEXEC | g::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = Arc::new(TimerFd {
        state: Mutex::new(TimerState {
            next: None,
            interval: 0,
            ticks: 0,
            clock,
        }),
    });
    install(cx, f, flags, "anon_inode:[timerfd]")
}

fn itimerspec_bytes(interval: u64, left: u64) -> Vec<u8> {
    super::le64(&[
        interval / 1_000_000_000,
        interval % 1_000_000_000,
        left / 1_000_000_000,
        left % 1_000_000_000,
    ])
}

pub fn sys_timerfd_settime(cx: &mut Ctx, a: &Args) -> SysResult {
    const TFD_TIMER_ABSTIME: u32 = 1;
    const TFD_TIMER_CANCEL_ON_SET: u32 = 2;
    let f = timerfd_of(cx, a[0])?;
    let flags = a[1] as u32;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let v = get::<32>(cx, a[2])?;
    let interval = super::timespec_ns(&v[..16])?;
    let value = super::timespec_ns(&v[16..])?;
    let now = cx.plat.monotonic_ns();
    let t = f.as_any().downcast_ref::<TimerFd>().ok_or(Errno::EINVAL)?;
    t.advance(now);
    let old = {
        let mut s = t.state.lock();
        let old = itimerspec_bytes(
            s.interval,
            s.next.map_or(0, |n| n.saturating_sub(now).max(1)),
        );
        s.next = if value == 0 {
            None
        } else if flags & TFD_TIMER_ABSTIME != 0 {
            let base = if s.clock == g::CLOCK_REALTIME || s.clock == g::CLOCK_REALTIME_ALARM {
                cx.plat.realtime_ns()
            } else {
                now
            };
            Some(now + value.saturating_sub(base))
        } else {
            Some(now + value)
        };
        s.interval = interval;
        s.ticks = 0;
        old
    };
    if a[3] != 0 {
        put(cx, a[3], &old)?;
    }
    Ok(0)
}

pub fn sys_timerfd_gettime(cx: &mut Ctx, a: &Args) -> SysResult {
    let f = timerfd_of(cx, a[0])?;
    let t = f.as_any().downcast_ref::<TimerFd>().ok_or(Errno::EINVAL)?;
    let now = cx.plat.monotonic_ns();
    t.advance(now);
    let b = {
        let s = t.state.lock();
        itimerspec_bytes(
            s.interval,
            s.next.map_or(0, |n| n.saturating_sub(now).max(1)),
        )
    };
    put(cx, a[1], &b)?;
    Ok(0)
}

// ------------------------------------------------------------------------------------------------
// signalfd

/// signalfd(2): pending signals of `mask` are read as signalfd_siginfo records.
pub struct SignalFd {
    pub mask: Mutex<u64>,
}

impl File for SignalFd {
    fn as_any(&self) -> &dyn Any {
        self
    }
    /// Reads need the process's signals: done by [`read_signalfd`], called from the read syscall.
    fn read(
        &self,
        _plat: &mut dyn crate::platform::Platform,
        _pos: u64,
        _buf: &mut [u8],
    ) -> Result<usize, Errno> {
        Err(Errno::EAGAIN)
    }
    fn poll(&self, _plat: &mut dyn crate::platform::Platform) -> u32 {
        0
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        Ok(anon_stat(0xe3))
    }
}

pub fn sys_signalfd4(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[2] != 8 {
        return Err(Errno::EINVAL);
    }
    let flags = a[3] as u32;
    if flags & !(g::O_CLOEXEC | g::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    // SIGKILL and SIGSTOP cannot be read.
    let mask = get_u64(cx, a[1])? & !((1 << 8) | (1 << 18));
    let fd = a[0] as i32;
    if fd != -1 {
        let f = cx.p.file(fd as u64)?.lock().file.clone();
        let s = f.as_any().downcast_ref::<SignalFd>().ok_or(Errno::EINVAL)?;
        *s.mask.lock() = mask;
        return Ok(fd as u64);
    }
    install(
        cx,
        Arc::new(SignalFd {
            mask: Mutex::new(mask),
        }),
        flags,
        "anon_inode:[signalfd]",
    )
}

pub fn sys_signalfd(cx: &mut Ctx, a: &Args) -> SysResult {
    sys_signalfd4(cx, &[a[0], a[1], a[2], 0, 0, 0])
}

/// Pending signals a signalfd would read now (for the running thread).
fn signalfd_pending(cx: &Ctx, s: &SignalFd) -> u64 {
    let sig = &cx.p.signals;
    (sig.process_pending | sig.thread_pending.get(&cx.p.tid).copied().unwrap_or(0)) & *s.mask.lock()
}

/// read() on a signalfd: dequeue pending signals of its mask as 128-byte signalfd_siginfo records.
/// `Err(EAGAIN)` when none is pending.
pub fn read_signalfd(cx: &mut Ctx, file: &Arc<dyn File>, buf: u64, len: u64) -> SysResult {
    let Some(s) = file.as_any().downcast_ref::<SignalFd>() else {
        return Err(Errno::EINVAL);
    };
    if len < 128 {
        return Err(Errno::EINVAL);
    }
    let mut done = 0u64;
    while done + 128 <= len {
        let pending = signalfd_pending(cx, s);
        let Some(sig) = (1..=64u8).find(|n| pending & (1 << (n - 1)) != 0) else {
            break;
        };
        let info = super::signal::take_signal(cx, sig);
        let mut rec = [0u8; 128];
        rec[0..4].copy_from_slice(&u32::from(sig).to_le_bytes());
        rec[4..8].copy_from_slice(&info.errno.to_le_bytes());
        rec[8..12].copy_from_slice(&info.code.to_le_bytes());
        rec[12..16].copy_from_slice(&info.pid.to_le_bytes());
        rec[16..20].copy_from_slice(&info.uid.to_le_bytes());
        rec[72..80].copy_from_slice(&info.addr.to_le_bytes());
        rec[40..48].copy_from_slice(&info.value.to_le_bytes()); // ssi_ptr
        put(cx, buf + done, &rec)?;
        done += 128;
    }
    if done == 0 {
        return Err(Errno::EAGAIN);
    }
    Ok(done)
}

// ------------------------------------------------------------------------------------------------
// Readiness of one open file

/// POLLIN.. bits ready now on `file` (signalfd and epoll need the process).
pub fn readiness(cx: &mut Ctx, file: &Arc<dyn File>) -> u32 {
    if let Some(s) = file.as_any().downcast_ref::<SignalFd>() {
        return if signalfd_pending(cx, s) != 0 {
            g::POLLIN | g::POLLRDNORM
        } else {
            0
        };
    }
    if let Some(e) = file.as_any().downcast_ref::<Epoll>() {
        return if epoll_ready(cx, e, usize::MAX, false).is_empty() {
            0
        } else {
            g::POLLIN | g::POLLRDNORM
        };
    }
    file.poll(cx.plat)
}

/// The time at which `file`'s readiness may change by itself (a timerfd's expiry).
pub fn time_deadline(file: &Arc<dyn File>) -> Option<u64> {
    file.as_any()
        .downcast_ref::<TimerFd>()
        .and_then(|t| t.deadline())
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Wait for readiness: run again at `deadline` or the earliest file deadline, or on an event.
fn wait_again(cx: &mut Ctx, deadline: Option<u64>) -> Errno {
    cx.p.wait = Some(Wait { deadline });
    Errno::RESTART
}

/// A timeout in milliseconds (negative: forever) as a deadline, computed on the first run only.
fn ms_deadline(cx: &mut Ctx, ms: i32) -> Result<Option<u64>, Errno> {
    super::saved_deadline(cx, |cx| {
        Ok((ms >= 0).then(|| cx.plat.monotonic_ns() + ms as u64 * 1_000_000))
    })
}

/// A struct timespec timeout (NULL: forever) as a deadline, computed on the first run only.
fn ts_deadline(cx: &mut Ctx, addr: u64) -> Result<Option<u64>, Errno> {
    super::saved_deadline(cx, |cx| {
        if addr == 0 {
            return Ok(None);
        }
        let b = get::<16>(cx, addr)?;
        Ok(Some(
            cx.plat
                .monotonic_ns()
                .saturating_add(super::timespec_ns(&b)?),
        ))
    })
}

/// Install a temporary signal mask for ppoll/pselect6/epoll_pwait, restored after the call (and, if a
/// signal interrupts it, after the handler — as rt_sigsuspend).
fn temporary_mask(cx: &mut Ctx, mask_addr: u64, size: u64) -> Result<(), Errno> {
    if mask_addr == 0 || cx.p.wait.is_some() {
        return Ok(());
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let set = get_u64(cx, mask_addr)? & !((1 << 8) | (1 << 18));
    super::signal::set_temporary_mask(cx, set);
    Ok(())
}

fn end_temporary_mask(cx: &mut Ctx) {
    super::signal::restore_temporary_mask(cx);
}

// ------------------------------------------------------------------------------------------------
// poll, ppoll

fn do_poll(cx: &mut Ctx, fds: u64, n: u64, deadline: Option<u64>) -> SysResult {
    if n > cx.p.rlimits[g::RLIMIT_NOFILE as usize].cur {
        return Err(Errno::EINVAL);
    }
    let mut ready = 0;
    let mut file_deadline = None;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let b = get::<8>(cx, fds + i * 8)?;
        let fd = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let events = u32::from(u16::from_le_bytes([b[4], b[5]]));
        let mut rev = 0u32;
        if fd >= 0 {
            match cx.p.file(fd as u64) {
                Err(_) => rev = g::POLLNVAL,
                Ok(f) => {
                    let file = f.lock().file.clone();
                    let r = readiness(cx, &file);
                    rev = r & (events | g::POLLERR | g::POLLHUP);
                    file_deadline = min_opt(file_deadline, time_deadline(&file));
                }
            }
        }
        if rev != 0 {
            ready += 1;
        }
        out.push(rev as u16);
    }
    let timed_out = deadline.is_some_and(|d| cx.plat.monotonic_ns() >= d);
    if ready == 0 && !timed_out {
        return Err(wait_again(cx, min_opt(deadline, file_deadline)));
    }
    for (i, rev) in out.iter().enumerate() {
        put(cx, fds + i as u64 * 8 + 6, &rev.to_le_bytes())?;
    }
    Ok(ready)
}

pub fn sys_poll(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = ms_deadline(cx, a[2] as i32)?;
    do_poll(cx, a[0], a[1], deadline)
}

pub fn sys_ppoll(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = ts_deadline(cx, a[2])?;
    temporary_mask(cx, a[3], a[4])?;
    let r = do_poll(cx, a[0], a[1], deadline);
    if r != Err(Errno::RESTART) {
        end_temporary_mask(cx);
    }
    r
}

// ------------------------------------------------------------------------------------------------
// select, pselect6

fn do_select(cx: &mut Ctx, nfds: u64, sets: [u64; 3], deadline: Option<u64>) -> SysResult {
    if nfds > 1024 * 64 || (nfds as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let words = nfds.div_ceil(64) as usize;
    let mut inp = [Vec::new(), Vec::new(), Vec::new()];
    for (k, addr) in sets.iter().enumerate() {
        if *addr != 0 {
            for w in 0..words {
                inp[k].push(get_u64(cx, addr + w as u64 * 8)?);
            }
        }
    }
    let mut outp = [
        alloc::vec![0u64; words],
        alloc::vec![0u64; words],
        alloc::vec![0u64; words],
    ];
    let mut count = 0;
    let mut file_deadline = None;
    for fd in 0..nfds as usize {
        let (w, b) = (fd / 64, 1u64 << (fd % 64));
        let wanted: Vec<bool> = (0..3)
            .map(|k| inp[k].get(w).is_some_and(|v| v & b != 0))
            .collect();
        if !wanted.iter().any(|x| *x) {
            continue;
        }
        let file =
            cx.p.file(fd as u64)
                .map_err(|_| Errno::EBADF)?
                .lock()
                .file
                .clone();
        let r = readiness(cx, &file);
        file_deadline = min_opt(file_deadline, time_deadline(&file));
        let masks = [
            g::POLLIN | g::POLLRDNORM | g::POLLHUP | g::POLLERR,
            g::POLLOUT | g::POLLWRNORM | g::POLLERR,
            g::POLLPRI,
        ];
        for k in 0..3 {
            if wanted[k] && r & masks[k] != 0 {
                outp[k][w] |= b;
                count += 1;
            }
        }
    }
    let timed_out = deadline.is_some_and(|d| cx.plat.monotonic_ns() >= d);
    if count == 0 && !timed_out {
        return Err(wait_again(cx, min_opt(deadline, file_deadline)));
    }
    for (k, addr) in sets.iter().enumerate() {
        if *addr != 0 {
            put(cx, *addr, &super::le64(&outp[k]))?;
        }
    }
    Ok(count)
}

pub fn sys_select(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = super::saved_deadline(cx, |cx| {
        if a[4] == 0 {
            return Ok(None);
        }
        let b = get::<16>(cx, a[4])?;
        let sec = i64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let usec = i64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if sec < 0 || usec < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Some(
            cx.plat.monotonic_ns() + sec as u64 * 1_000_000_000 + usec as u64 * 1000,
        ))
    })?;
    do_select(cx, a[0], [a[1], a[2], a[3]], deadline)
}

pub fn sys_pselect6(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = ts_deadline(cx, a[4])?;
    if a[5] != 0 && cx.p.wait.is_none() {
        let b = get::<16>(cx, a[5])?;
        let mask = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let size = u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        temporary_mask(cx, mask, size)?;
    }
    let r = do_select(cx, a[0], [a[1], a[2], a[3]], deadline);
    if r != Err(Errno::RESTART) {
        end_temporary_mask(cx);
    }
    r
}

// ------------------------------------------------------------------------------------------------
// epoll

struct Interest {
    file: FileRef,
    events: u32,
    data: u64,
    /// Readiness seen at the last report (edge-triggered mode reports only new bits).
    last: u32,
    /// The file's generation at the last report (a change is a new edge).
    last_gen: u64,
    /// EPOLLONESHOT fired: disabled until EPOLL_CTL_MOD.
    disabled: bool,
}

/// An epoll instance: the interest list by fd.
pub struct Epoll {
    items: Mutex<BTreeMap<i32, Interest>>,
}

impl File for Epoll {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn poll(&self, _plat: &mut dyn crate::platform::Platform) -> u32 {
        0
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        Ok(anon_stat(0xe4))
    }
}

const EPOLLET: u32 = 1 << 31;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;

pub fn sys_epoll_create1(cx: &mut Ctx, a: &Args) -> SysResult {
    let flags = a[0] as u32;
    if flags & !g::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    install(
        cx,
        Arc::new(Epoll {
            items: Mutex::new(BTreeMap::new()),
        }),
        flags,
        "anon_inode:[eventpoll]",
    )
}

pub fn sys_epoll_create(cx: &mut Ctx, a: &Args) -> SysResult {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    sys_epoll_create1(cx, &[0; 6])
}

fn epoll_of(cx: &Ctx, epfd: u64) -> Result<Arc<dyn File>, Errno> {
    let f = cx.p.file(epfd)?.lock().file.clone();
    if f.as_any().downcast_ref::<Epoll>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

pub fn sys_epoll_ctl(cx: &mut Ctx, a: &Args) -> SysResult {
    const ADD: u64 = 1;
    const DEL: u64 = 2;
    const MOD: u64 = 3;
    let ep = epoll_of(cx, a[0])?;
    let fd = a[2] as i32;
    let target = cx.p.file(a[2])?;
    let tfile = target.lock().file.clone();
    if Arc::ptr_eq(&tfile, &ep) {
        return Err(Errno::EINVAL);
    }
    // Regular files and directories are always ready: Linux refuses them.
    if tfile
        .as_any()
        .downcast_ref::<crate::vfs::InodeFile>()
        .is_some()
    {
        return Err(Errno::EPERM);
    }
    let e = ep.as_any().downcast_ref::<Epoll>().ok_or(Errno::EINVAL)?;
    let (events, data) = if a[1] == DEL {
        (0, 0)
    } else {
        let b = get::<12>(cx, a[3])?;
        (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u64::from_le_bytes(b[4..12].try_into().map_err(|_| Errno::EFAULT)?),
        )
    };
    let mut items = e.items.lock();
    match a[1] {
        ADD => {
            if items.contains_key(&fd) {
                return Err(Errno::EEXIST);
            }
            if events & EPOLLEXCLUSIVE != 0 && events & EPOLLONESHOT != 0 {
                return Err(Errno::EINVAL);
            }
            items.insert(
                fd,
                Interest {
                    file: target,
                    events: events & !EPOLLWAKEUP,
                    data,
                    last: 0,
                    last_gen: 0,
                    disabled: false,
                },
            );
        }
        MOD => {
            let it = items.get_mut(&fd).ok_or(Errno::ENOENT)?;
            if events & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            it.events = events & !EPOLLWAKEUP;
            it.data = data;
            it.last = 0;
            it.last_gen = 0;
            it.disabled = false;
        }
        DEL => {
            items.remove(&fd).ok_or(Errno::ENOENT)?;
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// One interest as seen at the start of a scan: fd, file, events, last readiness, last generation,
/// disabled.
type Snapshot = (i32, Arc<dyn File>, u32, u32, u64, bool);

/// Ready (events, data) of an epoll, at most `max`; with `consume`, edge and one-shot state advance.
fn epoll_ready(cx: &mut Ctx, e: &Epoll, max: usize, consume: bool) -> Vec<(u32, u64)> {
    // Snapshot the interest list: readiness may need the process (signalfd), and the lock must not
    // be held meanwhile.
    let snapshot: Vec<Snapshot> = e
        .items
        .lock()
        .iter()
        .map(|(fd, it)| {
            (
                *fd,
                it.file.lock().file.clone(),
                it.events,
                it.last,
                it.last_gen,
                it.disabled,
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut updates = Vec::new();
    for (fd, file, events, last, last_gen, disabled) in snapshot {
        if disabled || out.len() >= max {
            continue;
        }
        // A descriptor closed since EPOLL_CTL_ADD is dropped from the list (as its last close would).
        if cx
            .p
            .file(fd as u64)
            .map(|f| !Arc::ptr_eq(&f.lock().file, &file))
            .unwrap_or(true)
        {
            updates.push((fd, None));
            continue;
        }
        let r = readiness(cx, &file);
        let mask = events | g::POLLERR | g::POLLHUP;
        let now = r & mask;
        let gen = file.generation();
        // Edge-triggered: new readiness bits, or new data (the file's generation moved) while ready.
        let report = if events & EPOLLET != 0 {
            if gen != last_gen {
                now
            } else {
                now & !last
            }
        } else {
            now
        };
        if consume {
            updates.push((
                fd,
                Some((now, gen, report != 0 && events & EPOLLONESHOT != 0)),
            ));
        }
        if report != 0 {
            let data = e.items.lock().get(&fd).map_or(0, |it| it.data);
            out.push((if events & EPOLLET != 0 { now } else { report }, data));
        }
    }
    if consume || !updates.is_empty() {
        let mut items = e.items.lock();
        for (fd, u) in updates {
            match u {
                None => {
                    items.remove(&fd);
                }
                Some((now, gen, oneshot)) => {
                    if let Some(it) = items.get_mut(&fd) {
                        it.last = now;
                        it.last_gen = gen;
                        if oneshot {
                            it.disabled = true;
                        }
                    }
                }
            }
        }
    }
    out
}

fn do_epoll_wait(
    cx: &mut Ctx,
    epfd: u64,
    events: u64,
    max: u64,
    deadline: Option<u64>,
) -> SysResult {
    if (max as i32) <= 0 || max > (i32::MAX as u64) / 12 {
        return Err(Errno::EINVAL);
    }
    let ep = epoll_of(cx, epfd)?;
    let e = ep.as_any().downcast_ref::<Epoll>().ok_or(Errno::EINVAL)?;
    let ready = epoll_ready(cx, e, max as usize, true);
    if ready.is_empty() {
        if deadline.is_some_and(|d| cx.plat.monotonic_ns() >= d) {
            return Ok(0);
        }
        let files: Vec<Arc<dyn File>> = e
            .items
            .lock()
            .values()
            .map(|it| it.file.lock().file.clone())
            .collect();
        let fd_deadline = files
            .iter()
            .fold(None, |acc, f| min_opt(acc, time_deadline(f)));
        return Err(wait_again(cx, min_opt(deadline, fd_deadline)));
    }
    for (i, (ev, data)) in ready.iter().enumerate() {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&ev.to_le_bytes());
        b[4..].copy_from_slice(&data.to_le_bytes());
        put(cx, events + i as u64 * 12, &b)?;
    }
    Ok(ready.len() as u64)
}

pub fn sys_epoll_wait(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = ms_deadline(cx, a[3] as i32)?;
    do_epoll_wait(cx, a[0], a[1], a[2], deadline)
}

pub fn sys_epoll_pwait(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = ms_deadline(cx, a[3] as i32)?;
    temporary_mask(cx, a[4], a[5])?;
    let r = do_epoll_wait(cx, a[0], a[1], a[2], deadline);
    if r != Err(Errno::RESTART) {
        end_temporary_mask(cx);
    }
    r
}

pub fn sys_epoll_pwait2(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = ts_deadline(cx, a[3])?;
    temporary_mask(cx, a[4], a[5])?;
    let r = do_epoll_wait(cx, a[0], a[1], a[2], deadline);
    if r != Err(Errno::RESTART) {
        end_temporary_mask(cx);
    }
    r
}
