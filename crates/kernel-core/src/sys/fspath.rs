//! Syscalls that create, open, remove and rename names: open/openat/openat2/creat, mkdir, mknod, rmdir,
//! unlink, rename, link, symlink, chdir, fchdir, getcwd, umask. Checks and errors come in the order of
//! Linux's fs/namei.c and fs/open.c, so the errno of a path with several faults is the one Linux gives.

use alloc::string::String;
use alloc::vec::Vec;

use super::fs::{
    desc, empty_path_target, install, path_arg, resolve_at, start_dir, truncate_file, AT_FDCWD,
};
use super::{get, put, Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::vfs::{dev, same_inode, Env, FileType, Last, NewNode, Parent, Path, MAX_SYMLINKS};
use linux_raw_sys::general as g;

/// `path` made absolute (from the start directory's path) and cleaned of `.` and `..`, without looking
/// at symbolic links: the name /proc/self/fd shows.
fn display_path(cx: &Ctx, start: &Path, path: &[u8]) -> String {
    let mut full: Vec<u8> = Vec::new();
    if !path.starts_with(b"/") {
        let env = Env::new(&*cx.p, &*cx.plat);
        full =
            cx.p.fs
                .path_of(&env, start)
                .unwrap_or_else(|_| b"/".to_vec());
        full.push(b'/');
    }
    full.extend_from_slice(path);
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in full.split(|c| *c == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::new();
    for p in parts {
        out.push('/');
        out.push_str(&String::from_utf8_lossy(p));
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Resolve the parent of a dirfd-relative path.
fn parent_at(cx: &Ctx, dirfd: u64, path: &[u8], links: &mut usize) -> Result<Parent, Errno> {
    let start = start_dir(cx, dirfd, path)?;
    let env = Env::new(&*cx.p, &*cx.plat);
    cx.p.fs.resolve_parent(&env, &start, path, links)
}

/// The entry `name` of `dir`, None when it does not exist.
fn lookup_child(cx: &Ctx, dir: &Path, name: &[u8]) -> Result<Option<Path>, Errno> {
    let env = Env::new(&*cx.p, &*cx.plat);
    match cx.p.fs.step(&env, dir, name) {
        Ok(p) => Ok(Some(p)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn rofs(cx: &Ctx, p: &Path) -> Result<(), Errno> {
    if cx.p.fs.read_only(p) {
        Err(Errno::EROFS)
    } else {
        Ok(())
    }
}

/// Linux's filename_create: the parent and the new name for mknod, symlink, link and mkdir (`dir`:
/// a trailing slash is allowed). EEXIST for `.`, `..`, `/` and existing names; ENOENT for a trailing
/// slash on anything but a directory; EROFS last.
fn filename_create(cx: &Ctx, dirfd: u64, path: &[u8], dir: bool) -> Result<(Path, Vec<u8>), Errno> {
    let mut links = 0;
    let parent = parent_at(cx, dirfd, path, &mut links)?;
    let Last::Norm(name) = parent.last else {
        return Err(Errno::EEXIST);
    };
    if lookup_child(cx, &parent.dir, &name)?.is_some() {
        return Err(Errno::EEXIST);
    }
    if parent.trailing_slash && !dir {
        return Err(Errno::ENOENT);
    }
    rofs(cx, &parent.dir)?;
    Ok((parent.dir, name))
}

// ---- open ----

/// What the open syscalls share: flags as Linux's build_open_flags leaves them, `resolve` from openat2.
fn do_open(
    cx: &mut Ctx,
    dirfd: u64,
    path_addr: u64,
    flags: u32,
    mode: u32,
    resolve: u64,
) -> SysResult {
    let path = path_arg(cx, path_addr)?;
    let mut flags = flags;
    if flags & g::O_PATH != 0 {
        flags &= g::O_PATH | g::O_DIRECTORY | g::O_NOFOLLOW | g::O_CLOEXEC;
    }
    let acc = flags & g::O_ACCMODE;
    let tmpfile = flags & g::__O_TMPFILE != 0;
    if tmpfile && (flags & g::O_TMPFILE != g::O_TMPFILE || acc == g::O_RDONLY) {
        return Err(Errno::EINVAL);
    }
    if resolve & u64::from(g::RESOLVE_BENEATH) != 0
        && (path.starts_with(b"/") || path.split(|c| *c == b'/').any(|c| c == b".."))
    {
        return Err(Errno::EXDEV);
    }
    if resolve & u64::from(g::RESOLVE_NO_SYMLINKS | g::RESOLVE_NO_MAGICLINKS) != 0 {
        flags |= g::O_NOFOLLOW;
    }
    let write = acc == g::O_WRONLY || acc == g::O_RDWR || flags & g::O_TRUNC != 0;
    let creat = flags & g::O_CREAT != 0 && !tmpfile;
    let follow = flags & g::O_NOFOLLOW == 0;
    let start = start_dir(cx, dirfd, &path)?;
    let mut created = false;
    let mut shown_start = start.clone();
    let mut shown_path = path.clone();
    let target: Path = if tmpfile {
        let dir = resolve_at(cx, dirfd, &path, true)?;
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        rofs(cx, &dir)?;
        // An unnamed file: created under a temporary name, which is removed at once.
        static NEXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);
        let name = alloc::format!(
            ".#tmpfile.{}",
            NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
        );
        let perm = mode & 0o7777 & !cx.p.umask;
        let inode = dir.inode.create(name.as_bytes(), NewNode::File, perm)?;
        dir.inode.unlink(name.as_bytes(), false)?;
        created = true;
        shown_start = dir.clone();
        shown_path = b"#tmpfile (deleted)".to_vec();
        Path {
            mnt: dir.mnt,
            inode,
        }
    } else if creat {
        let mut links = 0;
        let mut parent = parent_at(cx, dirfd, &path, &mut links)?;
        loop {
            if parent.trailing_slash {
                return Err(Errno::EISDIR);
            }
            let Last::Norm(name) = parent.last.clone() else {
                return Err(Errno::EISDIR);
            };
            match lookup_child(cx, &parent.dir, &name)? {
                Some(child) => {
                    if flags & g::O_EXCL != 0 {
                        return Err(Errno::EEXIST);
                    }
                    if child.inode.file_type() != FileType::Symlink {
                        break child;
                    }
                    if !follow {
                        return Err(Errno::ELOOP);
                    }
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let env = Env::new(&*cx.p, &*cx.plat);
                    if let Some(t) = child.inode.magic_link(&env) {
                        break t?;
                    }
                    let target = child.inode.readlink(&env)?;
                    parent =
                        cx.p.fs
                            .resolve_parent(&env, &parent.dir, &target, &mut links)?;
                }
                None => {
                    rofs(cx, &parent.dir)?;
                    let perm = mode & 0o7777 & !cx.p.umask;
                    let inode = parent.dir.inode.create(&name, NewNode::File, perm)?;
                    created = true;
                    break Path {
                        mnt: parent.dir.mnt,
                        inode,
                    };
                }
            }
        }
    } else {
        let t = resolve_at(cx, dirfd, &path, follow)?;
        if t.inode.file_type() == FileType::Symlink && flags & g::O_PATH == 0 {
            return Err(Errno::ELOOP);
        }
        t
    };
    let ty = target.inode.file_type();
    if flags & g::O_DIRECTORY != 0 && ty != FileType::Dir && !tmpfile {
        return Err(Errno::ENOTDIR);
    }
    let shown = if ty == FileType::Dir {
        let env = Env::new(&*cx.p, &*cx.plat);
        cx.p.fs
            .path_of(&env, &target)
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .unwrap_or_else(|_| display_path(cx, &shown_start, &shown_path))
    } else {
        display_path(cx, &shown_start, &shown_path)
    };
    if flags & g::O_PATH != 0 {
        let file = crate::vfs::file::InodeFile::new(target);
        return install(cx, file, flags, shown);
    }
    if ty == FileType::Dir && (write || (creat && !created)) {
        return Err(Errno::EISDIR);
    }
    if write && !created && matches!(ty, FileType::Regular | FileType::Dir) {
        rofs(cx, &target)?;
    }
    let file = {
        let env = Env::new(&*cx.p, &*cx.plat);
        dev::open_node(&env, &target, flags)?
    };
    if flags & g::O_TRUNC != 0 && ty == FileType::Regular && !created {
        truncate_file(cx, &file, 0)?;
    }
    install(cx, file, flags, shown)
}

pub fn sys_open(cx: &mut Ctx, a: &Args) -> SysResult {
    do_open(cx, AT_FDCWD as u64, a[0], a[1] as u32, a[2] as u32, 0)
}

pub fn sys_openat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_open(cx, a[0], a[1], a[2] as u32, a[3] as u32, 0)
}

pub fn sys_creat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_open(
        cx,
        AT_FDCWD as u64,
        a[0],
        g::O_CREAT | g::O_WRONLY | g::O_TRUNC,
        a[1] as u32,
        0,
    )
}

/// openat2(dirfd, path, how, size): struct open_how { flags, mode, resolve } checked strictly.
pub fn sys_openat2(cx: &mut Ctx, a: &Args) -> SysResult {
    let size = a[3];
    if size < 24 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let how = get::<24>(cx, a[2])?;
    // Bytes past the struct this kernel knows must be zero.
    let mut extra = alloc::vec![0u8; size as usize - 24];
    if !extra.is_empty() {
        cx.p.mm.read_user(a[2] + 24, &mut extra)?;
        if extra.iter().any(|b| *b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let flags = u64::from_le_bytes(how[0..8].try_into().map_err(|_| Errno::EFAULT)?);
    let mode = u64::from_le_bytes(how[8..16].try_into().map_err(|_| Errno::EFAULT)?);
    let resolve = u64::from_le_bytes(how[16..24].try_into().map_err(|_| Errno::EFAULT)?);
    let valid = g::O_ACCMODE
        | g::O_CREAT
        | g::O_EXCL
        | g::O_NOCTTY
        | g::O_TRUNC
        | g::O_APPEND
        | g::O_NONBLOCK
        | g::O_DSYNC
        | g::FASYNC
        | g::O_DIRECT
        | g::O_LARGEFILE
        | g::O_DIRECTORY
        | g::O_NOFOLLOW
        | g::O_NOATIME
        | g::O_CLOEXEC
        | g::O_PATH
        | g::__O_SYNC
        | g::__O_TMPFILE;
    if flags & !u64::from(valid) != 0 || mode & !0o7777 != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as u32;
    if mode != 0 && flags & (g::O_CREAT | g::__O_TMPFILE) == 0 {
        return Err(Errno::EINVAL);
    }
    let known = g::RESOLVE_NO_XDEV
        | g::RESOLVE_NO_MAGICLINKS
        | g::RESOLVE_NO_SYMLINKS
        | g::RESOLVE_BENEATH
        | g::RESOLVE_IN_ROOT
        | g::RESOLVE_CACHED;
    if resolve & !u64::from(known) != 0
        || (resolve & u64::from(g::RESOLVE_BENEATH) != 0
            && resolve & u64::from(g::RESOLVE_IN_ROOT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    if resolve & u64::from(g::RESOLVE_CACHED) != 0 {
        return Err(Errno::EAGAIN);
    }
    do_open(cx, a[0], a[1], flags, mode as u32, resolve)
}

// ---- directories and names ----

fn do_mkdir(cx: &mut Ctx, dirfd: u64, path: u64, mode: u32) -> SysResult {
    let path = path_arg(cx, path)?;
    let (dir, name) = filename_create(cx, dirfd, &path, true)?;
    dir.inode
        .create(&name, NewNode::Dir, mode & 0o1777 & !cx.p.umask)?;
    Ok(0)
}

pub fn sys_mkdir(cx: &mut Ctx, a: &Args) -> SysResult {
    do_mkdir(cx, AT_FDCWD as u64, a[0], a[1] as u32)
}

pub fn sys_mkdirat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_mkdir(cx, a[0], a[1], a[2] as u32)
}

/// The device number of mknod's `dev` argument (Linux's new_decode_dev).
fn decode_dev(dev: u32) -> u64 {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    crate::vfs::makedev(major, minor)
}

fn do_mknod(cx: &mut Ctx, dirfd: u64, path: u64, mode: u32, dev: u32) -> SysResult {
    let kind = match mode & g::S_IFMT {
        0 | g::S_IFREG => NewNode::File,
        g::S_IFCHR => NewNode::Special(FileType::CharDev, decode_dev(dev)),
        g::S_IFBLK => NewNode::Special(FileType::BlockDev, decode_dev(dev)),
        g::S_IFIFO => NewNode::Special(FileType::Fifo, 0),
        g::S_IFSOCK => NewNode::Special(FileType::Socket, 0),
        g::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let path = path_arg(cx, path)?;
    let (dir, name) = filename_create(cx, dirfd, &path, false)?;
    dir.inode.create(&name, kind, mode & 0o7777 & !cx.p.umask)?;
    Ok(0)
}

pub fn sys_mknod(cx: &mut Ctx, a: &Args) -> SysResult {
    do_mknod(cx, AT_FDCWD as u64, a[0], a[1] as u32, a[2] as u32)
}

pub fn sys_mknodat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_mknod(cx, a[0], a[1], a[2] as u32, a[3] as u32)
}

/// Whether `p` (an entry just looked up in `dir`) is a mount point.
fn is_mountpoint(dir: &Path, p: &Path) -> bool {
    p.mnt != dir.mnt
}

fn do_rmdir(cx: &mut Ctx, dirfd: u64, path: &[u8]) -> SysResult {
    let mut links = 0;
    let parent = parent_at(cx, dirfd, path, &mut links)?;
    let name = match parent.last {
        Last::Norm(n) => n,
        Last::DotDot => return Err(Errno::ENOTEMPTY),
        Last::Dot => return Err(Errno::EINVAL),
        Last::Root => return Err(Errno::EBUSY),
    };
    rofs(cx, &parent.dir)?;
    let child = lookup_child(cx, &parent.dir, &name)?.ok_or(Errno::ENOENT)?;
    if child.inode.file_type() != FileType::Dir {
        return Err(Errno::ENOTDIR);
    }
    if is_mountpoint(&parent.dir, &child) || same_inode(&child.inode, &cx.p.fs.root.inode) {
        return Err(Errno::EBUSY);
    }
    parent.dir.inode.unlink(&name, true)?;
    Ok(0)
}

fn do_unlink(cx: &mut Ctx, dirfd: u64, path: &[u8]) -> SysResult {
    let mut links = 0;
    let parent = parent_at(cx, dirfd, path, &mut links)?;
    let Last::Norm(name) = parent.last else {
        return Err(Errno::EISDIR);
    };
    rofs(cx, &parent.dir)?;
    let child = lookup_child(cx, &parent.dir, &name)?;
    let child = match child {
        None => return Err(Errno::ENOENT),
        Some(c) => c,
    };
    if parent.trailing_slash {
        return Err(if child.is_dir() {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    if child.is_dir() {
        return Err(Errno::EISDIR);
    }
    if is_mountpoint(&parent.dir, &child) {
        return Err(Errno::EBUSY);
    }
    parent.dir.inode.unlink(&name, false)?;
    Ok(0)
}

pub fn sys_rmdir(cx: &mut Ctx, a: &Args) -> SysResult {
    let path = path_arg(cx, a[0])?;
    do_rmdir(cx, AT_FDCWD as u64, &path)
}

pub fn sys_unlink(cx: &mut Ctx, a: &Args) -> SysResult {
    let path = path_arg(cx, a[0])?;
    do_unlink(cx, AT_FDCWD as u64, &path)
}

pub fn sys_unlinkat(cx: &mut Ctx, a: &Args) -> SysResult {
    let flags = a[2] as u32;
    if flags & !g::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(cx, a[1])?;
    if flags & g::AT_REMOVEDIR != 0 {
        do_rmdir(cx, a[0], &path)
    } else {
        do_unlink(cx, a[0], &path)
    }
}

fn do_rename(cx: &mut Ctx, odfd: u64, old: u64, ndfd: u64, new: u64, flags: u32) -> SysResult {
    let noreplace = g::RENAME_NOREPLACE;
    let exchange = g::RENAME_EXCHANGE;
    let whiteout = g::RENAME_WHITEOUT;
    if flags & !(noreplace | exchange | whiteout) != 0
        || (flags & (noreplace | whiteout) != 0 && flags & exchange != 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & whiteout != 0 {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(cx, old)?;
    let new = path_arg(cx, new)?;
    let mut links = 0;
    let op = parent_at(cx, odfd, &old, &mut links)?;
    let mut links = 0;
    let np = parent_at(cx, ndfd, &new, &mut links)?;
    if op.dir.mnt != np.dir.mnt {
        return Err(Errno::EXDEV);
    }
    let Last::Norm(oname) = op.last else {
        return Err(Errno::EBUSY);
    };
    let Last::Norm(nname) = np.last else {
        return Err(if flags & noreplace != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    };
    rofs(cx, &op.dir)?;
    let src = lookup_child(cx, &op.dir, &oname)?.ok_or(Errno::ENOENT)?;
    let dst = lookup_child(cx, &np.dir, &nname)?;
    if flags & noreplace != 0 && dst.is_some() {
        return Err(Errno::EEXIST);
    }
    if flags & exchange != 0 {
        let d = dst.as_ref().ok_or(Errno::ENOENT)?;
        if !d.is_dir() && np.trailing_slash {
            return Err(Errno::ENOTDIR);
        }
    }
    if !src.is_dir() && (op.trailing_slash || (flags & exchange == 0 && np.trailing_slash)) {
        return Err(Errno::ENOTDIR);
    }
    if is_mountpoint(&op.dir, &src) || dst.as_ref().is_some_and(|d| is_mountpoint(&np.dir, d)) {
        return Err(Errno::EBUSY);
    }
    op.dir.inode.rename(&oname, &np.dir.inode, &nname, flags)?;
    Ok(0)
}

pub fn sys_rename(cx: &mut Ctx, a: &Args) -> SysResult {
    do_rename(cx, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

pub fn sys_renameat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_rename(cx, a[0], a[1], a[2], a[3], 0)
}

pub fn sys_renameat2(cx: &mut Ctx, a: &Args) -> SysResult {
    do_rename(cx, a[0], a[1], a[2], a[3], a[4] as u32)
}

fn do_link(cx: &mut Ctx, odfd: u64, old: u64, ndfd: u64, new: u64, flags: u32) -> SysResult {
    if flags & !(g::AT_SYMLINK_FOLLOW | g::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(cx, old)?;
    let src: Path = if old.is_empty() && flags & g::AT_EMPTY_PATH != 0 {
        empty_path_target(cx, odfd)?
            .location()
            .ok_or(Errno::ENOENT)?
    } else {
        resolve_at(cx, odfd, &old, flags & g::AT_SYMLINK_FOLLOW != 0)?
    };
    let new = path_arg(cx, new)?;
    let (dir, name) = filename_create(cx, ndfd, &new, false)?;
    if dir.mnt != src.mnt {
        return Err(Errno::EXDEV);
    }
    if src.is_dir() {
        return Err(Errno::EPERM);
    }
    dir.inode.link(&name, &src.inode)?;
    Ok(0)
}

pub fn sys_link(cx: &mut Ctx, a: &Args) -> SysResult {
    do_link(cx, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

pub fn sys_linkat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_link(cx, a[0], a[1], a[2], a[3], a[4] as u32)
}

fn do_symlink(cx: &mut Ctx, target: u64, dirfd: u64, path: u64) -> SysResult {
    let target = path_arg(cx, target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let path = path_arg(cx, path)?;
    let (dir, name) = filename_create(cx, dirfd, &path, false)?;
    dir.inode.create(&name, NewNode::Symlink(&target), 0o777)?;
    Ok(0)
}

pub fn sys_symlink(cx: &mut Ctx, a: &Args) -> SysResult {
    do_symlink(cx, a[0], AT_FDCWD as u64, a[1])
}

pub fn sys_symlinkat(cx: &mut Ctx, a: &Args) -> SysResult {
    do_symlink(cx, a[0], a[1], a[2])
}

// ---- working directory ----

pub fn sys_chdir(cx: &mut Ctx, a: &Args) -> SysResult {
    let path = path_arg(cx, a[0])?;
    let p = resolve_at(cx, AT_FDCWD as u64, &path, true)?;
    if !p.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    cx.p.cwd = p;
    Ok(0)
}

pub fn sys_fchdir(cx: &mut Ctx, a: &Args) -> SysResult {
    let d = desc(cx, a[0])?;
    match d.file.location() {
        Some(p) if p.is_dir() => {
            cx.p.cwd = p;
            Ok(0)
        }
        _ => Err(Errno::ENOTDIR),
    }
}

pub fn sys_getcwd(cx: &mut Ctx, a: &Args) -> SysResult {
    let mut p = {
        let env = Env::new(&*cx.p, &*cx.plat);
        cx.p.fs.path_of(&env, &cx.p.cwd)?
    };
    p.push(0);
    if (a[1] as usize) < p.len() {
        return Err(Errno::ERANGE);
    }
    put(cx, a[0], &p)?;
    Ok(p.len() as u64)
}

pub fn sys_umask(cx: &mut Ctx, a: &Args) -> SysResult {
    let old = cx.p.umask;
    cx.p.umask = a[0] as u32 & 0o777;
    Ok(u64::from(old))
}
