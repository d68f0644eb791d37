//! AF_INET and AF_INET6 sockets: TCP (SOCK_STREAM) and UDP (SOCK_DGRAM).
//!
//! Ports are reserved in one table ([`Ports`]) whatever the way traffic goes, with Linux's rules for
//! EADDRINUSE (SO_REUSEADDR, SO_REUSEPORT, wildcard addresses, IPV6_V6ONLY). Traffic to a loopback
//! address, the unspecified address or one of the interface's own addresses stays in this crate: a TCP
//! connection is a pair of [`StreamEnd`]s handed to the listener's backlog, a UDP datagram goes straight
//! to the bound socket's queue. Other destinations go through the kernel's [`NetStack`]. A listener or a
//! UDP socket bound to a wildcard address is reachable both ways.

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::sync::atomic::{AtomicU64, Ordering};
use linux_raw_sys::general as g;
use spin::Mutex;

use super::addr::{encode_inet, loopback_like, parse_inet};
use super::consts::*;
use super::local::{backlog_of, Backlog, StreamEnd};
use super::stack::{Handle, NetStack, TcpPhase};
use super::{net, Again, Net, Received, SockOpts, Socket};
use crate::errno::Errno;
use crate::sys::Ctx;

/// Linux's defaults as getsockopt shows them (tcp_rmem/tcp_wmem defaults; rmem_default for UDP).
const TCP_RCVBUF: u32 = 131_072;
const TCP_SNDBUF: u32 = 16_384;
const UDP_BUF: u32 = 212_992;
/// Buffer of a loopback TCP connection, each way.
const LOOP_CAP: usize = 512 << 10;
/// Bytes a loopback UDP receive queue holds.
const UDP_QUEUE: usize = 256 << 10;
/// Ephemeral ports (net.ipv4.ip_local_port_range).
const EPHEMERAL: (u16, u16) = (32768, 60999);

// ------------------------------------------------------------------------------------------------
// The port table

pub(crate) struct PortEntry {
    id: u64,
    tcp: bool,
    ip: IpAddr,
    port: u16,
    v6only: bool,
    reuseaddr: bool,
    reuseport: bool,
    listener: Option<Weak<LocalListener>>,
    udp: Option<Weak<UdpShared>>,
}

/// The ports in use, for TCP and UDP.
pub struct Ports {
    next_id: u64,
    next_ephemeral: u16,
    entries: Vec<PortEntry>,
}

/// Whether a socket bound to `bound` receives traffic addressed to `dst`.
fn covers(bound: IpAddr, v6only: bool, dst: IpAddr) -> bool {
    match bound {
        IpAddr::V4(a) if a.is_unspecified() => dst.is_ipv4(),
        IpAddr::V6(a) if a.is_unspecified() => dst.is_ipv6() || !v6only,
        b => b == dst,
    }
}

/// What a bind asks for.
struct BindReq {
    tcp: bool,
    ip: IpAddr,
    port: u16,
    v6only: bool,
    reuseaddr: bool,
    reuseport: bool,
}

impl Ports {
    pub(crate) fn new() -> Ports {
        Ports {
            next_id: 1,
            next_ephemeral: EPHEMERAL.0,
            entries: Vec::new(),
        }
    }

    fn conflicts(&self, r: &BindReq, port: u16) -> bool {
        self.entries.iter().any(|e| {
            e.tcp == r.tcp
                && e.port == port
                && (covers(e.ip, e.v6only, r.ip) || covers(r.ip, r.v6only, e.ip))
                && !(r.reuseport && e.reuseport)
                && !(r.reuseaddr && e.reuseaddr && (!r.tcp || e.listener.is_none()))
        })
    }

    /// Reserve a port (an ephemeral one for port 0): the entry's id and the port.
    fn add(&mut self, r: BindReq, udp: Option<Weak<UdpShared>>) -> Result<(u64, u16), Errno> {
        let port = if r.port == 0 {
            let span = EPHEMERAL.1 - EPHEMERAL.0 + 1;
            let mut found = None;
            for i in 0..span {
                let p = EPHEMERAL.0 + (self.next_ephemeral - EPHEMERAL.0 + i) % span;
                let probe = BindReq {
                    reuseaddr: false,
                    reuseport: false,
                    ..r
                };
                if !self.conflicts(&probe, p) {
                    found = Some(p);
                    break;
                }
            }
            let p = found.ok_or(EADDRINUSE)?;
            self.next_ephemeral = if p == EPHEMERAL.1 { EPHEMERAL.0 } else { p + 1 };
            p
        } else {
            if self.conflicts(&r, r.port) {
                return Err(EADDRINUSE);
            }
            r.port
        };
        let id = self.next_id;
        self.next_id += 1;
        self.entries.push(PortEntry {
            id,
            tcp: r.tcp,
            ip: r.ip,
            port,
            v6only: r.v6only,
            reuseaddr: r.reuseaddr,
            reuseport: r.reuseport,
            listener: None,
            udp,
        });
        Ok((id, port))
    }

    fn remove(&mut self, id: u64) {
        self.entries.retain(|e| e.id != id);
    }

    fn set_listener(&mut self, id: u64, l: Option<Weak<LocalListener>>) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            e.listener = l;
        }
    }

    /// The local listener for a connection to `dst` (an exact address before a wildcard).
    fn listener(&self, dst: SocketAddr) -> Option<Arc<LocalListener>> {
        let alive =
            |e: &&PortEntry| e.tcp && e.port == dst.port() && covers(e.ip, e.v6only, dst.ip());
        let pick = |exact: bool| {
            self.entries
                .iter()
                .filter(alive)
                .filter(|e| (e.ip == dst.ip()) == exact)
                .find_map(|e| e.listener.as_ref().and_then(Weak::upgrade))
        };
        pick(true).or_else(|| pick(false))
    }

    /// The UDP socket a datagram to `dst` goes to.
    fn udp(&self, dst: SocketAddr) -> Option<Arc<UdpShared>> {
        let alive =
            |e: &&PortEntry| !e.tcp && e.port == dst.port() && covers(e.ip, e.v6only, dst.ip());
        let pick = |exact: bool| {
            self.entries
                .iter()
                .filter(alive)
                .filter(|e| (e.ip == dst.ip()) == exact)
                .find_map(|e| e.udp.as_ref().and_then(Weak::upgrade))
        };
        pick(true).or_else(|| pick(false))
    }
}

/// A reserved port, released when the socket goes.
struct PortGuard {
    net: Arc<Net>,
    id: u64,
}

impl Drop for PortGuard {
    fn drop(&mut self) {
        self.net.ports.lock().remove(self.id);
    }
}

// ------------------------------------------------------------------------------------------------
// Loopback endpoints

struct LocalPending {
    end: StreamEnd,
    local: SocketAddr,
    peer: SocketAddr,
}

/// The loopback side of a listening TCP socket.
pub struct LocalListener {
    backlog: Mutex<Backlog<LocalPending>>,
}

/// The receive queue of a UDP socket, which loopback senders reach through the port table.
pub struct UdpShared {
    queue: Mutex<VecDeque<(SocketAddr, Vec<u8>)>>,
    bytes: Mutex<usize>,
    /// A connected socket takes datagrams from its peer only.
    remote: Mutex<Option<SocketAddr>>,
    /// Datagrams ever queued (edge-triggered epoll's generation).
    arrived: AtomicU64,
}

impl UdpShared {
    fn push(&self, from: SocketAddr, data: &[u8]) {
        if self.remote.lock().is_some_and(|r| r != from) {
            return;
        }
        let mut bytes = self.bytes.lock();
        if *bytes + data.len() > UDP_QUEUE {
            return; // dropped, as a full receive buffer drops
        }
        *bytes += data.len();
        self.queue.lock().push_back((from, data.to_vec()));
        self.arrived.fetch_add(1, Ordering::Relaxed);
    }

    fn pop(&self, buf: &mut [u8], peek: bool) -> Option<(usize, usize, SocketAddr)> {
        let mut q = self.queue.lock();
        let (from, data) = q.front()?;
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        let r = (n, data.len(), *from);
        if !peek {
            *self.bytes.lock() -= data.len();
            q.pop_front();
        }
        Some(r)
    }
}

/// An endpoint of the external stack, closed when dropped.
struct Ext {
    stack: Arc<dyn NetStack>,
    h: Handle,
    tcp: bool,
    abort: bool,
}

impl Drop for Ext {
    fn drop(&mut self) {
        if self.tcp {
            self.stack.tcp_close(self.h, self.abort);
        } else {
            self.stack.udp_close(self.h);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The socket

enum Tcp {
    Idle,
    Listening {
        local: Arc<LocalListener>,
        ext: Option<Ext>,
    },
    Connecting(Ext),
    Local(StreamEnd),
    Remote(Ext),
    /// The connection failed or ended by a reset; connect may be tried again.
    Done,
}

struct St {
    guard: Option<PortGuard>,
    /// The bound address (IP unspecified when bound to a wildcard), then the connection's own address.
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    /// SO_ERROR.
    error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    tcp: Tcp,
    udp_ext: Option<Ext>,
}

/// An AF_INET or AF_INET6 socket.
pub struct InetSocket {
    family: u32,
    ty: u32,
    net: Arc<Net>,
    st: Mutex<St>,
    opts: Mutex<SockOpts>,
    udp: Arc<UdpShared>,
    again: Again,
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified()
}

impl InetSocket {
    /// socket(`family`, `ty`, `protocol`).
    pub fn new(family: u32, ty: u32, protocol: u32) -> Result<Arc<InetSocket>, Errno> {
        match (ty, protocol) {
            (SOCK_STREAM, 0 | IPPROTO_TCP) | (SOCK_DGRAM, 0 | IPPROTO_UDP) => {}
            (SOCK_STREAM | SOCK_DGRAM, _) => return Err(EPROTONOSUPPORT),
            (SOCK_RAW, _) => return Err(EPERM),
            _ => return Err(ESOCKTNOSUPPORT),
        }
        Ok(Arc::new(Self::make(family, ty, Tcp::Idle)))
    }

    fn make(family: u32, ty: u32, tcp: Tcp) -> InetSocket {
        let opts = if ty == SOCK_STREAM {
            SockOpts::new(TCP_RCVBUF, TCP_SNDBUF)
        } else {
            SockOpts::new(UDP_BUF, UDP_BUF)
        };
        InetSocket {
            family,
            ty,
            net: net(),
            st: Mutex::new(St {
                guard: None,
                local: None,
                remote: None,
                error: None,
                shut_rd: false,
                shut_wr: false,
                tcp,
                udp_ext: None,
            }),
            opts: Mutex::new(opts),
            udp: Arc::new(UdpShared {
                queue: Mutex::new(VecDeque::new()),
                bytes: Mutex::new(0),
                remote: Mutex::new(None),
                arrived: AtomicU64::new(0),
            }),
            again: Again::default(),
        }
    }

    fn tcp(&self) -> bool {
        self.ty == SOCK_STREAM
    }

    fn is_local(&self, ip: IpAddr) -> bool {
        is_loopback(ip) || self.net.stack().is_some_and(|s| s.is_local_addr(ip))
    }

    /// Parse an address for this socket: IPv4 on an IPV6_V6ONLY socket is unreachable.
    fn parse(&self, b: &[u8]) -> Result<SocketAddr, Errno> {
        parse_inet(self.family, b)
    }

    /// Reserve `addr` (port 0: an ephemeral port) for this socket.
    fn bind_to(&self, st: &mut St, addr: SocketAddr) -> Result<(), Errno> {
        if st.guard.is_some() {
            return Err(EINVAL);
        }
        let ip = addr.ip();
        if !self.is_local(ip) {
            return Err(EADDRNOTAVAIL);
        }
        let o = self.opts.lock().clone();
        if self.family == AF_INET6 && o.v6only && ip.is_ipv4() {
            return Err(EINVAL);
        }
        let req = BindReq {
            tcp: self.tcp(),
            ip,
            port: addr.port(),
            v6only: o.v6only,
            reuseaddr: o.reuseaddr,
            reuseport: o.reuseport,
        };
        let udp = (!self.tcp()).then(|| Arc::downgrade(&self.udp));
        let (id, port) = self.net.ports.lock().add(req, udp)?;
        st.guard = Some(PortGuard {
            net: self.net.clone(),
            id,
        });
        st.local = Some(SocketAddr::new(ip, port));
        // A UDP socket bound to an address of the network gets its stack endpoint now: a server
        // receives before it ever sends.
        if !self.tcp() && !ip.is_loopback() && self.net.stack().is_some() {
            let _ = self.udp_ext(st);
        }
        Ok(())
    }

    /// Bind to an ephemeral port on the wildcard address unless bound already.
    fn autobind(&self, st: &mut St) -> Result<(), Errno> {
        if st.guard.is_some() {
            return Ok(());
        }
        self.bind_to(st, super::addr::any_addr(self.family))
    }

    fn bound_port(st: &St) -> u16 {
        st.local.map_or(0, |a| a.port())
    }

    /// The stack endpoint of a UDP socket, made on first use.
    fn udp_ext(&self, st: &mut St) -> Result<(Arc<dyn NetStack>, Handle), Errno> {
        if let Some(e) = &st.udp_ext {
            return Ok((e.stack.clone(), e.h));
        }
        let stack = self.net.stack().ok_or(ENETUNREACH)?;
        let local = st.local.ok_or(EINVAL)?;
        if local.ip().is_loopback() {
            return Err(EINVAL);
        }
        let h = stack.udp_bind(local)?;
        st.udp_ext = Some(Ext {
            stack: stack.clone(),
            h,
            tcp: false,
            abort: false,
        });
        Ok((stack, h))
    }

    /// A connecting socket whose stack endpoint finished: Established or Done (with SO_ERROR).
    fn refresh(&self, st: &mut St) {
        let Tcp::Connecting(e) = &st.tcp else { return };
        let info = e.stack.tcp_info(e.h);
        match info.phase {
            TcpPhase::Connecting => {}
            TcpPhase::Established => {
                let Tcp::Connecting(e) = core::mem::replace(&mut st.tcp, Tcp::Idle) else {
                    return;
                };
                st.tcp = Tcp::Remote(e);
            }
            TcpPhase::Closed => {
                st.error = Some(info.error.unwrap_or(ECONNREFUSED));
                st.tcp = Tcp::Done;
            }
        }
    }

    fn apply_tcp_opts(&self, stack: &dyn NetStack, h: Handle) {
        let o = self.opts.lock();
        stack.tcp_set_nodelay(h, o.nodelay);
        let cork = o
            .other
            .get(&(IPPROTO_TCP, TCP_CORK))
            .and_then(|v| v.get(..4))
            .is_some_and(|b| b != [0, 0, 0, 0]);
        stack.tcp_set_cork(h, cork);
        let idle = o
            .other
            .get(&(IPPROTO_TCP, TCP_KEEPIDLE))
            .and_then(|v| v.get(..4))
            .map_or(7200, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        stack.tcp_set_keepalive(h, o.keepalive.then_some(u64::from(idle.min(7200)) * 1000));
    }

    fn report(&self, a: &SocketAddr) -> Vec<u8> {
        encode_inet(self.family, a)
    }

    fn tcp_connect(&self, st: &mut St, dst: SocketAddr) -> Result<(), Errno> {
        match st.tcp {
            Tcp::Idle | Tcp::Done => {}
            Tcp::Connecting(_) => return Err(EALREADY),
            Tcp::Local(_) | Tcp::Remote(_) | Tcp::Listening { .. } => return Err(EISCONN),
        }
        st.error = None;
        if self.is_local(dst.ip()) {
            // Connecting to 0.0.0.0 or :: reaches the loopback address.
            let dst = if dst.ip().is_unspecified() {
                SocketAddr::new(loopback_like(dst.ip()), dst.port())
            } else {
                dst
            };
            let src_ip = if dst.ip().is_loopback() {
                loopback_like(dst.ip())
            } else {
                dst.ip()
            };
            self.autobind(st)?;
            let src = SocketAddr::new(src_ip, Self::bound_port(st));
            let listener = if dst.port() == 0 {
                None
            } else {
                self.net.ports.lock().listener(dst)
            };
            let Some(l) = listener else {
                st.tcp = Tcp::Done;
                return Err(ECONNREFUSED);
            };
            let (mine, theirs) = StreamEnd::pair(LOOP_CAP, true);
            l.backlog.lock().push(LocalPending {
                end: theirs,
                local: dst,
                peer: src,
            });
            st.tcp = Tcp::Local(mine);
            st.local = Some(src);
            st.remote = Some(dst);
            return Ok(());
        }
        let stack = self.net.stack().ok_or(ENETUNREACH)?;
        let src_ip = match st.local {
            Some(a) if !a.ip().is_unspecified() => a.ip(),
            _ => stack.source_for(dst.ip())?,
        };
        self.autobind(st)?;
        let src = SocketAddr::new(src_ip, Self::bound_port(st));
        let h = stack.tcp_connect(src, dst)?;
        self.apply_tcp_opts(&*stack, h);
        st.tcp = Tcp::Connecting(Ext {
            stack,
            h,
            tcp: true,
            abort: false,
        });
        st.local = Some(src);
        st.remote = Some(dst);
        // As Linux: the handshake goes on in the background even if it already finished (a blocking
        // connect looks at `connect_result` before it waits).
        Err(EINPROGRESS)
    }

    fn udp_send(&self, st: &mut St, data: &[u8], dst: SocketAddr) -> Result<usize, Errno> {
        let max = if dst.is_ipv4() { 65507 } else { 65527 };
        if data.len() > max {
            return Err(EMSGSIZE);
        }
        if dst.port() == 0 {
            return Err(EINVAL);
        }
        self.autobind(st)?;
        if self.is_local(dst.ip()) {
            let dst = if dst.ip().is_unspecified() {
                SocketAddr::new(loopback_like(dst.ip()), dst.port())
            } else {
                dst
            };
            let bound_ip = st.local.map(|a| a.ip()).filter(|ip| !ip.is_unspecified());
            let src_ip = bound_ip.unwrap_or(if dst.ip().is_loopback() {
                loopback_like(dst.ip())
            } else {
                dst.ip()
            });
            let src = SocketAddr::new(src_ip, Self::bound_port(st));
            let target = self.net.ports.lock().udp(dst);
            match target {
                Some(t) => t.push(src, data),
                // The ICMP port unreachable that Linux would get: ECONNREFUSED on a connected socket.
                None if st.remote.is_some() => st.error = Some(ECONNREFUSED),
                None => {}
            }
            return Ok(data.len());
        }
        let (stack, h) = self.udp_ext(st)?;
        stack.udp_send(h, data, dst)
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        let abort = self.opts.lock().linger == Some(0);
        let mut st = self.st.lock();
        if let Tcp::Remote(e) | Tcp::Connecting(e) = &mut st.tcp {
            e.abort = abort;
        }
    }
}

impl Socket for InetSocket {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn family(&self) -> u32 {
        self.family
    }
    fn sock_type(&self) -> u32 {
        self.ty
    }
    fn protocol(&self) -> u32 {
        if self.tcp() {
            IPPROTO_TCP
        } else {
            IPPROTO_UDP
        }
    }
    fn opts(&self) -> &Mutex<SockOpts> {
        &self.opts
    }

    fn opts_changed(&self) {
        let st = self.st.lock();
        if let Tcp::Remote(e) | Tcp::Connecting(e) = &st.tcp {
            self.apply_tcp_opts(&*e.stack, e.h);
        }
    }

    fn bind(&self, _cx: &mut Ctx, addr: &[u8]) -> Result<(), Errno> {
        let a = self.parse(addr)?;
        let mut st = self.st.lock();
        self.bind_to(&mut st, a)
    }

    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if !self.tcp() {
            return Err(EOPNOTSUPP);
        }
        let mut st = self.st.lock();
        match &st.tcp {
            Tcp::Idle | Tcp::Done => {}
            Tcp::Listening { local, .. } => {
                local.backlog.lock().max = backlog_of(backlog);
                return Ok(());
            }
            _ => return Err(EINVAL),
        }
        self.autobind(&mut st)?;
        let local_addr = st.local.ok_or(EINVAL)?;
        let local = Arc::new(LocalListener {
            backlog: Mutex::new(Backlog::new(backlog_of(backlog))),
        });
        let id = st.guard.as_ref().map_or(0, |g| g.id);
        self.net
            .ports
            .lock()
            .set_listener(id, Some(Arc::downgrade(&local)));
        let ext = match self.net.stack() {
            Some(stack) if !local_addr.ip().is_loopback() => {
                let n = backlog_of(backlog).clamp(1, 1024);
                stack.tcp_listen(local_addr, n).ok().map(|h| Ext {
                    stack,
                    h,
                    tcp: true,
                    abort: false,
                })
            }
            _ => None,
        };
        st.tcp = Tcp::Listening { local, ext };
        Ok(())
    }

    fn accept(&self) -> Result<(Arc<dyn Socket>, Vec<u8>), Errno> {
        let st = self.st.lock();
        let Tcp::Listening { local, ext } = &st.tcp else {
            return Err(EINVAL);
        };
        let popped = local.backlog.lock().queue.pop_front();
        let (tcp, l, peer) = match popped {
            Some(p) => (Tcp::Local(p.end), p.local, p.peer),
            None => {
                let e = ext.as_ref().ok_or(EAGAIN)?;
                let (h, l, peer) = e.stack.tcp_accept(e.h)?;
                self.apply_tcp_opts(&*e.stack, h);
                (
                    Tcp::Remote(Ext {
                        stack: e.stack.clone(),
                        h,
                        tcp: true,
                        abort: false,
                    }),
                    l,
                    peer,
                )
            }
        };
        drop(st);
        let s = Self::make(self.family, self.ty, tcp);
        *s.opts.lock() = self.opts.lock().clone();
        {
            let mut st = s.st.lock();
            st.local = Some(l);
            st.remote = Some(peer);
        }
        let addr = self.report(&peer);
        Ok((Arc::new(s), addr))
    }

    fn connect(&self, _cx: &mut Ctx, addr: &[u8]) -> Result<(), Errno> {
        // AF_UNSPEC dissolves a UDP association.
        if addr.len() >= 2
            && u32::from(u16::from_le_bytes([addr[0], addr[1]])) == AF_UNSPEC
            && !self.tcp()
        {
            let mut st = self.st.lock();
            st.remote = None;
            *self.udp.remote.lock() = None;
            return Ok(());
        }
        let dst = self.parse(addr)?;
        if self.family == AF_INET6 && dst.is_ipv4() && self.opts.lock().v6only {
            return Err(ENETUNREACH);
        }
        let mut st = self.st.lock();
        if self.tcp() {
            return self.tcp_connect(&mut st, dst);
        }
        self.autobind(&mut st)?;
        st.remote = Some(dst);
        st.error = None;
        *self.udp.remote.lock() = Some(dst);
        // The source address a connected UDP socket reports.
        if st.local.is_some_and(|a| a.ip().is_unspecified()) {
            let port = Self::bound_port(&st);
            let src = if self.is_local(dst.ip()) {
                Some(if is_loopback(dst.ip()) {
                    loopback_like(dst.ip())
                } else {
                    dst.ip()
                })
            } else {
                self.net.stack().and_then(|s| s.source_for(dst.ip()).ok())
            };
            if let Some(ip) = src {
                st.local = Some(SocketAddr::new(ip, port));
            }
        }
        Ok(())
    }

    fn connect_result(&self) -> Option<Result<(), Errno>> {
        let mut st = self.st.lock();
        self.refresh(&mut st);
        match &st.tcp {
            Tcp::Connecting(_) => None,
            Tcp::Done => Some(Err(st.error.take().unwrap_or(ECONNREFUSED))),
            _ => Some(Ok(())),
        }
    }

    fn send(
        &self,
        cx: Option<&mut Ctx>,
        data: &[u8],
        to: Option<&[u8]>,
        _flags: u32,
    ) -> Result<usize, Errno> {
        let _ = cx;
        let mut st = self.st.lock();
        if self.tcp() {
            self.refresh(&mut st);
            if st.shut_wr {
                return Err(EPIPE);
            }
            return match &st.tcp {
                Tcp::Local(end) => end.send(data),
                Tcp::Remote(e) => e.stack.tcp_send(e.h, data),
                Tcp::Connecting(_) => Err(EAGAIN),
                Tcp::Done => Err(st.error.take().unwrap_or(EPIPE)),
                _ => Err(ENOTCONN),
            };
        }
        if st.shut_wr {
            return Err(EPIPE);
        }
        let dst = match to {
            Some(a) => {
                let d = self.parse(a)?;
                if self.family == AF_INET6 && d.is_ipv4() && self.opts.lock().v6only {
                    return Err(ENETUNREACH);
                }
                d
            }
            None => st.remote.ok_or(EDESTADDRREQ)?,
        };
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        self.udp_send(&mut st, data, dst)
    }

    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        let peek = flags & MSG_PEEK != 0;
        let mut st = self.st.lock();
        if self.tcp() {
            self.refresh(&mut st);
            if st.shut_rd {
                return Ok(Received::default());
            }
            let n = match &st.tcp {
                Tcp::Local(end) => end.recv(buf, peek)?,
                Tcp::Remote(e) => e.stack.tcp_recv(e.h, buf, peek)?,
                Tcp::Connecting(_) => return Err(EAGAIN),
                Tcp::Done => match st.error.take() {
                    Some(e) => return Err(e),
                    None => 0,
                },
                _ => return Err(ENOTCONN),
            };
            return Ok(Received {
                len: n,
                full: n,
                from: None,
            });
        }
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        if let Some((n, full, from)) = self.udp.pop(buf, peek) {
            return Ok(Received {
                len: n,
                full,
                from: Some(self.report(&from)),
            });
        }
        if let Some(e) = &st.udp_ext {
            loop {
                let (n, full, from) = e.stack.udp_recv(e.h, buf, peek)?;
                if st.remote.is_some_and(|r| r != from) {
                    if peek {
                        let _ = e.stack.udp_recv(e.h, &mut [], false);
                    }
                    continue;
                }
                return Ok(Received {
                    len: n,
                    full,
                    from: Some(self.report(&from)),
                });
            }
        }
        if st.shut_rd {
            return Ok(Received::default());
        }
        Err(EAGAIN)
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        if how > SHUT_RDWR {
            return Err(EINVAL);
        }
        let mut st = self.st.lock();
        if self.tcp() {
            self.refresh(&mut st);
            match &st.tcp {
                Tcp::Local(end) => {
                    if how != SHUT_RD {
                        end.shutdown_write();
                    }
                    if how != SHUT_WR {
                        end.shutdown_read();
                    }
                }
                Tcp::Remote(e) => {
                    if how != SHUT_RD {
                        e.stack.tcp_shutdown(e.h);
                    }
                }
                Tcp::Listening { .. } => return Ok(()),
                _ => return Err(ENOTCONN),
            }
        } else if st.remote.is_none() {
            return Err(ENOTCONN);
        }
        if how != SHUT_WR {
            st.shut_rd = true;
        }
        if how != SHUT_RD {
            st.shut_wr = true;
        }
        Ok(())
    }

    fn sockname(&self) -> Vec<u8> {
        let st = self.st.lock();
        let a = st
            .local
            .unwrap_or_else(|| super::addr::any_addr(self.family));
        self.report(&a)
    }

    fn peername(&self) -> Result<Vec<u8>, Errno> {
        let st = self.st.lock();
        let connected = if self.tcp() {
            matches!(st.tcp, Tcp::Local(_) | Tcp::Remote(_))
        } else {
            st.remote.is_some()
        };
        match st.remote {
            Some(r) if connected => Ok(self.report(&r)),
            _ => Err(ENOTCONN),
        }
    }

    fn generation(&self) -> u64 {
        let st = self.st.lock();
        let own = match &st.tcp {
            Tcp::Local(end) => end.generation(),
            Tcp::Remote(e) => e.stack.generation(e.h),
            Tcp::Listening { local, ext } => {
                local.backlog.lock().arrived + ext.as_ref().map_or(0, |e| e.stack.generation(e.h))
            }
            _ if !self.tcp() => {
                self.udp.arrived.load(Ordering::Relaxed)
                    + st.udp_ext.as_ref().map_or(0, |e| e.stack.generation(e.h))
            }
            _ => 0,
        };
        own.wrapping_add(self.again.count())
    }

    fn note_again(&self) {
        self.again.note();
    }

    fn poll(&self) -> u32 {
        let mut st = self.st.lock();
        let out = g::POLLOUT | g::POLLWRNORM;
        let err = if st.error.is_some() { g::POLLERR } else { 0 };
        if !self.tcp() {
            let mut bits = out | err;
            let ext_ready = st
                .udp_ext
                .as_ref()
                .is_some_and(|e| e.stack.udp_pending(e.h).is_some());
            if !self.udp.queue.lock().is_empty() || ext_ready || st.shut_rd {
                bits |= g::POLLIN | g::POLLRDNORM;
            }
            return bits;
        }
        self.refresh(&mut st);
        let err = if st.error.is_some() { g::POLLERR } else { 0 };
        let mut bits = match &st.tcp {
            Tcp::Idle => out | g::POLLHUP,
            Tcp::Done => out | g::POLLHUP,
            Tcp::Listening { local, ext } => {
                let ready = !local.backlog.lock().queue.is_empty()
                    || ext.as_ref().is_some_and(|e| e.stack.tcp_acceptable(e.h));
                if ready {
                    g::POLLIN | g::POLLRDNORM
                } else {
                    0
                }
            }
            Tcp::Connecting(_) => 0,
            Tcp::Local(end) => end.poll().bits,
            Tcp::Remote(e) => {
                let i = e.stack.tcp_info(e.h);
                let mut b = 0;
                if i.readable > 0 || i.peer_closed || i.phase == TcpPhase::Closed {
                    b |= g::POLLIN | g::POLLRDNORM;
                }
                if i.peer_closed || i.phase == TcpPhase::Closed {
                    b |= g::POLLRDHUP;
                }
                if i.writable || i.phase == TcpPhase::Closed {
                    b |= out;
                }
                if i.phase == TcpPhase::Closed || (i.peer_closed && st.shut_wr) {
                    b |= g::POLLHUP;
                }
                if i.error.is_some() {
                    b |= g::POLLERR;
                }
                b
            }
        };
        if st.shut_rd {
            bits |= g::POLLIN | g::POLLRDNORM | g::POLLRDHUP;
        }
        if st.shut_rd && st.shut_wr {
            bits |= g::POLLHUP;
        }
        bits | err
    }

    fn take_error(&self) -> Option<Errno> {
        let mut st = self.st.lock();
        self.refresh(&mut st);
        st.error.take()
    }

    fn is_listening(&self) -> bool {
        matches!(self.st.lock().tcp, Tcp::Listening { .. })
    }

    fn nread(&self) -> usize {
        let st = self.st.lock();
        if !self.tcp() {
            if let Some((_, d)) = self.udp.queue.lock().front() {
                return d.len();
            }
            return st
                .udp_ext
                .as_ref()
                .and_then(|e| e.stack.udp_pending(e.h))
                .unwrap_or(0);
        }
        match &st.tcp {
            Tcp::Local(end) => end.available(),
            Tcp::Remote(e) => e.stack.tcp_info(e.h).readable,
            _ => 0,
        }
    }

    fn can_read_all(&self, want: usize) -> bool {
        let st = self.st.lock();
        match &st.tcp {
            Tcp::Local(end) => end.available() >= want.min(LOOP_CAP) || end.at_eof(),
            Tcp::Remote(e) => {
                let i = e.stack.tcp_info(e.h);
                i.readable >= want.min(64 << 10) || i.peer_closed || i.phase == TcpPhase::Closed
            }
            _ => true,
        }
    }
}

/// The unspecified IPv4 address (for tests and callers that build addresses).
pub const ANY_V4: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
