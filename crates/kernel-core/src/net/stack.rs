//! The external network as the socket layer sees it: TCP and UDP endpoints by handle, on the machine's
//! network interface. The kernel implements [`NetStack`] with smoltcp over virtio-net; host tests use a
//! fake. Loopback never comes here (see [`super::inet`]).
//!
//! Nothing blocks: EAGAIN means "not now", and the stack makes the kernel's event count move when
//! something changed, so that waiting threads look again.

use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use crate::errno::Errno;

/// A stack endpoint.
pub type Handle = u32;

/// Where a TCP endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpPhase {
    /// SYN sent, no answer yet.
    Connecting,
    /// Data may flow (including after the peer's FIN).
    Established,
    /// Over: refused, reset, timed out or closed by both sides.
    Closed,
}

/// The state of a TCP endpoint, for poll and for the socket calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    pub phase: TcpPhase,
    /// Bytes waiting to be read.
    pub readable: usize,
    /// Whether send would take at least one byte.
    pub writable: bool,
    /// The peer sent FIN: reads end at the buffer's end.
    pub peer_closed: bool,
    /// Why the connection failed or ended abnormally (ECONNREFUSED, ECONNRESET, ETIMEDOUT).
    pub error: Option<Errno>,
}

/// TCP and UDP over the machine's network interface.
pub trait NetStack: Send + Sync {
    /// Whether `ip` is an address of this machine's interface (traffic to it stays in the machine).
    fn is_local_addr(&self, ip: IpAddr) -> bool;
    /// The addresses of the interface (for getifaddrs-like needs and tests).
    fn addrs(&self) -> Vec<IpAddr>;
    /// The source address for reaching `dst`; ENETUNREACH when there is no route.
    fn source_for(&self, dst: IpAddr) -> Result<IpAddr, Errno>;

    /// Accept connections on `local` (its IP may be unspecified) with room for `backlog` waiting ones.
    fn tcp_listen(&self, local: SocketAddr, backlog: usize) -> Result<Handle, Errno>;
    /// An established connection of a listener: (handle, local address, peer address); EAGAIN if none.
    fn tcp_accept(&self, listener: Handle) -> Result<(Handle, SocketAddr, SocketAddr), Errno>;
    /// Whether a listener has a connection to accept.
    fn tcp_acceptable(&self, listener: Handle) -> bool;
    /// Start connecting from `local` (a port the socket layer reserved) to `remote`.
    fn tcp_connect(&self, local: SocketAddr, remote: SocketAddr) -> Result<Handle, Errno>;
    fn tcp_info(&self, h: Handle) -> TcpInfo;
    /// A counter that moves when a connection receives data, has data acknowledged (room to send)
    /// or changes state, or a listener gets a new connection: edge-triggered epoll's generation.
    fn generation(&self, _h: Handle) -> u64 {
        0
    }
    /// Queue bytes: how many fit (EAGAIN: none; EPIPE/ECONNRESET: the connection is over).
    fn tcp_send(&self, h: Handle, data: &[u8]) -> Result<usize, Errno>;
    /// Take (or peek) received bytes: Ok(0) at end of stream, EAGAIN when none yet.
    fn tcp_recv(&self, h: Handle, buf: &mut [u8], peek: bool) -> Result<usize, Errno>;
    /// Send FIN after the queued data.
    fn tcp_shutdown(&self, h: Handle);
    fn tcp_set_nodelay(&self, h: Handle, on: bool);
    /// TCP_CORK: while on, queued data waits (for more, or for the cork to come off) instead of
    /// being sent at once.
    fn tcp_set_cork(&self, _h: Handle, _on: bool) {}
    /// Keep-alive probes every `interval_ms` (None: off).
    fn tcp_set_keepalive(&self, h: Handle, interval_ms: Option<u64>);
    /// The program closed the socket: finish gracefully in the background, or reset with `abort`.
    fn tcp_close(&self, h: Handle, abort: bool);

    /// A UDP endpoint on `local` (IP may be unspecified).
    fn udp_bind(&self, local: SocketAddr) -> Result<Handle, Errno>;
    /// Send one datagram (EAGAIN when the transmit buffer is full).
    fn udp_send(&self, h: Handle, data: &[u8], to: SocketAddr) -> Result<usize, Errno>;
    /// One datagram: (bytes copied, datagram length, sender); EAGAIN when none.
    fn udp_recv(
        &self,
        h: Handle,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<(usize, usize, SocketAddr), Errno>;
    /// Length of the next datagram, if one is waiting.
    fn udp_pending(&self, h: Handle) -> Option<usize>;
    fn udp_close(&self, h: Handle);
}
