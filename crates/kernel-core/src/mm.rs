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
}

impl AddressSpace {
    /// An empty address space over `pt`.
    pub fn new(pt: alloc::boxed::Box<dyn PageTable>, mmap_base: u64) -> Self {
        AddressSpace { pt, vmas: BTreeMap::new(), brk_start: 0, brk: 0, mmap_base, stack_limit: 0 }
    }

    /// The areas, in address order.
    pub fn vmas(&self) -> impl Iterator<Item = &Vma> {
        self.vmas.values()
    }

    /// The area containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.vmas.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end)
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.vmas.range(..end).next_back().is_some_and(|(_, v)| v.end > start)
    }

    /// Split areas so that `at` is an area boundary.
    fn split_at(&mut self, at: u64) {
        let Some(v) = self.find(at).cloned() else { return };
        if v.start == at {
            return;
        }
        let mut hi = v.clone();
        hi.start = at;
        if let Some(lo) = self.vmas.get_mut(&v.start) {
            lo.end = at;
        }
        self.vmas.insert(at, hi);
    }

    /// Remove every area (and page) in `[start, end)`.
    fn remove_range(&mut self, start: u64, end: u64) {
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
        self.vmas.insert(start, Vma { start, end, prot, shared, kind });
    }

    /// A free range of `len` bytes: at `hint` if free, else the highest gap below `mmap_base`.
    pub fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        if hint >= MMAP_MIN_ADDR && hint.checked_add(len).is_some_and(|e| e <= USER_END) {
            let hint = page_floor(hint);
            if !self.overlaps(hint, hint + len) {
                return Some(hint);
            }
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

    /// mmap(2) for anonymous memory. File mappings come with the filesystem.
    pub fn mmap(&mut self, addr: u64, len: u64, prot: u32, flags: u32, fd: i64, off: u64) -> SysResult {
        let _ = off;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len).filter(|l| *l <= USER_END).ok_or(Errno::ENOMEM)?;
        let kind = flags & 0xf;
        let shared = match kind {
            g::MAP_PRIVATE => false,
            g::MAP_SHARED | g::MAP_SHARED_VALIDATE => true,
            _ => return Err(Errno::EINVAL),
        };
        if flags & g::MAP_ANONYMOUS == 0 {
            let _ = fd;
            return Err(Errno::ENODEV);
        }
        let start = if flags & (g::MAP_FIXED | g::MAP_FIXED_NOREPLACE) != 0 {
            if addr % PAGE_SIZE != 0 {
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
        let kind = if flags & g::MAP_GROWSDOWN != 0 { AreaKind::Stack } else { AreaKind::Anon };
        self.map_fixed(start, len, prot, shared, kind);
        if flags & g::MAP_POPULATE != 0 {
            self.populate(start, start + len)?;
        }
        Ok(start)
    }

    /// Allocate every page of `[start, end)` now.
    pub fn populate(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        let mut va = start;
        while va < end {
            if !self.pt.is_mapped(va) {
                let prot = self.find(va).map(|v| v.prot).ok_or(Errno::ENOMEM)?;
                self.pt.map_zeroed(va, prot)?;
            }
            va += PAGE_SIZE;
        }
        Ok(())
    }

    /// munmap(2).
    pub fn munmap(&mut self, addr: u64, len: u64) -> SysResult {
        if addr % PAGE_SIZE != 0 || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_ceil(len).and_then(|l| addr.checked_add(l)).filter(|e| *e <= USER_END);
        let end = end.ok_or(Errno::EINVAL)?;
        self.remove_range(addr, end);
        Ok(0)
    }

    /// mprotect(2).
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u32) -> SysResult {
        if addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | g::PROT_GROWSDOWN | g::PROT_GROWSUP) != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
        let end = page_ceil(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::ENOMEM)?;
        if end == addr {
            return Ok(0);
        }
        // Every page of the range must be mapped (Linux: ENOMEM otherwise).
        let mut at = addr;
        while at < end {
            let v = self.find(at).ok_or(Errno::ENOMEM)?;
            at = v.end;
        }
        self.split_at(addr);
        self.split_at(end);
        for (_, v) in self.vmas.range_mut(addr..end) {
            v.prot = prot;
        }
        self.pt.protect(addr, end, prot);
        Ok(0)
    }

    /// mremap(2): shrink in place, grow in place when the next range is free, else move (MREMAP_MAYMOVE).
    pub fn mremap(&mut self, old: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> SysResult {
        let may_move = flags & g::MREMAP_MAYMOVE != 0;
        let fixed = flags & g::MREMAP_FIXED != 0;
        if old % PAGE_SIZE != 0 || flags & !(g::MREMAP_MAYMOVE | g::MREMAP_FIXED | g::MREMAP_DONTUNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        if fixed && !may_move {
            return Err(Errno::EINVAL);
        }
        let old_len = page_ceil(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_ceil(new_len).filter(|l| *l > 0).ok_or(Errno::EINVAL)?;
        let v = self.find(old).cloned().ok_or(Errno::EFAULT)?;
        if old_len == 0 || old + old_len > v.end {
            return Err(Errno::EFAULT);
        }
        if !fixed {
            if new_len <= old_len {
                self.remove_range(old + new_len, old + old_len);
                return Ok(old);
            }
            let tail = old + old_len;
            if tail.checked_add(new_len - old_len).is_some_and(|e| e <= USER_END)
                && !self.overlaps(tail, old + new_len)
            {
                if v.end == tail {
                    if let Some(a) = self.vmas.get_mut(&v.start) {
                        a.end = old + new_len;
                    }
                } else {
                    self.vmas.insert(tail, Vma { start: tail, end: old + new_len, ..v.clone() });
                }
                return Ok(old);
            }
            if !may_move {
                return Err(Errno::ENOMEM);
            }
        }
        let dest = if fixed {
            if new_addr % PAGE_SIZE != 0 || new_addr.checked_add(new_len).is_none_or(|e| e > USER_END) {
                return Err(Errno::EINVAL);
            }
            if new_addr < old + old_len && old < new_addr + new_len {
                return Err(Errno::EINVAL);
            }
            self.remove_range(new_addr, new_addr + new_len);
            new_addr
        } else {
            self.find_free(0, new_len).ok_or(Errno::ENOMEM)?
        };
        let keep = old_len.min(new_len);
        self.pt.move_pages(old, dest, keep);
        self.remove_range(old, old + old_len);
        self.vmas.insert(dest, Vma { start: dest, end: dest + new_len, ..v });
        Ok(dest)
    }

    /// madvise(2): MADV_DONTNEED and MADV_FREE drop the pages of private areas (they come back zeroed).
    pub fn madvise(&mut self, addr: u64, len: u64, advice: u32) -> SysResult {
        if addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_ceil(len).and_then(|l| addr.checked_add(l)).ok_or(Errno::EINVAL)?;
        if advice == g::MADV_DONTNEED || advice == g::MADV_FREE {
            let mut at = addr;
            while at < end {
                let v = self.find(at).cloned().ok_or(Errno::ENOMEM)?;
                let stop = v.end.min(end);
                if !v.shared {
                    self.pt.unmap(at, stop);
                }
                at = stop;
            }
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
        if new_end > old_end {
            if self.overlaps(old_end, new_end) {
                return self.brk;
            }
            if old_end == self.brk_start || self.find(old_end - 1).is_none_or(|v| v.kind != AreaKind::Heap) {
                self.vmas.insert(
                    old_end,
                    Vma { start: old_end, end: new_end, prot: PROT_READ | PROT_WRITE, shared: false, kind: AreaKind::Heap },
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
            None => self.grow_stack(page).ok_or(FaultError::Segv { mapped: false })?,
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
        self.pt.map_zeroed(page, vma.prot).map_err(|_| FaultError::OutOfMemory)
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

    /// Make sure the page of `va` is present and allows `access`, as a fault would (for user copies).
    fn touch(&mut self, va: u64, access: Access) -> Result<(), Errno> {
        let v = self.find(va).ok_or(Errno::EFAULT)?;
        let ok = match access {
            Access::Read | Access::Exec => v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0,
            Access::Write => v.prot & PROT_WRITE != 0,
        };
        if !ok {
            return Err(Errno::EFAULT);
        }
        if !self.pt.is_mapped(page_floor(va)) {
            let prot = v.prot;
            self.pt.map_zeroed(page_floor(va), prot).map_err(|_| Errno::EFAULT)?;
        }
        Ok(())
    }

    /// Copy into the program's memory ignoring page protection (used by exec to fill read-only segments).
    pub fn write_force(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.copy(addr, data.len(), |pt, va, range| pt.write_page(va, &data[range]), None)
    }

    fn copy(
        &mut self,
        addr: u64,
        len: usize,
        mut f: impl FnMut(&mut dyn PageTable, u64, core::ops::Range<usize>),
        check: Option<Access>,
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).filter(|e| *e <= USER_END).ok_or(Errno::EFAULT)?;
        let mut va = addr;
        while va < end {
            let chunk_end = (page_floor(va) + PAGE_SIZE).min(end);
            match check {
                Some(a) => self.touch(va, a)?,
                None => {
                    if self.find(va).is_none() {
                        return Err(Errno::EFAULT);
                    }
                    if !self.pt.is_mapped(page_floor(va)) {
                        let prot = self.find(va).map(|v| v.prot).unwrap_or(0);
                        self.pt.map_zeroed(page_floor(va), prot).map_err(|_| Errno::ENOMEM)?;
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
        self.copy(addr, len, |pt, va, range| pt.read_page(va, &mut buf[range]), Some(Access::Read))
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
                return Ok(out);
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
        let end = addr.checked_add(buf.len() as u64).filter(|e| *e <= USER_END).ok_or(Errno::EFAULT)?;
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
        self.copy(addr, data.len(), |pt, va, range| pt.write_page(va, &data[range]), Some(Access::Write))
    }
}
