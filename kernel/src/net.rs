//! The network: smoltcp over virtio-net, as kernel-core's `NetStack`. Interface configuration comes from
//! the kernel option `net=IP/PREFIX[,GATEWAY]` (default `10.0.2.15/24,10.0.2.2`, QEMU user networking's
//! addresses) or `net=none`. ARP and ICMP echo replies are smoltcp's. Loopback never comes here: the
//! socket layer keeps it in kernel-core.
//!
//! The stack is polled after every socket operation, from the idle loop and on the device's interrupt;
//! when a poll changed some socket's state, `EVENTS` moves, which wakes waiting threads (they look again).
//!
//! A listening socket is a pool of smoltcp sockets in LISTEN (smoltcp has no backlog): each one that
//! receives a SYN moves to the listener's pending list and a fresh one takes its place.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::sync::atomic::{AtomicU64, Ordering};

use kernel_core::errno::Errno;
use kernel_core::net::consts::*;
use kernel_core::net::stack::{Handle, NetStack, TcpInfo, TcpPhase};
use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint};
use spin::Mutex;

use crate::arch::virtio_net::{self, NetDevice};

/// Moves whenever a poll changed the state of some socket.
static EVENTS: AtomicU64 = AtomicU64::new(0);

const TCP_BUF: usize = 64 << 10;
const UDP_PACKETS: usize = 64;
const UDP_BYTES: usize = 128 << 10;
/// Listening sockets kept ready per listener.
const POOL_MAX: usize = 32;
/// How long a connect may wait for an answer.
const CONNECT_TIMEOUT_NS: u64 = 75_000_000_000;
/// How long a closed connection may take to finish before it is dropped.
const LINGER_NS: u64 = 60_000_000_000;

struct TcpMeta {
    sh: SocketHandle,
    /// Set while connecting: when the connect began.
    connect_start: Option<u64>,
    established: bool,
    saw_fin: bool,
    reset_reported: bool,
    timed_out: bool,
}

struct Listener {
    local: IpListenEndpoint,
    pool: Vec<SocketHandle>,
    pending: Vec<SocketHandle>,
    /// Listening sockets kept ready.
    size: usize,
    /// Connections that may wait for accept.
    backlog: usize,
}

enum Entry {
    Tcp(TcpMeta),
    Listener(Listener),
    Udp(SocketHandle),
}

struct Inner {
    iface: Box<Interface>,
    dev: Box<NetDevice>,
    sockets: SocketSet<'static>,
    entries: Vec<Option<Entry>>,
    /// Closed connections finishing their FIN (or RST) exchange: (socket, drop deadline).
    closing: Vec<(SocketHandle, u64)>,
}

static STACK: Mutex<Option<Box<Inner>>> = Mutex::new(None);

/// The count waiting threads compare (see `sched::events`).
pub fn events() -> u64 {
    EVENTS.load(Ordering::Relaxed)
}

fn now_ns() -> u64 {
    crate::platform::monotonic_ns()
}

fn now() -> Instant {
    Instant::from_micros((now_ns() / 1000) as i64)
}

/// Parse `IP/PREFIX[,GATEWAY]`.
fn parse_config(v: &str) -> Option<(Ipv4Addr, u8, Option<Ipv4Addr>)> {
    let (cidr, gw) = match v.split_once(',') {
        Some((c, g)) => (c, Some(g.parse().ok()?)),
        None => (v, None),
    };
    let (ip, prefix) = cidr.split_once('/').unwrap_or((cidr, "24"));
    Some((
        ip.parse().ok()?,
        prefix.parse().ok().filter(|p| *p <= 32)?,
        gw,
    ))
}

/// What `init` found, started on first use (on a syscall or thread stack: the boot stack is too small
/// for the device's queues).
struct Pending {
    found: virtio_net::Found,
    ip: Ipv4Addr,
    prefix: u8,
    gw: Option<Ipv4Addr>,
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

/// Find the virtio-net device and read the interface configuration (nothing happens without a device).
pub fn init(cmdline: &[u8]) {
    let cmd = kernel_core::cmdline::Cmdline::parse(cmdline);
    let opt = cmd.value("net").unwrap_or("10.0.2.15/24,10.0.2.2");
    if opt == "none" {
        return;
    }
    let Some(found) = virtio_net::probe(&cmd.devices) else {
        return;
    };
    let Some((ip, prefix, gw)) = parse_config(opt) else {
        crate::log(&alloc::format!(
            "nutshell: net={opt}: expected IP/PREFIX[,GATEWAY] or none"
        ));
        return;
    };
    *PENDING.lock() = Some(Pending {
        found,
        ip,
        prefix,
        gw,
    });
    kernel_core::net::set_stack(Arc::new(KernelStack));
}

/// Start the device and the interface if `init` found one and they are not up yet.
fn ensure_up(slot: &mut Option<Box<Inner>>) {
    if slot.is_some() {
        return;
    }
    let Some(p) = PENDING.lock().take() else {
        return;
    };
    let irq = p.found.irq;
    let Some(dev) = virtio_net::start(p.found) else {
        return;
    };
    *slot = Some(bring_up(dev, p.ip, p.prefix, p.gw));
    virtio_net::route_irq(irq);
    crate::log_at(
        crate::LOG_DEBUG,
        &alloc::format!(
            "nutshell: net: {}/{} via {:?}, irq {irq}",
            p.ip,
            p.prefix,
            p.gw
        ),
    );
}

/// The interface and its sockets, on the heap.
#[inline(never)]
fn bring_up(mut dev: Box<NetDevice>, ip: Ipv4Addr, prefix: u8, gw: Option<Ipv4Addr>) -> Box<Inner> {
    let mut config = Config::new(EthernetAddress(dev.mac()).into());
    config.random_seed = crate::platform::random_u64();
    let mut iface = Box::new(Interface::new(config, &mut *dev, now()));
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::new(IpAddress::Ipv4(ip), prefix));
    });
    if let Some(gw) = gw {
        let _ = iface.routes_mut().add_default_ipv4_route(gw);
    }
    dev.enable_interrupts();
    Box::new(Inner {
        iface,
        dev,
        sockets: SocketSet::new(vec![]),
        entries: Vec::new(),
        closing: Vec::new(),
    })
}

/// Run the stack: receive, send, timers. Returns whether some socket changed.
pub fn poll() -> bool {
    let Some(mut g) = STACK.try_lock() else {
        return false;
    };
    ensure_up(&mut g);
    let Some(s) = g.as_mut() else { return false };
    s.poll()
}

/// The device interrupt: acknowledge it and run the stack.
pub fn on_interrupt() {
    let Some(mut g) = STACK.try_lock() else {
        return;
    };
    let Some(s) = g.as_mut() else { return };
    s.dev.ack_interrupt();
    s.poll();
}

impl Inner {
    fn poll(&mut self) -> bool {
        // One received packet at a time, refilling the listeners' pools in between: a burst of SYNs
        // must not find a port without a listening socket (smoltcp would answer with a reset).
        let t = now();
        self.iface.poll_maintenance(t);
        let mut changed = false;
        for _ in 0..256 {
            match self
                .iface
                .poll_ingress_single(t, &mut *self.dev, &mut self.sockets)
            {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => {
                    changed = true;
                    self.maintain();
                }
            }
        }
        if self.iface.poll_egress(t, &mut *self.dev, &mut self.sockets)
            == PollResult::SocketStateChanged
        {
            changed = true;
        }
        if self.maintain() {
            changed = true;
        }
        if changed {
            EVENTS.fetch_add(1, Ordering::Relaxed);
        }
        changed
    }

    /// Refill listener pools, drop finished connections. Returns whether anything moved.
    fn maintain(&mut self) -> bool {
        let mut moved = false;
        let t = now_ns();
        let sockets = &mut self.sockets;
        self.closing.retain(|&(sh, deadline)| {
            let st = sockets.get::<tcp::Socket>(sh).state();
            let done = st == tcp::State::Closed || t >= deadline;
            if done {
                sockets.remove(sh);
            }
            !done
        });
        for e in self.entries.iter_mut().flatten() {
            let Entry::Listener(l) = e else { continue };
            let mut i = 0;
            while i < l.pool.len() {
                let sh = l.pool[i];
                if sockets.get::<tcp::Socket>(sh).state() != tcp::State::Listen {
                    l.pool.swap_remove(i);
                    l.pending.push(sh);
                    moved = true;
                } else {
                    i += 1;
                }
            }
            // A handshake reset puts the socket back to LISTEN; a closed one is gone.
            let mut k = 0;
            while k < l.pending.len() {
                let sh = l.pending[k];
                match sockets.get::<tcp::Socket>(sh).state() {
                    tcp::State::Listen => {
                        l.pending.swap_remove(k);
                        l.pool.push(sh);
                    }
                    tcp::State::Closed => {
                        l.pending.swap_remove(k);
                        sockets.remove(sh);
                    }
                    _ => k += 1,
                }
            }
            while l.pool.len() < l.size && l.pending.len() < l.backlog {
                let mut s = new_tcp();
                if s.listen(l.local).is_err() {
                    break;
                }
                l.pool.push(sockets.add(s));
            }
        }
        moved
    }

    fn add(&mut self, e: Entry) -> Handle {
        if let Some(i) = self.entries.iter().position(Option::is_none) {
            self.entries[i] = Some(e);
            return i as Handle;
        }
        self.entries.push(Some(e));
        (self.entries.len() - 1) as Handle
    }

    fn tcp(&mut self, h: Handle) -> Option<(&mut TcpMeta, &mut tcp::Socket<'static>)> {
        let Some(Some(Entry::Tcp(m))) = self.entries.get_mut(h as usize) else {
            return None;
        };
        let s = self.sockets.get_mut::<tcp::Socket>(m.sh);
        Some((m, s))
    }

    fn udp(&mut self, h: Handle) -> Option<&mut udp::Socket<'static>> {
        let Some(Some(Entry::Udp(sh))) = self.entries.get(h as usize) else {
            return None;
        };
        let sh = *sh;
        Some(self.sockets.get_mut::<udp::Socket>(sh))
    }
}

fn new_tcp() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_BUF]),
        tcp::SocketBuffer::new(vec![0; TCP_BUF]),
    );
    s.set_ack_delay(Some(Duration::from_millis(10)));
    s
}

fn listen_endpoint(a: SocketAddr) -> IpListenEndpoint {
    IpListenEndpoint {
        addr: (!a.ip().is_unspecified()).then(|| a.ip().into()),
        port: a.port(),
    }
}

/// Update what the metadata learned from the socket's state.
fn observe(m: &mut TcpMeta, s: &tcp::Socket) {
    use tcp::State::*;
    match s.state() {
        Established | FinWait1 | FinWait2 => m.established = true,
        CloseWait | LastAck | Closing | TimeWait => {
            m.established = true;
            m.saw_fin = true;
        }
        _ => {}
    }
    if m.established {
        m.connect_start = None;
    }
}

/// kernel-core's view of the stack.
struct KernelStack;

fn with<R>(f: impl FnOnce(&mut Inner) -> R) -> R {
    let mut g = STACK.lock();
    ensure_up(&mut g);
    let s = g
        .as_mut()
        .expect("the network stack exists once registered");
    f(s)
}

impl NetStack for KernelStack {
    fn is_local_addr(&self, ip: IpAddr) -> bool {
        with(|s| s.iface.has_ip_addr(ip))
    }

    fn addrs(&self) -> Vec<IpAddr> {
        with(|s| {
            s.iface
                .ip_addrs()
                .iter()
                .map(|c| c.address().into())
                .collect()
        })
    }

    fn source_for(&self, dst: IpAddr) -> Result<IpAddr, Errno> {
        with(|s| match dst {
            IpAddr::V4(_) => s.iface.ipv4_addr().map(IpAddr::V4).ok_or(ENETUNREACH),
            IpAddr::V6(_) => Err(ENETUNREACH),
        })
    }

    fn tcp_listen(&self, local: SocketAddr, backlog: usize) -> Result<Handle, Errno> {
        with(|s| {
            let ep = listen_endpoint(local);
            let size = POOL_MAX;
            let h = s.add(Entry::Listener(Listener {
                local: ep,
                pool: Vec::new(),
                pending: Vec::new(),
                size,
                backlog: backlog.clamp(64, 128),
            }));
            s.maintain();
            Ok(h)
        })
    }

    fn tcp_accept(&self, l: Handle) -> Result<(Handle, SocketAddr, SocketAddr), Errno> {
        with(|s| {
            s.poll();
            let Some(Some(Entry::Listener(lst))) = s.entries.get_mut(l as usize) else {
                return Err(EINVAL);
            };
            let idx = lst.pending.iter().position(|sh| {
                let st = s.sockets.get::<tcp::Socket>(*sh).state();
                !matches!(
                    st,
                    tcp::State::SynReceived | tcp::State::Listen | tcp::State::Closed
                )
            });
            let Some(i) = idx else { return Err(EAGAIN) };
            let sh = lst.pending.swap_remove(i);
            let sock = s.sockets.get::<tcp::Socket>(sh);
            let local: SocketAddr = sock.local_endpoint().ok_or(EAGAIN)?.into();
            let remote: SocketAddr = sock.remote_endpoint().ok_or(EAGAIN)?.into();
            let mut m = TcpMeta {
                sh,
                connect_start: None,
                established: true,
                saw_fin: false,
                reset_reported: false,
                timed_out: false,
            };
            observe(&mut m, sock);
            let h = s.add(Entry::Tcp(m));
            s.maintain();
            Ok((h, local, remote))
        })
    }

    fn tcp_acceptable(&self, l: Handle) -> bool {
        with(|s| {
            let Some(Some(Entry::Listener(lst))) = s.entries.get(l as usize) else {
                return false;
            };
            lst.pending.iter().any(|sh| {
                !matches!(
                    s.sockets.get::<tcp::Socket>(*sh).state(),
                    tcp::State::SynReceived | tcp::State::Listen | tcp::State::Closed
                )
            })
        })
    }

    fn tcp_connect(&self, local: SocketAddr, remote: SocketAddr) -> Result<Handle, Errno> {
        with(|s| {
            let mut sock = new_tcp();
            let remote_ep: IpEndpoint = remote.into();
            sock.connect(s.iface.context(), remote_ep, local.port())
                .map_err(|e| match e {
                    tcp::ConnectError::Unaddressable => ENETUNREACH,
                    tcp::ConnectError::InvalidState => EISCONN,
                })?;
            let sh = s.sockets.add(sock);
            let h = s.add(Entry::Tcp(TcpMeta {
                sh,
                connect_start: Some(now_ns()),
                established: false,
                saw_fin: false,
                reset_reported: false,
                timed_out: false,
            }));
            s.poll();
            Ok(h)
        })
    }

    fn tcp_info(&self, h: Handle) -> TcpInfo {
        with(|s| {
            let closed = TcpInfo {
                phase: TcpPhase::Closed,
                readable: 0,
                writable: false,
                peer_closed: true,
                error: None,
            };
            let Some((m, sock)) = s.tcp(h) else {
                return closed;
            };
            observe(m, sock);
            if let Some(start) = m.connect_start {
                if sock.state() == tcp::State::SynSent && now_ns() - start > CONNECT_TIMEOUT_NS {
                    sock.abort();
                    m.timed_out = true;
                }
            }
            let st = sock.state();
            let phase = match st {
                tcp::State::SynSent | tcp::State::SynReceived => TcpPhase::Connecting,
                tcp::State::Closed | tcp::State::Listen
                    if !m.established || sock.recv_queue() == 0 =>
                {
                    TcpPhase::Closed
                }
                _ => TcpPhase::Established,
            };
            let error = if phase != TcpPhase::Closed {
                None
            } else if m.timed_out {
                Some(ETIMEDOUT)
            } else if !m.established {
                Some(ECONNREFUSED)
            } else if !m.saw_fin && !m.reset_reported {
                Some(ECONNRESET)
            } else {
                None
            };
            TcpInfo {
                phase,
                readable: sock.recv_queue(),
                writable: sock.can_send(),
                peer_closed: m.saw_fin || (m.established && !sock.may_recv()),
                error,
            }
        })
    }

    fn tcp_send(&self, h: Handle, data: &[u8]) -> Result<usize, Errno> {
        // Try, flush, and try again if the flush made room: EAGAIN must reflect the state after the
        // last poll, or a waiter could miss the change that made room.
        let mut r = Err(EAGAIN);
        for _ in 0..2 {
            r = with(|s| {
                s.poll();
                let (m, sock) = s.tcp(h).ok_or(EBADF)?;
                observe(m, sock);
                if !sock.may_send() {
                    return Err(
                        if sock.state() == tcp::State::Closed && m.established && !m.saw_fin {
                            ECONNRESET
                        } else {
                            EPIPE
                        },
                    );
                }
                let r = match sock.send_slice(data) {
                    Ok(0) => Err(EAGAIN),
                    Ok(n) => Ok(n),
                    Err(_) => Err(EPIPE),
                };
                s.poll();
                r
            });
            if r != Err(EAGAIN) {
                break;
            }
        }
        r
    }

    fn tcp_recv(&self, h: Handle, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        let r = with(|s| {
            s.poll();
            let (m, sock) = s.tcp(h).ok_or(EBADF)?;
            observe(m, sock);
            if sock.recv_queue() > 0 {
                let n = if peek {
                    sock.peek_slice(buf)
                } else {
                    sock.recv_slice(buf)
                };
                return n.map_err(|_| EAGAIN);
            }
            if sock.may_recv() {
                return Err(EAGAIN);
            }
            if sock.state() == tcp::State::Closed
                && m.established
                && !m.saw_fin
                && !m.reset_reported
            {
                m.reset_reported = true;
                return Err(ECONNRESET);
            }
            Ok(0)
        });
        if matches!(r, Ok(n) if n > 0) && !peek {
            // The window opened: let the peer know.
            poll();
        }
        r
    }

    fn tcp_shutdown(&self, h: Handle) {
        with(|s| {
            if let Some((_, sock)) = s.tcp(h) {
                sock.close();
            }
        });
        poll();
    }

    fn tcp_set_nodelay(&self, h: Handle, on: bool) {
        with(|s| {
            if let Some((_, sock)) = s.tcp(h) {
                sock.set_nagle_enabled(!on);
            }
        })
    }

    fn tcp_set_keepalive(&self, h: Handle, interval_ms: Option<u64>) {
        with(|s| {
            if let Some((_, sock)) = s.tcp(h) {
                sock.set_keep_alive(interval_ms.map(Duration::from_millis));
            }
        })
    }

    fn tcp_close(&self, h: Handle, abort: bool) {
        with(|s| {
            let Some(e) = s.entries.get_mut(h as usize).and_then(Option::take) else {
                return;
            };
            let deadline = now_ns() + LINGER_NS;
            match e {
                Entry::Tcp(m) => {
                    let sock = s.sockets.get_mut::<tcp::Socket>(m.sh);
                    // Unread data makes Linux reset the connection.
                    if abort || sock.recv_queue() > 0 {
                        sock.abort();
                    } else {
                        sock.close();
                    }
                    s.closing.push((m.sh, deadline));
                }
                Entry::Listener(l) => {
                    for sh in l.pool {
                        s.sockets.remove(sh);
                    }
                    for sh in l.pending {
                        s.sockets.get_mut::<tcp::Socket>(sh).abort();
                        s.closing.push((sh, deadline));
                    }
                }
                Entry::Udp(sh) => {
                    s.sockets.remove(sh);
                }
            }
            s.poll();
        })
    }

    fn udp_bind(&self, local: SocketAddr) -> Result<Handle, Errno> {
        with(|s| {
            let rx = udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
                vec![0; UDP_BYTES],
            );
            let tx = udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
                vec![0; UDP_BYTES],
            );
            let mut sock = udp::Socket::new(rx, tx);
            sock.bind(listen_endpoint(local)).map_err(|_| EINVAL)?;
            let sh = s.sockets.add(sock);
            Ok(s.add(Entry::Udp(sh)))
        })
    }

    fn udp_send(&self, h: Handle, data: &[u8], to: SocketAddr) -> Result<usize, Errno> {
        let mut r = Err(EAGAIN);
        for _ in 0..2 {
            r = with(|s| {
                let sock = s.udp(h).ok_or(EBADF)?;
                let ep: IpEndpoint = to.into();
                let r = match sock.send_slice(data, ep) {
                    Ok(()) => Ok(data.len()),
                    Err(udp::SendError::BufferFull) => Err(EAGAIN),
                    Err(udp::SendError::Unaddressable) => Err(ENETUNREACH),
                };
                s.poll();
                r
            });
            if r != Err(EAGAIN) {
                break;
            }
        }
        r
    }

    fn udp_recv(
        &self,
        h: Handle,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<(usize, usize, SocketAddr), Errno> {
        with(|s| {
            s.poll();
            let sock = s.udp(h).ok_or(EBADF)?;
            let (n, full, from) = {
                let (data, meta) = sock.peek().map_err(|_| EAGAIN)?;
                let n = buf.len().min(data.len());
                buf[..n].copy_from_slice(&data[..n]);
                (n, data.len(), SocketAddr::from(meta.endpoint))
            };
            if !peek {
                let _ = sock.recv();
            }
            Ok((n, full, from))
        })
    }

    fn udp_pending(&self, h: Handle) -> Option<usize> {
        with(|s| {
            let sock = s.udp(h)?;
            sock.peek().ok().map(|(d, _)| d.len())
        })
    }

    fn udp_close(&self, h: Handle) {
        with(|s| {
            if let Some(Entry::Udp(sh)) = s.entries.get_mut(h as usize).and_then(Option::take) {
                s.sockets.remove(sh);
            }
        })
    }
}
