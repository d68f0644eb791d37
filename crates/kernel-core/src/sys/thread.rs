//! Threads: clone/clone3 (threads sharing the address space), exit of one thread versus exit_group,
//! futexes, robust lists. The kernel creates and schedules threads; this module decides what a call
//! means and keeps the futex wait queues. See futex(2), clone(2) and kernel/futex/ in Linux.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::{get, get_u64, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::process::{ThreadState, Wait};

/// A thread the kernel must create after the clone syscall returns (`Threads::spawn`).
#[derive(Clone, Debug, Default)]
pub struct CloneRequest {
    /// The new thread's per-thread state (tid, TLS, clear_child_tid, signal mask).
    pub state: ThreadState,
    /// Its stack pointer, or 0 to share the caller's (as clone(2) allows).
    pub stack: u64,
}

/// One thread waiting on a futex word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Waiter {
    tid: u32,
    bitset: u32,
}

/// The process's threads as far as syscalls are concerned.
#[derive(Debug)]
pub struct Threads {
    next_tid: u32,
    /// Number of live threads.
    pub live: u32,
    /// Bumped by every event that may let a waiting thread go on (futex wake, thread exit, pipe I/O...).
    /// A waiting thread is retried when it changed.
    pub events: u64,
    /// Set by clone: the thread the kernel must create now.
    pub spawn: Option<CloneRequest>,
    /// Set by exit(2): the running thread ends with this code (the process ends if it was the last).
    pub exit_thread: Option<u8>,
    /// Set by sched_yield: the kernel runs another thread first if one is ready.
    pub yield_now: bool,
    waiters: BTreeMap<u64, Vec<Waiter>>,
    woken: BTreeSet<u32>,
    /// Ids of the live threads.
    tids: BTreeSet<u32>,
}

impl Default for Threads {
    fn default() -> Self {
        Threads {
            next_tid: 2,
            live: 1,
            events: 0,
            spawn: None,
            exit_thread: None,
            yield_now: false,
            waiters: BTreeMap::new(),
            woken: BTreeSet::new(),
            tids: BTreeSet::from([1]),
        }
    }
}

impl Threads {
    /// Whether thread `tid` exists.
    pub fn is_live(&self, tid: u32) -> bool {
        self.tids.contains(&tid)
    }

    /// Wake up to `n` waiters on `addr` whose bitset matches; returns how many.
    pub fn wake(&mut self, addr: u64, n: u32, bitset: u32) -> u32 {
        let mut woken = 0;
        if let Some(q) = self.waiters.get_mut(&addr) {
            let mut i = 0;
            while i < q.len() && woken < n {
                if q[i].bitset & bitset != 0 {
                    let w = q.remove(i);
                    self.woken.insert(w.tid);
                    woken += 1;
                } else {
                    i += 1;
                }
            }
            if q.is_empty() {
                self.waiters.remove(&addr);
            }
        }
        if woken > 0 {
            self.events += 1;
        }
        woken
    }

    /// Move up to `n` waiters from `from` to `to`; returns how many.
    fn requeue(&mut self, from: u64, to: u64, n: u32) -> u32 {
        let Some(mut q) = self.waiters.remove(&from) else {
            return 0;
        };
        let k = (n as usize).min(q.len());
        let moved: Vec<Waiter> = q.drain(..k).collect();
        if !q.is_empty() {
            self.waiters.insert(from, q);
        }
        self.waiters.entry(to).or_default().extend(moved);
        k as u32
    }

    fn forget(&mut self, tid: u32) {
        self.woken.remove(&tid);
        self.waiters.retain(|_, q| {
            q.retain(|w| w.tid != tid);
            !q.is_empty()
        });
    }
}

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_IO: u64 = 0x8000_0000;

fn do_clone(
    cx: &mut Ctx,
    flags: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
) -> SysResult {
    let supported = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_CHILD_SETTID
        | CLONE_DETACHED
        | CLONE_IO
        | CLONE_PARENT;
    // Linux's rules: a thread shares signal handlers, which share the address space.
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
        || flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
    {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_VM == 0
        || flags & CLONE_THREAD == 0
        || flags & CLONE_VFORK != 0
        || flags & CLONE_PIDFD != 0
    {
        // New processes (fork, vfork, posix_spawn) need a second address space: not yet.
        cx.plat.log("nutshell: clone without CLONE_VM|CLONE_THREAD (a new process: fork/vfork/posix_spawn) is not implemented");
        return Err(Errno::ENOSYS);
    }
    if flags & !(supported | 0xff) != 0 {
        return Err(Errno::EINVAL);
    }
    let tid = cx.p.threads.next_tid;
    if flags & CLONE_PARENT_SETTID != 0 {
        put(cx, parent_tid, &tid.to_le_bytes())?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        put(cx, child_tid, &tid.to_le_bytes())?;
    }
    cx.p.threads.next_tid += 1;
    cx.p.threads.live += 1;
    cx.p.threads.tids.insert(tid);
    let state = ThreadState {
        tid,
        clear_child_tid: if flags & CLONE_CHILD_CLEARTID != 0 {
            child_tid
        } else {
            0
        },
        robust_list: (0, 0),
        rseq: 0,
        sigmask: cx.p.sigmask,
        altstack: (0, linux_raw_sys::general::SS_DISABLE, 0),
        fs_base: if flags & CLONE_SETTLS != 0 {
            tls
        } else {
            cx.p.fs_base
        },
        wait: None,
    };
    cx.p.threads.spawn = Some(CloneRequest { state, stack });
    Ok(u64::from(tid))
}

/// clone(flags, stack, parent_tid, child_tid, tls) — the x86_64 argument order.
pub fn sys_clone(cx: &mut Ctx, a: &Args) -> SysResult {
    do_clone(cx, a[0], a[1], a[2], a[3], a[4])
}

/// clone3(struct clone_args *, size).
pub fn sys_clone3(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[1] < 64 || a[1] > 4096 {
        return Err(Errno::EINVAL);
    }
    let b = get::<88>(cx, a[0]).or_else(|_| {
        get::<64>(cx, a[0]).map(|s| {
            let mut b = [0u8; 88];
            b[..64].copy_from_slice(&s);
            b
        })
    })?;
    let f = |i: usize| {
        u64::from_le_bytes([
            b[i],
            b[i + 1],
            b[i + 2],
            b[i + 3],
            b[i + 4],
            b[i + 5],
            b[i + 6],
            b[i + 7],
        ])
    };
    let (flags, _pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls) =
        (f(0), f(8), f(16), f(24), f(32), f(40), f(48), f(56));
    if exit_signal != 0 && flags & CLONE_THREAD != 0 {
        return Err(Errno::EINVAL);
    }
    if a[1] >= 80 && (f(64) != 0 || f(72) != 0) {
        // set_tid needs PID namespaces.
        return Err(Errno::EINVAL);
    }
    let top = if stack != 0 {
        stack.checked_add(stack_size).ok_or(Errno::EINVAL)?
    } else {
        0
    };
    do_clone(cx, flags, top, parent_tid, child_tid, tls)
}

/// exit(2): ends the calling thread; exit_group(2): the whole process.
pub fn sys_exit(cx: &mut Ctx, a: &Args) -> SysResult {
    if cx.p.threads.live > 1 {
        cx.p.threads.exit_thread = Some(a[0] as u8);
    } else {
        cx.p.exit_code = Some(a[0] as u8);
    }
    Ok(0)
}

pub fn sys_exit_group(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.exit_code = Some(a[0] as u8);
    Ok(0)
}

/// What the kernel does for a thread that ends: robust futexes are marked OWNER_DIED and woken, then
/// `clear_child_tid` is zeroed and woken (what pthread_join waits on).
pub fn thread_exit_cleanup(cx: &mut Ctx) {
    let tid = cx.p.tid;
    release_robust_list(cx, tid);
    let addr = cx.p.clear_child_tid;
    if addr != 0 && put(cx, addr, &0u32.to_le_bytes()).is_ok() {
        cx.p.threads.wake(addr, 1, u32::MAX);
    }
    cx.p.threads.forget(tid);
    cx.p.threads.tids.remove(&tid);
    cx.p.signals.forget_thread(tid);
    cx.p.threads.live = cx.p.threads.live.saturating_sub(1);
    cx.p.threads.events += 1;
}

const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Walk the thread's robust list (bounded, as Linux's ROBUST_LIST_LIMIT) and release its futexes.
fn release_robust_list(cx: &mut Ctx, tid: u32) {
    let (head, len) = cx.p.robust_list;
    if head == 0 || len != 24 {
        return;
    }
    let (Ok(mut entry), Ok(offset), Ok(pending)) = (
        get_u64(cx, head),
        get_u64(cx, head + 8),
        get_u64(cx, head + 16),
    ) else {
        return;
    };
    let release = |cx: &mut Ctx, e: u64| {
        let word = e.wrapping_add(offset);
        if let Ok(b) = get::<4>(cx, word) {
            let v = u32::from_le_bytes(b);
            if v & FUTEX_TID_MASK == tid {
                let nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
                if put(cx, word, &nv.to_le_bytes()).is_ok() && v & FUTEX_WAITERS != 0 {
                    cx.p.threads.wake(word, 1, u32::MAX);
                }
            }
        }
    };
    let mut n = 0;
    while entry != head && entry != 0 && n < 2048 {
        let next = get_u64(cx, entry).unwrap_or(0);
        if entry != pending {
            release(cx, entry);
        }
        entry = next;
        n += 1;
    }
    if pending != 0 {
        release(cx, pending);
    }
}

pub fn sys_get_robust_list(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[0] != 0 && a[0] as u32 != cx.p.tid {
        return Err(Errno::ESRCH);
    }
    let (head, len) = cx.p.robust_list;
    put(cx, a[1], &head.to_le_bytes())?;
    put(cx, a[2], &len.to_le_bytes())?;
    Ok(0)
}

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

fn read_u32(cx: &mut Ctx, addr: u64) -> Result<u32, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    Ok(u32::from_le_bytes(get::<4>(cx, addr)?))
}

/// futex(uaddr, op, val, timeout/val2, uaddr2, val3).
pub fn sys_futex(cx: &mut Ctx, a: &Args) -> SysResult {
    let (addr, op, val) = (a[0], a[1], a[2] as u32);
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if op & FUTEX_CLOCK_REALTIME != 0 && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT {
                u32::MAX
            } else {
                a[5] as u32
            };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            futex_wait(
                cx,
                addr,
                val,
                bitset,
                a[3],
                cmd == FUTEX_WAIT_BITSET,
                op & FUTEX_CLOCK_REALTIME != 0,
            )
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE {
                u32::MAX
            } else {
                a[5] as u32
            };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            if !addr.is_multiple_of(4) {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(cx.p.threads.wake(addr, val, bitset)))
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            if cmd == FUTEX_CMP_REQUEUE && read_u32(cx, addr)? != a[5] as u32 {
                return Err(Errno::EAGAIN);
            }
            if !a[4].is_multiple_of(4) || (val as i32) < 0 || (a[3] as i32) < 0 {
                return Err(Errno::EINVAL);
            }
            let woken = cx.p.threads.wake(addr, val, u32::MAX);
            let moved = cx.p.threads.requeue(addr, a[4], a[3] as u32);
            Ok(u64::from(woken + moved))
        }
        FUTEX_WAKE_OP => futex_wake_op(cx, addr, val, a[3] as u32, a[4], a[5] as u32),
        _ => Err(Errno::ENOSYS),
    }
}

fn futex_wait(
    cx: &mut Ctx,
    addr: u64,
    val: u32,
    bitset: u32,
    timeout: u64,
    absolute: bool,
    realtime: bool,
) -> SysResult {
    let tid = cx.p.tid;
    if let Some(w) = cx.p.wait {
        // Running again: woken, timed out, or still waiting.
        if cx.p.threads.woken.remove(&tid) {
            return Ok(0);
        }
        if w.deadline.is_some_and(|d| cx.plat.monotonic_ns() >= d) {
            cx.p.threads.forget(tid);
            return Err(Errno::ETIMEDOUT);
        }
        return Err(Errno::RESTART);
    }
    let deadline = if timeout == 0 {
        None
    } else {
        let t = super::read_timespec(cx, timeout)?;
        let now = cx.plat.monotonic_ns();
        Some(if !absolute {
            now.saturating_add(t)
        } else if realtime {
            now.saturating_add(t.saturating_sub(cx.plat.realtime_ns()))
        } else {
            t
        })
    };
    if read_u32(cx, addr)? != val {
        return Err(Errno::EAGAIN);
    }
    if cx.p.threads.live <= 1 && deadline.is_none() {
        // Nobody could ever wake it: Linux would hang forever; say so instead.
        cx.p.fatal = Some((
            125,
            alloc::format!(
                "nutshell: deadlock: the only thread waits on futex {addr:#x} with no timeout"
            ),
        ));
        return Err(Errno::EDEADLK);
    }
    cx.p.threads.woken.remove(&tid);
    cx.p.threads
        .waiters
        .entry(addr)
        .or_default()
        .push(Waiter { tid, bitset });
    cx.p.wait = Some(Wait { deadline });
    Err(Errno::RESTART)
}

fn futex_wake_op(cx: &mut Ctx, addr1: u64, n1: u32, n2: u32, addr2: u64, op: u32) -> SysResult {
    let opcode = (op >> 28) & 7;
    let shift = (op >> 28) & 8 != 0;
    let cmp = (op >> 24) & 0xf;
    let mut oparg = (op >> 12) & 0xfff;
    let cmparg = op & 0xfff;
    if shift {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let old = read_u32(cx, addr2)?;
    let new = match opcode {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        4 => old ^ oparg,
        _ => return Err(Errno::ENOSYS),
    };
    put(cx, addr2, &new.to_le_bytes())?;
    let mut woken = cx.p.threads.wake(addr1, n1, u32::MAX);
    let (o, c) = (old as i32, cmparg as i32);
    let hit = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => return Err(Errno::ENOSYS),
    };
    if hit {
        woken += cx.p.threads.wake(addr2, n2, u32::MAX);
    }
    Ok(u64::from(woken))
}

/// sched_yield(2).
pub fn sys_sched_yield(cx: &mut Ctx, _a: &Args) -> SysResult {
    cx.p.threads.yield_now = true;
    Ok(0)
}
