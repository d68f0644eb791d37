//! Memory mappings of files: mmap with a descriptor (the memory side is in [`crate::mm`]) and msync.

use super::fs::{desc, tick};
use super::{Args, Ctx};
use crate::errno::{Errno, SysResult};
use crate::mm::{FileMap, FileSource, PAGE_SIZE};
use crate::vfs::dev::MemDev;
use crate::vfs::file::DeviceFile;
use crate::vfs::FileType;
use linux_raw_sys::general as g;

/// mmap(addr, len, prot, flags, fd, offset) without MAP_ANONYMOUS.
pub fn sys_mmap_file(cx: &mut Ctx, a: &Args) -> SysResult {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2] as u32, a[3] as u32, a[4], a[5]);
    if !off.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    tick(cx);
    let d = desc(cx, u64::from(fd as u32))?;
    if d.is_path() {
        return Err(Errno::EBADF);
    }
    // /dev/zero maps anonymous memory.
    if let Some(dev) = d.file.as_any().downcast_ref::<DeviceFile>() {
        if dev.dev.as_any().downcast_ref::<MemDev>() == Some(&MemDev::Zero) {
            return cx
                .p
                .mm
                .mmap(addr, len, prot, flags | g::MAP_ANONYMOUS, -1, off);
        }
    }
    let inode = match d.file.inode() {
        Some(i) if i.file_type() == FileType::Regular => i,
        _ => {
            if len == 0
                || !matches!(
                    flags & 0xf,
                    g::MAP_PRIVATE | g::MAP_SHARED | g::MAP_SHARED_VALIDATE
                )
            {
                return Err(Errno::EINVAL);
            }
            return Err(Errno::ENODEV);
        }
    };
    if cx.p.mm.has_shared_files() {
        cx.p.mm.sync_file(&inode);
    }
    let path = d.of.lock().path.clone();
    let src = FileSource {
        map: FileMap {
            inode,
            offset: 0,
            path,
        },
        readable: d.readable(),
        writable: d.writable(),
        append: d.flags & g::O_APPEND != 0,
    };
    cx.p.mm.mmap_file(addr, len, prot, flags, off, src)
}

/// msync(addr, len, flags).
pub fn sys_msync(cx: &mut Ctx, a: &Args) -> SysResult {
    tick(cx);
    cx.p.mm.msync(a[0], a[1], a[2] as u32)
}
