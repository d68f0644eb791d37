//! Identity, limits, randomness, TLS, signal bookkeeping and exit.

use super::{get_u64, le64, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::process::{Rlimit, RLIMIT_NLIMITS};
use linux_raw_sys::general as g;

const ARCH_SET_GS: u32 = 0x1001;
const ARCH_SET_FS: u32 = 0x1002;
const ARCH_GET_FS: u32 = 0x1003;
const ARCH_GET_GS: u32 = 0x1004;
const ARCH_GET_CPUID: u32 = 0x1011;
const ARCH_SET_CPUID: u32 = 0x1012;

pub fn sys_zero(_cx: &mut Ctx, _a: &Args) -> SysResult {
    Ok(0)
}

pub fn sys_getpid(cx: &mut Ctx, _a: &Args) -> SysResult {
    Ok(u64::from(cx.p.pid))
}

pub fn sys_gettid(cx: &mut Ctx, _a: &Args) -> SysResult {
    Ok(u64::from(cx.p.tid))
}

pub fn sys_getppid(_cx: &mut Ctx, _a: &Args) -> SysResult {
    Ok(0)
}

pub fn sys_arch_prctl(cx: &mut Ctx, a: &Args) -> SysResult {
    match a[0] as u32 {
        ARCH_SET_FS => {
            if a[1] >= crate::mm::USER_END {
                return Err(Errno::EPERM);
            }
            cx.p.fs_base = a[1];
            cx.plat.set_fs_base(a[1]);
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = cx.p.fs_base;
            put(cx, a[1], &v.to_le_bytes())?;
            Ok(0)
        }
        ARCH_SET_GS | ARCH_GET_GS => Err(Errno::EINVAL),
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_set_tid_address(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.clear_child_tid = a[0];
    Ok(u64::from(cx.p.tid))
}

pub fn sys_set_robust_list(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    cx.p.robust_list = (a[0], a[1]);
    Ok(0)
}

/// rseq(2): registration only. With one CPU the CPU id is always 0, written into the area at registration.
pub fn sys_rseq(cx: &mut Ctx, a: &Args) -> SysResult {
    let (addr, len, flags) = (a[0], a[1] as u32, a[2] as u32);
    if flags & 1 != 0 {
        // RSEQ_FLAG_UNREGISTER
        if cx.p.rseq == 0 || cx.p.rseq != addr {
            return Err(Errno::EINVAL);
        }
        cx.p.rseq = 0;
        return Ok(0);
    }
    if cx.p.rseq != 0 {
        return Err(if cx.p.rseq == addr {
            Errno::EBUSY
        } else {
            Errno::EINVAL
        });
    }
    if len < 32 || addr % 32 != 0 {
        return Err(Errno::EINVAL);
    }
    // cpu_id_start = 0, cpu_id = 0
    put(cx, addr, &[0u8; 8])?;
    cx.p.rseq = addr;
    Ok(0)
}

fn rlimit_index(res: u64) -> Result<usize, Errno> {
    usize::try_from(res)
        .ok()
        .filter(|r| *r < RLIMIT_NLIMITS)
        .ok_or(Errno::EINVAL)
}

pub fn sys_prlimit64(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[0] != 0 && a[0] != u64::from(cx.p.pid) {
        return Err(Errno::ESRCH);
    }
    let r = rlimit_index(a[1])?;
    let old = cx.p.rlimits[r];
    if a[2] != 0 {
        let cur = get_u64(cx, a[2])?;
        let max = get_u64(cx, a[2] + 8)?;
        if cur > max {
            return Err(Errno::EINVAL);
        }
        cx.p.rlimits[r] = Rlimit { cur, max };
    }
    if a[3] != 0 {
        put(cx, a[3], &le64(&[old.cur, old.max]))?;
    }
    Ok(0)
}

pub fn sys_getrlimit(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[1] == 0 {
        return Err(Errno::EFAULT);
    }
    sys_prlimit64(cx, &[0, a[0], 0, a[1], 0, 0])
}

pub fn sys_setrlimit(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[1] == 0 {
        return Err(Errno::EFAULT);
    }
    sys_prlimit64(cx, &[0, a[0], a[1], 0, 0, 0])
}

pub fn sys_getrandom(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[2] as u32 & !(g::GRND_NONBLOCK | g::GRND_RANDOM | g::GRND_INSECURE) != 0 {
        return Err(Errno::EINVAL);
    }
    // Linux returns at most 32 MiB per call.
    let len = a[1].min(32 << 20) as usize;
    let mut buf = alloc::vec![0u8; len.min(65536)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len());
        cx.plat.fill_random(&mut buf[..n]);
        put(cx, a[0] + done as u64, &buf[..n])?;
        done += n;
    }
    Ok(len as u64)
}

pub fn sys_uname(cx: &mut Ctx, a: &Args) -> SysResult {
    let mut u = [0u8; 65 * 6];
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"nutshell",
        b"6.1.0-nutshell",
        b"#1 SMP nutshell",
        b"x86_64",
        b"(none)",
    ];
    for (i, f) in fields.iter().enumerate() {
        u[i * 65..i * 65 + f.len()].copy_from_slice(f);
    }
    put(cx, a[0], &u)?;
    Ok(0)
}

pub fn sys_sched_getaffinity(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[0] != 0 && a[0] != u64::from(cx.p.pid) {
        return Err(Errno::ESRCH);
    }
    // The kernel's cpumask is 8 bytes here (one CPU); Linux returns the size it wrote.
    if a[1] < 8 || !a[1].is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    put(cx, a[2], &1u64.to_le_bytes())?;
    Ok(8)
}

/// prctl(2): the process name, dumpable and no-new-privs flags, and the options programs probe at start.
pub fn sys_prctl(cx: &mut Ctx, a: &Args) -> SysResult {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const PR_SET_VMA: u64 = 0x5356_4d41;
    match a[0] {
        PR_SET_NAME => {
            let name = cx.p.mm.read_cstr(a[1], 4096)?;
            let n = name.len().min(15);
            cx.p.comm = alloc::string::String::from_utf8_lossy(&name[..n]).into_owned();
            Ok(0)
        }
        PR_GET_NAME => {
            let mut b = [0u8; 16];
            let c = cx.p.comm.as_bytes();
            let n = c.len().min(15);
            b[..n].copy_from_slice(&c[..n]);
            put(cx, a[1], &b)?;
            Ok(0)
        }
        PR_SET_PDEATHSIG | PR_SET_DUMPABLE | PR_SET_NO_NEW_PRIVS | PR_SET_VMA => Ok(0),
        PR_GET_PDEATHSIG => {
            put(cx, a[1], &0u32.to_le_bytes())?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(1),
        PR_GET_NO_NEW_PRIVS => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// sysinfo(2): uptime, memory and the number of threads (loads are 0: nothing else runs).
pub fn sys_sysinfo(cx: &mut Ctx, a: &Args) -> SysResult {
    let (total, free) = cx.plat.memory();
    let uptime = cx.plat.monotonic_ns() / 1_000_000_000;
    let mut b = [0u8; 112];
    b[0..8].copy_from_slice(&uptime.to_le_bytes());
    // loads[3] at 8..32 stay 0.
    b[32..40].copy_from_slice(&total.to_le_bytes());
    b[40..48].copy_from_slice(&free.to_le_bytes());
    // sharedram, bufferram, totalswap, freeswap: 0.
    b[80..82].copy_from_slice(&(cx.p.threads.live as u16).to_le_bytes());
    // totalhigh, freehigh: 0; mem_unit = 1.
    b[104..108].copy_from_slice(&1u32.to_le_bytes());
    put(cx, a[0], &b)?;
    Ok(0)
}
