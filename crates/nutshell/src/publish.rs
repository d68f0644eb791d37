//! Published TCP ports (`-p`): nutshell listens on the host port itself and relays each connection
//! to QEMU's user-mode network through an internal forward on 127.0.0.1, like docker's userland
//! proxy.
//!
//! Why not QEMU's `hostfwd` on the published port directly: libslirp listens with a backlog of 1,
//! so a burst of clients overflows the host's accept queue, their SYNs are dropped, and each one
//! waits for its SYN retransmission (1 s, then 3 s, 7 s...). Here the published port has a full
//! backlog (clients connect at once), and one dialer opens the internal connections one at a time,
//! giving up on an attempt that does not complete within a few milliseconds (its SYN was dropped)
//! and trying again, so nothing waits for a retransmission. UDP ports go through `hostfwd`
//! directly: there is no accept queue to overflow.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::{Proto, Publish};

/// One QEMU `hostfwd=` rule: `PROTO:HOSTIP:HOSTPORT-:GUESTPORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    /// Empty for every address.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub guest_port: u16,
}

/// How long one internal connection attempt may take before it is abandoned and tried again.
const ATTEMPT: Duration = Duration::from_millis(25);
/// How long a client may wait for the VM to take its connection.
const GIVE_UP: Duration = Duration::from_secs(60);
/// How often the accept loops look at the stop flag.
const TICK_MS: i32 = 100;

/// A published TCP port, bound on the host, not relaying yet.
struct Listener {
    listener: TcpListener,
    internal: u16,
}

/// The published ports of one VM: the host listeners and the `hostfwd` rules QEMU needs.
pub struct Proxies {
    listeners: Vec<Listener>,
    forwards: Vec<Forward>,
    stop: Arc<AtomicBool>,
}

/// Why a published port cannot be used: (the port as `tcp port ADDR`, the reason).
pub type BindError = (String, io::Error);

impl Proxies {
    /// Bind every published TCP port and choose the internal ports; UDP ports become `hostfwd` rules.
    pub fn bind(publish: &[Publish]) -> Result<Proxies, BindError> {
        let mut listeners = Vec::new();
        let mut forwards = Vec::new();
        for p in publish {
            for i in 0..p.count {
                let ip = p.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                let addr = SocketAddr::new(ip, p.host_port + i);
                match p.proto {
                    Proto::Udp => {
                        // Bind once to give a clear message now rather than QEMU's later.
                        std::net::UdpSocket::bind(addr)
                            .map_err(|e| (format!("udp port {addr}"), e))?;
                        forwards.push(Forward {
                            proto: Proto::Udp,
                            host_ip: p.host_ip,
                            host_port: p.host_port + i,
                            guest_port: p.guest_port + i,
                        });
                    }
                    Proto::Tcp => {
                        let listener =
                            TcpListener::bind(addr).map_err(|e| (format!("tcp port {addr}"), e))?;
                        // A backlog as large as the system allows (std's is 128): a burst of
                        // clients must not see dropped SYNs here either.
                        // SAFETY: listen(2) on a socket this listener owns.
                        unsafe { libc::listen(listener.as_raw_fd(), libc::SOMAXCONN) };
                        let internal = free_loopback_port()
                            .map_err(|e| ("an internal port on 127.0.0.1".to_owned(), e))?;
                        forwards.push(Forward {
                            proto: Proto::Tcp,
                            host_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                            host_port: internal,
                            guest_port: p.guest_port + i,
                        });
                        listeners.push(Listener { listener, internal });
                    }
                }
            }
        }
        Ok(Proxies {
            listeners,
            forwards,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The `hostfwd` rules for QEMU.
    pub fn forwards(&self) -> &[Forward] {
        &self.forwards
    }

    /// Start relaying (once QEMU listens on the internal ports). The threads stop when `self` is
    /// dropped.
    pub fn start(&mut self) {
        for l in self.listeners.drain(..) {
            let stop = Arc::clone(&self.stop);
            thread::spawn(move || accept_loop(l, &stop));
        }
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A port on 127.0.0.1 that nothing listens on now.
fn free_loopback_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether `fd` becomes readable within `ms` milliseconds.
fn readable(fd: i32, ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    n > 0
}

/// Accept clients; a dialer thread connects them to the VM one at a time, in order.
fn accept_loop(l: Listener, stop: &Arc<AtomicBool>) {
    let (queue, waiting) = mpsc::channel::<TcpStream>();
    let internal = SocketAddr::from((Ipv4Addr::LOCALHOST, l.internal));
    let dial_stop = Arc::clone(stop);
    thread::spawn(move || {
        for client in waiting {
            if dial_stop.load(Ordering::Relaxed) {
                return;
            }
            match dial(internal, &dial_stop) {
                Some(vm) => {
                    thread::spawn(move || relay(client, vm));
                }
                None => {
                    let _ = client.shutdown(Shutdown::Both);
                }
            }
        }
    });
    while !stop.load(Ordering::Relaxed) {
        if !readable(l.listener.as_raw_fd(), TICK_MS) {
            continue;
        }
        if let Ok((client, _)) = l.listener.accept() {
            let _ = client.set_nodelay(true);
            if queue.send(client).is_err() {
                return;
            }
        }
    }
}

/// Connect to QEMU's internal forward, retrying attempts whose SYN the full accept queue dropped.
fn dial(to: SocketAddr, stop: &AtomicBool) -> Option<TcpStream> {
    let start = Instant::now();
    while start.elapsed() < GIVE_UP && !stop.load(Ordering::Relaxed) {
        match TcpStream::connect_timeout(&to, ATTEMPT) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Some(s);
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                // QEMU has not set up the forward yet (or is gone).
                thread::sleep(Duration::from_millis(20));
            }
            Err(_) => {}
        }
    }
    None
}

/// Copy both ways until both directions have ended; a reset on one side resets the other.
fn relay(client: TcpStream, vm: TcpStream) {
    let (Ok(client2), Ok(vm2)) = (client.try_clone(), vm.try_clone()) else {
        return;
    };
    let up = thread::spawn(move || pump(client2, vm2));
    pump(vm, client);
    let _ = up.join();
}

/// Copy `from` to `to`; at EOF, end `to`'s writing side; on an error, shut both down.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                reset(&to);
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

/// Close `s` with a reset (SO_LINGER 0), so that the other end sees what this one saw.
fn reset(s: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a linger struct of the size given.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    let _ = s.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake "QEMU forward": a listener with backlog 1 that accepts slowly, like libslirp's.
    #[test]
    fn relays_many_concurrent_clients_through_a_backlog_of_one() {
        let port = free_loopback_port().unwrap();
        let publish = crate::cli::parse_publish(&format!("127.0.0.1:{port}:80")).unwrap();
        let mut proxies = Proxies::bind(std::slice::from_ref(&publish)).expect("bind");
        let fwd = proxies.forwards()[0].clone();
        assert_eq!(fwd.proto, Proto::Tcp);
        assert_eq!(fwd.guest_port, 80);
        // The "VM": an echo server on the internal port whose listen backlog is 1.
        let vm = backlog_one_listener(fwd.host_port);
        thread::spawn(move || {
            for s in vm.incoming().flatten() {
                thread::sleep(Duration::from_millis(2)); // a slow main loop
                thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let mut w = s;
                    let _ = io::copy(&mut r, &mut w);
                });
            }
        });
        proxies.start();
        let started = Instant::now();
        let clients: Vec<_> = (0..100)
            .map(|i| {
                thread::spawn(move || {
                    let mut s = TcpStream::connect(("127.0.0.1", publish.host_port)).unwrap();
                    let msg = format!("client {i}\n");
                    s.write_all(msg.as_bytes()).unwrap();
                    s.shutdown(Shutdown::Write).unwrap();
                    let mut back = String::new();
                    s.read_to_string(&mut back).unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.join().expect("client");
        }
        // With the SYN drops of a backlog of one, some clients would wait 1 s or more.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn port_in_use_is_reported() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let p = crate::cli::parse_publish(&format!("127.0.0.1:{port}:80")).unwrap();
        let Err((what, e)) = Proxies::bind(&[p]) else {
            panic!("bound a port in use")
        };
        assert_eq!(what, format!("tcp port 127.0.0.1:{port}"));
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    }

    fn backlog_one_listener(port: u16) -> TcpListener {
        // SAFETY: plain socket calls on a descriptor this function owns until it is wrapped.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0);
            let one: libc::c_int = 1;
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&one as *const libc::c_int).cast(),
                4,
            );
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = port.to_be();
            sa.sin_addr.s_addr = u32::from(Ipv4Addr::LOCALHOST).to_be();
            let r = libc::bind(
                fd,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            assert_eq!(r, 0);
            assert_eq!(libc::listen(fd, 1), 0);
            std::os::fd::FromRawFd::from_raw_fd(fd)
        }
    }
}
