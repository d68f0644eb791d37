//! Sockets: AF_UNIX stream and datagram sockets, and AF_INET/AF_INET6 TCP and UDP. Every socket is a
//! [`File`] (read, write, poll, ioctl and fstat work on it like on any descriptor) whose socket
//! operations are behind the [`Socket`] trait; the syscalls are in [`sys`].
//!
//! Loopback traffic (127.0.0.0/8, ::1 and the machine's own addresses) never leaves this crate: a TCP
//! connection over loopback is a pair of in-kernel byte streams, as an AF_UNIX one is. Everything else
//! goes through a [`stack::NetStack`] that the kernel provides (smoltcp over virtio-net); without one,
//! only loopback works (ENETUNREACH elsewhere). Host tests use a fake stack.
//!
//! Like every file here, sockets never block: EAGAIN means "would block", and the syscall layer waits
//! (`Errno::RESTART`) unless the socket is non-blocking or MSG_DONTWAIT was given.

pub mod addr;
pub mod consts;
pub mod inet;
pub mod local;
pub mod stack;
pub mod sys;
#[cfg(test)]
mod tests;
pub mod unix;

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

use crate::errno::{Errno, SysResult};
use crate::platform::Platform;
use crate::sys::Ctx;
use crate::vfs::{makedev, Env, File, Stat};

/// Options every socket keeps (setsockopt/getsockopt); the socket reads the ones that matter to it.
#[derive(Clone, Debug)]
pub struct SockOpts {
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    /// SO_LINGER: Some(seconds) when l_onoff is set.
    pub linger: Option<u32>,
    /// SO_RCVBUF/SO_SNDBUF as getsockopt reports them (twice the value set, as Linux).
    pub rcvbuf: u32,
    pub sndbuf: u32,
    /// SO_RCVTIMEO/SO_SNDTIMEO in nanoseconds (0: none).
    pub rcvtimeo: u64,
    pub sndtimeo: u64,
    pub nodelay: bool,
    pub v6only: bool,
    pub broadcast: bool,
    pub passcred: bool,
    /// Options that are accepted and reported back but change nothing here.
    pub other: BTreeMap<(u32, u32), Vec<u8>>,
}

impl SockOpts {
    pub fn new(rcvbuf: u32, sndbuf: u32) -> SockOpts {
        SockOpts {
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            linger: None,
            rcvbuf,
            sndbuf,
            rcvtimeo: 0,
            sndtimeo: 0,
            nodelay: false,
            v6only: false,
            broadcast: false,
            passcred: false,
            other: BTreeMap::new(),
        }
    }
}

/// What a receive returned.
#[derive(Debug, Default)]
pub struct Received {
    /// Bytes copied to the buffer.
    pub len: usize,
    /// Length of the whole datagram (> len: it was truncated, MSG_TRUNC).
    pub full: usize,
    /// The sender's address (datagram sockets), as struct sockaddr bytes.
    pub from: Option<Vec<u8>>,
}

/// The operations of a socket beyond those of a file.
pub trait Socket: Send + Sync + Any {
    fn as_any(&self) -> &dyn Any;
    fn family(&self) -> u32;
    fn sock_type(&self) -> u32;
    fn protocol(&self) -> u32;
    fn opts(&self) -> &Mutex<SockOpts>;
    /// An option of `opts` changed (TCP_NODELAY, SO_KEEPALIVE...): pass it on.
    fn opts_changed(&self) {}
    fn bind(&self, cx: &mut Ctx, addr: &[u8]) -> Result<(), Errno>;
    fn listen(&self, backlog: i32) -> Result<(), Errno>;
    /// A connection waiting in the backlog and its peer's address (EAGAIN: none yet).
    fn accept(&self) -> Result<(Arc<dyn Socket>, Vec<u8>), Errno>;
    /// Start connecting: Ok when connected, EINPROGRESS when it goes on in the background, EAGAIN when
    /// it cannot start yet (a full AF_UNIX backlog).
    fn connect(&self, cx: &mut Ctx, addr: &[u8]) -> Result<(), Errno>;
    /// After EINPROGRESS: None while connecting, then the outcome.
    fn connect_result(&self) -> Option<Result<(), Errno>> {
        Some(Ok(()))
    }
    /// Send `data` (to `to` for datagrams). `cx` is None for write(2), which cannot name an address.
    fn send(
        &self,
        cx: Option<&mut Ctx>,
        data: &[u8],
        to: Option<&[u8]>,
        flags: u32,
    ) -> Result<usize, Errno>;
    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno>;
    fn shutdown(&self, how: u32) -> Result<(), Errno>;
    fn sockname(&self) -> Vec<u8>;
    fn peername(&self) -> Result<Vec<u8>, Errno>;
    /// POLL* bits ready now.
    fn poll(&self) -> u32;
    /// A counter that moves when data or room arrives (see `File::generation`); 0 when unknown. It
    /// must also move after [`Socket::note_again`], so that edge-triggered epoll reports the next
    /// readiness after an EAGAIN as a new edge, whatever caused it.
    fn generation(&self) -> u64 {
        0
    }
    /// An operation (accept, send, recv) answered EAGAIN.
    fn note_again(&self) {}
    /// SO_ERROR: the pending error, cleared.
    fn take_error(&self) -> Option<Errno>;
    fn is_listening(&self) -> bool;
    /// FIONREAD: bytes (stream) or the next datagram's size.
    fn nread(&self) -> usize;
    /// What a blocking receive waits for with MSG_WAITALL: whether `want` bytes can be read at once
    /// (or never will: end of file, an error).
    fn can_read_all(&self, _want: usize) -> bool {
        true
    }
}

/// `r`, telling `sock` when it is EAGAIN (see [`Socket::note_again`]).
pub(crate) fn noting_again<T>(sock: &dyn Socket, r: Result<T, Errno>) -> Result<T, Errno> {
    if matches!(r, Err(Errno::EAGAIN)) {
        sock.note_again();
    }
    r
}

/// Counts the EAGAIN answers of a socket. Edge-triggered epoll compares a socket's generation to
/// find new edges; a program that drained a socket to EAGAIN waits for the next edge, which must come
/// even if the event that made the socket ready again did not move the generation (the external
/// stack counts a connection at its SYN, before it can be accepted; a datagram queue has no counter).
#[derive(Default)]
pub(crate) struct Again(AtomicU64);

impl Again {
    pub(crate) fn note(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// An open socket: the file behind a socket descriptor.
pub struct SocketFile {
    pub sock: Arc<dyn Socket>,
    pub ino: u64,
}

impl SocketFile {
    pub fn new(sock: Arc<dyn Socket>) -> Arc<SocketFile> {
        static NEXT_INO: AtomicU64 = AtomicU64::new(20000);
        Arc::new(SocketFile {
            sock,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        })
    }
}

impl File for SocketFile {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(&self, _plat: &mut dyn Platform, _pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(noting_again(&*self.sock, self.sock.recv(buf, 0))?.len)
    }
    fn write(&self, _plat: &mut dyn Platform, _pos: u64, data: &[u8]) -> Result<usize, Errno> {
        noting_again(&*self.sock, self.sock.send(None, data, None, 0))
    }
    fn poll(&self, _plat: &mut dyn Platform) -> u32 {
        self.sock.poll()
    }
    fn generation(&self) -> u64 {
        self.sock.generation()
    }
    fn ioctl(&self, cx: &mut Ctx, req: u32, arg: u64) -> SysResult {
        use linux_raw_sys::ioctl as io;
        const SIOCATMARK: u32 = 0x8905;
        const SIOCOUTQ: u32 = 0x5411;
        match req {
            io::FIONREAD => {
                let n = self.sock.nread().min(i32::MAX as usize) as u32;
                crate::sys::put(cx, arg, &n.to_le_bytes())?;
                Ok(0)
            }
            SIOCATMARK | SIOCOUTQ => {
                crate::sys::put(cx, arg, &0u32.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        // sockfs: device 0:8, mode S_IFSOCK | 0777.
        Ok(Stat {
            dev: makedev(0, 8),
            ino: self.ino,
            mode: 0o140777,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }
}

/// The sockets' shared world: the AF_UNIX names, the ports in use, the external network stack.
pub struct Net {
    pub(crate) unix: Mutex<BTreeMap<unix::Key, Weak<unix::Shared>>>,
    pub(crate) ports: Mutex<inet::Ports>,
    stack: Mutex<Option<Arc<dyn stack::NetStack>>>,
}

impl Net {
    fn new() -> Net {
        Net {
            unix: Mutex::new(BTreeMap::new()),
            ports: Mutex::new(inet::Ports::new()),
            stack: Mutex::new(None),
        }
    }

    /// The external network stack, if the machine has a network.
    pub fn stack(&self) -> Option<Arc<dyn stack::NetStack>> {
        self.stack.lock().clone()
    }
}

#[cfg(not(test))]
static NET: Mutex<Option<Arc<Net>>> = Mutex::new(None);

/// The sockets' world (one per machine; one per test thread under `cargo test`).
#[cfg(not(test))]
pub fn net() -> Arc<Net> {
    NET.lock()
        .get_or_insert_with(|| Arc::new(Net::new()))
        .clone()
}

#[cfg(test)]
std::thread_local! {
    static NET: Arc<Net> = Arc::new(Net::new());
}

#[cfg(test)]
pub fn net() -> Arc<Net> {
    NET.with(|n| n.clone())
}

/// Give the sockets an external network (the kernel's virtio-net stack).
pub fn set_stack(stack: Arc<dyn stack::NetStack>) {
    *net().stack.lock() = Some(stack);
}
