//! The socket syscalls: socket, socketpair, bind, listen, accept/accept4, connect, getsockname,
//! getpeername, send/sendto/sendmsg/sendmmsg, recv/recvfrom/recvmsg/recvmmsg, shutdown,
//! setsockopt/getsockopt. Checks come in Linux's order (net/socket.c): the descriptor (EBADF), that it
//! is a socket (ENOTSOCK), the address length (EINVAL), then the protocol's own checks.
//!
//! A socket operation that would block returns EAGAIN from the [`Socket`]; here that becomes EAGAIN for
//! a non-blocking socket or MSG_DONTWAIT, else a wait (`Errno::RESTART`) bounded by SO_RCVTIMEO or
//! SO_SNDTIMEO.

use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_raw_sys::general as g;
use spin::Mutex;

use super::consts::*;
use super::inet::InetSocket;
use super::unix::UnixSocket;
use super::{Received, SockOpts, Socket, SocketFile};
use crate::errno::{Errno, SysResult};
use crate::process::{OpenFile, Wait};
use crate::sys::{get, put, saved_deadline, Args, Ctx};

/// Largest struct sockaddr a program may pass (sizeof(struct sockaddr_storage)).
const SOCKADDR_MAX: u64 = 128;
/// Largest transfer of one call.
const MAX_IO: usize = 4 << 20;
const IOV_MAX: u64 = 1024;

/// The socket open on `fd`, and the descriptor's status flags.
fn socket_of(cx: &mut Ctx, fd: u64) -> Result<(Arc<dyn Socket>, u32), Errno> {
    let of = cx.p.file(fd)?;
    let (file, flags) = {
        let f = of.lock();
        (f.file.clone(), f.flags)
    };
    let s = file.as_any().downcast_ref::<SocketFile>().ok_or(ENOTSOCK)?;
    Ok((s.sock.clone(), flags))
}

fn install(cx: &mut Ctx, sock: Arc<dyn Socket>, flags: u32) -> SysResult {
    let file = SocketFile::new(sock);
    let name = alloc::format!("socket:[{}]", file.ino);
    let status = if flags & SOCK_NONBLOCK != 0 {
        g::O_NONBLOCK
    } else {
        0
    };
    let of = OpenFile {
        file,
        pos: 0,
        flags: g::O_RDWR | status,
        path: name,
    };
    cx.p.install_fd(Arc::new(Mutex::new(of)), flags & SOCK_CLOEXEC != 0, 0)
}

/// Would block: `nonblock_err` when the call must not wait, `timeout_err` once the timeout (ns, 0:
/// none) has passed, else wait and run again.
fn wait_or(
    cx: &mut Ctx,
    nonblock: bool,
    timeout: u64,
    nonblock_err: Errno,
    timeout_err: Errno,
) -> Errno {
    if nonblock {
        return nonblock_err;
    }
    let deadline = match saved_deadline(cx, |cx| {
        Ok((timeout > 0).then(|| cx.plat.monotonic_ns().saturating_add(timeout)))
    }) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if deadline.is_some_and(|d| cx.plat.monotonic_ns() >= d) {
        return timeout_err;
    }
    cx.p.wait = Some(Wait { deadline });
    Errno::RESTART
}

/// A struct sockaddr from the program (EINVAL for a length above 128 or negative).
fn read_addr(cx: &mut Ctx, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let len = len as u32 as i32;
    if len < 0 || len as u64 > SOCKADDR_MAX {
        return Err(EINVAL);
    }
    let mut b = alloc::vec![0u8; len as usize];
    if len > 0 {
        cx.p.mm.read_user(addr, &mut b)?;
    }
    Ok(b)
}

/// Store an address for the program: at most `*lenp` bytes of it, and its full length in `*lenp`.
fn write_addr(cx: &mut Ctx, addr: u64, lenp: u64, bytes: &[u8]) -> Result<(), Errno> {
    if addr == 0 || lenp == 0 {
        return Ok(());
    }
    let len = i32::from_le_bytes(get::<4>(cx, lenp)?);
    if len < 0 {
        return Err(EINVAL);
    }
    let n = (len as usize).min(bytes.len());
    if n > 0 {
        put(cx, addr, &bytes[..n])?;
    }
    put(cx, lenp, &(bytes.len() as u32).to_le_bytes())
}

/// A send found no reader: SIGPIPE unless MSG_NOSIGNAL, and EPIPE.
fn broken_pipe(cx: &mut Ctx, flags: u32) -> Errno {
    if flags & MSG_NOSIGNAL == 0 {
        let info = crate::sys::signal::SigInfo {
            signo: 13,
            code: 0,
            pid: cx.p.pid,
            ..Default::default()
        };
        let tid = cx.p.tid;
        crate::sys::signal::send(cx, tid, info);
    }
    EPIPE
}

// ------------------------------------------------------------------------------------------------
// Creating and naming sockets

fn new_socket(domain: u32, ty: u32, protocol: u32) -> Result<Arc<dyn Socket>, Errno> {
    Ok(match domain {
        AF_UNIX => {
            if protocol != 0 && protocol != AF_UNIX {
                return Err(EPROTONOSUPPORT);
            }
            UnixSocket::new(ty)?
        }
        AF_INET | AF_INET6 => InetSocket::new(domain, ty, protocol)?,
        _ => return Err(EAFNOSUPPORT),
    })
}

/// The type and flags of socket's `type` argument (EINVAL for unknown flags).
fn split_type(t: u64) -> Result<(u32, u32), Errno> {
    let t = t as u32;
    let flags = t & !0xf;
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(EINVAL);
    }
    Ok((t & 0xf, flags))
}

pub fn sys_socket(cx: &mut Ctx, a: &Args) -> SysResult {
    let (ty, flags) = split_type(a[1])?;
    let domain = a[0] as u32;
    if domain >= 46 {
        return Err(EAFNOSUPPORT);
    }
    let s = new_socket(domain, ty, a[2] as u32)?;
    install(cx, s, flags)
}

pub fn sys_socketpair(cx: &mut Ctx, a: &Args) -> SysResult {
    let (ty, flags) = split_type(a[1])?;
    let (x, y): (Arc<dyn Socket>, Arc<dyn Socket>) = match a[0] as u32 {
        AF_UNIX => {
            if a[2] != 0 && a[2] != u64::from(AF_UNIX) {
                return Err(EPROTONOSUPPORT);
            }
            let (x, y) = UnixSocket::pair(ty)?;
            (x, y)
        }
        AF_INET | AF_INET6 => {
            InetSocket::new(a[0] as u32, ty, a[2] as u32)?;
            return Err(EOPNOTSUPP);
        }
        _ => return Err(EAFNOSUPPORT),
    };
    let fx = install(cx, x, flags)?;
    let fy = match install(cx, y, flags) {
        Ok(f) => f,
        Err(e) => {
            cx.p.fds[fx as usize] = None;
            return Err(e);
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(fx as u32).to_le_bytes());
    b[4..].copy_from_slice(&(fy as u32).to_le_bytes());
    if let Err(e) = put(cx, a[3], &b) {
        cx.p.fds[fx as usize] = None;
        cx.p.fds[fy as usize] = None;
        return Err(e);
    }
    Ok(0)
}

pub fn sys_bind(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, _) = socket_of(cx, a[0])?;
    let addr = read_addr(cx, a[1], a[2])?;
    s.bind(cx, &addr)?;
    Ok(0)
}

pub fn sys_listen(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, _) = socket_of(cx, a[0])?;
    s.listen(a[1] as i32)?;
    Ok(0)
}

fn do_accept(cx: &mut Ctx, fd: u64, addr: u64, lenp: u64, flags: u32) -> SysResult {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(EINVAL);
    }
    let (s, fl) = socket_of(cx, fd)?;
    if s.sock_type() != SOCK_STREAM {
        return Err(EOPNOTSUPP);
    }
    let (new, peer) = match super::noting_again(&*s, s.accept()) {
        Ok(x) => x,
        Err(EAGAIN) => {
            let t = s.opts().lock().rcvtimeo;
            return Err(wait_or(cx, fl & g::O_NONBLOCK != 0, t, EAGAIN, EAGAIN));
        }
        Err(e) => return Err(e),
    };
    let fdn = install(cx, new, flags)?;
    if let Err(e) = write_addr(cx, addr, lenp, &peer) {
        cx.p.fds[fdn as usize] = None;
        return Err(e);
    }
    Ok(fdn)
}

pub fn sys_accept(cx: &mut Ctx, a: &Args) -> SysResult {
    do_accept(cx, a[0], a[1], a[2], 0)
}

pub fn sys_accept4(cx: &mut Ctx, a: &Args) -> SysResult {
    do_accept(cx, a[0], a[1], a[2], a[3] as u32)
}

pub fn sys_connect(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, fl) = socket_of(cx, a[0])?;
    let nonblock = fl & g::O_NONBLOCK != 0;
    let timeout = s.opts().lock().sndtimeo;
    let rerun = cx.p.wait.is_some();
    let r = if rerun && s.family() != AF_UNIX {
        match s.connect_result() {
            None => Err(EINPROGRESS),
            Some(r) => r,
        }
    } else {
        let addr = read_addr(cx, a[1], a[2])?;
        s.connect(cx, &addr)
    };
    match r {
        Ok(()) => Ok(0),
        Err(EINPROGRESS) if !nonblock && !rerun => match s.connect_result() {
            // Finished within the call (no event will come for it): the outcome now.
            Some(r) => r.map(|()| 0),
            None => Err(wait_or(cx, nonblock, timeout, EINPROGRESS, EINPROGRESS)),
        },
        Err(EINPROGRESS) => Err(wait_or(cx, nonblock, timeout, EINPROGRESS, EINPROGRESS)),
        Err(EAGAIN) => Err(wait_or(cx, nonblock, timeout, EAGAIN, EAGAIN)),
        Err(e) => Err(e),
    }
}

/// getsockname/getpeername's copy-out: the address pointer must be valid when the length is not 0.
fn write_name(cx: &mut Ctx, addr: u64, lenp: u64, bytes: &[u8]) -> Result<(), Errno> {
    let len = i32::from_le_bytes(get::<4>(cx, lenp)?);
    if len < 0 {
        return Err(EINVAL);
    }
    let n = (len as usize).min(bytes.len());
    if n > 0 {
        put(cx, addr, &bytes[..n])?;
    }
    put(cx, lenp, &(bytes.len() as u32).to_le_bytes())
}

pub fn sys_getsockname(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, _) = socket_of(cx, a[0])?;
    let b = s.sockname();
    write_name(cx, a[1], a[2], &b)?;
    Ok(0)
}

pub fn sys_getpeername(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, _) = socket_of(cx, a[0])?;
    let b = s.peername()?;
    write_name(cx, a[1], a[2], &b)?;
    Ok(0)
}

pub fn sys_shutdown(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, _) = socket_of(cx, a[0])?;
    s.shutdown(a[1] as u32)?;
    Ok(0)
}

// ------------------------------------------------------------------------------------------------
// Sending and receiving

/// Send `data`; waits (unless non-blocking) while nothing can be queued.
fn do_send(
    cx: &mut Ctx,
    s: &Arc<dyn Socket>,
    fl: u32,
    data: &[u8],
    to: Option<&[u8]>,
    flags: u32,
) -> SysResult {
    let nonblock = fl & g::O_NONBLOCK != 0 || flags & MSG_DONTWAIT != 0;
    match super::noting_again(&**s, s.send(Some(cx), data, to, flags)) {
        Ok(n) => Ok(n as u64),
        Err(EAGAIN) => {
            let t = s.opts().lock().sndtimeo;
            Err(wait_or(cx, nonblock, t, EAGAIN, EAGAIN))
        }
        Err(EPIPE) => Err(broken_pipe(cx, flags)),
        Err(e) => Err(e),
    }
}

/// Receive into a buffer of `len` bytes; waits (unless non-blocking) while nothing is there, or with
/// MSG_WAITALL until all of it is.
fn do_recv(
    cx: &mut Ctx,
    s: &Arc<dyn Socket>,
    fl: u32,
    len: usize,
    flags: u32,
) -> Result<(Vec<u8>, Received), Errno> {
    if flags & MSG_OOB != 0 {
        return Err(EINVAL);
    }
    let nonblock = fl & g::O_NONBLOCK != 0 || flags & MSG_DONTWAIT != 0;
    let t = s.opts().lock().rcvtimeo;
    if flags & MSG_WAITALL != 0
        && flags & MSG_PEEK == 0
        && !nonblock
        && s.sock_type() == SOCK_STREAM
        && !s.can_read_all(len)
    {
        // Wait for all of it; at the timeout, take what is there.
        let e = wait_or(cx, false, t, EAGAIN, EAGAIN);
        if e == Errno::RESTART {
            return Err(e);
        }
    }
    let mut buf = alloc::vec![0u8; len.min(MAX_IO)];
    match super::noting_again(&**s, s.recv(&mut buf, flags)) {
        Ok(r) => {
            buf.truncate(r.len);
            Ok((buf, r))
        }
        Err(EAGAIN) => Err(wait_or(cx, nonblock, t, EAGAIN, EAGAIN)),
        Err(e) => Err(e),
    }
}

pub fn sys_sendto(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, fl) = socket_of(cx, a[0])?;
    let len = (a[2] as usize).min(MAX_IO);
    let mut data = alloc::vec![0u8; len];
    if len > 0 {
        cx.p.mm.read_user(a[1], &mut data)?;
    }
    let to = if a[4] != 0 {
        Some(read_addr(cx, a[4], a[5])?)
    } else {
        None
    };
    do_send(cx, &s, fl, &data, to.as_deref(), a[3] as u32)
}

pub fn sys_recvfrom(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, fl) = socket_of(cx, a[0])?;
    let flags = a[3] as u32;
    let (data, r) = do_recv(cx, &s, fl, a[2] as usize, flags)?;
    if !data.is_empty() {
        put(cx, a[1], &data)?;
    }
    if let Some(from) = &r.from {
        write_addr(cx, a[4], a[5], from)?;
    } else if a[4] != 0 && a[5] != 0 && s.family() == AF_UNIX {
        write_addr(
            cx,
            a[4],
            a[5],
            &super::addr::encode_unix(&super::addr::UnixAddr::Unnamed),
        )?;
    } else if a[5] != 0 && a[4] != 0 {
        put(cx, a[5], &0u32.to_le_bytes())?;
    }
    Ok(if flags & MSG_TRUNC != 0 && s.sock_type() == SOCK_DGRAM {
        r.full
    } else {
        r.len
    } as u64)
}

/// struct msghdr: name, namelen, iov, iovlen, control, controllen, flags.
struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: Vec<(u64, u64)>,
    control: u64,
    controllen: u64,
}

fn read_msghdr(cx: &mut Ctx, addr: u64) -> Result<MsgHdr, Errno> {
    let b = get::<56>(cx, addr)?;
    let q = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let iovlen = q(24);
    if iovlen > IOV_MAX {
        return Err(EMSGSIZE);
    }
    let mut iov = Vec::with_capacity(iovlen as usize);
    let mut total: u64 = 0;
    for i in 0..iovlen {
        let v = get::<16>(cx, q(16) + i * 16)?;
        let base = u64::from_le_bytes(v[..8].try_into().unwrap_or([0; 8]));
        let len = u64::from_le_bytes(v[8..].try_into().unwrap_or([0; 8]));
        if (len as i64) < 0 {
            return Err(EINVAL);
        }
        total = total
            .checked_add(len)
            .filter(|t| (*t as i64) >= 0)
            .ok_or(EINVAL)?;
        iov.push((base, len));
    }
    Ok(MsgHdr {
        name: q(0),
        namelen: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        iov,
        control: q(32),
        controllen: q(40),
    })
}

fn gather(cx: &mut Ctx, iov: &[(u64, u64)]) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    for &(base, len) in iov {
        let n = (len as usize).min(MAX_IO - out.len());
        let start = out.len();
        out.resize(start + n, 0);
        cx.p.mm.read_user(base, &mut out[start..])?;
        if out.len() >= MAX_IO {
            break;
        }
    }
    Ok(out)
}

fn scatter(cx: &mut Ctx, iov: &[(u64, u64)], data: &[u8]) -> Result<(), Errno> {
    let mut done = 0;
    for &(base, len) in iov {
        if done >= data.len() {
            break;
        }
        let k = (len as usize).min(data.len() - done);
        if k > 0 {
            put(cx, base, &data[done..done + k])?;
        }
        done += k;
    }
    Ok(())
}

fn sendmsg_one(cx: &mut Ctx, s: &Arc<dyn Socket>, fl: u32, msg: u64, flags: u32) -> SysResult {
    let m = read_msghdr(cx, msg)?;
    let to = if m.name != 0 && m.namelen > 0 {
        Some(read_addr(cx, m.name, u64::from(m.namelen))?)
    } else {
        None
    };
    let _ = (m.control, m.controllen);
    let data = gather(cx, &m.iov)?;
    do_send(cx, s, fl, &data, to.as_deref(), flags)
}

fn recvmsg_one(cx: &mut Ctx, s: &Arc<dyn Socket>, fl: u32, msg: u64, flags: u32) -> SysResult {
    let m = read_msghdr(cx, msg)?;
    let len: u64 = m.iov.iter().map(|v| v.1).sum();
    let (data, r) = do_recv(cx, s, fl, len as usize, flags)?;
    scatter(cx, &m.iov, &data)?;
    if m.name != 0 {
        let from = r.from.clone().unwrap_or_default();
        let n = (m.namelen as usize).min(from.len());
        if n > 0 {
            put(cx, m.name, &from[..n])?;
        }
        put(cx, msg + 8, &(from.len() as u32).to_le_bytes())?;
    }
    // No control messages: msg_controllen 0.
    put(cx, msg + 40, &0u64.to_le_bytes())?;
    let mut out_flags = 0u32;
    if r.full > r.len {
        out_flags |= MSG_TRUNC;
    }
    put(cx, msg + 48, &out_flags.to_le_bytes())?;
    Ok(if flags & MSG_TRUNC != 0 && s.sock_type() == SOCK_DGRAM {
        r.full
    } else {
        r.len
    } as u64)
}

pub fn sys_sendmsg(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, fl) = socket_of(cx, a[0])?;
    sendmsg_one(cx, &s, fl, a[1], a[2] as u32)
}

pub fn sys_recvmsg(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, fl) = socket_of(cx, a[0])?;
    recvmsg_one(cx, &s, fl, a[1], a[2] as u32)
}

/// sendmmsg(fd, msgvec, vlen, flags): only the first message may wait.
pub fn sys_sendmmsg(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, fl) = socket_of(cx, a[0])?;
    let vlen = a[2].min(1024);
    let mut sent = 0;
    for i in 0..vlen {
        let flags = a[3] as u32 | if i > 0 { MSG_DONTWAIT } else { 0 };
        match sendmsg_one(cx, &s, fl, a[1] + i * 64, flags) {
            Ok(n) => {
                put(cx, a[1] + i * 64 + 56, &(n as u32).to_le_bytes())?;
                sent += 1;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent)
}

/// recvmmsg(fd, msgvec, vlen, flags, timeout): MSG_WAITFORONE makes the later ones non-blocking.
pub fn sys_recvmmsg(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, fl) = socket_of(cx, a[0])?;
    let vlen = a[2].min(1024);
    let mut got = 0;
    for i in 0..vlen {
        let mut flags = a[3] as u32 & !MSG_WAITFORONE;
        if i > 0 && (a[3] as u32 & MSG_WAITFORONE != 0 || fl & g::O_NONBLOCK != 0) {
            flags |= MSG_DONTWAIT;
        }
        if i > 0 {
            flags |= MSG_DONTWAIT;
        }
        match recvmsg_one(cx, &s, fl, a[1] + i * 64, flags) {
            Ok(n) => {
                put(cx, a[1] + i * 64 + 56, &(n as u32).to_le_bytes())?;
                got += 1;
            }
            Err(e) if got == 0 => return Err(e),
            Err(_) => {
                // A later message that would wait ends the call (its wait is dropped).
                cx.p.wait = None;
                break;
            }
        }
    }
    Ok(got)
}

// ------------------------------------------------------------------------------------------------
// Options

fn int_of(v: &[u8]) -> Result<i32, Errno> {
    if v.len() < 4 {
        return Err(EINVAL);
    }
    Ok(i32::from_le_bytes([v[0], v[1], v[2], v[3]]))
}

/// SO_RCVBUF/SO_SNDBUF: Linux doubles the value (for its bookkeeping) within [min, 2 * rmem_max].
fn buf_size(v: i32, min: u32) -> u32 {
    (v.max(0) as u32).min(212_992).saturating_mul(2).max(min)
}

fn timeval_ns(v: &[u8]) -> Result<u64, Errno> {
    if v.len() < 16 {
        return Err(EINVAL);
    }
    let sec = i64::from_le_bytes(v[..8].try_into().map_err(|_| EINVAL)?);
    let usec = i64::from_le_bytes(v[8..16].try_into().map_err(|_| EINVAL)?);
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno(linux_raw_sys::errno::EDOM));
    }
    if sec < 0 {
        return Ok(0);
    }
    Ok((sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(usec as u64 * 1000))
}

fn timeval_bytes(ns: u64) -> Vec<u8> {
    crate::sys::le64(&[ns / 1_000_000_000, (ns % 1_000_000_000) / 1000])
}

/// Options stored and reported back without effect here.
fn passive(level: u32, name: u32) -> bool {
    match level {
        SOL_SOCKET => matches!(
            name,
            SO_DEBUG
                | SO_DONTROUTE
                | SO_OOBINLINE
                | SO_NO_CHECK
                | SO_PRIORITY
                | SO_BSDCOMPAT
                | SO_RCVLOWAT
                | SO_SNDLOWAT
                | SO_BINDTODEVICE
                | SO_TIMESTAMP
                | SO_RXQ_OVFL
                | SO_BUSY_POLL
                | SO_INCOMING_CPU
                | SO_ZEROCOPY
        ),
        IPPROTO_TCP => matches!(
            name,
            TCP_MAXSEG
                | TCP_CORK
                | TCP_KEEPIDLE
                | TCP_KEEPINTVL
                | TCP_KEEPCNT
                | TCP_SYNCNT
                | TCP_LINGER2
                | TCP_DEFER_ACCEPT
                | TCP_WINDOW_CLAMP
                | TCP_QUICKACK
                | TCP_CONGESTION
                | TCP_USER_TIMEOUT
                | TCP_FASTOPEN
                | TCP_NOTSENT_LOWAT
        ),
        IPPROTO_IP => matches!(
            name,
            IP_TOS
                | IP_TTL
                | IP_PKTINFO
                | IP_MTU_DISCOVER
                | IP_RECVERR
                | IP_RECVTOS
                | IP_MULTICAST_TTL
                | IP_MULTICAST_LOOP
                | IP_FREEBIND
                | IP_BIND_ADDRESS_NO_PORT
        ),
        IPPROTO_IPV6 => matches!(
            name,
            IPV6_UNICAST_HOPS
                | IPV6_MULTICAST_HOPS
                | IPV6_MULTICAST_LOOP
                | IPV6_RECVPKTINFO
                | IPV6_TCLASS
                | IPV6_RECVERR
        ),
        _ => false,
    }
}

/// Whether `level` applies to this socket: unix sockets have SOL_SOCKET only (EOPNOTSUPP), UDP has no
/// TCP options, AF_INET sockets no IPv6 ones (ENOPROTOOPT).
fn check_level(s: &Arc<dyn Socket>, level: u32) -> Result<(), Errno> {
    if level == SOL_SOCKET {
        return Ok(());
    }
    if s.family() == AF_UNIX {
        return Err(EOPNOTSUPP);
    }
    match level {
        IPPROTO_TCP if s.sock_type() == SOCK_STREAM => Ok(()),
        IPPROTO_UDP if s.sock_type() == SOCK_DGRAM => Ok(()),
        IPPROTO_IP => Ok(()),
        IPPROTO_IPV6 if s.family() == AF_INET6 => Ok(()),
        _ => Err(ENOPROTOOPT),
    }
}

pub fn sys_setsockopt(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, _) = socket_of(cx, a[0])?;
    let (level, name) = (a[1] as u32, a[2] as u32);
    let len = a[4] as u32 as i32;
    if len < 0 {
        return Err(EINVAL);
    }
    let mut v = alloc::vec![0u8; (len as usize).min(256)];
    if !v.is_empty() {
        cx.p.mm.read_user(a[3], &mut v)?;
    }
    check_level(&s, level)?;
    {
        let mut o = s.opts().lock();
        set_opt(&mut o, &s, level, name, &v)?;
    }
    s.opts_changed();
    Ok(0)
}

fn set_opt(
    o: &mut SockOpts,
    s: &Arc<dyn Socket>,
    level: u32,
    name: u32,
    v: &[u8],
) -> Result<(), Errno> {
    match (level, name) {
        (SOL_SOCKET, SO_REUSEADDR) => o.reuseaddr = int_of(v)? != 0,
        (SOL_SOCKET, SO_REUSEPORT) => o.reuseport = int_of(v)? != 0,
        (SOL_SOCKET, SO_KEEPALIVE) => o.keepalive = int_of(v)? != 0,
        (SOL_SOCKET, SO_BROADCAST) => o.broadcast = int_of(v)? != 0,
        (SOL_SOCKET, SO_PASSCRED) => o.passcred = int_of(v)? != 0,
        (SOL_SOCKET, SO_RCVBUF | SO_RCVBUFFORCE) => o.rcvbuf = buf_size(int_of(v)?, 2304),
        (SOL_SOCKET, SO_SNDBUF | SO_SNDBUFFORCE) => o.sndbuf = buf_size(int_of(v)?, 4608),
        (SOL_SOCKET, SO_LINGER) => {
            if v.len() < 8 {
                return Err(EINVAL);
            }
            let on = int_of(&v[..4])? != 0;
            let secs = int_of(&v[4..8])?.max(0) as u32;
            o.linger = on.then_some(secs);
        }
        (SOL_SOCKET, SO_RCVTIMEO) => o.rcvtimeo = timeval_ns(v)?,
        (SOL_SOCKET, SO_SNDTIMEO) => o.sndtimeo = timeval_ns(v)?,
        (IPPROTO_TCP, TCP_NODELAY) => o.nodelay = int_of(v)? != 0,
        (IPPROTO_IPV6, IPV6_V6ONLY) => {
            let on = int_of(v)? != 0;
            // Fixed once bound.
            if s.sockname().get(2..4).is_some_and(|p| p != [0, 0]) {
                return Err(EINVAL);
            }
            o.v6only = on;
        }
        (IPPROTO_TCP, TCP_CONGESTION) => {
            o.other.insert((level, name), v.to_vec());
        }
        (l, n) if passive(l, n) => {
            int_of(v)?;
            o.other.insert((l, n), v.to_vec());
        }
        _ => return Err(ENOPROTOOPT),
    }
    Ok(())
}

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn get_opt(cx: &Ctx, s: &Arc<dyn Socket>, level: u32, name: u32) -> Result<Vec<u8>, Errno> {
    let o = s.opts().lock().clone();
    let b = |x: bool| int_bytes(i32::from(x));
    Ok(match (level, name) {
        (SOL_SOCKET, SO_TYPE) => int_bytes(s.sock_type() as i32),
        (SOL_SOCKET, SO_DOMAIN) => int_bytes(s.family() as i32),
        (SOL_SOCKET, SO_PROTOCOL) => int_bytes(s.protocol() as i32),
        (SOL_SOCKET, SO_ERROR) => int_bytes(s.take_error().map_or(0, |e| e.0 as i32)),
        (SOL_SOCKET, SO_ACCEPTCONN) => b(s.is_listening()),
        (SOL_SOCKET, SO_REUSEADDR) => b(o.reuseaddr),
        (SOL_SOCKET, SO_REUSEPORT) => b(o.reuseport),
        (SOL_SOCKET, SO_KEEPALIVE) => b(o.keepalive),
        (SOL_SOCKET, SO_BROADCAST) => b(o.broadcast),
        (SOL_SOCKET, SO_PASSCRED) => b(o.passcred),
        (SOL_SOCKET, SO_RCVBUF) => int_bytes(o.rcvbuf as i32),
        (SOL_SOCKET, SO_SNDBUF) => int_bytes(o.sndbuf as i32),
        (SOL_SOCKET, SO_LINGER) => {
            let mut v = int_bytes(i32::from(o.linger.is_some()));
            v.extend_from_slice(&(o.linger.unwrap_or(0) as i32).to_le_bytes());
            v
        }
        (SOL_SOCKET, SO_RCVTIMEO) => timeval_bytes(o.rcvtimeo),
        (SOL_SOCKET, SO_SNDTIMEO) => timeval_bytes(o.sndtimeo),
        (SOL_SOCKET, SO_PEERCRED) if s.family() == AF_UNIX => {
            let mut v = cx.p.pid.to_le_bytes().to_vec();
            v.extend_from_slice(&[0; 8]);
            v
        }
        (SOL_SOCKET, SO_RCVLOWAT | SO_SNDLOWAT) => o
            .other
            .get(&(level, name))
            .cloned()
            .unwrap_or_else(|| int_bytes(1)),
        (IPPROTO_TCP, TCP_NODELAY) => b(o.nodelay),
        (IPPROTO_IPV6, IPV6_V6ONLY) => b(o.v6only),
        (IPPROTO_TCP, TCP_CONGESTION) => o
            .other
            .get(&(level, name))
            .cloned()
            .unwrap_or_else(|| b"cubic".to_vec()),
        (IPPROTO_TCP, TCP_INFO) => alloc::vec![0u8; 232],
        (l, n) if passive(l, n) => match o.other.get(&(l, n)) {
            Some(v) => v.clone(),
            None => int_bytes(match (l, n) {
                (IPPROTO_TCP, TCP_MAXSEG) => 536,
                (IPPROTO_TCP, TCP_KEEPIDLE) => 7200,
                (IPPROTO_TCP, TCP_KEEPINTVL) => 75,
                (IPPROTO_TCP, TCP_KEEPCNT) => 9,
                (IPPROTO_TCP, TCP_SYNCNT) => 6,
                (IPPROTO_TCP, TCP_LINGER2) => 60,
                (IPPROTO_IP, IP_TTL) | (IPPROTO_IPV6, IPV6_UNICAST_HOPS) => 64,
                (IPPROTO_IP, IP_MULTICAST_TTL) | (IPPROTO_IP, IP_MULTICAST_LOOP) => 1,
                (IPPROTO_IPV6, IPV6_MULTICAST_HOPS) | (IPPROTO_IPV6, IPV6_MULTICAST_LOOP) => 1,
                _ => 0,
            }),
        },
        _ => return Err(ENOPROTOOPT),
    })
}

pub fn sys_getsockopt(cx: &mut Ctx, a: &Args) -> SysResult {
    let (s, _) = socket_of(cx, a[0])?;
    let (level, name) = (a[1] as u32, a[2] as u32);
    let len = i32::from_le_bytes(get::<4>(cx, a[4])?);
    if len < 0 {
        return Err(EINVAL);
    }
    check_level(&s, level)?;
    let v = get_opt(cx, &s, level, name)?;
    let n = (len as usize).min(v.len());
    if n > 0 {
        put(cx, a[3], &v[..n])?;
    }
    put(cx, a[4], &(n as u32).to_le_bytes())?;
    Ok(0)
}
