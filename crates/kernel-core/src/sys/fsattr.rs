//! Syscalls about file attributes: the stat family and statx, access, readlink, chmod, chown, truncate,
//! utimensat and the older utime forms, statfs.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::fs::{desc, desc_io, empty_path_target, path_arg, resolve_at, truncate_file, AT_FDCWD};
use super::{get, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::vfs::file::InodeFile;
use crate::vfs::{major, minor, Env, File, FileType, SetAttr, Stat, Timespec};
use linux_raw_sys::general as g;

/// Linux's new_encode_dev, the st_dev/st_rdev of struct stat.
fn encode_dev(dev: u64) -> u64 {
    let (ma, mi) = (u64::from(major(dev)), u64::from(minor(dev)));
    (mi & 0xff) | (ma << 8) | ((mi & !0xff) << 12)
}

/// The 144-byte struct stat of x86_64.
pub(super) fn stat_bytes(s: &Stat) -> [u8; 144] {
    let mut b = [0u8; 144];
    let mut put64 = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put64(0, encode_dev(s.dev));
    put64(8, s.ino);
    put64(16, s.nlink);
    put64(40, encode_dev(s.rdev));
    put64(48, s.size);
    put64(56, s.blksize);
    put64(64, s.blocks);
    put64(72, s.atime.sec as u64);
    put64(80, u64::from(s.atime.nsec));
    put64(88, s.mtime.sec as u64);
    put64(96, u64::from(s.mtime.nsec));
    put64(104, s.ctime.sec as u64);
    put64(112, u64::from(s.ctime.nsec));
    b[24..28].copy_from_slice(&s.mode.to_le_bytes());
    b[28..32].copy_from_slice(&s.uid.to_le_bytes());
    b[32..36].copy_from_slice(&s.gid.to_le_bytes());
    b
}

/// The 256-byte struct statx.
fn statx_bytes(s: &Stat, mnt_id: u64) -> [u8; 256] {
    let mut b = [0u8; 256];
    let mut mask = g::STATX_BASIC_STATS | g::STATX_MNT_ID;
    if s.btime.is_some() {
        mask |= g::STATX_BTIME;
    }
    let w32 =
        |b: &mut [u8; 256], off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    let w64 =
        |b: &mut [u8; 256], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    let wts = |b: &mut [u8; 256], off: usize, t: Timespec| {
        b[off..off + 8].copy_from_slice(&t.sec.to_le_bytes());
        b[off + 8..off + 12].copy_from_slice(&t.nsec.to_le_bytes());
    };
    w32(&mut b, 0, mask);
    w32(&mut b, 4, s.blksize as u32);
    w32(&mut b, 16, s.nlink as u32);
    w32(&mut b, 20, s.uid);
    w32(&mut b, 24, s.gid);
    b[28..30].copy_from_slice(&(s.mode as u16).to_le_bytes());
    w64(&mut b, 32, s.ino);
    w64(&mut b, 40, s.size);
    w64(&mut b, 48, s.blocks);
    wts(&mut b, 64, s.atime);
    if let Some(t) = s.btime {
        wts(&mut b, 80, t);
    }
    wts(&mut b, 96, s.ctime);
    wts(&mut b, 112, s.mtime);
    w32(&mut b, 128, major(s.rdev));
    w32(&mut b, 132, minor(s.rdev));
    w32(&mut b, 136, major(s.dev));
    w32(&mut b, 140, minor(s.dev));
    w64(&mut b, 144, mnt_id);
    b
}

/// The attributes of an open file, after shared mappings reached it.
fn file_stat(cx: &mut Ctx, file: &Arc<dyn File>) -> Result<Stat, Errno> {
    if cx.p.mm.has_shared_files() {
        if let Some(i) = file.inode() {
            cx.p.mm.sync_file(&i);
        }
    }
    let env = Env::new(&*cx.p, &*cx.plat);
    file.stat(&env)
}

/// What a stat-like call names: a path from dirfd, or with AT_EMPTY_PATH and "" the dirfd itself.
fn target(
    cx: &mut Ctx,
    dirfd: u64,
    path: &[u8],
    flags: u32,
) -> Result<(Arc<dyn File>, u32), Errno> {
    if path.is_empty() {
        if flags & g::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let f = empty_path_target(cx, dirfd)?;
        let mnt = f.location().map_or(0, |p| p.mnt);
        return Ok((f, mnt));
    }
    let p = resolve_at(cx, dirfd, path, flags & g::AT_SYMLINK_NOFOLLOW == 0)?;
    let mnt = p.mnt;
    Ok((InodeFile::new(p), mnt))
}

pub fn sys_fstat(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc(cx, a[0])?;
    let st = file_stat(cx, &d.file)?;
    put(cx, a[1], &stat_bytes(&st))?;
    Ok(0)
}

fn stat_at(cx: &mut Ctx, dirfd: u64, path: u64, out: u64, flags: u32) -> SysResult {
    if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_NO_AUTOMOUNT | g::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(cx, path)?;
    let (f, _) = target(cx, dirfd, &path, flags)?;
    let st = file_stat(cx, &f)?;
    put(cx, out, &stat_bytes(&st))?;
    Ok(0)
}

pub fn sys_stat(cx: &mut Ctx, a: &Args) -> SysResult {
    stat_at(cx, AT_FDCWD as u64, a[0], a[1], 0)
}

pub fn sys_lstat(cx: &mut Ctx, a: &Args) -> SysResult {
    stat_at(cx, AT_FDCWD as u64, a[0], a[1], g::AT_SYMLINK_NOFOLLOW)
}

pub fn sys_newfstatat(cx: &mut Ctx, a: &Args) -> SysResult {
    stat_at(cx, a[0], a[1], a[2], a[3] as u32)
}

/// statx(dirfd, path, flags, mask, buf).
pub fn sys_statx(cx: &mut Ctx, a: &Args) -> SysResult {
    let flags = a[2] as u32;
    let known =
        g::AT_SYMLINK_NOFOLLOW | g::AT_NO_AUTOMOUNT | g::AT_EMPTY_PATH | g::AT_STATX_SYNC_TYPE;
    if flags & !known != 0 || flags & g::AT_STATX_SYNC_TYPE == g::AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    if a[3] as u32 & g::STATX__RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    // Since Linux 6.11 a NULL path with AT_EMPTY_PATH means the descriptor itself.
    let path = if a[1] == 0 && flags & g::AT_EMPTY_PATH != 0 {
        Vec::new()
    } else {
        path_arg(cx, a[1])?
    };
    let (f, mnt) = target(cx, a[0], &path, flags)?;
    let st = file_stat(cx, &f)?;
    put(cx, a[4], &statx_bytes(&st, u64::from(mnt) + 20))?;
    Ok(0)
}

// ---- access ----

fn do_access(cx: &mut Ctx, dirfd: u64, path: u64, mode: u32, flags: u32) -> SysResult {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(g::AT_EACCESS | g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(cx, path)?;
    let (f, _) = target(cx, dirfd, &path, flags)?;
    let st = f.stat(&Env::new(&*cx.p, &*cx.plat))?;
    let ty = st.file_type();
    if mode & g::W_OK != 0
        && matches!(
            ty,
            Some(FileType::Regular | FileType::Dir | FileType::Symlink)
        )
        && f.location().is_some_and(|p| cx.p.fs.read_only(&p))
    {
        return Err(Errno::EROFS);
    }
    // root may read and write anything; executing needs an x bit, except for directories.
    if mode & g::X_OK != 0 && st.mode & 0o111 == 0 && ty != Some(FileType::Dir) {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn sys_access(cx: &mut Ctx, a: &Args) -> SysResult {
    do_access(cx, AT_FDCWD as u64, a[0], a[1] as u32, 0)
}

/// faccessat(dirfd, path, mode): no flags argument.
pub fn sys_faccessat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_access(cx, a[0], a[1], a[2] as u32, 0)
}

pub fn sys_faccessat2(cx: &mut Ctx, a: &Args) -> SysResult {
    do_access(cx, a[0], a[1], a[2] as u32, a[3] as u32)
}

// ---- readlink ----

fn do_readlink(cx: &mut Ctx, dirfd: u64, path: u64, buf: u64, size: u64) -> SysResult {
    let path = path_arg(cx, path)?;
    if (size as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    let link = if path.is_empty() {
        let f = empty_path_target(cx, dirfd)?;
        match f.location() {
            Some(p) if p.inode.file_type() == FileType::Symlink => p,
            _ => return Err(Errno::ENOENT),
        }
    } else {
        resolve_at(cx, dirfd, &path, false)?
    };
    if link.inode.file_type() != FileType::Symlink {
        return Err(Errno::EINVAL);
    }
    let target: Vec<u8> = {
        let env = Env::new(&*cx.p, &*cx.plat);
        link.inode.readlink(&env)?
    };
    let n = target.len().min(size as u32 as usize);
    put(cx, buf, &target[..n])?;
    Ok(n as u64)
}

pub fn sys_readlink(cx: &mut Ctx, a: &Args) -> SysResult {
    do_readlink(cx, AT_FDCWD as u64, a[0], a[1], a[2])
}

pub fn sys_readlinkat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_readlink(cx, a[0], a[1], a[2], a[3])
}

// ---- chmod, chown, utimes: attribute changes ----

/// Apply `attr` to a file (EROFS on a read-only mount; files without an inode accept and forget).
fn set_attr(cx: &mut Ctx, f: &Arc<dyn File>, attr: SetAttr) -> SysResult {
    let Some(p) = f.location() else {
        return Ok(0);
    };
    if cx.p.fs.read_only(&p) && p.inode.file_type() != FileType::CharDev {
        return Err(Errno::EROFS);
    }
    p.inode.setattr(&attr)?;
    Ok(0)
}

fn path_target(cx: &mut Ctx, dirfd: u64, path: u64, flags: u32) -> Result<Arc<dyn File>, Errno> {
    let path = path_arg(cx, path)?;
    Ok(target(cx, dirfd, &path, flags)?.0)
}

fn mode_attr(mode: u64) -> SetAttr {
    SetAttr {
        mode: Some(mode as u32 & 0o7777),
        ..SetAttr::default()
    }
}

pub fn sys_chmod(cx: &mut Ctx, a: &Args) -> SysResult {
    let f = path_target(cx, AT_FDCWD as u64, a[0], 0)?;
    set_attr(cx, &f, mode_attr(a[1]))
}

pub fn sys_fchmod(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc_io(cx, a[0])?;
    set_attr(cx, &d.file, mode_attr(a[1]))
}

/// fchmodat(dirfd, path, mode): no flags argument.
pub fn sys_fchmodat(cx: &mut Ctx, a: &Args) -> SysResult {
    let f = path_target(cx, a[0], a[1], 0)?;
    set_attr(cx, &f, mode_attr(a[2]))
}

/// fchmodat2(dirfd, path, mode, flags): symbolic links cannot have modes (EOPNOTSUPP).
pub fn sys_fchmodat2(cx: &mut Ctx, a: &Args) -> SysResult {
    let flags = a[3] as u32;
    if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = path_target(cx, a[0], a[1], flags)?;
    if f.inode()
        .is_some_and(|i| i.file_type() == FileType::Symlink)
    {
        return Err(Errno::EOPNOTSUPP);
    }
    set_attr(cx, &f, mode_attr(a[2]))
}

/// chown's attributes: -1 leaves an id alone; a change clears set-user-ID (and set-group-ID when
/// group-executable) of a non-directory, as Linux does.
fn owner_attr(cx: &Ctx, f: &Arc<dyn File>, uid: u64, gid: u64) -> Result<SetAttr, Errno> {
    let id = |v: u64| (v as u32 != u32::MAX).then_some(v as u32);
    let mut attr = SetAttr {
        uid: id(uid),
        gid: id(gid),
        ..SetAttr::default()
    };
    let st = f.stat(&Env::new(&*cx.p, &*cx.plat))?;
    if st.file_type() != Some(FileType::Dir) && (attr.uid.is_some() || attr.gid.is_some()) {
        let mut m = st.mode & 0o7777;
        m &= !g::S_ISUID;
        if m & g::S_IXGRP != 0 {
            m &= !g::S_ISGID;
        }
        if m != st.mode & 0o7777 {
            attr.mode = Some(m);
        }
    }
    Ok(attr)
}

fn chown_at(cx: &mut Ctx, dirfd: u64, path: u64, uid: u64, gid: u64, flags: u32) -> SysResult {
    if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = path_target(cx, dirfd, path, flags)?;
    let attr = owner_attr(cx, &f, uid, gid)?;
    set_attr(cx, &f, attr)
}

pub fn sys_chown(cx: &mut Ctx, a: &Args) -> SysResult {
    chown_at(cx, AT_FDCWD as u64, a[0], a[1], a[2], 0)
}

pub fn sys_lchown(cx: &mut Ctx, a: &Args) -> SysResult {
    chown_at(
        cx,
        AT_FDCWD as u64,
        a[0],
        a[1],
        a[2],
        g::AT_SYMLINK_NOFOLLOW,
    )
}

pub fn sys_fchownat(cx: &mut Ctx, a: &Args) -> SysResult {
    chown_at(cx, a[0], a[1], a[2], a[3], a[4] as u32)
}

pub fn sys_fchown(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc_io(cx, a[0])?;
    let attr = owner_attr(cx, &d.file, a[1], a[2])?;
    set_attr(cx, &d.file, attr)
}

/// truncate(path, length).
pub fn sys_truncate(cx: &mut Ctx, a: &Args) -> SysResult {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(cx, a[0])?;
    let p = resolve_at(cx, AT_FDCWD as u64, &path, true)?;
    match p.inode.file_type() {
        FileType::Dir => return Err(Errno::EISDIR),
        FileType::Regular => {}
        _ => return Err(Errno::EINVAL),
    }
    if cx.p.fs.read_only(&p) {
        return Err(Errno::EROFS);
    }
    let f: Arc<dyn File> = InodeFile::new(p);
    truncate_file(cx, &f, a[1])?;
    Ok(0)
}

/// New access and modification times (None: now for both; inside, None leaves one alone).
type Times = Option<(Option<Timespec>, Option<Timespec>)>;

/// A time argument: explicit, now, or left alone.
fn time_arg(now: Timespec, sec: i64, nsec: i64) -> Result<Option<Timespec>, Errno> {
    if nsec == i64::from(g::UTIME_OMIT) {
        return Ok(None);
    }
    if nsec == i64::from(g::UTIME_NOW) {
        return Ok(Some(now));
    }
    if !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Timespec {
        sec,
        nsec: nsec as u32,
    }))
}

/// Set access and modification times of what dirfd/path names (path 0: dirfd itself).
fn set_times(cx: &mut Ctx, dirfd: u64, path: u64, times: Times, flags: u32) -> SysResult {
    let now = cx.p.fs.clock.now();
    let (atime, mtime) = times.unwrap_or((Some(now), Some(now)));
    let f = if path == 0 && dirfd as i32 != AT_FDCWD {
        // futimens: the descriptor itself, and no flags.
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        desc(cx, dirfd)?.file
    } else {
        path_target(cx, dirfd, path, flags)?
    };
    if atime.is_none() && mtime.is_none() {
        return Ok(0);
    }
    set_attr(
        cx,
        &f,
        SetAttr {
            atime,
            mtime,
            ..SetAttr::default()
        },
    )
}

/// utimensat(dirfd, path, times[2], flags).
pub fn sys_utimensat(cx: &mut Ctx, a: &Args) -> SysResult {
    let flags = a[3] as u32;
    super::fs::tick(cx);
    let now = cx.p.fs.clock.now();
    let times = if a[2] == 0 {
        None
    } else {
        let b = get::<32>(cx, a[2])?;
        let v = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        // Both UTIME_OMIT: nothing to do, and the path is not even looked at.
        let omit = i64::from(g::UTIME_OMIT);
        if v(1) == omit && v(3) == omit {
            return Ok(0);
        }
        Some((time_arg(now, v(0), v(1))?, time_arg(now, v(2), v(3))?))
    };
    if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    set_times(cx, a[0], a[1], times, flags)
}

/// Two struct timeval (futimesat, utimes): microseconds must be below a million.
fn timevals(cx: &mut Ctx, addr: u64) -> Result<Times, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let b = get::<32>(cx, addr)?;
    let v = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let tv = |sec: i64, usec: i64| -> Result<Option<Timespec>, Errno> {
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok(Some(Timespec {
            sec,
            nsec: (usec * 1000) as u32,
        }))
    };
    Ok(Some((tv(v(0), v(1))?, tv(v(2), v(3))?)))
}

pub fn sys_futimesat(cx: &mut Ctx, a: &Args) -> SysResult {
    super::fs::tick(cx);
    let times = timevals(cx, a[2])?;
    if a[1] == 0 {
        return set_times(cx, a[0], 0, times, 0);
    }
    set_times(cx, a[0], a[1], times, 0)
}

pub fn sys_utimes(cx: &mut Ctx, a: &Args) -> SysResult {
    super::fs::tick(cx);
    let times = timevals(cx, a[1])?;
    set_times(cx, AT_FDCWD as u64, a[0], times, 0)
}

/// utime(path, struct utimbuf { actime, modtime }).
pub fn sys_utime(cx: &mut Ctx, a: &Args) -> SysResult {
    super::fs::tick(cx);
    let times = if a[1] == 0 {
        None
    } else {
        let b = get::<16>(cx, a[1])?;
        let v = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Some((
            Some(Timespec { sec: v(0), nsec: 0 }),
            Some(Timespec { sec: v(1), nsec: 0 }),
        ))
    };
    set_times(cx, AT_FDCWD as u64, a[0], times, 0)
}

// ---- statfs ----

/// Mount flags statfs reports: ST_VALID, ST_RELATIME, and ST_RDONLY for read-only mounts.
const ST_RDONLY: u64 = 1;
const ST_VALID: u64 = 0x20;
const ST_RELATIME: u64 = 0x1000;

/// The 120-byte struct statfs of the filesystem `f` lives on.
fn statfs_of(cx: &mut Ctx, f: &Arc<dyn File>) -> Result<[u8; 120], Errno> {
    let (mut s, ro) = match f.location() {
        Some(p) => (p.inode.statfs()?, cx.p.fs.read_only(&p)),
        // Pipes and the console live in pipefs/devpts.
        None => (
            crate::vfs::StatFs {
                magic: 0x5049_5045,
                bsize: 4096,
                namelen: 255,
                ..Default::default()
            },
            false,
        ),
    };
    if s.magic == u64::from(g::TMPFS_MAGIC) {
        // tmpfs may use half of memory by default.
        let (total, free) = cx.plat.memory();
        s.blocks = total / 4096 / 2;
        s.bfree = (free / 4096 / 2).min(s.blocks);
        s.bavail = s.bfree;
        s.files = total / 4096 / 2;
        s.ffree = s.files.saturating_sub(1);
    }
    let mut b = [0u8; 120];
    let fields = [
        s.magic,
        s.bsize,
        s.blocks,
        s.bfree,
        s.bavail,
        s.files,
        s.ffree,
        s.fsid,
        s.namelen,
        s.bsize,
        ST_VALID | ST_RELATIME | if ro { ST_RDONLY } else { 0 },
    ];
    for (i, v) in fields.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    Ok(b)
}

pub fn sys_statfs(cx: &mut Ctx, a: &Args) -> SysResult {
    let f = path_target(cx, AT_FDCWD as u64, a[0], 0)?;
    let b = statfs_of(cx, &f)?;
    put(cx, a[1], &b)?;
    Ok(0)
}

pub fn sys_fstatfs(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc(cx, a[0])?;
    let b = statfs_of(cx, &d.file)?;
    put(cx, a[1], &b)?;
    Ok(0)
}
