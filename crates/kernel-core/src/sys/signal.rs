//! Signals: dispositions, masks, sending (kill/tkill/tgkill/rt_sigqueueinfo), waiting (rt_sigsuspend,
//! rt_sigtimedwait, rt_sigpending), delivery with Linux's x86_64 signal frame and rt_sigreturn, the
//! alternate stack, and the timers that raise signals (alarm, setitimer, timer_create).
//!
//! The kernel calls [`deliver`] before every return to ring 3, [`fault`] for a synchronous exception,
//! and [`sigreturn`] when `Signals::sigreturn` is set. Frame layout: `struct rt_sigframe` in Linux's
//! arch/x86/include/asm/sigframe.h (pretcode, ucontext, siginfo), the FPU state above it.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::{get, get_u64, le64, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::process::{SigAction, Wait};
use crate::uaccess::UserMemory;
use linux_raw_sys::general as g;

pub const SIGHUP: u8 = 1;
pub const SIGINT: u8 = 2;
pub const SIGQUIT: u8 = 3;
pub const SIGILL: u8 = 4;
pub const SIGTRAP: u8 = 5;
pub const SIGABRT: u8 = 6;
pub const SIGBUS: u8 = 7;
pub const SIGFPE: u8 = 8;
pub const SIGKILL: u8 = 9;
pub const SIGSEGV: u8 = 11;
pub const SIGPIPE: u8 = 13;
pub const SIGALRM: u8 = 14;
pub const SIGTERM: u8 = 15;
pub const SIGCHLD: u8 = 17;
pub const SIGCONT: u8 = 18;
pub const SIGSTOP: u8 = 19;
pub const SIGTSTP: u8 = 20;
pub const SIGTTIN: u8 = 21;
pub const SIGTTOU: u8 = 22;
pub const SIGURG: u8 = 23;
pub const SIGXCPU: u8 = 24;
pub const SIGXFSZ: u8 = 25;
pub const SIGVTALRM: u8 = 26;
pub const SIGPROF: u8 = 27;
pub const SIGWINCH: u8 = 28;
pub const SIGSYS: u8 = 31;

const SA_SIGINFO: u64 = 4;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTART: u64 = 0x1000_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;
const SA_RESTORER: u64 = 0x0400_0000;

/// si_code values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
pub const SI_TIMER: i32 = -2;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;

fn bit(sig: u8) -> u64 {
    1u64 << (sig - 1)
}

/// Most queued instances of one real-time signal (Linux's limit is RLIMIT_SIGPENDING, per user).
const RT_QUEUE_MAX: usize = 4096;

/// SIGKILL and SIGSTOP can be neither blocked nor caught.
const UNBLOCKABLE: u64 = (1 << 8) | (1 << 18);

/// What a signal does by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default {
    Terminate,
    /// Terminate "with a core dump" (the status is the same: 128 + N).
    Core,
    Ignore,
    /// Stop the process: nutshell has no job control, so it is ignored (and logged).
    Stop,
}

/// The default action of `sig` (signal(7)).
pub fn default_action(sig: u8) -> Default {
    match sig {
        SIGCHLD | SIGCONT | SIGURG | SIGWINCH => Default::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => Default::Core,
        _ => Default::Terminate,
    }
}

/// The information delivered with a signal (the fields of siginfo_t nutshell fills).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: u8,
    pub code: i32,
    pub errno: i32,
    /// si_pid / si_uid for signals sent by a process; si_addr (8 bytes) for faults; timer id/overrun.
    pub pid: u32,
    pub uid: u32,
    pub addr: u64,
    /// si_value (sigqueue, timers).
    pub value: u64,
}

impl SigInfo {
    /// The 128-byte siginfo_t.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&i32::from(self.signo).to_le_bytes());
        b[4..8].copy_from_slice(&self.errno.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        match self.signo {
            SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP if self.code > 0 => {
                b[16..24].copy_from_slice(&self.addr.to_le_bytes());
            }
            _ if self.code == SI_TIMER => {
                b[16..20].copy_from_slice(&self.pid.to_le_bytes()); // si_tid (timer id)
                b[20..24].copy_from_slice(&self.uid.to_le_bytes()); // si_overrun
                b[24..32].copy_from_slice(&self.value.to_le_bytes());
            }
            _ => {
                b[16..20].copy_from_slice(&self.pid.to_le_bytes());
                b[20..24].copy_from_slice(&self.uid.to_le_bytes());
                b[24..32].copy_from_slice(&self.value.to_le_bytes());
            }
        }
        b
    }
}

/// An interval timer: next expiry (monotonic ns) and period (0 = one shot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timer {
    pub next: Option<u64>,
    pub interval: u64,
    /// POSIX timers: signal to raise, sigev_value, thread to notify (SIGEV_THREAD_ID) or 0, overruns.
    pub signo: u8,
    pub value: u64,
    pub tid: u32,
    pub overrun: u32,
    /// SIGEV_NONE: never notify.
    pub silent: bool,
    /// Clock the POSIX timer measures (CLOCK_REALTIME timers' absolute times are converted).
    pub clock: u32,
}

/// Signal state of the process (pending sets are here, keyed by thread, so that any thread can send).
#[derive(Debug, Default)]
pub struct Signals {
    /// Signals sent to the process, and their info.
    pub process_pending: u64,
    /// Signals sent to one thread.
    pub thread_pending: BTreeMap<u32, u64>,
    /// Information of pending signals: one for a standard signal, a queue for a real-time one (32..64).
    info: BTreeMap<(u32, u8), alloc::collections::VecDeque<SigInfo>>,
    /// The mask to restore after a signal interrupted rt_sigsuspend (per thread).
    saved_mask: BTreeMap<u32, u64>,
    /// rt_sigreturn was called: the kernel restores the frame.
    pub sigreturn: bool,
    /// ITIMER_REAL (alarm/setitimer), ITIMER_VIRTUAL and ITIMER_PROF counted in wall time.
    pub itimer: [Timer; 3],
    /// POSIX timers by id.
    pub timers: BTreeMap<u32, Timer>,
    next_timer_id: u32,
}

impl Signals {
    fn pending_for(&self, tid: u32) -> u64 {
        self.process_pending | self.thread_pending.get(&tid).copied().unwrap_or(0)
    }

    /// Queue `sig` for the process (tid 0) or one thread. A standard signal already pending is not
    /// queued twice; real-time signals queue every instance with its info (as Linux, up to a limit).
    pub fn send(&mut self, tid: u32, info: SigInfo) {
        let b = bit(info.signo);
        let pending = if tid == 0 {
            &mut self.process_pending
        } else {
            self.thread_pending.entry(tid).or_insert(0)
        };
        let already = *pending & b != 0;
        *pending |= b;
        let q = self.info.entry((tid, info.signo)).or_default();
        if info.signo >= 32 {
            if q.len() < RT_QUEUE_MAX {
                q.push_back(info);
            }
        } else if !already {
            q.clear();
            q.push_back(info);
        }
    }

    /// Take pending `sig` for thread `tid` (thread-directed first): the oldest instance of a real-time
    /// signal; the pending bit clears when none is left.
    fn take(&mut self, tid: u32, sig: u8) -> SigInfo {
        let b = bit(sig);
        let from = if self.thread_pending.get(&tid).is_some_and(|p| p & b != 0) {
            tid
        } else {
            0
        };
        let (info, left) = match self.info.get_mut(&(from, sig)) {
            Some(q) => (q.pop_front(), !q.is_empty()),
            None => (None, false),
        };
        if !left {
            self.info.remove(&(from, sig));
            if from == 0 {
                self.process_pending &= !b;
            } else if let Some(p) = self.thread_pending.get_mut(&tid) {
                *p &= !b;
            }
        }
        info.unwrap_or(SigInfo {
            signo: sig,
            code: SI_USER,
            ..SigInfo::default()
        })
    }

    /// Forget a thread that ended.
    pub fn forget_thread(&mut self, tid: u32) {
        self.thread_pending.remove(&tid);
        self.saved_mask.remove(&tid);
        self.info.retain(|(t, _), _| *t != tid);
    }

    /// The earliest timer expiry.
    pub fn next_timer(&self) -> Option<u64> {
        self.itimer
            .iter()
            .chain(self.timers.values())
            .filter_map(|t| t.next)
            .min()
    }
}

/// Whether the running thread has a signal it must act on now (pending and not blocked, not ignored).
pub fn has_deliverable(cx: &Ctx) -> bool {
    deliverable(cx).is_some()
}

fn ignored(cx: &Ctx, sig: u8) -> bool {
    let act = cx.p.sigactions[usize::from(sig - 1)];
    act.handler == 1
        || act.handler == 0 && matches!(default_action(sig), Default::Ignore | Default::Stop)
}

fn deliverable(cx: &Ctx) -> Option<u8> {
    let pending = cx.p.signals.pending_for(cx.p.tid) & !(cx.p.sigmask & !UNBLOCKABLE);
    (1..=64u8).find(|s| pending & bit(*s) != 0)
}

/// The program's registers, as the kernel saved them on entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserRegs {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub rflags: u64,
    /// Trap number, error code and fault address of the exception being reported (0 otherwise).
    pub trapno: u64,
    pub err: u64,
    pub cr2: u64,
}

/// What the kernel must do after [`deliver`] or [`fault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to deliver.
    None,
    /// A handler frame was built: return to ring 3 with the new registers (all restored exactly: iret).
    Handler,
    /// The process ends because of `sig` (status 128 + sig).
    Terminate(u8),
}

/// The FPU state the kernel saved for the thread, and how to validate one coming back from the program.
pub struct Fpu<'a> {
    /// The XSAVE (or FXSAVE) image, 64-byte aligned in the kernel.
    pub area: &'a mut [u8],
    /// XCR0: the state components enabled (0 with FXSAVE only).
    pub xcr0: u64,
}

const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
const UC_FP_XSTATE: u64 = 1;
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;
/// sizeof(struct ucontext) on x86_64 as the kernel lays it out: flags, link, stack, mcontext, sigmask.
const UCONTEXT_SIZE: u64 = 8 + 8 + 24 + 256 + 8;

/// Deliver the next deliverable signal of the running thread, if any.
pub fn deliver(cx: &mut Ctx, regs: &mut UserRegs, fpu: &mut Fpu) -> Outcome {
    loop {
        let Some(sig) = deliverable(cx) else {
            return Outcome::None;
        };
        let info = cx.p.signals.take(cx.p.tid, sig);
        match handle(cx, sig, info, regs, fpu) {
            Outcome::None => continue,
            o => return o,
        }
    }
}

/// A synchronous fault (SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP) of the running thread: delivered to
/// its handler at once, or the process ends (also when the signal is blocked or ignored, as Linux does).
pub fn fault(cx: &mut Ctx, info: SigInfo, regs: &mut UserRegs, fpu: &mut Fpu) -> Outcome {
    let sig = info.signo;
    let act = cx.p.sigactions[usize::from(sig - 1)];
    if cx.p.sigmask & bit(sig) != 0 || act.handler <= 1 {
        return Outcome::Terminate(sig);
    }
    handle(cx, sig, info, regs, fpu)
}

fn handle(cx: &mut Ctx, sig: u8, info: SigInfo, regs: &mut UserRegs, fpu: &mut Fpu) -> Outcome {
    let act = cx.p.sigactions[usize::from(sig - 1)];
    if sig == SIGKILL {
        return Outcome::Terminate(sig);
    }
    match act.handler {
        0 => match default_action(sig) {
            Default::Ignore => Outcome::None,
            Default::Stop => {
                cx.plat.log(&alloc::format!(
                    "nutshell: signal {sig} would stop the process: ignored (no job control)"
                ));
                Outcome::None
            }
            Default::Terminate | Default::Core => Outcome::Terminate(sig),
        },
        1 => Outcome::None,
        _ => match build_frame(cx, sig, info, act, regs, fpu) {
            Ok(()) => Outcome::Handler,
            // A frame that cannot be written (bad stack) kills with SIGSEGV, as Linux's force_sigsegv.
            Err(_) => Outcome::Terminate(SIGSEGV),
        },
    }
}

fn on_altstack(cx: &Ctx, sp: u64) -> bool {
    let (base, flags, size) = cx.p.altstack;
    flags & g::SS_DISABLE == 0 && size > 0 && sp > base && sp <= base + size
}

fn build_frame(
    cx: &mut Ctx,
    sig: u8,
    info: SigInfo,
    act: SigAction,
    regs: &mut UserRegs,
    fpu: &mut Fpu,
) -> Result<(), Errno> {
    if act.flags & SA_RESTORER == 0 || act.restorer == 0 {
        // x86_64 has no kernel-provided return trampoline: without SA_RESTORER the handler cannot return.
        return Err(Errno::EFAULT);
    }
    let (alt_base, alt_flags, alt_size) = cx.p.altstack;
    let mut sp = regs.rsp;
    let use_alt = act.flags & SA_ONSTACK != 0
        && alt_flags & g::SS_DISABLE == 0
        && alt_size > 0
        && !on_altstack(cx, sp);
    if use_alt {
        sp = alt_base + alt_size;
    } else {
        sp = sp.wrapping_sub(128); // the red zone
    }
    // FPU state (64-byte aligned), with the xstate magic words, then the frame.
    let fpu_len = fpu.area.len() as u64;
    let fp_at = (sp.wrapping_sub(fpu_len + 4)) & !63;
    let frame_size = 8 + UCONTEXT_SIZE + 128;
    let frame_at = ((fp_at.wrapping_sub(frame_size)) & !15).wrapping_sub(8);
    let mut image = fpu.area.to_vec();
    if fpu.xcr0 != 0 && image.len() >= 512 {
        image[464..468].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
        image[468..472].copy_from_slice(&((fpu_len + 4) as u32).to_le_bytes());
        image[472..480].copy_from_slice(&fpu.xcr0.to_le_bytes());
        image[480..484].copy_from_slice(&(fpu_len as u32).to_le_bytes());
        image.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    }
    cx.p.mm.write(fp_at, &image)?;
    let old_mask =
        cx.p.signals
            .saved_mask
            .remove(&cx.p.tid)
            .unwrap_or(cx.p.sigmask);
    let mut f = Vec::with_capacity(frame_size as usize);
    f.extend_from_slice(&act.restorer.to_le_bytes()); // pretcode
    let uc_flags =
        UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | if fpu.xcr0 != 0 { UC_FP_XSTATE } else { 0 };
    f.extend_from_slice(&le64(&[uc_flags, 0, alt_base]));
    f.extend_from_slice(
        &(if on_altstack(cx, regs.rsp) {
            g::SS_ONSTACK
        } else {
            alt_flags
        })
        .to_le_bytes(),
    );
    f.extend_from_slice(&[0u8; 4]);
    f.extend_from_slice(&alt_size.to_le_bytes());
    // struct sigcontext
    f.extend_from_slice(&le64(&[
        regs.r8,
        regs.r9,
        regs.r10,
        regs.r11,
        regs.r12,
        regs.r13,
        regs.r14,
        regs.r15,
        regs.rdi,
        regs.rsi,
        regs.rbp,
        regs.rbx,
        regs.rdx,
        regs.rax,
        regs.rcx,
        regs.rsp,
        regs.rip,
        regs.rflags,
    ]));
    f.extend_from_slice(&0x2bu16.to_le_bytes()); // cs (nutshell's user code selector)
    f.extend_from_slice(&[0u8; 4]); // gs, fs
    f.extend_from_slice(&0x23u16.to_le_bytes()); // ss
    f.extend_from_slice(&le64(&[regs.err, regs.trapno, old_mask, regs.cr2, fp_at]));
    f.extend_from_slice(&[0u8; 64]); // reserved1
    f.extend_from_slice(&old_mask.to_le_bytes()); // uc_sigmask
    f.extend_from_slice(&info.to_bytes());
    cx.p.mm.write(frame_at, &f)?;
    // Enter the handler.
    regs.rsp = frame_at;
    regs.rip = act.handler;
    regs.rdi = u64::from(sig);
    regs.rsi = frame_at + 8 + UCONTEXT_SIZE;
    regs.rdx = frame_at + 8;
    regs.rax = 0;
    // Clear DF and TF, as Linux does.
    regs.rflags &= !(0x400 | 0x100);
    if act.flags & SA_SIGINFO == 0 {
        regs.rsi = 0;
        regs.rdx = 0;
    }
    let mut mask = cx.p.sigmask | act.mask;
    if act.flags & SA_NODEFER == 0 {
        mask |= bit(sig);
    }
    cx.p.sigmask = mask & !UNBLOCKABLE;
    if act.flags & SA_RESETHAND != 0 {
        cx.p.sigactions[usize::from(sig - 1)] = SigAction::default();
    }
    if use_alt && alt_flags & g::SS_AUTODISARM != 0 {
        cx.p.altstack = (0, g::SS_DISABLE, 0);
    }
    Ok(())
}

/// rt_sigreturn: restore the registers, mask, alternate stack and FPU state saved in the frame at
/// `regs.rsp - 8` (the handler's `ret` popped pretcode). A bad frame ends the process with SIGSEGV.
pub fn sigreturn(cx: &mut Ctx, regs: &mut UserRegs, fpu: &mut Fpu) -> Outcome {
    match restore(cx, regs, fpu) {
        Ok(()) => Outcome::Handler,
        Err(_) => Outcome::Terminate(SIGSEGV),
    }
}

fn restore(cx: &mut Ctx, regs: &mut UserRegs, fpu: &mut Fpu) -> Result<(), Errno> {
    // The handler's `ret` popped pretcode: rsp points at the ucontext.
    let uc = regs.rsp;
    let mut b = alloc::vec![0u8; UCONTEXT_SIZE as usize];
    cx.p.mm.read_user(uc, &mut b)?;
    let q = |i: usize| {
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
    let m = 40; // uc_mcontext
    let r = |i: usize| q(m + i * 8);
    let new = UserRegs {
        r8: r(0),
        r9: r(1),
        r10: r(2),
        r11: r(3),
        r12: r(4),
        r13: r(5),
        r14: r(6),
        r15: r(7),
        rdi: r(8),
        rsi: r(9),
        rbp: r(10),
        rbx: r(11),
        rdx: r(12),
        rax: r(13),
        rcx: r(14),
        rsp: r(15),
        rip: r(16),
        // Only the flags a program may change (CF PF AF ZF SF TF DF OF AC ID... as Linux's FIX_EFLAGS).
        rflags: (regs.rflags & !0x0004_0dd5) | (r(17) & 0x0004_0dd5) | 0x202,
        ..UserRegs::default()
    };
    let fp_at = q(m + 23 * 8);
    let mask = q(m + 256);
    // FPU state: copy back, keeping what xrstor would refuse out (reserved MXCSR bits, unknown features).
    if fp_at != 0 {
        let mut img = alloc::vec![0u8; fpu.area.len()];
        cx.p.mm.read_user(fp_at, &mut img)?;
        sanitize_fpu(&mut img, fpu.xcr0);
        fpu.area.copy_from_slice(&img);
    }
    // The alternate stack setting saved in uc_stack.
    let ss_sp = q(16);
    let ss_flags = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    let ss_size = q(32);
    if ss_flags & g::SS_DISABLE != 0 {
        cx.p.altstack = (0, g::SS_DISABLE, 0);
    } else if ss_size >= u64::from(g::MINSIGSTKSZ) {
        cx.p.altstack = (ss_sp, ss_flags & g::SS_AUTODISARM, ss_size);
    }
    if new.rip >= crate::mm::USER_END {
        return Err(Errno::EFAULT);
    }
    *regs = new;
    cx.p.sigmask = mask & !UNBLOCKABLE;
    Ok(())
}

/// Make an FPU image from the program safe to load: MXCSR reserved bits cleared, only enabled XSAVE
/// components, standard (non-compacted) header with zero reserved bytes.
fn sanitize_fpu(img: &mut [u8], xcr0: u64) {
    if img.len() < 512 {
        return;
    }
    let mxcsr = u32::from_le_bytes([img[24], img[25], img[26], img[27]]) & 0xffff;
    img[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    img[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
    img[464..512].fill(0);
    if img.len() >= 576 {
        let bv = u64::from_le_bytes([
            img[512], img[513], img[514], img[515], img[516], img[517], img[518], img[519],
        ]);
        img[512..520].copy_from_slice(&(bv & xcr0).to_le_bytes());
        img[520..576].fill(0);
    }
}

/// Decide what a waiting syscall does when a signal arrives: `Some(rax)` to end it now (EINTR), or
/// `None` to let it restart after the handler (SA_RESTART and a restartable call: the caller rewinds
/// rip by 2 and puts the syscall number back in rax).
pub fn interrupted_result(cx: &Ctx, nr: u64) -> Option<u64> {
    let sig = deliverable(cx)?;
    if ignored(cx, sig) {
        return None;
    }
    let act = cx.p.sigactions[usize::from(sig - 1)];
    let restartable = [
        g::__NR_read,
        g::__NR_write,
        g::__NR_readv,
        g::__NR_writev,
        g::__NR_pread64,
        g::__NR_pwrite64,
        g::__NR_wait4,
        g::__NR_waitid,
        g::__NR_accept,
        g::__NR_accept4,
        g::__NR_connect,
        g::__NR_recvfrom,
        g::__NR_sendto,
        g::__NR_recvmsg,
        g::__NR_sendmsg,
        g::__NR_open,
        g::__NR_openat,
        g::__NR_flock,
    ]
    .iter()
    .any(|n| u64::from(*n) == nr)
        || nr == u64::from(g::__NR_futex);
    if act.flags & SA_RESTART != 0 && act.handler > 1 && restartable {
        None
    } else {
        Some(Errno::EINTR.to_ret())
    }
}

// ------------------------------------------------------------------------------------------------
// Syscalls

pub fn sys_rt_sigaction(cx: &mut Ctx, a: &Args) -> SysResult {
    let sig = a[0];
    if !(1..=64).contains(&sig) || a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = cx.p.sigactions[(sig - 1) as usize];
    if a[1] != 0 {
        if sig == u64::from(SIGKILL) || sig == u64::from(SIGSTOP) {
            return Err(Errno::EINVAL);
        }
        let b = get::<32>(cx, a[1])?;
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
        cx.p.sigactions[(sig - 1) as usize] = SigAction {
            handler: f(0),
            flags: f(8),
            restorer: f(16),
            mask: f(24) & !UNBLOCKABLE,
        };
        // Setting SIG_IGN (or SIG_DFL of an ignored-by-default signal) discards what is pending.
        if ignored(cx, sig as u8) {
            let b = bit(sig as u8);
            cx.p.signals.process_pending &= !b;
            for p in cx.p.signals.thread_pending.values_mut() {
                *p &= !b;
            }
        }
    }
    if a[2] != 0 {
        put(
            cx,
            a[2],
            &le64(&[old.handler, old.flags, old.restorer, old.mask]),
        )?;
    }
    Ok(0)
}

pub fn sys_rt_sigprocmask(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let old = cx.p.sigmask;
    if a[1] != 0 {
        let set = get_u64(cx, a[1])? & !UNBLOCKABLE;
        cx.p.sigmask = match a[0] as u32 {
            g::SIG_BLOCK => old | set,
            g::SIG_UNBLOCK => old & !set,
            g::SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        };
    }
    if a[2] != 0 {
        put(cx, a[2], &old.to_le_bytes())?;
    }
    Ok(0)
}

/// sigaltstack(2). Uses the program's stack pointer at the syscall (`Process::user_rsp`) to tell
/// whether it runs on the alternate stack (SS_ONSTACK; changing it then is EPERM).
pub fn sys_sigaltstack(cx: &mut Ctx, a: &Args) -> SysResult {
    let old = cx.p.altstack;
    let onstack = on_altstack(cx, cx.p.user_rsp);
    if a[0] != 0 {
        if onstack {
            return Err(Errno::EPERM);
        }
        let b = get::<24>(cx, a[0])?;
        let sp = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let flags = u32::from_le_bytes(b[8..12].try_into().map_err(|_| Errno::EFAULT)?);
        let size = u64::from_le_bytes(b[16..24].try_into().map_err(|_| Errno::EFAULT)?);
        if flags & !(g::SS_DISABLE | g::SS_AUTODISARM | g::SS_ONSTACK) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & g::SS_DISABLE == 0 && size < u64::from(g::MINSIGSTKSZ) {
            return Err(Errno::ENOMEM);
        }
        cx.p.altstack = if flags & g::SS_DISABLE != 0 {
            (0, g::SS_DISABLE, 0)
        } else {
            (sp, flags & g::SS_AUTODISARM, size)
        };
    }
    if a[1] != 0 {
        let mut b = [0u8; 24];
        let flags = if onstack {
            g::SS_ONSTACK | (old.1 & g::SS_AUTODISARM)
        } else {
            old.1
        };
        b[..8].copy_from_slice(&old.0.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..24].copy_from_slice(&old.2.to_le_bytes());
        put(cx, a[1], &b)?;
    }
    Ok(0)
}

pub fn sys_rt_sigreturn(cx: &mut Ctx, _a: &Args) -> SysResult {
    cx.p.signals.sigreturn = true;
    Ok(0)
}

fn check_sig(sig: u64) -> Result<Option<u8>, Errno> {
    match sig {
        0 => Ok(None),
        1..=64 => Ok(Some(sig as u8)),
        _ => Err(Errno::EINVAL),
    }
}

/// Queue a signal for the process (tid 0) or a thread, and wake waiting threads.
pub fn send(cx: &mut Ctx, tid: u32, info: SigInfo) {
    cx.p.signals.send(tid, info);
    cx.p.threads.events += 1;
}

pub fn sys_kill(cx: &mut Ctx, a: &Args) -> SysResult {
    let pid = a[0] as i32;
    if pid != 0 && pid != -1 && pid != cx.p.pid as i32 && pid != -(cx.p.pid as i32) {
        return Err(Errno::ESRCH);
    }
    if let Some(sig) = check_sig(a[1])? {
        let info = SigInfo {
            signo: sig,
            code: SI_USER,
            pid: cx.p.pid,
            ..SigInfo::default()
        };
        send(cx, 0, info);
    }
    Ok(0)
}

fn thread_exists(cx: &Ctx, tid: u32) -> bool {
    tid == cx.p.tid || cx.p.threads.is_live(tid)
}

pub fn sys_tkill(cx: &mut Ctx, a: &Args) -> SysResult {
    let tid = a[0] as i32;
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let sig = check_sig(a[1])?;
    if !thread_exists(cx, tid as u32) {
        return Err(Errno::ESRCH);
    }
    if let Some(sig) = sig {
        let info = SigInfo {
            signo: sig,
            code: SI_TKILL,
            pid: cx.p.pid,
            ..SigInfo::default()
        };
        send(cx, tid as u32, info);
    }
    Ok(0)
}

pub fn sys_tgkill(cx: &mut Ctx, a: &Args) -> SysResult {
    if (a[0] as i32) <= 0 || (a[1] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    let sig = check_sig(a[2])?;
    if a[0] as i32 != cx.p.pid as i32 || !thread_exists(cx, a[1] as u32) {
        return Err(Errno::ESRCH);
    }
    if let Some(sig) = sig {
        let info = SigInfo {
            signo: sig,
            code: SI_TKILL,
            pid: cx.p.pid,
            ..SigInfo::default()
        };
        send(cx, a[1] as u32, info);
    }
    Ok(0)
}

fn queueinfo(cx: &mut Ctx, tid: u32, sig: u64, uinfo: u64) -> SysResult {
    let sig = check_sig(sig)?;
    let b = get::<32>(cx, uinfo)?;
    let code = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    // Only the kernel may send with si_code >= 0 (other than to itself).
    if code >= 0 && tid != 0 && tid != cx.p.tid {
        return Err(Errno::EPERM);
    }
    if let Some(sig) = sig {
        let value = u64::from_le_bytes([b[24], b[25], b[26], b[27], b[28], b[29], b[30], b[31]]);
        send(
            cx,
            tid,
            SigInfo {
                signo: sig,
                code,
                pid: cx.p.pid,
                value,
                ..SigInfo::default()
            },
        );
    }
    Ok(0)
}

pub fn sys_rt_sigqueueinfo(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[0] as u32 != cx.p.pid {
        return Err(Errno::ESRCH);
    }
    queueinfo(cx, 0, a[1], a[2])
}

pub fn sys_rt_tgsigqueueinfo(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[0] as u32 != cx.p.pid || !thread_exists(cx, a[1] as u32) {
        return Err(Errno::ESRCH);
    }
    queueinfo(cx, a[1] as u32, a[2], a[3])
}

pub fn sys_rt_sigpending(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let set = cx.p.signals.pending_for(cx.p.tid) & cx.p.sigmask;
    put(cx, a[0], &set.to_le_bytes())?;
    Ok(0)
}

/// rt_sigsuspend: wait with a temporary mask until a signal is delivered; always EINTR.
pub fn sys_rt_sigsuspend(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    if cx.p.wait.is_none() {
        let set = get_u64(cx, a[0])? & !UNBLOCKABLE;
        let tid = cx.p.tid;
        cx.p.signals.saved_mask.insert(tid, cx.p.sigmask);
        cx.p.sigmask = set;
    }
    // The kernel ends the wait with EINTR when a signal is deliverable, and restores the mask after
    // the handler through the frame.
    cx.p.wait = Some(Wait { deadline: None });
    Err(Errno::RESTART)
}

/// Dequeue pending `sig` of the running thread (signalfd reads).
pub fn take_signal(cx: &mut Ctx, sig: u8) -> SigInfo {
    let tid = cx.p.tid;
    cx.p.signals.take(tid, sig)
}

/// Install a temporary mask (ppoll, pselect6, epoll_pwait): the old one comes back with
/// [`restore_temporary_mask`], or after a handler if a signal interrupts the call.
pub fn set_temporary_mask(cx: &mut Ctx, mask: u64) {
    let tid = cx.p.tid;
    cx.p.signals.saved_mask.insert(tid, cx.p.sigmask);
    cx.p.sigmask = mask & !UNBLOCKABLE;
}

/// End a temporary mask (the call completed without a signal).
pub fn restore_temporary_mask(cx: &mut Ctx) {
    let tid = cx.p.tid;
    if let Some(m) = cx.p.signals.saved_mask.remove(&tid) {
        cx.p.sigmask = m;
    }
}

/// pause(2).
pub fn sys_pause(cx: &mut Ctx, _a: &Args) -> SysResult {
    cx.p.wait = Some(Wait { deadline: None });
    Err(Errno::RESTART)
}

/// rt_sigtimedwait(set, info, timeout, sigsetsize): take a pending signal of `set` without a handler.
pub fn sys_rt_sigtimedwait(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[3] != 8 {
        return Err(Errno::EINVAL);
    }
    let set = get_u64(cx, a[0])? & !UNBLOCKABLE;
    let pending = cx.p.signals.pending_for(cx.p.tid) & set;
    if let Some(sig) = (1..=64u8).find(|s| pending & bit(*s) != 0) {
        let info = cx.p.signals.take(cx.p.tid, sig);
        if a[1] != 0 {
            put(cx, a[1], &info.to_bytes())?;
        }
        return Ok(u64::from(sig));
    }
    let deadline = super::saved_deadline(cx, |cx| {
        if a[2] == 0 {
            return Ok(None);
        }
        let t = super::read_timespec(cx, a[2])?;
        Ok(Some(cx.plat.monotonic_ns().saturating_add(t)))
    })?;
    if deadline.is_some_and(|d| cx.plat.monotonic_ns() >= d) {
        return Err(Errno::EAGAIN);
    }
    cx.p.wait = Some(Wait { deadline });
    Err(Errno::RESTART)
}

// ------------------------------------------------------------------------------------------------
// Timers

/// Raise the signals of every timer that expired by `now`; re-arm periodic ones.
pub fn fire_timers(cx: &mut Ctx, now: u64) {
    let pid = cx.p.pid;
    for (i, sig) in [SIGALRM, SIGVTALRM, SIGPROF].into_iter().enumerate() {
        let t = &mut cx.p.signals.itimer[i];
        if let Some(next) = t.next.filter(|n| *n <= now) {
            t.next = (now - next)
                .checked_div(t.interval)
                .map(|k| next + (k + 1) * t.interval);
            send(
                cx,
                0,
                SigInfo {
                    signo: sig,
                    code: SI_KERNEL,
                    pid,
                    ..SigInfo::default()
                },
            );
        }
    }
    let due: Vec<u32> =
        cx.p.signals
            .timers
            .iter()
            .filter(|(_, t)| t.next.is_some_and(|n| n <= now))
            .map(|(k, _)| *k)
            .collect();
    for id in due {
        let Some(t) = cx.p.signals.timers.get_mut(&id) else {
            continue;
        };
        let next = t.next.unwrap_or(now);
        let missed = (now - next).checked_div(t.interval).unwrap_or(0);
        t.next = (t.interval > 0).then(|| next + (missed + 1) * t.interval);
        let (signo, value, tid, silent) = (t.signo, t.value, t.tid, t.silent);
        t.overrun = missed.min(i32::MAX as u64) as u32;
        if !silent {
            let info = SigInfo {
                signo,
                code: SI_TIMER,
                pid: id,
                uid: missed as u32,
                value,
                ..SigInfo::default()
            };
            send(cx, tid, info);
        }
    }
}

fn timeval(v: &[u8]) -> Result<u64, Errno> {
    let sec = i64::from_le_bytes(v[..8].try_into().map_err(|_| Errno::EFAULT)?);
    let usec = i64::from_le_bytes(v[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok(sec as u64 * 1_000_000_000 + usec as u64 * 1000)
}

fn itimer_value(cx: &Ctx, which: usize) -> [u8; 32] {
    let t = cx.p.signals.itimer[which];
    let left = t
        .next
        .map_or(0, |n| n.saturating_sub(cx.plat.monotonic_ns()).max(1000));
    let mut b = [0u8; 32];
    let us = |ns: u64| (ns / 1_000_000_000, ns % 1_000_000_000 / 1000);
    let (is, iu) = us(t.interval);
    let (vs, vu) = us(left);
    b[..32].copy_from_slice(&le64(&[is, iu, vs, vu]));
    b
}

pub fn sys_getitimer(cx: &mut Ctx, a: &Args) -> SysResult {
    let which = usize::try_from(a[0])
        .ok()
        .filter(|w| *w < 3)
        .ok_or(Errno::EINVAL)?;
    let v = itimer_value(cx, which);
    put(cx, a[1], &v)?;
    Ok(0)
}

pub fn sys_setitimer(cx: &mut Ctx, a: &Args) -> SysResult {
    let which = usize::try_from(a[0])
        .ok()
        .filter(|w| *w < 3)
        .ok_or(Errno::EINVAL)?;
    let old = itimer_value(cx, which);
    if a[1] != 0 {
        let v = get::<32>(cx, a[1])?;
        let interval = timeval(&v[..16])?;
        let value = timeval(&v[16..])?;
        let now = cx.plat.monotonic_ns();
        cx.p.signals.itimer[which] = crate::sys::signal::Timer {
            next: (value > 0).then_some(now + value),
            interval,
            ..Timer::default()
        };
        cx.p.threads.events += 1;
    }
    if a[2] != 0 {
        put(cx, a[2], &old)?;
    }
    Ok(0)
}

pub fn sys_alarm(cx: &mut Ctx, a: &Args) -> SysResult {
    let now = cx.plat.monotonic_ns();
    let old = cx.p.signals.itimer[0]
        .next
        .map_or(0, |n| n.saturating_sub(now).div_ceil(1_000_000_000));
    let secs = a[0] as u32 as u64;
    cx.p.signals.itimer[0] = Timer {
        next: (secs > 0).then_some(now + secs * 1_000_000_000),
        ..Timer::default()
    };
    cx.p.threads.events += 1;
    Ok(old)
}

const SIGEV_SIGNAL: u32 = 0;
const SIGEV_NONE: u32 = 1;
const SIGEV_THREAD_ID: u32 = 4;

pub fn sys_timer_create(cx: &mut Ctx, a: &Args) -> SysResult {
    let clock = a[0] as u32;
    if !matches!(
        clock,
        g::CLOCK_REALTIME
            | g::CLOCK_MONOTONIC
            | g::CLOCK_BOOTTIME
            | g::CLOCK_PROCESS_CPUTIME_ID
            | g::CLOCK_THREAD_CPUTIME_ID
    ) {
        return Err(Errno::EINVAL);
    }
    let mut t = Timer {
        signo: SIGALRM,
        clock,
        ..Timer::default()
    };
    let id = cx.p.signals.next_timer_id;
    if a[1] != 0 {
        let ev = get::<64>(cx, a[1])?;
        let value = u64::from_le_bytes(ev[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let signo = i32::from_le_bytes([ev[8], ev[9], ev[10], ev[11]]);
        let notify = u32::from_le_bytes([ev[12], ev[13], ev[14], ev[15]]);
        let tid = u32::from_le_bytes([ev[16], ev[17], ev[18], ev[19]]);
        match notify {
            SIGEV_NONE => t.silent = true,
            SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                t.signo = u8::try_from(signo)
                    .ok()
                    .filter(|s| (1..=64).contains(s))
                    .ok_or(Errno::EINVAL)?;
                if notify == SIGEV_THREAD_ID {
                    if !thread_exists(cx, tid) {
                        return Err(Errno::EINVAL);
                    }
                    t.tid = tid;
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        t.value = value;
    } else {
        t.value = u64::from(id);
    }
    put(cx, a[2], &id.to_le_bytes())?;
    cx.p.signals.next_timer_id += 1;
    cx.p.signals.timers.insert(id, t);
    Ok(0)
}

fn itimerspec(cx: &Ctx, t: &Timer) -> [u8; 32] {
    let left = t
        .next
        .map_or(0, |n| n.saturating_sub(cx.plat.monotonic_ns()).max(1));
    let mut b = [0u8; 32];
    b.copy_from_slice(&le64(&[
        t.interval / 1_000_000_000,
        t.interval % 1_000_000_000,
        left / 1_000_000_000,
        left % 1_000_000_000,
    ]));
    b
}

pub fn sys_timer_settime(cx: &mut Ctx, a: &Args) -> SysResult {
    let id = a[0] as u32;
    let t = *cx.p.signals.timers.get(&id).ok_or(Errno::EINVAL)?;
    let v = get::<32>(cx, a[2])?;
    let interval = super::timespec_ns(&v[..16])?;
    let value = super::timespec_ns(&v[16..])?;
    let old = itimerspec(cx, &t);
    let now = cx.plat.monotonic_ns();
    let next = if value == 0 {
        None
    } else if a[1] as u32 & g::TIMER_ABSTIME != 0 {
        let base = if t.clock == g::CLOCK_REALTIME {
            cx.plat.realtime_ns()
        } else {
            now
        };
        Some(now + value.saturating_sub(base))
    } else {
        Some(now + value)
    };
    if let Some(t) = cx.p.signals.timers.get_mut(&id) {
        t.next = next;
        t.interval = interval;
        t.overrun = 0;
    }
    cx.p.threads.events += 1;
    if a[3] != 0 {
        put(cx, a[3], &old)?;
    }
    Ok(0)
}

pub fn sys_timer_gettime(cx: &mut Ctx, a: &Args) -> SysResult {
    let t = *cx
        .p
        .signals
        .timers
        .get(&(a[0] as u32))
        .ok_or(Errno::EINVAL)?;
    let v = itimerspec(cx, &t);
    put(cx, a[1], &v)?;
    Ok(0)
}

pub fn sys_timer_getoverrun(cx: &mut Ctx, a: &Args) -> SysResult {
    Ok(u64::from(
        cx.p.signals
            .timers
            .get(&(a[0] as u32))
            .ok_or(Errno::EINVAL)?
            .overrun,
    ))
}

pub fn sys_timer_delete(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.signals
        .timers
        .remove(&(a[0] as u32))
        .ok_or(Errno::EINVAL)?;
    Ok(0)
}
