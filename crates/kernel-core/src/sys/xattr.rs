//! Extended attributes: nutshell's filesystems keep none, so reads find no attribute (ENODATA), lists
//! are empty and writes are refused with EOPNOTSUPP, after the path or descriptor is checked as Linux
//! does (so a missing file is still ENOENT). Also posix_fadvise, which only gives advice.

use super::fs::{path_arg, resolve_at};
use super::{Args, Ctx};
use crate::errno::{Errno, SysResult};

const AT_FDCWD: u64 = -100i64 as u64;
/// XATTR_NAME_MAX and XATTR_SIZE_MAX.
const NAME_MAX: usize = 255;
const SIZE_MAX: u64 = 65536;

fn check_path(cx: &mut Ctx, path: u64, follow: bool) -> Result<(), Errno> {
    let p = path_arg(cx, path)?;
    resolve_at(cx, AT_FDCWD, &p, follow).map(|_| ())
}

fn check_name(cx: &mut Ctx, name: u64) -> Result<(), Errno> {
    let n = cx.p.mm.read_cstr(name, NAME_MAX + 1).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })?;
    if n.is_empty() || n.len() > NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

fn get(cx: &mut Ctx, name: u64) -> SysResult {
    check_name(cx, name)?;
    Err(Errno::ENODATA)
}

fn set(cx: &mut Ctx, name: u64, size: u64) -> SysResult {
    check_name(cx, name)?;
    if size > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    Err(Errno::EOPNOTSUPP)
}

pub fn sys_getxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], true)?;
    get(cx, a[1])
}

pub fn sys_lgetxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], false)?;
    get(cx, a[1])
}

pub fn sys_fgetxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.file(a[0])?;
    get(cx, a[1])
}

pub fn sys_listxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], true)?;
    Ok(0)
}

pub fn sys_llistxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], false)?;
    Ok(0)
}

pub fn sys_flistxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.file(a[0])?;
    Ok(0)
}

pub fn sys_setxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], true)?;
    set(cx, a[1], a[3])
}

pub fn sys_lsetxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], false)?;
    set(cx, a[1], a[3])
}

pub fn sys_fsetxattr(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.file(a[0])?;
    set(cx, a[1], a[3])
}

pub fn sys_removexattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], true)?;
    get(cx, a[1])
}

pub fn sys_lremovexattr(cx: &mut Ctx, a: &Args) -> SysResult {
    check_path(cx, a[0], false)?;
    get(cx, a[1])
}

pub fn sys_fremovexattr(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.file(a[0])?;
    get(cx, a[1])
}

/// fadvise64(fd, offset, len, advice): checked, then ignored (everything is in memory).
pub fn sys_fadvise64(cx: &mut Ctx, a: &Args) -> SysResult {
    let f = cx.p.file(a[0])?;
    if (a[2] as i64) < 0 || a[3] > 5 {
        return Err(Errno::EINVAL);
    }
    let file = f.lock().file.clone();
    // Pipes and sockets: ESPIPE, as Linux.
    if !file.positional() {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}
