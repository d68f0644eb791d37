//! Physical memory: the physical map, the page-frame allocator, the kernel heap and the x86_64 page
//! tables of the program's address space.

use core::alloc::Layout;
use core::ptr;

use kernel_core::errno::Errno;
use kernel_core::mm::{PageTable, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE};
use spin::Mutex;
use talc::{OomHandler, Span, Talc, Talck};

/// All physical memory is mapped at this virtual address (the boot code maps the first 4 GiB).
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// The physical map covers this much; RAM above is not used.
pub const PHYS_MAP_SIZE: u64 = 4 << 30;

/// Kernel virtual address of a physical address.
pub fn phys_to_virt(pa: u64) -> *mut u8 {
    (PHYS_OFFSET + pa) as *mut u8
}

/// A bitmap of free 4 KiB frames (bit set = free).
struct Frames {
    bitmap: *mut u64,
    words: usize,
    next: usize,
    free: u64,
    total: u64,
}

// SAFETY: the bitmap is only reached through the FRAMES mutex.
unsafe impl Send for Frames {}

static FRAMES: Mutex<Frames> = Mutex::new(Frames {
    bitmap: ptr::null_mut(),
    words: 0,
    next: 0,
    free: 0,
    total: 0,
});

impl Frames {
    fn bit(&self, f: usize) -> bool {
        // SAFETY: callers pass f < words * 64; the bitmap spans `words` u64s of mapped memory.
        unsafe { *self.bitmap.add(f / 64) & (1 << (f % 64)) != 0 }
    }
    fn set(&mut self, f: usize, free: bool) {
        // SAFETY: as for `bit`.
        unsafe {
            let w = self.bitmap.add(f / 64);
            if free {
                *w |= 1 << (f % 64);
            } else {
                *w &= !(1 << (f % 64));
            }
        }
    }
}

/// A RAM range from the firmware's memory map.
#[derive(Clone, Copy)]
pub struct Region {
    pub start: u64,
    pub end: u64,
}

/// Set up the frame allocator from the RAM regions, keeping `reserved` ranges (kernel, initrd, boot
/// data) out of it.
pub fn init_frames(ram: &[Region], reserved: &[Region]) -> Result<(), &'static str> {
    // The highest RAM address is what `-m` asked for (below the 32-bit PCI hole).
    RAM_BYTES.store(
        ram.iter().map(|r| r.end).max().unwrap_or(0),
        core::sync::atomic::Ordering::Relaxed,
    );
    let top = ram
        .iter()
        .map(|r| r.end)
        .max()
        .unwrap_or(0)
        .min(PHYS_MAP_SIZE);
    let nframes = (top / PAGE_SIZE) as usize;
    let words = nframes.div_ceil(64);
    let bytes = (words * 8) as u64;
    let overlaps = |s: u64, e: u64| reserved.iter().any(|r| s < r.end && r.start < e);
    // Place the bitmap in the first RAM gap above 1 MiB that is free of reserved ranges.
    let mut place = None;
    'outer: for r in ram {
        let mut s = r.start.max(1 << 20).next_multiple_of(PAGE_SIZE);
        while s + bytes <= r.end.min(top) {
            if !overlaps(s, s + bytes) {
                place = Some(s);
                break 'outer;
            }
            s += PAGE_SIZE;
        }
    }
    let bm = place.ok_or("no room for the frame bitmap")?;
    let mut f = FRAMES.lock();
    f.bitmap = phys_to_virt(bm) as *mut u64;
    f.words = words;
    // SAFETY: [bm, bm + bytes) is RAM inside the physical map and reserved for the bitmap.
    unsafe { ptr::write_bytes(f.bitmap, 0, words) };
    let bm_end = bm + bytes;
    for r in ram {
        // Page 0 stays unused; the rest of low memory is as good as any.
        let s = r.start.max(PAGE_SIZE).next_multiple_of(PAGE_SIZE);
        let e = r.end.min(top) & !(PAGE_SIZE - 1);
        let mut a = s;
        while a < e {
            let in_bitmap = a < bm_end && bm < a + PAGE_SIZE;
            if !overlaps(a, a + PAGE_SIZE) && !in_bitmap {
                f.set((a / PAGE_SIZE) as usize, true);
                f.free += 1;
            }
            a += PAGE_SIZE;
        }
    }
    f.total = f.free;
    f.next = 0;
    Ok(())
}

/// Allocate one frame (physical address), not zeroed.
pub fn alloc_frame() -> Option<u64> {
    let mut f = FRAMES.lock();
    if f.free == 0 {
        return None;
    }
    let n = f.words * 64;
    for i in 0..n {
        let idx = (f.next + i) % n;
        if f.bit(idx) {
            f.set(idx, false);
            f.free -= 1;
            f.next = idx + 1;
            return Some(idx as u64 * PAGE_SIZE);
        }
    }
    None
}

/// Allocate one zeroed frame.
pub fn alloc_zeroed_frame() -> Option<u64> {
    let pa = alloc_frame()?;
    // SAFETY: the frame was just allocated and is mapped through the physical map.
    unsafe { ptr::write_bytes(phys_to_virt(pa), 0, PAGE_SIZE as usize) };
    Some(pa)
}

/// Allocate `count` contiguous frames, searching from the top of memory (keeps low memory for pages).
pub fn alloc_contiguous(count: usize) -> Option<u64> {
    let mut f = FRAMES.lock();
    let n = f.words * 64;
    let mut run = 0;
    let mut i = n;
    while i > 0 {
        i -= 1;
        if f.bit(i) {
            run += 1;
            if run == count {
                for j in i..i + count {
                    f.set(j, false);
                }
                f.free -= count as u64;
                return Some(i as u64 * PAGE_SIZE);
            }
        } else {
            run = 0;
        }
    }
    None
}

/// Return a frame to the allocator.
pub fn free_frame(pa: u64) {
    let mut f = FRAMES.lock();
    let idx = (pa / PAGE_SIZE) as usize;
    if idx < f.words * 64 && !f.bit(idx) {
        f.set(idx, true);
        f.free += 1;
    }
}

static RAM_BYTES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Guest RAM in bytes as the firmware reported it (what `--mem` asked for).
pub fn ram_bytes() -> u64 {
    RAM_BYTES.load(core::sync::atomic::Ordering::Relaxed)
}

/// "64 MiB" or "2560 KiB": the guest's RAM for messages.
pub fn ram_text() -> alloc::string::String {
    let b = ram_bytes();
    if b.is_multiple_of(1 << 20) {
        alloc::format!("{} MiB", b >> 20)
    } else {
        alloc::format!("{} KiB", b >> 10)
    }
}

/// (total, free) bytes of page frames.
pub fn memory_stats() -> (u64, u64) {
    let f = FRAMES.lock();
    (f.total * PAGE_SIZE, f.free * PAGE_SIZE)
}

/// Grows the heap with contiguous frames when it runs out.
pub struct GrowHeap;

/// Set when the heap could not grow: the panic that follows is reported as "out of memory".
pub static HEAP_EXHAUSTED: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

impl OomHandler for GrowHeap {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let need = layout.size() + layout.align() + 256;
        // Grow by 1 MiB when possible, else by what this allocation needs.
        for want in [need.max(1 << 20), need.max(64 << 10), need] {
            let pages = want.div_ceil(PAGE_SIZE as usize);
            if let Some(pa) = alloc_contiguous(pages) {
                let base = phys_to_virt(pa);
                // SAFETY: the frames were just taken from the allocator and belong to the heap from now on.
                unsafe {
                    talc.claim(Span::new(base, base.add(pages * PAGE_SIZE as usize)))?;
                }
                return Ok(());
            }
        }
        HEAP_EXHAUSTED.store(true, core::sync::atomic::Ordering::Relaxed);
        Err(())
    }
}

#[global_allocator]
static HEAP: Talck<spin::Mutex<()>, GrowHeap> = Talck::new(Talc::new(GrowHeap));

// ---------------------------------------------------------------------------------------------------
// Page tables

const P: u64 = 1;
const W: u64 = 1 << 1;
const U: u64 = 1 << 2;
const PS: u64 = 1 << 7;
const NX: u64 = 1 << 63;
const ADDR: u64 = 0x000f_ffff_ffff_f000;

fn table(pa: u64) -> *mut u64 {
    phys_to_virt(pa) as *mut u64
}

fn read_entry(t: u64, i: usize) -> u64 {
    // SAFETY: `t` is the physical address of a page table owned by this module; i < 512.
    unsafe { ptr::read_volatile(table(t).add(i)) }
}

fn write_entry(t: u64, i: usize, v: u64) {
    // SAFETY: as for `read_entry`.
    unsafe { ptr::write_volatile(table(t).add(i), v) }
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * level)) & 511) as usize
}

fn leaf_flags(prot: u32) -> u64 {
    let mut f = U;
    if prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
        f |= P;
    }
    if prot & PROT_WRITE != 0 {
        f |= W;
    }
    if prot & PROT_EXEC == 0 {
        f |= NX;
    }
    f
}

/// The page tables of one address space: the lower half belongs to the program, the upper half is the
/// kernel's (shared, supervisor-only).
pub struct X86PageTable {
    pub pml4: u64,
}

impl X86PageTable {
    /// A new address space sharing the kernel half of the current page tables.
    pub fn new() -> Option<X86PageTable> {
        let pml4 = alloc_zeroed_frame()?;
        let cur = super::cpu::cr3() & ADDR;
        for i in 256..512 {
            write_entry(pml4, i, read_entry(cur, i));
        }
        Some(X86PageTable { pml4 })
    }

    /// Make this address space the current one.
    pub fn activate(&self) {
        // SAFETY: the kernel half was copied from the running tables, so the kernel stays mapped.
        unsafe { super::cpu::set_cr3(self.pml4) }
    }

    /// The leaf entry slot for `va` (physical address of its table and index), creating tables if asked.
    fn walk(&self, va: u64, create: bool) -> Option<(u64, usize)> {
        let mut t = self.pml4;
        for level in (1..4).rev() {
            let i = index(va, level);
            let e = read_entry(t, i);
            if e & P == 0 {
                if !create {
                    return None;
                }
                let n = alloc_zeroed_frame()?;
                write_entry(t, i, n | P | W | U);
                t = n;
            } else {
                if e & PS != 0 {
                    return None;
                }
                t = e & ADDR;
            }
        }
        Some((t, index(va, 0)))
    }

    fn leaf(&self, va: u64) -> Option<u64> {
        let (t, i) = self.walk(va, false)?;
        let e = read_entry(t, i);
        (e & ADDR != 0).then_some(e)
    }

    fn page_ptr(&self, va: u64) -> Option<*mut u8> {
        let e = self.leaf(va & !(PAGE_SIZE - 1))?;
        Some(phys_to_virt((e & ADDR) + (va & (PAGE_SIZE - 1))))
    }
}

impl PageTable for X86PageTable {
    fn map_zeroed(&mut self, va: u64, prot: u32) -> Result<(), Errno> {
        let frame = alloc_zeroed_frame().ok_or(Errno::ENOMEM)?;
        let Some((t, i)) = self.walk(va, true) else {
            free_frame(frame);
            return Err(Errno::ENOMEM);
        };
        let old = read_entry(t, i);
        if old & ADDR != 0 {
            free_frame(old & ADDR);
        }
        write_entry(t, i, frame | leaf_flags(prot));
        super::cpu::invlpg(va);
        Ok(())
    }

    fn unmap(&mut self, start: u64, end: u64) {
        let mut va = start;
        while va < end {
            // Skip whole empty tables quickly.
            match self.walk(va, false) {
                Some((t, i)) => {
                    let e = read_entry(t, i);
                    if e & ADDR != 0 {
                        free_frame(e & ADDR);
                        write_entry(t, i, 0);
                        super::cpu::invlpg(va);
                    }
                    va += PAGE_SIZE;
                }
                None => va = (va | 0x1f_ffff) + 1,
            }
        }
    }

    fn protect(&mut self, start: u64, end: u64, prot: u32) {
        let mut va = start;
        while va < end {
            match self.walk(va, false) {
                Some((t, i)) => {
                    let e = read_entry(t, i);
                    if e & ADDR != 0 {
                        write_entry(t, i, (e & ADDR) | leaf_flags(prot));
                        super::cpu::invlpg(va);
                    }
                    va += PAGE_SIZE;
                }
                None => va = (va | 0x1f_ffff) + 1,
            }
        }
    }

    fn is_mapped(&self, va: u64) -> bool {
        self.leaf(va).is_some()
    }

    fn move_pages(&mut self, old: u64, new: u64, len: u64) {
        let mut off = 0;
        while off < len {
            if let Some((t, i)) = self.walk(old + off, false) {
                let e = read_entry(t, i);
                if e & ADDR != 0 {
                    write_entry(t, i, 0);
                    super::cpu::invlpg(old + off);
                    match self.walk(new + off, true) {
                        Some((nt, ni)) => write_entry(nt, ni, e),
                        None => free_frame(e & ADDR),
                    }
                }
            }
            off += PAGE_SIZE;
        }
    }

    fn read_page(&self, va: u64, buf: &mut [u8]) {
        if let Some(p) = self.page_ptr(va) {
            // SAFETY: the page is present and the range stays inside it (trait contract).
            unsafe { ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) }
        }
    }

    fn write_page(&mut self, va: u64, data: &[u8]) {
        if let Some(p) = self.page_ptr(va) {
            // SAFETY: as for `read_page`.
            unsafe { ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) }
        }
    }
}

const PWT: u64 = 1 << 3;
const PCD: u64 = 1 << 4;
const HUGE_PAGE: u64 = 2 << 20;
/// The physical map reaches this far with the PDPT the boot code set up (one PML4 entry).
const MMIO_REACH: u64 = 512 << 30;

/// Make device registers `[pa, pa + len)` reachable through `phys_to_virt`, uncached: the 2 MiB pages
/// of the physical map holding them become uncached (the boot map covers the first 4 GiB with
/// write-back pages), and pages above 4 GiB (up to 512 GiB) are added. The physical map's page tables
/// are shared by every address space, so this holds everywhere. Returns false when out of reach.
pub fn map_mmio(pa: u64, len: u64) -> bool {
    let Some(end) = pa.checked_add(len.max(1)) else {
        return false;
    };
    if end > MMIO_REACH {
        return false;
    }
    let pml4 = super::cpu::cr3() & ADDR;
    let e = read_entry(pml4, index(PHYS_OFFSET, 3));
    if e & P == 0 || e & PS != 0 {
        return false;
    }
    let pdpt = e & ADDR;
    let mut a = pa & !(HUGE_PAGE - 1);
    while a < end {
        let i = index(a, 2);
        let mut pe = read_entry(pdpt, i);
        if pe & P == 0 {
            let Some(pd) = alloc_zeroed_frame() else {
                return false;
            };
            pe = pd | P | W;
            write_entry(pdpt, i, pe);
        } else if pe & PS != 0 {
            return false;
        }
        write_entry(pe & ADDR, index(a, 1), a | P | W | PS | PCD | PWT | NX);
        super::cpu::invlpg(PHYS_OFFSET + a);
        a += HUGE_PAGE;
    }
    true
}

/// Drop the identity mapping of low memory the boot code needed: from now on only the program may use
/// the lower half.
pub fn drop_identity_map() {
    let cur = super::cpu::cr3() & ADDR;
    write_entry(cur, 0, 0);
    // SAFETY: reloading CR3 with the same tables flushes the TLB; the kernel runs in the upper half.
    unsafe { super::cpu::set_cr3(cur) }
}

/// Bytes of the kernel-visible physical range `[pa, pa + len)`.
///
/// # Safety
/// The range must be RAM inside the physical map that nothing else writes while the slice lives
/// (the initrd and boot-time data, reserved from the frame allocator).
pub unsafe fn phys_slice(pa: u64, len: usize) -> &'static [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { core::slice::from_raw_parts(phys_to_virt(pa), len) }
}
