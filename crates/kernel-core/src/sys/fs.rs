//! File descriptors and I/O: read/write and their vector and positional forms, lseek, close, dup, fcntl,
//! ioctl, poll, pipes, getdents64, sync, truncate, fallocate, sendfile, copy_file_range. The syscalls
//! that take paths are in [`super::fspath`] and [`super::fsattr`]; the helpers they share are here.
//!
//! What every file does is behind [`crate::vfs::File`]: these handlers check descriptors, access modes
//! and arguments in Linux's order, move bytes between user memory and the file, and turn EAGAIN from a
//! file into a wait (the syscall runs again) unless the descriptor is O_NONBLOCK.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

use super::{get, get_u64, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::process::{FileRef, OpenFile, Wait};
use crate::uaccess::UserMemory;
use crate::vfs::pipe::PipeEnd;
use crate::vfs::{DirEntry, Env, File, FileType, Path, SetAttr};
use linux_raw_sys::general as g;

pub use super::fsattr::{
    sys_access, sys_faccessat, sys_fstat, sys_lstat, sys_newfstatat, sys_readlink, sys_readlinkat,
    sys_stat,
};
pub use super::fspath::{sys_getcwd, sys_open, sys_openat};

pub(super) const AT_FDCWD: i32 = -100;
/// Largest transfer of one read/write, as Linux's MAX_RW_COUNT.
pub(super) const MAX_RW: u64 = 0x7fff_f000;
/// Size of the kernel buffer bytes go through.
const CHUNK: u64 = 256 << 10;
const IOV_MAX: u64 = 1024;

// ---- helpers shared by the file syscalls ----

/// Refresh the filesystems' clock (timestamps of what this syscall changes).
pub(super) fn tick(cx: &mut Ctx) {
    cx.p.fs.clock.set(cx.plat.realtime_ns());
}

/// Read a path argument: EFAULT for a bad pointer, ENAMETOOLONG at PATH_MAX.
pub(super) fn path_arg(cx: &mut Ctx, addr: u64) -> Result<Vec<u8>, Errno> {
    tick(cx);
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    cx.p.mm.read_cstr(addr, crate::vfs::PATH_MAX - 1)
}

/// The open file description of `fd` with its file, position and flags.
pub(super) struct Desc {
    pub of: FileRef,
    pub file: Arc<dyn File>,
    pub pos: u64,
    pub flags: u32,
}

impl Desc {
    pub fn readable(&self) -> bool {
        self.flags & g::O_PATH == 0 && self.flags & g::O_ACCMODE != g::O_WRONLY
    }
    pub fn writable(&self) -> bool {
        self.flags & g::O_PATH == 0 && self.flags & g::O_ACCMODE != g::O_RDONLY
    }
    pub fn is_path(&self) -> bool {
        self.flags & g::O_PATH != 0
    }
    pub fn set_pos(&self, pos: u64) {
        self.of.lock().pos = pos;
    }
}

/// Look up descriptor `fd` (EBADF).
pub(super) fn desc(cx: &mut Ctx, fd: u64) -> Result<Desc, Errno> {
    tick(cx);
    let of = cx.p.file(fd)?;
    let (file, pos, flags) = {
        let f = of.lock();
        (f.file.clone(), f.pos, f.flags)
    };
    Ok(Desc {
        of,
        file,
        pos,
        flags,
    })
}

/// A descriptor that is not O_PATH (EBADF otherwise).
pub(super) fn desc_io(cx: &mut Ctx, fd: u64) -> Result<Desc, Errno> {
    let d = desc(cx, fd)?;
    if d.is_path() {
        return Err(Errno::EBADF);
    }
    Ok(d)
}

/// The directory a dirfd-relative `path` starts from: the cwd for AT_FDCWD (and for absolute paths,
/// where dirfd is not looked at), else the directory open on dirfd (EBADF, ENOTDIR).
pub(super) fn start_dir(cx: &Ctx, dirfd: u64, path: &[u8]) -> Result<Path, Errno> {
    if path.starts_with(b"/") || dirfd as i32 == AT_FDCWD {
        return Ok(cx.p.cwd.clone());
    }
    let f = cx.p.file(dirfd)?;
    let file = f.lock().file.clone();
    match file.location() {
        Some(p) if p.is_dir() => Ok(p),
        _ => Err(Errno::ENOTDIR),
    }
}

/// The place `dirfd` stands for with an empty path (AT_EMPTY_PATH): its file, or the cwd.
pub(super) fn empty_path_target(cx: &Ctx, dirfd: u64) -> Result<Arc<dyn File>, Errno> {
    if dirfd as i32 == AT_FDCWD {
        return Ok(crate::vfs::file::InodeFile::new(cx.p.cwd.clone()));
    }
    let f = cx.p.file(dirfd)?;
    let file = f.lock().file.clone();
    Ok(file)
}

/// Resolve a dirfd-relative path to its place.
pub(super) fn resolve_at(cx: &Ctx, dirfd: u64, path: &[u8], follow: bool) -> Result<Path, Errno> {
    let start = start_dir(cx, dirfd, path)?;
    let env = Env::new(&*cx.p, &*cx.plat);
    cx.p.fs.resolve(&env, &start, path, follow)
}

/// The file's inode when shared mappings of it may need to reach it first (regular files).
fn sync_mapped(cx: &mut Ctx, file: &Arc<dyn File>) {
    if cx.p.mm.has_shared_files() {
        if let Some(i) = file.inode() {
            if i.file_type() == FileType::Regular {
                cx.p.mm.sync_file(&i);
            }
        }
    }
}

/// After writing `[off, off + len)` of a file: shared mappings see the new bytes.
pub(super) fn refresh_mapped(cx: &mut Ctx, file: &Arc<dyn File>, off: u64, len: u64) {
    if cx.p.mm.has_shared_files() {
        if let Some(i) = file.inode() {
            cx.p.mm.refresh_file(&i, off, len);
        }
    }
}

/// Size of a page.
const PAGE: u64 = 4096;

/// A file said it would block: EAGAIN for O_NONBLOCK, else wait for an event and run again.
pub(super) fn would_block(cx: &mut Ctx, flags: u32) -> Errno {
    if flags & g::O_NONBLOCK != 0 {
        return Errno::EAGAIN;
    }
    cx.p.wait = Some(Wait { deadline: None });
    Errno::RESTART
}

/// Something other threads may wait for changed (pipe data, a closed end).
fn wake(cx: &mut Ctx) {
    cx.p.threads.events += 1;
}

/// A write found no reader: SIGPIPE to the thread, and EPIPE.
fn broken_pipe(cx: &mut Ctx) -> Errno {
    let info = super::signal::SigInfo {
        signo: 13,
        code: 0,
        pid: cx.p.pid,
        ..Default::default()
    };
    let tid = cx.p.tid;
    super::signal::send(cx, tid, info);
    Errno::EPIPE
}

// ---- read and write ----

/// Read into the user buffers `segs` from the file, at its position or at `at`.
fn read_segs(cx: &mut Ctx, fd: u64, segs: &[(u64, u64)], at: Option<u64>) -> SysResult {
    let d = desc(cx, fd)?;
    if !d.readable() {
        return Err(Errno::EBADF);
    }
    if at.is_some() && !d.file.positional() {
        return Err(Errno::ESPIPE);
    }
    let total_len = segs.iter().map(|s| s.1).sum::<u64>().min(MAX_RW);
    if total_len == 0 {
        return Ok(0);
    }
    sync_mapped(cx, &d.file);
    let positional = d.file.positional();
    if !positional {
        // A stream consumes what it reads: check the start of the buffer first, so that a bad pointer
        // gives EFAULT without losing data (Linux copies before consuming). Only the first page: a large
        // buffer is not faulted in for a short read.
        if let Some(&(base, len)) = segs.iter().find(|s| s.1 > 0) {
            let first = len.min(total_len).min(PAGE - (base % PAGE));
            cx.p.mm.probe_write(base, first)?;
        }
        if d.file.as_any().is::<super::event::SignalFd>() {
            let (base, len) = segs[0];
            return match super::event::read_signalfd(cx, &d.file, base, len) {
                Err(Errno::EAGAIN) => Err(would_block(cx, d.flags)),
                r => r,
            };
        }
        // A stream: one read, scattered over the buffers.
        let mut tmp = alloc::vec![0u8; total_len.min(CHUNK) as usize];
        let n = match d.file.read(cx.plat, 0, &mut tmp) {
            Ok(n) => n,
            Err(Errno::EAGAIN) => {
                let e = would_block(cx, d.flags);
                // A timerfd becomes readable by itself when it expires: wait until then at the latest.
                if let Some(w) = cx.p.wait.as_mut() {
                    w.deadline = super::event::time_deadline(&d.file);
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let mut done = 0usize;
        for &(base, len) in segs {
            if done >= n {
                break;
            }
            let k = (len as usize).min(n - done);
            if let Err(e) = cx.p.mm.write(base, &tmp[done..done + k]) {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            done += k;
        }
        wake(cx);
        return Ok(done as u64);
    }
    let mut pos = at.unwrap_or(d.pos);
    let mut tmp = alloc::vec![0u8; total_len.min(CHUNK) as usize];
    let mut done = 0u64;
    'outer: for &(base, len) in segs {
        let mut off = 0u64;
        while off < len && done < total_len {
            let want = (len - off).min(total_len - done).min(tmp.len() as u64) as usize;
            let n = match d.file.read(cx.plat, pos, &mut tmp[..want]) {
                Ok(n) => n,
                Err(_) if done > 0 => break 'outer,
                Err(Errno::EAGAIN) => return Err(would_block(cx, d.flags)),
                Err(e) => return Err(e),
            };
            if n > 0 {
                if let Err(e) = cx.p.mm.write(base + off, &tmp[..n]) {
                    if done == 0 {
                        return Err(e);
                    }
                    break 'outer;
                }
            }
            off += n as u64;
            done += n as u64;
            pos += n as u64;
            // A short read ends the call.
            if n < want {
                break 'outer;
            }
        }
    }
    if at.is_none() {
        d.set_pos(pos);
    }
    Ok(done)
}

/// Gather up to `max` bytes from the user buffers (stopping at the first bad one: EFAULT if none).
fn gather(cx: &mut Ctx, segs: &[(u64, u64)], max: u64) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    for &(base, len) in segs {
        let n = len.min(max - out.len() as u64) as usize;
        if n == 0 {
            continue;
        }
        let start = out.len();
        out.resize(start + n, 0);
        if let Err(e) = cx.p.mm.read_user(base, &mut out[start..]) {
            out.truncate(start);
            if out.is_empty() {
                return Err(e);
            }
            break;
        }
        if out.len() as u64 >= max {
            break;
        }
    }
    Ok(out)
}

/// Write the user buffers `segs` to the file, at its position (the end with O_APPEND) or at `at`.
fn write_segs(cx: &mut Ctx, fd: u64, segs: &[(u64, u64)], at: Option<u64>) -> SysResult {
    let d = desc(cx, fd)?;
    if !d.writable() {
        return Err(Errno::EBADF);
    }
    if at.is_some() && !d.file.positional() {
        return Err(Errno::ESPIPE);
    }
    let total_len = segs.iter().map(|s| s.1).sum::<u64>().min(MAX_RW);
    if total_len == 0 {
        return Ok(0);
    }
    let positional = d.file.positional();
    if !positional {
        return write_stream(cx, fd, &d, segs, total_len);
    }
    let append = d.flags & g::O_APPEND != 0;
    let mut pos = match at {
        Some(p) => p,
        None if append => d.file.stat(&Env::none())?.size,
        None => d.pos,
    };
    if append && at.is_some() {
        // Linux appends even with pwrite on an O_APPEND file.
        pos = d.file.stat(&Env::none())?.size;
    }
    let start = pos;
    let mut done = 0u64;
    let mut tmp = alloc::vec![0u8; total_len.min(CHUNK) as usize];
    'outer: for &(base, len) in segs {
        let mut off = 0u64;
        while off < len && done < total_len {
            let want = (len - off).min(total_len - done).min(tmp.len() as u64) as usize;
            if let Err(e) = cx.p.mm.read_user(base + off, &mut tmp[..want]) {
                if done == 0 {
                    return Err(e);
                }
                break 'outer;
            }
            let n = match d.file.write(cx.plat, pos, &tmp[..want]) {
                Ok(n) => n,
                Err(_) if done > 0 => break 'outer,
                Err(e) => return Err(e),
            };
            off += n as u64;
            done += n as u64;
            pos += n as u64;
            if n < want {
                break 'outer;
            }
        }
    }
    if at.is_none() {
        d.set_pos(pos);
    }
    refresh_mapped(cx, &d.file, start, done);
    Ok(done)
}

/// The pipe end of a pipe or FIFO.
fn pipe_of(file: &Arc<dyn File>) -> Option<&PipeEnd> {
    file.as_any().downcast_ref::<PipeEnd>().or_else(|| {
        file.as_any()
            .downcast_ref::<crate::vfs::file::DeviceFile>()
            .and_then(|d| d.dev.as_any().downcast_ref::<PipeEnd>())
    })
}

/// Write to a stream (pipe, console): small writes are atomic; a blocking write returns only when all
/// is written (as Linux's pipe_write), waiting as often as the reader makes it.
fn write_stream(cx: &mut Ctx, fd: u64, d: &Desc, segs: &[(u64, u64)], total: u64) -> SysResult {
    let tid = cx.p.tid;
    let key = (fd, segs.first().map_or(0, |s| s.0));
    let pipe = pipe_of(&d.file);
    // Only a run again of the same call goes on where it stopped; a new call starts afresh.
    let resumed = pipe.map_or(0, |p| p.take_partial(tid, key));
    let mut done = if cx.p.wait.is_some() { resumed } else { 0 };
    let data = gather(cx, segs, total.min(1 << 20))?;
    while (done as usize) < data.len() {
        match d.file.write(cx.plat, 0, &data[done as usize..]) {
            Ok(n) => {
                done += n as u64;
                wake(cx);
            }
            Err(Errno::EAGAIN) if d.flags & g::O_NONBLOCK != 0 => {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            Err(Errno::EAGAIN) => match pipe {
                Some(p) => {
                    p.save_partial(tid, key, done);
                    return Err(would_block(cx, d.flags));
                }
                None if done > 0 => return Ok(done),
                None => return Err(would_block(cx, d.flags)),
            },
            Err(_) if done > 0 => return Ok(done),
            Err(Errno::EPIPE) => return Err(broken_pipe(cx)),
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

pub fn sys_read(cx: &mut Ctx, a: &Args) -> SysResult {
    read_segs(cx, a[0], &[(a[1], a[2])], None)
}

pub fn sys_write(cx: &mut Ctx, a: &Args) -> SysResult {
    write_segs(cx, a[0], &[(a[1], a[2])], None)
}

fn offset_arg(off: u64) -> Result<u64, Errno> {
    if (off as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(off)
}

pub fn sys_pread64(cx: &mut Ctx, a: &Args) -> SysResult {
    desc(cx, a[0])?;
    read_segs(cx, a[0], &[(a[1], a[2])], Some(offset_arg(a[3])?))
}

pub fn sys_pwrite64(cx: &mut Ctx, a: &Args) -> SysResult {
    desc(cx, a[0])?;
    write_segs(cx, a[0], &[(a[1], a[2])], Some(offset_arg(a[3])?))
}

/// Read an iovec array (at most IOV_MAX entries; lengths must add up without overflowing ssize_t).
fn iovecs(cx: &mut Ctx, addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(count as usize);
    let mut total: u64 = 0;
    for i in 0..count {
        let b = get::<16>(cx, addr + i * 16)?;
        let base = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        total = total
            .checked_add(len)
            .filter(|t| (*t as i64) >= 0)
            .ok_or(Errno::EINVAL)?;
        v.push((base, len));
    }
    Ok(v)
}

/// The descriptor checks readv/writev make before looking at the iovec array.
fn check_rw(cx: &mut Ctx, fd: u64, write: bool) -> Result<(), Errno> {
    let d = desc(cx, fd)?;
    if (write && !d.writable()) || (!write && !d.readable()) {
        return Err(Errno::EBADF);
    }
    Ok(())
}

pub fn sys_readv(cx: &mut Ctx, a: &Args) -> SysResult {
    check_rw(cx, a[0], false)?;
    let iov = iovecs(cx, a[1], a[2])?;
    read_segs(cx, a[0], &iov, None)
}

pub fn sys_writev(cx: &mut Ctx, a: &Args) -> SysResult {
    check_rw(cx, a[0], true)?;
    let iov = iovecs(cx, a[1], a[2])?;
    write_segs(cx, a[0], &iov, None)
}

/// preadv/pwritev(fd, iov, count, pos_l, pos_h) and the v2 forms with flags (offset -1: the file's
/// position).
fn vector_at(cx: &mut Ctx, a: &Args, write: bool, v2: bool) -> SysResult {
    if v2
        && a[5] as u32
            & !(g::RWF_HIPRI | g::RWF_DSYNC | g::RWF_SYNC | g::RWF_NOWAIT | g::RWF_APPEND)
            != 0
    {
        return Err(Errno::EOPNOTSUPP);
    }
    let off = a[3];
    let d = desc(cx, a[0])?;
    if (write && !d.writable()) || (!write && !d.readable()) {
        return Err(Errno::EBADF);
    }
    let at = if v2 && off as i64 == -1 {
        None
    } else {
        Some(offset_arg(off)?)
    };
    let iov = iovecs(cx, a[1], a[2])?;
    if write {
        write_segs(cx, a[0], &iov, at)
    } else {
        read_segs(cx, a[0], &iov, at)
    }
}

pub fn sys_preadv(cx: &mut Ctx, a: &Args) -> SysResult {
    vector_at(cx, a, false, false)
}

pub fn sys_pwritev(cx: &mut Ctx, a: &Args) -> SysResult {
    vector_at(cx, a, true, false)
}

pub fn sys_preadv2(cx: &mut Ctx, a: &Args) -> SysResult {
    vector_at(cx, a, false, true)
}

pub fn sys_pwritev2(cx: &mut Ctx, a: &Args) -> SysResult {
    vector_at(cx, a, true, true)
}

pub fn sys_lseek(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc_io(cx, a[0])?;
    if a[2] as u32 > g::SEEK_MAX {
        return Err(Errno::EINVAL);
    }
    sync_mapped(cx, &d.file);
    let pos = d.file.seek(d.pos, a[1] as i64, a[2] as u32)?;
    d.set_pos(pos);
    Ok(pos)
}

// ---- descriptors ----

/// Remove descriptor `i` (its file is closed when the last reference goes).
fn close_fd(cx: &mut Ctx, i: usize) -> Result<(), Errno> {
    match cx.p.fds.get_mut(i) {
        Some(slot @ Some(_)) => {
            let fd = slot.take();
            drop(fd);
            wake(cx);
            Ok(())
        }
        _ => Err(Errno::EBADF),
    }
}

pub fn sys_close(cx: &mut Ctx, a: &Args) -> SysResult {
    let i = usize::try_from(a[0] as u32).map_err(|_| Errno::EBADF)?;
    if a[0] > u64::from(u32::MAX) {
        return Err(Errno::EBADF);
    }
    close_fd(cx, i)?;
    Ok(0)
}

/// close_range(first, last, flags): CLOSE_RANGE_UNSHARE (nothing to unshare) and CLOSE_RANGE_CLOEXEC.
pub fn sys_close_range(cx: &mut Ctx, a: &Args) -> SysResult {
    const UNSHARE: u32 = 2;
    const CLOEXEC: u32 = 4;
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2] as u32);
    if flags & !(UNSHARE | CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let end = (last as usize).min(cx.p.fds.len().saturating_sub(1));
    for i in first as usize..=end {
        if i >= cx.p.fds.len() {
            break;
        }
        if flags & CLOEXEC != 0 {
            if let Some(f) = cx.p.fds[i].as_mut() {
                f.cloexec = true;
            }
        } else if cx.p.fds[i].is_some() {
            close_fd(cx, i)?;
        }
    }
    Ok(0)
}

pub fn sys_dup(cx: &mut Ctx, a: &Args) -> SysResult {
    let file = cx.p.file(a[0])?;
    cx.p.install_fd(file, false, 0)
}

fn do_dup3(cx: &mut Ctx, old: u64, new: u64, cloexec: bool) -> SysResult {
    let file = cx.p.file(old)?;
    let limit = cx.p.rlimits[g::RLIMIT_NOFILE as usize].cur;
    if new >= limit || new > u64::from(u32::MAX) {
        return Err(Errno::EBADF);
    }
    let new_i = new as usize;
    if cx.p.fds.len() <= new_i {
        cx.p.fds.resize(new_i + 1, None);
    }
    let old_fd = cx.p.fds[new_i].replace(crate::process::Fd { file, cloexec });
    if old_fd.is_some() {
        drop(old_fd);
        wake(cx);
    }
    Ok(new)
}

pub fn sys_dup2(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[0] == a[1] {
        cx.p.file(a[0])?;
        return Ok(a[1]);
    }
    do_dup3(cx, a[0], a[1], false)
}

pub fn sys_dup3(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[2] as u32 & !g::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    if a[0] == a[1] {
        return Err(Errno::EINVAL);
    }
    do_dup3(cx, a[0], a[1], a[2] as u32 & g::O_CLOEXEC != 0)
}

/// Status flags F_SETFL may change.
const SETFL_MASK: u32 = g::O_APPEND | g::O_NONBLOCK | g::FASYNC | g::O_DIRECT | g::O_NOATIME;

pub fn sys_fcntl(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc(cx, a[0])?;
    let i = a[0] as usize;
    let cmd = a[1] as u32;
    if d.is_path()
        && !matches!(
            cmd,
            g::F_DUPFD | g::F_DUPFD_CLOEXEC | g::F_GETFD | g::F_SETFD | g::F_GETFL
        )
    {
        return Err(Errno::EBADF);
    }
    match cmd {
        g::F_GETFD => Ok(cx.p.fds[i].as_ref().map_or(0, |f| u64::from(f.cloexec))),
        g::F_SETFD => {
            if let Some(Some(f)) = cx.p.fds.get_mut(i) {
                f.cloexec = a[2] & u64::from(g::FD_CLOEXEC) != 0;
            }
            Ok(0)
        }
        g::F_GETFL => Ok(u64::from(d.flags) | u64::from(g::O_LARGEFILE)),
        g::F_SETFL => {
            let mut f = d.of.lock();
            f.flags = (f.flags & !SETFL_MASK) | (a[2] as u32 & SETFL_MASK);
            Ok(0)
        }
        g::F_DUPFD | g::F_DUPFD_CLOEXEC => {
            if a[2] >= cx.p.rlimits[g::RLIMIT_NOFILE as usize].cur {
                return Err(Errno::EINVAL);
            }
            let cloexec = cmd == g::F_DUPFD_CLOEXEC;
            cx.p.install_fd(d.of, cloexec, a[2] as usize)
        }
        g::F_GETLK | g::F_OFD_GETLK => {
            // struct flock: l_type, l_whence (shorts), l_start, l_len, l_pid. No other process holds a
            // lock: F_UNLCK.
            let mut fl = get::<32>(cx, a[2])?;
            let ty = u16::from_le_bytes([fl[0], fl[1]]) as u32;
            if ty != g::F_RDLCK && ty != g::F_WRLCK && ty != g::F_UNLCK {
                return Err(Errno::EINVAL);
            }
            fl[0..2].copy_from_slice(&(g::F_UNLCK as u16).to_le_bytes());
            put(cx, a[2], &fl)?;
            Ok(0)
        }
        g::F_SETLK | g::F_SETLKW | g::F_OFD_SETLK | g::F_OFD_SETLKW => {
            let fl = get::<32>(cx, a[2])?;
            let ty = u16::from_le_bytes([fl[0], fl[1]]) as u32;
            match ty {
                g::F_RDLCK if !d.readable() => Err(Errno::EBADF),
                g::F_WRLCK if !d.writable() => Err(Errno::EBADF),
                g::F_RDLCK | g::F_WRLCK | g::F_UNLCK => Ok(0),
                _ => Err(Errno::EINVAL),
            }
        }
        g::F_GETOWN | g::F_GETSIG | g::F_GETLEASE => Ok(if cmd == g::F_GETLEASE {
            u64::from(g::F_UNLCK)
        } else {
            0
        }),
        g::F_SETOWN | g::F_SETSIG => Ok(0),
        g::F_GETPIPE_SZ | g::F_SETPIPE_SZ => {
            let pipe = pipe_of(&d.file).ok_or(Errno::EBADF)?;
            if cmd == g::F_GETPIPE_SZ {
                Ok(pipe.capacity() as u64)
            } else {
                Ok(pipe.set_capacity(a[2])? as u64)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_flock(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc(cx, a[0])?;
    if d.is_path() {
        return Err(Errno::EBADF);
    }
    let op = a[1] as u32 & !g::LOCK_NB;
    if op != g::LOCK_SH && op != g::LOCK_EX && op != g::LOCK_UN {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn sys_ioctl(cx: &mut Ctx, a: &Args) -> SysResult {
    use linux_raw_sys::ioctl as io;
    let d = desc_io(cx, a[0])?;
    let req = a[1] as u32;
    match req {
        io::FIOCLEX | io::FIONCLEX => {
            if let Some(Some(slot)) = cx.p.fds.get_mut(a[0] as usize) {
                slot.cloexec = req == io::FIOCLEX;
            }
            Ok(0)
        }
        io::FIONBIO | io::FIOASYNC => {
            let on = get::<4>(cx, a[2])? != [0; 4];
            let bit = if req == io::FIONBIO {
                g::O_NONBLOCK
            } else {
                g::FASYNC
            };
            let mut f = d.of.lock();
            if on {
                f.flags |= bit;
            } else {
                f.flags &= !bit;
            }
            Ok(0)
        }
        io::FIONREAD
            if d.file
                .inode()
                .is_some_and(|i| i.file_type() == FileType::Regular) =>
        {
            sync_mapped(cx, &d.file);
            let size = d.file.stat(&Env::none())?.size;
            let n = size.saturating_sub(d.pos).min(i32::MAX as u64) as u32;
            put(cx, a[2], &n.to_le_bytes())?;
            Ok(0)
        }
        _ => d.file.ioctl(cx, req, a[2]),
    }
}

// ---- pipes ----

fn new_open_file(file: Arc<dyn File>, flags: u32, path: String) -> FileRef {
    Arc::new(Mutex::new(OpenFile {
        file,
        pos: 0,
        flags,
        path,
    }))
}

fn do_pipe(cx: &mut Ctx, fds: u64, flags: u32) -> SysResult {
    if flags & !(g::O_CLOEXEC | g::O_NONBLOCK | g::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    tick(cx);
    let (r, w) = crate::vfs::pipe::pipe(cx.p.fs.clock.now());
    let name = alloc::format!("pipe:[{}]", r.stat(&Env::none())?.ino);
    let status = flags & (g::O_NONBLOCK | g::O_DIRECT);
    let cloexec = flags & g::O_CLOEXEC != 0;
    let rf = new_open_file(r, g::O_RDONLY | status, name.clone());
    let wf = new_open_file(w, g::O_WRONLY | status, name);
    let rfd = cx.p.install_fd(rf, cloexec, 0)?;
    let wfd = match cx.p.install_fd(wf, cloexec, 0) {
        Ok(fd) => fd,
        Err(e) => {
            cx.p.fds[rfd as usize] = None;
            return Err(e);
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(rfd as u32).to_le_bytes());
    b[4..].copy_from_slice(&(wfd as u32).to_le_bytes());
    if let Err(e) = put(cx, fds, &b) {
        cx.p.fds[rfd as usize] = None;
        cx.p.fds[wfd as usize] = None;
        return Err(e);
    }
    Ok(0)
}

pub fn sys_pipe(cx: &mut Ctx, a: &Args) -> SysResult {
    do_pipe(cx, a[0], 0)
}

pub fn sys_pipe2(cx: &mut Ctx, a: &Args) -> SysResult {
    do_pipe(cx, a[0], a[1] as u32)
}

// ---- directories ----

/// getdents64(fd, dirp, count): struct linux_dirent64 records (d_ino, d_off, d_reclen, d_type, name).
pub fn sys_getdents64(cx: &mut Ctx, a: &Args) -> SysResult {
    getdents(cx, a, true)
}

/// getdents(fd, dirp, count): the old struct linux_dirent (d_ino, d_off, d_reclen, name, d_type last).
pub fn sys_getdents(cx: &mut Ctx, a: &Args) -> SysResult {
    getdents(cx, a, false)
}

fn getdents(cx: &mut Ctx, a: &Args, v64: bool) -> SysResult {
    let d = desc_io(cx, a[0])?;
    let count = (a[2] as u32).min(MAX_RW as u32) as usize;
    let is_dir = d
        .file
        .inode()
        .is_some_and(|i| i.file_type() == FileType::Dir);
    if !is_dir {
        return Err(Errno::ENOTDIR);
    }
    let mut out: Vec<u8> = Vec::new();
    let mut next = d.pos;
    let mut too_small = false;
    {
        let env = Env::new(&*cx.p, &*cx.plat);
        d.file.readdir(&env, d.pos, &mut |e: &DirEntry, off| {
            let n = e.name.len();
            let reclen = if v64 {
                (19 + n + 1).next_multiple_of(8)
            } else {
                (18 + n + 2).next_multiple_of(8)
            };
            if out.len() + reclen > count {
                too_small = out.is_empty();
                return false;
            }
            let start = out.len();
            out.resize(start + reclen, 0);
            let r = &mut out[start..];
            r[0..8].copy_from_slice(&e.ino.to_le_bytes());
            r[8..16].copy_from_slice(&off.to_le_bytes());
            r[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
            if v64 {
                r[18] = e.ty.dtype();
                r[19..19 + n].copy_from_slice(&e.name);
            } else {
                r[18..18 + n].copy_from_slice(&e.name);
                r[reclen - 1] = e.ty.dtype();
            }
            next = off;
            true
        })?;
    }
    if too_small {
        return Err(Errno::EINVAL);
    }
    if !out.is_empty() {
        put(cx, a[1], &out)?;
    }
    d.set_pos(next);
    Ok(out.len() as u64)
}

// ---- sync, truncate, allocate ----

fn do_fsync(cx: &mut Ctx, fd: u64, data_only: bool) -> SysResult {
    let d = desc_io(cx, fd)?;
    sync_mapped(cx, &d.file);
    if d.file.inode().is_none() {
        return Err(Errno::EINVAL);
    }
    d.file.sync(data_only)?;
    Ok(0)
}

pub fn sys_fsync(cx: &mut Ctx, a: &Args) -> SysResult {
    do_fsync(cx, a[0], false)
}

pub fn sys_fdatasync(cx: &mut Ctx, a: &Args) -> SysResult {
    do_fsync(cx, a[0], true)
}

/// sync(2): write every shared mapping back (file data is already where it belongs).
pub fn sys_sync(cx: &mut Ctx, _a: &Args) -> SysResult {
    let _ = cx.p.mm.msync(0, crate::mm::USER_END, 0);
    Ok(0)
}

pub fn sys_syncfs(cx: &mut Ctx, a: &Args) -> SysResult {
    desc(cx, a[0])?;
    let _ = cx.p.mm.msync(0, crate::mm::USER_END, 0);
    Ok(0)
}

/// sync_file_range(fd, off, n, flags).
pub fn sys_sync_file_range(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[3] & !7 != 0 || (a[1] as i64) < 0 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let d = desc_io(cx, a[0])?;
    if !d.file.inode().is_some_and(|i| {
        matches!(
            i.file_type(),
            FileType::Regular | FileType::Dir | FileType::BlockDev | FileType::Symlink
        )
    }) {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}

/// Set the size of a regular file, keeping shared mappings coherent.
pub(super) fn truncate_file(cx: &mut Ctx, file: &Arc<dyn File>, size: u64) -> Result<(), Errno> {
    sync_mapped(cx, file);
    let now = cx.p.fs.clock.now();
    file.setattr(&SetAttr {
        size: Some(size),
        mtime: Some(now),
        ..SetAttr::default()
    })?;
    refresh_mapped(cx, file, 0, u64::MAX);
    Ok(())
}

pub fn sys_ftruncate(cx: &mut Ctx, a: &Args) -> SysResult {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let d = desc_io(cx, a[0])?;
    let regular = d
        .file
        .inode()
        .is_some_and(|i| i.file_type() == FileType::Regular);
    if !regular || !d.writable() {
        return Err(Errno::EINVAL);
    }
    if d.file
        .as_any()
        .downcast_ref::<crate::vfs::file::InodeFile>()
        .is_none()
    {
        return Err(Errno::EINVAL);
    }
    truncate_file(cx, &d.file, a[1])?;
    Ok(0)
}

/// fallocate(fd, mode, offset, len): mode 0 and FALLOC_FL_KEEP_SIZE reserve (the size may grow),
/// FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE zero the range; others are EOPNOTSUPP.
pub fn sys_fallocate(cx: &mut Ctx, a: &Args) -> SysResult {
    let (mode, off, len) = (a[1] as u32, a[2] as i64, a[3] as i64);
    let d = desc_io(cx, a[0])?;
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let keep = g::FALLOC_FL_KEEP_SIZE;
    let punch = g::FALLOC_FL_PUNCH_HOLE;
    let zero = g::FALLOC_FL_ZERO_RANGE;
    if mode & !(keep | punch | zero) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if mode & punch != 0 && (mode & keep == 0 || mode & zero != 0) {
        return Err(Errno::EOPNOTSUPP);
    }
    if !d.writable() {
        return Err(Errno::EBADF);
    }
    let Some(inode) = d.file.inode() else {
        return Err(if pipe_of(&d.file).is_some() {
            Errno::ESPIPE
        } else {
            Errno::ENODEV
        });
    };
    match inode.file_type() {
        FileType::Regular => {}
        FileType::Dir => return Err(Errno::EISDIR),
        FileType::Fifo => return Err(Errno::ESPIPE),
        _ => return Err(Errno::ENODEV),
    }
    let end = (off as u64)
        .checked_add(len as u64)
        .filter(|e| (*e as i64) >= 0)
        .ok_or(Errno::EFBIG)?;
    sync_mapped(cx, &d.file);
    let size = inode.stat()?.size;
    if mode & (punch | zero) != 0 {
        // Zero what exists of the range.
        let stop = end.min(size);
        let zeros = alloc::vec![0u8; CHUNK as usize];
        let mut at = off as u64;
        while at < stop {
            let n = (stop - at).min(CHUNK) as usize;
            inode.write_at(at, &zeros[..n])?;
            at += n as u64;
        }
    }
    if mode & keep == 0 && end > size {
        inode.setattr(&SetAttr {
            size: Some(end),
            ..SetAttr::default()
        })?;
    }
    refresh_mapped(cx, &d.file, off as u64, len as u64);
    Ok(0)
}

// ---- copying between files ----

/// Copy up to `count` bytes from `src` at `src_pos` to `dst` at `dst_pos` (None: a stream); returns
/// the bytes copied and stops early when the destination would block.
fn copy_between(
    cx: &mut Ctx,
    src: &Desc,
    mut src_pos: u64,
    dst: &Desc,
    dst_pos: Option<u64>,
    count: u64,
) -> Result<(u64, u64), Errno> {
    let mut done = 0u64;
    let mut dpos = dst_pos.unwrap_or(0);
    let mut buf = alloc::vec![0u8; count.min(CHUNK) as usize];
    while done < count {
        let want = (count - done).min(buf.len() as u64) as usize;
        let n = match src.file.read(cx.plat, src_pos, &mut buf[..want]) {
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(Errno::EAGAIN) => return Err(would_block(cx, src.flags)),
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        let mut w = 0;
        while w < n {
            match dst.file.write(cx.plat, dpos, &buf[w..n]) {
                Ok(m) => {
                    w += m;
                    dpos += m as u64;
                }
                Err(Errno::EAGAIN) if done + (w as u64) > 0 => break,
                Err(Errno::EAGAIN) => return Err(would_block(cx, dst.flags)),
                Err(Errno::EPIPE) if done + (w as u64) == 0 => return Err(broken_pipe(cx)),
                Err(_) if done + (w as u64) > 0 => break,
                Err(e) => return Err(e),
            }
        }
        done += w as u64;
        src_pos += w as u64;
        if w < n {
            break;
        }
    }
    if dst_pos.is_some() {
        refresh_mapped(cx, &dst.file, dst_pos.unwrap_or(0), done);
    }
    wake(cx);
    Ok((done, src_pos))
}

/// sendfile(out_fd, in_fd, offset, count).
pub fn sys_sendfile(cx: &mut Ctx, a: &Args) -> SysResult {
    let src = desc_io(cx, a[1])?;
    let dst = desc_io(cx, a[0])?;
    if !src.readable() || !dst.writable() {
        return Err(Errno::EBADF);
    }
    if !src.file.positional() || dst.flags & g::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let explicit = if a[2] != 0 {
        let off = get_u64(cx, a[2])?;
        if (off as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        Some(off)
    } else {
        None
    };
    let count = a[3].min(MAX_RW);
    sync_mapped(cx, &src.file);
    let dst_pos = dst.file.positional().then_some(dst.pos);
    let (n, end) = copy_between(cx, &src, explicit.unwrap_or(src.pos), &dst, dst_pos, count)?;
    if dst.file.positional() {
        dst.set_pos(dst.pos + n);
    }
    match explicit {
        Some(_) => put(cx, a[2], &end.to_le_bytes())?,
        None => src.set_pos(end),
    }
    Ok(n)
}

/// copy_file_range(fd_in, off_in, fd_out, off_out, len, flags) between regular files.
pub fn sys_copy_file_range(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let src = desc_io(cx, a[0])?;
    let dst = desc_io(cx, a[2])?;
    if !src.readable() || !dst.writable() || dst.flags & g::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (si, di) = match (src.file.inode(), dst.file.inode()) {
        (Some(s), Some(d)) => (s, d),
        _ => return Err(Errno::EINVAL),
    };
    if si.file_type() == FileType::Dir || di.file_type() == FileType::Dir {
        return Err(Errno::EISDIR);
    }
    if si.file_type() != FileType::Regular || di.file_type() != FileType::Regular {
        return Err(Errno::EINVAL);
    }
    let read_off = |cx: &mut Ctx, p: u64| -> Result<Option<u64>, Errno> {
        if p == 0 {
            return Ok(None);
        }
        let v = get_u64(cx, p)?;
        if (v as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Some(v))
    };
    let in_off = read_off(cx, a[1])?;
    let out_off = read_off(cx, a[3])?;
    let spos = in_off.unwrap_or(src.pos);
    let dpos = out_off.unwrap_or(dst.pos);
    let len = a[4].min(MAX_RW);
    if crate::vfs::same_inode(&si, &di) && spos < dpos + len && dpos < spos + len {
        return Err(Errno::EINVAL);
    }
    sync_mapped(cx, &src.file);
    let (n, end) = copy_between(cx, &src, spos, &dst, Some(dpos), len)?;
    match in_off {
        Some(_) => put(cx, a[1], &end.to_le_bytes())?,
        None => src.set_pos(end),
    }
    match out_off {
        Some(_) => put(cx, a[3], &(dpos + n).to_le_bytes())?,
        None => dst.set_pos(dpos + n),
    }
    Ok(n)
}

/// Install a freshly opened file at the lowest free descriptor.
pub(super) fn install(cx: &mut Ctx, file: Arc<dyn File>, flags: u32, path: String) -> SysResult {
    let cloexec = flags & g::O_CLOEXEC != 0;
    let keep = if flags & g::O_PATH != 0 {
        g::O_PATH | (flags & (g::O_DIRECTORY | g::O_NOFOLLOW))
    } else {
        flags & !(g::O_CREAT | g::O_EXCL | g::O_NOCTTY | g::O_TRUNC | g::O_CLOEXEC)
    };
    cx.p.install_fd(new_open_file(file, keep, path), cloexec, 0)
}
