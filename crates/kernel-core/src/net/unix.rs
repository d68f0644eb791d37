//! AF_UNIX sockets (unix(7)): stream and datagram, named by a path in the filesystem (a socket inode,
//! found again by its device and inode numbers) or in the abstract namespace, or unnamed
//! (socketpair). Stream connections are [`StreamEnd`] pairs; datagrams go to the receiver's queue.

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_raw_sys::general as g;
use spin::Mutex;

use super::addr::{encode_unix, parse_unix, UnixAddr};
use super::consts::*;
use super::local::{backlog_of, Backlog, StreamEnd};
use super::{net, Again, Net, Received, SockOpts, Socket};
use crate::errno::Errno;
use crate::sys::Ctx;
use crate::vfs::{Env, FileType, Last, NewNode};

/// Where a bound socket is found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Abstract(Vec<u8>),
    /// A socket inode: (st_dev, st_ino).
    Inode(u64, u64),
}

/// Linux's default SO_SNDBUF/SO_RCVBUF of AF_UNIX sockets (as getsockopt shows it).
const UNIX_BUF: u32 = 212_992;
/// Buffer of a stream connection, each way.
const STREAM_CAP: usize = 256 << 10;
/// Datagrams a receive queue holds (net.unix.max_dgram_qlen is 512; Linux also counts bytes).
const DGRAM_QLEN: usize = 512;

struct Pending {
    end: StreamEnd,
    peer: UnixAddr,
}

enum Conn {
    Idle,
    Listening(Backlog<Pending>),
    Stream(StreamEnd),
}

struct State {
    name: UnixAddr,
    key: Option<Key>,
    conn: Conn,
    peer_name: UnixAddr,
    /// A datagram socket's default destination (connect, socketpair).
    dgram_peer: Option<Weak<Shared>>,
    shut_rd: bool,
    shut_wr: bool,
}

/// The part of an AF_UNIX socket that others reach: its state and its datagram queue.
pub struct Shared {
    ty: u32,
    st: Mutex<State>,
    dq: Mutex<VecDeque<(UnixAddr, Vec<u8>)>>,
    /// Datagrams ever queued (edge-triggered epoll's generation).
    arrived: AtomicU64,
}

/// An AF_UNIX socket.
pub struct UnixSocket {
    ty: u32,
    shared: Arc<Shared>,
    opts: Mutex<SockOpts>,
    net: Arc<Net>,
    again: Again,
}

impl UnixSocket {
    /// socket(AF_UNIX, `ty`, 0): SOCK_STREAM and SOCK_DGRAM (SOCK_SEQPACKET is not supported).
    pub fn new(ty: u32) -> Result<Arc<UnixSocket>, Errno> {
        if ty != SOCK_STREAM && ty != SOCK_DGRAM {
            return Err(ESOCKTNOSUPPORT);
        }
        Ok(Arc::new(Self::with_conn(
            ty,
            Conn::Idle,
            UnixAddr::Unnamed,
            UnixAddr::Unnamed,
        )))
    }

    fn with_conn(ty: u32, conn: Conn, name: UnixAddr, peer_name: UnixAddr) -> UnixSocket {
        UnixSocket {
            ty,
            shared: Arc::new(Shared {
                ty,
                st: Mutex::new(State {
                    name,
                    key: None,
                    conn,
                    peer_name,
                    dgram_peer: None,
                    shut_rd: false,
                    shut_wr: false,
                }),
                dq: Mutex::new(VecDeque::new()),
                arrived: AtomicU64::new(0),
            }),
            opts: Mutex::new(SockOpts::new(UNIX_BUF, UNIX_BUF)),
            net: net(),
            again: Again::default(),
        }
    }

    /// socketpair(AF_UNIX, `ty`, 0).
    pub fn pair(ty: u32) -> Result<(Arc<UnixSocket>, Arc<UnixSocket>), Errno> {
        match ty {
            SOCK_STREAM => {
                let (a, b) = StreamEnd::pair(STREAM_CAP, false);
                Ok((
                    Arc::new(Self::with_conn(
                        ty,
                        Conn::Stream(a),
                        UnixAddr::Unnamed,
                        UnixAddr::Unnamed,
                    )),
                    Arc::new(Self::with_conn(
                        ty,
                        Conn::Stream(b),
                        UnixAddr::Unnamed,
                        UnixAddr::Unnamed,
                    )),
                ))
            }
            SOCK_DGRAM => {
                let a = Self::new(ty)?;
                let b = Self::new(ty)?;
                a.shared.st.lock().dgram_peer = Some(Arc::downgrade(&b.shared));
                b.shared.st.lock().dgram_peer = Some(Arc::downgrade(&a.shared));
                Ok((a, b))
            }
            _ => Err(ESOCKTNOSUPPORT),
        }
    }

    /// The bound socket a name leads to: ECONNREFUSED when nothing listens there.
    fn lookup(&self, cx: &mut Ctx, name: &UnixAddr) -> Result<Arc<Shared>, Errno> {
        let key = match name {
            UnixAddr::Unnamed => return Err(EINVAL),
            UnixAddr::Abstract(n) => Key::Abstract(n.clone()),
            UnixAddr::Path(p) => {
                let env = Env::new(&*cx.p, &*cx.plat);
                let start = cx.p.cwd.clone();
                let node = cx.p.fs.resolve(&env, &start, p, true)?;
                if node.inode.file_type() != FileType::Socket {
                    return Err(ECONNREFUSED);
                }
                Key::Inode(node.inode.dev(), node.inode.ino())
            }
        };
        self.net
            .unix
            .lock()
            .get(&key)
            .and_then(Weak::upgrade)
            .ok_or(ECONNREFUSED)
    }

    fn register(&self, key: Key, name: UnixAddr) {
        self.net
            .unix
            .lock()
            .insert(key.clone(), Arc::downgrade(&self.shared));
        let mut st = self.shared.st.lock();
        st.key = Some(key);
        st.name = name;
    }

    /// Bind to an abstract name of five hex digits, as Linux's autobind.
    fn autobind(&self) {
        let mut n = 0u32;
        loop {
            let name = alloc::format!("{:05x}", n).into_bytes();
            let key = Key::Abstract(name.clone());
            if self
                .net
                .unix
                .lock()
                .get(&key)
                .and_then(Weak::upgrade)
                .is_none()
            {
                self.register(key, UnixAddr::Abstract(name));
                return;
            }
            n += 1;
        }
    }

    fn name(&self) -> UnixAddr {
        self.shared.st.lock().name.clone()
    }

    /// Queue a datagram from this socket on `target`.
    fn deliver(&self, target: &Arc<Shared>, data: &[u8]) -> Result<usize, Errno> {
        if target.ty != SOCK_DGRAM {
            return Err(EPROTOTYPE);
        }
        // A connected receiver takes datagrams from its peer only.
        let peer = target.st.lock().dgram_peer.as_ref().and_then(Weak::upgrade);
        if peer.is_some_and(|p| !Arc::ptr_eq(&p, &self.shared)) {
            return Err(EPERM);
        }
        if data.len() > UNIX_BUF as usize {
            return Err(EMSGSIZE);
        }
        let from = self.name();
        let mut q = target.dq.lock();
        if q.len() >= DGRAM_QLEN {
            return Err(EAGAIN);
        }
        q.push_back((from, data.to_vec()));
        target.arrived.fetch_add(1, Ordering::Relaxed);
        Ok(data.len())
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        let key = self.shared.st.lock().key.take();
        if let Some(k) = key {
            let mut names = self.net.unix.lock();
            if names
                .get(&k)
                .is_some_and(|w| w.as_ptr() == Arc::as_ptr(&self.shared))
            {
                names.remove(&k);
            }
        }
    }
}

impl Socket for UnixSocket {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn family(&self) -> u32 {
        AF_UNIX
    }
    fn sock_type(&self) -> u32 {
        self.ty
    }
    fn protocol(&self) -> u32 {
        0
    }
    fn opts(&self) -> &Mutex<SockOpts> {
        &self.opts
    }

    fn bind(&self, cx: &mut Ctx, addr: &[u8]) -> Result<(), Errno> {
        let name = parse_unix(addr)?;
        if self.shared.st.lock().key.is_some() {
            return Err(EINVAL);
        }
        match name {
            UnixAddr::Unnamed => {
                self.autobind();
                Ok(())
            }
            UnixAddr::Abstract(ref n) => {
                let key = Key::Abstract(n.clone());
                if self
                    .net
                    .unix
                    .lock()
                    .get(&key)
                    .and_then(Weak::upgrade)
                    .is_some()
                {
                    return Err(EADDRINUSE);
                }
                self.register(key, name);
                Ok(())
            }
            UnixAddr::Path(ref p) => {
                if p.is_empty() {
                    return Err(ENOENT);
                }
                let parent = {
                    let env = Env::new(&*cx.p, &*cx.plat);
                    let start = cx.p.cwd.clone();
                    let mut links = 0;
                    cx.p.fs.resolve_parent(&env, &start, p, &mut links)?
                };
                let Last::Norm(last) = parent.last else {
                    return Err(EADDRINUSE);
                };
                if cx.p.fs.read_only(&parent.dir) {
                    return Err(Errno::EROFS);
                }
                let mode = 0o777 & !cx.p.umask;
                let node = match parent.dir.inode.create(
                    &last,
                    NewNode::Special(FileType::Socket, 0),
                    mode,
                ) {
                    Ok(n) => n,
                    Err(Errno::EEXIST) => return Err(EADDRINUSE),
                    Err(e) => return Err(e),
                };
                self.register(Key::Inode(node.dev(), node.ino()), name);
                Ok(())
            }
        }
    }

    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if self.ty != SOCK_STREAM {
            return Err(EOPNOTSUPP);
        }
        let mut st = self.shared.st.lock();
        if st.key.is_none() {
            return Err(EINVAL);
        }
        match &mut st.conn {
            Conn::Idle => st.conn = Conn::Listening(Backlog::new(backlog_of(backlog))),
            Conn::Listening(b) => b.max = backlog_of(backlog),
            Conn::Stream(_) => return Err(EINVAL),
        }
        Ok(())
    }

    fn accept(&self) -> Result<(Arc<dyn Socket>, Vec<u8>), Errno> {
        if self.ty != SOCK_STREAM {
            return Err(EOPNOTSUPP);
        }
        let (p, name) = {
            let mut st = self.shared.st.lock();
            let name = st.name.clone();
            match &mut st.conn {
                Conn::Listening(b) => (b.queue.pop_front().ok_or(EAGAIN)?, name),
                _ => return Err(EINVAL),
            }
        };
        let peer = encode_unix(&p.peer);
        let s = Self::with_conn(SOCK_STREAM, Conn::Stream(p.end), name, p.peer);
        Ok((Arc::new(s), peer))
    }

    fn connect(&self, cx: &mut Ctx, addr: &[u8]) -> Result<(), Errno> {
        let name = parse_unix(addr)?;
        if self.ty == SOCK_DGRAM {
            if name == UnixAddr::Unnamed {
                // AF_UNSPEC-like: dissolve the association.
                let mut st = self.shared.st.lock();
                st.dgram_peer = None;
                st.peer_name = UnixAddr::Unnamed;
                return Ok(());
            }
            let target = self.lookup(cx, &name)?;
            if target.ty != SOCK_DGRAM {
                return Err(EPROTOTYPE);
            }
            let mut st = self.shared.st.lock();
            st.dgram_peer = Some(Arc::downgrade(&target));
            st.peer_name = name;
            return Ok(());
        }
        match self.shared.st.lock().conn {
            Conn::Idle => {}
            Conn::Stream(_) => return Err(EISCONN),
            Conn::Listening(_) => return Err(EINVAL),
        }
        if name == UnixAddr::Unnamed {
            return Err(EINVAL);
        }
        let target = self.lookup(cx, &name)?;
        if target.ty != self.ty {
            return Err(EPROTOTYPE);
        }
        let (mine, theirs) = StreamEnd::pair(STREAM_CAP, false);
        let me = self.name();
        {
            let mut t = target.st.lock();
            let Conn::Listening(b) = &mut t.conn else {
                return Err(ECONNREFUSED);
            };
            if b.full() {
                return Err(EAGAIN);
            }
            b.push(Pending {
                end: theirs,
                peer: me,
            });
        }
        let mut st = self.shared.st.lock();
        st.conn = Conn::Stream(mine);
        st.peer_name = name;
        Ok(())
    }

    fn send(
        &self,
        cx: Option<&mut Ctx>,
        data: &[u8],
        to: Option<&[u8]>,
        _flags: u32,
    ) -> Result<usize, Errno> {
        if self.ty == SOCK_STREAM {
            let st = self.shared.st.lock();
            if to.is_some() {
                return Err(if matches!(st.conn, Conn::Stream(_)) {
                    EISCONN
                } else {
                    EOPNOTSUPP
                });
            }
            if st.shut_wr {
                return Err(EPIPE);
            }
            return match &st.conn {
                Conn::Stream(end) => end.send(data),
                _ => Err(ENOTCONN),
            };
        }
        if self.shared.st.lock().shut_wr {
            return Err(EPIPE);
        }
        let target = match (to, cx) {
            (Some(a), Some(cx)) => {
                let name = parse_unix(a)?;
                self.lookup(cx, &name)?
            }
            (Some(_), None) => return Err(EINVAL),
            (None, _) => {
                let peer = self.shared.st.lock().dgram_peer.clone();
                match peer {
                    Some(w) => w.upgrade().ok_or(ECONNREFUSED)?,
                    None => return Err(ENOTCONN),
                }
            }
        };
        self.deliver(&target, data)
    }

    fn recv(&self, buf: &mut [u8], flags: u32) -> Result<Received, Errno> {
        let peek = flags & MSG_PEEK != 0;
        if self.ty == SOCK_STREAM {
            let st = self.shared.st.lock();
            if st.shut_rd {
                return Ok(Received::default());
            }
            return match &st.conn {
                Conn::Stream(end) => {
                    let n = end.recv(buf, peek)?;
                    Ok(Received {
                        len: n,
                        full: n,
                        from: None,
                    })
                }
                _ => Err(EINVAL),
            };
        }
        let mut q = self.shared.dq.lock();
        let Some((from, data)) = q.front() else {
            return if self.shared.st.lock().shut_rd {
                Ok(Received::default())
            } else {
                Err(EAGAIN)
            };
        };
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        let r = Received {
            len: n,
            full: data.len(),
            from: Some(encode_unix(from)),
        };
        if !peek {
            q.pop_front();
        }
        Ok(r)
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        if how > SHUT_RDWR {
            return Err(EINVAL);
        }
        let mut st = self.shared.st.lock();
        if self.ty == SOCK_STREAM && !matches!(st.conn, Conn::Stream(_)) {
            return Err(ENOTCONN);
        }
        if how != SHUT_WR {
            st.shut_rd = true;
        }
        if how != SHUT_RD {
            st.shut_wr = true;
        }
        if let Conn::Stream(end) = &st.conn {
            if how != SHUT_RD {
                end.shutdown_write();
            }
            if how != SHUT_WR {
                end.shutdown_read();
            }
        }
        Ok(())
    }

    fn sockname(&self) -> Vec<u8> {
        encode_unix(&self.name())
    }

    fn peername(&self) -> Result<Vec<u8>, Errno> {
        let st = self.shared.st.lock();
        let connected = match &st.conn {
            Conn::Stream(_) => true,
            _ => st
                .dgram_peer
                .as_ref()
                .is_some_and(|w| w.upgrade().is_some()),
        };
        if !connected {
            return Err(ENOTCONN);
        }
        Ok(encode_unix(&st.peer_name))
    }

    fn generation(&self) -> u64 {
        let own = match &self.shared.st.lock().conn {
            Conn::Listening(b) => b.arrived,
            Conn::Stream(end) => end.generation(),
            Conn::Idle => self.shared.arrived.load(Ordering::Relaxed),
        };
        own.wrapping_add(self.again.count())
    }

    fn note_again(&self) {
        self.again.note();
    }

    fn poll(&self) -> u32 {
        let st = self.shared.st.lock();
        let wr = g::POLLOUT | g::POLLWRNORM | g::POLLWRBAND;
        if self.ty == SOCK_DGRAM {
            let mut bits = 0;
            if !self.shared.dq.lock().is_empty() || st.shut_rd {
                bits |= g::POLLIN | g::POLLRDNORM;
            }
            if st.shut_rd {
                bits |= g::POLLRDHUP;
            }
            if st.shut_rd && st.shut_wr {
                bits |= g::POLLHUP;
            }
            let writable = match st.dgram_peer.as_ref().and_then(Weak::upgrade) {
                Some(p) => p.dq.lock().len() < DGRAM_QLEN,
                None => true,
            };
            if writable {
                bits |= wr;
            }
            return bits;
        }
        match &st.conn {
            Conn::Idle => wr | g::POLLHUP,
            Conn::Listening(b) => {
                if b.queue.is_empty() {
                    0
                } else {
                    g::POLLIN | g::POLLRDNORM
                }
            }
            Conn::Stream(end) => {
                let mut bits = end.poll().bits;
                if st.shut_rd {
                    bits |= g::POLLIN | g::POLLRDNORM | g::POLLRDHUP;
                }
                if bits & g::POLLOUT != 0 {
                    bits |= g::POLLWRBAND;
                }
                bits
            }
        }
    }

    fn take_error(&self) -> Option<Errno> {
        None
    }

    fn is_listening(&self) -> bool {
        matches!(self.shared.st.lock().conn, Conn::Listening(_))
    }

    fn nread(&self) -> usize {
        if self.ty == SOCK_DGRAM {
            return self.shared.dq.lock().front().map_or(0, |d| d.1.len());
        }
        match &self.shared.st.lock().conn {
            Conn::Stream(end) => end.available(),
            _ => 0,
        }
    }

    fn can_read_all(&self, want: usize) -> bool {
        match &self.shared.st.lock().conn {
            Conn::Stream(end) => end.available() >= want.min(STREAM_CAP) || end.at_eof(),
            _ => true,
        }
    }
}
