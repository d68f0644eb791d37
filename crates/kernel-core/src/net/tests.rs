//! Host tests of the socket layer through the real syscall dispatch: AF_UNIX, TCP and UDP over
//! loopback, and the external path over a fake [`NetStack`].

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use linux_raw_sys::general as g;
use std::sync::Mutex as StdMutex;

use super::consts::*;
use super::stack::{Handle, NetStack, TcpInfo, TcpPhase};
use crate::errno::Errno;
use crate::testing::{neg, Harness, SCRATCH};

const A: u64 = SCRATCH; // addresses
const L: u64 = SCRATCH + 0x100; // lengths
const B: u64 = SCRATCH + 0x1000; // data
const V: u64 = SCRATCH + 0x8000; // misc structs

fn sin(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[0..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

fn sin6(ip: [u8; 16], port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 28];
    b[0..2].copy_from_slice(&(AF_INET6 as u16).to_le_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[8..24].copy_from_slice(&ip);
    b
}

fn sun(path: &[u8]) -> Vec<u8> {
    let mut b = (AF_UNIX as u16).to_le_bytes().to_vec();
    b.extend_from_slice(path);
    b.push(0);
    b
}

struct T {
    h: Harness,
}

impl T {
    fn new() -> T {
        T { h: Harness::new() }
    }
    fn call(&mut self, nr: u32, args: &[u64]) -> i64 {
        let r = self.h.call(nr, args);
        if r == -512 {
            self.h.p.wait = None;
        }
        r
    }
    fn socket(&mut self, d: u32, t: u32) -> u64 {
        let fd = self.call(g::__NR_socket, &[d.into(), t.into(), 0]);
        assert!(fd >= 0, "socket: {fd}");
        fd as u64
    }
    fn bind(&mut self, fd: u64, addr: &[u8]) -> i64 {
        self.h.poke(A, addr);
        self.call(g::__NR_bind, &[fd, A, addr.len() as u64])
    }
    fn connect(&mut self, fd: u64, addr: &[u8]) -> i64 {
        self.h.poke(A, addr);
        self.call(g::__NR_connect, &[fd, A, addr.len() as u64])
    }
    fn listen(&mut self, fd: u64, n: u64) -> i64 {
        self.call(g::__NR_listen, &[fd, n])
    }
    fn accept(&mut self, fd: u64, flags: u64) -> i64 {
        self.h.poke(L, &128u32.to_le_bytes());
        self.call(g::__NR_accept4, &[fd, A, L, flags])
    }
    fn write(&mut self, fd: u64, data: &[u8]) -> i64 {
        self.h.poke(B, data);
        self.call(g::__NR_write, &[fd, B, data.len() as u64])
    }
    fn read(&mut self, fd: u64, n: usize) -> Result<Vec<u8>, i64> {
        let r = self.call(g::__NR_read, &[fd, B, n as u64]);
        if r < 0 {
            return Err(r);
        }
        Ok(self.h.peek(B, r as usize))
    }
    fn sendto(&mut self, fd: u64, data: &[u8], to: &[u8]) -> i64 {
        self.h.poke(B, data);
        self.h.poke(A, to);
        self.call(
            g::__NR_sendto,
            &[fd, B, data.len() as u64, 0, A, to.len() as u64],
        )
    }
    fn recvfrom(&mut self, fd: u64, n: usize, flags: u32) -> Result<(Vec<u8>, Vec<u8>), i64> {
        self.h.poke(L, &128u32.to_le_bytes());
        let r = self.call(g::__NR_recvfrom, &[fd, B, n as u64, flags.into(), A, L]);
        if r < 0 {
            return Err(r);
        }
        let alen = self.h.peek_u32(L) as usize;
        Ok((self.h.peek(B, (r as usize).min(n)), self.h.peek(A, alen)))
    }
    fn name(&mut self, nr: u32, fd: u64) -> Result<Vec<u8>, i64> {
        self.h.poke(L, &128u32.to_le_bytes());
        let r = self.call(nr, &[fd, A, L]);
        if r < 0 {
            return Err(r);
        }
        let n = self.h.peek_u32(L) as usize;
        Ok(self.h.peek(A, n))
    }
    fn poll(&mut self, fd: u64) -> u16 {
        let mut b = (fd as i32).to_le_bytes().to_vec();
        b.extend_from_slice(&0xffffu16.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        self.h.poke(V, &b);
        let r = self.call(g::__NR_poll, &[V, 1, 0]);
        assert!(r >= 0);
        u16::from_le_bytes(self.h.peek(V + 6, 2).try_into().unwrap())
    }
    fn getopt(&mut self, fd: u64, level: u32, name: u32) -> Result<Vec<u8>, i64> {
        self.h.poke(L, &64u32.to_le_bytes());
        let r = self.call(g::__NR_getsockopt, &[fd, level.into(), name.into(), V, L]);
        if r < 0 {
            return Err(r);
        }
        let n = self.h.peek_u32(L) as usize;
        Ok(self.h.peek(V, n))
    }
    fn getint(&mut self, fd: u64, level: u32, name: u32) -> i32 {
        let v = self.getopt(fd, level, name).expect("getsockopt");
        i32::from_le_bytes(v[..4].try_into().unwrap())
    }
    fn setint(&mut self, fd: u64, level: u32, name: u32, v: i32) -> i64 {
        self.h.poke(V, &v.to_le_bytes());
        self.call(g::__NR_setsockopt, &[fd, level.into(), name.into(), V, 4])
    }
    fn close(&mut self, fd: u64) {
        assert_eq!(self.call(g::__NR_close, &[fd]), 0);
    }
}

fn e(x: Errno) -> i64 {
    neg(x)
}

const POLLIN: u16 = g::POLLIN as u16;
const POLLOUT: u16 = g::POLLOUT as u16;
const POLLHUP: u16 = g::POLLHUP as u16;
const POLLERR: u16 = g::POLLERR as u16;
const POLLRDHUP: u16 = g::POLLRDHUP as u16;

// ------------------------------------------------------------------------------------------------
// AF_UNIX

#[test]
fn socketpair_stream_moves_bytes_and_ends_with_eof_then_epipe() {
    let mut t = T::new();
    assert_eq!(
        t.call(
            g::__NR_socketpair,
            &[AF_UNIX.into(), SOCK_STREAM.into(), 0, V]
        ),
        0
    );
    let a = u64::from(t.h.peek_u32(V));
    let b = u64::from(t.h.peek_u32(V + 4));
    assert_eq!((a, b), (3, 4));
    assert_eq!(t.write(a, b"hello"), 5);
    assert_eq!(t.poll(b) & (POLLIN | POLLOUT), POLLIN | POLLOUT);
    assert_eq!(t.read(b, 100).unwrap(), b"hello");
    // Nothing there: a blocking read waits.
    assert_eq!(t.read(b, 100), Err(-512));
    t.close(a);
    assert_eq!(
        t.poll(b) & (POLLIN | POLLHUP | POLLRDHUP),
        POLLIN | POLLHUP | POLLRDHUP
    );
    assert_eq!(t.read(b, 100).unwrap(), b"");
    assert_eq!(t.write(b, b"x"), e(EPIPE));
    assert_ne!(
        t.h.p.signals.thread_pending.get(&1).copied().unwrap_or(0) & (1 << 12),
        0,
        "SIGPIPE pending"
    );
}

#[test]
fn socket_flags_and_errors() {
    let mut t = T::new();
    let fd = t.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_eq!(
        t.call(g::__NR_fcntl, &[fd, g::F_GETFL.into()]) as u32 & g::O_NONBLOCK,
        g::O_NONBLOCK
    );
    assert_eq!(t.call(g::__NR_fcntl, &[fd, g::F_GETFD.into()]), 1);
    assert_eq!(t.call(g::__NR_socket, &[99, 1, 0]), e(EAFNOSUPPORT));
    assert_eq!(t.call(g::__NR_socket, &[2, 1 | 0x100, 0]), e(EINVAL));
    assert_eq!(t.call(g::__NR_socket, &[2, 1, 17]), e(EPROTONOSUPPORT));
    assert_eq!(t.call(g::__NR_socket, &[2, 7, 0]), e(ESOCKTNOSUPPORT));
    assert_eq!(t.call(g::__NR_listen, &[0, 1]), e(ENOTSOCK));
    assert_eq!(t.call(g::__NR_listen, &[77, 1]), e(EBADF));
    assert_eq!(
        t.call(
            g::__NR_socketpair,
            &[AF_INET.into(), SOCK_STREAM.into(), 0, V]
        ),
        e(EOPNOTSUPP)
    );
    // fstat: a socket.
    assert_eq!(t.call(g::__NR_fstat, &[fd, V]), 0);
    assert_eq!(t.h.peek_u32(V + 24) & 0o170000, 0o140000);
}

#[test]
fn unix_stream_server_on_a_path() {
    let mut t = T::new();
    let srv = t.socket(AF_UNIX, SOCK_STREAM);
    assert_eq!(t.bind(srv, &sun(b"/tmp.sock")), 0);
    let other = t.socket(AF_UNIX, SOCK_STREAM);
    assert_eq!(t.bind(other, &sun(b"/tmp.sock")), e(EADDRINUSE));
    // The name exists as a socket inode.
    t.h.poke(V, b"/tmp.sock\0");
    assert_eq!(t.call(g::__NR_stat, &[V, V + 64]), 0);
    assert_eq!(t.h.peek_u32(V + 64 + 24) & 0o170000, 0o140000);
    let c = t.socket(AF_UNIX, SOCK_STREAM);
    assert_eq!(
        t.connect(c, &sun(b"/tmp.sock")),
        e(ECONNREFUSED),
        "not listening yet"
    );
    assert_eq!(t.connect(c, &sun(b"/nope.sock")), e(ENOENT));
    assert_eq!(t.listen(srv, 5), 0);
    assert_eq!(t.poll(srv) & POLLIN, 0);
    assert_eq!(t.connect(c, &sun(b"/tmp.sock")), 0);
    assert_eq!(t.connect(c, &sun(b"/tmp.sock")), e(EISCONN));
    assert_eq!(t.poll(srv) & POLLIN, POLLIN);
    let s = t.accept(srv, 0) as u64;
    assert!(s > srv);
    let n = t.h.peek_u32(L) as usize;
    assert_eq!(t.h.peek(A, n), (AF_UNIX as u16).to_le_bytes());
    assert_eq!(t.name(g::__NR_getpeername, c).unwrap(), sun(b"/tmp.sock"));
    assert_eq!(t.name(g::__NR_getsockname, s).unwrap(), sun(b"/tmp.sock"));
    assert_eq!(t.write(c, b"ping"), 4);
    assert_eq!(t.read(s, 10).unwrap(), b"ping");
    assert_eq!(t.call(g::__NR_shutdown, &[s, SHUT_WR.into()]), 0);
    assert_eq!(t.read(c, 10).unwrap(), b"");
    // A blocking accept with nothing queued waits; a non-blocking one is EAGAIN.
    assert_eq!(t.accept(srv, 0), -512);
    assert_eq!(
        t.accept(srv, SOCK_NONBLOCK.into()),
        -512,
        "the flag is for the new socket"
    );
    t.h.p.wait = None;
    assert_eq!(
        t.call(
            g::__NR_fcntl,
            &[srv, g::F_SETFL.into(), g::O_NONBLOCK.into()]
        ),
        0
    );
    assert_eq!(t.accept(srv, 0), e(EAGAIN));
}

#[test]
fn unix_abstract_names_and_autobind() {
    let mut t = T::new();
    let srv = t.socket(AF_UNIX, SOCK_STREAM);
    let mut name = (AF_UNIX as u16).to_le_bytes().to_vec();
    name.extend_from_slice(b"\0abstract-test");
    assert_eq!(t.bind(srv, &name), 0);
    assert_eq!(t.name(g::__NR_getsockname, srv).unwrap(), name);
    assert_eq!(t.listen(srv, 1), 0);
    let c = t.socket(AF_UNIX, SOCK_STREAM);
    assert_eq!(t.bind(c, &(AF_UNIX as u16).to_le_bytes()), 0, "autobind");
    let auto = t.name(g::__NR_getsockname, c).unwrap();
    assert_eq!(auto.len(), 2 + 1 + 5);
    assert_eq!(t.connect(c, &name), 0);
    let s = t.accept(srv, 0) as u64;
    assert_eq!(t.name(g::__NR_getpeername, s).unwrap(), auto);
    // Closing the listener frees the name.
    t.close(srv);
    let again = t.socket(AF_UNIX, SOCK_STREAM);
    assert_eq!(t.bind(again, &name), 0);
}

#[test]
fn unix_datagrams_carry_their_sender() {
    let mut t = T::new();
    let a = t.socket(AF_UNIX, SOCK_DGRAM);
    let b = t.socket(AF_UNIX, SOCK_DGRAM);
    assert_eq!(t.bind(a, &sun(b"/a.sock")), 0);
    assert_eq!(t.bind(b, &sun(b"/b.sock")), 0);
    assert_eq!(t.sendto(a, b"one", &sun(b"/b.sock")), 3);
    assert_eq!(t.sendto(a, b"two!", &sun(b"/b.sock")), 4);
    let (d, from) = t.recvfrom(b, 2, 0).unwrap();
    assert_eq!(d, b"on");
    assert_eq!(from, sun(b"/a.sock"));
    // MSG_TRUNC reports the real length.
    assert_eq!(t.recvfrom(b, 1, MSG_TRUNC | MSG_PEEK).map(|_| ()), Ok(()));
    t.h.poke(L, &128u32.to_le_bytes());
    assert_eq!(
        t.call(g::__NR_recvfrom, &[b, B, 1, MSG_TRUNC.into(), 0, 0]),
        4
    );
    assert_eq!(t.recvfrom(b, 10, MSG_DONTWAIT), Err(e(EAGAIN)));
    // Not connected, no address.
    assert_eq!(t.write(a, b"x"), e(ENOTCONN));
    assert_eq!(t.connect(a, &sun(b"/b.sock")), 0);
    assert_eq!(t.write(a, b"x"), 1);
    assert_eq!(t.read(b, 10).unwrap(), b"x");
    // socketpair datagrams.
    assert_eq!(
        t.call(
            g::__NR_socketpair,
            &[AF_UNIX.into(), SOCK_DGRAM.into(), 0, V]
        ),
        0
    );
    let (p, q) = (u64::from(t.h.peek_u32(V)), u64::from(t.h.peek_u32(V + 4)));
    assert_eq!(t.write(p, b"abc"), 3);
    assert_eq!(t.write(p, b"de"), 2);
    t.h.poke(V, &0u32.to_le_bytes());
    assert_eq!(
        t.call(
            g::__NR_ioctl,
            &[q, linux_raw_sys::ioctl::FIONREAD.into(), V]
        ),
        0
    );
    assert_eq!(t.h.peek_u32(V), 3);
    assert_eq!(t.read(q, 10).unwrap(), b"abc");
    assert_eq!(t.read(q, 10).unwrap(), b"de");
}

// ------------------------------------------------------------------------------------------------
// TCP and UDP over loopback

const LO: [u8; 4] = [127, 0, 0, 1];

#[test]
fn tcp_loopback_echo() {
    let mut t = T::new();
    let srv = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.setint(srv, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    assert_eq!(t.bind(srv, &sin(LO, 5555)), 0);
    assert_eq!(t.listen(srv, 16), 0);
    assert_eq!(t.getint(srv, SOL_SOCKET, SO_ACCEPTCONN), 1);
    let c = t.socket(AF_INET, SOCK_STREAM);
    // A fresh socket: POLLOUT | POLLHUP (TCP_CLOSE), as Linux.
    assert_eq!(t.poll(c) & (POLLOUT | POLLHUP | POLLIN), POLLOUT | POLLHUP);
    assert_eq!(t.name(g::__NR_getpeername, c), Err(e(ENOTCONN)));
    assert_eq!(t.connect(c, &sin(LO, 5555)), 0);
    let local = t.name(g::__NR_getsockname, c).unwrap();
    assert_eq!(&local[4..8], &LO);
    let port = u16::from_be_bytes([local[2], local[3]]);
    assert!((32768..=60999).contains(&port));
    let s = t.accept(srv, 0) as u64;
    assert_eq!(
        t.h.peek(A, 16),
        local,
        "accept reports the client's address"
    );
    assert_eq!(t.name(g::__NR_getsockname, s).unwrap(), sin(LO, 5555));
    assert_eq!(t.write(c, b"GET /"), 5);
    assert_eq!(t.poll(s) & (POLLIN | POLLOUT), POLLIN | POLLOUT);
    assert_eq!(t.recvfrom(s, 10, MSG_PEEK).unwrap().0, b"GET /");
    assert_eq!(t.read(s, 3).unwrap(), b"GET");
    assert_eq!(t.read(s, 10).unwrap(), b" /");
    assert_eq!(t.write(s, b"200"), 3);
    assert_eq!(t.read(c, 10).unwrap(), b"200");
    // The client half-closes: the server reads EOF (and POLLRDHUP), and may still write.
    assert_eq!(t.call(g::__NR_shutdown, &[c, SHUT_WR.into()]), 0);
    assert_eq!(
        t.poll(s) & (POLLIN | POLLRDHUP | POLLHUP),
        POLLIN | POLLRDHUP
    );
    assert_eq!(t.read(s, 10).unwrap(), b"");
    assert_eq!(t.write(s, b"bye"), 3);
    assert_eq!(t.read(c, 10).unwrap(), b"bye");
    t.close(s);
    assert_eq!(t.read(c, 10).unwrap(), b"");
    assert_eq!(t.poll(c) & POLLHUP, POLLHUP);
}

#[test]
fn tcp_errors_as_linux() {
    let mut t = T::new();
    let a = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.bind(a, &sin(LO, 6000)), 0);
    assert_eq!(t.bind(a, &sin(LO, 6001)), e(EINVAL), "already bound");
    assert_eq!(t.listen(a, 1), 0);
    let b = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.bind(b, &sin([0; 4], 6000)), e(EADDRINUSE));
    // SO_REUSEADDR does not share a port with a listener.
    assert_eq!(t.setint(b, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    assert_eq!(t.bind(b, &sin(LO, 6000)), e(EADDRINUSE));
    assert_eq!(t.bind(b, &sin([10, 9, 9, 9], 6000)), e(EADDRNOTAVAIL));
    assert_eq!(t.bind(b, &sin(LO, 6000)[..8]), e(EINVAL), "short address");
    assert_eq!(t.bind(b, &sin6([0; 16], 6000)), e(EAFNOSUPPORT));
    let c = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.connect(c, &sin(LO, 6002)), e(ECONNREFUSED));
    assert_eq!(t.getint(c, SOL_SOCKET, SO_ERROR), 0);
    assert_eq!(t.write(c, b"x"), e(EPIPE));
    let d = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.write(d, b"x"), e(ENOTCONN));
    assert_eq!(t.read(d, 1), Err(e(ENOTCONN)));
    assert_eq!(t.call(g::__NR_shutdown, &[d, 0]), e(ENOTCONN));
    assert_eq!(t.accept(d, 0), e(EINVAL));
    // Closing the listener frees the port.
    t.close(a);
    assert_eq!(t.bind(b, &sin(LO, 6000)), 0);
    let u = t.socket(AF_INET, SOCK_DGRAM);
    assert_eq!(t.listen(u, 1), e(EOPNOTSUPP));
    assert_eq!(t.accept(u, 0), e(EOPNOTSUPP));
}

#[test]
fn tcp_close_with_unread_data_resets() {
    let mut t = T::new();
    let srv = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.bind(srv, &sin(LO, 6100)), 0);
    assert_eq!(t.listen(srv, 1), 0);
    let c = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.connect(c, &sin(LO, 6100)), 0);
    let s = t.accept(srv, 0) as u64;
    assert_eq!(t.write(c, b"unread"), 6);
    t.close(s);
    assert_eq!(t.poll(c) & POLLERR, POLLERR);
    assert_eq!(t.read(c, 10), Err(e(ECONNRESET)));
    assert_eq!(t.read(c, 10).unwrap(), b"");
}

#[test]
fn ipv6_dual_stack_and_v6only() {
    let mut t = T::new();
    let srv = t.socket(AF_INET6, SOCK_STREAM);
    assert_eq!(t.getint(srv, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    assert_eq!(t.bind(srv, &sin6([0; 16], 7000)), 0);
    assert_eq!(t.setint(srv, IPPROTO_IPV6, IPV6_V6ONLY, 1), e(EINVAL));
    assert_eq!(t.listen(srv, 4), 0);
    let v4 = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(
        t.bind(v4, &sin([0; 4], 7000)),
        e(EADDRINUSE),
        ":: covers 0.0.0.0"
    );
    assert_eq!(t.connect(v4, &sin(LO, 7000)), 0);
    let s = t.accept(srv, 0) as u64;
    let peer = t.h.peek(A, 28);
    let mut mapped = [0u8; 16];
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped[12..].copy_from_slice(&LO);
    assert_eq!(&peer[8..24], &mapped);
    let mut one = [0u8; 16];
    one[15] = 1;
    let v6 = t.socket(AF_INET6, SOCK_STREAM);
    assert_eq!(t.connect(v6, &sin6(one, 7000)), 0);
    let s6 = t.accept(srv, 0) as u64;
    assert_eq!(&t.name(g::__NR_getsockname, s6).unwrap()[8..24], &one);
    assert_eq!(t.write(s, b"4"), 1);
    assert_eq!(t.read(v4, 4).unwrap(), b"4");
    // A v6-only socket on :: leaves 0.0.0.0 free.
    let o = t.socket(AF_INET6, SOCK_STREAM);
    assert_eq!(t.setint(o, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
    assert_eq!(t.bind(o, &sin6([0; 16], 7001)), 0);
    let p = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.bind(p, &sin([0; 4], 7001)), 0);
    assert_eq!(t.connect(o, &sin6(mapped, 7001)), e(ENETUNREACH));
}

#[test]
fn udp_loopback() {
    let mut t = T::new();
    let a = t.socket(AF_INET, SOCK_DGRAM);
    let b = t.socket(AF_INET, SOCK_DGRAM);
    assert_eq!(t.bind(b, &sin(LO, 9000)), 0);
    assert_eq!(t.poll(b) & (POLLIN | POLLOUT), POLLOUT);
    assert_eq!(t.sendto(a, b"hello", &sin(LO, 9000)), 5);
    assert_eq!(t.sendto(a, b"world", &sin(LO, 9000)), 5);
    assert_eq!(t.poll(b) & POLLIN, POLLIN);
    let (d, from) = t.recvfrom(b, 3, 0).unwrap();
    assert_eq!(d, b"hel", "the rest of the datagram is dropped");
    let aname = t.name(g::__NR_getsockname, a).unwrap();
    assert_eq!(&from[4..8], &LO);
    assert_eq!(from[2..4], aname[2..4]);
    assert_eq!(t.recvfrom(b, 10, 0).unwrap().0, b"world");
    // A connected socket learns that nothing listens (ECONNREFUSED at the next call).
    let c = t.socket(AF_INET, SOCK_DGRAM);
    assert_eq!(t.connect(c, &sin(LO, 9001)), 0);
    assert_eq!(t.write(c, b"x"), 1);
    assert_eq!(t.poll(c) & POLLERR, POLLERR);
    assert_eq!(t.read(c, 1), Err(e(ECONNREFUSED)));
    t.h.poke(B, b"x");
    assert_eq!(
        t.call(g::__NR_sendto, &[c, B, 1, 0, 0, 0]),
        1,
        "connected: no address needed"
    );
    assert_eq!(
        t.sendto(c, b"x", &[]),
        e(EINVAL),
        "an empty address is not none"
    );
    let u = t.socket(AF_INET, SOCK_DGRAM);
    t.h.poke(B, b"x");
    assert_eq!(t.call(g::__NR_sendto, &[u, B, 1, 0, 0, 0]), e(EDESTADDRREQ));
    t.h.poke(V, &sin(LO, 9000));
    assert_eq!(
        t.call(g::__NR_sendto, &[u, SCRATCH, 65508, 0, V, 16]),
        e(EMSGSIZE)
    );
    // Two sockets on one UDP port need SO_REUSEADDR on both.
    let r1 = t.socket(AF_INET, SOCK_DGRAM);
    let r2 = t.socket(AF_INET, SOCK_DGRAM);
    assert_eq!(t.bind(r1, &sin([0; 4], 9100)), 0);
    assert_eq!(t.bind(r2, &sin([0; 4], 9100)), e(EADDRINUSE));
}

#[test]
fn sendmsg_recvmsg_and_mmsg() {
    let mut t = T::new();
    let a = t.socket(AF_INET, SOCK_DGRAM);
    let b = t.socket(AF_INET, SOCK_DGRAM);
    assert_eq!(t.bind(b, &sin(LO, 9200)), 0);
    // iovecs at V+0x100.., msghdr at V.
    t.h.poke(B, b"abcdef");
    let mut iov = Vec::new();
    for (base, len) in [(B, 2u64), (B + 2, 4)] {
        iov.extend_from_slice(&base.to_le_bytes());
        iov.extend_from_slice(&len.to_le_bytes());
    }
    t.h.poke(V + 0x100, &iov);
    t.h.poke(A, &sin(LO, 9200));
    let mut msg = vec![0u8; 56];
    msg[0..8].copy_from_slice(&A.to_le_bytes());
    msg[8..12].copy_from_slice(&16u32.to_le_bytes());
    msg[16..24].copy_from_slice(&(V + 0x100).to_le_bytes());
    msg[24..32].copy_from_slice(&2u64.to_le_bytes());
    t.h.poke(V, &msg);
    assert_eq!(t.call(g::__NR_sendmsg, &[a, V, 0]), 6);
    // sendmmsg of two copies.
    let mut two = msg.clone();
    two.extend_from_slice(&[0; 8]);
    let mut both = two.clone();
    both.extend_from_slice(&two);
    t.h.poke(V, &both);
    assert_eq!(t.call(g::__NR_sendmmsg, &[a, V, 2, 0]), 2);
    assert_eq!(t.h.peek_u32(V + 56), 6);
    // recvmsg into 3 + 10 bytes.
    let mut iov = Vec::new();
    for (base, len) in [(B + 0x100, 3u64), (B + 0x200, 10)] {
        iov.extend_from_slice(&base.to_le_bytes());
        iov.extend_from_slice(&len.to_le_bytes());
    }
    t.h.poke(V + 0x100, &iov);
    let mut m = vec![0u8; 56];
    m[0..8].copy_from_slice(&(A + 0x40).to_le_bytes());
    m[8..12].copy_from_slice(&16u32.to_le_bytes());
    m[16..24].copy_from_slice(&(V + 0x100).to_le_bytes());
    m[24..32].copy_from_slice(&2u64.to_le_bytes());
    t.h.poke(V, &m);
    assert_eq!(t.call(g::__NR_recvmsg, &[b, V, 0]), 6);
    assert_eq!(t.h.peek(B + 0x100, 3), b"abc");
    assert_eq!(t.h.peek(B + 0x200, 3), b"def");
    assert_eq!(&t.h.peek(A + 0x40, 8)[4..8], &LO);
    // recvmmsg takes the two others without waiting for more.
    let mut mm = m.clone();
    mm.extend_from_slice(&[0; 8]);
    let mut both = mm.clone();
    both.extend_from_slice(&mm);
    t.h.poke(V, &both);
    assert_eq!(t.call(g::__NR_recvmmsg, &[b, V, 5, 0, 0]), 2);
    assert_eq!(t.h.peek_u32(V + 64 + 56), 6);
}

#[test]
fn socket_options() {
    let mut t = T::new();
    let s = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.getint(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM as i32);
    assert_eq!(t.getint(s, SOL_SOCKET, SO_DOMAIN), AF_INET as i32);
    assert_eq!(t.getint(s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP as i32);
    assert_eq!(t.getint(s, SOL_SOCKET, SO_RCVBUF), 131072);
    assert_eq!(t.setint(s, SOL_SOCKET, SO_RCVBUF, 10000), 0);
    assert_eq!(t.getint(s, SOL_SOCKET, SO_RCVBUF), 20000);
    assert_eq!(t.setint(s, SOL_SOCKET, SO_SNDBUF, 1), 0);
    assert_eq!(t.getint(s, SOL_SOCKET, SO_SNDBUF), 4608);
    assert_eq!(t.getint(s, IPPROTO_TCP, TCP_NODELAY), 0);
    assert_eq!(t.setint(s, IPPROTO_TCP, TCP_NODELAY, 1), 0);
    assert_eq!(t.getint(s, IPPROTO_TCP, TCP_NODELAY), 1);
    assert_eq!(t.setint(s, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
    assert_eq!(t.getint(s, SOL_SOCKET, SO_KEEPALIVE), 1);
    assert_eq!(t.setint(s, IPPROTO_TCP, TCP_KEEPIDLE, 30), 0);
    assert_eq!(t.getint(s, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    assert_eq!(t.setint(s, SOL_SOCKET, 9999, 1), e(ENOPROTOOPT));
    assert_eq!(t.setint(s, SOL_SOCKET, SO_TYPE, 1), e(ENOPROTOOPT));
    assert_eq!(t.setint(s, IPPROTO_IPV6, IPV6_V6ONLY, 1), e(ENOPROTOOPT));
    assert_eq!(t.getopt(s, IPPROTO_IPV6, IPV6_V6ONLY), Err(e(ENOPROTOOPT)));
    t.h.poke(V, &1u16.to_le_bytes());
    assert_eq!(
        t.call(
            g::__NR_setsockopt,
            &[s, SOL_SOCKET.into(), SO_REUSEADDR.into(), V, 2]
        ),
        e(EINVAL)
    );
    // SO_LINGER and the timeouts.
    let mut l = 1i32.to_le_bytes().to_vec();
    l.extend_from_slice(&5i32.to_le_bytes());
    t.h.poke(V, &l);
    assert_eq!(
        t.call(
            g::__NR_setsockopt,
            &[s, SOL_SOCKET.into(), SO_LINGER.into(), V, 8]
        ),
        0
    );
    assert_eq!(t.getopt(s, SOL_SOCKET, SO_LINGER).unwrap(), l);
    let tv = crate::sys::le64(&[2, 500_000]);
    t.h.poke(V, &tv);
    assert_eq!(
        t.call(
            g::__NR_setsockopt,
            &[s, SOL_SOCKET.into(), SO_RCVTIMEO.into(), V, 16]
        ),
        0
    );
    assert_eq!(t.getopt(s, SOL_SOCKET, SO_RCVTIMEO).unwrap(), tv);
    let u = t.socket(AF_UNIX, SOCK_STREAM);
    assert_eq!(t.setint(u, IPPROTO_TCP, TCP_NODELAY, 1), e(EOPNOTSUPP));
    assert_eq!(t.getint(u, SOL_SOCKET, SO_SNDBUF), 212992);
    let d = t.socket(AF_INET, SOCK_DGRAM);
    assert_eq!(t.setint(d, IPPROTO_TCP, TCP_NODELAY, 1), e(ENOPROTOOPT));
}

#[test]
fn receive_timeout_ends_with_eagain() {
    let mut t = T::new();
    let s = t.socket(AF_INET, SOCK_DGRAM);
    assert_eq!(t.bind(s, &sin(LO, 9300)), 0);
    t.h.poke(V, &crate::sys::le64(&[0, 250_000]));
    assert_eq!(
        t.call(
            g::__NR_setsockopt,
            &[s, SOL_SOCKET.into(), SO_RCVTIMEO.into(), V, 16]
        ),
        0
    );
    let before = crate::platform::Platform::monotonic_ns(&t.h.plat);
    // The harness runs the call again at its deadline.
    assert_eq!(t.recvfrom(s, 10, 0), Err(e(EAGAIN)));
    let after = crate::platform::Platform::monotonic_ns(&t.h.plat);
    assert!(after - before >= 250_000_000);
}

// ------------------------------------------------------------------------------------------------
// The external path over a fake stack

/// A fake TCP connection: phase, pending error, inbox, outbox.
type FakeTcp = (TcpPhase, Option<Errno>, Vec<u8>, Vec<u8>);

#[derive(Default)]
struct FakeState {
    /// Handle → (phase, error, inbox).
    tcp: Vec<FakeTcp>,
    connects: Vec<(SocketAddr, SocketAddr)>,
    closed: Vec<(Handle, bool)>,
    listens: Vec<SocketAddr>,
    pending: Vec<(Handle, SocketAddr, SocketAddr)>,
    /// TCP_CORK as last set, by handle.
    corks: Vec<(Handle, bool)>,
}

#[derive(Default)]
struct FakeStack {
    s: StdMutex<FakeState>,
}

const MY_IP: [u8; 4] = [10, 0, 2, 15];

impl NetStack for FakeStack {
    fn is_local_addr(&self, ip: IpAddr) -> bool {
        ip == IpAddr::V4(Ipv4Addr::from(MY_IP))
    }
    fn addrs(&self) -> Vec<IpAddr> {
        vec![IpAddr::V4(Ipv4Addr::from(MY_IP))]
    }
    fn source_for(&self, dst: IpAddr) -> Result<IpAddr, Errno> {
        if dst.is_ipv4() {
            Ok(IpAddr::V4(Ipv4Addr::from(MY_IP)))
        } else {
            Err(ENETUNREACH)
        }
    }
    fn tcp_listen(&self, local: SocketAddr, _backlog: usize) -> Result<Handle, Errno> {
        let mut s = self.s.lock().unwrap();
        s.listens.push(local);
        s.tcp.push((TcpPhase::Closed, None, vec![], vec![]));
        Ok(s.tcp.len() as u32 - 1)
    }
    fn tcp_accept(&self, _l: Handle) -> Result<(Handle, SocketAddr, SocketAddr), Errno> {
        self.s.lock().unwrap().pending.pop().ok_or(EAGAIN)
    }
    fn tcp_acceptable(&self, _l: Handle) -> bool {
        !self.s.lock().unwrap().pending.is_empty()
    }
    fn tcp_connect(&self, local: SocketAddr, remote: SocketAddr) -> Result<Handle, Errno> {
        let mut s = self.s.lock().unwrap();
        s.connects.push((local, remote));
        s.tcp.push((TcpPhase::Connecting, None, vec![], vec![]));
        Ok(s.tcp.len() as u32 - 1)
    }
    fn tcp_info(&self, h: Handle) -> TcpInfo {
        let s = self.s.lock().unwrap();
        let t = &s.tcp[h as usize];
        TcpInfo {
            phase: t.0,
            readable: t.2.len(),
            writable: t.0 == TcpPhase::Established,
            peer_closed: false,
            error: t.1,
        }
    }
    fn tcp_send(&self, h: Handle, data: &[u8]) -> Result<usize, Errno> {
        self.s.lock().unwrap().tcp[h as usize]
            .3
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn tcp_recv(&self, h: Handle, buf: &mut [u8], _peek: bool) -> Result<usize, Errno> {
        let mut s = self.s.lock().unwrap();
        let inbox = &mut s.tcp[h as usize].2;
        if inbox.is_empty() {
            return Err(EAGAIN);
        }
        let n = buf.len().min(inbox.len());
        buf[..n].copy_from_slice(&inbox[..n]);
        inbox.drain(..n);
        Ok(n)
    }
    fn tcp_shutdown(&self, _h: Handle) {}
    fn tcp_set_nodelay(&self, _h: Handle, _on: bool) {}
    fn tcp_set_cork(&self, h: Handle, on: bool) {
        let mut s = self.s.lock().unwrap();
        s.corks.retain(|c| c.0 != h);
        s.corks.push((h, on));
    }
    fn tcp_set_keepalive(&self, _h: Handle, _ms: Option<u64>) {}
    fn tcp_close(&self, h: Handle, abort: bool) {
        self.s.lock().unwrap().closed.push((h, abort));
    }
    fn udp_bind(&self, _local: SocketAddr) -> Result<Handle, Errno> {
        Ok(1000)
    }
    fn udp_send(&self, _h: Handle, data: &[u8], _to: SocketAddr) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn udp_recv(
        &self,
        _h: Handle,
        _buf: &mut [u8],
        _peek: bool,
    ) -> Result<(usize, usize, SocketAddr), Errno> {
        Err(EAGAIN)
    }
    fn udp_pending(&self, _h: Handle) -> Option<usize> {
        None
    }
    fn udp_close(&self, _h: Handle) {}
}

fn with_fake() -> (T, Arc<FakeStack>) {
    let t = T::new();
    let f = Arc::new(FakeStack::default());
    super::set_stack(f.clone());
    (t, f)
}

#[test]
fn external_connect_nonblocking_then_so_error() {
    let (mut t, f) = with_fake();
    let c = t.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    assert_eq!(t.connect(c, &sin([10, 0, 2, 2], 8080)), e(EINPROGRESS));
    {
        let s = f.s.lock().unwrap();
        assert_eq!(s.connects[0].1, "10.0.2.2:8080".parse().unwrap());
        assert_eq!(s.connects[0].0.ip(), IpAddr::V4(Ipv4Addr::from(MY_IP)));
    }
    assert_eq!(t.poll(c) & (POLLIN | POLLOUT | POLLERR), 0);
    assert_eq!(t.connect(c, &sin([10, 0, 2, 2], 8080)), e(EALREADY));
    f.s.lock().unwrap().tcp[0].0 = TcpPhase::Established;
    assert_eq!(t.poll(c) & (POLLOUT | POLLERR), POLLOUT);
    assert_eq!(t.getint(c, SOL_SOCKET, SO_ERROR), 0);
    assert_eq!(t.connect(c, &sin([10, 0, 2, 2], 8080)), e(EISCONN));
    assert_eq!(t.write(c, b"GET"), 3);
    assert_eq!(f.s.lock().unwrap().tcp[0].3, b"GET");
    f.s.lock().unwrap().tcp[0].2.extend_from_slice(b"OK");
    assert_eq!(t.poll(c) & POLLIN, POLLIN);
    assert_eq!(t.read(c, 10).unwrap(), b"OK");
    // SO_LINGER 0: the close resets.
    let mut l = 1i32.to_le_bytes().to_vec();
    l.extend_from_slice(&0i32.to_le_bytes());
    t.h.poke(V, &l);
    assert_eq!(
        t.call(
            g::__NR_setsockopt,
            &[c, SOL_SOCKET.into(), SO_LINGER.into(), V, 8]
        ),
        0
    );
    t.close(c);
    assert_eq!(f.s.lock().unwrap().closed, vec![(0, true)]);
}

#[test]
fn external_connect_refused_and_blocking() {
    let (mut t, f) = with_fake();
    let c = t.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    assert_eq!(t.connect(c, &sin([10, 0, 2, 2], 1)), e(EINPROGRESS));
    f.s.lock().unwrap().tcp[0] = (TcpPhase::Closed, Some(ECONNREFUSED), vec![], vec![]);
    assert_eq!(t.poll(c) & (POLLERR | POLLHUP), POLLERR | POLLHUP);
    assert_eq!(t.getint(c, SOL_SOCKET, SO_ERROR), ECONNREFUSED.0 as i32);
    assert_eq!(t.getint(c, SOL_SOCKET, SO_ERROR), 0);
    // A blocking connect waits, and its rerun reports the outcome.
    let b = t.socket(AF_INET, SOCK_STREAM);
    t.h.poke(A, &sin([10, 0, 2, 2], 2));
    assert_eq!(t.h.call(g::__NR_connect, &[b, A, 16]), -512);
    assert!(t.h.p.wait.is_some());
    f.s.lock().unwrap().tcp[1].0 = TcpPhase::Established;
    assert_eq!(t.h.call(g::__NR_connect, &[b, A, 16]), 0);
    assert!(t.h.p.wait.is_none());
    // No route for IPv6 on the fake.
    let v6 = t.socket(AF_INET6, SOCK_STREAM);
    let mut ip = [0u8; 16];
    ip[0] = 0x20;
    ip[15] = 1;
    assert_eq!(t.connect(v6, &sin6(ip, 80)), e(ENETUNREACH));
}

#[test]
fn listener_on_wildcard_takes_both_paths() {
    let (mut t, f) = with_fake();
    let srv = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.bind(srv, &sin([0; 4], 8080)), 0);
    assert_eq!(t.listen(srv, 8), 0);
    assert_eq!(
        f.s.lock().unwrap().listens,
        vec!["0.0.0.0:8080".parse::<SocketAddr>().unwrap()]
    );
    // The own address is local: a loopback connection.
    let c = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.connect(c, &sin(MY_IP, 8080)), 0);
    let s = t.accept(srv, 0) as u64;
    assert_eq!(&t.name(g::__NR_getsockname, s).unwrap()[4..8], &MY_IP);
    // One from outside.
    let h = {
        let mut st = f.s.lock().unwrap();
        st.tcp
            .push((TcpPhase::Established, None, b"hi".to_vec(), vec![]));
        let h = st.tcp.len() as u32 - 1;
        st.pending.push((
            h,
            "10.0.2.15:8080".parse().unwrap(),
            "10.0.2.2:40000".parse().unwrap(),
        ));
        h
    };
    assert_eq!(t.poll(srv) & POLLIN, POLLIN);
    let x = t.accept(srv, 0) as u64;
    assert_eq!(t.h.peek(A, 16), sin([10, 0, 2, 2], 40000));
    assert_eq!(t.read(x, 10).unwrap(), b"hi");
    t.close(x);
    assert!(f.s.lock().unwrap().closed.contains(&(h, false)));
    // Listening on 127.0.0.1 stays off the stack.
    let lo = t.socket(AF_INET, SOCK_STREAM);
    assert_eq!(t.bind(lo, &sin(LO, 8081)), 0);
    assert_eq!(t.listen(lo, 8), 0);
    assert_eq!(f.s.lock().unwrap().listens.len(), 1);
}

/// Edge-triggered epoll reports new data even when the socket was already readable (nginx reads a
/// request once, without draining to EAGAIN, and waits for the next one): the socket's generation
/// moves with each arrival.
#[test]
fn edge_triggered_epoll_sees_each_arrival() {
    const EPOLLIN: u32 = 1;
    const EPOLLET: u32 = 1 << 31;
    let mut t = T::new();
    let ep = t.call(g::__NR_epoll_create1, &[0]);
    assert!(ep >= 0);
    let ep = ep as u64;
    assert_eq!(
        t.call(
            g::__NR_socketpair,
            &[AF_UNIX.into(), SOCK_STREAM.into(), 0, V]
        ),
        0
    );
    let (a, b) = (u64::from(t.h.peek_u32(V)), u64::from(t.h.peek_u32(V + 4)));
    let mut ev = (EPOLLIN | EPOLLET).to_le_bytes().to_vec();
    ev.extend_from_slice(&7u64.to_le_bytes());
    t.h.poke(V, &ev);
    assert_eq!(t.call(g::__NR_epoll_ctl, &[ep, 1, b, V]), 0);
    let wait = |t: &mut T| {
        let n = t.call(g::__NR_epoll_wait, &[ep, V + 0x100, 8, 0]);
        assert!(n >= 0, "epoll_wait: {n}");
        n
    };
    assert_eq!(wait(&mut t), 0, "nothing yet");
    assert_eq!(t.write(a, b"GET 1"), 5);
    assert_eq!(wait(&mut t), 1, "the first request");
    assert_eq!(wait(&mut t), 0, "reported once");
    // Read it without draining to EAGAIN; the next request arrives before the next wait.
    assert_eq!(t.read(b, 5).unwrap(), b"GET 1");
    assert_eq!(t.write(a, b"GET 2"), 5);
    assert_eq!(wait(&mut t), 1, "the second request is a new edge");
    assert_eq!(t.write(a, b"GET 3"), 5);
    assert_eq!(
        wait(&mut t),
        1,
        "more data while still readable is a new edge too"
    );
    assert_eq!(wait(&mut t), 0);
}

/// An epoll instance watching `fd` for EPOLLIN (edge-triggered); returns its fd.
fn epoll_et(t: &mut T, fd: u64) -> u64 {
    const EPOLLIN: u32 = 1;
    const EPOLLET: u32 = 1 << 31;
    let ep = t.call(g::__NR_epoll_create1, &[0]);
    assert!(ep >= 0);
    let ep = ep as u64;
    let mut ev = (EPOLLIN | EPOLLET).to_le_bytes().to_vec();
    ev.extend_from_slice(&7u64.to_le_bytes());
    t.h.poke(V, &ev);
    assert_eq!(t.call(g::__NR_epoll_ctl, &[ep, 1, fd, V]), 0);
    ep
}

/// Ready events of `ep` now (epoll_wait with timeout 0).
fn epoll_now(t: &mut T, ep: u64) -> i64 {
    let n = t.call(g::__NR_epoll_wait, &[ep, V + 0x100, 8, 0]);
    assert!(n >= 0, "epoll_wait: {n}");
    n
}

/// Queue an established connection from outside on the fake stack's listener.
fn fake_arrival(f: &FakeStack, peer_port: u16) {
    let mut st = f.s.lock().unwrap();
    st.tcp.push((TcpPhase::Established, None, vec![], vec![]));
    let h = st.tcp.len() as u32 - 1;
    st.pending.push((
        h,
        "10.0.2.15:8090".parse().unwrap(),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 2)), peer_port),
    ));
}

/// After accept drained the listener to EAGAIN, the next connection is a new edge even when the
/// stack's generation did not move for it (smoltcp's listeners count a connection at its SYN, before
/// it can be accepted; Go's net/http server then waited forever for the edge).
#[test]
fn edge_triggered_listener_reports_a_connection_after_eagain() {
    let (mut t, f) = with_fake();
    let srv = t.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    assert_eq!(t.bind(srv, &sin([0; 4], 8090)), 0);
    assert_eq!(t.listen(srv, 8), 0);
    let ep = epoll_et(&mut t, srv);
    assert_eq!(epoll_now(&mut t, ep), 0);
    fake_arrival(&f, 40000);
    assert_eq!(epoll_now(&mut t, ep), 1, "the first connection");
    assert_eq!(epoll_now(&mut t, ep), 0, "reported once");
    assert!(t.accept(srv, 0) >= 0);
    assert_eq!(t.accept(srv, 0), e(EAGAIN));
    // The next one becomes acceptable with no scan in between and no generation move.
    fake_arrival(&f, 40001);
    assert_eq!(epoll_now(&mut t, ep), 1, "a connection after EAGAIN");
    assert_eq!(epoll_now(&mut t, ep), 0);
    assert!(t.accept(srv, 0) >= 0);
}

/// Datagrams: each arrival is a new edge, and so is one after a receive drained the queue.
#[test]
fn edge_triggered_datagrams_each_arrival_is_an_edge() {
    for unix in [false, true] {
        let mut t = T::new();
        let (r, s, to) = if unix {
            let r = t.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK);
            let to = sun(b"/et-dgram");
            assert_eq!(t.bind(r, &to), 0);
            (r, t.socket(AF_UNIX, SOCK_DGRAM), to)
        } else {
            let r = t.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
            let to = sin(LO, 9400);
            assert_eq!(t.bind(r, &to), 0);
            (r, t.socket(AF_INET, SOCK_DGRAM), to)
        };
        let ep = epoll_et(&mut t, r);
        assert_eq!(epoll_now(&mut t, ep), 0);
        assert_eq!(t.sendto(s, b"one", &to), 3);
        assert_eq!(epoll_now(&mut t, ep), 1, "unix {unix}: the first datagram");
        assert_eq!(epoll_now(&mut t, ep), 0, "unix {unix}: reported once");
        assert_eq!(t.sendto(s, b"two", &to), 3);
        assert_eq!(
            epoll_now(&mut t, ep),
            1,
            "unix {unix}: one more while readable"
        );
        assert_eq!(t.recvfrom(r, 10, 0).unwrap().0, b"one");
        assert_eq!(t.recvfrom(r, 10, 0).unwrap().0, b"two");
        assert_eq!(t.recvfrom(r, 10, 0), Err(e(EAGAIN)));
        assert_eq!(t.sendto(s, b"three", &to), 5);
        assert_eq!(epoll_now(&mut t, ep), 1, "unix {unix}: one after EAGAIN");
    }
}

/// TCP_CORK reaches the stack (nginx corks a response's header and body into one segment), and
/// reads back as set.
#[test]
fn tcp_cork_reaches_the_stack() {
    let (mut t, f) = with_fake();
    let c = t.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    assert_eq!(t.connect(c, &sin([10, 0, 2, 2], 80)), e(EINPROGRESS));
    f.s.lock().unwrap().tcp[0].0 = TcpPhase::Established;
    assert_eq!(t.poll(c) & POLLOUT, POLLOUT);
    assert_eq!(t.setint(c, IPPROTO_TCP, TCP_CORK, 1), 0);
    assert_eq!(f.s.lock().unwrap().corks, vec![(0, true)]);
    assert_eq!(t.getint(c, IPPROTO_TCP, TCP_CORK), 1);
    assert_eq!(t.write(c, b"head"), 4);
    assert_eq!(t.setint(c, IPPROTO_TCP, TCP_CORK, 0), 0);
    assert_eq!(f.s.lock().unwrap().corks, vec![(0, false)]);
    assert_eq!(t.getint(c, IPPROTO_TCP, TCP_CORK), 0);
}
