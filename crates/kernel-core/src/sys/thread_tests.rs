//! Host tests of threads (clone, futex, exit, robust lists) and signals (dispositions, delivery frames,
//! rt_sigreturn, waiting, timers) through the real `dispatch` on the fakes. Several threads are
//! simulated by swapping the per-thread view, as the kernel's scheduler does.

use linux_raw_sys::general::*;

use super::signal::{self, Fpu, Outcome, SigInfo, UserRegs};
use crate::errno::Errno;
use crate::process::ThreadState;
use crate::testing::{neg, Harness, SCRATCH};

const RESTART: i64 = -512;
const FLAGS_THREAD: u64 = 0x3d0f00; // what glibc's pthread_create passes

fn h() -> Harness {
    Harness::new()
}

/// Clone a thread; returns its state (to swap in) after checking the spawn request.
fn spawn(t: &mut Harness, stack: u64, tls: u64) -> ThreadState {
    let ptid = SCRATCH + 0x100;
    let ctid = SCRATCH + 0x108;
    let tid = t.call(__NR_clone, &[FLAGS_THREAD, stack, ptid, ctid, tls]);
    assert!(tid >= 2, "clone returned {tid}");
    assert_eq!(t.peek_u32(ptid), tid as u32, "CLONE_PARENT_SETTID");
    let req = t.p.threads.spawn.take().expect("a spawn request");
    assert_eq!(req.stack, stack);
    assert_eq!(req.state.tid, tid as u32);
    assert_eq!(req.state.fs_base, tls, "CLONE_SETTLS");
    assert_eq!(req.state.clear_child_tid, ctid, "CLONE_CHILD_CLEARTID");
    req.state
}

#[test]
fn clone_rules() {
    let mut t = h();
    // A new process (fork) is not supported yet: ENOSYS, said once in the log.
    assert_eq!(t.call(__NR_clone, &[17, 0, 0, 0, 0]), neg(Errno::ENOSYS));
    assert!(t.plat.logs.iter().any(|l| l.contains("fork")));
    // CLONE_THREAD needs CLONE_SIGHAND, which needs CLONE_VM.
    assert_eq!(
        t.call(__NR_clone, &[0x10000 | 0x100, 0, 0, 0, 0]),
        neg(Errno::EINVAL)
    );
    assert_eq!(t.call(__NR_clone, &[0x800, 0, 0, 0, 0]), neg(Errno::EINVAL));
    let a = spawn(&mut t, 0x7000_0000, 0x1234_0000);
    let b = spawn(&mut t, 0x7100_0000, 0x2234_0000);
    assert_eq!(b.tid, a.tid + 1);
    assert_eq!(t.p.threads.live, 3);
    // clone3 with a stack base and size starts at the top.
    let mut args = [0u8; 88];
    args[..8].copy_from_slice(&FLAGS_THREAD.to_le_bytes());
    args[40..48].copy_from_slice(&0x5000_0000u64.to_le_bytes());
    args[48..56].copy_from_slice(&0x10000u64.to_le_bytes());
    args[24..32].copy_from_slice(&(SCRATCH + 0x100).to_le_bytes()); // parent_tid
    t.poke(SCRATCH + 0x200, &args);
    assert!(t.call(__NR_clone3, &[SCRATCH + 0x200, 88]) > 0);
    assert_eq!(t.p.threads.spawn.take().map(|r| r.stack), Some(0x5001_0000));
    assert_eq!(
        t.call(__NR_clone3, &[SCRATCH + 0x200, 8]),
        neg(Errno::EINVAL)
    );
}

#[test]
fn futex_wait_and_wake_between_threads() {
    let mut t = h();
    let word = SCRATCH + 0x40;
    t.poke(word, &7u32.to_le_bytes());
    assert_eq!(
        t.call(__NR_futex, &[word, 128, 6, 0]),
        neg(Errno::EAGAIN),
        "value differs"
    );
    let mut other = spawn(&mut t, 0, 0);
    // The main thread waits: the call asks to be run again later, with no deadline.
    assert_eq!(t.call(__NR_futex, &[word, 128, 7, 0]), RESTART);
    assert_eq!(t.p.wait.map(|w| w.deadline), Some(None));
    let events = t.p.threads.events;
    // Switch to the other thread and wake the word.
    t.p.swap_thread(&mut other);
    assert_eq!(
        t.call(__NR_futex, &[word, 129, 1, 0]),
        1,
        "one waiter woken"
    );
    assert_eq!(t.call(__NR_futex, &[word, 129, 1, 0]), 0, "nobody left");
    assert!(t.p.threads.events > events, "a wake is an event");
    t.p.swap_thread(&mut other);
    // The waiter runs its futex call again and returns 0.
    assert_eq!(t.call(__NR_futex, &[word, 128, 7, 0]), 0);
    assert_eq!(t.p.wait, None);
}

#[test]
fn futex_timeouts_and_lone_waiter() {
    let mut t = h();
    let word = SCRATCH + 0x40;
    let ts = SCRATCH + 0x80;
    t.poke(
        ts,
        &[0u64.to_le_bytes(), 5_000_000u64.to_le_bytes()].concat(),
    );
    let start = t.plat.mono_ns;
    assert_eq!(t.call(__NR_futex, &[word, 0, 0, ts]), neg(Errno::ETIMEDOUT));
    assert_eq!(t.plat.mono_ns, start + 5_000_000, "relative timeout");
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time.
    let abs = t.plat.mono_ns + 1_000_000;
    t.poke(
        ts,
        &[
            (abs / 1_000_000_000).to_le_bytes(),
            (abs % 1_000_000_000).to_le_bytes(),
        ]
        .concat(),
    );
    assert_eq!(
        t.call(__NR_futex, &[word, 9, 0, ts, 0, u64::from(u32::MAX)]),
        neg(Errno::ETIMEDOUT)
    );
    assert_eq!(t.plat.mono_ns, abs);
    assert_eq!(
        t.call(__NR_futex, &[word, 9, 0, ts, 0, 0]),
        neg(Errno::EINVAL),
        "empty bitset"
    );
    assert_eq!(
        t.call(__NR_futex, &[word + 1, 0, 0, ts]),
        neg(Errno::EINVAL),
        "misaligned"
    );
    // The only thread waiting forever would hang: a clear fatal error instead.
    assert_eq!(t.call(__NR_futex, &[word, 0, 0, 0]), neg(Errno::EDEADLK));
    assert!(t
        .p
        .fatal
        .as_ref()
        .is_some_and(|(s, m)| *s == 125 && m.contains("deadlock")));
}

#[test]
fn futex_requeue_and_wake_op() {
    let mut t = h();
    let (a, b) = (SCRATCH + 0x40, SCRATCH + 0x48);
    let mut threads: Vec<ThreadState> = (0..3).map(|_| spawn(&mut t, 0, 0)).collect();
    // Three threads wait on `a`.
    for th in threads.iter_mut() {
        t.p.swap_thread(th);
        assert_eq!(t.call(__NR_futex, &[a, 128, 0, 0]), RESTART);
        t.p.swap_thread(th);
    }
    assert_eq!(
        t.call(__NR_futex, &[a, 4, 1, 1, b, 99]),
        neg(Errno::EAGAIN),
        "CMP_REQUEUE value check"
    );
    // Wake one, move one to `b`.
    assert_eq!(t.call(__NR_futex, &[a, 4, 1, 1, b, 0]), 2);
    assert_eq!(
        t.call(__NR_futex, &[b, 1, 10, 0]),
        1,
        "the moved waiter is on b"
    );
    assert_eq!(t.call(__NR_futex, &[a, 1, 10, 0]), 1, "one left on a");
    // WAKE_OP: *b = *b + 5 (op ADD), wake on a, then wake on b if old > 2.
    t.poke(b, &3u32.to_le_bytes());
    let op = (1u64 << 28) | (4 << 24) | (5 << 12) | 2;
    assert_eq!(t.call(__NR_futex, &[a, 5, 1, 1, b, op]), 0);
    assert_eq!(t.peek_u32(b), 8);
}

#[test]
fn thread_exit_clears_tid_and_releases_robust_futexes() {
    let mut t = h();
    let mut other = spawn(&mut t, 0, 0);
    let ctid = SCRATCH + 0x108;
    t.poke(ctid, &other.tid.to_le_bytes());
    // The main thread waits on the child's tid word (pthread_join).
    assert_eq!(
        t.call(__NR_futex, &[ctid, 0, u64::from(other.tid), 0]),
        RESTART
    );
    t.p.swap_thread(&mut other);
    // The child holds a robust mutex: the list head points at one entry whose futex word holds its tid.
    let head = SCRATCH + 0x300;
    let entry = SCRATCH + 0x400;
    let word = entry + 0x20;
    t.poke(
        head,
        &[
            entry.to_le_bytes(),
            0x20u64.to_le_bytes(),
            0u64.to_le_bytes(),
        ]
        .concat(),
    );
    t.poke(entry, &head.to_le_bytes());
    t.poke(word, &(t.p.tid | 0x8000_0000).to_le_bytes());
    assert_eq!(t.call(__NR_set_robust_list, &[head, 24]), 0);
    assert_eq!(t.call(__NR_exit, &[3]), 0);
    assert_eq!(
        t.p.threads.exit_thread,
        Some(3),
        "one thread ends, not the process"
    );
    assert_eq!(t.p.exit_code, None);
    {
        let mut cx = crate::sys::Ctx {
            p: &mut t.p,
            plat: &mut t.plat,
        };
        super::thread::thread_exit_cleanup(&mut cx);
    }
    assert_eq!(
        t.peek_u32(word),
        0x8000_0000 | 0x4000_0000,
        "FUTEX_OWNER_DIED, waiters bit kept"
    );
    assert_eq!(t.peek_u32(ctid), 0, "clear_child_tid zeroed");
    assert_eq!(t.p.threads.live, 1);
    t.p.swap_thread(&mut other);
    assert_eq!(
        t.call(__NR_futex, &[ctid, 0, u64::from(other.tid), 0]),
        0,
        "join woken"
    );
    // With one thread left, exit ends the process.
    assert_eq!(t.call(__NR_exit, &[4]), 0);
    assert_eq!(t.p.exit_code, Some(4));
}

#[test]
fn tgkill_checks_the_thread() {
    let mut t = h();
    let other = spawn(&mut t, 0, 0);
    assert_eq!(
        t.call(__NR_tgkill, &[1, u64::from(other.tid), 0]),
        0,
        "signal 0 probes"
    );
    assert_eq!(t.call(__NR_tgkill, &[1, 99, 10]), neg(Errno::ESRCH));
    assert_eq!(t.call(__NR_tgkill, &[2, 1, 10]), neg(Errno::ESRCH));
    assert_eq!(t.call(__NR_tgkill, &[1, 1, 65]), neg(Errno::EINVAL));
    assert_eq!(t.call(__NR_tgkill, &[1, u64::from(other.tid), 10]), 0);
    assert_eq!(t.p.signals.thread_pending.get(&other.tid), Some(&(1 << 9)));
    assert_eq!(t.p.signals.process_pending, 0);
}

const HANDLER: u64 = 0x40_1000;
const RESTORER: u64 = 0x40_2000;

fn set_action(t: &mut Harness, sig: u64, handler: u64, flags: u64, mask: u64) {
    let act = [handler, flags | 0x0400_0000, RESTORER, mask];
    let bytes: Vec<u8> = act.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.poke(SCRATCH + 0x500, &bytes);
    assert_eq!(t.call(__NR_rt_sigaction, &[sig, SCRATCH + 0x500, 0, 8]), 0);
}

fn regs_at(rsp: u64) -> UserRegs {
    UserRegs {
        rax: 11,
        rbx: 22,
        rcx: 33,
        rdx: 44,
        rsi: 55,
        rdi: 66,
        rbp: 77,
        r8: 8,
        r15: 15,
        rsp,
        rip: 0x40_0abc,
        rflags: 0x246,
        ..UserRegs::default()
    }
}

fn deliver(t: &mut Harness, regs: &mut UserRegs, area: &mut [u8]) -> Outcome {
    let mut cx = crate::sys::Ctx {
        p: &mut t.p,
        plat: &mut t.plat,
    };
    signal::deliver(&mut cx, regs, &mut Fpu { area, xcr0: 0x7 })
}

#[test]
fn handler_frame_and_sigreturn_round_trip() {
    let mut t = h();
    set_action(&mut t, 10, HANDLER, 4, 1 << 11); // SA_SIGINFO, block SIGUSR2 in the handler
    assert_eq!(t.call(__NR_kill, &[1, 10]), 0);
    let stack = SCRATCH + 0x8000;
    let before = regs_at(stack);
    let mut regs = before;
    let mut area = vec![0u8; 832];
    area[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    area[200] = 0xab; // some xmm byte
    assert_eq!(deliver(&mut t, &mut regs, &mut area), Outcome::Handler);
    assert_eq!((regs.rip, regs.rdi), (HANDLER, 10));
    assert_eq!(
        regs.rsp % 16,
        8,
        "the handler starts as if called: rsp + 8 is 16-byte aligned"
    );
    assert!(regs.rsp < stack - 128, "the red zone is kept");
    assert_eq!(t.peek_u64(regs.rsp), RESTORER, "pretcode");
    assert_eq!(regs.rdx, regs.rsp + 8, "ucontext follows pretcode");
    let info = t.peek(regs.rsi, 16);
    assert_eq!(i32::from_le_bytes(info[0..4].try_into().unwrap()), 10);
    assert_eq!(
        i32::from_le_bytes(info[8..12].try_into().unwrap()),
        0,
        "SI_USER from kill"
    );
    // uc_mcontext holds the interrupted registers: rip at offset 40 + 16*8.
    assert_eq!(t.peek_u64(regs.rdx + 40 + 16 * 8), before.rip);
    assert_eq!(t.peek_u64(regs.rdx + 40 + 15 * 8), stack);
    let fpstate = t.peek_u64(regs.rdx + 40 + 23 * 8);
    assert_eq!(fpstate % 64, 0);
    assert_eq!(t.peek(fpstate + 200, 1), [0xab]);
    assert_eq!(t.peek_u32(fpstate + 464), 0x4650_5853, "FP_XSTATE_MAGIC1");
    // During the handler SIGUSR1 and SIGUSR2 are blocked.
    assert_eq!(t.p.sigmask, (1 << 9) | (1 << 11));
    // The handler changes some state, then returns through the restorer: rt_sigreturn.
    area.fill(0);
    t.poke(fpstate + 24, &0xffff_ffffu32.to_le_bytes()); // reserved MXCSR bits must not reach xrstor
    regs.rsp += 8; // `ret` popped pretcode
    regs.rax = 999;
    assert_eq!(t.call(__NR_rt_sigreturn, &[]), 0);
    assert!(t.p.signals.sigreturn);
    let mut cx = crate::sys::Ctx {
        p: &mut t.p,
        plat: &mut t.plat,
    };
    assert_eq!(
        signal::sigreturn(
            &mut cx,
            &mut regs,
            &mut Fpu {
                area: &mut area,
                xcr0: 0x7
            }
        ),
        Outcome::Handler
    );
    assert_eq!(
        regs,
        UserRegs {
            rflags: 0x246,
            ..before
        }
    );
    assert_eq!(area[200], 0xab);
    assert_eq!(
        u32::from_le_bytes(area[24..28].try_into().unwrap()),
        0xffff,
        "MXCSR sanitized"
    );
    assert_eq!(t.p.sigmask, 0, "mask restored");
}

#[test]
fn default_actions_blocking_and_waiting() {
    let mut t = h();
    let mut area = vec![0u8; 512];
    let mut regs = regs_at(SCRATCH + 0x8000);
    // SIGCHLD is ignored by default; SIGTERM terminates.
    assert_eq!(t.call(__NR_kill, &[1, 17]), 0);
    assert_eq!(deliver(&mut t, &mut regs, &mut area), Outcome::None);
    // A blocked signal stays pending, shows in sigpending, and sigtimedwait takes it.
    t.poke(SCRATCH, &(1u64 << 14).to_le_bytes());
    assert_eq!(t.call(__NR_rt_sigprocmask, &[0, SCRATCH, 0, 8]), 0);
    assert_eq!(t.call(__NR_kill, &[1, 15]), 0);
    assert_eq!(deliver(&mut t, &mut regs, &mut area), Outcome::None);
    assert_eq!(t.call(__NR_rt_sigpending, &[SCRATCH + 8, 8]), 0);
    assert_eq!(t.peek_u64(SCRATCH + 8), 1 << 14);
    assert_eq!(
        t.call(__NR_rt_sigtimedwait, &[SCRATCH, SCRATCH + 0x40, 0, 8]),
        15
    );
    assert_eq!(t.peek_u32(SCRATCH + 0x40), 15);
    // Nothing pending: a zero timeout gives EAGAIN.
    t.poke(SCRATCH + 0x80, &[0u8; 16]);
    assert_eq!(
        t.call(__NR_rt_sigtimedwait, &[SCRATCH, 0, SCRATCH + 0x80, 8]),
        neg(Errno::EAGAIN)
    );
    // Unblocked, SIGTERM with the default action ends the process.
    assert_eq!(t.call(__NR_rt_sigprocmask, &[1, SCRATCH, 0, 8]), 0);
    assert_eq!(t.call(__NR_kill, &[1, 15]), 0);
    assert_eq!(
        deliver(&mut t, &mut regs, &mut area),
        Outcome::Terminate(15)
    );
    // SIGKILL cannot be caught.
    assert_eq!(
        t.call(__NR_rt_sigaction, &[9, SCRATCH, 0, 8]),
        neg(Errno::EINVAL)
    );
}

#[test]
fn faults_resethand_and_altstack() {
    let mut t = h();
    let mut area = vec![0u8; 512];
    let info = SigInfo {
        signo: 11,
        code: 1,
        addr: 0x10,
        ..SigInfo::default()
    };
    let mut regs = regs_at(SCRATCH + 0x8000);
    {
        let mut cx = crate::sys::Ctx {
            p: &mut t.p,
            plat: &mut t.plat,
        };
        assert_eq!(
            signal::fault(
                &mut cx,
                info,
                &mut regs,
                &mut Fpu {
                    area: &mut area,
                    xcr0: 0
                }
            ),
            Outcome::Terminate(11)
        );
    }
    // An alternate stack with SS_AUTODISARM, a SIGSEGV handler that runs on it once (SA_RESETHAND).
    let alt = SCRATCH + 0x2000;
    t.poke(
        SCRATCH + 0x600,
        &[
            alt.to_le_bytes(),
            (2u64 << 32).to_le_bytes(),
            0x4000u64.to_le_bytes(),
        ]
        .concat(),
    );
    // ss_flags is an int at offset 8: SS_AUTODISARM = 1 << 31.
    t.poke(SCRATCH + 0x608, &(1u32 << 31).to_le_bytes());
    assert_eq!(t.call(__NR_sigaltstack, &[SCRATCH + 0x600, 0]), 0);
    set_action(&mut t, 11, HANDLER, 0x0800_0000 | 0x8000_0000 | 4, 0);
    let mut cx = crate::sys::Ctx {
        p: &mut t.p,
        plat: &mut t.plat,
    };
    assert_eq!(
        signal::fault(
            &mut cx,
            info,
            &mut regs,
            &mut Fpu {
                area: &mut area,
                xcr0: 0
            }
        ),
        Outcome::Handler
    );
    assert!(
        regs.rsp > alt && regs.rsp < alt + 0x4000,
        "on the alternate stack"
    );
    let si = regs.rsi;
    assert_eq!(t.peek_u64(si + 16), 0x10, "si_addr");
    assert_eq!(t.p.sigactions[10].handler, 0, "SA_RESETHAND");
    assert_eq!(t.p.altstack.1, SS_DISABLE, "SS_AUTODISARM");
}

#[test]
fn interrupted_waits() {
    let mut t = h();
    set_action(&mut t, 10, HANDLER, 0x1000_0000, 0); // SA_RESTART
    set_action(&mut t, 12, HANDLER, 0, 0);
    assert_eq!(t.call(__NR_kill, &[1, 10]), 0);
    {
        let cx = crate::sys::Ctx {
            p: &mut t.p,
            plat: &mut t.plat,
        };
        assert_eq!(
            signal::interrupted_result(&cx, u64::from(__NR_read)),
            None,
            "read restarts"
        );
        assert_eq!(
            signal::interrupted_result(&cx, u64::from(__NR_nanosleep)),
            Some(Errno::EINTR.to_ret())
        );
    }
    let mut area = vec![0u8; 512];
    let mut regs = regs_at(SCRATCH + 0x8000);
    assert_eq!(deliver(&mut t, &mut regs, &mut area), Outcome::Handler);
    assert_eq!(t.call(__NR_kill, &[1, 12]), 0);
    let cx = crate::sys::Ctx {
        p: &mut t.p,
        plat: &mut t.plat,
    };
    assert_eq!(
        signal::interrupted_result(&cx, u64::from(__NR_read)),
        Some(Errno::EINTR.to_ret()),
        "no SA_RESTART"
    );
}

#[test]
fn timers_raise_signals() {
    let mut t = h();
    // setitimer(ITIMER_REAL, 20 ms every 10 ms).
    let it = [0u64, 10_000, 0, 20_000];
    let bytes: Vec<u8> = it.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.poke(SCRATCH, &bytes);
    assert_eq!(t.call(__NR_setitimer, &[0, SCRATCH, 0]), 0);
    let start = t.plat.mono_ns;
    assert_eq!(t.p.signals.next_timer(), Some(start + 20_000_000));
    let fire = |t: &mut Harness, at: u64| {
        t.plat.mono_ns = at;
        let mut cx = crate::sys::Ctx {
            p: &mut t.p,
            plat: &mut t.plat,
        };
        signal::fire_timers(&mut cx, at);
    };
    fire(&mut t, start + 19_000_000);
    assert_eq!(t.p.signals.process_pending, 0);
    fire(&mut t, start + 20_000_000);
    assert_eq!(t.p.signals.process_pending, 1 << 13, "SIGALRM");
    assert_eq!(
        t.p.signals.next_timer(),
        Some(start + 30_000_000),
        "periodic"
    );
    // alarm returns the seconds left of the previous alarm (rounded up) and replaces it.
    assert_eq!(t.call(__NR_alarm, &[5]), 1);
    assert_eq!(t.call(__NR_alarm, &[0]), 5);
    // A POSIX timer with SIGEV_SIGNAL SIGUSR1 and a value.
    let mut ev = [0u8; 64];
    ev[..8].copy_from_slice(&77u64.to_le_bytes());
    ev[8..12].copy_from_slice(&10i32.to_le_bytes());
    t.poke(SCRATCH + 0x100, &ev);
    assert_eq!(
        t.call(
            __NR_timer_create,
            &[u64::from(CLOCK_MONOTONIC), SCRATCH + 0x100, SCRATCH + 0x180]
        ),
        0
    );
    let id = u64::from(t.peek_u32(SCRATCH + 0x180));
    let spec = [0u64, 0, 0, 1_000_000];
    let bytes: Vec<u8> = spec.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.poke(SCRATCH + 0x200, &bytes);
    assert_eq!(t.call(__NR_timer_settime, &[id, 0, SCRATCH + 0x200, 0]), 0);
    let now = t.plat.mono_ns;
    fire(&mut t, now + 1_000_000);
    assert_ne!(t.p.signals.process_pending & (1 << 9), 0);
    assert_eq!(t.call(__NR_timer_delete, &[id]), 0);
    assert_eq!(t.call(__NR_timer_delete, &[id]), neg(Errno::EINVAL));
}
