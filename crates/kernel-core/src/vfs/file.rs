//! Open files: the [`File`] trait behind every file descriptor, and its implementations for inodes of a
//! filesystem ([`InodeFile`]), the console ([`ConsoleFile`]) and any file given an inode of its own for
//! /proc/self/fd ([`AnonInode`]).
//!
//! Handlers never block: a file that cannot read or write now returns EAGAIN, and the syscall layer
//! turns that into EAGAIN for O_NONBLOCK descriptors or into a wait (the syscall runs again later).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use linux_raw_sys::general as g;

use super::{makedev, DirEntry, Env, FileType, Inode, InodeRef, Path, SetAttr, Stat};
use crate::errno::{Errno, SysResult};
use crate::platform::Platform;
use crate::sys::Ctx;

/// Readiness bits of poll for a file that never blocks.
pub const ALWAYS_READY: u32 = g::POLLIN | g::POLLRDNORM | g::POLLOUT | g::POLLWRNORM;

/// An open file description's operations.
pub trait File: Send + Sync + Any {
    fn as_any(&self) -> &dyn Any;
    /// Read at `pos` (streams ignore it). `Err(EAGAIN)`: nothing to read yet.
    fn read(&self, _plat: &mut dyn Platform, _pos: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// Write at `pos` (streams ignore it). `Err(EAGAIN)`: no room yet.
    fn write(&self, _plat: &mut dyn Platform, _pos: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// Whether pread/pwrite work (else ESPIPE).
    fn positional(&self) -> bool {
        false
    }
    /// lseek from position `cur` (ESPIPE for streams).
    fn seek(&self, _cur: u64, _off: i64, _whence: u32) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }
    /// The poll events that are ready now (POLLIN, POLLOUT, POLLHUP, POLLERR, ...).
    fn poll(&self, _plat: &mut dyn Platform) -> u32 {
        ALWAYS_READY
    }
    /// Requests the file knows (terminal requests, FIONREAD of pipes); ENOTTY otherwise.
    fn ioctl(&self, _cx: &mut Ctx, _req: u32, _arg: u64) -> SysResult {
        Err(Errno::ENOTTY)
    }
    fn stat(&self, env: &Env) -> Result<Stat, Errno>;
    /// Directory entries from `pos` (see [`Inode::readdir`]).
    fn readdir(
        &self,
        _env: &Env,
        _pos: u64,
        _f: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Where the file is in the tree (files opened by path).
    fn location(&self) -> Option<Path> {
        None
    }
    /// The inode of a file of a filesystem.
    fn inode(&self) -> Option<InodeRef> {
        self.location().map(|p| p.inode)
    }
    /// Change attributes (ftruncate, fchmod, futimens...).
    fn setattr(&self, _a: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    fn sync(&self, _data_only: bool) -> Result<(), Errno> {
        Ok(())
    }
    /// A counter that changes whenever new data or room arrives (each write to a pipe, each eventfd
    /// write): edge-triggered epoll reports a new event when it changed. 0 for files without one.
    fn generation(&self) -> u64 {
        0
    }
}

/// lseek over a file of `size` bytes whose stored data ends at `data_end` (holes after it), as tmpfs.
pub fn seek_in(
    cur: u64,
    off: i64,
    whence: u32,
    size: u64,
    data_end: impl FnOnce() -> Result<u64, Errno>,
) -> Result<u64, Errno> {
    let base = match whence {
        g::SEEK_SET => 0,
        g::SEEK_CUR => cur as i64,
        g::SEEK_END => size as i64,
        g::SEEK_DATA => {
            let end = data_end()?.min(size);
            return if off < 0 || off as u64 >= end {
                Err(Errno::ENXIO)
            } else {
                Ok(off as u64)
            };
        }
        g::SEEK_HOLE => {
            if off < 0 || off as u64 >= size {
                return Err(Errno::ENXIO);
            }
            let end = data_end()?.min(size);
            return Ok((off as u64).max(end));
        }
        _ => return Err(Errno::EINVAL),
    };
    match base.checked_add(off) {
        Some(p) if p >= 0 => Ok(p as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// A regular file, directory or symbolic link (O_PATH) of a filesystem, opened by path.
pub struct InodeFile {
    pub path: Path,
}

impl InodeFile {
    pub fn new(path: Path) -> Arc<InodeFile> {
        Arc::new(InodeFile { path })
    }
}

impl File for InodeFile {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(&self, _plat: &mut dyn Platform, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.path.inode.read_at(pos, buf)
    }
    fn write(&self, _plat: &mut dyn Platform, pos: u64, data: &[u8]) -> Result<usize, Errno> {
        self.path.inode.write_at(pos, data)
    }
    fn positional(&self) -> bool {
        true
    }
    fn seek(&self, cur: u64, off: i64, whence: u32) -> Result<u64, Errno> {
        let i = &self.path.inode;
        if i.file_type() == FileType::Dir {
            // Directories: positions are cookies; only SEEK_SET and SEEK_CUR make sense.
            return match whence {
                g::SEEK_SET | g::SEEK_CUR => seek_in(cur, off, whence, 0, || Ok(0)),
                _ => Err(Errno::EINVAL),
            };
        }
        seek_in(cur, off, whence, i.stat()?.size, || i.data_end())
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        self.path.inode.stat()
    }
    fn readdir(
        &self,
        env: &Env,
        pos: u64,
        f: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        self.path.inode.readdir(env, pos, f)
    }
    fn location(&self) -> Option<Path> {
        Some(self.path.clone())
    }
    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        self.path.inode.setattr(a)
    }
    fn sync(&self, data_only: bool) -> Result<(), Errno> {
        self.path.inode.sync(data_only)
    }
}

/// A file of a device node: the device's operations, the node's metadata.
pub struct DeviceFile {
    pub node: Path,
    pub dev: Arc<dyn File>,
}

impl File for DeviceFile {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(&self, plat: &mut dyn Platform, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.dev.read(plat, pos, buf)
    }
    fn write(&self, plat: &mut dyn Platform, pos: u64, data: &[u8]) -> Result<usize, Errno> {
        self.dev.write(plat, pos, data)
    }
    fn positional(&self) -> bool {
        self.dev.positional()
    }
    fn seek(&self, cur: u64, off: i64, whence: u32) -> Result<u64, Errno> {
        self.dev.seek(cur, off, whence)
    }
    fn poll(&self, plat: &mut dyn Platform) -> u32 {
        self.dev.poll(plat)
    }
    fn ioctl(&self, cx: &mut Ctx, req: u32, arg: u64) -> SysResult {
        self.dev.ioctl(cx, req, arg)
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        self.node.inode.stat()
    }
    fn location(&self) -> Option<Path> {
        Some(self.node.clone())
    }
    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        self.node.inode.setattr(a)
    }
}

/// An inode for an open file that has none in the tree (the console, a pipe), so that /proc/self/fd/N
/// leads somewhere: stat shows the file, opening it gives the same open file back.
pub struct AnonInode {
    pub file: Arc<dyn File>,
}

impl Inode for AnonInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn file_type(&self) -> FileType {
        self.stat()
            .ok()
            .and_then(|s| s.file_type())
            .unwrap_or(FileType::CharDev)
    }
    fn ino(&self) -> u64 {
        self.stat().map_or(0, |s| s.ino)
    }
    fn dev(&self) -> u64 {
        self.stat().map_or(0, |s| s.dev)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.file.stat(&Env::none())
    }
    fn open(&self, _env: &Env, _flags: u32) -> Option<Result<Arc<dyn File>, Errno>> {
        Some(Ok(self.file.clone()))
    }
}

/// The console: the program's stdin (fd 0), stdout (1) and stderr (2) on the host; also /dev/tty and
/// /dev/console (reading stdin, writing stdout).
pub struct ConsoleFile {
    pub fd: u32,
}

impl ConsoleFile {
    pub fn new(fd: u32) -> Arc<ConsoleFile> {
        Arc::new(ConsoleFile { fd })
    }
    /// The terminal the host side has, if any (the fd whose tty-ness decides).
    fn is_tty(&self, plat: &dyn Platform) -> bool {
        plat.is_tty(self.fd)
    }
}

/// The terminal's size: rows in the high half, columns in the low half (24x80 until told otherwise).
static WINSIZE: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new((24 << 16) | 80);

/// Set the size TIOCGWINSZ reports (the host terminal's, from the `winsize=` kernel option).
pub fn set_winsize(rows: u16, cols: u16) {
    WINSIZE.store(
        (u32::from(rows) << 16) | u32::from(cols),
        core::sync::atomic::Ordering::Relaxed,
    );
}

/// The terminal's size: (rows, columns).
pub fn winsize() -> (u16, u16) {
    let v = WINSIZE.load(core::sync::atomic::Ordering::Relaxed);
    ((v >> 16) as u16, v as u16)
}

/// Terminal devices (/dev/pts/0 as Linux shows a terminal on the host).
const PTS_RDEV: u64 = makedev(136, 0);

impl File for ConsoleFile {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(&self, plat: &mut dyn Platform, _pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !plat.console_input_ready() {
            return Err(Errno::EAGAIN);
        }
        Ok(plat.console_read(buf))
    }
    fn write(&self, plat: &mut dyn Platform, _pos: u64, data: &[u8]) -> Result<usize, Errno> {
        plat.console_write(if self.fd == 2 { 2 } else { 1 }, data);
        Ok(data.len())
    }
    fn poll(&self, plat: &mut dyn Platform) -> u32 {
        let out = g::POLLOUT | g::POLLWRNORM;
        if self.fd == 0 && plat.console_input_ready() {
            out | g::POLLIN | g::POLLRDNORM
        } else {
            out
        }
    }
    fn stat(&self, env: &Env) -> Result<Stat, Errno> {
        let tty = env.plat.is_none_or(|p| self.is_tty(p));
        Ok(if tty {
            Stat {
                dev: makedev(0, 0x16),
                ino: 3,
                mode: 0o020620,
                nlink: 1,
                gid: 5,
                rdev: PTS_RDEV,
                blksize: 1024,
                ..Stat::default()
            }
        } else {
            // As a pipe from the host looks.
            Stat {
                dev: makedev(0, 0xd),
                ino: 3 + u64::from(self.fd),
                mode: 0o010600,
                nlink: 1,
                blksize: 4096,
                ..Stat::default()
            }
        })
    }
    fn ioctl(&self, cx: &mut Ctx, req: u32, arg: u64) -> SysResult {
        use linux_raw_sys::ioctl as io;
        if req == io::FIONREAD && self.fd == 0 {
            let n: u32 = u32::from(cx.plat.console_input_ready());
            crate::sys::put(cx, arg, &n.to_le_bytes())?;
            return Ok(0);
        }
        if !self.is_tty(&*cx.plat) {
            return Err(Errno::ENOTTY);
        }
        match req {
            io::TCGETS => {
                // struct termios: iflag ICRNL|IXON, oflag OPOST|ONLCR, cflag B38400|CS8|CREAD,
                // lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN; c_cc as Linux's defaults.
                let mut t = [0u8; 36];
                t[0..4].copy_from_slice(&0o2400u32.to_le_bytes());
                t[4..8].copy_from_slice(&0o5u32.to_le_bytes());
                t[8..12].copy_from_slice(&0o277u32.to_le_bytes());
                t[12..16].copy_from_slice(&0o105073u32.to_le_bytes());
                let cc: [u8; 17] = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
                t[17..34].copy_from_slice(&cc);
                crate::sys::put(cx, arg, &t)?;
                Ok(0)
            }
            io::TCSETS | io::TCSETSW | io::TCSETSF => {
                crate::sys::get::<36>(cx, arg)?;
                Ok(0)
            }
            io::TIOCGWINSZ => {
                let (rows, cols) = winsize();
                let mut w = [0u8; 8];
                w[0..2].copy_from_slice(&rows.to_le_bytes());
                w[2..4].copy_from_slice(&cols.to_le_bytes());
                crate::sys::put(cx, arg, &w)?;
                Ok(0)
            }
            io::TIOCSWINSZ => {
                let w = crate::sys::get::<8>(cx, arg)?;
                set_winsize(
                    u16::from_le_bytes([w[0], w[1]]),
                    u16::from_le_bytes([w[2], w[3]]),
                );
                Ok(0)
            }
            io::TIOCGPGRP | io::TIOCGSID => {
                let pid = cx.p.pid;
                crate::sys::put(cx, arg, &pid.to_le_bytes())?;
                Ok(0)
            }
            io::TIOCSPGRP => {
                crate::sys::get::<4>(cx, arg)?;
                Ok(0)
            }
            io::TIOCSCTTY | io::TIOCNOTTY | io::TCFLSH | io::TCXONC | io::TCSBRK => Ok(0),
            io::TIOCGPTN => Err(Errno::ENOTTY),
            _ => Err(Errno::ENOTTY),
        }
    }
}

/// A file whose whole content was made when it was opened (the files of /proc and /sys).
pub struct DataFile {
    pub data: Vec<u8>,
    /// The node it was opened from, for fstat.
    pub node: InodeRef,
}

impl File for DataFile {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(&self, _plat: &mut dyn Platform, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let start = (pos.min(self.data.len() as u64)) as usize;
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }
    fn write(&self, _plat: &mut dyn Platform, _pos: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EACCES)
    }
    fn positional(&self) -> bool {
        true
    }
    fn seek(&self, cur: u64, off: i64, whence: u32) -> Result<u64, Errno> {
        match whence {
            g::SEEK_SET | g::SEEK_CUR => seek_in(cur, off, whence, 0, || Ok(0)),
            g::SEEK_END => Err(Errno::EINVAL),
            _ => Err(Errno::EINVAL),
        }
    }
    fn stat(&self, _env: &Env) -> Result<Stat, Errno> {
        self.node.stat()
    }
}
