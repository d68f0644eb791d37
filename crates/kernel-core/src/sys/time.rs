//! Clocks and sleeping.

use super::{put, read_timespec, Args, Ctx};
use crate::errno::{Errno, SysResult};
use linux_raw_sys::general as g;

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    b
}

fn clock_now(cx: &Ctx, clock: u64) -> Result<u64, Errno> {
    match clock as u32 {
        g::CLOCK_REALTIME | g::CLOCK_REALTIME_COARSE | g::CLOCK_TAI => Ok(cx.plat.realtime_ns()),
        g::CLOCK_MONOTONIC
        | g::CLOCK_MONOTONIC_RAW
        | g::CLOCK_MONOTONIC_COARSE
        | g::CLOCK_BOOTTIME => Ok(cx.plat.monotonic_ns()),
        g::CLOCK_PROCESS_CPUTIME_ID => {
            let t = cx.plat.cpu_times();
            Ok(t.user + t.system)
        }
        g::CLOCK_THREAD_CPUTIME_ID => Ok(cx.plat.cpu_times().thread),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_clock_gettime(cx: &mut Ctx, a: &Args) -> SysResult {
    let now = clock_now(cx, a[0])?;
    put(cx, a[1], &timespec(now))?;
    Ok(0)
}

pub fn sys_clock_getres(cx: &mut Ctx, a: &Args) -> SysResult {
    clock_now(cx, a[0])?;
    if a[1] != 0 {
        put(cx, a[1], &timespec(1))?;
    }
    Ok(0)
}

pub fn sys_gettimeofday(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[0] != 0 {
        let ns = cx.plat.realtime_ns();
        put(
            cx,
            a[0],
            &super::le64(&[ns / 1_000_000_000, ns % 1_000_000_000 / 1000]),
        )?;
    }
    if a[1] != 0 {
        put(cx, a[1], &[0u8; 8])?;
    }
    Ok(0)
}

pub fn sys_time(cx: &mut Ctx, a: &Args) -> SysResult {
    let t = cx.plat.realtime_ns() / 1_000_000_000;
    if a[0] != 0 {
        put(cx, a[0], &t.to_le_bytes())?;
    }
    Ok(t)
}

pub fn sys_nanosleep(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = super::saved_deadline(cx, |cx| {
        let d = read_timespec(cx, a[0])?;
        Ok(Some(cx.plat.monotonic_ns().saturating_add(d)))
    })?;
    super::wait_until(cx, deadline.unwrap_or(0))?;
    Ok(0)
}

pub fn sys_clock_nanosleep(cx: &mut Ctx, a: &Args) -> SysResult {
    let deadline = super::saved_deadline(cx, |cx| {
        let now = clock_now(cx, a[0]).map_err(|_| Errno::EINVAL)?;
        let t = read_timespec(cx, a[2])?;
        let abstime = a[1] as u32 & g::TIMER_ABSTIME != 0;
        let wait = if abstime { t.saturating_sub(now) } else { t };
        Ok(Some(cx.plat.monotonic_ns().saturating_add(wait)))
    })?;
    super::wait_until(cx, deadline.unwrap_or(0))?;
    Ok(0)
}

/// getrusage(2): CPU times (RUSAGE_SELF, RUSAGE_THREAD; RUSAGE_CHILDREN is all zero), max RSS.
pub fn sys_getrusage(cx: &mut Ctx, a: &Args) -> SysResult {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let who = a[0] as i32;
    let t = cx.plat.cpu_times();
    let (user, sys) = match who {
        RUSAGE_SELF => (t.user, t.system),
        RUSAGE_THREAD => (
            t.thread.saturating_sub(t.system.min(t.thread)),
            t.system.min(t.thread),
        ),
        RUSAGE_CHILDREN => (0, 0),
        _ => return Err(Errno::EINVAL),
    };
    let (total, free) = cx.plat.memory();
    let maxrss_kb = if who == RUSAGE_CHILDREN {
        0
    } else {
        total.saturating_sub(free) / 1024
    };
    let tv = |ns: u64| [ns / 1_000_000_000, ns % 1_000_000_000 / 1000];
    let mut fields = [0u64; 18];
    fields[..2].copy_from_slice(&tv(user));
    fields[2..4].copy_from_slice(&tv(sys));
    fields[4] = maxrss_kb;
    put(cx, a[1], &super::le64(&fields))?;
    Ok(0)
}

/// times(2): clock ticks (100 per second) of CPU time, and elapsed ticks since boot.
pub fn sys_times(cx: &mut Ctx, a: &Args) -> SysResult {
    let t = cx.plat.cpu_times();
    let ticks = |ns: u64| ns / 10_000_000;
    if a[0] != 0 {
        put(
            cx,
            a[0],
            &super::le64(&[ticks(t.user), ticks(t.system), 0, 0]),
        )?;
    }
    Ok(ticks(cx.plat.monotonic_ns()))
}
