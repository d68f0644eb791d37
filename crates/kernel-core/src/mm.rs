//! The program's address space: a list of areas (VMAs) over page tables the kernel implements.
//!
//! Pages are allocated when first touched (demand paging): `mmap` and `brk` only record areas, the page-fault
//! handler and the user-memory copies fault pages in. The page tables themselves are behind [`PageTable`],
//! so all of this runs on the host with a fake.

use alloc::collections::BTreeMap;
use alloc::string::String;

use linux_raw_sys::general as g;

use crate::errno::{Errno, SysResult};
use crate::uaccess::UserMemory;
use crate::vfs::{same_inode, InodeRef};

/// Size of a page.
pub const PAGE_SIZE: u64 = 4096;
/// One past the highest address a program may use (Linux's TASK_SIZE on x86_64 with 4-level paging).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Lowest address `mmap` hands out without MAP_FIXED (Linux's default vm.mmap_min_addr).
pub const MMAP_MIN_ADDR: u64 = 0x10000;

pub const PROT_READ: u32 = g::PROT_READ;
pub const PROT_WRITE: u32 = g::PROT_WRITE;
pub const PROT_EXEC: u32 = g::PROT_EXEC;

/// Round down to a page boundary.
pub fn page_floor(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

/// Round up to a page boundary, `None` on overflow.
pub fn page_ceil(x: u64) -> Option<u64> {
    x.checked_add(PAGE_SIZE - 1).map(page_floor)
}

/// What the kernel's page tables do for an address space. Addresses are page aligned.
pub trait PageTable: Send {
    /// Map a fresh zero-filled page at `va`. `Err(ENOMEM)` when physical memory runs out.
    fn map_zeroed(&mut self, va: u64, prot: u32) -> Result<(), Errno>;
    /// Unmap every present page in `[start, end)` and free its memory.
    fn unmap(&mut self, start: u64, end: u64);
    /// Set the protection of every present page in `[start, end)`.
    fn protect(&mut self, start: u64, end: u64, prot: u32);
    /// Whether the page at `va` is present.
    fn is_mapped(&self, va: u64) -> bool;
    /// Move the present pages of `[old, old + len)` to `[new, new + len)`, which holds no pages.
    fn move_pages(&mut self, old: u64, new: u64, len: u64);
    /// Copy from a present page (`va..va+buf.len()` stays inside one page), ignoring its protection.
    fn read_page(&self, va: u64, buf: &mut [u8]);
    /// Copy into a present page (`va..va+data.len()` stays inside one page), ignoring its protection.
    fn write_page(&mut self, va: u64, data: &[u8]);
}

/// What an area is, for /proc/self/maps and for the rules that differ (heap, stack growth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AreaKind {
    Anon,
    Heap,
    Stack,
    /// A segment of an ELF file loaded by exec.
    Image(String),
    /// A file mapped with mmap: pages are filled from it when first touched; in a shared area they go
    /// back to it on msync, munmap, and before the file is read through a descriptor.
    File(FileMap),
}

/// Which file an area maps, and from where.
#[derive(Clone)]
pub struct FileMap {
    pub inode: InodeRef,
    /// File offset of the area's first byte.
    pub offset: u64,
    /// The file's path, for /proc/self/maps.
    pub path: String,
}

impl PartialEq for FileMap {
    fn eq(&self, o: &FileMap) -> bool {
        same_inode(&self.inode, &o.inode) && self.offset == o.offset && self.path == o.path
    }
}

impl Eq for FileMap {}

impl core::fmt::Debug for FileMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FileMap({} @ {:#x})", self.path, self.offset)
    }
}

/// A file for mmap, with the access its descriptor gives.
pub struct FileSource {
    pub map: FileMap,
    pub readable: bool,
    pub writable: bool,
    /// Opened with O_APPEND (no shared writable mapping).
    pub append: bool,
}

/// One virtual memory area: `[start, end)` with one protection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: u32,
    pub shared: bool,
    pub kind: AreaKind,
}

/// Why a page fault could not be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No area covers the address, or the area forbids the access: SIGSEGV.
    Segv { mapped: bool },
    /// The page could not be allocated.
    OutOfMemory,
}

/// The kind of access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

/// A program's address space.
pub struct AddressSpace {
    pt: alloc::boxed::Box<dyn PageTable>,
    vmas: BTreeMap<u64, Vma>,
    /// Start of the heap area (page aligned) and the current program break (any byte address).
    pub brk_start: u64,
    pub brk: u64,
    /// `mmap` without a hint allocates top-down below this address.
    pub mmap_base: u64,
    /// Lowest address the stack may grow down to (stack top - RLIMIT_STACK).
    pub stack_limit: u64,
    /// Largest private writable mapping (or heap) granted at once: the machine's memory, as Linux's
    /// default overcommit heuristic refuses a single request larger than RAM + swap.
    pub commit_limit: u64,
}

impl AddressSpace {
    /// An empty address space over `pt`.
    pub fn new(pt: alloc::boxed::Box<dyn PageTable>, mmap_base: u64) -> Self {
        AddressSpace {
            pt,
            vmas: BTreeMap::new(),
            brk_start: 0,
            brk: 0,
            mmap_base,
            stack_limit: 0,
            commit_limit: u64::MAX,
        }
    }

    /// The areas, in address order.
    pub fn vmas(&self) -> impl Iterator<Item = &Vma> {
        self.vmas.values()
    }

    /// The area containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.vmas
            .range(..end)
            .next_back()
            .is_some_and(|(_, v)| v.end > start)
    }

    /// Split areas so that `at` is an area boundary.
    fn split_at(&mut self, at: u64) {
        let Some(v) = self.find(at).cloned() else {
            return;
        };
        if v.start == at {
            return;
        }
        let mut hi = v.clone();
        hi.start = at;
        if let AreaKind::File(f) = &mut hi.kind {
            f.offset += at - v.start;
        }
        if let Some(lo) = self.vmas.get_mut(&v.start) {
            lo.end = at;
        }
        self.vmas.insert(at, hi);
    }

    /// Remove every area (and page) in `[start, end)`.
    fn remove_range(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        self.writeback(start, end);
        self.split_at(start);
        self.split_at(end);
        let keys: alloc::vec::Vec<u64> = self.vmas.range(start..end).map(|(k, _)| *k).collect();
        for k in keys {
            self.vmas.remove(&k);
        }
        self.pt.unmap(start, end);
    }

    /// Record a new area at a fixed place, replacing whatever was there (MAP_FIXED semantics).
    pub fn map_fixed(&mut self, start: u64, len: u64, prot: u32, shared: bool, kind: AreaKind) {
        let end = start + len;
        self.remove_range(start, end);
        self.vmas.insert(
            start,
            Vma {
                start,
                end,
                prot,
                shared,
                kind,
            },
        );
    }

    /// A free range of `len` bytes: at `hint` if free, else the highest gap below `mmap_base`. A hint of 0
    /// means none; a hint is rounded down to a page, and up to `MMAP_MIN_ADDR` (Linux's round_hint_to_min).
    pub fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        let hint = page_floor(hint);
        let hint = if hint != 0 && hint < MMAP_MIN_ADDR {
            MMAP_MIN_ADDR
        } else {
            hint
        };
        if hint != 0
            && hint.checked_add(len).is_some_and(|e| e <= USER_END)
            && !self.overlaps(hint, hint + len)
        {
            return Some(hint);
        }
        let mut top = self.mmap_base;
        for v in self.vmas.range(..self.mmap_base).rev().map(|(_, v)| v) {
            if v.end <= top && top - v.end >= len {
                return Some(top - len);
            }
            top = top.min(v.start);
        }
        top.checked_sub(len).filter(|s| *s >= MMAP_MIN_ADDR)
    }

    /// mmap(2) for anonymous memory (`fd` is ignored; without MAP_ANONYMOUS this is ENODEV: file
    /// mappings go through [`AddressSpace::mmap_file`]).
    pub fn mmap(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        fd: i64,
        off: u64,
    ) -> SysResult {
        let _ = fd;
        self.map(addr, len, prot, flags, off, None)
    }

    /// mmap(2) of a file: checks in Linux's order (do_mmap), then an area filled from the file on demand.
    pub fn mmap_file(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        off: u64,
        src: FileSource,
    ) -> SysResult {
        self.map(addr, len, prot, flags, off, Some(src))
    }

    fn map(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        off: u64,
        src: Option<FileSource>,
    ) -> SysResult {
        // x86_64 sys_mmap checks the offset first, even for anonymous memory.
        if !off.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len)
            .filter(|l| *l <= USER_END)
            .ok_or(Errno::ENOMEM)?;
        // Linux's overcommit heuristic: private writable memory larger than all RAM cannot be backed.
        if prot & PROT_WRITE != 0
            && flags & 0xf == g::MAP_PRIVATE
            && flags & g::MAP_NORESERVE == 0
            && len > self.commit_limit
        {
            return Err(Errno::ENOMEM);
        }
        let kind = flags & 0xf;
        let shared = match kind {
            g::MAP_PRIVATE => false,
            g::MAP_SHARED | g::MAP_SHARED_VALIDATE => true,
            _ => return Err(Errno::EINVAL),
        };
        let file = if flags & g::MAP_ANONYMOUS == 0 {
            let Some(src) = src else {
                return Err(Errno::ENODEV);
            };
            if (off / PAGE_SIZE).checked_add(len / PAGE_SIZE).is_none() {
                return Err(Errno::EOVERFLOW);
            }
            Some(src)
        } else {
            None
        };
        let start = if flags & (g::MAP_FIXED | g::MAP_FIXED_NOREPLACE) != 0 {
            if !addr.is_multiple_of(PAGE_SIZE) {
                return Err(Errno::EINVAL);
            }
            if addr.checked_add(len).is_none_or(|e| e > USER_END) {
                return Err(Errno::ENOMEM);
            }
            if flags & g::MAP_FIXED_NOREPLACE != 0 && self.overlaps(addr, addr + len) {
                return Err(Errno::EEXIST);
            }
            addr
        } else {
            self.find_free(addr, len).ok_or(Errno::ENOMEM)?
        };
        let kind = if let Some(src) = file {
            if shared && prot & PROT_WRITE != 0 && (!src.writable || src.append) {
                return Err(Errno::EACCES);
            }
            if !src.readable {
                return Err(Errno::EACCES);
            }
            AreaKind::File(FileMap {
                offset: off,
                ..src.map
            })
        } else if flags & g::MAP_GROWSDOWN != 0 {
            AreaKind::Stack
        } else {
            AreaKind::Anon
        };
        self.map_fixed(start, len, prot, shared, kind);
        // Linux does not populate PROT_NONE areas (a reservation stays free).
        if flags & g::MAP_POPULATE != 0 && prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
            if let Err(e) = self.populate(start, start + len) {
                // Without an OOM killer the error goes to the program; do not leave the area behind.
                self.remove_range(start, start + len);
                return Err(e);
            }
        }
        Ok(start)
    }

    /// Allocate every page of `[start, end)` now.
    pub fn populate(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        let mut va = start;
        while va < end {
            if !self.pt.is_mapped(va) {
                let v = self.find(va).cloned().ok_or(Errno::ENOMEM)?;
                self.map_page(va, &v)?;
            }
            va += PAGE_SIZE;
        }
        Ok(())
    }

    /// munmap(2).
    pub fn munmap(&mut self, addr: u64, len: u64) -> SysResult {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_ceil(len)
            .and_then(|l| addr.checked_add(l))
            .filter(|e| *e <= USER_END);
        let end = end.ok_or(Errno::EINVAL)?;
        self.remove_range(addr, end);
        Ok(0)
    }

    /// mprotect(2).
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u32) -> SysResult {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | g::PROT_GROWSDOWN | g::PROT_GROWSUP) != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
        let end = page_ceil(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(Errno::ENOMEM)?;
        if end == addr {
            return Ok(0);
        }
        // As Linux: areas are changed in address order up to the first hole, which gives ENOMEM (the areas
        // before it keep their new protection).
        let mut at = addr;
        while at < end {
            let stop = self.find(at).ok_or(Errno::ENOMEM)?.end.min(end);
            self.split_at(at);
            self.split_at(stop);
            if let Some(v) = self.vmas.get_mut(&at) {
                v.prot = prot;
            }
            self.pt.protect(at, stop, prot);
            at = stop;
        }
        Ok(0)
    }

    /// mremap(2): shrink in place, grow in place when the next range is free, else move (MREMAP_MAYMOVE);
    /// MREMAP_FIXED moves to `new_addr`, MREMAP_DONTUNMAP leaves the old area mapped (and empty). Checks and
    /// errors in Linux's order.
    pub fn mremap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> SysResult {
        let may_move = flags & g::MREMAP_MAYMOVE != 0;
        let fixed = flags & g::MREMAP_FIXED != 0;
        let dontunmap = flags & g::MREMAP_DONTUNMAP != 0;
        if flags & !(g::MREMAP_MAYMOVE | g::MREMAP_FIXED | g::MREMAP_DONTUNMAP) != 0
            || (fixed && !may_move)
            || (dontunmap && (!may_move || old_len != new_len))
            || !old.is_multiple_of(PAGE_SIZE)
        {
            return Err(Errno::EINVAL);
        }
        let old_len = page_ceil(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_ceil(new_len).filter(|l| *l > 0).ok_or(Errno::EINVAL)?;
        let old_end = old
            .checked_add(old_len)
            .filter(|e| *e <= USER_END)
            .ok_or(Errno::EINVAL)?;
        self.find(old).ok_or(Errno::EFAULT)?;
        if fixed || dontunmap {
            let new_end = new_addr.checked_add(new_len).filter(|e| *e <= USER_END);
            let new_end = new_end
                .filter(|_| new_addr.is_multiple_of(PAGE_SIZE))
                .ok_or(Errno::EINVAL)?;
            if new_addr < old_end && old < new_end {
                return Err(Errno::EINVAL);
            }
            if fixed {
                self.remove_range(new_addr, new_end);
            }
            let old_len = if old_len > new_len {
                self.remove_range(old + new_len, old_end);
                new_len
            } else {
                old_len
            };
            let v = self.resizable(old, old_len)?;
            let dest = if fixed {
                new_addr
            } else {
                self.find_free(new_addr, new_len).ok_or(Errno::ENOMEM)?
            };
            return Ok(self.move_area(v, old, old_len, dest, new_len, dontunmap));
        }
        if new_len <= old_len {
            // Shrinking is always allowed: it unmaps the tail, whatever is there.
            self.remove_range(old + new_len, old_end);
            return Ok(old);
        }
        let v = self.resizable(old, old_len)?;
        let grown = old.checked_add(new_len).filter(|e| *e <= USER_END);
        if let Some(grown) = grown.filter(|g| old_end == v.end && !self.overlaps(old_end, *g)) {
            if let Some(a) = self.vmas.get_mut(&v.start) {
                a.end = grown;
            }
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let dest = self.find_free(0, new_len).ok_or(Errno::ENOMEM)?;
        Ok(self.move_area(v, old, old_len, dest, new_len, false))
    }

    /// The area `[old, old + old_len)` lies in, for mremap (Linux's vma_to_resize).
    fn resizable(&self, old: u64, old_len: u64) -> Result<Vma, Errno> {
        let v = self.find(old).cloned().ok_or(Errno::EFAULT)?;
        if old_len == 0 {
            // Linux duplicates shared mappings for a zero old_len; private ones are EINVAL.
            return Err(Errno::EINVAL);
        }
        if old + old_len > v.end {
            return Err(Errno::EFAULT);
        }
        Ok(v)
    }

    /// Move the pages of `[old, old + old_len)` to a new area `[dest, dest + new_len)` like `v`.
    fn move_area(
        &mut self,
        v: Vma,
        old: u64,
        old_len: u64,
        dest: u64,
        new_len: u64,
        keep_old: bool,
    ) -> u64 {
        self.pt.move_pages(old, dest, old_len.min(new_len));
        if !keep_old {
            self.remove_range(old, old + old_len);
        }
        let mut kind = v.kind.clone();
        if let AreaKind::File(f) = &mut kind {
            f.offset += old - v.start;
        }
        self.vmas.insert(
            dest,
            Vma {
                start: dest,
                end: dest + new_len,
                kind,
                ..v
            },
        );
        dest
    }

    /// madvise(2): MADV_DONTNEED and MADV_FREE drop the pages of private areas (they come back zeroed); the
    /// other advice Linux 6.1 knows is accepted and ignored, unknown advice is EINVAL. As Linux, the advice
    /// applies to every area in the range, and a hole anywhere in it gives ENOMEM.
    pub fn madvise(&mut self, addr: u64, len: u64, advice: u32) -> SysResult {
        if !matches!(advice, 0..=4 | 8..=25) || !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = page_ceil(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(Errno::EINVAL)?;
        if end == addr {
            return Ok(0);
        }
        let areas: alloc::vec::Vec<(u64, u64, bool)> = self
            .vmas
            .range(..end)
            .map(|(_, v)| v)
            .filter(|v| v.end > addr)
            .map(|v| (v.start.max(addr), v.end.min(end), v.shared))
            .collect();
        let mut hole = false;
        let mut at = addr;
        for (start, stop, shared) in areas {
            hole |= start > at;
            if (advice == g::MADV_DONTNEED || advice == g::MADV_FREE) && !shared {
                self.pt.unmap(start, stop);
            }
            at = stop;
        }
        if hole || at < end {
            return Err(Errno::ENOMEM);
        }
        Ok(0)
    }

    /// brk(2): returns the new break, or the old one when the request cannot be met (Linux semantics).
    pub fn set_brk(&mut self, want: u64) -> u64 {
        if want < self.brk_start || want > self.mmap_base {
            return self.brk;
        }
        let old_end = page_ceil(self.brk).unwrap_or(self.brk);
        let new_end = match page_ceil(want) {
            Some(e) => e,
            None => return self.brk,
        };
        if new_end > old_end && new_end - self.brk_start > self.commit_limit {
            return self.brk;
        }
        if new_end > old_end {
            // Linux keeps a page free between the break and the next area.
            if self.overlaps(old_end, new_end.saturating_add(PAGE_SIZE)) {
                return self.brk;
            }
            if old_end == self.brk_start
                || self
                    .find(old_end - 1)
                    .is_none_or(|v| v.kind != AreaKind::Heap)
            {
                self.vmas.insert(
                    old_end,
                    Vma {
                        start: old_end,
                        end: new_end,
                        prot: PROT_READ | PROT_WRITE,
                        shared: false,
                        kind: AreaKind::Heap,
                    },
                );
            } else {
                let s = self.find(old_end - 1).map(|v| v.start).unwrap_or(old_end);
                if let Some(v) = self.vmas.get_mut(&s) {
                    v.end = new_end;
                }
            }
        } else if new_end < old_end {
            self.remove_range(new_end, old_end);
        }
        self.brk = want;
        want
    }

    /// Serve a page fault at `addr`: allocate the page if an area allows the access, grow the stack if the
    /// address is just below it.
    pub fn handle_fault(&mut self, addr: u64, access: Access) -> Result<(), FaultError> {
        let page = page_floor(addr);
        let vma = match self.find(addr) {
            Some(v) => v.clone(),
            None => self
                .grow_stack(page)
                .ok_or(FaultError::Segv { mapped: false })?,
        };
        let allowed = match access {
            Access::Read => vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0,
            Access::Write => vma.prot & PROT_WRITE != 0,
            Access::Exec => vma.prot & PROT_EXEC != 0,
        };
        if !allowed || self.pt.is_mapped(page) {
            // Present and still faulting means a protection violation.
            return Err(FaultError::Segv { mapped: true });
        }
        self.map_page(page, &vma)
            .map_err(|_| FaultError::OutOfMemory)
    }

    /// Map the page `page` of area `v`: zeroed, then filled from the file of a file area.
    fn map_page(&mut self, page: u64, v: &Vma) -> Result<(), Errno> {
        self.pt.map_zeroed(page, v.prot)?;
        if let AreaKind::File(f) = &v.kind {
            let mut buf = alloc::vec![0u8; PAGE_SIZE as usize];
            // Past the end of the file the page stays zero (Linux would raise SIGBUS beyond its last page).
            let n = f
                .inode
                .read_at(f.offset + (page - v.start), &mut buf)
                .unwrap_or(0);
            if n > 0 {
                self.pt.write_page(page, &buf[..n]);
            }
        }
        Ok(())
    }

    /// Shared file areas overlapping `[start, end)`, clipped to it.
    fn shared_file_areas(&self, start: u64, end: u64) -> alloc::vec::Vec<(u64, u64, u64, FileMap)> {
        self.vmas
            .range(..end)
            .map(|(_, v)| v)
            .filter(|v| v.end > start && v.shared)
            .filter_map(|v| match &v.kind {
                AreaKind::File(f) => Some((v.start, v.start.max(start), v.end.min(end), f.clone())),
                _ => None,
            })
            .collect()
    }

    /// Write the present pages of shared file areas in `[start, end)` back to their files (only what
    /// changed, and nothing past the end of a file).
    fn writeback(&mut self, start: u64, end: u64) {
        let mut page = alloc::vec![0u8; PAGE_SIZE as usize];
        let mut file = alloc::vec![0u8; PAGE_SIZE as usize];
        for (vstart, from, to, f) in self.shared_file_areas(start, end) {
            let Ok(size) = f.inode.stat().map(|s| s.size) else {
                continue;
            };
            let mut va = page_floor(from);
            while va < to {
                let off = f.offset + (va - vstart);
                if off >= size {
                    break;
                }
                if self.pt.is_mapped(va) {
                    let n = (size - off).min(PAGE_SIZE) as usize;
                    self.pt.read_page(va, &mut page[..n]);
                    let m = f.inode.read_at(off, &mut file[..n]).unwrap_or(0);
                    if m != n || page[..n] != file[..n] {
                        let _ = f.inode.write_at(off, &page[..n]);
                    }
                }
                va += PAGE_SIZE;
            }
        }
    }

    /// Whether some shared area maps a file.
    pub fn has_shared_files(&self) -> bool {
        self.vmas
            .values()
            .any(|v| v.shared && matches!(v.kind, AreaKind::File(_)))
    }

    /// Before the file `inode` is read or its size looked at through a descriptor: write its shared
    /// mapped pages back (one address space, so this is all the coherence needed).
    pub fn sync_file(&mut self, inode: &InodeRef) {
        let ranges: alloc::vec::Vec<(u64, u64)> = self
            .shared_file_areas(0, USER_END)
            .into_iter()
            .filter(|a| same_inode(&a.3.inode, inode))
            .map(|a| (a.1, a.2))
            .collect();
        for (from, to) in ranges {
            self.writeback(from, to);
        }
    }

    /// After `[off, off + len)` of `inode` was written through a descriptor (or the file was truncated):
    /// bring the present pages of shared areas mapping that range up to date.
    pub fn refresh_file(&mut self, inode: &InodeRef, off: u64, len: u64) {
        let end = off.saturating_add(len);
        let mut buf = alloc::vec![0u8; PAGE_SIZE as usize];
        for (vstart, from, to, f) in self.shared_file_areas(0, USER_END) {
            if !same_inode(&f.inode, inode) {
                continue;
            }
            let mut va = page_floor(from);
            while va < to {
                let foff = f.offset + (va - vstart);
                if foff < end && foff + PAGE_SIZE > off && self.pt.is_mapped(va) {
                    let n = f.inode.read_at(foff, &mut buf).unwrap_or(0);
                    buf[n..].fill(0);
                    self.pt.write_page(va, &buf);
                }
                va += PAGE_SIZE;
            }
        }
    }

    /// msync(2): write shared file pages of the range back. As Linux: EINVAL for an unaligned address,
    /// unknown flags or MS_ASYNC with MS_SYNC; ENOMEM when part of the range is not mapped.
    pub fn msync(&mut self, addr: u64, len: u64, flags: u32) -> SysResult {
        let known = g::MS_ASYNC | g::MS_SYNC | g::MS_INVALIDATE;
        if !addr.is_multiple_of(PAGE_SIZE)
            || flags & !known != 0
            || (flags & g::MS_ASYNC != 0 && flags & g::MS_SYNC != 0)
        {
            return Err(Errno::EINVAL);
        }
        let end = page_ceil(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(Errno::ENOMEM)?;
        if end == addr {
            return Ok(0);
        }
        let mut at = addr;
        let mut hole = false;
        while at < end {
            match self.find(at) {
                Some(v) => at = v.end,
                None => {
                    hole = true;
                    at = self
                        .vmas
                        .range(at..)
                        .next()
                        .map_or(end, |(k, _)| *k)
                        .min(end);
                }
            }
        }
        self.writeback(addr, end);
        if hole {
            return Err(Errno::ENOMEM);
        }
        Ok(0)
    }

    /// Extend the stack area (the one just above `page`) down to `page` if within the stack limit.
    fn grow_stack(&mut self, page: u64) -> Option<Vma> {
        let (_, above) = self.vmas.range(page..).next()?;
        if above.kind != AreaKind::Stack || page < self.stack_limit {
            return None;
        }
        // Keep a guard gap of one page to the next area below (Linux keeps stack_guard_gap; one page here).
        if self.overlaps(page.saturating_sub(PAGE_SIZE), above.start) {
            return None;
        }
        let mut v = above.clone();
        self.vmas.remove(&v.start);
        v.start = page;
        self.vmas.insert(page, v.clone());
        Some(v)
    }

    /// Make sure the page of `va` is present and allows `access`, as a fault would (for user copies; like a
    /// fault, this grows the stack).
    fn touch(&mut self, va: u64, access: Access) -> Result<(), Errno> {
        let v = match self.find(va) {
            Some(v) => v.clone(),
            None => self.grow_stack(page_floor(va)).ok_or(Errno::EFAULT)?,
        };
        let ok = match access {
            Access::Read | Access::Exec => v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0,
            Access::Write => v.prot & PROT_WRITE != 0,
        };
        if !ok {
            return Err(Errno::EFAULT);
        }
        if !self.pt.is_mapped(page_floor(va)) {
            self.map_page(page_floor(va), &v)
                .map_err(|_| Errno::EFAULT)?;
        }
        Ok(())
    }

    /// Check that `[addr, addr + len)` may be written by the program (faulting pages in as a write
    /// would): EFAULT otherwise.
    pub fn probe_write(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.copy(addr, len as usize, |_, _, _| {}, Some(Access::Write))
    }

    /// Copy into the program's memory ignoring page protection (used by exec to fill read-only segments).
    pub fn write_force(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.copy(
            addr,
            data.len(),
            |pt, va, range| pt.write_page(va, &data[range]),
            None,
        )
    }

    fn copy(
        &mut self,
        addr: u64,
        len: usize,
        mut f: impl FnMut(&mut dyn PageTable, u64, core::ops::Range<usize>),
        check: Option<Access>,
    ) -> Result<(), Errno> {
        let end = addr
            .checked_add(len as u64)
            .filter(|e| *e <= USER_END)
            .ok_or(Errno::EFAULT)?;
        let mut va = addr;
        while va < end {
            let chunk_end = (page_floor(va) + PAGE_SIZE).min(end);
            match check {
                Some(a) => self.touch(va, a)?,
                None => {
                    let Some(v) = self.find(va).cloned() else {
                        return Err(Errno::EFAULT);
                    };
                    if !self.pt.is_mapped(page_floor(va)) {
                        self.map_page(page_floor(va), &v)
                            .map_err(|_| Errno::ENOMEM)?;
                    }
                }
            }
            let off = (va - addr) as usize;
            f(&mut *self.pt, va, off..off + (chunk_end - va) as usize);
            va = chunk_end;
        }
        Ok(())
    }

    /// Read the program's memory, faulting pages in (used where `&self` is not enough).
    pub fn read_user(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let len = buf.len();
        self.copy(
            addr,
            len,
            |pt, va, range| pt.read_page(va, &mut buf[range]),
            Some(Access::Read),
        )
    }

    /// Read a NUL-terminated string of at most `max` bytes (without the NUL). ENAMETOOLONG past `max`.
    pub fn read_cstr(&mut self, addr: u64, max: usize) -> Result<alloc::vec::Vec<u8>, Errno> {
        let mut out = alloc::vec::Vec::new();
        let mut va = addr;
        loop {
            let chunk = (page_floor(va) + PAGE_SIZE - va) as usize;
            let mut buf = [0u8; 256];
            let n = chunk.min(buf.len());
            self.read_user(va, &mut buf[..n])?;
            if let Some(i) = buf[..n].iter().position(|b| *b == 0) {
                out.extend_from_slice(&buf[..i]);
                return if out.len() > max {
                    Err(Errno::ENAMETOOLONG)
                } else {
                    Ok(out)
                };
            }
            out.extend_from_slice(&buf[..n]);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            va += n as u64;
        }
    }
}

impl UserMemory for AddressSpace {
    /// Reads without faulting pages in: a page never touched reads as zeros, as it would after a fault.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let end = addr
            .checked_add(buf.len() as u64)
            .filter(|e| *e <= USER_END)
            .ok_or(Errno::EFAULT)?;
        let mut va = addr;
        while va < end {
            let v = self.find(va).ok_or(Errno::EFAULT)?;
            if v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC) == 0 {
                return Err(Errno::EFAULT);
            }
            let chunk_end = (page_floor(va) + PAGE_SIZE).min(end);
            let r = (va - addr) as usize..(chunk_end - addr) as usize;
            if self.pt.is_mapped(page_floor(va)) {
                self.pt.read_page(va, &mut buf[r]);
            } else {
                buf[r].fill(0);
            }
            va = chunk_end;
        }
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.copy(
            addr,
            data.len(),
            |pt, va, range| pt.write_page(va, &data[range]),
            Some(Access::Write),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{
        address_space, PtHandle, BRK_START, MMAP_BASE, STACK_INITIAL, STACK_RLIMIT, STACK_TOP,
    };
    use std::vec::Vec;

    const P: u64 = PAGE_SIZE;
    const R: u32 = PROT_READ;
    const RW: u32 = PROT_READ | PROT_WRITE;
    const RX: u32 = PROT_READ | PROT_EXEC;
    const NONE: u32 = 0;
    const ANON: u32 = g::MAP_PRIVATE | g::MAP_ANONYMOUS;
    const FIXED: u32 = ANON | g::MAP_FIXED;

    /// The areas as (start, end, prot).
    fn areas(mm: &AddressSpace) -> Vec<(u64, u64, u32)> {
        mm.vmas().map(|v| (v.start, v.end, v.prot)).collect()
    }

    /// The areas in `[lo, hi)`.
    fn areas_in(mm: &AddressSpace, lo: u64, hi: u64) -> Vec<(u64, u64, u32)> {
        areas(mm)
            .into_iter()
            .filter(|a| a.0 < hi && a.1 > lo)
            .collect()
    }

    /// Invariants of an address space: areas sorted, disjoint, non-empty, page aligned, keyed by their start;
    /// every present page inside an area (no frame leaks); frames used + free = `frames`.
    fn check(mm: &AddressSpace, pt: &PtHandle, frames: usize) {
        let mut last_end = 0;
        for (k, v) in &mm.vmas {
            assert_eq!(*k, v.start, "area keyed by its start");
            assert!(v.start < v.end, "empty area {v:?}");
            assert!(v.start % P == 0 && v.end % P == 0, "unaligned area {v:?}");
            assert!(v.start >= last_end, "overlapping areas at {:#x}", v.start);
            assert!(v.end <= USER_END);
            last_end = v.end;
        }
        let st = pt.state();
        for va in st.pages.keys() {
            assert!(
                mm.find(*va).is_some(),
                "page {va:#x} is present outside every area (leaked)"
            );
        }
        assert_eq!(
            st.pages.len() + st.free_frames,
            frames,
            "frames used + free"
        );
    }

    fn write(mm: &mut AddressSpace, addr: u64, data: &[u8]) {
        UserMemory::write(mm, addr, data).expect("write");
    }

    fn read(mm: &AddressSpace, addr: u64, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        UserMemory::read(mm, addr, &mut b).expect("read");
        b
    }

    /// Mark each page of `[addr, addr + pages * P)` with its index + 1 at offsets 0 and P - 1.
    fn mark(mm: &mut AddressSpace, addr: u64, pages: u64) {
        for i in 0..pages {
            write(mm, addr + i * P, &[i as u8 + 1]);
            write(mm, addr + i * P + P - 1, &[i as u8 + 1]);
        }
    }

    fn marked(mm: &AddressSpace, addr: u64, i: u64) -> bool {
        read(mm, addr, 1) == [i as u8 + 1] && read(mm, addr + P - 1, 1) == [i as u8 + 1]
    }

    #[test]
    fn mmap_is_top_down_below_mmap_base_and_lazy() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 3 * P, RW, ANON, -1, 0).expect("mmap");
        assert_eq!(a, MMAP_BASE - 3 * P);
        let b = mm
            .mmap(0, 1, R, ANON, -1, 0)
            .expect("mmap rounds the length up");
        assert_eq!(b, a - P);
        assert_eq!(areas_in(&mm, 0, MMAP_BASE), [(b, a, R), (a, MMAP_BASE, RW)]);
        assert_eq!(mm.find(a).map(|v| v.kind.clone()), Some(AreaKind::Anon));
        assert_eq!(pt.pages(), 0, "mmap allocates nothing");
        // The highest gap that fits is reused.
        mm.munmap(a, 3 * P).expect("munmap");
        assert_eq!(mm.mmap(0, 2 * P, RW, ANON, -1, 0), Ok(MMAP_BASE - 2 * P));
        // A gap too small is skipped.
        assert_eq!(mm.mmap(0, 2 * P, RW, ANON, -1, 0), Ok(b - 2 * P));
        let grows = mm
            .mmap(0, P, RW, ANON | g::MAP_GROWSDOWN, -1, 0)
            .expect("growsdown");
        assert_eq!(
            mm.find(grows).map(|v| v.kind.clone()),
            Some(AreaKind::Stack)
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn mmap_hint_is_used_when_free() {
        let (mut mm, pt) = address_space(64);
        assert_eq!(
            mm.mmap(0x7000_0000, 2 * P, RW, ANON, -1, 0),
            Ok(0x7000_0000)
        );
        // Taken: top-down instead.
        assert_eq!(mm.mmap(0x7000_1000, P, RW, ANON, -1, 0), Ok(MMAP_BASE - P));
        // Unaligned: rounded down (Linux: addr &= PAGE_MASK).
        assert_eq!(mm.mmap(0x6000_0123, P, RW, ANON, -1, 0), Ok(0x6000_0000));
        // Below vm.mmap_min_addr: rounded up to it (Linux's round_hint_to_min).
        assert_eq!(mm.mmap(0x2000, P, RW, ANON, -1, 0), Ok(MMAP_MIN_ADDR));
        // Past the end of the address space: ignored.
        assert_eq!(
            mm.mmap(USER_END - P, 2 * P, RW, ANON, -1, 0),
            Ok(MMAP_BASE - 3 * P)
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn mmap_argument_errors() {
        let (mut mm, pt) = address_space(64);
        assert_eq!(
            mm.mmap(0, 0, RW, ANON, -1, 0),
            Err(Errno::EINVAL),
            "length 0"
        );
        assert_eq!(
            mm.mmap(0, P, RW, g::MAP_ANONYMOUS, -1, 0),
            Err(Errno::EINVAL),
            "neither private nor shared"
        );
        assert_eq!(
            mm.mmap(0, P, RW, ANON, -1, 1),
            Err(Errno::EINVAL),
            "unaligned offset"
        );
        assert_eq!(
            mm.mmap(0, u64::MAX - 100, RW, ANON, -1, 0),
            Err(Errno::ENOMEM),
            "length overflows"
        );
        assert_eq!(
            mm.mmap(0, USER_END, RW, ANON, -1, 0),
            Err(Errno::ENOMEM),
            "no gap that big"
        );
        assert_eq!(
            mm.mmap(0x7000_0123, P, RW, FIXED, -1, 0),
            Err(Errno::EINVAL),
            "unaligned MAP_FIXED"
        );
        assert_eq!(
            mm.mmap(0x7000_0123, P, RW, ANON | g::MAP_FIXED_NOREPLACE, -1, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mm.mmap(USER_END - P, 2 * P, RW, FIXED, -1, 0),
            Err(Errno::ENOMEM),
            "MAP_FIXED past the end"
        );
        assert_eq!(
            mm.mmap(0, P, RW, g::MAP_PRIVATE, 3, 0),
            Err(Errno::ENODEV),
            "file mappings are not there yet"
        );
        assert_eq!(areas(&mm).len(), 1, "only the stack");
        check(&mm, &pt, 64);
    }

    #[test]
    fn map_fixed_replaces_the_middle_of_an_area() {
        let (mut mm, pt) = address_space(64);
        let a = 0x7000_0000;
        assert_eq!(mm.mmap(a, 3 * P, RW, FIXED, -1, 0), Ok(a));
        mark(&mut mm, a, 3);
        assert_eq!(pt.pages(), 3);
        assert_eq!(mm.mmap(a + P, P, R, FIXED, -1, 0), Ok(a + P));
        assert_eq!(
            areas_in(&mm, a, a + 3 * P),
            [
                (a, a + P, RW),
                (a + P, a + 2 * P, R),
                (a + 2 * P, a + 3 * P, RW)
            ]
        );
        assert!(!pt.is_present(a + P), "the replaced page was freed");
        assert_eq!(read(&mm, a + P, 1), [0], "the new mapping is zero-filled");
        assert!(
            marked(&mm, a, 0) && marked(&mm, a + 2 * P, 2),
            "the rest keeps its contents"
        );
        // Replacing across two areas and a hole.
        assert_eq!(mm.mmap(a + 2 * P, 3 * P, RX, FIXED, -1, 0), Ok(a + 2 * P));
        assert_eq!(
            areas_in(&mm, a, a + 5 * P),
            [
                (a, a + P, RW),
                (a + P, a + 2 * P, R),
                (a + 2 * P, a + 5 * P, RX)
            ]
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn map_fixed_noreplace_refuses_any_overlap() {
        let (mut mm, pt) = address_space(64);
        let a = 0x7000_0000;
        let nr = ANON | g::MAP_FIXED_NOREPLACE;
        assert_eq!(mm.mmap(a, 2 * P, RW, nr, -1, 0), Ok(a));
        write(&mut mm, a, b"keep");
        assert_eq!(mm.mmap(a, P, R, nr, -1, 0), Err(Errno::EEXIST));
        assert_eq!(
            mm.mmap(a - P, 2 * P, R, nr, -1, 0),
            Err(Errno::EEXIST),
            "partial overlap below"
        );
        assert_eq!(
            mm.mmap(a + P, 2 * P, R, nr, -1, 0),
            Err(Errno::EEXIST),
            "partial overlap above"
        );
        assert_eq!(read(&mm, a, 4), b"keep");
        assert_eq!(areas_in(&mm, a - P, a + 3 * P), [(a, a + 2 * P, RW)]);
        assert_eq!(
            mm.mmap(a + 2 * P, P, R, nr, -1, 0),
            Ok(a + 2 * P),
            "adjacent is fine"
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn munmap_of_the_middle_splits_and_frees() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 4 * P, RW, ANON, -1, 0).expect("mmap");
        mark(&mut mm, a, 4);
        assert_eq!(pt.free_frames(), 60);
        assert_eq!(mm.munmap(a + P, 2 * P), Ok(0));
        assert_eq!(
            areas_in(&mm, a, a + 4 * P),
            [(a, a + P, RW), (a + 3 * P, a + 4 * P, RW)]
        );
        assert_eq!(pt.free_frames(), 62, "two frames back");
        assert!(!pt.is_present(a + P) && !pt.is_present(a + 2 * P));
        assert!(marked(&mm, a, 0) && marked(&mm, a + 3 * P, 3));
        assert_eq!(
            mm.handle_fault(a + P, Access::Read),
            Err(FaultError::Segv { mapped: false })
        );
        let mut b = [0u8; 1];
        assert_eq!(UserMemory::read(&mm, a + 2 * P, &mut b), Err(Errno::EFAULT));
        // Unmapping nothing is fine; the length is rounded up.
        assert_eq!(mm.munmap(a + P, 1), Ok(0));
        assert_eq!(mm.munmap(a, 1), Ok(0));
        assert_eq!(areas_in(&mm, a, a + 4 * P), [(a + 3 * P, a + 4 * P, RW)]);
        assert_eq!(mm.munmap(a + 1, P), Err(Errno::EINVAL));
        assert_eq!(mm.munmap(a, 0), Err(Errno::EINVAL));
        assert_eq!(mm.munmap(USER_END - P, 2 * P), Err(Errno::EINVAL));
        assert_eq!(mm.munmap(a, u64::MAX), Err(Errno::EINVAL));
        check(&mm, &pt, 64);
    }

    #[test]
    fn mprotect_splits_and_reaches_the_page_table() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 4 * P, RW, ANON, -1, 0).expect("mmap");
        mark(&mut mm, a, 3); // page 3 stays absent
        assert_eq!(
            mm.mprotect(a + P, 3 * P - 100, R),
            Ok(0),
            "length rounded up"
        );
        assert_eq!(
            areas_in(&mm, a, a + 4 * P),
            [(a, a + P, RW), (a + P, a + 4 * P, R)]
        );
        assert_eq!(pt.prot(a), Some(RW));
        assert_eq!(pt.prot(a + P), Some(R));
        assert_eq!(pt.prot(a + 2 * P), Some(R));
        assert_eq!(mm.handle_fault(a + 3 * P, Access::Read), Ok(()));
        assert_eq!(
            pt.prot(a + 3 * P),
            Some(R),
            "a page faulted in later gets the new protection"
        );
        assert_eq!(
            mm.handle_fault(a + P, Access::Write),
            Err(FaultError::Segv { mapped: true })
        );
        assert_eq!(UserMemory::write(&mut mm, a + P, b"x"), Err(Errno::EFAULT));
        assert!(
            marked(&mm, a + P, 1),
            "contents survive a protection change"
        );
        assert_eq!(
            mm.mprotect(a + 2 * P, P, RW | g::PROT_GROWSDOWN),
            Ok(0),
            "PROT_GROWSDOWN is accepted"
        );
        assert_eq!(
            areas_in(&mm, a, a + 4 * P),
            [
                (a, a + P, RW),
                (a + P, a + 2 * P, R),
                (a + 2 * P, a + 3 * P, RW),
                (a + 3 * P, a + 4 * P, R)
            ]
        );
        assert_eq!(pt.prot(a + 2 * P), Some(RW));
        assert_eq!(mm.mprotect(a, P, NONE), Ok(0));
        assert_eq!(pt.prot(a), Some(NONE));
        assert_eq!(
            mm.handle_fault(a, Access::Read),
            Err(FaultError::Segv { mapped: true })
        );
        assert_eq!(mm.mprotect(a + 1, P, R), Err(Errno::EINVAL));
        assert_eq!(mm.mprotect(a, P, 0x100), Err(Errno::EINVAL));
        check(&mm, &pt, 64);
    }

    #[test]
    fn mprotect_over_a_hole_is_enomem() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 3 * P, RW, ANON, -1, 0).expect("mmap");
        mm.munmap(a + P, P).expect("munmap");
        // Linux changes the areas up to the hole, then fails (checked on Linux 6.18).
        assert_eq!(mm.mprotect(a, 3 * P, R), Err(Errno::ENOMEM));
        assert_eq!(
            areas_in(&mm, a, a + 3 * P),
            [(a, a + P, R), (a + 2 * P, a + 3 * P, RW)]
        );
        assert_eq!(
            mm.mprotect(a + P, 2 * P, R),
            Err(Errno::ENOMEM),
            "starting in the hole"
        );
        assert_eq!(
            areas_in(&mm, a, a + 3 * P),
            [(a, a + P, R), (a + 2 * P, a + 3 * P, RW)]
        );
        assert_eq!(
            mm.mprotect(a + P, 0, R),
            Ok(0),
            "length 0 succeeds even on a hole"
        );
        assert_eq!(
            mm.mprotect(a, u64::MAX, R),
            Err(Errno::ENOMEM),
            "range wraps"
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn mremap_shrinks_in_place() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 4 * P, RW, ANON, -1, 0).expect("mmap");
        mark(&mut mm, a, 4);
        assert_eq!(mm.mremap(a, 4 * P, 2 * P, 0, 0), Ok(a));
        assert_eq!(areas_in(&mm, a, a + 4 * P), [(a, a + 2 * P, RW)]);
        assert_eq!(pt.pages(), 2);
        assert!(marked(&mm, a, 0) && marked(&mm, a + P, 1));
        // Shrinking does not need the old range inside one area (Linux unmaps the tail, whatever is there).
        assert_eq!(mm.mremap(a, 4 * P, P, 0, 0), Ok(a));
        assert_eq!(areas_in(&mm, a, a + 4 * P), [(a, a + P, RW)]);
        // Same size: nothing changes, nothing is split.
        assert_eq!(mm.mremap(a, P, P, 0, 0), Ok(a));
        assert_eq!(areas_in(&mm, a, a + 4 * P), [(a, a + P, RW)]);
        check(&mm, &pt, 64);
    }

    #[test]
    fn mremap_grows_in_place_when_free() {
        let (mut mm, pt) = address_space(64);
        let a = 0x7000_0000;
        mm.mmap(a, 2 * P, RW, FIXED, -1, 0).expect("mmap");
        mark(&mut mm, a, 2);
        assert_eq!(mm.mremap(a, 2 * P, 5 * P, 0, 0), Ok(a));
        assert_eq!(areas_in(&mm, a, a + 8 * P), [(a, a + 5 * P, RW)]);
        assert!(marked(&mm, a, 0) && marked(&mm, a + P, 1));
        assert_eq!(read(&mm, a + 4 * P, 1), [0]);
        assert_eq!(pt.pages(), 2, "growing allocates nothing");
        // Only the end of an area grows in place; the middle has to move.
        assert_eq!(mm.mremap(a, P, 2 * P, 0, 0), Err(Errno::ENOMEM));
        // Blocked by the next area.
        mm.mmap(a + 6 * P, P, R, FIXED, -1, 0).expect("mmap");
        assert_eq!(mm.mremap(a, 5 * P, 7 * P, 0, 0), Err(Errno::ENOMEM));
        assert_eq!(
            mm.mremap(a, 5 * P, 6 * P, 0, 0),
            Ok(a),
            "up to the next area"
        );
        assert_eq!(
            areas_in(&mm, a, a + 8 * P),
            [(a, a + 6 * P, RW), (a + 6 * P, a + 7 * P, R)]
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn mremap_moves_keeping_contents() {
        let (mut mm, pt) = address_space(64);
        let a = 0x7000_0000;
        mm.mmap(a, 3 * P, RW, FIXED, -1, 0).expect("mmap");
        mm.mmap(a + 3 * P, P, R, FIXED, -1, 0).expect("blocker");
        mark(&mut mm, a, 3);
        let used = pt.pages();
        let b = mm
            .mremap(a, 3 * P, 6 * P, g::MREMAP_MAYMOVE, 0)
            .expect("move");
        assert_ne!(b, a);
        assert_eq!(b, MMAP_BASE - 6 * P, "the new place is found top-down");
        assert!(mm.find(a).is_none(), "the old range is gone");
        assert_eq!(areas_in(&mm, b, b + 6 * P), [(b, b + 6 * P, RW)]);
        for i in 0..3 {
            assert!(
                marked(&mm, b + i * P, i),
                "page {i} moved with its contents"
            );
        }
        assert_eq!(read(&mm, b + 5 * P, 1), [0]);
        assert_eq!(pt.pages(), used, "pages are moved, not copied");
        // A moved part of an area: the rest stays.
        mm.mmap(a, 4 * P, RW, FIXED, -1, 0).expect("mmap");
        mark(&mut mm, a, 4);
        let c = mm
            .mremap(a + P, P, 2 * P, g::MREMAP_MAYMOVE, 0)
            .expect("move");
        assert!(marked(&mm, c, 1));
        assert_eq!(
            areas_in(&mm, a, a + 4 * P),
            [(a, a + P, RW), (a + 2 * P, a + 4 * P, RW)]
        );
        assert!(marked(&mm, a, 0) && marked(&mm, a + 2 * P, 2) && marked(&mm, a + 3 * P, 3));
        check(&mm, &pt, 64);
    }

    #[test]
    fn mremap_fixed_replaces_the_destination() {
        let (mut mm, pt) = address_space(64);
        let (a, d) = (0x7000_0000, 0x7100_0000);
        mm.mmap(a, 2 * P, RW, FIXED, -1, 0).expect("mmap");
        mark(&mut mm, a, 2);
        mm.mmap(d, 4 * P, R, FIXED, -1, 0).expect("destination");
        mm.handle_fault(d + 3 * P, Access::Read).expect("fault");
        let flags = g::MREMAP_MAYMOVE | g::MREMAP_FIXED;
        assert_eq!(mm.mremap(a, 2 * P, 3 * P, flags, d), Ok(d));
        assert!(mm.find(a).is_none());
        assert_eq!(
            areas_in(&mm, d, d + 4 * P),
            [(d, d + 3 * P, RW), (d + 3 * P, d + 4 * P, R)]
        );
        assert!(marked(&mm, d, 0) && marked(&mm, d + P, 1));
        assert_eq!(read(&mm, d + 2 * P, 1), [0]);
        assert_eq!(pt.pages(), 3);
        // MREMAP_FIXED that shrinks: the tail is dropped, the rest moves.
        assert_eq!(mm.mremap(d, 3 * P, P, flags, a), Ok(a));
        assert!(marked(&mm, a, 0));
        assert_eq!(areas_in(&mm, a, a + 3 * P), [(a, a + P, RW)]);
        assert!(mm.find(d).is_none() && mm.find(d + P).is_none());
        assert_eq!(pt.pages(), 2, "the dropped page was freed");
        check(&mm, &pt, 64);
    }

    #[test]
    fn mremap_dontunmap_leaves_an_empty_old_area() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 2 * P, RW, ANON, -1, 0).expect("mmap");
        mark(&mut mm, a, 2);
        let flags = g::MREMAP_MAYMOVE | g::MREMAP_DONTUNMAP;
        assert_eq!(
            mm.mremap(a, 2 * P, 3 * P, flags, 0),
            Err(Errno::EINVAL),
            "no resizing"
        );
        assert_eq!(
            mm.mremap(a, 2 * P, 2 * P, g::MREMAP_DONTUNMAP, 0),
            Err(Errno::EINVAL),
            "needs MAYMOVE"
        );
        let b = mm.mremap(a, 2 * P, 2 * P, flags, 0).expect("dontunmap");
        assert_ne!(a, b);
        assert!(marked(&mm, b, 0) && marked(&mm, b + P, 1));
        assert_eq!(
            areas_in(&mm, a, a + 2 * P),
            [(a, a + 2 * P, RW)],
            "the old area stays"
        );
        assert_eq!(
            read(&mm, a, 1),
            [0],
            "and reads back as zeros (checked on Linux 6.18)"
        );
        assert_eq!(pt.pages(), 2);
        check(&mm, &pt, 64);
    }

    #[test]
    fn mremap_errors() {
        let (mut mm, pt) = address_space(64);
        let a = 0x7000_0000;
        mm.mmap(a, 2 * P, RW, FIXED, -1, 0).expect("mmap");
        mm.mprotect(a + P, P, R).expect("second area");
        let mv = g::MREMAP_MAYMOVE;
        let fx = g::MREMAP_MAYMOVE | g::MREMAP_FIXED;
        // Cases and errnos checked against Linux 6.18.
        assert_eq!(
            mm.mremap(0x6000_0000, P, 2 * P, mv, 0),
            Err(Errno::EFAULT),
            "nothing mapped"
        );
        assert_eq!(
            mm.mremap(a, 2 * P, 4 * P, mv, 0),
            Err(Errno::EFAULT),
            "old range spans two areas"
        );
        assert_eq!(
            mm.mremap(a, 3 * P, 4 * P, mv, 0),
            Err(Errno::EFAULT),
            "old range runs past the area"
        );
        assert_eq!(
            mm.mremap(a, P, 0, mv, 0),
            Err(Errno::EINVAL),
            "new length 0"
        );
        assert_eq!(
            mm.mremap(a + 1, P, P, mv, 0),
            Err(Errno::EINVAL),
            "unaligned"
        );
        assert_eq!(mm.mremap(a, P, P, 8, 0), Err(Errno::EINVAL), "unknown flag");
        assert_eq!(
            mm.mremap(a, P, P, g::MREMAP_FIXED, 0x7100_0000),
            Err(Errno::EINVAL),
            "FIXED without MAYMOVE"
        );
        assert_eq!(
            mm.mremap(a, P, P, fx, a),
            Err(Errno::EINVAL),
            "FIXED onto itself"
        );
        assert_eq!(
            mm.mremap(a, 2 * P, 2 * P, fx, a + P),
            Err(Errno::EINVAL),
            "FIXED overlapping"
        );
        assert_eq!(
            mm.mremap(a, P, P, fx, 0x7100_0001),
            Err(Errno::EINVAL),
            "FIXED unaligned"
        );
        assert_eq!(
            mm.mremap(a, P, 2 * P, fx, USER_END - P),
            Err(Errno::EINVAL),
            "FIXED past the end"
        );
        assert_eq!(
            mm.mremap(a, 0, P, mv, 0),
            Err(Errno::EINVAL),
            "old length 0 of a private mapping"
        );
        assert_eq!(
            mm.mremap(a, u64::MAX - 0x2000, 8 * P, mv, 0),
            Err(Errno::EINVAL),
            "old range wraps"
        );
        assert_eq!(
            mm.mremap(a, u64::MAX - 0x2000, P, 0, 0),
            Err(Errno::EINVAL),
            "old range wraps, shrinking"
        );
        assert_eq!(
            areas_in(&mm, a, a + 2 * P),
            [(a, a + P, RW), (a + P, a + 2 * P, R)],
            "nothing changed"
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn madvise_dontneed_zeroes_private_pages() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 3 * P, RW, ANON, -1, 0).expect("mmap");
        mark(&mut mm, a, 3);
        assert_eq!(mm.madvise(a, 2 * P, g::MADV_DONTNEED), Ok(0));
        assert_eq!(read(&mm, a, 1), [0]);
        assert_eq!(read(&mm, a + 2 * P - 1, 1), [0]);
        assert!(marked(&mm, a + 2 * P, 2), "outside the range: kept");
        assert_eq!(pt.pages(), 1, "frames freed");
        assert_eq!(
            areas_in(&mm, a, a + 3 * P),
            [(a, a + 3 * P, RW)],
            "the area stays"
        );
        // Shared memory keeps its contents (it lives in the shared object).
        let s = mm
            .mmap(0, P, RW, g::MAP_SHARED | g::MAP_ANONYMOUS, -1, 0)
            .expect("shared");
        write(&mut mm, s, b"shared");
        assert_eq!(mm.madvise(s, P, g::MADV_DONTNEED), Ok(0));
        assert_eq!(read(&mm, s, 6), b"shared");
        // Advice that changes nothing here.
        assert_eq!(mm.madvise(a + 2 * P, P, g::MADV_WILLNEED), Ok(0));
        assert_eq!(mm.madvise(a + 2 * P, P, g::MADV_HUGEPAGE), Ok(0));
        assert!(marked(&mm, a + 2 * P, 2));
        check(&mm, &pt, 64);
    }

    #[test]
    fn madvise_errors_and_holes() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 3 * P, RW, ANON, -1, 0).expect("mmap");
        mm.munmap(a + P, P).expect("hole");
        mark(&mut mm, a, 1);
        write(&mut mm, a + 2 * P, b"x");
        // Linux drops the pages on both sides of the hole, then reports it (checked on Linux 6.18).
        assert_eq!(mm.madvise(a, 3 * P, g::MADV_DONTNEED), Err(Errno::ENOMEM));
        assert_eq!(read(&mm, a, 1), [0]);
        assert_eq!(read(&mm, a + 2 * P, 1), [0]);
        assert_eq!(pt.pages(), 0);
        assert_eq!(
            mm.madvise(a + P, P, g::MADV_NORMAL),
            Err(Errno::ENOMEM),
            "any advice on a hole"
        );
        assert_eq!(
            mm.madvise(a + 2 * P, 2 * P, g::MADV_NORMAL),
            Err(Errno::ENOMEM),
            "hole at the end"
        );
        assert_eq!(mm.madvise(a, P, 5), Err(Errno::EINVAL), "unknown advice");
        assert_eq!(mm.madvise(a, P, 999), Err(Errno::EINVAL), "unknown advice");
        assert_eq!(
            mm.madvise(a + 1, P, g::MADV_DONTNEED),
            Err(Errno::EINVAL),
            "unaligned"
        );
        assert_eq!(mm.madvise(a + P, 0, g::MADV_DONTNEED), Ok(0), "length 0");
        assert_eq!(
            mm.madvise(a, u64::MAX, g::MADV_DONTNEED),
            Err(Errno::EINVAL),
            "wraps"
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn brk_grows_shrinks_and_fails_like_linux() {
        let (mut mm, pt) = address_space(64);
        let s = BRK_START;
        assert_eq!(mm.set_brk(0), s, "brk(0) asks for the break");
        assert_eq!(mm.set_brk(s + 10000), s + 10000);
        assert_eq!(areas_in(&mm, s, s + 16 * P), [(s, s + 3 * P, RW)]);
        assert_eq!(mm.find(s).map(|v| v.kind.clone()), Some(AreaKind::Heap));
        write(&mut mm, s + 9999, b"z");
        assert_eq!(mm.set_brk(s + 5 * P), s + 5 * P);
        assert_eq!(
            areas_in(&mm, s, s + 16 * P),
            [(s, s + 5 * P, RW)],
            "grown, still one area"
        );
        mark(&mut mm, s, 5);
        // Shrinking frees whole pages above the new break.
        assert_eq!(mm.set_brk(s + 100), s + 100);
        assert_eq!(areas_in(&mm, s, s + 16 * P), [(s, s + P, RW)]);
        assert_eq!(pt.pages(), 1);
        assert_eq!(mm.set_brk(s + 3 * P), s + 3 * P);
        assert!(marked(&mm, s, 0), "the page below the break was kept");
        assert_eq!(
            read(&mm, s + P, 1),
            [0],
            "memory given back and taken again is zeroed"
        );
        // Below the start: refused, the break is unchanged.
        assert_eq!(mm.set_brk(s - P), s + 3 * P);
        // Into another area: refused; Linux also keeps one free page before the next area (checked on 6.18).
        mm.mmap(s + 10 * P, P, R, FIXED, -1, 0).expect("blocker");
        assert_eq!(mm.set_brk(s + 12 * P), s + 3 * P);
        assert_eq!(mm.set_brk(s + 10 * P), s + 3 * P);
        assert_eq!(mm.set_brk(s + 9 * P + 1), s + 3 * P);
        assert_eq!(mm.set_brk(s + 9 * P), s + 9 * P);
        assert_eq!(
            areas_in(&mm, s, s + 16 * P),
            [(s, s + 9 * P, RW), (s + 10 * P, s + 11 * P, R)]
        );
        assert_eq!(mm.brk, s + 9 * P);
        // Shrinking to the start empties the heap.
        assert_eq!(mm.set_brk(s), s);
        assert_eq!(areas_in(&mm, s, s + 9 * P), []);
        check(&mm, &pt, 64);
    }

    #[test]
    fn faults_map_pages_or_segv() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 2 * P, RW, ANON, -1, 0).expect("rw");
        let r = mm.mmap(0, P, R, ANON, -1, 0).expect("r");
        let x = mm.mmap(0, P, RX, ANON, -1, 0).expect("rx");
        let n = mm.mmap(0, P, NONE, ANON, -1, 0).expect("none");
        assert_eq!(mm.handle_fault(a + 123, Access::Read), Ok(()));
        assert!(pt.is_present(a));
        assert_eq!(pt.prot(a), Some(RW));
        assert_eq!(mm.handle_fault(a + P + 5, Access::Write), Ok(()));
        assert!(pt.is_present(a + P));
        assert_eq!(
            mm.handle_fault(a, Access::Write),
            Err(FaultError::Segv { mapped: true }),
            "present: a violation"
        );
        assert_eq!(
            mm.handle_fault(r, Access::Write),
            Err(FaultError::Segv { mapped: true })
        );
        assert_eq!(
            mm.handle_fault(r + 8, Access::Exec),
            Err(FaultError::Segv { mapped: true }),
            "not executable"
        );
        assert!(!pt.is_present(r), "a refused fault maps nothing");
        assert_eq!(mm.handle_fault(r, Access::Read), Ok(()));
        assert_eq!(mm.handle_fault(x + 8, Access::Exec), Ok(()));
        assert_eq!(pt.prot(x), Some(RX));
        assert_eq!(
            mm.handle_fault(n, Access::Read),
            Err(FaultError::Segv { mapped: true })
        );
        assert_eq!(
            mm.handle_fault(0x1000, Access::Read),
            Err(FaultError::Segv { mapped: false })
        );
        assert_eq!(
            mm.handle_fault(0, Access::Write),
            Err(FaultError::Segv { mapped: false })
        );
        assert_eq!(
            mm.handle_fault(USER_END + 5, Access::Read),
            Err(FaultError::Segv { mapped: false })
        );
        assert_eq!(pt.pages(), 4);
        check(&mm, &pt, 64);
    }

    #[test]
    fn stack_grows_down_to_its_limit() {
        let (mut mm, pt) = address_space(64);
        let bottom = STACK_TOP - STACK_INITIAL;
        let limit = STACK_TOP - STACK_RLIMIT;
        assert_eq!(mm.stack_limit, limit);
        assert_eq!(mm.handle_fault(bottom - 8, Access::Write), Ok(()));
        assert_eq!(
            mm.find(bottom - 8)
                .map(|v| (v.start, v.end, v.kind.clone())),
            Some((bottom - P, STACK_TOP, AreaKind::Stack))
        );
        assert_eq!(
            mm.handle_fault(bottom - 1000 * P, Access::Read),
            Ok(()),
            "far below the stack pointer is fine"
        );
        assert_eq!(
            mm.handle_fault(limit, Access::Write),
            Ok(()),
            "the last page of the rlimit"
        );
        assert_eq!(
            mm.find(limit).map(|v| (v.start, v.end)),
            Some((limit, STACK_TOP))
        );
        assert_eq!(
            mm.handle_fault(limit - 1, Access::Write),
            Err(FaultError::Segv { mapped: false })
        );
        assert_eq!(mm.find(limit - 1), None);
        assert_eq!(areas_in(&mm, 0, USER_END).len(), 1);
        check(&mm, &pt, 64);
    }

    #[test]
    fn stack_growth_keeps_a_guard_page() {
        let (mut mm, pt) = address_space(64);
        let bottom = STACK_TOP - STACK_INITIAL;
        let other = bottom - 10 * P;
        mm.mmap(other - P, P, RW, FIXED, -1, 0)
            .expect("area below the stack");
        assert_eq!(mm.handle_fault(other + P, Access::Write), Ok(()));
        assert_eq!(
            mm.handle_fault(other, Access::Write),
            Err(FaultError::Segv { mapped: false }),
            "would touch it"
        );
        assert_eq!(mm.find(other), None);
        check(&mm, &pt, 64);
    }

    #[test]
    fn user_copies_grow_the_stack_like_faults() {
        let (mut mm, pt) = address_space(64);
        let bottom = STACK_TOP - STACK_INITIAL;
        // A syscall writing into stack memory the program has not touched yet (checked on Linux 6.18).
        write(&mut mm, bottom - 4 * P - 10, b"0123456789abcdef");
        assert_eq!(
            mm.find(bottom - 5 * P).map(|v| v.start),
            Some(bottom - 5 * P)
        );
        assert_eq!(read(&mm, bottom - 4 * P - 10, 16), b"0123456789abcdef");
        let limit = STACK_TOP - STACK_RLIMIT;
        assert_eq!(
            UserMemory::write(&mut mm, limit - 8, b"x"),
            Err(Errno::EFAULT)
        );
        check(&mm, &pt, 64);
    }

    #[test]
    fn huge_prot_none_reservation_costs_nothing() {
        let (mut mm, pt) = address_space(64);
        let len = 64 << 30;
        let a = mm
            .mmap(0, len, NONE, ANON | g::MAP_NORESERVE, -1, 0)
            .expect("64 GiB");
        assert_eq!(areas_in(&mm, a, a + len), [(a, a + len, NONE)]);
        assert_eq!(pt.pages(), 0);
        assert_eq!(pt.free_frames(), 64);
        // Committing a piece of it, as allocators do.
        assert_eq!(mm.mprotect(a + len - 2 * P, 2 * P, RW), Ok(0));
        write(&mut mm, a + len - 2 * P, &[7; 2 * P as usize]);
        assert_eq!(pt.pages(), 2);
        // MAP_POPULATE does not populate PROT_NONE (Linux: succeeds, nothing allocated).
        let b = mm
            .mmap(0, len, NONE, ANON | g::MAP_POPULATE, -1, 0)
            .expect("populate none");
        assert_eq!(b, a - len);
        assert_eq!(pt.pages(), 2);
        assert_eq!(mm.munmap(a, len), Ok(0));
        assert_eq!(pt.pages(), 0);
        check(&mm, &pt, 64);
    }

    #[test]
    fn out_of_memory() {
        let (mut mm, pt) = address_space(4);
        let a = mm.mmap(0, 8 * P, RW, ANON, -1, 0).expect("mmap is lazy");
        for i in 0..4 {
            assert_eq!(mm.handle_fault(a + i * P, Access::Write), Ok(()));
        }
        assert_eq!(
            mm.handle_fault(a + 4 * P, Access::Write),
            Err(FaultError::OutOfMemory)
        );
        assert!(!pt.is_present(a + 4 * P));
        assert_eq!(
            UserMemory::write(&mut mm, a + 5 * P, b"x"),
            Err(Errno::EFAULT),
            "as a uaccess fault under OOM"
        );
        assert_eq!(mm.write_force(a + 5 * P, b"x"), Err(Errno::ENOMEM));
        // MAP_POPULATE that cannot be met: ENOMEM, and neither the area nor any page stays behind.
        mm.munmap(a, 2 * P).expect("free two");
        assert_eq!(
            mm.mmap(0, 3 * P, RW, ANON | g::MAP_POPULATE, -1, 0),
            Err(Errno::ENOMEM)
        );
        assert_eq!(pt.free_frames(), 2);
        assert_eq!(areas_in(&mm, 0, MMAP_BASE), [(a + 2 * P, a + 8 * P, RW)]);
        let b = mm
            .mmap(0, 2 * P, RW, ANON | g::MAP_POPULATE, -1, 0)
            .expect("fits");
        assert!(pt.is_present(b) && pt.is_present(b + P));
        assert_eq!(pt.free_frames(), 0);
        check(&mm, &pt, 4);
    }

    #[test]
    fn user_memory_crosses_pages() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 4 * P, RW, ANON, -1, 0).expect("mmap");
        let data: Vec<u8> = (0..10000u32).map(|i| (i * 7 + i / 256) as u8).collect();
        write(&mut mm, a + 4000, &data);
        assert_eq!(pt.pages(), 4, "the write spans four pages");
        assert_eq!(pt.byte(a + 4000), Some(data[0]));
        assert_eq!(pt.byte(a + P), Some(data[96]));
        assert_eq!(pt.byte(a + 3 * P + 1711), Some(data[9999]));
        assert_eq!(read(&mm, a + 4000, 10000), data);
        let mut b = vec![0; 10000];
        mm.read_user(a + 4000, &mut b).expect("read_user");
        assert_eq!(b, data);
        assert_eq!(read(&mm, a + 3 * P + 1712, 100), [0; 100]);
        assert_eq!(read(&mm, a + 4000 - 100, 100), [0; 100]);
        check(&mm, &pt, 64);
    }

    #[test]
    fn user_memory_reads_untouched_pages_as_zero_without_allocating() {
        let (mut mm, pt) = address_space(64);
        let a = mm.mmap(0, 2 * P, R, ANON, -1, 0).expect("mmap");
        assert_eq!(
            read(&mm, a + 10, 2 * P as usize - 10),
            vec![0; 2 * P as usize - 10]
        );
        assert_eq!(pt.pages(), 0);
        let mut b = [1u8; 8];
        mm.read_user(a, &mut b).expect("read_user faults in");
        assert_eq!(b, [0; 8]);
        assert_eq!(pt.pages(), 1);
    }

    #[test]
    fn user_memory_faults() {
        let (mut mm, pt) = address_space(64);
        let a = 0x7000_0000;
        mm.mmap(a, P, RW, FIXED, -1, 0).expect("rw");
        mm.mmap(a + P, P, R, FIXED, -1, 0).expect("r");
        mm.mmap(a + 2 * P, P, NONE, FIXED, -1, 0).expect("none");
        let mut b = [0u8; 16];
        // Running from a good page into an unmapped one.
        assert_eq!(
            UserMemory::write(&mut mm, a - 8, &[1; 16]),
            Err(Errno::EFAULT)
        );
        assert_eq!(UserMemory::read(&mm, a - 8, &mut b), Err(Errno::EFAULT));
        assert_eq!(mm.read_user(a - 8, &mut b), Err(Errno::EFAULT));
        // Read-only: reads work, writes fail.
        assert_eq!(UserMemory::write(&mut mm, a + P, b"x"), Err(Errno::EFAULT));
        assert_eq!(
            UserMemory::write(&mut mm, a + P - 8, &[1; 16]),
            Err(Errno::EFAULT),
            "crossing into read-only"
        );
        assert!(!pt.is_present(a + P), "a refused write maps nothing");
        assert_eq!(UserMemory::read(&mm, a + P - 8, &mut b), Ok(()));
        assert_eq!(
            b[..8],
            [1; 8],
            "the part before the read-only page was written (as Linux's partial copy)"
        );
        // PROT_NONE: neither.
        assert_eq!(UserMemory::read(&mm, a + 2 * P, &mut b), Err(Errno::EFAULT));
        assert_eq!(mm.read_user(a + 2 * P - 8, &mut b), Err(Errno::EFAULT));
        assert_eq!(
            UserMemory::write(&mut mm, a + 2 * P, b"x"),
            Err(Errno::EFAULT)
        );
        // Ranges past the end of user space or wrapping.
        assert_eq!(
            UserMemory::read(&mm, u64::MAX - 4, &mut b),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            UserMemory::write(&mut mm, USER_END - 8, &[0; 16]),
            Err(Errno::EFAULT)
        );
        // An empty copy touches nothing.
        assert_eq!(UserMemory::write(&mut mm, 0, &[]), Ok(()));
        assert!(!pt.is_present(a + 2 * P));
        check(&mm, &pt, 64);
    }

    #[test]
    fn read_cstr_limits() {
        let (mut mm, pt) = address_space(64);
        let a = 0x7000_0000;
        mm.mmap(a, 2 * P, RW, FIXED, -1, 0).expect("mmap");
        // Crossing a page boundary.
        write(&mut mm, a + P - 3, b"hello\0");
        assert_eq!(mm.read_cstr(a + P - 3, 100).as_deref(), Ok(&b"hello"[..]));
        assert_eq!(
            mm.read_cstr(a + P - 3, 5).as_deref(),
            Ok(&b"hello"[..]),
            "exactly max"
        );
        assert_eq!(
            mm.read_cstr(a + P - 3, 4),
            Err(Errno::ENAMETOOLONG),
            "one past max"
        );
        write(&mut mm, a, &[b'a'; 20]);
        write(&mut mm, a + 20, b"\0");
        assert_eq!(
            mm.read_cstr(a, 10),
            Err(Errno::ENAMETOOLONG),
            "terminated, but longer than max"
        );
        assert_eq!(mm.read_cstr(a + 20, 10).as_deref(), Ok(&b""[..]));
        // PATH_MAX-style: 5000 bytes without NUL in reach of the limit.
        write(&mut mm, a, &[b'b'; 5000]);
        assert_eq!(mm.read_cstr(a, 4095), Err(Errno::ENAMETOOLONG));
        write(&mut mm, a + 4095, b"\0");
        assert_eq!(mm.read_cstr(a, 4095).map(|v| v.len()), Ok(4095));
        // Unterminated up to an unmapped page.
        write(&mut mm, a + 2 * P - 4, b"abcd");
        assert_eq!(mm.read_cstr(a + 2 * P - 4, 4096), Err(Errno::EFAULT));
        assert_eq!(mm.read_cstr(0, 10), Err(Errno::EFAULT));
        check(&mm, &pt, 64);
    }

    #[test]
    fn write_force_ignores_protection() {
        let (mut mm, pt) = address_space(64);
        let a = 0x40_0000;
        mm.map_fixed(a, 2 * P, RX, false, AreaKind::Image("/bin/test".into()));
        mm.map_fixed(a + 2 * P, P, NONE, false, AreaKind::Anon);
        let code: Vec<u8> = (0..300).map(|i| i as u8).collect();
        assert_eq!(mm.write_force(a + P - 100, &code), Ok(()));
        assert_eq!(read(&mm, a + P - 100, 300), code);
        assert_eq!(pt.prot(a), Some(RX), "the page keeps its protection");
        assert_eq!(pt.prot(a + P), Some(RX));
        assert_eq!(
            UserMemory::write(&mut mm, a, b"x"),
            Err(Errno::EFAULT),
            "a plain write still fails"
        );
        assert_eq!(mm.write_force(a + 2 * P, b"x"), Ok(()), "even PROT_NONE");
        assert_eq!(pt.byte(a + 2 * P), Some(b'x'));
        assert_eq!(
            mm.write_force(a + 3 * P - 1, b"xy"),
            Err(Errno::EFAULT),
            "but not outside every area"
        );
        check(&mm, &pt, 64);
    }
}
