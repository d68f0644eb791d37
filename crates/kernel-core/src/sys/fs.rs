//! File descriptors and I/O: the console on fds 0-2 and read-only files of the in-memory root.
//! (The full VFS with writes, directories and pipes is the files issue.)

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

use super::{get, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::process::{FileKind, OpenFile};
use crate::uaccess::UserMemory;
use crate::vfs::{Content, Inode};
use linux_raw_sys::general as g;

const AT_FDCWD: i32 = -100;
/// Largest transfer of one read/write, as Linux's MAX_RW_COUNT.
const MAX_RW: u64 = 0x7fff_f000;

/// Read into user memory at `buf`, from the file's current position or `at`.
fn do_read(cx: &mut Ctx, fd: u64, buf: u64, len: u64, at: Option<u64>) -> SysResult {
    let file = cx.p.file(fd)?;
    let len = len.min(MAX_RW);
    let mut f = file.lock();
    if f.flags & g::O_ACCMODE == g::O_WRONLY {
        return Err(Errno::EBADF);
    }
    match &f.kind {
        FileKind::Console { fd } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            if *fd != 0 || len == 0 {
                return if *fd != 0 { Err(Errno::EBADF) } else { Ok(0) };
            }
            let mut tmp = alloc::vec![0u8; len.min(65536) as usize];
            drop(f);
            let n = cx.plat.console_read(&mut tmp);
            cx.p.mm.write(buf, &tmp[..n])?;
            Ok(n as u64)
        }
        FileKind::Node(node) => {
            let node = node.clone();
            let pos = at.unwrap_or(f.pos);
            let chunk = {
                let n = node.lock();
                match &n.content {
                    Content::File(d) => {
                        let start = (pos as usize).min(d.len());
                        let end = start.saturating_add(len as usize).min(d.len());
                        d[start..end].to_vec()
                    }
                    Content::Dir(_) => return Err(Errno::EISDIR),
                    Content::Symlink(_) => return Err(Errno::EINVAL),
                }
            };
            cx.p.mm.write(buf, &chunk)?;
            if at.is_none() {
                f.pos = pos + chunk.len() as u64;
            }
            Ok(chunk.len() as u64)
        }
    }
}

/// Write user memory at `buf` to the file.
fn do_write(cx: &mut Ctx, fd: u64, buf: u64, len: u64, at: Option<u64>) -> SysResult {
    let file = cx.p.file(fd)?;
    let len = len.min(MAX_RW);
    let f = file.lock();
    if f.flags & g::O_ACCMODE == g::O_RDONLY {
        return Err(Errno::EBADF);
    }
    match &f.kind {
        FileKind::Console { fd } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            let out = if *fd == 0 { 1 } else { *fd };
            drop(f);
            let mut done = 0u64;
            let mut tmp = alloc::vec![0u8; len.min(65536) as usize];
            while done < len {
                let n = (len - done).min(tmp.len() as u64) as usize;
                if let Err(e) = cx.p.mm.read_user(buf + done, &mut tmp[..n]) {
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
                cx.plat.console_write(out, &tmp[..n]);
                done += n as u64;
            }
            Ok(done)
        }
        FileKind::Node(_) => Err(Errno::EROFS),
    }
}

pub fn sys_read(cx: &mut Ctx, a: &Args) -> SysResult {
    do_read(cx, a[0], a[1], a[2], None)
}

pub fn sys_write(cx: &mut Ctx, a: &Args) -> SysResult {
    do_write(cx, a[0], a[1], a[2], None)
}

pub fn sys_pread64(cx: &mut Ctx, a: &Args) -> SysResult {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    do_read(cx, a[0], a[1], a[2], Some(a[3]))
}

pub fn sys_pwrite64(cx: &mut Ctx, a: &Args) -> SysResult {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    do_write(cx, a[0], a[1], a[2], Some(a[3]))
}

/// Read an iovec array (at most IOV_MAX = 1024 entries).
fn iovecs(cx: &mut Ctx, addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(count as usize);
    for i in 0..count {
        let b = get::<16>(cx, addr + i * 16)?;
        let base = u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(b[8..].try_into().map_err(|_| Errno::EFAULT)?);
        if len as i64 as isize > isize::MAX || (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        v.push((base, len));
    }
    Ok(v)
}

pub fn sys_readv(cx: &mut Ctx, a: &Args) -> SysResult {
    let iov = iovecs(cx, a[1], a[2])?;
    let mut total = 0;
    for (base, len) in iov {
        if len == 0 {
            continue;
        }
        match do_read(cx, a[0], base, len, None) {
            Ok(n) => {
                total += n;
                if n < len {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn sys_writev(cx: &mut Ctx, a: &Args) -> SysResult {
    let iov = iovecs(cx, a[1], a[2])?;
    cx.p.file(a[0])?;
    let mut total = 0;
    for (base, len) in iov {
        if len == 0 {
            continue;
        }
        match do_write(cx, a[0], base, len, None) {
            Ok(n) => total += n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

/// Read a path argument (ENAMETOOLONG past PATH_MAX, EFAULT for a bad pointer).
fn path_arg(cx: &mut Ctx, addr: u64) -> Result<Vec<u8>, Errno> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    cx.p.mm.read_cstr(addr, crate::vfs::PATH_MAX - 1)
}

/// The directory a dirfd-relative path starts from.
fn start_dir(cx: &Ctx, dirfd: u64, path: &[u8]) -> Result<Inode, Errno> {
    if path.starts_with(b"/") || dirfd as i32 == AT_FDCWD {
        return Ok(cx.p.cwd.clone());
    }
    let f = cx.p.file(dirfd)?;
    let f = f.lock();
    match &f.kind {
        FileKind::Node(n) if matches!(n.lock().content, Content::Dir(_)) => Ok(n.clone()),
        FileKind::Node(_) | FileKind::Console { .. } => Err(Errno::ENOTDIR),
    }
}

fn is_proc_self_exe(p: &[u8]) -> bool {
    p == b"/proc/self/exe" || p == b"/proc/1/exe"
}

fn do_openat(cx: &mut Ctx, dirfd: u64, path: u64, flags: u32) -> SysResult {
    let path = path_arg(cx, path)?;
    let dir = start_dir(cx, dirfd, &path)?;
    let follow = flags & g::O_NOFOLLOW == 0;
    let lookup_path: &[u8] = if is_proc_self_exe(&path) { cx.p.exe.as_bytes() } else { &path };
    let node = match cx.p.fs.lookup(&dir, lookup_path, follow) {
        Ok(n) => n,
        Err(Errno::ENOENT) if flags & g::O_CREAT != 0 => return Err(Errno::EROFS),
        Err(e) => return Err(e),
    };
    if flags & g::O_CREAT != 0 && flags & g::O_EXCL != 0 {
        return Err(Errno::EEXIST);
    }
    {
        let n = node.lock();
        match n.content {
            Content::Dir(_) if flags & g::O_ACCMODE != g::O_RDONLY => return Err(Errno::EISDIR),
            Content::Symlink(_) => return Err(Errno::ELOOP),
            Content::File(_) if flags & g::O_DIRECTORY != 0 => return Err(Errno::ENOTDIR),
            _ => {}
        }
    }
    let file = OpenFile {
        kind: FileKind::Node(node),
        pos: 0,
        flags: flags & !(g::O_CREAT | g::O_EXCL | g::O_NOCTTY | g::O_TRUNC | g::O_CLOEXEC),
        path: String::from_utf8_lossy(&path).into_owned(),
    };
    cx.p.install_fd(Arc::new(Mutex::new(file)), flags & g::O_CLOEXEC != 0, 0)
}

pub fn sys_open(cx: &mut Ctx, a: &Args) -> SysResult {
    do_openat(cx, AT_FDCWD as u64, a[0], a[1] as u32)
}

pub fn sys_openat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_openat(cx, a[0], a[1], a[2] as u32)
}

pub fn sys_close(cx: &mut Ctx, a: &Args) -> SysResult {
    let i = usize::try_from(a[0]).map_err(|_| Errno::EBADF)?;
    match cx.p.fds.get_mut(i) {
        Some(slot @ Some(_)) => {
            *slot = None;
            Ok(0)
        }
        _ => Err(Errno::EBADF),
    }
}

pub fn sys_lseek(cx: &mut Ctx, a: &Args) -> SysResult {
    let file = cx.p.file(a[0])?;
    let mut f = file.lock();
    let size = match &f.kind {
        FileKind::Console { .. } => return Err(Errno::ESPIPE),
        FileKind::Node(n) => n.lock().size(),
    };
    let off = a[1] as i64;
    let base = match a[2] as u32 {
        g::SEEK_SET => 0,
        g::SEEK_CUR => f.pos as i64,
        g::SEEK_END => size as i64,
        g::SEEK_DATA => {
            return if (off as u64) < size { Ok(off as u64) } else { Err(Errno::ENXIO) };
        }
        g::SEEK_HOLE => {
            return if (off as u64) <= size { Ok(size) } else { Err(Errno::ENXIO) };
        }
        _ => return Err(Errno::EINVAL),
    };
    let pos = base.checked_add(off).filter(|p| *p >= 0).ok_or(Errno::EINVAL)?;
    f.pos = pos as u64;
    Ok(pos as u64)
}

/// The 144-byte struct stat of x86_64.
fn stat_bytes(mode: u32, ino: u64, size: u64, rdev: u64, dev: u64) -> [u8; 144] {
    let mut b = [0u8; 144];
    let mut put64 = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put64(0, dev);
    put64(8, ino);
    put64(16, if mode & 0o170000 == 0o040000 { 2 } else { 1 });
    put64(40, rdev);
    put64(48, size);
    put64(56, 4096);
    put64(64, size.div_ceil(512));
    b[24..28].copy_from_slice(&mode.to_le_bytes());
    b
}

fn stat_of_file(cx: &Ctx, f: &OpenFile) -> [u8; 144] {
    match &f.kind {
        FileKind::Console { fd } => {
            if cx.plat.is_tty(*fd) {
                // A pseudo-terminal, as a terminal on the host looks: /dev/pts/0.
                stat_bytes(0o020620, 3, 0, 136 << 8, 0x16)
            } else {
                stat_bytes(0o010600, 3 + u64::from(*fd), 0, 0, 0xd)
            }
        }
        FileKind::Node(n) => {
            let n = n.lock();
            stat_bytes(n.mode(), n.ino, n.size(), 0, 1)
        }
    }
}

pub fn sys_fstat(cx: &mut Ctx, a: &Args) -> SysResult {
    let file = cx.p.file(a[0])?;
    let st = stat_of_file(cx, &file.lock());
    put(cx, a[1], &st)?;
    Ok(0)
}

fn stat_path(cx: &mut Ctx, dirfd: u64, path: &[u8], flags: u32, out: u64) -> SysResult {
    if flags & !(g::AT_EMPTY_PATH | g::AT_SYMLINK_NOFOLLOW | g::AT_NO_AUTOMOUNT | g::AT_STATX_SYNC_TYPE) != 0 {
        return Err(Errno::EINVAL);
    }
    if path.is_empty() {
        if flags & g::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd as i32 == AT_FDCWD {
            let st = {
                let n = cx.p.cwd.lock();
                stat_bytes(n.mode(), n.ino, n.size(), 0, 1)
            };
            put(cx, out, &st)?;
            return Ok(0);
        }
        return sys_fstat(cx, &[dirfd, out, 0, 0, 0, 0]);
    }
    let dir = start_dir(cx, dirfd, path)?;
    let follow = flags & g::AT_SYMLINK_NOFOLLOW == 0;
    let p: &[u8] = if is_proc_self_exe(path) && follow { cx.p.exe.as_bytes() } else { path };
    let node = cx.p.fs.lookup(&dir, p, follow)?;
    let st = {
        let n = node.lock();
        stat_bytes(n.mode(), n.ino, n.size(), 0, 1)
    };
    put(cx, out, &st)?;
    Ok(0)
}

pub fn sys_stat(cx: &mut Ctx, a: &Args) -> SysResult {
    let p = path_arg(cx, a[0])?;
    stat_path(cx, AT_FDCWD as u64, &p, 0, a[1])
}

pub fn sys_lstat(cx: &mut Ctx, a: &Args) -> SysResult {
    let p = path_arg(cx, a[0])?;
    stat_path(cx, AT_FDCWD as u64, &p, g::AT_SYMLINK_NOFOLLOW, a[1])
}

pub fn sys_newfstatat(cx: &mut Ctx, a: &Args) -> SysResult {
    let p = path_arg(cx, a[1])?;
    stat_path(cx, a[0], &p, a[3] as u32, a[2])
}

pub fn sys_ioctl(cx: &mut Ctx, a: &Args) -> SysResult {
    let file = cx.p.file(a[0])?;
    let console_fd = match &file.lock().kind {
        FileKind::Console { fd } => Some(*fd),
        FileKind::Node(_) => None,
    };
    let req = a[1] as u32;
    match req {
        linux_raw_sys::ioctl::FIOCLEX | linux_raw_sys::ioctl::FIONCLEX => {
            if let Some(Some(slot)) = cx.p.fds.get_mut(a[0] as usize) {
                slot.cloexec = req == linux_raw_sys::ioctl::FIOCLEX;
            }
            return Ok(0);
        }
        linux_raw_sys::ioctl::FIONBIO => {
            let on = get::<4>(cx, a[2])? != [0; 4];
            let mut f = file.lock();
            if on {
                f.flags |= g::O_NONBLOCK;
            } else {
                f.flags &= !g::O_NONBLOCK;
            }
            return Ok(0);
        }
        _ => {}
    }
    let Some(fd) = console_fd.filter(|fd| cx.plat.is_tty(*fd)) else {
        return Err(Errno::ENOTTY);
    };
    let _ = fd;
    match req {
        linux_raw_sys::ioctl::TCGETS => {
            // struct termios: iflag ICRNL|IXON, oflag OPOST|ONLCR, cflag B38400|CS8|CREAD,
            // lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN; c_cc as Linux's defaults.
            let mut t = [0u8; 36];
            t[0..4].copy_from_slice(&0o2400u32.to_le_bytes());
            t[4..8].copy_from_slice(&0o5u32.to_le_bytes());
            t[8..12].copy_from_slice(&0o277u32.to_le_bytes());
            t[12..16].copy_from_slice(&0o105073u32.to_le_bytes());
            let cc: [u8; 17] = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
            t[17..34].copy_from_slice(&cc);
            put(cx, a[2], &t)?;
            Ok(0)
        }
        linux_raw_sys::ioctl::TCSETS | linux_raw_sys::ioctl::TCSETSW | linux_raw_sys::ioctl::TCSETSF => {
            get::<36>(cx, a[2])?;
            Ok(0)
        }
        linux_raw_sys::ioctl::TIOCGWINSZ => {
            let mut w = [0u8; 8];
            w[0..2].copy_from_slice(&24u16.to_le_bytes());
            w[2..4].copy_from_slice(&80u16.to_le_bytes());
            put(cx, a[2], &w)?;
            Ok(0)
        }
        linux_raw_sys::ioctl::TIOCSWINSZ => Ok(0),
        linux_raw_sys::ioctl::TIOCGPGRP => {
            put(cx, a[2], &1u32.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

pub fn sys_fcntl(cx: &mut Ctx, a: &Args) -> SysResult {
    let file = cx.p.file(a[0])?;
    let i = a[0] as usize;
    match a[1] as u32 {
        g::F_GETFD => Ok(cx.p.fds[i].as_ref().map_or(0, |f| u64::from(f.cloexec))),
        g::F_SETFD => {
            if let Some(Some(f)) = cx.p.fds.get_mut(i) {
                f.cloexec = a[2] & 1 != 0;
            }
            Ok(0)
        }
        g::F_GETFL => Ok(u64::from(file.lock().flags) | u64::from(g::O_LARGEFILE)),
        g::F_SETFL => {
            let settable = g::O_APPEND | g::O_NONBLOCK | g::FASYNC | g::O_DIRECT | g::O_NOATIME;
            let mut f = file.lock();
            f.flags = (f.flags & !settable) | (a[2] as u32 & settable);
            Ok(0)
        }
        g::F_DUPFD | g::F_DUPFD_CLOEXEC => {
            if a[2] >= cx.p.rlimits[g::RLIMIT_NOFILE as usize].cur {
                return Err(Errno::EINVAL);
            }
            let cloexec = a[1] as u32 == g::F_DUPFD_CLOEXEC;
            cx.p.install_fd(file, cloexec, usize::try_from(a[2]).map_err(|_| Errno::EINVAL)?)
        }
        g::F_GETLK | g::F_SETLK | g::F_SETLKW | g::F_OFD_GETLK | g::F_OFD_SETLK | g::F_OFD_SETLKW => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_dup(cx: &mut Ctx, a: &Args) -> SysResult {
    let file = cx.p.file(a[0])?;
    cx.p.install_fd(file, false, 0)
}

fn do_dup3(cx: &mut Ctx, old: u64, new: u64, cloexec: bool) -> SysResult {
    let file = cx.p.file(old)?;
    let limit = cx.p.rlimits[g::RLIMIT_NOFILE as usize].cur;
    if new >= limit {
        return Err(Errno::EBADF);
    }
    let new_i = new as usize;
    if cx.p.fds.len() <= new_i {
        cx.p.fds.resize(new_i + 1, None);
    }
    cx.p.fds[new_i] = Some(crate::process::Fd { file, cloexec });
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
    if a[0] == a[1] || a[2] as u32 & !g::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    do_dup3(cx, a[0], a[1], a[2] as u32 & g::O_CLOEXEC != 0)
}

fn do_access(cx: &mut Ctx, dirfd: u64, path: u64, mode: u32, flags: u32) -> SysResult {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(cx, path)?;
    let dir = start_dir(cx, dirfd, &p)?;
    let target: &[u8] = if is_proc_self_exe(&p) { cx.p.exe.as_bytes() } else { &p };
    let node = cx.p.fs.lookup(&dir, target, flags & g::AT_SYMLINK_NOFOLLOW == 0)?;
    // root may read and write anything; execute needs some x bit (or a directory).
    let n = node.lock();
    if mode & 1 != 0 && n.mode() & 0o111 == 0 && !matches!(n.content, Content::Dir(_)) {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn sys_access(cx: &mut Ctx, a: &Args) -> SysResult {
    do_access(cx, AT_FDCWD as u64, a[0], a[1] as u32, 0)
}

pub fn sys_faccessat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_access(cx, a[0], a[1], a[2] as u32, a[3] as u32)
}

fn do_readlink(cx: &mut Ctx, dirfd: u64, path: u64, buf: u64, size: u64) -> SysResult {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_arg(cx, path)?;
    let target: Vec<u8> = if is_proc_self_exe(&p) {
        cx.p.exe.as_bytes().to_vec()
    } else {
        let dir = start_dir(cx, dirfd, &p)?;
        let node = cx.p.fs.lookup(&dir, &p, false)?;
        let n = node.lock();
        match &n.content {
            Content::Symlink(t) => t.clone(),
            _ => return Err(Errno::EINVAL),
        }
    };
    let n = target.len().min(size as usize);
    put(cx, buf, &target[..n])?;
    Ok(n as u64)
}

pub fn sys_readlink(cx: &mut Ctx, a: &Args) -> SysResult {
    do_readlink(cx, AT_FDCWD as u64, a[0], a[1], a[2])
}

pub fn sys_readlinkat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_readlink(cx, a[0], a[1], a[2], a[3])
}

pub fn sys_getcwd(cx: &mut Ctx, a: &Args) -> SysResult {
    let mut p = cx.p.cwd_path.clone().into_bytes();
    p.push(0);
    if (a[1] as usize) < p.len() {
        return Err(Errno::ERANGE);
    }
    put(cx, a[0], &p)?;
    Ok(p.len() as u64)
}

/// poll(2) over the console and files: files are always ready; stdin is ready when input waits.
pub fn sys_poll(cx: &mut Ctx, a: &Args) -> SysResult {
    let (fds, n, timeout) = (a[0], a[1], a[2] as i32);
    if n > cx.p.rlimits[g::RLIMIT_NOFILE as usize].cur {
        return Err(Errno::EINVAL);
    }
    let deadline = super::saved_deadline(cx, |cx| {
        Ok((timeout >= 0).then(|| cx.plat.monotonic_ns() + timeout as u64 * 1_000_000))
    })?;
    {
        let mut ready = 0;
        for i in 0..n {
            let b = get::<8>(cx, fds + i * 8)?;
            let fd = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let events = i16::from_le_bytes([b[4], b[5]]) as u16 as u32;
            let mut rev: u32 = 0;
            if fd >= 0 {
                match cx.p.file(fd as u64) {
                    Err(_) => rev = g::POLLNVAL,
                    Ok(f) => {
                        let input = matches!(f.lock().kind, FileKind::Console { fd: 0 });
                        let can_read = !input || cx.plat.console_input_ready();
                        if can_read {
                            rev |= events & (g::POLLIN | g::POLLRDNORM);
                        }
                        if !input {
                            rev |= events & (g::POLLOUT | g::POLLWRNORM);
                        }
                    }
                }
            }
            if rev != 0 {
                ready += 1;
            }
            put(cx, fds + i * 8 + 6, &(rev as u16).to_le_bytes())?;
        }
        if ready > 0 || deadline.is_some_and(|d| cx.plat.monotonic_ns() >= d) {
            return Ok(ready);
        }
        cx.p.wait = Some(crate::process::Wait { deadline });
        Err(Errno::RESTART)
    }
}
