//! The in-kernel transports: a connected pair of byte streams (AF_UNIX stream sockets, and TCP over
//! the loopback interface) and a queue of connections waiting for accept. They never block: a full or
//! empty buffer is EAGAIN, and the socket layer turns that into a wait.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use linux_raw_sys::general as g;
use spin::Mutex;

use super::consts::*;
use crate::errno::Errno;

/// One direction of a connection.
struct Chan {
    buf: VecDeque<u8>,
    cap: usize,
    /// The writing side shut down or closed: end of file after the buffer.
    eof: bool,
    /// The reading side closed (or shut down reading): writes fail with EPIPE.
    gone: bool,
    /// The writing side closed with unread data (TCP sends a reset): the reader gets ECONNRESET.
    reset: bool,
    /// Counts every change a waiter may care about (data queued, room made, end of file): the
    /// generation edge-triggered epoll compares.
    events: u64,
}

impl Chan {
    fn new(cap: usize) -> Chan {
        Chan {
            buf: VecDeque::new(),
            cap,
            eof: false,
            gone: false,
            reset: false,
            events: 0,
        }
    }
}

struct Pair {
    /// `ch[s]` carries what side `s` writes.
    ch: [Chan; 2],
    /// Closing with unread data resets the connection (TCP); AF_UNIX just closes.
    tcp: bool,
    /// Sides that are closed for good.
    closed: [bool; 2],
}

/// One end of a local stream connection.
pub struct StreamEnd {
    pair: Arc<Mutex<Pair>>,
    side: usize,
}

/// Readiness of a stream end (poll bits).
pub struct StreamPoll {
    pub readable: usize,
    pub bits: u32,
}

impl StreamEnd {
    /// A connected pair with `cap` bytes of buffer each way.
    pub fn pair(cap: usize, tcp: bool) -> (StreamEnd, StreamEnd) {
        let p = Arc::new(Mutex::new(Pair {
            ch: [Chan::new(cap), Chan::new(cap)],
            tcp,
            closed: [false; 2],
        }));
        (
            StreamEnd {
                pair: p.clone(),
                side: 0,
            },
            StreamEnd { pair: p, side: 1 },
        )
    }

    /// Queue `data`: how much fit (EAGAIN: none, EPIPE: the peer is gone or this side shut down).
    pub fn send(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut p = self.pair.lock();
        let ch = &mut p.ch[self.side];
        if ch.eof {
            return Err(EPIPE);
        }
        if ch.gone {
            return Err(if p.tcp && p.closed[1 - self.side] {
                ECONNRESET
            } else {
                EPIPE
            });
        }
        let room = ch.cap.saturating_sub(ch.buf.len());
        if room == 0 {
            return Err(EAGAIN);
        }
        let n = room.min(data.len());
        ch.buf.extend(&data[..n]);
        ch.events += 1;
        Ok(n)
    }

    /// Take (or with `peek` copy) queued bytes: Ok(0) at end of file, EAGAIN when none yet.
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<usize, Errno> {
        let mut p = self.pair.lock();
        let ch = &mut p.ch[1 - self.side];
        if ch.reset {
            if !peek {
                ch.reset = false;
                ch.eof = true;
                ch.buf.clear();
            }
            return Err(ECONNRESET);
        }
        if ch.buf.is_empty() {
            return if ch.eof || ch.gone {
                Ok(0)
            } else {
                Err(EAGAIN)
            };
        }
        let n = buf.len().min(ch.buf.len());
        for (d, s) in buf[..n].iter_mut().zip(ch.buf.iter()) {
            *d = *s;
        }
        if !peek {
            ch.buf.drain(..n);
            ch.events += 1;
        }
        Ok(n)
    }

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.pair.lock().ch[1 - self.side].buf.len()
    }

    /// Whether reading would give end of file once the buffer is empty.
    pub fn at_eof(&self) -> bool {
        let p = self.pair.lock();
        let ch = &p.ch[1 - self.side];
        ch.eof || ch.gone
    }

    /// shutdown(SHUT_WR): the peer reads end of file after what was sent.
    pub fn shutdown_write(&self) {
        self.pair.lock().ch[self.side].eof = true;
    }

    /// shutdown(SHUT_RD): reads give end of file; the peer's writes are still accepted (TCP) or fail.
    pub fn shutdown_read(&self) {
        let mut p = self.pair.lock();
        let tcp = p.tcp;
        let ch = &mut p.ch[1 - self.side];
        ch.buf.clear();
        ch.eof = true;
        if !tcp {
            ch.gone = true;
        }
    }

    /// Readiness: POLLIN with data or at end of file (POLLRDHUP too), POLLOUT with room, POLLHUP when
    /// both directions are finished, POLLERR after a reset.
    pub fn poll(&self) -> StreamPoll {
        let p = self.pair.lock();
        let inp = &p.ch[1 - self.side];
        let out = &p.ch[self.side];
        let mut bits = 0;
        if !inp.buf.is_empty() || inp.eof || inp.gone || inp.reset {
            bits |= g::POLLIN | g::POLLRDNORM;
        }
        let read_done = inp.eof || inp.gone;
        if read_done {
            bits |= g::POLLRDHUP;
        }
        if out.buf.len() < out.cap || out.gone || out.eof {
            bits |= g::POLLOUT | g::POLLWRNORM;
        }
        if inp.reset {
            bits |= g::POLLERR;
        }
        // AF_UNIX: the peer's close finishes both directions; TCP: only when this side is done too.
        let peer_closed = p.closed[1 - self.side];
        if (read_done && out.eof) || (peer_closed && (!p.tcp || out.eof || inp.reset)) {
            bits |= g::POLLHUP;
        }
        StreamPoll {
            readable: inp.buf.len(),
            bits,
        }
    }

    /// Moves whenever data arrives for this end, room opens in what it writes, or either direction
    /// ends (edge-triggered epoll reports a new event when it moved).
    pub fn generation(&self) -> u64 {
        let p = self.pair.lock();
        let flags = |c: &Chan| u64::from(c.eof) + u64::from(c.gone) + u64::from(c.reset);
        p.ch[0].events + p.ch[1].events + flags(&p.ch[0]) + flags(&p.ch[1])
    }

    /// Capacity of the direction this end writes.
    pub fn send_capacity(&self) -> usize {
        self.pair.lock().ch[self.side].cap
    }
}

impl Drop for StreamEnd {
    fn drop(&mut self) {
        let mut p = self.pair.lock();
        let s = self.side;
        p.closed[s] = true;
        let unread = !p.ch[1 - s].buf.is_empty();
        p.ch[s].eof = true;
        p.ch[1 - s].gone = true;
        p.ch[1 - s].buf.clear();
        if p.tcp && unread {
            p.ch[s].reset = true;
        }
    }
}

/// Connections waiting for accept.
pub struct Backlog<T> {
    pub queue: VecDeque<T>,
    pub max: usize,
    /// Connections ever queued (the listener's generation for edge-triggered epoll).
    pub arrived: u64,
}

impl<T> Backlog<T> {
    pub fn new(max: usize) -> Backlog<T> {
        Backlog {
            queue: VecDeque::new(),
            max,
            arrived: 0,
        }
    }

    /// Queue a connection for accept.
    pub fn push(&mut self, c: T) {
        self.queue.push_back(c);
        self.arrived += 1;
    }

    /// Linux accepts backlog+1 pending connections.
    pub fn full(&self) -> bool {
        self.queue.len() > self.max
    }
}

/// Linux's listen(2) backlog: clamped to SOMAXCONN, negative means SOMAXCONN.
pub fn backlog_of(n: i32) -> usize {
    if n < 0 || n as u32 > SOMAXCONN {
        SOMAXCONN as usize
    } else {
        n as usize
    }
}
