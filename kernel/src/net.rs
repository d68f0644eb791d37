//! The network: smoltcp over virtio-net, as kernel-core's `NetStack`. Interface configuration comes from
//! kernel options:
//! - `net=IP/PREFIX[,GATEWAY]` (default `10.0.2.15/24,10.0.2.2`, QEMU user networking's addresses),
//!   `net=dhcp` or `net=none` (no network at all, IPv6 included). With `dhcp`, smoltcp's DHCPv4 client
//!   sets the address, prefix, default route and DNS servers (for the default `/etc/resolv.conf`); it
//!   starts at boot, and a socket operation that needs an address waits for the first lease, up to
//!   `DHCP_WAIT_NS` after DHCP began (then once: "nutshell: net: no DHCP lease after 5s").
//! - `net6=IP6/PREFIX[,GATEWAY6]` or `net6=none`. Without `net6` and `net` (QEMU user networking), IPv6
//!   is slirp's: `fec0::15/64` via `fec0::2` (which slirp maps to the host's `::1`). A link-local address
//!   (EUI-64 of the MAC) comes with any IPv6 address. (QEMU 7.2's `hostfwd` takes IPv4 addresses only:
//!   the host cannot reach a guest server over IPv6 through slirp.)
//!
//! ARP, NDP and ICMP echo replies are smoltcp's. Loopback never comes here: the socket layer keeps it in
//! kernel-core.
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
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel_core::errno::Errno;
use kernel_core::net::consts::*;
use kernel_core::net::stack::{Handle, NetStack, TcpInfo, TcpPhase};
use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint, Ipv4Cidr};
use spin::Mutex;

use crate::arch::virtio_net::{self, NetDevice};

/// Moves whenever a poll changed the state of some socket.
static EVENTS: AtomicU64 = AtomicU64::new(0);

const TCP_BUF: usize = 64 << 10;
const UDP_PACKETS: usize = 64;
const UDP_BYTES: usize = 128 << 10;
/// The largest backlog honoured (each waiting connection holds two `TCP_BUF` buffers).
const BACKLOG_MAX: usize = 512;
/// Listening sockets kept ready per listener.
const POOL_MAX: usize = 32;
/// How long a connect may wait for an answer.
const CONNECT_TIMEOUT_NS: u64 = 75_000_000_000;
/// How long a connection stays in TIME-WAIT.
const TIME_WAIT_NS: u64 = 200_000_000;
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
    /// Bytes ever received by the program, and ever queued to send (with smoltcp's queues, the
    /// totals received and acknowledged: the generation edge-triggered epoll compares).
    consumed: u64,
    queued: u64,
    /// TCP_CORK: sends queue without running the stack; the uncork sends.
    corked: bool,
}

struct Listener {
    local: IpListenEndpoint,
    pool: Vec<SocketHandle>,
    pending: Vec<SocketHandle>,
    /// Listening sockets kept ready.
    size: usize,
    /// Connections that may wait for accept.
    backlog: usize,
    /// Connections that ever became acceptable (the listener's generation), and how many pending
    /// ones were acceptable when last counted.
    ready_events: u64,
    ready_now: usize,
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
    /// The DHCPv4 client, with `net=dhcp`.
    dhcp: Option<SocketHandle>,
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

/// How long socket operations wait for the first DHCP lease, from when DHCP began.
const DHCP_WAIT_NS: u64 = 5_000_000_000;
/// How often DHCP discovery is tried again (smoltcp's default is 10 s).
const DHCP_DISCOVER_RETRY: Duration = Duration::from_secs(2);

/// Set while DHCP has not given a first lease.
static AWAITING_LEASE: AtomicBool = AtomicBool::new(false);
/// When the wait for the first lease ends (monotonic ns; 0: DHCP not started).
static DHCP_DEADLINE: AtomicU64 = AtomicU64::new(0);
/// The missing lease was reported.
static DHCP_WARNED: AtomicBool = AtomicBool::new(false);

/// Parse `IP/PREFIX[,GATEWAY]` (PREFIX defaults to `default_prefix`) for IPv4 or IPv6.
fn parse_config<A: core::str::FromStr>(
    v: &str,
    max_prefix: u8,
    default_prefix: u8,
) -> Option<(A, u8, Option<A>)> {
    let (cidr, gw) = match v.split_once(',') {
        Some((c, g)) => (c, Some(g.parse().ok()?)),
        None => (v, None),
    };
    let (ip, prefix) = match cidr.split_once('/') {
        Some((ip, p)) => (ip, p.parse().ok().filter(|p| *p <= max_prefix)?),
        None => (cidr, default_prefix),
    };
    Some((ip.parse().ok()?, prefix, gw))
}

/// The IPv4 configuration.
enum V4Config {
    Static {
        ip: Ipv4Addr,
        prefix: u8,
        gw: Option<Ipv4Addr>,
    },
    Dhcp,
}

/// The IPv6 configuration: address, prefix, gateway.
type V6Config = (Ipv6Addr, u8, Option<Ipv6Addr>);

/// QEMU user networking's IPv6 (slirp's default prefix `fec0::/64`, its host at `::2`).
const SLIRP_V6: V6Config = (
    Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0x15),
    64,
    Some(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 2)),
);

/// What `init` found, started on first use (on a syscall or thread stack: the boot stack is too small
/// for the device's queues), or with DHCP at once, on a stack of its own.
struct Pending {
    found: virtio_net::Found,
    v4: V4Config,
    v6: Option<V6Config>,
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

/// Find the virtio-net device and read the interface configuration (nothing happens without a device).
/// With DHCP, the device starts now, so that the lease may be there when the program needs it.
pub fn init(cmdline: &[u8]) {
    let cmd = kernel_core::cmdline::Cmdline::parse(cmdline);
    let net = cmd.value("net");
    let opt = net.unwrap_or("10.0.2.15/24,10.0.2.2");
    if opt == "none" {
        return;
    }
    let Some(found) = virtio_net::probe(&cmd.devices) else {
        return;
    };
    let v4 = if opt == "dhcp" {
        V4Config::Dhcp
    } else if let Some((ip, prefix, gw)) = parse_config(opt, 32, 24) {
        V4Config::Static { ip, prefix, gw }
    } else {
        crate::log(&alloc::format!(
            "nutshell: net={opt}: expected IP/PREFIX[,GATEWAY], dhcp or none"
        ));
        return;
    };
    let v6 = match cmd.value("net6") {
        Some("none") => None,
        Some(o) => match parse_config(o, 128, 64) {
            Some(c) => Some(c),
            None => {
                crate::log(&alloc::format!(
                    "nutshell: net6={o}: expected IP6/PREFIX[,GATEWAY6] or none"
                ));
                return;
            }
        },
        None if net.is_none() => Some(SLIRP_V6),
        None => None,
    };
    let dhcp = matches!(v4, V4Config::Dhcp);
    *PENDING.lock() = Some(Pending { found, v4, v6 });
    kernel_core::net::set_stack(Arc::new(KernelStack));
    if dhcp {
        AWAITING_LEASE.store(true, Ordering::Relaxed);
        kernel_core::vfs::set_nameservers(&[]);
        on_own_stack(start_now);
    }
}

/// Start the device and the interface, and send what is due (the first DHCP discovery).
extern "C" fn start_now() {
    let mut g = STACK.lock();
    ensure_up(&mut g);
    if let Some(s) = g.as_mut() {
        s.poll();
    }
}

/// Run `f` on a stack of its own, on the heap (the boot stack is too small to start the device).
fn on_own_stack(f: extern "C" fn()) {
    let mut stack = vec![0u8; 256 << 10];
    crate::arch::cpu::call_on_stack(&mut stack, f);
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
        AWAITING_LEASE.store(false, Ordering::Relaxed);
        return;
    };
    let msg = match &p.v4 {
        V4Config::Static { ip, prefix, gw } => alloc::format!("{ip}/{prefix} via {gw:?}"),
        V4Config::Dhcp => alloc::string::String::from("DHCP"),
    };
    *slot = Some(bring_up(dev, p.v4, p.v6));
    virtio_net::route_irq(irq);
    crate::log_at(
        crate::LOG_DEBUG,
        &alloc::format!("nutshell: net: {msg}, IPv6 {:?}, irq {irq}", p.v6),
    );
}

/// The EUI-64 link-local address of a MAC address.
fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8..11].copy_from_slice(&[mac[0] ^ 2, mac[1], mac[2]]);
    a[11] = 0xff;
    a[12] = 0xfe;
    a[13..].copy_from_slice(&mac[3..]);
    Ipv6Addr::from(a)
}

/// The interface and its sockets, on the heap.
#[inline(never)]
fn bring_up(mut dev: Box<NetDevice>, v4: V4Config, v6: Option<V6Config>) -> Box<Inner> {
    let mac = dev.mac();
    let mut config = Config::new(EthernetAddress(mac).into());
    config.random_seed = crate::platform::random_u64();
    let mut iface = Box::new(Interface::new(config, &mut *dev, now()));
    iface.update_ip_addrs(|a| {
        if let V4Config::Static { ip, prefix, .. } = v4 {
            let _ = a.push(IpCidr::new(IpAddress::Ipv4(ip), prefix));
        }
        if let Some((ip, prefix, _)) = v6 {
            let _ = a.push(IpCidr::new(IpAddress::Ipv6(ip), prefix));
            let _ = a.push(IpCidr::new(IpAddress::Ipv6(link_local(mac)), 64));
        }
    });
    if let V4Config::Static { gw: Some(gw), .. } = v4 {
        let _ = iface.routes_mut().add_default_ipv4_route(gw);
    }
    if let Some((_, _, Some(gw))) = v6 {
        let _ = iface.routes_mut().add_default_ipv6_route(gw);
    }
    let mut sockets = SocketSet::new(vec![]);
    let dhcp = matches!(v4, V4Config::Dhcp).then(|| {
        let mut d = dhcpv4::Socket::new();
        let mut retry = d.get_retry_config();
        retry.discover_timeout = DHCP_DISCOVER_RETRY;
        d.set_retry_config(retry);
        DHCP_DEADLINE.store(now_ns() + DHCP_WAIT_NS, Ordering::Relaxed);
        sockets.add(d)
    });
    dev.enable_interrupts();
    if let V4Config::Static { ip, .. } = v4 {
        announce(&mut dev, mac, ip);
    }
    Box::new(Inner {
        iface,
        dev,
        sockets,
        entries: Vec::new(),
        closing: Vec::new(),
        dhcp,
    })
}

/// With DHCP, until the first lease (or `DHCP_DEADLINE`): run the stack, idle until the next interrupt or
/// a few ms. Socket operations that need an address of the interface call this first.
fn wait_for_lease() {
    while AWAITING_LEASE.load(Ordering::Relaxed) {
        {
            let mut g = STACK.lock();
            ensure_up(&mut g);
            let Some(s) = g.as_mut() else { return };
            s.poll();
        }
        let deadline = DHCP_DEADLINE.load(Ordering::Relaxed);
        let t = now_ns();
        if !AWAITING_LEASE.load(Ordering::Relaxed) || t >= deadline {
            return;
        }
        crate::platform::idle_for((deadline - t).min(5_000_000));
    }
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
            // A listener whose backlog is full drops new SYNs, as Linux does (the client tries
            // again later); smoltcp would answer them with a reset (connection refused).
            let full = self.full_ports();
            if !full.is_empty() {
                self.dev
                    .discard_rx(|f| syn_port(f).is_some_and(|p| full.contains(&p)));
            }
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
        if self.dhcp_update() {
            changed = true;
        }
        // Each egress pass sends at most one segment per socket: go on while something was sent
        // (bounded by the transmit queue), or a bulk sender would move one segment per event.
        for _ in 0..256 {
            if self.iface.poll_egress(t, &mut *self.dev, &mut self.sockets)
                != PollResult::SocketStateChanged
            {
                break;
            }
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

    /// Apply what the DHCP client learned. Returns whether the configuration changed.
    fn dhcp_update(&mut self) -> bool {
        let Some(h) = self.dhcp else { return false };
        let event = self.sockets.get_mut::<dhcpv4::Socket>(h).poll();
        let Some(event) = event else {
            let deadline = DHCP_DEADLINE.load(Ordering::Relaxed);
            if AWAITING_LEASE.load(Ordering::Relaxed)
                && now_ns() >= deadline
                && !DHCP_WARNED.swap(true, Ordering::Relaxed)
            {
                crate::log(&alloc::format!(
                    "nutshell: net: no DHCP lease after {}s",
                    DHCP_WAIT_NS / 1_000_000_000
                ));
            }
            return false;
        };
        let (cidr, router, dns) = match event {
            dhcpv4::Event::Configured(c) => (Some(c.address), c.router, c.dns_servers),
            dhcpv4::Event::Deconfigured => (None, None, Default::default()),
        };
        self.set_ipv4(cidr, router);
        if let Some(cidr) = cidr {
            let mac = self.dev.mac();
            announce(&mut self.dev, mac, cidr.address());
            let dns: Vec<IpAddr> = dns.iter().map(|a| IpAddr::V4(*a)).collect();
            kernel_core::vfs::set_nameservers(&dns);
            AWAITING_LEASE.store(false, Ordering::Relaxed);
            crate::log_at(
                crate::LOG_DEBUG,
                &alloc::format!("nutshell: net: DHCP lease {cidr} via {router:?}, DNS {dns:?}"),
            );
        } else {
            crate::log_at(crate::LOG_DEBUG, "nutshell: net: DHCP lease lost");
        }
        true
    }

    /// Replace the IPv4 address and default route.
    fn set_ipv4(&mut self, cidr: Option<Ipv4Cidr>, router: Option<Ipv4Addr>) {
        self.iface.update_ip_addrs(|a| {
            a.retain(|c| !matches!(c, IpCidr::Ipv4(_)));
            if let Some(c) = cidr {
                let _ = a.insert(0, IpCidr::Ipv4(c));
            }
        });
        let routes = self.iface.routes_mut();
        routes.remove_default_ipv4_route();
        if let Some(r) = router {
            let _ = routes.add_default_ipv4_route(r);
        }
    }

    /// The source address for `dst`, if the interface has one and a route there.
    fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        let on_link = self
            .iface
            .ip_addrs()
            .iter()
            .any(|c| c.contains_addr(&dst.into()));
        match dst {
            IpAddr::V4(d) => {
                let routed = on_link
                    || d.is_broadcast()
                    || d.is_multicast()
                    || self.iface.routes().get_default_ipv4_route().is_some();
                let src = self.iface.get_source_address_ipv4(&d)?;
                routed.then_some(IpAddr::V4(src))
            }
            IpAddr::V6(d) => {
                let routed = on_link
                    || d.is_multicast()
                    || d.is_unicast_link_local()
                    || self.iface.routes().get_default_ipv6_route().is_some();
                self.iface.ipv6_addr()?;
                let src = self.iface.get_source_address_ipv6(&d);
                (routed && !src.is_loopback()).then_some(IpAddr::V6(src))
            }
        }
    }

    /// The ports of listeners with no socket left in LISTEN (their backlog is full).
    fn full_ports(&self) -> Vec<u16> {
        let mut full: Vec<u16> = Vec::new();
        let mut open: Vec<u16> = Vec::new();
        for e in self.entries.iter().flatten() {
            if let Entry::Listener(l) = e {
                if l.pool.is_empty() {
                    full.push(l.local.port);
                } else {
                    open.push(l.local.port);
                }
            }
        }
        full.retain(|p| !open.contains(p));
        full
    }

    /// Refill listener pools, drop finished connections. Returns whether anything moved.
    fn maintain(&mut self) -> bool {
        let mut moved = false;
        let t = now_ns();
        let sockets = &mut self.sockets;
        self.closing.retain_mut(|(sh, deadline)| {
            let st = sockets.get::<tcp::Socket>(*sh).state();
            // TIME-WAIT lasts TIME_WAIT_NS rather than smoltcp's 10 s: every socket kept costs two
            // `TCP_BUF` buffers and a turn in every poll (a server closing 100 connections a second
            // would hold a thousand). Long enough to acknowledge the peer's FIN; a later duplicate
            // gets a reset, which the peer ignores.
            if st == tcp::State::TimeWait {
                *deadline = (*deadline).min(t + TIME_WAIT_NS);
            }
            let done = st == tcp::State::Closed || t >= *deadline;
            if done {
                sockets.remove(*sh);
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
            count_ready(l, sockets);
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

/// The destination port of a TCP SYN (without ACK) in an Ethernet frame.
fn syn_port(frame: &[u8]) -> Option<u16> {
    use smoltcp::wire::{
        EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
    };
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let tcp = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            TcpPacket::new_checked(ip.payload()).ok()?
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            TcpPacket::new_checked(ip.payload()).ok()?
        }
        _ => return None,
    };
    (tcp.syn() && !tcp.ack()).then(|| tcp.dst_port())
}

/// Announce `ip` at `mac` with a gratuitous ARP request, so that the network's gateway (QEMU's
/// slirp) knows the guest before it has to ask: an ARP request sent before the device was started
/// is lost, and slirp would only ask again seconds later.
fn announce(dev: &mut NetDevice, mac: [u8; 6], ip: Ipv4Addr) {
    use smoltcp::phy::{Device, TxToken};
    use smoltcp::wire::{ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol};
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(mac),
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: ip,
    };
    let Some(tx) = dev.transmit(now()) else {
        return;
    };
    let len = EthernetFrame::<&[u8]>::buffer_len(arp.buffer_len());
    tx.consume(len, |buf| {
        let mut frame = EthernetFrame::new_unchecked(buf);
        frame.set_dst_addr(EthernetAddress::BROADCAST);
        frame.set_src_addr(EthernetAddress(mac));
        frame.set_ethertype(EthernetProtocol::Arp);
        arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    });
}

/// Count the listener's pending connections that became acceptable since the last count.
fn count_ready(l: &mut Listener, sockets: &SocketSet<'static>) {
    let now = l
        .pending
        .iter()
        .filter(|sh| acceptable(sockets.get::<tcp::Socket>(**sh).state()))
        .count();
    l.ready_events += now.saturating_sub(l.ready_now) as u64;
    l.ready_now = now;
}

/// Whether a listener's pending connection can be accepted: its handshake completed.
fn acceptable(st: tcp::State) -> bool {
    !matches!(
        st,
        tcp::State::SynReceived | tcp::State::Listen | tcp::State::Closed
    )
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
        if ip.is_ipv4() {
            wait_for_lease();
        }
        with(|s| s.iface.has_ip_addr(ip))
    }

    fn addrs(&self) -> Vec<IpAddr> {
        wait_for_lease();
        with(|s| {
            s.iface
                .ip_addrs()
                .iter()
                .map(|c| c.address().into())
                .collect()
        })
    }

    fn source_for(&self, dst: IpAddr) -> Result<IpAddr, Errno> {
        if dst.is_ipv4() {
            wait_for_lease();
        }
        with(|s| s.source_for(dst).ok_or(ENETUNREACH))
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
                backlog: backlog.clamp(64, BACKLOG_MAX),
                ready_events: 0,
                ready_now: 0,
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
            let idx = lst
                .pending
                .iter()
                .position(|sh| acceptable(s.sockets.get::<tcp::Socket>(*sh).state()));
            let Some(i) = idx else { return Err(EAGAIN) };
            count_ready(lst, &s.sockets);
            lst.ready_now -= 1;
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
                consumed: 0,
                queued: 0,
                corked: false,
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
            lst.pending
                .iter()
                .any(|sh| acceptable(s.sockets.get::<tcp::Socket>(*sh).state()))
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
                consumed: 0,
                queued: 0,
                corked: false,
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

    fn generation(&self, h: Handle) -> u64 {
        with(|s| match s.entries.get_mut(h as usize) {
            // Moves when a connection becomes acceptable (its handshake completed), not at its SYN.
            Some(Some(Entry::Listener(l))) => {
                count_ready(l, &s.sockets);
                l.ready_events
            }
            Some(Some(Entry::Tcp(m))) => {
                let sock = s.sockets.get::<tcp::Socket>(m.sh);
                let received = m.consumed + sock.recv_queue() as u64;
                let acked = m.queued - sock.send_queue() as u64;
                let state = match sock.state() {
                    tcp::State::SynSent | tcp::State::SynReceived => 0,
                    tcp::State::Closed => 3,
                    _ if !sock.may_recv() => 2,
                    _ => 1,
                };
                received + acked + state
            }
            _ => 0,
        })
    }

    fn tcp_send(&self, h: Handle, data: &[u8]) -> Result<usize, Errno> {
        // Try, flush, and try again if the flush made room: EAGAIN must reflect the state after the
        // last poll, or a waiter could miss the change that made room.
        let mut r = Err(EAGAIN);
        for _ in 0..2 {
            r = with(|s| {
                let corked = s.tcp(h).is_some_and(|(m, _)| m.corked);
                if !corked {
                    s.poll();
                }
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
                    Ok(n) => {
                        m.queued += n as u64;
                        Ok(n)
                    }
                    Err(_) => Err(EPIPE),
                };
                // A full buffer must go out even when corked, or the send would wait for ever.
                if !corked || r == Err(EAGAIN) {
                    s.poll();
                }
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
                if let (Ok(n), false) = (n, peek) {
                    m.consumed += n as u64;
                }
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

    fn tcp_set_cork(&self, h: Handle, on: bool) {
        let uncorked = with(|s| match s.tcp(h) {
            Some((m, _)) => core::mem::replace(&mut m.corked, on) && !on,
            None => false,
        });
        if uncorked {
            poll();
        }
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
