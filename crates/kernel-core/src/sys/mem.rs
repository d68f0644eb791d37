//! Memory syscalls: brk, mmap, munmap, mprotect, mremap, madvise.

use super::{Args, Ctx};
use crate::errno::SysResult;

pub fn sys_brk(cx: &mut Ctx, a: &Args) -> SysResult {
    Ok(cx.p.mm.set_brk(a[0]))
}

pub fn sys_mmap(cx: &mut Ctx, a: &Args) -> SysResult {
    if a[3] as u32 & linux_raw_sys::general::MAP_ANONYMOUS == 0 {
        return super::fsmap::sys_mmap_file(cx, a);
    }
    cx.p.mm.mmap(
        a[0],
        a[1],
        a[2] as u32,
        a[3] as u32,
        a[4] as i32 as i64,
        a[5],
    )
}

pub fn sys_munmap(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.mm.munmap(a[0], a[1])
}

pub fn sys_mprotect(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.mm.mprotect(a[0], a[1], a[2] as u32)
}

pub fn sys_mremap(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.mm.mremap(a[0], a[1], a[2], a[3] as u32, a[4])
}

pub fn sys_madvise(cx: &mut Ctx, a: &Args) -> SysResult {
    cx.p.mm.madvise(a[0], a[1], a[2] as u32)
}
