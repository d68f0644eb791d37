//! The PVH `hvm_start_info` QEMU hands over: command line, modules (the initrd) and the memory map.

use alloc::vec::Vec;

use super::mem::{phys_slice, Region};

/// What the boot loader told us.
pub struct BootInfo {
    pub cmdline: Vec<u8>,
    /// Physical address and size of the initrd (module 0), if any.
    pub initrd: Option<(u64, u64)>,
}

const MAGIC: u32 = 0x336e_c578;

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from(u32_at(b, off)) | (u64::from(u32_at(b, off + 4)) << 32)
}

/// Raw facts read before the heap exists: RAM regions and reserved ranges, in fixed arrays.
pub struct EarlyInfo {
    pub ram: [Region; 32],
    pub nram: usize,
    pub reserved: [Region; 8],
    pub nreserved: usize,
}

/// Read the memory map and the ranges to reserve (start_info, module list, initrd, command line).
pub fn early(start_info: u64) -> Result<EarlyInfo, &'static str> {
    // SAFETY: QEMU places hvm_start_info (56 bytes) in low RAM, inside the physical map.
    let si = unsafe { phys_slice(start_info, 56) };
    if u32_at(si, 0) != MAGIC {
        return Err("not started through PVH (bad hvm_start_info magic)");
    }
    let nr_modules = u32_at(si, 12);
    let modlist = u64_at(si, 16);
    let cmdline = u64_at(si, 24);
    let memmap = u64_at(si, 40);
    let entries = u32_at(si, 48) as usize;
    let mut info = EarlyInfo {
        ram: [Region { start: 0, end: 0 }; 32],
        nram: 0,
        reserved: [Region { start: 0, end: 0 }; 8],
        nreserved: 0,
    };
    let mut reserve = |start: u64, len: u64| {
        if info.nreserved < info.reserved.len() && len > 0 {
            info.reserved[info.nreserved] = Region {
                start: start & !0xfff,
                end: (start + len + 0xfff) & !0xfff,
            };
            info.nreserved += 1;
        }
    };
    reserve(start_info, 56);
    // The kernel image: 1 MiB up to the end of .bss.
    extern "C" {
        static __kernel_end: u8;
    }
    let kernel_end = (&raw const __kernel_end) as u64 - 0xffff_ffff_8000_0000;
    reserve(0x10_0000, kernel_end - 0x10_0000);
    if cmdline != 0 {
        reserve(cmdline, 4096);
    }
    if nr_modules > 0 && modlist != 0 {
        reserve(modlist, 32);
        // SAFETY: the module list is 32 bytes per module in low RAM.
        let m = unsafe { phys_slice(modlist, 32) };
        reserve(u64_at(m, 0), u64_at(m, 8));
    }
    if memmap != 0 {
        reserve(memmap, entries as u64 * 24);
        // SAFETY: `entries` e820 entries of 24 bytes each.
        let mm = unsafe { phys_slice(memmap, entries * 24) };
        for e in mm.chunks_exact(24) {
            let (addr, size, ty) = (u64_at(e, 0), u64_at(e, 8), u32_at(e, 16));
            // microvm ends the map with an all-zero entry: skip it.
            if ty == 1 && size > 0 && info.nram < info.ram.len() {
                info.ram[info.nram] = Region {
                    start: addr,
                    end: addr + size,
                };
                info.nram += 1;
            }
        }
    }
    if info.nram == 0 {
        return Err("the boot memory map has no RAM");
    }
    Ok(info)
}

/// Read the command line and the initrd location (after the heap exists).
pub fn read(start_info: u64, early: &EarlyInfo) -> BootInfo {
    // SAFETY: as in `early`.
    let si = unsafe { phys_slice(start_info, 56) };
    let nr_modules = u32_at(si, 12);
    let modlist = u64_at(si, 16);
    let cmdline_pa = u64_at(si, 24);
    let mut cmdline = Vec::new();
    if cmdline_pa != 0 {
        // SAFETY: the command line is a NUL-terminated string in reserved low memory (4 KiB reserved).
        let s = unsafe { phys_slice(cmdline_pa, 4096) };
        let n = s.iter().position(|c| *c == 0).unwrap_or(s.len());
        cmdline.extend_from_slice(&s[..n]);
    }
    let initrd = if nr_modules > 0 && modlist != 0 {
        // SAFETY: as in `early`.
        let m = unsafe { phys_slice(modlist, 32) };
        Some((u64_at(m, 0), u64_at(m, 8)))
    } else {
        None
    };
    let _ = early;
    BootInfo { cmdline, initrd }
}

/// The initrd bytes.
pub fn initrd_bytes(pa: u64, size: u64) -> &'static [u8] {
    // SAFETY: the initrd range was reserved from the frame allocator at boot and is never written.
    unsafe { phys_slice(pa, size as usize) }
}
