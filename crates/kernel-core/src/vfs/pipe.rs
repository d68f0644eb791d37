//! Pipes: a 64 KiB buffer between a read end and a write end (Linux's pipe(7) semantics). Reading an empty
//! pipe whose writers are all gone gives end of file; writing with no reader left gives EPIPE. A write of
//! at most PIPE_BUF bytes is atomic: it waits until it fits whole. FIFOs (named pipes of tmpfs) are
//! pipes whose ends are opened by path.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};
use linux_raw_sys::general as g;
use spin::Mutex;

use super::file::File;
use super::{makedev, Env, Stat, Timespec};
use crate::errno::{Errno, SysResult};
use crate::platform::Platform;
use crate::sys::Ctx;

/// Atomic write size.
pub const PIPE_BUF: usize = 4096;
/// Default capacity (16 pages).
pub const PIPE_SIZE: usize = 65536;

struct PipeState {
    buf: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
    /// Whether a reader / a writer was ever there (a FIFO opened on one side only waits for the other).
    had_reader: bool,
    had_writer: bool,
    /// Counts writes and reads, for edge-triggered epoll (every write is a new edge, as in Linux).
    generation: u64,
}

/// A blocking write waiting for room: (thread, call key, bytes written so far).
type PartialWrite = (u32, (u64, u64), u64);

/// What both ends share.
pub struct Pipe {
    state: Mutex<PipeState>,
    /// Blocking writes that wait for room.
    partial: Mutex<alloc::vec::Vec<PartialWrite>>,
    ino: u64,
    time: Timespec,
}

/// One end of a pipe (or both, for a FIFO opened read-write).
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    read: bool,
    write: bool,
}

fn new_pipe(now: Timespec, ends: usize) -> Arc<Pipe> {
    static NEXT_INO: AtomicU64 = AtomicU64::new(1000);
    Arc::new(Pipe {
        state: Mutex::new(PipeState {
            buf: VecDeque::new(),
            capacity: PIPE_SIZE,
            readers: ends,
            writers: ends,
            had_reader: ends > 0,
            had_writer: ends > 0,
            generation: 0,
        }),
        partial: Mutex::new(alloc::vec::Vec::new()),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        time: now,
    })
}

/// The buffer of a FIFO (named pipe), before any end is open.
pub fn fifo(now: Timespec) -> Arc<Pipe> {
    new_pipe(now, 0)
}

/// Open an end of FIFO `pipe` (`read`, `write` or both for O_RDWR). As Linux's fifo_open, except that
/// opening one side does not wait for the other: reads and writes wait instead until the other side has
/// come. O_NONBLOCK write-only with no reader is ENXIO.
pub fn open_fifo(
    pipe: &Arc<Pipe>,
    read: bool,
    write: bool,
    nonblock: bool,
) -> Result<Arc<PipeEnd>, Errno> {
    let mut s = pipe.state.lock();
    if write && !read && nonblock && s.readers == 0 {
        return Err(Errno::ENXIO);
    }
    if read {
        s.readers += 1;
        s.had_reader = true;
    }
    if write {
        s.writers += 1;
        s.had_writer = true;
    }
    drop(s);
    Ok(Arc::new(PipeEnd {
        pipe: pipe.clone(),
        read,
        write,
    }))
}

/// A new pipe: (read end, write end). `now` is its timestamp.
pub fn pipe(now: Timespec) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = new_pipe(now, 1);
    (
        Arc::new(PipeEnd {
            pipe: pipe.clone(),
            read: true,
            write: false,
        }),
        Arc::new(PipeEnd {
            pipe,
            read: false,
            write: true,
        }),
    )
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut s = self.pipe.state.lock();
        if self.read {
            s.readers -= 1;
        }
        if self.write {
            s.writers -= 1;
        }
    }
}

impl PipeEnd {
    /// A blocking write of thread `tid` that must wait: remember how far it got (`key` tells the call).
    pub fn save_partial(&self, tid: u32, key: (u64, u64), done: u64) {
        let mut p = self.pipe.partial.lock();
        p.retain(|e| e.0 != tid);
        p.push((tid, key, done));
    }
    /// What a waiting write of `tid` wrote before (0 for a new call).
    pub fn take_partial(&self, tid: u32, key: (u64, u64)) -> u64 {
        let mut p = self.pipe.partial.lock();
        let i = p.iter().position(|e| e.0 == tid);
        match i.map(|i| p.swap_remove(i)) {
            Some((_, k, done)) if k == key => done,
            _ => 0,
        }
    }

    /// Bytes waiting in the pipe.
    pub fn available(&self) -> usize {
        self.pipe.state.lock().buf.len()
    }
    /// The capacity (F_GETPIPE_SZ).
    pub fn capacity(&self) -> usize {
        self.pipe.state.lock().capacity
    }
    /// Change the capacity (F_SETPIPE_SZ): rounded up to a power of two pages, at least one page;
    /// EBUSY when more is buffered than would fit.
    pub fn set_capacity(&self, want: u64) -> Result<usize, Errno> {
        if want > 1 << 20 {
            return Err(Errno::EPERM);
        }
        let size = (want.max(4096) as usize).next_power_of_two();
        let mut s = self.pipe.state.lock();
        if s.buf.len() > size {
            return Err(Errno::EBUSY);
        }
        s.capacity = size;
        Ok(size)
    }
}

impl File for PipeEnd {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, _plat: &mut dyn Platform, _pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut s = self.pipe.state.lock();
        if buf.is_empty() {
            return Ok(0);
        }
        if s.buf.is_empty() {
            return if s.writers == 0 && s.had_writer {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = buf.len().min(s.buf.len());
        for (i, b) in s.buf.drain(..n).enumerate() {
            buf[i] = b;
        }
        Ok(n)
    }

    fn write(&self, _plat: &mut dyn Platform, _pos: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut s = self.pipe.state.lock();
        if s.readers == 0 {
            return Err(if s.had_reader {
                Errno::EPIPE
            } else {
                Errno::EAGAIN
            });
        }
        if data.is_empty() {
            return Ok(0);
        }
        let room = s.capacity.saturating_sub(s.buf.len());
        if room == 0 || (data.len() <= PIPE_BUF && room < data.len()) {
            return Err(Errno::EAGAIN);
        }
        let n = room.min(data.len());
        s.buf.extend(&data[..n]);
        s.generation += 1;
        Ok(n)
    }

    fn generation(&self) -> u64 {
        self.pipe.state.lock().generation
    }

    fn poll(&self, _plat: &mut dyn Platform) -> u32 {
        let s = self.pipe.state.lock();
        let mut ev = 0;
        if self.read {
            if !s.buf.is_empty() {
                ev |= g::POLLIN | g::POLLRDNORM;
            }
            if s.writers == 0 && s.had_writer {
                ev |= g::POLLHUP;
            }
        }
        if self.write {
            if s.capacity - s.buf.len() >= PIPE_BUF.min(s.capacity) {
                ev |= g::POLLOUT | g::POLLWRNORM;
            }
            if s.readers == 0 && s.had_reader {
                ev |= g::POLLERR;
            }
        }
        ev
    }

    fn ioctl(&self, cx: &mut Ctx, req: u32, arg: u64) -> SysResult {
        if req == linux_raw_sys::ioctl::FIONREAD {
            let n = self.available() as u32;
            crate::sys::put(cx, arg, &n.to_le_bytes())?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: makedev(0, 0xe),
            ino: self.pipe.ino,
            mode: 0o010600,
            nlink: 1,
            blksize: 4096,
            atime: self.pipe.time,
            mtime: self.pipe.time,
            ctime: self.pipe.time,
            ..Stat::default()
        })
    }
}
